"""The orchestrator: one run of the whole data flow, one line per stage, typed stage results.

load -> features -> lifetime value -> heuristics -> grid -> choice -> segmentation ->
interpretation -> comparison -> migration. :func:`run_segmentation` computes every stage in
process and returns a :class:`Run`; :func:`compute_run` keeps it in the cache as a run folder;
:func:`open_run` reads a run folder (or the cached run of a config) for notebooks.
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

from seglab.cluster.assign import fit_assigner
from seglab.data import engine, reading
from seglab.data.cleaning import CleaningAccount
from seglab.data.reading import Prepared
from seglab.errors import DataError, ModelError
from seglab.evaluate.comparison import Comparison, compare
from seglab.evaluate.selection import Choice
from seglab.features import Features, categorical_columns, compute_features, resolve_feature_set
from seglab.features.lifetime import CustomerValue, value_customers
from seglab.heuristics import SchemeLabels, classify, transition_counts
from seglab.interpret.identity import segment_number
from seglab.interpret.interpretation import Interpretation, interpret
from seglab.interpret.maps import embed
from seglab.interpret.migration import FREQUENCY_TIER_ORDER, Migration, movers, tier_moves
from seglab.interpret.model import build_model
from seglab.interpret.saved import load_segmentation, save_segmentation
from seglab.interpret.segmentation import Segmentation, segment
from seglab.run import store
from seglab.run.cache import Cache, frame_fingerprint, make_key
from seglab.run.choosing import choose
from seglab.run.config import Config, as_config, resolve_as_of
from seglab.run.grid import Grid, release_workers, run_grid

__all__ = [
    "Provenance",
    "Run",
    "compute_run",
    "customer_features",
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
#: The chosen segmentation's file in a run folder and beside a report.
MODEL_FILE = "segmentation.skops"


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
    value: CustomerValue
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


def run_segmentation(
    config: Config | str | Path,
    *,
    as_of: str | dt.date | None = None,
    previous_as_of: str | dt.date | None = None,
    progress: bool = False,
    data_fingerprint: str | None = None,
    reference: str | Path | None = None,
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
        Show progress bars for the grid, the gap statistic and the bootstrap.
    data_fingerprint : str, optional
        The input files' SHA-256 when the caller has hashed them already.
    reference : path-like, optional
        A saved segmentation whose ids and names matching segments keep; overrides
        ``clustering.reference``.
    """
    config = as_config(config)
    as_of = resolve_as_of(config, as_of)
    previous = None if previous_as_of is None else resolve_as_of(config, previous_as_of)
    cache, timings = Cache(config.cache_dir), {}
    earlier = _reference(config, reference)
    with _timed(timings, "load"):
        prepared = reading.load(config.data, data_fingerprint=data_fingerprint)
    with _timed(timings, "features"):
        features = features_stage(config, prepared, as_of, cache)
    with _timed(timings, "value"):
        value = value_customers(features.customers, config.clv)
    with _timed(timings, "heuristics"):
        schemes = classify(value.join(features.customers), config.heuristics)
    with _timed(timings, "experiments"):
        grid = run_grid(config, features.customers, cache, progress=progress)
    with _timed(timings, "choose"):
        choice = choose(config, grid, features, cache, progress=progress)
        release_workers()
    with _timed(timings, "segmentation"):
        segmentation = _segment(config, grid, choice, features, prepared, earlier)
    with _timed(timings, "profile"):
        interpretation = _interpret(config, segmentation, features, prepared, cache)
    with _timed(timings, "compare"):
        comparison = _compare(grid, choice, segmentation, features, schemes)
    with _timed(timings, "migration"):
        migration = _migration(config, prepared, previous, schemes, segmentation, earlier, cache)
    headline = {
        "as_of": as_of.isoformat(),
        "customers": len(features.customers),
        **reading.period_figures(prepared.transactions, as_of),
        "segments": int(segmentation.labels.nunique()),
    }
    return Run(
        config, as_of, headline, prepared.cleaning, features, value, schemes, grid, choice,
        segmentation, interpretation, comparison, migration,
        _provenance(config, as_of, previous, prepared.fingerprint, timings),
    )  # fmt: skip


def compute_run(
    config: Config | str | Path,
    *,
    as_of: str | dt.date | None = None,
    previous_as_of: str | dt.date | None = None,
    progress: bool = False,
    reference: str | Path | None = None,
) -> Path:
    """The folder of the run of `config` at `as_of`: from the cache when nothing changed.

    The key holds the config, the dates, the reference segmentation, the data's fingerprint and
    the code's, so a changed input, setting or seglab version computes the run again. The
    folder holds the stage results and the chosen segmentation, ``segmentation.skops``.
    """
    config = as_config(config)
    as_of = resolve_as_of(config, as_of)
    previous = None if previous_as_of is None else resolve_as_of(config, previous_as_of)
    fingerprint = _data_fingerprint(config)
    key = _run_key(config, as_of, previous, fingerprint, reference)

    def write(folder: Path) -> None:
        result = run_segmentation(
            config, as_of=as_of, previous_as_of=previous, progress=progress,
            data_fingerprint=fingerprint, reference=reference,
        )  # fmt: skip
        store.save(result, folder)
        save_segmentation(result.segmentation, folder / MODEL_FILE)

    return Cache(config.cache_dir).folder("runs", key, write)


