"""Figures only: every function takes plain tables and returns a matplotlib Figure.

Figures are built without pyplot, so nothing is shown twice in a notebook and nothing leaks
between calls; a notebook displays the returned Figure, a script calls ``fig.savefig``.
"""

from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

__all__ = ["profile_heatmap", "segment_sizes"]


def segment_sizes(profile: pd.DataFrame, *, title: str = "Segments") -> Figure:
    """Bars of each segment's share of customers beside its share of revenue."""
    shares = (
        profile[["share", "revenue_share"]]
        .rename(columns={"share": "customers", "revenue_share": "revenue"})
        .rename_axis("segment")
        .reset_index()
        .melt(id_vars="segment", var_name="measure", value_name="share")
    )
    shares["segment"] = shares["segment"].astype(str)
    fig = Figure(figsize=(7, 3.5), layout="constrained")
    ax = fig.subplots()
    sns.barplot(shares, x="segment", y="share", hue="measure", palette="Set2", ax=ax)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set(title=title, xlabel="segment", ylabel="share")
    return fig


def profile_heatmap(differences: pd.DataFrame, *, title: str = "Segment profiles") -> Figure:
    """Heatmap of standardised differences (segment mean vs base, in standard deviations)."""
    fig = Figure(
        figsize=(1.2 * differences.shape[1] + 2, 0.5 * differences.shape[0] + 1.5),
        layout="constrained",
    )
    ax = fig.subplots()
    sns.heatmap(
        differences,
        annot=True,
        fmt=".2f",
        center=0.0,
        cmap="vlag",
        cbar_kws={"label": "standard deviations from base mean"},
        ax=ax,
    )
    ax.set(title=title, xlabel="feature", ylabel="segment")
    return fig
