"""The engine that runs the transaction queries: an embedded DuckDB, or Spark, through Ibis.

Reading, cleaning and feature code is written once in Ibis and runs unchanged on either backend;
this module is where the choice (``data.engine``) is made: it opens the connection and keeps
intermediate tables the way each engine does best.

Spark needs the ``seglab[spark]`` extra and Java. A running Spark session is joined (a cluster
notebook, spark-submit); otherwise one is started with ``data.spark``'s master and app name.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import duckdb
import ibis
import ibis.expr.types as ir

from seglab.data.settings import DataConfig, SparkConfig
from seglab.errors import ConfigError

__all__ = ["SPARK_DEFAULTS", "connect", "keep", "spark_session"]

#: Settings seglab gives the Spark session unless ``data.spark.conf`` says otherwise: no web UI
#: (nobody looks at it in a batch run), timestamps read in UTC so calendar days match DuckDB's,
#: and few shuffle partitions (the default 200 is tuned for clusters, not ``local[N]``).
SPARK_DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "8",
}


def connect(data: DataConfig) -> ibis.BaseBackend:
    """A new Ibis connection to the engine named by ``data.engine``, with its settings."""
    if data.engine == "spark":
        return ibis.pyspark.connect(spark_session(data.spark))
    settings = data.duckdb
    temp = settings.temp_directory or Path(tempfile.gettempdir()) / "seglab-duckdb"
    options = {"temp_directory": str(temp)}
    if settings.memory_limit is not None:
        options["memory_limit"] = settings.memory_limit
    if settings.threads is not None:
        options["threads"] = settings.threads
    try:
        return ibis.duckdb.connect(**options)
    except duckdb.Error as exc:
        raise ConfigError(f"data.duckdb: DuckDB refuses these settings: {exc}") from None


def spark_session(spark: SparkConfig):
    """The running Spark session, or a new one built from `spark` (settings applied to either).

    Raises
    ------
    ConfigError
        If PySpark is not installed.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError(
            "data.engine is 'spark' but PySpark is not installed; install the extra with "
            "pip install 'seglab[spark]' (it needs Java 17 or later), or set data.engine: duckdb"
        ) from None
    builder = SparkSession.builder.master(spark.master).appName(spark.app_name)
    for key, value in {**SPARK_DEFAULTS, **spark.conf}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def keep(connection: ibis.BaseBackend, table: ir.Table, stem: str) -> ir.Table:
    """Make `table` cheap to query again: a cached temporary view on Spark, as is on DuckDB.

    Spark would otherwise re-read and re-convert the input for every query of the load. DuckDB
    re-reads Parquet faster than it can hold tens of millions of lines in memory (measured on
    38M lines: holding them doubled the peak memory and, under a memory limit, quintupled the
    time), so there the table stays a lazy expression. The Spark view's name is `stem` plus a
    random suffix, so loads sharing one Spark session never overwrite each other.
    """
    if connection.name != "pyspark":
        return table
    name = f"{stem}_{uuid.uuid4().hex[:12]}"
    connection.create_view(name, table)
    connection.raw_sql(f"CACHE TABLE `{name}`")
    return connection.table(name)
