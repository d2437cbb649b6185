"""docs/models.md, docs/benchmarks.md (and any docs page added since) stay true to the code and to the JSON.

tests/test_audit7_docs.py checks README.md and five docs pages mechanically; this file reuses its helpers on every
other docs page (commands parse, benchmark flags exist, paths exist), and adds what those helpers miss on any page:
a command in inline code broken over two lines, and ``results/X.json`` named without its ``benchmarks/`` folder.

The generated tables (between ``<!-- BEGIN x -->`` and ``<!-- END x -->``, written by a benchmark's
``update_section``) of docs/models.md and docs/benchmarks.md are recomputed here from the JSON in
benchmarks/results/ -- from the per-seed (per-run) records where the JSON keeps them, with this file's own means,
population stds, ratios and formatting, not the benchmark's -- and compared with the page cell by cell at the
page's rounding. Numbers quoted in prose next to a named JSON file are checked the same way, and the
hyper-parameters docs/models.md states for each named model against ``graphvae.estimators.zoo.MODELS`` and the
estimator's defaults. Each checker is shown to fail on a deliberately broken copy of the page.
"""
from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_audit7_docs import (DOCS, ROOT, _benchmark_problems, _command_problems, _flags_missing,  # noqa: E402
                              _graphvae_argv, _path_problems, _text)

sys.path.remove(str(Path(__file__).resolve().parent))

RESULTS = ROOT / "benchmarks" / "results"
#: the docs pages test_audit7_docs.py does not check (docs/models.md, docs/benchmarks.md and any added since)
OTHER_DOCS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md") if str(p.relative_to(ROOT))
                    not in DOCS)
ALL_DOCS = [*DOCS, *OTHER_DOCS]


def test_other_docs_are_the_two_pages_at_least():
    assert {"docs/models.md", "docs/benchmarks.md"} <= set(OTHER_DOCS)


# ----------------------------------------------------------------------------------------------- mechanical
@pytest.mark.parametrize("doc", OTHER_DOCS)
def test_every_documented_command_parses(doc: str) -> None:
    problems = _command_problems(_text(doc))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("doc", OTHER_DOCS)
def test_every_benchmark_flag_exists(doc: str) -> None:
    problems = _benchmark_problems(_text(doc))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("doc", OTHER_DOCS)
def test_every_repository_path_and_figure_exists(doc: str) -> None:
    problems = _path_problems(doc, _text(doc))
    assert not problems, "\n".join(problems)


def _unfenced(text: str) -> str:
    """``text`` without its fenced code blocks (whose lines test_audit7_docs checks)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def _extra_problems(text: str) -> list[str]:
    """What test_audit7_docs' helpers miss: inline code broken over lines (a ``graphvae`` command, a benchmark
    command), and ``results/...`` paths named without ``benchmarks/``."""
    problems = []
    for span in re.findall(r"`([^`]+)`", _unfenced(text)):
        if "\n" not in span:
            continue  # one-line spans: test_audit7_docs
        line = " ".join(span.split())
        argv = _graphvae_argv(line)
        if argv and _flags_missing(argv):  # inline code may hold placeholders (D, M, ...): flags only, as audit7
            problems.append(f"{line}: unknown {_flags_missing(argv)}")
        problems += _benchmark_problems(line)
    for path in re.findall(r"(?<![\w/.])results/[\w./*-]*\w", text):
        if not (list((ROOT / "benchmarks").glob(path)) if "*" in path else (ROOT / "benchmarks" / path).exists()):
            problems.append(f"path benchmarks/{path}")
    return problems


@pytest.mark.parametrize("doc", ALL_DOCS)
def test_commands_broken_over_lines_and_short_result_paths(doc: str) -> None:
    problems = _extra_problems(_text(doc))
    assert not problems, "\n".join(problems)


def test_the_extra_checker_fails_on_a_broken_doc() -> None:
    good = ("`python -m graphvae linkpred --dataset D\n  --model best --seeds 10 --device cuda` and "
            "(`results/maskgae_reference.json`)")
    assert not _extra_problems(good)
    assert _extra_problems(good.replace("--seeds 10", "--seed 10"))  # a flag that does not exist
    assert _extra_problems(good.replace("maskgae_reference", "maskgae_references"))
    assert _extra_problems("(`results/model_*.json`)") and not _extra_problems("(`results/models_*.json`)")
    assert _extra_problems("`python benchmarks/models.py\n --epochs-times`")


# ----------------------------------------------------------------------------------------------- sections
def _sections(text: str) -> dict[str, str]:
    return dict(re.findall(r"<!-- BEGIN ([\w-]+) -->\n(.*?)<!-- END \1 -->", text, re.S))


def _writers() -> dict[tuple[str, str], str]:
    """(page, section) -> the benchmark script whose ``update_section`` writes it."""
    found = {}
    for script in sorted((ROOT / "benchmarks").glob("*.py")):
        for page, name in re.findall(r"update_section\(\s*\"([\w.]+)\",\s*\"([\w-]+)\"", script.read_text()):
            found[(f"docs/{page}", name)] = script.name
    return found


def test_every_generated_section_is_on_its_page() -> None:
    """A benchmark's section exists on its page (a rerun replaces it instead of appending a second copy)."""
    missing = [f"{page} has no section {name} ({script})" for (page, name), script in _writers().items()
               if name not in _sections(_text(page))]
    assert not missing, "\n".join(missing)


def _tables(text: str) -> list[list[list[str]]]:
    """The markdown tables of ``text``: each a list of rows of stripped cells, header first, separator dropped."""
    out, current = [], None
    for line in text.splitlines():
        if not line.startswith("|"):
            current = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if current is None:
            current = []
            out.append(current)
        if not all(re.fullmatch(r":?-+:?", c) for c in cells):
            current.append(cells)
    return out


def _load(name: str):
    return json.loads((RESULTS / name).read_text())


def _ms(values, digits: int = 3) -> str:
    """mean ± population std (ddof 0), as the pages print them."""
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.{digits}f} ± {v.std():.{digits}f}"


def _records(name: str) -> list[dict]:
    """The per-seed records of a results file, checked to be seeds 0..n-1 once each."""
    seeds = _load(name)["seeds"]
    assert [s["seed"] for s in seeds] == list(range(len(seeds))), name
    return seeds


def _col(records: list[dict], key: str) -> np.ndarray:
    return np.array([r[key] for r in records], dtype=float)


def _compare(label: str, page_rows: list[list[str]], expected_rows: list[list[str]]) -> list[str]:
    problems = [] if len(page_rows) == len(expected_rows) else [f"{label}: {len(page_rows)} rows, JSON gives "
                                                                f"{len(expected_rows)}"]
    for row, exp in zip(page_rows, expected_rows):
        if row != exp:
            problems.append(f"{label}: page {row}\n  JSON {exp}")
    return problems


