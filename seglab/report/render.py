"""Render a report: run the notebook with papermill, export HTML without code, record provenance.

A run is written to a temporary folder next to its destination and moved into place only when
everything succeeded, so a failed run never replaces the last good report.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io as io_bytes
import json
import logging
import os
import platform
import re
import shutil
import subprocess
import tempfile
import time
from importlib import metadata
from pathlib import Path

import nbformat
import pandas as pd
import papermill
from nbconvert import HTMLExporter

from seglab.data import reading as io
from seglab.errors import ConfigError, SeglabError
from seglab.run.config import Config, load_config
from seglab.run.pipeline import SegmentationResult, resolve_as_of

__all__ = [
    "NOTEBOOKS",
    "ReportError",
    "migration_text",
    "narrative",
    "period_ends",
    "provenance",
    "render_report",
    "render_series",
    "save_artefacts",
    "summary",
    "write_index",
]

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = PROJECT_ROOT / "notebooks"
REPORT_NOTEBOOK = "10-report.ipynb"
RECORDED_PACKAGES = (
    "seglab", "pandas", "numpy", "scikit-learn", "scipy", "duckdb", "ibis-framework",
    "papermill", "nbconvert", "matplotlib", "seaborn", "pyarrow",
)  # fmt: skip


EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>", re.I)


class ReportError(SeglabError):
    """The report notebook stopped on a user error (bad config or data) in one of its cells."""


def save_artefacts(result: SegmentationResult, output_dir: str | Path | None) -> list[Path]:
    """Write the run's tables into `output_dir`; nothing when it is None.

    ``segments.parquet`` and ``segments.csv`` (one row per customer: chosen cluster and name,
    fuzzy memberships, every scheme's label and tags), ``results.parquet`` (one row per
    solution of the grid), ``summary.json`` (headline figures and segment sizes) and
    ``timings.json`` (read into ``run.json`` by :func:`render_report`). Called by the report
    notebook's last cell, so an interactive run writes nothing.
    """
    if output_dir is None:
        return []
    folder = Path(output_dir)
    segments = result.segments.reset_index()
    segments.to_parquet(folder / "segments.parquet", index=False)
    segments.to_csv(folder / "segments.csv", index=False)
    result.experiments.results.to_parquet(folder / "results.parquet", index=False)
    (folder / "summary.json").write_text(json.dumps(summary(result), indent=2, sort_keys=True))
    (folder / "timings.json").write_text(json.dumps(result.timings, indent=2))
    return [folder / name for name in ("segments.parquet", "segments.csv", "results.parquet")]


def summary(result: SegmentationResult) -> dict:
    """Headline figures and segment sizes, for dashboards and tests (no timings)."""
    clusters = result.profile
    headline = json.loads(result.headline.to_json())
    return {
        "headline": headline,
        "chosen_solution": result.chosen,
        "chosen_by": result.chosen_by,
        "clusters": {
            str(segment): {
                "name": row["name"], "customers": int(row["customers"]),
                "revenue_share": round(float(row["revenue_share"]), 6),
            }
            for segment, row in clusters.iterrows()
        },
        "schemes": {
            name: table.set_index(table["segment"].astype(str))["customers"].astype(int).to_dict()
            for name, table in result.heuristics.summaries.items()
            if name in result.heuristics.labels
        },
    }  # fmt: skip


def provenance(result: SegmentationResult) -> pd.Series:
    """How this run was made: config file, seed, data fingerprint, versions, step timings."""
    config = result.config
    return pd.Series(
        {
            "config": str(config.source),
            "seed": config.seed,
            "as_of": result.as_of.isoformat(),
            "data fingerprint (SHA-256)": io.fingerprint(
                config.data.transactions, config.data.customers
            ),
            "seglab": _version("seglab"),
            "python": platform.python_version(),
            "git commit": _git_commit() or "(not a git checkout)",
            **{f"seconds: {step}": seconds for step, seconds in result.timings.items()},
        },
        name="value",
    )


def migration_text(result: SegmentationResult) -> str:
    """One Markdown sentence on the purchase-frequency tier moves since the previous period."""
    moved = result.migration
    if not moved.matrices:
        return f"No migration: {moved.note}."
    if moved.tier_moves.empty:
        return f"Compared with {moved.previous_as_of}."
    counts = moved.tier_moves.set_index("move")["customers"]
    return (
        f"Since **{moved.previous_as_of}**, {counts['up']:,} customers moved up a "
        f"purchase-frequency tier and {counts['down']:,} moved down; {counts['same']:,} kept "
        f"their tier, {counts['new']:,} are new and {counts['lost']:,} were lost."
    )


def narrative(result: SegmentationResult) -> str:
    """A few sentences of Markdown that read the run's numbers for the report's opening."""
    h = result.headline
    chosen = result.experiments.results.set_index("solution").loc[result.chosen]
    largest = result.profile.sort_values("customers", ascending=False).iloc[0]
    richest = result.profile.sort_values("revenue_share", ascending=False).iloc[0]
    votes = result.experiments.choice.recommended
    keys = ["feature_set", "scaling", "algorithm", "seed"]
    support = votes[(votes[keys] == chosen[keys].to_numpy()).all(axis=1)]
    recommended = not support.empty and support["recommended_k"].iloc[0] == chosen["k"]
    if result.chosen_by != "vote":
        how = "named in the config"
    elif recommended:
        how = f"recommended by {support['votes'].iloc[0]} of {support['n_voting'].iloc[0]} criteria"
    else:
        how = "no criterion voted, so the best silhouette"
    lines = [
        f"As of **{h['as_of']}**, **{h['customers']:,} customers** bought for "
        f"**{h['net revenue']:,.0f}** net between {h['first transaction']} and "
        f"{h['last transaction']}.",
        f"The segmentation shown, *{result.chosen}*, has **{int(chosen['k'])} clusters** "
        f"({how}; silhouette {chosen['silhouette']:.2f}).",
        f"The largest cluster, *{largest['name']}*, holds {largest['share']:.0%} of customers; "
        f"*{richest['name']}* brings {richest['revenue_share']:.0%} of revenue with "
        f"{richest['share']:.0%} of customers.",
    ]
    truth = result.comparisons.get("true_segment")
    if truth is not None:
        lines.append(
            f"Against the synthetic archetypes the clusters reach an adjusted Rand index of "
            f"{truth.scores['ari']:.2f}."
        )
    return " ".join(lines)


PERIODS = {"month": ("ME", 1), "quarter": ("QE", 3)}


def period_ends(start: str | dt.date, end: str | dt.date, every: str) -> list[dt.date]:
    """The last days of the months (or quarters) from `start` to `end`, inclusive.

    >>> [d.isoformat() for d in period_ends("2011-01-15", "2011-03-31", "month")]
    ['2011-01-31', '2011-02-28', '2011-03-31']
    """
    if every not in PERIODS:
        raise ConfigError(f"--every must be one of {', '.join(PERIODS)}, got '{every}'")
    try:
        dates = pd.date_range(
            dt.date.fromisoformat(str(start)),
            dt.date.fromisoformat(str(end)),
            freq=PERIODS[every][0],
        )
    except ValueError:
        raise ConfigError(f"--from '{start}' and --to '{end}' must be dates YYYY-MM-DD") from None
    if dates.empty:
        raise ConfigError(f"no {every} ends between {start} and {end}; widen the range")
    return [d.date() for d in dates]


def render_series(
    config: Config | str | Path,
    *,
    start: str | dt.date,
    end: str | dt.date,
    every: str = "month",
    out_root: str | Path = "reports",
) -> list[Path]:
    """Render one report per period end from `start` to `end`, each against the one before.

    Stops at the first failure (which raises): reports already rendered stay in place, and the
    index lists them. Cached features and solutions are reused across periods and reruns.
    """
    config = config if isinstance(config, Config) else load_config(config)
    dates = period_ends(start, end, every)
    previous = _months_before(dates[0], PERIODS[every][1])
    folders = []
    for as_of in dates:
        folders.append(
            render_report(config, as_of=as_of, previous_as_of=previous, out_root=out_root)
        )
        previous = as_of
    return folders


def _months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` earlier; a month end maps to a month end.

    >>> _months_before(dt.date(2026, 4, 30), 1), _months_before(dt.date(2026, 4, 15), 1)
    (datetime.date(2026, 3, 31), datetime.date(2026, 3, 15))
    """
    stamp = pd.Timestamp(day)
    if stamp.is_month_end:
        return (stamp - pd.offsets.MonthEnd(months)).date()
    return (stamp - pd.DateOffset(months=months)).date()


