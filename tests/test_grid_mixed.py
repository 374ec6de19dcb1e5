"""Mixed feature sets in the experiment grid: categories recovered, Gower silhouette, refusals."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score, silhouette_score

from seglab.errors import ConfigError
from seglab.evaluate.selection import solution_id
from seglab.interpret.profile import category_shares
from seglab.run.cache import Cache
from seglab.run.config import config_from_dict
from seglab.run.grid import run_grid

TRUE_K = 3
NUMERIC = ["recency_days", "frequency", "monetary_total"]
CATEGORICAL = ["industry", "region", "company_size"]
LEVELS = {
    "industry": ["retail", "education", "healthcare"],
    "region": ["North", "South", "East"],
    "company_size": ["micro", "medium", "large"],
}
SETS = {"firmo": {"numeric": NUMERIC, "categorical": CATEGORICAL}}


@pytest.fixture(scope="module")
def customers():
    """450 customers in three groups that differ only in their categories (each group has its
    own industry, region and size, 90 % of the time); the numbers are one population."""
    rng = np.random.default_rng(11)
    n = 450
    truth = rng.permutation(np.repeat(np.arange(TRUE_K), n // TRUE_K))
    table = pd.DataFrame(
        {
            "recency_days": rng.gamma(2.0, 30.0, n),
            "frequency": rng.poisson(5, n) + 1.0,
            "monetary_total": rng.lognormal(5.0, 1.0, n),
        },
        index=pd.Index([f"C{i:04d}" for i in range(n)], name="customer_id"),
    )
    for column, levels in LEVELS.items():
        own = np.array(levels)[truth]
        other = rng.choice([*levels, "other"], n)
        table[column] = np.where(rng.random(n) < 0.9, own, other)
    return table, truth


def _config(algorithms, feature_sets=("firmo", "rfm"), params=None, **data):
    experiments = {
        "feature_sets": list(feature_sets), "scalings": ["log_standard"],
        "algorithms": list(algorithms), "k_min": TRUE_K, "k_max": TRUE_K, "n_jobs": 1,
        "stability_top": 0, "params": params or {"kprototypes": {"n_init": 2}},
    }  # fmt: skip
    return config_from_dict(
        {"name": "t", "data": {"transactions": "t.parquet", "customers": "c.parquet", **data},
         "cache_dir": None, "experiments": experiments, "features": {"sets": SETS}}
    )  # fmt: skip


@pytest.fixture(scope="module")
def grid(customers):
    config = _config(["kprototypes", "gower_hierarchical", "kmeans"])
    return run_grid(config, customers[0], Cache(None), progress=False)


def _gower(numbers: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Gower distances from the definition: range-scaled absolute differences and mismatches."""
    ranges = numbers.max(axis=0) - numbers.min(axis=0)
    numeric = np.abs(numbers[:, None, :] - numbers[None, :, :]) / ranges
    mismatch = codes[:, None, :] != codes[None, :, :]
    return (numeric.sum(axis=2) + mismatch.sum(axis=2)) / (numbers.shape[1] + codes.shape[1])


def test_mixed_algorithms_recover_groups_that_lie_in_the_categories(grid, customers):
    _, truth = customers
    for algorithm in ("kprototypes", "gower_hierarchical"):
        labels = grid.labels(solution_id("firmo", "log_standard", algorithm, TRUE_K, 0))
        assert adjusted_rand_score(truth, labels) >= 0.9, algorithm
    numbers_only = grid.labels(solution_id("rfm", "log_standard", "kmeans", TRUE_K, 0))
    assert adjusted_rand_score(truth, numbers_only) < 0.3


def test_each_algorithm_runs_on_its_kind_of_feature_set_and_the_notes_say_so(grid):
    pairs = set(zip(grid.results["feature_set"], grid.results["algorithm"], strict=True))
    assert pairs == {("firmo", "kprototypes"), ("firmo", "gower_hierarchical"), ("rfm", "kmeans")}
    assert any(note.startswith("kmeans clusters numbers only") for note in grid.notes)
    assert set(grid.gap["feature_set"]) == {"rfm"}  # k-means' gap would ignore the categories


