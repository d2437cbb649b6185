"""Export and import node embeddings, keyed by the original node ids.

- ``.npy``: the array alone (row ``i`` is node ``node_ids[i]``);
- ``.csv``: a header, then the node id and its vector per line;
- ``.emb``: the word2vec text format of node2vec and gensim (``KeyedVectors.load_word2vec_format``):
  a header line ``N d``, then ``node_id v1 ... vd`` per line (ids must not contain whitespace);
- ``.npz``: arrays ``ids`` (strings) and ``embeddings``.

Text files are UTF-8 whatever the locale (as gensim reads them). Ids are written as ``str(id)``, so two ids with
the same text (``1`` and ``"1"``) are refused rather than written twice.
"""
from __future__ import annotations

import csv
import os
import zipfile
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from .._validation import (InputError, check_float32_range, path_text, plain_ids, readable_file,
                           real_array, writable_path)
from ..files import atomic_write, write_csv_rows

FORMATS = (".npy", ".csv", ".emb", ".npz")


def check_output_path(path: str | bytes | os.PathLike) -> Path:
    """``path`` if its suffix is a known format and its folder can be written, else :class:`InputError`."""
    path = path_text(path, "embeddings file")
    if not path.strip():  # Path("") is ".", the current folder
        raise InputError("embeddings file: the path is empty")
    path = Path(path)
    if path.suffix.lower() not in FORMATS:  # z.CSV is a CSV file (as cluster --out and the graph readers take it)
        raise InputError(f"embeddings file must end in {', '.join(FORMATS)}; got {path}")
    return writable_path(path, "embeddings file")


def check_emb_ids(node_ids: Sequence) -> None:
    """:class:`InputError` unless every id can be a word of the ``.emb`` (word2vec) format: non-empty, no whitespace."""
    bad = next((i for i in map(str, node_ids) if not i or any(c.isspace() for c in i)), None)
    if bad is not None:
        raise InputError(f"the .emb (word2vec) format needs node ids without whitespace, got {bad!r}: "
                         f"write .csv or .npz instead")


def check_distinct_ids(node_ids: Sequence) -> None:
    """:class:`InputError` if two node ids are written as the same text (e.g. ``1`` and ``"1"`` of a networkx graph)."""
    seen: set[str] = set()
    for text in map(str, node_ids):
        if text in seen:
            raise InputError(f"two node ids are both written as {text!r} (e.g. 1 and '1'): relabel the nodes so "
                             f"that their texts differ")
        seen.add(text)


def check_npz_ids(node_ids: Sequence) -> None:
    """:class:`InputError` for an id that the ``.npz`` format cannot hold: numpy's strings drop trailing NUL
    characters, so ``"a\\0"`` was read back as ``"a"``."""
    bad = next((i for i in map(str, node_ids) if i.endswith("\0")), None)
    if bad is not None:
        raise InputError(f"the .npz format cannot hold the node id {bad!r} (it ends in a NUL character): "
                         f"write .csv instead")


def check_ids(node_ids: Sequence, suffix: str) -> None:
    """:class:`InputError` unless the file format of ``suffix`` can hold ``node_ids``, each as its own text:
    :func:`check_distinct_ids` (but for ``.npy``, which holds no ids), :func:`check_emb_ids`, :func:`check_npz_ids`."""
    suffix = suffix.lower()
    if suffix != ".npy":
        check_distinct_ids(node_ids)
    if suffix == ".emb":
        check_emb_ids(node_ids)
    if suffix == ".npz":
        check_npz_ids(node_ids)


