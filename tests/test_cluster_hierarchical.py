"""Hierarchical clustering against SciPy (the oracle), the weighted Ward tree, two-step, refusals.

SciPy's ``linkage`` and ``fcluster`` are the reference: labels are ``fcluster(..., "maxclust")``
minus 1 on the same tree. The weighted Ward tree is checked against SciPy's Ward on the centres
themselves (unit weights) and on the centres repeated ``weight`` times (integer weights).
"""

import warnings

import fastcluster
import joblib
import numpy as np
import pytest
from scipy.cluster.hierarchy import dendrogram, fcluster, linkage
from scipy.spatial.distance import cdist
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from seglab.cluster import linkage as trees
from seglab.cluster.hierarchical import (
    HierarchicalClustering,
    HierarchyTooLargeError,
    HierarchyWarning,
    TwoStepHierarchical,
)
from seglab.cluster.linkage import LINKAGES, HierarchicalTree, weighted_ward_linkage
from seglab.cluster.nearest import nearest_centre
from seglab.cluster.validation import ClusteringDataError, ClusteringParameterError
from seglab.errors import ConfigError, DataError, SeglabError


def blobs(n_samples=240, std=1.0, seed=4):
    """Continuous blobs: no two pairwise distances tie, so every tree is unique."""
    return make_blobs(
        n_samples=n_samples, n_features=3, centers=5, cluster_std=std, random_state=seed
    )


def same_partition(a, b) -> bool:
    """True when the labelings are equal up to renaming the clusters."""
    pairs = np.unique(np.column_stack([a, b]), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


# ---------------------------------------------------------------------------------------------
# Exact trees
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", LINKAGES)
def test_labels_equal_scipy_fcluster_for_every_linkage(method):
    X, _ = blobs()
    oracle = linkage(X, method)
    model = HierarchicalClustering(4, linkage=method).fit(X)
    np.testing.assert_allclose(model.tree_.linkage_matrix, oracle, rtol=0, atol=1e-9)
    for k in range(2, 7):
        expected = fcluster(oracle, k, criterion="maxclust") - 1
        np.testing.assert_array_equal(model.tree_.cut(k), expected)
        np.testing.assert_array_equal(
            HierarchicalClustering(k, linkage=method).fit_predict(X), expected
        )


def test_tree_is_built_once_and_cut_at_every_k(monkeypatch, tmp_path):
    X, _ = blobs()
    calls = []
    original = fastcluster.linkage_vector

    def spy(*args, **kwargs):
        calls.append(args[0].shape)
        return original(*args, **kwargs)

    monkeypatch.setattr(fastcluster, "linkage_vector", spy)
    memory = joblib.Memory(tmp_path, verbose=0)
    first = HierarchicalClustering(2, memory=memory).fit(X)
    for k in range(2, 7):
        model = HierarchicalClustering(k, memory=memory).fit(X)
        np.testing.assert_array_equal(model.labels_, first.tree_.cut(k))
    assert calls == [X.shape]


def test_predict_is_the_nearest_cluster_mean():
    X, _ = blobs()
    model = HierarchicalClustering(5).fit(X)
    for j in range(5):
        np.testing.assert_allclose(model.cluster_centers_[j], X[model.labels_ == j].mean(axis=0))
    np.testing.assert_array_equal(model.predict(model.cluster_centers_), np.arange(5))
    # On well separated blobs the nearest mean is the training cluster.
    np.testing.assert_array_equal(model.predict(X), model.labels_)


def test_one_sample_and_one_cluster():
    model = HierarchicalClustering(1).fit([[1.0, 2.0]])
    assert model.labels_.tolist() == [0] and model.n_clusters_ == 1
    assert model.tree_.linkage_matrix.shape == (0, 4)


def test_tied_heights_give_fewer_clusters_with_a_warning():
    # Three identical customers merge at height 0: no cut separates them.
    X = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [5.0, 5.0]])
    with pytest.warns(HierarchyWarning, match=r"n_clusters=3 gives 2 clusters"):
        model = HierarchicalClustering(3).fit(X)
    assert model.n_clusters_ == 2 and model.labels_.tolist() == [0, 0, 0, 1]
    assert model.cluster_centers_.shape == (2, 2)


