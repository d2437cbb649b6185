"""Benchmark datasets, fetched on first use, verified and cached (like PyG's ``Planetoid`` and scikit-learn's ``fetch_*``).

The registry (``graphvae/data/datasets.json``, shipped in the package) names each dataset's files, where
they are downloaded from and their SHA-256 sums. Every data folder has one layout, the parent of
``planetoid/``: ``DIR/planetoid/Cora/raw/ind.cora.x``. :func:`load_dataset` looks, in order, in

1. ``root`` (``--data-dir`` on the command line);
2. ``$GRAPHVAE_DATA``;
3. the per-user cache :func:`cache_dir` (``$XDG_CACHE_HOME/graphvae``, else ``~/.cache/graphvae``);

and otherwise downloads the files into the cache from the registry's URL (``$GRAPHVAE_DATA_URL``
replaces the base URL, e.g. a mirror or a local server) with :mod:`pooch`: a short timeout, each file
checked against its SHA-256 before it is moved into place, so a partial or corrupted download is
never used. Every file found in a folder is checked too.

The Planetoid files are pickles; they are read with an unpickler that only builds the NumPy, SciPy and
builtin types the format uses, so a hostile file cannot run code.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import InputError
from ..files import atomic_write

#: seconds to wait for a connection and between bytes of a download (``$GRAPHVAE_DOWNLOAD_TIMEOUT``)
DOWNLOAD_TIMEOUT = 10.0


@functools.lru_cache(maxsize=1)
def registry() -> dict[str, Any]:
    """The dataset registry: ``{"sources": {...}, "datasets": {name: {"files": {file: sha256}, ...}}}``."""
    return json.loads(resources.files("graphvae.data").joinpath("datasets.json").read_text())


def dataset_names() -> list[str]:
    return sorted(registry()["datasets"])


def cache_dir() -> Path:
    """graphvae's one per-user cache folder: ``$XDG_CACHE_HOME/graphvae``, else ``~/.cache/graphvae``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "graphvae"


def _entry(name: str) -> tuple[str, dict[str, Any]]:
    key = str(name).lower()
    datasets = registry()["datasets"]
    if key not in datasets:
        raise InputError(f"unknown dataset '{name}' (choose from: {', '.join(sorted(datasets))})")
    return key, datasets[key]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _search_path(root: str | os.PathLike | None) -> list[tuple[str, Path]]:
    places = []
    if root is not None:
        if not Path(root).is_dir():  # a mistyped --data-dir went unnoticed: the files came from the next place
            import warnings

            warnings.warn(f"the data folder {root} is not a folder: looking in $GRAPHVAE_DATA and the cache",
                          UserWarning, stacklevel=4)
        places.append(("the data folder", Path(root)))
    if os.environ.get("GRAPHVAE_DATA"):
        places.append(("$GRAPHVAE_DATA", Path(os.environ["GRAPHVAE_DATA"])))
    places.append(("the cache", cache_dir()))
    return places


def _verified(folder: Path, files: dict[str, str | None]) -> bool:
    """``True`` if every file is in ``folder`` with its registered hash; a mismatch is an error naming the file.

    Files without a registered hash (PubMed) are checked against the ``SHA256SUMS`` recorded when
    graphvae downloaded them, if there is one.
    """
    if not all((folder / f).is_file() for f in files):
        return False
    recorded = _read_sums(folder / "SHA256SUMS")
    for f, expected in files.items():
        expected = expected or recorded.get(f)
        if expected is not None and _sha256(folder / f) != expected:
            raise InputError(f"{folder / f}: SHA-256 does not match graphvae's registry (a damaged or different "
                             "file): delete it to download it again, or replace it")
    return True


