"""Gaussian mixtures in the experiment grid: registered, BIC and AIC in the results, k by BIC."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from seglab.cluster.algorithms import ALGORITHMS, check_params, fit_many, parameter_names
from seglab.errors import ConfigError
from seglab.evaluate.choice import choose_k
from seglab.evaluate.selection import Rules, eligibility, series_winners, solution_id
from seglab.run.cache import Cache
from seglab.run.config import config_from_dict
from seglab.run.grid import run_grid

TRUE_K = 4
TOL = 1e-10
RFM = ["recency_days", "frequency", "monetary_total"]


@pytest.fixture(scope="module")
def blobs():
    """Four well-separated Gaussian blobs of unequal sizes and shapes in three features."""
    rng = np.random.default_rng(7)
    centres = np.array([[0.0, 0.0, 0.0], [12.0, 0.0, 0.0], [0.0, 12.0, 0.0], [0.0, 0.0, 12.0]])
    spreads = [1.0, 1.5, 0.7, 1.2]
    sizes = [260, 200, 180, 160]
    parts = [rng.normal(c, s, (n, 3)) for c, s, n in zip(centres, spreads, sizes, strict=True)]
    truth = np.repeat(np.arange(TRUE_K), sizes)
    index = pd.Index([f"C{i}" for i in range(sum(sizes))], name="customer_id")
    return pd.DataFrame(np.vstack(parts), columns=RFM, index=index), truth


@pytest.fixture(scope="module")
def grid(blobs):
    features, _ = blobs
    experiments = {
        "feature_sets": ["rfm"], "scalings": ["none"], "algorithms": ["gmm", "kmeans"],
        "k_min": 2, "k_max": 7, "n_jobs": 1, "stability_top": 0,
        "params": {"gmm": {"tol": TOL, "max_iter": 5_000}},  # EM to its fixed point
    }  # fmt: skip
    config = config_from_dict(
        {"name": "t", "data": {"transactions": "t.parquet"}, "cache_dir": None,
         "experiments": experiments}
    )  # fmt: skip
    return run_grid(config, features, Cache(None), progress=False)


def _independent_bic(X: np.ndarray, k: int) -> float:
    """scikit-learn's BIC at k, lowest over the four covariance shapes (each best of 5 starts)."""
    reg_covar = 1e-6 * X.var(axis=0).mean()
    return min(
        GaussianMixture(
            k, covariance_type=shape, reg_covar=reg_covar, tol=TOL, max_iter=5_000, n_init=5,
            random_state=1,
        )
        .fit(X)
        .bic(X)
        for shape in ("full", "tied", "diag", "spherical")
    )  # fmt: skip


def test_gmm_is_registered_as_a_seeded_soft_algorithm_with_its_parameters():
    spec = ALGORITHMS.get("gmm")
    assert spec.fuzzy and spec.seeded and not spec.tree
    assert spec.criteria == ("bic", "aic")
    assert parameter_names("gmm") == ["covariance_type", "max_iter", "n_init", "reg_covar", "tol"]
    check_params("gmm", {"covariance_type": "diag", "n_init": 2})
    with pytest.raises(ConfigError, match=r"experiments\.params\.gmm: The 'covariance_type'"):
        check_params("gmm", {"covariance_type": "round"})


def test_gmm_through_the_grid_recovers_the_blobs(grid, blobs):
    _, truth = blobs
    labels = grid.labels(solution_id("rfm", "none", "gmm", TRUE_K, 0))
    assert adjusted_rand_score(truth, labels) >= 0.95
    fitted = grid.fitted(solution_id("rfm", "none", "gmm", TRUE_K, 0))
    np.testing.assert_allclose(fitted.memberships.sum(axis=1), 1.0)
    assert (fitted.memberships.argmax(axis=1) == labels.to_numpy()).all()


def test_bic_and_aic_in_the_results_equal_scikit_learns(grid, blobs):
    features, _ = blobs
    X = features.to_numpy()
    results = grid.results.set_index("solution")
    gmm = results[results["algorithm"] == "gmm"].set_index("k")
    assert results.loc[results["algorithm"] == "kmeans", ["bic", "aic"]].isna().all().all()
    # Two parameters per free value: AIC = BIC - p (log n - 2), the same p at every k here.
    assert (gmm["aic"] < gmm["bic"]).all()
    # At the true k the likelihood has one optimum; away from it starts may end in others.
    assert gmm.loc[TRUE_K, "bic"] == pytest.approx(_independent_bic(X, TRUE_K), rel=1e-9)
    assert gmm["bic"].idxmin() == TRUE_K
    assert gmm["aic"].idxmin() == TRUE_K
    assert grid.fitted(solution_id("rfm", "none", "gmm", TRUE_K, 0)).criteria == {
        "bic": gmm.loc[TRUE_K, "bic"], "aic": gmm.loc[TRUE_K, "aic"],
    }  # fmt: skip


def test_bic_decides_k_in_the_gmm_series_only(grid):
    table = eligibility(grid.results, Rules(0.02, 30, 0.6))
    winners, votes = series_winners(grid.results, table, grid.gap)
    gmm = winners[winners["algorithm"] == "gmm"].iloc[0]
    assert gmm["k"] == TRUE_K and "bic" in gmm["voters"].split(", ")
    assert set(votes.loc[votes["algorithm"] == "kmeans", "criterion"]).isdisjoint({"bic", "aic"})
    assert votes.loc[votes["algorithm"] == "gmm", "criterion"].tolist()[-1] == "bic"


def test_a_decisive_criterion_overrides_the_tally_and_counts_its_support():
    solutions = pd.DataFrame(
        {
            "algorithm": ["gmm"] * 4 + ["kmeans"] * 4,
            "k": [2, 3, 4, 5] * 2,
            "inertia": [90.0, 30.0, 25.0, 22.0] * 2,
            "silhouette": [0.5, 0.7, 0.6, 0.55] * 2,
            "calinski_harabasz": [200.0, 400.0, 350.0, 300.0] * 2,
            "davies_bouldin": [0.9, 0.5, 0.45, 0.7] * 2,
            "bic": [900.0, 800.0, 700.0, 750.0] + [np.nan] * 4,
        }
    )
    choice = choose_k(solutions, by=["algorithm"])
    recommended = choice.recommended.set_index("algorithm")
    assert recommended.loc["gmm", "recommended_k"] == 4  # the tally alone says 3
    assert recommended.loc["gmm", ["votes", "n_voting"]].tolist() == [2, 5]
    assert recommended.loc["gmm", "voters"] == "davies_bouldin, bic"
    assert recommended.loc["kmeans", "recommended_k"] == 3
    assert "bic" not in set(choice.votes.loc[choice.votes["algorithm"] == "kmeans", "criterion"])
    plain = choose_k(solutions, by=["algorithm"], decisive=())
    assert plain.recommended.set_index("algorithm").loc["gmm", "recommended_k"] == 3


def test_fit_many_reports_the_estimators_own_criteria(blobs):
    from seglab.cluster.mixture import GaussianMixtureClustering

    X = blobs[0].to_numpy()
    (solution,) = fit_many(X, "gmm", [3], random_state=5, covariance_type="diag")
    model = GaussianMixtureClustering(3, covariance_type="diag", random_state=5).fit(X)
    assert solution.criteria == {"bic": model.bic_, "aic": model.aic_}
    assert model.mixture_.bic(X) == model.bic_
    (hard,) = fit_many(X, "kmeans", [3], random_state=5)
    assert hard.criteria == {}
