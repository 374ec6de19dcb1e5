"""Fuzzy c-means: FuzzyCMeans against scikit-fuzzy and fcmeans, from the same initial centres.

    .venv/bin/python benchmarks/bench_fuzzy.py [--sizes 10000 100000 1000000] [--json PATH]

For each size: 8 features, 6 overlapping blobs, one set of initial centres (6 distinct rows drawn
with a fixed seed), m = 2, the same tol and max_iter for every implementation. Each
implementation runs in two fresh subprocesses that load the data and warm up on up to 50,000
rows (numba loads its cached kernels, the libraries their imports): one times the fit (median of
--repeats), the other measures the fit's peak RSS increase (the kernel's high-water mark is reset
just before the fit) and keeps its centres and labels for the agreement columns.

scikit-fuzzy and fcmeans stop when the Frobenius norm of the membership change is below tol;
FuzzyCMeans when its largest entry is. So FuzzyCMeans runs twice: with its own rule, and with
tol=0 for exactly the iterations scikit-fuzzy needed, which is the same work from the same start
(scikit-fuzzy's and FuzzyCMeans' iterates coincide). Ratios use the second run. See README.md.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib.metadata
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_FEATURES = 8
N_CLUSTERS = 6
CLUSTER_STD = 3.0
M = 2.0
#: Warm-up fits use this many rows at most: enough to take FuzzyCMeans' parallel path as the
#: timed fit does (its kernels are then loaded before timing), small enough to be quick.
WARM_UP_ROWS = 50_000
FCMEANS_HINT = (
    "fcmeans is not importable ({error}); skipping it. Install the benchmarked version with\n"
    "    .venv/bin/pip install --no-deps fuzzy-c-means==2.3.1\n"
    "(every release from 1.6 on requires numpy<2, so a plain install falls back to 0.0.6; 2.3.1 "
    "runs on numpy 2 with --no-deps; add tqdm, pydantic, tabulate or typer the same way if an "
    "import is missing)."
)
#: Environment of the memory runs: glibc returns every block of 128 KiB or more to the system
#: when freed (no dynamic threshold), so peak RSS sees each fit's own allocations.
MEMORY_ENV = {
    **os.environ,
    "MALLOC_MMAP_THRESHOLD_": "131072",
    "GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=131072",
}
IMPLEMENTATIONS = {
    "skfuzzy": "scikit-fuzzy cmeans",
    "ours_same": "FuzzyCMeans, tol=0, skfuzzy's iterations",
    "ours": "FuzzyCMeans",
    "fcmeans": "fcmeans FCM",
}
RULES = {
    "skfuzzy": "‖ΔU‖_F < tol",
    "ours_same": "same count as skfuzzy",
    "ours": "max|ΔU| < tol",
    "fcmeans": "‖ΔU‖_F < tol",
}


# --------------------------------------------------------------------------------------------
# Data and starting point (parent)
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

    scikit-fuzzy starts from memberships, not centres: these are what FuzzyCMeans' first pass
    computes from ``centres``, so both then follow the same iterates. Built in blocks of rows.
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


# --------------------------------------------------------------------------------------------
# One implementation in a fresh process (child)
# --------------------------------------------------------------------------------------------


def _fcmeans_from_centres():
    """fcmeans' FCM started from given centres and counting its iterations (a plain subclass)."""
    from fcmeans import FCM

    class FCMFromCentres(FCM):
        def _init_u(self, X):
            self._centers = self.start_centres
            self.u = FCM._memberships(
                FCM._dist(X, self._centers, self.distance, self.distance_params), self.m
            )
            self.iterations = 0

        def _update_centers(self, X):
            self.iterations += 1
            super()._update_centers(X)

    return FCMFromCentres


