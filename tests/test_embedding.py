import numpy as np
import pytest
from sklearn.decomposition import PCA

from seglab.errors import ConfigError
from seglab.interpret.maps import embed

X = np.random.default_rng(0).normal(size=(300, 4))


def test_pca_map_equals_scikit_learn_and_samples_above_the_limit():
    full = embed(X, "pca")
    np.testing.assert_allclose(full[["x", "y"]].to_numpy(), PCA(2, random_state=0).fit_transform(X))
    # Independently: the first two principal axes by numpy's SVD, up to each axis' sign.
    U, S, _ = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
    expected = U[:, :2] * S[:2]
    got = full[["x", "y"]].to_numpy()
    np.testing.assert_allclose(got * np.sign((got * expected).sum(axis=0)), expected, atol=1e-9)
    assert full["row"].tolist() == list(range(len(X)))
    sampled = embed(X, "pca", max_points=100, random_state=3)
    assert len(sampled) == 100 and sampled["row"].is_monotonic_increasing
    assert embed(X, "pca", max_points=100, random_state=3).equals(sampled)


@pytest.mark.slow
def test_umap_map_is_seeded():
    # The first UMAP call in a process compiles for about a minute (numba).
    first = embed(X[:150], "umap", random_state=1)
    again = embed(X[:150], "umap", random_state=1)
    assert first.equals(again) and np.isfinite(first[["x", "y"]].to_numpy()).all()


def test_unknown_method():
    with pytest.raises(ConfigError, match="unknown map method 'tsne'"):
        embed(X, "tsne")


def test_a_map_of_one_feature_is_refused_with_the_fix():
    # Every clustering algorithm works on one feature (tests/test_cluster.py); a 2-D map does not.
    with pytest.raises(ConfigError, match=r"pca map .* at least two .* got 1; .*out of clustering"):
        embed(X[:, :1], "pca")
