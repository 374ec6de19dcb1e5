"""The index page of one config's reports: every period with a link and a chart over time."""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
from pathlib import Path

import pandas as pd

from seglab.report.figures import sizes_over_time

__all__ = ["write_index"]


def write_index(folder: Path) -> Path:
    """``index.html`` of one config's reports: every period with a link and a chart of the
    purchase-frequency tiers' sizes over time (self-contained: the chart is embedded)."""
    periods = []
    for run in sorted(p for p in folder.iterdir() if p.is_dir() and _is_date(p.name)):
        summary_file = run / "summary.json"
        if (run / "report.html").exists() and summary_file.exists():
            periods.append((run.name, json.loads(summary_file.read_text())))
    rows = "\n".join(
        f'<tr><td><a href="{name}/report.html">{name}</a></td>'
        f"<td>{s['headline']['customers']:,}</td><td>{s['headline']['net revenue']:,.0f}</td>"
        f"<td>{html.escape(s['chosen_solution'])}</td></tr>"
        for name, s in periods
    )
    chart = _sizes_chart(periods)
    page = INDEX_PAGE.format(name=html.escape(folder.name), rows=rows, chart=chart)
    target = folder / "index.html"
    target.write_text(page, encoding="utf-8")
    return target


INDEX_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{name}: segmentation reports</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:4px 12px;text-align:left}}</style>
</head><body><h1>{name}: segmentation reports</h1>
{chart}
<table><tr><th>as of</th><th>customers</th><th>net revenue</th><th>chosen solution</th></tr>
{rows}
</table></body></html>
"""


def _sizes_chart(periods: list[tuple[str, dict]]) -> str:
    sizes = pd.DataFrame(
        {name: s["schemes"].get("frequency_tiers", {}) for name, s in periods}
    ).T.fillna(0)
    if sizes.empty:
        return ""
    buffer = io.BytesIO()
    sizes_over_time(sizes, title="Purchase-frequency tiers over time").savefig(
        buffer, format="png", dpi=90
    )
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="segment sizes over time" src="data:image/png;base64,{encoded}">'


def _is_date(name: str) -> bool:
    try:
        dt.date.fromisoformat(name)
    except ValueError:
        return False
    return True
