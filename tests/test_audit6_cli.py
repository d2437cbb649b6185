"""Bad input found by the sixth audit: option limits that named the wrong maximum, a --data-dir that does not exist,
a truncated download reported as urllib3's ProtocolError, and a damaged cached file that could not be fetched again.

Downloads run against servers on 127.0.0.1 only (the fixtures of ``test_datasets.py``)."""
import http.server
import shutil
from pathlib import Path

import pytest

import graphvae as gv
from conftest import one_error
from graphvae.cli import main

from test_datasets import closed_port_url, cora_files, fresh_cache  # noqa: F401 (fixtures)
from test_datasets_robust import LocalServer

FAST = ["--epochs", "1", "--latent", "2", "--no-progress"]


# --------------------------------------------------------------------------- 1. --seeds and --threads name their limit

@pytest.mark.parametrize("argv, limit", [
    (["linkpred", "--seeds", "20000"], 10_000),
    (["linkpred", "--seeds", str(10**12)], 10_000),  # was "at most 2147483647", the limit of --epochs
    (["classify", "--seeds", str(10**12)], 10_000),
    (["classify", "--threads", str(10**12)], 1024),
    (["vae", "--threads", str(2**31)], 1024),
    (["linkpred", "--epochs", str(10**12)], 2**31 - 1),  # a plain count keeps the general limit
])
def test_a_count_over_its_limit_names_that_limit(capsys, argv, limit):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    one_error(capsys, f"{argv[1]}: must be at most {limit}, got {argv[2]}", only=True)


# --------------------------------------------------------------------------- 2. a --data-dir that does not exist

def test_a_data_dir_that_is_not_a_folder_is_one_error_naming_it(fresh_cache, tmp_path, monkeypatch, capsys):
    # it was a warning, and the files came from $GRAPHVAE_DATA or the cache (the warning named $GRAPHVAE_DATA unset)
    missing = tmp_path / "mistyped"
    with pytest.raises(gv.InputError, match=rf"the data folder {missing} \(--data-dir, root\) does not exist") as e:
        gv.load_dataset("cora", root=missing)
    assert "GRAPHVAE_DATA" not in str(e.value) and "graphvae's cache" in str(e.value)
    (tmp_path / "a-file").write_text("")
    with pytest.raises(gv.InputError, match=r"a-file \(--data-dir, root\) is not a folder"):
        gv.load_dataset("cora", root=tmp_path / "a-file", download=False)
    monkeypatch.setenv("GRAPHVAE_DATA", str(tmp_path))
    with pytest.raises(gv.InputError, match=r"leave it out to use \$GRAPHVAE_DATA and the cache"):
        gv.load_dataset("cora", root=missing)
    assert not missing.exists() and not fresh_cache.exists()  # nothing created, nothing downloaded
    assert main(["linkpred", "--dataset", "cora", "--data-dir", str(missing), *FAST]) == 2
    one_error(capsys, f"the data folder {missing} (--data-dir, root) does not exist", only=True)


# --------------------------------------------------------------------------- 3. a truncated download

class _Truncating(LocalServer):
    """A server that announces 1000 bytes, sends 400 and closes the connection."""

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.write(b"x" * 400)
                self.close_connection = True

            def log_message(self, *args):
                pass

        super().__init__(Handler)


@pytest.fixture
def truncating():
    t = _Truncating()
    yield t
    t.close()


def test_a_truncated_download_says_how_many_bytes_came(truncating, fresh_cache, monkeypatch, capsys):
    monkeypatch.setenv("GRAPHVAE_DATA_URL", truncating.url)
    with pytest.raises(gv.InputError) as e:
        gv.load_dataset("cora")
    message = str(e.value)
    assert (f"downloading {truncating.url}ind.cora.x was truncated (got 400 of 1000 bytes before the connection "
            "closed; try again)") in message
    assert "ProtocolError" not in message and "\n" not in message
    assert not fresh_cache.exists()
    assert main(["linkpred", "--dataset", "cora", *FAST]) == 2
    one_error(capsys, "was truncated (got 400 of 1000 bytes", only=True)


