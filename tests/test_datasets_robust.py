"""Datasets, the unhappy paths: bad downloads, malformed files, slow servers, partial and unwritable folders.

Everything runs offline against local HTTP servers on 127.0.0.1 (the fixtures of ``test_datasets.py``).
"""
from __future__ import annotations

import hashlib
import http.server
import io
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import graphvae as gv
from graphvae.cli import main
from graphvae.data import datasets

from test_datasets import cora_files, fresh_cache, server, tiny_pubmed, write_tiny_planetoid  # noqa: F401 (fixtures)

CORA = "planetoid/Cora/raw"
HTML = b"<!DOCTYPE html><html><body>Sign in to continue</body></html>\n"


def serve_cora(server, source: Path) -> None:
    for f in source.iterdir():
        shutil.copy(f, server.folder / f.name)


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


# --------------------------------------------------------------------------- 1. unpinned downloads are parse-checked

def test_an_error_page_served_for_an_unpinned_dataset_is_refused_and_not_cached(server, fresh_cache, monkeypatch,
                                                                                tiny_pubmed):
    # PubMed has no pinned checksum: an HTML page served with status 200 had its SHA-256 recorded, for good
    for part in ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index"):
        (server.folder / f"ind.pubmed.{part}").write_bytes(HTML)
    monkeypatch.setenv("GRAPHVAE_DATA_URL", server.url)
    with pytest.raises(gv.InputError) as e:
        gv.load_dataset("pubmed")
    message = str(e.value)
    assert f"{server.url}ind.pubmed." in message and "not a readable Planetoid file" in message, message
    assert "not a Planetoid data set" in message and "\n" not in message
    assert files_under(fresh_cache) == []  # no files, no SHA256SUMS, no partial folder
    write_tiny_planetoid(server.folder, "pubmed")  # the server fixed: the next run downloads and caches
    assert gv.load_dataset("pubmed").num_nodes == 530
    assert (fresh_cache / "planetoid" / "PubMed" / "raw" / "SHA256SUMS").is_file()


def test_another_data_set_served_as_pubmed_is_refused_and_not_cached(server, fresh_cache, monkeypatch):
    # Cora's files under PubMed's names read as a Planetoid data set: they were cached and trained on as PubMed
    write_tiny_planetoid(server.folder, "pubmed")  # 530 nodes, where the registry's PubMed has 19717
    monkeypatch.setenv("GRAPHVAE_DATA_URL", server.url)
    with pytest.raises(gv.InputError, match="530 nodes where graphvae's registry has 19717 for pubmed") as e:
        gv.load_dataset("pubmed")
    assert "not a Planetoid data set and was discarded" in str(e.value) and "\n" not in str(e.value)
    assert files_under(fresh_cache) == []


def test_a_cached_copy_of_another_size_says_to_delete_the_folder(fresh_cache):
    folder = fresh_cache / "planetoid" / "PubMed" / "raw"
    write_tiny_planetoid(folder, "pubmed")  # as an earlier graphvae cached it, unchecked
    with pytest.raises(gv.InputError, match=f"530 nodes where .*: delete {folder} to download it again"):
        gv.load_dataset("pubmed", download=False)


def test_a_malformed_data_url_is_one_line(fresh_cache, monkeypatch, capsys):
    monkeypatch.setenv("GRAPHVAE_DATA_URL", "http://[::1")
    with pytest.raises(gv.InputError, match=r"GRAPHVAE_DATA_URL='http://\[::1' is not a URL"):
        gv.load_dataset("cora")
    assert files_under(fresh_cache) == []


def test_an_unreadable_unpinned_copy_in_the_cache_says_to_delete_the_folder(fresh_cache):
    # as an earlier graphvae left it: an error page with its SHA-256 recorded
    folder = fresh_cache / "planetoid" / "PubMed" / "raw"
    folder.mkdir(parents=True)
    files = datasets.registry()["datasets"]["pubmed"]["files"]
    for f in files:
        (folder / f).write_bytes(HTML)
    (folder / "SHA256SUMS").write_text("".join(f"{hashlib.sha256(HTML).hexdigest()}  {f}\n" for f in files))
    with pytest.raises(gv.InputError, match=f"not a readable Planetoid file.*delete {folder} to download it again"):
        gv.load_dataset("pubmed", download=False)


# --------------------------------------------------------------------------- 2. the reader checks what it reads

def cut_lines(path: Path, keep) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(keep(lines)))


