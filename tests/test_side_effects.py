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


def test_gzip_idx_file_is_complete_when_written(tmp_path):
    from graphvae.data.image_files import read_idx, write_idx

    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / "a.idx.gz", a)
    with gzip.open(path) as f:
        f.read()  # raises EOFError if the gzip trailer is missing
    assert np.array_equal(read_idx(path), a)
