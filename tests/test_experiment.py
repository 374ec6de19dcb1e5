"""The experiment grid: tidy results, caching, resumption, retrieval by id, recovery."""

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import adjusted_rand_score

from seglab.errors import ConfigError, DataError
from seglab.evaluate.selection import solution_id
from seglab.run.cache import Cache
from seglab.run.config import load_config
from seglab.run.grid import release_workers, run_grid
from seglab.run.pipeline import run_experiments


@pytest.fixture(scope="module")
def grid_config(tmp_path_factory, config_writer):
    folder = tmp_path_factory.mktemp("grid")
    path = config_writer(folder)
    raw = yaml.safe_load(path.read_text())
    raw["data"]["synthetic"] = {"customers": 1_500, "seed": 3}
    raw["cache_dir"] = "cache"
    raw["experiments"] = {
        "feature_sets": ["value"],
        "scalings": ["log_standard"],
        "algorithms": ["kmeans", "fuzzy_cmeans", "ward"],
        "k_min": 2,
        "k_max": 8,
        "n_jobs": 1,
        "stability_top": 1,
        "bootstrap": 3,
        "stability_seeds": 2,
    }
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture(scope="module")
def first_run(grid_config):
    return run_experiments(grid_config, progress=False)


def test_one_row_per_solution_with_every_metric(first_run):
    results = first_run.results
    assert len(results) == 3 * 7
    assert results["solution"].is_unique
    expected = {
        "inertia",
        "silhouette",
        "calinski_harabasz",
        "davies_bouldin",
        "smallest_share",
        "fit_seconds",
    }
    assert expected <= set(results.columns)
    fuzzy = results[results["algorithm"] == "fuzzy_cmeans"]
    assert fuzzy["partition_coefficient"].notna().all()
    assert not results["cached"].any() and first_run.computed == 21


def test_labels_and_memberships_by_id(first_run):
    sid = solution_id("value", "log_standard", "fuzzy_cmeans", 4, 0)
    labels = first_run.labels(sid)
    memberships = first_run.fitted(sid).memberships
    assert labels.index.equals(first_run.customer_ids)
    # Kept compact (float32, int16 labels): rows sum to 1 within float32's precision.
    assert memberships.dtype == np.float32 and first_run.fitted(sid).labels.dtype == np.int16
    np.testing.assert_allclose(memberships.sum(axis=1), 1.0, atol=1e-6)
    # Column j of the memberships is cluster j of the hard labels.
    assert (memberships.argmax(axis=1) == labels.to_numpy()).all()
    assert (
        first_run.fitted(solution_id("value", "log_standard", "kmeans", 4, 0)).memberships is None
    )
    with pytest.raises(
        ConfigError, match="unknown solution 'value/log_standard/kmeans/k=40/seed=0'"
    ):
        first_run.labels("value/log_standard/kmeans/k=40/seed=0")


def test_rerun_is_served_from_the_cache_and_identical(grid_config, first_run, monkeypatch):
    import seglab.run.grid

    def must_not_run(*args, **kwargs):
        raise AssertionError("recomputed on a rerun")

    for name in ("gap_statistic", "fit_many"):
        monkeypatch.setattr(seglab.run.grid, name, must_not_run)
    again = run_experiments(grid_config, progress=False)
    assert again.cache_hits == 21 and again.computed == 0
    columns = [c for c in first_run.results.columns if c not in ("cached", "fit_seconds")]
    pd.testing.assert_frame_equal(again.results[columns], first_run.results[columns])
    pd.testing.assert_frame_equal(again.gap, first_run.gap)
    for sid in first_run.results["solution"]:
        assert (again.labels(sid) == first_run.labels(sid)).all()


def test_changed_setting_computes_only_what_changed(grid_config, first_run):
    wider = load_config(
        grid_config, {"experiments": {"k_max": 9, "algorithms": ["kmeans", "ward"]}}
    )
    result = run_experiments(wider, progress=False)
    assert result.cache_hits == 14 and result.computed == 2  # k = 9 for two algorithms


def test_ward_solutions_equal_scipy_on_the_same_scaled_features(grid_config, first_run):
    from scipy.cluster.hierarchy import fcluster, linkage

    X = first_run.scaled["value", "log_standard"].X
    tree = linkage(X, "ward")
    for k in (3, 5):
        ours = first_run.labels(solution_id("value", "log_standard", "ward", k, 0))
        assert adjusted_rand_score(ours, fcluster(tree, k, "maxclust")) == 1.0


def test_a_setting_that_changes_the_scaled_data_is_not_served_from_the_cache(
    grid_config, first_run
):
    # PCA after scaling changes what is clustered: the cache must not return the old solutions.
    reduced = load_config(grid_config, {"experiments": {"pca": 2, "algorithms": ["kmeans"]}})
    result = run_experiments(reduced, progress=False)
    assert result.cache_hits == 0 and result.computed == 7


def test_misspelt_parameter_is_refused_before_any_work(small_config):
    with pytest.raises(
        ConfigError,
        match=r"experiments\.params': kmeans: unknown parameter 'n_iint'; did you mean 'n_init'\? "
        r"kmeans takes: algorithm, copy_x, init, max_iter, n_init, tol, verbose\.",
    ):
        load_config(small_config, {"experiments": {"params": {"kmeans": {"n_iint": 2}}}})
    assert not (small_config.parent / "data").exists()  # nothing generated, loaded or fitted


