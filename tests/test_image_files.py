"""IDX / npz readers and the image dataset loader, against independently built files."""
import gzip
import struct

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from graphvae._validation import InputError
from graphvae.data.image_files import (load_image_dataset, read_idx, read_mnist, read_mnist_npz, write_idx,
                                  write_mnist_npz)


def idx_bytes(code: int, fmt: str, array: np.ndarray) -> bytes:
    """An IDX file built by hand with struct (independent of write_idx)."""
    head = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return head + struct.pack(f">{array.size}{fmt}", *array.ravel().tolist())


@pytest.mark.parametrize("code,fmt,dtype", [(0x08, "B", np.uint8), (0x09, "b", np.int8), (0x0B, "h", np.int16),
                                            (0x0C, "i", np.int32), (0x0D, "f", np.float32), (0x0E, "d", np.float64)])
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_matches_hand_built_file(tmp_path, code, fmt, dtype, gz):
    rng = np.random.default_rng(code)
    a = (rng.integers(0, 100, (3, 4, 2)) * (1 if np.issubdtype(dtype, np.integer) else 0.37)).astype(dtype)
    raw = idx_bytes(code, fmt, a)
    path = tmp_path / ("f.idx.gz" if gz else "f.idx")
    path.write_bytes(gzip.compress(raw) if gz else raw)
    out = read_idx(path)
    assert out.dtype == dtype and out.shape == a.shape
    np.testing.assert_array_equal(out, a)


@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx1-ubyte.gz"])
def test_idx_round_trip_and_bytes(tmp_path, name):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (5, 3, 4) if "idx3" in name else (7,)).astype(np.uint8)
    path = write_idx(tmp_path / name, a)
    np.testing.assert_array_equal(read_idx(path), a)
    raw = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
    assert raw == idx_bytes(0x08, "B", a)


def write_fake_mnist(directory, gz: bool, rng, n_train=30, n_test=10, size=(6, 5)):
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, *size)).astype(np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, *size)).astype(np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    directory.mkdir(exist_ok=True)
    for name, a in arrays.items():
        write_idx(directory / (name + (".gz" if gz else "")), a)
    return [arrays[k] for k in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                                "t10k-labels-idx1-ubyte")]


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_directory_and_npz_agree(tmp_path, gz):
    rng = np.random.default_rng(1)
    arrays = write_fake_mnist(tmp_path / "idx", gz, rng)
    for got, want in zip(read_mnist(tmp_path / "idx"), arrays):
        np.testing.assert_array_equal(got, want)
    npz = write_mnist_npz(tmp_path / "mnist.npz", *arrays)
    for got, want in zip(read_mnist_npz(npz), arrays):
        np.testing.assert_array_equal(got, want)
    a = load_image_dataset("fashion-mnist", tmp_path / "idx", binarize=True)
    b = load_image_dataset(None, npz, binarize=True)
    assert a.name == "fashion-mnist" and b.name == "mnist" and a.shape == (6, 5)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.x_train, (arrays[0].reshape(30, -1) > 127).astype(np.float32))
    np.testing.assert_array_equal(a.y_test, arrays[3])
    c = load_image_dataset("mnist", npz, binarize=False)
    np.testing.assert_allclose(c.x_test, arrays[2].reshape(10, -1) / 255.0, rtol=1e-6)
    assert c.x_test.dtype == np.float32


def test_digits_split_is_stratified_and_seeded():
    from sklearn.datasets import load_digits

    d = load_digits()
    data = load_image_dataset("digits", seed=3)
    x = (d.data > 8).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(x, d.target, test_size=0.2, random_state=3, stratify=d.target)
    np.testing.assert_array_equal(data.x_test, x_test)
    np.testing.assert_array_equal(data.y_train, y_train)
    assert data.shape == (8, 8) and data.x_train.shape == (1437, 64)
    assert set(np.unique(data.x_train)) == {0.0, 1.0}
    other = load_image_dataset("digits", seed=4, binarize=False)
    assert not np.array_equal(other.y_test, data.y_test) and other.x_train.max() == 1.0


