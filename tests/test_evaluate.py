"""Quality indices against scikit-learn (the oracle), degenerate cases, knee, gap and the k vote."""

import math
from functools import cache

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
from threadpoolctl import threadpool_limits

from seglab.errors import ConfigError, DataError, SchemaError
from seglab.evaluate.choice import DEFAULT_CRITERIA, choose_k, gap_choice, gap_statistic, knee_point
from seglab.evaluate.indices import evaluate_solution, inertia, reuse_distances
from seglab.evaluate.validity import (
    modified_partition_coefficient,
    partition_coefficient,
    partition_entropy,
    xie_beni,
)

CORNERS = [[0, 0], [10, 0], [0, 10], [10, 10]]


@pytest.fixture(autouse=True)
def one_thread():
    """k-means on a few hundred points is fastest, and steadiest, on one thread."""
    with threadpool_limits(1):
        yield


@cache
def separated() -> np.ndarray:
    """Four well separated blobs in 2-D (spread 1, centres 10 apart), 300 customers."""
    return make_blobs(300, n_features=2, centers=CORNERS, cluster_std=1.0, random_state=3)[0]


@cache
def overlapping() -> np.ndarray:
    """Four overlapping blobs in 3-D, 400 customers: indices away from their extremes."""
    return make_blobs(400, n_features=3, centers=4, cluster_std=2.5, random_state=7)[0]


def kmeans(X: np.ndarray, k: int) -> np.ndarray:
    return KMeans(k, n_init=3, random_state=0).fit_predict(X)


def assert_matches_scikit_learn(X, labels) -> None:
    """scikit-learn expands ||x - y||^2 = ||x||^2 + ||y||^2 - 2 x.y for silhouette and
    Davies-Bouldin distances, which loses up to about 1e-7 relative on features of very
    different scales (a case hypothesis found); seglab subtracts first."""
    metrics = evaluate_solution(X, labels)
    assert metrics.silhouette == pytest.approx(silhouette_score(X, labels), abs=1e-7)
    assert metrics.calinski_harabasz == pytest.approx(calinski_harabasz_score(X, labels), rel=1e-10)
    assert metrics.davies_bouldin == pytest.approx(davies_bouldin_score(X, labels), rel=1e-6)
    assert metrics.undefined == {}


# --- inertia and sizes ------------------------------------------------------------------------


def test_inertia_of_six_points_in_one_dimension():
    # means 2, 11 and 20: (1 + 1) + (1 + 0 + 1) + 0 = 4
    X = np.array([[1.0], [3.0], [10.0], [11.0], [12.0], [20.0]])
    assert inertia(X, ["a", "a", "b", "b", "b", "c"]) == 4.0
    assert evaluate_solution(X, [0, 0, 1, 1, 1, 2]).inertia == 4.0


def test_inertia_matches_kmeans_on_its_own_labels():
    X = overlapping()
    model = KMeans(4, n_init=1, tol=0, random_state=0).fit(X)  # tol=0: stops on stable labels
    assert inertia(X, model.labels_) == pytest.approx(model.inertia_, rel=1e-10)


def test_sizes_follow_sorted_labels():
    metrics = evaluate_solution(np.arange(8.0).reshape(4, 2), ["b", "a", "b", "c"])
    assert (metrics.n_customers, metrics.n_clusters) == (4, 3)
    assert metrics.sizes == (1, 2, 1)
    assert metrics.smallest_share == 0.25


# --- silhouette, Calinski-Harabasz, Davies-Bouldin against scikit-learn -------------------------