def test_unknown_algorithm_lists_the_known_ones(small_config):
    with pytest.raises(
        ConfigError, match=r"unknown algorithm 'kmean'; did you mean 'kmeans'\? Known: average"
    ):
        load_config(small_config, {"experiments": {"algorithms": ["kmean"]}})


def test_k_max_above_the_number_of_customers_names_both(small_config):
    features = pd.DataFrame(
        {
            "recency_days": [1.0, 5.0, 30.0, 200.0],
            "frequency": [9.0, 4.0, 2.0, 1.0],
            "monetary_total": [900.0, 300.0, 80.0, 10.0],
            "monetary_mean": [100.0, 75.0, 40.0, 10.0],
            "tenure_days": [700.0, 500.0, 300.0, 200.0],
        },
        index=pd.Index(["C1", "C2", "C3", "C4"], name="customer_id"),
    )
    with pytest.raises(DataError, match=r"experiments\.k_max=6 is larger than the 4 customers"):
        run_grid(load_config(small_config), features, Cache(None), progress=False)


def test_one_feature_set_runs_every_algorithm_and_pca_asks_for_more(tmp_path, config_writer):
    # No algorithm needs two features; PCA to two components does, and says which set it is.
    small_config = config_writer(tmp_path, clustering={"choose": "vote", "maps": []})
    spend = {"features": {"sets": {"spend": ["monetary_total"]}}}
    grid = {
        "feature_sets": ["spend"],
        "algorithms": ["kmeans", "fuzzy_cmeans", "ward"],
        "k_max": 4,
        "stability_top": 0,
    }
    result = run_experiments(
        load_config(small_config, {**spend, "experiments": grid}), progress=False
    )
    assert len(result.results) == 3 * 3 and result.results["silhouette"].notna().all()
    with_pca = load_config(small_config, {**spend, "experiments": {**grid, "pca": 2}})
    with pytest.raises(
        ConfigError, match=r"feature set 'spend', scaling 'log_standard': pca=2 components need"
    ):
        run_experiments(with_pca, progress=False)


def test_a_feature_set_the_data_cannot_give_is_skipped_or_refused_when_named(tmp_path):
    # A log without product ids (CDNOW) has no product_breadth, which 'behaviour' uses.
    from seglab.run.config import config_from_dict

    rng = np.random.default_rng(0)
    columns = [
        *("recency_days", "frequency", "monetary_total", "monetary_mean", "tenure_days"),
        *("orders_per_month", "interpurchase_median_days", "interpurchase_cv", "returns_rate"),
    ]
    features = pd.DataFrame(rng.gamma(2.0, 3.0, size=(60, len(columns))), columns=columns)
    base = {"name": "t", "data": {"transactions": "t.parquet"}, "cache_dir": None}
    grid = {"k_min": 2, "k_max": 3, "n_jobs": 1, "stability_top": 0, "algorithms": ["kmeans"],
            "scalings": ["standard"]}  # fmt: skip
    result = run_grid(config_from_dict({**base, "experiments": grid}), features, Cache(None))
    assert set(result.results["feature_set"]) == {"rfm", "value"}
    assert result.notes == [
        "feature set 'behaviour' needs product_breadth, which the data cannot give (they need "
        "the column(s) product_id): the grid skips it"
    ]
    named = config_from_dict({**base, "experiments": {**grid, "feature_sets": ["behaviour"]}})
    with pytest.raises(ConfigError, match=r"'behaviour' needs product_breadth.*map the column"):
        run_grid(named, features, Cache(None))


def test_a_parallel_grid_gives_the_same_results_as_one_job(tmp_path):
    # Every other test runs the grid with one job; the default is n_jobs: -1 (every core), where
    # jobs come back in any order from worker processes.
    import datetime as dt

    from seglab.data import synth
    from seglab.features import compute_features
    from seglab.run.config import config_from_dict

    data = synth.generate(600, seed=2)
    features = compute_features(data.transactions, dt.date(2026, 10, 31))

    def grid(n_jobs):
        raw = {
            "name": "parallel",
            "data": {"transactions": "unused.parquet"},
            "cache_dir": None,
            "experiments": {
                "feature_sets": ["rfm", "value"],
                "scalings": ["standard", "log_standard"],
                "algorithms": ["kmeans", "fuzzy_cmeans", "ward"],
                "seeds": [0, 1],
                "k_min": 2,
                "k_max": 5,
                "n_jobs": n_jobs,
            },
        }
        return run_grid(config_from_dict(raw, base_dir=tmp_path), features, Cache(None),
                        progress=False)  # fmt: skip

    one, every = grid(1), grid(-1)
    assert len(one.results) == 2 * 2 * 3 * 2 * 4
    stable = [c for c in one.results.columns if c not in ("fit_seconds", "cached")]
    assert list(every.results.columns) == list(one.results.columns)
    pd.testing.assert_frame_equal(every.results[stable], one.results[stable])
    pd.testing.assert_frame_equal(every.gap, one.gap)
    for solution in one.results["solution"]:
        assert np.array_equal(every.labels(solution), one.labels(solution)), solution
    # A run ends the pool after the choice instead of leaving it idle beside the maps.
    assert _loky_workers()
    release_workers()
    assert not _loky_workers()


def _loky_workers() -> list:
    import psutil

    workers = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "popen_loky" in " ".join(child.cmdline()):
                workers.append(child)
        except (psutil.ZombieProcess, psutil.NoSuchProcess):  # a process that ended meanwhile
            pass
    return workers
