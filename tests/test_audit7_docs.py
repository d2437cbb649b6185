"""The user-facing docs stay true to the code, checked mechanically.

Covers README.md and docs/{embeddings,autoencoders,image_vae,scale_out,architecture}.md: every ``graphvae ...``
command parses with the real parser (every flag exists, every value is accepted), every ``python benchmarks/X.py``
flag exists in that script's parser, every repository path and figure named exists, the architecture page's layers,
modules and names match the package, a few stated defaults match the parsers, and the Python snippets that
tests/test_readme.py does not run are run here. Each checker is also shown to fail on a deliberately broken doc.
"""
from __future__ import annotations

import argparse
import ast
import pickle
import re
import shlex
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from graphvae.cli.main import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parent.parent
DOCS = ["README.md", "docs/embeddings.md", "docs/autoencoders.md", "docs/image_vae.md", "docs/scale_out.md",
        "docs/architecture.md"]


def _text(doc: str) -> str:
    return (ROOT / doc).read_text()


# ----------------------------------------------------------------------------------------------- commands
def _fenced(text: str) -> list[str]:
    """The lines of the unlabelled (shell) code blocks, continuation lines joined."""
    lines, language = [], None
    for line in text.replace("\\\n", " ").splitlines():
        if line.startswith("```"):
            language = line[3:].strip() if language is None else None
        elif language in ("", "sh", "bash", "console"):
            lines.append(line)
    return lines


def _inline(text: str) -> list[str]:
    """Inline code spans."""
    return re.findall(r"`([^`\n]+)`", text)


def _graphvae_argv(line: str) -> list[str] | None:
    """The arguments after ``graphvae`` (or ``python -m graphvae`` / ``torchrun ... -m graphvae``), comment and
    shell prompt dropped; None for a line that is not such a command."""
    line = line.split(" #")[0].strip()
    m = re.search(r"(?:^|&&\s*|-m\s+)graphvae\s+(linkpred|embed|classify|cluster|vae|ae)\b(.*)$", line)
    if not m:
        return None
    rest = m.group(2).replace("[", " ").replace("]", " ")
    return [m.group(1), *shlex.split(rest)]


def _commands(text: str) -> tuple[list[list[str]], list[list[str]]]:
    """(commands in code blocks, commands in inline code)."""
    blocks = [a for a in map(_graphvae_argv, _fenced(text)) if a]
    inline = [a for a in map(_graphvae_argv, _inline(text)) if a]
    return blocks, inline


def _options(command: str) -> set[str]:
    parser = build_parser(command)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    return {s for a in sub._actions for s in a.option_strings}


OPTIONS = {}


def _flags_missing(argv: list[str]) -> list[str]:
    command = argv[0]
    if command not in OPTIONS:
        OPTIONS[command] = _options(command)
    flags = [t.split("=")[0] for t in argv[1:] if t.startswith("--")]
    return [f for f in flags if f not in OPTIONS[command] and f != "--help"]


def _parse_errors(argv: list[str]) -> str | None:
    """The parser's complaint about a documented command line, or None if it parses."""
    import contextlib
    import io

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            build_parser(argv[0]).parse_args(argv)
    except SystemExit as e:
        return f"{' '.join(argv)}: {err.getvalue().strip() or e}"
    return None


def _command_problems(text: str) -> list[str]:
    blocks, inline = _commands(text)
    problems = [f"{' '.join(a)}: unknown {_flags_missing(a)}" for a in blocks + inline if _flags_missing(a)]
    problems += [p for p in map(_parse_errors, blocks) if p]
    return problems


@pytest.mark.parametrize("doc", DOCS)
def test_every_documented_command_parses(doc):
    problems = _command_problems(_text(doc))
    assert not problems, "\n".join(problems)


def test_the_docs_show_commands_of_every_kind():
    found = {a[0] for doc in DOCS for a in sum(_commands(_text(doc)), [])}
    assert found == set(COMMANDS)