def is_cached(
    config: Config | str | Path,
    *,
    as_of: str | dt.date | None = None,
    previous_as_of: str | dt.date | None = None,
    reference: str | Path | None = None,
) -> bool:
    """Whether the run of `config` at `as_of` is in the cache (:func:`compute_run` reuses it)."""
    config = as_config(config)
    as_of = resolve_as_of(config, as_of)
    previous = None if previous_as_of is None else resolve_as_of(config, previous_as_of)
    key = _run_key(config, as_of, previous, _data_fingerprint(config), reference)
    folder = Cache(config.cache_dir).path("runs", key)
    return folder is not None and folder.is_dir()


def _data_fingerprint(config: Config) -> str:
    reading.ensure_synthetic(config.data)
    reading.check_inputs(config.data)  # a clear error before hashing a missing file
    return reading.fingerprint(config.data.transactions, config.data.customers)


def _run_key(config, as_of: dt.date, previous: dt.date | None, fingerprint: str, reference) -> str:
    dates = (as_of.isoformat(), previous and previous.isoformat())
    path = reference or config.clustering.reference
    if path is not None and not Path(path).is_file():
        raise ModelError(
            f"clustering.reference: no segmentation file at '{path}'; point it at the "
            "segmentation.skops a seglab report wrote, or remove the key"
        )
    earlier = _reference_key(path) if path is not None else None
    return make_key(
        config.model_dump(mode="json", exclude={"source"}), *dates, fingerprint, earlier
    )


def _reference_key(path: str | Path) -> str:
    """The reference segmentation's identity by content: its file's bytes differ between two
    saves of the same segmentation (skops names arrays after object ids)."""
    earlier = load_segmentation(path)
    model = earlier.model
    return make_key(
        earlier.solution, model.training, list(model.segment_ids), model.centres.tolist(),
        earlier.names.astype(str).to_dict("list"),
    )  # fmt: skip


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
        try:
            return store.load(Run, folder / "stages" if (folder / "stages").is_dir() else folder)
        except FileNotFoundError as exc:
            raise DataError(
                f"'{folder}' is not a complete run folder of this seglab version ({exc}); "
                "render the report again (seglab report) or open its config instead"
            ) from None
    return store.load(Run, compute_run(source, as_of=as_of, previous_as_of=previous_as_of))


def features_stage(config: Config, prepared: Prepared, as_of: dt.date, cache: Cache) -> Features:
    """The customer table as of `as_of`: features from the cache when the inputs are unchanged.

    The engine and its resources are not part of the key: both engines give the same table.
    """
    key = make_key(
        prepared.fingerprint,
        config.data.model_dump(
            mode="json",
            exclude={"customers", "synthetic", "engine", "duckdb", "spark", "currency"},
        ),
        config.features.model_dump(mode="json", exclude={"sets"}),
        as_of.isoformat(),
    )
    table = cache.frame("features", key, lambda: _compute_features(config, prepared, as_of))
    return Features.join(as_of, table, prepared.customers)


def _compute_features(config: Config, prepared: Prepared, as_of: dt.date) -> pd.DataFrame:
    """The feature table, then the engine's memory back to the system for the stages after."""
    table = compute_features(prepared.transactions, as_of, options=config.features)
    engine.release_memory(prepared.transactions, config.data.duckdb.memory_limit)
    return table


def run_experiments(
    config: Config | str | Path, *, as_of: str | dt.date | None = None, progress: bool = True
) -> Grid:
    """Load, compute the features and run the experiment grid (what ``seglab run`` prints)."""
    config = as_config(config)
    features = customer_features(config, as_of=as_of)
    return run_grid(config, features.customers, Cache(config.cache_dir), progress=progress)


def customer_features(
    config: Config | str | Path, *, as_of: str | dt.date | None = None
) -> Features:
    """Load the data and compute the customer table as of `as_of` (``seglab features``)."""
    config = as_config(config)
    return features_stage(
        config, reading.load(config.data), resolve_as_of(config, as_of), Cache(config.cache_dir)
    )


def run_heuristics(
    config: Config | str | Path, *, as_of: str | dt.date | None = None
) -> tuple[Features, SchemeLabels]:
    """The customer table and every configured heuristic scheme (``seglab segments``).

    The schemes see the customers' lifetime value as the report's do (the value/potential
    matrix ranks potential by it).
    """
    config = as_config(config)
    features = customer_features(config, as_of=as_of)
    value = value_customers(features.customers, config.clv)
    return features, classify(value.join(features.customers), config.heuristics)


