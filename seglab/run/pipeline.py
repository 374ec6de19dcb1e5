"""The orchestrator: one run of the whole data flow, one line per stage, typed stage results.

load -> features -> heuristics -> grid -> choice -> segmentation -> interpretation ->
comparison -> migration. :func:`run_segmentation` computes every stage in process and returns a
:class:`Run`; :func:`compute_run` keeps it in the cache as a run folder; :func:`open_run` reads
a run folder (or the cached run of a config) for notebooks.
"""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from seglab.cluster import FeatureScaler, fit_many
from seglab.data import reading
from seglab.data.cleaning import CleaningAccount
from seglab.data.reading import Prepared
from seglab.errors import DataError
from seglab.evaluate.choice import Choice, choose_solution, solution_id
from seglab.evaluate.comparison import Comparison, compare
from seglab.features import Features, compute_features, resolve_feature_set
from seglab.heuristics import SchemeLabels, classify, transition_counts
from seglab.interpret.interpretation import Interpretation, interpret
from seglab.interpret.maps import embed
from seglab.interpret.migration import Migration, align_labels, tier_moves
from seglab.interpret.segmentation import Segmentation, segment
from seglab.run import store
from seglab.run.cache import Cache, frame_fingerprint, make_key
from seglab.run.config import Config, as_config, resolve_as_of
from seglab.run.grid import Grid, run_grid

__all__ = [
    "Provenance",
    "Run",
    "compute_run",
    "features_stage",
    "is_cached",
    "open_run",
    "run_experiments",
    "run_heuristics",
    "run_segmentation",
]

#: Leading solutions of the grid whose agreement with each other and the schemes is measured.
LEADING = 8
RECORDED_PACKAGES = (
    "seglab", "pandas", "numpy", "scikit-learn", "scipy", "duckdb", "ibis-framework",
    "papermill", "nbconvert", "matplotlib", "seaborn", "pyarrow",
)  # fmt: skip
_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Provenance:
    """How a run was made: config, seed, dates, data fingerprint, versions, stage timings."""

    config_file: str
    seed: int
    as_of: dt.date
    previous_as_of: dt.date | None
    data_fingerprint: str
    python: str
    packages: dict[str, str | None]
    git_commit: str | None
    timings: dict[str, float]

    def table(self) -> pd.Series:
        """The provenance as one readable column, for the report."""
        return pd.Series(
            {
                "config": self.config_file,
                "seed": self.seed,
                "as_of": self.as_of.isoformat(),
                "data fingerprint (SHA-256)": self.data_fingerprint,
                "seglab": self.packages.get("seglab"),
                "python": self.python,
                "git commit": self.git_commit or "(not a git checkout)",
                **{f"seconds: {step}": seconds for step, seconds in self.timings.items()},
            },
            name="value",
        )


@dataclass(frozen=True)
class Run:
    """Every stage result of one run, as computed or as read back from its folder."""

    config: Config
    as_of: dt.date
    headline: dict[str, Any]
    cleaning: CleaningAccount
    features: Features
    schemes: SchemeLabels
    grid: Grid
    choice: Choice
    segmentation: Segmentation
    interpretation: Interpretation
    comparison: Comparison
    migration: Migration
    provenance: Provenance

    def headline_table(self) -> pd.Series:
        """Customers, lines, net revenue, period covered and segments, as one column."""
        return pd.Series(self.headline, name="value")

    def scheme_summary(self, scheme: str) -> pd.DataFrame | None:
        """The summary table of one heuristic scheme, None when it did not run."""
        return self.schemes.summaries.get(scheme)

    @property
    def segments(self) -> pd.DataFrame:
        """One row per customer: cluster, its name, memberships, every scheme's label and tags."""
        labels = self.segmentation.labels
        table = labels.to_frame("cluster").join(self.segmentation.segment_names)
        if self.segmentation.memberships is not None:
            table = table.join(self.segmentation.memberships)
        tags = self.schemes.tags.rename(columns=lambda c: f"tag_{c}")
        return table.join(self.schemes.labels.astype(str)).join(tags)


