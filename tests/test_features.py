import datetime as dt

import pandas as pd
import pytest

from seglab.errors import ConfigError, DataError, SeglabWarning
from seglab.features import (
    DEFAULT_FEATURE_SETS,
    FEATURES,
    FeaturesConfig,
    compute_features,
    resolve_feature_set,
)

AS_OF = dt.date(2024, 1, 31)


def test_first_features_on_a_hand_made_table(hand_transactions):
    # A: orders on 01-01 (10 + 20) and 01-15 (50). B: 01-10 (100); its 02-05 order is after as_of.
    got = compute_features(hand_transactions, AS_OF)
    expected = pd.DataFrame(
        {
            "recency_days": [16.0, 21.0],
            "frequency": [2.0, 1.0],
            "monetary_total": [80.0, 100.0],
            "monetary_mean": [40.0, 100.0],
            "tenure_days": [30.0, 21.0],
        },
        index=pd.Index(["A", "B"], name="customer_id"),
    )
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_index_type=False)


def _rich_log() -> pd.DataFrame:
    rows = [
        # customer, date, order, product, category, amount, is_return
        ("A", "2024-01-10 09:00", "o1", "P1", "x", 30.0, False),
        ("A", "2024-01-10 09:00", "o1", "P2", "y", 20.0, False),
        ("A", "2024-03-10 10:00", "o2", "P1", "x", 100.0, False),
        ("A", "2024-05-20 11:00", "o3", "P3", "y", 40.0, False),
        ("A", "2024-05-20 15:00", "o4", "P1", "x", 10.0, False),
        ("A", "2024-05-25 12:00", "C1", "P3", "y", -25.0, True),
        ("A", "2024-06-25 23:59", "o5", "P2", "y", 60.0, False),
        ("B", "2024-06-01 08:00", "o6", "P1", "x", 80.0, False),
        ("B", "2024-07-03 08:00", "o7", "P1", "x", 500.0, False),
        ("C", "2024-04-01 08:00", "C2", "P1", "x", -10.0, True),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "customer_id",
            "order_date",
            "order_id",
            "product_id",
            "category",
            "amount",
            "is_return",
        ],
    )
    return frame.assign(order_date=pd.to_datetime(frame["order_date"]))


def test_every_feature_on_a_hand_made_log():
    """Expected values worked out by hand (as_of 2024-06-30, growth 2 months, recent 30 days).

    A buys on days 01-10 (50), 03-10 (100), 05-20 (two orders: 40 + 10) and 06-25 (60); returns 25
    on 05-25. Day-of-year (leap year): 10, 70, 141, 177; as_of is 182. B buys once, on 06-01 (80);
    its 07-03 order is after as_of. C only returned goods: out of scope.
    """
    options = FeaturesConfig(growth_months=2, recent_days=30)
    with pytest.warns(SeglabWarning, match="1 customer"):
        got = compute_features(_rich_log(), dt.date(2024, 6, 30), options=options)
    gap_std = ((60 - 167 / 3) ** 2 + (71 - 167 / 3) ** 2 + (36 - 167 / 3) ** 2) / 3
    monthly_mean = 260 / 6  # Jan 50, Feb 0, Mar 100, Apr 0, May 50, Jun 60
    monthly_var = (50**2 + 100**2 + 50**2 + 60**2) / 6 - monthly_mean**2
    expected = {
        "recency_days": (5, 29),
        "frequency": (5, 1),
        "frequency_days": (4, 1),
        "monetary_total": (235, 80),  # 260 bought - 25 returned
        "monetary_mean": (47, 80),
        "tenure_days": (172, 29),
        "orders_per_month": (5 * 30.4375 / 172, 1.0),  # B's tenure counts as one month
        "active_months": (4, 1),
        "interpurchase_mean_days": (167 / 3, 29),  # gaps 60, 71, 36; B: its tenure
        "interpurchase_median_days": (60, 29),
        "interpurchase_cv": (gap_std**0.5 / (167 / 3), 0),
        "revenue_cv": (monthly_var**0.5 / monthly_mean, 0),
        "revenue_last_period": (110, 80),  # May-Jun
        "revenue_previous_period": (100, 0),  # Mar-Apr
        "revenue_growth": (2 * 10 / 210, 2),
        "revenue_last_quarter": (60, 80),  # since 06-01
        "orders_last_quarter": (1, 1),
        "revenue_share": (235 / 315, 80 / 315),
        "product_breadth": (3, 1),
        "category_breadth": (2, 1),
        "returns_rate": (25 / 260, 0),
        "returned_orders": (1, 0),
        "btyd_frequency": (3, 0),
        "btyd_recency": (167, 0),
        "btyd_T": (172, 29),
        "btyd_monetary": ((100 + 50 + 60) / 3, 0),
    }
    assert set(expected) == set(FEATURES.names())
    assert got.index.tolist() == ["A", "B"]
    for name, values in expected.items():
        assert got[name].tolist() == pytest.approx(values, rel=1e-12), name


