"""A PyG ``Planetoid`` root (``ROOT/Cora/raw/ind.cora.*``) serves as a data folder of the user's, beside graphvae's own
layout (``DIR/planetoid/Cora/raw``); the cache keeps graphvae's layout only."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

import graphvae as gv
from graphvae.data import datasets

from test_datasets import cora_files, fresh_cache  # noqa: F401 (fixtures)


def _same_graph(a: gv.Graph, b: gv.Graph) -> None:
    assert a.num_nodes == b.num_nodes
    assert torch.equal(a.edge_index, b.edge_index)
    dense = [x.to_dense() if x.layout != torch.strided else x for x in (a.x, b.x)]
    assert torch.equal(*dense) and torch.equal(a.y, b.y)


@pytest.mark.parametrize("how", ["root", "env"])
def test_a_pyg_root_reads_as_the_dataset(cora_files: Path, fresh_cache: Path, tmp_path: Path, monkeypatch, how: str) -> None:
    """``Planetoid(root=ROOT, name="Cora")``'s files under ``ROOT/Cora/raw``: ``--data-dir ROOT`` (or
    ``GRAPHVAE_DATA=ROOT``) loads the same graph as graphvae's own layout, and nothing is downloaded or cached."""
    root = tmp_path / "Planetoid"
    shutil.copytree(cora_files, root / "Cora" / "raw")
    expected = datasets.read_planetoid(cora_files, "cora")
    if how == "env":
        monkeypatch.setenv("GRAPHVAE_DATA", str(root))
    got = gv.load_dataset("cora", root=root if how == "root" else None, download=False)
    _same_graph(got, expected)
    assert datasets.dataset_folder("cora", root if how == "root" else None, download=False) == root / "Cora" / "raw"
    assert not fresh_cache.exists()


def test_graphvae_layout_first_then_pyg(cora_files: Path, fresh_cache: Path, tmp_path: Path) -> None:
    """Both layouts in one folder: graphvae's (``DIR/planetoid/Cora/raw``) is taken first. Incomplete files in the PyG
    layout, with graphvae's absent, are an error naming that folder and the missing files, as in graphvae's layout."""
    root = tmp_path / "data"
    shutil.copytree(cora_files, root / "planetoid" / "Cora" / "raw")
    shutil.copytree(cora_files, root / "Cora" / "raw")
    assert datasets.dataset_folder("cora", root, download=False) == root / "planetoid" / "Cora" / "raw"
    shutil.rmtree(root / "planetoid")
    (root / "Cora" / "raw" / "ind.cora.tx").unlink()
    with pytest.raises(gv.InputError, match=r"Cora/raw holds 7 of cora's 8 files, missing ind\.cora\.tx"):
        datasets.dataset_folder("cora", root, download=False)


def test_a_damaged_file_in_a_pyg_root_is_named(cora_files: Path, fresh_cache: Path, tmp_path: Path) -> None:
    """The registry's SHA-256 holds for the PyG layout too: a changed file is refused by name, never passed over."""
    root = tmp_path / "Planetoid"
    shutil.copytree(cora_files, root / "Cora" / "raw")
    (root / "Cora" / "raw" / "ind.cora.y").write_bytes(b"changed")
    with pytest.raises(gv.InputError, match=r"Cora/raw/ind\.cora\.y: SHA-256 does not match"):
        gv.load_dataset("cora", root=root, download=False)


def test_the_cache_keeps_graphvae_layout_only(cora_files: Path, fresh_cache: Path) -> None:
    """Files in ``<cache>/Cora/raw`` are not graphvae's cache layout: not found, and the message lists where it
    looked (the cache's ``planetoid/Cora/raw`` only)."""
    shutil.copytree(cora_files, fresh_cache / "Cora" / "raw")
    with pytest.raises(gv.InputError, match="not found") as info:
        gv.load_dataset("cora", download=False)
    assert f"the cache {fresh_cache / 'planetoid' / 'Cora' / 'raw'}" in str(info.value)
    assert str(fresh_cache / "Cora" / "raw") not in str(info.value)
