"""The heuristic schemes: every default scheme on hand-made customers, the engine's contract.

Each scheme test builds a few customers whose expected label is written next to them, with
boundaries on purpose (exactly 80 % cumulative share, exactly 30 days, ties, missing values).
The thresholds come from seglab/schemes.yaml (the defaults of SEGMENTS.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from seglab.errors import ConfigError, DataError, SchemaError
from seglab.heuristics.classify import classify
from seglab.heuristics.classify import transition_counts as migration
from seglab.heuristics.flags import attach_flags, read_id_list
from seglab.heuristics.rules import UnknownColumnError
from seglab.heuristics.schemes import (
    DEFAULT_FLAGS,
    FlagSource,
    HeuristicsConfig,
    SchemeSpec,
    default_schemes,
    resolve_schemes,
    rules_table,
)


def customers(rows: dict[str, dict], **defaults) -> pd.DataFrame:
    """A customer table from ``{customer_id: {column: value}}``; `defaults` fill the gaps."""
    table = pd.DataFrame.from_dict(rows, orient="index")
    for column, value in defaults.items():
        table[column] = table[column].fillna(value) if column in table else value
    if "monetary_total" not in table:
        table["monetary_total"] = 100.0
    table.index.name = "customer_id"
    return table


def run(table: pd.DataFrame, scheme: str, **params) -> dict[str, str]:
    """Labels of one scheme (asked for explicitly), by customer_id."""
    config = {"schemes": [scheme], "params": {scheme: params} if params else {}}
    return classify(table, config).labels[scheme].astype(str).to_dict()


def expected(rows: dict[str, tuple]) -> dict[str, str]:
    """The last item of each row is the expected label."""
    return {cid: row[-1] for cid, row in rows.items()}


# --- Scheme 1: purchase-frequency tiers -----------------------------------------------------

FREQUENCY_ROWS = {
    # id: (frequency_days, interpurchase_median_days, recency_days, blacklist, expected)
    "black": (30, 7, 3, True, "Blacklist"),
    "gone": (20, 7, 184, False, "Inactive"),
    "vip_edge": (10, 14, 28, False, "VIP"),  # interval exactly 14, recency exactly 2 cycles
    "vip_late": (10, 7, 29, False, "Segment 1"),  # missed more than 2 of 14-day cycles
    "monthly": (5, 45, 10, False, "Segment 1"),
    "quarterly": (3, 46, 50, False, "Segment 2"),
    "slow": (2, 170, 100, False, "Segment 3"),
    "new": (1, 5, 5, False, "Segment 3"),  # one purchase day: never VIP on tenure alone
    "edge": (2, 200, 183, False, "Segment 3"),  # exactly 183 days: not yet inactive
    "unknown": (4, 20, np.nan, False, "unclassified"),
}


def frequency_table() -> pd.DataFrame:
    return customers(
        {
            cid: {
                "frequency_days": float(fd),
                "interpurchase_median_days": float(gap),
                "recency_days": float(rec),
                "on_list": flagged,
            }
            for cid, (fd, gap, rec, flagged, _) in FREQUENCY_ROWS.items()
        }
    )


def test_frequency_tiers():
    result = classify(
        frequency_table(),
        {"schemes": ["frequency_tiers"], "flags": {"blacklist": {"column": "on_list"}}},
    )
    assert result.labels["frequency_tiers"].astype(str).to_dict() == expected(FREQUENCY_ROWS)
    summary = result.summaries["frequency_tiers"].set_index("segment")
    assert summary.loc["VIP", "action"] == "20 % discount; payment terms up to 30 days."
    assert summary.loc["Blacklist", "customers"] == 1


def test_frequency_tiers_thresholds_are_params():
    labels = run(frequency_table(), "frequency_tiers", vip_interval_days=7, inactive_days=200)
    assert labels["vip_late"] == "Segment 1"  # 29 > 2 * 7
    assert labels["vip_edge"] == "Segment 1"  # interval 14 > 7
    assert labels["gone"] == "Segment 2"  # 184 days is not inactive under 200; 184 <= 2 * 120


def test_blacklist_from_an_id_file_counts_unknown_ids(tmp_path):
    listing = tmp_path / "blacklist.txt"
    listing.write_text("customer_id\n# not served\nmonthly\n\nnobody\nslow\n")
    table = frequency_table().drop(columns="on_list")
    result = classify(
        table, {"schemes": ["frequency_tiers"], "flags": {"blacklist": {"file": str(listing)}}}
    )
    labels = result.labels["frequency_tiers"]
    assert labels[["monthly", "slow"]].tolist() == ["Blacklist", "Blacklist"]
    assert labels["black"] == "VIP"
    flags = result.flags.set_index("flag")
    assert flags.loc["blacklist", ["customers", "listed_ids", "unknown_ids"]].tolist() == [2, 3, 1]
    warning = result.warnings.query("kind == 'unknown_ids'")
    assert warning[["scheme", "segment"]].to_numpy().tolist() == [["flags", "blacklist"]]
    assert "1 of 3 ids" in warning["message"].iloc[0]


def test_id_list_csv_and_numeric_customer_ids(tmp_path):
    listing = tmp_path / "list.csv"
    listing.write_text("customer_id,reason\n12346,debt\n99999,closed\n12350 ,fraud\n")
    assert read_id_list(listing) == ["12346", "99999", "12350"]
    table = pd.DataFrame(
        {"monetary_total": [1.0, 2.0, 3.0]}, index=pd.Index([12346, 12347, 12350], name="id")
    )
    out, report = attach_flags(table, {"blacklist": FlagSource(file=listing)})
    assert out["blacklist"].tolist() == [True, False, True]
    assert report.set_index("flag").loc["blacklist", "unknown_ids"] == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("customer,x\n1,2\n")
    with pytest.raises(ConfigError, match="no 'customer_id' column; did you mean 'customer'"):
        read_id_list(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        read_id_list(tmp_path / "missing.txt")


def test_flags_default_to_attribute_columns_or_false():
    table = customers({"a": {"blacklist": "yes"}, "b": {"blacklist": "no"}, "c": {}})
    out, report = attach_flags(table)
    assert out["blacklist"].tolist() == [True, False, False]
    assert out["occasional"].tolist() == [False, False, False]
    assert report["flag"].tolist() == list(DEFAULT_FLAGS)
    assert report.set_index("flag").loc["occasional", "source"] == "not configured (all false)"
    with pytest.raises(ConfigError, match="not true/false"):
        attach_flags(customers({"a": {"blacklist": "maybe"}}))


def test_flag_sources_are_checked():
    with pytest.raises(ConfigError, match="exactly one of 'column' or 'file'"):
        classify(customers({"a": {}}), {"flags": {"blacklist": {}}})
    with pytest.raises(UnknownColumnError, match="unknown column 'on_lst' in flag 'blacklist'"):
        classify(
            customers({"a": {"on_list": True}}), {"flags": {"blacklist": {"column": "on_lst"}}}
        )
    with pytest.raises(ConfigError, match="already has a column 'blacklist'"):
        classify(
            customers({"a": {"blacklist": True, "other": False}}),
            {"flags": {"blacklist": {"column": "other"}}},
        )


# --- Scheme 2: prospect tiers -----------------------------------------------------------------


def test_prospect_tiers():
    rows = {
        # id: (employee_count, competitor flag, occasional flag, expected)
        "rival": (1000, "yes", "", "competitor's customer"),
        "catering": (30, "no", "x", "occasional"),
        "e500": (500, "no", "", "strategic"),  # the source's "> 500" leaves 500 out: strategic
        "e499": (499, "no", "", "important"),
        "e250": (250, "no", "", "important"),
        "e249": (249, "no", "", "everyday"),
        "e50": (50, "no", "", "everyday"),
        "e49": (49, "no", "", "small"),
        "consumer": (np.nan, "no", "", "unclassified"),
    }
    table = customers(
        {
            cid: {"employee_count": float(n), "under_contract": comp, "side_only": occ}
            for cid, (n, comp, occ, _) in rows.items()
        }
    )
    flags = {
        "competitor_customer": {"column": "under_contract"},
        "occasional": {"column": "side_only"},
    }
    result = classify(table, {"schemes": ["prospect_tiers"], "flags": flags})
    assert result.labels["prospect_tiers"].astype(str).to_dict() == expected(rows)


# --- Scheme 3: ABC, nested Pareto, XYZ, ABC-XYZ ---------------------------------------------


def test_abc_exact_80_percent_ties_and_non_positive_revenue():
    rows = {
        # id: (revenue, expected); sorted by revenue desc, ties by id: share made before each.
        "c1": (70.0, "A"),  # before 0
        "c2": (10.0, "A"),  # before .70 (tied with c3, c4: ordered by id)
        "c3": (10.0, "B"),  # before exactly .80: not A
        "c4": (10.0, "B"),  # before .90 < .95
        "c5": (0.0, "C"),  # no revenue
        "c6": (-20.0, "C"),  # returns exceed purchases
    }
    table = customers({cid: {"monetary_total": r} for cid, (r, _) in rows.items()})
    assert run(table, "abc") == expected(rows)
    assert run(table.iloc[::-1], "abc") == expected(rows)  # row order does not matter


def test_abc_b_boundary_and_degenerate_tables():
    table = customers(
        {c: {"monetary_total": r} for c, r in zip("abcd", [80, 15, 4, 1], strict=True)}
    )
    assert run(table, "abc") == {"a": "A", "b": "B", "c": "C", "d": "C"}  # c: before = .95
    one = customers({"solo": {"monetary_total": 5.0}})
    assert run(one, "abc") == {"solo": "A"}
    equal = customers({c: {"monetary_total": 20.0} for c in "abcde"})
    assert run(equal, "abc") == {"a": "A", "b": "A", "c": "A", "d": "A", "e": "B"}
    nothing = customers({c: {"monetary_total": 0.0} for c in "ab"})
    assert run(nothing, "abc") == {"a": "C", "b": "C"}
    missing = customers({"a": {"monetary_total": np.nan}, "b": {"monetary_total": 1.0}})
    assert run(missing, "abc") == {"a": "unclassified", "b": "A"}


def test_abc_concentration_warning():
    # A = 2 of 6 customers (33 %), outside the healthy 15-25 %.
    table = customers(
        {f"c{i}": {"monetary_total": r} for i, r in enumerate([70, 10, 10, 10, 0, 0])}
    )
    warnings = classify(table, {"schemes": ["abc"]}).warnings
    concentration = warnings.query("kind == 'concentration'")
    assert concentration["segment"].tolist() == ["A"]
    assert "holds 33.3% of customers; a healthy base has 15%-25%" in concentration.iloc[0].message
    healthy = customers(
        {f"c{i:02d}": {"monetary_total": 80.0 if i < 2 else 2.5} for i in range(10)}
    )
    assert classify(healthy, {"schemes": ["abc"]}).warnings.query("kind == 'concentration'").empty


def test_abc_pareto():
    rows = {"a": (80.0, "A"), "b": (16.0, "B"), "c": (3.0, "C"), "d": (1.0, "C")}
    table = customers({cid: {"monetary_total": r} for cid, (r, _) in rows.items()})
    assert run(table, "abc_pareto") == expected(rows)  # c: before exactly 96 %
    # share 0.9: boundaries .9 and .99; d starts exactly at 99 %
    assert run(table, "abc_pareto", share=0.9) == {"a": "A", "b": "A", "c": "B", "d": "C"}


def test_xyz_by_cv_thresholds_and_by_percentile():
    rows = {
        # id: (revenue_cv, percentile rank, xyz, xyz_percentile)
        "a": (0.2, 1 / 12, "X", "X"),
        "b": (0.5, 3 / 12, "X", "X"),  # CV exactly 0.5 is X
        "c": (0.8, 5 / 12, "Y", "Y"),
        "d": (1.0, 7 / 12, "Y", "Y"),  # CV exactly 1.0 is Y
        "e": (1.5, 9 / 12, "Z", "Z"),
        "f": (3.0, 11 / 12, "Z", "Z"),
        "g": (np.nan, np.nan, "unclassified", "unclassified"),
    }
    table = customers({cid: {"revenue_cv": row[0]} for cid, row in rows.items()})
    assert run(table, "xyz") == {cid: row[2] for cid, row in rows.items()}
    assert run(table, "xyz_percentile") == {cid: row[3] for cid, row in rows.items()}
    derived = classify(table, {"schemes": ["xyz_percentile"]}).derived["xyz_percentile"]
    assert np.allclose(derived["revenue_cv_pct"].iloc[:6], [row[1] for row in rows.values()][:6])


def test_xyz_thresholds_do_not_depend_on_the_other_customers():
    # A base of irregular customers only: every CV above 1 is Z, where thirds by percentile
    # would still call the lowest third "stable".
    cvs = {"a": 1.2, "b": 1.5, "c": 2.0, "d": 2.5, "e": 3.0, "f": 3.5}
    table = customers({cid: {"revenue_cv": cv} for cid, cv in cvs.items()})
    assert set(run(table, "xyz").values()) == {"Z"}
    assert list(run(table, "xyz_percentile").values()) == ["X", "X", "Y", "Y", "Z", "Z"]
    moved = run(table, "xyz", x_max_cv=1.2, y_max_cv=2.0)
    assert moved == {"a": "X", "b": "Y", "c": "Y", "d": "Z", "e": "Z", "f": "Z"}
    steady = customers({"s": {"revenue_cv": 0.3}})
    assert run(steady, "xyz") == {"s": "X"}  # one customer alone still has a class


def test_xyz_percentile_ties_share_a_class():
    table = customers(
        {c: {"revenue_cv": v} for c, v in zip("abcdef", [1, 1, 1, 1, 2, 3.0], strict=True)}
    )
    # ties: mid rank 2/6 = .333 for the four 1s: not below .33, so all four are Y.
    expected_labels = {"a": "Y", "b": "Y", "c": "Y", "d": "Y", "e": "Z", "f": "Z"}
    assert run(table, "xyz_percentile") == expected_labels


def test_abc_xyz_nine_cells():
    rows = {
        # id: (revenue, revenue_cv, expected); ABC: a, b are A (before 0, .5), c B (.8), rest C.
        "a": (50.0, 0.1, "AX"),
        "b": (30.0, 2.0, "AZ"),
        "c": (15.0, 0.9, "BY"),
        "d": (3.0, 0.2, "CX"),
        "e": (1.0, 1.0, "CY"),
        "f": (1.0, 2.5, "CZ"),
        "g": (0.0, 0.5, "CX"),  # CV exactly 0.5 is X (by percentile it would be Y: 5/14)
    }
    table = customers(
        {cid: {"monetary_total": r, "revenue_cv": cv} for cid, (r, cv, _) in rows.items()}
    )
    result = classify(table, {"schemes": ["abc", "xyz", "abc_xyz"]})
    assert result.labels["abc_xyz"].astype(str).to_dict() == expected(rows)
    combined = result.labels["abc"].astype(str) + result.labels["xyz"].astype(str)
    assert (combined == result.labels["abc_xyz"].astype(str)).all()
    assert result.summaries["abc_xyz"]["segment"].tolist() == [
        "AX", "AY", "AZ", "BX", "BY", "BZ", "CX", "CY", "CZ", "unclassified",
    ]  # fmt: skip


# --- Scheme 4: RFM ----------------------------------------------------------------------------


def test_rfm_fixed_bins_with_exact_edges():
    rows = {
        # id: (recency_days, frequency, monetary_total, expected cell)
        "r30": (30, 15, 1000.0, "R4F4M4"),  # exactly 30 days is the 0-30 bin
        "r31": (31, 14, 999.99, "R3F3M3"),
        "r60": (60, 10, 600.0, "R3F3M3"),
        "r61": (61, 9, 599.0, "R2F2M2"),
        "r90": (90, 5, 200.0, "R2F2M2"),
        "r91": (91, 4, 199.99, "R1F1M1"),
        "r0": (0, 1, -50.0, "R4F1M1"),
        "nan": (np.nan, 3, 10.0, "unclassified"),
    }
    table = customers(
        {
            cid: {"recency_days": float(r), "frequency": float(f), "monetary_total": m}
            for cid, (r, f, m, _) in rows.items()
        }
    )
    amounts = [200, 600, 1000]  # the fixed amounts of SEGMENTS.md, given as a parameter
    assert run(table, "rfm_bins", monetary_edges=amounts) == expected(rows)
    relabelled = run(table, "rfm_bins", recency_edges=[10, 31, 90], monetary_edges=amounts)
    assert relabelled["r30"].startswith("R3") and relabelled["r31"].startswith("R3")
    config = {"schemes": ["rfm_bins"], "params": {"rfm_bins": {"monetary_edges": amounts}}}
    summary = classify(table, config).summaries["rfm_bins"]
    # label_from schemes list cells by size, then label; the fallback last
    assert summary["segment"].tolist() == [
        "R2F2M2", "R3F3M3", "R1F1M1", "R4F1M1", "R4F4M4", "unclassified",
    ]  # fmt: skip


def test_rfm_bins_monetary_edges_default_to_quartiles():
    # 9 customers; quartiles (linear) of [10, 20, 30, 40, 45, 50, 60, 70, 80] are 30 / 45 / 60,
    # and a value equal to an edge belongs to the bin above it.
    rows = {
        "m10": (10.0, "R4F1M1"),
        "m20": (20.0, "R4F1M1"),
        "m30": (30.0, "R4F1M2"),  # exactly the first quartile
        "m40": (40.0, "R4F1M2"),
        "m45": (45.0, "R4F1M3"),  # exactly the median
        "m50": (50.0, "R4F1M3"),
        "m60": (60.0, "R4F1M4"),  # exactly the third quartile
        "m70": (70.0, "R4F1M4"),
        "m80": (80.0, "R4F1M4"),
    }
    table = customers(
        {cid: {"monetary_total": m} for cid, (m, _) in rows.items()},
        recency_days=10.0,
        frequency=1.0,
    )
    result = classify(table, {"schemes": ["rfm_bins"]})
    assert result.labels["rfm_bins"].astype(str).to_dict() == expected(rows)
    notes = result.warnings.query("kind == 'note'")["message"].tolist()
    assert notes == [
        "m_bin: monetary_total edges 30.00 / 45.00 / 60.00, the quantiles 0.25 / 0.5 / 0.75 of "
        "the customers' values"
    ]
    # the same shop in cents: the same cells, where fixed amounts would move everyone
    cents = table.assign(monetary_total=table["monetary_total"] * 100)
    assert run(cents, "rfm_bins") == expected(rows)
    assert set(run(cents, "rfm_bins", monetary_edges=[200, 600, 1000]).values()) == {"R4F1M4"}
    quartiles = run(table, "rfm_bins", monetary_quantiles=[0.5])
    assert quartiles["m40"] == "R4F1M1" and quartiles["m45"] == "R4F1M2"


RFM_ROWS = {
    # id: (r_score, f_score, m_score, expected); 15 customers, 3 per score in each dimension.
    "a": (5, 5, 5, "champions"),
    "b": (4, 5, 4, "champions"),
    "c": (3, 5, 1, "loyal"),
    "d": (5, 2, 3, "potential loyalists"),
    "e": (5, 1, 2, "new"),
    "f": (4, 1, 1, "promising"),
    "g": (3, 3, 2, "need attention"),
    "h": (3, 1, 5, "about to sleep"),
    "i": (2, 3, 1, "at risk"),
    "j": (1, 4, 5, "can't lose"),
    "k": (2, 2, 3, "hibernating"),
    "l": (1, 4, 2, "at risk"),
    "m": (4, 3, 4, "potential loyalists"),
    "n": (2, 4, 3, "at risk"),
    "o": (1, 2, 4, "lost"),
}


def test_rfm_quantile_segments():
    # Distinct values grouped so that each group of 3 gets one score (15 customers, 5 bins).
    table = customers(
        {
            cid: {
                "recency_days": (6 - r) * 30.0 + i,
                "frequency": f * 20.0 + i,
                "monetary_total": m * 1000.0 + i,
            }
            for i, (cid, (r, f, m, _)) in enumerate(RFM_ROWS.items())
        }
    )
    result = classify(table, {"schemes": ["rfm_segments"]})
    scores = result.derived["rfm_segments"].astype(int)
    assert [tuple(row) for row in scores[["r_score", "f_score", "m_score"]].to_numpy()] == [
        row[:3] for row in RFM_ROWS.values()
    ]
    assert result.labels["rfm_segments"].astype(str).to_dict() == expected(RFM_ROWS)


def test_rfm_quantile_ties_and_one_customer():
    # Ties share the score of the least favourable position of their run (pessimistic):
    # the five one-order customers all get F = 1; the three customers who bought 5 days ago
    # have 4 of 7 customers less recent than them, so R = 1 + floor(5 * 4 / 7) = 3.
    table = customers(
        {
            c: {"recency_days": r, "frequency": f, "monetary_total": m}
            for c, r, f, m in zip(
                "abcdefg",
                [5.0, 5, 5, 200, 200, 300, 10],
                [1.0, 1, 1, 1, 1, 8, 9],
                [10.0, 10, 10, 10, 10, 900, 950],
                strict=True,
            )
        }
    )
    result = classify(table, {"schemes": ["rfm_segments"]})
    scores = result.derived["rfm_segments"]
    assert scores["f_score"].tolist() == [1.0, 1, 1, 1, 1, 4, 5]
    assert scores["r_score"].tolist() == [3.0, 3, 3, 1, 1, 1, 3]
    assert scores["m_score"].tolist() == [1.0, 1, 1, 1, 1, 4, 5]
    assert result.labels["rfm_segments"].astype(str).tolist() == [
        "about to sleep", "about to sleep", "about to sleep", "lost", "lost",
        "can't lose", "loyal",
    ]  # fmt: skip
    one = customers({"solo": {"recency_days": 3.0, "frequency": 2.0, "monetary_total": 50.0}})
    assert run(one, "rfm_segments") == {"solo": "lost"}  # every score is 1 with nobody before


# --- Scheme 5: BCG ----------------------------------------------------------------------------


def test_bcg_split_at_the_medians():
    rows = {
        # id: (revenue, growth, expected); medians: revenue between b and c, growth likewise.
        "a": (100.0, 2.0, "question marks"),
        "b": (200.0, -1.0, "dogs"),
        "c": (300.0, 0.5, "stars"),
        "d": (400.0, -2.0, "cash cows"),
        "e": (np.nan, 0.0, "unclassified"),
    }
    table = customers(
        {cid: {"monetary_total": r, "revenue_growth": g} for cid, (r, g, _) in rows.items()},
        tenure_days=400.0,
    )
    assert run(table, "bcg") == expected(rows)
    equal = customers(
        {c: {"monetary_total": 10.0, "revenue_growth": 0.0} for c in "ab"}, tenure_days=400.0
    )
    assert run(equal, "bcg") == {"a": "dogs", "b": "dogs"}  # at the median is not above it


BCG_ROWS = {
    # id: (tenure_days, revenue, growth, expected). Growth window: 6 months = 182.6 days.
    # The new customers are left out of the medians; the five established ones have revenue
    # ranks a .1, b .3, n183 .5, c .7, d .9 and growth ranks d .1, b .3, n183 .5, c .7, a .9.
    "a": (400, 100.0, 2.0, "question marks"),
    "b": (400, 200.0, -1.0, "dogs"),
    "c": (400, 300.0, 0.5, "stars"),
    "d": (400, 400.0, -2.0, "cash cows"),
    "n183": (183, 250.0, 0.0, "dogs"),  # 183 days: just older than the window; at both medians
    "n182": (182, 50.0, 2.0, "new"),  # 182 days: inside the window
    "n0": (0, 5000.0, 2.0, "new"),  # first purchase today, big and "growing": new, not a star
}


def test_bcg_keeps_customers_newer_than_the_growth_window_apart():
    table = customers(
        {
            cid: {"tenure_days": float(t), "monetary_total": r, "revenue_growth": g}
            for cid, (t, r, g, _) in BCG_ROWS.items()
        }
    )
    result = classify(table, {"schemes": ["bcg"]})
    assert result.labels["bcg"].astype(str).to_dict() == expected(BCG_ROWS)
    ranks = result.derived["bcg"]
    assert ranks["new_customer"].tolist() == [False] * 5 + [True] * 2
    assert np.allclose(ranks["monetary_total_pct"].iloc[:5], [0.1, 0.3, 0.7, 0.9, 0.5])
    assert ranks.iloc[5:][["monetary_total_pct", "revenue_growth_pct"]].isna().all().all()
    assert result.summaries["bcg"]["segment"].tolist() == [
        "new", "stars", "cash cows", "question marks", "dogs", "unclassified",
    ]  # fmt: skip
    # The window is a parameter: 7 months (213 days) makes n183 new; 1 month (30 days) makes
    # n182 established.
    assert run(table, "bcg", growth_months=7)["n183"] == "new"
    assert run(table, "bcg", growth_months=1)["n182"] != "new"
    # Unknown tenure is not new: such a customer is placed by revenue and growth.
    unknown = table.assign(tenure_days=table["tenure_days"].where(table.index != "n0"))
    assert run(unknown, "bcg")["n0"] == "stars"


def test_bcg_growth_window_follows_the_features_config():
    from seglab.run.config import Config

    base = {"name": "x", "data": {"transactions": "t.parquet"}}
    three = Config.model_validate({**base, "features": {"growth_months": 3}})
    assert three.heuristics.params == {"bcg": {"growth_months": 3}}
    assert resolve_schemes(three.heuristics)["bcg"].params["growth_months"] == 3
    own = Config.model_validate(
        {
            **base,
            "features": {"growth_months": 3},
            "heuristics": {"params": {"bcg": {"growth_months": 4}}},
        }
    )
    assert own.heuristics.params == {"bcg": {"growth_months": 4}}  # the analyst's own wins
    assert Config.model_validate(base).heuristics.params == {}  # the default: nothing to sync


# --- Scheme 6: lifecycle ----------------------------------------------------------------------


def test_lifecycle_by_recency():
    rows = {
        "d0": (0, "active"),
        "d91": (91, "active"),
        "d92": (92, "inactive"),
        "d183": (183, "inactive"),
        "d184": (184, "sleeping"),
        "d365": (365, "sleeping"),
        "d366": (366, "closed"),
        "none": (np.nan, "unclassified"),
    }
    table = customers({cid: {"recency_days": float(r)} for cid, (r, _) in rows.items()})
    assert run(table, "lifecycle") == expected(rows)
    thirty = run(table.loc[["d0"]].assign(recency_days=[30.0]), "lifecycle", active_days=30)
    assert thirty == {"d0": "active"}  # exactly 30 days with a 30-day threshold
    assert run(table.loc[["d0"]].assign(recency_days=[31.0]), "lifecycle", active_days=30) == {
        "d0": "inactive"
    }


def test_lost_new_customer_flag():
    rows = {
        # id: (frequency_days, tenure_days, expected)
        "lost": (1, 62, "lost new customer"),
        "edge": (1, 61, "other"),  # exactly 2 months: not yet lost
        "back": (2, 400, "other"),
    }
    table = customers(
        {
            cid: {"frequency_days": float(f), "tenure_days": float(t)}
            for cid, (f, t, _) in rows.items()
        }
    )
    result = classify(table, {"schemes": ["lost_new"]})
    assert result.labels["lost_new"].astype(str).to_dict() == expected(rows)
    assert result.summaries["lost_new"]["segment"].tolist() == ["lost new customer", "other"]
    assert result.warnings.query("kind == 'large'").empty  # "other" may hold everyone


def test_personalised_lifecycle():
    rows = {
        # id: (frequency_days, interpurchase_median_days, recency_days, expected)
        "once": (1, 400, 400, "one-time"),
        "on_time": (5, 30, 30, "active"),  # exactly one cycle: not late
        "late": (5, 30, 31, "overdue"),
        "two": (5, 30, 60, "overdue"),  # exactly 2 cycles: not yet sleeping
        "sleepy": (5, 30, 61, "sleeping"),
        "three": (5, 30, 90, "sleeping"),
        "gone": (5, 30, 91, "lapsed"),
        "weekly": (40, 7, 30, "lapsed"),  # a calendar-active customer who missed 4 weeks
        "nan": (5, np.nan, 10, "unclassified"),
    }
    table = customers(
        {
            cid: {
                "frequency_days": float(f),
                "interpurchase_median_days": float(g),
                "recency_days": float(r),
            }
            for cid, (f, g, r, _) in rows.items()
        }
    )
    assert run(table, "lifecycle_personal") == expected(rows)
    assert run(table, "lifecycle_personal", sleeping_cycles=3)["sleepy"] == "overdue"


# --- Scheme 7: spend x visits -----------------------------------------------------------------


def test_spend_visits_with_the_fixed_amounts_of_the_source():
    rows = {
        # id: (revenue_last_quarter, orders_last_quarter, expected)
        "p": (9000.0, 3, "premium"),
        "l_top": (8999.99, 3, "loyal"),
        "l_low": (3000.0, 3, "loyal"),
        "econ": (2999.99, 3, "economical"),
        "thrift": (3000.0, 2, "thrifty"),
        "big1": (12000.0, 1, "thrifty"),
        "dis": (2999.0, 2, "disloyal"),
        "ret": (-40.0, 1, "disloyal"),
        "none": (0.0, 0, "no visit"),
    }
    table = customers(
        {
            cid: {"revenue_last_quarter": r, "orders_last_quarter": float(v)}
            for cid, (r, v, _) in rows.items()
        }
    )
    amounts = {"premium_spend": 9000, "spend_split": 3000}
    assert run(table, "spend_visits", **amounts) == expected(rows)
    assert run(table, "spend_visits", premium_spend=12000, spend_split=3000)["p"] == "loyal"
    config = {"schemes": ["spend_visits"], "params": {"spend_visits": amounts}}
    notes = classify(table, config).warnings.query("kind == 'note'")["message"].tolist()
    assert notes == [
        "spend_threshold = 3,000.00: the fixed amount given",
        "premium_threshold = 9,000.00: the fixed amount given",
    ]


SPEND_ROWS = {
    # id: (revenue_last_quarter, orders_last_quarter, expected). The 10 customers who bought in
    # the quarter spent 10..70, 90, 91, 100: median (50 + 60) / 2 = 55; 90 % quantile (linear)
    # at position 8.1: 91 + .1 * 9 = 91.9. The customer without an order is not counted (with
    # it the median would be 50 and v50 loyal).
    "v100": (100.0, 3, "premium"),
    "v91": (91.0, 4, "loyal"),  # just under 91.9
    "v90": (90.0, 3, "loyal"),
    "v70": (70.0, 1, "thrifty"),
    "v60": (60.0, 2, "thrifty"),
    "v50": (50.0, 3, "economical"),  # just under 55
    "v40": (40.0, 4, "economical"),
    "v30": (30.0, 2, "disloyal"),
    "v20": (20.0, 1, "disloyal"),
    "v10": (10.0, 1, "disloyal"),
    "none": (0.0, 0, "no visit"),
}


def test_spend_visits_thresholds_default_to_quantiles_of_the_quarter_spend():
    rows = SPEND_ROWS
    table = customers(
        {
            cid: {"revenue_last_quarter": r, "orders_last_quarter": float(v)}
            for cid, (r, v, _) in rows.items()
        }
    )
    result = classify(table, {"schemes": ["spend_visits"]})
    assert result.labels["spend_visits"].astype(str).to_dict() == expected(rows)
    notes = result.warnings.query("kind == 'note'")["message"].tolist()
    assert notes == [
        "spend_threshold = 55.00: the 50% quantile of revenue_last_quarter over the 10 "
        "customers with orders_last_quarter > 0",
        "premium_threshold = 91.90: the 90% quantile of revenue_last_quarter over the 10 "
        "customers with orders_last_quarter > 0",
    ]
    # The same shop in another currency (x 1000) gets the same labels.
    scaled = table.assign(revenue_last_quarter=table["revenue_last_quarter"] * 1000)
    assert run(scaled, "spend_visits") == expected(rows)
    # A quantile or a fixed amount can be given; the amount wins over the quantile.
    assert run(table, "spend_visits", premium_quantile=0.95)["v91"] == "loyal"  # 95.95
    assert run(table, "spend_visits", premium_quantile=0.8)["v91"] == "premium"  # 90.2
    fixed = run(table, "spend_visits", spend_split=45, spend_quantile=0.1)
    assert fixed["v50"] == "loyal" and fixed["v40"] == "economical"


def test_currency_parameters_take_an_amount_or_stay_null():
    spec = default_schemes()["spend_visits"]
    assert spec.params["spend_split"] is None and spec.params["premium_spend"] is None
    assert default_schemes()["rfm_bins"].params["monetary_edges"] is None
    config = HeuristicsConfig(params={"spend_visits": {"spend_split": 2500.5}})
    assert resolve_schemes(config)["spend_visits"].params["spend_split"] == 2500.5
    for value in ("3000", True):
        with pytest.raises(ValueError, match="expected a number or a list"):
            HeuristicsConfig(params={"spend_visits": {"spend_split": value}})
    with pytest.raises(ValueError, match="expected a number"):
        HeuristicsConfig(params={"spend_visits": {"spend_quantile": None}})


# --- Scheme 8: value tiers and value/potential ------------------------------------------------


def test_value_tiers_with_returns_as_cost_proxy():
    revenue = [100.0 * i for i in range(1, 11)]
    returns = [0.5, 0.4, 0, 0, 0, 0, 0, 0, 0.45, 0]
    table = customers(
        {f"c{i:02d}": {"monetary_total": r, "returns_rate": q} for i, (r, q) in enumerate(
            zip(revenue, returns, strict=True), start=1)}
    )  # fmt: skip
    result = classify(table, {"schemes": ["value_tiers"]})
    labels = result.labels["value_tiers"].astype(str)
    # c10 is the top 10 %; c01 is low revenue and the top returner (rank .95 > .8); c02's
    # returns rank .75 is not in the top 20 %; c09 returns a lot but is not low revenue.
    assert labels.to_dict() == {
        "c01": "difficult", "c02": "regular", "c03": "regular", "c04": "regular",
        "c05": "regular", "c06": "regular", "c07": "regular", "c08": "regular",
        "c09": "regular", "c10": "VIP",
    }  # fmt: skip
    note = result.warnings.query("kind == 'note'")
    assert "ranked by 'returns_rate'" in note["message"].iloc[0]
    with_cost = table.assign(cost_to_serve=[90.0, 10, 10, 10, 10, 10, 10, 10, 10, 10])
    result = classify(with_cost, {"schemes": ["value_tiers"]})
    assert result.labels["value_tiers"].astype(str).tolist()[:2] == ["difficult", "regular"]
    assert result.warnings.query("kind == 'note'").empty


def test_value_potential_quadrants():
    rows = {
        # id: (revenue, frequency, tenure, growth, recency, expected)
        "c1": (400.0, 40, 400, 1.0, 10, "keep and develop"),  # value .875, potential .6875
        "c2": (300.0, 30, 300, -1.0, 10, "harvest"),  # .625, .5 (at the split: not above)
        "c3": (200.0, 20, 200, 2.0, 300, "develop carefully"),  # .375, .5625
        "c4": (100.0, 10, 100, -1.0, 300, "release"),  # .125, .25
    }
    names = ["monetary_total", "frequency", "tenure_days", "revenue_growth", "recency_days"]
    table = customers(
        {cid: dict(zip(names, map(float, row[:5]), strict=True)) for cid, row in rows.items()}
    )
    result = classify(table, {"schemes": ["value_potential"]})
    assert result.labels["value_potential"].astype(str).to_dict() == expected(rows)
    axes = result.derived["value_potential"]
    assert axes["value_axis"].tolist() == [0.875, 0.625, 0.375, 0.125]
    assert axes["potential_axis"].tolist() == [0.6875, 0.5, 0.5625, 0.25]
    note = result.warnings.query("kind == 'note'")["message"].iloc[0]
    assert "potential is ranked by revenue growth and recency" in note


def test_value_potential_takes_lifetime_value_as_potential():
    """With a ``clv`` column the potential is its mid rank, (rank - 1/2) / n with ties averaged
    (scipy's rankdata), whatever growth and recency say; an all-missing one is not used."""
    names = ["monetary_total", "frequency", "tenure_days", "revenue_growth", "recency_days"]
    rows = [(400.0, 40, 400, 1.0, 10), (300.0, 30, 300, -1.0, 10), (200.0, 20, 200, 2.0, 300),
            (100.0, 10, 100, -1.0, 300), (250.0, 25, 250, 0.0, 100)]  # fmt: skip
    table = customers({f"c{i}": dict(zip(names, row, strict=True)) for i, row in enumerate(rows)})
    table["clv"] = [10.0, 900.0, 50.0, 50.0, 0.0]
    result = classify(table, {"schemes": ["value_potential"]})
    expected = (stats.rankdata(table["clv"]) - 0.5) / len(table)
    assert result.derived["value_potential"]["potential_axis"].to_numpy() == pytest.approx(expected)
    assert result.labels["value_potential"].astype(str).tolist() == [
        "harvest",
        "keep and develop",
        "develop carefully",
        "develop carefully",
        "release",
    ]  # fmt: skip  value axis .9 .7 .3 .1 .5; clv ranks .3 .9 .6 .6 .1 (ties at 50 share .6)
    assert result.warnings.query("kind == 'note'").empty
    without = classify(table.assign(clv=np.nan), {"schemes": ["value_potential"]})
    proxies = classify(table.drop(columns="clv"), {"schemes": ["value_potential"]})
    pd.testing.assert_frame_equal(
        without.derived["value_potential"], proxies.derived["value_potential"]
    )


# --- Scheme 9: tags ---------------------------------------------------------------------------


def test_product_and_behaviour_tags_many_per_customer():
    table = customers(
        {
            "one": {"product_breadth": 1.0, "frequency_days": 1.0, "revenue_growth": 2.0},
            "two": {"product_breadth": 2.0, "frequency_days": 3.0, "revenue_growth": -0.5},  # edge
            "many": {"product_breadth": 7.0, "frequency_days": 9.0, "revenue_growth": -2.0},
            "none": {"product_breadth": 0.0, "frequency_days": 2.0, "revenue_growth": 0.0},
            "nan": {"product_breadth": np.nan, "frequency_days": 1.0, "revenue_growth": 0.5},
        },
        returns_rate=0.0,
    )
    table.loc["two", "returns_rate"] = 0.1
    result = classify(table, {"schemes": ["product_tags", "behaviour_tags"]})
    assert result.labels.columns.tolist() == []
    tags = result.tags
    assert tags.columns.tolist() == [
        "1 product", "2 products", "3+ products",
        "one-time buyer", "returner", "growing", "declining",
    ]  # fmt: skip
    assert tags.astype(int).to_dict("index") == {
        "one": {"1 product": 1, "2 products": 0, "3+ products": 0, "one-time buyer": 1,
                "returner": 0, "growing": 1, "declining": 0},
        "two": {"1 product": 0, "2 products": 1, "3+ products": 0, "one-time buyer": 0,
                "returner": 1, "growing": 0, "declining": 1},
        "many": {"1 product": 0, "2 products": 0, "3+ products": 1, "one-time buyer": 0,
                 "returner": 0, "growing": 0, "declining": 1},
        "none": {"1 product": 0, "2 products": 0, "3+ products": 0, "one-time buyer": 0,
                 "returner": 0, "growing": 0, "declining": 0},
        "nan": {"1 product": 0, "2 products": 0, "3+ products": 0, "one-time buyer": 1,
                "returner": 0, "growing": 1, "declining": 0},
    }  # fmt: skip
    summary = result.summaries["product_tags"].set_index("segment")
    assert summary["customers"].to_dict() == {
        "1 product": 1, "2 products": 1, "3+ products": 1, "no product tag": 2,
    }  # fmt: skip
    overlaps = result.overlaps["behaviour_tags"]
    assert overlaps.loc["one-time buyer", "growing"] == 2
    assert overlaps.loc["growing", "growing"] == 2
    assert overlaps.loc["returner", "declining"] == 1


def test_product_tags_fall_back_to_categories():
    table = customers({"a": {"category_breadth": 2.0}, "b": {"category_breadth": 4.0}})
    result = classify(table, {"schemes": ["product_tags"]})
    assert result.tags["2 products"].tolist() == [True, False]
    assert result.tags["3+ products"].tolist() == [False, True]


def test_interest_tags_from_channel():
    table = customers({"a": {"channel": "online"}, "b": {"channel": "sales_rep"}, "c": {}})
    result = classify(table, {"schemes": ["interest_tags"]})
    assert result.tags.astype(int).to_numpy().tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 0]]
    assert result.summaries["interest_tags"]["segment"].iloc[-1] == "no interest tag"


