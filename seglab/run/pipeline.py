"""The orchestrator: one run of the whole data flow, one named step per line.

load -> features -> heuristics -> experiments -> chosen solution -> profile -> compare -> maps.
Notebooks call :func:`run_segmentation` and display the pieces of its result.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import linkage

from seglab.cluster import fit_many
from seglab.cluster.scaling import FeatureScaler
from seglab.data import reading as io
from seglab.data.reading import LoadedData
from seglab.errors import ConfigError, DataError
from seglab.evaluate.agreement import PairComparison, agreement_table, compare_labelings
from seglab.evaluate.indices import silhouette_values
from seglab.features import compute_features, resolve_feature_set
from seglab.heuristics import SchemeLabels, classify, transition_counts
from seglab.interpret.maps import embed
from seglab.interpret.migration import Migration, align_labels, tier_moves
from seglab.interpret.profile import (
    Rules,
    boundary_customers,
    distinguishing_features,
    name_segments,
    personas,
    profile_segments,
    segment_answers,
    standardised_differences,
    surrogate_rules,
    top_items,
)
from seglab.run.cache import Cache, frame_fingerprint, make_key
from seglab.run.config import Config, load_config

__all__ = [
    "SegmentationResult",
    "cached_features",
    "choose_solution",
    "customer_table",
    "headline",
    "resolve_as_of",
    "run_heuristics",
    "run_segmentation",
]

#: Heuristic schemes the chosen solution is compared with in the report (when they ran).
COMPARED_SCHEMES = ("rfm_segments", "abc", "lifecycle", "frequency_tiers", "bcg", "value_tiers")


@dataclass(frozen=True)
class SegmentationResult:
    """Everything one run computed, as plain tables for display and export.

    ``segments`` holds one row per customer in scope: the chosen cluster and its name, fuzzy
    memberships when the solution is fuzzy, and every heuristic scheme's label and tags.
    """

    config: Config
    as_of: dt.date
    data: LoadedData
    customers: pd.DataFrame
    headline: pd.Series
    heuristics: SchemeLabels
    experiments: object
    chosen: str
    chosen_by: str
    features_used: tuple[str, ...]
    clusters: pd.Series
    memberships: pd.DataFrame | None
    profile: pd.DataFrame
    differences: pd.DataFrame
    distinguishing: pd.DataFrame
    names: pd.DataFrame
    rules: Rules
    personas: pd.DataFrame
    answers: pd.DataFrame
    boundary: pd.DataFrame | None
    comparisons: dict[str, PairComparison]
    agreement: pd.DataFrame
    maps: dict[str, pd.DataFrame]
    silhouettes: pd.DataFrame
    tree: np.ndarray
    migration: Migration
    segments: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)

    def map(self, method: str = "pca") -> pd.DataFrame | None:
        """The 2-D map drawn with `method`, None when the config did not ask for it."""
        return self.maps.get(method)

    def comparison(self, scheme: str) -> PairComparison | None:
        """The chosen clusters against `scheme`, None when that scheme did not run."""
        return self.comparisons.get(scheme)

    def scheme_summary(self, scheme: str) -> pd.DataFrame | None:
        """The summary table of one heuristic scheme, None when it did not run."""
        return self.heuristics.summaries.get(scheme)


def resolve_as_of(config: Config, as_of: str | dt.date | None) -> dt.date:
    """The report date: the argument if given, else the config's ``as_of``."""
    if as_of is None:
        as_of = config.as_of
    if as_of is None:
        raise ConfigError("no as_of date: set 'as_of' in the config or pass --as-of YYYY-MM-DD")
    if isinstance(as_of, dt.date):
        return as_of
    try:
        return dt.date.fromisoformat(str(as_of))
    except ValueError:
        raise ConfigError(f"as_of '{as_of}' is not a date; expected YYYY-MM-DD") from None


