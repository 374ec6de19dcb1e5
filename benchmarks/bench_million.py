"""A million customers end to end on one machine: synth, run, report; time and peak memory.

Each step runs as its own command (``seglab synth``, ``seglab run``, ``seglab report`` with
``configs/million.yaml``), exactly as a user would type it. Peak memory is the largest total
resident memory of the command and every process it starts (joblib workers, the notebook
kernel), sampled every 0.2 s, so nothing a child allocates escapes the bound. The synthetic
log is generated once into ``benchmarks/data/million/`` and reused.

Usage: ``.venv/bin/python benchmarks/bench_million.py [--customers 1000000] [--fresh]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data" / "million"
CONFIG = ROOT / "configs" / "million.yaml"
SEGLAB = Path(sys.executable).with_name("seglab")
LIMIT_GB = 8.0


def measure(step: str, command: list[str]) -> dict:
    """Run `command`; return its wall time and the peak total memory of its process tree."""
    start = time.perf_counter()
    process = psutil.Popen(command, cwd=ROOT)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss(process))
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{step} failed with exit code {process.returncode}: {' '.join(command)}")
    return {"step": step, "seconds": round(seconds, 1), "peak_gb": round(peak / 1e9, 2)}


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--fresh", action="store_true", help="regenerate data, empty the caches")
    args = parser.parse_args()
    cache = ROOT / "data" / "interim" / "million"
    if args.fresh:
        shutil.rmtree(DATA, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)
    steps = []
    if not (DATA / "customers.parquet").exists():
        synth = [str(SEGLAB), "synth", "--customers", str(args.customers), "--out", str(DATA)]
        steps.append(measure("seglab synth", synth))
    run = [str(SEGLAB), "run", "--config", str(CONFIG)]
    steps.append(measure("seglab run (cold cache)", run))
    steps.append(measure("seglab run (warm cache)", run))
    report = [str(SEGLAB), "report", "--config", str(CONFIG)]
    steps.append(measure("seglab report", report))
    parts = (DATA / "transactions").glob("*.parquet")
    lines = sum(pq.ParquetFile(path).metadata.num_rows for path in parts)
    print(json.dumps({"customers": args.customers, "lines": lines, "steps": steps}))
    print(f"\n{args.customers:,} customers, {lines:,} transaction lines\n")
    print("| step | seconds | peak memory (GB, whole process tree) |")
    print("|---|---|---|")
    for step in steps:
        print(f"| {step['step']} | {step['seconds']:,} | {step['peak_gb']} |")
    worst = max(step["peak_gb"] for step in steps)
    verdict = "met" if worst < LIMIT_GB else "NOT met"
    print(f"\npeak {worst} GB against the {LIMIT_GB:g} GB bound: {verdict}")


if __name__ == "__main__":
    main()
