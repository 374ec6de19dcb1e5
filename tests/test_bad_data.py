"""Bad input ends in a SeglabError that names the file and the fix, or in correct behaviour.

Each case was found by trying the command line as a new user (issue L): ambiguous text dates,
float and mismatched customer ids, a repeated header, non-finite and huge amounts, no revenue,
damaged or misnamed files. The property tests throw random frames and random config values at
the loader: it must end in a SeglabError or in a cleaning account that reconciles with the input.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
import zipfile
from decimal import Decimal
from pathlib import Path

import duckdb
import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from seglab.cli import main
from seglab.data import engine
from seglab.data import reading as io
from seglab.data.settings import DataConfig
from seglab.errors import ConfigError, DataError, SchemaError, SeglabError, SeglabWarning
from seglab.features import compute_features
from seglab.run.config import config_from_dict

AS_OF = dt.date(2024, 12, 31)


def _lines(**columns) -> pd.DataFrame:
    """Three customers' lines on ISO dates; keyword arguments replace or add columns."""
    frame = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 3],
            "order_date": ["2024-01-05", "2024-02-05", "2024-01-07", "2024-03-01"],
            "amount": [10.0, 20.0, 5.0, 7.5],
        }
    )
    return frame.assign(**columns)


def _account(loaded) -> pd.DataFrame:
    return loaded.cleaning.to_frame().set_index("step")


def _load(path: Path, **data) -> io.Prepared:
    return io.load(DataConfig(transactions=path, **data))


# --- 1. dates ----------------------------------------------------------------------------------

US_DATES = ["01/02/2024", "03/04/2024", "12/11/2024", "05/06/2024"]  # every number <= 12


def test_ambiguous_text_dates_are_an_error_asking_for_date_format(tmp_path):
    path = tmp_path / "us.csv"
    _lines(order_date=US_DATES).to_csv(path, index=False)
    with pytest.raises(SchemaError) as caught:
        _load(path)
    message = str(caught.value)
    assert "us.csv: column 'order_date' holds dates such as '01/02/2024'" in message
    assert "read both as month/day/year and as day/month/year" in message
    assert "data.date_format" in message and "'%m/%d/%Y' (month first)" in message


def test_date_format_is_honoured(tmp_path):
    path = tmp_path / "us.csv"
    _lines(order_date=US_DATES).to_csv(path, index=False)
    tx = _load(path, date_format="%m/%d/%Y").transactions.to_pandas()
    # Month first: 01/02 is January 2nd, 12/11 December 11th.
    assert sorted(tx["order_date"].dt.strftime("%Y-%m-%d")) == [
        "2024-01-02", "2024-03-04", "2024-05-06", "2024-12-11",
    ]  # fmt: skip


def test_date_format_with_time_and_text(tmp_path):
    path = tmp_path / "tx.parquet"
    dates = ["Jan 2, 2024 at 14:05", "Mar 4, 2024 at 09:00", "Dec 11, 2024 at 23:59", None]
    _lines(order_date=dates).to_parquet(path, index=False)
    loaded = _load(path, date_format="%b %d, %Y at %H:%M")
    tx = loaded.transactions.order_by("order_date").to_pandas()
    assert tx["order_date"].tolist() == pd.to_datetime(dates[:3]).tolist()
    assert _account(loaded).loc["missing_date", "rows_removed"] == 1


def test_values_not_matching_date_format_are_counted_and_shown(tmp_path):
    path = tmp_path / "us.csv"
    _lines(order_date=["01/02/2024", "2024-03-04", "13/01/2024", "05/06/2024"]).to_csv(
        path, index=False
    )
    with pytest.raises(
        SchemaError,
        match=r"'order_date' has 2 value\(s\) that are not dates written as data\.date_format "
        r"'%m/%d/%Y' \(e\.g\. '13/01/2024', '2024-03-04'\)",
    ):
        _load(path, date_format="%m/%d/%Y")


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        # A day above 12 in first place: day first, for every value.
        (["13/01/2024", "02/03/2024", "1.2.2024", "31-12-2024 10:30"],
         ["2024-01-13", "2024-03-02", "2024-02-01", "2024-12-31 10:30"]),
        # A day above 12 in second place: month first.
        (["01/13/2024", "02/03/2024", "12/31/2024", "5/6/2024"],
         ["2024-01-13", "2024-02-03", "2024-12-31", "2024-05-06"]),
    ],
)  # fmt: skip
def test_unambiguous_numeric_dates_are_read_in_the_order_they_show(tmp_path, dates, expected):
    path = tmp_path / "tx.csv"
    _lines(order_date=dates).to_csv(path, index=False)
    tx = _load(path).transactions.to_pandas()
    assert tx["order_date"].tolist() == pd.to_datetime(expected, format="ISO8601").tolist()