def test_the_command_checker_fails_on_a_broken_doc():
    good = "```\ngraphvae cluster --edges g.csv --clusters 8 --out clusters.csv   # fine\n```\n"
    assert not _command_problems(good)
    assert _command_problems(good.replace("--clusters", "--n-clusters"))  # a flag that does not exist
    assert _command_problems(good.replace("--clusters 8", "--clusters eight"))  # a value the parser refuses
    assert _command_problems("see `graphvae classify --folds 5 --fold-seed 3`")
    assert _command_problems("```\ntorchrun --standalone -m graphvae embed --dataset cora --output z.npy\n```\n")


# ----------------------------------------------------------------------------------------------- benchmarks
def _benchmark_options(script: Path) -> set[str] | None:
    """The option strings of ``add_argument`` calls in a benchmark script and in the sibling benchmark modules it
    imports (where a shared parser lives); None: it has no parser."""
    found, parser = set(), False
    sources = [script]
    sources += [script.parent / f"{name}.py" for name in
                re.findall(r"^from (\w+) import", script.read_text(), re.M) if (script.parent / f"{name}.py").exists()]
    for source in sources:
        text = source.read_text()
        parser |= "ArgumentParser" in text
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
                found |= {a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                          and a.value.startswith("-")}
    return found if parser else None


def _benchmark_problems(text: str) -> list[str]:
    problems = []
    for m in re.finditer(r"python3? (benchmarks/\w+\.py)([^`#\n]*)", text):
        script = ROOT / m.group(1)
        if not script.exists():
            problems.append(f"{m.group(1)}: no such script")
            continue
        options = _benchmark_options(script)
        flags = [t.split("=")[0] for t in m.group(2).split() if t.startswith("--")]
        if options is None:
            problems += [f"{m.group(1)} takes no options, shown with {flags}"] if flags else []
            continue
        problems += [f"{m.group(1)} has no option {f}" for f in flags if f not in options]
    return problems


@pytest.mark.parametrize("doc", DOCS)
def test_every_benchmark_flag_exists(doc):
    problems = _benchmark_problems(_text(doc))
    assert not problems, "\n".join(problems)


def test_the_benchmark_checker_fails_on_a_broken_doc():
    good = "`python benchmarks/scale_out.py --nodes 1000000 --world 4 --json x.json`"
    assert not _benchmark_problems(good)
    assert _benchmark_problems(good.replace("--world", "--ranks"))
    assert _benchmark_problems(good.replace("scale_out.py", "scale_outs.py"))


# ----------------------------------------------------------------------------------------------- paths
PATH = re.compile(r"(?<![\w/.~$-])((?:graphvae|benchmarks|docs|tests|datasets)/[\w./*<>-]*[\w/*>])")


def _path_problems(doc: str, text: str) -> list[str]:
    problems = []
    base = (ROOT / doc).parent
    for m in re.finditer(r"\]\(([^)\s#]+)\)", text):  # markdown links and images
        if not m.group(1).startswith("http") and not (base / m.group(1)).exists():
            problems.append(f"link {m.group(1)}")
    for m in PATH.finditer(text):
        p = m.group(1).split("::")[0]
        if re.search(r"NAME|<", p):
            continue  # placeholders
        if "*" in p:
            if not list(ROOT.glob(p)):
                problems.append(f"pattern {p} matches nothing")
            continue
        if not (ROOT / p).exists():
            problems.append(f"path {p}")
    for m in re.finditer(r"`((?:data|nn|objectives|training|evaluation|estimators|cli)/\w+\.py)`", text):
        if not (ROOT / "graphvae" / m.group(1)).exists():  # a package path without the leading graphvae/
            problems.append(f"path graphvae/{m.group(1)}")
    for m in re.finditer(r"`(tests/\w+\.py)::(\w+)`", text):  # a named test exists
        if f"def {m.group(2)}(" not in (ROOT / m.group(1)).read_text():
            problems.append(f"test {m.group(1)}::{m.group(2)}")
    return problems


