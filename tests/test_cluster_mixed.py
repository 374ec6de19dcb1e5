"""Mixed-type customers: Gower distances and silhouette, k-prototypes, Gower hierarchical.

The recovery tests use a generated table whose clusters lie in the categories only: four
groups, each a combination of region, channel and plan, with 5 % of the values replaced by a
random level; three numeric columns drawn from the same normal distribution for every group.
Oracles: distances written out by hand, a double loop over the pairs, scikit-learn's silhouette
on the full Gower matrix, and the kmodes package's KPrototypes fitted directly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from kmodes.kprototypes import KPrototypes
from scipy.spatial.distance import squareform
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from seglab.cluster import gower
from seglab.cluster.gower import gower_distances, gower_silhouette
from seglab.cluster.gower_hierarchical import GowerHierarchical
from seglab.cluster.hierarchical import HierarchyWarning
from seglab.cluster.kprototypes import KPrototypesClustering, default_gamma
from seglab.cluster.mixed import split_mixed
from seglab.cluster.validation import ClusteringDataError, ClusteringParameterError

NUMERIC = ["spend", "visits", "tenure"]
CATEGORICAL = ["region", "channel", "plan"]
LEVELS = {
    "region": ["north", "south", "east", "west"],
    "channel": ["web", "shop", "phone", "app"],
    "plan": ["basic", "plus", "premium", "family"],
}
PROFILES = [
    ("north", "web", "basic"),
    ("south", "shop", "plus"),
    ("east", "phone", "premium"),
    ("west", "app", "family"),
]


def mixed_customers(per_group=150, noise=0.05, seed=0) -> tuple[pd.DataFrame, np.ndarray]:
    """Four groups defined by their categories; the numbers are the same noise for all."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(PROFILES)), per_group)
    table = pd.DataFrame(rng.normal(size=(y.size, len(NUMERIC))), columns=NUMERIC)
    for position, (name, levels) in enumerate(LEVELS.items()):
        values = np.array([PROFILES[group][position] for group in y], dtype=object)
        replaced = rng.random(y.size) < noise
        values[replaced] = rng.choice(levels, replaced.sum())
        table[name] = values
    return table, y


@pytest.fixture(scope="module")
def customers():
    return mixed_customers()


@pytest.fixture(scope="module")
def kprototypes(customers):
    return KPrototypesClustering(4, random_state=0).fit(customers[0])


# ---------------------------------------------------------------------------------------------
# Gower distances
# ---------------------------------------------------------------------------------------------

#: spend (range 30 over the present values) and channel; row 3's spend is missing.
HAND_NUMERIC = [[10.0], [20.0], [40.0], [np.nan]]
HAND_CATEGORICAL = [["web"], ["web"], ["shop"], ["shop"]]


def test_gower_distances_by_hand():
    expected = np.array(
        [
            [0, (10 / 30 + 0) / 2, (30 / 30 + 1) / 2, 1 / 1],  # row 3: channel only
            [(10 / 30 + 0) / 2, 0, (20 / 30 + 1) / 2, 1 / 1],
            [(30 / 30 + 1) / 2, (20 / 30 + 1) / 2, 0, 0 / 1],
            [1, 1, 0, 0],
        ]
    )
    np.testing.assert_allclose(gower_distances(HAND_NUMERIC, HAND_CATEGORICAL), expected)
    weighted = np.array(
        [
            [0, (3 * 10 / 30) / 4, (3 * 1 + 1) / 4, 1],
            [(3 * 10 / 30) / 4, 0, (3 * 20 / 30 + 1) / 4, 1],
            [(3 * 1 + 1) / 4, (3 * 20 / 30 + 1) / 4, 0, 0],
            [1, 1, 0, 0],
        ]
    )
    got = gower_distances(HAND_NUMERIC, HAND_CATEGORICAL, weights=[3, 1])
    np.testing.assert_allclose(got, weighted)