def test_numeric_dates_that_fit_no_order_are_an_error(tmp_path):
    path = tmp_path / "tx.csv"
    _lines(order_date=["13/01/2024", "01/13/2024", "02/03/2024", "30/02/2024"]).to_csv(
        path, index=False
    )
    with pytest.raises(SchemaError, match=r"numbers above 12 in both the first and the second"):
        _load(path)


def test_invalid_day_first_dates_are_listed(tmp_path):
    path = tmp_path / "tx.csv"
    _lines(order_date=["13/01/2024", "30/02/2024", "02/03/2024", "1/1/2024"]).to_csv(
        path, index=False
    )
    with pytest.raises(
        SchemaError,
        match=r"holds day/month/year dates, but 1 value\(s\) .* \(e\.g\. '30/02/2024'\)",
    ):
        _load(path)


@pytest.mark.parametrize(
    ("date_format", "message"),
    [
        ("%Y-%m-%e", r"uses '%e', which seglab does not read"),
        ("%Y-%m", r"names no day \(%d\)"),
        ("dd/mm/yyyy", r"names no year \(%Y\), no month \(%m\), no day \(%d\)"),
        ("%d/%m/%Y %", r"uses '%'"),
    ],
)
def test_date_format_is_checked_when_the_config_is_read(date_format, message):
    raw = {"name": "x", "data": {"transactions": "t.parquet", "date_format": date_format}}
    with pytest.raises(ConfigError, match=rf"key 'data\.date_format': '.*' {message}"):
        config_from_dict(raw)


# --- 2. customer ids ---------------------------------------------------------------------------


def test_non_whole_float_ids_are_refused_with_examples(tmp_path):
    path = tmp_path / "tx.parquet"
    _lines(customer_id=[1.5, 1.7, 2.0, None]).to_parquet(path, index=False)
    with pytest.raises(
        SchemaError,
        match=r"tx\.parquet: column 'customer_id' holds 2 id\(s\) that are not whole numbers "
        r"\(e\.g\. '1\.5', '1\.7'\)",
    ):
        _load(path)


def test_float_ids_beyond_exact_integers_are_refused(tmp_path):
    path = tmp_path / "tx.parquet"
    _lines(customer_id=[1.0, 2.0, 3.0, 1e17]).to_parquet(path, index=False)
    with pytest.raises(SchemaError, match=r"holds 1 id\(s\) that are not whole numbers"):
        _load(path)


@pytest.mark.parametrize(
    "ids",
    [
        [12345, 12345, 7, 99],  # integers
        [12345.0, 12345.0, 7.0, 99.0],  # whole floats (a CSV or pandas column with a gap)
        [" 12345", "12345 ", "7", "99"],  # text, with stray spaces
    ],
)
def test_ids_become_one_text_form(tmp_path, ids):
    path = tmp_path / "tx.parquet"
    _lines(customer_id=ids).to_parquet(path, index=False)
    loaded = _load(path)
    features = compute_features(loaded.transactions, AS_OF, ["frequency"])
    assert features.index.tolist() == ["12345", "7", "99"]
    assert features.loc["12345", "frequency"] == 2


@pytest.mark.parametrize(
    ("suffix", "ids"),
    [
        (".csv", ["12345", "7", "99"]),
        (".parquet", [12345, 7, 99]),
        (".parquet", [12345.0, 7.0, 99.0]),
        (".xlsx", [" 12345 ", "7", "99"]),
    ],
)
def test_attribute_ids_match_transaction_ids_whatever_their_type(tmp_path, suffix, ids):
    path = tmp_path / "tx.parquet"
    _lines(customer_id=[12345.0, 12345.0, 7.0, 99.0]).to_parquet(path, index=False)
    customers = tmp_path / f"customers{suffix}"
    frame = pd.DataFrame({"customer_id": ids, "region": ["N", "S", "E"]})
    getattr(frame, {".csv": "to_csv", ".parquet": "to_parquet", ".xlsx": "to_excel"}[suffix])(
        customers, index=False
    )
    loaded = _load(path, customers=customers)
    assert loaded.customers.index.tolist() == ["12345", "7", "99"]
    assert loaded.customers.loc["7", "region"] == "S"