@pytest.mark.parametrize("doc", DOCS)
def test_every_repository_path_and_figure_exists(doc):
    problems = _path_problems(doc, _text(doc))
    assert not problems, "\n".join(problems)


def test_the_path_checker_fails_on_a_broken_doc():
    good = ("![map](figures/embeddings/label_map.png) see `graphvae/nn/encoder.py` and "
            "`tests/test_distributed.py::test_single_process_pays_nothing`")
    assert not _path_problems("docs/embeddings.md", good)
    assert _path_problems("docs/embeddings.md", good.replace("label_map", "labels_map"))
    assert _path_problems("docs/embeddings.md", good.replace("nn/encoder.py", "nn/encoders.py"))
    assert _path_problems("docs/embeddings.md", good.replace("pays_nothing", "pays_little"))


def test_readme_layout_lists_exactly_the_files():
    layout = _text("README.md").split("## Layout")[1].split("```")[1]
    problems = []
    for folder in ("data", "nn", "objectives", "training", "evaluation", "estimators", "cli"):
        line = re.search(rf"^  {folder}/\s+(.*?)(?=^  \w+/|^\S)", layout, re.S | re.M).group(1)
        listed = set(re.findall(r"([\w]+\.(?:py|json))", line))
        actual = {p.name for p in (ROOT / "graphvae" / folder).iterdir()
                  if p.suffix in (".py", ".json") and p.name != "__init__.py"}
        problems += [f"{folder}/{n} listed, not present" for n in listed - actual]
        problems += [f"{folder}/{n} present, not listed" for n in actual - listed]
    bench = re.search(r"^benchmarks/(.*?)^docs/", layout, re.S | re.M).group(1)
    listed = set(re.findall(r"(\w+\.py)", bench))
    actual = {p.name for p in (ROOT / "benchmarks").glob("*.py")}
    problems += [f"benchmarks/{n} listed, not present" for n in listed - actual]
    problems += [f"benchmarks/{n} present, not listed" for n in actual - listed]
    assert not problems, "\n".join(problems)


# ----------------------------------------------------------------------------------------------- architecture
def _architecture_layers(text: str) -> dict[int, set[str]]:
    """Layer number -> top-level modules or subpackages, as the folder listing of docs/architecture.md says."""
    listing = text.split("## The folders follow the data flow")[1].split("```")[1]
    layers = {0: set()}
    for line in listing.splitlines():
        if m := re.match(r"^  (\w+)/\s+(\d+)\s", line):
            layers.setdefault(int(m.group(2)), set()).add(m.group(1))
        elif re.match(r"^  _|^  \w+\.py", line):
            layers[0] |= set(re.findall(r"(\w+)\.py", line.split("  layer 0")[0].split("   ")[0]))
    return layers


def test_architecture_layers_are_the_ones_the_layer_test_enforces():
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from test_layers import LAYERS
    finally:
        sys.path.remove(str(ROOT / "tests"))
    doc = _architecture_layers(_text("docs/architecture.md"))
    expected = {k: set(v) - {"__main__"} for k, v in LAYERS.items()}
    assert doc == expected


#: backticked words of the architecture table that are not names in the listed modules (parameters, attributes)
NOT_NAMES = {"on_epoch", "aux_step", "torch.profiler", "Figure"}


def _defines(module, name: str) -> bool:
    """``name`` (or ``Class.attr``) is a module-level name of ``module`` or a method or attribute of one of its
    classes (``log_prob`` of ``Posterior``, the template ``fit`` of ``Estimator``)."""
    head, _, attr = name.partition(".")
    if hasattr(module, head):
        return not attr or hasattr(getattr(module, head), attr)
    classes = [v for v in vars(module).values() if isinstance(v, type) and v.__module__ == module.__name__]
    return not attr and any(head in vars(c) for c in classes)