def run_segmentation(
    config: Config | str | Path,
    *,
    as_of: str | dt.date | None = None,
    previous_as_of: str | dt.date | None = None,
    progress: bool = False,
) -> SegmentationResult:
    """Run the whole data flow for one config and date.

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

    Returns
    -------
    SegmentationResult
    """
    from seglab.run.grid import run_experiments

    config = config if isinstance(config, Config) else load_config(config)
    as_of = resolve_as_of(config, as_of)
    timings: dict[str, float] = {}
    with _timed(timings, "load"):
        data = io.load(config.data)
    with _timed(timings, "features"):
        features = _features(config, data, as_of)
        customers = customer_table(features, data.customers)
    with _timed(timings, "heuristics"):
        schemes = classify(customers, config.heuristics)
    with _timed(timings, "experiments"):
        experiments = run_experiments(config, features=features, progress=progress)
    with _timed(timings, "choose"):
        chosen, chosen_by = choose_solution(config, experiments)
        row = experiments.results.set_index("solution").loc[chosen]
        used = resolve_feature_set(row["feature_set"], config.features.sets)
        scaler = FeatureScaler(
            row["scaling"],
            winsorize=config.experiments.winsorize,
            pca=config.experiments.pca,
            random_state=config.seed,
        )
        scaled = scaler.fit_transform(features[list(used)])
        clusters = experiments.labels(chosen)
        memberships = experiments.memberships(chosen)
    with _timed(timings, "profile"):
        differences = standardised_differences(features[list(used)], clusters)
        names = name_segments(differences, config.clustering.model_dump()["names"])
        items = top_items(data.transactions, clusters)
        profile = profile_segments(customers, clusters)
        rules = surrogate_rules(features[list(used)], clusters, depth=config.clustering.rules_depth)
        typical = personas(scaled, customers, clusters, random_state=config.seed)
        answers = segment_answers(customers, clusters, items)
        boundary = (
            None
            if memberships is None
            else boundary_customers(memberships, config.clustering.boundary_threshold)
        )
    with _timed(timings, "compare"):
        comparisons, agreement = _compare(customers, clusters, schemes, experiments)
    with _timed(timings, "maps"):
        cache = Cache(config.cache_dir)
        data_key = frame_fingerprint(pd.DataFrame(scaled, index=features.index))
        segment_names = names["name"].reindex(clusters.to_numpy()).to_numpy()
        sample = config.clustering.map_sample
        maps = {
            method: _with_segments(
                cache.frame(
                    "embeddings",
                    make_key("embedding", data_key, method, sample, config.seed),
                    lambda method=method: embed(
                        scaled, method, max_points=sample, random_state=config.seed
                    ),
                ),
                segment_names,
            )
            for method in config.clustering.maps
        }  # fmt: skip
        silhouettes = silhouette_values(scaled, clusters.to_numpy(), random_state=config.seed)
        tree = _sample_tree(scaled, config.seed)
    with _timed(timings, "migration"):
        moved = _migration(
            config, data, previous_as_of, schemes, (row, used, scaler, scaled, clusters)
        )
    segments = _segments(clusters, names, memberships, schemes)
    return SegmentationResult(
        config=config, as_of=as_of, data=data, customers=customers,
        headline=headline(data.transactions, as_of, len(features), int(clusters.nunique())),
        heuristics=schemes, experiments=experiments, chosen=chosen, chosen_by=chosen_by,
        features_used=tuple(used), clusters=clusters, memberships=memberships,
        profile=profile.join(names), differences=differences,
        distinguishing=distinguishing_features(differences), names=names, rules=rules,
        personas=typical, answers=answers, boundary=boundary, comparisons=comparisons,
        agreement=agreement, maps=maps, silhouettes=silhouettes, tree=tree, migration=moved,
        segments=segments,
        timings=timings,
    )  # fmt: skip