def test_dendrogram_is_scipys_truncated_dendrogram_labelled_with_sizes():
    X, _ = blobs()
    tree = HierarchicalClustering(linkage="average").fit(X).tree_
    ours = tree.dendrogram(p=12)
    theirs = dendrogram(linkage(X, "average"), truncate_mode="lastp", p=12, no_plot=True)
    for key in ("icoord", "dcoord", "leaves"):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=0, atol=1e-9)
    sizes = [int(label.strip("()").replace(",", "")) for label in ours["ivl"]]
    assert len(sizes) == 12 and sum(sizes) == len(X)


# ---------------------------------------------------------------------------------------------
# Refusals and errors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["complete", "average"])
def test_matrix_linkages_refuse_more_than_max_exact_before_building_anything(method, monkeypatch):
    def no_matrix(*args, **kwargs):
        raise AssertionError("the distance matrix was built")

    monkeypatch.setattr(trees, "pdist", no_matrix)
    X = np.random.default_rng(0).normal(size=(150, 2))
    with pytest.raises(HierarchyTooLargeError) as error:
        HierarchicalClustering(3, linkage=method, max_exact=100).fit(X)
    message = str(error.value)
    # Two copies of 150 x 149 / 2 distances of 8 bytes = 178,800 bytes; the limit: two copies
    # of 100 x 99 / 2 = 79,200 bytes.
    for part in ("n=150", "max_exact=100", "179 kB", "79.2 kB", "TwoStepHierarchical", "two_step"):
        assert part in message
    assert isinstance(error.value, DataError) and isinstance(error.value, SeglabError)


def test_default_limits_name_the_memory_of_the_matrix_and_the_time_of_ward():
    X = np.zeros((20_001, 1))
    with pytest.raises(HierarchyTooLargeError, match=r"n=20,001 .* = 3.2 GB, above the limit"):
        HierarchicalClustering(linkage="complete").fit(X)
    with pytest.raises(HierarchyTooLargeError, match=r"max_exact=10.*roughly 1 s"):
        HierarchicalClustering(linkage="ward", max_exact=10).fit(np.zeros((12_000, 1)))


@pytest.mark.parametrize(
    "estimator", [HierarchicalClustering(5), TwoStepHierarchical(5, n_micro=5, max_exact=0)]
)
def test_more_clusters_than_samples_names_both_numbers(estimator):
    with pytest.raises(ClusteringDataError, match=r"n_clusters=5 is larger than n_samples=4"):
        estimator.fit(np.arange(8.0).reshape(4, 2))


@pytest.mark.parametrize("estimator", [HierarchicalClustering(2), TwoStepHierarchical(2)])
def test_nan_rows_are_named(estimator):
    X = np.ones((6, 2))
    X[[1, 4], 0] = np.nan
    with pytest.raises(ClusteringDataError, match=r"2 row\(s\), the first at \[1, 4\]"):
        estimator.fit(X)


def test_parameter_errors_are_value_errors_and_config_errors():
    with pytest.raises(ClusteringParameterError) as error:
        HierarchicalClustering(linkage="centroid").fit(np.zeros((3, 1)))
    assert isinstance(error.value, ConfigError) and isinstance(error.value, ValueError)
    message = str(error.value)
    assert "'linkage' parameter" in message and "'ward'" in message and "'centroid'" in message
    with pytest.raises(ClusteringParameterError, match=r"n_micro=3 is smaller than n_clusters=4"):
        TwoStepHierarchical(4, n_micro=3).fit(np.zeros((10, 1)))


def test_cut_names_the_number_of_leaves():
    tree = HierarchicalTree(linkage([[0.0], [1.0], [3.0]], "ward"), method="ward")
    with pytest.raises(ClusteringDataError, match=r"tree of 3 leaves into n_clusters=4"):
        tree.cut(4)


# ---------------------------------------------------------------------------------------------
# Weighted Ward
# ---------------------------------------------------------------------------------------------


