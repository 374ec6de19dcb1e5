"""Settings of the data stage: where the transactions are, how to read and clean them.

The contract's column names live here too, since ``data.columns`` is checked against them.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from seglab.registry import suggest
from seglab.settings import Section, resolve_path

__all__ = [
    "CONTRACT_COLUMNS",
    "DATE_DIRECTIVES",
    "CleaningConfig",
    "DataConfig",
    "DuckDBConfig",
    "SparkConfig",
    "SyntheticConfig",
]

CONTRACT_COLUMNS = (
    "customer_id",
    "order_date",
    "amount",
    "order_id",
    "quantity",
    "unit_price",
    "product_id",
    "category",
)


#: The strftime directives ``data.date_format`` may use: those DuckDB's ``strptime`` and Spark's
#: ``to_timestamp`` (through its own pattern letters) both read the same way.
DATE_DIRECTIVES = {
    "%Y": "four-digit year",
    "%y": "two-digit year (DuckDB only)",
    "%m": "month number",
    "%b": "abbreviated month name (Jan)",
    "%B": "full month name (January)",
    "%d": "day of the month",
    "%H": "hour (00-23)",
    "%I": "hour (01-12)",
    "%p": "AM or PM",
    "%M": "minute",
    "%S": "second",
    "%%": "a literal %",
}


def _check_date_format(value: str | None) -> str | None:
    """`value` if it is a strftime format of :data:`DATE_DIRECTIVES` naming a year, month, day."""
    if value is None:
        return None
    found = re.findall(r"%.?", value)
    unknown = sorted({d for d in found if d not in DATE_DIRECTIVES})
    allowed = ", ".join(DATE_DIRECTIVES)
    if unknown:
        raise ValueError(
            f"'{value}' uses {', '.join(repr(d) for d in unknown)}, which seglab does not read; "
            f"a date format is built of {allowed} and literal text, e.g. '%m/%d/%Y %H:%M'"
        )
    parts = {"year (%Y)": {"%Y", "%y"}, "month (%m)": {"%m", "%b", "%B"}, "day (%d)": {"%d"}}
    missing = [name for name, directives in parts.items() if not directives & set(found)]
    if missing:
        raise ValueError(
            f"'{value}' names no {', no '.join(missing)}; a date format names a year, a month "
            "and a day, e.g. '%m/%d/%Y' (US) or '%d/%m/%Y'"
        )
    return value


class SyntheticConfig(Section):
    """Generate the transaction and customer files with `seglab.synth` when they are absent."""

    customers: int = Field(20_000, ge=1)
    seed: int = 0
    start: dt.date = dt.date(2024, 11, 1)
    end: dt.date = dt.date(2026, 10, 31)


class CleaningConfig(Section):
    """The cleaning policy. Unset values (None) take the preset's default, else the general one.

    Every rule is counted in the cleaning account: rows and revenue it matched and removed.
    """

    return_prefix: str | None = None
    """Order ids starting with this mark returns (preset: "C"); "" or unset: negative amounts."""
    cancellations: Literal["net", "drop"] = "net"
    """Returns are netted against revenue (and feed the returns features) or dropped."""
    non_product_codes: tuple[str, ...] | None = None
    """Product ids that are not products (postage, fees); a trailing * matches a prefix."""
    drop_non_positive_prices: bool = True
    drop_duplicates: bool = False
    """Exact duplicate lines are kept by default (they may be genuine repeated scans)."""
    logistic_minimum: float = Field(0.0, ge=0)
    """Orders worth less than this are ignored for every feature (SEGMENTS.md, scheme 1)."""


class SparkConfig(Section):
    """How to reach Spark when ``data.engine`` is ``spark`` (needs the ``seglab[spark]`` extra).

    seglab joins the running Spark session when there is one (a cluster notebook, spark-submit),
    else starts one with these settings.
    """

    master: str = "local[2]"
    """Spark master URL: ``local[N]``, ``spark://host:7077``, ``yarn``, ``k8s://...``."""
    app_name: str = "seglab"
    conf: dict[str, str] = Field(default_factory=dict)
    """Extra Spark settings, e.g. ``spark.executor.memory: 8g``."""


class DuckDBConfig(Section):
    """Resources of the embedded DuckDB engine (``data.engine: duckdb``)."""

    memory_limit: str | None = None
    """Memory DuckDB may use, e.g. ``4GB``; above it, it spills to ``temp_directory``. None:
    DuckDB's own default, 80 % of the machine's memory."""
    threads: int | None = Field(None, ge=1)
    """Threads; None: one per core."""
    temp_directory: Path | None = None
    """Where DuckDB spills; None: ``seglab-duckdb`` in the system's temporary folder."""

    _resolve_temp = field_validator("temp_directory")(resolve_path)


class DataConfig(Section):
    """Where the transactions (and optional customer attributes) are and how to read them."""

    currency: str = ""
    """The currency of the amounts (``GBP``, ``EUR``, ``$``): shown with money in the report and
    named as the unit in the export's data dictionary."""
    transactions: Path
    """A Parquet, CSV or Excel file, or a folder of Parquet files."""
    customers: Path | None = None
    preset: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    date_format: str | None = None
    """How text dates in the order date column are written, as a strftime format: ``%m/%d/%Y``
    (US), ``%d/%m/%Y %H:%M``. Unset: ISO dates (2024-01-31, 2024-01-31 14:05) are read, and
    day/month/year or month/day/year dates when a day above 12 shows the order; when none does,
    the dates are ambiguous and this setting is required. Directives: :data:`DATE_DIRECTIVES`."""
    encoding: Literal["utf-8", "utf-16", "latin-1"] = "utf-8"
    """Text encoding of CSV files (transactions and customers); Excel and Parquet carry their own.
    ``latin-1`` (ISO-8859-1) is what older Excel versions and Windows tools often write."""
    cleaning: CleaningConfig = CleaningConfig()
    synthetic: SyntheticConfig | None = None
    engine: Literal["duckdb", "spark"] = "duckdb"
    """Where the transactions are aggregated into customer features: embedded DuckDB or Spark."""
    duckdb: DuckDBConfig = DuckDBConfig()
    spark: SparkConfig = SparkConfig()

    _resolve_paths = field_validator("transactions", "customers")(resolve_path)
    _date_format = field_validator("date_format")(_check_date_format)

    @field_validator("columns")
    @classmethod
    def _known_contract_names(cls, columns: dict[str, str]) -> dict[str, str]:
        for name in columns:
            if name not in CONTRACT_COLUMNS:
                raise ValueError(
                    f"'{name}' is not a contract column{suggest(name, list(CONTRACT_COLUMNS))} "
                    f"Contract columns: {', '.join(CONTRACT_COLUMNS)}"
                )
        return columns
