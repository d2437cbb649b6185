"""A temporal edge list's third column (Unix times, SNAP's ``src dst unixtime``) is read as weights: the CLI says so."""
from __future__ import annotations

from pathlib import Path

import pytest

from graphvae.cli.main import main

NOTE = "look like Unix timestamps"


def _embed(tmp_path: Path, weights: list[float], capsys) -> str:
    path = tmp_path / "e.txt"
    rows = [(0, 1), (1, 2), (2, 0), (2, 3), (3, 4)]
    path.write_text("".join(f"{u} {v} {w}\n" for (u, v), w in zip(rows, weights)))
    assert main(["embed", "--edges", str(path), "--out", str(tmp_path / "z.csv"), "--latent", "2", "--epochs", "1",
                 "--no-progress"]) == 0
    return capsys.readouterr().err


@pytest.mark.parametrize("weights", [[1217567877, 1217567977, 1217568877, 1230000000, 1240000000],  # seconds
                                     [1.6e12, 1.6e12 + 5, 1.7e12, 1.7e12, 1.71e12]])  # milliseconds
def test_weights_in_the_range_of_unix_times_get_one_note(tmp_path: Path, capsys, weights: list[float]) -> None:
    err = _embed(tmp_path, weights, capsys)
    assert err.count(NOTE) == 1
    assert f"{min(weights):.6g} to {max(weights):.6g}" in err  # the range is named


@pytest.mark.parametrize("weights", [[0.5, 1, 2, 3, 4], [1, 1e9, 1e9, 1e9, 1e9], [5e9, 5e9, 6e9, 7e9, 8e9]])
def test_other_weights_get_no_note(tmp_path: Path, capsys, weights: list[float]) -> None:
    """Strengths, a range that reaches below 1973's seconds, or above 2100's and below 1973's milliseconds."""
    assert NOTE not in _embed(tmp_path, weights, capsys)