def test_gower_missing_value_rule():
    # Rows 0 and 1 share no present feature: distance 1. A missing category skips the feature.
    numeric = [[np.nan], [5.0], [7.0]]
    categorical = [["web"], [None], ["web"]]
    got = gower_distances(numeric, categorical)
    np.testing.assert_allclose(got, [[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    # Either part alone; a constant numeric column contributes 0.
    np.testing.assert_allclose(gower_distances(None, [["a"], ["b"]]), [[0, 1], [1, 0]])
    np.testing.assert_allclose(
        gower_distances([[1.0, 3.0], [1.0, 5.0]], None), [[0, 0.5], [0.5, 0]]
    )


def naive_gower(numeric: np.ndarray, categorical: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The definition, pair by pair (the oracle)."""
    n, p = numeric.shape
    ranges = np.nanmax(numeric, axis=0) - np.nanmin(numeric, axis=0)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            total = weight = 0.0
            for f in range(p):
                a, b = numeric[i, f], numeric[j, f]
                if not (np.isnan(a) or np.isnan(b)):
                    total += weights[f] * (abs(a - b) / ranges[f] if ranges[f] > 0 else 0.0)
                    weight += weights[f]
            for f in range(categorical.shape[1]):
                a, b = categorical[i, f], categorical[j, f]
                if a is not None and b is not None:
                    total += weights[p + f] * (a != b)
                    weight += weights[p + f]
            out[i, j] = total / weight if weight > 0 else 1.0
    return out


def test_gower_distances_match_the_definition_in_any_block_size(monkeypatch):
    rng = np.random.default_rng(3)
    numeric = np.column_stack([rng.normal(size=25), rng.exponential(size=25), np.full(25, 2.0)])
    numeric[rng.random(numeric.shape) < 0.15] = np.nan
    categorical = rng.choice(np.array(["a", "b", "c", None], dtype=object), size=(25, 2))
    weights = np.array([1.0, 0.5, 2.0, 1.5, 0.0])
    expected = naive_gower(numeric, categorical, weights)
    whole = gower_distances(numeric, categorical, weights)
    np.testing.assert_allclose(whole, expected, atol=1e-12)
    monkeypatch.setattr(gower, "BLOCK_CELLS", 7)  # 1 row per block: many blocks
    np.testing.assert_array_equal(gower_distances(numeric, categorical, weights), whole)
    table = pd.DataFrame(np.column_stack([numeric, categorical]), columns=list("xyzcd"))
    data = split_mixed(table, ["c", "d"])
    space = gower.GowerSpace.of(data, weights)
    np.testing.assert_array_equal(space.condensed(data.numeric, data.codes), squareform(whole))


def test_a_customer_with_no_value_is_refused():
    with pytest.raises(ClusteringDataError, match=r"1 row\(s\) have no value .* \(rows \[1\]\)"):
        gower_distances([[1.0], [np.nan], [2.0]], [["a"], [None], ["b"]])
    model = GowerHierarchical(2).fit(pd.DataFrame({"x": [1.0, 2.0, 9.0], "c": list("aab")}))
    with pytest.raises(ClusteringDataError, match="no value"):
        model.predict(pd.DataFrame({"x": [np.nan], "c": [None]}))


def test_gower_errors_say_what_is_wrong():
    with pytest.raises(ClusteringDataError, match="different numbers of rows"):
        gower_distances([[1.0], [2.0]], [["a"]])
    with pytest.raises(ClusteringParameterError, match="one weight per feature"):
        gower_distances([[1.0], [2.0]], [["a"], ["b"]], weights=[1.0])
    with pytest.raises(ClusteringDataError, match="non-numeric values such as 'ten'"):
        gower_distances([[1.0], ["ten"]], [["a"], ["b"]])


# ---------------------------------------------------------------------------------------------
# Gower silhouette
# ---------------------------------------------------------------------------------------------


def test_gower_silhouette_matches_scikit_learn_on_the_gower_matrix(customers):
    table, y = customers
    distances = gower_distances(table[NUMERIC], table[CATEGORICAL])
    expected = silhouette_score(distances, y, metric="precomputed")
    assert gower_silhouette(table, y) == pytest.approx(expected, abs=1e-12)
    sampled = silhouette_score(distances, y, metric="precomputed", sample_size=150, random_state=4)
    got = gower_silhouette(table, y, categorical=CATEGORICAL, sample_size=150, random_state=4)
    assert got == pytest.approx(sampled, abs=1e-12)
    assert got != pytest.approx(expected, abs=1e-6)  # a sample, not all of them
    shuffled = np.random.default_rng(0).permutation(y)
    assert gower_silhouette(table, shuffled) < 0.05 < 0.3 < expected


def test_gower_silhouette_needs_two_clusters(customers):
    table, y = customers
    with pytest.raises(ClusteringDataError, match="2 to n_samples - 1"):
        gower_silhouette(table, np.zeros_like(y))
    with pytest.raises(ClusteringDataError, match="one label per row"):
        gower_silhouette(table, y[:10])


# ---------------------------------------------------------------------------------------------
# k-prototypes
# ---------------------------------------------------------------------------------------------


def test_kprototypes_recovers_clusters_that_lie_in_the_categories(customers, kprototypes):
    table, y = customers
    assert adjusted_rand_score(y, kprototypes.labels_) >= 0.9
    numbers_only = KMeans(4, n_init=4, random_state=0).fit_predict(table[NUMERIC])
    assert adjusted_rand_score(y, numbers_only) < 0.3


def test_kprototypes_matches_the_kmodes_package(customers, kprototypes):
    table, _ = customers
    oracle = KPrototypes(4, init="Cao", n_init=4, gamma=kprototypes.gamma_, random_state=0)
    oracle.fit(table.to_numpy(dtype=object), categorical=[3, 4, 5])
    np.testing.assert_array_equal(kprototypes.labels_, oracle.labels_)
    assert kprototypes.cost_ == pytest.approx(oracle.cost_)


def test_prototypes_are_cluster_means_and_modes(customers, kprototypes):
    table, _ = customers
    groups = table.groupby(kprototypes.labels_)
    np.testing.assert_allclose(kprototypes.cluster_centers_, groups[NUMERIC].mean().to_numpy())
    modes = groups[CATEGORICAL].agg(lambda column: column.value_counts().index[0])
    np.testing.assert_array_equal(kprototypes.modes_, modes.to_numpy())
    assert sorted(kprototypes.modes_[:, 0]) == sorted(p[0] for p in PROFILES)


def test_balanced_gamma_and_huangs(customers):
    table, y = customers
    data = split_mixed(table, None)
    # balanced: mean variance (n - 1) over mean Gini-Simpson diversity, as clustMixType's lambdaest
    diversity = np.mean(
        [1 - (table[c].value_counts(normalize=True) ** 2).sum() for c in CATEGORICAL]
    )
    expected = table[NUMERIC].var(ddof=1).mean() / diversity
    assert default_gamma(data.numeric, data.codes, "balanced") == pytest.approx(expected)
    # huang: the kmodes package's own default
    own = KPrototypes(4, n_init=1, max_iter=1, random_state=0)
    own.fit(table.to_numpy(dtype=object), categorical=[3, 4, 5])
    assert default_gamma(data.numeric, data.codes, "huang") == pytest.approx(own.gamma)
    # ... which barely weighs the categories against three standardised numbers.
    huang = KPrototypesClustering(4, gamma="huang", n_init=1, random_state=0).fit(table)
    assert adjusted_rand_score(y, huang.labels_) < 0.3


def test_kprototypes_predict_takes_arrays_and_unseen_categories(customers, kprototypes):
    table, _ = customers
    np.testing.assert_array_equal(kprototypes.predict(table), kprototypes.labels_)
    by_position = KPrototypesClustering(4, categorical=[3, 4, 5], random_state=0)
    by_position.fit(table.to_numpy(dtype=object))
    np.testing.assert_array_equal(by_position.labels_, kprototypes.labels_)
    new = table.head(3).assign(region="atlantis")
    assert kprototypes.predict(new).shape == (3,)


def test_kprototypes_input_errors_name_the_column(customers):
    table, _ = customers
    with pytest.raises(ClusteringDataError, match="needs at least one categorical column"):
        KPrototypesClustering(4).fit(table[NUMERIC])
    with pytest.raises(ClusteringDataError, match="all 3 column\\(s\\) of X are categorical"):
        KPrototypesClustering(4).fit(table[CATEGORICAL])
    with pytest.raises(ClusteringDataError, match="'channel' \\(column 4\\) holds non-numeric"):
        KPrototypesClustering(4, categorical=["region", "plan"]).fit(table)
    with pytest.raises(ClusteringDataError, match="\\['segment'\\] are not in X"):
        KPrototypesClustering(4, categorical=["segment"]).fit(table)
    with pytest.raises(ClusteringDataError, match="outside X's columns \\(n_features=6\\)"):
        KPrototypesClustering(4, categorical=[6]).fit(table)
    with pytest.raises(ClusteringDataError, match="X has no column names"):
        KPrototypesClustering(4, categorical=["region"]).fit(table.to_numpy(dtype=object))
    with pytest.raises(ClusteringParameterError, match="not mixed"):
        KPrototypesClustering(4, categorical=[3, "plan"]).fit(table)
    with pytest.raises(ClusteringParameterError, match="gamma"):
        KPrototypesClustering(4, gamma=0.0).fit(table)
    holes = table.copy()
    holes.loc[7, "plan"] = None
    with pytest.raises(ClusteringDataError, match="'plan' \\(column 5\\) has 1 \\(rows \\[7\\]\\)"):
        KPrototypesClustering(4).fit(holes)
    with pytest.raises(ClusteringDataError, match="larger than the 2 distinct rows"):
        KPrototypesClustering(3).fit(pd.DataFrame({"x": [1.0, 1.0, 2.0], "c": list("aab")}))


# ---------------------------------------------------------------------------------------------
# Gower hierarchical
# ---------------------------------------------------------------------------------------------


def test_gower_hierarchical_recovers_clusters_that_lie_in_the_categories(customers):
    table, y = customers
    model = GowerHierarchical(4).fit(table)
    assert adjusted_rand_score(y, model.labels_) >= 0.9
    assert not model.approximate_ and model.note_.startswith("All 600 customers")
    np.testing.assert_array_equal(model.sample_indices_, np.arange(600))
    # Medoids: the member with the smallest sum of distances to its cluster (the definition).
    distances = gower_distances(table[NUMERIC], table[CATEGORICAL])
    for cluster, medoid in enumerate(model.medoid_indices_):
        members = np.flatnonzero(model.labels_ == cluster)
        best = members[distances[np.ix_(members, members)].sum(axis=1).argmin()]
        assert medoid == best
    np.testing.assert_array_equal(model.medoids_, table.iloc[model.medoid_indices_].to_numpy())
    np.testing.assert_array_equal(model.predict(table.iloc[model.medoid_indices_]), np.arange(4))


def test_gower_hierarchical_above_max_exact_samples_and_assigns(customers):
    table, y = customers
    model = GowerHierarchical(4, max_exact=200, random_state=0).fit(table)
    assert model.approximate_
    assert model.note_ == (
        "Approximate: a seeded sample of 200 of the 600 customers was clustered exactly (Gower "
        "distance, average linkage); the other 400 joined the cluster of the nearest of the 4 "
        "medoids."
    )
    assert model.sample_indices_.size == 200
    assert adjusted_rand_score(y, model.labels_) >= 0.9
    np.testing.assert_array_equal(model.labels_[model.sample_indices_], model.tree_.cut(4))
    rest = np.setdiff1d(np.arange(600), model.sample_indices_)
    distances = gower_distances(table[NUMERIC], table[CATEGORICAL])  # ranges over all of X
    nearest = distances[np.ix_(rest, model.medoid_indices_)].argmin(axis=1)
    np.testing.assert_array_equal(model.labels_[rest], nearest)
    assert set(model.medoid_indices_) <= set(model.sample_indices_)
    again = GowerHierarchical(4, max_exact=200, random_state=0).fit(table)
    np.testing.assert_array_equal(again.labels_, model.labels_)


def test_gower_hierarchical_skips_missing_values(customers):
    table, y = customers
    rng = np.random.default_rng(1)
    holes = table.copy()
    for column in [*NUMERIC, *CATEGORICAL]:
        holes.loc[rng.random(len(holes)) < 0.05, column] = None
    model = GowerHierarchical(4, linkage="average").fit(holes)
    assert adjusted_rand_score(y, model.labels_) >= 0.9
    with pytest.raises(ClusteringDataError, match="infinite"):
        GowerHierarchical(4).fit(table.assign(spend=np.inf))


def test_gower_hierarchical_ties_and_parameter_errors():
    # Duplicate customers are at distance 0: a cut can give fewer clusters, and says so.
    table = pd.DataFrame({"x": [1.0, 1.0, 1.0, 5.0], "c": ["a", "a", "a", "b"]})
    with pytest.warns(HierarchyWarning, match="gives 2 clusters"):
        model = GowerHierarchical(3).fit(table)
    assert model.n_clusters_ == 2 and model.medoids_.shape == (2, 2)
    with pytest.raises(ClusteringParameterError, match="max_exact=2 is smaller than n_clusters=3"):
        GowerHierarchical(3, max_exact=2).fit(table)
    with pytest.raises(ClusteringParameterError, match="linkage"):
        GowerHierarchical(2, linkage="ward").fit(table)
    with pytest.raises(ClusteringParameterError, match="finite weights >= 0"):
        GowerHierarchical(2, weights=[1.0, -1.0]).fit(table)


# ---------------------------------------------------------------------------------------------
# scikit-learn's estimator checks. They feed numeric arrays: k-prototypes reads column 1 as
# categories (one category per distinct value), GowerHierarchical takes the arrays as they are.
# ---------------------------------------------------------------------------------------------

_KMODES_INIT = (
    "kmodes cannot start 8 non-empty clusters on this check's 30 rows, whose categorical "
    "column has a distinct value in every row; the fit raises ClusteringDataError"
)


def expected_failures(estimator) -> dict[str, str]:
    if isinstance(estimator, KPrototypesClustering) and estimator.n_clusters == 8:
        return {"check_pipeline_consistency": _KMODES_INIT, "check_estimators_pickle": _KMODES_INIT}
    return {}


@parametrize_with_checks(
    [
        KPrototypesClustering(categorical=[1], random_state=0),
        KPrototypesClustering(
            3, categorical=[1], gamma="huang", init="huang", n_init=2, random_state=0
        ),
        GowerHierarchical(),
        GowerHierarchical(linkage="complete", categorical=[1], max_exact=20, random_state=0),
    ],
    expected_failed_checks=expected_failures,
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