def test_an_attribute_join_matching_under_half_is_an_error_with_both_sides(tmp_path):
    path = tmp_path / "tx.parquet"
    _lines().to_parquet(path, index=False)
    customers = tmp_path / "customers.parquet"
    pd.DataFrame({"customer_id": ["C1", "C2", "3"], "region": "N"}).to_parquet(customers)
    with pytest.raises(DataError) as caught:
        _load(path, customers=customers)
    message = str(caught.value)
    assert "customers.parquet: only 1 of the 3 customers in the transactions" in message
    assert "Transaction ids without attributes: '1', '2'" in message
    assert "attribute ids without transactions: 'C1', 'C2'" in message


def test_float_attribute_ids_are_refused_like_transaction_ids(tmp_path):
    path = tmp_path / "tx.parquet"
    _lines().to_parquet(path, index=False)
    customers = tmp_path / "customers.parquet"
    pd.DataFrame({"customer_id": [1.0, 2.5, 3.0], "region": "N"}).to_parquet(customers)
    with pytest.raises(SchemaError, match=r"customers\.parquet: column 'customer_id' .*'2\.5'"):
        _load(path, customers=customers)


def test_nan_ids_are_missing_customers(tmp_path):
    path = tmp_path / "tx.parquet"
    ids = pa.array([1.0, math.nan, 2.0, 3.0], from_pandas=False)  # a real NaN, not a null
    table = pa.Table.from_pandas(_lines().drop(columns="customer_id"), preserve_index=False)
    pq.write_table(table.append_column("customer_id", ids), path)
    assert _account(_load(path)).loc["missing_customer", "rows_removed"] == 1


# --- 3. repeated header ------------------------------------------------------------------------


