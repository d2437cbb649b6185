"""Benchmark datasets, fetched on first use, verified and cached (like PyG's ``Planetoid`` and scikit-learn's ``fetch_*``).

The registry (``graphvae/data/datasets.json``, shipped in the package) names each dataset's files, where
they are downloaded from and their SHA-256 sums. Every data folder has one layout, the parent of
``planetoid/``: ``DIR/planetoid/Cora/raw/ind.cora.x``; the user's folders (1, 2 below) may also have PyG's,
``DIR/Cora/raw/ind.cora.x`` (the ``root`` of PyG's ``Planetoid``), looked at second. :func:`load_dataset` looks, in order, in

1. ``root`` (``--data-dir`` on the command line), which must be an existing folder: a path that is not one (a
   mistyped path, say) is an error, not passed over (graphvae never creates or changes it);
2. ``$GRAPHVAE_DATA``;
3. the per-user cache :func:`cache_dir` (``$XDG_CACHE_HOME/graphvae``, else ``~/.cache/graphvae``);

and otherwise downloads the files into the cache. A folder that holds none of a dataset's files is passed
over (``root`` is looked in as ``root/planetoid/<Name>/raw``, PyG's ``root/<Name>/raw`` and the raw folder
itself). Every file found is checked against its SHA-256 (the registry's; for a dataset without one, PubMed,
the ``SHA256SUMS`` recorded when graphvae downloaded it). The user's folders (1, 2) are never changed: one
that holds only some of the files, or a file that does not match, is an error naming the files. In the
cache, missing or damaged files are downloaded again (with ``download=False``: an error naming them).

Downloads come from the registry's URL (``$GRAPHVAE_DATA_URL`` replaces the base URL, e.g. a mirror or a
local server; http(s) only), each file with a connection and read timeout (:func:`download_timeout`) and an
overall deadline (:func:`download_deadline`), into a hidden ``.graphvae-partial-*`` folder of the cache
folder. The files are checked (the registry's SHA-256; files without one must read as Planetoid files and
get their SHA-256 recorded in ``SHA256SUMS``) before they are moved into place, so a partial, corrupted or
wrong download (an error page served with status 200, say) is never used. A partial folder left behind by
a killed process is removed by a later download once it is an hour old.

The Planetoid files are pickles; they are read with an unpickler that only builds the NumPy, SciPy and
builtin types the format uses, so a hostile file cannot run code.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
import re
import shutil
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import InputError

#: seconds to wait for a connection and between bytes of a download (``$GRAPHVAE_DOWNLOAD_TIMEOUT``)
DOWNLOAD_TIMEOUT = 10.0
#: seconds one file's download may take in all (``$GRAPHVAE_DOWNLOAD_DEADLINE``): a server that trickles
#: bytes never trips the read timeout
DOWNLOAD_DEADLINE = 600.0
#: how the partial downloads in the cache are named
PARTIAL_PREFIX = ".graphvae-partial-"
#: a partial download untouched for this many seconds was left by a killed process and is removed
STALE_AFTER = 3600.0


@functools.lru_cache(maxsize=1)
def registry() -> dict[str, Any]:
    """The dataset registry: ``{"sources": {...}, "datasets": {name: {"files": {file: sha256}, ...}}}``."""
    return json.loads(resources.files("graphvae.data").joinpath("datasets.json").read_text())


def dataset_names() -> list[str]:
    return sorted(registry()["datasets"])


def cache_dir() -> Path:
    """graphvae's one per-user cache folder: ``$XDG_CACHE_HOME/graphvae``, else ``~/.cache/graphvae``. A relative
    ``$XDG_CACHE_HOME`` is ignored, as the XDG Base Directory specification says (it named a different folder in
    every working directory)."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg if xdg and os.path.isabs(xdg) else Path.home() / ".cache") / "graphvae"


def _entry(name: str) -> tuple[str, dict[str, Any]]:
    key = str(name).lower()
    datasets = registry()["datasets"]
    if key not in datasets:
        raise InputError(f"unknown dataset '{name}' (choose from: {', '.join(sorted(datasets))})")
    return key, datasets[key]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as e:
        raise InputError(f"{path}: cannot be read ({e.strerror or e})") from None
    return digest.hexdigest()