# --------------------------------------------------------------------------- 4. a damaged cached file, offline

def test_a_damaged_cached_file_that_cannot_be_fetched_again_is_named(cora_files, fresh_cache, monkeypatch, capsys):
    damaged = fresh_cache / "planetoid" / "Cora" / "raw" / "ind.cora.y"
    shutil.copytree(cora_files, damaged.parent)
    damaged.write_bytes(b"damaged")
    monkeypatch.setenv("GRAPHVAE_DATA_URL", closed_port_url())
    with pytest.raises(gv.InputError) as e:
        gv.load_dataset("cora")
    message = str(e.value)
    assert message.startswith(f"{damaged}: SHA-256 does not match") and "\n" not in message
    assert "could not be fetched again: downloading http://127.0.0.1:" in message
    assert damaged.read_bytes() == b"damaged"  # left for the next try
    assert main(["linkpred", "--dataset", "cora", *FAST]) == 2
    one_error(capsys, f"{damaged}: SHA-256 does not match", only=True)  # no "downloading again" line before it


# --------------------------------------------------------------------------- 5. a folder where no file can be created

@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_folder_where_no_file_can_be_created_is_refused_before_training(capsys, monkeypatch, tmp_path):
    """os.access says yes to root for /proc (and read-only file systems): --out /proc/z.npy trained, then failed."""
    import graphvae.estimators.models as models
    from graphvae._validation import unwritable_folder, writable_path

    with pytest.raises(gv.InputError, match="/proc is not a writable folder"):
        writable_path("/proc/z.npy", "embeddings file")
    assert unwritable_folder(tmp_path / "new" / "deeper") is None and list(tmp_path.iterdir()) == []  # no trace left
    monkeypatch.setattr(models.VGAE, "fit", lambda *a, **k: pytest.fail("trained before the check"))
    assert main(["linkpred", "--dataset", "cora", "--plot", "/proc/figs", *FAST]) == 2
    one_error(capsys, "cannot write the figures into the --plot folder /proc/figs: /proc is not a writable folder",
              only=True)


# --------------------------------------------------------------------------- 6. edge lists: hashtag ids, counts

def test_a_comment_line_that_names_an_id_of_other_lines_is_refused(tmp_path, capsys):
    """``#python,#ml`` beside ``user1,#python`` was read as a comment: 2 of the 4 edges were lost without a word."""
    path = tmp_path / "tags.csv"
    path.write_text("user1,#python\n#python,#ml\n#ml,user2\nuser2,user1\n")
    with pytest.raises(gv.InputError, match=r"line 2 starts with '#', so it is read as a comment, but '#python' is a "
                                            r"field of other lines: quote"):
        gv.load_graph(path)
    assert main(["embed", "--edges", str(path), "--out", str(tmp_path / "z.npy"), *FAST]) == 2
    one_error(capsys, "line 2 starts with '#'", only=True)
    path.write_text('# users and tags\nuser1,"#python"\n"#python","#ml"\n"#ml",user2\nuser2,user1\n')
    assert gv.load_graph(path).num_edges == 4  # quoted, they are data; a comment naming no id stays a comment


def test_the_graph_summary_counts_in_the_right_number(tmp_path, capsys):
    path = tmp_path / "g.csv"
    path.write_text("a,b,0\nb,c,1\nc,a,1\nc,c,1\nb,c,2\nd,a,1\n")
    assert main(["embed", "--edges", str(path), "--out", str(tmp_path / "z.npy"), *FAST]) == 0
    err = capsys.readouterr().err
    assert ("graph: 4 nodes, 3 undirected edges (dropped 1 self-loop, 1 duplicate edge and 1 edge of weight 0; "
            "symmetrized 3 one-way edges)") in err  # was "1 self-loops, 1 duplicate edges and 1 edges of weight 0"