def test_a_repeated_csv_header_is_an_error_naming_the_column(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,order_date,amount,amount\n1,2024-01-01,5,6\n2,2024-01-02,7,8\n")
    with pytest.raises(SchemaError, match=r"tx\.csv': the header names column\(s\) 'amount' more"):
        _load(path)


def test_a_repeated_excel_header_is_an_error_naming_the_column(tmp_path):
    path = tmp_path / "tx.xlsx"
    frame = pd.DataFrame([[1, "2024-01-01", 5, 6]], columns=["customer_id", "order_date", "a", "b"])
    frame.rename(columns={"a": "amount", "b": "amount"}).to_excel(path, index=False)
    with pytest.raises(SchemaError, match=r"header names column\(s\) 'amount' more than once"):
        _load(path)


# --- 4. non-finite and huge amounts ------------------------------------------------------------


def _write_with_nan(frame: pd.DataFrame, path: Path) -> Path:
    """Parquet keeping NaN as NaN (pandas would write it as a missing value)."""
    arrays = {
        name: pa.array(values, from_pandas=False) if values.dtype == "float64" else values
        for name, values in frame.items()
    }
    pq.write_table(pa.table(arrays), path)
    return path


def test_non_finite_amounts_are_a_counted_cleaning_rule(tmp_path):
    amounts = [10.0, math.nan, math.inf, -math.inf]
    loaded = _load(_write_with_nan(_lines(amount=amounts), tmp_path / "tx.parquet"))
    account = _account(loaded)
    rule = account.loc["amount_not_finite"]
    assert rule[["rows_matched", "rows_removed", "action"]].tolist() == [3, 3, "drop"]
    # A non-finite amount is a line without revenue: the account still reconciles.
    assert rule[["revenue_matched", "revenue_removed"]].tolist() == [0.0, 0.0]
    assert (loaded.cleaning.rows_in, loaded.cleaning.revenue_in) == (4, 10.0)
    assert (loaded.cleaning.rows_out, loaded.cleaning.revenue_out) == (1, 10.0)
    assert list(account.index[:5]) == [
        "input", "missing_customer", "missing_date", "missing_amount", "amount_not_finite",
    ]  # fmt: skip


def test_non_finite_after_quantity_times_price_is_counted(tmp_path):
    frame = _lines(quantity=[2.0, math.inf, 1e200, 3.0], unit_price=[5.0, 0.0, 1e200, 2.5])
    path = _write_with_nan(frame.drop(columns="amount"), tmp_path / "tx.parquet")
    # inf x 0 is NaN and 1e200 x 1e200 is inf; the free line is dropped first as a zero price.
    account = _account(_load(path, cleaning={"drop_non_positive_prices": False}))
    assert account.loc["amount_not_finite", ["rows_matched", "rows_removed"]].tolist() == [2, 2]
    assert account.loc["output", ["rows_matched", "revenue_matched"]].tolist() == [2, 17.5]


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_amounts_beyond_exact_money_are_an_error_with_the_largest_and_the_limit(tmp_path, suffix):
    path = tmp_path / f"tx{suffix}"
    frame = _lines(amount=[10.0, 1e300, 5.0, 7.5]).rename(columns={"amount": "Total"})
    getattr(frame, "to_parquet" if suffix == ".parquet" else "to_csv")(path, index=False)
    with pytest.raises(
        DataError,
        match=r"the amounts in column 'Total' are too large to be summed exactly: the largest is "
        r"1e\+300 .* DECIMAL\(38, 6\), which holds less than 1e\+32",
    ):
        _load(path, columns={"amount": "Total"})


def test_an_absolute_total_beyond_exact_money_is_an_error(tmp_path):
    path = tmp_path / "tx.parquet"
    _lines(amount=[4e31, 4e31, 4e31, 1.0]).to_parquet(path, index=False)
    with pytest.raises(
        DataError, match=r"the largest is 4e\+31 and their absolute total 1\.2e\+32"
    ):
        _load(path)


def test_derived_amount_beyond_exact_money_names_both_columns(tmp_path):
    path = tmp_path / "tx.parquet"
    _lines(Qty=[1.0, 1e20, 1.0, 2.0], Price=[1.0, 1e20, 2.0, 3.0]).drop(
        columns="amount"
    ).to_parquet(path, index=False)
    with pytest.raises(DataError, match=r"amount \(quantity 'Qty' x unit price 'Price'\)"):
        _load(path, columns={"quantity": "Qty", "unit_price": "Price"})


@pytest.mark.parametrize(
    ("amounts", "message"),
    [
        ([1e20, 1.0, 2.0, 3.0], r"the largest amount is 1e\+20; .*below 1e\+32"),  # squares
        ([math.nan, 1.0, math.inf, 3.0], r"2 value\(s\) that are NaN or infinite"),
    ],
)
def test_features_refuse_money_they_cannot_sum_exactly(amounts, message):
    frame = _lines(order_date=pd.to_datetime(_lines()["order_date"])).drop(columns="amount")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.append_column("amount", pa.array(amounts, from_pandas=False))  # NaN stays NaN
    with pytest.raises(DataError, match=message):
        compute_features(ibis.memtable(table), AS_OF)


# --- 5. no revenue -----------------------------------------------------------------------------


def test_no_revenue_at_all_is_an_error(tmp_path):
    path = tmp_path / "tx.parquet"
    _lines(amount=0.0).to_parquet(path, index=False)
    with pytest.raises(
        DataError, match=r"no revenue: the 4 line\(s\) left after cleaning hold purchases worth 0"
    ):
        _load(path)


def test_returns_outweighing_purchases_is_an_error(tmp_path):
    path = tmp_path / "tx.parquet"
    _lines(amount=[10.0, -20.0, 5.0, -1.0]).to_parquet(path, index=False)
    with pytest.raises(
        DataError, match=r"purchases of 15\.00 and returns of -21\.00 net to -6\.00"
    ):
        _load(path)


# --- 6. damaged, misnamed, undecodable and missing files ---------------------------------------


def test_a_csv_named_parquet_is_a_schema_error_with_the_fix(tmp_path):
    path = tmp_path / "tx.parquet"
    _lines().to_csv(path, index=False)
    with pytest.raises(
        SchemaError, match=r"tx\.parquet' is not a Parquet file: .* looks like text, perhaps a CSV"
    ):
        _load(path)


def test_a_truncated_parquet_file_is_a_schema_error(tmp_path):
    whole = tmp_path / "whole.parquet"
    _lines().to_parquet(whole, index=False)
    path = tmp_path / "tx.parquet"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(SchemaError, match=r"tx\.parquet' is a damaged or truncated Parquet file"):
        _load(path)


def test_a_damaged_parquet_footer_is_a_data_error_naming_the_file(tmp_path):
    path = tmp_path / "tx.parquet"
    _lines().to_parquet(path, index=False)
    data = bytearray(path.read_bytes())
    data[-8:-4] = (10**9).to_bytes(4, "little")  # the footer's length, now past the file
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"tx\.parquet': DuckDB could not process the data: "):
        _load(path)


