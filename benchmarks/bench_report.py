"""The default report cold and warm, this checkout against another one (before and after).

For each checkout (its own ``.venv``), ``seglab report`` renders ``configs/default.yaml`` twice
with a cache of its own: once on an empty cache (cold: every solution fitted and scored) and
once again (warm). The synthetic data is generated before the clock starts. Each render is
measured by :mod:`measure` (wall time, peak memory of the process tree); the per-stage seconds
come from the report's ``run.json``. Results go to ``benchmarks/results/report.json``.

Usage: ``.venv/bin/python benchmarks/bench_report.py [--against /path/to/other/checkout]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

import yaml
from measure import measure

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "report.json"


def bench(checkout: Path, label: str) -> dict:
    """Cold and warm report of `checkout`'s default config, in a cache folder of its own."""
    seglab = checkout / ".venv" / "bin" / "seglab"
    work = Path(tempfile.mkdtemp(prefix=f"bench-report-{label}-"))
    raw = yaml.safe_load((checkout / "configs" / "default.yaml").read_text())
    for key in ("transactions", "customers"):
        raw["data"][key] = str((checkout / "configs" / raw["data"][key]).resolve())
    raw["cache_dir"] = str(work / "cache")
    config = work / "default.yaml"
    config.write_text(yaml.safe_dump(raw))
    subprocess.run(
        [str(seglab), "validate", "--config", str(config)], check=True, capture_output=True
    )  # fmt: skip  (generates the synthetic data if missing)
    env = {**os.environ, "MPLBACKEND": "Agg"}
    command = [str(seglab), "report", "--config", str(config), "--out", str(work / "reports")]
    steps = {}
    for phase in ("cold", "warm"):
        steps[phase] = measure(f"{label} {phase}", command, cwd=work, env=env)
        record = json.loads(next((work / "reports").glob("*/*/run.json")).read_text())
        steps[phase]["stages"] = record["timings"]
        # Interpreter start, imports and exit: the wall time outside the report's own clock.
        steps[phase]["outside_s"] = round(steps[phase]["seconds"] - record["timings"]["total_s"], 1)
    return {"checkout": str(checkout), "commit": _commit(checkout), **steps}


def _commit(checkout: Path) -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=checkout,
                          capture_output=True, text=True)  # fmt: skip
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, help="another checkout (with .venv) to compare")
    args = parser.parse_args()
    runs = []
    if args.against:
        runs.append(bench(args.against.resolve(), "before"))
    runs.append(bench(ROOT, "after"))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": f"{os.cpu_count()} cores", "runs": runs}, indent=2))
    print("| checkout | commit | cold (s) | warm (s) | cold peak (GB) | warm peak (GB) |")
    print("|---|---|---|---|---|---|")
    for run in runs:
        cold, warm = run["cold"], run["warm"]
        print(f"| {run['checkout']} | {run['commit']} | {cold['seconds']} | {warm['seconds']} | "
              f"{cold['peak_gb']} | {warm['peak_gb']} |")  # fmt: skip
    if len(runs) == 2:
        before, after = runs
        for phase in ("cold", "warm"):
            ratio = before[phase]["seconds"] / after[phase]["seconds"]
            print(f"{phase}: before / after = {ratio:.2f}x")


if __name__ == "__main__":
    main()