def _name(cell: str) -> str:
    return re.match(r"`([\w-]+)`", cell).group(1)


def _models_problems(text: str) -> list[str]:
    """docs/models.md 'models': each named model's 10-seed test AUC/AP, s/seed (CPU) and mean validation AUC."""
    table = _tables(_sections(text)["models"])[0]
    expected = []
    for row in table[1:]:
        cells, val = [row[0]], []
        for dataset in ("cora", "citeseer"):
            s = _records(f"models_{dataset}_{_name(row[0])}.json")
            cells += [_ms(_col(s, "auc")), _ms(_col(s, "ap")),
                      f"{_col(s, 'train_seconds').mean():.1f} ({_col(s, 'fit_cpu_seconds').mean():.1f} CPU)"]
            val.append(_col(s, "val_auc").mean())
        expected.append(cells + [f"{np.mean(val):.3f}"])
    problems = _compare("models", table[1:], expected)
    from graphvae.estimators.zoo import MODELS

    listed = [_name(r[0]) for r in table[1:]]
    if sorted(listed) != sorted(MODELS):
        problems.append(f"models table lists {listed}, the zoo has {list(MODELS)}")
    return problems


#: each ablation row: how its label starts, its results file's variant, and the configuration differences from
#: `best` that the label states (read from the label, checked against the JSON's recorded configuration)
ABLATION_ROWS = [
    ("`maskgae-wide-snapshots` (all ingredients)", "maskgae-wide-snapshots", {}),
    ("no batch norm", "best-ablation0", {"batch_norm": False}),
    ("no encoder dropout (0.8", "best-ablation1", {"encoder_dropout": 0.0}),
    ("no degree decoder", "best-ablation2", {"degree_weight": 0.0}),
    ("inner-product decoder instead of the MLP (no degree decoder)", "best-ablation3",
     {"decoder": "inner", "degree_weight": 0.0}),
    ("no edge masking", "best-ablation4", {"mask_rate": 0.0, "degree_weight": 0.0}),
    ("masking rate 0.7", "best-ablation5", {"mask_rate": 0.7}),
    ("32 decoder units, 3 sampled partners", "best-ablation6", {"decoder_hidden": 32, "negatives_per_positive": 0.5}),
    ("64 decoder units, 3 sampled partners", "best-ablation7", {"negatives_per_positive": 0.5}),
    ("32 decoder units, 5 sampled partners", "best-ablation8", {"decoder_hidden": 32}),
    ("degree decoder weight 0.003", "best-ablation9", {"degree_weight": 0.003}),
    ("no snapshot ensemble", "maskgae-wide", {"snapshots": 1}),
    ("no ELU after the encoder's head", "best-ablation11", {"head_activation": None}),
    ("no weight decay", "best-ablation12", {"weight_decay": 0.0}),
]


def _ablation_problems(text: str) -> list[str]:
    table = _tables(_sections(text)["ablation"])[0]
    best = _load("models_cora_maskgae-wide-snapshots.json")["config"]
    problems, expected = [], []
    for row, (label, variant, diff) in zip(table[1:], ABLATION_ROWS):
        if not row[0].startswith(label):
            problems.append(f"ablation row {row[0]!r} is not {label!r}")
        runs = {}
        for dataset in ("cora", "citeseer"):
            data = _load(f"models_{dataset}_{variant}.json")
            changed = {k: v for k, v in data["config"].items() if best.get(k) != v}
            if changed != diff:
                problems.append(f"ablation {row[0]!r}: {dataset} JSON differs from best by {changed}, label: {diff}")
            runs[dataset] = _records(f"models_{dataset}_{variant}.json")
        cora, citeseer = runs["cora"], runs["citeseer"]
        expected.append([row[0], f"0..{len(cora) - 1}", _ms(_col(cora, "auc")), _ms(_col(cora, "ap")),
                         _ms(_col(citeseer, "auc")), _ms(_col(citeseer, "ap")),
                         f"{(_col(cora, 'val_auc').mean() + _col(citeseer, 'val_auc').mean()) / 2:.3f}",
                         f"{_col(cora, 'train_seconds').mean():.1f} ({_col(cora, 'fit_cpu_seconds').mean():.1f} CPU)"])
    return problems + _compare("ablation", table[1:], expected)


def _epoch_times_problems(text: str) -> list[str]:
    table = _tables(_sections(text)["epoch-times"])[0]
    times = _load("models_epoch_times.json")["times"]
    expected = []
    for row in table[1:]:
        cells = [row[0]]
        for dataset in ("cora", "citeseer"):
            t, gae = times[f"{dataset}:{_name(row[0])}"], times[f"{dataset}:gae"]
            cells += [f"{t['seconds_per_epoch']:.4f} ({t['cpu_seconds_per_epoch']:.4f})",
                      f"{t['seconds_per_epoch'] / gae['seconds_per_epoch']:.1f}×"]
        expected.append(cells)
    return _compare("epoch-times", table[1:], expected)


#: Kipf & Welling (2016), Table 1: test AUC / AP (%), an external reference
PAPER = {("cora", "gae"): (91.0, 92.0), ("cora", "vgae"): (91.4, 92.6),
         ("citeseer", "gae"): (89.5, 89.9), ("citeseer", "vgae"): (90.8, 92.0)}


def _linkpred_problems(text: str) -> list[str]:
    """docs/benchmarks.md 'linkpred': the paper table, the early-stopping table and the 50-seed table."""
    paper, early, more = _tables(_sections(text)["linkpred"])
    problems = []
    for table, suffix in ((paper, ""), (early, "_early_stopping"), (more, "_50_seeds")):
        expected = []
        for row in table[1:]:
            dataset, model = row[0], row[1].lower()
            data = _load(f"linkpred_{dataset}_{model}{suffix}.json")
            s = _records(f"linkpred_{dataset}_{model}{suffix}.json")
            auc, ap, n = _col(s, "auc"), _col(s, "ap"), len(s)
            cells = [dataset, model.upper(), _ms(auc), _ms(ap)]
            times = [f"{data['train_seconds'] / n:.2f}", f"{data['total_seconds'] / n:.2f}"]
            if suffix == "_50_seeds":
                target = [float(x) for x in re.findall(r"[\d.]+", row[5])]
                cells += [f"{auc.std(ddof=1) / math.sqrt(n):.4f} / {ap.std(ddof=1) / math.sqrt(n):.4f}", row[5],
                          "yes" if auc.mean() >= target[0] and ap.mean() >= target[1] else "**no**"]
            elif suffix:
                cells += times
            else:
                a, p = PAPER[(dataset, model)]
                target = [float(x) for x in re.findall(r"[\d.]+", row[6])]
                cells += [f"{a / 100:.3f} / {p / 100:.3f}", row[5], row[6],
                          "yes" if auc.mean() >= target[0] and ap.mean() >= target[1] else "**no**", *times]
            expected.append(cells)
        problems += _compare(f"linkpred{suffix}", table[1:], expected)
    return problems


