"""The benchmark scripts refuse arguments that would publish nonsense (one line, exit 2, nothing rewritten)."""
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOWHERE = "/nonexistent/result.json"  # never written: every run below stops before its output


def _snapshot() -> dict:
    """What the benchmarks publish: the generated sections of the docs pages (not the hand-written text around
    them, which others may be editing meanwhile), the scale figure and the saved results."""
    sections = re.compile(r"<!-- BEGIN (\S+) -->.*?<!-- END \1 -->", re.S)
    snapshot = {p: [m.group(0) for m in sections.finditer(p.read_text())] for p in (ROOT / "docs").glob("*.md")}
    paths = [ROOT / "docs" / "figures" / "scale.png", *(ROOT / "benchmarks" / "results").glob("*.json")]
    return {**snapshot, **{p: p.read_bytes() for p in paths if p.exists()}}


def _benchmark(args: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / args[0]), *args[1:]], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env=env)


def _module(name: str, monkeypatch):
    """Import ``benchmarks/<name>.py`` as a module (its ``_docs`` import needs the folder on ``sys.path``)."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _no_data(tmp_path: Path) -> dict:
    """An environment where no dataset can be found (empty data folder and cache; downloads refused)."""
    (tmp_path / "data").mkdir()
    return {**os.environ, "GRAPHVAE_DATA": str(tmp_path / "data"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "GRAPHVAE_DATA_URL": "http://127.0.0.1:9/"}


@pytest.mark.parametrize("args,message", [
    (["models.py", "--only", "cora:nosuch"], "no cell 'cora:nosuch'"),  # exit 0, and docs/models.md said it re-ran
    (["models.py", "--seeds", "0"], "must be a positive integer"),  # an IndexError traceback
    (["link_estimators.py", "--seeds", "0"], "must be a positive integer"),  # a NaN table in the docs
    (["speed.py", "--epochs", "5"], "must exceed the 10 warm-up epochs"),  # a StatisticsError after training
    (["dense_features.py", "--epochs", "5", "--json", NOWHERE], "must exceed the 10 warm-up epochs"),
    (["precision.py", "--seeds", "0", "--json", NOWHERE], "must be a positive integer"),  # empty means, NaN
    (["precision.py", "--model", "nosuch", "--json", NOWHERE], "unknown model 'nosuch'"),  # a worker's traceback
    (["maskgae_reference.py", "--epochs", "5", "--json", NOWHERE], "must be at least 10"),  # never validated
    (["validation_halves.py", "--seeds", "0", "--json", NOWHERE], "must be a positive integer"),
    (["validation_halves.py", "--model", "gae", "--json", NOWHERE], "keeps its last epoch"),  # nothing to rank
    (["maskgae_reference.py", "--task", "nodeclas", "--epochs", "20", "--json", NOWHERE], "must be at least 30"),
    (["scale.py", "--nodes", "300", "--seed", "-1"], "non-negative"),  # a ValueError traceback
    (["fresh_seeds.py", "--model", "nosuch", "--json", NOWHERE], "unknown model 'nosuch'"),
    (["fresh_seeds.py", "--option", "nosuch", "--json", NOWHERE], "'nosuch' is not an option of best"),  # a TypeError per worker
    (["fresh_seeds.py", "--seeds", "0", "--json", NOWHERE], "must be a positive integer"),
    # torchrun's AssertionError traceback, exit 1, after the prepare and single-process runs
    (["scale_out.py", "--world", "0", "--nodes", "1000", "--json", NOWHERE], "must be a positive integer"),
    (["scale_out.py", "--timeout", "0", "--json", NOWHERE], "positive number of seconds"),  # every run timed out: 1
    (["scale_out.py", "--docs", "/nonexistent/missing.json"], "No such file"),  # a FileNotFoundError traceback
    (["scale_out.py", "--cora", "--epochs", "20", "--json", NOWHERE], "--epochs do not apply to --cora"),  # ran 200
    (["scale_out.py", "--seeds", "3", "--json", NOWHERE], "--seeds applies to --cora"),  # ignored
    (["scale.py", "--all", "--epochs", "0", "--json", NOWHERE], "must be a positive integer"),  # exit 1, per run
    (["scale.py", "--report-only", "--json", "/nonexistent/missing.json"], "No such file"),  # a traceback
    # --all measured the VGAE whatever --model said; --sizes without --all was ignored; one epoch's time was
    # stored as the median of the epochs after the first; a folder as --json failed after the whole run
    (["scale.py", "--all", "--model", "best", "--json", NOWHERE], "--model apply to one size"),
    (["scale.py", "--all", "--nodes", "300", "--device", "cuda", "--json", NOWHERE], "--nodes, --device apply"),
    (["scale.py", "--nodes", "300", "--sizes", "10", "--json", NOWHERE], "apply to --all"),
    (["scale.py", "--nodes", "300", "--epochs", "1", "--json", NOWHERE], "--epochs must be at least 2"),
    (["scale.py", "--nodes", "300", "--json", "/tmp"], "not a file that can be written"),
    (["autoencoders.py", "--epochs", "0"], "autoencoders.py: error: argument --epochs"),  # was graphvae ae's message
    (["image_vae.py", "--epochs", "0"], "image_vae.py: error: argument --epochs"),
    (["cache_probe.py", "--epochs", "5", "--json", NOWHERE], "must be at least 11"),  # a StatisticsError traceback  # was any int, then "300 epochs" in the page
    (["embedding_search.py", "NAME", "3", '{"unknown_key": 1}'], "unknown key(s) unknown_key"),  # a TypeError
    (["embedding_search.py", "NAME", "3", '{"random_state": 1}'], "unknown key(s) random_state"),  # a TypeError
    (["embedding_search.py", "NAME", "3", '{"hops": "x"}'], "hops must be a non-negative integer"),  # a ValueError
    # the same message, but only after training the first seed
    (["embedding_search.py", "NAME", "3", '{"representation": "nosuch"}'], "config: unknown representation"),
    (["embedding_search.py", "NAME", "3", '{"hidden": '], "config is not JSON"),
])
def test_bad_benchmark_arguments_change_nothing(args, message):
    before = _snapshot()
    run = _benchmark(args)
    assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert _snapshot() == before


def test_scale_report_only_rejects_a_file_that_is_not_its_result(tmp_path):
    (tmp_path / "bad.json").write_text("{")
    (tmp_path / "other.json").write_text('{"nodes": 10}')
    for name in ("bad.json", "other.json"):  # a JSONDecodeError, a KeyError traceback
        run = _benchmark(["scale.py", "--report-only", "--json", str(tmp_path / name)])
        assert run.returncode == 2 and f"{tmp_path / name}:" in run.stderr and "Traceback" not in run.stderr, run.stderr


@pytest.mark.parametrize("args,message", [
    # a run's bad input (here: no Cora) was reported as "failed with exit code 2" and exit 1
    (["scale_out.py", "--cora", "--json", NOWHERE], "graphvae linkpred: error: dataset 'cora'"),
    (["scale.py", "--all", "--sizes", "1", "--json", NOWHERE], "scale.py: error: num_nodes must be"),
    (["partitions.py", "--json", NOWHERE], "partitions.py: error: dataset 'cora'"),  # skipped, exit 0
    (["maskgae_reference.py", "--json", NOWHERE], "maskgae_reference.py: error: dataset 'cora'"),
    (["precision.py", "--json", NOWHERE], "precision.py: error: dataset 'cora'"),
    (["validation_halves.py", "--json", NOWHERE], "validation_halves.py: error: dataset 'cora'"),
])
def test_bad_input_of_a_run_exits_2(tmp_path, args, message):
    before = _snapshot()
    run = _benchmark(args, env=_no_data(tmp_path))
    assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert "exit code" not in run.stderr and _snapshot() == before


def test_autoencoders_report_a_failed_command_as_bad_input(tmp_path, monkeypatch, capsys):
    # the command's own error (exit 2) became "failed: graphvae ae ..." and exit 1
    autoencoders = _module("autoencoders", monkeypatch)
    (tmp_path / "file").touch()
    cmd = ["ae", "--kind", "vanilla", "--dataset", "digits", "--json", str(tmp_path / "file" / "x.json"), "--no-progress"]
    with pytest.raises(SystemExit) as excinfo:
        autoencoders.run_benchmark(lambda: autoencoders.run(cmd))
    err = capsys.readouterr().err
    assert excinfo.value.code == 2 and "graphvae ae: error:" in err and "Traceback" not in err, err
    assert "`graphvae ae --kind vanilla ...` exited with status 2" in err


def test_linkpred_runs_this_checkouts_command(tmp_path):
    # it ran the `graphvae` found on PATH, whichever copy of the package that script belongs to
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "graphvae"
    fake.write_text("#!/bin/sh\necho 'an installed graphvae script' >&2\nexit 3\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    before = _snapshot()
    run = _benchmark(["linkpred.py", "--seeds", "1", "--more-seeds", "0", "--negatives", "-1"], env=env)
    assert "an installed graphvae script" not in run.stderr, run.stderr
    assert run.returncode == 2 and "graphvae linkpred: error: argument --negatives" in run.stderr, run.stderr
    assert "`graphvae linkpred --dataset cora ...` exited with status 2" in run.stderr and _snapshot() == before


def test_startup_times_this_checkouts_command(monkeypatch):
    # the installed `graphvae` script next to the interpreter was timed, whichever copy of the package it runs
    startup = _module("startup", monkeypatch)
    commands = startup.commands()
    assert all(argv[:3] == [sys.executable, "-m", "graphvae"] for name, argv in commands.items()
               if name.startswith("graphvae")), commands
    calls = []
    monkeypatch.setattr(startup.subprocess, "run", lambda argv, **kwargs: calls.append(kwargs))
    startup.median_seconds(commands["graphvae --help"], 1)
    assert calls[0]["cwd"] == startup.ROOT == ROOT  # `-m graphvae` and `-c "import graphvae"` find the checkout


def test_startup_no_docs_writes_the_json_only(tmp_path, monkeypatch):
    # docs/benchmarks.md was rewritten on every run
    startup = _module("startup", monkeypatch)
    monkeypatch.setattr(startup, "median_seconds", lambda argv, runs: 0.25)
    monkeypatch.setattr(startup, "update_section", lambda *a, **k: pytest.fail("docs/benchmarks.md rewritten"))
    monkeypatch.setattr(sys, "argv", ["startup.py", "--runs", "1", "--no-docs", "--json", str(tmp_path / "s.json")])
    startup.main()
    assert json.loads((tmp_path / "s.json").read_text())["seconds"]["graphvae --help"] == 0.25


def test_scale_report_only_no_docs_writes_the_json_only(tmp_path):
    # --report-only always redrew docs/figures/scale.png and rewrote docs/benchmarks.md
    result = tmp_path / "scale.json"
    shutil.copy(ROOT / "benchmarks" / "results" / "scale.json", result)
    before = _snapshot()
    run = _benchmark(["scale.py", "--report-only", "--no-docs", "--json", str(result)])
    assert run.returncode == 0 and "## Scale" in run.stdout, run.stderr
    assert _snapshot() == before and "sizes" in json.loads(result.read_text())


@pytest.mark.parametrize("value", ["abc", "0", "inf", "1e20"])
def test_distributed_timeout_setting_is_checked(monkeypatch, value):
    # inf and 1e20 overflowed the process group's timedelta and were reported as a failed rendezvous (exit 1)
    from graphvae import InputError
    from graphvae.training.distributed.runtime import timeout_seconds

    monkeypatch.setenv("GRAPHVAE_DIST_TIMEOUT", value)
    with pytest.raises(InputError, match="GRAPHVAE_DIST_TIMEOUT"):
        timeout_seconds()


@pytest.mark.parametrize("status", [1, 2])
def test_a_failed_command_keeps_its_status(monkeypatch, capsys, status):
    # a command that crashed (status 1, its traceback on stderr) was reported as bad input, status 2
    docs = _module("_docs", monkeypatch)

    def main():
        raise subprocess.CalledProcessError(status, [sys.executable, "-m", "graphvae", "linkpred", "--dataset", "cora"])

    with pytest.raises(SystemExit) as excinfo:
        docs.run_benchmark(main)
    assert excinfo.value.code == status
    assert f"`graphvae linkpred --dataset cora ...` exited with status {status}" in capsys.readouterr().err


@pytest.mark.parametrize("task,epochs", [("linkpred", 20), ("nodeclas", 30)])
def test_maskgae_reference_trains_and_writes_its_summary(tmp_path, cora, task, epochs):
    # each published procedure's re-implementation runs end to end on one seed of Cora (one or two validations)
    out = tmp_path / "reference.json"
    run = _benchmark(["maskgae_reference.py", "--task", task, "--datasets", "cora", "--seeds", "1", "--epochs",
                      str(epochs), "--workers", "1", "--json", str(out)])
    assert run.returncode == 0, run.stderr
    result = json.loads(out.read_text())
    (fit,) = result["fits"]
    assert fit["dataset"] == "cora" and fit["seed"] == 0 and fit["best_epoch"] in (10, 20, 30)
    assert 0.5 < fit["val_auc"] <= 1
    if task == "linkpred":
        assert 0.5 < fit["test_auc"] <= 1 and 0.5 < fit["test_ap"] <= 1
        assert result["summary"]["cora"]["test_auc"]["mean"] == fit["test_auc"]
    else:  # ten probe runs; 7 classes, so chance is about 0.14-0.3
        assert len(fit["probe_test_accuracy"]) == 10 and 0.4 < fit["probe_accuracy"] <= 1
        assert result["summary"]["cora"]["probe_accuracy"]["mean"] == fit["probe_accuracy"]


@pytest.mark.parametrize("pretrained,scratch,words", [
    ((0.939, 0.006), (0.932, 0.016), "mean gain 0.007, within one std"),
    ((0.900, 0.010), (0.940, 0.012), "mean loss 0.040, more than one std"),  # was "(a small gain, ...)" whatever the sign
    ((0.950, 0.010), (0.950, 0.010), "mean difference 0.000, within one std"),
])
def test_autoencoders_page_says_what_pretraining_did(monkeypatch, pretrained, scratch, words):
    """The stacked autoencoder's sentence in docs/autoencoders.md follows the measured means and stds."""
    autoencoders = _module("autoencoders", monkeypatch)
    verdict = autoencoders.pretraining_verdict(dict(zip(("mean", "std"), pretrained)), dict(zip(("mean", "std"), scratch)))
    assert words in verdict
