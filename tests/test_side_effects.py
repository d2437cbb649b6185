"""No process-wide side effects: plotting keeps the caller's matplotlib backend, gzip files are complete."""
from __future__ import annotations

import gzip
import subprocess
import sys

import numpy as np


def test_plots_keep_the_callers_matplotlib_backend(tmp_path):
    code = f"""
import matplotlib
matplotlib.use("svg")
import numpy as np
from graphvae.evaluation.plots import plot_images, plot_latent_map
plot_images(np.random.default_rng(0).random((4, 16)), (4, 4), {str(tmp_path / 'a.png')!r})
plot_latent_map(np.random.default_rng(0).random((10, 2)), np.arange(10) % 3, {str(tmp_path / 'b.png')!r})
import matplotlib.pyplot as plt
print(matplotlib.get_backend(), len(plt.get_fignums()))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["svg", "0"]
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_adversarial_fit_keeps_the_warnings_filters_and_skips_torch_dynamo():
    # the discriminator's torch.optim.Adam imported torch._dynamo (about 0.8 s), and with it sympy, which added a
    # process-wide warnings filter during the caller's first ARGA fit
    code = """
import sys, warnings
import networkx as nx
import graphvae as gv
g = nx.karate_club_graph()
gv.GAE(epochs=2, random_state=0).fit(g)  # scikit-learn's and torch's own imports happen here
before = list(warnings.filters)
model = gv.make_model("argva", epochs=3, random_state=0).fit(g)
print(warnings.filters == before, "torch._dynamo" in sys.modules, model.embed().shape)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False", "(34,", "16)"], out.stdout


def test_gzip_idx_file_is_complete_when_written(tmp_path):
    from graphvae.data.image_files import read_idx, write_idx

    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / "a.idx.gz", a)
    with gzip.open(path) as f:
        f.read()  # raises EOFError if the gzip trailer is missing
    assert np.array_equal(read_idx(path), a)


def test_fits_ignore_and_keep_the_callers_default_dtype_and_grad_mode():
    # under torch.set_default_dtype(torch.float64) the parameters were float64 and the first product with the float32
    # data failed (embedding_bag / "m1 and m2 must have the same dtype"); under torch.no_grad() backward failed
    import networkx as nx
    import torch

    import graphvae as gv
    from graphvae.estimators.batched import fit_seeds

    g = nx.karate_club_graph()
    reference = gv.VGAE(epochs=3, random_state=0).fit(g).embed()
    splits = [gv.split_edges(gv.as_graph(g), seed=s) for s in (0, 1)]
    images = np.random.default_rng(0).random((40, 16)).astype(np.float32)
    previous = torch.get_default_dtype()
    try:
        torch.set_default_dtype(torch.float64)
        with torch.no_grad():
            assert np.array_equal(gv.VGAE(epochs=3, random_state=0).fit(g).embed(), reference)
            assert len(fit_seeds(gv.VGAE(epochs=2), splits, [0, 1])) == 2
            assert gv.ImageVAE(epochs=2, latent=2, random_state=0).fit(images).transform(images).dtype == np.float32
            assert not torch.is_grad_enabled()
        assert torch.get_default_dtype() == torch.float64
    finally:
        torch.set_default_dtype(previous)