def test_four_points_by_hand():
    # means 1 and 11, overall 6. a = 2 for everyone; b = 11 for the outer points, 9 for the
    # inner ones. CH = (2 * 25 + 2 * 25) / (4 / 2) = 50; DB: spreads 1 and 1 over distance 10.
    metrics = evaluate_solution(np.array([[0.0], [2.0], [10.0], [12.0]]), [0, 0, 1, 1])
    assert metrics.inertia == 4.0
    assert metrics.silhouette == pytest.approx((9 / 11 + 7 / 9) / 2, rel=1e-15)
    assert metrics.calinski_harabasz == pytest.approx(50.0, rel=1e-15)
    assert metrics.davies_bouldin == pytest.approx(0.2, rel=1e-15)


@pytest.mark.parametrize("k", [2, 3, 4, 6])
def test_indices_match_scikit_learn(k):
    X = overlapping()
    assert_matches_scikit_learn(X, kmeans(X, k))


def test_clusters_of_one_customer_match_scikit_learn():
    X = overlapping()[:60]
    labels = kmeans(X, 3)
    labels[[5, 17]] = [3, 4]  # two singletons; their silhouette is 0
    assert_matches_scikit_learn(X, labels)


def test_a_constant_feature_changes_nothing():
    X = overlapping()
    labels = kmeans(X, 4)
    padded = np.column_stack([X, np.full(len(X), 7.5)])
    assert_matches_scikit_learn(padded, labels)
    assert evaluate_solution(padded, labels).to_dict() == evaluate_solution(X, labels).to_dict()


def test_frame_and_series_inputs_with_string_labels():
    X = overlapping()
    labels = kmeans(X, 3)
    frame = pd.DataFrame(X, index=[f"c{i}" for i in range(len(X))], columns=["r", "f", "m"])
    named = pd.Series(np.array(["x", "y", "z"])[labels], index=frame.index)
    assert evaluate_solution(frame, named).to_dict() == evaluate_solution(X, labels).to_dict()


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**32 - 1), n=st.integers(3, 40), p=st.integers(1, 4), k=st.integers(2, 39)
)
def test_random_solutions_match_scikit_learn(seed, n, p, k):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.uniform(0.1, 10.0, size=p)
    labels = rng.permutation(np.arange(n) % min(k, n - 1))  # every cluster used, 2 <= k <= n - 1
    assert_matches_scikit_learn(X, labels)
    renamed = (97 - labels).astype(str)  # other names, another sorted order: the same inertia
    assert inertia(X, renamed) == pytest.approx(inertia(X, labels), rel=1e-12)


# --- degenerate cases: NaN with a reason, never an exception ----------------------------------


def test_one_cluster_leaves_the_indices_undefined():
    X = overlapping()
    metrics = evaluate_solution(X, np.zeros(len(X), dtype=int))
    assert math.isnan(metrics.silhouette)
    assert math.isnan(metrics.calinski_harabasz)
    assert math.isnan(metrics.davies_bouldin)
    assert set(metrics.undefined) == {"silhouette", "calinski_harabasz", "davies_bouldin"}
    assert all(why.startswith("one cluster") for why in metrics.undefined.values())
    assert metrics.inertia == pytest.approx(((X - X.mean(axis=0)) ** 2).sum())
    assert metrics.smallest_share == 1.0
    assert "silhouette: one cluster" in metrics.to_dict()["notes"]


def test_one_customer():
    metrics = evaluate_solution(np.array([[1.0, 2.0]]), [0])
    assert (metrics.inertia, metrics.sizes, metrics.silhouette_n) == (0.0, (1,), 1)
    assert math.isnan(metrics.silhouette) and "one cluster" in metrics.undefined["silhouette"]


def test_as_many_clusters_as_customers():
    X = overlapping()[:5]
    metrics = evaluate_solution(X, np.arange(5))
    assert metrics.inertia == 0.0 and metrics.sizes == (1,) * 5
    for name in ("silhouette", "calinski_harabasz", "davies_bouldin"):
        assert math.isnan(getattr(metrics, name))
        assert "k = n" in metrics.undefined[name]
    with pytest.raises(ValueError):  # scikit-learn refuses too: it needs 2 <= k <= n - 1
        silhouette_score(X, np.arange(5))


