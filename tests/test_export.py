"""The CRM export: snake_case columns stable across periods, RFM scores, dictionary, movers."""

from __future__ import annotations

import pandas as pd
import pytest

from seglab.report.export import (
    SNAKE_CASE,
    XLSX_MAX_CUSTOMERS,
    customer_table,
    segment_summary,
    write_export,
)
from seglab.report.text import value_text
from seglab.run.pipeline import run_segmentation


@pytest.fixture(scope="module")
def two_periods(tmp_path_factory, config_writer):
    folder = tmp_path_factory.mktemp("export")
    config = config_writer(folder, experiments={
        "feature_sets": ["value"], "scalings": ["log_standard"], "algorithms": ["fuzzy_cmeans"],
        "k_min": 3, "k_max": 4, "n_jobs": 1, "stability_top": 0,
    }, clustering={"choose": "config", "feature_set": "value", "scaling": "log_standard",
                   "algorithm": "fuzzy_cmeans", "k": 4})  # fmt: skip
    earlier = run_segmentation(config, as_of="2026-09-30")
    later = run_segmentation(config, previous_as_of="2026-09-30")
    return earlier, later


def _export(run, folder):
    folder.mkdir()
    write_export(
        run.segmentation, run.schemes, run.migration,
        snapshot=run.as_of, folder=folder, currency="EUR",
    )  # fmt: skip
    return folder


def test_columns_are_snake_case_and_the_same_in_every_period(two_periods):
    earlier, later = two_periods
    first = customer_table(earlier.segmentation, earlier.schemes, earlier.as_of)
    second = customer_table(later.segmentation, later.schemes, later.as_of)
    assert list(first.columns) == list(second.columns)
    assert all(SNAKE_CASE.match(column) for column in second.columns), second.columns
    assert list(second.columns[:6]) == [
        "customer_id", "snapshot_date", "segment_id", "segment_name", "action", "membership"
    ]  # fmt: skip
    assert {"r_score", "f_score", "m_score", "rfm_segment", "frequency_tiers"} <= set(second)
    assert second["snapshot_date"].eq(pd.Timestamp("2026-10-31")).all()
    assert second["customer_id"].is_unique and len(second) == len(later.features.customers)


def test_rfm_scores_are_the_schemes_quintiles(two_periods):
    _, run = two_periods
    table = customer_table(run.segmentation, run.schemes, run.as_of).set_index("customer_id")
    assert table["r_score"].between(1, 5).all() and table["m_score"].between(1, 5).all()
    # Recency score 5 goes to the most recent customers: its median recency is the lowest.
    recency = run.features.customers["recency_days"].groupby(table["r_score"]).median()
    assert recency.is_monotonic_decreasing


def test_membership_is_the_highest_membership(two_periods):
    _, run = two_periods
    table = customer_table(run.segmentation, run.schemes, run.as_of)
    expected = run.segmentation.memberships.max(axis=1).round(6).to_numpy()
    assert (table["membership"].to_numpy() == expected).all()


def test_summary_figures_by_hand(two_periods):
    _, run = two_periods
    summary = segment_summary(run.segmentation).set_index("segment_id")
    customers = run.features.customers.assign(segment_id=run.segmentation.segment_ids)
    for segment_id, members in customers.groupby("segment_id"):
        row = summary.loc[segment_id]
        assert row["customers"] == len(members)
        assert row["average_order_value"] == pytest.approx(
            members["monetary_total"].sum() / members["frequency"].sum()
        )
        assert row["median_recency_days"] == members["recency_days"].median()
    assert summary["share"].sum() == pytest.approx(1.0)


def test_files_dictionary_and_movers(two_periods, tmp_path):
    _, run = two_periods
    folder = _export(run, tmp_path / "out")
    csv = pd.read_csv(folder / "segments.csv")
    parquet = pd.read_parquet(folder / "segments.parquet")
    assert list(csv.columns) == list(parquet.columns) and len(csv) == len(parquet)
    dictionary = pd.read_csv(folder / "segments.dictionary.csv")
    described = dictionary[dictionary["table"] == "customers"]
    assert described["column"].tolist() == list(parquet.columns)
    assert described["meaning"].notna().all()
    money = dictionary.set_index(["table", "column"]).loc[("segment_summary", "revenue"), "unit"]
    assert money == "EUR"
    sheets = pd.read_excel(folder / "segments.xlsx", sheet_name=None)
    assert list(sheets) == ["customers", "segment_summary", "data_dictionary"]
    assert len(sheets["customers"]) == len(parquet) <= XLSX_MAX_CUSTOMERS
    movers = pd.read_csv(folder / "movers.csv")
    assert list(movers.columns) == ["customer_id", "change", "from", "to", "direction", "action"]
    tiers = movers[movers["change"] == "frequency_tier"]
    moves = run.migration.tier_moves.set_index("move")["customers"]
    assert (tiers["direction"] == "up").sum() == moves["up"]
    assert (tiers["direction"] == "down").sum() == moves["down"]
    segments = movers[movers["change"] == "segment"]
    assert (segments["from"] != segments["to"]).all()
    assert set(segments["direction"]) <= {"up", "down", "other"}


def test_lifetime_value_per_customer_and_segment_by_hand(two_periods):
    _, run = two_periods
    assert run.value.fitted, run.value.reason
    clv = run.value.customers["clv"]
    table = customer_table(run.segmentation, run.schemes, run.as_of, run.value)
    assert list(table.columns[5:10]) == [
        "membership", "expected_purchases", "p_alive", "expected_order_value", "clv"
    ]  # fmt: skip
    assert table.set_index("customer_id")["clv"].to_numpy() == pytest.approx(
        clv.to_numpy(), abs=1e-6
    )
    summary = segment_summary(run.segmentation, run.value).set_index("segment_id")
    assert list(summary.columns[5:8]) == ["clv_total", "clv_mean", "clv_share"]
    for segment_id, members in clv.groupby(run.segmentation.segment_ids):
        assert summary.loc[segment_id, "clv_total"] == pytest.approx(members.sum())
        assert summary.loc[segment_id, "clv_mean"] == pytest.approx(members.mean())
        assert summary.loc[segment_id, "clv_share"] == pytest.approx(members.sum() / clv.sum())
    text = value_text(run.value, summary.reset_index(), currency="EUR")
    gain = (summary["clv_share"] - summary["revenue_share"]).sort_values()
    assert f"EUR {clv.sum():,.0f}" in text
    assert f"**{gain.index[-1]} (" in text.split("gains weight")[0]
    assert f"**{gain.index[0]} (" in text.split("gains weight")[1]