def _search_path(root: str | os.PathLike | None) -> list[tuple[str, Path]]:
    places = []
    if root is not None:
        if not Path(root).is_dir():  # a mistyped --data-dir: not passed over for the files of the next place
            what = "is not a folder" if os.path.exists(root) else "does not exist"
            rest = "$GRAPHVAE_DATA and the cache" if os.environ.get("GRAPHVAE_DATA") else "graphvae's cache"
            raise InputError(f"the data folder {root} (--data-dir, root) {what}: give the folder that holds "
                             f"planetoid/<Name>/raw/ (or PyG's <Name>/raw/), or leave it out to use {rest}")
        places.append((ROOT_LABEL, Path(root)))
    if os.environ.get("GRAPHVAE_DATA"):
        places.append(("$GRAPHVAE_DATA", Path(os.environ["GRAPHVAE_DATA"])))
    places.append(("the cache", cache_dir()))
    return places


#: how messages name the folder given as ``root`` / ``--data-dir``
ROOT_LABEL = "the data folder"


def _folders(places: list[tuple[str, Path]], entry: dict[str, Any]) -> list[tuple[str, Path]]:
    """Where each place keeps the entry's files: ``DIR/planetoid/Cora/raw``; in the user's folders (not the cache)
    also ``DIR/Cora/raw``, the layout of PyG's ``Planetoid(root=DIR, name="Cora")``, second; and ``root`` itself
    last (``--data-dir`` naming the raw folder: it was passed over for the cache or a download)."""
    out = []
    for label, base in places:
        out.append((label, base / entry["folder"]))
        inner = Path(*Path(entry["folder"]).parts[1:])  # the folder without its "planetoid/" level
        if label != "the cache" and inner.parts:
            out.append((label, base / inner))
        if label == ROOT_LABEL:  # --data-dir naming the raw folder itself
            out.append((label, base))
    return out


def _damaged(folder: Path, files: dict[str, str | None]) -> list[str]:
    """The files of ``folder`` whose SHA-256 is not the registry's or, for files without one (PubMed), not the
    one in the ``SHA256SUMS`` graphvae recorded when it downloaded them (if there is one)."""
    recorded = _read_sums(folder / "SHA256SUMS")
    damaged = []
    for f, expected in files.items():
        expected = expected or recorded.get(f)
        if expected is not None and _sha256(folder / f) != expected:
            damaged.append(f)
    return damaged


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