def choose_solution(config: Config, experiments) -> tuple[str, str]:
    """The solution the report shows: the one the config names, or the vote's best."""
    from seglab.run.grid import solution_id

    spec = config.clustering
    if spec.choose == "vote":
        return experiments.best(), "vote"
    named = solution_id(spec.feature_set, spec.scaling, spec.algorithm, spec.k, spec.seed)
    if named not in set(experiments.results["solution"]):
        raise ConfigError(
            f"clustering names the solution {named}, which the experiment grid does not hold; "
            "add its feature set, scaling, algorithm, k and seed to 'experiments', or set "
            "clustering.choose: vote"
        )
    return named, "config"


def run_heuristics(
    config: Config | str | Path, *, as_of: str | dt.date | None = None
) -> tuple[pd.DataFrame, SchemeLabels]:
    """The customer table (features and attributes) and every configured heuristic scheme.

    Returns
    -------
    customers : DataFrame
        One row per customer in scope.
    schemes : SchemeLabels
        Labels, tags, summaries, warnings and skipped schemes.
    """
    config = config if isinstance(config, Config) else load_config(config)
    as_of = resolve_as_of(config, as_of)
    data = io.load(config.data)
    customers = customer_table(_features(config, data, as_of), data.customers)
    return customers, classify(customers, config.heuristics)


def _features(config: Config, data: LoadedData, as_of: dt.date) -> pd.DataFrame:
    """The feature table as of `as_of`: cached, or computed from the loaded transactions."""
    return cached_features(config, as_of, Cache(config.cache_dir), data.transactions)


def cached_features(
    config: Config, as_of: dt.date, cache: Cache, transactions: ir.Table | None = None
) -> pd.DataFrame:
    """The customer feature table as of `as_of`, from the cache when the inputs are unchanged.

    On a miss the features are computed from `transactions` (loaded from the config when not
    given). The engine and its resources are not part of the key: both engines give the same
    table.
    """
    io.ensure_synthetic(config.data)
    key = make_key(
        io.fingerprint(config.data.transactions),
        config.data.model_dump(
            mode="json", exclude={"customers", "synthetic", "engine", "duckdb", "spark"}
        ),
        config.features.model_dump(mode="json", exclude={"sets"}),
        as_of.isoformat(),
    )
    features = cache.load_frame("features", key)
    if features is None:
        if transactions is None:
            transactions = io.load(config.data).transactions
        features = compute_features(transactions, as_of, options=config.features)
        cache.save_frame("features", key, features)
    return features


def customer_table(features: pd.DataFrame, attributes: pd.DataFrame | None) -> pd.DataFrame:
    """Features of every customer in scope joined with their attributes (missing: NaN).

    Customers with attributes but no purchase up to as_of are not in scope and are left out.
    """
    if attributes is None:
        return features
    return features.join(attributes, how="left")


def _compare(customers, clusters, schemes: SchemeLabels, experiments):
    """The chosen solution against the heuristic schemes (and true_segment when known), and
    the agreement of every recommended solution and scheme with each other."""
    revenue = customers["monetary_total"]
    references = {name: schemes.labels[name] for name in COMPARED_SCHEMES if name in schemes.labels}
    if "true_segment" in customers:
        references = {"true_segment": customers["true_segment"], **references}
    cluster_labels = clusters.rename("cluster")
    comparisons = {
        name: compare_labelings(cluster_labels, labels.rename(name), revenue=revenue)
        for name, labels in references.items()
    }
    labelings = {
        row.solution: experiments.labels(row.solution)
        for row in experiments.recommended_solutions().head(8).itertuples()
    }
    labelings.update(references)
    return comparisons, agreement_table(labelings, measures=["ari"])


