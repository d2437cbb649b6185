"""Datasets: the Planetoid reader against PyG's, and the fetch-verify-cache path against a local HTTP server."""
from __future__ import annotations

import collections
import functools
import hashlib
import http.server
import os
import pickle
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import graphvae as gv
from graphvae.data import datasets
from graphvae.cli import main

from conftest import registered_dataset

PARTS = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")


def pyg_reference(folder: Path, prefix: str):
    from torch_geometric.io import read_planetoid_data
    from torch_geometric.utils import coalesce, remove_self_loops, to_undirected

    ref = read_planetoid_data(str(folder), prefix)
    edges, _ = remove_self_loops(to_undirected(ref.edge_index, num_nodes=ref.num_nodes))
    return ref, coalesce(edges, num_nodes=ref.num_nodes)


def assert_same_as_pyg(graph, folder: Path, prefix: str) -> None:
    ref, edges = pyg_reference(folder, prefix)
    assert graph.num_nodes == ref.num_nodes
    assert torch.equal(graph.x.to_dense(), ref.x)
    assert torch.equal(graph.y, ref.y)
    for key in ("train_mask", "val_mask", "test_mask"):
        assert torch.equal(getattr(graph, key), ref[key]), key
    from torch_geometric.utils import coalesce
    assert torch.equal(coalesce(graph.edge_index, num_nodes=graph.num_nodes), edges)


@pytest.mark.parametrize("name,prefix", [("cora", "cora"), ("citeseer", "citeseer")])
def test_reader_matches_pyg(name, prefix):
    graph = registered_dataset(name)
    folder = datasets.dataset_folder(name, download=False)
    assert_same_as_pyg(graph, folder, prefix)
    entry = datasets.registry()["datasets"][name]
    assert (graph.num_nodes, graph.num_edges, graph.x.shape[1]) == (entry["nodes"], entry["undirected_edges"],
                                                                      entry["features"])
    assert int(graph.y.max()) + 1 == entry["classes"] and graph.name == name