@pytest.mark.parametrize("damage", [
    lambda lines: [],  # an empty file: IndexError
    lambda lines: lines[: len(lines) // 2],  # truncated: IndexError
    lambda lines: lines[:-1] + [lines[0]],  # a duplicate
    lambda lines: lines[:-1] + ["1000000\n"],  # past the last node
    lambda lines: lines[:-1] + ["0\n"],  # a training node
    lambda lines: [line.strip() + " 1\n" for line in lines],  # two columns
], ids=["empty", "truncated", "duplicate", "too-large", "labelled-node", "two-columns"])
def test_a_damaged_test_index_is_an_input_error_naming_it(tmp_path, damage):
    write_tiny_planetoid(tmp_path, "tiny")
    cut_lines(tmp_path / "ind.tiny.test.index", damage)
    with pytest.raises(gv.InputError, match=r"ind\.tiny\.test\.index: expected 10 distinct node numbers") as e:
        datasets.read_planetoid(tmp_path, "tiny")
    assert "\n" not in str(e.value)


def test_a_shortened_cora_test_index_is_refused_not_scrambled(cora_files, tmp_path):
    shutil.copytree(cora_files, tmp_path, dirs_exist_ok=True)
    cut_lines(tmp_path / "ind.cora.test.index", lambda lines: lines[:-10])
    with pytest.raises(gv.InputError, match=r"ind\.cora\.test\.index: expected 1000 .* got 990 numbers"):
        datasets.read_planetoid(tmp_path, "cora")


def test_citeseer_test_index_gaps_stay_legitimate(tmp_path):
    # gaps in the test range (CiteSeer) are no error; the real CiteSeer is checked by test_datasets.py
    write_tiny_planetoid(tmp_path, "citeseer", gaps=True)
    assert datasets.read_planetoid(tmp_path, "citeseer").num_nodes == 530


def rewrite(folder: Path, part: str, obj) -> None:
    import pickle

    with open(folder / f"ind.tiny.{part}", "wb") as f:
        pickle.dump(obj, f, protocol=2)


def read(folder: Path, part: str):
    return datasets._read_pickle(folder / f"ind.tiny.{part}")


@pytest.mark.parametrize("part,change,message", [
    ("allx", lambda m: m[:, :4], r"ind\.tiny\.tx: 6 columns where ind\.tiny\.allx has 4"),  # ValueError (vstack)
    ("ally", lambda m: m[:-3], r"ind\.tiny\.ally: 517 rows where ind\.tiny\.allx has 520"),
    ("graph", lambda m: [1, 2, 3], r"ind\.tiny\.graph: not a Planetoid adjacency dict"),  # AttributeError
    ("graph", lambda m: {0: [1, "a"]}, r"ind\.tiny\.graph: not a Planetoid adjacency dict"),
    ("y", lambda m: m.tolist(), r"ind\.tiny\.y: not a Planetoid label matrix"),  # AttributeError
    ("x", lambda m: m.toarray().ravel(), r"ind\.tiny\.x: not a Planetoid feature matrix"),
])
def test_malformed_planetoid_files_are_input_errors_naming_them(tmp_path, part, change, message):
    write_tiny_planetoid(tmp_path, "tiny")
    rewrite(tmp_path, part, change(read(tmp_path, part)))
    with pytest.raises(gv.InputError, match=message):
        datasets.read_planetoid(tmp_path, "tiny")


def test_a_pickle_that_fails_in_an_unexpected_way_is_an_input_error(tmp_path):
    write_tiny_planetoid(tmp_path, "tiny")
    # an allowed callable with arguments it refuses: _codecs.encode("x", "nosuch") raises LookupError
    (tmp_path / "ind.tiny.ty").write_bytes(b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00xX\x06\x00\x00\x00nosuch\x86R.")
    with pytest.raises(gv.InputError, match=r"ind\.tiny\.ty: not a readable Planetoid file"):
        datasets.read_planetoid(tmp_path, "tiny")


# --------------------------------------------------------------------------- 3. an overall deadline per file

class LocalServer:
    """An HTTP server on 127.0.0.1, in a thread, answering with ``handler`` (a ``BaseHTTPRequestHandler`` class);
    ``url`` is its base URL."""

    def __init__(self, handler: type):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class _Trickle(LocalServer):
    """A server that answers every request with status 200 and then one byte every 20 ms, for 3 s at most."""

    def __init__(self):
        self.started = threading.Event()
        started = self.started

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", "100000")
                self.end_headers()
                try:
                    for _ in range(150):
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        started.set()
                        time.sleep(0.02)
                except OSError:  # the client went away
                    pass

            def log_message(self, *args):
                pass

        super().__init__(Handler)


@pytest.fixture
def trickle():
    t = _Trickle()
    yield t
    t.close()


def test_a_trickling_server_meets_the_overall_deadline(trickle, fresh_cache, monkeypatch):
    # each byte comes well within the read timeout, so only an overall deadline stops the download
    monkeypatch.setenv("GRAPHVAE_DATA_URL", trickle.url)
    monkeypatch.setenv("GRAPHVAE_DOWNLOAD_DEADLINE", "0.5")
    start = time.perf_counter()
    with pytest.raises(gv.InputError, match=rf"downloading {trickle.url}ind\.cora\.x took longer than 0\.5 s"
                                            r".*GRAPHVAE_DOWNLOAD_DEADLINE") as e:
        gv.load_dataset("cora")
    assert time.perf_counter() - start < 2.5 and "\n" not in str(e.value)
    assert files_under(fresh_cache) == []
    for bad in ("0", "-2", "soon", "inf"):
        monkeypatch.setenv("GRAPHVAE_DOWNLOAD_DEADLINE", bad)
        with pytest.raises(gv.InputError, match="GRAPHVAE_DOWNLOAD_DEADLINE must be a positive number"):
            gv.load_dataset("cora")


# --------------------------------------------------------------------------- 4. partial user folders

@pytest.mark.parametrize("how", ["root", "env"])
def test_a_user_folder_with_some_of_the_files_names_the_missing_ones(cora_files, tmp_path, fresh_cache, monkeypatch,
                                                                      how):
    data = tmp_path / "data"
    shutil.copytree(cora_files, data / CORA)
    missing = ["ind.cora.ty", "ind.cora.graph", "ind.cora.test.index"]
    for f in missing:
        (data / CORA / f).unlink()
    if how == "env":
        monkeypatch.setenv("GRAPHVAE_DATA", str(data))
    with pytest.raises(gv.InputError) as e:
        gv.load_dataset("cora", root=data if how == "root" else None)
    message = str(e.value)
    assert str(data / CORA) in message and "holds 5 of cora's 8 files" in message, message
    assert all(f in message for f in missing) and "\n" not in message


def test_a_partial_cache_names_the_missing_files_or_fetches_them(cora_files, server, fresh_cache, monkeypatch):
    cached = fresh_cache / CORA
    shutil.copytree(cora_files, cached)
    (cached / "ind.cora.allx").unlink()
    with pytest.raises(gv.InputError, match=r"the cache lacks ind\.cora\.allx"):
        gv.load_dataset("cora", download=False)
    serve_cora(server, cora_files)
    monkeypatch.setenv("GRAPHVAE_DATA_URL", server.url)
    assert gv.load_dataset("cora").num_nodes == 2708 and (cached / "ind.cora.allx").is_file()


# --------------------------------------------------------------------------- 5. an unwritable cache

def test_a_cache_under_a_regular_file_is_an_input_error(tmp_path, monkeypatch):
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "not-a-folder"))
    monkeypatch.delenv("GRAPHVAE_DATA", raising=False)
    with pytest.raises(gv.InputError) as e:
        gv.load_dataset("cora")  # NotADirectoryError
    message = str(e.value)
    assert f"graphvae's cache {tmp_path / 'not-a-folder' / 'graphvae'} cannot be written" in message, message
    assert "XDG_CACHE_HOME" in message and "GRAPHVAE_DATA" in message and "\n" not in message
    assert main(["linkpred", "--dataset", "cora", "--epochs", "1", "--no-progress"]) == 2