def dataset_folder(name: str, root: str | os.PathLike | None = None, download: bool = True,
                   progress: bool = True) -> Path:
    """The folder holding ``name``'s verified raw files, downloading them into the cache if needed.

    Looks in ``root``, ``$GRAPHVAE_DATA`` and the cache, in that order (see the module docstring). Raises
    :class:`graphvae.InputError`, one line, when ``root`` is not an existing folder, when ``root`` or
    ``$GRAPHVAE_DATA`` holds only some of the files (naming the missing ones) or a file whose SHA-256 does not
    match (naming it): graphvae does not pass over, change or overwrite a user's files. Missing or damaged files
    in the cache are downloaded again; with ``download=False``, or when that download fails, that is an error
    naming them too. Also raises it when the download fails (naming the URL, and the HTTP status where the
    server answered) and when the cache cannot be written.
    ``progress=False`` hides the download's progress bar (drawn only when stderr is a terminal); the one-line
    summary of a download is printed on stderr either way.
    """
    key, entry = _entry(name)
    files = entry["files"]
    places = _search_path(root)
    note, stale = "", []  # stale: the damaged files of the cache, fetched again below
    for label, folder in _folders(places, entry):
        missing = [f for f in files if not (folder / f).is_file()]
        if len(missing) == len(files):
            continue
        user = label != "the cache"
        if missing and user:
            raise InputError(f"{label} {folder} holds {len(files) - len(missing)} of {key}'s {len(files)} files, "
                             f"missing {', '.join(missing)}: add them, or move the folder away to use graphvae's "
                             "cache")
        damaged = [] if missing else _damaged(folder, files)
        if damaged and user:
            raise InputError(f"{folder / damaged[0]}: SHA-256 does not match the one graphvae expects (a damaged or "
                             "different file): replace it with the original")
        if damaged and not download:
            raise InputError(f"{folder / damaged[0]}: SHA-256 does not match the one graphvae expects (a damaged "
                             "file in graphvae's cache): delete it to download it again")
        if not missing and not damaged:
            return folder
        note = f"; the cache lacks {', '.join(missing)}" if missing else ""
        stale = [folder / f for f in damaged]
    looked = "; ".join(f"{label} {folder}" for label, folder in _folders(places, entry)) + note
    how = (f"put the files in DIR/{entry['folder']} and pass --data-dir DIR (root=DIR) or set GRAPHVAE_DATA=DIR")
    if not download:
        raise InputError(f"dataset '{key}' not found (looked in {looked}): {how}")
    download_timeout(), download_deadline()  # a bad setting fails before any folder is made
    base_url = _base_url(entry)
    target = cache_dir() / entry["folder"]
    created = [folder for folder in (target, *target.parents) if not folder.exists()]  # deepest first
    try:
        _download(key, entry, base_url, target, progress)
    except InputError as e:
        _remove_empty(created)
        if stale:
            raise InputError(f"{', '.join(map(str, stale))}: SHA-256 does not match the one graphvae expects (a "
                             f"damaged file in graphvae's cache) and it could not be fetched again: {e}; try again "
                             f"when the download works, or {how}") from None
        raise InputError(f"dataset '{key}' not found (looked in {looked}) and {e}: {how}") from None
    except OSError as e:  # a read-only cache, XDG_CACHE_HOME a file, a full disk (network errors are InputErrors)
        _remove_empty(created)
        where = f"{e.filename}: " if e.filename else ""
        if isinstance(e, IsADirectoryError) and e.filename and str(e.filename).startswith(str(cache_dir())):
            raise InputError(f"{e.filename} is a folder where graphvae's cache keeps a file of {key}: remove it to "
                             f"download the file again") from None
        raise InputError(f"dataset '{key}' not found (looked in {looked}) and graphvae's cache {cache_dir()} cannot "
                         f"be written ({where}{e.strerror or e}): set XDG_CACHE_HOME to a writable folder, or "
                         f"{how}") from None
    except BaseException:  # an interrupt (Ctrl-C) or an unexpected error: no empty folders left either
        _remove_empty(created)
        raise
    if stale:
        print(f"graphvae: replaced the damaged {', '.join(p.name for p in stale)} (SHA-256 did not match) in {target}",
              file=sys.stderr)
    return target


def _remove_empty(folders: list[Path]) -> None:
    """Remove the given folders (deepest first) where a failed download left them empty."""
    for folder in folders:
        try:
            folder.rmdir()  # only an empty folder: anything written there stays
        except OSError:
            return


def _seconds(variable: str, default: float) -> float:
    text = os.environ.get(variable)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise InputError(f"{variable} must be a positive number of seconds, got {text!r}")
    return value


def download_timeout() -> float:
    """``$GRAPHVAE_DOWNLOAD_TIMEOUT`` (seconds, a positive finite number) or :data:`DOWNLOAD_TIMEOUT`: how long a
    download waits for a connection and for each read."""
    return _seconds("GRAPHVAE_DOWNLOAD_TIMEOUT", DOWNLOAD_TIMEOUT)


def download_deadline() -> float:
    """``$GRAPHVAE_DOWNLOAD_DEADLINE`` (seconds, a positive finite number) or :data:`DOWNLOAD_DEADLINE`: how long
    the download of one file may take in all (checked after each read, so it can overrun by one read timeout)."""
    return _seconds("GRAPHVAE_DOWNLOAD_DEADLINE", DOWNLOAD_DEADLINE)


def _base_url(entry: dict[str, Any]) -> str:
    """The base URL of the entry's files: ``$GRAPHVAE_DATA_URL`` or the registry's; only http(s)."""
    from urllib.parse import urlsplit

    base = os.environ.get("GRAPHVAE_DATA_URL") or registry()["sources"][entry["source"]]["base_url"]
    try:
        scheme = urlsplit(base).scheme.lower()
    except ValueError as e:  # e.g. an unclosed IPv6 bracket
        raise InputError(f"GRAPHVAE_DATA_URL={base!r} is not a URL ({e})") from None
    if scheme not in ("http", "https"):
        raise InputError(f"GRAPHVAE_DATA_URL={base!r}: only http(s) URLs can be downloaded (give an http:// or "
                         "https:// URL, or put the files in a folder and set GRAPHVAE_DATA)")
    return base if base.endswith("/") else base + "/"


