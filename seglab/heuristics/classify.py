"""Run the schemes over one customer table: one label per customer per scheme, plain tables.

The first segment whose condition holds wins; customers no rule places get the fallback, so
every customer in scope gets exactly one label per scheme. Tag schemes apply every tag whose
condition holds. Summaries, warnings and skipped schemes are data, for reports and tests.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from seglab.errors import ConfigError, DataError, SchemaError
from seglab.heuristics.derived import DERIVATIONS
from seglab.heuristics.flags import attach_flags
from seglab.heuristics.rules import UnknownColumnError, parse_condition, unknown_column
from seglab.heuristics.schemes import (
    REVENUE,
    HeuristicsConfig,
    SchemeSpec,
    as_heuristics_config,
    resolve_schemes,
)
from seglab.registry import suggest

__all__ = ["SchemeLabels", "classify", "transition_counts"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SchemeLabels:
    """What :func:`classify` computed, as plain tables.

    Attributes
    ----------
    labels : DataFrame
        Index customer_id, one categorical column per labels scheme that ran (categories in
        the scheme's order, fallback last); every customer has exactly one label.
    tags : DataFrame
        Index customer_id, one boolean column per tag of every tags scheme that ran.
    summaries : dict of str to DataFrame
        Per scheme: ``segment``, ``customers``, ``share``, ``revenue``, ``revenue_share``,
        ``mean_<column>`` for each numeric column the scheme's conditions and derivations use,
        ``description``, ``action``. Tags schemes end with the customers without a tag.
    overlaps : dict of str to DataFrame
        Per tags scheme: customers carrying both tags (diagonal: customers with the tag).
    warnings : DataFrame
        ``scheme``, ``segment``, ``kind``, ``message``. Kinds: ``empty``, ``small``, ``large``,
        ``too_many_segments``, ``concentration``, ``note``, ``unknown_ids``.
    skipped : DataFrame
        ``scheme``, ``reason``: default schemes not run because the table lacks a column.
    flags : DataFrame
        ``flag``, ``source``, ``customers``, ``listed_ids``, ``unknown_ids``.
    derived : dict of str to DataFrame
        Per scheme, the derived columns its rules used (scores, shares, ranks).
    schemes : dict of str to SchemeSpec
        The schemes as run, parameters overridden: the provenance of every label.
    """

    labels: pd.DataFrame
    tags: pd.DataFrame
    summaries: dict[str, pd.DataFrame]
    overlaps: dict[str, pd.DataFrame]
    warnings: pd.DataFrame
    skipped: pd.DataFrame
    flags: pd.DataFrame
    derived: dict[str, pd.DataFrame] = field(default_factory=dict)
    schemes: dict[str, SchemeSpec] = field(default_factory=dict)

    def summary_table(self) -> pd.DataFrame:
        """Every scheme's summary stacked in one long table with a leading ``scheme`` column."""
        frames = [
            summary.loc[:, ~summary.columns.str.startswith("mean_")].assign(scheme=name)
            for name, summary in self.summaries.items()
        ]
        columns = ["scheme", *_SUMMARY_COLUMNS]
        if not frames:
            return pd.DataFrame(columns=columns)
        return pd.concat(frames, ignore_index=True)[columns]


_SUMMARY_COLUMNS = [
    "segment",
    "customers",
    "share",
    "revenue",
    "revenue_share",
    "description",
    "action",
]
_WARNING_COLUMNS = ["scheme", "segment", "kind", "message"]


def _check_table(customers: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(customers, pd.DataFrame):
        raise SchemaError(
            f"the customer table must be a DataFrame indexed by customer_id, "
            f"got {type(customers).__name__}"
        )
    if customers.empty:
        raise DataError("the customer table has no customers; check as_of and the filters")
    if REVENUE not in customers.columns:
        known = [str(c) for c in customers.columns]
        raise SchemaError(
            f"the customer table has no '{REVENUE}' column (revenue per customer)"
            f"{suggest(REVENUE, known) or '.'} Columns: {', '.join(known)}."
        )
    duplicated = customers.index[customers.index.duplicated()].unique()
    if len(duplicated):
        raise DataError(
            f"the customer table has {len(duplicated)} repeated customer_id(s), e.g. "
            f"{list(duplicated[:5])}; give one row per customer"
        )
    return customers


@dataclass(frozen=True)
class _Outcome:
    labels: pd.Series | None
    tags: pd.DataFrame | None
    summary: pd.DataFrame
    warnings: list[tuple[str, str, str, str]]
    derived: pd.DataFrame


def classify(
    customers: pd.DataFrame, config: HeuristicsConfig | Mapping[str, Any] | None = None
) -> SchemeLabels:
    """Run the heuristic schemes over the customer table.

    Parameters
    ----------
    customers : DataFrame
        One row per customer in scope, indexed by customer_id: features and attributes.
    config : HeuristicsConfig or mapping, optional
        The ``heuristics`` section of the run config; every default scheme when omitted.

    Returns
    -------
    SchemeLabels

    Raises
    ------
    UnknownColumnError
        A scheme asked for explicitly names a column the table lacks.
    ConfigError
        A condition does not fit the data (text compared with a number), names clash, a flag
        source is missing.

    Examples
    --------
    >>> table = pd.DataFrame(
    ...     {"monetary_total": [500.0, 300.0, 150.0, 50.0], "recency_days": [5.0, 100, 200, 400]},
    ...     index=pd.Index(["c1", "c2", "c3", "c4"], name="customer_id"),
    ... )
    >>> result = classify(table, {"schemes": ["abc", "lifecycle"]})
    >>> result.labels
                abc lifecycle
    customer_id
    c1            A    active
    c2            A  inactive
    c3            B  sleeping
    c4            C    closed
    """
    config = as_heuristics_config(config)
    table = _check_table(customers)
    schemes = resolve_schemes(config)
    explicit = set(config.schemes or ()) | set(config.add)
    table, flags = attach_flags(table, config.flags)
    outcomes: dict[str, _Outcome] = {}
    skipped: list[tuple[str, str]] = []
    for name, spec in schemes.items():
        try:
            outcomes[name] = _run_scheme(name, spec, table)
        except UnknownColumnError as exc:
            if name in explicit:
                raise UnknownColumnError(f"scheme '{name}': {exc}", column=exc.column) from None
            reason = f"needs column '{exc.column}', which the customer table does not have"
            logger.info("heuristic scheme %s skipped: %s", name, reason)
            skipped.append((name, reason))
    return _assemble(table, schemes, outcomes, skipped, flags)


def _run_scheme(name: str, spec: SchemeSpec, table: pd.DataFrame) -> _Outcome:
    """Derive, check names, classify, summarise and warn for one scheme."""
    context = f"scheme '{name}'"
    clash = [p for p in spec.params if p in table.columns]
    if clash:
        raise ConfigError(
            f"{context}: parameter '{clash[0]}' is also a column of the customer table; "
            "parameters and columns share one namespace, rename one of them"
        )
    derived, notes = _derive(name, spec, table)
    view = pd.concat([table, derived], axis=1) if len(derived.columns) else table
    columns = [str(c) for c in view.columns]
    for segment in spec.segments:
        for used in parse_condition(segment.when).names:
            if used not in spec.params and used not in view.columns:
                raise unknown_column(
                    used, columns, params=spec.params, where=f"{context}, segment '{segment.name}'"
                )
    if spec.label_from and spec.label_from not in view.columns:
        raise unknown_column(spec.label_from, columns, where=f"{context}, label_from")
    masks = _segment_masks(name, spec, view)
    labels = tags = None
    if spec.kind == "tags":
        tags = pd.DataFrame(masks, index=view.index)
        rows = [*masks.items(), (spec.fallback, ~tags.any(axis=1).to_numpy())]
    elif spec.label_from:
        labels = _labels_from_column(view[spec.label_from], spec.fallback)
        rows = [(cat, (labels == cat).to_numpy()) for cat in labels.cat.categories]
    else:
        labels = _first_match(masks, spec.fallback, view.index)
        rows = [(cat, (labels == cat).to_numpy()) for cat in labels.cat.categories]
    features = _summary_features(spec, view)
    summary = _summary(rows, view, features, spec)
    warnings = [(name, "", "note", note) for note in notes]
    warnings += _warnings(name, spec, summary)
    return _Outcome(labels, tags, summary, warnings, derived)


def _derive(name: str, spec: SchemeSpec, table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    derived = pd.DataFrame(index=table.index)
    notes: list[str] = []
    for step in spec.derive:
        derivation = DERIVATIONS.get(step.use)
        args = {
            key: spec.params[value[1:]]
            if isinstance(value, str) and value.startswith("$")
            else value
            for key, value in step.args.items()
        }
        inputs = [
            c for c in dict.fromkeys(derivation.input_columns(args)) if c in table or c in derived
        ]
        source = pd.concat([table[[c for c in inputs if c not in derived]], derived], axis=1)
        try:
            out = derivation(source, **args)
            note = derivation.note(source, **args) if derivation.note else None
        except UnknownColumnError as exc:
            if exc.column not in table.columns and exc.column not in derived:
                raise
            raise ConfigError(f"scheme '{name}', derivation '{step.use}': {exc}") from None
        except ConfigError as exc:
            raise ConfigError(f"scheme '{name}', derivation '{step.use}': {exc}") from None
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"scheme '{name}', derivation '{step.use}' cannot use its arguments {args}: {exc}"
            ) from None
        for column in out.columns:
            if column in table.columns or column in spec.params or column in derived.columns:
                raise ConfigError(
                    f"scheme '{name}': derived column '{column}' ({step.use}) clashes with a "
                    "column of the table, a parameter or an earlier derived column; set its "
                    "output name"
                )
        derived = pd.concat([derived, out], axis=1)
        if note:
            notes.append(note)
    return derived, notes


def _segment_masks(name: str, spec: SchemeSpec, view: pd.DataFrame) -> dict[str, np.ndarray]:
    masks = {}
    for segment in spec.segments:
        try:
            mask = parse_condition(segment.when).evaluate(view, spec.params)
        except UnknownColumnError:
            raise
        except ConfigError as exc:
            raise ConfigError(f"scheme '{name}', segment '{segment.name}': {exc}") from None
        masks[segment.name] = mask.to_numpy()
    return masks


def _first_match(masks: dict[str, np.ndarray], fallback: str, index: pd.Index) -> pd.Series:
    codes = np.full(len(index), len(masks), dtype=np.int64)
    free = np.ones(len(index), dtype=bool)
    for code, mask in enumerate(masks.values()):
        hit = mask & free
        codes[hit] = code
        free &= ~hit
    labels = pd.Categorical.from_codes(codes, categories=[*masks, fallback])
    return pd.Series(labels, index=index)


def _labels_from_column(values: pd.Series, fallback: str) -> pd.Series:
    """Labels copied from a column as text; missing -> fallback; categories by size, descending."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = [f"{u:g}" if isinstance(u, float) else str(u) for u in uniques]
    counts = np.bincount(codes[codes >= 0], minlength=len(texts))
    totals: dict[str, int] = {}
    for text, count in zip(texts, counts, strict=True):
        totals[text] = totals.get(text, 0) + int(count)
    totals.pop(fallback, None)
    order = sorted(totals, key=lambda label: (-totals[label], label))
    categories = [*order, fallback]
    position = {label: i for i, label in enumerate(categories)}
    lookup = np.array([position[t] for t in texts] + [len(categories) - 1], dtype=np.int64)
    labels = pd.Categorical.from_codes(lookup[codes], categories=categories)
    return pd.Series(labels, index=values.index)


def _summary_features(spec: SchemeSpec, view: pd.DataFrame) -> list[str]:
    names: list[str] = []
    for step in spec.derive:
        names += DERIVATIONS.get(step.use).input_columns(step.args)
    for segment in spec.segments:
        names += parse_condition(segment.when).names
    numeric = []
    for name in dict.fromkeys(names):
        if name in spec.params or name not in view.columns:
            continue
        dtype = view[name].dtype
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            numeric.append(name)
    return numeric


def _summary(
    rows: list[tuple[str, np.ndarray]],
    view: pd.DataFrame,
    features: list[str],
    spec: SchemeSpec,
) -> pd.DataFrame:
    revenue = view[REVENUE].to_numpy(dtype="float64", na_value=np.nan)
    values = view[features].to_numpy(dtype="float64", na_value=np.nan)
    total = float(np.nansum(revenue))
    described = {s.name: (s.description, s.action) for s in spec.segments}
    described[spec.fallback] = (spec.fallback_description, None)
    records = []
    for segment, mask in rows:
        count = int(mask.sum())
        segment_revenue = float(np.nansum(revenue[mask]))
        means = _column_means(values[mask]) if count else [np.nan] * len(features)
        description, action = described.get(segment, ("", None))
        records.append(
            {
                "segment": segment,
                "customers": count,
                "share": count / len(view),
                "revenue": segment_revenue,
                "revenue_share": segment_revenue / total if total else np.nan,
                **{f"mean_{f}": m for f, m in zip(features, means, strict=True)},
                "description": description,
                "action": action,
            }
        )
    return pd.DataFrame(records)


def _column_means(values: np.ndarray) -> list[float]:
    known = ~np.isnan(values)
    counts = known.sum(axis=0)
    sums = np.where(known, values, 0.0).sum(axis=0)
    return [float(s / c) if c else np.nan for s, c in zip(sums, counts, strict=True)]


def _warnings(
    name: str, spec: SchemeSpec, summary: pd.DataFrame
) -> list[tuple[str, str, str, str]]:
    out = []
    limits = spec.warn
    for row in summary.itertuples(index=False):
        label, share = row.segment, row.share
        if row.customers == 0:
            if label != spec.fallback:
                out.append((name, label, "empty", f"no customer in '{label}'"))
            continue
        if share < limits.min_share:
            out.append(
                (
                    name,
                    label,
                    "small",
                    f"'{label}' holds {share:.1%} of customers ({row.customers}), "
                    f"under {limits.min_share:.0%}: too small to act on",
                )
            )
        if share > limits.max_share:
            out.append(
                (
                    name,
                    label,
                    "large",
                    f"'{label}' holds {share:.1%} of customers, over {limits.max_share:.0%}: "
                    "the scheme hardly separates them",
                )
            )
    used = int((summary["customers"] > 0).sum())
    if used > limits.max_segments:
        out.append(
            (
                name,
                "",
                "too_many_segments",
                f"{used} non-empty segments, more than {limits.max_segments}: too many to act on",
            )
        )
    if spec.concentration is not None:
        rule = spec.concentration
        row = summary.loc[summary["segment"] == rule.segment].iloc[0]
        if not rule.min_share <= row["share"] <= rule.max_share:
            out.append(
                (
                    name,
                    rule.segment,
                    "concentration",
                    f"'{rule.segment}' ({row['revenue_share']:.1%} of revenue) holds "
                    f"{row['share']:.1%} of customers; a healthy base has "
                    f"{rule.min_share:.0%}-{rule.max_share:.0%}",
                )
            )
    return out


def _assemble(
    table: pd.DataFrame,
    schemes: dict[str, SchemeSpec],
    outcomes: dict[str, _Outcome],
    skipped: list[tuple[str, str]],
    flags: pd.DataFrame,
) -> SchemeLabels:
    labels = pd.DataFrame(
        {name: o.labels for name, o in outcomes.items() if o.labels is not None}, index=table.index
    )
    tag_frames = [o.tags for o in outcomes.values() if o.tags is not None]
    tags = pd.concat(tag_frames, axis=1) if tag_frames else pd.DataFrame(index=table.index)
    overlaps = {}
    for name, outcome in outcomes.items():
        if outcome.tags is not None:
            matrix = outcome.tags.astype(np.int64)
            overlaps[name] = matrix.T @ matrix
    warnings = [w for o in outcomes.values() for w in o.warnings]
    for row in flags.itertuples(index=False):
        if row.unknown_ids:
            warnings.append(
                (
                    "flags",
                    row.flag,
                    "unknown_ids",
                    f"{row.unknown_ids} of {row.listed_ids} ids listed for '{row.flag}' are not "
                    "customers in scope",
                )
            )
    return SchemeLabels(
        labels=labels,
        tags=tags,
        summaries={name: o.summary for name, o in outcomes.items()},
        overlaps=overlaps,
        warnings=pd.DataFrame(warnings, columns=_WARNING_COLUMNS),
        skipped=pd.DataFrame(skipped, columns=["scheme", "reason"]),
        flags=flags,
        derived={name: o.derived for name, o in outcomes.items() if len(o.derived.columns)},
        schemes={name: schemes[name] for name in outcomes},
    )


def transition_counts(
    previous: pd.Series, current: pd.Series, *, new: str = "(new)", gone: str = "(gone)"
) -> pd.DataFrame:
    """Customers moving between the segments of one scheme from one report to the next.

    Parameters
    ----------
    previous, current : Series
        Labels of the same scheme at two dates, indexed by customer_id.
    new, gone : str
        Row label of customers absent from `previous`; column label of those absent from
        `current`.

    Returns
    -------
    DataFrame
        Counts, index ``previous`` segments (+ `new`), columns ``current`` segments (+ `gone`),
        segments in category order when the labels are categorical, else sorted.

    Examples
    --------
    >>> before = pd.Series({"a": "VIP", "b": "Segment 1", "c": "Segment 1"})
    >>> after = pd.Series({"a": "Segment 1", "b": "Segment 1", "d": "VIP"})
    >>> transition_counts(before, after)
    current    Segment 1  VIP  (gone)
    previous
    Segment 1          1    0       1
    VIP                1    0       0
    (new)              0    1       0
    """
    customers = previous.index.union(current.index)
    rows = [*_ordered(previous), new]
    cols = [*_ordered(current), gone]
    before = previous.astype(object).reindex(customers).fillna(new)
    after = current.astype(object).reindex(customers).fillna(gone)
    table = pd.crosstab(
        pd.Categorical(before, categories=list(dict.fromkeys(rows))),
        pd.Categorical(after, categories=list(dict.fromkeys(cols))),
        dropna=False,
    )
    table.index.name, table.columns.name = "previous", "current"
    return table


def _ordered(labels: pd.Series) -> list[str]:
    if isinstance(labels.dtype, pd.CategoricalDtype):
        return [str(c) for c in labels.cat.categories]
    return sorted(str(v) for v in labels.dropna().unique())
