"""Memory discipline: no n x n matrix above the configured thresholds, anywhere on the path."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from seglab.errors import SeglabError
from seglab.evaluate.indices import evaluate_solution
from seglab.run.cache import Cache
from seglab.run.config import config_from_dict
from seglab.run.grid import run_grid


def _config(tmp_path, algorithms, **experiments):
    raw = {
        "name": "limits",
        "data": {"transactions": "unused.parquet"},
        "cache_dir": None,
        "experiments": {
            "feature_sets": ["rfm"],
            "scalings": ["standard"],
            "algorithms": algorithms,
            "k_min": 2,
            "k_max": 3,
            "n_jobs": 1,
            "stability_top": 0,
            **experiments,
        },
    }
    return config_from_dict(raw, base_dir=tmp_path)


def _features(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    values = rng.lognormal(size=(n, 3))
    columns = ["recency_days", "frequency", "monetary_total"]
    return pd.DataFrame(values, columns=columns, index=pd.RangeIndex(n, name="customer_id"))


@pytest.mark.parametrize("linkage", ["complete", "average"])
def test_an_exact_matrix_linkage_above_the_threshold_is_refused_in_the_grid(tmp_path, linkage):
    # 20,001 customers would need two condensed distance matrices of 1.6 GB each.
    tracemalloc.start()
    with pytest.raises(SeglabError) as refused:
        run_grid(_config(tmp_path, [linkage]), _features(20_001), Cache(None), progress=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    message = str(refused.value)
    assert "max_exact=20,000" in message  # the threshold
    assert "two_step" in message and "TwoStepHierarchical" in message  # the alternative
    assert peak < 100e6  # refused before building anything of size n^2


def test_ward_above_the_threshold_runs_as_two_step_and_says_so(tmp_path):
    config = _config(tmp_path, ["ward"], params={"ward": {"two_step_above": 1_000}})
    result = run_grid(config, _features(1_500), Cache(None), progress=False)
    assert result.results["fit_notes"].str.startswith("approximate: two-step").all()


def test_an_exact_silhouette_works_in_blocks_not_an_n_by_n_matrix():
    n = 12_000  # an n x n float64 matrix would take 1.15 GB
    X = np.random.default_rng(1).normal(size=(n, 4))
    labels = (X[:, 0] > 0).astype(int)
    tracemalloc.start()
    metrics = evaluate_solution(X, labels, silhouette_max_exact=n)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert not metrics.silhouette_sampled
    assert peak < 150e6


def _bytes(setting: str) -> float:
    """DuckDB's memory setting as text ('117.2 MiB') in bytes."""
    number, unit = setting.split()
    return float(number) * {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}[unit]


def test_duckdb_memory_settings_reach_the_connection_seglab_queries(tmp_path):
    from seglab.data import reading, synth
    from seglab.data.settings import DataConfig

    path = tmp_path / "tx.parquet"
    synth.generate(30, seed=1).transactions.to_parquet(path, index=False, coerce_timestamps="us")
    spill = tmp_path / "spill"
    data = DataConfig(
        transactions=path,
        duckdb={"memory_limit": "123MB", "threads": 1, "temp_directory": str(spill)},
    )
    default = reading.load(DataConfig(transactions=path)).transactions._find_backend()
    backend = reading.load(data).transactions._find_backend()  # the one the features run on

    def setting(con, name):
        return con.raw_sql(f"SELECT current_setting('{name}')").fetchone()[0]

    assert _bytes(setting(backend, "memory_limit")) == pytest.approx(123e6, rel=1e-3)
    assert _bytes(setting(default, "memory_limit")) != pytest.approx(123e6, rel=1e-3)
    assert int(setting(backend, "threads")) == 1
    assert setting(backend, "temp_directory") == str(spill)


def test_releasing_duckdbs_memory_restores_the_configured_limit_exactly():
    # DuckDB shows 1500MB as "1.3 GiB", which set again would be 1.2 GiB: the release must put
    # back the configured value, not the displayed one, and DuckDB's default when none is set.
    import ibis

    from seglab.data import engine

    for limit in ("1500MB", None):
        backend = ibis.duckdb.connect(**({"memory_limit": limit} if limit else {}))
        table = backend.create_table("lines", ibis.memtable({"amount": [1.0, 2.0]}))
        before = backend.raw_sql("SELECT current_setting('memory_limit')").fetchall()[0][0]
        engine.release_memory(table, limit)
        after = backend.raw_sql("SELECT current_setting('memory_limit')").fetchall()[0][0]
        assert after == before
        assert int(table.amount.sum().execute()) == 3  # the connection still queries


@pytest.mark.parametrize("lines, held", [(3, True), ("above", False)])
def test_duckdb_holds_the_lines_of_a_small_input_only(tmp_path, lines, held):
    # Held in memory, the lines survive their file; above the limit every query reads the file.
    import ibis

    from seglab.data import engine

    path = tmp_path / "lines.parquet"
    pd.DataFrame({"amount": [1.0, 2.0, 3.0]}).to_parquet(path)
    backend = ibis.duckdb.connect()
    count = engine.IN_MEMORY_MAX_LINES + 1 if lines == "above" else lines
    table = engine.keep(backend, backend.read_parquet(path), "lines", lines=count)
    path.unlink()
    if held:
        assert float(table.amount.sum().execute()) == 6.0
    else:
        with pytest.raises(Exception, match=r"lines\.parquet"):
            table.amount.sum().execute()