def write_tiny_planetoid(folder: Path, prefix: str, n: int = 530, gaps: bool = False, seed: int = 0) -> None:
    """A small graph in the Planetoid format (pickled CSR features, one-hot labels, adjacency dict).

    With ``gaps`` some nodes of the test range have no test row, as in CiteSeer.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    f, c, n_lab, n_test = 6, 3, 6, 10
    all_labeled = n - n_test - (3 if gaps else 0)
    test_range = np.arange(all_labeled, n)
    test_nodes = np.sort(rng.choice(test_range, n_test, replace=False)) if gaps else test_range
    test_listed = rng.permutation(test_nodes)
    feats = sp.csr_matrix((rng.random((n, f)) < 0.4).astype(np.float32))
    onehot = np.eye(c, dtype=np.int64)[rng.integers(0, c, n)]
    links = collections.defaultdict(list)
    for u, v in rng.integers(0, n, (3 * n, 2)):
        links[int(u)].append(int(v))
    rows = np.sort(test_nodes)  # Planetoid stores the test rows in sorted node order
    parts = {"x": feats[:n_lab], "y": onehot[:n_lab], "allx": feats[:all_labeled], "ally": onehot[:all_labeled],
             "tx": feats[rows], "ty": onehot[rows], "graph": links}
    for part, obj in parts.items():
        with open(folder / f"ind.{prefix}.{part}", "wb") as fh:
            pickle.dump(obj, fh, protocol=2)
    (folder / f"ind.{prefix}.test.index").write_text("".join(f"{i}\n" for i in test_listed))


@pytest.mark.parametrize("gaps", [False, True])
def test_reader_matches_pyg_on_a_tiny_planetoid_file_set(tmp_path, gaps):
    # PyG pads the test rows only for the prefix "citeseer": use it for the set with gaps
    prefix = "citeseer" if gaps else "tiny"
    write_tiny_planetoid(tmp_path, prefix, gaps=gaps)
    graph = datasets.read_planetoid(tmp_path, prefix)
    assert_same_as_pyg(graph, tmp_path, prefix)


def test_unpickler_builds_no_code(tmp_path):
    write_tiny_planetoid(tmp_path, "tiny")

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    (tmp_path / "ind.tiny.graph").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(gv.InputError, match="ind.tiny.graph: not a readable Planetoid file"):
        datasets.read_planetoid(tmp_path, "tiny")


# --------------------------------------------------------------------------- the download path

class _Server:
    """A local HTTP server over a flat folder of files, counting the requests it answers."""

    def __init__(self, folder: Path):
        self.requests: list[str] = []
        log = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                log.append(self.path)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     functools.partial(Handler, directory=str(folder)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/files/"
        # serve the folder under /files/ (the registry's base URL is a folder, not the root)
        (folder / "files").mkdir(parents=True, exist_ok=True)
        self.folder = folder / "files"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path):
    s = _Server(tmp_path / "www")
    yield s
    s.close()


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty per-user cache and no $GRAPHVAE_DATA: only a download can provide the data."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("GRAPHVAE_DATA", raising=False)
    return tmp_path / "cache" / "graphvae"


@pytest.fixture(scope="session")
def cora_files(cora) -> Path:
    """The folder of the real Cora files (skips, or fails under CI, without them)."""
    return datasets.dataset_folder("cora", download=False)


def test_download_fills_the_cache_verified_and_is_used_once(cora_files, server, fresh_cache, monkeypatch):
    source = cora_files
    for f in source.iterdir():
        shutil.copy(f, server.folder / f.name)
    monkeypatch.setenv("GRAPHVAE_DATA_URL", server.url)
    graph = gv.load_dataset("cora")
    cached = fresh_cache / "planetoid" / "Cora" / "raw"
    expected = datasets.registry()["datasets"]["cora"]["files"]
    assert sorted(p.name for p in cached.iterdir()) == sorted(expected)
    for name, digest in expected.items():
        assert hashlib.sha256((cached / name).read_bytes()).hexdigest() == digest
    assert len(server.requests) == len(expected)
    again = gv.load_dataset("cora")  # from the cache: no request
    assert len(server.requests) == len(expected)
    assert torch.equal(again.edge_index, graph.edge_index) and graph.num_nodes == 2708


def test_corrupted_download_is_refused_and_never_used(cora_files, server, fresh_cache, monkeypatch):
    source = cora_files
    for f in source.iterdir():
        shutil.copy(f, server.folder / f.name)
    data = bytearray((server.folder / "ind.cora.graph").read_bytes())
    data[100] ^= 0xFF
    (server.folder / "ind.cora.graph").write_bytes(bytes(data))
    monkeypatch.setenv("GRAPHVAE_DATA_URL", server.url)
    with pytest.raises(gv.InputError, match=r"ind\.cora\.graph .*does not match its SHA-256") as e:
        gv.load_dataset("cora")
    assert "\n" not in str(e.value)
    assert not (fresh_cache / "planetoid" / "Cora" / "raw" / "ind.cora.graph").exists()


def test_a_folder_where_the_cache_keeps_a_file_is_named(cora_files, server, fresh_cache, monkeypatch):
    """A folder standing where the cache keeps ``ind.cora.x`` was reported as a cache that cannot be written, with
    the advice to set XDG_CACHE_HOME; the advice now is to remove that folder, and the download then works."""
    for f in cora_files.iterdir():
        shutil.copy(f, server.folder / f.name)
    monkeypatch.setenv("GRAPHVAE_DATA_URL", server.url)
    cached = fresh_cache / "planetoid" / "Cora" / "raw"
    (cached / "ind.cora.x").mkdir(parents=True)
    with pytest.raises(gv.InputError, match=r"ind\.cora\.x is a folder where graphvae's cache keeps a file of cora: "
                                            r"remove it") as e:
        gv.load_dataset("cora")
    assert "XDG_CACHE_HOME" not in str(e.value)
    (cached / "ind.cora.x").rmdir()
    assert gv.load_dataset("cora").num_nodes == 2708


def closed_port_url() -> str:
    with socket.socket() as s:  # bind, read the port, close: connections to it are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def test_offline_fails_fast_with_one_line_that_says_what_to_do(fresh_cache, monkeypatch, capsys):
    monkeypatch.setenv("GRAPHVAE_DATA_URL", closed_port_url())
    start = time.perf_counter()
    with pytest.raises(gv.InputError) as e:
        gv.load_dataset("citeseer")
    message = str(e.value)
    assert time.perf_counter() - start < 5
    assert "\n" not in message and "citeseer" in message and str(fresh_cache) in message
    assert "GRAPHVAE_DATA" in message and "--data-dir" in message
    assert not fresh_cache.parent.exists()  # the folders the failed download created are gone again
    assert main(["linkpred", "--dataset", "cora", "--epochs", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("graphvae linkpred: error: dataset 'cora' not found")


def test_offline_cli_in_a_fresh_process_exits_2_without_traceback(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "GRAPHVAE_DATA_URL": closed_port_url()}
    env.pop("GRAPHVAE_DATA", None)
    r = subprocess.run([sys.executable, "-m", "graphvae", "linkpred", "--dataset", "cora", "--no-progress"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "--data-dir" in r.stderr


def test_a_damaged_local_file_is_refused_naming_it(cora_files, tmp_path, fresh_cache):
    source = cora_files
    local = tmp_path / "data" / "planetoid" / "Cora" / "raw"
    shutil.copytree(source, local)
    (local / "ind.cora.y").write_bytes(b"not the labels")
    with pytest.raises(gv.InputError, match=r"ind\.cora\.y: SHA-256 does not match"):
        gv.load_dataset("cora", root=tmp_path / "data")


def test_lookup_order_root_then_env_then_cache(cora_files, tmp_path, fresh_cache, monkeypatch):
    source = cora_files
    good, damaged = tmp_path / "good", tmp_path / "damaged"
    shutil.copytree(source, good / "planetoid" / "Cora" / "raw")
    shutil.copytree(source, damaged / "planetoid" / "Cora" / "raw")
    (damaged / "planetoid" / "Cora" / "raw" / "ind.cora.x").write_bytes(b"damaged")
    monkeypatch.setenv("GRAPHVAE_DATA", str(damaged))
    assert gv.load_dataset("cora", root=good).num_nodes == 2708  # root first: the damaged copy is not read
    with pytest.raises(gv.InputError, match="ind.cora.x"):
        gv.load_dataset("cora")  # then $GRAPHVAE_DATA
    monkeypatch.setenv("GRAPHVAE_DATA", str(good))
    (tmp_path / "empty").mkdir()
    assert gv.load_dataset("cora", root=tmp_path / "empty").num_nodes == 2708  # an empty root falls through
    # the raw folder itself as root: it was passed over for $GRAPHVAE_DATA (here a damaged copy, so an error)
    monkeypatch.setenv("GRAPHVAE_DATA", str(damaged))
    raw = good / "planetoid" / "Cora" / "raw"
    assert gv.load_dataset("cora", root=raw).num_nodes == 2708
    from graphvae.data.datasets import dataset_folder

    assert dataset_folder("cora", root=raw, download=False) == raw
    monkeypatch.setenv("GRAPHVAE_DATA", str(good))
    assert main(["linkpred", "--data-dir", str(good), "--epochs", "1", "--latent", "2", "--no-progress"]) == 0


def test_download_false_only_looks(fresh_cache):
    start = time.perf_counter()
    with pytest.raises(gv.InputError, match="dataset 'pubmed' not found"):
        gv.load_dataset("pubmed", download=False)
    assert time.perf_counter() - start < 1


@pytest.fixture
def tiny_pubmed(monkeypatch):
    """The registry's PubMed as the 530-node stand-in of :func:`write_tiny_planetoid` (a PubMed download must
    hold the registry's number of nodes)."""
    from graphvae.data import datasets

    monkeypatch.setitem(datasets.registry()["datasets"]["pubmed"], "nodes", 530)


