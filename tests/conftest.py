"""Shared fixtures: tiny hand-made data, small synthetic configs, the real dataset."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import settings

# Property tests draw the same examples on every run, so a CI failure can be replayed.
settings.register_profile("reproducible", derandomize=True)
settings.load_profile("reproducible")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ONLINE_RETAIL = PROJECT_ROOT.parent / "shared" / "data" / "online_retail.parquet"


@pytest.fixture
def hand_transactions() -> pd.DataFrame:
    """Two customers; expected features as of 2024-01-31 are written in the tests that use it."""
    return pd.DataFrame(
        {
            "customer_id": ["A", "A", "A", "B", "B"],
            "order_date": pd.to_datetime(
                [
                    "2024-01-01 09:00",
                    "2024-01-01 09:00",
                    "2024-01-15 17:30",
                    "2024-01-10 12:00",
                    "2024-02-05 08:00",
                ]
            ),
            "order_id": ["o1", "o1", "o2", "o3", "o4"],
            "amount": [10.0, 20.0, 50.0, 100.0, 999.0],
        }
    )


def write_config(folder: Path, **overrides) -> Path:
    """Write a config for a small synthetic dataset into `folder` and return its path."""
    raw = {
        "name": "small",
        "seed": 0,
        "as_of": "2026-10-31",
        "data": {
            "transactions": "data/transactions.parquet",
            "customers": "data/customers.parquet",
            "synthetic": {"customers": 400, "seed": 1},
        },
        "cache_dir": "cache",
        "experiments": {
            "feature_sets": ["value"],
            "scalings": ["log_standard"],
            "algorithms": ["kmeans", "fuzzy_cmeans"],
            "k_min": 2,
            "k_max": 6,
            "n_jobs": 1,
            "stability_top": 1,
            "bootstrap": 3,
            "stability_seeds": 2,
        },
        "clustering": {
            "choose": "config",
            "feature_set": "value",
            "scaling": "log_standard",
            "algorithm": "kmeans",
            "k": 4,
        },
    }
    for key, value in overrides.items():
        raw[key] = value
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture(scope="session")
def config_writer():
    """The :func:`write_config` function, for fixtures of wider scope than a test."""
    return write_config


@pytest.fixture
def small_config(tmp_path: Path) -> Path:
    """A config over 400 synthetic customers, generated on first use inside tmp_path."""
    return write_config(tmp_path)


@pytest.fixture(scope="session")
def online_retail_path() -> Path:
    """The UCI Online Retail file (Chen 2015, CC BY 4.0) from ../shared/data; skip when absent."""
    if not ONLINE_RETAIL.is_file():
        pytest.skip(f"real dataset not found at {ONLINE_RETAIL}")
    return ONLINE_RETAIL


@pytest.fixture(scope="session")
def online_retail_features(online_retail_path) -> pd.DataFrame:
    """Customer features of Online Retail with its preset, as of its last day (2011-12-09)."""
    from seglab.data import reading as io
    from seglab.data.settings import DataConfig
    from seglab.features import compute_features

    loaded = io.load(DataConfig(transactions=online_retail_path, preset="uci_online_retail"))
    with pytest.warns(match="only returns"):
        return compute_features(loaded.transactions, dt.date(2011, 12, 9))


def pytest_configure(config):
    """Configs without a cache_dir outside the checkout cache in the user's cache directory:
    point it at a throwaway folder so that tests never write into the real one."""
    import os
    import tempfile

    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="seglab-test-cache-")
