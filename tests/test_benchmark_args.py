"""The benchmark scripts refuse arguments that would publish nonsense (one line, exit 2, nothing rewritten)."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("args,message", [
    (["models.py", "--only", "cora:nosuch"], "no cell 'cora:nosuch'"),  # exit 0, and docs/models.md said it re-ran
    (["models.py", "--seeds", "0"], "must be a positive integer"),  # an IndexError traceback
    (["link_estimators.py", "--seeds", "0"], "must be a positive integer"),  # a NaN table in the docs
])
def test_bad_benchmark_arguments_change_nothing(args, message):
    docs = {p: p.read_bytes() for p in (ROOT / "docs").glob("*.md")}
    results = {p: p.read_bytes() for p in (ROOT / "benchmarks" / "results").glob("*.json")}
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / args[0]), *args[1:]], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert {p: p.read_bytes() for p in docs} == docs and {p: p.read_bytes() for p in results} == results