def render_report(
    config: Config | str | Path,
    *,
    as_of: str | dt.date | None = None,
    previous_as_of: str | dt.date | None = None,
    out_root: str | Path = "reports",
) -> Path:
    """Render the report for one date into ``out_root/<config name>/<as_of>/``.

    Parameters
    ----------
    config : Config or path-like
        The run config (or its YAML file).
    as_of : date or str, optional
        Overrides the config's ``as_of``.
    previous_as_of : date or str, optional
        The period migration is measured from; one month before `as_of` by default.
    out_root : path-like
        Root of all reports; ``index.html`` of the config's folder is refreshed.

    Returns
    -------
    Path
        The folder of the finished run (holding ``report.html``).
    """
    config = config if isinstance(config, Config) else load_config(config)
    if config.source is None:
        raise ConfigError("render_report needs a config loaded from a file (load_config)")
    as_of = resolve_as_of(config, as_of)
    if previous_as_of is None:
        previous_as_of = _months_before(as_of, 1)
    previous_as_of = resolve_as_of(config, previous_as_of)
    if previous_as_of >= as_of:
        raise ConfigError(f"the previous date {previous_as_of} must come before as_of {as_of}")
    folder = Path(out_root).resolve() / config.name
    final = folder / as_of.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(
        dir=folder, prefix=f".{as_of.isoformat()}-", ignore_cleanup_errors=True
    ) as tmp:
        work = Path(tmp)
        notebook = work / REPORT_NOTEBOOK
        failed = folder / "failed" / as_of.isoformat()
        notebook_s = _execute(config, (as_of, previous_as_of), notebook, failed=failed)
        html_start = time.perf_counter()
        (work / "report.html").write_text(export_html(notebook), encoding="utf-8")
        timings = {
            "notebook_s": round(notebook_s, 3),
            "html_s": round(time.perf_counter() - html_start, 3),
        }
        steps = json.loads((work / "timings.json").read_text())
        (work / "timings.json").unlink()
        timings["total_s"] = round(time.perf_counter() - started, 3)
        write_run_record(work / "run.json", config, as_of, {**timings, "steps": steps})
        _replace(work, final)
    write_index(folder)
    log.info("report written to %s", final / "report.html")
    return final


