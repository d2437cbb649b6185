"""Figures are written in the format their path names: PDF and SVG for vector figures, else PNG."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from graphvae.evaluation.plots import plot_latent_map

PNG = b"\x89PNG\r\n\x1a\n"


def _draw(path: Path) -> bytes:
    z = np.random.default_rng(0).standard_normal((40, 2))
    plot_latent_map(z, np.arange(40) % 3, path, "map")
    return path.read_bytes()


@pytest.mark.parametrize("name", ["map.pdf", "MAP.PDF"])
def test_a_pdf_path_gets_a_pdf(tmp_path: Path, name: str) -> None:
    """A ``.pdf`` path got PNG bytes; now a PDF (its header and trailer)."""
    data = _draw(tmp_path / name)
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-32:]


def test_an_svg_path_gets_an_svg_document(tmp_path: Path) -> None:
    root = ET.fromstring(_draw(tmp_path / "map.svg"))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


@pytest.mark.parametrize("name", ["map.png", "map.jpg", "map"])
def test_any_other_path_gets_a_png(tmp_path: Path, name: str) -> None:
    assert _draw(tmp_path / name).startswith(PNG)
