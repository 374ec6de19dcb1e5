from pathlib import Path

import pandas as pd
import pytest

from seglab import io
from seglab.config import DataConfig
from seglab.errors import DataError, SchemaError


def _data(path: Path, **kwargs) -> DataConfig:
    return DataConfig(transactions=path, **kwargs)


def _raw() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Cust": [1.0, 1.0, None, 2.0],
            "When": ["2024-01-01", "2024-01-02 10:30", "2024-01-03", "2024-01-04"],
            "Qty": [2, 1, 5, 3],
            "Price": [1.5, 4.0, 2.0, 10.0],
        }
    )


MAPPING = {"customer_id": "Cust", "order_date": "When", "quantity": "Qty", "unit_price": "Price"}


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".xlsx"])
def test_reads_each_format_maps_columns_and_derives_amount(tmp_path, suffix):
    path = tmp_path / f"tx{suffix}"
    raw = _raw()
    {".parquet": raw.to_parquet, ".csv": raw.to_csv, ".xlsx": raw.to_excel}[suffix](
        path, index=False
    )
    loaded = io.load(_data(path, columns=MAPPING))
    tx = loaded.transactions
    assert tx["amount"].tolist() == [3.0, 4.0, 30.0]
    assert tx["customer_id"].tolist() == [1, 1, 2]
    assert tx["order_date"].iloc[1] == pd.Timestamp("2024-01-02 10:30")
    account = loaded.cleaning
    # 4 rows, revenue 3 + 4 + 10 + 30 = 47; the row without customer carries 10.
    assert (account.rows_in, account.revenue_in) == (4, 47.0)
    assert account.steps[0] == {
        "step": "missing_customer",
        "reason": "no customer id: not segmentable",
        "rows": 1,
        "revenue": 10.0,
    }
    assert (account.rows_out, account.revenue_out) == (3, 37.0)


def test_missing_customer_column_names_it_and_lists_found_columns(tmp_path):
    path = tmp_path / "tx.parquet"
    _raw().drop(columns="Cust").to_parquet(path)
    mapping = {k: v for k, v in MAPPING.items() if k != "customer_id"}
    with pytest.raises(
        SchemaError,
        match=r"required column\(s\) customer_id not found\. Columns found: When, Qty, Price",
    ):
        io.load(_data(path, columns=mapping))


def test_mapping_to_absent_column_suggests(tmp_path):
    path = tmp_path / "tx.parquet"
    _raw().to_parquet(path)
    with pytest.raises(SchemaError, match=r"maps 'customer_id' to 'Cus'.*did you mean 'Cust'"):
        io.load(_data(path, columns={**MAPPING, "customer_id": "Cus"}))


def test_unparseable_dates_show_count_and_sample(tmp_path):
    path = tmp_path / "tx.csv"
    raw = _raw()
    raw.loc[[0, 3], "When"] = ["yesterday", "31/31/2024"]
    raw.to_csv(path, index=False)
    with pytest.raises(
        SchemaError,
        match=r"'When' has 2 value\(s\) that are not dates \(e\.g\. 'yesterday', '31/31/2024'\)",
    ):
        io.load(_data(path, columns=MAPPING))


def test_non_numeric_amount(tmp_path):
    path = tmp_path / "tx.csv"
    raw = _raw().assign(Price=["1.5", "four", "2", "10"])
    raw.to_csv(path, index=False)
    with pytest.raises(
        SchemaError, match=r"'Price' must be numeric; 1 value\(s\) are not \(e\.g\. 'four'\)"
    ):
        io.load(_data(path, columns=MAPPING))


def test_empty_file_and_unknown_format(tmp_path):
    empty = tmp_path / "tx.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="holds no rows"):
        io.load(_data(empty))
    with pytest.raises(SchemaError, match=r"cannot read '\.json' files"):
        io.load(_data(tmp_path / "tx.json"))


def test_customers_table_must_have_unique_ids(tmp_path):
    tx, customers = tmp_path / "tx.parquet", tmp_path / "c.parquet"
    _raw().to_parquet(tx)
    pd.DataFrame({"Cust": [1, 2, 2], "region": ["N", "S", "S"]}).to_parquet(customers)
    with pytest.raises(DataError, match=r"customer_id must be unique; 1 repeated \(e\.g\. 2\)"):
        io.load(_data(tx, customers=customers, columns=MAPPING))


def test_synthetic_data_is_generated_once(tmp_path):
    data = _data(
        tmp_path / "d" / "tx.parquet",
        customers=tmp_path / "d" / "c.parquet",
        synthetic={"customers": 50},
    )
    loaded = io.load(data)
    assert loaded.customers["customer_id"].nunique() == 50
    first = io.fingerprint(data.transactions, data.customers)
    io.load(data)
    assert io.fingerprint(data.transactions, data.customers) == first


@pytest.mark.realdata
def test_online_retail_preset_counts(online_retail_path):
    # Known figures from ../shared/data/README.md: 541,909 rows, 135,080 without customer.
    loaded = io.load(_data(online_retail_path, preset="uci_online_retail"))
    account = loaded.cleaning.to_frame().set_index("step")
    assert loaded.cleaning.rows_in == 541_909
    assert account.loc["missing_customer", "rows"] == -135_080
    assert loaded.cleaning.revenue_in == pytest.approx(9_747_747.934, abs=1e-3)
    assert loaded.transactions["customer_id"].nunique() == 4_372