def _link_estimators_problems(text: str) -> list[str]:
    table = _tables(_sections(text)["link_estimators"])[0]
    runs = _load("link_estimators.json")
    expected = []
    for row in table[1:]:
        dataset, model = row[0], row[1].lower()
        cells = []
        for estimator in ("sampled", "control variate", "exact"):
            (run,) = [r for r in runs if (r["dataset"], r["model"], r["estimator"]) == (dataset, model, estimator)]
            cells.append(run["seeds"])
        reference = _records(f"reference_gae_{dataset}_{model}.json")
        expected.append([dataset, row[1]] + [f"{_ms(_col(s, 'auc'))} / {_ms(_col(s, 'ap'))}"
                                             for s in [*cells, reference]]
                        + [", ".join(f"{_col(s, 'ms_per_epoch').mean():.1f}" for s in cells)])
    return _compare("link_estimators", table[1:], expected)


def _stage_rows(table: list[list[str]], columns: list[dict]) -> list[list[str]]:
    """A stage-profile table recomputed: each stage's ms per epoch from each column's ``stages_ms_per_epoch``."""
    stage = lambda row: re.search(r"`([\w.]+)`", row[0]).group(1)  # noqa: E731
    return [[row[0]] + [f"{c['stages_ms_per_epoch'][stage(row)]:.2f}" for c in columns] for row in table[1:]]


def _speed_problems(text: str) -> list[str]:
    section = _sections(text)["speed"]
    single, batched, *profiles = _tables(section)
    speed = _load("speed.json")
    by = {d["dataset"]: d for d in speed["datasets"]}
    problems = _compare("speed", single[1:], [
        [d, f"{by[d]['graphvae_ms']:.2f}", f"{by[d]['pyg_ms']:.2f}", f"{by[d]['pyg_ms'] / by[d]['graphvae_ms']:.2f}x",
         f"{by[d]['graphvae_auc']:.3f}", f"{by[d]['pyg_auc']:.3f}"] for d in (r[0] for r in single[1:])])
    problems += _compare("speed batched", batched[1:], [
        [d, f"{by[d]['graphvae_batched_ms_per_seed']:.2f}",
         f"{by[d]['pyg_ms'] / by[d]['graphvae_batched_ms_per_seed']:.1f}x", f"{by[d]['graphvae_batched_auc']:.3f}"]
        for d in (r[0] for r in batched[1:])])
    for table, dataset in zip(profiles, ("cora", "citeseer")):
        p = speed["profiles_ms_per_epoch"][dataset]
        problems += _compare(f"speed profile {dataset}", table[1:], _stage_rows(table, [p["single"], p["batched x10"]]))
        calls = (f"ATen calls per epoch (nested calls included; deterministic, independent of the load): single "
                 f"{p['single']['aten_calls_per_epoch']['total']:.0f}; batched x10 "
                 f"{p['batched x10']['aten_calls_per_epoch']['total']:.0f}.")
        problems += [] if calls in section else [f"speed: no line {calls!r}"]
    auc = speed["linkpred_cora_vgae_10_seeds_auc"]
    command = (f"**{speed['linkpred_cora_vgae_10_seeds_seconds']:.1f} s**, of which training "
               f"{speed['linkpred_cora_vgae_10_seeds_train_seconds']:.1f} s; mean test AUC {auc['mean']:.4f} ± "
               f"{auc['std']:.4f}")
    return problems + ([] if command in section else [f"speed: no text {command!r}"])


def _scale_problems(text: str) -> list[str]:
    sizes, profile = _tables(_sections(text)["scale"])
    data = _load("scale.json")
    runs: dict[int, list[dict]] = {}
    for run in data["runs"]:
        runs.setdefault(run["nodes"], []).append(run)
    expected = []
    for row in sizes[1:]:
        rs = runs[int(row[0].replace(",", ""))]
        stage = lambda name: [r["stages"][name]["seconds"] for r in rs]  # noqa: E731
        expected.append([f"{rs[0]['nodes']:,}", f"{np.mean([r['edges'] for r in rs]):,.0f}",
                         _ms([r["seconds_per_epoch"] for r in rs], 2), _ms([r["peak_rss_gb"] for r in rs], 2),
                         _ms([r["test_auc"] for r in rs]), _ms([r["setup_seconds"] for r in rs], 2),
                         _ms(stage("generate"), 2), _ms(stage("split"), 2)])
    problems = _compare("scale", sizes[1:], expected)
    return problems + _compare("scale profile", profile[1:],
                               _stage_rows(profile, [_load("scale_profile_1m.json")["profile"]]))


def _startup_problems(text: str) -> list[str]:
    table = _tables(_sections(text)["startup"])[0]
    seconds = _load("startup.json")["seconds"]
    return _compare("startup", table[1:], [[f"`{c}`", f"{v:.3f}"] for c, v in seconds.items()])


def _cuda_problems(text: str) -> list[str]:
    epochs, commands, scale = _tables(_sections(text)["cuda"])
    data = _load("cuda.json")
    expected = []
    for row in epochs[1:]:
        (e,) = [x for x in data["epochs"] if x["dataset"] == row[0]]
        g, p = (np.mean([r[k] for r in e["runs"]]) for k in ("graphvae_ms", "pyg_ms"))
        expected.append([row[0], f"{g:.2f}", f"{p:.2f}", f"{p / g:.2f}x",
                         f"{np.mean([r['graphvae_auc'] for r in e['runs']]):.4f}",
                         f"{np.mean([r['pyg_auc'] for r in e['runs']]):.4f}"])
    problems = _compare("cuda epochs", epochs[1:], expected)
    problems += _compare("cuda commands", commands[1:], [
        [c["dataset"], c["model"], f"{c['wall_seconds']:.1f}", f"{c['wall_seconds'] / 10:.2f}",
         f"{c['auc']['mean']:.4f} ± {c['auc']['std']:.4f}", f"{c['ap']['mean']:.4f} ± {c['ap']['std']:.4f}"]
        for c in data["commands"]])
    return problems + _compare("cuda scale", scale[1:], [
        [s["model"], str(s["epochs"]), f"{s['seconds_per_epoch']:.3f}", f"{s['peak_gpu_memory_gb']:.2f}",
         f"{s['peak_rss_gb']:.2f}", f"{s['test_auc']:.4f}"] for s in data["scale"]])