def _migration(config, data, previous_as_of, schemes, chosen) -> Migration:
    """Every scheme and the chosen solution at the previous date, and the moves since."""
    if previous_as_of is None:
        return Migration("", {}, pd.DataFrame(), note="no previous period was given")
    previous_as_of = resolve_as_of(config, previous_as_of)
    row, used, scaler, scaled, clusters = chosen
    try:
        features = _features(config, data, previous_as_of)
        refit = FeatureScaler(
            row["scaling"], winsorize=config.experiments.winsorize, pca=config.experiments.pca,
            random_state=config.seed,
        ).fit_transform(features[list(used)])  # fmt: skip
        params = config.experiments.params.get(row["algorithm"], {})
        labels = fit_many(
            refit, row["algorithm"], [int(row["k"])], random_state=int(row["seed"]), **params
        )[0].labels
    except DataError as exc:
        return Migration(previous_as_of.isoformat(), {}, pd.DataFrame(), note=str(exc))
    before = classify(customer_table(features, data.customers), config.heuristics)
    aligned = align_labels(
        labels, scaler.transform(features[list(used)]), clusters.to_numpy(), scaled
    )
    previous = _numbered(pd.Series(aligned, index=features.index))
    matrices = {"cluster": transition_counts(previous, _numbered(clusters))}
    for name, current in schemes.labels.items():
        if name in before.labels:
            matrices[name] = transition_counts(before.labels[name], current)
    moves = pd.DataFrame()
    if "frequency_tiers" in matrices:
        moves = tier_moves(before.labels["frequency_tiers"], schemes.labels["frequency_tiers"])
    return Migration(previous_as_of.isoformat(), matrices, moves)


def _numbered(labels: pd.Series) -> pd.Series:
    """Integer cluster labels as text categories in numeric order (2 before 10)."""
    order = [str(value) for value in sorted(labels.unique())]
    return pd.Series(pd.Categorical(labels.astype(str), categories=order), index=labels.index)


def _with_segments(embedding: pd.DataFrame, segment_names: np.ndarray) -> pd.DataFrame:
    return embedding.assign(segment=segment_names[embedding["row"].to_numpy()])


def _sample_tree(scaled: np.ndarray, seed: int, size: int = 2_000) -> np.ndarray:
    """Ward linkage of a seeded sample of the chosen solution's scaled features (dendrogram)."""
    rows = np.arange(len(scaled))
    if len(rows) > size:
        rows = np.sort(np.random.default_rng(seed).choice(len(rows), size, replace=False))
    return linkage(scaled[rows], "ward")


def _segments(clusters, names, memberships, schemes: SchemeLabels) -> pd.DataFrame:
    """One row per customer: cluster, its name, memberships, every scheme's label and tags."""
    table = clusters.to_frame("cluster")
    table["cluster_name"] = names["name"].reindex(clusters.to_numpy()).to_numpy()
    if memberships is not None:
        table = table.join(memberships)
    labels = schemes.labels.astype(str)
    tags = schemes.tags.rename(columns=lambda c: f"tag_{c}")
    return table.join(labels).join(tags)


def headline(transactions, as_of: dt.date, customers: int, segments: int) -> pd.Series:
    """Customers, lines, net revenue and period covered: the report's first figures."""
    in_scope = transactions.filter(transactions.order_date < _day_after(as_of))
    figures = (
        in_scope.aggregate(
            lines=in_scope.count(),
            revenue=in_scope.amount.sum(),
            first=in_scope.order_date.min(),
            last=in_scope.order_date.max(),
        )
        .to_pandas()
        .iloc[0]
    )
    return pd.Series(
        {
            "as_of": as_of.isoformat(),
            "customers": customers,
            "transaction lines": int(figures["lines"]),
            "net revenue": round(float(figures["revenue"]), 2),
            "first transaction": f"{figures['first']:%Y-%m-%d}",
            "last transaction": f"{figures['last']:%Y-%m-%d}",
            "segments": segments,
        },
        name="value",
    )


def _day_after(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time())


class _timed:
    """Context manager adding the elapsed seconds of its block to ``timings[step]``."""

    def __init__(self, timings: dict[str, float], step: str) -> None:
        self.timings, self.step = timings, step

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc) -> None:
        self.timings[self.step] = round(time.perf_counter() - self.start, 4)
