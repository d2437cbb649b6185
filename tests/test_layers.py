"""The package's layers follow the data flow: a module never imports one from a higher layer.

Each layer is a subpackage: data -> nn (operator, encoders, latent, decoders) -> objectives (likelihoods,
penalties, ELBO) -> training -> evaluation -> estimators -> cli; the underscore modules and ``files`` at
the top are layer 0. Every import statement counts (module level or inside a function); the only
exception is a module's ``__getattr__``.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "graphvae"

LAYERS = {
    0: {"_validation", "_device", "_keys", "_stages", "_sparse", "files", "allocator"},
    1: {"data"},
    2: {"nn"},
    3: {"objectives"},
    4: {"training"},
    5: {"evaluation"},
    6: {"estimators"},
    7: {"cli", "__main__"},
}
LAYER_OF = {module: layer for layer, modules in LAYERS.items() for module in modules}


def _imports(path: Path, package: tuple[str, ...] | None = None) -> list[tuple[str, int]]:
    """(graphvae module imported, line) for every import in ``path`` outside ``__getattr__``."""
    tree = ast.parse(path.read_text())
    skip = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name == "__getattr__"
            for n in ast.walk(f)}
    if package is None:  # e.g. ("graphvae", "commands")
        package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            base = list(package[:len(package) - node.level + 1]) if node.level else []
            name = ".".join(base + ([node.module] if node.module else []))
            # the package root (``from graphvae import VGAE``, ``from .. import VGAE``): each name it imports
            names = [name] if node.module and name != "graphvae" else [f"{name}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found += [(n, node.lineno) for n in names if n.startswith("graphvae.")]
    return found


def _top(module: str) -> str:
    return module.split(".")[1]


def _layer(module: str) -> int:
    """The layer of an imported graphvae module, or of the module behind a name of the lazy public API
    (``from graphvae import VGAE`` is ``graphvae.estimators.models``); -1 for a name of the package itself
    (``__version__``, ``InputError``)."""
    import graphvae

    top = _top(module)
    if not ((PACKAGE / f"{top}.py").exists() or (PACKAGE / top).is_dir()):
        behind = graphvae._MODULE_OF.get(top)
        return -1 if behind is None else LAYER_OF.get(behind.split(".")[0], 99)
    return LAYER_OF.get(top, 99)


def test_every_module_has_a_layer():
    modules = ({p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
               | {p.parent.name for p in PACKAGE.glob("*/__init__.py")})
    assert not modules - set(LAYER_OF), f"give these modules a layer in tests/test_layers.py: {modules - set(LAYER_OF)}"


def test_no_module_imports_a_higher_layer():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "__init__.py" and path.parent == PACKAGE:
            continue  # the lazy public API names everything
        owner = path.relative_to(PACKAGE).with_suffix("").parts[0]  # a module, or the subpackage holding it
        for module, line in _imports(path):
            if _layer(module) > LAYER_OF[owner]:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_commands_never_import_each_other():
    """A subcommand module imports only the shared helpers (``cli/_common.py``, ``cli/_workers.py``: the modules
    whose names start with an underscore), never another command."""
    wrong = [f"{path.name}:{line} imports {module}" for path in sorted((PACKAGE / "cli").glob("*.py"))
             for module, line in _imports(path)
             if module.startswith("graphvae.cli.") and module.split(".")[2] not in ("main", path.stem)
             and not module.split(".")[2].startswith("_")]
    assert not wrong, "\n".join(wrong)


def test_the_checker_sees_a_violation(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import os\nfrom ..nn.encoder import encoder_input\n\ndef f():\n    from ..estimators import models\n")
    found = _imports(probe, ("graphvae", "data"))
    assert ("graphvae.nn.encoder", 2) in found and _layer("graphvae.nn.encoder") > LAYER_OF["data"]
    assert ("graphvae.estimators", 5) in found and _layer("graphvae.estimators.models") == 6
    assert _layer("graphvae.__version__") == -1


def test_benchmarks_use_only_public_modules():
    """Benchmarks are users of the library: no ``graphvae._private`` module, no CLI internals."""
    benchmarks = PACKAGE.parent / "benchmarks"
    wrong = [f"{path.name}:{line} imports {module}" for path in sorted(benchmarks.glob("*.py"))
             for module, line in _imports(path, ("benchmarks",))
             if any(part.startswith("_") for part in module.split(".")[1:]) or module.startswith("graphvae.cli.")]
    assert not wrong, "\n".join(wrong)


def test_a_name_of_the_public_api_counts_as_its_module(tmp_path):
    """``from .. import VGAE`` inside ``data`` reaches the estimators through the lazy API: flagged as the estimators'
    layer (it was layer -1, never higher than anything); the package's own names stay -1."""
    probe = tmp_path / "probe.py"
    probe.write_text("from .. import VGAE, InputError\nfrom graphvae import load_dataset\n")
    found = dict(_imports(probe, package=("graphvae", "data")))
    assert _layer("graphvae.VGAE") == LAYER_OF["estimators"] > LAYER_OF["data"]
    assert set(found) == {"graphvae.VGAE", "graphvae.InputError", "graphvae.load_dataset"}
    assert _layer("graphvae.load_dataset") == LAYER_OF["data"] and _layer("graphvae.__version__") == -1
