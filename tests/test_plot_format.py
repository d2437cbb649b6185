"""``--plot-format png|pdf|svg``: every command's figures in the format asked for (their files' own headers)."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pytest

from graphvae.cli.main import main

FAST = ["--epochs", "2", "--no-progress"]


def _kind(path: Path) -> str:
    data = path.read_bytes()
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return "svg" if ET.fromstring(data).tag == "{http://www.w3.org/2000/svg}svg" else "?"


@pytest.fixture
def edges(tmp_path: Path, monkeypatch) -> str:
    monkeypatch.chdir(tmp_path)
    nx.write_edgelist(nx.karate_club_graph(), "k.csv", delimiter=",", data=False)
    return "k.csv"


@pytest.mark.parametrize("command, fmt, files", [
    (["embed", "--out", "z.csv"], "pdf", ["embedding_map"]),
    (["linkpred"], "svg", ["link_curves"]),
    (["cluster", "--clusters", "2"], "pdf", ["cluster_map"]),
    (["embed", "--out", "z.csv"], None, ["embedding_map"]),  # the default: png
])
def test_graph_commands_write_their_figures_in_the_format_asked(edges, command, fmt, files) -> None:
    given = ["--plot-format", fmt] if fmt else []
    assert main([*command, "--edges", edges, "--plot", "figs", *given, *FAST]) == 0
    fmt = fmt or "png"
    assert sorted(p.name for p in Path("figs").iterdir()) == [f"{name}.{fmt}" for name in files]
    assert all(_kind(p) == fmt for p in Path("figs").iterdir())


def test_an_image_command_writes_every_figure_in_the_format_asked(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["ae", "--epochs", "1", "--plot", "figs", "--plot-format", "pdf", "--no-progress"]) == 0
    names = sorted(p.name for p in Path("figs").iterdir())
    assert names == ["features.pdf", "latent_map.pdf", "reconstructions.pdf"]
    assert {_kind(p) for p in Path("figs").iterdir()} == {"pdf"}


def test_plot_format_without_a_figures_folder_is_one_line(edges, capsys) -> None:
    assert main(["embed", "--edges", edges, "--out", "z.csv", "--plot-format", "pdf", *FAST]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "give --plot DIR too" in err[0]
    assert not Path("z.csv").exists()


def test_an_output_in_the_figures_folder_named_as_a_figure_is_refused(edges, capsys) -> None:
    """``--json figs/x.pdf`` beside ``--plot figs``: a figure's name, refused as ``.png`` ones were."""
    assert main(["linkpred", "--edges", edges, "--plot", "figs", "--plot-format", "pdf", "--json", "figs/x.pdf",
                 *FAST]) == 2
    assert "is the figures folder --plot figs or a figure in it" in capsys.readouterr().err