def test_all_features_constant():
    X = np.full((6, 2), 0.1)  # 0.1 is inexact in binary: means carry rounding noise
    metrics = evaluate_solution(X, [0, 0, 0, 1, 1, 1])
    assert metrics.inertia == pytest.approx(0.0, abs=1e-30)
    assert metrics.silhouette == silhouette_score(X, [0, 0, 0, 1, 1, 1]) == 0.0
    assert math.isnan(metrics.calinski_harabasz)
    assert "within-cluster dispersion is zero" in metrics.undefined["calinski_harabasz"]
    assert math.isnan(metrics.davies_bouldin)
    assert metrics.undefined["davies_bouldin"] == "the means of clusters 0 and 1 coincide"


def test_repeated_points_one_cluster_each():
    X = np.repeat([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]], 3, axis=0)
    labels = np.repeat([0, 1, 2], 3)
    metrics = evaluate_solution(X, labels)
    assert metrics.silhouette == 1.0
    assert math.isnan(metrics.calinski_harabasz)  # scikit-learn returns 1.0 by convention
    assert metrics.davies_bouldin == 0.0 == davies_bouldin_score(X, labels)


# --- sampled silhouette ------------------------------------------------------------------------


def test_sampled_silhouette_is_close_and_records_its_sample():
    X = make_blobs(3000, n_features=3, centers=4, cluster_std=2.0, random_state=1)[0]
    labels = kmeans(X, 4)
    exact = evaluate_solution(X, labels, silhouette_max_exact=5000)
    sampled = evaluate_solution(X, labels, silhouette_max_exact=1000)
    assert (exact.silhouette_sampled, exact.silhouette_n) == (False, 3000)
    assert (sampled.silhouette_sampled, sampled.silhouette_n) == (True, 1000)
    assert sampled.silhouette == pytest.approx(exact.silhouette, abs=0.02)
    smaller = evaluate_solution(X, labels, silhouette_max_exact=1000, silhouette_sample_size=400)
    assert smaller.silhouette_n == 400
    assert smaller.to_dict()["silhouette_sampled"] is True


def test_reused_distances_give_each_table_its_own_silhouette():
    """A grid job measures one table at every k, reusing its distances; a table that differs in
    one value, or a sample of another table, must not get the distances kept for the first."""
    X = overlapping()
    other = X.copy()
    other[0, 0] += 5.0
    labelled = [(X, kmeans(X, k)) for k in (2, 3, 4)] + [(other, kmeans(other, 3))]
    with reuse_distances():
        kept = [evaluate_solution(Y, labels).silhouette for Y, labels in labelled]
        sampled = evaluate_solution(X, labelled[1][1], silhouette_max_exact=200)
    assert kept == pytest.approx([silhouette_score(Y, labels) for Y, labels in labelled], abs=1e-7)
    assert (
        sampled.silhouette
        == evaluate_solution(X, labelled[1][1], silhouette_max_exact=200).silhouette
    )


def test_sampling_starts_above_the_threshold_and_is_seeded():
    X = overlapping()
    labels = kmeans(X, 4)
    at = evaluate_solution(X, labels, silhouette_max_exact=400)
    assert not at.silhouette_sampled and at.silhouette == pytest.approx(silhouette_score(X, labels))
    first = evaluate_solution(X, labels, silhouette_max_exact=200, random_state=4)
    again = evaluate_solution(X, labels, silhouette_max_exact=200, random_state=4)
    other = evaluate_solution(X, labels, silhouette_max_exact=200, random_state=5)
    assert first == again
    assert first.silhouette != other.silhouette


# --- fuzzy validity indices ---------------------------------------------------------------------