def run_segmentation(
    config: Config | str | Path,
    *,
    as_of: str | dt.date | None = None,
    previous_as_of: str | dt.date | None = None,
    progress: bool = False,
    data_fingerprint: str | None = None,
) -> Run:
    """Run the whole data flow for one config and date, every stage in this process.

    Parameters
    ----------
    config : Config or path-like
        A validated config or the path of its YAML file.
    as_of : date or str, optional
        Overrides the config's ``as_of``.
    previous_as_of : date or str, optional
        The previous period's date, for migration; none when not given.
    progress : bool
        Show a progress bar for the experiment grid.
    data_fingerprint : str, optional
        The input files' SHA-256 when the caller has hashed them already.
    """
    config = as_config(config)
    as_of = resolve_as_of(config, as_of)
    previous = None if previous_as_of is None else resolve_as_of(config, previous_as_of)
    cache, timings = Cache(config.cache_dir), {}
    with _timed(timings, "load"):
        prepared = reading.load(config.data, data_fingerprint=data_fingerprint)
    with _timed(timings, "features"):
        features = features_stage(config, prepared, as_of, cache)
    with _timed(timings, "heuristics"):
        schemes = classify(features.customers, config.heuristics)
    with _timed(timings, "experiments"):
        grid = run_grid(config, features.table, cache, progress=progress)
    with _timed(timings, "choose"):
        choice = _choose(config, grid)
    with _timed(timings, "segmentation"):
        segmentation = _segment(config, grid, choice, features)
    with _timed(timings, "profile"):
        interpretation = _interpret(config, segmentation, features, prepared, cache)
    with _timed(timings, "compare"):
        comparison = _compare(grid, segmentation, features, schemes)
    with _timed(timings, "migration"):
        migration = _migration(config, prepared, previous, schemes, segmentation, cache)
    headline = {
        "as_of": as_of.isoformat(),
        "customers": len(features.customers),
        **reading.period_figures(prepared.transactions, as_of),
        "segments": int(segmentation.labels.nunique()),
    }
    return Run(
        config, as_of, headline, prepared.cleaning, features, schemes, grid, choice,
        segmentation, interpretation, comparison, migration,
        _provenance(config, as_of, previous, prepared.fingerprint, timings),
    )  # fmt: skip


def compute_run(
    config: Config | str | Path,
    *,
    as_of: str | dt.date | None = None,
    previous_as_of: str | dt.date | None = None,
    progress: bool = False,
) -> Path:
    """The folder of the run of `config` at `as_of`: from the cache when nothing changed.

    The key holds the config, the dates, the data's fingerprint and the code's, so a changed
    input, setting or seglab version computes the run again.
    """
    config = as_config(config)
    as_of = resolve_as_of(config, as_of)
    previous = None if previous_as_of is None else resolve_as_of(config, previous_as_of)
    fingerprint = _data_fingerprint(config)
    key = _run_key(config, as_of, previous, fingerprint)

    def write(folder: Path) -> None:
        result = run_segmentation(
            config, as_of=as_of, previous_as_of=previous, progress=progress,
            data_fingerprint=fingerprint,
        )  # fmt: skip
        store.save(result, folder)

    return Cache(config.cache_dir).folder("runs", key, write)


def is_cached(
    config: Config | str | Path,
    *,
    as_of: str | dt.date | None = None,
    previous_as_of: str | dt.date | None = None,
) -> bool:
    """Whether the run of `config` at `as_of` is in the cache (:func:`compute_run` reuses it)."""
    config = as_config(config)
    as_of = resolve_as_of(config, as_of)
    previous = None if previous_as_of is None else resolve_as_of(config, previous_as_of)
    key = _run_key(config, as_of, previous, _data_fingerprint(config))
    folder = Cache(config.cache_dir).path("runs", key)
    return folder is not None and folder.is_dir()


