"""Input validation shared by every reader and estimator.

Every problem with user input is raised as :class:`InputError` (a ``ValueError``) carrying a
single line that the command-line interface prints verbatim before exiting non-zero.
"""
from __future__ import annotations

import os
from pathlib import Path


class InputError(ValueError):
    """Bad user input: a one-line, human-readable message."""


class InputTypeError(InputError, TypeError):
    """Bad user input of the wrong type (e.g. a non-numeric array): an :class:`InputError` that is also a ``TypeError``."""


class DivergenceWarning(UserWarning):
    """Training ended with a finite loss far above its starting loss (e.g. a learning rate far too large): the fitted
    model is finite but has learned nothing useful. (A NaN or inf model is an :class:`InputError` instead.)"""


class CollapseWarning(UserWarning):
    """A graph model gave every node the same embedding: training collapsed (e.g. every hidden unit inactive after
    too large a step) or the encoder cannot tell the graph's nodes apart (e.g. a complete graph without features);
    its link scores are then all equal (AUC 0.5)."""


def rows_all_equal(z) -> bool:
    """Whether ``z`` (a numpy array or a torch tensor) has two or more rows and all of them are the same vector: the
    embeddings of a collapsed model, which tell no nodes apart (:class:`CollapseWarning`)."""
    return len(z) > 1 and not bool((z != z[:1]).any())


def path_text(path: str | bytes | os.PathLike, what: str = "file") -> str:
    """``path`` as text: a ``bytes`` path (which ``open`` and ``np.save`` take) decoded as ``os.fsdecode`` does;
    :class:`InputTypeError` for anything that is no path (it was a ``TypeError`` traceback from ``pathlib``)."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise InputTypeError(f"{what}: the path must be a str, bytes or os.PathLike, got {type(path).__name__}")
    return os.fsdecode(path)


def readable_file(path: str | bytes | os.PathLike, what: str = "file") -> Path:
    """Return ``path`` as a :class:`Path` or raise :class:`InputError` if it cannot be read."""
    path = path_text(path, what)
    if not path.strip():  # Path("") is ".", the current folder
        raise InputError(f"{what}: the path is empty")
    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} not found: {p}")
    if not p.is_file():
        raise InputError(f"{what} is not a regular file: {p}")
    if not os.access(p, os.R_OK):
        raise InputError(f"{what} is not readable: {p}")
    return p


def writable_path(path: str | bytes | os.PathLike, what: str = "output file") -> Path:
    """Return ``path`` as a :class:`Path`, or raise :class:`InputError` if it cannot be written: the first
    existing folder above it (where any missing folders would be created) must be a writable folder."""
    p = Path(path_text(path, what))
    if str(path) == "-":  # the shell's "standard output" (a file named '-' was written)
        raise InputError(f"cannot write the {what} to '-': graphvae writes files, not standard output (the results "
                         f"are printed there); give a path, or ./- for a file of that name")
    if p.is_dir():
        raise InputError(f"cannot write the {what} {p}: it is a folder")
    folder = unwritable_folder(p.absolute().parent)
    if folder is not None:
        raise InputError(f"cannot write the {what} {p}: {folder} is not a writable folder")
    return p


def unwritable_folder(folder: str | os.PathLike) -> Path | None:
    """The first existing path at or above ``folder`` (an absolute path: where missing folders would be created)
    when it is not a writable folder, else ``None``."""
    folder = Path(folder)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        return folder
    # os.access answers yes to root everywhere, also on a read-only file system or /proc: create a file to be sure
    import tempfile

    try:
        handle, name = tempfile.mkstemp(prefix=".graphvae-check-", dir=folder)
    except OSError:
        return folder
    os.close(handle)
    os.unlink(name)
    return None


def check_int(value, name: str, minimum: int = 1, maximum: int | None = None) -> int:
    """``value`` as an int in ``minimum..maximum`` (not a bool, not a float), else :class:`InputError`."""
    import numpy as np

    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum or (
            maximum is not None and value > maximum):
        bound = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
        raise InputError(f"{name} must be an integer {bound}, got {value!r}")
    return int(value)


def check_optional_bool(value, name: str) -> bool | None:
    """``value`` if it is ``True``, ``False`` or ``None``, else :class:`InputTypeError` (a string such as ``"no"``
    would otherwise count as true)."""
    import numpy as np

    if value is not None and not isinstance(value, (bool, np.bool_)):
        raise InputTypeError(f"{name} must be True, False or None, got {value!r}")
    return None if value is None else bool(value)


#: the largest seed torch takes (``torch.manual_seed`` overflows beyond int64)
MAX_SEED = 2**63 - 1


def check_seed(value, name: str = "random_state") -> int:
    """A seed torch takes: an integer from 0 to :data:`MAX_SEED`."""
    return check_int(value, name, 0, MAX_SEED)


def counted(count: int, one: str, many: str | None = None) -> str:
    """``count`` and the noun in its number: ``counted(1, "self-loop")`` is "1 self-loop", ``counted(2, "edge of
    weight 0", "edges of weight 0")`` "2 edges of weight 0" (``many`` defaults to ``one`` + "s")."""
    return f"{count} {one if count == 1 else many or one + 's'}"


def plain_ids(ids) -> list:
    """Node ids as a list of plain Python values: a tensor or array of ids gives its ``tolist()``, and so does each
    0-d tensor or numpy scalar in a sequence (a 0-d tensor hashes by identity: two equal ones would pass as distinct
    ids, no lookup by id would find them, and a file would get the text "tensor(7)")."""
    if hasattr(ids, "tolist"):
        if getattr(ids, "ndim", 1) != 1:  # an [N, 1] tensor gave ids [0], [1], ... (lists, which cannot key a dict)
            raise InputError(f"node ids must be one id a node, shape [N], got shape {list(ids.shape)}")
        return ids.tolist()
    return [_plain_id(node) for node in ids]


def _plain_id(node):
    if not hasattr(node, "tolist") or isinstance(node, (str, bytes)):
        return node
    if getattr(node, "ndim", 0) != 0:
        raise InputError(f"a node id must be a single value, got a {type(node).__name__} of shape {tuple(node.shape)}")
    return node.tolist()


def real_array(array, what: str):
    """``array`` as a float64 numpy array, else :class:`InputTypeError`: complex numbers (also in an object array,
    whose imaginary part numpy would drop with only a warning), strings, dates and durations (which numpy casts to
    numbers without a word), or anything else numpy cannot convert. Booleans are 0 and 1. Values are not checked:
    :func:`check_finite` and :func:`check_float32_range` do that."""
    import warnings

    import numpy as np

    a = np.asarray(array)
    if a.dtype.kind not in "biufO":
        raise InputTypeError(f"{what} must be real numbers, got dtype {a.dtype}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", np.exceptions.ComplexWarning)  # an object array of complex numbers
            return np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError, np.exceptions.ComplexWarning) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputTypeError(f"{what} must be real numbers: {reason}") from None


