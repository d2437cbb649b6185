"""Image datasets for the VAE: the bundled digits, and MNIST / Fashion-MNIST / CIFAR-10 read from files the user gives.

Nothing is downloaded. MNIST and Fashion-MNIST come in the same two formats:

- the original IDX files (LeCun et al.), gzipped or not, in one directory:
  ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
  ``t10k-labels-idx1-ubyte`` (each optionally ending in ``.gz``; ``.idx3-ubyte`` spellings work too);
- a Keras-style ``mnist.npz`` with arrays ``x_train``, ``y_train``, ``x_test``, ``y_test``.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions), one
big-endian ``uint32`` per dimension, then the values in big-endian C order.

CIFAR-10 (Krizhevsky 2009) comes as

- the "python version": ``data_batch_1`` .. ``data_batch_5`` and ``test_batch``, each a pickled dict
  with ``data`` (``N x 3072`` uint8, channel-major: 1024 red, 1024 green, 1024 blue values, each
  row-major 32x32) and ``labels`` (N integers 0..9). The distributed files were pickled by Python 2,
  so their keys are ``bytes`` (``b"data"``); ``str`` keys work too. Either the folder holding them
  (``cifar-10-batches-py/`` or its parent) or the distributed ``cifar-10-python.tar.gz`` itself;
- a Keras-style ``.npz`` with ``x_train``, ``y_train``, ``x_test``, ``y_test`` (``N x 32 x 32 x 3``
  uint8, channels last; labels ``[N]`` or ``[N, 1]``).

Both are returned channel-major, ``[N, 3, 32, 32]`` uint8. The pickles are read with an unpickler that
only rebuilds numpy arrays and plain containers, so a file cannot run code.

Every problem with a file (missing, truncated, wrong magic or keys, inconsistent shapes) is one-line
:class:`graphvae.InputError`.
"""
from __future__ import annotations

import gzip
import io
import os
import pickle
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._validation import InputError, InputTypeError, check_int, check_optional_bool, readable_file
from ..files import atomic_write

#: IDX type code -> big-endian numpy dtype
IDX_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
             0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_IDX_CODES = {dt.newbyteorder("="): code for code, dt in IDX_TYPES.items()}

#: the four IDX files of MNIST and Fashion-MNIST: (split, part) -> file-name stem
IDX_NAMES = {("train", "images"): "train-images", ("train", "labels"): "train-labels",
             ("test", "images"): "t10k-images", ("test", "labels"): "t10k-labels"}

#: the grey-image datasets :func:`load_image_dataset` knows (only digits is bundled) ...
DATASETS = ("digits", "mnist", "fashion-mnist")
#: ... and the colour ones (3x32x32, channel-major), read from the user's files
COLOUR_DATASETS = ("cifar10",)

#: the CIFAR-10 "python version" batch files, in the order of the distributed training set
CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST = "test_batch"
#: one CIFAR image, channel-major
CIFAR_SHAPE = (3, 32, 32)


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as f:
        head = f.read(2)
    if head != b"\x1f\x8b":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise InputError(f"malformed gzip file {path}: {_first_line(e)}") from None


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
    def write(tmp: Path) -> None:
        with opener(tmp, "wb") as f:  # closed (the gzip trailer written) before the rename
            f.write(raw)

    atomic_write(path, write)
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