def _data_fingerprint(config: Config) -> str:
    reading.ensure_synthetic(config.data)
    reading.check_inputs(config.data)  # a clear error before hashing a missing file
    return reading.fingerprint(config.data.transactions, config.data.customers)


def _run_key(config: Config, as_of: dt.date, previous: dt.date | None, fingerprint: str) -> str:
    dates = (as_of.isoformat(), previous and previous.isoformat())
    return make_key(config.model_dump(mode="json", exclude={"source"}), *dates, fingerprint)


def open_run(
    source: Config | str | Path,
    *,
    as_of: str | dt.date | None = None,
    previous_as_of: str | dt.date | None = None,
) -> Run:
    """The run a notebook shows: read from a run folder, or the (cached) run of a config.

    Parameters
    ----------
    source : Config or path-like
        A run folder (a report folder, or its ``stages`` folder), a config or its YAML file.
    as_of, previous_as_of : date or str, optional
        The dates of the run, when `source` is a config.
    """
    if not isinstance(source, Config) and Path(source).is_dir():
        folder = Path(source)
        return store.load(Run, folder / "stages" if (folder / "stages").is_dir() else folder)
    return store.load(Run, compute_run(source, as_of=as_of, previous_as_of=previous_as_of))


def features_stage(config: Config, prepared: Prepared, as_of: dt.date, cache: Cache) -> Features:
    """The customer table as of `as_of`: features from the cache when the inputs are unchanged.

    The engine and its resources are not part of the key: both engines give the same table.
    """
    key = make_key(
        prepared.fingerprint,
        config.data.model_dump(
            mode="json", exclude={"customers", "synthetic", "engine", "duckdb", "spark"}
        ),
        config.features.model_dump(mode="json", exclude={"sets"}),
        as_of.isoformat(),
    )
    table = cache.frame(
        "features",
        key,
        lambda: compute_features(prepared.transactions, as_of, options=config.features),
    )
    return Features.join(as_of, table, prepared.customers)


def run_experiments(
    config: Config | str | Path, *, as_of: str | dt.date | None = None, progress: bool = True
) -> Grid:
    """Load, compute the features and run the experiment grid (what ``seglab run`` prints)."""
    config = as_config(config)
    cache = Cache(config.cache_dir)
    features = features_stage(
        config, reading.load(config.data), resolve_as_of(config, as_of), cache
    )
    return run_grid(config, features.table, cache, progress=progress)


def run_heuristics(
    config: Config | str | Path, *, as_of: str | dt.date | None = None
) -> tuple[Features, SchemeLabels]:
    """The customer table and every configured heuristic scheme (``seglab segments``)."""
    config = as_config(config)
    prepared = reading.load(config.data)
    features = features_stage(
        config, prepared, resolve_as_of(config, as_of), Cache(config.cache_dir)
    )
    return features, classify(features.customers, config.heuristics)


def _choose(config: Config, grid: Grid) -> Choice:
    spec = config.clustering
    named = solution_id(spec.feature_set, spec.scaling, spec.algorithm, spec.k, spec.seed)
    return choose_solution(grid.results, grid.recommended, mode=spec.choose, named=named)


def _segment(config: Config, grid: Grid, choice: Choice, features: Features) -> Segmentation:
    row = grid.results.set_index("solution").loc[choice.solution]
    scaled = grid.scaled[row["feature_set"], row["scaling"]]
    return segment(
        {"solution": choice.solution, **row.to_dict()},
        grid.fitted(choice.solution),
        features.customers,
        scaler=scaled.scaler,
        scaled=scaled.X,
        features=resolve_feature_set(row["feature_set"], config.features.sets),
        names=config.clustering.model_dump()["names"],
    )