def _runner(name: str, X: np.ndarray, centres: np.ndarray, cfg: dict):
    """A function of the rows to fit that returns (centres, labels, iterations)."""
    if name in ("ours", "ours_same"):
        from seglab.cluster.fuzzy import FuzzyCMeans

        tol, max_iter = (0.0, cfg["iterations"]) if name == "ours_same" else (cfg["tol"], None)

        def run(rows):
            model = FuzzyCMeans(
                N_CLUSTERS, m=M, tol=tol, max_iter=max_iter or cfg["max_iter"], init=centres
            ).fit(X[rows])
            return model.cluster_centers_, model.labels_, model.n_iter_

        return run
    if name == "skfuzzy":
        from skfuzzy.cluster import cmeans

        u0 = initial_memberships(X, centres, M)  # before timing: scikit-fuzzy's input

        def run(rows):
            found, u, _, _, _, n_iter, _ = cmeans(
                X[rows].T, N_CLUSTERS, M, cfg["tol"], cfg["max_iter"], init=u0[:, rows]
            )
            return found, u.argmax(axis=0), n_iter

        return run
    if name == "fcmeans":
        model_class = _fcmeans_from_centres()

        def run(rows):
            model = model_class(
                n_clusters=N_CLUSTERS,
                m=M,
                error=max(cfg["tol"], 1e-9),  # fcmeans accepts 1e-9 to 1000 iterations
                max_iter=min(cfg["max_iter"], 1000),
                start_centres=centres,
            )
            model.fit(X[rows])
            return model.centers, model.u.argmax(axis=1), model.iterations

        return run
    raise ValueError(f"unknown implementation {name!r}")


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux >= 4.0); False when not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _rss_mb(field: str) -> float:
    """VmRSS (current) or VmHWM (peak) of this process, in MB."""
    match = re.search(rf"{field}:\s+(\d+) kB", Path("/proc/self/status").read_text())
    return int(match.group(1)) / 1024


def child(name: str, workdir: Path, cfg: dict) -> dict:
    """Warm up, then either time ``cfg['repeats']`` fits or measure one fit's peak RSS increase.

    The memory run saves the fit's centres and labels for the agreement columns. The parent
    starts it with glibc's mmap threshold pinned (``MEMORY_ENV``), so that memory freed by the
    warm-up goes back to the system instead of being reused unseen by the fit.
    """
    X = np.load(workdir / "X.npy")
    centres = np.load(workdir / "centres.npy")
    run = _runner(name, X, centres, cfg)
    run(slice(0, min(WARM_UP_ROWS, X.shape[0])))
    gc.collect()
    if cfg["measure"] == "memory":
        exact = _reset_peak_rss()
        before = _rss_mb("VmRSS")
        found, labels, n_iter = run(slice(None))
        np.save(workdir / f"{name}_centres.npy", found)
        np.save(workdir / f"{name}_labels.npy", labels)
        return {"peak_rss_delta_mb": _rss_mb("VmHWM") - before, "peak_rss_exact": exact}
    times = []
    for _ in range(cfg["repeats"]):
        start = time.perf_counter()
        found, labels, n_iter = run(slice(None))
        times.append(time.perf_counter() - start)
        del found, labels
        gc.collect()
    return {"seconds": statistics.median(times), "all_seconds": times, "iterations": int(n_iter)}


def compile_child() -> dict:
    """Seconds for a fresh process's first fits (import included), then for the same fits again.

    2,000 rows take the serial kernels, 50,000 the parallel ones, so both are loaded.
    """
    X = np.random.default_rng(0).normal(size=(WARM_UP_ROWS, N_FEATURES))
    centres = X[:N_CLUSTERS] + 0.5
    seconds = []
    for _ in range(2):
        start = time.perf_counter()
        from seglab.cluster.fuzzy import FuzzyCMeans

        for rows in (2_000, WARM_UP_ROWS):
            model = FuzzyCMeans(N_CLUSTERS, init=centres, tol=0, max_iter=5).fit(X[:rows])
            model.predict_proba(X[:rows])
        seconds.append(time.perf_counter() - start)
    return {"first_call_seconds": seconds[0], "second_call_seconds": seconds[1]}