def _read_npz(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The four Keras-style arrays ``x_train, y_train, x_test, y_test`` of an ``.npz``, unchecked."""
    path = readable_file(path, "npz file")
    if not zipfile.is_zipfile(path):
        raise InputError(f"malformed npz file {path}: not a zip archive")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in f.files]
            if missing:
                raise InputError(f"malformed npz file {path}: missing array(s) {', '.join(missing)}")
            return tuple(f[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, zlib.error) as e:
        if isinstance(e, InputError):
            raise
        raise InputError(f"malformed npz file {path}: {_first_line(e)}") from None


def _first_line(e: BaseException) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def read_mnist_npz(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_test, y_test)`` from a Keras-style ``mnist.npz``."""
    return _check_arrays(*_read_npz(path), source=str(path))


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
        if not ((np.issubdtype(x.dtype, np.number) or x.dtype == bool) and np.issubdtype(y.dtype, np.integer)):
            raise InputError(f"{source}: {name} images must be numbers (or booleans) and labels integers")
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
    if "-ubyte" in p.name or ".idx" in p.name:  # one of the four IDX files instead of their folder
        raise InputError(f"{p} is one IDX file: give the folder that holds the four (train-images, train-labels, "
                         f"t10k-images, t10k-labels), or an mnist.npz")
    return read_mnist_npz(p)

class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays, numbers, strings and containers only: any other global is refused."""

    ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("copyreg", "_reconstructor"), ("builtins", "object"),
               ("_codecs", "encode")}  # protocol-2 pickles from Python 3 store array bytes as _codecs.encode(str)

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only numpy arrays are expected)")
        return super().find_class(module, name)


def _unpickle_batch(raw: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    """``(images [N, 3, 32, 32] uint8, labels [N] int64)`` from the bytes of one CIFAR-10 batch pickle."""
    try:
        batch = _ArrayUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            ImportError, MemoryError, UnicodeDecodeError) as e:
        raise InputError(f"malformed CIFAR-10 batch {source}: {_first_line(e)} (truncated or not a pickle?)") from None
    if not isinstance(batch, dict):
        raise InputError(f"malformed CIFAR-10 batch {source}: expected a pickled dict, got {type(batch).__name__}")
    keys = {k.decode("latin-1") if isinstance(k, bytes) else str(k): v for k, v in batch.items()}
    missing = [k for k in ("data", "labels") if k not in keys]
    if missing:
        found = ", ".join(sorted(keys)) or "none"
        raise InputError(f"malformed CIFAR-10 batch {source}: no {' or '.join(missing)} key (keys: {found})")
    try:
        data, labels = np.asarray(keys["data"]), np.asarray(keys["labels"])
    except (ValueError, TypeError) as e:
        raise InputError(f"malformed CIFAR-10 batch {source}: {_first_line(e)}") from None
    size = int(np.prod(CIFAR_SHAPE))
    if data.ndim != 2 or data.shape[1] != size or data.dtype != np.uint8:
        raise InputError(f"CIFAR-10 batch {source}: data must be N x {size} uint8 (32x32x3 images, channel-major), "
                         f"got shape {data.shape} dtype {data.dtype}")
    if data.shape[0] == 0:
        raise InputError(f"CIFAR-10 batch {source} holds no images")
    if labels.ndim != 1 or labels.shape[0] != data.shape[0] or not np.issubdtype(labels.dtype, np.integer):
        raise InputError(f"CIFAR-10 batch {source}: {data.shape[0]} images but labels of shape {labels.shape} "
                         f"dtype {labels.dtype}")
    _check_cifar_labels(labels, f"CIFAR-10 batch {source}")
    return data.reshape(-1, *CIFAR_SHAPE), labels.astype(np.int64)


def _check_cifar_labels(labels: np.ndarray, source: str) -> None:
    """CIFAR-10's labels are the class numbers 0..9 (another value would be drawn as a class of its own)."""
    bad = labels[(labels < 0) | (labels > 9)]
    if bad.size:
        raise InputError(f"{source}: labels must be the class numbers 0..9, found {int(bad[0])}")


def _cifar_members(path: Path) -> dict[str, bytes]:
    """The raw bytes of every CIFAR batch file found in a folder (or its cifar-10-batches-py/) or a tar archive."""
    names = (*CIFAR_TRAIN, CIFAR_TEST)
    if path.is_dir():
        for folder in (path, path / "cifar-10-batches-py"):
            found = {n: folder / n for n in names if (folder / n).is_file()}
            if found:
                return {n: p.read_bytes() for n, p in found.items()}
        return {}
    readable_file(path, "CIFAR-10 archive")
    if path.name in names:
        raise InputError(f"{path} is one CIFAR-10 batch: give the folder that holds all six (data_batch_1 .. 5, "
                         f"test_batch), the python-version .tar.gz or a Keras-style .npz")
    try:
        with tarfile.open(path, "r:*") as tar:
            out = {}
            for member in tar.getmembers():
                base = member.name.rsplit("/", 1)[-1]
                if member.isfile() and base in names and base not in out:
                    out[base] = tar.extractfile(member).read()
            return out
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raise InputError(f"malformed CIFAR-10 archive {path}: {_first_line(e)} (expected the python-version "
                         f".tar.gz, a folder of batches or an .npz)") from None


def read_cifar10_batches(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_test, y_test)`` from the CIFAR-10 python-version batches in a folder or ``.tar.gz``.

    Images are ``[N, 3, 32, 32]`` uint8 (channel-major, as stored), labels int64. The training set is
    ``data_batch_1`` .. ``data_batch_5`` in that order; all five and ``test_batch`` must be present.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"CIFAR-10 path not found: {path} (give the cifar-10-batches-py folder, "
                         f"cifar-10-python.tar.gz or a Keras-style .npz)")
    raw = _cifar_members(path)
    missing = [n for n in (*CIFAR_TRAIN, CIFAR_TEST) if n not in raw]
    if missing:
        raise InputError(f"no CIFAR-10 batch file(s) {', '.join(missing)} in {path}")
    train = [_unpickle_batch(raw[n], f"{path}:{n}") for n in CIFAR_TRAIN]
    x_test, y_test = _unpickle_batch(raw[CIFAR_TEST], f"{path}:{CIFAR_TEST}")
    return np.concatenate([t[0] for t in train]), np.concatenate([t[1] for t in train]), x_test, y_test


