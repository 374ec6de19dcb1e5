"""Hierarchical clustering: seglab's exact and two-step trees against scikit-learn's Ward.

    .venv/bin/python benchmarks/bench_hierarchical.py [--sizes 5000 20000 100000 1000000]
                                                      [--json PATH]

Data: make_blobs with 8 features and 6 overlapping centres (cluster_std 3), seed 0; every run
cuts its tree into 6 clusters. Each (size, implementation) runs in a fresh subprocess that loads
the data, warms up on 500 rows, then times the fit and measures its peak RSS increase (the
kernel's high-water mark is reset just before the fit). Sizes up to 5,000 take the median of 3
fits, larger ones a single fit. The 1-minute load average is read before and after each run:
the figures are only comparable on an idle machine. See README.md, "Hierarchical clustering".
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
WARM_UP_ROWS = 500
IMPLEMENTATIONS = {
    "fastcluster_ward": "fastcluster.linkage_vector, ward, + SciPy fcluster (the peer)",
    "sklearn_ward": "scikit-learn AgglomerativeClustering, ward",
    "ours_ward": "HierarchicalClustering, ward (fastcluster.linkage_vector)",
    "ours_complete": "HierarchicalClustering, complete (pdist + fastcluster.linkage)",
    "two_step": "TwoStepHierarchical, 1,000 micro-clusters",
}
#: What runs at each size, and which run the others are compared with (ARI and ratios).
#: Runs timed alternately, ``--rounds`` times each, when both are in a size's plan.
SIDE_BY_SIDE = ("fastcluster_ward", "ours_ward")
PLAN = {
    "small": (["sklearn_ward", "ours_ward", "ours_complete"], "sklearn_ward"),
    "exact": (["fastcluster_ward", "ours_ward", "two_step"], "fastcluster_ward"),
    "large": (["two_step"], None),
}


def plan_for(n_samples: int) -> tuple[list[str], str | None]:
    """scikit-learn's Ward needs ~8 n^2 bytes: only up to 20,000; exact Ward up to 100,000."""
    if n_samples <= 20_000:
        return PLAN["small"]
    if n_samples <= 100_000:
        return PLAN["exact"]
    return PLAN["large"]


# --------------------------------------------------------------------------------------------
# One implementation in a fresh process (child)
# --------------------------------------------------------------------------------------------


class FastclusterWard:
    """The peer of exact Ward: fastcluster's Ward on the data, cut by SciPy, nothing around."""

    def fit(self, X):
        import fastcluster
        from scipy.cluster.hierarchy import fcluster

        Z = fastcluster.linkage_vector(X, method="ward", metric="euclidean")
        self.labels_ = fcluster(Z, N_CLUSTERS, criterion="maxclust") - 1
        return self


def make_estimator(name: str):
    if name == "fastcluster_ward":
        return FastclusterWard()
    if name == "sklearn_ward":
        from sklearn.cluster import AgglomerativeClustering

        return AgglomerativeClustering(n_clusters=N_CLUSTERS, linkage="ward")
    from seglab.cluster.hierarchical import HierarchicalClustering, TwoStepHierarchical

    if name == "ours_ward":
        return HierarchicalClustering(N_CLUSTERS, linkage="ward")
    if name == "ours_complete":
        return HierarchicalClustering(N_CLUSTERS, linkage="complete")
    if name == "two_step":
        return TwoStepHierarchical(N_CLUSTERS, n_micro=1000, random_state=0)
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


def child(name: str, workdir: Path, repeats: int) -> dict:
    """Warm up, then time ``repeats`` fits; the first one also gives the peak RSS increase."""
    X = np.load(workdir / "X.npy")
    make_estimator(name).fit(X[:WARM_UP_ROWS])
    load_before = os.getloadavg()[0]
    times, cpu_times, peak_mb, peak_total_mb, exact_peak, extra = [], [], None, None, True, {}
    for repeat in range(repeats):
        gc.collect()
        if repeat == 0:
            exact_peak = _reset_peak_rss()
            before = _rss_mb("VmRSS")
        model = make_estimator(name)
        start, cpu_start = time.perf_counter(), time.process_time()
        model.fit(X)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
        if repeat == 0:
            peak_mb = _rss_mb("VmHWM") - before
            peak_total_mb = _rss_mb("VmHWM")
            np.save(workdir / f"{name}_labels.npy", model.labels_)
            if name == "two_step":
                extra = {"approximate": bool(model.approximate_), "n_micro": int(model.n_micro_)}
        del model
    return {
        "seconds": statistics.median(times),
        "all_seconds": times,
        "cpu_seconds": statistics.median(cpu_times),
        "peak_rss_delta_mb": peak_mb,
        "peak_rss_mb": peak_total_mb,
        "peak_rss_exact": exact_peak,
        "load_1min": [load_before, os.getloadavg()[0]],
        **extra,
    }


# --------------------------------------------------------------------------------------------
# Orchestration and report (parent)
# --------------------------------------------------------------------------------------------