def fcm_memberships(X: np.ndarray, centres: np.ndarray, m: float = 2.0) -> np.ndarray:
    """u_ij = 1 / sum_k (d_ij / d_ik) ** (2 / (m - 1)), for centres off the data points."""
    d = np.linalg.norm(X[:, None, :] - centres[None, :, :], axis=2)
    return 1.0 / ((d[:, :, None] / d[:, None, :]) ** (2 / (m - 1))).sum(axis=2)


def test_fuzzy_indices_come_from_the_fuzzy_module():
    X = separated()
    centres = np.array(CORNERS, dtype=float) + 0.01
    u = fcm_memberships(X, centres)
    metrics = evaluate_solution(X, u.argmax(axis=1), memberships=u, centres=centres)
    assert metrics.partition_coefficient == partition_coefficient(u)
    assert metrics.partition_entropy == partition_entropy(u)
    assert metrics.modified_partition_coefficient == modified_partition_coefficient(u)
    assert metrics.xie_beni == xie_beni(X, u, centres)
    assert metrics.undefined == {}


def test_default_centres_are_membership_weighted_means():
    # Two customers per cluster, hard memberships: the centres are the plain means 0.5 and 10.5,
    # Xie-Beni = (4 * 0.25) / (4 * 10 ** 2) = 0.0025, PC = 1, PE = 0, MPC = 1.
    X = np.array([[0.0], [1.0], [10.0], [11.0]])
    u = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    metrics = evaluate_solution(X, [0, 0, 1, 1], memberships=u)
    assert metrics.xie_beni == pytest.approx(0.0025)
    assert (metrics.partition_coefficient, metrics.partition_entropy) == (1.0, 0.0)
    assert metrics.modified_partition_coefficient == 1.0


def test_fuzzy_indices_of_one_cluster():
    X = overlapping()
    metrics = evaluate_solution(X, np.zeros(len(X)), memberships=np.ones((len(X), 1)))
    assert metrics.partition_coefficient == 1.0
    assert math.isnan(metrics.xie_beni) and "one cluster" in metrics.undefined["xie_beni"]
    assert "modified_partition_coefficient" in metrics.undefined


def test_hard_solutions_have_no_fuzzy_indices():
    metrics = evaluate_solution(separated(), kmeans(separated(), 4))
    assert math.isnan(metrics.xie_beni) and metrics.to_dict()["notes"] == ""


# --- input contract ------------------------------------------------------------------------------


def test_non_finite_features_name_the_rows():
    X = overlapping().copy()
    X[[3, 9], 1] = [np.nan, np.inf]
    with pytest.raises(
        DataError, match=r"NaN or infinite values in 2 of 400 rows \(positions 3, 9"
    ):
        evaluate_solution(X, np.zeros(400))


def test_labels_of_the_wrong_length_name_both_lengths():
    with pytest.raises(DataError, match=r"labels has shape \(3,\) but X has 4 rows"):
        inertia(np.zeros((4, 2)), [0, 1, 0])


def test_misaligned_frame_and_series_are_refused():
    frame = pd.DataFrame({"x": [0.0, 1.0]}, index=["a", "b"])
    with pytest.raises(DataError, match="different indexes"):
        evaluate_solution(frame, pd.Series([0, 1], index=["b", "a"]))


def test_memberships_of_the_wrong_shape():
    with pytest.raises(DataError, match=r"memberships have shape \(3, 2\) but X has 4 rows"):
        evaluate_solution(np.zeros((4, 1)), [0, 0, 1, 1], memberships=np.full((3, 2), 0.5))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"silhouette_max_exact": 1}, "silhouette_max_exact must be an integer >= 2"),
        ({"silhouette_max_exact": 50, "silhouette_sample_size": 60}, "at most"),
        ({"random_state": -1}, "random_state must be an integer >= 0"),
        ({"m": 1.0}, "m must be a number > 1"),
    ],
)
def test_bad_parameters_are_config_errors(params, message):
    with pytest.raises(ConfigError, match=message):
        evaluate_solution(np.zeros((4, 1)), [0, 0, 1, 1], **params)


