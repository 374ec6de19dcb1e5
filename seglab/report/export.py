"""The export a CRM imports: one row per customer, a segment summary and a data dictionary.

Column names are snake_case only (``^[a-z][a-z0-9_]*$``) and the same from period to period:
the chosen segment (``segment_id``, ``segment_name``, ``action``, ``membership`` for soft
solutions), the RFM scores, every heuristic scheme's label and tags. Written beside the report
as ``segments.csv``, ``segments.parquet``, ``segments.xlsx`` (sheets ``customers``,
``segment_summary``, ``data_dictionary``) and ``segments.dictionary.csv``; with a previous
period, ``movers.csv`` lists the customers whose segment or purchase-frequency tier changed.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd

from seglab.features.lifetime import VALUE_COLUMNS, CustomerValue
from seglab.heuristics import SchemeLabels
from seglab.interpret.migration import Migration
from seglab.interpret.segmentation import Segmentation

__all__ = ["SNAKE_CASE", "customer_table", "data_dictionary", "segment_summary", "snake_case"]

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$")
#: Above this many customers the workbook's customers sheet points to the CSV and Parquet files
#: instead (a spreadsheet of 20,000 customers takes about 15 s to write; the CSV a quarter second).
XLSX_MAX_CUSTOMERS = 10_000
RFM_SCORES = ("r_score", "f_score", "m_score")
#: Meaning and unit of the fixed columns ("money" is replaced by the config's currency).
MEANINGS: dict[str, tuple[str, str]] = {
    "customer_id": ("the customer's id in the transactions", ""),
    "snapshot_date": ("the date the segments describe (the report's as_of)", "date"),
    "segment_id": ("the customer's segment; ids stay with a segment across periods", ""),
    "segment_name": ("the segment's name (the analyst's, else generated)", ""),
    "action": ("the recommended next step for the segment", ""),
    "membership": ("how firmly the customer belongs to the segment (0-1; soft solutions)", "share"),
    "r_score": ("RFM recency score: 5 = bought most recently", "1-5"),
    "f_score": ("RFM frequency score: 5 = buys most often", "1-5"),
    "m_score": ("RFM monetary score: 5 = spends most", "1-5"),
    "rfm_segment": ("RFM segment (champions, loyal, at risk, ...)", ""),
    "customers": ("customers in the segment", "customers"),
    "share": ("share of all customers", "share"),
    "revenue": ("net revenue of the segment's customers", "money"),
    "revenue_share": ("share of all net revenue", "share"),
    "average_order_value": ("net revenue per order", "money"),
    "median_recency_days": ("median days since the last purchase", "days"),
    "description": ("the segment's most distinctive features against everyone", ""),
    "expected_purchases": ("expected purchases in the next clv.horizon_days (BG/NBD)", "orders"),
    "p_alive": ("probability the customer still buys (BG/NBD)", "share"),
    "expected_order_value": ("expected value of the customer's next orders (Gamma-Gamma)", "money"),
    "clv": ("lifetime value: expected revenue in the next clv.horizon_days, discounted", "money"),
    "clv_total": ("expected revenue of the segment's customers in the horizon (CLV)", "money"),
    "clv_mean": ("mean lifetime value (CLV) per customer of the segment", "money"),
    "clv_share": ("share of all expected future revenue (CLV)", "share"),
}


def snake_case(name: str) -> str:
    """A column name of lowercase letters, digits and underscores, starting with a letter.

    >>> [snake_case(n) for n in ["Segment 1", "A+", "rfm_segments", "2nd tier"]]
    ['segment_1', 'a_plus', 'rfm_segments', 'x_2nd_tier']
    """
    text = name.replace("+", "_plus").replace("%", "_pct")
    text = re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower()
    return text if text[:1].isalpha() else f"x_{text}"


def customer_table(
    segmentation: Segmentation,
    schemes: SchemeLabels,
    snapshot: dt.date,
    value: CustomerValue | None = None,
) -> pd.DataFrame:
    """One row per customer in scope, snake_case columns, the same from period to period.

    With `value`, the lifetime-value columns follow the segment (missing when not estimated).
    """
    table = pd.DataFrame(index=segmentation.labels.index)
    table["snapshot_date"] = pd.Timestamp(snapshot)
    table["segment_id"] = segmentation.segment_ids
    table["segment_name"] = segmentation.segment_names
    actions = segmentation.names.set_index("segment_id")["action"]
    table["action"] = actions.reindex(table["segment_id"]).to_numpy()
    if segmentation.memberships is not None:
        table["membership"] = segmentation.memberships.max(axis=1).round(6)
    if value is not None:
        for column in VALUE_COLUMNS:
            table[column] = value.customers[column].reindex(table.index).round(6)
    derived = schemes.derived.get("rfm_segments")
    if derived is not None:
        for score in RFM_SCORES:
            if score in derived:
                table[score] = derived[score].reindex(table.index).astype("Int8")
    for scheme, labels in schemes.labels.items():
        column = "rfm_segment" if scheme == "rfm_segments" else snake_case(scheme)
        table[column] = labels.reindex(table.index).astype(str)
    for tag, values in schemes.tags.items():
        table[f"tag_{snake_case(tag)}"] = values.reindex(table.index).astype(bool)
    table.index.name = "customer_id"
    return table.reset_index()


def segment_summary(segmentation: Segmentation, value: CustomerValue | None = None) -> pd.DataFrame:
    """Per segment: id, name, customers, shares, revenue, average order value, recency, action.

    Read from the segmentation's profile (means and medians of every feature per segment).
    With `value`, also the segment's lifetime value: total, mean per customer and share of all
    expected future revenue (``clv_total``, ``clv_mean``, ``clv_share``; missing when the value
    was not estimated).
    """
    profile = segmentation.profile
    orders = (
        profile["mean_frequency"] * profile["customers"] if "mean_frequency" in profile else np.nan
    )
    summary = pd.DataFrame(
        {
            "segment_id": profile["segment_id"],
            "segment_name": profile["name"],
            "customers": profile["customers"].astype(int),
            "share": profile["share"],
            "revenue": profile["revenue"],
            "revenue_share": profile["revenue_share"],
            "average_order_value": profile["revenue"] / orders,
            "median_recency_days": profile.get("median_recency_days", np.nan),
            "action": profile["action"],
            "description": profile["description"],
        }
    ).reset_index(drop=True)
    if value is None:
        return summary
    clv = value.customers["clv"].reindex(segmentation.segment_ids.index)
    total = clv.groupby(segmentation.segment_ids).sum(min_count=1)
    by_segment = pd.DataFrame(
        {
            "clv_total": total,
            "clv_mean": clv.groupby(segmentation.segment_ids).mean(),
            "clv_share": total / clv.sum(min_count=1),
        }
    )
    at = summary.columns.get_loc("revenue_share") + 1
    for offset, column in enumerate(by_segment.columns):
        summary.insert(
            at + offset, column, by_segment[column].reindex(summary["segment_id"]).to_numpy()
        )
    return summary


def data_dictionary(
    tables: dict[str, pd.DataFrame], schemes: SchemeLabels, currency: str = ""
) -> pd.DataFrame:
    """Column, type, meaning and unit of every column of the export's tables."""
    rows = []
    for sheet, table in tables.items():
        for column in table.columns:
            meaning, unit = _meaning(column, schemes)
            rows.append(
                {
                    "table": sheet,
                    "column": column,
                    "type": _kind(table[column]),
                    "meaning": meaning,
                    "unit": (currency or "currency of the data") if unit == "money" else unit,
                }
            )
    return pd.DataFrame(rows)


