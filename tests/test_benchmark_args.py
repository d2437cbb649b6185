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
    (["speed.py", "--epochs", "5"], "must exceed the 10 warm-up epochs"),  # a StatisticsError after training
    (["scale.py", "--nodes", "300", "--seed", "-1"], "non-negative"),  # a ValueError traceback
])
def test_bad_benchmark_arguments_change_nothing(args, message):
    docs = {p: p.read_bytes() for p in (ROOT / "docs").glob("*.md")}
    results = {p: p.read_bytes() for p in (ROOT / "benchmarks" / "results").glob("*.json")}
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / args[0]), *args[1:]], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert {p: p.read_bytes() for p in docs} == docs and {p: p.read_bytes() for p in results} == results


@pytest.mark.parametrize("value", ["abc", "0", "inf", "1e20"])
def test_distributed_timeout_setting_is_checked(monkeypatch, value):
    # inf and 1e20 overflowed the process group's timedelta and were reported as a failed rendezvous (exit 1)
    from graphvae import InputError
    from graphvae.training.distributed.runtime import timeout_seconds

    monkeypatch.setenv("GRAPHVAE_DIST_TIMEOUT", value)
    with pytest.raises(InputError, match="GRAPHVAE_DIST_TIMEOUT"):
        timeout_seconds()
