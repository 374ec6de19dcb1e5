"""The same Ibis code on Spark (local[2]) and DuckDB: same cleaning account, same feature table."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seglab.data import engine, synth
from seglab.data import reading as io
from seglab.data.settings import DataConfig, SparkConfig
from seglab.errors import ConfigError, SchemaError, SeglabWarning
from seglab.features import FeaturesConfig, compute_features
from seglab.run.config import config_from_dict

pytestmark = pytest.mark.spark

RELATIVE = 1e-9


def why_no_spark() -> str | None:
    """Why a local Spark session cannot start here (None when it can): no PySpark, no Java,
    or a Java older than 17."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "PySpark is not installed: pip install 'seglab[spark]'"
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if java is None or not Path(java).is_file():
        where = f"JAVA_HOME={home} has no bin/java" if home else "no java on PATH"
        return f"Spark needs Java 17 or later and there is none ({where})"
    try:
        shown = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=60
        ).stderr
    except (OSError, subprocess.SubprocessError) as exc:
        return f"Spark needs Java 17 or later; {java} -version failed: {exc}"
    found = re.search(r'version "(\d+)(?:\.(\d+))?', shown)
    if found is None:
        return f"Spark needs Java 17 or later; cannot read the version of {java}: {shown[:80]!r}"
    major = int(found[2]) if found[1] == "1" else int(found[1])  # "1.8.0" is Java 8
    if major < 17:
        return f"Spark needs Java 17 or later; {java} is Java {major}"
    return None


WHY_NO_SPARK = why_no_spark()
#: For the tests that start a Spark session; the others run without Java.
needs_spark = pytest.mark.skipif(WHY_NO_SPARK is not None, reason=str(WHY_NO_SPARK))


def _both_engines(data: DataConfig, as_of: dt.date, options: FeaturesConfig | None = None):
    """Cleaning account and features from each engine, keyed by engine name."""
    results = {}
    for name in ("duckdb", "spark"):
        loaded = io.load(data.model_copy(update={"engine": name}))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SeglabWarning)
            features = compute_features(
                loaded.transactions, as_of, options=options or FeaturesConfig()
            )
        results[name] = (loaded.cleaning.to_frame(), features)
    return results


def _assert_same(results: dict) -> None:
    (duck_account, duck), (spark_account, spark) = results["duckdb"], results["spark"]
    pd.testing.assert_frame_equal(spark_account, duck_account, rtol=RELATIVE, atol=0)
    assert list(spark.columns) == list(duck.columns)
    pd.testing.assert_index_equal(spark.index, duck.index)
    for column in duck.columns:
        np.testing.assert_allclose(
            spark[column], duck[column], rtol=RELATIVE, atol=0, err_msg=column
        )


@needs_spark
@pytest.mark.realdata
def test_online_retail_features_are_the_same_on_spark_and_duckdb(online_retail_path):
    data = DataConfig(transactions=online_retail_path, preset="uci_online_retail")
    results = _both_engines(data, dt.date(2011, 12, 9))
    _assert_same(results)
    account, features = results["spark"]
    assert account.set_index("step").loc["input", "rows_matched"] == 541_909
    assert len(features) == 4_334
    assert features.loc["12346", "monetary_total"] == 0


@needs_spark
def test_every_feature_and_cleaning_rule_agree_on_synthetic_data(tmp_path):
    # Synthetic data has what Online Retail lacks (categories, integer order ids) and this
    # config turns on the rules Online Retail leaves off: dropped duplicates, a window,
    # the logistic minimum. Repeating some lines gives the duplicate rule something to drop.
    generated = synth.generate(1_500, seed=3)
    repeated = generated.transactions.iloc[::97]
    lines = pd.concat([generated.transactions, repeated], ignore_index=True)
    path = tmp_path / "lines.parquet"
    lines.to_parquet(path, index=False, coerce_timestamps="us")
    data = DataConfig(
        transactions=path,
        cleaning={"drop_duplicates": True, "logistic_minimum": 15.0},
    )
    results = _both_engines(data, dt.date(2026, 9, 30), FeaturesConfig(window_months=18))
    _assert_same(results)
    account, features = results["spark"]
    assert account.set_index("step").loc["duplicate_line", "rows_removed"] == len(repeated)
    assert {"category_breadth", "product_breadth"} <= set(features.columns)


@needs_spark
def test_a_folder_of_parquet_parts_reads_like_one_file(tmp_path):
    lines = synth.generate(300, seed=5).transactions
    folder = tmp_path / "parts"
    folder.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(lines)), 3)):
        lines.iloc[part].to_parquet(
            folder / f"part-{i}.parquet", index=False, coerce_timestamps="us"
        )
    as_of = dt.date(2026, 10, 31)
    whole = compute_features(lines, as_of)
    for name in ("duckdb", "spark"):
        loaded = io.load(DataConfig(transactions=folder, engine=name))
        pd.testing.assert_frame_equal(compute_features(loaded.transactions, as_of), whole)


@needs_spark
def test_nanosecond_timestamps_are_a_schema_error_with_the_fix(tmp_path):
    path = tmp_path / "nanos.parquet"
    lines = synth.generate(50, seed=1).transactions
    lines.astype({"order_date": "datetime64[ns]"}).to_parquet(path, index=False)
    with pytest.raises(SchemaError, match="coerce_timestamps='us'"):
        io.load(DataConfig(transactions=path, engine="spark"))


@needs_spark
def test_spark_settings_reach_the_session():
    session = engine.spark_session(SparkConfig(conf={"spark.sql.shuffle.partitions": "3"}))
    assert session.conf.get("spark.sql.shuffle.partitions") == "3"
    assert session.conf.get("spark.sql.session.timeZone") == "UTC"


def test_missing_pyspark_is_a_config_error_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(ConfigError, match=r"seglab\[spark\]"):
        engine.spark_session(SparkConfig())


def test_an_unknown_engine_lists_the_known_ones():
    raw = {"name": "x", "data": {"transactions": "t.parquet", "engine": "sparc"}}
    with pytest.raises(ConfigError, match=r"data\.engine") as caught:
        config_from_dict(raw)
    assert "duckdb" in str(caught.value) and "spark" in str(caught.value)


def test_without_java_the_spark_tests_say_why(monkeypatch, tmp_path):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no java
    assert why_no_spark() == "Spark needs Java 17 or later and there is none (no java on PATH)"
    old = tmp_path / "old-java"
    (old / "bin").mkdir(parents=True)
    fake = old / "bin" / "java"
    fake.write_text("#!/bin/sh\necho 'openjdk version \"1.8.0_392\"' >&2\n")
    fake.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(old))
    assert why_no_spark() == f"Spark needs Java 17 or later; {fake} is Java 8"
    monkeypatch.setitem(sys.modules, "pyspark", None)
    assert why_no_spark() == "PySpark is not installed: pip install 'seglab[spark]'"
