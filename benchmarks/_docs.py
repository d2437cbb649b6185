"""Shared by the benchmark scripts: machine description and section-wise updates of docs pages.

Each benchmark owns one section of a docs page, delimited by ``<!-- BEGIN name -->`` and
``<!-- END name -->``; rerunning a benchmark replaces only its own section (written atomically).
"""
from __future__ import annotations

import os
import platform
import re
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graphvae.files import atomic_write  # noqa: E402


def machine() -> str:
    """One line: CPU model, cores, torch version and threads."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads)")


def update_section(page: str | os.PathLike, name: str, markdown: str, title: str = "Benchmarks") -> Path:
    """Replace (or append) the section ``name`` of ``docs/<page>`` with ``markdown``."""
    path = ROOT / "docs" / page
    text = path.read_text() if path.exists() else f"# {title}\n\n"
    block = f"<!-- BEGIN {name} -->\n{markdown.rstrip()}\n<!-- END {name} -->"
    pattern = re.compile(rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))
    return path


def count(text: str) -> int:
    """argparse type of ``--seeds``/``--runs``/``--repeats``/``--jobs`` (and sizes, epochs): an integer of at least 1
    (0 seeds gave NaN tables or tracebacks). Benchmarks use graphvae's public modules only, so not the CLI's
    ``positive_int``."""
    return _integer(text, 1, "a positive")


def seed_study_parser(description: str, model: str, seeds: int, result: str) -> "argparse.ArgumentParser":
    """The arguments of a benchmark that trains ``--model`` on seeds 0..N-1 in ``--workers`` processes and writes
    one JSON file (``benchmarks/results/<result>`` unless ``--json`` says otherwise)."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--model", default=model)
    parser.add_argument("--seeds", type=count, default=seeds)
    parser.add_argument("--workers", type=count, default=2)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / result))
    return parser


def non_negative(text: str) -> int:
    """argparse type of ``--seed`` (and seed lists): an integer of at least 0."""
    return _integer(text, 0, "a non-negative")


def _integer(text: str, minimum: int, kind: str) -> int:
    """``text`` as an integer of at least ``minimum``, else argparse's "must be {kind} integer" error."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be {kind} integer, got {text}")
    return value


def seconds(text: str) -> float:
    """argparse type of ``--timeout``: a finite number of seconds above 0 (0 timed out every run at once, inf
    overflowed the process group's timeout)."""
    import argparse
    import math

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def run_step(cmd: list[str], timeout: float, what: str, **kwargs) -> None:
    """Run one subprocess of a benchmark (``kwargs`` go to :func:`subprocess.run`); a timeout or a failure ends the
    benchmark with one line naming ``what``, and bad input (status 2: the run's one-line message is already on
    stderr) with status 2."""
    import subprocess

    try:
        proc = subprocess.run(cmd, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired:
        raise SystemExit(f"{what} did not finish within {timeout:g} s") from None
    if proc.returncode == 2:
        raise SystemExit(2)
    if proc.returncode != 0:
        raise SystemExit(f"{what} failed with exit code {proc.returncode}")


def run_benchmark(main) -> None:
    """Run a benchmark's ``main()`` as the script's entry point and exit with its status. Bad input (a missing
    dataset, a malformed argument: :class:`graphvae.InputError`) and a ``graphvae`` command that failed (whose own
    one-line message is already on stderr) end with one line on stderr instead of a traceback, and status 2 (the
    command's bad input) or 1 (any other failure of the command)."""
    import subprocess

    from graphvae import InputError

    name = Path(sys.argv[0]).name
    try:
        code = main()
    except InputError as e:
        print(f"{name}: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    except subprocess.CalledProcessError as e:
        cmd = [str(part) for part in e.cmd]
        if cmd[:2] == [sys.executable, "-m"]:
            cmd = cmd[2:]  # `python -m graphvae linkpred ...`: name the graphvae command
        print(f"{name}: error: `{' '.join(cmd[:4])} ...` exited with status {e.returncode}", file=sys.stderr)
        raise SystemExit(2 if e.returncode == 2 else 1) from None
    raise SystemExit(code or 0)
