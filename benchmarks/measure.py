"""Measure a command as a user runs it: wall time and the peak memory of its whole process tree.

Peak memory is the largest total resident memory of the command and every process it starts
(joblib workers, the notebook kernel), sampled every 0.2 s, so nothing a child allocates escapes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil

__all__ = ["measure"]


def measure(step: str, command: list[str], *, cwd: Path, env: dict | None = None) -> dict:
    """Run `command` in `cwd`; return its wall time and the peak memory of its process tree."""
    start = time.perf_counter()
    load = os.getloadavg()[0]
    process = psutil.Popen(command, cwd=cwd, env=env)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss(process))
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{step} failed with exit code {process.returncode}: {' '.join(command)}")
    return {
        "step": step,
        "seconds": round(seconds, 1),
        "peak_gb": round(peak / 1e9, 2),
        "load_before": round(load, 2),
    }


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total
