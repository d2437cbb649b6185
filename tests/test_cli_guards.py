"""Command-line guards found by an audit of the graph commands: an input named like a figure in the --plot folder
was replaced by the figure, ``--json -`` wrote a file named '-', and a command's unknown option was reported by the
top-level parser (``graphvae: error``, pointing at ``graphvae --help``)."""
from __future__ import annotations

import networkx as nx
import pytest

from graphvae.cli import main


@pytest.fixture
def karate(tmp_path):
    def write(path):
        nx.write_edgelist(nx.karate_club_graph(), path, delimiter=",", data=False)
        return path
    return write


def _one_error(capsys, text):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and text in err[0], err


@pytest.mark.parametrize("command, figure", [("linkpred", "link_curves.png"), ("embed", "embedding_map.png"),
                                             ("cluster", "cluster_map.png")])
def test_an_input_named_like_a_figure_in_the_plot_folder_is_kept(tmp_path, karate, capsys, command, figure):
    edges = karate(tmp_path / figure)
    before = edges.read_bytes()
    extra = {"embed": ["--out", str(tmp_path / "z.npy")], "cluster": ["--clusters", "2"]}.get(command, [])
    assert main([command, "--edges", str(edges), "--plot", str(tmp_path), "--epochs", "2", "--no-progress",
                 *extra]) == 2
    _one_error(capsys, "lies in the figures folder")
    assert edges.read_bytes() == before  # was replaced by the PNG
    other = karate(tmp_path / "graph.csv")  # an input of another name in the same folder is fine
    assert main(["linkpred", "--edges", str(other), "--plot", str(tmp_path), "--epochs", "2", "--no-progress"]) == 0


def test_json_to_dash_is_refused(tmp_path, karate, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    karate(tmp_path / "g.csv")
    assert main(["linkpred", "--edges", "g.csv", "--epochs", "2", "--no-progress", "--json", "-"]) == 2
    _one_error(capsys, "graphvae writes files, not standard output")
    assert not (tmp_path / "-").exists()
    assert main(["linkpred", "--edges", "g.csv", "--epochs", "2", "--no-progress", "--json", "./-"]) == 0
    assert (tmp_path / "-").is_file()  # the file of that name, asked for explicitly


@pytest.mark.parametrize("argv, option", [
    (["embed", "--dataset", "cora", "--out", "z.npy", "--first-seed", "3"], "--first-seed 3"),
    (["cluster", "--dataset", "cora", "--folds", "3"], "--folds 3"),
    (["linkpred", "--dataset", "cora", "--nope"], "--nope"),
])
def test_an_unknown_option_is_reported_by_its_command(capsys, argv, option):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    _one_error(capsys, f"graphvae {argv[0]}: error: unrecognized arguments: {option} (see graphvae {argv[0]} --help)")
