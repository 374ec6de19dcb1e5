import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from seglab.cluster.algorithms import ALGORITHMS, fit_clusters, fit_many, relabel_by_size
from seglab.cluster.scaling import make_scaler, signed_log1p
from seglab.errors import ConfigError, DataError


def test_kmeans_matches_scikit_learn_up_to_relabelling():
    X, _ = make_blobs(n_samples=300, centers=4, random_state=2)
    _, labels = fit_clusters(X, "kmeans", 4, random_state=0, n_init=3)
    oracle = KMeans(n_clusters=4, n_init=3, random_state=0).fit_predict(X)
    assert adjusted_rand_score(labels, oracle) == 1.0


def test_kmeans_solves_a_tiny_problem_worked_by_hand():
    # Three groups on a line: {0, 1, 2}, {10, 11, 12, 13} and {30, 32}. Their means 1, 11.5 and 31
    # are a fixed point of Lloyd's algorithm, and the optimum: inertia (1 + 0 + 1) + (2.25 +
    # 0.25 + 0.25 + 2.25) + (1 + 1) = 9. In one dimension the best clusters are intervals; any
    # other three intervals leave a gap (2 to 10, or 13 to 30) inside one, and the two points
    # either side of a gap alone cost at least 8^2 / 2 = 32.
    X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0], [13.0], [30.0], [32.0]])
    estimator, labels = fit_clusters(X, "kmeans", 3, random_state=0)
    assert labels.tolist() == [1, 1, 1, 0, 0, 0, 0, 2, 2]  # relabelled: 0 the largest group
    assert sorted(estimator.cluster_centers_.ravel()) == pytest.approx([1.0, 11.5, 31.0])
    assert estimator.inertia_ == pytest.approx(9.0, abs=1e-12)
    # The same on two features: the second copies the first, so distances double.
    estimator, again = fit_clusters(np.hstack([X, X]), "kmeans", 3, random_state=1)
    assert again.tolist() == labels.tolist() and estimator.inertia_ == pytest.approx(18.0)


def test_relabel_makes_zero_the_largest_and_breaks_ties_by_first_appearance():
    assert relabel_by_size(np.array([7, 3, 3, 7, 1])).tolist() == [0, 1, 1, 0, 2]


def test_more_clusters_than_customers_names_both_numbers():
    with pytest.raises(DataError, match=r"k=5 clusters from 3 customers"):
        fit_clusters(np.zeros((3, 2)), "kmeans", 5, random_state=0)


def test_non_finite_features_are_refused():
    X = np.array([[0.0, 1.0], [np.nan, 2.0], [3.0, 4.0]])
    with pytest.raises(DataError, match="NaN or infinite"):
        fit_clusters(X, "kmeans", 2, random_state=0)


def test_unknown_algorithm_lists_known():
    with pytest.raises(ConfigError, match=r"unknown algorithm 'kmean'; did you mean 'kmeans'"):
        fit_clusters(np.zeros((3, 2)), "kmean", 2, random_state=0)


@pytest.mark.parametrize(
    "name", [name for name in ALGORITHMS.names() if not ALGORITHMS.get(name).mixed]
)
def test_every_algorithm_clusters_a_single_feature(name):
    # None of them needs two features (only the 2-D map does, see tests/test_embedding.py); the
    # mixed-type ones need a categorical column too (tests/test_cluster_mixed.py).
    X = np.repeat([[0.0], [10.0], [20.0]], 40, axis=0) + np.tile(np.linspace(0, 1, 40), 3)[:, None]
    truth = np.repeat([0, 1, 2], 40)
    solution = fit_many(X, name, [2, 3], random_state=0)[1]
    assert adjusted_rand_score(truth, solution.labels) == 1.0


def test_misspelt_parameter_names_the_key_and_the_parameters():
    X = np.zeros((4, 2))
    with pytest.raises(
        ConfigError,
        match=r"experiments\.params\.fuzzy_cmeans: unknown parameter 'mm'; did you mean 'm'\? "
        r"fuzzy_cmeans takes: init, m, max_iter, n_init, tol\.",
    ):
        fit_many(X, "fuzzy_cmeans", [2], random_state=0, mm=1.5)
    # The linkage is the algorithm's name, not a parameter: 'ward' cannot be made 'single'.
    with pytest.raises(ConfigError, match=r"unknown parameter 'linkage'\. ward takes: max_exact"):
        fit_many(X, "ward", [2], random_state=0, linkage="single")


def test_log_standard_handles_net_negative_revenue():
    X = np.array([[-(np.e - 1)], [0.0], [np.e - 1]])
    assert signed_log1p(X).ravel().tolist() == pytest.approx([-1.0, 0.0, 1.0])
    scaled = make_scaler("log_standard").fit_transform(X)
    assert scaled.mean() == pytest.approx(0.0) and scaled.std() == pytest.approx(1.0)