# --------------------------------------------------------------------------------------------
# Orchestration and report (parent)
# --------------------------------------------------------------------------------------------


def _spawn(args: list[str], env: dict | None = None) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"child {args[:2]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fcmeans_status() -> str | None:
    """None when fcmeans imports; otherwise the reason, for the message."""
    try:
        import fcmeans  # noqa: F401
    except Exception as error:  # any import failure means: skip it and say why
        return f"{type(error).__name__}: {error}"
    version = importlib.metadata.version("fuzzy-c-means")
    if version != "2.3.1":
        print(
            f"note: fcmeans {version} installed; README.md's numbers are for 2.3.1", file=sys.stderr
        )
    return None


def compile_cost() -> dict:
    """First call in a fresh process, with numba's on-disk cache cold and then warm."""
    with tempfile.TemporaryDirectory() as cache:
        cold = _spawn(["--compile-child"], env={**os.environ, "NUMBA_CACHE_DIR": cache})
    warm = _spawn(["--compile-child"])
    return {"cold_cache": cold, "warm_cache": warm}


def bench_size(n_samples: int, cfg: dict, with_fcmeans: bool) -> dict:
    """Run every implementation on one size; return plain data (no formatting)."""
    load_before = os.getloadavg()[0]
    X, centres = make_data(n_samples, cfg["seed"])
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        np.save(workdir / "X.npy", X)
        np.save(workdir / "centres.npy", centres)
        del X
        order = ["skfuzzy", "ours_same", "ours"] + (["fcmeans"] if with_fcmeans else [])
        for name in order:
            child_cfg = {**cfg, "iterations": results.get("skfuzzy", {}).get("iterations")}
            print(f"  n={n_samples:,}: {IMPLEMENTATIONS[name]} ...", file=sys.stderr, flush=True)
            timing = {**child_cfg, "measure": "time"}
            results[name] = _spawn(["--child", name, str(workdir), json.dumps(timing)])
            memory = {**child_cfg, "measure": "memory"}
            results[name] |= _spawn(
                ["--child", name, str(workdir), json.dumps(memory)], env=MEMORY_ENV
            )
        reference_centres = np.load(workdir / "ours_same_centres.npy")
        reference_labels = np.load(workdir / "ours_same_labels.npy")
        from sklearn.metrics import adjusted_rand_score

        for name, result in results.items():
            found = np.load(workdir / f"{name}_centres.npy")
            labels = np.load(workdir / f"{name}_labels.npy")
            result["max_centre_difference"] = float(np.abs(found - reference_centres).max())
            result["ari"] = float(adjusted_rand_score(reference_labels, labels))
            result["ms_per_iteration"] = 1000 * result["seconds"] / result["iterations"]
    return {
        "n_samples": n_samples,
        "results": results,
        "ratios": ratios(results),
        "load_average_1min": [load_before, os.getloadavg()[0]],
    }


def ratios(results: dict) -> dict:
    """Time of each other implementation over FuzzyCMeans': same work, per iteration, own rules."""
    same, own = results["ours_same"], results["ours"]
    out = {}
    for name in ("skfuzzy", "fcmeans"):
        if name in results:
            other = results[name]
            out[name] = {
                "same_iterations": other["seconds"] / same["seconds"],
                "per_iteration": other["ms_per_iteration"] / same["ms_per_iteration"],
                "own_rules": other["seconds"] / own["seconds"],
            }
    return out