# --- knee ------------------------------------------------------------------------------------


def test_knee_of_an_obvious_elbow():
    ks = list(range(1, 9))
    curve = [1000.0, 600.0, 300.0, 100.0, 90.0, 80.0, 70.0, 60.0]
    assert knee_point(ks, curve).k == 4
    # rescaled: k=4 sits at x = 3/7 and y = 40/940, below the chord 1 - x by 4/7 - 40/940
    assert knee_point(ks, curve).distance == pytest.approx(4 / 7 - 40 / 940)
    assert knee_point(ks[::-1], curve[::-1]).k == 4  # order does not matter


def test_knee_ties_go_to_the_smaller_k_and_flat_curves_have_none():
    # rescaled values 1, 0.25, 0, 0 at x = 0, 0.25, 0.5, 1: k=2 and k=3 are both 0.5 below
    assert knee_point([1, 2, 3, 5], [4.0, 1.0, 0.0, 0.0]).k == 2
    assert knee_point([2, 3, 4, 5], [8.0, 6.0, 4.0, 2.0]).k is None
    assert knee_point([2, 3], [8.0, 1.0]).k is None
    assert knee_point([2, 3, 4], [1.0, 1.0, 1.0]).k is None


# --- gap statistic ----------------------------------------------------------------------------


def test_gap_finds_four_separated_blobs():
    table = gap_statistic(separated(), range(2, 7), kmeans, n_references=8)
    assert table["k"].tolist() == [1, 2, 3, 4, 5, 6]  # k = 1 is always computed
    assert gap_choice(table) == 4
    total = ((separated() - separated().mean(axis=0)) ** 2).sum()
    assert table.loc[0, "log_w"] == pytest.approx(np.log(total))
    assert table["gap_se"].to_numpy() == pytest.approx(table["sd"].to_numpy() * np.sqrt(1 + 1 / 8))


@pytest.mark.parametrize("seed", [0, 1])
def test_gap_finds_no_structure_in_uniform_noise(seed):
    noise = np.random.default_rng(seed).uniform(size=(300, 2))
    table = gap_statistic(noise, range(2, 6), kmeans, n_references=8, random_state=seed)
    assert gap_choice(table) == 1


def test_gap_is_deterministic():
    first = gap_statistic(overlapping(), [2, 3], kmeans, n_references=3, random_state=2)
    pd.testing.assert_frame_equal(
        first, gap_statistic(overlapping(), [2, 3], kmeans, n_references=3, random_state=2)
    )


def test_gap_rule_on_hand_made_tables():
    table = pd.DataFrame({"k": [1, 2, 4, 6], "gap": [0.1, 0.5, 0.55, 0.6], "gap_se": 0.1})
    assert gap_choice(table) == 2  # 0.5 >= 0.55 - 0.1; with a hole, the next k is 4
    rising = pd.DataFrame({"k": [1, 2, 3], "gap": [0.1, 0.5, 0.9], "gap_se": 0.01})
    assert gap_choice(rising) == 3  # the rule never holds: the largest k


def test_gap_refuses_k_above_the_number_of_customers():
    with pytest.raises(DataError, match="k=9 clusters from 5 customers"):
        gap_statistic(np.zeros((5, 1)), [9], kmeans)


# --- vote ---------------------------------------------------------------------------------------


def solutions_of(X: np.ndarray, ks) -> pd.DataFrame:
    return pd.DataFrame([{"k": k, **evaluate_solution(X, kmeans(X, k)).to_dict()} for k in ks])