def test_a_read_only_cache_is_an_input_error(tmp_path, fresh_cache, monkeypatch):
    if os.geteuid() == 0:  # root writes anywhere: make the folder refuse instead
        real_mkdir = Path.mkdir

        def refuse(self, *args, **kwargs):
            if str(self).startswith(str(fresh_cache)):
                raise PermissionError(13, "Permission denied", str(self))
            return real_mkdir(self, *args, **kwargs)

        monkeypatch.setattr(Path, "mkdir", refuse)
        monkeypatch.setattr(os, "makedirs", lambda path, *a, **k: refuse(Path(path)))
    else:
        fresh_cache.parent.mkdir()
        fresh_cache.parent.chmod(0o555)
    try:
        with pytest.raises(gv.InputError, match=r"cannot be written \(.*Permission denied\): set XDG_CACHE_HOME"):
            gv.load_dataset("cora")
    finally:
        if fresh_cache.parent.exists():
            fresh_cache.parent.chmod(0o755)


# --------------------------------------------------------------------------- 6. damaged files: cache vs user folder

def test_a_damaged_file_in_the_cache_is_fetched_again_but_a_users_file_is_never_touched(cora_files, server, tmp_path,
                                                                                          fresh_cache, monkeypatch):
    cached = fresh_cache / CORA
    shutil.copytree(cora_files, cached)
    (cached / "ind.cora.y").write_bytes(b"damaged")
    with pytest.raises(gv.InputError, match=rf"{cached / 'ind.cora.y'}: SHA-256 does not match .*delete it"):
        gv.load_dataset("cora", download=False)
    serve_cora(server, cora_files)
    monkeypatch.setenv("GRAPHVAE_DATA_URL", server.url)
    assert gv.load_dataset("cora").num_nodes == 2708
    assert (cached / "ind.cora.y").read_bytes() == (cora_files / "ind.cora.y").read_bytes()
    user = tmp_path / "mine"
    shutil.copytree(cora_files, user / CORA)
    (user / CORA / "ind.cora.y").write_bytes(b"mine")
    with pytest.raises(gv.InputError, match=r"ind\.cora\.y: SHA-256 does not match .*replace it"):
        gv.load_dataset("cora", root=user)
    assert (user / CORA / "ind.cora.y").read_bytes() == b"mine"


