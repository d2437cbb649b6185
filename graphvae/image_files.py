"""Image datasets for the VAE: the bundled digits, and MNIST / Fashion-MNIST read from files the user gives.

Nothing is downloaded. MNIST and Fashion-MNIST come in the same two formats:

- the original IDX files (LeCun et al.), gzipped or not, in one directory:
  ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
  ``t10k-labels-idx1-ubyte`` (each optionally ending in ``.gz``; ``.idx3-ubyte`` spellings work too);
- a Keras-style ``mnist.npz`` with arrays ``x_train``, ``y_train``, ``x_test``, ``y_test``.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions), one
big-endian ``uint32`` per dimension, then the values in big-endian C order. Every problem with a file
(missing, truncated, wrong magic, inconsistent shapes) is one-line :class:`graphvae.InputError`.
"""
from __future__ import annotations

import gzip
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._validation import InputError, atomic_write, readable_file
from .images import load_digits

#: IDX type code -> big-endian numpy dtype
IDX_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
             0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_IDX_CODES = {dt.newbyteorder("="): code for code, dt in IDX_TYPES.items()}

#: the four IDX files of MNIST and Fashion-MNIST: (split, part) -> file-name stem
IDX_NAMES = {("train", "images"): "train-images", ("train", "labels"): "train-labels",
             ("test", "images"): "t10k-images", ("test", "labels"): "t10k-labels"}

