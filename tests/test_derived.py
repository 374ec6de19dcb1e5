"""Derived columns: ranks, shares, scores and bins, with their tie and degenerate-case policies.

Expected values are computed by hand from the definitions in the docstrings of seglab.derived.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seglab.errors import ConfigError
from seglab.heuristics.derived import (
    DERIVATIONS,
    cell_code,
    cost_to_serve_rank,
    cumulative_share,
    cycles_missed,
    first_present,
    fixed_bins,
    nested_pareto,
    percentile_rank,
    quantile_score,
    rank_axis,
    rank_column,
)
from seglab.heuristics.rules import UnknownColumnError
from seglab.heuristics.thresholds import amount_threshold, new_in_period, quantile_bins


def frame(index: str = "", **columns) -> pd.DataFrame:
    """A table whose customer ids are the letters of `index` (c1, c2, ... by default)."""
    n = len(next(iter(columns.values())))
    ids = list(index) if index else [f"c{i}" for i in range(1, n + 1)]
    return pd.DataFrame(columns, index=pd.Index(ids, name="customer_id"), dtype="float64")


def test_every_derivation_is_registered():
    assert DERIVATIONS.names() == [
        "percentile_rank",
        "quantile_score",
        "cumulative_share",
        "nested_pareto",
        "fixed_bins",
        "cell_code",
        "first_present",
        "rank_axis",
        "cost_to_serve_rank",
        "potential_rank",
        "cycles_missed",
        "amount_threshold",
        "quantile_bins",
        "new_in_period",
    ]


class TestRank:
    def test_mid_rank_of_distinct_values_is_symmetric(self):
        ranks = rank_column(pd.Series([3.0, 1.0, 2.0, 6.0, 5.0, 4.0]))
        assert ranks.round(4).tolist() == [0.4167, 0.0833, 0.25, 0.9167, 0.75, 0.5833]

    def test_ties_share_a_rank(self):
        values = pd.Series([1.0, 1.0, 1.0, 2.0])
        assert rank_column(values).tolist() == [0.375, 0.375, 0.375, 0.875]
        assert rank_column(values, ties="min").tolist() == [0.0, 0.0, 0.0, 0.75]

    def test_constant_column_and_one_value(self):
        assert rank_column(pd.Series([7.0, 7.0, 7.0])).tolist() == [0.5, 0.5, 0.5]
        assert rank_column(pd.Series([7.0, 7.0]), ties="min").tolist() == [0.0, 0.0]
        assert rank_column(pd.Series([7.0])).tolist() == [0.5]

    def test_missing_values_are_not_counted(self):
        ranks = rank_column(pd.Series([np.nan, 1.0, 2.0]))
        assert np.isnan(ranks.iloc[0])
        assert ranks.iloc[1:].tolist() == [0.25, 0.75]
        assert rank_column(pd.Series([np.nan, np.nan])).isna().all()

    def test_descending_ranks_large_values_first(self):
        assert rank_column(pd.Series([10.0, 30.0, 20.0]), ascending=False).round(4).tolist() == [
            0.8333,
            0.1667,
            0.5,
        ]

    def test_unknown_tie_policy(self):
        with pytest.raises(ConfigError, match="ties must be"):
            rank_column(pd.Series([1.0]), ties="average")

    def test_percentile_rank_derivation_names_its_output(self):
        table = frame(revenue_cv=[0.3, 0.1, 0.2])
        out = percentile_rank(table, column="revenue_cv")
        assert out.columns.tolist() == ["revenue_cv_pct"]
        assert out["revenue_cv_pct"].round(4).tolist() == [0.8333, 0.1667, 0.5]


class TestQuantileScore:
    """score = 1 + floor(bins * share of customers strictly before)."""

    def test_distinct_values_fill_every_score_equally(self):
        table = frame(m=[float(v) for v in range(10, 0, -1)])
        scores = quantile_score(table, column="m", output="m_score")["m_score"]
        assert scores.tolist() == [5.0, 5, 4, 4, 3, 3, 2, 2, 1, 1]

    def test_ties_get_the_score_of_their_first_position(self):
        # four one-order customers are 4/6 of the table: all score 1, never split.
        table = frame(f=[1.0, 1, 1, 1, 2, 3])
        scores = quantile_score(table, column="f", output="f_score")["f_score"]
        assert scores.tolist() == [1.0, 1, 1, 1, 4, 5]

    def test_fewer_distinct_values_than_bins_use_fewer_scores(self):
        table = frame(f=[1.0, 2, 1, 2])
        scores = quantile_score(table, column="f", output="f_score")["f_score"]
        assert scores.tolist() == [1.0, 3, 1, 3]

    def test_all_equal_and_one_customer_score_one(self):
        assert quantile_score(frame(f=[4.0, 4, 4]), column="f", output="s")["s"].tolist() == [
            1.0,
            1,
            1,
        ]
        assert quantile_score(frame(f=[4.0]), column="f", output="s")["s"].tolist() == [1.0]

    def test_recency_is_scored_so_that_recent_is_five(self):
        table = frame(recency_days=[0.0, 10, 20, 30, 40, 50, 60, 70, 80, 90])
        scores = quantile_score(table, column="recency_days", output="r_score", ascending=False)[
            "r_score"
        ]
        assert scores.tolist() == [5.0, 5, 4, 4, 3, 3, 2, 2, 1, 1]

    def test_missing_values_get_no_score(self):
        scores = quantile_score(frame(f=[1.0, np.nan, 2.0]), column="f", output="s")["s"]
        assert scores.iloc[0] == 1 and np.isnan(scores.iloc[1]) and scores.iloc[2] == 3

    def test_other_bin_counts(self):
        table = frame(f=[1.0, 2, 3, 4, 5, 6])
        assert quantile_score(table, column="f", output="s", bins=3)["s"].tolist() == [
            1.0,
            1,
            2,
            2,
            3,
            3,
        ]
        with pytest.raises(ConfigError, match="bins must be"):
            quantile_score(table, column="f", output="s", bins=0)


class TestCumulativeShare:
    def test_exactly_80_percent_before_a_customer(self):
        table = frame("abcd", monetary_total=[15.0, 50, 30, 5])
        out = cumulative_share(table)
        # sorted: b 50, c 30, a 15, d 5 -> before: 0, .5, .8, .95
        assert out["cum_share_before"].tolist() == [0.8, 0.0, 0.5, 0.95]
        assert out["cum_share"].tolist() == [0.95, 0.5, 0.8, 1.0]

    def test_ties_in_revenue_are_broken_by_customer_id(self):
        shuffled = frame("dbca", monetary_total=[10.0, 10, 10, 70])
        before = cumulative_share(shuffled)["cum_share_before"]
        assert before.to_dict() == {"a": 0.0, "b": 0.7, "c": 0.8, "d": 0.9}

    def test_non_positive_revenue_is_last_with_share_one(self):
        table = frame("abc", monetary_total=[0.0, -20.0, 40.0])
        out = cumulative_share(table)
        assert out["cum_share_before"].tolist() == [1.0, 1.0, 0.0]
        assert out["cum_share"].tolist() == [1.0, 1.0, 1.0]

    def test_no_positive_revenue_and_missing_revenue(self):
        out = cumulative_share(frame("ab", monetary_total=[0.0, np.nan]))
        assert out["cum_share_before"].iloc[0] == 1.0
        assert out.iloc[1].isna().all()

    def test_shares_with_cents_compare_exactly(self):
        # 0.1 + 0.7 != 0.8 in binary; the rounded share is 0.8 exactly.
        table = frame("abcd", monetary_total=[0.7, 0.1, 0.1, 0.1])
        assert 0.7 + 0.1 != 0.8
        assert cumulative_share(table)["cum_share"].tolist() == [0.7, 0.8, 0.9, 1.0]


class TestNestedPareto:
    def test_levels_at_exact_boundaries(self):
        # before: 0, .8 (= first boundary), .96 (= second boundary), .99
        table = frame("abcd", monetary_total=[80.0, 16, 3, 1])
        assert nested_pareto(table)["pareto_level"].tolist() == [1.0, 2, 3, 3]

    def test_just_inside_the_second_level(self):
        table = frame("abc", monetary_total=[80.0, 15, 5])
        assert nested_pareto(table)["pareto_level"].tolist() == [1.0, 2, 2]

    def test_share_and_levels_are_parameters(self):
        table = frame("abcd", monetary_total=[50.0, 25, 13, 12])
        out = nested_pareto(table, share=0.5, levels=3)["pareto_level"]
        # boundaries .5, .75, .875; before: 0, .5, .75, .88
        assert out.tolist() == [1.0, 2, 3, 4]
        with pytest.raises(ConfigError, match="share must be"):
            nested_pareto(table, share=1.0)


class TestFixedBins:
    def test_recency_edges_belong_to_the_bin_below(self):
        table = frame(recency_days=[0.0, 30, 31, 60, 61, 90, 91, np.nan])
        out = fixed_bins(
            table,
            column="recency_days",
            edges=[30, 60, 90],
            output="r",
            closed="right",
            ascending=False,
        )["r"]
        assert out.tolist()[:7] == [4.0, 4, 3, 3, 2, 2, 1]
        assert np.isnan(out.iloc[7])

    def test_monetary_edges_belong_to_the_bin_above(self):
        table = frame(monetary_total=[-5.0, 199.99, 200, 599.99, 600, 999.99, 1000])
        out = fixed_bins(table, column="monetary_total", edges=[200, 600, 1000], output="m")["m"]
        assert out.tolist() == [1.0, 1, 2, 2, 3, 3, 4]

    def test_edges_must_increase(self):
        with pytest.raises(ConfigError, match="strictly increasing"):
            fixed_bins(frame(x=[1.0]), column="x", edges=[5, 5], output="b")
        with pytest.raises(ConfigError, match="closed"):
            fixed_bins(frame(x=[1.0]), column="x", edges=[5], output="b", closed="both")


def test_cell_code_joins_scores_and_keeps_missing():
    table = frame(r=[4.0, 1.0, 2.0], f=[3.0, 1.0, np.nan])
    out = cell_code(table, columns=["r", "f"], prefixes=["R", "F"], output="cell")["cell"]
    assert out.iloc[:2].tolist() == ["R4F3", "R1F1"]
    assert pd.isna(out.iloc[2])


def test_first_present_prefers_the_first_candidate():
    table = pd.DataFrame({"country": ["UK", "FR"], "region": ["North", None]})
    out = first_present(table, candidates=["region", "country"], output="geo")["geo"]
    assert out.iloc[0] == "North" and pd.isna(out.iloc[1])
    with pytest.raises(UnknownColumnError, match="region or country"):
        first_present(pd.DataFrame({"x": [1]}), candidates=["region", "country"], output="geo")


def test_rank_axis_averages_mid_ranks():
    table = frame(
        monetary_total=[400.0, 300, 200, 100],
        revenue_growth=[1.0, -1, 2, -1],
        recency_days=[10.0, 10, 300, 300],
    )
    value = rank_axis(table, columns=["monetary_total"], output="v")["v"]
    assert value.tolist() == [0.875, 0.625, 0.375, 0.125]
    potential = rank_axis(
        table, columns=["revenue_growth", "recency_days"], descending=["recency_days"], output="p"
    )["p"]
    # growth ranks .625, .25, .875, .25; recency (recent first) .75, .75, .25, .25
    assert potential.tolist() == [0.6875, 0.5, 0.5625, 0.25]


def test_cost_to_serve_prefers_the_attribute_and_notes_the_proxy():
    table = frame(returns_rate=[0.0, 0.5, 0.1], cost_to_serve=[30.0, 10.0, 20.0])
    assert cost_to_serve_rank(table)["cost_to_serve_pct"].round(4).tolist() == [
        0.8333,
        0.1667,
        0.5,
    ]
    derivation = DERIVATIONS.get("cost_to_serve_rank")
    assert derivation.note(table) is None
    proxy = table.drop(columns="cost_to_serve")
    assert cost_to_serve_rank(proxy)["cost_to_serve_pct"].round(4).tolist() == [
        0.1667,
        0.8333,
        0.5,
    ]
    assert "returns_rate" in derivation.note(proxy)


def test_cycles_missed_is_recency_over_the_usual_interval():
    table = frame(recency_days=[30.0, 61, 5, 10], interpurchase_median_days=[30.0, 30, 0, np.nan])
    out = cycles_missed(table)["cycles_missed"]
    assert out.iloc[:2].round(4).tolist() == [1.0, 2.0333]
    assert out.iloc[2:].isna().all()


def test_a_missing_input_column_is_an_unknown_column_error():
    with pytest.raises(UnknownColumnError) as caught:
        percentile_rank(frame(revenue=[1.0]), column="revenue_cv")
    assert caught.value.column == "revenue_cv"
    assert "Known columns: revenue." in str(caught.value)


def test_text_columns_cannot_be_ranked():
    with pytest.raises(ConfigError, match="must hold numbers"):
        percentile_rank(pd.DataFrame({"region": ["a", "b"]}), column="region")


class TestCurrencyThresholds:
    def test_the_quantile_of_the_customers_counted(self):
        table = frame(spend=[0.0, 10, 20, 30, 40, np.nan], visits=[0.0, 1, 1, 2, 3, 1])
        median = amount_threshold(table, column="spend", quantile=0.5, output="t")["t"]
        assert median.tolist() == [20.0] * 6  # the median of 0, 10, 20, 30, 40 on every row
        among = amount_threshold(table, column="spend", quantile=0.5, among="visits", output="t")
        assert among["t"].tolist() == [25.0] * 6  # 10, 20, 30, 40: who has a visit
        top = amount_threshold(table, column="spend", quantile=0.9, among="visits", output="t")
        assert top["t"].iloc[0] == pytest.approx(37.0)  # 30 + .7 * 10

    def test_a_fixed_amount_wins_and_no_value_gives_missing(self):
        table = frame(spend=[1.0, 2.0])
        fixed = amount_threshold(table, column="spend", quantile=0.5, amount=3000, output="t")
        assert fixed["t"].tolist() == [3000.0, 3000.0]
        empty = amount_threshold(frame(spend=[np.nan]), column="spend", quantile=0.5, output="t")
        assert np.isnan(empty["t"].iloc[0])
        with pytest.raises(ConfigError, match="quantiles must be"):
            amount_threshold(table, column="spend", quantile=1.5, output="t")


class TestQuantileBins:
    def test_quartiles_edges_belong_to_the_bin_above(self):
        table = frame(m=[10.0, 20, 30, 40, 45, 50, 60, 70, 80, np.nan])
        out = quantile_bins(table, column="m", output="b")["b"]  # edges 30 / 45 / 60
        assert out.tolist()[:9] == [1.0, 1, 2, 2, 3, 3, 4, 4, 4]
        assert np.isnan(out.iloc[9])
        right = quantile_bins(table, column="m", output="b", closed="right", ascending=False)
        assert right["b"].tolist()[:9] == [4.0, 4, 4, 3, 3, 2, 2, 1, 1]

    def test_tied_edges_leave_a_bin_empty(self):
        table = frame(m=[5.0, 5, 5, 5, 5, 5, 9, 10])  # quartiles 5 / 5 / 6
        assert quantile_bins(table, column="m", output="b")["b"].tolist() == [3.0] * 6 + [4, 4]

    def test_fixed_edges_win(self):
        table = frame(m=[100.0, 250, 700, 5000])
        out = quantile_bins(table, column="m", output="b", edges=[200, 600, 1000])["b"]
        assert out.tolist() == [1.0, 2, 3, 4]
        with pytest.raises(ConfigError, match="strictly increasing"):
            quantile_bins(table, column="m", output="b", edges=[5, 5])


def test_new_in_period_uses_a_mean_month():
    table = frame(tenure_days=[0.0, 182, 183, np.nan, 91, 92])
    out = new_in_period(table, months=6, output="new")["new"]
    assert out.tolist() == [True, True, False, False, True, True]
    assert new_in_period(table, months=3, output="new")["new"].tolist()[4:] == [True, False]
    with pytest.raises(ConfigError, match="positive number"):
        new_in_period(table, months=0)


def test_percentile_rank_can_leave_customers_out():
    table = frame(x=[1.0, 2, 3, 100])
    table["skip"] = [False, False, False, True]
    out = percentile_rank(table, column="x", exclude="skip")["x_pct"]
    assert np.allclose(out.iloc[:3], [1 / 6, 0.5, 5 / 6]) and np.isnan(out.iloc[3])
    with pytest.raises(UnknownColumnError):
        percentile_rank(table, column="x", exclude="nope")
