"""Data: read transactions and attributes, map them onto the contract, clean them with an account.

The engines (embedded DuckDB, or Spark) run every query; the seeded synthetic generator makes the
embedded default dataset and the ground truth of the recovery tests.
"""
