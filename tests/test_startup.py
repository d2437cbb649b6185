"""Startup stays light: the package and the CLI's help and input errors import no heavy module.

(The timings themselves are measured by ``benchmarks/startup.py``, not asserted here.)
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "torch_geometric", "matplotlib", "sklearn", "scipy", "requests")


def loaded_after(code: str) -> list[str]:
    """The heavy top-level modules loaded after running ``code`` in a fresh interpreter."""
    probe = f"""
import json, sys
try:
{chr(10).join('    ' + line for line in code.strip().splitlines())}
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
"""
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_import_graphvae_loads_nothing_heavy():
    assert loaded_after("import graphvae") == []


@pytest.mark.parametrize("argv", [["--help"], ["linkpred", "--help"], ["embed", "--help"], ["vae", "--help"],
                                  ["ae", "--help"], ["linkpred", "--edges", "/no/such/file.csv"],
                                  ["embed", "--edges", "/no/such.csv", "--out", "z.npy"],
                                  ["linkpred", "--epochs", "0"]])
def test_cli_help_and_input_errors_load_nothing_heavy(argv):
    assert loaded_after(f"from graphvae.cli import main\nmain({argv!r})") == []


def test_models_do_not_need_torch_geometric():
    # PyG is for interop only: training a model from a networkx graph never imports it
    loaded = loaded_after("""
import networkx as nx
import graphvae as gv
gv.GAE(latent=2, epochs=1).fit(nx.karate_club_graph())
""")
    assert "torch" in loaded and "torch_geometric" not in loaded


def test_lazy_names_resolve_and_unknown_names_fail():
    import graphvae as gv

    import importlib

    for name in gv.__all__:
        value = getattr(gv, name)
        if name in gv._MODULE_OF:  # each lazy name is the object of the module it is listed under
            assert value is getattr(importlib.import_module(f"graphvae.{gv._MODULE_OF[name]}"), name), name
        else:
            assert value is not None
    with pytest.raises(AttributeError, match="no attribute 'nosuch'"):
        gv.nosuch  # noqa: B018


def test_dir_lists_the_public_names_and_subpackages_only():
    """``dir(graphvae)`` (tab completion) offers the public names and the subpackages, not the helpers the
    package's own code imports (``importlib``, ``Any``, ``TYPE_CHECKING``, ``annotations``)."""
    import pkgutil

    import graphvae as gv

    subpackages = {m.name for m in pkgutil.iter_modules(gv.__path__) if not m.name.startswith("_")}
    public = {name for name in dir(gv) if not name.startswith("_")}
    assert set(gv.__all__) - {"__version__"} <= public
    assert public - set(gv.__all__) <= subpackages, public - set(gv.__all__) - subpackages