def test_vote_on_separated_blobs_recommends_four():
    X = separated()
    solutions = solutions_of(X, range(2, 8)).assign(
        feature_set="rfm", scaling="std", algorithm="km"
    )
    gap = gap_statistic(X, range(2, 8), kmeans, n_references=5)
    gap = gap.assign(feature_set="rfm", scaling="std", algorithm="km")
    choice = choose_k(solutions, gap=gap)
    assert choice.votes["criterion"].tolist() == list(DEFAULT_CRITERIA)
    assert choice.votes["k"].tolist() == [4] * 5
    assert list(choice.votes.columns) == [
        *("feature_set", "scaling", "algorithm", "criterion", "k", "value", "note")
    ]
    row = choice.recommended.iloc[0]
    assert (row["recommended_k"], row["votes"], row["n_voting"], row["tied_with"]) == (4, 5, 5, "")
    assert row["voters"] == ", ".join(DEFAULT_CRITERIA)


HAND = pd.DataFrame(
    {
        "k": [2, 3, 4, 5],
        "inertia": [100.0, 60.0, 20.0, 15.0],
        "silhouette": [0.6, 0.5, 0.4, np.nan],
        "calinski_harabasz": [10.0, 30.0, 20.0, 30.0],
        "davies_bouldin": [0.5, 0.9, 0.4, 0.6],
    }
)


def test_votes_and_ties_on_a_hand_made_table():
    choice = choose_k(HAND, by=[])
    votes = dict(zip(choice.votes["criterion"], choice.votes["k"], strict=True))
    # knee at 4; silhouette best at 2 (NaN skipped); CH ties 3 and 5 -> 3; DB best at 4
    assert votes == {
        "inertia_knee": 4,
        "silhouette": 2,
        "calinski_harabasz": 3,
        "davies_bouldin": 4,
        "gap": pd.NA,
    }
    assert choice.recommended["recommended_k"].tolist() == [4]
    assert choice.recommended["voters"].tolist() == ["inertia_knee, davies_bouldin"]


def test_tied_votes_go_to_the_smaller_k():
    choice = choose_k(HAND, by=[], criteria=["silhouette", "calinski_harabasz"])
    row = choice.recommended.iloc[0]
    assert (row["recommended_k"], row["votes"], row["tied_with"]) == (2, 1, "3")


def test_each_group_gets_its_own_recommendation():
    both = pd.concat([HAND.assign(algorithm="a"), HAND.assign(algorithm="b", inertia=HAND.k)])
    choice = choose_k(both, by=["algorithm"], criteria=["inertia_knee", "davies_bouldin"])
    assert choice.recommended["recommended_k"].tolist() == [4, 4]
    knees = choice.votes[choice.votes["criterion"] == "inertia_knee"]
    assert knees["k"].isna().tolist() == [False, True]  # group b's inertia is a straight line
    assert "no knee" in knees["note"].iloc[1]


def test_gap_that_finds_no_structure_abstains_and_says_so():
    gap = pd.DataFrame({"k": [1, 2, 3, 4, 5], "gap": [0.5, 0.2, 0.1, 0.0, 0.0], "gap_se": 0.05})
    vote = choose_k(HAND, gap=gap, by=[], criteria=["gap"]).votes.iloc[0]
    assert pd.isna(vote["k"])
    assert "no cluster structure" in vote["note"]


def test_criteria_that_cannot_vote_abstain():
    table = HAND.assign(silhouette=np.nan)
    choice = choose_k(table, by=[], criteria=["silhouette"])
    assert choice.votes["k"].isna().all()
    assert choice.votes["note"].iloc[0] == "silhouette is undefined for every k"
    assert choice.recommended["recommended_k"].isna().all()
    assert choice.recommended["n_voting"].tolist() == [0]


def test_table_problems():
    with pytest.raises(
        SchemaError, match=r"lacks columns \['feature_set', 'scaling', 'algorithm'\]"
    ):
        choose_k(HAND)
    with pytest.raises(DataError, match="repeat k=3"):
        choose_k(pd.concat([HAND, HAND.iloc[[1]]]), by=[])
    with pytest.raises(
        ConfigError, match="unknown criterion 'silhouete'; did you mean 'silhouette'"
    ):
        choose_k(HAND, by=[], criteria=["silhouete"])