def save_embeddings(path: str | bytes | os.PathLike, embeddings: np.ndarray, node_ids: Sequence) -> None:
    """Write embeddings atomically; the format follows the suffix (``.npy``, ``.csv``, ``.emb`` or ``.npz``).

    Text files are UTF-8; but for ``.npy`` (no ids), two ids written as the same text raise :class:`InputError`.
    ``embeddings`` may be a numpy array or a torch tensor (on any device, requiring grad or not); ``.npy``/``.npz`` store
    float32 (the precision of graphvae's embeddings) and :func:`load_embeddings` reads every format back as float32. ``node_ids`` may be a
    list, a numpy array or a tensor of ids."""
    path = check_output_path(path)
    if hasattr(embeddings, "detach"):  # a torch tensor (torch is imported only where one is passed)
        from .graph import numpy_ready

        embeddings = numpy_ready(embeddings).numpy()
    if isinstance(node_ids, (set, frozenset)):  # rows would be matched to ids in an arbitrary order
        raise InputError("node_ids must be in the order of the embeddings' rows (a list or an array), got a set")
    node_ids = plain_ids(node_ids)  # a tensor's items were written "tensor(7)"
    embeddings = np.asarray(embeddings)
    if embeddings.ndim != 2:
        raise InputError(f"embeddings must be a 2-d array [nodes, dimensions], got shape {embeddings.shape}")
    if not all(embeddings.shape):  # load_embeddings refuses such a file: refuse to write it
        raise InputError(f"embeddings must hold at least one node and one dimension, got shape {embeddings.shape}")
    if np.iscomplexobj(embeddings):  # .npz/.npy would drop the imaginary parts with a mere ComplexWarning
        raise InputError("embeddings must be real numbers, got complex values")
    if not np.issubdtype(embeddings.dtype, np.floating):
        # strings failed inside the writer; dates and durations were written as numbers, and None as nan
        if embeddings.dtype.kind not in "biuO":
            raise InputError(f"embeddings must be numbers, got dtype {embeddings.dtype}")
        if embeddings.dtype == object and any(v is None for v in embeddings.flat):
            raise InputError("embeddings must be numbers, got None")
        embeddings = real_array(embeddings, "embeddings")  # an object array: of real numbers
    check_float32_range(embeddings, "embeddings", "the embedding files hold float32")  # NaN and inf are written
    if len(node_ids) != len(embeddings):
        raise InputError(f"{len(node_ids)} node ids for {len(embeddings)} embeddings")
    check_ids(node_ids, path.suffix)
    if path.suffix.lower() == ".emb":
        ids = [str(i) for i in node_ids]

        def write_emb(tmp):
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(f"{len(ids)} {embeddings.shape[1]}\n")
                for node, row in zip(ids, embeddings):
                    f.write(node + " " + " ".join(repr(float(v)) for v in row) + "\n")
        atomic_write(path, write_emb)
        return
    if path.suffix.lower() == ".npz":
        ids = np.array([str(i) for i in node_ids])

        def write_npz(tmp):
            import zipfile

            # np.savez's layout, with the ids deflated: numpy stores strings at the longest id's width (288 MB of
            # mostly padding for 200k URL ids beside 13 MB of embeddings); np.load reads either member
            with open(tmp, "wb") as out, \
                    zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True, compresslevel=1) as archive:
                with archive.open("ids.npy", "w", force_zip64=True) as f:  # the archive's default: deflated
                    np.lib.format.write_array(f, ids, allow_pickle=False)
                stored = zipfile.ZipInfo("embeddings.npy")  # stored: floats gain nothing from deflate
                with archive.open(stored, "w", force_zip64=True) as f:
                    np.lib.format.write_array(f, embeddings.astype(np.float32), allow_pickle=False)
        atomic_write(path, write_npz)
        return
    if path.suffix.lower() == ".npy":
        def write(tmp):
            with open(tmp, "wb") as f:
                np.save(f, np.asarray(embeddings, dtype=np.float32))
        atomic_write(path, write)
    elif path.suffix.lower() == ".csv":
        def write(tmp):
            # ids as str(id), as the other formats (None was an empty field); ids starting with '#' are quoted
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                write_csv_rows(f, ["node_id"] + [f"z{i}" for i in range(embeddings.shape[1])],
                               ([str(node), *(repr(float(v)) for v in row)] for node, row in zip(node_ids, embeddings)))
        atomic_write(path, write)


