"""Fuzzy c-means: FuzzyCMeans against scikit-fuzzy's cmeans, side by side in one run.

    .venv/bin/python benchmarks/bench_fuzzy.py [--json benchmarks/results/fuzzy.json]

Three measurements, each against scikit-fuzzy in the same run (see README.md, "Fuzzy c-means"):

1. **Per iteration** at 1M x 8, c = 6, for m = 2 and m = 1.7: one fresh process loads the data,
   warms both libraries up, then times FuzzyCMeans and scikit-fuzzy alternately (ABBA order,
   median of --repeats each), from the same initial centres and for the same number of
   iterations (FuzzyCMeans with tol=0, scikit-fuzzy with error=0); ms per iteration = fit time /
   iterations. It also reports the largest difference between the two implementations' centres.
2. **Fresh process** at 100k: what a one-shot script pays, imports + loading the compiled
   kernels from numba's cache + one fit, each implementation in its own fresh subprocess,
   in turn, median of --fresh-repeats. Same start, and seglab runs the number of iterations
   scikit-fuzzy needs to converge (error = tol). seglab's side is the function
   ``seglab.cluster.fuzzy_core.fuzzy_cmeans`` (scikit-fuzzy's ``cmeans`` is a function too); the
   estimator ``FuzzyCMeans``, which imports scikit-learn, is measured beside them.
3. **Compile**: two fresh processes that share an empty temporary NUMBA_CACHE_DIR run the same
   small fits twice each: the first process compiles every kernel (first-ever compile), the
   second loads them from the cache; each reports its numba cache hits and misses.

scikit-fuzzy starts from memberships, FuzzyCMeans from centres: scikit-fuzzy gets the memberships
of the initial centres, built outside its timing; from there both follow the same iterates.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_STARTED = time.perf_counter()  # a fresh child's clock starts before numpy is imported

import numpy as np  # noqa: E402 - after the clock

N_FEATURES = 8
N_CLUSTERS = 6
CLUSTER_STD = 3.0
#: Warm-up fits use this many rows: enough for FuzzyCMeans' parallel kernels.
WARM_UP_ROWS = 50_000
PEER = "scikit-fuzzy"
OURS = "seglab"
#: The estimator FuzzyCMeans in a fresh process: the same iterations, plus scikit-learn's import.
ESTIMATOR = "seglab FuzzyCMeans"


# --------------------------------------------------------------------------------------------
# Data and starting point
# --------------------------------------------------------------------------------------------


def make_data(n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping blobs (about 99% of points recoverable) and one set of initial centres."""
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(
        n_samples=n_samples,
        n_features=N_FEATURES,
        centers=N_CLUSTERS,
        cluster_std=CLUSTER_STD,
        random_state=seed,
    )
    rows = np.random.default_rng(seed + 1).choice(n_samples, N_CLUSTERS, replace=False)
    return X, X[rows].copy()