def test_look_back_window():
    # Two months up to 06-30: A keeps 05-20 (two orders), the 05-25 return and 06-25.
    options = FeaturesConfig(window_months=2)
    got = compute_features(
        _rich_log(),
        dt.date(2024, 6, 30),
        ["frequency", "tenure_days", "monetary_total"],
        options=options,
    )
    assert got.loc["A"].tolist() == [3.0, 41.0, 85.0]


def test_window_without_purchases():
    # April holds only C's return.
    with pytest.raises(
        DataError, match="no purchases in the 1-month window up to as_of 2024-04-30"
    ):
        compute_features(_rich_log(), dt.date(2024, 4, 30), options=FeaturesConfig(window_months=1))


def test_as_of_day_itself_is_included(hand_transactions):
    got = compute_features(hand_transactions, dt.date(2024, 2, 5), ["frequency", "recency_days"])
    assert got.loc["B", "frequency"] == 2.0
    assert got.loc["B", "recency_days"] == 0.0


def test_without_order_id_frequency_counts_purchase_days(hand_transactions):
    # A's two lines of 01-01 are one purchase day; 01-15 another.
    got = compute_features(hand_transactions.drop(columns="order_id"), AS_OF, ["frequency"])
    assert got["frequency"].tolist() == [2.0, 1.0]


def test_rows_sorted_by_customer_and_float64(hand_transactions):
    shuffled = hand_transactions.sample(frac=1.0, random_state=3)
    got = compute_features(shuffled, AS_OF)
    assert got.index.tolist() == ["A", "B"]
    assert (got.dtypes == "float64").all()
    assert list(got.columns) == [n for n in FEATURES.names() if not FEATURES.get(n).needs]


def test_feature_needing_an_absent_column(hand_transactions):
    with pytest.raises(ConfigError, match=r"'product_breadth' needs the column\(s\) product_id"):
        compute_features(hand_transactions, AS_OF, ["product_breadth"])


def test_as_of_before_first_transaction(hand_transactions):
    with pytest.raises(
        DataError,
        match=r"no transactions on or before as_of 2023-12-31; the first is on 2024-01-01",
    ):
        compute_features(hand_transactions, dt.date(2023, 12, 31))


def test_feature_sets():
    assert resolve_feature_set("rfm") == ("recency_days", "frequency", "monetary_total")
    assert resolve_feature_set("mine", {"mine": ["tenure_days"]}) == ("tenure_days",)
    with pytest.raises(ConfigError, match=r"unknown feature set 'rmf'.*Known: behaviour, full"):
        resolve_feature_set("rmf")
    for members in DEFAULT_FEATURE_SETS.values():
        assert all(name in FEATURES for name in members)


def test_every_feature_is_documented():
    dimensions = {
        "recency",
        "frequency",
        "monetary",
        "tenure",
        "regularity",
        "trend",
        "breadth",
        "returns",
    }
    for name in FEATURES:
        feature = FEATURES.get(name)
        assert feature.definition and feature.unit
        assert feature.dimension in dimensions


def test_same_inputs_give_the_same_bytes():
    # Money is summed as exact decimals, so thread scheduling cannot change the last bits.
    from seglab.data import synth
    from seglab.run.cache import frame_fingerprint

    transactions = synth.generate(3_000, seed=4).transactions
    runs = {
        frame_fingerprint(compute_features(transactions, dt.date(2026, 10, 31))) for _ in range(3)
    }
    assert len(runs) == 1
