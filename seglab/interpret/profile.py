"""What each segment is, in original units and business words.

Everything here summarises into plain tables (the report renders them): profiles with sizes,
revenue shares, means and medians; standardised differences against the whole base; the most
distinguishing features; a deterministic short name per segment; human-readable rules from a
small surrogate decision tree with their fidelity; fuzzy boundary customers; personas (each
segment's most typical customer); and answers to the practitioners' questions (who, what they
bring, what they buy, when to offer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier, _tree

from seglab.features.categorical import as_categories

__all__ = [
    "DESCRIPTORS",
    "Rules",
    "boundary_customers",
    "category_shares",
    "distinguishing_features",
    "name_segments",
    "personas",
    "profile_segments",
    "segment_answers",
    "standardised_differences",
    "suggest_actions",
    "surrogate_rules",
]

#: Words for a segment well below / above the base on a feature (used in names).
DESCRIPTORS: Mapping[str, tuple[str, str]] = {
    "recency_days": ("recent", "lapsed"),
    "frequency": ("infrequent", "frequent"),
    "frequency_days": ("rare visits", "many visits"),
    "monetary_total": ("low spend", "high spend"),
    "monetary_mean": ("small baskets", "big baskets"),
    "tenure_days": ("new", "long-standing"),
    "orders_per_month": ("slow buyers", "fast buyers"),
    "active_months": ("few active months", "many active months"),
    "interpurchase_mean_days": ("short cycles", "long cycles"),
    "interpurchase_median_days": ("short cycles", "long cycles"),
    "interpurchase_cv": ("regular", "irregular"),
    "revenue_cv": ("steady revenue", "volatile revenue"),
    "revenue_growth": ("shrinking", "growing"),
    "revenue_share": ("minor share", "major share"),
    "product_breadth": ("narrow range", "broad range"),
    "category_breadth": ("few categories", "many categories"),
    "returns_rate": ("few returns", "many returns"),
    "returned_orders": ("few returns", "many returns"),
}
#: A standardised difference at least this large (in base standard deviations) counts.
NAME_THRESHOLD = 0.5
#: The field material advises 3 to 7 personas.
PERSONA_RANGE = (3, 7)


def profile_segments(
    features: pd.DataFrame, labels: pd.Series, *, revenue: str = "monetary_total"
) -> pd.DataFrame:
    """Size, revenue, and the mean and median of every numeric column, per segment.

    Parameters
    ----------
    features : DataFrame
        Unscaled customer features (and attributes), one row per customer.
    labels : Series
        Segment of each customer, aligned with `features`.
    revenue : str
        Column holding each customer's revenue.

    Returns
    -------
    DataFrame
        Indexed by segment: ``customers``, ``share``, ``revenue``, ``revenue_share``, then
        ``mean_<column>`` and ``median_<column>`` for every numeric column.

    Examples
    --------
    >>> f = pd.DataFrame({"monetary_total": [10.0, 30.0, 60.0]})
    >>> profile_segments(f, pd.Series([0, 0, 1]))[["customers", "revenue_share"]]
             customers  revenue_share
    segment
    0                2            0.4
    1                1            0.6
    """
    numeric = features.select_dtypes("number")
    grouped = numeric.groupby(np.asarray(labels))
    table = pd.DataFrame({"customers": grouped.size(), "revenue": grouped[revenue].sum()})
    table["share"] = table["customers"] / table["customers"].sum()
    table["revenue_share"] = table["revenue"] / table["revenue"].sum()
    table = table[["customers", "share", "revenue", "revenue_share"]]
    table = table.join(grouped.mean().add_prefix("mean_")).join(
        grouped.median().add_prefix("median_")
    )
    table.index.name = "segment"
    return table


def category_shares(
    customers: pd.DataFrame, labels: pd.Series, columns: Sequence[str]
) -> pd.DataFrame:
    """Each segment's share of every category of the `columns`, against the whole base.

    Parameters
    ----------
    customers : DataFrame
        The customer table, with the categorical (attribute) `columns`; one row per customer.
    labels : Series
        Segment of each customer (numbers or ids), aligned with `customers`.
    columns : sequence of str
        The categorical columns, e.g. the ``categorical`` part of a mixed feature set.

    Returns
    -------
    DataFrame
        One row per (column, category, segment): ``column``, ``category`` (missing values are
        ``(missing)``), ``segment``, ``share`` (of the segment's customers in the category),
        ``overall_share`` (of all customers) and ``lift`` (share / overall share: above 1 the
        category is over-represented in the segment). Categories run from the most common.

    Examples
    --------
    >>> customers = pd.DataFrame({"region": ["N", "N", "S", "S", "S", None]})
    >>> table = category_shares(customers, pd.Series([0, 0, 0, 1, 1, 1]), ["region"])
    >>> table[table["segment"] == 1].round(3).to_dict("list")  # doctest: +NORMALIZE_WHITESPACE
    {'column': ['region', 'region', 'region'], 'category': ['S', 'N', '(missing)'],
     'segment': [1, 1, 1], 'share': [0.667, 0.0, 0.333], 'overall_share': [0.5, 0.333, 0.167],
     'lift': [1.333, 0.0, 2.0]}
    """
    segments = np.asarray(labels)
    tables = []
    for column in columns:
        values = as_categories(customers[column])
        overall = values.value_counts(normalize=True, sort=False)
        order = sorted(overall.index, key=lambda category: (-overall[category], category))
        shares = pd.crosstab(values.to_numpy(), segments, normalize="columns")
        shares = shares.reindex(index=order, fill_value=0.0)
        table = shares.rename_axis(index="category", columns="segment").reset_index()
        table = table.melt(id_vars="category", var_name="segment", value_name="share")
        rank = table["category"].map({category: i for i, category in enumerate(order)})
        table = table.iloc[np.lexsort((table["segment"].rank(method="dense"), rank))]
        table.insert(0, "column", column)
        table["overall_share"] = table["category"].map(overall)
        table["lift"] = table["share"] / table["overall_share"]
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def standardised_differences(features: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """Each segment's feature means minus the base mean, in base standard deviations.

    Constant features give 0 rather than NaN.
    """
    numeric = features.select_dtypes("number")
    spread = numeric.std(ddof=0).replace(0.0, 1.0)
    means = numeric.groupby(np.asarray(labels)).mean()
    table = (means - numeric.mean()) / spread
    table.index.name = "segment"
    return table


def distinguishing_features(differences: pd.DataFrame, top: int = 5) -> pd.DataFrame:
    """The features that set each segment apart most, by absolute standardised difference.

    Returns one row per (segment, rank): ``segment``, ``rank``, ``feature``, ``difference``;
    ties in size are broken by feature name.
    """
    long = (
        differences.rename_axis("segment")
        .reset_index()
        .melt(id_vars="segment", var_name="feature", value_name="difference")
    )
    long = long.assign(size=long["difference"].abs()).sort_values(
        ["segment", "size", "feature"], ascending=[True, False, True]
    )
    long["rank"] = long.groupby("segment").cumcount() + 1
    return long[long["rank"] <= top].drop(columns="size").reset_index(drop=True)


def name_segments(
    differences: pd.DataFrame,
    overrides: Mapping | None = None,
    *,
    words: int = 3,
    threshold: float = NAME_THRESHOLD,
) -> pd.DataFrame:
    """A short deterministic name per segment, built from its strongest differences.

    Each feature whose standardised difference is at least `threshold` in size contributes
    its word (:data:`DESCRIPTORS`, else "high <feature>" / "low <feature>"), strongest first,
    at most `words` of them, repeated words once; a segment with none is "typical". Segments
    that end up with the same name get their number appended. `overrides` (from the config:
    ``{segment: {name: ..., action: ...}}``) replace names and set actions.

    Examples
    --------
    >>> d = pd.DataFrame({"recency_days": [-1.2, 0.9], "frequency": [0.8, -0.1]})
    >>> name_segments(d)["name"].tolist()
    ['recent, frequent', 'lapsed']
    """
    overrides = {str(k): v for k, v in (overrides or {}).items()}
    names = {}
    for segment, row in differences.iterrows():
        ranked = row[row.abs() >= threshold]
        ranked = ranked.reindex(
            sorted(ranked.index, key=lambda name, r=ranked: (-abs(r[name]), name))
        )
        chosen: list[str] = []
        for feature, value in ranked.items():
            low, high = DESCRIPTORS.get(feature, (f"low {feature}", f"high {feature}"))
            word = high if value > 0 else low
            if word not in chosen:
                chosen.append(word)
        names[segment] = ", ".join(chosen[:words]) or "typical"
    counts = pd.Series(names).value_counts()
    table = pd.DataFrame(
        {
            "name": [
                f"{name} ({segment})" if counts[name] > 1 else name
                for segment, name in names.items()
            ],
            "action": "",
        },
        index=differences.index,
    )
    for segment in table.index:
        override = overrides.get(str(segment), {})
        for column in ("name", "action"):
            if override.get(column):
                table.loc[segment, column] = override[column]
    return table


@dataclass(frozen=True)
class Rules:
    """Readable rules from a surrogate decision tree and how faithful they are.

    Attributes
    ----------
    rules : DataFrame
        One row per segment: ``segment``, ``rule`` (conditions joined by "and", alternatives by
        "or"), ``fidelity`` (share of the segment's customers the rules place in it) and
        ``customers``.
    fidelity : float
        Share of all customers the tree places in their own segment.
    depth : int
        Depth of the tree.
    """

    rules: pd.DataFrame
    fidelity: float
    depth: int


#: The features the suggested actions read, when the customer table has them.
ACTION_FEATURES = ("recency_days", "frequency", "monetary_total", "monetary_mean", "tenure_days")
#: (test on the standardised differences, action), the first that holds wins.
ACTION_RULES: tuple[tuple[Callable[[pd.Series], bool], str], ...] = (
    (lambda d: d["tenure_days"] <= -0.5 and d["recency_days"] <= 0,
     "Onboard: a welcome series and an incentive for the second order"),
    (lambda d: d["recency_days"] <= -0.5 and max(d["frequency"], d["monetary_total"]) >= 0.5,
     "Reward and retain: loyalty perks and early access to new ranges"),
    (lambda d: d["recency_days"] >= 0.5 and max(d["frequency"], d["monetary_total"]) >= 0,
     "Win back: a personal offer before they are lost"),
    (lambda d: d["recency_days"] >= 0.5,
     "Reactivate cheaply: a reminder email, no deep discounts"),
    (lambda d: d["monetary_mean"] >= 0.5,
     "Upsell: premium ranges and bundles for big baskets"),
    (lambda d: d["frequency"] >= 0.5,
     "Grow the basket: cross-sell related ranges"),
)  # fmt: skip
DEFAULT_ACTION = "Keep engaged: the regular newsletter and seasonal offers"


def suggest_actions(customers: pd.DataFrame, labels: pd.Series) -> pd.Series:
    """A recommended next step per segment, from how it differs from the whole base.

    Reads recency, frequency, spend, basket size and tenure in base standard deviations
    (:data:`ACTION_RULES`, first match wins; features the table lacks count as typical).

    >>> f = pd.DataFrame(
    ...     {"recency_days": [5.0, 7, 300, 320], "frequency": [9.0, 8, 1, 1],
    ...      "monetary_total": [900.0, 800, 20, 10]}
    ... )
    >>> suggest_actions(f, pd.Series([0, 0, 1, 1])).str.split(":").str[0].tolist()
    ['Reward and retain', 'Reactivate cheaply']
    """
    present = [name for name in ACTION_FEATURES if name in customers.columns]
    differences = standardised_differences(customers[present], labels)
    differences = differences.reindex(columns=list(ACTION_FEATURES), fill_value=0.0)
    return differences.apply(
        lambda row: next((action for test, action in ACTION_RULES if test(row)), DEFAULT_ACTION),
        axis=1,
    ).rename("action")


def surrogate_rules(
    features: pd.DataFrame, labels: pd.Series, *, depth: int = 3, random_state: int = 0
) -> Rules:
    """Fit a small decision tree on unscaled features to explain a segmentation in rules.

    Thresholds are in the features' own units, so a rule reads like
    ``recency_days <= 45.5 and frequency > 6.5``.
    """
    X = features.select_dtypes("number")
    y = np.asarray(labels)
    tree = DecisionTreeClassifier(max_depth=depth, random_state=random_state).fit(X, y)
    predicted = tree.predict(X)
    paths: dict[object, list[str]] = {}
    _collect(tree.tree_, 0, [], X, tree.classes_, paths)
    rows = []
    for segment in np.unique(y):
        members = y == segment
        rows.append(
            {
                "segment": segment,
                "rule": " or ".join(f"({p})" if " and " in p else p for p in paths.get(segment, []))
                or "(no leaf: the tree never predicts this segment)",
                "fidelity": float((predicted[members] == segment).mean()),
                "customers": int(members.sum()),
            }
        )
    return Rules(pd.DataFrame(rows), float((predicted == y).mean()), depth)


def _collect(tree, node: int, conditions: list[str], X: pd.DataFrame, classes, paths) -> None:
    if tree.feature[node] == _tree.TREE_UNDEFINED:
        segment = classes[int(np.argmax(tree.value[node]))]
        paths.setdefault(segment, []).append(" and ".join(conditions) or "everyone")
        return
    name = X.columns[tree.feature[node]]
    threshold = _threshold_text(tree.threshold[node], X[name].to_numpy(dtype="float64"))
    _collect(
        tree,
        tree.children_left[node],
        [*conditions, f"{name} <= {threshold}"],
        X,
        classes,
        paths,
    )
    _collect(
        tree,
        tree.children_right[node],
        [*conditions, f"{name} > {threshold}"],
        X,
        classes,
        paths,
    )


def _threshold_text(threshold: float, values: np.ndarray) -> str:
    """The threshold with as few digits (four at least) as keep the tree's split of `values`.

    The tree compares float32 copies of the features; the printed rule, read on the data,
    must put every customer on the side the tree does (so its fidelity is the one printed).
    """
    tree_side = values.astype(np.float32) <= threshold
    for digits in range(4, 18):
        text = np.format_float_positional(float(f"{threshold:.{digits}g}"), trim="-")
        if np.array_equal(values <= float(text), tree_side):
            return text
    return np.format_float_positional(threshold, trim="-")


def boundary_customers(memberships: pd.DataFrame, threshold: float = 0.6) -> pd.DataFrame:
    """Customers whose highest fuzzy membership is below `threshold`, counted per segment.

    Returns one row per segment (the column of the highest membership): ``segment``,
    ``customers``, ``boundary`` (how many are boundary customers) and ``boundary_share``.
    """
    top = memberships.to_numpy().argmax(axis=1)
    is_boundary = memberships.to_numpy().max(axis=1) < threshold
    frame = pd.DataFrame({"segment": top, "boundary": is_boundary})
    table = frame.groupby("segment").agg(
        customers=("boundary", "size"), boundary=("boundary", "sum")
    )
    table["boundary_share"] = table["boundary"] / table["customers"]
    return table.reset_index()


def personas(
    scaled: np.ndarray,
    customers: pd.DataFrame,
    labels: pd.Series,
    *,
    sample: int = 2_000,
    random_state: int = 0,
) -> pd.DataFrame:
    """Each segment's most typical customer: its medoid in the scaled feature space.

    The medoid minimises the summed distance to the segment's other customers; in a segment
    larger than `sample` it is the medoid of a seeded random sample of that size (the
    ``medoid_of`` column says of how many customers).

    Returns one row per segment with ``segment``, ``customer_id``, ``medoid_of`` and the
    customer's raw features and attributes.
    """
    rng = np.random.default_rng(random_state)
    y = np.asarray(labels)
    rows = []
    for segment in np.unique(y):
        members = np.flatnonzero(y == segment)
        if len(members) > sample:
            members = np.sort(rng.choice(members, sample, replace=False))
        points = scaled[members]
        squared = (points**2).sum(axis=1)
        distances = np.sqrt(
            np.maximum(squared[:, None] + squared[None, :] - 2 * points @ points.T, 0)
        )
        medoid = members[int(np.argmin(distances.sum(axis=1)))]
        record = customers.iloc[medoid]
        rows.append(
            {"segment": segment, "customer_id": customers.index[medoid], "medoid_of": len(members),
             **record.to_dict()}
        )  # fmt: skip
    return pd.DataFrame(rows)


def persona_note(n_segments: int) -> str:
    """What the field material says about this many personas ("" when within 3-7)."""
    low, high = PERSONA_RANGE
    if n_segments > high:
        return f"{n_segments} personas: more than the {low}-{high} that teams can work with"
    if n_segments < low:
        return f"{n_segments} personas: fewer than the {low}-{high} usually worth telling apart"
    return ""


def segment_answers(
    customers: pd.DataFrame, labels: pd.Series, top_items: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The practitioners' questions per segment: who, what they bring, what they buy, when.

    Parameters
    ----------
    customers : DataFrame
        Customer features (``monetary_total``, ``recency_days``, ``interpurchase_median_days``).
    labels : Series
        Segment of each customer.
    top_items : DataFrame, optional
        From :func:`top_items`: the most bought categories or products per segment.
    """
    frame = customers.assign(segment=np.asarray(labels))
    grouped = frame.groupby("segment")
    answers = pd.DataFrame(
        {
            "customers": grouped.size(),
            "revenue_share": grouped["monetary_total"].sum() / frame["monetary_total"].sum(),
            "median_days_since_last": grouped["recency_days"].median(),
            "median_days_between_purchases": grouped["interpurchase_median_days"].median(),
        }
    )
    if top_items is not None:
        answers["buys_most"] = top_items.groupby("segment")["item"].agg(", ".join)
    return answers.reset_index()


def top_items(
    transactions, labels: pd.Series, *, by: Sequence[str] = ("category", "product_id"), n: int = 3
) -> pd.DataFrame | None:
    """The `n` items with the most revenue per segment, from the first of `by` the data has.

    Parameters
    ----------
    transactions : ibis Table
        Clean transactions with ``customer_id``, ``amount``, ``is_return``.
    labels : Series
        Segment of each customer, indexed by ``customer_id``.

    Returns
    -------
    DataFrame or None
        ``segment``, ``item``, ``revenue``, ``rank``; None when the data has none of `by`.
    """
    import ibis

    column = next((c for c in by if c in transactions.columns), None)
    if column is None:
        return None
    segments = ibis.memtable(
        pd.DataFrame({"customer_id": labels.index, "segment": np.asarray(labels).astype(str)})
    )
    purchases = transactions.filter(~transactions.is_return)
    joined = purchases.join(segments, "customer_id")
    revenue = joined.group_by(["segment", column]).aggregate(revenue=joined.amount.sum())
    table = revenue.to_pandas().rename(columns={column: "item"})
    table["item"] = table["item"].astype(str)
    table = table.sort_values(["segment", "revenue", "item"], ascending=[True, False, True])
    table["rank"] = table.groupby("segment").cumcount() + 1
    return table[table["rank"] <= n].reset_index(drop=True)