def test_a_damaged_part_in_a_folder_is_named(tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    _lines().to_parquet(folder / "part-0.parquet", index=False)
    (folder / "part-1.parquet").write_bytes(b"PAR1 and nothing else")
    with pytest.raises(SchemaError, match=r"part-1\.parquet' is a damaged or truncated"):
        _load(folder)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (np.random.default_rng(0).bytes(3000), r"is not an Excel workbook \(\.xlsx files are zip"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600),
            r"an old-style Excel workbook \(\.xls\)",
        ),
        (None, r"cannot be read as an Excel workbook \(.*\); it may be damaged"),
    ],
)
def test_a_broken_excel_file_is_a_schema_error(tmp_path, content, message):
    path = tmp_path / "tx.xlsx"
    if content is None:  # a zip archive, but not a workbook
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("hello.txt", "not a sheet")
    else:
        path.write_bytes(content)
    with pytest.raises(SchemaError, match=message):
        _load(path)


LATIN_1 = "customer_id,order_date,amount,city\n1,2024-01-01,5,São Paulo\n2,2024-01-02,7,Zürich\n"


def test_a_latin_1_csv_asks_for_utf_8_or_data_encoding(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_bytes(LATIN_1.encode("latin-1"))
    with pytest.raises(DataError) as caught:
        _load(path)
    message = str(caught.value)
    assert "tx.csv' is not UTF-8 text" in message
    assert "Re-save it as UTF-8" in message and "data.encoding" in message
    tx = _load(path, encoding="latin-1").transactions.to_pandas()
    assert len(tx) == 2


def test_data_encoding_reads_latin_1_attributes(tmp_path):
    path = tmp_path / "tx.parquet"
    _lines().to_parquet(path, index=False)
    customers = tmp_path / "customers.csv"
    customers.write_bytes("customer_id,city\n1,São Paulo\n2,Zürich\n3,Köln\n".encode("latin-1"))
    loaded = _load(path, customers=customers, encoding="latin-1")
    assert loaded.customers.loc["2", "city"] == "Zürich"


def test_a_value_past_duckdbs_type_sample_is_a_data_error_naming_the_file(tmp_path):
    # DuckDB guesses column types from the first 20,480 rows; a later text amount cannot convert.
    path = tmp_path / "tx.csv"
    rows = ["customer_id,order_date,amount"] + ["1,2024-01-01,5"] * 30_000 + ["2,2024-01-02,n/a"]
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"tx\.csv': DuckDB could not process the data: .*"):
        _load(path)


def test_a_missing_file_is_a_data_error_and_so_is_its_fingerprint(tmp_path):
    path = tmp_path / "nowhere" / "tx.parquet"
    with pytest.raises(
        DataError, match=r"tx\.parquet' does not exist \(nor does its folder .*data\.transactions"
    ):
        _load(path)
    with pytest.raises(DataError, match=r"tx\.parquet' does not exist"):
        io.fingerprint(path)


def test_a_missing_attribute_file_names_its_key_and_the_closest_name(tmp_path):
    path = tmp_path / "tx.parquet"
    _lines().to_parquet(path, index=False)
    (tmp_path / "customers.parquet").touch()
    with pytest.raises(
        DataError,
        match=r"custmers\.parquet' does not exist \(in '.*': did you mean 'customers\.parquet'\?\)"
        r"\. Check data\.customers",
    ):
        _load(path, customers=tmp_path / "custmers.parquet")