def _spawn(args: list[str]) -> dict:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"child {args[:2]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_size(n_samples: int, seed: int, rounds: int) -> dict:
    """Run the plan of one size; return plain data (no formatting).

    Exact Ward and its peer run ``rounds`` times each, alternately (ABBA), each in a fresh
    process; their time (wall and CPU) is the fastest run, their memory the largest.
    """
    from sklearn.datasets import make_blobs
    from sklearn.metrics import adjusted_rand_score

    names, reference = plan_for(n_samples)
    X, truth = make_blobs(
        n_samples=n_samples,
        n_features=N_FEATURES,
        centers=N_CLUSTERS,
        cluster_std=CLUSTER_STD,
        random_state=seed,
    )
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        np.save(workdir / "X.npy", X)
        del X
        repeats = 3 if n_samples <= 5_000 else 1
        for name in names:
            if name in SIDE_BY_SIDE:
                continue
            print(f"  n={n_samples:,}: {IMPLEMENTATIONS[name]} ...", file=sys.stderr, flush=True)
            results[name] = _spawn(["--child", name, str(workdir), str(repeats)])
        pair = [name for name in names if name in SIDE_BY_SIDE]
        runs = {name: [] for name in pair}
        for round_ in range(rounds if pair else 0):  # ABBA: each in its own fresh process
            for name in pair if round_ % 2 == 0 else pair[::-1]:
                print(
                    f"  n={n_samples:,}: {IMPLEMENTATIONS[name]} ...", file=sys.stderr, flush=True
                )
                runs[name].append(_spawn(["--child", name, str(workdir), "1"]))
        for name, done in runs.items():
            results[name] = {
                **done[0],
                "seconds": min(r["seconds"] for r in done),
                "all_seconds": [r["seconds"] for r in done],
                "cpu_seconds": min(r["cpu_seconds"] for r in done),
                "all_cpu_seconds": [r["cpu_seconds"] for r in done],
                "peak_rss_delta_mb": max(r["peak_rss_delta_mb"] for r in done),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in done),
                "load_1min": [done[0]["load_1min"][0], done[-1]["load_1min"][1]],
            }
        results = {name: results[name] for name in names}
        labels = {name: np.load(workdir / f"{name}_labels.npy") for name in names}
    for name, result in results.items():
        result["ari_truth"] = float(adjusted_rand_score(truth, labels[name]))
        if reference and name != reference:
            result["ari_reference"] = float(adjusted_rand_score(labels[reference], labels[name]))
    return {"n_samples": n_samples, "reference": reference, "results": results}


def ratios(size: dict) -> list[dict]:
    """Time and peak memory of the reference over each other run (above 1: the other is cheaper)."""
    reference = size["reference"]
    if reference is None:
        return []
    ref = size["results"][reference]
    out = []
    for name, r in size["results"].items():
        if name == reference:
            continue
        out.append(
            {
                "name": name,
                "time": ref["seconds"] / r["seconds"],
                "cpu_time": ref["cpu_seconds"] / r["cpu_seconds"],
                "memory": ref["peak_rss_delta_mb"] / max(r["peak_rss_delta_mb"], 1.0),
            }
        )
    return out


def environment() -> dict:
    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "missing"

    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout
    return {
        "date": datetime.date.today().isoformat(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "uptime": uptime.strip(),
        "versions": {
            dist: version(dist) for dist in ("numpy", "scipy", "scikit-learn", "fastcluster")
        },
    }


def render(report: dict) -> str:
    """The report as Markdown: one table of runs, one of ratios."""
    lines = [
        f"Data: make_blobs, {N_FEATURES} features, {N_CLUSTERS} centres, "
        f"cluster_std={CLUSTER_STD}, seed {report['seed']}; every tree cut into {N_CLUSTERS} "
        "clusters.",
        "",
        "| n | implementation | time (s) | CPU time (s) | peak RSS Δ (MB) | peak RSS (MB) "
        "| ARI vs reference | ARI vs truth | load 1 min (start → end) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for size in report["sizes"]:
        for name, r in size["results"].items():
            if name == size["reference"]:
                agreement = "reference"
            else:
                agreement = f"{r['ari_reference']:.4f}" if "ari_reference" in r else "–"
            lines.append(
                f"| {size['n_samples']:,} | {IMPLEMENTATIONS[name]} | {r['seconds']:.2f} "
                f"| {r['cpu_seconds']:.2f} "
                f"| {r['peak_rss_delta_mb']:,.0f}{'' if r['peak_rss_exact'] else '?'} "
                f"| {r['peak_rss_mb']:,.0f} "
                f"| {agreement} | {r['ari_truth']:.4f} "
                f"| {r['load_1min'][0]:.1f} → {r['load_1min'][1]:.1f} |"
            )
    lines += [
        "",
        "Ratios: the reference's time and peak memory over each other run's (above 1: the other "
        "is cheaper; memory deltas below 1 MB count as 1 MB):",
        "",
        "| n | run vs reference | time ratio | CPU time ratio | memory ratio |",
        "|---|---|---|---|---|",
    ]
    for size in report["sizes"]:
        for r in ratios(size):
            lines.append(
                f"| {size['n_samples']:,} | {IMPLEMENTATIONS[r['name']]} vs "
                f"{IMPLEMENTATIONS[size['reference']]} | {r['time']:.2f}x | {r['cpu_time']:.2f}x "
                f"| {r['memory']:.1f}x |"
            )
    env = report["environment"]
    lines += [
        "",
        f"{env['date']}, Python {env['python']}, {env['cpus']} CPUs; "
        + ", ".join(f"{k} {v}" for k, v in env["versions"].items())
        + f". `uptime` before the runs: {env['uptime']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, 20_000, 100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=2, help="fresh runs of exact Ward and peer")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    report = {"environment": environment(), "seed": args.seed, "sizes": []}
    for n_samples in sorted(args.sizes):
        report["sizes"].append(bench_size(n_samples, args.seed, args.rounds))
    report["environment"]["uptime_after"] = subprocess.run(
        ["uptime"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(render(report))
    print(f"\n`uptime` after the runs: {report['environment']['uptime_after']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _, _, impl, folder, n_repeats = sys.argv
        print(json.dumps(child(impl, Path(folder), int(n_repeats))))
    else:
        main()
