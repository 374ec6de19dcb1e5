"""Bootstrap Jaccard and seed ARI: the documented procedure by hand, blobs against noise, errors."""

from functools import cache

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from threadpoolctl import threadpool_limits

from seglab.errors import ConfigError, DataError
from seglab.evaluate.stability import bootstrap_stability, seed_stability


@pytest.fixture(autouse=True)
def one_thread():
    """k-means on a few hundred points is fastest, and steadiest, on one thread."""
    with threadpool_limits(1):
        yield


@cache
def separated() -> np.ndarray:
    """Four well separated blobs in 2-D (spread 1, centres 10 apart), 300 customers."""
    corners = [[0, 0], [10, 0], [0, 10], [10, 10]]
    return make_blobs(300, n_features=2, centers=corners, cluster_std=1.0, random_state=3)[0]


@cache
def noise() -> np.ndarray:
    return np.random.default_rng(0).uniform(size=(300, 2))


def refit(k: int, seed: int = 0):
    return lambda X: KMeans(k, n_init=3, random_state=seed).fit_predict(X)


def by_seed(k: int):
    return lambda X, seed: KMeans(k, n_init=1, random_state=seed).fit_predict(X)


def threshold(X: np.ndarray) -> np.ndarray:
    """A fixed 'clustering' that cuts the line at 2: it moves customer 2 to the other side."""
    return (X[:, 0] >= 2).astype(int)


def test_jaccard_follows_the_documented_procedure():
    X = np.arange(6.0).reshape(-1, 1)
    labels = np.array([0, 0, 0, 1, 1, 1])
    result = bootstrap_stability(X, labels, threshold, n_boot=3, random_state=8)
    rng = np.random.default_rng(8)
    for b in range(3):
        drawn = set(rng.integers(0, 6, size=6).tolist())
        boot = [{i for i in drawn if i < 2}, {i for i in drawn if i >= 2}]
        for c, cluster in enumerate([{0, 1, 2}, {3, 4, 5}]):
            kept = cluster & drawn
            expected = max(len(kept & d) / len(kept | d) for d in boot) if kept else np.nan
            assert result.jaccard[b, c] == pytest.approx(expected, nan_ok=True)


def test_separated_blobs_are_recovered():
    X = separated()
    result = bootstrap_stability(X, refit(4)(X), refit(4))
    assert result.jaccard.shape == (20, 4) and result.n_boot == 20
    assert result.mean_jaccard >= 0.95
    table = result.per_cluster
    assert table.columns.tolist() == [
        *("cluster", "size", "mean_jaccard", "n_present", "dissolved_share")
    ]
    assert (table["mean_jaccard"] >= 0.95).all() and (table["dissolved_share"] == 0).all()
    assert table["size"].sum() == 300 and (table["n_present"] == 20).all()


def test_noise_is_clearly_less_stable_than_blobs():
    blobs = bootstrap_stability(separated(), refit(4)(separated()), refit(4)).mean_jaccard
    unstructured = bootstrap_stability(noise(), refit(5)(noise()), refit(5)).mean_jaccard
    assert unstructured < 0.9
    assert unstructured < blobs - 0.1


def test_a_cluster_missing_from_a_replicate_is_skipped():
    X = np.array([[0.0], [0.1], [0.2], [0.3], [0.4], [5.0], [5.1], [5.2], [5.3], [9.0]])
    labels = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 2])  # cluster 2 is one customer
    cut = lambda data: np.digitize(data[:, 0], [2.5, 7.0])  # noqa: E731 - a three-way cut
    result = bootstrap_stability(X, labels, cut, n_boot=20, random_state=1)
    missing = np.isnan(result.jaccard[:, 2])
    assert 0 < missing.sum() < 20  # each replicate misses one customer with probability 0.35
    row = result.per_cluster.iloc[2]
    assert (row["size"], row["n_present"], row["mean_jaccard"]) == (1, 20 - missing.sum(), 1.0)
    assert result.mean_jaccard == 1.0


def test_one_cluster_is_always_recovered():
    X = noise()
    result = bootstrap_stability(X, np.zeros(300), lambda data: np.zeros(len(data)), n_boot=3)
    assert result.mean_jaccard == 1.0


def test_refits_see_the_resampled_rows_with_duplicates():
    seen = []

    def record(data):
        seen.append(data)
        return threshold(data)

    X = np.arange(6.0).reshape(-1, 1)
    bootstrap_stability(X, threshold(X), record, n_boot=2, random_state=0)
    rows = np.random.default_rng(0).integers(0, 6, size=6)
    assert len(seen) == 2 and seen[0][:, 0].tolist() == rows.astype(float).tolist()


def test_bootstrap_is_deterministic():
    X = noise()
    labels = refit(5)(X)
    first = bootstrap_stability(X, labels, refit(5), n_boot=4, random_state=3)
    again = bootstrap_stability(X, labels, refit(5), n_boot=4, random_state=3)
    np.testing.assert_array_equal(first.jaccard, again.jaccard)
    assert first.to_dict() == again.to_dict()
    other = bootstrap_stability(X, labels, refit(5), n_boot=4, random_state=4)
    assert not np.array_equal(first.jaccard, other.jaccard)


def test_summary_row():
    X = separated()
    summary = bootstrap_stability(X, refit(4)(X), refit(4), n_boot=2).to_dict()
    assert set(summary) == {"bootstrap_jaccard", "bootstrap_min_cluster_jaccard", "n_boot"}


def test_seeds_agree_on_separated_blobs():
    result = seed_stability(separated(), by_seed(4), seeds=5)
    assert result.seeds == (0, 1, 2, 3, 4)
    assert result.mean_ari == 1.0 and result.min_ari == 1.0
    assert result.to_dict() == {"seed_mean_ari": 1.0, "seed_min_ari": 1.0, "n_seeds": 5}


def test_seeds_disagree_on_noise_and_the_matrix_is_symmetric():
    result = seed_stability(noise(), by_seed(5), seeds=[3, 7, 11])
    assert result.seeds == (3, 7, 11)
    np.testing.assert_array_equal(result.ari, result.ari.T)
    assert np.diag(result.ari).tolist() == [1.0, 1.0, 1.0]
    assert result.min_ari <= result.mean_ari < 1.0
    again = seed_stability(noise(), by_seed(5), seeds=[3, 7, 11])
    np.testing.assert_array_equal(result.ari, again.ari)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: bootstrap_stability(noise(), np.zeros(300), threshold, n_boot=0),
            ConfigError,
            "n_boot",
        ),
        (lambda: bootstrap_stability(noise(), np.zeros(3), threshold), DataError, "X has 300 rows"),
        (lambda: bootstrap_stability(noise(), np.zeros(300), "kmeans"), ConfigError, "callable"),
        (
            lambda: bootstrap_stability(noise(), np.zeros(300), lambda data: [0, 1]),
            DataError,
            r"fit_predict's labels has shape \(2,\)",
        ),
        (lambda: seed_stability(noise(), by_seed(2), seeds=1), ConfigError, "at least 2"),
        (lambda: seed_stability(noise(), by_seed(2), seeds=[1, 1]), ConfigError, "distinct"),
        (lambda: seed_stability(noise(), by_seed(2), seeds=2.5), ConfigError, "seeds must be"),
        (lambda: seed_stability(np.full((3, 1), np.nan), by_seed(2)), DataError, "NaN"),
    ],
)
def test_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