def _architecture_name_problems(text: str) -> list[str]:
    import importlib

    problems = []
    table = text.split("## Where each piece lives")[1].split("Rules that keep")[0]
    for row in table.splitlines():
        cells = row.split("|")
        if len(cells) < 4 or not cells[3].strip().startswith("`"):
            continue
        paths = re.findall(r"`(graphvae/[\w/]+\.py)`", cells[3])
        modules = [importlib.import_module(p[:-3].replace("/", ".")) for p in paths]
        for name in re.findall(r"`([A-Za-z_][\w.]*)`", cells[2]):
            if name in NOT_NAMES or re.search(r"\.(py|json)$", name):
                continue  # file names are checked by the path test
            if not any(_defines(m, name) for m in modules):
                problems.append(f"{name} not in {paths}")
    for path, name in re.findall(r"`(graphvae/[\w/]+\.py)` \(`(\w+)`\)", table):
        if not hasattr(importlib.import_module(path[:-3].replace("/", ".")), name):
            problems.append(f"{name} not in {path}")
    return problems


def test_architecture_table_names_live_where_it_says():
    problems = _architecture_name_problems(_text("docs/architecture.md"))
    assert not problems, "\n".join(problems)


def test_the_architecture_checkers_fail_on_a_broken_doc():
    text = _text("docs/architecture.md")
    assert _architecture_name_problems(text.replace("`GCNLayer`, `GCNEncoder`", "`GCNLayer`, `GCNEncoders`"))
    assert _architecture_name_problems(text.replace("`Posterior`: reparameterized", "`Postrior`: reparameterized"))
    broken = _architecture_layers(text.replace("evaluation/   5", "evaluation/   7"))
    assert broken != _architecture_layers(text)