def _execute(config: Config, dates, output: Path, *, failed: Path) -> float:
    as_of, previous_as_of = dates
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(NOTEBOOKS / REPORT_NOTEBOOK),
            str(output),
            parameters={
                "config": str(config.source),
                "as_of": as_of.isoformat(),
                "previous_as_of": previous_as_of.isoformat(),
                "output_dir": str(output.parent),
            },
            cwd=str(NOTEBOOKS),
            progress_bar=False,
            kernel_name="python3",
        )
    except papermill.PapermillExecutionError as exc:
        failed.mkdir(parents=True, exist_ok=True)
        if output.exists():
            shutil.copy2(output, failed / REPORT_NOTEBOOK)
        where = f"cell {exc.exec_count}" if exc.exec_count else "a cell"
        message = (
            f"the report notebook failed in {where}: {exc.ename}: {exc.evalue}\n"
            f"The last good report is untouched; the failed notebook is in {failed}."
        )
        if exc.ename in _user_error_names():
            raise ReportError(message) from None
        raise RuntimeError(message) from None
    return time.perf_counter() - start


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
    from seglab.report.figures import sizes_over_time

    sizes = pd.DataFrame(
        {name: s["schemes"].get("frequency_tiers", {}) for name, s in periods}
    ).T.fillna(0)
    if sizes.empty:
        return ""
    buffer = io_bytes.BytesIO()
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


def _user_error_names() -> set[str]:
    names, pending = set(), [SeglabError]
    while pending:
        cls = pending.pop()
        names.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return names


def export_html(notebook: Path) -> str:
    """The executed notebook as self-contained HTML: no code cells, no prompts, figures inline.

    The template's scripts loaded from the network (MathJax, require.js) are removed: the report
    has no formulas or widgets, and it must open offline.
    """
    exporter = HTMLExporter(
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    body, _ = exporter.from_notebook_node(nbformat.read(notebook, as_version=4))
    return EXTERNAL_SCRIPT.sub("", body)


def write_run_record(path: Path, config: Config, as_of: dt.date, timings: dict) -> None:
    """Write ``run.json``: config, seed, data fingerprint, package versions, git commit, timings."""
    record = {
        "config": config.model_dump(mode="json"),
        "seed": config.seed,
        "as_of": as_of.isoformat(),
        "data_fingerprint": io.fingerprint(config.data.transactions, config.data.customers),
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in RECORDED_PACKAGES},
        "git_commit": _git_commit(),
        "timings": timings,
    }
    path.write_text(json.dumps(record, indent=2, sort_keys=True), encoding="utf-8")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def _replace(work: Path, final: Path) -> None:
    """Move the finished run into place; the old one is removed only after the move."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}-old-{os.getpid()}")
        final.rename(old)
    work.chmod(0o755)
    work.rename(final)
    if old is not None:
        shutil.rmtree(old)