#: (page, section) -> the checker that recomputes its tables from the JSON
TABLE_CHECKERS: dict[tuple[str, str], Callable[[str], list[str]]] = {
    ("docs/models.md", "models"): _models_problems,
    ("docs/models.md", "ablation"): _ablation_problems,
    ("docs/models.md", "epoch-times"): _epoch_times_problems,
    ("docs/benchmarks.md", "linkpred"): _linkpred_problems,
    ("docs/benchmarks.md", "link_estimators"): _link_estimators_problems,
    ("docs/benchmarks.md", "speed"): _speed_problems,
    ("docs/benchmarks.md", "scale"): _scale_problems,
    ("docs/benchmarks.md", "startup"): _startup_problems,
    ("docs/benchmarks.md", "cuda"): _cuda_problems,
}


def test_every_generated_section_of_the_two_pages_has_a_checker() -> None:
    generated = {key for key in _writers() if key[0] in ("docs/models.md", "docs/benchmarks.md")}
    assert generated == set(TABLE_CHECKERS)


@pytest.mark.parametrize("key", list(TABLE_CHECKERS), ids=lambda k: f"{k[0]}:{k[1]}")
def test_generated_tables_equal_the_json(key: tuple[str, str]) -> None:
    problems = TABLE_CHECKERS[key](_text(key[0]))
    assert not problems, "\n".join(problems)


#: (page, section) -> a cell of that section and a wrong value for it
BREAKS = {
    ("docs/models.md", "models"): ("| 0.911 ± 0.009 |", "| 0.912 ± 0.009 |"),
    ("docs/models.md", "ablation"): ("| 0.949 ± 0.007 |", "| 0.949 ± 0.008 |"),
    ("docs/models.md", "epoch-times"): ("| 3.1× |", "| 3.2× |"),
    ("docs/benchmarks.md", "linkpred"): ("| 0.0014 / 0.0015 |", "| 0.0014 / 0.0016 |"),
    ("docs/benchmarks.md", "link_estimators"): ("1.8, 2.9, 30.4", "1.8, 2.9, 30.5"),
    ("docs/benchmarks.md", "speed"): ("| 5.55x |", "| 5.56x |"),
    ("docs/benchmarks.md", "scale"): ("| 3.44 ± 0.00 |", "| 3.45 ± 0.00 |"),
    ("docs/benchmarks.md", "startup"): ("| 1.245 |", "| 1.254 |"),
    ("docs/benchmarks.md", "cuda"): ("| 44.7 |", "| 47.7 |"),
}


@pytest.mark.parametrize("key", list(BREAKS), ids=lambda k: f"{k[0]}:{k[1]}")
def test_each_table_checker_fails_on_a_broken_doc(key: tuple[str, str]) -> None:
    text = _text(key[0])
    good, bad = BREAKS[key]
    section = _sections(text)[key[1]]
    assert good in section
    broken = text.replace(section, section.replace(good, bad, 1))
    assert TABLE_CHECKERS[key](broken)


def test_the_table_checkers_fail_on_a_row_too_many_or_a_relabelled_variant() -> None:
    text = _text("docs/models.md")
    row = next(line for line in _sections(text)["models"].splitlines() if line.startswith("| `gae`"))
    assert _models_problems(text.replace(row, row + "\n" + row.replace("`gae`", "`vgae`"), 1))
    assert _ablation_problems(text.replace("| no batch norm |", "| no layer norm |"))


# ----------------------------------------------------------------------------------------------- prose
def _seeds(dataset: str, variant: str, key: str) -> np.ndarray:
    return _col(_records(f"models_{dataset}_{variant}.json"), key)


def _f(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}f}"


def _s(x: float, digits: int = 4) -> str:
    """A signed number as the pages print it (U+2212 for minus)."""
    return f"{x:+.{digits}f}".replace("-", "−")


