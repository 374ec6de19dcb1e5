"""Tests of seglab.synth, the seeded synthetic transaction generator."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from seglab.data.archetypes import ARCHETYPES, CATEGORIES
from seglab.data.synth import (
    SyntheticData,
    catalogue,
    generate,
    write,
    write_parts,
)
from seglab.errors import ConfigError

START, END = "2024-11-01", "2026-10-31"
END_OF_WINDOW = pd.Timestamp(END) + pd.Timedelta(hours=23, minutes=59)
TX_COLUMNS = [
    "order_id",
    "customer_id",
    "order_date",
    "product_id",
    "category",
    "quantity",
    "unit_price",
    "amount",
]
CUSTOMER_COLUMNS = [
    "customer_id",
    "region",
    "channel",
    "customer_type",
    "age",
    "employee_count",
    "true_segment",
    "industry",
    "company_size",
]
STRING_TX = ["order_id", "customer_id", "product_id", "category"]
STRING_CUSTOMERS = ["customer_id", "region", "channel", "customer_type", "true_segment"]
#: SHA-256 of generate(2_000, seed=0) as CSV before industry and company_size were added (the
#: customers' earlier columns, and the transactions): new attributes must not move them.
EARLIER_CUSTOMERS = "638efee1837ef43729b6de46676ae8c5cfb5afe7ae71844ced747bc34d7bf971"
EARLIER_TRANSACTIONS = "e96509f72c8821b635b8e97d2c1dbb94d61ec360ff95b0193bc58981a51dcf8d"


@pytest.fixture(scope="module")
def data() -> SyntheticData:
    return generate(5_000, seed=7)


@pytest.fixture(scope="module")
def per_customer(data: SyntheticData) -> pd.DataFrame:
    """Orders, first/last purchase and revenue per customer, joined with the true segment."""
    tx = data.transactions
    stats = tx.groupby("customer_id").agg(
        first=("order_date", "min"),
        last=("order_date", "max"),
        orders=("order_id", "nunique"),
        revenue=("amount", "sum"),
    )
    return stats.join(data.customers.set_index("customer_id")["true_segment"])


def _is_string(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series) and not isinstance(
        series.dtype, pd.CategoricalDtype
    )


# ---------------------------------------------------------------------------------------------
# Determinism


def test_same_seed_gives_identical_frames_and_files(tmp_path) -> None:
    a = generate(300, seed=11)
    b = generate(300, seed=11)
    pd.testing.assert_frame_equal(a.transactions, b.transactions)
    pd.testing.assert_frame_equal(a.customers, b.customers)

    paths_a = write(a, tmp_path / "a")
    paths_b = write(b, tmp_path / "nested" / "b")
    assert set(paths_a) == {"transactions", "customers"}
    for key in paths_a:
        assert paths_a[key].name == f"{key}.parquet"
        digest_a = hashlib.sha256(paths_a[key].read_bytes()).hexdigest()
        digest_b = hashlib.sha256(paths_b[key].read_bytes()).hexdigest()
        assert digest_a == digest_b


def test_written_files_read_back_unchanged(tmp_path) -> None:
    data = generate(200, seed=3)
    paths = write(data, str(tmp_path))
    pd.testing.assert_frame_equal(pd.read_parquet(paths["transactions"]), data.transactions)
    pd.testing.assert_frame_equal(pd.read_parquet(paths["customers"]), data.customers)


def test_different_seed_gives_different_data() -> None:
    a = generate(300, seed=1)
    b = generate(300, seed=2)
    assert not a.transactions.equals(b.transactions)
    assert not a.customers["true_segment"].equals(b.customers["true_segment"])


# ---------------------------------------------------------------------------------------------
# Schema


def test_transaction_schema(data: SyntheticData) -> None:
    tx = data.transactions
    assert list(tx.columns) == TX_COLUMNS
    assert isinstance(tx.index, pd.RangeIndex)
    assert tx.index.start == 0
    for col in STRING_TX:
        assert _is_string(tx[col]), col
    assert tx["order_date"].dtype.kind == "M"
    assert tx["order_date"].dt.tz is None
    assert tx["quantity"].dtype == np.int64
    assert tx["unit_price"].dtype == np.float64
    assert tx["amount"].dtype == np.float64
    assert not tx.isna().any().any()
    assert tx["order_id"].str.fullmatch(r"O\d{8,}").all()
    assert tx["customer_id"].str.fullmatch(r"C\d{7}").all()
    assert tx["product_id"].str.fullmatch(r"P\d{4}").all()
    assert set(tx["category"]) <= set(CATEGORIES)
    assert (tx["order_date"] == tx["order_date"].dt.floor("min")).all()


def test_transactions_sorted_and_orders_numbered_chronologically(data: SyntheticData) -> None:
    tx = data.transactions
    resorted = tx.sort_values(["order_date", "order_id", "product_id"], ignore_index=True)
    pd.testing.assert_frame_equal(tx, resorted)
    orders = tx.drop_duplicates("order_id")
    assert orders["order_id"].is_monotonic_increasing
    assert orders["order_date"].is_monotonic_increasing
    assert orders["order_id"].iloc[0] == "O00000001"
    # One customer and one date per order, one line per product within an order.
    assert tx.drop_duplicates(["order_id", "customer_id", "order_date"])["order_id"].is_unique
    assert not tx.duplicated(["order_id", "product_id"]).any()


def test_customer_schema(data: SyntheticData) -> None:
    cu = data.customers
    assert list(cu.columns) == CUSTOMER_COLUMNS
    assert isinstance(cu.index, pd.RangeIndex)
    for col in STRING_CUSTOMERS:
        assert _is_string(cu[col]), col
    assert cu["age"].dtype == np.float64
    assert cu["employee_count"].dtype == np.float64
    assert cu["customer_id"].is_unique
    assert cu["customer_id"].is_monotonic_increasing
    assert len(cu) == 5_000
    assert set(cu["region"]) == {"North", "South", "East", "West", "Central"}
    assert set(cu["channel"]) == {"online", "store", "sales_rep"}
    assert set(cu["true_segment"]) == {a.name for a in ARCHETYPES}


def test_business_attributes_leave_the_earlier_data_unchanged() -> None:
    data = generate(2_000, seed=0)
    earlier = data.customers[CUSTOMER_COLUMNS[:-2]].to_csv(index=False).encode()
    assert hashlib.sha256(earlier).hexdigest() == EARLIER_CUSTOMERS
    transactions = data.transactions.to_csv(index=False).encode()
    assert hashlib.sha256(transactions).hexdigest() == EARLIER_TRANSACTIONS


def test_business_attributes(data: SyntheticData) -> None:
    cu = data.customers
    b2b = cu["customer_type"] == "B2B"
    for column in ("industry", "company_size"):
        assert _is_string(cu[column]), column
        assert cu.loc[~b2b, column].isna().all() and cu.loc[b2b, column].notna().all()
    employees = cu.loc[b2b, "employee_count"]
    bands = pd.cut(employees, [0, 9, 49, 249, np.inf], labels=["micro", "small", "medium", "large"])
    assert (cu.loc[b2b, "company_size"] == bands.astype(str)).all()
    # The industry follows the archetype: bulk buyers are mostly shops and hotels.
    industry = cu.loc[b2b].groupby("true_segment")["industry"].value_counts(normalize=True)
    assert industry["b2b_bulk"][["retail", "hospitality"]].sum() > 0.7
    assert industry["vip"].idxmax() == "professional_services"
    assert industry["regular"].idxmax() == "education"


def test_customer_attributes(data: SyntheticData) -> None:
    cu = data.customers
    b2b = cu["customer_type"] == "B2B"
    assert set(cu["customer_type"]) == {"B2B", "B2C"}
    assert b2b[cu["true_segment"] == "b2b_bulk"].all()
    assert (~b2b[cu["true_segment"] != "b2b_bulk"]).mean() > 0.8
    assert cu.loc[b2b, "age"].isna().all()
    assert cu.loc[~b2b, "age"].between(18, 85).all()
    assert cu.loc[~b2b, "employee_count"].isna().all()
    employees = cu.loc[b2b, "employee_count"]
    assert employees.between(1, 5000).all()
    assert employees.max() > 10 * employees.median()  # heavy tail


def test_referential_integrity_and_values(data: SyntheticData) -> None:
    tx, cu = data.transactions, data.customers
    assert set(tx["customer_id"]) == set(cu["customer_id"])  # both directions
    assert tx["order_date"].min() >= pd.Timestamp(START)
    assert tx["order_date"].max() <= END_OF_WINDOW
    assert (tx["quantity"] >= 1).all()
    assert (tx["unit_price"] > 0).all()
    np.testing.assert_array_equal(
        tx["amount"].to_numpy(), np.round(tx["quantity"].to_numpy() * tx["unit_price"], 2)
    )
    # A product always has the same category and unit price, taken from the catalogue.
    cat = catalogue().set_index("product_id")
    merged = tx[["product_id", "category", "unit_price"]].merge(
        cat, left_on="product_id", right_index=True, suffixes=("", "_c")
    )
    assert len(merged) == len(tx)
    assert (merged["category"] == merged["category_c"]).all()
    assert (merged["unit_price"] == merged["unit_price_c"]).all()


def test_catalogue() -> None:
    cat = catalogue()
    assert list(cat.columns) == ["product_id", "category", "unit_price"]
    assert cat["product_id"].is_unique
    assert 150 <= len(cat) <= 250
    assert set(cat["category"]) == set(CATEGORIES)
    assert (cat["unit_price"] > 0).all()
    pd.testing.assert_frame_equal(cat, catalogue())


# ---------------------------------------------------------------------------------------------
# Realism


def test_archetypes_are_consistent() -> None:
    names = [a.name for a in ARCHETYPES]
    assert names == [
        "vip",
        "regular",
        "occasional",
        "bargain_hunter",
        "lapsed",
        "new",
        "b2b_bulk",
    ]
    assert sum(a.share for a in ARCHETYPES) == pytest.approx(1.0)
    assert all(a.description.endswith(".") for a in ARCHETYPES)


def test_revenue_is_concentrated(per_customer: pd.DataFrame) -> None:
    revenue = np.sort(per_customer["revenue"].to_numpy())[::-1]
    top = revenue[: round(0.2 * len(revenue))].sum() / revenue.sum()
    assert 0.5 <= top <= 0.9


def test_archetype_counts_match_shares(data: SyntheticData) -> None:
    counts = data.customers["true_segment"].value_counts()
    n = len(data.customers)
    for archetype in ARCHETYPES:
        assert abs(counts[archetype.name] - archetype.share * n) <= 1, archetype.name


def test_lapsed_and_new_timing(per_customer: pd.DataFrame) -> None:
    end = pd.Timestamp(END)
    lapsed = per_customer[per_customer["true_segment"] == "lapsed"]
    assert (lapsed["last"] <= end - pd.DateOffset(months=6)).all()
    new = per_customer[per_customer["true_segment"] == "new"]
    assert (new["first"] >= end - pd.Timedelta(days=91)).all()
    others = per_customer[~per_customer["true_segment"].isin(["lapsed", "bargain_hunter"])]
    assert (others["last"] >= end - pd.Timedelta(days=365)).mean() > 0.95


def test_order_frequency_ranks_archetypes(per_customer: pd.DataFrame) -> None:
    median = per_customer.groupby("true_segment")["orders"].median()
    assert median["vip"] > median["regular"] > median["occasional"]
    assert median["occasional"] > median["bargain_hunter"]
    bargain = per_customer.loc[per_customer["true_segment"] == "bargain_hunter", "orders"]
    assert bargain.between(1, 2).all()


def test_b2b_baskets_are_largest(data: SyntheticData) -> None:
    tx = data.transactions.merge(data.customers[["customer_id", "true_segment"]])
    orders = tx.groupby(["true_segment", "order_id"])["amount"].agg(["sum", "size"])
    median = orders.groupby("true_segment").median()
    assert median["sum"].idxmax() == "b2b_bulk"
    assert median["size"].idxmax() == "b2b_bulk"
    assert median.loc["vip", "sum"] > median.loc["bargain_hunter", "sum"]


def test_archetypes_are_recoverable_by_kmeans(data: SyntheticData) -> None:
    """k-means on log-standardised RFM + tenure features finds the archetypes again."""
    cluster = pytest.importorskip("sklearn.cluster")
    metrics = pytest.importorskip("sklearn.metrics")
    tx = data.transactions
    end = pd.Timestamp(END) + pd.Timedelta(days=1)
    orders = tx.groupby(["customer_id", "order_id"]).agg(
        date=("order_date", "first"), value=("amount", "sum")
    )
    rfm = orders.groupby("customer_id").agg(
        first=("date", "min"),
        last=("date", "max"),
        frequency=("value", "size"),
        monetary_total=("value", "sum"),
    )
    rfm["monetary_mean"] = rfm["monetary_total"] / rfm["frequency"]
    rfm["recency_days"] = (end - rfm["last"]).dt.total_seconds() / 86_400
    rfm["tenure_days"] = (end - rfm["first"]).dt.total_seconds() / 86_400
    cols = ["recency_days", "frequency", "monetary_total", "monetary_mean", "tenure_days"]
    x = np.log1p(rfm[cols].to_numpy(dtype=float))
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    labels = cluster.KMeans(n_clusters=7, n_init=10, random_state=0).fit_predict(x)
    truth = data.customers.set_index("customer_id").loc[rfm.index, "true_segment"]
    assert metrics.adjusted_rand_score(truth, labels) >= 0.6


# ---------------------------------------------------------------------------------------------
# Arguments and edge cases


@pytest.mark.parametrize("n", [0, -5])
def test_n_customers_must_be_positive(n: int) -> None:
    with pytest.raises(ConfigError, match=r"n_customers.*" + str(n)):
        generate(n)


def test_n_customers_must_be_integer() -> None:
    with pytest.raises(ConfigError, match="n_customers"):
        generate(2.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("start", "end"), [("2026-01-01", "2025-01-01"), ("2025-03-01", "2025-03-01")]
)
def test_start_must_be_before_end(start: str, end: str) -> None:
    with pytest.raises(ConfigError, match=rf"start.*{start}.*end.*{end}"):
        generate(10, start=start, end=end)


@pytest.mark.parametrize("arg", ["start", "end"])
def test_unparseable_date(arg: str) -> None:
    with pytest.raises(ConfigError, match=rf"{arg}.*not-a-date"):
        generate(10, **{arg: "not-a-date"})


def test_seed_must_be_non_negative_integer() -> None:
    with pytest.raises(ConfigError, match="seed"):
        generate(10, seed=-1)


@pytest.mark.parametrize("n", [1, 7])
def test_small_n(n: int) -> None:
    data = generate(n, seed=5)
    assert len(data.customers) == n
    assert set(data.transactions["customer_id"]) == set(data.customers["customer_id"])
    if n == 7:
        assert sorted(data.customers["true_segment"]) == sorted(a.name for a in ARCHETYPES)


def test_short_window_stays_inside() -> None:
    data = generate(200, seed=2, start="2026-10-30", end="2026-10-31")
    dates = data.transactions["order_date"]
    assert dates.min() >= pd.Timestamp("2026-10-30")
    assert dates.max() <= pd.Timestamp("2026-10-31 23:59")
    assert data.transactions["customer_id"].nunique() == 200


def test_parts_number_customers_and_orders_on_and_repeat_exactly(tmp_path) -> None:
    def write_three_parts(folder):
        return write_parts(250, folder / "tx", folder / "customers.parquet", part_customers=100,
                           seed=2, progress=False)  # fmt: skip

    paths = write_three_parts(tmp_path / "a")
    assert sorted(p.name for p in paths["transactions"].iterdir()) == [
        "part-00000.parquet", "part-00001.parquet", "part-00002.parquet"
    ]  # fmt: skip
    lines = pd.read_parquet(paths["transactions"])
    customers = pd.read_parquet(paths["customers"])
    assert customers["customer_id"].tolist() == [f"C{i:07d}" for i in range(1, 251)]
    assert set(lines["customer_id"]) <= set(customers["customer_id"])
    owners = lines.groupby("order_id")["customer_id"].nunique()
    assert (owners == 1).all()  # an order id never repeats in another part
    numbers = lines["order_id"].str[1:].astype(int).drop_duplicates().sort_values()
    assert numbers.tolist() == list(range(1, len(numbers) + 1))
    again = write_three_parts(tmp_path / "b")
    pd.testing.assert_frame_equal(pd.read_parquet(again["transactions"]), lines)
    assert not (tmp_path / "a" / "tx.partial").exists()
