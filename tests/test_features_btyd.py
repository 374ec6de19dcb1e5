"""btyd_* features against lifetimes' summary_data_from_transaction_data (the test oracle)."""

import datetime as dt

import pandas as pd
import pytest

from seglab.data import reading as io
from seglab.data import synth
from seglab.data.settings import DataConfig
from seglab.features import compute_features

lifetimes_utils = pytest.importorskip("lifetimes.utils")

BTYD = {
    "btyd_frequency": "frequency",
    "btyd_recency": "recency",
    "btyd_T": "T",
    "btyd_monetary": "monetary_value",
}


def _compare(transactions, purchases: pd.DataFrame, as_of: dt.date) -> None:
    ours = compute_features(transactions, as_of, list(BTYD)).rename(columns=BTYD)
    oracle = lifetimes_utils.summary_data_from_transaction_data(
        purchases,
        "customer_id",
        "order_date",
        monetary_value_col="amount",
        observation_period_end=pd.Timestamp(as_of),
        freq="D",
    )
    oracle.index.name = "customer_id"
    # The same customers on both sides (not the oracle cut down to ours, which cannot fail).
    assert sorted(map(str, ours.index)) == sorted(map(str, oracle.index))
    assert len(ours) == len(purchases["customer_id"].unique())
    oracle = oracle.loc[ours.index]
    pd.testing.assert_frame_equal(
        ours, oracle[ours.columns], check_exact=False, rtol=1e-9, check_index_type=False
    )


def test_btyd_matches_lifetimes_on_synthetic_data():
    transactions = synth.generate(1_500, seed=5).transactions
    as_of = dt.date(2026, 6, 30)
    in_scope = transactions[transactions["order_date"] < pd.Timestamp(as_of) + pd.Timedelta(days=1)]
    _compare(transactions, in_scope, as_of)


@pytest.mark.realdata
def test_btyd_matches_lifetimes_on_online_retail(online_retail_path):
    loaded = io.load(DataConfig(transactions=online_retail_path, preset="uci_online_retail"))
    purchases = loaded.transactions.filter(~loaded.transactions.is_return).to_pandas()
    _compare(loaded.transactions, purchases, dt.date(2011, 12, 9))