def test_mixed_silhouette_is_on_gower_distance_and_mean_based_indices_are_nan(grid, customers):
    scaled = grid.scaled["firmo", "log_standard"]
    distances = _gower(scaled.X, scaled.codes)
    results = grid.results.set_index("solution")
    for algorithm in ("kprototypes", "gower_hierarchical"):
        sid = solution_id("firmo", "log_standard", algorithm, TRUE_K, 0)
        expected = silhouette_score(distances, grid.labels(sid), metric="precomputed")
        row = results.loc[sid]
        assert row["silhouette"] == pytest.approx(expected, abs=1e-12)
        assert row[["inertia", "calinski_harabasz", "davies_bouldin"]].isna().all()
        assert "calinski_harabasz: mixed feature set" in row["notes"]
        assert not row["fit_sampled"]
    kmeans = results.loc[solution_id("rfm", "log_standard", "kmeans", TRUE_K, 0)]
    assert kmeans[["inertia", "calinski_harabasz", "davies_bouldin"]].notna().all()


def test_a_sampled_gower_fit_is_recorded_and_a_category_change_refits(customers, tmp_path):
    table, _ = customers
    params = {"gower_hierarchical": {"max_exact": 200}}
    config = _config(["gower_hierarchical"], ["firmo"], params)
    first = run_grid(config, table, Cache(tmp_path), progress=False)
    row = first.results.iloc[0]
    assert row["fit_sampled"] and row["fit_notes"].startswith("Approximate: a seeded sample of 200")
    again = run_grid(config, table, Cache(tmp_path), progress=False)
    assert (again.cache_hits, again.computed) == (1, 0)
    assert bool(again.results.iloc[0]["fit_sampled"])
    changed = table.assign(region=table["region"].to_numpy()[::-1])  # same numbers
    assert run_grid(config, changed, Cache(tmp_path), progress=False).computed == 1


def test_numeric_algorithms_refuse_categories_and_mixed_ones_numbers_alone():
    with pytest.raises(ConfigError, match=r"suits kmeans \(firmo\): kmeans clusters numbers only"):
        _config(["kprototypes", "kmeans"], ["firmo"])
    with pytest.raises(ConfigError, match="kprototypes or gower_hierarchical"):
        _config(["kmeans"], ["firmo"])
    with pytest.raises(ConfigError, match=r"suits gower_hierarchical .*no categorical column"):
        _config(["gower_hierarchical"], ["rfm"])
    with pytest.raises(ConfigError, match=r"set data\.customers"):
        _config(["kprototypes"], ["firmo"], customers=None)


def test_unknown_categorical_columns_are_named_with_the_available_ones(customers):
    table, _ = customers
    config = _config(["gower_hierarchical"], ["firmo"])
    with pytest.raises(ConfigError) as caught:
        run_grid(config, table.drop(columns="region"), Cache(None), progress=False)
    message = str(caught.value)
    assert "categorical column(s) region are not in the customer attribute table" in message
    assert "its columns are: industry, company_size" in message


def test_category_shares_per_segment_against_the_whole():
    customers = pd.DataFrame({"size": ["s", "s", "l", "l", "l", None, "s", "l"]})
    labels = pd.Series(["S1", "S1", "S1", "S2", "S2", "S2", "S2", "S2"])
    table = category_shares(customers, labels, ["size"]).set_index(["category", "segment"])
    # By hand: S1 = {s, s, l}, S2 = {l, l, (missing), s, l}; overall s 3/8, l 4/8, missing 1/8.
    assert table.loc[("l", "S2"), ["share", "overall_share"]].tolist() == [0.6, 0.5]
    assert table.loc[("s", "S1"), "lift"] == pytest.approx((2 / 3) / (3 / 8))
    assert table.loc[("(missing)", "S1"), "share"] == 0.0
    assert table.index.get_level_values("category").unique().tolist() == ["l", "s", "(missing)"]
    assert table.groupby("segment")["share"].sum().tolist() == pytest.approx([1.0, 1.0])