def _interpret(config, segmentation: Segmentation, features, prepared, cache) -> Interpretation:
    spec = config.clustering
    data_key = frame_fingerprint(pd.DataFrame(segmentation.scaled, index=features.customers.index))
    maps = {
        method: cache.frame(
            "embeddings",
            make_key("embedding", data_key, method, spec.map_sample, config.seed),
            lambda method=method: embed(
                segmentation.scaled, method, max_points=spec.map_sample, random_state=config.seed
            ),
        )
        for method in spec.maps
    }
    return interpret(
        segmentation,
        features.customers,
        prepared.transactions,
        maps=maps,
        rules_depth=spec.rules_depth,
        boundary_threshold=spec.boundary_threshold,
        random_state=config.seed,
    )


def _compare(grid: Grid, segmentation: Segmentation, features, schemes) -> Comparison:
    leading = {
        sid: grid.labels(sid) for sid in grid.recommended_solutions()["solution"].head(LEADING)
    }
    return compare(segmentation.labels, features.customers, schemes, leading)


def _migration(config, prepared, previous_as_of, schemes, segmentation, cache) -> Migration:
    """Every scheme and the chosen solution at the previous date, and the moves since."""
    if previous_as_of is None:
        return Migration("", {}, pd.DataFrame(), note="no previous period was given")
    try:
        before = features_stage(config, prepared, previous_as_of, cache)
        used = before.customers[list(segmentation.features)]
        refit = FeatureScaler(
            segmentation.scaling, winsorize=config.experiments.winsorize,
            pca=config.experiments.pca, random_state=config.seed,
        ).fit_transform(used)  # fmt: skip
        params = config.experiments.params.get(segmentation.algorithm, {})
        labels = fit_many(
            refit, segmentation.algorithm, [segmentation.k], random_state=segmentation.seed,
            **params,
        )[0].labels  # fmt: skip
    except DataError as exc:
        return Migration(previous_as_of.isoformat(), {}, pd.DataFrame(), note=str(exc))
    earlier = classify(before.customers, config.heuristics)
    aligned = align_labels(
        labels,
        segmentation.scaler.transform(used),
        segmentation.labels.to_numpy(),
        segmentation.scaled,
    )
    current = segmentation.labels
    matrices = {
        "cluster": transition_counts(
            _numbered(pd.Series(aligned, index=used.index)), _numbered(current)
        )
    }
    for name, labels_now in schemes.labels.items():
        if name in earlier.labels:
            matrices[name] = transition_counts(earlier.labels[name], labels_now)
    moves = pd.DataFrame()
    if "frequency_tiers" in matrices:
        moves = tier_moves(earlier.labels["frequency_tiers"], schemes.labels["frequency_tiers"])
    return Migration(previous_as_of.isoformat(), matrices, moves)


def _numbered(labels: pd.Series) -> pd.Series:
    """Integer cluster labels as text categories in numeric order (2 before 10)."""
    order = [str(value) for value in sorted(labels.unique())]
    return pd.Series(pd.Categorical(labels.astype(str), categories=order), index=labels.index)


def _provenance(config, as_of, previous, fingerprint: str, timings) -> Provenance:
    return Provenance(
        config_file=str(config.source),
        seed=config.seed,
        as_of=as_of,
        previous_as_of=previous,
        data_fingerprint=fingerprint,
        python=platform.python_version(),
        packages={name: _version(name) for name in RECORDED_PACKAGES},
        git_commit=_git_commit(),
        timings=timings,
    )


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    """The checkout's commit when seglab runs from one (None for an installed package)."""
    if not (_ROOT / ".git").exists():
        return None
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=_ROOT, capture_output=True, text=True, check=True,
            timeout=10,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


class _timed:
    """Context manager adding the elapsed seconds of its block to ``timings[step]``."""

    def __init__(self, timings: dict[str, float], step: str) -> None:
        self.timings, self.step = timings, step

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc) -> None:
        self.timings[self.step] = round(time.perf_counter() - self.start, 4)
