import datetime as dt

import pandas as pd
import pytest

from seglab.errors import DataError
from seglab.features import FEATURES, compute_features

AS_OF = dt.date(2024, 1, 31)


def test_features_on_a_hand_made_table(hand_transactions):
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
    assert list(got.columns) == FEATURES.names()


def test_as_of_before_first_transaction(hand_transactions):
    with pytest.raises(
        DataError,
        match=r"no transactions on or before as_of 2023-12-31; the first is on 2024-01-01",
    ):
        compute_features(hand_transactions, dt.date(2023, 12, 31))


def test_every_feature_is_documented():
    for name in FEATURES:
        feature = FEATURES.get(name)
        assert feature.definition and feature.unit and feature.dimension
