"""graphvae runs on every Python that pyproject.toml admits (``requires-python = ">=3.10"``), not only on the 3.11 of CI.

Pinned here:
- no module of ``graphvae/`` uses syntax newer than the lowest admitted Python: the oldest admitted interpreter
  itself compiles every module where one is installed (pyenv), and an ``ast`` walk flags the version-gated syntax
  that the running interpreter would accept but 3.10 refuses (``except*``, ``a[*b]``, ``*args: *Ts``, ``type X``,
  ``def f[T]``, PEP 701 f-strings, ``except A, B:``, t-strings);
- no module imports or uses a standard-library name, builtin or keyword argument added after 3.10. The list below
  is taken from the "What's New In Python 3.11/3.12/3.13/3.14" pages (docs.python.org), not from graphvae's code;
- each check is shown to catch a planted example, so a clean result on ``graphvae/`` means something;
- the edge-list reader keeps an id that numpy < 2.3 (the newest numpy on Python 3.10) would read through a float
  (``1.5``, ``1e3``, one beyond int64) as the string it is, as numpy >= 2.3 does.
"""

from __future__ import annotations

import ast
import glob
import io
import os
import re
import subprocess
import sys
import tokenize
import warnings
from pathlib import Path

import numpy as np
import pytest

import graphvae as gv

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "graphvae"