# --------------------------------------------------------------------------- 7. partial downloads of killed processes

def test_a_killed_download_leaves_only_recognizable_partials_which_a_later_download_removes(
        trickle, cora_files, server, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "GRAPHVAE_DATA_URL": trickle.url}
    env.pop("GRAPHVAE_DATA", None)
    child = subprocess.Popen([sys.executable, "-c", "from graphvae.data.datasets import dataset_folder\n"
                              "dataset_folder('cora')"], env=env, stderr=subprocess.DEVNULL)
    try:
        assert trickle.started.wait(30)
        time.sleep(0.3)  # a few bytes written
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    raw = cache / "graphvae" / CORA
    left = list(raw.iterdir())
    assert left and all(p.name.startswith(datasets.PARTIAL_PREFIX) for p in left), left
    # a fresh partial may be another process's download: it stays; stale ones (and pooch's tmp files) go
    fresh = raw / f"{datasets.PARTIAL_PREFIX}another-process"
    fresh.mkdir()
    legacy = raw / "tmpk2j3h4"
    legacy.write_bytes(b"left by pooch")
    hours_ago = time.time() - 2 * 3600
    for p in [*left, *(q for p in left for q in p.rglob("*")), legacy]:
        os.utime(p, (hours_ago, hours_ago))
    serve_cora(server, cora_files)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.delenv("GRAPHVAE_DATA", raising=False)
    monkeypatch.setenv("GRAPHVAE_DATA_URL", server.url)
    assert gv.load_dataset("cora").num_nodes == 2708
    expected = [fresh.name, *datasets.registry()["datasets"]["cora"]["files"]]
    assert sorted(p.name for p in raw.iterdir()) == sorted(expected)


# --------------------------------------------------------------------------- 8. progress can be silenced

class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("progress", [True, False])
def test_the_download_progress_bar_follows_progress(cora_files, server, fresh_cache, monkeypatch, progress):
    serve_cora(server, cora_files)
    monkeypatch.setenv("GRAPHVAE_DATA_URL", server.url)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    gv.load_dataset("cora", progress=progress)
    out = terminal.getvalue()
    assert "graphvae: downloaded 8 files" in out
    assert ("ind.cora.allx" in out) == progress, out  # the bar names the file


def test_the_cli_passes_no_progress_to_the_download(monkeypatch, capsys):
    seen = []

    def load_dataset(name, root=None, download=True, progress=True):
        seen.append(progress)
        raise gv.InputError("stop here")

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    assert main(["linkpred", "--dataset", "cora", "--epochs", "1", "--no-progress"]) == 2
    with monkeypatch.context() as m:
        m.setattr(sys, "stderr", _Terminal())  # off a terminal the CLI hides progress bars anyway
        assert main(["linkpred", "--dataset", "cora", "--epochs", "1"]) == 2
    assert main(["ae", "--dataset", "cora", "--epochs", "1", "--no-progress"]) == 2
    assert seen == [False, True, False]


# --------------------------------------------------------------------------- 9. errors name the status and the URL

def test_an_http_error_names_the_status_and_the_url(server, fresh_cache, monkeypatch):
    monkeypatch.setenv("GRAPHVAE_DATA_URL", server.url)  # serves nothing: 404
    with pytest.raises(gv.InputError, match=rf"downloading {server.url}ind\.cora\.x failed: HTTP 404"):
        gv.load_dataset("cora")
    assert files_under(fresh_cache) == []


@pytest.mark.parametrize("url", ["file:///tmp/planetoid/", "ftp://example.org/data/", "/local/folder"])
def test_only_http_urls_are_downloaded(fresh_cache, monkeypatch, url):
    monkeypatch.setenv("GRAPHVAE_DATA_URL", url)
    with pytest.raises(gv.InputError, match="only http\\(s\\) URLs can be downloaded"):
        gv.load_dataset("cora")
    assert not fresh_cache.exists()
