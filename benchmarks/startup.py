"""Startup time: ``import graphvae`` against ``import torch``, and the CLI's help and input errors.

    python benchmarks/startup.py [--runs 9]

Each command runs in a fresh interpreter ``--runs`` times; the median wall time is reported, and
``import graphvae`` as a ratio to ``import torch`` measured in the same run (the machine's speed
cancels out). Targets (issue 9): help and a missing-file error in <= 0.5 s, ``import graphvae`` <=
1.3x ``import torch``. Writes ``benchmarks/results/startup.json`` (or ``--json PATH``) and the ``startup``
section of ``docs/benchmarks.md`` (not with ``--no-docs``).

What runs: every command from the repository root with this interpreter, so that this checkout's package is
the one imported (not an installed copy): the ``import`` rows as ``python -c "import ..."``, and the rows named
``graphvae ...`` as ``python -m graphvae ...``, which runs the same ``graphvae.cli.main`` as the installed
``graphvae`` script (the two differ only in their few-line launchers: ``runpy`` here, the script's wrapper there).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _docs import ROOT, machine, update_section, run_benchmark, count

from graphvae.files import atomic_write


def cli() -> list[str]:
    """The ``graphvae`` command of this checkout: ``python -m graphvae`` (run from the repository root), not
    whichever ``graphvae`` script is installed."""
    return [sys.executable, "-m", "graphvae"]


def commands() -> dict[str, list[str]]:
    py, gv = [sys.executable, "-c"], cli()
    return {
        "python (empty)": [*py, "pass"],
        "import torch": [*py, "import torch"],
        "import graphvae": [*py, "import graphvae"],
        "from graphvae import VGAE": [*py, "from graphvae import VGAE"],
        # what the estimator path costs beyond torch: scikit-learn's base (it imports scipy.stats), and what
        # torch.optim's first optimizer would add (it imports torch._dynamo; the trainer's FusedAdam does not)
        "import sklearn.base": [*py, "import sklearn.base"],
        "import torch; torch.optim.Adam(...)": [*py, "import torch; torch.optim.Adam([torch.zeros(1, requires_grad=True)])"],
        "graphvae --help": [*gv, "--help"],
        "graphvae linkpred --help": [*gv, "linkpred", "--help"],
        "graphvae embed --help": [*gv, "embed", "--help"],
        "graphvae vae --help": [*gv, "vae", "--help"],
        "graphvae ae --help": [*gv, "ae", "--help"],
        "graphvae linkpred --edges missing.csv": [*gv, "linkpred", "--edges", "/nonexistent/missing.csv"],
        "graphvae embed --edges unreadable": [*gv, "embed", "--edges", "/", "--out", "z.npy"],
    }


def median_seconds(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ}, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=count, default=9)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "startup.json"))
    parser.add_argument("--no-docs", action="store_true", help="write the JSON only, not docs/benchmarks.md")
    args = parser.parse_args()
    # interleave the commands run by run, so a slow spell of a shared machine hits all of them alike
    cmds = commands()
    samples: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(args.runs):
        for name, argv in cmds.items():
            samples[name].append(median_seconds(argv, 1))
    seconds = {name: statistics.median(v) for name, v in samples.items()}
    ratio = seconds["import graphvae"] / seconds["import torch"]
    cli_names = [n for n in seconds if n.startswith("graphvae")]
    result = {
        "machine": machine(), "runs": args.runs, "statistic": "median wall seconds over runs, fresh interpreter each",
        "seconds": seconds, "import_ratio_to_torch": ratio,
        "targets": {"cli_seconds_max": 0.5, "import_ratio_max": 1.3},
        "met": {"cli": all(seconds[n] <= 0.5 for n in cli_names), "import": ratio <= 1.3},
    }
    atomic_write(args.json, lambda tmp: Path(tmp).write_text(json.dumps(result, indent=2) + "\n"))
    rows = "\n".join(f"| `{name}` | {s:.3f} |" for name, s in seconds.items())
    md = f"""## Startup

`python benchmarks/startup.py --runs {args.runs}` on {machine()}: median wall time of each command in a fresh
interpreter (the commands interleaved, {args.runs} runs each).

| command | seconds |
|---|---|
{rows}

`import graphvae` costs **{ratio:.2f}x** `import torch` (target <= 1.3x): the package imports its modules on
first use, so `import graphvae` loads neither torch nor torch_geometric; `from graphvae import VGAE` loads torch,
SciPy, NumPy and scikit-learn's estimator base but not torch_geometric (PyG is only needed to convert to and from
PyG `Data`). Every `graphvae ... --help` and the one-line error for a missing or unreadable input file answer
before torch is imported (target <= 0.5 s: {"met" if result["met"]["cli"] else "NOT met"}).

What a training command pays on top of `import torch`: `import sklearn.base` (the estimators' base class; it
imports `scipy.stats`, whose import parses hundreds of docstrings) is most of `from graphvae import VGAE`
minus `import torch`. The last row is what `torch.optim.Adam` would add on its first use (it imports
`torch._dynamo`); the trainer steps through torch's fused Adam kernel itself (`graphvae.training.trainer.FusedAdam`) and
never pays it.
"""
    if not args.no_docs:
        update_section("benchmarks.md", "startup", md)
    for name, s in seconds.items():
        print(f"{s:7.3f} s  {name}")
    print(f"import graphvae / import torch = {ratio:.2f}")


if __name__ == "__main__":
    run_benchmark(main)
