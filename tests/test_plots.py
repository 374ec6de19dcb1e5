"""seglab.report.figures: every figure renders to PNG on small tables, without pyplot."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from seglab.evaluate.agreement import agreement_matrix, agreement_table, compare_labelings
from seglab.report import figures as plots
from seglab.report.figures import agreement_heatmap, contingency_heatmap

_INDEX = [f"C{i}" for i in range(12)]
_SCHEME = pd.Series(
    ["Champions", "Champions", "At risk of churning soon"] * 4, index=_INDEX, name="rfm scheme"
)
_CLUSTERS = pd.Series([0, 0, 1, 1, 2, 2] * 2, index=_INDEX, name="kmeans_k3")


@pytest.fixture
def comparison():
    return compare_labelings(_SCHEME, _CLUSTERS)


def _saved(fig: Figure, path) -> None:
    assert isinstance(fig, Figure)
    fig.savefig(path)
    assert path.stat().st_size > 0


def test_contingency_heatmap_renders(comparison, tmp_path):
    # The table has empty cells (lift 0), which the log scale clips to its low end.
    assert (comparison.lift.to_numpy() == 0).any()
    _saved(contingency_heatmap(comparison.counts, comparison.lift), tmp_path / "contingency.png")


def test_contingency_heatmap_single_cell(tmp_path):
    one = compare_labelings(pd.Series(["a", "a"]), pd.Series([0, 0]))
    _saved(contingency_heatmap(one.counts, one.lift, title="one cell"), tmp_path / "one.png")


def test_contingency_heatmap_grows_with_the_table(comparison):
    small = contingency_heatmap(comparison.counts, comparison.lift)
    many = pd.Series(np.arange(12) % 6, index=_INDEX)
    wide = compare_labelings(_SCHEME, many)
    large = contingency_heatmap(wide.counts, wide.lift)
    assert large.get_figwidth() > small.get_figwidth()


def test_agreement_heatmap_renders(tmp_path):
    labelings = {
        "rfm scheme": _SCHEME,
        "kmeans_k3": _CLUSTERS,
        "a labeling with a rather long name indeed": _CLUSTERS % 2,
        "constant": pd.Series(1, index=_INDEX),
    }
    table = agreement_table(labelings, measures=["ari", "cramers_v"])
    _saved(agreement_heatmap(agreement_matrix(table)), tmp_path / "ari.png")
    # Cramér's V is NaN for the constant labeling: blank cells, still a figure.
    cramer = agreement_matrix(table, "cramers_v")
    _saved(agreement_heatmap(cramer, measure="cramers_v"), tmp_path / "cramer.png")


def test_figures_do_not_touch_pyplot(comparison):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    contingency_heatmap(comparison.counts, comparison.lift)
    assert plt.get_fignums() == before


# Scheme and profile figures: each renders to a PNG on small data.
_RNG = np.random.default_rng(0)
_IDS = pd.Index([f"C{i}" for i in range(60)], name="customer_id")
_REVENUE = pd.Series(_RNG.lognormal(3, 1, 60), index=_IDS)
_LABELS = pd.Series(_RNG.choice(["A", "B", "C"], 60), index=_IDS)


def _profile() -> pd.DataFrame:
    return pd.DataFrame(
        {"customers": [30, 20, 10], "share": [0.5, 1 / 3, 1 / 6], "revenue": [10.0, 30.0, 60.0],
         "revenue_share": [0.1, 0.3, 0.6]},
        index=pd.Index([0, 1, 2], name="segment"),
    )  # fmt: skip


@pytest.mark.parametrize(
    "draw",
    [
        lambda: plots.segment_sizes(_profile()),
        lambda: plots.profile_heatmap(
            pd.DataFrame({"recency_days": [-1.0, 0.2], "frequency": [0.5, -0.3]})
        ),
        lambda: plots.scheme_summary(
            _profile().reset_index().assign(segment=["A", "B", "C"]), title="abc"
        ),
        lambda: plots.pareto_curve(_REVENUE, _LABELS),
        lambda: plots.rfm_heatmap(
            pd.Series(_RNG.integers(1, 6, 60), index=_IDS),
            pd.Series(_RNG.integers(1, 6, 60), index=_IDS),
            _REVENUE,
        ),
        lambda: plots.bcg_scatter(
            _REVENUE,
            pd.Series(_RNG.uniform(-2, 2, 60), index=_IDS),
            _LABELS,
            size_split=20.0,
            growth_split=0.0,
        ),
        lambda: plots.value_potential_bubbles(
            pd.Series(_RNG.uniform(size=60), index=_IDS),
            pd.Series(_RNG.uniform(size=60), index=_IDS),
            _REVENUE,
            _LABELS,
        ),
    ],
    ids=[
        "segment_sizes",
        "profile_heatmap",
        "scheme_summary",
        "pareto_curve",
        "rfm_heatmap",
        "bcg_scatter",
        "value_potential_bubbles",
    ],
)
def test_figure_renders(draw, tmp_path):
    figure = draw()
    assert isinstance(figure, Figure)
    figure.savefig(tmp_path / "figure.png")
    assert (tmp_path / "figure.png").stat().st_size > 1000


def _grid() -> pd.DataFrame:
    rows = [
        {"algorithm": a, "k": k, "inertia": 100 / k, "silhouette": 0.5 - 0.01 * k,
         "calinski_harabasz": 50.0 + k, "davies_bouldin": 1.0 / k, "gap": 0.1 * k}
        for a in ("kmeans", "ward") for k in range(2, 7)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def _linkage() -> np.ndarray:
    from scipy.cluster.hierarchy import linkage

    return linkage(_RNG.normal(size=(40, 2)), "ward")


@pytest.mark.parametrize(
    "draw",
    [
        lambda: plots.elbow(_grid(), knee=3),
        lambda: plots.metrics_by_k(_grid()),
        lambda: plots.silhouette_plot(
            pd.DataFrame(
                {"cluster": _RNG.integers(0, 3, 90), "silhouette": _RNG.uniform(-0.2, 0.8, 90)}
            )
        ),
        lambda: plots.dendrogram(_linkage(), leaves=10),
        lambda: plots.snake_plot(
            pd.DataFrame({"recency_days": [-1.0, 0.5], "frequency": [0.8, -0.2]})
        ),
        lambda: plots.embedding_scatter(
            pd.DataFrame(
                {
                    "x": _RNG.normal(size=60),
                    "y": _RNG.normal(size=60),
                    "segment": _LABELS.to_numpy(),
                }
            )
        ),
        lambda: plots.membership_histogram(pd.DataFrame(_RNG.dirichlet([1, 1, 1], 80))),
        lambda: plots.membership_histogram(None),
    ],
    ids=[
        "elbow",
        "metrics_by_k",
        "silhouette_plot",
        "dendrogram",
        "snake_plot",
        "embedding_scatter",
        "membership_histogram",
        "hard_solution",
    ],
)
def test_analysis_figure_renders(draw, tmp_path):
    figure = draw()
    figure.savefig(tmp_path / "figure.png")
    assert (tmp_path / "figure.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "draw",
    [
        lambda: plots.sizes_over_time(
            pd.DataFrame({"VIP": [10, 12], "Inactive": [5, 7]}, index=["2026-08-31", "2026-09-30"])
        ),
        lambda: plots.transition_heatmap(
            pd.DataFrame(
                [[5, 1, 0], [2, 7, 1], [3, 0, 0]],
                index=["VIP", "Segment 1", "(new)"],
                columns=["VIP", "Segment 1", "(gone)"],
            )
        ),
        lambda: plots.transition_heatmap(None),
        lambda: plots.comparison_heatmap(compare_labelings(_SCHEME, _CLUSTERS), title="x"),
        lambda: plots.comparison_heatmap(None, title="not made"),
        lambda: plots.scheme_summary(None, title="did not run"),
        lambda: plots.embedding_scatter(None),
    ],
    ids=[
        "sizes_over_time",
        "transition_heatmap",
        "no_previous_period",
        "comparison_heatmap",
        "no_comparison",
        "no_scheme",
        "no_map",
    ],
)
def test_report_figure_renders(draw, tmp_path):
    figure = draw()
    figure.savefig(tmp_path / "figure.png")
    assert (tmp_path / "figure.png").stat().st_size > 1000


def test_a_two_segment_heatmap_keeps_room_for_long_feature_names():
    # Online Retail's 2 segments and feature names like interpurchase_median_days once left the
    # axes no height at all ("constrained_layout not applied").
    names = ["interpurchase_median_days", "revenue_previous_period", "orders_last_quarter"]
    differences = pd.DataFrame([[0.5, -0.2, 0.1], [-0.4, 0.3, 0.0]], index=[0, 1], columns=names)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plots.profile_heatmap(differences).savefig(io.BytesIO(), format="png")
    assert not [w for w in caught if "collapsed" in str(w.message)]