def one_line(excinfo) -> str:
    message = str(excinfo.value)
    assert message and "\n" not in message
    return message


def test_bad_files_give_one_line_errors(tmp_path):
    rng = np.random.default_rng(2)
    arrays = write_fake_mnist(tmp_path / "ok", False, rng)
    cases = {}
    with pytest.raises(InputError) as e:
        read_mnist(tmp_path / "missing")
    cases["missing"] = one_line(e)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError) as e:
        read_mnist(tmp_path / "empty")
    cases["empty dir"] = one_line(e)
    (tmp_path / "bad.idx").write_bytes(b"\x01\x02\x03\x04\x05")
    with pytest.raises(InputError, match="magic"):
        read_idx(tmp_path / "bad.idx")
    good = (tmp_path / "ok" / "train-images-idx3-ubyte").read_bytes()
    (tmp_path / "short.idx").write_bytes(good[:-7])
    with pytest.raises(InputError, match="data bytes") as e:
        read_idx(tmp_path / "short.idx")
    one_line(e)
    (tmp_path / "broken.gz").write_bytes(gzip.compress(good)[:40])
    with pytest.raises(InputError) as e:
        read_idx(tmp_path / "broken.gz")
    one_line(e)
    (tmp_path / "not.npz").write_bytes(b"hello")
    with pytest.raises(InputError, match="not a zip") as e:
        read_mnist(tmp_path / "not.npz")
    np.savez(tmp_path / "partial.npz", x_train=arrays[0])
    with pytest.raises(InputError, match="y_train") as e:
        read_mnist(tmp_path / "partial.npz")
    write_mnist_npz(tmp_path / "mismatch.npz", arrays[0], arrays[1][:-1], arrays[2], arrays[3])
    with pytest.raises(InputError, match="labels") as e:
        read_mnist(tmp_path / "mismatch.npz")
    one_line(e)
    assert all("\n" not in m for m in cases.values())


def test_loader_argument_errors(tmp_path):
    with pytest.raises(InputError, match="unknown image dataset"):
        load_image_dataset("cifar")
    with pytest.raises(InputError, match="not bundled"):
        load_image_dataset("mnist")
    with pytest.raises(InputError, match="bundled"):
        load_image_dataset("digits", tmp_path)
    with pytest.raises(InputError, match="test_size"):
        load_image_dataset("digits", test_size=1.5)
    with pytest.raises(InputError, match="dtype"):
        write_idx(tmp_path / "x.idx", np.zeros(3, dtype=np.uint32))


def test_pixel_scale_is_not_guessed_from_the_largest_value(tmp_path):
    """Pixels above 1 were divided by 255 whatever they were: a [0, 1] image set with one value of 1.0001 became blank
    images (a perfect reconstruction error and a chance probe, exit 0), and 0..16 integers nearly black ones."""
    rng = np.random.default_rng(0)
    unit = rng.random((20, 4, 4)).astype(np.float32)
    labels = np.arange(20) % 2

    def npz(name, train, test):
        path = tmp_path / name
        np.savez(path, x_train=train, y_train=labels, x_test=test, y_test=labels)
        return path

    assert load_image_dataset("mnist", npz("unit.npz", unit, unit), binarize=False).x_train.max() == unit.max()
    almost = unit.copy()
    almost[0, 0, 0] = 1.0001
    with pytest.raises(InputError, match=r"pixels must be bytes .* reach 1\.0001 and hold fractions"):
        load_image_dataset("mnist", npz("almost.npz", almost, unit), binarize=False)
    small = (unit * 16).round().astype(np.uint8)
    with pytest.warns(UserWarning, match="whole numbers up to 16, read as bytes"):
        data = load_image_dataset("mnist", npz("small.npz", small, small), binarize=False)
    assert np.allclose(data.x_train.reshape(small.shape), small / 255.0)
    whole = (unit * 255).round()  # bytes stored as floats: still bytes, no warning
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.allclose(load_image_dataset("mnist", npz("whole.npz", whole, whole), binarize=False).x_train,
                           (whole / 255.0).reshape(20, -1))