@pytest.mark.parametrize("command", ["features", "run"])
def test_the_command_line_refuses_a_missing_file_before_hashing_it(
    tmp_path, capsys, monkeypatch, command
):
    def no_hashing(*paths):
        raise AssertionError(f"hashed {paths} before checking that they exist")

    monkeypatch.setattr(io, "fingerprint", no_hashing)
    config = tmp_path / "config.yaml"
    config.write_text(
        f"name: gone\nas_of: 2024-12-31\ncache_dir: {tmp_path / 'cache'}\n"
        "data:\n  transactions: data/tx.parquet\n"
    )
    extra = ["--out", str(tmp_path / "f.parquet")] if command == "features" else []
    assert main([command, "--config", str(config), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("seglab: error: ") and "Traceback" not in err
    assert f"'{tmp_path / 'data' / 'tx.parquet'}' does not exist" in err
    assert "Check data.transactions in the config" in err
    assert not (tmp_path / "cache").exists()


def test_engine_errors_name_the_file():
    converted = pytest.raises(DataError, match=r"'my\.csv': DuckDB could not process the data: ")
    with converted, engine.data_errors("my.csv"):
        duckdb.sql("SELECT CAST('x' AS INTEGER)").fetchall()
    with pytest.raises(ZeroDivisionError), engine.data_errors("my.csv"):  # not the engine's
        _ = 1 / 0


def test_the_command_line_prints_one_paragraph_and_exits_2(tmp_path, capsys):
    _lines(order_date=US_DATES).to_csv(tmp_path / "us.csv", index=False)
    config = tmp_path / "config.yaml"
    config.write_text("name: us\ndata:\n  transactions: us.csv\n")
    assert main(["validate", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("seglab: error: ") and "data.date_format" in err
    assert "Traceback" not in err
    config.write_text("name: us\ndata:\n  transactions: us.csv\n  date_format: '%m/%d/%Y'\n")
    assert main(["validate", "--config", str(config)]) == 0


# --- 7. random transaction frames --------------------------------------------------------------


def _mostly(good: st.SearchStrategy, bad: st.SearchStrategy, one_in: int) -> st.SearchStrategy:
    """`good`, and `bad` about once in `one_in` draws: frames that sometimes get through."""
    return st.integers(1, one_in).flatmap(lambda i: bad if i == 1 else good)


SPECIAL_AMOUNTS = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e300, -1e300, 1e40, 1e-9]
amounts = _mostly(
    st.integers(1, 10**7).map(lambda cents: cents / 100),
    st.one_of(
        st.integers(-(10**5), 0).map(lambda cents: cents / 100),  # returns, free lines
        st.sampled_from(SPECIAL_AMOUNTS),
        st.none(),
    ),
    one_in=5,
)
ids = _mostly(
    st.integers(0, 5),
    st.one_of(st.sampled_from([1.0, 2.0, 2.5, math.nan, "a", " a", "1", ""]), st.none()),
    one_in=5,
)
dates = _mostly(
    st.dates(dt.date(2023, 1, 1), dt.date(2024, 12, 31)).map(str),
    st.one_of(st.sampled_from(["", "soon", "2024-02-30", "03/04/2024"]), st.none()),
    one_in=40,
)


@st.composite
def transaction_frames(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 12))
    rows = draw(st.lists(st.tuples(ids, dates, amounts, amounts), min_size=n, max_size=n))
    rows += draw(st.lists(st.sampled_from(rows), max_size=3))  # exact duplicates
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount", "unit_price"])
    # Columns of one type, as a file holds them: mixed ones become text.
    for column in frame:
        kinds = {type(v) for v in frame[column] if v is not None and v == v}
        if len(kinds) > 1 or str in kinds:
            frame[column] = [None if v is None else str(v) for v in frame[column]]
        elif kinds == {int}:
            frame[column] = frame[column].astype("Int64")
        else:
            frame[column] = frame[column].astype("float64")
    if draw(st.booleans()):  # amount derived from quantity x unit price
        frame = frame.rename(columns={"amount": "quantity"})
    else:
        frame = frame.drop(columns="unit_price")
    return frame


def _money(values) -> Decimal:
    """Exact sum of the finite numbers among `values`, each rounded to 6 decimals as MONEY is."""
    total = Decimal(0)
    for value in values:
        if value is not None and math.isfinite(value):
            total += Decimal(value).quantize(Decimal("0.000001"))
    return total


def _amounts(frame: pd.DataFrame) -> list[float | None]:
    """The amounts the contract derives from the frame (None where it has none)."""
    if "amount" in frame:
        return [None if pd.isna(v) else float(v) for v in frame["amount"]]
    pairs = zip(frame["quantity"], frame["unit_price"], strict=True)
    return [None if pd.isna(q) or pd.isna(p) else float(q) * float(p) for q, p in pairs]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(frame=transaction_frames(), suffix=st.sampled_from([".parquet", ".csv"]))
@example(  # NaN among finite amounts only: DuckDB's Parquet statistics leave it out
    frame=_lines(amount=[10.0, math.nan, 5.0, 7.5], customer_id=[1.0, math.nan, 2.0, 2.0]),
    suffix=".parquet",
)
def test_random_frames_end_in_an_error_or_a_reconciled_account(tmp_path_factory, frame, suffix):
    path = tmp_path_factory.mktemp("random") / f"tx{suffix}"
    if suffix == ".parquet":
        _write_with_nan(frame, path)
    else:
        frame.to_csv(path, index=False)  # NaN is written as an empty field: a missing value
    try:
        loaded = _load(path, cleaning={"drop_non_positive_prices": False})
    except SeglabError as exc:
        # seglab's own diagnosis: the files are well formed, so the engine has nothing to say.
        assert "could not process the data" not in str(exc)
        event(f"load: {type(exc).__name__} {str(exc).split(': ')[1][:40]}")
        return
    account, kept = loaded.cleaning, loaded.transactions.to_pandas()
    removed = account.to_frame().set_index("step").drop(index=["input", "output"])
    assert account.rows_in == len(frame)
    assert account.rows_in - removed["rows_removed"].sum() == account.rows_out == len(kept)
    expected_in = _money(_amounts(pd.read_parquet(path) if suffix == ".parquet" else frame))
    assert abs(Decimal(account.revenue_in) - expected_in) < Decimal("0.005")
    out = account.revenue_in - removed["revenue_removed"].sum()
    assert abs(out - account.revenue_out) < 0.005
    assert abs(Decimal(account.revenue_out) - _money(kept["amount"])) < Decimal("0.005")
    assert kept["amount"].map(math.isfinite).all()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SeglabWarning)
            features = compute_features(loaded.transactions, kept["order_date"].max().date())
    except SeglabError as exc:
        assert "could not process the data" not in str(exc)
        event(f"features: {type(exc).__name__}")
        return
    event("features computed")
    assert np.isfinite(features.to_numpy()).all()
    assert features.index.map(type).unique().tolist() == [str]


# --- 8. random names and paths in the config ---------------------------------------------------

# Every key of the data section that takes a name or a path (spark's are read, never started).
NAME_KEYS = [
    ("transactions",), ("customers",), ("preset",), ("date_format",), ("encoding",),
    ("engine",), ("columns", "customer_id"), ("columns", "<key>"), ("cleaning", "return_prefix"),
    ("cleaning", "non_product_codes"), ("cleaning", "cancellations"), ("duckdb", "memory_limit"),
    ("duckdb", "temp_directory"), ("spark", "master"), ("spark", "app_name"), ("spark", "conf"),
]  # fmt: skip
# Path-like text without separators: a random "/" or ".." would point at the whole disk.
names = st.text(
    st.characters(blacklist_characters="/", blacklist_categories=["Cs"]), max_size=60
).filter(lambda s: s.strip(".") != "" or s == "")


@pytest.fixture(scope="module")
def fuzz_base(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz")
    lines = _lines(customer_id=["1", "1", "2", "3"], product_id=["P", "POST", "P", "Q"])
    lines.to_parquet(folder / "tx.parquet", index=False)
    return folder


@pytest.mark.parametrize("key", NAME_KEYS, ids=".".join)
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=names)
@example(value="x" * 300)  # longer than a file name may be
@example(value="a\x00b")  # NUL: no path, no C string
@example(value='it\'s \\ "quoted"\n%')
def test_random_names_and_paths_in_the_data_section_raise_only_seglab_errors(fuzz_base, key, value):
    data = {"transactions": "tx.parquet"}
    section = data
    for part in key[:-1]:
        section = section.setdefault(part, {})
    if key[-1] == "<key>":
        section[value] = "customer_id"
    elif key in {("cleaning", "non_product_codes")}:
        section[key[-1]] = [value, value + "*"]
    elif key == ("spark", "conf"):
        section[key[-1]] = {value: value}
    else:
        section[key[-1]] = value
    if key == ("engine",) and value == "spark":
        return  # a real engine name: starting Spark is test_spark's business
    try:
        config = config_from_dict({"name": "fuzz", "data": data}, base_dir=fuzz_base)
        io.load(config.data)
    except (ConfigError, SchemaError, DataError) as exc:
        event(f"{key[-1]}: {type(exc).__name__}")
    else:
        event(f"{key[-1]}: loaded")


# --- Spark: the same answers -------------------------------------------------------------------


def _on_both_engines(data: DataConfig) -> dict:
    """Cleaning account and features of each engine."""
    results = {}
    for name in ("duckdb", "spark"):
        loaded = io.load(data.model_copy(update={"engine": name}))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SeglabWarning)
            features = compute_features(loaded.transactions, AS_OF)
        results[name] = (loaded.cleaning.to_frame(), features)
    (duck_account, duck), (spark_account, spark) = results["duckdb"], results["spark"]
    pd.testing.assert_frame_equal(spark_account, duck_account, rtol=1e-9, atol=0)
    pd.testing.assert_frame_equal(spark, duck, rtol=1e-9, atol=0)
    return results["spark"]