def _download(key: str, entry: dict[str, Any], base: str, target: Path, progress: bool) -> None:
    """Fetch the entry's files into a partial folder in ``target``, check them, then move them into place.

    Files with a registered SHA-256 must match it; files without one must read as a Planetoid data set, and
    their SHA-256 is recorded in ``target/SHA256SUMS``. Nothing reaches ``target`` unless every file passed.
    """
    import tempfile

    target.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(target)
    partial = Path(tempfile.mkdtemp(prefix=PARTIAL_PREFIX, dir=target))
    try:
        unpinned = {}
        for file, digest in entry["files"].items():
            got = _fetch(base + file, partial / file, progress)
            if digest is None:
                unpinned[file] = got
            elif got != digest:
                raise InputError(f"the download of {file} from {base} does not match its SHA-256 in graphvae's "
                                 "registry and was discarded")
        if unpinned:  # no checksum to hold them to: they must at least be Planetoid files (not an error page)
            try:
                _read_registered(partial, key, entry)
            except InputError as e:
                reason = str(e).replace(str(partial) + os.sep, base).removesuffix(": replace the files")
                raise InputError(f"the download from {base} is not a Planetoid data set and was discarded "
                                 f"({reason})") from None
            (partial / "SHA256SUMS").write_text("".join(f"{digest}  {file}\n" for file, digest in unpinned.items()))
            (target / "SHA256SUMS").unlink(missing_ok=True)  # the old sums must not judge the new files
        for file in [*entry["files"], *(["SHA256SUMS"] if unpinned else [])]:
            os.replace(partial / file, target / file)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    print(f"graphvae: downloaded {len(entry['files'])} files from {base} into {target}", file=sys.stderr)
    if unpinned:
        print(f"graphvae: warning: {', '.join(unpinned)} have no checksum in graphvae's registry; downloaded "
              f"from {base} unverified (they read as Planetoid files), their SHA-256 recorded in "
              f"{target / 'SHA256SUMS'}", file=sys.stderr)


def _remove_stale_partials(folder: Path) -> None:
    """Remove what killed downloads left in ``folder``, once untouched for :data:`STALE_AFTER` seconds:
    ``.graphvae-partial-*`` folders and files (and the ``tmp*`` files of graphvae's earlier pooch downloads).
    A younger one may be another process's download in progress and stays."""
    now = time.time()
    for path in folder.iterdir():
        if not (path.name.startswith(PARTIAL_PREFIX) or (path.name.startswith("tmp") and path.is_file())):
            continue
        try:
            inside = list(path.iterdir()) if path.is_dir() and not path.is_symlink() else []
            if now - max(p.lstat().st_mtime for p in [path, *inside]) < STALE_AFTER:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError:  # removed meanwhile, or not ours to remove: the download goes on
            continue


