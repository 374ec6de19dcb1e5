"""Figures only: every function takes plain tables and returns a matplotlib Figure.

Figures are built without pyplot, so nothing is shown twice in a notebook and nothing leaks
between calls; a notebook displays the returned Figure, a script calls ``fig.savefig``. Tick
labels are wrapped at :data:`WRAP` characters and rotated when they would collide; figures grow
with their tables.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, PercentFormatter

from seglab.interpret.identity import SEGMENT_ID, segment_number

__all__ = [
    "WRAP",
    "agreement_heatmap",
    "bcg_scatter",
    "choice_evidence",
    "comparison_heatmap",
    "contingency_heatmap",
    "dendrogram",
    "elbow",
    "embedding_scatter",
    "membership_histogram",
    "metrics_by_k",
    "pareto_curve",
    "profile_heatmap",
    "rfm_heatmap",
    "scheme_summary",
    "segment_colours",
    "segment_sizes",
    "silhouette_plot",
    "sizes_over_time",
    "snake_plot",
    "transition_heatmap",
    "value_potential_bubbles",
]


#: One colour per segment id, the same in every figure and every period (S1 first).
SEGMENT_PALETTE = (
    sns.color_palette("tab10") + sns.color_palette("Set2") + sns.color_palette("Dark2")
)


def segment_colours(segment_ids: Sequence[str]) -> dict[str, tuple]:
    """The colour of each segment id (``S3`` is always the third colour).

    >>> segment_colours(["S2", "S12"])["S2"] == SEGMENT_PALETTE[1]
    True
    """
    colours = {}
    for segment_id in segment_ids:
        number = segment_number(segment_id) if SEGMENT_ID.match(str(segment_id)) else 1
        colours[segment_id] = SEGMENT_PALETTE[(number - 1) % len(SEGMENT_PALETTE)]
    return colours


def _segment_labels(profile: pd.DataFrame) -> list[str]:
    """``S1 · name`` for every row of a profile (index numbers when it has no ids)."""
    if {"segment_id", "name"} <= set(profile.columns):
        return [f"{i} · {n}" for i, n in zip(profile["segment_id"], profile["name"], strict=True)]
    return [str(i) for i in profile.index]


def segment_sizes(
    profile: pd.DataFrame,
    *,
    shares: dict[str, str] | None = None,
    title: str = "Segments",
) -> Figure:
    """Each segment's shares side by side, in its own colour (customers and revenue by default).

    `shares` maps a column of shares to its panel's title, e.g. ``{"revenue_share": "past
    revenue", "clv_share": "expected future revenue"}`` for the segment summary.
    """
    shares = shares or {"share": "share of customers", "revenue_share": "share of revenue"}
    empty = [what for column, what in shares.items() if profile[column].isna().all()]
    if empty:
        return _empty_figure(title, f"no values for the {' and the '.join(empty)}")
    table = profile.rename(columns={"segment_name": "name"})
    labels = _segment_labels(table)
    ids = table["segment_id"] if "segment_id" in table else pd.Series(labels)
    colours = [segment_colours(ids)[i] for i in ids]
    fig = Figure(figsize=(4.5 * len(shares), 0.45 * len(table) + 1.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(shares), sharey=True))
    for ax, (column, what) in zip(axes, shares.items(), strict=True):
        ax.barh(_wrap(labels), table[column].to_numpy(), color=colours)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set(title=what, xlabel="")
    axes[0].invert_yaxis()  # the largest segment on top
    fig.suptitle(title)
    return fig


def profile_heatmap(
    differences: pd.DataFrame, *, names: pd.DataFrame | None = None, title: str = "Segment profiles"
) -> Figure:
    """Heatmap of standardised differences (segment mean vs base, in standard deviations).

    `names` (the segmentation's ``names`` table) labels the rows ``S1 · name``.
    """
    table = differences
    if names is not None:
        table = differences.set_axis(_segment_labels(names.reindex(differences.index)))
    fig = Figure(
        # Room below for the rotated feature names, which a two-segment table would squeeze out.
        figsize=(
            1.2 * table.shape[1] + 3,
            0.5 * table.shape[0] + 0.1 * _longest_line(table.columns) + 1.5,
        ),
        layout="constrained",
    )
    ax = fig.subplots()
    sns.heatmap(table, annot=True, fmt=".2f", center=0.0, cmap="vlag",
                cbar_kws={"label": "standard deviations from base mean"}, ax=ax)  # fmt: skip
    ax.set(title=title, xlabel="feature", ylabel="segment")
    return fig


#: Tick labels longer than this many characters are wrapped onto several lines.
WRAP = 16
#: Tables with more cells than this are drawn without numbers in the cells.
MAX_ANNOTATED_CELLS = 600


def contingency_heatmap(
    counts: pd.DataFrame, lift: pd.DataFrame, *, title: str | None = None
) -> Figure:
    """Counts of a contingency table, coloured by lift over independence.

    The colour scale is logarithmic, diverging and centred at a lift of 1 (as often as chance):
    red cells hold more customers than independence predicts, blue cells fewer, and a lift of 2
    is as red as a lift of 1/2 is blue. The scale runs from ``1/m`` to ``m`` with ``m`` the most
    extreme lift (at least 2); empty cells (lift 0) take the bluest colour. Cells show counts.

    Parameters
    ----------
    counts : DataFrame
        Customers per cell, as ``PairComparison.counts``; axis names label the axes.
    lift : DataFrame
        Observed over expected count per cell, same shape and labels as `counts`.
    title : str, optional
        Title of the figure; default "Customers by <rows name> and <columns name>".
    """
    extreme = _extreme_lift(lift.to_numpy(dtype=float))
    shown = lift.clip(lower=1 / extreme, upper=extreme)
    column_width = max(0.6, 0.08 * min(_longest_line(counts.columns), WRAP))
    fig = Figure(figsize=_figsize(counts, cell=(column_width, 0.45)), layout="constrained")
    ax = fig.subplots()
    sns.heatmap(
        shown,
        norm=LogNorm(vmin=1 / extreme, vmax=extreme),
        cmap="vlag",
        annot=counts.to_numpy() if counts.size <= MAX_ANNOTATED_CELLS else False,
        fmt="d",
        annot_kws={"fontsize": _cell_fontsize(counts)},
        linewidths=0.5,
        linecolor="white",
        cbar_kws={"label": "lift = observed / expected count\n(log scale)"},
        ax=ax,
    )
    colourbar = ax.collections[0].colorbar
    colourbar.locator = FixedLocator(_lift_ticks(extreme))
    colourbar.formatter = FuncFormatter(lambda value, _: f"{value:g}")
    colourbar.minorticks_off()
    colourbar.update_ticks()
    _label_axes(ax, counts, xlabel=counts.columns.name, ylabel=counts.index.name)
    ax.set_title(title or f"Customers by {counts.index.name} and {counts.columns.name}")
    return fig


def agreement_heatmap(
    matrix: pd.DataFrame, *, measure: str = "ari", title: str | None = None
) -> Figure:
    """A square agreement matrix (labelings by labelings) for one measure.

    The sequential colour scale runs from 0 (or the lowest value, when a chance-adjusted measure
    such as ARI is negative) to 1; undefined (NaN) cells are left blank.

    Parameters
    ----------
    matrix : DataFrame
        As returned by ``seglab.evaluate.agreement.agreement_matrix``: rows are the left labelings.
    measure : str
        Name of the measure, shown in the colour bar's label and the default title.
    title : str, optional
        Title of the figure; default "Agreement between labelings (<measure>)".
    """
    values = matrix.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    low = min(0.0, float(finite.min())) if finite.size else 0.0
    high = max(1.0, float(finite.max())) if finite.size else 1.0
    fig = Figure(figsize=_figsize(matrix, cell=(0.7, 0.55)), layout="constrained")
    ax = fig.subplots()
    sns.heatmap(
        matrix.astype(float),
        vmin=low,
        vmax=high,
        cmap="viridis",
        annot=matrix.size <= MAX_ANNOTATED_CELLS,
        fmt=".2f",
        annot_kws={"fontsize": _cell_fontsize(matrix)},
        linewidths=0.5,
        linecolor="white",
        cbar_kws={"label": measure},
        ax=ax,
    )
    _label_axes(ax, matrix, xlabel=matrix.columns.name, ylabel=matrix.index.name)
    ax.set_title(title or f"Agreement between labelings ({measure})")
    return fig


# ---------------------------------------------------------------------------------------------
# Layout helpers: the same wrapping, rotation and sizing for every table.
# ---------------------------------------------------------------------------------------------


def _wrap(labels: Sequence[object]) -> list[str]:
    return [textwrap.fill(str(label), WRAP, break_long_words=True) for label in labels]


def _longest_line(labels: Sequence[object]) -> int:
    return max((len(line) for text in _wrap(labels) for line in text.splitlines()), default=1)


def _figsize(table: pd.DataFrame, *, cell: tuple[float, float]) -> tuple[float, float]:
    """Width and height in inches: `cell` (width, height) per cell plus room for labels.

    Room is left for the row labels, the (possibly rotated) column labels, the colour bar and
    the title; the height is at least 3 inches (room for the colour bar's label) and neither side
    exceeds 40 inches.
    """
    rows, columns = table.shape
    row_labels = 0.08 * _longest_line(table.index)
    column_labels = 0.07 * _longest_line(table.columns)
    width = 2.2 + row_labels + cell[0] * columns
    height = max(3.0, 1.3 + column_labels + cell[1] * rows)
    return min(width, 40.0), min(height, 40.0)


def _cell_fontsize(table: pd.DataFrame) -> float:
    return 9.0 if max(table.shape) <= 12 else 7.0


def _label_axes(ax: Axes, table: pd.DataFrame, *, xlabel: object, ylabel: object) -> None:
    """Wrapped tick labels on both axes; column labels rotated when they would collide."""
    rotate = _longest_line(table.columns) > 4
    ax.set_xticks(np.arange(table.shape[1]) + 0.5)
    ax.set_xticklabels(
        _wrap(table.columns), rotation=45 if rotate else 0, ha="right" if rotate else "center"
    )
    ax.set_yticks(np.arange(table.shape[0]) + 0.5)
    ax.set_yticklabels(_wrap(table.index), rotation=0)
    ax.set_xlabel("" if xlabel is None else str(xlabel))
    ax.set_ylabel("" if ylabel is None else str(ylabel))


def _extreme_lift(lift: np.ndarray) -> float:
    """The largest of ``lift`` and ``1 / lift`` over positive finite cells, at least 2."""
    positive = lift[np.isfinite(lift) & (lift > 0)]
    if not positive.size:
        return 2.0
    return max(2.0, float(positive.max()), float(1 / positive.min()))


def _lift_ticks(extreme: float) -> list[float]:
    """Powers of two between ``1/extreme`` and ``extreme``, at most about seven of them."""
    top = math.floor(math.log2(extreme))
    step = max(1, math.ceil(top / 3))
    powers = sorted({sign * p for p in range(0, top + 1, step) for sign in (-1, 1)})
    return [2.0**p for p in powers]


def scheme_summary(summary: pd.DataFrame | None, *, title: str) -> Figure:
    """Share of customers beside share of revenue for each segment of a scheme's summary.

    None (the scheme did not run) gives a figure that says so.
    """
    if summary is None:
        return _empty_figure(title, "this scheme did not run")
    return segment_sizes(summary.set_index("segment"), title=title)


def comparison_heatmap(comparison, *, title: str) -> Figure:
    """:func:`contingency_heatmap` of a pairwise comparison; None gives a figure saying so."""
    if comparison is None:
        return _empty_figure(title, "this comparison was not made")
    return contingency_heatmap(comparison.counts, comparison.lift, title=title)


def _empty_figure(title: str, message: str) -> Figure:
    fig = Figure(figsize=(6, 2.5), layout="constrained")
    ax = fig.subplots()
    ax.text(0.5, 0.5, message, ha="center", va="center")
    ax.set(title=title, xticks=[], yticks=[])
    return fig


def pareto_curve(
    revenue: pd.Series, classes: pd.Series, *, title: str = "ABC: Pareto curve"
) -> Figure:
    """Cumulative share of revenue against cumulative share of customers, coloured by class."""
    order = revenue.sort_values(ascending=False, kind="stable").index
    curve = pd.DataFrame(
        {
            "customers": np.arange(1, len(order) + 1) / len(order),
            "revenue": revenue.loc[order].clip(lower=0).cumsum() / revenue.clip(lower=0).sum(),
            "class": classes.loc[order].astype(str).to_numpy(),
        }
    )
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    sns.scatterplot(curve, x="customers", y="revenue", hue="class", s=6, linewidth=0, ax=ax)
    for share in (0.8, 0.95):
        ax.axhline(share, color="grey", linewidth=0.8, linestyle=":")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set(title=title, xlabel="share of customers (largest first)", ylabel="share of revenue")
    return fig


def rfm_heatmap(
    r_score: pd.Series, f_score: pd.Series, monetary: pd.Series, *, title: str = "RFM scores"
) -> Figure:
    """Recency x frequency score grid: colour is mean monetary value, numbers are customers."""
    frame = pd.DataFrame({"R": r_score.astype(int), "F": f_score.astype(int), "M": monetary})
    mean = frame.pivot_table(index="R", columns="F", values="M", aggfunc="mean")
    count = frame.pivot_table(index="R", columns="F", values="M", aggfunc="size").fillna(0)
    fig = Figure(figsize=(6.5, 4.5), layout="constrained")
    ax = fig.subplots()
    sns.heatmap(
        mean.sort_index(ascending=False), annot=count.sort_index(ascending=False).astype(int),
        fmt="d", cmap="YlGnBu", cbar_kws={"label": "mean monetary value"}, ax=ax,
    )  # fmt: skip
    ax.set(title=title, xlabel="frequency score", ylabel="recency score (5 = most recent)")
    return fig


def bcg_scatter(
    size: pd.Series,
    growth: pd.Series,
    labels: pd.Series,
    *,
    size_split: float = 0.5,
    growth_split: float = 0.5,
    title: str = "BCG growth-share matrix",
) -> Figure:
    """Customers by size and growth (e.g. their percentile ranks), coloured by quadrant, with
    the split lines drawn."""
    frame = pd.DataFrame({"revenue": size, "growth": growth, "segment": labels})
    fig = Figure(figsize=(6.5, 4.5), layout="constrained")
    ax = fig.subplots()
    sns.scatterplot(
        frame, x="revenue", y="growth", hue="segment", s=8, linewidth=0, alpha=0.6, ax=ax
    )
    ax.axvline(size_split, color="grey", linewidth=0.8)
    ax.axhline(growth_split, color="grey", linewidth=0.8)
    ax.set(title=title, xlabel=size.name or "size", ylabel=growth.name or "growth")
    return fig


def value_potential_bubbles(
    value: pd.Series,
    potential: pd.Series,
    volume: pd.Series,
    labels: pd.Series,
    *,
    title: str = "Value and potential",
) -> Figure:
    """Bubble chart: x current value, y future potential, bubble size volume, colour quadrant."""
    frame = pd.DataFrame(
        {"value": value, "potential": potential, "volume": volume.clip(lower=0), "segment": labels}
    )
    fig = Figure(figsize=(6.5, 5), layout="constrained")
    ax = fig.subplots()
    sns.scatterplot(
        frame, x="value", y="potential", size="volume", hue="segment", sizes=(4, 300),
        alpha=0.5, linewidth=0, ax=ax,
    )  # fmt: skip
    ax.axvline(0.5, color="grey", linewidth=0.8)
    ax.axhline(0.5, color="grey", linewidth=0.8)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small")
    ax.set(title=title, xlabel="current value (rank)", ylabel="future potential (rank)")
    return fig


def elbow(solutions: pd.DataFrame, *, knee: int | None = None, title: str = "Elbow") -> Figure:
    """Inertia by k, one line per algorithm, the knee marked when given."""
    fig = Figure(figsize=(6, 3.8), layout="constrained")
    ax = fig.subplots()
    sns.lineplot(solutions, x="k", y="inertia", hue="algorithm", marker="o", ax=ax)
    if knee is not None:
        ax.axvline(knee, color="grey", linestyle="--", linewidth=1)
        ax.annotate(f"knee: k = {knee}", (knee, ax.get_ylim()[1]), ha="left", va="top")
    ax.set(title=title, xlabel="k", ylabel="inertia (within-cluster sum of squares)")
    return fig


#: The evidence a choice is made on: (column, panel title); see seglab.evaluate.selection.
CHOICE_EVIDENCE = (
    ("reference_silhouette", "silhouette, reference space"),
    ("support", "share of criteria agreeing on k"),
    ("balance", "balance of segment sizes"),
    ("smallest_share", "smallest segment (share)"),
    ("bootstrap_min_cluster_jaccard", "stability: weakest segment"),
)


def choice_evidence(candidates: pd.DataFrame, *, title: str = "Why this segmentation") -> Figure:
    """The leading candidates side by side on every criterion of the choice; the chosen one
    (first row) in a darker colour, ineligible ones hatched."""
    panels = [(c, label) for c, label in CHOICE_EVIDENCE if c in candidates]
    names = [
        f"{row.solution.rsplit('/seed=', 1)[0]}" for row in candidates.itertuples()
    ]  # the seed adds nothing when the grid has one
    fig = Figure(
        figsize=(3.2 * len(panels) + 2.5, 0.5 * len(candidates) + 1.6), layout="constrained"
    )
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=True))
    colours = ["#1f4e79"] + ["#9dc3e6"] * (len(candidates) - 1)
    eligible = candidates.get("eligible", pd.Series(True, index=candidates.index)).to_numpy()
    for ax, (column, label) in zip(axes, panels, strict=True):
        values = candidates[column].astype(float).fillna(0).to_numpy()
        bars = ax.barh(np.arange(len(values)), values, color=colours)
        for bar, ok in zip(bars, eligible, strict=True):
            if not ok:
                bar.set_hatch("//")
        ax.set(title=label, xlim=(0, max(1.0, float(np.nanmax(values)) * 1.1)))
        ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], padding=2, fontsize=8)
    axes[0].set_yticks(np.arange(len(names)), labels=names)
    axes[0].invert_yaxis()
    fig.suptitle(title)
    return fig


def metrics_by_k(solutions: pd.DataFrame, *, title: str = "Choice of k") -> Figure:
    """Silhouette, Calinski-Harabasz, Davies-Bouldin (and gap when present) by k."""
    panels = [
        ("silhouette", "silhouette (higher is better)"),
        ("calinski_harabasz", "Calinski-Harabasz (higher is better)"),
        ("davies_bouldin", "Davies-Bouldin (lower is better)"),
    ]
    if "gap" in solutions:
        panels.append(("gap", "gap statistic"))
    fig = Figure(figsize=(4 * len(panels), 3.6), layout="constrained")
    axes = fig.subplots(1, len(panels))
    for ax, (column, label) in zip(np.atleast_1d(axes), panels, strict=True):
        hue = "algorithm" if "algorithm" in solutions and column != "gap" else None
        sns.lineplot(solutions, x="k", y=column, hue=hue, marker="o", ax=ax, legend=ax is axes[0])
        ax.set(title=label, xlabel="k", ylabel="")
    fig.suptitle(title)
    return fig


def silhouette_plot(values: pd.DataFrame, *, title: str = "Silhouette by cluster") -> Figure:
    """Silhouette of each (sampled) customer, sorted within its cluster, with the mean line.

    `values` has columns ``cluster`` and ``silhouette``.
    """
    ordered = values.sort_values(["cluster", "silhouette"], ascending=[True, False])
    fig = Figure(figsize=(6, 4.5), layout="constrained")
    ax = fig.subplots()
    palette = sns.color_palette("tab10", n_colors=ordered["cluster"].nunique())
    start = 0
    for colour, (cluster, group) in zip(
        palette, ordered.groupby("cluster", sort=True), strict=True
    ):
        positions = np.arange(start, start + len(group))
        ax.fill_betweenx(positions, 0, group["silhouette"].to_numpy(), color=colour, linewidth=0)
        ax.text(-0.05, start + len(group) / 2, str(cluster), ha="right", va="center")
        start += len(group) + max(len(ordered) // 100, 2)
    ax.axvline(values["silhouette"].mean(), color="red", linestyle="--", linewidth=1)
    ax.set(title=title, xlabel="silhouette", ylabel="customers by cluster", yticks=[])
    return fig


def dendrogram(linkage: np.ndarray, *, leaves: int = 30, title: str = "Dendrogram") -> Figure:
    """The top of a hierarchical tree: its last `leaves` merges (SciPy's "lastp" truncation)."""
    from scipy.cluster import hierarchy

    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.subplots()
    hierarchy.dendrogram(
        linkage, truncate_mode="lastp", p=leaves, ax=ax, color_threshold=None,
        above_threshold_color="steelblue", leaf_rotation=90,
    )  # fmt: skip
    ax.set(title=title, xlabel="customers (cluster sizes in brackets)", ylabel="merge height")
    return fig


def snake_plot(differences: pd.DataFrame, *, title: str = "Snake plot") -> Figure:
    """Standardised feature means per segment as lines across the features."""
    long = (
        differences.rename_axis("segment")
        .reset_index()
        .melt(id_vars="segment", var_name="feature", value_name="difference")
    )
    long["segment"] = long["segment"].astype(str)
    fig = Figure(figsize=(max(6, 1.1 * differences.shape[1]), 4), layout="constrained")
    ax = fig.subplots()
    sns.lineplot(long, x="feature", y="difference", hue="segment", marker="o", sort=False, ax=ax)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.tick_params(axis="x", labelrotation=45)
    ax.set(title=title, xlabel="", ylabel="standard deviations from base mean")
    return fig


def embedding_scatter(
    embedding: pd.DataFrame | None,
    *,
    axes: pd.DataFrame | None = None,
    title: str = "Customer map",
) -> Figure:
    """A 2-D map of customers (``x``, ``y``) coloured by segment (one colour per segment id).

    `axes` (``axis``, ``label``) names what each axis is; None (the map was not computed)
    gives a figure that says so.
    """
    if embedding is None:
        return _empty_figure(title, "this map was not computed (see clustering.maps)")
    frame = embedding.assign(segment=embedding["segment"].astype(str))
    palette = None
    if "segment_id" in frame:
        frame["segment"] = frame["segment_id"].astype(str) + " · " + frame["segment"]
        by_id = segment_colours(frame["segment_id"].unique())
        palette = {
            label: by_id[i] for i, label in zip(frame["segment_id"], frame["segment"], strict=True)
        }
        frame = frame.sort_values("segment_id", key=lambda ids: ids.map(segment_number))
    fig = Figure(figsize=(7.5, 5), layout="constrained")
    ax = fig.subplots()
    sns.scatterplot(frame, x="x", y="y", hue="segment", palette=palette, s=5, linewidth=0,
                    alpha=0.6, ax=ax)  # fmt: skip
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small", markerscale=3)
    labels = {} if axes is None else axes.set_index("axis")["label"].to_dict()
    ax.set(title=title, xlabel=labels.get("x", ""), ylabel=labels.get("y", ""), xticks=[],
           yticks=[])  # fmt: skip
    return fig


def membership_histogram(
    memberships: pd.DataFrame | None, *, threshold: float = 0.6, title: str = "Fuzzy memberships"
) -> Figure:
    """Histogram of each customer's highest membership; left of the line: boundary customers.

    A hard solution (no memberships) gives a figure that says so.
    """
    fig = Figure(figsize=(6, 3.6), layout="constrained")
    ax = fig.subplots()
    if memberships is None:
        ax.text(0.5, 0.5, "hard solution: every membership is 0 or 1", ha="center", va="center")
        ax.set(title=title, xticks=[], yticks=[])
        return fig
    top = memberships.to_numpy().max(axis=1)
    sns.histplot(top, bins=40, binrange=(1 / memberships.shape[1], 1), ax=ax)
    ax.axvline(threshold, color="red", linestyle="--", linewidth=1)
    ax.set(title=title, xlabel="highest membership", ylabel="customers")
    return fig


def transition_heatmap(
    counts: pd.DataFrame | None, *, title: str = "Migration since the previous period"
) -> Figure:
    """Customers moving between segments: numbers are counts, colour the share of each row.

    None (no previous period) gives a figure that says so.
    """
    fig = Figure(figsize=(max(5, 0.9 * (0 if counts is None else counts.shape[1]) + 3), 4.5),
                 layout="constrained")  # fmt: skip
    ax = fig.subplots()
    if counts is None or counts.empty:
        ax.text(0.5, 0.5, "no previous period to compare with", ha="center", va="center")
        ax.set(title=title, xticks=[], yticks=[])
        return fig
    shares = counts.div(counts.sum(axis=1).replace(0, 1), axis=0)
    sns.heatmap(shares, annot=counts, fmt="d", cmap="Blues", vmin=0, vmax=1,
                cbar_kws={"label": "share of the previous segment"}, ax=ax)  # fmt: skip
    _label_axes(ax, counts, xlabel="now", ylabel="previous period")
    ax.set_title(title)
    return fig


def sizes_over_time(sizes: pd.DataFrame, *, title: str = "Segment sizes over time") -> Figure:
    """Stacked bars of customers per segment (columns) for each period (rows)."""
    fig = Figure(figsize=(max(6, 0.6 * len(sizes) + 3), 3.8), layout="constrained")
    ax = fig.subplots()
    sizes.plot.bar(stacked=True, ax=ax, colormap="tab20", width=0.8)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small")
    ax.set(title=title, xlabel="as of", ylabel="customers")
    return fig