#: dataset names :func:`load_image_dataset` knows; only digits is bundled
DATASETS = ("digits", "mnist", "fashion-mnist")


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as f:
        head = f.read(2)
    if head != b"\x1f\x8b":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise InputError(f"malformed gzip file {path}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (gzipped or not) into a native-endian numpy array of its stored shape."""
    path = readable_file(path, "IDX file")
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES or data[3] == 0:
        raise InputError(f"malformed IDX file {path}: bad magic number (not an IDX file?)")
    dtype, ndim = IDX_TYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise InputError(f"malformed IDX file {path}: header truncated")
    shape = tuple(int(s) for s in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise InputError(f"malformed IDX file {path}: shape {shape} needs {expected} data bytes, found {len(data) - header}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file (gzipped if ``path`` ends in ``.gz``), atomically."""
    array = np.asarray(array)
    if array.dtype not in _IDX_CODES:
        raise InputError(f"IDX cannot store dtype {array.dtype}; use one of {sorted(str(d) for d in _IDX_CODES)}")
    if array.ndim == 0 or array.ndim > 255:
        raise InputError(f"IDX needs 1 to 255 dimensions, got {array.ndim}")
    code = _IDX_CODES[array.dtype]
    raw = (bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
           + np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes())
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    atomic_write(path, lambda tmp: opener(tmp, "wb").write(raw))
    return path


def _find_idx(directory: Path, split: str, part: str) -> Path:
    stem = IDX_NAMES[(split, part)]
    ndim = 3 if part == "images" else 1
    for name in (f"{stem}-idx{ndim}-ubyte", f"{stem}.idx{ndim}-ubyte"):
        for candidate in (directory / name, directory / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    raise InputError(f"no {stem}-idx{ndim}-ubyte[.gz] in {directory}")


def read_mnist_idx(directory: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_test, y_test)`` from the four MNIST-style IDX files in ``directory``."""
    directory = Path(directory)
    arrays = [read_idx(_find_idx(directory, split, part)) for split in ("train", "test") for part in ("images", "labels")]
    return _check_arrays(*arrays, source=str(directory))


def read_mnist_npz(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_test, y_test)`` from a Keras-style ``mnist.npz``."""
    path = readable_file(path, "npz file")
    if not zipfile.is_zipfile(path):
        raise InputError(f"malformed npz file {path}: not a zip archive")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in f.files]
            if missing:
                raise InputError(f"malformed npz file {path}: missing array(s) {', '.join(missing)}")
            arrays = [f[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, zlib.error) as e:
        if isinstance(e, InputError):
            raise
        raise InputError(f"malformed npz file {path}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    return _check_arrays(*arrays, source=str(path))


def write_mnist_npz(path: str | os.PathLike, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                    y_test: np.ndarray) -> Path:
    """Write the four arrays as a Keras-style ``mnist.npz`` (compressed), atomically."""
    path = Path(path)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would append ".npz" to the temporary name
            np.savez_compressed(f, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)

    atomic_write(path, write)
    return path


def _check_arrays(x_train, y_train, x_test, y_test, source: str):
    for name, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.ndim != 3:
            raise InputError(f"{source}: {name} images must have shape [n, height, width], got {x.shape}")
        if y.ndim != 1 or y.shape[0] != x.shape[0]:
            raise InputError(f"{source}: {x.shape[0]} {name} images but labels of shape {y.shape}")
        if not (np.issubdtype(x.dtype, np.number) and np.issubdtype(y.dtype, np.integer)):
            raise InputError(f"{source}: {name} images must be numbers and labels integers")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise InputError(f"{source}: train images {x_train.shape[1:]} and test images {x_test.shape[1:]} differ in size")
    return x_train, y_train, x_test, y_test


def read_mnist(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST or Fashion-MNIST from a directory of IDX files or a Keras-style ``.npz`` file."""
    p = Path(path)
    if p.is_dir():
        return read_mnist_idx(p)
    if not p.exists():
        raise InputError(f"MNIST path not found: {p} (give a directory of IDX files or an mnist.npz)")
    return read_mnist_npz(p)


@dataclass(frozen=True)
class ImageDataset:
    """Images as ``[n, pixels]`` float32 in [0, 1] (or {0, 1} if binarized) with integer labels and a train/test split."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    shape: tuple[int, int]
    binarized: bool


def _scale(x: np.ndarray, maximum: float, binarize: bool) -> np.ndarray:
    """Pixels to [0, 1]; binarized at more than half of ``maximum`` (> 127 of 255, as digits use > 8 of 16)."""
    x = x.reshape(len(x), -1).astype(np.float64)
    return (x > maximum / 2).astype(np.float32) if binarize else (x / maximum).astype(np.float32)


def load_image_dataset(name: str | None = "digits", path: str | os.PathLike | None = None, binarize: bool = True,
                       seed: int = 0, test_size: float = 0.2) -> ImageDataset:
    """Load an image dataset with its train/test split.

    Args:
        name: ``"digits"`` (bundled with scikit-learn, 8x8), ``"mnist"`` or ``"fashion-mnist"`` (28x28,
            read from ``path``); ``None`` means ``"mnist"`` if ``path`` is given, else ``"digits"``.
        path: for MNIST/Fashion-MNIST, a directory of IDX files or a Keras-style ``.npz``.
        binarize: threshold pixels at half their range (digits: > 8 of 16), for Bernoulli pixels;
            otherwise scale them to [0, 1].
        seed, test_size: digits has no fixed split; it is split by
            ``train_test_split(test_size=test_size, random_state=seed, stratify=y)``. MNIST-style data
            keep their own 60000/10000 split.
    """
    if name is None:
        name = "mnist" if path is not None else "digits"
    name = name.lower().replace("_", "-")
    if name not in DATASETS:
        raise InputError(f"unknown image dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if name == "digits":
        if path is not None:
            raise InputError("digits is bundled with scikit-learn; a path is only for mnist or fashion-mnist")
        if not 0 < test_size < 1:
            raise InputError(f"test_size must be in (0, 1), got {test_size}")
        from sklearn.model_selection import train_test_split

        x, y, shape = load_digits(binarize)
        x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=test_size, random_state=seed, stratify=y)
        return ImageDataset(name, x_train, y_train, x_test, y_test, shape, binarize)
    if path is None:
        raise InputError(f"{name} is not bundled: give the path of its IDX directory or .npz file")
    x_train, y_train, x_test, y_test = read_mnist(path)
    maximum = 255.0 if max(x_train.max(initial=0), x_test.max(initial=0)) > 1 else 1.0
    return ImageDataset(name, _scale(x_train, maximum, binarize), y_train.astype(np.int64),
                        _scale(x_test, maximum, binarize), y_test.astype(np.int64), tuple(x_train.shape[1:]), binarize)