def _lowest_admitted() -> tuple[int, int]:
    """The lowest Python version that pyproject.toml's ``requires-python`` admits (a ``>=X.Y`` bound)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^requires-python\s*=\s*">=\s*(\d+)\.(\d+)', text, re.M)
    assert match, "requires-python is not a plain '>=X.Y' bound"
    return int(match[1]), int(match[2])


LOWEST = _lowest_admitted()

# Standard-library names added after 3.10, from the "What's New" pages: (version added, dotted name).
# Modules are listed by name; a name inside a module as "module.name"; builtins as "builtins.name".
NEW_NAMES: dict[str, tuple[int, int]] = {}
for _version, _names in {
    (3, 11): """tomllib wsgiref.types
        typing.Self typing.LiteralString typing.Never typing.assert_never typing.assert_type typing.reveal_type
        typing.Required typing.NotRequired typing.TypeVarTuple typing.Unpack typing.dataclass_transform
        typing.get_overloads typing.clear_overloads
        datetime.UTC enum.StrEnum enum.ReprEnum enum.EnumCheck enum.FlagBoundary enum.verify enum.member
        enum.nonmember enum.global_enum enum.show_flag_values enum.EnumType enum.property
        asyncio.TaskGroup asyncio.timeout asyncio.timeout_at asyncio.Timeout asyncio.Runner asyncio.Barrier
        contextlib.chdir hashlib.file_digest operator.call math.exp2 math.cbrt inspect.getmembers_static
        inspect.ismethodwrapper logging.getLevelNamesMapping locale.getencoding sys.exception
        builtins.ExceptionGroup builtins.BaseExceptionGroup""",
    (3, 12): """typing.override typing.TypeAliasType typing.get_original_bases types.get_original_bases
        itertools.batched collections.abc.Buffer math.sumprod os.path.isjunction os.path.splitroot calendar.Month
        calendar.Day random.binomialvariate sys.monitoring sys.last_exc sys.activate_stack_trampoline
        inspect.markcoroutinefunction inspect.getasyncgenstate asyncio.eager_task_factory
        asyncio.create_eager_task_factory""",
    (3, 13): """copy.replace warnings.deprecated typing.ReadOnly typing.TypeIs typing.NoDefault
        typing.get_protocol_members typing.is_protocol math.fma os.process_cpu_count base64.z85encode
        base64.z85decode glob.translate queue.ShutDown dbm.sqlite3 statistics.kde statistics.kde_random
        re.PatternError builtins.PythonFinalizationError""",
    (3, 14): """annotationlib compression string.templatelib concurrent.interpreters""",
}.items():
    NEW_NAMES.update(dict.fromkeys(_names.split(), _version))

# Keyword arguments added after 3.10 to calls whose last name is given: (callee, keyword) -> version.
NEW_KEYWORDS: dict[tuple[str, str], tuple[int, int]] = {
    ("catch_warnings", "action"): (3, 11),
    ("catch_warnings", "category"): (3, 11),
    ("ProcessPoolExecutor", "max_tasks_per_child"): (3, 11),
    ("dataclass", "weakref_slot"): (3, 11),
    ("rmtree", "onexc"): (3, 12),
    ("NamedTemporaryFile", "delete_on_close"): (3, 12),
    ("TemporaryDirectory", "delete"): (3, 12),
    ("nextafter", "steps"): (3, 12),
    ("batched", "strict"): (3, 13),
    ("add_argument", "deprecated"): (3, 13),
    ("ArgumentParser", "suggest_on_error"): (3, 14),
    ("ArgumentParser", "color"): (3, 14),
}
# Methods added after 3.10 whose names no older stdlib type has: (method) -> version.
NEW_METHODS: dict[str, tuple[int, int]] = {
    "add_note": (3, 11), "is_junction": (3, 12), "with_segments": (3, 12), "full_match": (3, 13),
    "from_uri": (3, 13),
}


def _newer(version: tuple[int, int]) -> bool:
    return version > LOWEST


def _dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, else ``None``."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _unparenthesized(tuple_node: ast.Tuple, source: str) -> bool:
    segment = ast.get_source_segment(source, tuple_node) or ""
    return not segment.lstrip().startswith("(")


def _fstring_findings(source: str) -> list[str]:
    """PEP 701 f-strings (3.12): a replacement field holding a backslash, a comment or the quote that opens its
    f-string. Found with the running interpreter's tokenizer; before 3.12 such a module does not even parse."""
    if sys.version_info < (3, 12):
        return []
    found = []
    stack: list[str] = []  # the quote of each open f-string
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    for tok in tokens:
        kind = tokenize.tok_name[tok.type]
        if kind in ("FSTRING_START", "TSTRING_START"):
            prefix = tok.string.lstrip("rRbBfFtTuU")
            if stack and prefix[:1] == stack[-1][:1] and prefix in (stack[-1], stack[-1][:1]):
                found.append(f"line {tok.start[0]}: an f-string inside an f-string with the same quote (3.12)")
            stack.append(prefix)
        elif kind in ("FSTRING_END", "TSTRING_END"):
            stack.pop()
        elif stack and kind == "STRING" and tok.string.lstrip("rRbBuU")[:1] == stack[-1][:1]:
            found.append(f"line {tok.start[0]}: a string in an f-string's field with the f-string's quote (3.12)")
        elif stack and kind == "COMMENT":
            found.append(f"line {tok.start[0]}: a comment inside an f-string (3.12)")
        elif stack and kind not in ("FSTRING_MIDDLE", "TSTRING_MIDDLE") and "\\" in tok.string:
            found.append(f"line {tok.start[0]}: a backslash in an f-string's field (3.12)")
    return found