def write_export(
    segmentation: Segmentation,
    schemes: SchemeLabels,
    migration: Migration,
    *,
    snapshot: dt.date,
    folder: Path,
    currency: str = "",
    value: CustomerValue | None = None,
) -> list[Path]:
    """Write the CRM files into `folder`; return their paths."""
    table = customer_table(segmentation, schemes, snapshot, value)
    summary = segment_summary(segmentation, value)
    dictionary = data_dictionary(
        {"customers": table, "segment_summary": summary}, schemes, currency
    )
    written = [folder / "segments.csv", folder / "segments.parquet"]
    table.to_csv(written[0], index=False, date_format="%Y-%m-%d")
    table.to_parquet(written[1], index=False)
    dictionary.to_csv(folder / "segments.dictionary.csv", index=False)
    written.append(folder / "segments.dictionary.csv")
    with pd.ExcelWriter(folder / "segments.xlsx", engine="openpyxl") as workbook:
        if len(table) <= XLSX_MAX_CUSTOMERS:
            table.to_excel(workbook, sheet_name="customers", index=False)
        else:
            pd.DataFrame(
                {"note": [f"{len(table):,} customers: see segments.parquet or segments.csv"]}
            ).to_excel(workbook, sheet_name="customers", index=False)
        summary.to_excel(workbook, sheet_name="segment_summary", index=False)
        dictionary.to_excel(workbook, sheet_name="data_dictionary", index=False)
    written.append(folder / "segments.xlsx")
    if migration.matrices:
        migration.movers.to_csv(folder / "movers.csv", index=False)
        written.append(folder / "movers.csv")
    return written


def _meaning(column: str, schemes: SchemeLabels) -> tuple[str, str]:
    if column in MEANINGS:
        return MEANINGS[column]
    for scheme, spec in schemes.schemes.items():
        if column == snake_case(scheme):
            return f"segment of the heuristic scheme {scheme}: {spec.title}".strip(), ""
    if column.startswith("tag_"):
        return f"the customer carries the tag {column.removeprefix('tag_')}", "true/false"
    return column.replace("_", " "), ""


def _kind(values: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(values):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "date"
    if pd.api.types.is_integer_dtype(values):
        return "integer"
    if pd.api.types.is_numeric_dtype(values):
        return "number"
    return "text"
