"""torch.compile on graphvae's VGAE epoch on Cora (issue 13): does it compile, at what cost, and is it faster?

    python benchmarks/compile_probe.py                     # the whole table (cold + warm compile per variant in
                                                           #  fresh processes, then interleaved timing in one)
    python benchmarks/compile_probe.py --interleaved-only  # only the interleaved timing
    python benchmarks/compile_probe.py --child V           # one variant in this process (used by the driver)

A study of 2026-12-07 (docs/benchmarks.md, "torch.compile"): nothing in the library is edited; every variant is a
monkeypatch of the library's internals of that date, installed by ``install(name)``, so later changes to those
internals may need the patches updated. One torch thread throughout; the cold and warm inductor caches are
temporary folders.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
VARIANTS = ["base", "A_forward", "A_forward_maxauto", "A_forward_reduce_overhead", "A_forward_cpp_wrapper",
            "B_elementwise", "B_elementwise_cpp_wrapper", "D_adam", "AD_forward_adam"]


# --------------------------------------------------------------------------------------------------- the setup
ROOT = os.path.dirname(HERE)  # the repository: the library under study
sys.path.insert(0, ROOT)
_SPLIT = None


def split():
    """Cora's seed-0 split (GRAPHVAE_DATA or the cache)."""
    global _SPLIT
    if _SPLIT is None:
        import graphvae
        from graphvae.data.split import split_edges
        _SPLIT = split_edges(graphvae.load_dataset("cora"), seed=0)
    return _SPLIT


def fit(epochs=200, seed=0):
    from graphvae.estimators.zoo import make_model
    m = make_model("vgae", random_state=seed, epochs=epochs, progress=False)
    t = time.perf_counter()
    m.fit(split())
    return m, time.perf_counter() - t


def auc(m):
    s = split()
    return m.score(s.test_pos, s.test_neg)["auc"]


# --------------------------------------------------------------------------------------------------- the variants
_MISSING = object()


def _patch(obj, attr, value, undo):
    undo.append((obj, attr, obj.__dict__.get(attr, _MISSING)))
    setattr(obj, attr, value)


_COMPILED: dict = {}  # one compiled object per (variant, function): toggling a variant does not recompile


def install(name: str) -> list:
    """Install variant ``name``; returns the undo list for :func:`uninstall`."""
    import torch
    from graphvae.nn import inner_product as IP, operator as OP, latent as LA
    from graphvae.objectives import elbo as E, likelihood as L
    from graphvae.training import trainer as T
    undo: list = []
    if name == "base":
        return undo

    def compiled(key, fn, **kw):
        if (name, key) not in _COMPILED:
            _COMPILED[name, key] = torch.compile(fn, **kw)
        return _COMPILED[name, key]

    if name.startswith(("A", "B")):
        # dynamo cannot fake a torch sparse CSR tensor, nor a view whose base is one (the pair scores are
        # sampled_addmm(...).values()): "IndexError: tuple index out of range" in _automatic_dynamic. So the CSR
        # products stay eager (a graph break each) and the pair scores leave them as a plain copy.
        spmm_apply, scores_apply = OP._ConstantSpMM.apply, IP._PairScores.apply  # bound classmethods
        _patch(OP._ConstantSpMM, "apply", staticmethod(torch.compiler.disable(spmm_apply)), undo)
        _patch(IP._PairScores, "apply", staticmethod(torch.compiler.disable(lambda *a: scores_apply(*a).clone())),
               undo)
    if name.startswith("A"):
        mode = {"A_forward": None, "A_forward_maxauto": "max-autotune-no-cudagraphs",
                "A_forward_reduce_overhead": "reduce-overhead"}.get(name)
        kw = dict(mode=mode, dynamic=False) if mode else {}
        if name == "A_forward_cpp_wrapper":  # inductor's C++ wrapper: less Python per compiled graph call
            kw = dict(options={"cpp_wrapper": True})
        _patch(E.ELBO, "forward", compiled("forward", E.ELBO.__dict__["forward"], **kw), undo)
    if name.startswith("B"):
        kw = dict(options={"cpp_wrapper": True}) if name.endswith("cpp_wrapper") else {}
        _patch(L, "_negative_sum_with_control_variate",
               compiled("cv", L._negative_sum_with_control_variate, **kw), undo)
        _patch(LA.Posterior, "rsample", compiled("rsample", LA.Posterior.__dict__["rsample"], **kw), undo)
        _patch(LA.Posterior, "kl_to_standard_normal",
               compiled("kl", LA.Posterior.__dict__["kl_to_standard_normal"], **kw), undo)
    if name in ("D_adam", "AD_forward_adam"):
        def adam(params, lr):
            opt = torch.optim.Adam(list(params), lr=lr, foreach=False)
            step = compiled(("step", id(opt)), opt.step)  # the documented pattern: torch.compile(opt.step)

            class Compiled:
                zero_grad = staticmethod(opt.zero_grad)
                param_groups = opt.param_groups

                @staticmethod
                def step():
                    step()
            return Compiled()
        _patch(T, "adam", adam, undo)
    return undo


def uninstall(undo: list) -> None:
    for obj, attr, value in reversed(undo):
        if value is _MISSING:
            delattr(obj, attr)  # an inherited attribute (autograd.Function.apply)
        else:
            setattr(obj, attr, value)


# --------------------------------------------------------------------------------------------------- measurements
def epoch_ms(model) -> float:
    """Median wall ms of the epochs after the first 10 (train_elbo's per-epoch ``seconds``)."""
    return 1e3 * statistics.median(h["seconds"] for h in model.history_[10:])


