"""The orchestrator: load -> features -> scale -> cluster -> profile, one named step per line."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from seglab import io
from seglab.cluster import fit_clusters
from seglab.config import Config, load_config
from seglab.errors import ConfigError
from seglab.features import compute_features
from seglab.io import LoadedData
from seglab.profile import profile_segments, standardised_differences
from seglab.scaling import make_scaler

__all__ = ["SegmentationResult", "resolve_as_of", "run_segmentation"]


@dataclass(frozen=True)
class SegmentationResult:
    """Everything one run computed, as plain tables for display and export."""

    config: Config
    as_of: dt.date
    data: LoadedData
    features: pd.DataFrame
    segments: pd.DataFrame
    profile: pd.DataFrame
    differences: pd.DataFrame
    headline: pd.Series
    timings: dict[str, float] = field(default_factory=dict)


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
    config: Config | str | Path, *, as_of: str | dt.date | None = None
) -> SegmentationResult:
    """Run the thin end-to-end slice for one config and date.

    Parameters
    ----------
    config : Config or path-like
        A validated config or the path of its YAML file.
    as_of : date or str, optional
        Overrides the config's ``as_of``.

    Returns
    -------
    SegmentationResult
    """
    config = config if isinstance(config, Config) else load_config(config)
    as_of = resolve_as_of(config, as_of)
    spec = config.clustering
    timings: dict[str, float] = {}
    with _timed(timings, "load"):
        data = io.load(config.data)
    with _timed(timings, "features"):
        features = compute_features(data.transactions, as_of, options=config.features.options())
    with _timed(timings, "scale"):
        clustered_on = list(config.clustering_features)
        scaled = make_scaler(spec.scaling).fit_transform(features[clustered_on].to_numpy())
    with _timed(timings, "cluster"):
        _, labels = fit_clusters(
            scaled, spec.algorithm, spec.k, random_state=config.seed, n_init=spec.n_init
        )
    with _timed(timings, "profile"):
        clusters = pd.Series(labels, index=features.index, name="cluster")
        profile = profile_segments(features, clusters)
        differences = standardised_differences(features[clustered_on], clusters)
    return SegmentationResult(
        config=config,
        as_of=as_of,
        data=data,
        features=features,
        segments=clusters.to_frame(),
        profile=profile,
        differences=differences,
        headline=headline(data.transactions, as_of, len(features), spec.k),
        timings=timings,
    )


def headline(transactions, as_of: dt.date, customers: int, segments: int) -> pd.Series:
    """Customers, lines, orders, net revenue and period covered: the report's first figures."""
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
