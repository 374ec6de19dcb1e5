import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from seglab.cluster import fit_clusters, relabel_by_size
from seglab.errors import ConfigError, DataError
from seglab.scaling import make_scaler, signed_log1p


def test_kmeans_matches_scikit_learn_up_to_relabelling():
    X, _ = make_blobs(n_samples=300, centers=4, random_state=2)
    _, labels = fit_clusters(X, "kmeans", 4, random_state=0, n_init=3)
    oracle = KMeans(n_clusters=4, n_init=3, random_state=0).fit_predict(X)
    assert adjusted_rand_score(labels, oracle) == 1.0


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


def test_log_standard_handles_net_negative_revenue():
    X = np.array([[-(np.e - 1)], [0.0], [np.e - 1]])
    assert signed_log1p(X).ravel().tolist() == pytest.approx([-1.0, 0.0, 1.0])
    scaled = make_scaler("log_standard").fit_transform(X)
    assert scaled.mean() == pytest.approx(0.0) and scaled.std() == pytest.approx(1.0)
