"""Audit 8 (mut8data): tests that kill the mutants of the data readers and writers that survived the suite.

Area: graphvae/files.py, graphvae/data/{datasets,graph_files,graph,embedding_files,images,image_files,synthetic}.py.
Each test names the mutant it kills; every expectation comes from an independent reference (networkx, scipy,
numpy, gensim, hashlib, a hand count), never from the code's own output.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

import graphvae as gv
from graphvae.data import datasets
from graphvae.data.embedding_files import load_embeddings, save_embeddings
from graphvae.files import atomic_write, write_json

from test_atomic_write_sync import record_syncs
from test_datasets import fresh_cache, server, tiny_pubmed, write_tiny_planetoid  # noqa: F401 (fixtures)


# --------------------------------------------------------------------------- files.py: fsync before the rename

def test_atomic_write_fsyncs_the_whole_new_file_before_renaming_it(tmp_path: Path, monkeypatch) -> None:
    """The file that ends up under the final name was ``os.fsync``-ed, holding all its bytes, before ``os.replace``
    put it there (a crash between an unsynced write and the rename can leave an empty file under the final name on
    ext4/XFS). Kills: the fsync dropped (the old code), or done after the rename."""
    events = record_syncs(monkeypatch)
    target = tmp_path / "out.json"
    target.write_text("old contents, longer than the new ones\n")
    write_json(target, {"a": 1})
    st = target.stat()
    assert target.read_text() == '{\n  "a": 1\n}\n'
    synced, renamed = ("fsync", st.st_ino, st.st_size, False), ("replace", st.st_ino)
    assert synced in events and renamed in events, events
    assert events.index(synced) < events.index(renamed)


def test_atomic_write_passes_over_a_file_system_that_cannot_fsync(tmp_path: Path, monkeypatch) -> None:
    """fsync failing with EINVAL (a file system without it) still writes the file; any other fsync error (EIO: the
    data did not reach the disk) is an OSError naming the user's file, not the hidden temporary one, and leaves no
    temporary file behind."""
    def no_sync(fd: int) -> None:
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(os, "fsync", no_sync)
    target = tmp_path / "a.txt"
    atomic_write(target, lambda tmp: Path(tmp).write_text("x"))
    assert target.read_text() == "x"

    def io_error(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", io_error)
    with pytest.raises(OSError) as info:
        atomic_write(target, lambda tmp: Path(tmp).write_text("y"))
    assert info.value.errno == errno.EIO and info.value.filename == str(target)
    assert target.read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


# --------------------------------------------------------------------------- embedding_files.py: bytes paths

@pytest.mark.parametrize("suffix", [".npy", ".csv", ".emb", ".npz"])
def test_bytes_paths_are_written_and_read_like_their_text(tmp_path: Path, suffix: str) -> None:
    """A ``bytes`` path (which ``open`` and ``np.save`` take) writes the file named by ``os.fsdecode(path)`` and reads
    it back; it raised a pathlib TypeError traceback before."""
    z = np.arange(6, dtype=np.float32).reshape(3, 2) / 4
    text = str(tmp_path / f"z{suffix}")
    save_embeddings(os.fsencode(text), z, ["a", "b", "c"])
    assert Path(text).is_file()
    ids, back = load_embeddings(os.fsencode(text))
    assert ids == (None if suffix == ".npy" else ["a", "b", "c"])
    np.testing.assert_array_equal(back, z)


@pytest.mark.parametrize("bad", [3, None, 2.5])
def test_a_path_of_another_type_is_a_clear_input_error(tmp_path: Path, bad) -> None:
    """A path that is no str, bytes or PathLike is one :class:`InputError` (also a TypeError), no traceback from
    pathlib, for writing and for reading."""
    with pytest.raises(gv.InputError, match="path must be"):
        save_embeddings(bad, np.ones((2, 2)), ["a", "b"])
    with pytest.raises(TypeError):
        load_embeddings(bad)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_atomic_write_to_a_named_pipe_writes_through_it_and_keeps_the_pipe(tmp_path: Path) -> None:
    """A FIFO at the path is written to as it is (what ``--json /dev/stdout`` relies on): the bytes come out of the
    pipe and the pipe is still a pipe afterwards, no regular file renamed over it. Kills: ``direct = False`` (every
    path written through a temporary file and a rename)."""
    import stat

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader, so the writer's open does not block
    try:
        write_json(fifo, [1, 2])
        got = os.read(reader, 1 << 16)
    finally:
        os.close(reader)
    assert got == b"[\n  1,\n  2\n]\n"
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]


def test_write_csv_rows_quotes_a_first_field_that_starts_with_hash_after_spaces() -> None:
    """A first field `` #x`` (spaces, then ``#``) is quoted: graphvae's readers take a line whose first non-space
    character is ``#`` for a comment, so no written data line may start that way, and the csv module reads every
    row back as written. Kills: ``first.startswith("#")`` without ``lstrip()``."""
    import csv
    import io

    from graphvae.files import write_csv_rows

    rows = [["  #x", "1"], ["#y", "2"], ["z#", "3"], ["\t#w", "4"]]
    f = io.StringIO(newline="")
    write_csv_rows(f, ["node_id", "label"], rows)
    text = f.getvalue()
    assert not any(line.lstrip().startswith("#") for line in text.splitlines()), text
    assert list(csv.reader(io.StringIO(text, newline=""))) == [["node_id", "label"], *rows]


def test_two_threads_writing_one_path_each_get_their_own_temporary_file(tmp_path: Path) -> None:
    """Two threads of one process writing the same path at once both succeed, and the file holds one of the two
    whole texts. Both callbacks finish writing before either renames (a barrier), so with one temporary name per
    process the second writer overwrote the first's temporary file and then found it renamed away
    (FileNotFoundError). Kills: the thread id dropped from the temporary name."""
    import threading

    target = tmp_path / "shared.txt"
    barrier = threading.Barrier(2, timeout=20)
    errors: list[BaseException] = []

    def writer(text: str) -> None:
        def write(tmp: Path) -> None:
            Path(tmp).write_text(text)
            barrier.wait()

        try:
            atomic_write(target, write)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    texts = ["a" * 1000, "b" * 2000]
    threads = [threading.Thread(target=writer, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert target.read_text() in texts
    assert [p.name for p in tmp_path.iterdir()] == ["shared.txt"]


@pytest.mark.parametrize("node", ["a\tb", "a\nb", "a\u00a0b", "a\u2003b"])
def test_emb_refuses_ids_with_any_whitespace_not_only_spaces(tmp_path: Path, node: str) -> None:
    """The word2vec text format splits a line on whitespace (``str.split()``, as node2vec's readers do): an id holding
    a tab, a line break or a Unicode space would become two fields or two lines. Each is refused for ``.emb`` and
    written as is to ``.csv``. Kills: the check looking only for ``" "``."""
    assert len(f"{node} 1.0".split()) == 3  # the reference: such an id is not one whitespace-separated word
    with pytest.raises(gv.InputError, match="whitespace"):
        save_embeddings(tmp_path / "z.emb", np.ones((2, 1)), [node, "c"])
    assert not (tmp_path / "z.emb").exists()
    save_embeddings(tmp_path / "z.csv", np.ones((2, 1)), [node, "c"])
    assert load_embeddings(tmp_path / "z.csv")[0] == [node, "c"]


@pytest.mark.parametrize("suffix", [".npy", ".csv", ".emb", ".npz"])
@pytest.mark.parametrize("ids", [["a", "b", "c"], ["a"]])
def test_ids_and_rows_must_be_as_many(tmp_path: Path, suffix: str, ids: list) -> None:
    """One id per row, in every format: more ids than rows (zip would drop the extra ids silently) and fewer are both
    an InputError, nothing written. Kills: ``len(node_ids) < len(embeddings)`` in place of ``!=``."""
    with pytest.raises(gv.InputError, match="node ids for 2 embeddings"):
        save_embeddings(tmp_path / f"z{suffix}", np.ones((2, 3)), ids)
    assert not (tmp_path / f"z{suffix}").exists()


@pytest.mark.parametrize("suffix", [".csv", ".emb"])
def test_text_formats_keep_every_digit_of_float64_embeddings(tmp_path: Path, suffix: str) -> None:
    """The text formats write each value as Python's shortest round-trip text of the float64 it is (``.npy``/``.npz``
    are the float32 ones): parsed back with ``float`` by an independent reader (csv module, ``str.split``) the values
    are the float64 input exactly, not float32 roundings. Kills: values written as ``str(np.float32(v))``."""
    import csv

    z = np.array([[0.1, 1 / 3, -2.0 ** -30], [np.pi, 1e-300, 12345.678901234567]])
    path = tmp_path / f"z{suffix}"
    save_embeddings(path, z, ["a", "b"])
    text = path.read_text(encoding="utf-8")
    if suffix == ".csv":
        rows = list(csv.reader(text.splitlines()))[1:]
    else:
        lines = text.splitlines()
        assert lines[0].split() == ["2", "3"]  # word2vec header: N d
        rows = [line.split() for line in lines[1:]]
    assert [r[0] for r in rows] == ["a", "b"]
    np.testing.assert_array_equal(np.array([[float(v) for v in r[1:]] for r in rows]), z)


def test_csv_header_names_the_id_column_and_zero_based_dimensions(tmp_path: Path) -> None:
    """The ``.csv`` header is ``node_id,z0,...,z{d-1}``: dimension ``k`` of the array (numpy's zero-based column
    ``k``) is column ``zk``, as ``cluster --out`` names its ``r0, r1, ...``. Kills: columns numbered from 1."""
    import csv

    z = np.arange(8, dtype=np.float64).reshape(2, 4)
    save_embeddings(tmp_path / "z.csv", z, ["a", "b"])
    with open(tmp_path / "z.csv", newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    assert header == ["node_id", "z0", "z1", "z2", "z3"]
    assert [float(rows[1][header.index("z2")])] == [z[1, 2]]


@pytest.mark.parametrize("header", ["3 2", "1 2"])
def test_emb_header_row_count_must_match_the_rows(tmp_path: Path, header: str) -> None:
    """A ``.emb`` file whose header ``N d`` announces another number of rows than it holds is refused (a truncated
    file, or rows past the announced ones that gensim would silently skip); gensim, where installed, also refuses
    the truncated one. Kills: the ``len(rows) != n`` check dropped."""
    path = tmp_path / "z.emb"
    path.write_text(f"{header}\na 1 2\nb 3 4\n", encoding="utf-8")
    with pytest.raises(gv.InputError, match="word2vec"):
        load_embeddings(path)
    if header == "3 2":
        try:
            from gensim.models import KeyedVectors
        except ImportError:
            return
        with pytest.raises(EOFError):
            KeyedVectors.load_word2vec_format(str(path))


@pytest.mark.parametrize("suffix,text", [
    (".csv", "node_id,z0\na,1\nb,2\na,3\n"),
    (".emb", "3 1\na 1\nb 2\na 3\n"),
    (".npz", None),
])
def test_a_file_with_a_repeated_id_is_refused(tmp_path: Path, suffix: str, text: str | None) -> None:
    """Two rows of one node id are refused on reading (which row would be the node's?), naming the id. Kills: the
    repeated-id check of load_embeddings dropped."""
    path = tmp_path / f"z{suffix}"
    if text is None:
        np.savez(path, ids=np.array(["a", "b", "a"]), embeddings=np.ones((3, 1), np.float32))
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(gv.InputError, match="'a' is on more than one row"):
        load_embeddings(path)


def test_csv_rows_with_more_values_than_the_header_are_refused(tmp_path: Path) -> None:
    """Every ``.csv`` row has as many fields as the header: rows of 2 values under a header of 1 dimension are an
    error naming the line, not read as 2-dimensional embeddings. Kills: only rows *shorter* than the header refused."""
    path = tmp_path / "z.csv"
    path.write_text("node_id,z0\na,1,2\nb,3,4\n", encoding="utf-8")
    with pytest.raises(gv.InputError, match="line 2: 3 fields where the header has 2"):
        load_embeddings(path)


# --------------------------------------------------------------------------- datasets.py

def test_dataset_names_are_case_insensitive() -> None:
    """``load_dataset("CiteSeer")`` is the registry's ``citeseer`` (the names are printed capitalized in papers and
    PyG): every capitalization of a registered name gives its folder. Kills: the name not lower-cased."""
    for name in datasets.dataset_names():
        assert name == name.lower()
        for spelling in (name.upper(), name.capitalize(), name.swapcase()):
            try:
                folder = datasets.dataset_folder(spelling, download=False)
            except gv.InputError as e:  # not in a data folder here: only "not found", never "unknown dataset"
                assert "unknown dataset" not in str(e) and f"dataset '{name}' not found" in str(e)
            else:
                assert folder == datasets.dataset_folder(name, download=False)


def _pubmed_folder(base: Path) -> Path:
    folder = base / "planetoid" / "PubMed" / "raw"
    write_tiny_planetoid(folder, "pubmed")
    return folder


def test_a_sums_file_listing_paths_still_checks_each_file(tmp_path: Path, fresh_cache, tiny_pubmed) -> None:
    """``SHA256SUMS`` written by ``sha256sum planetoid/PubMed/raw/*`` names files with their folders: each line
    still judges the file of that name, so a changed file is caught (hashlib gives the true digests). Kills: the
    lines keyed by the whole path (no file matched, nothing checked)."""
    import hashlib

    data = tmp_path / "data"
    folder = _pubmed_folder(data)
    names = sorted(p.name for p in folder.iterdir())
    (folder / "SHA256SUMS").write_text("".join(
        f"{hashlib.sha256((folder / n).read_bytes()).hexdigest()}  planetoid/PubMed/raw/{n}\n" for n in names))
    assert datasets.dataset_folder("pubmed", root=data, download=False) == folder
    (folder / "ind.pubmed.tx").write_bytes((folder / "ind.pubmed.tx").read_bytes() + b"\0")
    with pytest.raises(gv.InputError, match="ind.pubmed.tx: SHA-256 does not match"):
        datasets.dataset_folder("pubmed", root=data, download=False)


@pytest.mark.parametrize("line", ["abc123  ind.pubmed.x", "{digest}  ind.pubmed.x  extra", "{digest}"])
def test_a_malformed_sums_line_is_named_by_its_number(tmp_path: Path, fresh_cache, tiny_pubmed, line: str) -> None:
    """A ``SHA256SUMS`` line that is not a 64-hex-digit digest and one file name is an InputError naming the line,
    not read as a digest that then "does not match". Kills: only the field count checked (``len(fields) < 2``)."""
    import hashlib

    data = tmp_path / "data"
    folder = _pubmed_folder(data)
    digest = hashlib.sha256((folder / "ind.pubmed.x").read_bytes()).hexdigest()
    (folder / "SHA256SUMS").write_text("\n" + line.format(digest=digest) + "\n")
    with pytest.raises(gv.InputError, match="SHA256SUMS, line 2: expected 'sha256-digest  file name'"):
        datasets.dataset_folder("pubmed", root=data, download=False)


def test_a_data_url_without_a_trailing_slash_names_a_folder(server, fresh_cache, monkeypatch, tiny_pubmed) -> None:
    """``GRAPHVAE_DATA_URL=http://host/files`` (no trailing slash) is the folder ``files/``: each file is fetched as
    ``files/<name>`` (what ``urljoin(url + "/", name)`` gives), not ``files<name>``. Kills: the slash not added."""
    from urllib.parse import urljoin

    write_tiny_planetoid(server.folder, "pubmed")
    url = server.url.rstrip("/")
    monkeypatch.setenv("GRAPHVAE_DATA_URL", url)
    graph = gv.load_dataset("pubmed", progress=False)
    assert graph.num_nodes == 530
    files = datasets.registry()["datasets"]["pubmed"]["files"]
    wanted = sorted(urljoin(url + "/", f).removeprefix(url.rsplit("/", 1)[0]) for f in files)
    assert sorted(server.requests) == wanted


def test_a_partial_download_with_a_fresh_file_inside_an_old_folder_stays(server, fresh_cache, monkeypatch,
                                                                         tiny_pubmed) -> None:
    """A partial folder is stale only when nothing in it was touched for an hour: a folder made 2 h ago whose file
    was written a moment ago (another process still streaming into it; writing a file does not touch its folder's
    mtime) stays, while a partial folder whose folder and files are all 2 h old is removed. Kills: the age taken from
    the folder's own mtime alone."""
    import time

    target = fresh_cache / "planetoid" / "PubMed" / "raw"
    busy, dead = target / f"{datasets.PARTIAL_PREFIX}busy", target / f"{datasets.PARTIAL_PREFIX}dead"
    for folder in (busy, dead):
        folder.mkdir(parents=True)
        (folder / "ind.pubmed.x").write_bytes(b"partial")
    hours_ago = time.time() - 2 * 3600
    for p in (busy, dead, dead / "ind.pubmed.x"):
        os.utime(p, (hours_ago, hours_ago))
    write_tiny_planetoid(server.folder, "pubmed")
    monkeypatch.setenv("GRAPHVAE_DATA_URL", server.url)
    assert gv.load_dataset("pubmed", progress=False).num_nodes == 530
    assert busy.is_dir() and not dead.exists()


class _Status:
    """A local server answering every GET with ``status`` and a short body, as a proxy's 206 or 203 would."""

    def __init__(self, status: int):
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = b"not the file\n"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("status", [203, 206])
def test_a_success_status_other_than_200_is_named_as_the_failure(fresh_cache, monkeypatch, status: int) -> None:
    """Only ``200 OK`` is a whole file: a ``206 Partial Content`` or a ``203`` from a proxy is refused naming the HTTP
    status and the URL (not blamed on the file as a SHA-256 mismatch). Kills: any status below 400 accepted."""
    s = _Status(status)
    try:
        monkeypatch.setenv("GRAPHVAE_DATA_URL", s.url)
        with pytest.raises(gv.InputError, match=rf"downloading {s.url}ind\.cora\.\w+ failed: HTTP {status}"):
            gv.load_dataset("cora", progress=False)
    finally:
        s.close()


def test_a_download_cut_short_says_how_many_bytes_came(fresh_cache, monkeypatch) -> None:
    """A server that announces ``Content-Length: 1000``, sends 100 bytes and closes: the error says the download was
    truncated, with both counts (100 of 1000 bytes). Kills: the truncation branch dropped (a bare exception name)."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 100)
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("GRAPHVAE_DATA_URL", f"http://127.0.0.1:{httpd.server_address[1]}/")
        with pytest.raises(gv.InputError, match=r"was truncated \(got 100 of 1000 bytes"):
            gv.load_dataset("cora", progress=False)
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_negative_neighbour_in_the_adjacency_dict_is_named_with_its_file(tmp_path: Path) -> None:
    """A Planetoid adjacency dict listing node ``-1`` as a neighbour is refused naming ``ind.<prefix>.graph`` (like a
    negative key). Kills: only the dict's keys checked for negative numbers."""
    import collections
    import pickle

    write_tiny_planetoid(tmp_path, "tiny")
    links = collections.defaultdict(list, {0: [1, -1], 1: [0]})
    (tmp_path / "ind.tiny.graph").write_bytes(pickle.dumps(links, protocol=2))
    with pytest.raises(gv.InputError, match=r"ind\.tiny\.graph: negative node numbers"):
        datasets.read_planetoid(tmp_path, "tiny")


def test_label_rows_must_match_the_test_feature_rows(tmp_path: Path) -> None:
    """``ind.<prefix>.ty`` holds one label row per ``tx`` feature row: one row short is refused naming both files
    (it silently dropped the last test node's features, the graph one node smaller). Kills: the ty/tx row check
    dropped."""
    import pickle

    write_tiny_planetoid(tmp_path, "tiny")
    with open(tmp_path / "ind.tiny.ty", "rb") as f:
        ty = pickle.load(f)
    (tmp_path / "ind.tiny.ty").write_bytes(pickle.dumps(ty[:-1], protocol=2))
    with pytest.raises(gv.InputError, match=r"ind\.tiny\.ty: 9 rows where ind\.tiny\.tx has 10"):
        datasets.read_planetoid(tmp_path, "tiny")


# --------------------------------------------------------------------------- graph_files.py

def test_a_weight_beyond_float32_is_refused(tmp_path: Path) -> None:
    """A weight above float32's largest (3.4e38) would be inf in the float32 operator Â and zero its nodes'
    encodings: refused, for a networkx graph and for an edge-list file, while float32's largest itself is kept.
    Kills: the float32 upper bound dropped."""
    import networkx as nx

    top = float(np.finfo(np.float32).max)
    g = nx.Graph()
    g.add_edge("a", "b", weight=top)
    g.add_edge("b", "c", weight=1.0)
    assert float(gv.as_graph(g).edge_weight.max()) == top
    g["a"]["b"]["weight"] = 1e39
    with np.errstate(over="ignore"):
        assert np.isinf(np.float32(1e39))  # the reference: what float32 makes of it
    with pytest.raises(gv.InputError, match="at most 3.4e\\+38"):
        gv.as_graph(g)
    (tmp_path / "e.csv").write_text("a,b,1e39\nb,c,1\n")
    with pytest.raises(gv.InputError, match="at most 3.4e\\+38"):
        gv.load_graph(tmp_path / "e.csv")


def _gml(tmp_path: Path, labels: list) -> Path:
    """A 3-node path 0-1-2 in GML with the given node labels (None: no label line)."""
    nodes = "".join(f"  node [ id {i}" + ("" if lab is None else f' label "{lab}"') + " ]\n"
                    for i, lab in enumerate(labels))
    path = tmp_path / "g.gml"
    path.write_text(f"graph [\n{nodes}  edge [ source 0 target 1 ]\n  edge [ source 1 target 2 ]\n]\n")
    return path


def test_gml_without_labels_is_keyed_by_its_ids(tmp_path: Path) -> None:
    """A GML file whose nodes have no label is keyed by the GML ids (networkx's ``read_gml(label="id")``, the
    reference), as strings. Kills: networkx's default ``label="label"``, which refuses such a file."""
    import networkx as nx

    path = _gml(tmp_path, [None, None, None])
    ref = nx.read_gml(path, label="id")
    graph = gv.load_graph(path)
    assert graph.node_ids == [str(v) for v in ref.nodes]
    got = {frozenset((graph.node_ids[u], graph.node_ids[v])) for u, v in graph.edge_index.T.tolist()}
    assert got == {frozenset((str(u), str(v))) for u, v in ref.edges}


def test_gml_labels_must_be_on_every_node_and_unique(tmp_path: Path) -> None:
    """Labels on some nodes only, or one label on two nodes, are refused: keyed by label, networkx would merge the two
    nodes of one label into one (``relabel_nodes``) or name an unlabelled node ``"None"``; with every label present
    and distinct the nodes are the labels (networkx's ``read_gml`` default, the reference). Kills: the missing-label
    and the repeated-label checks dropped."""
    import networkx as nx

    with pytest.raises(gv.InputError, match="GML id 1 has no label"):
        gv.load_graph(_gml(tmp_path, ["x", None, "z"]))
    with pytest.raises(gv.InputError, match="two nodes have the label 'x'"):
        gv.load_graph(_gml(tmp_path, ["x", "y", "x"]))
    path = _gml(tmp_path, ["x", "y", "z"])
    assert gv.load_graph(path).node_ids == list(nx.read_gml(path).nodes)


def test_a_coo_matrix_with_repeated_entries_means_their_sums(tmp_path: Path) -> None:
    """scipy reads repeated COO entries as their sum (``toarray()``, the reference): entries 2 + 3 at (0, 1) are one
    edge of weight 5, and +1 - 1 at (1, 2) sum to 0, no edge (not a refused negative weight); the same through a
    ``save_npz`` file. Kills: ``sum_duplicates()`` dropped (the repeated entries read one by one)."""
    import scipy.sparse as sp

    a = sp.coo_matrix(([2.0, 3.0, 1.0, -1.0, 4.0], ([0, 0, 1, 1, 2], [1, 1, 2, 2, 3])), shape=(4, 4))
    dense = a.toarray()
    sp.save_npz(tmp_path / "a.npz", a, compressed=False)
    for graph in (gv.as_graph(a), gv.load_graph(tmp_path / "a.npz")):
        ei, w = graph.edge_index.numpy(), graph.edge_weight.numpy()
        got = {(int(u), int(v)): float(x) for u, v, x in zip(ei[0], ei[1], w)}
        sym = np.maximum(dense, dense.T)
        assert got == {(int(u), int(v)): float(sym[u, v]) for u, v in zip(*np.nonzero(sym))}
        assert got[(0, 1)] == 5.0 and (1, 2) not in got


def test_a_non_square_sparse_matrix_is_no_adjacency() -> None:
    """An adjacency matrix is square: a 3 x 4 matrix is refused even when its entries all lie in the first three
    columns (it was read as a 3-node graph, the fourth column passed over). Kills: the shape check dropped."""
    import scipy.sparse as sp

    a = sp.csr_matrix(np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0]], dtype=float))
    with pytest.raises(gv.InputError, match="square sparse matrix, got shape \\(3, 4\\)"):
        gv.as_graph(a)


def test_an_edge_listed_twice_keeps_its_largest_weight_and_weight_0_is_no_edge(tmp_path: Path) -> None:
    """The module's rule, checked by hand: an undirected pair listed more than once keeps its largest weight in both
    directions (whatever the order of the lines); an edge of weight 0 is no edge and is counted as ``zero_weight``.
    Kills: the last listed weight kept (``best[inverse] = w``); weight-0 edges kept (``>= 0``)."""
    (tmp_path / "e.csv").write_text("a,b,3\nb,a,1\nb,c,0.5\nc,b,2\na,b,2\nc,d,0\n")
    graph = gv.load_graph(tmp_path / "e.csv")
    ids = graph.node_ids
    got = {(ids[u], ids[v]): float(w) for (u, v), w in zip(graph.edge_index.T.tolist(), graph.edge_weight)}
    expected = {("a", "b"): 3.0, ("b", "c"): 2.0}
    assert got == {**expected, **{(v, u): w for (u, v), w in expected.items()}}
    assert graph.cleaning["zero_weight"] == 1 and graph.num_edges == 2


def test_an_undirected_networkx_graph_has_no_one_way_edges() -> None:
    """An ``nx.Graph`` lists each edge once *because* it is undirected: ``cleaning["one_way"]`` is 0, while the same
    edges as an ``nx.DiGraph`` (one direction each) are all one-way (a hand count: the 3 edges of the path).
    Kills: the undirected flag not applied."""
    import networkx as nx

    g = nx.path_graph(4)
    assert gv.as_graph(g).cleaning["one_way"] == 0
    assert gv.as_graph(nx.DiGraph(list(g.edges))).cleaning["one_way"] == 3


def test_is_identity_means_exactly_the_identity() -> None:
    """``is_identity`` is true exactly when the matrix equals ``torch.eye(n)`` (the reference), dense or CSR: a
    unit diagonal with other non-zeros is not the identity (a model fitted on it would be taken as featureless).
    Kills: the dense count of non-zeros dropped."""
    import torch

    from graphvae.data.graph import is_identity

    rng = np.random.default_rng(0)
    cases = [torch.eye(4), torch.ones(4, 4), torch.eye(4) * 2, torch.eye(4)[[1, 0, 2, 3]]]
    for _ in range(20):
        m = (rng.random((4, 4)) < 0.2).astype(np.float32)
        np.fill_diagonal(m, 1)
        cases.append(torch.from_numpy(m))
    for x in cases:
        expected = torch.equal(x, torch.eye(4))
        assert is_identity(x, 4) == expected
        assert is_identity(x.to_sparse_csr(), 4) == expected


# --------------------------------------------------------------------------- graph.py: hand-built graphs and PyG

def test_a_hand_built_graph_with_a_weight_of_0_is_refused() -> None:
    """A :class:`Graph` built by hand whose ``edge_weight`` holds a 0 is refused, counting the zeros (2: one edge in
    both directions): the readers drop such edges, here it would stay a positive link of the likelihood. Positive
    weights pass. Kills: the weight-0 check dropped."""
    import torch

    graph = gv.build_graph(np.array([0, 1]), np.array([1, 2]), 3)
    assert graph.edge_index.shape[1] == 4
    graph.edge_weight = torch.tensor([1.0, 0.0, 1.0, 0.0])
    graph.edge_weight[graph.edge_index[0] + graph.edge_index[1] == 1] = 2.0  # the edge 0-1 weighs 2, 1-2 weighs 0
    with pytest.raises(gv.InputError, match="holds 2 weight\\(s\\) of 0"):
        gv.as_graph(graph)
    graph.edge_weight = torch.full((4,), 0.5)
    assert gv.as_graph(graph) is graph


def test_a_hand_built_one_way_edge_index_is_refused() -> None:
    """A hand-built :class:`Graph` whose ``edge_index`` lists an edge in one direction only is refused (the split and
    the likelihood would see another graph); its symmetric version passes. Kills: the symmetry check dropped."""
    import torch

    x = torch.eye(3)
    one_way = gv.Graph(x, torch.tensor([[0, 1, 2], [1, 2, 1]]), 3)
    with pytest.raises(gv.InputError, match="not symmetric"):
        gv.as_graph(one_way)
    both = gv.Graph(x, torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), 3)
    assert gv.as_graph(both) is both


def test_nan_in_csr_features_is_named_by_its_row() -> None:
    """NaN in sparse CSR features of a hand-built graph is refused naming the *row* of the matrix it lies in (a hand
    count: the three stored entries before it belong to rows 0 and 1, it lies in row 4), not its index (3) among the
    stored entries. Kills: the CSR row taken as the entry's position."""
    import torch

    dense = np.zeros((5, 4), dtype=np.float32)
    dense[0, 1] = dense[1, 0] = dense[1, 3] = 1.0
    dense[4, 2] = np.nan
    graph = gv.build_graph(np.array([0, 1, 2, 3]), np.array([1, 2, 3, 4]), 5)
    graph.x = torch.from_numpy(dense).to_sparse_csr()
    with pytest.raises(gv.InputError, match="first at row 4\\)"):
        gv.as_graph(graph)


def test_features_given_for_a_graph_replace_its_own() -> None:
    """``as_graph(graph, features)`` returns the graph with ``features`` as its ``x`` (a copy; the original keeps its
    own), even when the graph's ``x`` is already float32. Kills: a ready graph returned as it is, ``features``
    ignored."""
    import torch

    graph = gv.build_graph(np.array([0, 1]), np.array([1, 2]), 3, x=np.ones((3, 2), np.float32))
    new = torch.arange(9, dtype=torch.float32).reshape(3, 3) + 1
    out = gv.as_graph(graph, new)
    assert out is not graph and torch.equal(out.x.to_dense(), new)
    assert torch.equal(graph.x.to_dense(), torch.ones(3, 2))


def test_pyg_masks_labels_and_name_are_carried_over() -> None:
    """A PyG ``Data``'s ``y``, ``train_mask``, ``val_mask``, ``test_mask`` and ``name`` come through ``as_graph``
    equal to the Data's own (the reference). Kills: only ``y`` and ``name`` copied."""
    pytest.importorskip("torch_geometric")
    import torch
    from torch_geometric.data import Data

    ei = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    masks = {k: torch.tensor(m) for k, m in (("train_mask", [True, False, False, True]),
                                             ("val_mask", [False, True, False, False]),
                                             ("test_mask", [False, False, True, False]))}
    data = Data(x=torch.ones(4, 2), edge_index=ei, y=torch.tensor([0, 1, 0, 1]), name="toy", **masks)
    graph = gv.as_graph(data)
    for key in ("y", *masks):
        assert torch.equal(getattr(graph, key), data[key]), key
    assert graph.name == "toy"


# --------------------------------------------------------------------------- image_files.py

def test_an_idx_file_with_trailing_bytes_is_malformed(tmp_path: Path) -> None:
    """An IDX file holds exactly ``prod(shape) * itemsize`` data bytes after its header (the format as LeCun et al.
    describe it: magic, one big-endian uint32 per dimension, the values): one byte more is an InputError saying so,
    not a reshape traceback. Kills: only files *shorter* than their shape refused."""
    from graphvae.data.image_files import read_idx

    values = np.arange(6, dtype=np.uint8).reshape(2, 3)
    header = bytes([0, 0, 0x08, 2]) + np.array([2, 3], dtype=">u4").tobytes()
    path = tmp_path / "a-idx2-ubyte"
    path.write_bytes(header + values.tobytes())
    np.testing.assert_array_equal(read_idx(path), values)
    path.write_bytes(header + values.tobytes() + b"\0")
    with pytest.raises(gv.InputError, match="needs 6 data bytes, found 7"):
        read_idx(path)


def test_write_idx_refuses_a_0_d_array(tmp_path: Path) -> None:
    """IDX stores 1 to 255 dimensions (a 0 in the magic's fourth byte is no IDX file): a 0-d array is refused and no
    file written, instead of a file that ``read_idx`` then calls a bad magic number. Kills: the ``ndim == 0`` check
    dropped."""
    from graphvae.data.image_files import write_idx

    with pytest.raises(gv.InputError, match="1 to 255 dimensions, got 0"):
        write_idx(tmp_path / "a-idx0-ubyte", np.array(7, dtype=np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_binarizing_pixels_in_0_1_keeps_exactly_one_half_off(tmp_path: Path) -> None:
    """Binarized pixels are those *above* half the range (as digits' > 8 of 16): on a [0, 1] scale 0.5 is off, 0.50001
    on. Kills: ``>=`` in place of ``>``."""
    from graphvae.data.image_files import load_image_dataset, write_mnist_npz

    pixels = np.array([0.0, 0.25, 0.5, 0.50001, 0.75, 1.0], dtype=np.float32)
    x = np.tile(pixels, (2, 1)).reshape(2, 2, 3)
    path = write_mnist_npz(tmp_path / "m.npz", x, np.array([0, 1]), x, np.array([1, 0]))
    ds = load_image_dataset("mnist", path=path, binarize=True)
    np.testing.assert_array_equal(ds.x_train[0], (pixels > 0.5).astype(np.float32))
    np.testing.assert_array_equal(ds.x_train[0], [0, 0, 0, 1, 1, 1])


def test_train_and_test_images_must_have_one_size(tmp_path: Path) -> None:
    """Train images of 4x4 and test images of 3x3 are refused when read (a model fitted on 16 pixels cannot score
    9), naming both sizes. Kills: the train/test size check dropped."""
    from graphvae.data.image_files import read_mnist_npz, write_mnist_npz

    y = np.array([0, 1])
    path = write_mnist_npz(tmp_path / "m.npz", np.zeros((2, 4, 4), np.uint8), y, np.zeros((2, 3, 3), np.uint8), y)
    with pytest.raises(gv.InputError, match=r"train images \(4, 4\) and test images \(3, 3\) differ in size"):
        read_mnist_npz(path)


def test_negative_pixels_are_refused(tmp_path: Path) -> None:
    """Pixels lie in 0..255 or [0, 1]: a -1 (a centred image set, say) is refused naming the range it spans, not
    scaled into negative intensities. Kills: only the upper bound checked."""
    from graphvae.data.image_files import load_image_dataset, write_mnist_npz

    x = np.zeros((2, 2, 2), np.int16)
    x[0, 0, 0], x[1, 1, 1] = -1, 200
    path = write_mnist_npz(tmp_path / "m.npz", x, np.array([0, 1]), x, np.array([0, 1]))
    with pytest.raises(gv.InputError, match=r"0\.\.255 \(bytes\) or \[0, 1\], they range over \[-1, 200\]"):
        load_image_dataset("mnist", path=path)


def test_idx_files_spelt_with_a_dot_are_found(tmp_path: Path) -> None:
    """The ``train-images.idx3-ubyte`` spelling (a dot before ``idx``, as some mirrors name the files) is read like
    ``train-images-idx3-ubyte``, gzipped or not; the arrays are the ones written (the reference). Kills: only the
    dash spelling looked for."""
    from graphvae.data.image_files import read_mnist_idx, write_idx

    rng = np.random.default_rng(0)
    arrays = {"train-images": rng.integers(0, 256, (3, 4, 4), dtype=np.uint8),
              "train-labels": np.array([1, 2, 3], np.uint8),
              "t10k-images": rng.integers(0, 256, (2, 4, 4), dtype=np.uint8), "t10k-labels": np.array([4, 5], np.uint8)}
    for stem, a in arrays.items():
        write_idx(tmp_path / (f"{stem}.idx{a.ndim}-ubyte" + (".gz" if "labels" in stem else "")), a)
    for got, stem in zip(read_mnist_idx(tmp_path), arrays):
        np.testing.assert_array_equal(got, arrays[stem])


# --------------------------------------------------------------------------- synthetic.py

def test_sbm_feature_noise_is_the_spread_around_the_block_centroid() -> None:
    """Features are the block centroid plus Gaussian noise of standard deviation ``feature_noise``: with 0 every
    node of a block has its block's one feature row; with 3 the residuals around each block's mean have a standard
    deviation of 3 (numpy's ``std`` over 1500 x 16 draws, within 5 %). Kills: the noise not scaled."""
    exact = gv.degree_corrected_sbm(300, edges_per_node=2, num_blocks=4, num_features=16, feature_noise=0.0, seed=1)
    x, y = exact.x.to_dense().numpy(), exact.y.numpy()
    for b in np.unique(y):
        assert np.unique(x[y == b], axis=0).shape[0] == 1
    noisy = gv.degree_corrected_sbm(1500, edges_per_node=2, num_blocks=4, num_features=16, feature_noise=3.0, seed=1)
    x, y = noisy.x.to_dense().numpy().astype(np.float64), noisy.y.numpy()
    residual = np.concatenate([x[y == b] - x[y == b].mean(axis=0) for b in np.unique(y)])
    assert abs(residual.std() - 3.0) < 0.15