def findings(source: str, filename: str = "<planted>") -> list[str]:
    """Every use in ``source`` of syntax, a stdlib name, a keyword or a method that the lowest admitted Python lacks."""
    tree = ast.parse(source, filename)
    found: list[str] = []

    def flag(node: ast.AST, what: str, version: tuple[int, int]) -> None:
        if _newer(version):
            found.append(f"{filename}:{getattr(node, 'lineno', '?')}: {what} ({version[0]}.{version[1]})")

    aliases: dict[str, str] = {}  # local name -> the dotted name it was imported as
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    aliases[a.asname] = a.name
                else:
                    head = a.name.split(".")[0]
                    aliases[head] = head
                parts = a.name.split(".")
                for i in range(len(parts)):
                    name = ".".join(parts[: i + 1])
                    if name in NEW_NAMES:
                        flag(node, f"import {name}", NEW_NAMES[name])
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            for i in range(len(parts)):
                name = ".".join(parts[: i + 1])
                if name in NEW_NAMES:
                    flag(node, f"from {name} import", NEW_NAMES[name])
            for a in node.names:
                full = f"{node.module}.{a.name}"
                aliases[a.asname or a.name] = full
                if full in NEW_NAMES:
                    flag(node, f"{full} imported", NEW_NAMES[full])
    for node in ast.walk(tree):
        # syntax the lowest admitted Python refuses (ast accepts it on the running one)
        if type(node).__name__ == "TryStar":
            flag(node, "except*", (3, 11))
        if type(node).__name__ == "TypeAlias":
            flag(node, "a type statement", (3, 12))
        if getattr(node, "type_params", None):
            flag(node, "type parameters [T]", (3, 12))
            if any(getattr(p, "default_value", None) is not None for p in node.type_params):
                flag(node, "a type parameter default", (3, 13))
        if type(node).__name__ in ("TemplateStr", "Interpolation"):
            flag(node, "a t-string", (3, 14))
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple) \
                and any(isinstance(e, ast.Starred) for e in node.slice.elts) and _unparenthesized(node.slice, source):
            flag(node, "a starred expression in an index", (3, 11))
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Starred):
            flag(node, "a starred expression in an index", (3, 11))
        if isinstance(node, ast.arg) and isinstance(node.annotation, ast.Starred):
            flag(node, "a starred annotation", (3, 11))
        if isinstance(node, ast.ExceptHandler) and isinstance(node.type, ast.Tuple) \
                and _unparenthesized(node.type, source):
            flag(node, "except A, B without parentheses", (3, 14))
        # names
        if isinstance(node, ast.Name) and f"builtins.{node.id}" in NEW_NAMES and isinstance(node.ctx, ast.Load):
            flag(node, node.id, NEW_NAMES[f"builtins.{node.id}"])
        if isinstance(node, ast.Attribute):
            dotted = _dotted(node)
            if dotted is not None:
                head, _, rest = dotted.partition(".")
                full = f"{aliases[head]}.{rest}" if head in aliases else None
                if full in NEW_NAMES:
                    flag(node, full, NEW_NAMES[full])
            if node.attr in NEW_METHODS:
                flag(node, f".{node.attr}()", NEW_METHODS[node.attr])
        if isinstance(node, ast.Call):
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if isinstance(node.func, ast.Name) and callee in aliases:
                callee = aliases[callee].rsplit(".", 1)[-1]
            for kw in node.keywords:
                if (callee, kw.arg) in NEW_KEYWORDS:
                    flag(node, f"{callee}({kw.arg}=...)", NEW_KEYWORDS[(callee, kw.arg)])
    if _newer((3, 12)):
        found += [f"{filename}: {f}" for f in _fstring_findings(source)]
    return found


def _sources() -> list[Path]:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 20
    return files