# ----------------------------------------------------------------------------------------------- defaults
def _default(command: str, dest: str):
    """The default a command uses: the parser's, or for an option left None there (so that giving it can be told
    from not giving it), the value of the command's ``fill_defaults(args, {...})`` literal."""
    parser = build_parser(command)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    default = next(a.default for a in sub._actions if a.dest == dest)
    if default is not None:
        return default
    tree = ast.parse((ROOT / "graphvae" / "cli" / f"{command}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "fill_defaults" and \
                isinstance(node.args[1], ast.Dict):
            for key, value in zip(node.args[1].keys, node.args[1].values):
                if isinstance(key, ast.Constant) and key.value == dest and isinstance(value, ast.Constant):
                    return value.value
    return None


#: (doc, pattern whose group 1 states a default, command, parser dest)
STATED_DEFAULTS = [
    ("docs/embeddings.md", r"\(`--test-size`, default ([\d.]+)\)", "classify", "test_size"),
    ("docs/embeddings.md", r"`--covariance tied\|full\|diag\|spherical`, default (\w+)", "cluster", "covariance"),
    ("docs/embeddings.md", r"`--restarts N` runs from different\s+initializations \(default (\d+)", "cluster", "restarts"),
    ("docs/embeddings.md", r"`--projection tsne\|pca`, default (\w+)", "embed", "projection"),
    ("docs/image_vae.md", r"`--elbo-samples` \(default (\d+)\)", "vae", "elbo_samples"),
]


def _stated_default_problems(texts: dict[str, str]) -> list[str]:
    problems = []
    for doc, pattern, command, dest in STATED_DEFAULTS:
        m = re.search(pattern, texts[doc])
        if m is None:
            problems.append(f"{doc}: the sentence /{pattern}/ is gone: update this test")
            continue
        actual = _default(command, dest)
        if str(actual) != m.group(1) and not (isinstance(actual, (int, float)) and float(m.group(1)) == actual):
            problems.append(f"{doc} says {command} {dest} defaults to {m.group(1)}, the parser: {actual}")
    return problems


def test_stated_defaults_match_the_parsers():
    from graphvae.training.distributed import DEFAULT_TIMEOUT

    texts = {doc: _text(doc) for doc in DOCS}
    problems = _stated_default_problems(texts)
    for doc in ("README.md", "docs/scale_out.md"):
        for value in re.findall(r"GRAPHVAE_DIST_TIMEOUT`?[^.]*?default (\d+)", texts[doc]):
            if float(value) != DEFAULT_TIMEOUT:
                problems.append(f"{doc}: GRAPHVAE_DIST_TIMEOUT default {value}, the code: {DEFAULT_TIMEOUT}")
    assert not problems, "\n".join(problems)


def test_the_default_checker_fails_on_a_broken_doc():
    texts = {doc: _text(doc) for doc in DOCS}
    broken = dict(texts, **{"docs/embeddings.md": texts["docs/embeddings.md"].replace(
        "initializations (default 10", "initializations (default 5")})
    assert _stated_default_problems(broken)


# ----------------------------------------------------------------------------------------------- snippets
def test_embeddings_snippet_runs():
    import networkx as nx

    import graphvae as gv

    code = re.search(r"```\n(model = gv\.GAE.*?)```", _text("docs/embeddings.md"), re.S).group(1)
    nx_graph = nx.relabel_nodes(nx.karate_club_graph(), lambda i: f"member {i}")  # your node ids, not 0..N-1
    scope = {"gv": gv, "nx_graph": nx_graph}
    exec(compile(code.replace("random_state=0)", "random_state=0, epochs=20)"), "embeddings.md", "exec"), scope)
    z_of = scope["z_of"]
    assert set(z_of) == set(nx_graph.nodes) and z_of["member 0"].shape == (16,)


def _cifar_tar(path: Path, n_train: int = 40, n_test: int = 12) -> None:
    """A tiny CIFAR-10 python-version .tar.gz: channel-major uint8 rows, bytes keys, as distributed."""
    rng = np.random.default_rng(0)
    folder = path.parent / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        n = n_test if name == "test_batch" else n_train // 5
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": [i % 4 for i in range(n)]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    with tarfile.open(path, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")


def test_image_vae_snippet_runs(tmp_path, monkeypatch):
    code = re.search(r"```python\n(.*?)```", _text("docs/image_vae.md"), re.S).group(1)
    path = tmp_path / "path" / "to" / "cifar-10-python.tar.gz"
    path.parent.mkdir(parents=True)
    _cifar_tar(path)
    monkeypatch.chdir(tmp_path)
    code = code.replace("epochs=50", "epochs=1").replace("hidden=512", "hidden=32")
    assert "epochs=1" in code and "path/to/cifar-10-python.tar.gz" in code
    scope: dict = {}
    exec(compile(code, "image_vae.md", "exec"), scope)
    assert scope["data"].x_train.shape == (40, 3072) and np.isfinite(scope["nats"])


# ----------------------------------------------------------------------------------------------- model names
def _model_name_problems(readme: str, embeddings: str) -> list[str]:
    from graphvae.estimators.node_embeddings import EMBEDDING_MODELS
    from graphvae.estimators.zoo import NAMES

    problems = []
    sentence = re.search(r"`--model` of `linkpred` and `embed` takes (.*?)\(an alias", readme, re.S).group(1)
    listed = re.findall(r"`([\w-]+)`", sentence)
    if sorted(listed) != sorted(NAMES):
        problems.append(f"README lists --model {listed}, the zoo has {list(NAMES)}")
    listed = re.search(r"Both commands take `--model ([\w|-]+)`", embeddings).group(1).split("|")
    if sorted(listed) != sorted(EMBEDDING_MODELS):
        problems.append(f"docs/embeddings.md lists {listed}, EMBEDDING_MODELS has {list(EMBEDDING_MODELS)}")
    return problems


def test_documented_model_names_are_the_registered_ones():
    problems = _model_name_problems(_text("README.md"), _text("docs/embeddings.md"))
    assert not problems, "\n".join(problems)
    assert _model_name_problems(_text("README.md").replace("`arga`, `argva`, and", "`arga`, and"),
                                _text("docs/embeddings.md"))
    assert _model_name_problems(_text("README.md"), _text("docs/embeddings.md").replace("|maskgae-cat|", "|"))
