"""Colour images: CIFAR-10 readers on files written here, bits/dim against hand computations, RGB figures, the CLI."""
import json
import math
import pickle
import struct
import tarfile

import numpy as np
import pytest
import torch
from torch.distributions import Normal

from graphvae.objectives import elbo as elbo_module
from graphvae.evaluation import plots
from graphvae._validation import InputError
from graphvae.cli import main
from graphvae.objectives.elbo import ELBO
from graphvae.evaluation.frechet import feature_classifier
from graphvae.data.image_files import load_image_dataset, read_cifar10
from graphvae.estimators.image_vae import ImageVAE
from graphvae.objectives.pixel_likelihood import GaussianPixels, bits_per_dim, dequantize

TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
#: the colours of the synthetic classes (RGB in [0, 1])
PALETTE = np.array([[0.9, 0.1, 0.1], [0.1, 0.8, 0.2], [0.15, 0.2, 0.9], [0.9, 0.85, 0.1]])


def colour_set(n: int, seed: int, classes: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """``[n, 3, 32, 32]`` uint8 images with class structure: a class colour, horizontal or vertical stripes, noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    rows = np.arange(32)
    stripes = ((rows // 4) % 2).astype(float)
    x = np.empty((n, 3, 32, 32))
    for i, c in enumerate(y):
        pattern = stripes[:, None] * np.ones(32) if c % 2 == 0 else np.ones(32)[:, None] * stripes
        x[i] = PALETTE[c][:, None, None] * (0.55 + 0.45 * pattern) + rng.normal(0, 0.05, (3, 32, 32))
    return np.clip(np.round(x * 255), 0, 255).astype(np.uint8), y


def batch_bytes(x: np.ndarray, y: np.ndarray, str_keys: bool = False, **override) -> bytes:
    """One CIFAR-10 python-version batch pickled by hand: channel-major ``N x 3072`` rows, as distributed."""
    batch = {b"batch_label": b"synthetic batch", b"labels": [int(v) for v in y], b"data": x.reshape(len(x), -1),
             b"filenames": [f"img_{i}.png".encode() for i in range(len(x))]}
    batch.update({k.encode(): v for k, v in override.items()})
    if str_keys:
        batch = {k.decode(): v for k, v in batch.items()}
    return pickle.dumps(batch, protocol=2)


def py2_batch_bytes(x: np.ndarray, y) -> bytes:
    """A batch as the distributed files are: pickled by Python 2 and numpy 1.x, opcode by opcode.

    Keys and the array bytes are Python 2 ``str`` (SHORT_BINSTRING / BINSTRING, read back as ``bytes``),
    and the array is rebuilt through ``numpy.core.multiarray._reconstruct``.
    """
    def short(b: bytes) -> bytes:
        return b"U" + bytes([len(b)]) + b

    data = x.reshape(len(x), -1)
    raw = data.tobytes()
    array = (b"cnumpy.core.multiarray\n_reconstruct\n" + b"cnumpy\nndarray\n" + b"K\x00\x85" + short(b"b") + b"\x87R"
             + b"(K\x01" + b"J" + struct.pack("<i", data.shape[0]) + b"J" + struct.pack("<i", data.shape[1]) + b"\x86"
             + b"cnumpy\ndtype\n" + short(b"u1") + b"K\x00K\x01\x87R"
             + b"(K\x03" + short(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
             + b"\x89" + b"T" + struct.pack("<I", len(raw)) + raw + b"tb")
    labels = b"](" + b"".join(b"K" + bytes([int(v)]) for v in y) + b"e"
    return (b"\x80\x02}(" + short(b"data") + array + short(b"labels") + labels + short(b"batch_label")
            + short(b"training batch") + b"u.")


def write_cifar_folder(folder, x_train, y_train, x_test, y_test, str_keys=False):
    folder.mkdir(parents=True, exist_ok=True)
    for name, idx in zip(TRAIN, np.array_split(np.arange(len(x_train)), 5)):
        (folder / name).write_bytes(batch_bytes(x_train[idx], y_train[idx], str_keys))
    (folder / "test_batch").write_bytes(batch_bytes(x_test, y_test, str_keys))
    return folder


def write_cifar_tar(path, folder):
    with tarfile.open(path, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    return path


@pytest.fixture(scope="module")
def colour(tmp_path_factory):
    x_train, y_train = colour_set(48, seed=0)
    x_test, y_test = colour_set(16, seed=1)
    root = tmp_path_factory.mktemp("cifar")
    folder = write_cifar_folder(root / "cifar-10-batches-py", x_train, y_train, x_test, y_test)
    return dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, root=root, folder=folder,
                tar=write_cifar_tar(root / "cifar-10-python.tar.gz", folder))


def assert_same(got, colour):
    for a, key in zip(got, ("x_train", "y_train", "x_test", "y_test")):
        np.testing.assert_array_equal(a, colour[key])


def test_batches_folder_parent_and_tar_read_channel_major(colour, tmp_path):
    for source in (colour["folder"], colour["root"], colour["tar"]):
        got = read_cifar10(source)
        assert got[0].shape == (48, 3, 32, 32) and got[0].dtype == np.uint8 and got[1].dtype == np.int64
        assert_same(got, colour)
    # str keys (a re-pickled copy) read the same
    assert_same(read_cifar10(write_cifar_folder(tmp_path / "str", *(colour[k] for k in
                                                ("x_train", "y_train", "x_test", "y_test")), str_keys=True)), colour)
    # Python 2 pickles (the distributed files) read the same
    py2 = write_cifar_folder(tmp_path / "py2", *(colour[k] for k in ("x_train", "y_train", "x_test", "y_test")))
    for name, idx in zip(TRAIN, np.array_split(np.arange(48), 5)):
        (py2 / name).write_bytes(py2_batch_bytes(colour["x_train"][idx], colour["y_train"][idx]))
    assert pickle.loads((py2 / "data_batch_1").read_bytes(), encoding="bytes").keys() == {b"data", b"labels",
                                                                                          b"batch_label"}
    assert_same(read_cifar10(py2), colour)
    # the layout by hand: row r of a batch holds 1024 red, then 1024 green, then 1024 blue values, row-major
    x = read_cifar10(colour["folder"])[0]
    row = pickle.loads((colour["folder"] / "data_batch_1").read_bytes(), encoding="bytes")[b"data"][3]
    for channel, r, c in ((0, 0, 5), (1, 7, 31), (2, 31, 0)):
        assert x[3, channel, r, c] == row[channel * 1024 + r * 32 + c]


def test_keras_npz_is_channels_last_and_labels_may_be_columns(colour, tmp_path):
    path = tmp_path / "cifar10.npz"
    np.savez(path, x_train=colour["x_train"].transpose(0, 2, 3, 1), y_train=colour["y_train"][:, None].astype(np.uint8),
             x_test=colour["x_test"].transpose(0, 2, 3, 1), y_test=colour["y_test"])
    assert_same(read_cifar10(path), colour)


def test_dataset_is_scaled_flat_and_levelled(colour):
    data = load_image_dataset("cifar10", colour["tar"])
    assert data.shape == (3, 32, 32) and data.levels == 256 and not data.binarized
    np.testing.assert_allclose(data.x_train, colour["x_train"].reshape(48, -1) / 255.0, rtol=1e-6)
    assert data.x_test.dtype == np.float32 and data.x_train.min() >= 0 and data.x_train.max() <= 1
    with pytest.raises(InputError, match="never binarized"):
        load_image_dataset("cifar10", colour["tar"], binarize=True)
    with pytest.raises(InputError, match="not bundled"):
        load_image_dataset("cifar-10")


def one_line(excinfo) -> str:
    message = str(excinfo.value)
    assert message and "\n" not in message
    return message


def bad_inputs(colour, tmp_path) -> dict:
    """name -> (path, part of the expected message): the issue's bad inputs and a few more."""
    x, y = colour["x_train"][:10], colour["y_train"][:10]
    cases = {}
    (tmp_path / "empty").mkdir()
    cases["no batch files"] = (tmp_path / "empty", "no CIFAR-10 batch file")
    cases["missing path"] = (tmp_path / "nowhere", "not found")

    def folder_with(name, raw):
        d = tmp_path / name
        write_cifar_folder(d, colour["x_train"], colour["y_train"], colour["x_test"], colour["y_test"])
        (d / "data_batch_3").write_bytes(raw)
        return d

    cases["wrong keys"] = (folder_with("keys", pickle.dumps({b"images": x.reshape(10, -1), b"targets": list(y)})), "key")
    good = batch_bytes(x, y)
    cases["truncated pickle"] = (folder_with("trunc", good[: len(good) // 2]), "truncated")
    cases["not 32x32x3"] = (folder_with("shape", batch_bytes(x[:, :, :16, :16], y)), "32x32x3")
    cases["labels do not match"] = (folder_with("labels", batch_bytes(x, y[:-1])), "labels")

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    cases["code in the pickle"] = (folder_with("evil", pickle.dumps({b"data": Evil(), b"labels": []})), "refusing")
    npz = tmp_path / "grey.npz"
    np.savez(npz, x_train=np.zeros((4, 28, 28), np.uint8), y_train=np.zeros(4, np.int64),
             x_test=np.zeros((2, 28, 28), np.uint8), y_test=np.zeros(2, np.int64))
    cases["npz not 32x32x3"] = (npz, "32 x 32 x 3")
    npz = tmp_path / "labels.npz"
    np.savez(npz, x_train=np.zeros((4, 32, 32, 3), np.uint8), y_train=np.zeros(3, np.int64),
             x_test=np.zeros((2, 32, 32, 3), np.uint8), y_test=np.zeros(2, np.int64))
    cases["npz labels do not match"] = (npz, "labels")
    (tmp_path / "broken.tar.gz").write_bytes(colour["tar"].read_bytes()[:300])
    cases["truncated archive"] = (tmp_path / "broken.tar.gz", "CIFAR-10")
    return cases


def test_bad_files_are_one_line_errors_and_exit_2(colour, tmp_path, capsys):
    for name, (path, expected) in bad_inputs(colour, tmp_path).items():
        with pytest.raises(InputError) as e:
            read_cifar10(path)
        assert expected in one_line(e), name
        capsys.readouterr()
        assert main(["vae", "--cifar", str(path), "--epochs", "1", "--no-progress"]) == 2, name
        captured = capsys.readouterr()
        err = captured.err.strip()
        if name == "missing path":  # the command checks paths before importing anything heavy
            expected = "no such file or folder"
        assert err.startswith("graphvae vae: error:") and "\n" not in err and expected in err, (name, err)
        assert "pwned" not in captured.out


def test_cli_option_conflicts_exit_2(colour, capsys):
    for argv in (["--cifar", str(colour["tar"]), "--likelihood", "bernoulli"],
                 ["--cifar", str(colour["tar"]), "--mnist", str(colour["folder"])],
                 ["--dataset", "cifar10"], ["--dataset", "digits", "--cifar", str(colour["tar"])]):
        assert main(["vae", *argv, "--epochs", "1", "--no-progress"]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("graphvae vae: error:") and "\n" not in err


# ------------------------------------------------------------------ bits per dimension and dequantization
def test_bits_per_dim_of_the_uniform_density_is_eight():
    # the density 1 on [0, 1)^D has L = 0 nats: the code length of 256 equiprobable levels, 8 bits
    assert bits_per_dim(0.0, 3072) == 8.0
    assert bits_per_dim(-3072 * math.log(2), 3072) == pytest.approx(9.0)  # half the density: one bit more
    assert bits_per_dim(0.0, 10, num_levels=2) == pytest.approx(1.0)


def test_bits_per_dim_of_a_known_gaussian_on_dequantized_pixels():
    """A fixed Gaussian: the bound by hand (torch.distributions), and the exact discrete code length it bounds."""
    rng = np.random.default_rng(0)
    k = torch.as_tensor(rng.integers(0, 256, (20, 3072)), dtype=torch.float32)
    mu, sigma = torch.full((3072,), 0.45), 0.2

    class Constant(torch.nn.Module):
        def forward(self, z):
            return mu.expand(*z.shape[:-1], 3072)

    pixels = GaussianPixels(Constant(), 3072, sigma=sigma)
    y = dequantize(k, 256, torch.Generator().manual_seed(0))
    assert ((y >= k / 256) & (y < (k + 1) / 256)).all() and not torch.equal(y, k / 255)
    nats = float(pixels.log_prob(pixels.decoder(torch.zeros(20, 1)), y).mean())
    by_hand = float(Normal(mu, sigma).log_prob(y).sum(-1).mean())
    assert nats == pytest.approx(by_hand, rel=1e-6)
    bpd = bits_per_dim(nats, 3072)
    assert bpd == pytest.approx((-by_hand / 3072 + math.log(256)) / math.log(2), rel=1e-6)
    # the exact -log2 P(k) / D of the discretized Gaussian, P(k) = Phi((k+1)/256) - Phi(k/256) per pixel
    normal = Normal(mu.double(), sigma)
    k64 = k.double()
    exact = -(torch.log(normal.cdf((k64 + 1) / 256) - normal.cdf(k64 / 256))).sum(-1).mean() / (3072 * math.log(2))
    # the bound is above the exact code length (Jensen), and tight when sigma is many bins wide
    assert float(exact) - 0.002 < bpd < float(exact) + 0.01


def test_dequantized_elbo_is_the_shared_objective_on_noisy_pixels(colour):
    x = colour["x_train"].reshape(48, -1) / 255.0
    model = ImageVAE(latent=3, hidden=(8,), likelihood="gaussian", learn_sigma=True, epochs=1, batch_size=16,
                     dequantize=256).fit(x)
    got = model.elbo(x[:10], num_samples=2, random_state=4)["elbo"]
    # by hand: per sample, first the dequantization noise, then the posterior noise, from one generator
    generator = torch.Generator().manual_seed(4)
    k = torch.as_tensor(colour["x_train"][:10].reshape(10, -1), dtype=torch.float32)
    from graphvae.nn.encoder import edgeless_input
    total = 0.0
    with torch.no_grad():
        for _ in range(2):
            y = (k + torch.rand(k.shape, generator=generator)) / 256
            total += float(model.objective_(edgeless_input(y), y, generator).elbo)
    assert got == pytest.approx(total / 20, rel=1e-5)
    with pytest.raises(InputError, match="k/255"):
        model.elbo(x[:3] + 0.001)
    with pytest.raises(InputError, match="Gaussian"):
        ImageVAE(dequantize=256).fit(x)


def test_training_sees_fresh_dequantization_noise(colour, monkeypatch):
    seen = []
    original = ELBO.forward

    def spy(self, inp, target, generator=None):
        seen.append(target.clone())
        return original(self, inp, target, generator)

    monkeypatch.setattr(elbo_module.ELBO, "forward", spy)
    x = colour["x_train"].reshape(48, -1) / 255.0
    ImageVAE(latent=2, hidden=(4,), likelihood="gaussian", epochs=2, batch_size=48, dequantize=256).fit(x)
    assert len(seen) == 2
    k = np.sort(colour["x_train"].reshape(48, -1), axis=0)  # batches are shuffled: compare sorted columns
    for t in seen:
        offset = np.sort(t.numpy().astype(np.float64) * 256, axis=0) - k  # u, up to float32 rounding at u -> 1
        assert offset.min() >= 0 and offset.max() <= 1 and 0.4 < offset.mean() < 0.6
    assert not torch.equal(seen[0].sort(0).values, seen[1].sort(0).values)  # new noise each epoch


# ------------------------------------------------------------------ colour figures
def test_colour_grid_shows_channel_major_images_as_rgb(tmp_path):
    import matplotlib.image

    red, green = np.zeros((3, 4, 5)), np.zeros((3, 4, 5))
    red[0], green[1] = 1.0, 1.0
    green[1, 0, 0] = 2.0  # out of range: clipped for display
    grid = plots.image_grid(np.stack([red, green]).reshape(2, -1), (3, 4, 5), ncols=2, pad=1, fill=0.5)
    assert grid.shape == (6, 13, 3)
    np.testing.assert_array_equal(grid[1:5, 1:6], np.broadcast_to([1.0, 0.0, 0.0], (4, 5, 3)))
    np.testing.assert_array_equal(grid[1:5, 7:12], np.broadcast_to([0.0, 1.0, 0.0], (4, 5, 3)))
    np.testing.assert_array_equal(grid[0, 0], [0.5, 0.5, 0.5])
    # in the PNG: the middle of the left half is red, of the right half green (one tile each, big pixels)
    path = plots.plot_images(np.stack([red, green]).reshape(2, -1), (3, 4, 5), tmp_path / "rgb.png", ncols=2,
                             figsize=(4.0, 2.0))
    img = matplotlib.image.imread(path)[..., :3]
    h, w = img.shape[:2]
    np.testing.assert_allclose(img[h // 2, w * 3 // 10], [1, 0, 0], atol=0.02)
    np.testing.assert_allclose(img[h // 2, w * 7 // 10], [0, 1, 0], atol=0.02)
    with pytest.raises(InputError, match="image shape"):
        plots.image_grid(np.zeros((2, 16)), (4, 2, 2))


# ------------------------------------------------------------------ end to end
def small_classifier(*args, **kwargs):
    return feature_classifier(*args, **{**kwargs, "hidden": (16,), "max_iter": 30})


def test_cli_cifar_end_to_end(colour, tmp_path, capsys, monkeypatch):
    import matplotlib.image

    monkeypatch.setattr("graphvae.evaluation.frechet.feature_classifier", small_classifier)
    out, js = tmp_path / "figs", tmp_path / "cifar.json"
    rc = main(["vae", "--cifar", str(colour["tar"]), "--latent", "4", "--hidden", "16", "--epochs", "3",
               "--batch-size", "16", "--iwae-k", "4", "--elbo-samples", "2", "--out", str(out), "--json", str(js),
               "--no-progress", "--no-cache"])
    assert rc == 0
    r = json.loads(js.read_text())
    assert r["dataset"] == "cifar10" and r["shape"] == [3, 32, 32] and r["n_train"] == 48 and r["n_test"] == 16
    assert r["likelihood"] == "gaussian" and r["learn_sigma"] and r["sigma"] == 0.1 and r["levels"] == 256 and r["iwae_k"] == 4
    for key in ("test_elbo", "test_iwae"):
        expected = (-r[key] / 3072 + math.log(256)) / math.log(2)
        assert r[f"{key}_bits_per_dim"] == pytest.approx(expected, rel=1e-9)
    assert r["test_iwae"] >= r["test_elbo"] - 5  # k=4 vs 2-sample ELBO on 16 images: same order, no crash
    assert np.isfinite(r["frechet"]) and "not Inception FID" in r["frechet_note"] and "(x + u)" not in r["frechet_note"]
    assert "U[0, 1)" in r["dequantization"]
    assert sorted(p.name for p in out.iterdir()) == sorted(r["figures"]) == sorted(
        ["test_images.png", "latent_map.png", "latent_grid.png", "reconstructions.png", "prior_samples.png",
         "training_curves.png"])
    # the 64 (here 16) test images are shown in colour: the tiles hold the four class colours
    img = matplotlib.image.imread(out / "test_images.png")[..., :3]
    saturation = img.max(-1) - img.min(-1)
    assert saturation.max() > 0.5
    assert "bits/dim" in capsys.readouterr().out


def test_benchmark_says_when_the_cifar_files_are_absent(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    page = (root / "docs" / "image_vae.md").read_text()
    done = subprocess.run([sys.executable, str(root / "benchmarks" / "image_vae.py"), "--cifar", str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "CIFAR-10 files not found" in done.stderr and "nothing was run" in done.stderr
    assert (root / "docs" / "image_vae.md").read_text() == page


def test_a_missing_cifar_path_is_reported_before_anything_heavy_is_imported(tmp_path):
    import subprocess
    import sys

    probe = (f"import sys\nfrom graphvae.cli import main\nrc = main(['vae', '--cifar', {str(tmp_path / 'none')!r}])\n"
             "print(rc, sorted(m for m in ('torch', 'matplotlib', 'sklearn', 'scipy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["2", "[]"], done.stdout + done.stderr
    assert "--cifar: no such file or folder" in done.stderr