def test_lowest_admitted_is_what_the_readme_says() -> None:
    """pyproject.toml's bound and the README's "Python ≥ X.Y" name the same version."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"Python ≥ {LOWEST[0]}.{LOWEST[1]}" in readme


def test_no_newer_syntax_or_stdlib_names_in_the_package() -> None:
    """No module of graphvae/ uses syntax, a stdlib name, a keyword or a method the lowest admitted Python lacks."""
    found = [f for path in _sources() for f in findings(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert not found, "\n".join(found)


PLANTED = {
    "from typing import Self\n": "typing.Self",
    "import typing as t\nx: t.LiteralString\n": "typing.LiteralString",
    "import datetime\nnow = datetime.datetime.now(datetime.UTC)\n": "datetime.UTC",
    "from datetime import UTC\n": "datetime.UTC",
    "import tomllib\n": "tomllib",
    "from itertools import batched\n": "itertools.batched",
    "import os\nn = os.process_cpu_count()\n": "os.process_cpu_count",
    "import enum\nclass C(enum.StrEnum):\n    A = 'a'\n": "enum.StrEnum",
    "from concurrent.futures import ProcessPoolExecutor as P\np = P(2, max_tasks_per_child=1)\n": "max_tasks_per_child",
    "import warnings\nwith warnings.catch_warnings(action='ignore'):\n    pass\n": "action",
    "try:\n    pass\nexcept* ValueError:\n    pass\n": "except*",
    "def f(*args: *Ts) -> None:\n    pass\n": "starred annotation",
    "x = a[*b]\n": "starred expression in an index",
    "raise ExceptionGroup('m', [ValueError()])\n": "ExceptionGroup",
    "try:\n    pass\nexcept ValueError as e:\n    e.add_note('x')\n": "add_note",
}


@pytest.mark.parametrize("source", list(PLANTED))
def test_each_check_catches_a_planted_example(source: str) -> None:
    """Each kind of check finds its planted example (where the running Python parses it), and the 3.10 forms of
    the same code pass: without this a clean package proves nothing."""
    try:
        ast.parse(source)
    except SyntaxError:
        pytest.skip(f"the running Python {sys.version_info[:2]} cannot parse it")
    found = findings(source)
    assert any(PLANTED[source] in f for f in found), (source, found)


@pytest.mark.parametrize("source", [
    "import datetime\nnow = datetime.datetime.now(datetime.timezone.utc)\n",
    "from typing import TypeVar\nfrom typing_extensions import Self\n",
    "import warnings\nwith warnings.catch_warnings():\n    warnings.simplefilter('ignore')\n",
    "x = a[(*b,)]\ntry:\n    pass\nexcept (ValueError, TypeError):\n    pass\n",
    "import os\nn = len(os.sched_getaffinity(0))\nfor x in *a, *b:\n    pass\n",
])
def test_the_310_forms_pass(source: str) -> None:
    """What 3.10 accepts is not flagged (no false alarm that would teach people to ignore the check)."""
    assert findings(source) == []


@pytest.mark.skipif(sys.version_info < (3, 12), reason="PEP 701 f-strings do not parse before 3.12")
@pytest.mark.parametrize("source", ["x = f\"{d[\"k\"]}\"\n", "x = f'{\"\\n\".join(a)}'\n",
                                    "x = f'{a # c\n}'\n", "x = f\"{f\"{a}\"}\"\n"])
def test_pep701_fstrings_are_caught(source: str) -> None:
    """Each PEP 701 form (same quote inside, backslash in a field, a comment, nesting) is flagged."""
    assert any("3.12" in f for f in findings(source)), source


def _oldest_interpreter() -> str | None:
    """An installed interpreter of the lowest admitted version: ``pythonX.Y`` on PATH or one under pyenv."""
    import shutil

    name = f"python{LOWEST[0]}.{LOWEST[1]}"
    roots = [os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv")]
    candidates = [p for r in roots if r for p in sorted(glob.glob(os.path.join(r, "versions", f"{LOWEST[0]}.{LOWEST[1]}.*", "bin", name)))]
    for exe in [shutil.which(name), *candidates]:
        if exe:
            try:
                out = subprocess.run([exe, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True,
                                     text=True, timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                continue
            if out.returncode == 0 and out.stdout.strip() == str(LOWEST):
                return exe
    return None


_COMPILE_ALL = ("import sys\nbad = []\nfor f in sys.argv[1:]:\n    try:\n"
                "        compile(open(f, encoding='utf-8').read(), f, 'exec')\n"
                "    except SyntaxError as e:\n        bad.append(f'{f}:{e.lineno}: {e.msg}')\n"
                "print('\\n'.join(bad))\nsys.exit(1 if bad else 0)\n")


def test_the_oldest_admitted_python_compiles_every_module(tmp_path: Path) -> None:
    """The lowest admitted interpreter itself (the reference for its grammar) compiles every module of graphvae/,
    and refuses a planted ``except*`` (so the check can fail)."""
    exe = _oldest_interpreter()
    if exe is None:
        pytest.skip(f"no Python {LOWEST[0]}.{LOWEST[1]} interpreter installed")
    planted = tmp_path / "planted.py"
    planted.write_text("try:\n    pass\nexcept* ValueError:\n    pass\n", encoding="utf-8")
    run = subprocess.run([exe, "-c", _COMPILE_ALL, str(planted)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "planted.py" in run.stdout
    run = subprocess.run([exe, "-c", _COMPILE_ALL, *map(str, _sources())], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("text, ids", [
    ("1.5,2\n1,2\n2,3\n", ["1.5", "2", "1", "3"]),
    ("1e3,2\n1000,3\n2,3\n", ["1e3", "2", "1000", "3"]),
    ("18446744073709551615,1\n1,2\n2,18446744073709551615\n", ["18446744073709551615", "1", "2"]),
    ("1.5,2,0.5\n1,2,2.0\n2,3,1.0\n", ["1.5", "2", "1", "3"]),
])
def test_edge_list_ids_numpy_reads_through_a_float_stay_strings(tmp_path: Path, text: str, ids: list[str]) -> None:
    """An id that is no integer as written (``1.5``, ``1e3``) or beyond int64 is its own node, kept as written,
    whatever numpy is installed: numpy < 2.3 (all that Python 3.10 gets) parsed it through a float with only a
    DeprecationWarning, so ``1.5`` became node 1 and ``1e3`` merged with ``1000``. Reference: ``str.split``."""
    path = tmp_path / "g.csv"
    path.write_text(text, encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graph = gv.load_graph(path)
    rows = [line.split(",")[:2] for line in text.splitlines()]
    assert graph.node_ids == ids
    assert not [w for w in caught if issubclass(w.category, DeprecationWarning)]  # nor does numpy's warning leak
    expected = {frozenset(r) for r in rows}
    got = {frozenset((ids[int(s)], ids[int(d)])) for s, d in np.asarray(graph.edge_index).T}
    assert got == expected


def test_numpy_deprecated_float_path_is_what_the_reader_refuses() -> None:
    """On numpy < 2.3 ``loadtxt`` reads ``1.5`` as an int64 through a float (the cause the reader guards against);
    on later numpy it refuses. Either way the reader's turned-error warning or ValueError sends it to the general
    reader. Pins the premise with numpy itself."""
    major, minor = (int(p) for p in np.__version__.split(".")[:2])
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        with pytest.raises((ValueError, DeprecationWarning)):
            np.loadtxt(io.StringIO("1.5,2\n"), dtype=np.int64, delimiter=",")
    if (major, minor) < (2, 3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            assert np.loadtxt(io.StringIO("1.5,2\n"), dtype=np.int64, delimiter=",").tolist() == [1, 2]


def test_reader_refuses_the_float_path_of_numpy_before_2_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever numpy runs the suite, the reader is shown numpy < 2.3's documented behaviour (an int field that
    int() refuses is read through float() with a DeprecationWarning, "Parsing an integer via a float is
    deprecated") and still keeps ``1.5`` as its own node. Reference: ``str.split`` on the file."""
    real = np.loadtxt

    def numpy_2_2_loadtxt(fname, dtype=float, *args, **kwargs):  # type: ignore[no-untyped-def]
        if np.dtype(dtype) != np.int64:
            return real(fname, dtype, *args, **kwargs)
        text = fname.read()
        try:
            return real(io.StringIO(text), dtype, *args, **kwargs)
        except ValueError:
            warnings.warn("loadtxt(): Parsing an integer via a float is deprecated.", DeprecationWarning, stacklevel=2)
            return real(io.StringIO(text), float, *args, **kwargs).astype(np.int64)

    monkeypatch.setattr(np, "loadtxt", numpy_2_2_loadtxt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert np.loadtxt(io.StringIO("1.5,2\n"), dtype=np.int64, delimiter=",").tolist() == [1, 2]  # the premise
    path = tmp_path / "g.csv"
    path.write_text("1.5,2\n1,2\n2,3\n", encoding="utf-8")
    graph = gv.load_graph(path)
    assert graph.node_ids == ["1.5", "2", "1", "3"] and graph.num_edges == 3