def test_unpinned_files_are_recorded_and_later_changes_caught(server, fresh_cache, monkeypatch, capfd, tiny_pubmed):
    # PubMed has no pinned checksum: a tiny stand-in in its format exercises that path offline
    write_tiny_planetoid(server.folder, "pubmed")
    monkeypatch.setenv("GRAPHVAE_DATA_URL", server.url)
    graph = gv.load_dataset("pubmed")
    assert graph.num_nodes == 530 and graph.name == "pubmed"
    err = capfd.readouterr().err
    assert "no checksum in graphvae's registry" in err
    cached = fresh_cache / "planetoid" / "PubMed" / "raw"
    recorded = dict(reversed(line.split()) for line in (cached / "SHA256SUMS").read_text().splitlines())
    assert recorded["ind.pubmed.x"] == hashlib.sha256((cached / "ind.pubmed.x").read_bytes()).hexdigest()
    (cached / "ind.pubmed.x").write_bytes(b"changed")
    with pytest.raises(gv.InputError, match="ind.pubmed.x: SHA-256 does not match"):
        gv.load_dataset("pubmed", download=False)
    # a damaged file in graphvae's own cache is fetched again, as a missing one is
    assert gv.load_dataset("pubmed").num_nodes == 530
    assert hashlib.sha256((cached / "ind.pubmed.x").read_bytes()).hexdigest() == recorded["ind.pubmed.x"]


def test_registry_ships_in_the_package_and_names_every_file():
    reg = datasets.registry()
    for name, entry in reg["datasets"].items():
        assert entry["source"] in reg["sources"]
        assert sorted(entry["files"]) == sorted(f"ind.{name}.{p}" for p in PARTS)
        for digest in entry["files"].values():
            assert digest is None or (len(digest) == 64 and int(digest, 16) >= 0)
    assert all(reg["datasets"][n]["files"][f] for n in ("cora", "citeseer") for f in reg["datasets"][n]["files"])
    with pytest.raises(gv.InputError, match="unknown dataset 'nosuch'"):
        gv.load_dataset("nosuch")


def test_a_data_folder_that_does_not_exist_is_an_error_not_silently_passed_over(cora, tmp_path):
    # a mistyped --data-dir went unnoticed: the files came from $GRAPHVAE_DATA or the cache without a word
    import graphvae as gv

    with pytest.raises(gv.InputError, match=r"the data folder .*missing \(--data-dir, root\) does not exist"):
        gv.load_dataset("cora", root=tmp_path / "missing", download=False)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gv.load_dataset("cora", root=tmp_path, download=False)  # an existing folder without the files: passed over


def test_a_relative_xdg_cache_home_is_ignored(monkeypatch, tmp_path):
    """The XDG Base Directory specification: "If an implementation encounters a relative path in any of these
    variables it should consider the path invalid and ignore it." It was used as given (a cache per folder)."""
    from pathlib import Path

    from graphvae.data.datasets import cache_dir

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", "relcache")
    assert cache_dir() == Path(str(tmp_path / "home")) / ".cache" / "graphvae"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "abs"))
    assert cache_dir() == tmp_path / "abs" / "graphvae"
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    assert cache_dir() == Path(str(tmp_path / "home")) / ".cache" / "graphvae"
