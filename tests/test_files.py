"""Atomic writes and the summaries every table uses."""
from __future__ import annotations

import json
import statistics

import numpy as np
import pytest

from graphvae.evaluation.summary import mean_std
from graphvae.files import atomic_write, write_json


def test_write_json_round_trips(tmp_path):
    obj = {"auc": {"mean": 0.9, "std": 0.01}, "seeds": [0, 1]}
    write_json(tmp_path / "sub" / "r.json", obj)
    assert json.loads((tmp_path / "sub" / "r.json").read_text()) == obj


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")

    def half_then_fail(tmp):
        with open(tmp, "w") as f:
            f.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(path, half_then_fail)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_mean_std_is_the_population_statistics():
    values = [0.91, 0.93, 0.88, 0.95]
    assert mean_std(values) == pytest.approx({"mean": statistics.fmean(values), "std": statistics.pstdev(values)})
    assert mean_std(iter([0.5])) == {"mean": 0.5, "std": 0.0}


def test_atomic_write_through_a_symlink_keeps_the_link(tmp_path):
    from graphvae.files import atomic_write

    target = tmp_path / "real.txt"
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    atomic_write(link, lambda tmp: tmp.write_text("new"))
    assert link.is_symlink() and target.read_text() == "new"  # the link was replaced by a regular file


def test_embedding_suffixes_are_read_without_regard_to_case(tmp_path):
    # embed --out z.CSV was refused ("must end in .npy, .csv, ..."), while cluster --out c.CSV was taken
    import graphvae as gv

    for suffix in (".CSV", ".Emb", ".NPZ", ".NPY"):
        gv.save_embeddings(tmp_path / f"z{suffix}", np.arange(6.0).reshape(2, 3), ["a", "b"])
        ids, z = gv.load_embeddings(tmp_path / f"z{suffix}")
        assert z.tolist() == [[0, 1, 2], [3, 4, 5]] and ids == (None if suffix == ".NPY" else ["a", "b"])