def _read_sums(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        raise InputError(f"{path}: not a readable SHA256SUMS file (lines of 'digest  file name')") from None
    sums = {}
    for n, line in enumerate(lines, 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or len(fields[0]) != 64:
            raise InputError(f"{path}, line {n}: expected 'sha256-digest  file name', got {line.strip()[:80]!r}")
        sums[Path(fields[1]).name] = fields[0]
    return sums


def dataset_folder(name: str, root: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The folder holding ``name``'s verified raw files, downloading them into the cache if needed."""
    key, entry = _entry(name)
    places = _search_path(root)
    for _, base in places:
        if _verified(base / entry["folder"], entry["files"]):
            return base / entry["folder"]
    looked = "; ".join(f"{label} {base / entry['folder']}" for label, base in places)
    how = (f"put the files in DIR/{entry['folder']} and pass --data-dir DIR (root=DIR) or set GRAPHVAE_DATA=DIR")
    if not download:
        raise InputError(f"dataset '{key}' not found (looked in {looked}): {how}")
    download_timeout()  # a bad setting fails before any folder is made
    target = cache_dir() / entry["folder"]
    created = [folder for folder in (target, *target.parents) if not folder.exists()]  # deepest first
    try:
        _download(entry, target)
    except InputError as e:
        _remove_empty(created)
        raise InputError(f"dataset '{key}' not found (looked in {looked}) and {e}: {how}") from None
    except BaseException:  # an interrupt (Ctrl-C) or an unexpected error: no empty folders left either
        _remove_empty(created)
        raise
    return target


def _remove_empty(folders: list[Path]) -> None:
    """Remove the given folders (deepest first) where a failed download left them empty."""
    for folder in folders:
        try:
            folder.rmdir()  # only an empty folder: anything written there stays
        except OSError:
            return


def download_timeout() -> float:
    """``$GRAPHVAE_DOWNLOAD_TIMEOUT`` (seconds, a positive finite number) or :data:`DOWNLOAD_TIMEOUT`."""
    text = os.environ.get("GRAPHVAE_DOWNLOAD_TIMEOUT")
    if text is None:
        return DOWNLOAD_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise InputError(f"GRAPHVAE_DOWNLOAD_TIMEOUT must be a positive number of seconds, got {text!r}")
    return value


def _download(entry: dict[str, Any], target: Path) -> None:
    """Fetch the entry's files into ``target`` with pooch (checked, atomic, short timeout)."""
    import pooch
    import requests

    base = os.environ.get("GRAPHVAE_DATA_URL") or registry()["sources"][entry["source"]]["base_url"]
    base = base if base.endswith("/") else base + "/"
    timeout = download_timeout()
    downloader = pooch.HTTPDownloader(timeout=timeout, progressbar=sys.stderr.isatty())
    unpinned = {}
    logger = pooch.get_logger()  # pooch logs a line per file; graphvae says one line when it is done
    level = logger.level
    logger.setLevel("WARNING")
    try:
        for file, digest in entry["files"].items():
            try:
                pooch.retrieve(base + file, known_hash=f"sha256:{digest}" if digest else None, fname=file,
                               path=target, downloader=downloader)
            except requests.exceptions.RequestException as e:
                raise InputError(f"downloading {base + file} failed ({type(e).__name__})") from None
            except ValueError as e:  # pooch: the downloaded file's hash does not match the registry
                if "hash" not in str(e).lower():
                    raise
                raise InputError(f"the download of {file} from {base} does not match its SHA-256 in graphvae's "
                                 "registry and was discarded") from None
            if digest is None:
                unpinned[file] = _sha256(target / file)
    finally:
        logger.setLevel(level)
    print(f"graphvae: downloaded {len(entry['files'])} files from {base} into {target}", file=sys.stderr)
    if unpinned:
        # no pinned checksum: record what was downloaded, so a later change to the files is caught
        lines = "".join(f"{digest}  {file}\n" for file, digest in unpinned.items())
        atomic_write(target / "SHA256SUMS", lambda tmp: tmp.write_text(lines))
        print(f"graphvae: warning: {', '.join(unpinned)} have no checksum in graphvae's registry; downloaded "
              f"from {base} unverified, their SHA-256 recorded in {target / 'SHA256SUMS'}", file=sys.stderr)


# --------------------------------------------------------------------------- Planetoid files

class _PlanetoidUnpickler(pickle.Unpickler):
    """Builds only what the Planetoid pickles contain: arrays, CSR matrices, lists and a defaultdict."""

    def find_class(self, module: str, name: str) -> Any:
        import codecs
        import collections

        import scipy.sparse as sp

        allowed = {
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
            ("numpy.core.multiarray", "_reconstruct"): _reconstruct(),
            ("numpy._core.multiarray", "_reconstruct"): _reconstruct(),
            ("scipy.sparse.csr", "csr_matrix"): sp.csr_matrix,
            ("scipy.sparse._csr", "csr_matrix"): sp.csr_matrix,
            ("collections", "defaultdict"): collections.defaultdict,
            ("_codecs", "encode"): codecs.encode,  # how protocol 2 stores bytes
            ("__builtin__", "list"): list,
            ("builtins", "list"): list,
        }
        if (module, name) not in allowed:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a Planetoid file")
        return allowed[module, name]


def _reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct as rec
    except ImportError:  # pragma: no cover - NumPy 1.x
        from numpy.core.multiarray import _reconstruct as rec
    return rec


def _read_pickle(path: Path) -> Any:
    try:
        with open(path, "rb") as f:
            return _PlanetoidUnpickler(f, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as e:
        raise InputError(f"{path}: not a readable Planetoid file ({e})") from None


def read_planetoid(folder: str | os.PathLike, prefix: str):
    """Read the eight ``ind.<prefix>.*`` files into a :class:`graphvae.data.graph.Graph`.

    The same graph as PyG's ``torch_geometric.io.read_planetoid_data`` (tested against it): features
    ``allx`` then ``tx`` with the test rows put in their listed order, labels the argmax of the one-hot
    rows, and the public split as masks: the first ``len(y)`` nodes for training, the next 500 for
    validation and the listed test nodes. CiteSeer's test list has gaps (isolated nodes with no test
    row); those nodes get zero features and label 0, as in PyG.
    """
    import scipy.sparse as sp
    import torch

    from .graph import build_graph

    folder = Path(folder)
    x, tx, allx, y, ty, ally, links = (_read_pickle(folder / f"ind.{prefix}.{part}")
                                       for part in ("x", "tx", "allx", "y", "ty", "ally", "graph"))
    try:
        test_index = np.loadtxt(folder / f"ind.{prefix}.test.index", dtype=np.int64, ndmin=1)
    except ValueError as e:
        raise InputError(f"{folder / f'ind.{prefix}.test.index'}: not a list of node indices ({e})") from None
    order = np.sort(test_index)
    span = int(order[-1] - order[0]) + 1
    if span > tx.shape[0]:  # CiteSeer: rows of the missing test nodes are zeros
        slot = order - order[0]
        t = sp.coo_matrix(tx)
        tx = sp.coo_matrix((t.data, (slot[t.row], t.col)), shape=(span, tx.shape[1]))
        ty_full = np.zeros((span, ty.shape[1]), dtype=ty.dtype)
        ty_full[slot] = ty
        ty = ty_full
    features = sp.vstack([allx, tx], format="csr")
    labels = np.vstack([ally, ty]).argmax(axis=1)
    # the test rows are stored in sorted order; node test_index[k] is row order[k]
    perm = np.arange(labels.shape[0])
    perm[test_index] = order
    features, labels = features[perm], labels[perm]
    n = labels.shape[0]
    src = np.fromiter((u for u, vs in links.items() for _ in vs), dtype=np.int64)
    dst = np.fromiter((v for vs in links.values() for v in vs), dtype=np.int64)
    inside = (src < n) & (dst < n)
    graph = build_graph(src[inside], dst[inside], n, x=sp.csr_matrix(features, dtype=np.float32))
    graph.y = torch.from_numpy(labels.astype(np.int64))
    masks = {"train_mask": np.arange(y.shape[0]), "val_mask": np.arange(y.shape[0], y.shape[0] + 500),
             "test_mask": test_index}
    for key, index in masks.items():
        mask = torch.zeros(n, dtype=torch.bool)
        mask[torch.from_numpy(index[index < n])] = True
        setattr(graph, key, mask)
    return graph


def load_dataset(name: str, root: str | os.PathLike | None = None, download: bool = True):
    """Load a registered dataset (``cora``, ``citeseer``, ``pubmed``) as a :class:`graphvae.data.graph.Graph`.

    Looks in ``root``, ``$GRAPHVAE_DATA`` and the cache, then downloads into the cache (see the module
    docstring); ``download=False`` only looks. Raises :class:`graphvae.InputError` with one line that
    says where it looked and how to provide the files, or when the files of a folder given by ``root`` or
    ``$GRAPHVAE_DATA`` do not hold the registry's number of nodes.
    """
    key, entry = _entry(name)
    folder = dataset_folder(key, root, download)
    graph = read_planetoid(folder, key)
    if folder != cache_dir() / entry["folder"] and graph.num_nodes != entry["nodes"]:
        # a user's folder (root, $GRAPHVAE_DATA) of files without a pinned checksum (PubMed): a wrong copy
        raise InputError(f"{folder / f'ind.{key}.*'}: {graph.num_nodes} nodes where graphvae's registry has "
                         f"{entry['nodes']} for {key} (a different or truncated copy): replace the files")
    graph.name = key
    return graph