def _e(x: float) -> str:
    """``1.4e-5``, as the page writes a small number."""
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _half_up(x: float, digits: int = 2) -> str:
    """``x`` (as stored: ``4.085``) rounded half up to ``digits`` decimals, as a page rounds a stored number."""
    from decimal import ROUND_HALF_UP, Decimal

    return str(Decimal(repr(x)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def _sem(x: np.ndarray) -> float:
    return float(x.std(ddof=1) / math.sqrt(len(x)))


def _pair(dataset: str, a: str, b: str, key: str) -> np.ndarray:
    return _seeds(dataset, a, key) - _seeds(dataset, b, key)


def _reference(dataset: str, key: str) -> np.ndarray:
    fits = sorted((f for f in _load("maskgae_reference.json")["fits"] if f["dataset"] == dataset),
                  key=lambda f: f["seed"])
    assert [f["seed"] for f in fits] == list(range(10))
    return np.array([f[key] for f in fits])


def _val(variant: str) -> float:
    return float(np.mean([_seeds(d, variant, "val_auc").mean() for d in ("cora", "citeseer")]))


def _fresh(weight: float, dataset: str | None, key: str) -> float:
    rows = [s for s in _load("fresh_seeds_10_19/best_degree_weight.json")["seeds"] if s["degree_weight"] == weight]
    if dataset:
        return float(np.mean([s[key] for s in rows if s["dataset"] == dataset]))
    return float(np.mean([np.mean([s[key] for s in rows if s["dataset"] == d]) for d in ("cora", "citeseer")]))


def _precision(dataset: str, precision: str) -> list[dict]:
    return [f for f in _load("decoder_precision.json")["fits"]
            if f["dataset"] == dataset and f["precision"] == precision]


def _halves(dataset: str, key: str) -> dict:
    return _load("validation_halves.json")["summary"][dataset][key]


def _claims() -> list[tuple[str, str]]:
    """(page, the sentence with its numbers, as the JSON gives them): numbers quoted in prose next to a named JSON
    file, recomputed from the per-seed (per-fit) records where the JSON keeps them (the held-out-halves comparisons
    and the reference's CPU means from its summary). Whitespace is compared collapsed."""
    snap, wide = "maskgae-wide-snapshots", "maskgae-wide"
    c = {d: {k: _seeds(d, snap, k) for k in ("auc", "ap")} for d in ("cora", "citeseer")}
    w = {d: {k: _seeds(d, wide, k) for k in ("auc", "ap")} for d in ("cora", "citeseer")}
    a9 = {d: {k: _seeds(d, "best-ablation9", k).mean() for k in ("auc", "ap")} for d in ("cora", "citeseer")}
    gain = {d: {k: _pair(d, snap, wide, k) for k in ("auc", "ap")} for d in ("cora", "citeseer")}
    ap_drops = sorted(-gain["cora"]["ap"][gain["cora"]["ap"] < 0], reverse=True)
    ref = {d: {k: _reference(d, k) for k in ("test_auc", "test_ap", "test_auc_train_val_graph",
                                               "test_ap_train_val_graph", "val_auc", "fit_cpu_seconds", "seed")}
           for d in ("cora", "citeseer")}

    def minus_ref(d: str, variant: str, key: str) -> str:
        diff = _seeds(d, variant, key) - ref[d]["test_" + key if key != "val_auc" else key]
        return f"{_s(diff.mean())} ± {_f(_sem(diff))}"

    fr = {(w_, d): {k: _fresh(w_, d, k) for k in ("auc", "ap")} for w_ in (0.01, 0.003) for d in ("cora", "citeseer")}
    prec = {(d, p): _precision(d, p) for d in ("cora", "citeseer") for p in ("float32", "bfloat16")}

    def per_epoch_ms(fits: list[dict]) -> str:
        return f"{1000 * sum(f['fit_cpu_seconds'] for f in fits) / sum(f['epochs_run'] for f in fits):.1f}"

    def prec_row(p: str) -> str:
        cells = [_ms([f["val_auc"] for f in prec[(d, p)]], 4) for d in ("cora", "citeseer")]
        cells += [f"{np.mean([f['fit_cpu_seconds'] for f in prec[(d, p)]]):.1f} "
                  f"({np.mean([f['epochs_run'] for f in prec[(d, p)]]):.0f})" for d in ("cora", "citeseer")]
        return f"| {p} | " + " | ".join(cells) + " |"

    def prec_diff(d: str) -> str:
        a = {f["seed"]: f["val_auc"] for f in prec[(d, "float32")]}
        b = {f["seed"]: f["val_auc"] for f in prec[(d, "bfloat16")]}
        diff = np.array([b[s] - a[s] for s in sorted(a)])
        return f"{_s(diff.mean())} ± {_f(diff.std())} ({int((diff > 0).sum())} of {len(diff)} higher)"

    def halves(d: str, k: str, full: bool = False) -> str:
        h = _halves(d, f"snapshots_{k}")
        return _s(h["minus_snapshots_1"]) + (f" ± {_f(h['standard_error'])}" if full else "")

    best_1m = _load("scale_1m_best.json")
    cuda = {(r["dataset"], r["model"]): r for r in _load("cuda.json")["commands"]}
    lp50 = {(d, m): {k: _col(_records(f"linkpred_{d}_{m}_50_seeds.json"), k).mean() for k in ("auc", "ap")}
            for d in ("cora", "citeseer") for m in ("gae", "vgae")}
    lp10 = {m: _col(_records(f"linkpred_cora_{m}.json"), "ap").mean() for m in ("gae", "vgae")}
    dense = _load("dense_features.json")["runs"]
    dms = {k: [r["ms_per_epoch"] for r in dense if r["features"] == k] for k in ("dense", "sparse")}
    speed = _load("speed_2026-12-07_xeon.json")
    sd = {d["dataset"]: d for d in speed["datasets"]}
    prof = speed["profiles_ms_per_epoch"]
    cuda_scale = {s["model"]: s for s in _load("cuda.json")["scale"]}
    cpu_1m = next(r for r in _load("scale.json")["runs"] if r["nodes"] == 1_000_000)
    interleaved = _load("compile_probe_interleaved.json")["ms_per_epoch"]

    def ms_range(key: str) -> str:  # the JSON keeps 3 decimals; the page rounds them half up
        return f"{_half_up(min(interleaved[key]))}-{_half_up(max(interleaved[key]))}"

    m = "docs/models.md"
    b = "docs/benchmarks.md"
    return [
        (m, f"`best` (`maskgae-wide-snapshots`) reaches **{_ms(c['cora']['auc'], 4)} AUC and "
            f"{_ms(c['cora']['ap'], 4)} AP** over seeds 0-9"),
        (m, f"(`maskgae-wide`, the same trained models) reached {_ms(w['cora']['auc'], 4)} / "
            f"{_ms(w['cora']['ap'], 4)}, "
            f"short by {_f(0.965 - w['cora']['auc'].mean())} / {_f(0.965 - w['cora']['ap'].mean())}; with the degree "
            f"weight 0.003 it had before 2026-12-04 evening (the ablation's row, the same models bit for bit) "
            f"{_f(a9['cora']['auc'])} / {_f(a9['cora']['ap'])}"),
        (m, f"**CiteSeer: not met, by {_f(0.980 - c['citeseer']['auc'].mean())} / "
            f"{_f(0.980 - c['citeseer']['ap'].mean())}.** {_ms(c['citeseer']['auc'], 4)} AUC and "
            f"{_ms(c['citeseer']['ap'], 4)} AP (`maskgae-wide`: {_f(w['citeseer']['auc'].mean())} / "
            f"{_f(w['citeseer']['ap'].mean())}; published 98.0 / 98.2 on one split; `maskgae` "
            f"{_f(_seeds('citeseer', 'maskgae', 'auc').mean())} / {_f(_seeds('citeseer', 'maskgae', 'ap').mean())}; "
            f"`gnae-wd` {_f(_seeds('citeseer', 'gnae-wd', 'auc').mean(), 3)} / "
            f"{_f(_seeds('citeseer', 'gnae-wd', 'ap').mean(), 3)};"),
        (m, f"(`maskgae` {_f(_seeds('cora', 'maskgae', 'auc').mean())} / {_f(_seeds('cora', 'maskgae', 'ap').mean())}; "
            f"`gnae-wd` {_f(_seeds('cora', 'gnae-wd', 'auc').mean(), 3)} / "
            f"{_f(_seeds('cora', 'gnae-wd', 'ap').mean(), 3)})"),
        (m, f"mean validation AUC of `best` {_f(_val(snap), 5)} (Cora {_f(_seeds('cora', snap, 'val_auc').mean())}, "
            f"CiteSeer {_f(_seeds('citeseer', snap, 'val_auc').mean())})"),
        (m, f"the higher mean validation AUC on seeds 0-9, {_f(_val('best-ablation9'), 5)} against "
            f"{_f(_val(snap), 5)}"),
        (m, f"{_f(_fresh(0.003, None, 'val_auc'), 5)} against {_f(_fresh(0.01, None, 'val_auc'), 5)} for 0.01, so over "
            f"seeds 0-19 {_f((_fresh(0.003, None, 'val_auc') + _val('best-ablation9')) / 2, 5)} against "
            f"{_f((_fresh(0.01, None, 'val_auc') + _val(snap)) / 2, 5)}"),
        (m, f"seeds 0-9 Cora {_f(a9['cora']['auc'])} / {_f(a9['cora']['ap'])} against {_f(c['cora']['auc'].mean())} / "
            f"{_f(c['cora']['ap'].mean())}, CiteSeer {_f(a9['citeseer']['auc'])} / {_f(a9['citeseer']['ap'])} against "
            f"{_f(c['citeseer']['auc'].mean())} / {_f(c['citeseer']['ap'].mean())}; seeds 10-19 Cora "
            f"{_f(fr[(0.003, 'cora')]['auc'])} / {_f(fr[(0.003, 'cora')]['ap'])} against "
            f"{_f(fr[(0.01, 'cora')]['auc'])} / {_f(fr[(0.01, 'cora')]['ap'])}, CiteSeer "
            f"{_f(fr[(0.003, 'citeseer')]['auc'])} / {_f(fr[(0.003, 'citeseer')]['ap'])} against "
            f"{_f(fr[(0.01, 'citeseer')]['auc'])} / {_f(fr[(0.01, 'citeseer')]['ap'])})"),
        (m, f"AUC higher on every seed, {_s(gain['cora']['auc'].mean())} and {_s(gain['citeseer']['auc'].mean())}, the "
            f"Cora seed {int(np.argmin(gain['cora']['auc']))} gain {_e(gain['cora']['auc'].min())}, and AP lower on "
            f"two Cora seeds, by {_f(ap_drops[0])} and {_f(ap_drops[1])})"),
        (m, f"Test AUC / AP: **Cora {_ms(ref['cora']['test_auc'], 4)} / {_ms(ref['cora']['test_ap'], 4)}, CiteSeer "
            f"{_ms(ref['citeseer']['test_auc'], 4)} / {_ms(ref['citeseer']['test_ap'], 4)}** (embeddings of the "
            f"training graph; of the training + validation graph, as PyG's `RandomLinkSplit` gives their test split: "
            f"{_f(ref['cora']['test_auc_train_val_graph'].mean())} / "
            f"{_f(ref['cora']['test_ap_train_val_graph'].mean())} "
            f"and {_f(ref['citeseer']['test_auc_train_val_graph'].mean())} / "
            f"{_f(ref['citeseer']['test_ap_train_val_graph'].mean())})"),
        (m, f"against {ref['cora']['fit_cpu_seconds'].mean():.1f} CPU s per Cora fit and"),
        (m, f"against {ref['citeseer']['fit_cpu_seconds'].mean():.1f} per CiteSeer fit"),
        (m, f"against the table's re-run models (`results/models_*.json`): `maskgae-wide` minus the reference Cora AUC "
            f"{minus_ref('cora', wide, 'auc')}, AP {minus_ref('cora', wide, 'ap')}, CiteSeer "
            f"{minus_ref('citeseer', wide, 'auc')} / {minus_ref('citeseer', wide, 'ap')} "
            f"({_seeds('cora', wide, 'fit_cpu_seconds').mean():.1f} and "
            f"{_seeds('citeseer', wide, 'fit_cpu_seconds').mean():.1f} CPU s per fit); `best` Cora "
            f"{minus_ref('cora', snap, 'auc')} / {minus_ref('cora', snap, 'ap')}, CiteSeer "
            f"{minus_ref('citeseer', snap, 'auc')} / {minus_ref('citeseer', snap, 'ap')}; the Cora validation "
            f"difference {minus_ref('cora', wide, 'val_auc')} (within its standard error) and validation − test "
            f"{_f((_seeds('cora', wide, 'val_auc') - w['cora']['auc']).mean())} (Cora) and "
            f"{_f((_seeds('citeseer', wide, 'val_auc') - w['citeseer']['auc']).mean())} (CiteSeer)"),
        (m, f"against the reference's {_f((ref['cora']['val_auc'] - ref['cora']['test_auc']).mean())}; CiteSeer"),
        (m, f"and {_f((ref['citeseer']['val_auc'] - ref['citeseer']['test_auc']).mean())}). These paired numbers"),
        (m, f"Cora {_ms(ref['cora']['test_auc'], 3)} / {_ms(ref['cora']['test_ap'], 3)}, CiteSeer "
            f"{_ms(ref['citeseer']['test_auc'], 3)} / {_ms(ref['citeseer']['test_ap'], 3)};"),
        (m, f"held-out AUC {_s(_halves('cora', 'every_10')['minus_every_1'], 5)} ± "
            f"{_f(_halves('cora', 'every_10')['standard_error'])} (standard error; higher in "
            f"{_halves('cora', 'every_10')['higher']} of 10) on Cora and "
            f"{_s(_halves('citeseer', 'every_10')['minus_every_1'])} ± "
            f"{_f(_halves('citeseer', 'every_10')['standard_error'])} "
            f"({_halves('citeseer', 'every_10')['higher']} of 10) "
            f"on CiteSeer; every 5th {_s(_halves('cora', 'every_5')['minus_every_1'])} ± "
            f"{_f(_halves('cora', 'every_5')['standard_error'])} and "
            f"{_s(_halves('citeseer', 'every_5')['minus_every_1'])} "
            f"± {_f(_halves('citeseer', 'every_5')['standard_error'])}"),
        (m, f"k = 3 {halves('cora', 3)} / {halves('citeseer', 3)}, k = 10 {halves('cora', 10)} / "
            f"{halves('citeseer', 10)}, k = 20 {halves('cora', 20)} / {halves('citeseer', 20)}, k = 30 "
            f"{halves('cora', 30)} / {halves('citeseer', 30)}, **k = 50 {halves('cora', 50, True)} / "
            f"{halves('citeseer', 50, True)}** (higher in {_halves('cora', 'snapshots_50')['higher']} of 10 on both), "
            f"k = 100 {halves('cora', 100)} / {halves('citeseer', 100)}"),
        (m, prec_row("float32")),
        (m, prec_row("bfloat16")),
        (m, f"| bfloat16 − float32, per seed | {prec_diff('cora')} | {prec_diff('citeseer')} |"),
        (m, f"(Cora {per_epoch_ms(prec[('cora', 'bfloat16')])} against {per_epoch_ms(prec[('cora', 'float32')])} ms, "
            f"CiteSeer {per_epoch_ms(prec[('citeseer', 'bfloat16')])} against "
            f"{per_epoch_ms(prec[('citeseer', 'float32')])} ms)"),
        (m, f"**{best_1m['peak_rss_gb']:.2f} GB peak RSS** and **{best_1m['seconds_per_epoch']:.1f} s per epoch** "
            f"({best_1m['first_epoch_seconds']:.1f} s for the first;"),
        (m, f"test AUC {best_1m['test_auc']:.3f} and AP {best_1m['test_ap']:.3f} after those 2 epochs"),
        (m, f"took {cuda[('cora', 'best')]['wall_seconds']:.1f} s (Cora) and "
            f"{cuda[('citeseer', 'best')]['wall_seconds']:.1f} s (CiteSeer) wall, "
            f"{cuda[('cora', 'best')]['train_seconds'] / 10:.1f} and "
            f"{cuda[('citeseer', 'best')]['train_seconds'] / 10:.1f} s per fit"),
        (m, f"Cora {_f(cuda[('cora', 'best')]['auc']['mean'])} ± {_f(cuda[('cora', 'best')]['auc']['std'])} / "
            f"{_f(cuda[('cora', 'best')]['ap']['mean'])} ± {_f(cuda[('cora', 'best')]['ap']['std'])} and CiteSeer "
            f"{_f(cuda[('citeseer', 'best')]['auc']['mean'])} ± {_f(cuda[('citeseer', 'best')]['auc']['std'])} / "
            f"{_f(cuda[('citeseer', 'best')]['ap']['mean'])} ± {_f(cuda[('citeseer', 'best')]['ap']['std'])}"),
        (b, f"Cora GAE at {_f(lp50[('cora', 'gae')]['auc'], 3)} / {_f(lp50[('cora', 'gae')]['ap'], 3)} and "
            f"Cora VGAE at "
            f"{_f(lp50[('cora', 'vgae')]['auc'], 3)} / {_f(lp50[('cora', 'vgae')]['ap'], 3)}"),
        (b, f"both Cora APs: GAE {_f(lp10['gae'], 3)} against 0.920 and VGAE {_f(lp10['vgae'], 3)} against 0.926"),
        (b, f"**{min(dms['dense']):.1f}-{max(dms['dense']):.1f} ms per epoch dense, {min(dms['sparse']):.1f}-"
            f"{max(dms['sparse']):.1f} ms sparse ({np.median(dms['dense']) / np.median(dms['sparse']):.1f}×)**, the "
            f"same test AUC ({dense[0]['test_auc']:.4f}) both ways"),
        (b, f"Cora {sd['cora']['graphvae_ms']:.2f} / {sd['cora']['pyg_ms']:.2f} ms "
            f"**{sd['cora']['pyg_ms'] / sd['cora']['graphvae_ms']:.2f}×**, CiteSeer "
            f"{sd['citeseer']['graphvae_ms']:.2f} / "
            f"{sd['citeseer']['pyg_ms']:.2f} ms **{sd['citeseer']['pyg_ms'] / sd['citeseer']['graphvae_ms']:.2f}×**"),
        (b, f"the 10-seed command inside it **{speed['linkpred_cora_vgae_10_seeds_seconds']:.1f} s**; ATen calls per "
            f"epoch {prof['cora']['single']['aten_calls_per_epoch']['total']:.0f} single, "
            f"{prof['cora']['batched x10']['aten_calls_per_epoch']['total']:.0f} and "
            f"{prof['citeseer']['batched x10']['aten_calls_per_epoch']['total']:.0f} batched"),
        (b, f"At a million nodes the VGAE epoch takes {cuda_scale['vgae']['seconds_per_epoch']:.3f} s against "
            f"{cpu_1m['seconds_per_epoch']:.2f} s on the CPU "
            f"({cpu_1m['seconds_per_epoch'] / cuda_scale['vgae']['seconds_per_epoch']:.0f}x), and `best`'s "
            f"{cuda_scale['best']['seconds_per_epoch']:.2f} s against {best_1m['seconds_per_epoch']:.1f} s "
            f"({best_1m['seconds_per_epoch'] / cuda_scale['best']['seconds_per_epoch']:.0f}x;"),
        (b, f"| eager (today's code) | – | – | 682 | {ms_range('base')} |"),
        (b, f"| 416 | {ms_range('A_forward')} | the same bits |"),
        (b, f"| 414 | {ms_range('A_forward_cpp_wrapper')} | the same bits |"),
        (b, f"| 508 | {ms_range('B_elementwise')} | the same bits |"),
        (b, f"| 670 | {ms_range('D_adam')} |"),
    ]


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _claim_problems(texts: dict[str, str]) -> list[str]:
    pages = {doc: _collapse(t) for doc, t in texts.items()}
    return [f"{doc}: no text {_collapse(claim)!r}" for doc, claim in _claims() if _collapse(claim) not in pages[doc]]


def test_numbers_quoted_in_prose_equal_the_json() -> None:
    assert len(_claims()) >= 15
    problems = _claim_problems({d: _text(d) for d in ("docs/models.md", "docs/benchmarks.md")})
    assert not problems, "\n".join(problems)


def test_the_prose_checker_fails_on_a_broken_doc() -> None:
    texts = {d: _text(d) for d in ("docs/models.md", "docs/benchmarks.md")}
    for doc, good, bad in [("docs/models.md", "0.9657 / 0.9656 (before", "0.9648 / 0.9655 (before"),
                           ("docs/models.md", "`best` 0.97286 (Cora", "`best` 0.97285 (Cora"),
                           ("docs/models.md", "k = 20 +0.0022", "k = 20 +0.0021"),
                           ("docs/benchmarks.md", "(115x)", "(116x)")]:
        assert good in texts[doc], good
        assert _claim_problems({**texts, doc: texts[doc].replace(good, bad)}), good


# ----------------------------------------------------------------------------------------------- the zoo
def _row(text: str, name: str) -> str:
    """The 'what it adds' cell of model ``name``'s row in docs/models.md's table of named models."""
    table = text.split("| name | what it adds")[1].split("\n\n")[0]
    return next(line for line in table.splitlines() if line.startswith(f"| `{name}`")).split("|")[2]


def _num(pattern: str, cell: str) -> float:
    m = re.search(pattern, cell)
    assert m, f"/{pattern}/ not in {cell!r}: update this test"
    return float(m.group(1).replace("%", ""))


def _zoo_problems(text: str) -> list[str]:
    """Each hyper-parameter the table of named models states, against the configuration ``make_model`` builds
    (``graphvae.estimators.zoo.MODELS`` over the estimator's defaults)."""
    from graphvae.estimators.zoo import make_model

    def config(name: str) -> dict:
        return make_model(name).get_params()

    stated: list[tuple[str, str, object]] = []  # (model, parameter, value the page states)
    paper = _row(text, "gae")
    m = re.search(r"(\d+)-(\d+) GCN, (\d+) epochs, lr ([\d.]+), final epoch", paper)
    for name in ("gae", "vgae"):
        stated += [(name, "hidden", int(m.group(1))), (name, "latent", int(m.group(2))),
                   (name, "epochs", int(m.group(3))), (name, "lr", float(m.group(4))), (name, "early_stopping", False)]
    stated += [("gae", "variational", False), ("vgae", "variational", True)]
    gnae = _row(text, "gnae")
    for name in ("gnae", "vgnae", "gnae-wd", "masked-gnae"):
        stated += [(name, "normalize", _num(r"scaled by s = ([\d.]+)", gnae)), (name, "hidden", ()),
                   (name, "latent", int(_num(r"(\d+)-d", gnae))), (name, "lr", _num(r"lr ([\d.]+)", gnae)),
                   (name, "epochs", int(_num(r"(\d+) epochs", gnae)))]
    stated += [("masked-gnae", "mask_rate", _num(r"\((\d+)% of the training edges hidden", _row(text, "masked-gnae"))
                / 100), ("masked-gnae", "decoder", "inner")]
    mg = _row(text, "maskgae")
    for name in ("maskgae", "maskgae-wide", "maskgae-wide-snapshots"):
        stated += [(name, "mask_rate", _num(r"(\d+)% edge masking", mg) / 100), (name, "hidden", ()),
                   (name, "latent", int(_num(r"one (\d+)-d GCN layer", mg))),
                   (name, "encoder_dropout", _num(r"dropout ([\d.]+) on the features", mg)),
                   (name, "batch_norm", True), (name, "head_activation", "elu"), (name, "decoder", "mlp"),
                   (name, "decoder_dropout", _num(r"MLP decoder \(\d+ units, dropout ([\d.]+)\)", mg)),
                   (name, "weight_decay", _num(r"weight decay ([\d.e-]+)", mg)), (name, "lr", _num(r"lr ([\d.]+)", mg)),
                   (name, "epochs", int(_num(r"≤ (\d+) epochs", mg))), (name, "variational", False)]
    stated += [("maskgae", "decoder_hidden", int(_num(r"MLP decoder \((\d+) units", mg))),
               ("maskgae", "degree_weight", _num(r"degree decoder \(([\d.]+)\)", mg))]
    wide = _row(text, "maskgae-wide")
    for name in ("maskgae-wide", "maskgae-wide-snapshots"):
        stated += [(name, "decoder_hidden", int(_num(r"wider edge decoder \((\d+) units\)", wide))),
                   (name, "degree_weight", _num(r"degree decoder's weight ([\d.]+) instead", wide))]
    stated += [("maskgae-wide-snapshots", "snapshots",
                int(_num(r"mean over the (\d+) epochs", _row(text, "maskgae-wide-snapshots")))),
               ("maskgae-wide-snapshots", "snapshots", int(_num(r"VGAE\(snapshots=(\d+)\)", text))),
               ("maskgae-wide", "snapshots", 1)]
    stated += [("gnae-wd", "weight_decay", _num(r"weight decay ([\d.e-]+)", _row(text, "gnae-wd")))]
    adv = _row(text, "arga")
    for name, variational in (("arga", False), ("argva", True)):
        stated += [(name, "adversarial", _num(r"weight ([\d.]+)", adv)), (name, "variational", variational),
                   (name, "epochs", 200), (name, "early_stopping", False)]
    patience = int(_num(r"the best \*\*validation\*\* AUC \(patience (\d+)\)", text))
    for name in ("gnae", "vgnae", "gnae-wd", "masked-gnae", "maskgae", "maskgae-wide", "maskgae-wide-snapshots"):
        stated += [(name, "early_stopping", True), (name, "patience", patience)]
    problems = [f"docs/models.md: {name} {key} = {value!r}, the zoo: {config(name)[key]!r}"
                for name, key, value in stated if config(name)[key] != value]
    return problems


def test_named_models_hyper_parameters_match_the_zoo() -> None:
    problems = _zoo_problems(_text("docs/models.md"))
    assert not problems, "\n".join(problems)


def test_the_zoo_checker_fails_on_a_broken_doc() -> None:
    text = _text("docs/models.md")
    for good, bad in [("weight decay 5e-5, lr 0.01", "weight decay 5e-4, lr 0.01"),
                      ("40% edge masking", "70% edge masking"),
                      ("wider edge decoder (64 units)", "wider edge decoder (128 units)"),
                      ("(patience 100)", "(patience 50)"),
                      ("lr 0.005, 300 epochs", "lr 0.005, 200 epochs"),
                      ("weight 0.001 |", "weight 0.01 |")]:
        assert good in text, good
        assert _zoo_problems(text.replace(good, bad)), good


@pytest.fixture(scope="module")
def cora_split():
    import graphvae as gv

    return gv.split_edges(gv.load_dataset("cora"), seed=0)


def test_sampled_partners_per_node_are_the_stated_ones(cora_split) -> None:
    """'3 sampled partners per node' (`maskgae`) and '5' (`maskgae-wide`), 'about 1.3 sampled pairs per hidden edge
    on Cora at rate 0.7, 2.3 at 0.4': the documented k = max(2, ceil(negatives_per_positive * |A + I| / N)) on
    Cora's training graph, counted with numpy."""
    from graphvae.estimators.zoo import MODELS

    text = _text("docs/models.md")
    n = cora_split.num_nodes
    directed = np.asarray(cora_split.train_edge_index).shape[1]
    positives = directed + n  # A + I
    k = {name: max(2, math.ceil(MODELS[name]["negatives_per_positive"] * positives / n))
         for name in ("maskgae", "maskgae-wide")}
    assert "3 sampled partners per node" in _row(text, "maskgae") and k["maskgae"] == 3
    assert "5 sampled partners per node instead of 3" in _row(text, "maskgae-wide") and k["maskgae-wide"] == 5
    m = re.search(r"about ([\d.]+) sampled pairs per hidden edge on Cora at rate 0.7, ([\d.]+) at 0.4", _collapse(text))
    assert m and (m.group(1), m.group(2)) == tuple(f"{k['maskgae'] * n / (r * directed):.1f}" for r in (0.7, 0.4))


def test_snapshot_memory_is_the_stated_one(cora_split) -> None:
    """'the 50 copies of the parameters take about 40 MB on Cora, 100 MB on CiteSeer': the bytes of one kept
    snapshot of a fitted `best` (one epoch) times 50, to the nearest 10 MB."""
    import torch

    import graphvae as gv
    from graphvae.estimators.zoo import make_model

    m = re.search(r"the (\d+) copies of the parameters take about (\d+) MB on Cora, (\d+) MB on CiteSeer",
                  _collapse(_text("docs/models.md")))
    assert m
    copies = int(m.group(1))
    for split, stated in ((cora_split, m.group(2)), (gv.split_edges(gv.load_dataset("citeseer"), seed=0), m.group(3))):
        model = make_model("best", random_state=0, epochs=1).fit(split)
        assert model.snapshots == copies
        size = sum(t.numel() * t.element_size() for t in model.snapshots_[0].values() if torch.is_tensor(t))
        assert f"{round(size * copies / 1e6, -1):.0f}" == stated


def test_the_adversarial_regularizer_takes_the_stated_steps() -> None:
    """'5 Adam steps per encoder step with its own optimizer'."""
    import inspect

    from graphvae.objectives.adversarial import DiscriminatorStep

    steps = _num(r"(\d+) Adam steps per encoder\s+step", _text("docs/models.md"))
    assert inspect.signature(DiscriminatorStep).parameters["steps"].default == steps