def centres(n_points=120, seed=2):
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(n_points, 3))
    points[: n_points // 3] += 6.0
    points[n_points // 3 : n_points // 2, 0] -= 5.0
    return points


def test_weighted_ward_with_unit_weights_is_scipy_ward():
    points = centres()
    Z = weighted_ward_linkage(points, np.ones(len(points)))
    oracle = linkage(points, "ward")
    np.testing.assert_allclose(Z, oracle, rtol=0, atol=1e-9)
    for k in range(2, 9):
        np.testing.assert_array_equal(
            fcluster(Z, k, criterion="maxclust"), fcluster(oracle, k, criterion="maxclust")
        )


def test_weighted_ward_with_integer_weights_is_scipy_ward_on_repeated_points():
    points = centres()
    weights = np.random.default_rng(3).integers(1, 7, size=len(points))
    Z = weighted_ward_linkage(points, weights)
    repeated = np.repeat(points, weights, axis=0)
    oracle = linkage(repeated, "ward")
    # SciPy first merges the copies of each point (height 0); the rest are our merges.
    assert np.all(oracle[: weights.sum() - len(points), 2] == 0.0)
    np.testing.assert_allclose(Z[:, 2], oracle[-(len(points) - 1) :, 2], rtol=0, atol=1e-9)
    first_copy = np.concatenate([[0], np.cumsum(weights)[:-1]])
    for k in range(2, 9):
        expected = fcluster(oracle, k, criterion="maxclust")[first_copy]
        assert same_partition(fcluster(Z, k, criterion="maxclust"), expected)


def test_weights_change_which_points_merge_first():
    # Points 0, 1 and 2.2. Unit weights: {0, 1} costs 1/2 x 1^2, {1, 2.2} 1/2 x 1.2^2, so 0 and 1
    # merge first (height sqrt(2 x 0.5) = 1). Weights (9, 1, 1): {0, 1} now costs 9/10 x 1 = 0.9
    # and {1, 2.2} still 0.72, so 1 and 2.2 merge first at sqrt(1.44) = 1.2; their centre 1.6
    # (weight 2) then joins 0 (weight 9) at sqrt(2 x 18/11 x 1.6^2).
    points = [[0.0], [1.0], [2.2]]
    assert weighted_ward_linkage(points, [1, 1, 1])[0, :2].tolist() == [0.0, 1.0]
    Z = weighted_ward_linkage(points, [9, 1, 1])
    np.testing.assert_allclose(Z[:, 2], [1.2, np.sqrt(2 * 18 / 11 * 1.6**2)], rtol=1e-12)
    assert Z[:, [0, 1, 3]].tolist() == [[1.0, 2.0, 2.0], [0.0, 3.0, 3.0]]


def test_weighted_ward_on_two_thousand_centres_takes_at_most_3n_row_passes(monkeypatch):
    # Its cost is counted, not timed: the nearest-neighbour chain computes one row of Ward
    # distances (a vectorised pass over the n centres) per step, and takes at most 3 (n - 1)
    # steps (each merge pops two links; each link is pushed once), so O(n^2 x features) work in
    # all, on any machine. A search of all pairs per merge would need n^2 / 2 per merge.
    rows = []
    real_row = trees._ward_row
    monkeypatch.setattr(
        trees, "_ward_row", lambda C, *rest: rows.append(len(C)) or real_row(C, *rest)
    )
    rng = np.random.default_rng(0)
    n = 2_000
    Z = weighted_ward_linkage(rng.normal(size=(n, 8)), rng.integers(1, 500, size=n))
    assert np.all(np.diff(Z[:, 2]) >= 0) and Z[-1, 3] == n
    assert n - 1 <= len(rows) <= 3 * (n - 1) and set(rows) == {n}


@pytest.mark.parametrize("weights", [[1, 0, 1], [1, np.nan, 1]])
def test_weighted_ward_refuses_non_positive_weights(weights):
    with pytest.raises(ClusteringDataError, match="positive"):
        weighted_ward_linkage([[0.0], [1.0], [2.0]], weights)


# ---------------------------------------------------------------------------------------------
# Two-step
# ---------------------------------------------------------------------------------------------


def separated_blobs(n_samples):
    return make_blobs(n_samples=n_samples, n_features=4, centers=5, cluster_std=0.8, random_state=7)


def test_two_step_recovers_well_separated_blobs_and_records_the_approximation():
    X, truth = separated_blobs(6_000)
    model = TwoStepHierarchical(5, n_micro=200, max_exact=1_000, random_state=0).fit(X)
    assert adjusted_rand_score(truth, model.labels_) >= 0.95
    assert model.approximate_ and model.n_micro_ == 200 == model.tree_.n_leaves
    assert model.micro_labels_.shape == (6_000,) and model.micro_sizes_.sum() == 6_000
    np.testing.assert_array_equal(model.micro_sizes_, np.bincount(model.micro_labels_))
    np.testing.assert_array_equal(model.labels_, model.tree_.cut_leaves(5)[model.micro_labels_])
    np.testing.assert_array_equal(model.predict(X), model.labels_)


def test_two_step_switches_to_the_approximation_above_max_exact():
    X, _ = separated_blobs(300)
    exact = TwoStepHierarchical(5, n_micro=50, max_exact=300, random_state=0).fit(X)
    assert not exact.approximate_ and exact.n_micro_ == 300
    np.testing.assert_array_equal(exact.labels_, HierarchicalClustering(5).fit(X).labels_)
    approximate = TwoStepHierarchical(5, n_micro=50, max_exact=299, random_state=0).fit(X)
    assert approximate.approximate_ and approximate.n_micro_ == 50


def test_two_step_is_deterministic_for_a_seed_and_samples_the_rows():
    X, _ = separated_blobs(5_000)
    params = {"n_micro": 100, "max_exact": 0, "micro_sample": 2_000, "random_state": 3}
    one = TwoStepHierarchical(5, **params).fit(X)
    two = TwoStepHierarchical(5, **params).fit(X)
    np.testing.assert_array_equal(one.tree_.linkage_matrix, two.tree_.linkage_matrix)
    np.testing.assert_array_equal(one.labels_, two.labels_)
    mini = TwoStepHierarchical(5, micro_method="minibatch", **params).fit(X)
    assert mini.n_micro_ == 100 and mini.micro_sizes_.sum() == 5_000


def test_two_step_drops_empty_micro_clusters_of_duplicate_rows():
    X = np.repeat(np.array([[0.0, 0.0], [0.0, 1.0], [8.0, 8.0], [9.0, 8.0]]), 10, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # k-means: fewer distinct points than centres
        model = TwoStepHierarchical(2, n_micro=6, max_exact=0, random_state=0).fit(X)
    assert model.n_micro_ == 4 and model.micro_sizes_.tolist() == [10, 10, 10, 10]
    assert same_partition(model.labels_, np.repeat([0, 0, 1, 1], 10))


# ---------------------------------------------------------------------------------------------
# scikit-learn's estimator contract
# ---------------------------------------------------------------------------------------------


@parametrize_with_checks(
    [
        HierarchicalClustering(),
        HierarchicalClustering(linkage="average"),
        TwoStepHierarchical(random_state=0),
        TwoStepHierarchical(n_micro=20, max_exact=0, random_state=0),
    ]
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_nearest_centre_is_scipys_argmin_of_exact_distances_first_on_ties():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(10_000, 5)) * 4  # more rows than one parallel task
    centres = rng.normal(size=(300, 5)) * 4
    expected = cdist(X, centres, "sqeuclidean").argmin(axis=1)
    np.testing.assert_array_equal(nearest_centre(X, centres), expected)
    # A row equidistant from centres 1 and 2 (and 4, a copy of 2) goes to the first, 1.
    tie = nearest_centre(
        np.array([[0.0, 0.0]]), [[5.0, 5.0], [0.0, 1.0], [1.0, 0.0], [3, 3], [1, 0]]
    )
    assert tie.tolist() == [1]
    # Far from the origin, |x|^2 - 2 x.c + |c|^2 cancels; the exact sums of squares do not.
    far = np.array([[1e8, 0.0]])
    assert nearest_centre(far, [[1e8 + 2.0, 0.0], [1e8 - 1.0, 0.0]]).tolist() == [1]