def aten_per_epoch(name: str) -> float | None:
    import torch
    sys.path.insert(0, HERE)
    from _profile import aten_calls
    from graphvae.estimators.zoo import make_model
    undo = install(name)
    try:
        # a short profiled fit first: the stage labels read the profiler flag, so dynamo recompiles under a profiler
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]):
            make_model("vgae", random_state=0, epochs=3, progress=False).fit(split())
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            make_model("vgae", random_state=0, epochs=30, progress=False).fit(split())
        return aten_calls(prof.events(), 30)["total"]
    finally:
        uninstall(undo)


def child(name: str) -> dict:
    """First fit (compile included) of variant ``name`` in a fresh process: its wall time, AUC, breaks, graphs."""
    import torch
    torch.set_num_threads(1)
    import torch._dynamo
    torch._dynamo.config.cache_size_limit = 64
    split()
    out: dict = {"variant": name}
    undo = install(name)
    try:
        t = time.perf_counter()
        model, _ = fit(200)
        out["first_fit_s"] = time.perf_counter() - t
        out["first_epoch_s"] = model.history_[0]["seconds"]
        out["epochs_1_199_s"] = sum(h["seconds"] for h in model.history_[1:])
        out["auc"] = auc(model)
        out["ms_per_epoch_first_fit"] = epoch_ms(model)
        c = torch._dynamo.utils.counters
        out["graph_breaks"] = sum(c["graph_break"].values())
        out["break_reasons"] = sorted({k.split("\n")[0][:120] for k in c["graph_break"]})
        out["unique_graphs"] = c["stats"]["unique_graphs"]
        t = time.perf_counter()
        model2, _ = fit(200)
        out["second_fit_s"] = time.perf_counter() - t  # another model, same process: recompiles?
        out["unique_graphs_after_second_fit"] = c["stats"]["unique_graphs"]
        out["auc_second_fit"] = auc(model2)
    except Exception as e:  # noqa: BLE001 - a variant that does not compile is a result
        out["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"
    finally:
        uninstall(undo)
    if "error" not in out:
        out["aten_calls_per_epoch"] = aten_per_epoch(name)
    return out


def interleaved(names: list[str], reps: int) -> dict:
    """ms per epoch of every variant, ``reps`` rounds, the variants interleaved in one process (compiled once)."""
    import torch
    torch.set_num_threads(1)
    import torch._dynamo
    torch._dynamo.config.cache_size_limit = 64
    split()
    for name in names:  # compile every variant first
        undo = install(name)
        fit(20)
        uninstall(undo)
    times: dict = {n: [] for n in names}
    walls: dict = {n: [] for n in names}
    for _ in range(reps):
        for name in names:
            undo = install(name)
            model, wall = fit(200)
            uninstall(undo)
            times[name].append(round(epoch_ms(model), 3))
            walls[name].append(round(wall, 3))
    return {"ms_per_epoch": times, "fit_wall_s": walls}


def run_child(name: str, cache: str) -> dict:
    env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache, PYTHONPATH=ROOT)
    t = time.perf_counter()
    p = subprocess.run([sys.executable, __file__, "--child", name], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    try:
        out = json.loads(p.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        out = {"variant": name, "error": p.stderr.strip().splitlines()[-1][:300] if p.stderr.strip() else "?"}
    out["process_wall_s"] = wall
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child")
    ap.add_argument("--variants", nargs="*", default=VARIANTS)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", default=os.path.join(HERE, "results", "compile_probe.json"))
    ap.add_argument("--interleaved-only", action="store_true", help="only the in-process interleaved timing")
    args = ap.parse_args()
    from graphvae.files import write_json
    if args.child:
        print(json.dumps(child(args.child)))
        return
    if args.interleaved_only:
        with tempfile.TemporaryDirectory(dir=None) as cache:
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache
            out = interleaved(args.variants, args.reps)
        print(json.dumps(out))
        for name in args.variants:
            ms, wall = out["ms_per_epoch"][name], out["fit_wall_s"][name]
            print(f"{name}: ms/epoch {min(ms):.2f}-{max(ms):.2f} (median {statistics.median(ms):.2f}); "
                  f"200-epoch fit {min(wall):.2f}-{max(wall):.2f} s")
        write_json(args.json, out)
        return
    results = {"variants": {}}
    for name in args.variants:
        cache = tempfile.mkdtemp(prefix=f"inductor_{name}_", dir=None)
        cold = run_child(name, cache)
        warm = run_child(name, cache)
        shutil.rmtree(cache, ignore_errors=True)
        results["variants"][name] = {"cold": cold, "warm": warm}
        print(name, json.dumps({"cold": cold, "warm": warm}), flush=True)
    with tempfile.TemporaryDirectory(dir=None) as cache:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache
        ok = [n for n in args.variants if "error" not in results["variants"][n]["cold"]]
        results["interleaved"] = interleaved(ok, args.reps)
    print(json.dumps(results["interleaved"]), flush=True)
    base = results["variants"].get("base", {}).get("cold", {})
    print("\n| variant | compiles? | graph breaks | graphs | compile s cold / warm | ms/epoch (interleaved) | AUC |")
    print("|---|---|---:|---:|---|---|---|")
    for name in args.variants:
        cold, warm = results["variants"][name]["cold"], results["variants"][name]["warm"]
        if "error" in cold:
            print(f"| {name} | no: {cold['error'][:80]} | | | | | |")
            continue
        extra = lambda r: r["first_fit_s"] - base.get("first_fit_s", 0.0) if base else r["first_fit_s"]
        ms = results["interleaved"]["ms_per_epoch"].get(name, [])
        print(f"| {name} | yes | {cold['graph_breaks']} | {cold['unique_graphs']} | {extra(cold):.1f} / "
              f"{extra(warm):.1f} | {min(ms):.2f}-{max(ms):.2f} | {cold['auc']:.4f} |")
    write_json(args.json, results)


if __name__ == "__main__":
    main()