# --- Scheme 10: attributes --------------------------------------------------------------------


def test_age_bands():
    rows = {
        "a0": (0, "0-14"),
        "a14": (14, "0-14"),
        "a14_5": (14.5, "0-14"),
        "a15": (15, "15-24"),
        "a24": (24, "15-24"),
        "a25": (25, "25-44"),
        "a44": (44, "25-44"),
        "a45": (45, "45-64"),
        "a64": (64, "45-64"),
        "a65": (65, "65+"),
        "a90": (90, "65+"),
        "b2b": (np.nan, "unknown"),
        "bad": (-1, "unknown"),
    }
    table = customers({cid: {"age": float(a)} for cid, (a, _) in rows.items()})
    assert run(table, "age_bands") == expected(rows)


def test_geography_from_region_or_country():
    table = customers(
        {"a": {"region": "North"}, "b": {"region": "South"}, "c": {"region": "North"}}
    )
    table.loc["d", ["region", "monetary_total"]] = [None, 1.0]
    result = classify(table, {"schemes": ["geography"]})
    assert result.labels["geography"].astype(str).tolist() == ["North", "South", "North", "unknown"]
    assert result.summaries["geography"]["segment"].tolist() == ["North", "South", "unknown"]
    countries = customers({"a": {"country": "France"}, "b": {"country": "EIRE"}})
    assert run(countries, "geography") == {"a": "France", "b": "EIRE"}