def initial_memberships(X: np.ndarray, centres: np.ndarray, m: float) -> np.ndarray:
    """FCM memberships to fixed centres as scikit-fuzzy's (c, n) start; 1 on a coinciding centre.

    These are what FuzzyCMeans' first pass computes from ``centres``, so both then follow the
    same iterates. Built in blocks of rows.
    """
    u = np.empty((centres.shape[0], X.shape[0]))
    for start in range(0, X.shape[0], 100_000):
        block = X[start : start + 100_000]
        d2 = ((block[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        on_centre = d2 == 0
        with np.errstate(divide="ignore"):
            w = np.where(on_centre.any(axis=1, keepdims=True), on_centre, d2 ** (-1 / (m - 1)))
        u[:, start : start + block.shape[0]] = (w / w.sum(axis=1, keepdims=True)).T
    return u


def _fit_ours(X, centres, m, tol, max_iter):
    from seglab.cluster.fuzzy import FuzzyCMeans

    model = FuzzyCMeans(N_CLUSTERS, m=m, tol=tol, max_iter=max_iter, init=centres).fit(X)
    return model.cluster_centers_, model.n_iter_


def _fit_peer(X, u0, m, error, max_iter):
    from skfuzzy.cluster import cmeans

    found, _, _, _, _, n_iter, _ = cmeans(X.T, N_CLUSTERS, m, error, max_iter, init=u0)
    return found, n_iter


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------------------------
# Children (fresh processes)
# --------------------------------------------------------------------------------------------


def iterations_child(workdir: Path, cfg: dict) -> dict:
    """Per-iteration times of both implementations, alternately, in this process."""
    X = np.load(workdir / "X.npy")
    centres = np.load(workdir / "centres.npy")
    n_iter = cfg["iterations"]
    out = {}
    for m in cfg["ms"]:
        u0 = initial_memberships(X, centres, m)  # scikit-fuzzy's input, outside its timing
        warm = slice(0, WARM_UP_ROWS)
        _fit_ours(X[warm], centres, m, 0.0, 2)
        _fit_peer(X[warm], u0[:, warm], m, 0.0, 2)
        times = {OURS: [], PEER: []}
        loads = [os.getloadavg()[0]]
        found = {}
        for rep in range(cfg["repeats"]):
            order = (OURS, PEER) if rep % 2 == 0 else (PEER, OURS)
            for name in order:
                start = time.perf_counter()
                if name == OURS:
                    found[name], done = _fit_ours(X, centres, m, 0.0, n_iter)
                else:
                    found[name], done = _fit_peer(X, u0, m, 0.0, n_iter)
                times[name].append(time.perf_counter() - start)
                assert done == n_iter, (name, done)
            loads.append(os.getloadavg()[0])
        del u0
        out[str(m)] = {
            "iterations": n_iter,
            "seconds": {name: statistics.median(t) for name, t in times.items()},
            "all_seconds": times,
            "ms_per_iteration": {
                name: 1000 * statistics.median(t) / n_iter for name, t in times.items()
            },
            "ms_per_iteration_fastest": {name: 1000 * min(t) / n_iter for name, t in times.items()},
            "ratio": statistics.median(times[PEER]) / statistics.median(times[OURS]),
            "ratio_fastest": min(times[PEER]) / min(times[OURS]),
            "max_centre_difference": float(np.abs(found[OURS] - found[PEER]).max()),
            "load_average_1min": loads,
        }
    return out


def fresh_child(name: str, workdir: Path, cfg: dict) -> dict:
    """One fit in this fresh process: seconds to import, to load the data, to fit."""
    imported = time.perf_counter()
    if name == OURS:
        from seglab.cluster.fuzzy_core import fuzzy_cmeans
    elif name == ESTIMATOR:
        import seglab.cluster.fuzzy  # noqa: F401 - scikit-learn too
    else:
        import skfuzzy  # noqa: F401
    imports = time.perf_counter() - imported + (imported - _STARTED)  # numpy's import too
    loaded = time.perf_counter()
    X = np.load(workdir / "X.npy")
    centres = np.load(workdir / "centres.npy")
    u0 = initial_memberships(X, centres, cfg["m"]) if name == PEER else None
    setup = time.perf_counter() - loaded
    start = time.perf_counter()
    if name == OURS:
        result = fuzzy_cmeans(X, centres, m=cfg["m"], tol=0.0, max_iter=cfg["iterations"])
        found, n_iter = result.centres, result.n_iter
    elif name == ESTIMATOR:
        found, n_iter = _fit_ours(X, centres, cfg["m"], 0.0, cfg["iterations"])
    else:
        found, n_iter = _fit_peer(X, u0, cfg["m"], cfg["tol"], cfg["max_iter"])
    fit = time.perf_counter() - start
    np.save(workdir / f"fresh_{name}_centres.npy", found)
    return {
        "imports": imports,
        "setup_excluded": setup,
        "fit": fit,
        "paid": imports + fit,
        "iterations": int(n_iter),
        "peak_rss_mb": _peak_rss_mb(),
    }


def compile_child() -> dict:
    """Seconds of this process's first small fits (serial and parallel kernels, predict_proba)
    and of the same fits again, with the kernels' cache hits and misses."""
    from numba.core import event

    start = time.perf_counter()
    from seglab.cluster import fuzzy, fuzzy_kernels

    imports = time.perf_counter() - start
    X = np.random.default_rng(0).normal(size=(WARM_UP_ROWS, N_FEATURES))
    centres = X[:N_CLUSTERS] + 0.5
    compiling = event.TimingListener()
    seconds = []
    with event.install_listener("numba:compile", compiling):
        for _ in range(2):
            start = time.perf_counter()
            for rows in (2_000, WARM_UP_ROWS):
                for m in (2.0, 1.7):
                    model = fuzzy.FuzzyCMeans(N_CLUSTERS, m=m, init=centres, tol=0, max_iter=3)
                    model.fit(X[:rows]).predict_proba(X[:rows])
            seconds.append(time.perf_counter() - start)
    stats = [kernel.stats for kernel in fuzzy_kernels.KERNELS]
    return {
        "import_seconds": imports,
        "first_fits_seconds": seconds[0],
        "same_fits_again_seconds": seconds[1],
        "load_or_compile_seconds": seconds[0] - seconds[1],
        "numba_compile_event_seconds": compiling.duration if compiling.done else 0.0,
        "cache_hits": sum(sum(s.cache_hits.values()) for s in stats),
        "cache_misses": sum(sum(s.cache_misses.values()) for s in stats),
    }


# --------------------------------------------------------------------------------------------
# Orchestration and report (parent)
# --------------------------------------------------------------------------------------------


def _spawn(args: list[str], env: dict | None = None) -> tuple[dict, float]:
    """Run this script as a child; return its JSON answer and the child's wall time."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, env=env, check=False
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"child {args[:2]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), wall


def _child_env(**extra: str) -> dict:
    env = {**os.environ, **extra}
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


def bench_compile() -> dict:
    """First-ever compile and the next process's cache load, in a fresh NUMBA_CACHE_DIR."""
    with tempfile.TemporaryDirectory() as cache:
        env = _child_env(NUMBA_CACHE_DIR=cache)
        first, first_wall = _spawn(["--compile-child"], env=env)
        second, second_wall = _spawn(["--compile-child"], env=env)
    first["process_wall_seconds"] = first_wall
    second["process_wall_seconds"] = second_wall
    return {"first_process": first, "second_process": second}


def bench_iterations(n_samples: int, iterations: int, ms: list[float], cfg: dict) -> dict:
    X, centres = make_data(n_samples, cfg["seed"])
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        np.save(workdir / "X.npy", X)
        np.save(workdir / "centres.npy", centres)
        del X
        child_cfg = {"iterations": iterations, "ms": ms, "repeats": cfg["repeats"]}
        result, _ = _spawn(
            ["--iterations-child", str(workdir), json.dumps(child_cfg)], _child_env()
        )
    return {"n_samples": n_samples, "by_m": result}


def bench_fresh(n_samples: int, m: float, cfg: dict) -> dict:
    X, centres = make_data(n_samples, cfg["seed"])
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        np.save(workdir / "X.npy", X)
        np.save(workdir / "centres.npy", centres)
        base = {"m": m, "tol": cfg["tol"], "max_iter": cfg["max_iter"]}

        def run(name: str, iterations: int | None = None) -> dict:
            args = [
                "--fresh-child",
                name,
                str(workdir),
                json.dumps({**base, "iterations": iterations}),
            ]
            result, wall = _spawn(args, _child_env())
            return {**result, "process_wall": wall}

        # Untimed: scikit-fuzzy's iteration count to convergence, and warm caches for both
        # (numba's kernels, the file system's copy of both libraries).
        iterations = run(PEER)["iterations"]
        run(OURS, iterations)
        run(ESTIMATOR, iterations)
        names = [OURS, PEER, ESTIMATOR]
        runs = {name: [] for name in names}
        loads = [os.getloadavg()[0]]
        for rep in range(cfg["fresh_repeats"]):
            for name in names[rep % 3 :] + names[: rep % 3]:  # each goes first in turn
                runs[name].append(run(name, iterations))
            loads.append(os.getloadavg()[0])
        ours = np.load(workdir / f"fresh_{OURS}_centres.npy")
        peer = np.load(workdir / f"fresh_{PEER}_centres.npy")
        estimator = np.load(workdir / f"fresh_{ESTIMATOR}_centres.npy")

    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name])

    keys = ("imports", "fit", "paid", "process_wall", "setup_excluded", "peak_rss_mb")
    return {
        "n_samples": n_samples,
        "m": m,
        "iterations": iterations,
        "median": {name: {key: median(name, key) for key in keys} for name in runs},
        "runs": runs,
        "ratio_paid": median(PEER, "paid") / median(OURS, "paid"),
        "ratio_paid_estimator": median(PEER, "paid") / median(ESTIMATOR, "paid"),
        "max_centre_difference": float(np.abs(ours - peer).max()),
        "max_centre_difference_estimator": float(np.abs(estimator - peer).max()),
        "load_average_1min": loads,
    }


def environment() -> dict:
    import numba

    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "missing"

    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "date": datetime.date.today().isoformat(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "numba_threads": numba.get_num_threads(),
        "versions": {
            dist: version(dist) for dist in ("numpy", "numba", "scikit-learn", "scikit-fuzzy")
        },
    }


def render(report: dict) -> str:
    """The report as Markdown: peer, seglab, ratio, then the machine."""
    lines = [
        f"| measurement | {PEER} | {OURS} | ratio ({PEER} / {OURS}) | load (1 min) |",
        "|---|---|---|---|---|",
    ]
    per = report["per_iteration"]
    for m, r in per["by_m"].items():
        ms, fast = r["ms_per_iteration"], r["ms_per_iteration_fastest"]
        loads = r["load_average_1min"]
        lines.append(
            f"| ms per iteration, {per['n_samples']:,} x {N_FEATURES}, c = {N_CLUSTERS}, m = {m} "
            f"({r['iterations']} iterations; centres differ by {r['max_centre_difference']:.1e}): "
            f"median (fastest) | {ms[PEER]:.1f} ({fast[PEER]:.1f}) | {ms[OURS]:.1f} "
            f"({fast[OURS]:.1f}) | {r['ratio']:.1f}x ({r['ratio_fastest']:.1f}x) "
            f"| {min(loads):.1f} to {max(loads):.1f} |"
        )
    fresh = report["fresh_process"]
    med = fresh["median"]
    loads = fresh["load_average_1min"]
    for name, what, ratio in (
        (OURS, "`fuzzy_cmeans`", fresh["ratio_paid"]),
        (ESTIMATOR, "`FuzzyCMeans` (imports scikit-learn)", fresh["ratio_paid_estimator"]),
    ):
        lines.append(
            f"| fresh process, {fresh['n_samples']:,} rows, m = {fresh['m']}, {what}: imports "
            f"+ fit, s ({fresh['iterations']} iterations; imports {med[PEER]['imports']:.2f} / "
            f"{med[name]['imports']:.2f} s, fit {med[PEER]['fit']:.2f} / {med[name]['fit']:.2f} s)"
            f" | {med[PEER]['paid']:.2f} | {med[name]['paid']:.2f} | {ratio:.1f}x "
            f"| {min(loads):.1f} to {max(loads):.1f} |"
        )
    if "compile" in report:
        first = report["compile"]["first_process"]
        second = report["compile"]["second_process"]
        lines += [
            "",
            "Compile (small fits with m = 2 and 1.7 on 2,000 and 50,000 rows, then the same again; "
            "a fresh NUMBA_CACHE_DIR shared by two processes):",
            "",
            "| process | import (s) | first fits (s) | same fits again (s) "
            "| compile or cache load (s) | numba:compile events (s) | cache hits | cache misses |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for label, r in (("first ever (empty cache)", first), ("next (cache filled)", second)):
            lines.append(
                f"| {label} | {r['import_seconds']:.2f} | {r['first_fits_seconds']:.2f} "
                f"| {r['same_fits_again_seconds']:.3f} | {r['load_or_compile_seconds']:.2f} "
                f"| {r['numba_compile_event_seconds']:.2f} | {r['cache_hits']} "
                f"| {r['cache_misses']} |"
            )
    env = report["environment"]
    lines += [
        "",
        f"Machine: {env['cpu']}, {env['cpus']} CPUs, {env['numba_threads']} numba threads, "
        f"Python {env['python']}; "
        + ", ".join(f"{k} {v}" for k, v in env["versions"].items())
        + f"; {env['date']}.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-iteration", type=int, default=1_000_000, help="rows, per iteration")
    parser.add_argument("--iterations", type=int, default=20, help="iterations per timed fit")
    parser.add_argument("--ms", type=float, nargs="+", default=[2.0, 1.7])
    parser.add_argument("--repeats", type=int, default=5, help="timed fits per implementation")
    parser.add_argument("--n-fresh", type=int, default=100_000, help="rows, fresh process")
    parser.add_argument("--fresh-repeats", type=int, default=5)
    parser.add_argument("--tol", type=float, default=1e-5)
    parser.add_argument("--max-iter", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    parser.add_argument("--no-compile", action="store_true", help="skip the compile timing")
    args = parser.parse_args(argv)
    cfg = {
        "seed": args.seed,
        "tol": args.tol,
        "max_iter": args.max_iter,
        "repeats": args.repeats,
        "fresh_repeats": args.fresh_repeats,
    }
    report = {"environment": environment(), "config": cfg}
    load = os.getloadavg()[0]
    if not args.no_compile:
        print("compile ...", file=sys.stderr, flush=True)
        report["compile"] = bench_compile()
    print(f"per iteration at {args.n_iteration:,} rows ...", file=sys.stderr, flush=True)
    report["per_iteration"] = bench_iterations(args.n_iteration, args.iterations, args.ms, cfg)
    print(f"fresh processes at {args.n_fresh:,} rows ...", file=sys.stderr, flush=True)
    report["fresh_process"] = bench_fresh(args.n_fresh, 2.0, cfg)
    report["load_average_1min"] = [load, os.getloadavg()[0]]
    print(render(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--iterations-child":
        print(json.dumps(iterations_child(Path(sys.argv[2]), json.loads(sys.argv[3]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "--fresh-child":
        print(json.dumps(fresh_child(sys.argv[2], Path(sys.argv[3]), json.loads(sys.argv[4]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "--compile-child":
        print(json.dumps(compile_child()))
    else:
        main()