def load_embeddings(path: str | bytes | os.PathLike) -> tuple[list[str] | None, np.ndarray]:
    """Read embeddings back: ``(node_ids, array)``; ``node_ids`` is ``None`` for ``.npy``, strings otherwise.

    A file that is not in the format its suffix names raises :class:`InputError`.
    """
    path = readable_file(path, "embeddings file")
    try:
        ids, embeddings = _load_embeddings(path)
        if embeddings.ndim != 2 or not len(embeddings) or not embeddings.shape[1]:
            raise InputError(f"{path}: no embeddings (expected rows of a node's values, got shape {embeddings.shape})")
        if not (np.issubdtype(embeddings.dtype, np.floating) or np.issubdtype(embeddings.dtype, np.integer)):
            raise InputError(f"{path}: embeddings must be real numbers, got dtype {embeddings.dtype}")
        if ids is not None and len(ids) != len(embeddings):  # a .npz of other arrays: rows matched to the wrong ids
            raise InputError(f"{path}: {len(ids)} node ids for {len(embeddings)} rows of embeddings")
        if ids is not None and len(set(ids)) != len(ids):
            repeated = next(i for i, count in Counter(ids).items() if count > 1)
            raise InputError(f"{path}: node id {repeated!r} is on more than one row (one row of embeddings per node)")
        return ids, embeddings
    except InputError:
        raise
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise InputError(f"{path}: not a readable {path.suffix or 'CSV'} embeddings file "
                         f"({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None


def _load_embeddings(path: Path) -> tuple[list[str] | None, np.ndarray]:
    if path.suffix.lower() == ".npy":
        return None, np.load(path, allow_pickle=False)
    if path.suffix.lower() == ".npz":
        with np.load(path, allow_pickle=False) as f:
            ids = f["ids"]
            if ids.ndim != 1:  # a 0-d string was read as one id per character, a column as ids "['a']"
                raise InputError(f"{path}: array 'ids' must be 1-d (one id per row), got shape {ids.shape}")
            # bytes ids (numpy's 'S' strings, as h5py or Python 2 wrote them) were read as "b'a'"
            return [i.decode("utf-8") if isinstance(i, bytes) else str(i) for i in ids.tolist()], f["embeddings"]
    if path.suffix.lower() == ".emb":
        with open(path, encoding="utf-8-sig") as f:  # -sig: a byte-order mark is not part of the header line
            n, d = (int(v) for v in f.readline().split())
            # rstrip: the word2vec C tool ends each line with a space (gensim's reader strips it too); blank lines at
            # the end are ignored (gensim reads the N rows the header announces)
            rows = [line.rstrip().split(" ") for line in f]
        while rows and rows[-1] == [""]:
            rows.pop()
        if len(rows) != n or any(len(r) != d + 1 for r in rows):
            raise InputError(f"{path}: not a word2vec text file with {n} rows of an id and {d} values")
        return [r[0] for r in rows], _float32(path, [[float(v) for v in r[1:]] for r in rows])
    with open(path, newline="", encoding="utf-8-sig") as f:
        try:
            lines = [(n, r) for n, r in enumerate(csv.reader(f), 1) if r]  # blank lines (a trailing one) hold no row
        except csv.Error as e:  # Python 3.10's reader refuses a NUL character ("line contains NUL")
            raise InputError(f"{path}: not readable as CSV by this Python's csv module ({e})") from None
    rows = lines[1:]
    for n, r in rows:
        if len(r) != len(lines[0][1]):
            raise InputError(f"{path}, line {n}: {len(r)} fields where the header has {len(lines[0][1])}")
    return [r[0] for _, r in rows], _float32(path, [[float(v) for v in r[1:]] for _, r in rows])


def _float32(path: Path, rows: list[list[float]]) -> np.ndarray:
    """The values of a text file as float32; :class:`InputError` for a finite value beyond float32's range (it became
    inf, with only a numpy RuntimeWarning)."""
    try:
        with np.errstate(over="raise"):
            return np.array(rows, dtype=np.float32)
    except FloatingPointError:
        raise InputError(f"{path}: a value exceeds float32's range (magnitude at most "
                         f"{float(np.finfo(np.float32).max):g}): load_embeddings reads float32") from None