@pytest.mark.spark
def test_spark_reads_bad_csv_data_as_duckdb_does(tmp_path):
    # Whole-float and spaced text ids, US dates with times, non-finite amounts, a duplicate.
    path = tmp_path / "tx.csv"
    rows = [
        "Cust,When,Total",
        "12345.0,01/02/2024 10:30,10.5",
        "12345.0,01/02/2024 10:30,10.5",
        "7.0,03/04/2024 09:00,inf",
        "7.0,12/11/2024 23:59,20",
        "99.0,05/06/2024 00:00,-4",
        "99.0,05/07/2024 00:00,30",
        ",05/08/2024 00:00,1",
    ]
    path.write_text("\n".join(rows) + "\n")
    data = DataConfig(
        transactions=path,
        columns={"customer_id": "Cust", "order_date": "When", "amount": "Total"},
        date_format="%m/%d/%Y %H:%M",
        cleaning={"drop_duplicates": True},
    )
    account, features = _on_both_engines(data)
    account = account.set_index("step")
    assert account.loc["amount_not_finite", "rows_removed"] == 1
    assert account.loc["duplicate_line", ["rows_removed", "revenue_removed"]].tolist() == [1, 10.5]
    assert features.index.tolist() == ["12345", "7", "99"]
    assert features.loc["7", "recency_days"] == (AS_OF - dt.date(2024, 12, 11)).days