def read_cifar10_npz(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_test, y_test)`` from a Keras-style CIFAR-10 ``.npz`` (images ``N x 32 x 32 x 3``).

    Returned channel-major like :func:`read_cifar10_batches`; ``[N, 1]`` labels are flattened.
    """
    arrays = list(_read_npz(path))
    for i, split in ((0, "train"), (2, "test")):
        x, y = arrays[i], arrays[i + 1]
        if x.ndim != 4 or x.shape[1:] != (32, 32, 3) or x.dtype != np.uint8:
            raise InputError(f"{path}: {split} images must be N x 32 x 32 x 3 uint8, got shape {x.shape} dtype {x.dtype}")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1 or y.shape[0] != x.shape[0] or not np.issubdtype(y.dtype, np.integer):
            raise InputError(f"{path}: {x.shape[0]} {split} images but labels of shape {y.shape} dtype {y.dtype}")
        _check_cifar_labels(y, f"{path} ({split})")
        arrays[i], arrays[i + 1] = np.ascontiguousarray(x.transpose(0, 3, 1, 2)), y.astype(np.int64)
    return tuple(arrays)


def read_cifar10(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CIFAR-10 from the python-version folder or ``.tar.gz``, or a Keras-style ``.npz``: ``[N, 3, 32, 32]`` uint8."""
    p = Path(path)
    if p.is_file() and zipfile.is_zipfile(p):
        return read_cifar10_npz(p)
    return read_cifar10_batches(p)


