"""Unusual real-world inputs found by the sixth audit: a tiny positive weight that float32 turns into 0, a labels row
whose id is spelt as a number taken for a header, Pajek vertices merged by a shared label, and embedding files that
load_embeddings refused with a traceback (a trailing blank line) or read misaligned (a .npz of other arrays)."""
import numpy as np
import pytest

import graphvae as gv
from conftest import one_error
from graphvae.cli import main
from graphvae.data.graph_files import read_labels

FAST = ["--epochs", "1", "--latent", "2", "--no-progress"]


# --------------------------------------------------------------------------- 1. weights below float32's smallest

def test_a_positive_weight_that_float32_rounds_to_zero_is_refused(tmp_path, capsys, monkeypatch):
    """``a,b,1e-50`` was kept as an edge of float32 weight 0 in Â (a positive of the likelihood all the same), and the
    command then failed with "Graph.edge_weight holds 1 weight(s) of 0", about an object the user never built."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.csv").write_text("a,b,1e-50\nb,c,1\nc,a,2\n")
    with pytest.raises(gv.InputError, match="at least 1.4e-45"):
        gv.load_graph("g.csv")
    assert main(["embed", "--edges", "g.csv", "--out", "z.npy", *FAST]) == 2
    one_error(capsys, "g.csv, line 1: edge weights must be 0 (no edge) or at least 1.4e-45 (float32), got 1e-50: rescale them", only=True)
    assert not (tmp_path / "z.npy").exists()
    # the weights the brief names, 1e-6 .. 1e6, and float32's smallest are kept, and train to finite embeddings
    (tmp_path / "h.csv").write_text("a,b,1e-6\nb,c,1e6\nc,a,1e-45\nc,d,1\n")
    g = gv.load_graph("h.csv")
    assert (g.edge_weight > 0).all()
    assert np.isfinite(gv.GAE(latent=2, hidden=4, epochs=3, random_state=0).fit(g).embed()).all()


# --------------------------------------------------------------------------- 2. a labels row spelt as a number

@pytest.mark.parametrize("first", ["007", "7.0"])
def test_a_labels_row_whose_id_is_a_number_is_an_error_not_a_header(tmp_path, first):
    """Node 7's row ``007,x`` (zero-padded by a spreadsheet) was skipped as a header when its label was unique: node 7
    was silently unlabelled (classify ignores unlabelled nodes), where ``007,y`` (a repeated label) was an error."""
    (tmp_path / "y.csv").write_text(f"{first},x\n8,y\n9,y\n")
    with pytest.raises(gv.InputError, match=f"line 1: node id '{first}' is not in the graph"):
        read_labels(tmp_path / "y.csv", [7, 8, 9])
    (tmp_path / "h.csv").write_text("vertex,class\n7,x\n8,y\n")  # headers are still skipped
    assert read_labels(tmp_path / "h.csv", [7, 8, 9]).tolist() == ["x", "y", None]
    (tmp_path / "u.csv").write_text("who,kind\n7,x\n8,y\n")  # so is one of names that are not the usual ones
    assert read_labels(tmp_path / "u.csv", [7, 8, 9]).tolist() == ["x", "y", None]


# --------------------------------------------------------------------------- 3. Pajek vertices named by their labels

def test_pajek_vertices_of_one_label_or_missing_from_the_list_are_refused(tmp_path):
    """networkx names Pajek nodes by label: two vertices labelled ``a`` became one node (3 vertices, 2 nodes, the
    two edges merged into one), and an edge to vertex 5 of a 3-vertex list added a node '5'."""
    (tmp_path / "dup.net").write_text('*vertices 3\n1 "a"\n2 "a"\n3 "b"\n*edges\n1 3 1\n2 3 5\n')
    with pytest.raises(gv.InputError, match="lists 3 vertices but their labels name only 2 nodes"):
        gv.load_graph(tmp_path / "dup.net")
    (tmp_path / "undeclared.net").write_text("*vertices 3\n1 a\n2 b\n3 c\n*edges\n1 2\n2 5\n")
    with pytest.raises(gv.InputError, match="vertex '5', which the \\*vertices list does not hold"):
        gv.load_graph(tmp_path / "undeclared.net")
    # an isolated vertex, a label with a space and directed arcs are read as before
    (tmp_path / "ok.net").write_text('*Vertices 4\n1 "New York"\n2 b\n3 c\n4 d\n*Arcs\n1 2 2\n2 1 4\n2 3\n')
    g = gv.load_graph(tmp_path / "ok.net")
    assert g.node_ids == ["New York", "b", "c", "d"] and g.num_edges == 2
    assert g.edge_weight.tolist() == [4.0, 1.0, 4.0, 1.0] and g.cleaning["one_way"] == 1


# --------------------------------------------------------------------------- 4. reading embedding files back

def test_embedding_files_with_blank_lines_or_a_bom_read_back(tmp_path):
    """A trailing blank line (an editor's, or a file written on Windows and edited) made ``load_embeddings`` of a
    .csv fail with IndexError, and of a .emb refuse a file gensim reads; a .emb with a byte-order mark was refused."""
    (tmp_path / "z.csv").write_text("node_id,z0,z1\na,1,2\nb,3,4\n\n")
    (tmp_path / "z.emb").write_text("2 2\na 1 2\nb 3 4\n\n")
    (tmp_path / "bom.emb").write_bytes(b"\xef\xbb\xbf2 2\r\na 1 2\r\nb 3 4\r\n")
    for name in ("z.csv", "z.emb", "bom.emb"):
        ids, z = gv.load_embeddings(tmp_path / name)
        assert ids == ["a", "b"] and z.tolist() == [[1, 2], [3, 4]], name


def test_embedding_files_that_do_not_hold_embeddings_are_refused(tmp_path):
    """A .npz whose ``ids`` and ``embeddings`` differ in length was read as it was (rows matched to the wrong ids by
    any caller that zips them), a .npy of strings or a .csv of ids only was returned as "embeddings", and a short row
    of a .csv was numpy's "inhomogeneous shape" message."""
    np.savez(tmp_path / "short.npz", ids=np.array(["a", "b"]), embeddings=np.ones((3, 2)))
    with pytest.raises(gv.InputError, match="2 node ids for 3 rows"):
        gv.load_embeddings(tmp_path / "short.npz")
    np.save(tmp_path / "text.npy", np.array([["a", "b"]]))
    with pytest.raises(gv.InputError, match="must be real numbers"):
        gv.load_embeddings(tmp_path / "text.npy")
    (tmp_path / "ids.csv").write_text("node_id\na\nb\n")
    with pytest.raises(gv.InputError, match="no embeddings"):
        gv.load_embeddings(tmp_path / "ids.csv")
    (tmp_path / "ragged.csv").write_text("node_id,z0,z1\na,1,2\nb,3\n")
    with pytest.raises(gv.InputError, match="line 3: 2 fields where the header has 3"):
        gv.load_embeddings(tmp_path / "ragged.csv")
    np.savez(tmp_path / "numbers.npz", ids=np.array([7, 8]), embeddings=np.ones((2, 2)))
    assert gv.load_embeddings(tmp_path / "numbers.npz")[0] == ["7", "8"]  # ids are text, as documented


def test_every_format_round_trips_unusual_ids(tmp_path):
    """Ids with unicode, commas, quotes, a leading '#', number-like spellings ('007' and '7') and 300 characters come
    back as written from .csv, .npz and .emb (which gensim reads too); .npy keeps the rows."""
    from gensim.models import KeyedVectors

    ids = ["Åre", "a,b", 'x"y', "#x", "'q'", "007", "7", "日本", "L" * 300]
    z = np.arange(len(ids) * 3, dtype=np.float32).reshape(len(ids), 3) / 7
    for suffix in (".csv", ".npz", ".emb", ".npy"):
        gv.save_embeddings(tmp_path / f"z{suffix}", z, ids)
        back, zb = gv.load_embeddings(tmp_path / f"z{suffix}")
        assert back == (None if suffix == ".npy" else ids) and np.array_equal(zb, z), suffix
    kv = KeyedVectors.load_word2vec_format(str(tmp_path / "z.emb"))
    assert kv.index_to_key == ids and np.array_equal(kv.vectors, z)