@pytest.mark.spark
def test_spark_detects_day_first_dates_and_refuses_ambiguous_ones(tmp_path):
    path = tmp_path / "tx.csv"
    _lines(order_date=["13/01/2024", "02/03/2024", "1.2.2024", "31-12-2024 10:30"]).to_csv(
        path, index=False
    )
    _, features = _on_both_engines(DataConfig(transactions=path))
    assert features.loc["3", "recency_days"] == 0  # 31 December
    _lines(order_date=US_DATES).to_csv(path, index=False)
    with pytest.raises(SchemaError, match="read both as month/day/year and as day/month/year"):
        _load(path, engine="spark")


@pytest.mark.spark
def test_spark_honours_data_encoding_and_refuses_latin_1_read_as_utf_8(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_bytes(LATIN_1.encode("latin-1"))
    with pytest.raises(DataError, match=r"tx\.csv' is not UTF-8 text \(byte 51 is b'\\xe3'\)"):
        _load(path, engine="spark")
    assert len(_load(path, engine="spark", encoding="latin-1").transactions.to_pandas()) == 2


@pytest.mark.spark
def test_spark_refuses_two_digit_years_in_date_format(tmp_path):
    path = tmp_path / "tx.csv"
    _lines(order_date=["01/02/24", "03/04/24", "12/11/24", "05/06/24"]).to_csv(path, index=False)
    assert len(_load(path, date_format="%m/%d/%y").transactions.to_pandas()) == 4  # DuckDB
    with pytest.raises(ConfigError, match=r"two-digit year \(%y\), which Spark reads as 2000"):
        _load(path, engine="spark", date_format="%m/%d/%y")


@pytest.mark.spark
def test_spark_reads_text_dates_of_an_excel_sheet_with_date_format(tmp_path):
    path = tmp_path / "tx.xlsx"
    _lines(order_date=US_DATES).to_excel(path, index=False)
    _, features = _on_both_engines(DataConfig(transactions=path, date_format="%m/%d/%Y"))
    assert features.loc["3", "recency_days"] == (AS_OF - dt.date(2024, 5, 6)).days