def test_firmographics():
    rows = {
        "e9": (9, "micro"),
        "e10": (10, "small"),
        "e49": (49, "small"),
        "e50": (50, "medium"),
        "e249": (249, "medium"),
        "e250": (250, "large"),
        "e499": (499, "large"),
        "e500": (500, "enterprise"),
        "b2c": (np.nan, "unknown"),
    }
    table = customers({cid: {"employee_count": float(n)} for cid, (n, _) in rows.items()})
    assert run(table, "firmographics") == expected(rows)


# --- Every default scheme together ------------------------------------------------------------


def random_customers(n: int = 2000, seed: int = 7) -> pd.DataFrame:
    """A full customer table with every contract feature and the synthetic attributes."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 730, n).astype(float)
    days = np.minimum(rng.geometric(0.15, n), tenure + 1).astype(float)
    frequency = days + rng.poisson(0.3, n)
    recency = np.floor(tenure * rng.random(n) ** 2)
    gap = np.where(days > 1, (tenure - recency) / np.maximum(days - 1, 1), tenure)
    revenue = np.round(rng.lognormal(5.5, 1.4, n) * np.where(rng.random(n) < 0.03, -0.2, 1), 2)
    b2b = rng.random(n) < 0.3
    table = pd.DataFrame(
        {
            "recency_days": recency,
            "frequency": frequency,
            "frequency_days": days,
            "monetary_total": revenue,
            "monetary_mean": revenue / frequency,
            "tenure_days": tenure,
            "orders_per_month": frequency / np.maximum(tenure / 30.4, 1),
            "active_months": np.minimum(days, 24),
            "interpurchase_mean_days": gap,
            "interpurchase_median_days": gap,
            "interpurchase_cv": rng.random(n),
            "revenue_cv": np.where(rng.random(n) < 0.02, np.nan, rng.gamma(2.0, 0.8, n)),
            "revenue_growth": np.clip(rng.normal(0, 1.2, n), -2, 2),
            "revenue_last_period": rng.random(n) * 500,
            "revenue_previous_period": rng.random(n) * 500,
            "revenue_share": revenue / revenue.sum(),
            "revenue_last_quarter": rng.lognormal(7.5, 1.2, n) * (rng.random(n) < 0.6),
            "orders_last_quarter": rng.poisson(1.5, n).astype(float),
            "product_breadth": rng.integers(0, 8, n).astype(float),
            "category_breadth": rng.integers(0, 4, n).astype(float),
            "returns_rate": np.where(rng.random(n) < 0.7, 0.0, rng.random(n) * 0.6),
            "returned_orders": rng.poisson(0.4, n).astype(float),
            "region": rng.choice(["North", "South", "East", "West", "Central"], n),
            "channel": rng.choice(["online", "store", "sales_rep"], n),
            "customer_type": np.where(b2b, "B2B", "B2C"),
            "age": np.where(b2b, np.nan, rng.integers(16, 90, n)),
            "employee_count": np.where(b2b, rng.integers(1, 3000, n), np.nan),
            "true_segment": rng.choice(["x", "y"], n),
        },
        index=pd.Index([f"C{i:05d}" for i in range(n)], name="customer_id"),
    )
    table.loc[table.sample(n=20, random_state=1).index, "recency_days"] = np.nan
    return table


@pytest.fixture(scope="module")
def full_table() -> pd.DataFrame:
    return random_customers()


@pytest.fixture(scope="module")
def full_result(full_table):
    return classify(full_table)


def test_every_segments_md_scheme_ships_and_runs(full_result):
    assert list(default_schemes()) == [
        "frequency_tiers", "prospect_tiers", "abc", "abc_pareto", "xyz", "xyz_percentile",
        "abc_xyz", "rfm_bins", "rfm_segments", "bcg", "lifecycle", "lost_new",
        "lifecycle_personal", "spend_visits", "value_tiers", "value_potential",
        "product_tags", "behaviour_tags", "interest_tags", "age_bands", "geography",
        "firmographics",
    ]  # fmt: skip
    assert full_result.skipped.empty
    assert set(full_result.summaries) == set(default_schemes())
    for spec in default_schemes().values():
        assert "true_segment" not in " ".join(s.when for s in spec.segments)


def test_conservation_one_label_per_customer_and_revenue_to_the_cent(full_table, full_result):
    table = full_table
    total = table["monetary_total"].sum()
    assert full_result.labels.index.equals(table.index)
    assert full_result.labels.notna().all().all()
    for name, summary in full_result.summaries.items():
        spec = full_result.schemes[name]
        if spec.kind == "tags":
            tagged = full_result.tags[[s.name for s in spec.segments]]
            assert summary["customers"].iloc[:-1].tolist() == tagged.sum().tolist()
            assert summary["customers"].iloc[-1] == (~tagged.any(axis=1)).sum()
            continue
        labels = full_result.labels[name]
        assert summary["customers"].sum() == len(table), name
        assert summary["share"].sum() == pytest.approx(1.0), name
        assert abs(summary["revenue"].sum() - total) < 0.005, name
        assert summary["revenue_share"].sum() == pytest.approx(1.0), name
        assert summary["segment"].tolist() == labels.cat.categories.tolist(), name
        counts = labels.value_counts(sort=False)
        assert summary.set_index("segment")["customers"].equals(
            counts.rename_axis("segment").rename("customers")
        ), name


def test_summary_columns_and_segment_order(full_result):
    summary = full_result.summaries["lifecycle"]
    assert summary.columns.tolist() == [
        "segment", "customers", "share", "revenue", "revenue_share", "mean_recency_days",
        "description", "action",
    ]  # fmt: skip
    assert summary["segment"].tolist() == [
        "active",
        "inactive",
        "sleeping",
        "closed",
        "unclassified",
    ]
    assert summary.set_index("segment").loc["unclassified", "customers"] == 20
    rfm = full_result.summaries["rfm_segments"]
    assert [c for c in rfm.columns if c.startswith("mean_")] == [
        "mean_recency_days", "mean_frequency", "mean_monetary_total",
        "mean_r_score", "mean_f_score", "mean_m_score",
    ]  # fmt: skip


def test_summary_table_stacks_every_scheme(full_result):
    stacked = full_result.summary_table()
    assert stacked.columns.tolist()[:2] == ["scheme", "segment"]
    assert set(stacked["scheme"]) == set(full_result.summaries)


def test_deterministic_and_independent_of_row_order(full_table, full_result):
    table = full_table
    shuffled = classify(table.sample(frac=1.0, random_state=3))
    pd.testing.assert_frame_equal(shuffled.labels.loc[table.index], full_result.labels)
    pd.testing.assert_frame_equal(shuffled.tags.loc[table.index], full_result.tags)


def test_warnings_are_data(full_result):
    warnings = full_result.warnings
    assert warnings.columns.tolist() == ["scheme", "segment", "kind", "message"]
    assert set(warnings["kind"]) <= {
        "empty", "small", "large", "too_many_segments", "concentration", "note", "unknown_ids",
    }  # fmt: skip
    kinds = warnings.groupby("scheme")["kind"].agg(set)
    assert "too_many_segments" in kinds["rfm_bins"]
    assert "empty" in kinds["frequency_tiers"]  # nobody is blacklisted


def test_segment_size_warnings():
    table = customers({f"c{i:03d}": {"recency_days": 10.0} for i in range(60)})
    table.loc["c000", "recency_days"] = 400.0
    warnings = classify(table, {"schemes": ["lifecycle"]}).warnings
    assert warnings[["segment", "kind"]].to_numpy().tolist() == [
        ["active", "large"],
        ["inactive", "empty"],
        ["sleeping", "empty"],
        ["closed", "small"],
    ]
    assert "'closed' holds 1.7% of customers (1), under 2%" in warnings["message"].iloc[3]


# --- Skipped schemes, explicit requests, config ------------------------------------------------


def test_absent_columns_skip_default_schemes_with_the_reason():
    table = random_customers(50).drop(
        columns=["age", "employee_count", "channel", "region", "product_breadth"]
    )
    result = classify(table)
    assert result.skipped.to_numpy().tolist() == [
        ["prospect_tiers", "needs column 'employee_count', which the customer table does not have"],
        ["interest_tags", "needs column 'channel', which the customer table does not have"],
        ["age_bands", "needs column 'age', which the customer table does not have"],
        ["geography", "needs column 'region or country', which the customer table does not have"],
        ["firmographics", "needs column 'employee_count', which the customer table does not have"],
    ]
    assert "age_bands" not in result.labels and "abc" in result.labels
    assert result.tags.columns[0] == "1 product"  # categories stand in for products


def test_a_scheme_asked_for_explicitly_raises_naming_the_column():
    table = customers({"a": {"ages": 30.0}})
    with pytest.raises(UnknownColumnError) as caught:
        classify(table, {"schemes": ["age_bands"]})
    message = str(caught.value)
    assert caught.value.column == "age"
    assert message.startswith("scheme 'age_bands': unknown column 'age'")
    assert "did you mean 'ages'?" in message
    assert (
        "Known columns: ages, monetary_total, blacklist, competitor_customer, occasional."
        in message
    )


def test_scheme_added_in_yaml_only_works_end_to_end():
    config = yaml.safe_load(
        """
        drop: [rfm_bins]
        schemes: [lifecycle]
        add:
          loyalty_tiers:
            title: Frequency x monetary tiers written by an analyst.
            params: {gold_orders: 10, gold_revenue: 1000, silver_orders: 3}
            segments:
              - name: gold
                when: frequency >= gold_orders and monetary_total >= gold_revenue
                description: Frequent and big.
                action: Personal account manager.
              - name: silver
                when: frequency >= silver_orders or region in ['North']
                description: Regular, or in the pilot region.
            fallback: bronze
        params:
          loyalty_tiers: {gold_revenue: 500}
        """
    )
    table = customers(
        {
            "g": {"frequency": 10.0, "monetary_total": 500.0, "region": "South"},
            "s": {"frequency": 3.0, "monetary_total": 5000.0, "region": "South"},
            "n": {"frequency": 1.0, "monetary_total": 20.0, "region": "North"},
            "b": {"frequency": 2.0, "monetary_total": 20.0, "region": None},
        },
        recency_days=10.0,
    )
    result = classify(table, config)
    assert result.labels.columns.tolist() == ["lifecycle", "loyalty_tiers"]
    assert result.labels["loyalty_tiers"].astype(str).to_dict() == {
        "g": "gold", "s": "silver", "n": "silver", "b": "bronze",
    }  # fmt: skip
    summary = result.summaries["loyalty_tiers"]
    assert summary[["segment", "customers", "revenue"]].to_numpy().tolist() == [
        ["gold", 1, 500.0],
        ["silver", 2, 5020.0],
        ["bronze", 1, 20.0],
    ]
    assert summary["action"].iloc[0] == "Personal account manager."
    assert [c for c in summary.columns if c.startswith("mean_")] == [
        "mean_frequency", "mean_monetary_total",
    ]  # fmt: skip
    assert result.schemes["loyalty_tiers"].params["gold_revenue"] == 500


def test_an_added_scheme_naming_an_unknown_column_is_an_error():
    config = {"add": {"mine": {"segments": [{"name": "x", "when": "frequncy > 1"}]}}}
    with pytest.raises(UnknownColumnError, match="did you mean 'frequency'"):
        classify(customers({"a": {"frequency": 2.0}}), config)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"schemes": ["abcd"]}, "schemes: unknown scheme 'abcd'; did you mean 'abc'?"),
        ({"drop": ["lifecyle"]}, "drop: unknown scheme 'lifecyle'; did you mean 'lifecycle'?"),
        (
            {"params": {"abc": {"a_shar": 0.7}}},
            "unknown parameter 'a_shar'; did you mean 'a_share'?",
        ),
        ({"params": {"abc": {"a_share": "high"}}}, "expected a number like 0.8, got 'high'"),
        ({"params": {"lifecycle": {"active_days": True}}}, "expected a number like 91"),
        ({"sheme": ["abc"]}, "heuristics: unknown key 'sheme'"),
        ({"add": {"abc": {"label_from": "x"}}}, "'abc' is a default scheme"),
        ({"add": {"m": {"segments": [{"name": "x", "when": "a.b"}]}}}, "attribute access 'a.b'"),
        ({"add": {"m": {"segments": [{"name": "x", "when": "y > 1", "colour": 1}]}}}, "colour"),
        (
            {"add": {"m": {"segments": [{"name": "x", "when": "x > 1"}], "fallback": "x"}}},
            "fallback",
        ),
        (
            {"add": {"m": {"derive": [{"use": "quantil_score"}], "label_from": "x"}}},
            "quantile_score",
        ),
        ({"add": {"m": {"params": {"__x": 1}, "label_from": "x"}}}, "parameter name '__x'"),
        ({"flags": {"blacklist": {"column": "a", "file": "b"}}}, "exactly one of"),
    ],
)
def test_config_errors_name_the_key_and_suggest(config, message):
    with pytest.raises(ConfigError) as caught:
        classify(customers({"a": {"x": 1.0, "y": 1.0}}), config)
    assert message in str(caught.value)


def test_params_and_columns_share_one_namespace():
    table = customers({"a": {"recency_days": 5.0, "active_days": 3.0}})
    with pytest.raises(ConfigError, match="parameter 'active_days' is also a column"):
        classify(table, {"schemes": ["lifecycle"]})
    clash = customers({"a": {"monetary_total": 5.0, "cum_share": 1.0}})
    with pytest.raises(ConfigError, match="derived column 'cum_share'"):
        classify(clash, {"schemes": ["abc"]})


def test_condition_type_errors_name_the_scheme_and_segment():
    table = customers({"a": {"age": "thirty"}})
    with pytest.raises(ConfigError, match="scheme 'age_bands', segment '0-14'"):
        classify(table, {"schemes": ["age_bands"]})


def test_input_contract():
    with pytest.raises(DataError, match="no customers"):
        classify(customers({"a": {}}).iloc[:0])
    with pytest.raises(SchemaError, match="no 'monetary_total' column"):
        classify(pd.DataFrame({"revenue": [1.0]}))
    twice = pd.DataFrame({"monetary_total": [1.0, 2.0]}, index=["a", "a"])
    with pytest.raises(DataError, match="repeated customer_id"):
        classify(twice)


def test_config_is_frozen_and_resolves_overrides():
    config = HeuristicsConfig(schemes=["abc", "xyz"], params={"abc": {"b_share": 0.9}})
    with pytest.raises(Exception, match="frozen"):
        config.drop = ("abc",)  # type: ignore[misc]
    schemes = resolve_schemes(config)
    assert list(schemes) == ["abc", "xyz"]
    assert schemes["abc"].params == {"a_share": 0.8, "b_share": 0.9}
    assert default_schemes()["abc"].params["b_share"] == 0.95  # defaults untouched


def test_derivation_thresholds_are_overridden_through_params():
    table = customers(
        {c: {"recency_days": r, "frequency": 1.0} for c, r in zip("ab", [5.0, 40.0], strict=True)}
    )
    assert run(table, "rfm_bins", recency_edges=[50, 60, 90])["b"].startswith("R4")


def test_rules_table_lists_conditions_and_the_fallback():
    table = rules_table(default_schemes()["abc"])
    assert table.to_numpy().tolist()[0] == [
        "A",
        "cum_share_before < a_share",
        "The few customers making the first 80 % of revenue.",
        None,
    ]
    assert table["condition"].iloc[-1] == "(otherwise)"


def test_scheme_specs_validate_their_shape():
    with pytest.raises(ValueError, match="either segments"):
        SchemeSpec()
    with pytest.raises(ValueError, match="refers to \\$edges"):
        SchemeSpec(
            derive=[
                {"use": "fixed_bins", "args": {"column": "x", "edges": "$edges", "output": "b"}}
            ],
            label_from="b",
        )


def test_migration_between_two_reports():
    before = pd.Series(
        pd.Categorical(["VIP", "Segment 1", "Segment 1"], categories=["VIP", "Segment 1"]),
        index=["a", "b", "c"],
    )
    after = pd.Series(["Segment 1", "VIP", "VIP"], index=["a", "b", "d"])
    moved = migration(before, after)
    assert moved.index.tolist() == ["VIP", "Segment 1", "(new)"]
    assert moved.columns.tolist() == ["Segment 1", "VIP", "(gone)"]
    assert moved.to_numpy().tolist() == [[1, 0, 0], [0, 1, 1], [0, 1, 0]]


def test_the_input_table_is_not_modified(full_table, full_result):
    assert "blacklist" not in full_table.columns
    assert full_result.flags["source"].tolist() == ["not configured (all false)"] * 3
