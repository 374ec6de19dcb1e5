"""Feature computation against its peers, side by side in one run.

Measures, each in a fresh subprocess (so peak memory is that task's own; imports excluded):
- seglab_full: open + clean (with the cleaning account) + every feature, from Parquet;
- seglab_rfm against pandas_rfm: read Parquet + recency, frequency, monetary (no cleaning);
- seglab_btyd against lifetimes' summary_data_from_transaction_data: read Parquet + the
  buy-till-you-die summary (1M rows only; no cleaning on either side).

The logs draw customer ids from a Zipf law over 100,000 ids, so not every id buys: the customers
actually in each log are counted and recorded (``customers``). Writes
``benchmarks/results/features.json`` (machine, load, every task's figures).

Usage: ``.venv/bin/python benchmarks/bench_features.py [--rows 1000000 10000000]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

CUSTOMERS = 100_000
RESULTS = Path(__file__).resolve().parent / "results" / "features.json"
AS_OF = dt.date(2025, 12, 31)
DATA = Path(__file__).resolve().parent / "data"
RFM = ["recency_days", "frequency", "monetary_total"]
BTYD = ["btyd_frequency", "btyd_recency", "btyd_T", "btyd_monetary"]


def make_log(rows: int, path: Path, seed: int = 0) -> None:
    """A transaction log of `rows` lines over two years (seeded); ids from a Zipf law over
    CUSTOMERS ids, so fewer customers than that appear (counted by :func:`main`)."""
    rng = np.random.default_rng(seed)
    orders = rows // 3
    order_customer = rng.zipf(1.3, orders) % CUSTOMERS
    start = np.datetime64("2024-01-01T00:00")
    order_time = start + rng.integers(0, 2 * 365 * 24 * 60, orders).astype("timedelta64[m]")
    order_of_line = np.sort(rng.integers(0, orders, rows))
    frame = pd.DataFrame(
        {
            "customer_id": order_customer[order_of_line].astype("int64"),
            "order_date": order_time[order_of_line],
            "order_id": order_of_line.astype("int64"),
            "product_id": rng.integers(0, 5_000, rows).astype("int64"),
            "amount": np.round(rng.lognormal(2.5, 1.0, rows), 2),
        }
    )
    frame.to_parquet(path, index=False)


def run_task(task: str, path: Path) -> dict:
    """Run one task twice in this process: the first call (imports excluded) and a repeat."""
    first = _run_once(task, path)
    repeat = _run_once(task, path)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"task": task, "seconds": first[0], "repeat_seconds": repeat[0],
            "peak_mb": round(peak_mb), "rows_out": first[1]}  # fmt: skip


def _run_once(task: str, path: Path) -> tuple[float, int]:
    # Every library, and the modules they load lazily on first use (Ibis's DuckDB backend and
    # its SQL dialects, pyarrow's Parquet reader), is imported before the clock starts.
    import ibis
    import ibis.backends.duckdb
    import pyarrow.parquet  # noqa: F401
    import sqlglot.dialects.duckdb  # noqa: F401
    from lifetimes.utils import summary_data_from_transaction_data

    from seglab.data import reading
    from seglab.data.settings import DataConfig
    from seglab.features import compute_features

    start = time.perf_counter()
    if task == "seglab_full":
        loaded = reading.load(DataConfig(transactions=path))
        table = compute_features(loaded.transactions, AS_OF)
    elif task in ("seglab_rfm", "seglab_btyd"):
        log = ibis.duckdb.connect().read_parquet(path)
        table = compute_features(log, AS_OF, RFM if task == "seglab_rfm" else BTYD)
    elif task == "pandas_rfm":
        frame = pd.read_parquet(path, columns=["customer_id", "order_date", "order_id", "amount"])
        grouped = frame.groupby("customer_id")
        table = pd.DataFrame(
            {
                "recency_days": (pd.Timestamp(AS_OF) - grouped["order_date"].max()).dt.days,
                "frequency": grouped["order_id"].nunique(),
                "monetary_total": grouped["amount"].sum(),
            }
        )
    elif task == "lifetimes":
        frame = pd.read_parquet(path, columns=["customer_id", "order_date", "amount"])
        table = summary_data_from_transaction_data(
            frame, "customer_id", "order_date", monetary_value_col="amount",
            observation_period_end=pd.Timestamp(AS_OF), freq="D",
        )  # fmt: skip
    else:
        raise SystemExit(f"unknown task {task}")
    return round(time.perf_counter() - start, 3), len(table)


def measure(task: str, path: Path, repeats: int) -> dict:
    """Median of `repeats` fresh-process runs of `task`."""
    runs = []
    for _ in range(repeats):
        done = subprocess.run(
            [sys.executable, __file__, "--task", task, "--file", str(path)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    runs.sort(key=lambda r: r["seconds"])
    return runs[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--task")
    parser.add_argument("--file", type=Path)
    args = parser.parse_args()
    if args.task:
        print(json.dumps(run_task(args.task, args.file)))
        return
    DATA.mkdir(exist_ok=True)
    load_before = os.getloadavg()[0]
    results = []
    for rows in args.rows:
        path = DATA / f"log_{rows}.parquet"
        if not path.exists():
            make_log(rows, path)
        customers = pd.read_parquet(path, columns=["customer_id"])["customer_id"].nunique()
        tasks = ["seglab_full", "seglab_rfm", "pandas_rfm"]
        if rows <= 1_000_000:
            tasks += ["seglab_btyd", "lifetimes"]
        for task in tasks:
            result = {"rows": rows, "customers": customers, **measure(task, path, args.repeats)}
            results.append(result)
            print(json.dumps(result), flush=True)
    record = {
        "date": dt.date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}",
        "python": platform.python_version(),
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "repeats": args.repeats,
        "results": results,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")
    print(_table(results))


def _table(results: list[dict]) -> str:
    by = {(r["rows"], r["task"]): r for r in results}
    lines = [
        "| rows | customers | task | first call (s) | repeat (s) | peak MB "
        "| peer / seglab: first, repeat |",
        "|---|---|---|---|---|---|---|",
    ]
    peers = {"pandas_rfm": "seglab_rfm", "lifetimes": "seglab_btyd"}
    for r in results:
        ratio = ""
        if r["task"] in peers and (r["rows"], peers[r["task"]]) in by:
            ours = by[(r["rows"], peers[r["task"]])]
            ratio = (
                f"{r['seconds'] / ours['seconds']:.2f}x, "
                f"{r['repeat_seconds'] / ours['repeat_seconds']:.2f}x"
            )
        lines.append(
            f"| {r['rows']:,} | {r['customers']:,} | {r['task']} | {r['seconds']} "
            f"| {r['repeat_seconds']} | {r['peak_mb']} | {ratio} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