@dataclass(frozen=True)
class ImageDataset:
    """Images as ``[n, pixels]`` float32 in [0, 1] (or {0, 1} if binarized) with integer labels and a train/test split.

    ``shape`` is one image's shape: ``(h, w)`` for grey images, ``(3, h, w)`` for colour (the pixels of
    a row are then channel-major: all red values, then green, then blue). ``levels`` is the number of
    grey levels of the stored integers when the pixels are exactly ``k / (levels - 1)`` (256 for 8-bit
    CIFAR-10), which :func:`graphvae.objectives.pixel_likelihood.dequantize` needs; ``None`` otherwise.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    shape: tuple[int, ...]
    binarized: bool
    levels: int | None = None


def _pixel_range(path: object, *arrays: np.ndarray) -> float:
    """255 or 1: the scale of grey pixels (bytes, or already in [0, 1]), after checking that they are finite,
    non-negative, real and within 0..255, and that no array is empty; else :class:`InputError`.

    Pixels above 1 must be whole numbers (bytes): a float image set in [0, 1] with one value a hair above 1 used to be
    divided by 255, silently, into blank images. Whole numbers that stay far below 255 (such as 0..16) are read as
    bytes too, with a warning: they may be on a scale of their own, and would come out nearly black.
    """
    for a in arrays:
        if a.size == 0:
            raise InputError(f"{path}: an image array is empty")
        if np.iscomplexobj(a) or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise InputError(f"{path}: pixels must be real numbers, got dtype {a.dtype}")
        if not np.isfinite(a).all():
            raise InputError(f"{path}: pixels contain NaN or inf")
    low, high = min(float(a.min()) for a in arrays), max(float(a.max()) for a in arrays)
    if low < 0 or high > 255:
        raise InputError(f"{path}: pixels must lie in 0..255 (bytes) or [0, 1], they range over [{low:g}, {high:g}]")
    if high <= 1:
        return 1.0
    fractional = next((a for a in arrays if a.dtype.kind == "f" and not np.array_equal(a, np.round(a))), None)
    if fractional is not None:
        value = float(fractional[fractional != np.round(fractional)].ravel()[0])
        raise InputError(f"{path}: pixels must be bytes (whole numbers 0..255) or lie in [0, 1]; these reach {high:g} "
                         f"and hold fractions (e.g. {value:g}): scale them to [0, 1]")
    if high < 128:
        import warnings

        warnings.warn(f"{path}: pixels are whole numbers up to {high:g}, read as bytes (divided by 255): if they are on "
                      f"a scale of their own (such as 0..{high:g}), divide them by {high:g} first", UserWarning,
                      stacklevel=3)
    return 255.0


def _scale(x: np.ndarray, maximum: float, binarize: bool) -> np.ndarray:
    """Pixels to [0, 1]; binarized at more than half of ``maximum`` (> 127 of 255, as digits use > 8 of 16)."""
    x = x.reshape(len(x), -1).astype(np.float64)
    return (x > maximum / 2).astype(np.float32) if binarize else (x / maximum).astype(np.float32)


def load_image_dataset(name: str | None = "digits", path: str | os.PathLike | None = None,
                       binarize: bool | None = None, seed: int = 0, test_size: float = 0.2) -> ImageDataset:
    """Load an image dataset with its train/test split.

    Args:
        name: ``"digits"`` (bundled with scikit-learn, 8x8), ``"mnist"`` or ``"fashion-mnist"`` (28x28,
            read from ``path``), ``"cifar10"`` (3x32x32 colour, read from ``path``); ``None`` means
            ``"mnist"`` if ``path`` is given, else ``"digits"``.
        path: for MNIST/Fashion-MNIST, a directory of IDX files or a Keras-style ``.npz``; for CIFAR-10 the
            python-version folder or ``.tar.gz``, or a Keras-style ``.npz``.
        binarize: threshold pixels at half their range (digits: > 8 of 16), for Bernoulli pixels;
            otherwise scale them to [0, 1]. Default: ``True`` for grey images; CIFAR-10 is never binarized
            (its pixels are ``k / 255``, ``levels = 256``).
        seed, test_size: digits has no fixed split; it is split by
            ``train_test_split(test_size=test_size, random_state=seed, stratify=y)`` (``seed`` an integer from 0
            to 2**32 - 1, ``test_size`` a fraction in (0, 1)). The file datasets
            keep their own split (60000/10000, CIFAR-10 50000/10000).
    """
    if name is None:
        name = "mnist" if path is not None else "digits"
    if not isinstance(name, str):
        raise InputTypeError(f"the image dataset name must be a string, got {type(name).__name__} {name!r}")
    binarize = check_optional_bool(binarize, "binarize")  # a string such as "no" would count as true
    name = name.lower().replace("_", "-")
    name = "cifar10" if name == "cifar-10" else name
    if name not in DATASETS + COLOUR_DATASETS:
        raise InputError(f"unknown image dataset {name!r}; choose one of {', '.join(DATASETS + COLOUR_DATASETS)}")
    if name == "cifar10":
        if path is None:
            raise InputError("cifar10 is not bundled: give the path of its python-version folder, .tar.gz or .npz")
        if binarize:
            raise InputError("CIFAR-10 colour pixels are never binarized (they use the Gaussian pixel likelihood)")
        x_train, y_train, x_test, y_test = read_cifar10(path)
        return ImageDataset(name, _scale(x_train, 255.0, False), y_train, _scale(x_test, 255.0, False), y_test,
                            CIFAR_SHAPE, False, levels=256)
    binarize = True if binarize is None else bool(binarize)
    if name == "digits":
        if path is not None:
            raise InputError("digits is bundled with scikit-learn; a path is only for mnist, fashion-mnist or cifar10")
        if isinstance(test_size, (bool, np.bool_)) or not isinstance(test_size, (int, float, np.integer, np.floating)) \
                or not 0 < test_size < 1:
            raise InputError(f"test_size must be a number in (0, 1), got {test_size!r}")
        # the split's seed: None would draw from numpy's global generator, a different split on every call
        seed = check_int(seed, "seed", 0, 2**32 - 1)
        from sklearn.model_selection import train_test_split

        from .images import load_digits

        x, y, shape = load_digits(binarize)
        try:
            x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=test_size, random_state=seed,
                                                                stratify=y)
        except ValueError as e:  # a side too small to hold every class
            raise InputError(f"test_size {test_size} cannot split the {len(y)} digits with every class on both "
                             f"sides ({str(e).splitlines()[0]})") from None
        return ImageDataset(name, x_train, y_train, x_test, y_test, shape, binarize)
    if path is None:
        raise InputError(f"{name} is not bundled: give the path of its IDX directory or .npz file")
    x_train, y_train, x_test, y_test = read_mnist(path)
    maximum = _pixel_range(path, x_train, x_test)
    return ImageDataset(name, _scale(x_train, maximum, binarize), y_train.astype(np.int64),
                        _scale(x_test, maximum, binarize), y_test.astype(np.int64), tuple(x_train.shape[1:]), binarize)
