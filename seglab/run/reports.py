"""Reports: compute (or reuse) a run, render its notebook, write the artefacts, publish atomically.

A report is built in a hidden folder of ``reports/<name>/.versions`` and published only when
everything succeeded, by swapping the link ``reports/<name>/<as_of>`` to it in one atomic step:
a failed run never replaces the last good report, and a reader never finds none. The notebook
only reads the run's stage results (``stages/`` inside the report folder).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from seglab.errors import ConfigError
from seglab.progress import progress_bar
from seglab.report.export import write_export
from seglab.report.index import write_index
from seglab.report.render import REPORT_NOTEBOOK, execute, export_html, kernel_ahead, render_key
from seglab.report.tables import full_table_name
from seglab.run import store
from seglab.run.cache import Cache, make_key
from seglab.run.config import Config, as_config, resolve_as_of
from seglab.run.pipeline import MODEL_FILE, Run, compute_run, is_cached

__all__ = ["period_ends", "render_report", "render_series", "summary", "write_artefacts"]

log = logging.getLogger(__name__)

PERIODS = {"month": ("ME", 1), "quarter": ("QE", 3)}
#: Hidden folder of a config's report folder holding every published version.
VERSIONS = ".versions"


def render_report(
    config: Config | str | Path,
    *,
    as_of: str | dt.date | None = None,
    previous_as_of: str | dt.date | None = None,
    out_root: str | Path = "reports",
    progress: bool = False,
    reference: str | Path | None = None,
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
    progress : bool
        Show progress bars for the long steps.
    reference : path-like, optional
        A saved segmentation whose segment ids and names this report's segments keep where
        they match (overrides ``clustering.reference``).

    Returns
    -------
    Path
        The folder of the finished report (holding ``report.html``).
    """
    config = as_config(config)
    as_of = resolve_as_of(config, as_of)
    previous = _months_before(as_of, 1) if previous_as_of is None else previous_as_of
    previous = resolve_as_of(config, previous)
    if previous >= as_of:
        raise ConfigError(f"the previous date {previous} must come before as_of {as_of}")
    started = time.perf_counter()
    folder = _report_folder(out_root, config.name)
    computed = not is_cached(config, as_of=as_of, previous_as_of=previous, reference=reference)
    with kernel_ahead(start=computed) as kernel:  # a new run has a notebook to execute
        stages = compute_run(
            config, as_of=as_of, previous_as_of=previous, progress=progress, reference=reference
        )
        run_s = time.perf_counter() - started
        work = _new_build(folder)
        try:
            shutil.copytree(stages, work / "stages")
            run = store.load(Run, work / "stages")
            stages_s = time.perf_counter() - started - run_s
            failed = folder / "failed" / as_of.isoformat()
            rendering = _render(work, stages, Cache(config.cache_dir), failed, kernel)
            artefacts_start = time.perf_counter()
            write_artefacts(run, work)
            timings = {
                "run_s": round(run_s, 3),
                "stages_s": round(stages_s, 3),
                **rendering,
                "artefacts_s": round(time.perf_counter() - artefacts_start, 3),
                "total_s": round(time.perf_counter() - started, 3),
                "steps": run.provenance.timings,
            }
            _write_run_record(work / "run.json", run, timings)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    final = _publish(work, folder, as_of.isoformat())
    log.info("report written to %s", final / "report.html")
    return final


def _render(work: Path, stages: Path, cache: Cache, failed: Path, kernel=None) -> dict:
    """Execute the report notebook on the run in ``work/stages`` (in `kernel` when one was
    started ahead) and export it as HTML, or copy both from the cache: a rendering depends only
    on the run (its folder is keyed by every input and seglab's code), the notebook and the
    rendering packages. Returns the stage seconds."""
    key = make_key(stages.name, render_key(REPORT_NOTEBOOK))
    entry = cache.path("renders", key)
    seconds = {"notebook_cached": entry is not None and entry.is_dir()}

    def write(target: Path) -> None:
        start = time.perf_counter()
        notebook = target / REPORT_NOTEBOOK
        execute(REPORT_NOTEBOOK, notebook, {"run_dir": str(work)}, failed=failed, kernel=kernel)
        html_start = time.perf_counter()
        (target / "report.html").write_text(export_html(notebook), encoding="utf-8")
        seconds["notebook_s"] = round(html_start - start, 3)
        seconds["html_s"] = round(time.perf_counter() - html_start, 3)

    start = time.perf_counter()
    rendered = cache.folder("renders", key, write)
    for name in (REPORT_NOTEBOOK, "report.html"):
        shutil.copyfile(rendered / name, work / name)
    if seconds["notebook_cached"]:
        seconds.update(notebook_s=round(time.perf_counter() - start, 3), html_s=0.0)
    return seconds