def _fetch(url: str, path: Path, progress: bool) -> str:
    """Stream ``url`` into the file ``path`` and return its SHA-256.

    :class:`graphvae.InputError` for an HTTP status other than 200 (naming it), a network error or timeout,
    a connection closed before the announced ``Content-Length`` arrived (saying how many bytes came), and a
    download that outlasts :func:`download_deadline`.
    """
    import requests
    import urllib3

    timeout, deadline = download_timeout(), download_deadline()
    start = time.monotonic()
    digest = hashlib.sha256()
    bar = response = None
    try:
        with requests.get(url, stream=True, timeout=timeout) as response:
            if response.status_code != 200:
                raise InputError(f"downloading {url} failed: HTTP {response.status_code} {response.reason or ''}"
                                 .rstrip())
            if progress and sys.stderr.isatty():
                from tqdm import tqdm

                size = int(response.headers.get("content-length") or 0) or None
                bar = tqdm(total=size, desc=path.name, unit="B", unit_scale=True, leave=False, file=sys.stderr)
            # read1: whatever has arrived (urllib3 2), so the deadline is checked however slowly bytes come
            read = getattr(response.raw, "read1", response.raw.read)
            with open(path, "wb") as f:
                while chunk := read(1 << 16, decode_content=True):
                    f.write(chunk)
                    digest.update(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
                    if time.monotonic() - start > deadline:
                        raise InputError(f"downloading {url} took longer than {deadline:g} s and was stopped "
                                         "(GRAPHVAE_DOWNLOAD_DEADLINE sets the limit per file)")
    except (requests.RequestException, urllib3.exceptions.HTTPError) as e:
        if isinstance(e, (requests.Timeout, urllib3.exceptions.TimeoutError)):
            reason = f"no answer within {timeout:g} s; GRAPHVAE_DOWNLOAD_TIMEOUT sets the limit"
        elif (size := _announced_size(response)) is not None and (got := response.raw.tell()) < size:
            # urllib3's ProtocolError("Connection broken: IncompleteRead(...)"): say it in the user's words
            raise InputError(f"downloading {url} was truncated (got {got} of {size} bytes before the connection "
                             "closed; try again)") from None
        else:  # the OS's reason ("Connection refused") where there is one: requests' text is a paragraph
            errno_text = re.search(r"\[Errno -?\d+\] ([^'\"()\]]+)", str(e))
            reason = type(e).__name__ + (f": {errno_text.group(1).strip()}" if errno_text else "")
        raise InputError(f"downloading {url} failed ({reason})") from None
    finally:
        if bar is not None:
            bar.close()
    return digest.hexdigest()


def _announced_size(response) -> int | None:
    """The ``Content-Length`` the server announced (``None``: no response, or none announced)."""
    try:
        return int(response.headers["content-length"])
    except (AttributeError, TypeError, KeyError, ValueError):
        return None


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
    except OSError as e:
        raise InputError(f"{path}: cannot be read ({e.strerror or e})") from None
    except Exception as e:  # a damaged or different file: UnpicklingError, EOFError, or what a malformed stream raises
        raise InputError(f"{path}: not a readable Planetoid file ({' '.join(str(e).split())[:200]})") from None


def read_planetoid(folder: str | os.PathLike, prefix: str):
    """Read the eight ``ind.<prefix>.*`` files into a :class:`graphvae.data.graph.Graph`.

    The same graph as PyG's ``torch_geometric.io.read_planetoid_data`` (tested against it): features
    ``allx`` then ``tx`` with the test rows put in their listed order, labels the argmax of the one-hot
    rows, and the public split as masks: the first ``len(y)`` nodes for training, the next 500 for
    validation and the listed test nodes. CiteSeer's test list has gaps (isolated nodes with no test
    row); those nodes get zero features and label 0, as in PyG.

    The files are checked before they are combined: matrices of agreeing shapes, an adjacency dict of node
    numbers, and a test list of one distinct node number per ``tx`` row, the smallest the first node after
    ``allx``'s rows, none past the graph's nodes. Anything else (a truncated, damaged or mismatched file)
    raises :class:`graphvae.InputError` naming the file.
    """
    import scipy.sparse as sp
    import torch

    from .graph import build_graph

    folder = Path(folder)

    def path(part: str) -> Path:
        return folder / f"ind.{prefix}.{part}"

    parts = {part: _read_pickle(path(part)) for part in ("x", "tx", "allx", "y", "ty", "ally", "graph")}
    for part in ("x", "tx", "allx", "y", "ty", "ally"):
        m = parts[part]
        if not (isinstance(m, np.ndarray) or (sp.issparse(m) and part.endswith("x"))) or m.ndim != 2:
            raise InputError(f"{path(part)}: not a Planetoid {'feature' if part.endswith('x') else 'label'} "
                             f"matrix (a {type(m).__name__} of shape {getattr(m, 'shape', '?')})")
    for a, b, axis in (("y", "x", 0), ("ally", "allx", 0), ("ty", "tx", 0),
                       ("tx", "allx", 1), ("x", "allx", 1), ("ty", "ally", 1), ("y", "ally", 1)):
        if parts[a].shape[axis] != parts[b].shape[axis]:
            what = ("rows", "columns")[axis]
            raise InputError(f"{path(a)}: {parts[a].shape[axis]} {what} where {path(b).name} has "
                             f"{parts[b].shape[axis]} (a damaged or mismatched file)")
    x, tx, allx, y, ty, ally, links = parts.values()
    try:
        src = np.fromiter((u for u, vs in links.items() for _ in vs), dtype=np.int64)
        dst = np.fromiter((v for vs in links.values() for v in vs), dtype=np.int64)
    except (AttributeError, TypeError, ValueError, OverflowError):
        raise InputError(f"{path('graph')}: not a Planetoid adjacency dict (node number: list of node "
                         "numbers)") from None
    if (src < 0).any() or (dst < 0).any():
        raise InputError(f"{path('graph')}: negative node numbers")
    index_file = path("test.index")
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty file ("input contained no data"): the count check says so
            test_index = np.loadtxt(index_file, dtype=np.int64, ndmin=1)
    except (OSError, ValueError) as e:
        raise InputError(f"{index_file}: not a list of node indices ({' '.join(str(e).split())[:200]})") from None
    labelled, rows = allx.shape[0], tx.shape[0]
    order = np.sort(test_index.ravel())
    last = max(labelled + rows, int(max(src.max(initial=-1), dst.max(initial=-1))) + 1) - 1
    distinct = np.unique(order).size
    counted = test_index.ndim == 1 and order.size == distinct == rows
    if not (counted and (rows == 0 or order[0] == labelled <= order[-1] <= last)):
        got = f", from {order[0]} to {order[-1]}" if order.size else ""
        raise InputError(f"{index_file}: expected {rows} distinct node numbers (one per row of {path('tx').name}) "
                         f"from {labelled} to at most {last}, got {order.size} numbers, {distinct} distinct{got} "
                         "(a truncated or mismatched file)")
    span = int(order[-1] - order[0]) + 1 if rows else 0
    try:
        if span > rows:  # CiteSeer: rows of the missing test nodes are zeros
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
        inside = (src < n) & (dst < n)
        graph = build_graph(src[inside], dst[inside], n, x=sp.csr_matrix(features, dtype=np.float32))
    except (ValueError, TypeError, IndexError) as e:  # a safety net: the checks above should catch these
        raise InputError(f"{path('*')}: not a readable Planetoid data set ({' '.join(str(e).split())[:200]})") from None
    graph.y = torch.from_numpy(labels.astype(np.int64))
    masks = {"train_mask": np.arange(y.shape[0]), "val_mask": np.arange(y.shape[0], y.shape[0] + 500),
             "test_mask": test_index}
    for key, index in masks.items():
        mask = torch.zeros(n, dtype=torch.bool)
        mask[torch.from_numpy(index[index < n])] = True
        setattr(graph, key, mask)
    return graph


def load_dataset(name: str, root: str | os.PathLike | None = None, download: bool = True, progress: bool = True):
    """Load a registered dataset (``cora``, ``citeseer``, ``pubmed``) as a :class:`graphvae.data.graph.Graph`.

    Looks in ``root``, ``$GRAPHVAE_DATA`` and the cache, then downloads into the cache (see the module
    docstring and :func:`dataset_folder`); ``download=False`` only looks; ``progress=False`` hides the
    download's progress bar. Raises :class:`graphvae.InputError` with one line that says where it looked and
    how to provide the files, when ``root`` is not an existing folder (naming it), when a folder's files are
    incomplete, damaged or unreadable (naming them), or when the files of a folder given by ``root`` or
    ``$GRAPHVAE_DATA`` do not hold the registry's number of nodes.
    """
    key, entry = _entry(name)
    folder = dataset_folder(key, root, download, progress=progress)
    try:
        graph = _read_registered(folder, key, entry)
    except InputError as e:
        if folder != cache_dir() / entry["folder"]:
            raise
        # files without a pinned checksum (PubMed) cached by a graphvae that did not check them: not ours to keep
        raise InputError(f"{e}: graphvae's cached copy is not usable: delete {folder} to download it again") from None
    graph.name = key
    return graph


def _read_registered(folder: Path, key: str, entry: dict[str, Any]):
    """:func:`read_planetoid`, refusing files that do not hold the registry's number of nodes: files without a
    pinned checksum (PubMed) in a user's folder, in the cache or just downloaded may be another data set's."""
    graph = read_planetoid(folder, key)
    if graph.num_nodes != entry["nodes"]:
        raise InputError(f"{folder / f'ind.{key}.*'}: {graph.num_nodes} nodes where graphvae's registry has "
                         f"{entry['nodes']} for {key} (a different or truncated copy): replace the files")
    return graph
