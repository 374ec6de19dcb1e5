"""A million customers end to end on one machine: synth, run, report; time and peak memory.

Each step runs as its own command (``seglab synth``, ``seglab run``, ``seglab report`` with
``configs/million.yaml``), exactly as a user would type it, measured by :mod:`measure` (the
peak memory of the whole process tree). The synthetic log is generated once into
``benchmarks/data/million/`` and reused.

Usage: ``.venv/bin/python benchmarks/bench_million.py [--customers 1000000] [--fresh]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import pyarrow.parquet as pq
from measure import measure

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data" / "million"
CONFIG = ROOT / "configs" / "million.yaml"
RESULTS = ROOT / "benchmarks" / "results" / "million.json"
SEGLAB = Path(sys.executable).with_name("seglab")
LIMIT_GB = 8.0
#: The bound of ``seglab run`` (issue N, target 2).
RUN_LIMIT_GB = 3.0


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
        steps.append(measure("seglab synth", synth, cwd=ROOT))
    run = [str(SEGLAB), "run", "--config", str(CONFIG)]
    steps.append(measure("seglab run (cold cache)", run, cwd=ROOT))
    steps.append(measure("seglab run (warm cache)", run, cwd=ROOT))
    report = [str(SEGLAB), "report", "--config", str(CONFIG)]
    steps.append(measure("seglab report", report, cwd=ROOT))
    parts = (DATA / "transactions").glob("*.parquet")
    lines = sum(pq.ParquetFile(path).metadata.num_rows for path in parts)
    record = {
        "machine": f"{os.cpu_count()} cores", "customers": args.customers, "lines": lines,
        "steps": steps,
    }  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=2))
    print(json.dumps(record))
    print(f"\n{args.customers:,} customers, {lines:,} transaction lines\n")
    print("| step | seconds | peak memory (GB, whole process tree) |")
    print("|---|---|---|")
    for step in steps:
        print(f"| {step['step']} | {step['seconds']:,} | {step['peak_gb']} |")
    worst = max(step["peak_gb"] for step in steps)
    verdict = "met" if worst < LIMIT_GB else "NOT met"
    print(f"\npeak {worst} GB against the {LIMIT_GB:g} GB bound: {verdict}")
    run = max(step["peak_gb"] for step in steps if step["step"].startswith("seglab run"))
    verdict = "met" if run <= RUN_LIMIT_GB else "NOT met"
    print(f"seglab run: peak {run} GB against the {RUN_LIMIT_GB:g} GB bound: {verdict}")


if __name__ == "__main__":
    main()