def render_series(
    config: Config | str | Path,
    *,
    start: str | dt.date,
    end: str | dt.date,
    every: str = "month",
    out_root: str | Path = "reports",
    progress: bool = False,
) -> list[Path]:
    """Render one report per period end from `start` to `end`, each against the one before.

    Each period's segments are matched to the previous report's saved segmentation, so ids,
    names and actions stay with the segments that persist (the first period starts from
    ``clustering.reference`` when set). Stops at the first failure (which raises): reports
    already rendered stay in place, and the index lists them. Cached features and solutions
    are reused across periods and reruns.
    """
    config = as_config(config)
    dates = period_ends(start, end, every)
    previous = _months_before(dates[0], PERIODS[every][1])
    folders = []
    for as_of in progress_bar(dates, desc="series", unit="report", enabled=progress):
        reference = folders[-1] / MODEL_FILE if folders else None
        folder = render_report(
            config, as_of=as_of, previous_as_of=previous, out_root=out_root,
            progress=progress, reference=reference,
        )  # fmt: skip
        folders.append(folder)
        previous = as_of
    return folders


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


def write_artefacts(run: Run, folder: Path) -> list[Path]:
    """Write the run's tables for other tools into `folder`.

    The CRM export (:mod:`seglab.report.export`: ``segments.csv``, ``.parquet``, ``.xlsx``,
    the data dictionary, ``movers.csv``), ``results.parquet`` (one row per solution of the
    grid), the report's long tables in full (``tables/*.csv``), ``summary.json`` (headline
    figures and segment sizes) and ``segmentation.skops`` (the saved segmentation).
    """
    shutil.copyfile(folder / "stages" / MODEL_FILE, folder / MODEL_FILE)
    written = write_export(
        run.segmentation, run.schemes, run.migration,
        snapshot=run.as_of, folder=folder, currency=run.config.data.currency, value=run.value,
    )  # fmt: skip
    run.grid.results.to_parquet(folder / "results.parquet", index=False)
    (folder / "tables").mkdir(exist_ok=True)
    for name, table in {
        "Heuristic segments": run.schemes.summary_table(),
        "Scheme warnings": run.schemes.warnings,
        "Candidates": run.choice.candidates,
    }.items():
        table.to_csv(folder / full_table_name(name), index=False)
    (folder / "summary.json").write_text(json.dumps(summary(run), indent=2, sort_keys=True))
    return [*written, folder / "results.parquet", folder / MODEL_FILE]


def summary(run: Run) -> dict:
    """Headline figures and segment sizes, for dashboards and tests (no timings)."""
    return {
        "headline": run.headline,
        "chosen_solution": run.choice.solution,
        "chosen_by": run.choice.chosen_by,
        "choice": _choice_summary(run),
        "clusters": {
            row["segment_id"]: {
                "name": row["name"], "action": row["action"], "status": row["status"],
                "customers": int(row["customers"]),
                "revenue_share": round(float(row["revenue_share"]), 6),
            }
            for _, row in run.segmentation.profile.iterrows()
        },
        "identity": [
            {key: _plain(value) for key, value in row.items()}
            for row in run.segmentation.identity.to_dict("records")
        ],
        "drift": [
            {key: _plain(value) for key, value in row.items()}
            for row in run.segmentation.drift.to_dict("records")
        ],
        "clv": {
            key: _plain_tree(value) for key, value in run.value.summary().items()
        },
        "schemes": {
            name: table.set_index(table["segment"].astype(str))["customers"].astype(int).to_dict()
            for name, table in run.schemes.summaries.items()
            if name in run.schemes.labels
        },
    }  # fmt: skip


#: Columns of a candidate in summary.json, rounded so that reruns give the same bytes.
CANDIDATE_FIELDS = (
    "rank", "solution", "k", "votes", "n_voting", "reference_silhouette", "balance",
    "smallest_share", "largest_share", "bootstrap_jaccard", "bootstrap_min_cluster_jaccard",
    "seed_mean_ari", "eligible", "reason",
)  # fmt: skip