def as_float32(array, what: str):
    """``array`` as a new float32 array, or :class:`InputError` for values that are not real numbers
    (:func:`real_array`), or naming the first row with a NaN or inf value or with a magnitude float32 cannot hold
    (above 3.4e38: it would become inf)."""
    import numpy as np

    wide = real_array(array, what)
    check_finite(wide, what)
    check_float32_range(wide, what)
    return wide.astype(np.float32)


def check_float32_range(array, what: str, why: str = "the model computes in float32") -> None:
    """Raise :class:`InputError` naming the first row of ``array`` with a finite value of magnitude above float32's
    largest, 3.4e38, which would become inf in float32 (``why``: what holds float32). NaN and inf are not checked
    here (:func:`check_finite`)."""
    import numpy as np

    if array.dtype.itemsize <= 4 or not array.size:  # float32, float16, int32 and smaller: always within
        return
    limit = float(np.finfo(np.float32).max)
    with np.errstate(invalid="ignore"):
        if -limit <= array.min() and array.max() <= limit:  # the common case, without a temporary |array|
            return
        big = np.abs(array) > limit
    big &= np.isfinite(array)
    if big.any():
        row = int(np.argwhere(big)[0][0])
        top = float(np.abs(array[big]).max())
        raise InputError(f"{what} exceed float32's range at row {row} (magnitude up to {top:g}, beyond float32's "
                         f"{limit:g}; {why}): rescale them")


def check_finite(array, what: str) -> None:
    """Raise :class:`InputError` naming the first row that holds NaN or inf."""
    import numpy as np

    bad = ~np.isfinite(array)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise InputError(f"{what} contain NaN or inf (first at row {row})")
