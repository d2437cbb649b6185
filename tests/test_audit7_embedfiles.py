"""Audit of the embedding files (graphvae/data/embedding_files.py, graphvae/files.py, graphvae embed): ids and values
round-trip through save_embeddings/load_embeddings and independent readers (csv, numpy), or are refused in one line."""
from __future__ import annotations

import csv
import os
import stat
import subprocess
import sys
import warnings

import numpy as np
import pytest

import graphvae as gv
from graphvae import InputError

SUFFIXES = (".csv", ".emb", ".npz", ".npy")


def _independent(path):
    """(ids, float32 values) read without graphvae: the csv module, plain text splitting, numpy."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))[1:]
        return [r[0] for r in rows], np.array([[float(v) for v in r[1:]] for r in rows], dtype=np.float32)
    if suffix == ".emb":
        with open(path, encoding="utf-8") as f:
            n, d = map(int, f.readline().split())
            rows = [line.rstrip("\n").split(" ") for line in f]
        assert len(rows) == n and all(len(r) == d + 1 for r in rows)
        return [r[0] for r in rows], np.array([[float(v) for v in r[1:]] for r in rows], dtype=np.float32)
    if suffix == ".npz":
        with np.load(path) as f:
            return f["ids"].tolist(), f["embeddings"]
    return None, np.load(path)


def test_every_format_round_trips_ids_and_float32_bits(tmp_path):
    # the checks that passed already (kept so that the fixes below break none of them)
    rng = np.random.default_rng(0)
    z = rng.standard_normal((6, 5)).astype(np.float32)
    z[0] = [np.float32(0.1), np.float32(1) / 3, np.finfo(np.float32).max, np.finfo(np.float32).tiny, 1e-45]
    z[1] = [-0.0, 16777217.0, np.nan, np.inf, -np.inf]
    ids = ["a,b", 'q"uote', "#x", "ü日本", "007", "x" * 5000]
    for suffix in SUFFIXES:
        path = tmp_path / f"z{suffix}"
        gv.save_embeddings(path, z, ids)
        for got_ids, got in (gv.load_embeddings(path), _independent(path)):
            assert got_ids in (None, ids), suffix
            assert got.dtype == np.float32 and got.tobytes() == z.tobytes(), suffix  # bit for bit, -0.0 and NaN too


def test_a_none_id_is_written_as_the_other_formats_write_it(tmp_path):
    # the CSV wrote None as an empty field ("None" in .emb/.npz): [None, ""] passed the check of repeated ids and gave
    # a CSV that load_embeddings refused ("node id '' is on more than one row")
    gv.save_embeddings(tmp_path / "z.csv", np.eye(2), [None, ""])
    assert gv.load_embeddings(tmp_path / "z.csv")[0] == ["None", ""]
    assert _independent(tmp_path / "z.csv")[0] == ["None", ""]


@pytest.mark.parametrize("node", ["a\tb", "a\x0bb", "a\u2028b", "a\x1cb"])
def test_a_csv_id_holding_a_tab_or_a_line_break_is_quoted(tmp_path, node):
    # written bare, "a<TAB>b,0.0,1.0" is a tab-separated line to a reader that guesses the separator (and a line
    # break of str.splitlines split the row in two); quoted, every tab and break lies inside a field
    gv.save_embeddings(tmp_path / "z.csv", np.arange(4.0).reshape(2, 2), [node, "c"])
    text = (tmp_path / "z.csv").read_text(encoding="utf-8")
    assert f'"{node}"' in text
    with open(tmp_path / "z.csv", newline="", encoding="utf-8") as f:  # read as TSV: one field a line
        assert all(len(row) == 1 for row in csv.reader(f, delimiter="\t"))
    assert gv.load_embeddings(tmp_path / "z.csv")[0] == [node, "c"]


def test_write_csv_rows_quotes_a_tab_in_the_first_field(tmp_path):
    import io

    from graphvae.files import write_csv_rows

    f = io.StringIO()
    write_csv_rows(f, ["node_id", "cluster"], [["a\tb", 0], ["c", 1]])
    assert f.getvalue().splitlines() == ["node_id,cluster", '"a\tb","0"', "c,1"]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_values_beyond_float32_are_refused_not_written_as_inf(tmp_path, suffix):
    # .npy/.npz stored inf with a numpy RuntimeWarning; .csv/.emb wrote 1e+300, which load_embeddings read as inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputError, match="float32's range at row 1"):
            gv.save_embeddings(tmp_path / f"z{suffix}", np.array([[1.0, 2.0], [1e300, 0.0]]), ["a", "b"])
    assert not (tmp_path / f"z{suffix}").exists()
    gv.save_embeddings(tmp_path / f"z{suffix}", np.array([[np.inf, np.nan], [-3e38, 1e-320]]), ["a", "b"])
    got = gv.load_embeddings(tmp_path / f"z{suffix}")[1]  # inf and NaN as they are; 1e-320 is float32's 0
    assert np.array_equal(got, np.array([[np.inf, np.nan], [-3e38, 0.0]], dtype=np.float32), equal_nan=True)


@pytest.mark.parametrize("suffix", [".csv", ".emb"])
def test_load_refuses_a_text_value_beyond_float32(tmp_path, suffix):
    text = "node_id,z0\na,1e300\n" if suffix == ".csv" else "1 1\na 1e300\n"
    (tmp_path / f"z{suffix}").write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # was inf with a RuntimeWarning "overflow encountered in cast"
        with pytest.raises(InputError, match="float32's range"):
            gv.load_embeddings(tmp_path / f"z{suffix}")


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("shape", [(0, 3), (2, 0)])
def test_no_nodes_or_no_dimensions_are_refused_not_written_unreadable(tmp_path, suffix, shape):
    # such a file was written, and load_embeddings refused it ("no embeddings")
    with pytest.raises(InputError, match="at least one node and one dimension"):
        gv.save_embeddings(tmp_path / f"z{suffix}", np.zeros(shape), ["a", "b"][:shape[0]])
    assert not (tmp_path / f"z{suffix}").exists()


def test_one_node_round_trips(tmp_path):
    for suffix in SUFFIXES:
        gv.save_embeddings(tmp_path / f"z{suffix}", np.array([[0.5]]), [7])
        ids, z = gv.load_embeddings(tmp_path / f"z{suffix}")
        assert ids in (None, ["7"]) and z.tolist() == [[0.5]]


@pytest.mark.parametrize("z", [np.array([[1.0, None]], dtype=object),
                               np.array([["2020-01-01", "2020-01-02"]], dtype="datetime64[D]"),
                               np.array([[1, 2]], dtype="timedelta64[s]")])
def test_none_dates_and_durations_are_not_numbers(tmp_path, z):
    # None was written as nan, a date as its day number, a duration as its count of seconds
    with pytest.raises(InputError, match="numbers"):
        gv.save_embeddings(tmp_path / "z.csv", z, ["a"])
    gv.save_embeddings(tmp_path / "z.csv", np.array([[True, 2]], dtype=object), ["a"])  # numbers of an object array
    assert gv.load_embeddings(tmp_path / "z.csv")[1].tolist() == [[1.0, 2.0]]


def test_a_set_of_ids_is_refused(tmp_path):
    # a set has no order: rows were matched to ids in its iteration order
    with pytest.raises(InputError, match="order"):
        gv.save_embeddings(tmp_path / "z.csv", np.eye(3), {"a", "b", "c"})


def test_npz_refuses_an_id_ending_in_nul(tmp_path):
    # numpy's strings drop trailing NULs: "a\0" was written, and read back, as "a"
    with pytest.raises(InputError, match="NUL"):
        gv.save_embeddings(tmp_path / "z.npz", np.eye(2), ["a\0", "b"])
    if sys.version_info < (3, 11):  # Python 3.10's csv module cannot write (nor read) a NUL: one clear error
        with pytest.raises(InputError, match="NUL"):
            gv.save_embeddings(tmp_path / "z.csv", np.eye(2), ["a\0", "b"])
        assert not (tmp_path / "z.csv").exists()
        return
    gv.save_embeddings(tmp_path / "z.csv", np.eye(2), ["a\0", "b"])  # the CSV holds it
    assert gv.load_embeddings(tmp_path / "z.csv")[0] == ["a\0", "b"]


def test_csv_errors_of_python_310_are_input_errors(tmp_path, monkeypatch):
    """Python 3.10's csv module refuses a NUL character (writer: "need to escape", reader: "line contains NUL"),
    which 3.11 reads and writes: planted here with 3.10's errors, each is one InputError, never csv.Error, and no
    file is left half written."""
    import csv

    real_writer, real_reader = csv.writer, csv.reader

    class Writer:  # 3.10's writer
        def __init__(self, f, **kw):
            self.w = real_writer(f, **kw)

        def writerow(self, row):
            if any("\0" in str(v) for v in row):
                raise csv.Error("need to escape, but no escapechar set")
            return self.w.writerow(row)

    def reader(f, *a, **kw):  # 3.10's reader
        for line in f:
            if "\0" in line:
                raise csv.Error("line contains NUL")
        return real_reader([], *a, **kw)

    (tmp_path / "z.csv").write_text("node_id,z0,z1\na\0,1.0,0.0\nb,0.0,1.0\n")
    monkeypatch.setattr(csv, "writer", Writer)
    monkeypatch.setattr(csv, "reader", reader)
    with pytest.raises(InputError, match=r"node id 'a\\x00' cannot be written as CSV.*need to escape"):
        gv.save_embeddings(tmp_path / "new.csv", np.eye(2), ["a\0", "b"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["z.csv"]
    with pytest.raises(InputError, match="z.csv: not readable as CSV.*line contains NUL"):
        gv.load_embeddings(tmp_path / "z.csv")
    monkeypatch.setattr(sys, "version_info", (3, 10, 13))
    (tmp_path / "e.csv").write_text('"a\0",b\nb,c\n')
    with pytest.raises(InputError, match=r"e.csv, line 1: a NUL character, which Python 3.10"):
        gv.load_graph(tmp_path / "e.csv")


def test_npz_bytes_ids_read_as_text(tmp_path):
    # ids of numpy 'S' strings (h5py, Python 2) were read as "b'a'"
    np.savez(tmp_path / "z.npz", ids=np.array([b"a", "é".encode()]), embeddings=np.eye(2, dtype=np.float32))
    assert gv.load_embeddings(tmp_path / "z.npz")[0] == ["a", "é"]


@pytest.mark.parametrize("ids", [np.array("ab"), np.array([["a"], ["b"]])])
def test_npz_ids_must_be_one_dimensional(tmp_path, ids):
    # a 0-d "ab" was read as the ids "a", "b"; a column as the ids "['a']", "['b']"
    np.savez(tmp_path / "z.npz", ids=ids, embeddings=np.eye(2, dtype=np.float32))
    with pytest.raises(InputError, match="1-d"):
        gv.load_embeddings(tmp_path / "z.npz")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_writing_over_a_file_keeps_its_permissions(tmp_path, suffix):
    # the new file got the umask's 0644: a private (0600) embeddings file became readable by everyone
    path = tmp_path / f"z{suffix}"
    gv.save_embeddings(path, np.eye(2), ["a", "b"])
    os.chmod(path, 0o600)
    old = os.umask(0o022)
    try:
        gv.save_embeddings(path, np.eye(2) * 2, ["a", "b"])
        gv.save_embeddings(tmp_path / f"new{suffix}", np.eye(2), ["a", "b"])
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / f"new{suffix}").st_mode) == 0o644  # a new file: the umask decides
    assert gv.load_embeddings(path)[1].tolist() == [[2.0, 0.0], [0.0, 2.0]]


class _FailsOnSecondWrite:
    """A file that takes one write, then fails like a full disk."""

    def __init__(self, f):
        self._f, self._writes = f, 0

    def write(self, data):
        self._writes += 1
        if self._writes > 1:
            raise OSError(28, "No space left on device")
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_failure_half_way_leaves_the_old_file(tmp_path, suffix, monkeypatch):
    import builtins

    import graphvae.data.embedding_files as ef

    path = tmp_path / f"z{suffix}"
    gv.save_embeddings(path, np.eye(2), ["a", "b"])
    before = path.read_bytes()
    monkeypatch.setattr(ef, "open", lambda *a, **k: _FailsOnSecondWrite(builtins.open(*a, **k)), raising=False)
    with pytest.raises(OSError, match="No space left") as error:
        gv.save_embeddings(path, np.ones((300, 2)), [str(i) for i in range(300)])
    assert error.value.filename == str(path)  # the user's file named, not the temporary one
    assert path.read_bytes() == before and os.listdir(tmp_path) == [path.name]


def test_paths(tmp_path):
    z = np.eye(2)
    for name in ("z.EMB", "z.Npz", "z.NPY", "z.Csv"):  # the suffix's case does not matter
        gv.save_embeddings(tmp_path / name, z, ["a", "b"])
        assert gv.load_embeddings(tmp_path / name)[1].tolist() == z.tolist()
    with pytest.raises(InputError, match="must end in"):
        gv.save_embeddings(tmp_path / "z.txt", z, ["a", "b"])
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(InputError, match="folder"):
        gv.save_embeddings(tmp_path / "d.csv", z, ["a", "b"])
    with pytest.raises(InputError, match="empty"):  # was "must end in ...; got ."
        gv.save_embeddings("", z, ["a", "b"])
    (tmp_path / "link.npz").symlink_to(tmp_path / "target.npz")  # a link stays a link
    gv.save_embeddings(tmp_path / "link.npz", z, ["a", "b"])
    assert (tmp_path / "link.npz").is_symlink() and gv.load_embeddings(tmp_path / "target.npz")[0] == ["a", "b"]


def test_embed_refuses_repeated_id_texts_before_training(tmp_path, monkeypatch):
    # checked only when writing, after the whole training (the .emb ids were already checked before it)
    from graphvae.cli import embed

    called = []
    monkeypatch.setattr(embed, "fit_model", lambda *a, **k: called.append(1))
    monkeypatch.setattr(embed, "check_graph_arguments", lambda args: None)
    monkeypatch.setattr(embed, "check_inputs", lambda *a, **k: None)

    class Graph:
        node_ids = [1, "1", 2]
        num_nodes = 3

    monkeypatch.setattr(embed, "graph_from_args", lambda args: (Graph(), "g"))
    from graphvae.cli.main import build_parser

    args = build_parser("embed").parse_args(["embed", "--edges", "x.csv", "--out", str(tmp_path / "z.npz"), "--no-progress"])
    with pytest.raises(InputError, match="both written as '1'"):
        embed.run(args)
    assert not called


def test_embed_cli_writes_tricky_ids_every_format(tmp_path):
    import networkx as nx

    g = nx.relabel_nodes(nx.cycle_graph(5), {0: "a\tb", 1: "a b", 2: "#c", 3: "ü", 4: "007"})
    nx.write_graphml(g, tmp_path / "g.graphml")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.dirname(os.path.dirname(gv.__file__)),
                                                      os.environ.get("PYTHONPATH", "")])}
    for suffix in (".csv", ".npz", ".emb"):
        r = subprocess.run([sys.executable, "-m", "graphvae", "embed", "--edges", str(tmp_path / "g.graphml"),
                            "--out", str(tmp_path / f"z{suffix}"), "--epochs", "1", "--latent", "2", "--no-progress"],
                           capture_output=True, text=True, env=env)
        if suffix == ".emb":
            assert r.returncode == 2 and "Traceback" not in r.stderr
            assert r.stderr.strip().splitlines()[-1].startswith("graphvae embed: error: the .emb (word2vec) format")
        else:
            assert r.returncode == 0, r.stderr
            assert gv.load_embeddings(tmp_path / f"z{suffix}")[0] == ["a\tb", "a b", "#c", "ü", "007"]


def test_csv_lines_end_in_newline_and_ids_with_line_breaks_round_trip(tmp_path):
    """The csv module's default "\\r\\n" left a "\\r" on every row's last field for cut and awk; with "\\n" line
    ends, an id holding "\\r" must still be quoted (the module quoted it only while "\\r" was in its line ending).
    Reference: pandas reads the file back."""
    pd = pytest.importorskip("pandas")
    ids = ["a\rb", "c\nd", "e", "#f", "g\th"]
    gv.save_embeddings(tmp_path / "z.csv", np.eye(5), ids)
    data = (tmp_path / "z.csv").read_bytes()
    assert data.count(b"\r\n") == 0 and data.endswith(b"\n")
    assert gv.load_embeddings(tmp_path / "z.csv")[0] == ids
    assert pd.read_csv(tmp_path / "z.csv", dtype={"node_id": str})["node_id"].tolist() == ids