def _choice_summary(run: Run) -> dict:
    """The decision for summary.json: the statement, structure, top candidates with evidence."""
    top = run.choice.top()
    return {
        "structure_found": bool(run.choice.structure),
        "statement": run.choice.statement,
        "candidates": [
            {field: _plain(row[field]) for field in CANDIDATE_FIELDS if field in top.columns}
            for _, row in top.iterrows()
        ],
    }


def _plain(value):
    """A JSON value: numbers rounded to 6 digits, missing as null."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else round(float(value), 6)
    return value


def _plain_tree(value):
    """:func:`_plain` applied inside nested mappings."""
    if isinstance(value, dict):
        return {key: _plain_tree(item) for key, item in value.items()}
    return _plain(value)


def _write_run_record(path: Path, run: Run, timings: dict) -> None:
    """``run.json``: config, seed, data fingerprint, package versions, git commit, timings."""
    made = run.provenance
    record = {
        "config": run.config.model_dump(mode="json"),
        "seed": made.seed,
        "as_of": made.as_of.isoformat(),
        "data_fingerprint": made.data_fingerprint,
        "python": made.python,
        "packages": made.packages,
        "git_commit": made.git_commit,
        "timings": timings,
    }
    path.write_text(json.dumps(record, indent=2, sort_keys=True), encoding="utf-8")


def _months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` earlier; a month end maps to a month end.

    >>> _months_before(dt.date(2026, 4, 30), 1), _months_before(dt.date(2026, 4, 15), 1)
    (datetime.date(2026, 3, 31), datetime.date(2026, 3, 15))
    """
    stamp = pd.Timestamp(day)
    if stamp.is_month_end:
        return (stamp - pd.offsets.MonthEnd(months)).date()
    return (stamp - pd.DateOffset(months=months)).date()


def _report_folder(out_root: str | Path, name: str) -> Path:
    """``out_root/<name>``, created; refused unless it lies inside the reports root."""
    root = Path(out_root).resolve()
    folder = (root / name).resolve()
    if folder.parent != root:
        raise ConfigError(f"the config name '{name}' must name one folder inside {root}")
    try:
        (folder / VERSIONS).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot write reports into '{folder}' ({exc.strerror}); pass --out with a folder "
            "you may write to"
        ) from None
    return folder


def _new_build(folder: Path) -> Path:
    """A fresh build folder in ``<folder>/.versions``, after removing those of dead runs."""
    versions = folder / VERSIONS
    for build in versions.glob(".building-*"):
        pid = build.name.split("-")[1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(build, ignore_errors=True)
    return Path(tempfile.mkdtemp(dir=versions, prefix=f".building-{os.getpid()}-"))


def _publish(work: Path, folder: Path, period: str) -> Path:
    """Make `work` the report of `period` in one atomic step; return the report's path.

    The report is a symbolic link ``<folder>/<period>`` to a version folder in ``.versions``;
    the new version replaces the link with ``os.replace``, so a reader sees the old report or
    the new one, never none. Older versions of the same period are removed afterwards; nothing
    outside ``<folder>`` is touched. Concurrent runs publishing into `folder` take turns.
    """
    _normal_permissions(work)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S%f")
    version = work.rename(work.with_name(f"{period}-{stamp}-{os.getpid()}"))
    final = folder / period
    with _lock(folder):
        if final.exists() and not final.is_symlink():  # a report from before versioning
            final.rename(folder / VERSIONS / f"{period}-earlier-{os.getpid()}")
        link = folder / f".{period}-{os.getpid()}.link"
        link.unlink(missing_ok=True)
        link.symlink_to(Path(VERSIONS) / version.name)
        os.replace(link, final)
        for old in (folder / VERSIONS).glob(f"{period}-*"):
            if old != version:
                shutil.rmtree(old, ignore_errors=True)
        write_index(folder)
    return final


@contextlib.contextmanager
def _lock(folder: Path, wait_seconds: float = 600.0):
    """Hold the publishing lock of `folder`; wait for another run holding it, then give up."""
    with open(folder / ".lock", "a") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ConfigError(
                        f"another seglab run has been publishing into {folder} for more than "
                        f"{wait_seconds:.0f} s; wait for it to finish, then run again"
                    ) from None
                log.info("waiting for another seglab run publishing into %s", folder)
                time.sleep(1.0)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _normal_permissions(folder: Path) -> None:
    """Folders and files as the user's umask makes them (temporary folders are private)."""
    mask = os.umask(0)
    os.umask(mask)
    folder.chmod(0o777 & ~mask)
    for path in folder.rglob("*"):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~mask)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
