"""Render a report: run the notebook with papermill, export HTML without code, record provenance.

A run is written to a temporary folder next to its destination and moved into place only when
everything succeeded, so a failed run never replaces the last good report.
"""

from __future__ import annotations

import datetime as dt
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

from seglab import io
from seglab.config import Config, load_config
from seglab.errors import SeglabError
from seglab.pipeline import SegmentationResult, resolve_as_of

__all__ = [
    "NOTEBOOKS",
    "ReportError",
    "narrative",
    "provenance",
    "render_report",
    "save_artefacts",
    "summary",
]

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
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


def narrative(result: SegmentationResult) -> str:
    """A few sentences of Markdown that read the run's numbers for the report's opening."""
    h = result.headline
    chosen = result.experiments.results.set_index("solution").loc[result.chosen]
    largest = result.profile.sort_values("customers", ascending=False).iloc[0]
    richest = result.profile.sort_values("revenue_share", ascending=False).iloc[0]
    votes = result.experiments.choice.recommended
    support = votes.loc[
        (votes["feature_set"] == chosen["feature_set"])
        & (votes["scaling"] == chosen["scaling"])
        & (votes["algorithm"] == chosen["algorithm"]),
        ["votes", "n_voting"],
    ].iloc[0]
    how = (
        f"recommended by {support['votes']} of {support['n_voting']} criteria"
        if result.chosen_by == "vote"
        else "named in the config"
    )
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


def render_report(
    config: Config | str | Path,
    *,
    as_of: str | dt.date | None = None,
    out_root: str | Path = "reports",
) -> Path:
    """Render the report for one date into ``out_root/<config name>/<as_of>/``.

    Parameters
    ----------
    config : Config or path-like
        The run config (or its YAML file).
    as_of : date or str, optional
        Overrides the config's ``as_of``.
    out_root : path-like
        Root of all reports.

    Returns
    -------
    Path
        The folder of the finished run (holding ``report.html``).
    """
    config = config if isinstance(config, Config) else load_config(config)
    as_of = resolve_as_of(config, as_of)
    folder = Path(out_root).resolve() / config.name
    final = folder / as_of.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(
        dir=folder, prefix=f".{as_of.isoformat()}-", ignore_cleanup_errors=True
    ) as tmp:
        work = Path(tmp)
        notebook = work / REPORT_NOTEBOOK
        notebook_s = _execute(config, as_of, notebook, failed=folder / "failed" / as_of.isoformat())
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
    log.info("report written to %s", final / "report.html")
    return final


def _execute(config: Config, as_of: dt.date, output: Path, *, failed: Path) -> float:
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(NOTEBOOKS / REPORT_NOTEBOOK),
            str(output),
            parameters={
                "config": str(config.source),
                "as_of": as_of.isoformat(),
                "output_dir": str(output.parent),
            },
            cwd=str(NOTEBOOKS),
            progress_bar=False,
            kernel_name="python3",
        )
    except papermill.PapermillExecutionError as exc:
        failed.mkdir(parents=True, exist_ok=True)
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