def environment() -> dict:
    import numba

    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "missing"

    return {
        "date": datetime.date.today().isoformat(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "numba_threads": numba.get_num_threads(),
        "versions": {
            dist: version(dist)
            for dist in ("numpy", "numba", "scikit-learn", "scikit-fuzzy", "fuzzy-c-means")
        },
    }


def render(report: dict) -> str:
    """The report as Markdown: one table of runs, one of ratios, the compile cost."""
    cfg = report["config"]
    lines = [
        f"Data: make_blobs, {N_FEATURES} features, {N_CLUSTERS} centres, "
        f"cluster_std={CLUSTER_STD}, seed {cfg['seed']}; c={N_CLUSTERS}, m={M}, "
        f"tol={cfg['tol']}, max_iter={cfg['max_iter']}; same initial centres for all.",
        "",
        "| n | implementation | stopping rule | iterations | time (s) | ms / iteration "
        "| peak RSS Δ (MB) | max abs centre diff | ARI |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for size in report["sizes"]:
        for name, r in size["results"].items():
            lines.append(
                f"| {size['n_samples']:,} | {IMPLEMENTATIONS[name]} | {RULES[name]} "
                f"| {r['iterations']} | {r['seconds']:.3f} | {r['ms_per_iteration']:.1f} "
                f"| {r['peak_rss_delta_mb']:.1f}{'' if r['peak_rss_exact'] else '?'} "
                f"| {r['max_centre_difference']:.1e} | {r['ari']:.6f} |"
            )
    lines += [
        "",
        "Centre differences and ARI are against the FuzzyCMeans run with scikit-fuzzy's "
        "iteration count. Ratios are the other's time over FuzzyCMeans' (higher is faster for "
        "FuzzyCMeans):",
        "",
        "| n | vs | same iterations | per iteration | to convergence, own rules |",
        "|---|---|---|---|---|",
    ]
    for size in report["sizes"]:
        for name, r in size["ratios"].items():
            lines.append(
                f"| {size['n_samples']:,} | {name} | {r['same_iterations']:.1f}x "
                f"| {r['per_iteration']:.1f}x | {r['own_rules']:.1f}x |"
            )
    if "compile" in report:
        cold, warm = report["compile"]["cold_cache"], report["compile"]["warm_cache"]
        lines += [
            "",
            "First fits in a fresh process (import, then 5 iterations and predict_proba on "
            f"2,000 and 50,000 rows): {cold['first_call_seconds']:.1f} s with numba's cache "
            f"cold (compiling), {warm['first_call_seconds']:.1f} s with it warm; the same fits "
            f"again: {warm['second_call_seconds'] * 1000:.0f} ms.",
        ]
    env = report["environment"]
    loads = "; ".join(
        f"n={size['n_samples']:,}: {size['load_average_1min'][0]:.1f} -> "
        f"{size['load_average_1min'][1]:.1f}"
        for size in report["sizes"]
    )
    lines += [
        "",
        f"{env['date']}, Python {env['python']}, {env['cpus']} CPUs, {env['numba_threads']} numba "
        f"threads; " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()) + ".",
        f"1-minute load average before -> after each size (other jobs on the machine): {loads}.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--tol", type=float, default=1e-5)
    parser.add_argument("--max-iter", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed fits per run (default 3, 1 from 1M rows)"
    )
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    parser.add_argument("--no-compile-cost", action="store_true", help="skip the compile timing")
    args = parser.parse_args(argv)

    problem = fcmeans_status()
    if problem:
        print(FCMEANS_HINT.format(error=problem), file=sys.stderr)
    report = {"environment": environment(), "sizes": []}
    report["config"] = {"tol": args.tol, "max_iter": args.max_iter, "seed": args.seed}
    if not args.no_compile_cost:
        report["compile"] = compile_cost()
    for n_samples in args.sizes:
        repeats = args.repeats or (3 if n_samples < 1_000_000 else 1)
        cfg = {**report["config"], "repeats": repeats}
        report["sizes"].append(bench_size(n_samples, cfg, with_fcmeans=problem is None))
    print(render(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], Path(sys.argv[3]), json.loads(sys.argv[4]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "--compile-child":
        print(json.dumps(compile_child()))
    else:
        main()