def _reference(config: Config, reference: str | Path | None) -> Segmentation | None:
    """The saved segmentation this run's segments are matched to, if any."""
    path = reference or config.clustering.reference
    return None if path is None else load_segmentation(path)


def _segment(config, grid: Grid, choice: Choice, features: Features, prepared, reference):
    """The chosen solution with its scoring model, ids (from the reference), names, profile."""
    row = grid.results.set_index("solution").loc[choice.solution]
    scaled = grid.scaled[row["feature_set"], row["scaling"]]
    fitted = grid.fitted(choice.solution)
    used = resolve_feature_set(row["feature_set"], config.features.sets)
    assigner = fit_assigner(
        scaled.clustered, row["algorithm"], fitted.labels, random_state=int(row["seed"]),
        params=config.experiments.params.get(row["algorithm"], {}), categorical=scaled.positions,
    )  # fmt: skip
    settings = {
        "features": config.features.model_dump(mode="json", exclude={"sets"}),
        "cleaning": config.data.cleaning.model_dump(mode="json"),
        "preset": config.data.preset,
        "columns": dict(config.data.columns),
    }
    model = build_model(
        used, settings, scaled.scaler, assigner, features.customers, fitted.labels,
        segment_ids=[], as_of=features.as_of, data_fingerprint=prepared.fingerprint,
        categorical=scaled.categorical, categories=scaled.categories,
    )  # fmt: skip
    # The scoring model's float64 memberships (the grid keeps float32 ones): what scoring these
    # customers again gives, to the last digit.
    memberships = None if fitted.memberships is None else assigner.memberships(scaled.clustered)
    return segment(
        {"solution": choice.solution, **row.to_dict()},
        model,
        fitted.labels,
        memberships,
        features.customers,
        scaled=scaled.X,
        names=config.clustering.model_dump()["names"],
        reference=reference,
        match_limit=config.clustering.match_limit,
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
        map_sample=spec.map_sample,
        random_state=config.seed,
        categorical=categorical_columns(segmentation.feature_set, config.features.sets),
    )


def _compare(grid: Grid, choice: Choice, segmentation: Segmentation, features, schemes):
    leading = {sid: grid.labels(sid) for sid in choice.candidates["solution"].head(LEADING)}
    return compare(segmentation.labels, features.customers, schemes, leading)


def _migration(config, prepared, previous_as_of, schemes, segmentation, reference, cache):
    """Every scheme and the segments at the previous date, and the moves since.

    The previous period's customers are scored by the reference segmentation when there is one
    (for a series, the previous report's), else by this one: segment ids are the same in both
    periods either way, so the matrix reads as "from S2 to S3".
    """
    if previous_as_of is None:
        return Migration("", {}, pd.DataFrame(), note="no previous period was given")
    try:
        before = features_stage(config, prepared, previous_as_of, cache)
    except DataError as exc:
        note = f"the previous period has no customers to compare with: {exc} (pass --previous)"
        return Migration(previous_as_of.isoformat(), {}, pd.DataFrame(), note=note)
    scorer = reference if reference is not None else segmentation
    earlier_ids = scorer.score(before.customers).customers["segment_id"]
    earlier_value = value_customers(before.customers, config.clv)
    earlier = classify(earlier_value.join(before.customers), config.heuristics)
    matrices = {"cluster": transition_counts(_by_id(earlier_ids), _by_id(segmentation.segment_ids))}
    for name, labels_now in schemes.labels.items():
        if name in earlier.labels:
            matrices[name] = transition_counts(earlier.labels[name], labels_now)
    moves = pd.DataFrame()
    profile = segmentation.profile
    by_value = (profile["revenue"] / profile["customers"]).sort_values(ascending=False)
    changed = [
        movers(
            earlier_ids, segmentation.segment_ids, change="segment",
            order=profile.loc[by_value.index, "segment_id"].tolist(),
            actions=segmentation.names.set_index("segment_id")["action"].to_dict(),
        )
    ]  # fmt: skip
    if "frequency_tiers" in matrices:
        before_tiers, tiers = earlier.labels["frequency_tiers"], schemes.labels["frequency_tiers"]
        moves = tier_moves(before_tiers, tiers)
        summary = schemes.summaries["frequency_tiers"].set_index("segment")["action"]
        changed.append(
            movers(
                before_tiers, tiers, change="frequency_tier", order=list(FREQUENCY_TIER_ORDER),
                actions=summary.astype(str).to_dict(),
            )
        )  # fmt: skip
    return Migration(
        previous_as_of.isoformat(), matrices, moves, movers=pd.concat(changed, ignore_index=True)
    )


def _by_id(ids: pd.Series) -> pd.Series:
    """Segment ids as text categories in numeric order (S2 before S10)."""
    order = sorted(ids.unique(), key=segment_number)
    return pd.Series(pd.Categorical(ids, categories=order), index=ids.index)


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
