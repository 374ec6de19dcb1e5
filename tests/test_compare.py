"""seglab.evaluate.agreement: measures against scikit-learn and scipy, tables by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats.contingency import association
from sklearn import metrics

from seglab.errors import ConfigError, DataError, SchemaError
from seglab.evaluate.agreement import (
    MEASURES,
    agreement_matrix,
    agreement_table,
    best_mapping,
    compare_labelings,
    cramers_v,
)

SYMMETRIC = ["ari", "ami", "nmi", "v_measure", "cramers_v", "matched_purity"]
SWAPPED = {
    "homogeneity": "completeness",
    "completeness": "homogeneity",
    "majority_purity": "inverse_majority_purity",
    "inverse_majority_purity": "majority_purity",
}


def _customers(n: int) -> list[str]:
    return [f"C{i:03d}" for i in range(n)]


def _same(a: float, b: float) -> bool:
    """Equal up to rounding, NaN equal to NaN."""
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


# ---------------------------------------------------------------------------------------------
# Agreement measures equal scikit-learn's on the same (aligned) labels.
# ---------------------------------------------------------------------------------------------

_RNG = np.random.default_rng(7)
_INTS = _RNG.integers(0, 4, 60)
_OTHER = np.where(_RNG.random(60) < 0.7, _INTS, _RNG.integers(0, 5, 60))
_NAMES = np.array(["champions", "loyal", "at risk", "hibernating"])


@pytest.fixture(
    params=["ints", "strings", "relabelled copy", "shuffled index"],
)
def label_pair(request) -> tuple[pd.Series, pd.Series]:
    """Two labelings of 60 customers; the right one indexed in a different order when shuffled."""
    index = _customers(60)
    left = pd.Series(_INTS, index=index, name="kmeans")
    if request.param == "ints":
        right = pd.Series(_OTHER, index=index, name="gmm")
    elif request.param == "strings":
        right = pd.Series(_NAMES[_OTHER % 4], index=index, name="scheme")
    elif request.param == "relabelled copy":
        right = pd.Series(_NAMES[(_INTS + 2) % 4], index=index, name="copy")
    else:
        right = pd.Series(_NAMES[_OTHER % 4], index=index, name="scheme").iloc[::-1]
    return left, right


def test_measures_equal_sklearn(label_pair):
    left, right = label_pair
    # The oracle gets the labels aligned by hand; seglab must align them on the index itself.
    true, pred = left.to_numpy(), right.loc[left.index].to_numpy()
    scores = compare_labelings(left, right).scores
    homogeneity, completeness, v_measure = metrics.homogeneity_completeness_v_measure(true, pred)
    assert scores["ari"] == pytest.approx(metrics.adjusted_rand_score(true, pred))
    assert scores["ami"] == pytest.approx(metrics.adjusted_mutual_info_score(true, pred))
    assert scores["nmi"] == pytest.approx(metrics.normalized_mutual_info_score(true, pred))
    assert scores["homogeneity"] == pytest.approx(homogeneity)
    assert scores["completeness"] == pytest.approx(completeness)
    assert scores["v_measure"] == pytest.approx(v_measure)
    assert list(scores.index) == MEASURES.names()


def _by_the_formulas(true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """The measures from the contingency table, written out (Hubert & Arabie 1985 for ARI,
    Vinh, Epps & Bailey 2010 for AMI with its expected mutual information, Rosenberg &
    Hirschberg 2007 for homogeneity, completeness and V): no scikit-learn."""
    _, rows = np.unique(true, return_inverse=True)
    _, cols = np.unique(pred, return_inverse=True)
    table = np.zeros((rows.max() + 1, cols.max() + 1))
    np.add.at(table, (rows, cols), 1)
    n, a, b = table.sum(), table.sum(axis=1), table.sum(axis=0)

    def pairs(x):
        return (x * (x - 1) / 2).sum()

    expected_index = pairs(a) * pairs(b) / pairs(np.array([n]))
    ari = (pairs(table) - expected_index) / ((pairs(a) + pairs(b)) / 2 - expected_index)

    def entropy(counts):
        p = counts[counts > 0] / n
        return -(p * np.log(p)).sum()

    h_true, h_pred = entropy(a), entropy(b)
    nz = table > 0
    mi = (table[nz] / n * np.log(n * table[nz] / np.outer(a, b)[nz])).sum()
    emi = 0.0
    for ai in a:
        for bj in b:
            for nij in range(max(1, int(ai + bj - n)), int(min(ai, bj)) + 1):
                log_p = (
                    math.lgamma(ai + 1) + math.lgamma(bj + 1) + math.lgamma(n - ai + 1)
                    + math.lgamma(n - bj + 1) - math.lgamma(n + 1) - math.lgamma(nij + 1)
                    - math.lgamma(ai - nij + 1) - math.lgamma(bj - nij + 1)
                    - math.lgamma(n - ai - bj + nij + 1)
                )  # fmt: skip
                emi += nij / n * math.log(n * nij / (ai * bj)) * math.exp(log_p)
    mean_h = (h_true + h_pred) / 2
    homogeneity, completeness = mi / h_true, mi / h_pred  # H(C|K) = H(C) - I
    return {
        "ari": ari,
        "ami": (mi - emi) / (mean_h - emi),
        "nmi": mi / mean_h,
        "homogeneity": homogeneity,
        "completeness": completeness,
        "v_measure": 2 * homogeneity * completeness / (homogeneity + completeness),
    }


def test_measures_equal_the_formulas(label_pair):
    left, right = label_pair
    true, pred = left.to_numpy(), right.loc[left.index].to_numpy()
    scores = compare_labelings(left, right).scores
    for measure, value in _by_the_formulas(true, pred).items():
        assert scores[measure] == pytest.approx(value, rel=1e-9, abs=1e-12), measure


def test_adjusted_rand_of_a_small_table_by_hand():
    # Table [[2, 1], [0, 2]] (n = 5): pairs within cells 1 + 0 + 0 + 1 = 2; rows 3 + 1 = 4,
    # columns 1 + 3 = 4, all 10; expected 4 x 4 / 10 = 1.6; ARI = (2 - 1.6) / (4 - 1.6) = 1/6.
    left = pd.Series(["a", "a", "a", "b", "b"], index=_customers(5))
    right = pd.Series(["x", "x", "y", "y", "y"], index=_customers(5))
    assert compare_labelings(left, right).scores["ari"] == pytest.approx(1 / 6, rel=1e-12)


def test_relabelled_copy_agrees_perfectly():
    left = pd.Series(_INTS, index=_customers(60))
    right = pd.Series(_NAMES[(_INTS + 2) % 4], index=_customers(60))
    scores = compare_labelings(left, right).scores
    assert scores["ari"] == 1.0
    for measure in ["ami", "nmi", "v_measure", "cramers_v", "matched_purity", "majority_purity"]:
        assert scores[measure] == pytest.approx(1.0), measure


# ---------------------------------------------------------------------------------------------
# Tables by hand.
# ---------------------------------------------------------------------------------------------


def test_tables_by_hand():
    #            C0   C1   C2   C3   C4   C5
    left = pd.Series(["a", "a", "a", "b", "b", "c"], index=_customers(6), name="scheme")
    right = pd.Series(["x", "x", "y", "y", "y", "x"], index=_customers(6), name="kmeans")
    revenue = pd.Series([10.0, 20.0, 5.0, 1.0, 2.0, 100.0], index=_customers(6))
    got = compare_labelings(left, right, revenue=revenue)
    # counts a: x2 y1, b: x0 y2, c: x1 y0; row totals 3, 2, 1; column totals 3, 3; n = 6.
    assert got.n_customers == 6
    assert got.counts.to_numpy().tolist() == [[2, 1], [0, 2], [1, 0]]
    assert got.counts.index.tolist() == ["a", "b", "c"]
    assert got.counts.columns.tolist() == ["x", "y"]
    assert (got.counts.index.name, got.counts.columns.name) == ("scheme", "kmeans")
    np.testing.assert_allclose(got.row_shares, [[2 / 3, 1 / 3], [0, 1], [1, 0]])
    np.testing.assert_allclose(got.column_shares, [[2 / 3, 1 / 3], [0, 2 / 3], [1 / 3, 0]])
    # expected = row total * column total / n: a 1.5 1.5, b 1 1, c 0.5 0.5; empty cells lift 0.
    np.testing.assert_allclose(got.lift, [[2 / 1.5, 1 / 1.5], [0, 2], [2, 0]])
    np.testing.assert_allclose(got.revenue, [[30.0, 5.0], [0.0, 3.0], [100.0, 0.0]])
    assert got.notes == {}


def test_no_revenue_gives_none_and_every_table_shares_axes():
    left = pd.Series([1, 2, 2], index=["p", "q", "r"])
    right = pd.Series(["u", "u", "v"], index=["r", "q", "p"])
    got = compare_labelings(left, right)
    assert got.revenue is None
    for table in (got.row_shares, got.column_shares, got.lift):
        assert table.index.equals(got.counts.index) and table.columns.equals(got.counts.columns)
    assert (got.counts.index.name, got.counts.columns.name) == ("left", "right")


def test_labels_are_matched_on_the_index_not_the_position():
    left = pd.Series(["a", "b", "c"], index=[1, 2, 3])
    right = pd.Series(["a", "b", "c"], index=[3, 1, 2])  # customer 1 -> b, 2 -> c, 3 -> a
    got = compare_labelings(left, right)
    assert got.counts.to_numpy().trace() == 0
    assert got.scores["matched_purity"] == 1.0  # a <-> b, b <-> c, c <-> a


def test_categorical_labels_keep_category_order_and_drop_unused():
    labels = pd.Categorical(["low", "high", "low"], categories=["high", "mid", "low"])
    left = pd.Series(labels, index=[1, 2, 3])
    got = compare_labelings(left, pd.Series([0, 1, 0], index=[1, 2, 3]))
    assert got.counts.index.tolist() == ["high", "low"]


def test_names_override_series_names():
    s = pd.Series([0, 1], name="segment")
    got = compare_labelings(s, s, names=("before", "after"))
    assert (got.counts.index.name, got.counts.columns.name) == ("before", "after")


# ---------------------------------------------------------------------------------------------
# Cramér's V.
# ---------------------------------------------------------------------------------------------


def test_cramers_v_2x2_by_hand():
    # n = 30, every expected count 7.5: chi2 = 4 * 2.5**2 / 7.5 = 10 / 3, V = sqrt(chi2 / 30) = 1/3.
    # Same as |ad - bc| / sqrt(r1 r2 c1 c2) = 75 / 225 for a 2 x 2 table.
    table = np.array([[10, 5], [5, 10]])
    value, note = cramers_v(table)
    assert value == pytest.approx(1 / 3) and note == ""
    assert value == pytest.approx(association(table, method="cramer", correction=False))


@pytest.mark.parametrize("shape", [(2, 2), (3, 4), (5, 2)])
def test_cramers_v_matches_scipy(shape):
    table = np.random.default_rng(sum(shape)).integers(1, 30, size=shape)
    assert cramers_v(table)[0] == pytest.approx(association(table, method="cramer"))


def test_cramers_v_is_nan_with_a_reason_for_a_single_label():
    got = compare_labelings(pd.Series(["only"] * 4), pd.Series([0, 1, 0, 1]))
    assert math.isnan(got.scores["cramers_v"])
    assert "single label" in got.notes["cramers_v"] and "1 x 2" in got.notes["cramers_v"]
    assert set(got.notes) == {"cramers_v"}  # every other measure is defined


# ---------------------------------------------------------------------------------------------
# Best one-to-one mapping and purities.
# ---------------------------------------------------------------------------------------------


def _table(rows: list[list[int]], index: str, columns: str) -> pd.DataFrame:
    return pd.DataFrame(rows, index=list(index), columns=list(columns))


def test_hungarian_beats_greedy():
    # Greedy takes a-x (5) and is left with b-y (0) + c-z (3) = 8; the best is a-y, b-x, c-z = 11.
    counts = _table([[5, 4, 0], [4, 0, 0], [0, 0, 3]], "abc", "xyz")
    mapping = best_mapping(counts)
    assert mapping[["left", "right", "customers"]].to_numpy().tolist() == [
        ["a", "y", 4],
        ["b", "x", 4],
        ["c", "z", 3],
    ]
    assert mapping["matched"].all()
    assert mapping["left_customers"].tolist() == [9, 4, 3]
    assert mapping["right_customers"].tolist() == [4, 9, 3]  # y, x, z


def test_purities_by_hand():
    # Same table as above from labels: n = 16.
    left = ["a"] * 9 + ["b"] * 4 + ["c"] * 3
    right = ["x"] * 5 + ["y"] * 4 + ["x"] * 4 + ["z"] * 3
    scores = compare_labelings(pd.Series(left), pd.Series(right)).scores
    assert scores["matched_purity"] == 11 / 16  # a-y 4, b-x 4, c-z 3
    assert scores["majority_purity"] == 12 / 16  # column maxima: x 5, y 4, z 3
    assert scores["inverse_majority_purity"] == 12 / 16  # row maxima: a 5, b 4, c 3


def test_rectangular_mapping_reports_unmatched_labels():
    counts = _table([[6, 1, 0], [0, 2, 3]], "ab", "xyz")
    mapping = best_mapping(counts)
    matched = mapping[mapping["matched"]]
    assert matched[["left", "right", "customers"]].to_numpy().tolist() == [
        ["a", "x", 6],
        ["b", "z", 3],
    ]
    lonely = mapping[~mapping["matched"]]
    assert lonely["right"].tolist() == ["y"] and lonely["left"].isna().all()
    assert lonely["customers"].tolist() == [0] and lonely["right_customers"].tolist() == [3]


def test_assignments_without_shared_customers_are_unmatched():
    # b and c only meet x, which a keeps; the solver still pairs them with y and z (overlap 0).
    counts = _table([[5, 1, 1], [3, 0, 0], [3, 0, 0]], "abc", "xyz")
    mapping = best_mapping(counts)
    assert mapping.loc[mapping["matched"], ["left", "right"]].to_numpy().tolist() == [["a", "x"]]
    assert sorted(mapping.loc[~mapping["matched"], "left"].dropna()) == ["b", "c"]
    assert sorted(mapping.loc[~mapping["matched"], "right"].dropna()) == ["y", "z"]


# ---------------------------------------------------------------------------------------------
# Many labelings.
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def labelings() -> dict[str, pd.Series]:
    index = _customers(60)
    return {
        "kmeans_k4": pd.Series(_INTS, index=index),
        "gmm_k5": pd.Series(_OTHER, index=index),
        "scheme": pd.Series(_NAMES[_OTHER % 4], index=index).iloc[::-1],
        "constant": pd.Series("all", index=index),
    }


def test_agreement_table_is_tidy_and_matches_pairs(labelings):
    table = agreement_table(labelings)
    assert table.columns.tolist() == ["left", "right", "measure", "value"]
    assert len(table) == 4 * 4 * len(MEASURES.names())
    pair = compare_labelings(labelings["gmm_k5"], labelings["scheme"]).scores
    got = table[(table["left"] == "gmm_k5") & (table["right"] == "scheme")]
    for measure, value in zip(got["measure"], got["value"], strict=True):
        assert _same(value, pair[measure]), measure


@pytest.mark.parametrize("measure", ["ari", "ami", "nmi", "v_measure", "matched_purity"])
def test_agreement_matrix_symmetric_with_ones_on_diagonal(labelings, measure):
    matrix = agreement_matrix(agreement_table(labelings, measures=[measure]), measure)
    assert matrix.index.tolist() == matrix.columns.tolist() == list(labelings)
    np.testing.assert_array_equal(matrix.to_numpy(), matrix.to_numpy().T)
    np.testing.assert_allclose(np.diag(matrix.to_numpy()), 1.0)


def test_agreement_matrix_default_is_ari_and_directed_measures_transpose(labelings):
    table = agreement_table(labelings, measures=["ari", "homogeneity", "completeness"])
    ari = agreement_matrix(table)
    assert ari.loc["kmeans_k4", "gmm_k5"] == pytest.approx(
        metrics.adjusted_rand_score(_INTS, _OTHER)
    )
    homogeneity = agreement_matrix(table, "homogeneity")
    np.testing.assert_allclose(homogeneity.T, agreement_matrix(table, "completeness"))


def test_cramers_v_diagonal_is_nan_for_a_single_label(labelings):
    matrix = agreement_matrix(agreement_table(labelings, measures=["cramers_v"]), "cramers_v")
    assert math.isnan(matrix.loc["constant", "constant"])
    assert matrix.loc["gmm_k5", "gmm_k5"] == pytest.approx(1.0)


def test_agreement_inner_uses_customers_shared_by_all(labelings):
    labelings["scheme"] = labelings["scheme"].iloc[:50]
    with pytest.raises(DataError, match="60 and 50, 50 shared"):
        agreement_table(labelings, measures=["ari"])
    table = agreement_table(labelings, measures=["ari"], how="inner")
    shared = labelings["scheme"].index
    expected = metrics.adjusted_rand_score(
        labelings["kmeans_k4"].loc[shared], labelings["gmm_k5"].loc[shared]
    )
    assert agreement_matrix(table).loc["kmeans_k4", "gmm_k5"] == pytest.approx(expected)


def test_unknown_measure_suggests_the_nearest(labelings):
    with pytest.raises(ConfigError, match="did you mean 'homogeneity'"):
        agreement_table(labelings, measures=["homogenity"])
    table = agreement_table(labelings, measures=["ari"])
    with pytest.raises(ConfigError, match="no measure 'nmi'"):
        agreement_matrix(table, "nmi")


# ---------------------------------------------------------------------------------------------
# Input contract.
# ---------------------------------------------------------------------------------------------


def test_different_customers_raise_naming_the_counts():
    left = pd.Series([0, 1, 0, 1], index=["A", "B", "C", "D"], name="kmeans")
    right = pd.Series([0, 1, 1], index=["B", "C", "E"], name="scheme")
    with pytest.raises(DataError, match=r"4 and 3, 2 shared; 2 only in 'kmeans'.*1 only in") as e:
        compare_labelings(left, right)
    assert "how='inner'" in str(e.value)
    got = compare_labelings(left, right, how="inner")
    assert got.n_customers == 2 and got.counts.to_numpy().tolist() == [[0, 1], [1, 0]]


def test_no_shared_customers_raise():
    with pytest.raises(DataError, match="share no customers"):
        compare_labelings(pd.Series([0], index=["A"]), pd.Series([0], index=["B"]), how="inner")


@pytest.mark.parametrize(
    ("left", "error", "message"),
    [
        (pd.Series([0, 1], index=["A", "A"]), DataError, "1 repeated customer_id"),
        (pd.Series([0.0, np.nan], index=["A", "B"]), DataError, "no label for 1 of 2"),
        (pd.Series([], dtype=int), DataError, "no customers"),
        ([0, 1], SchemaError, "got list"),
    ],
)
def test_bad_labelings_raise(left, error, message):
    with pytest.raises(error, match=message):
        compare_labelings(left, pd.Series([0, 1], index=["A", "B"]))


def test_bad_how_and_revenue_raise():
    s = pd.Series([0, 1], index=["A", "B"])
    with pytest.raises(ConfigError, match="did you mean 'inner'"):
        compare_labelings(s, s, how="iner")
    with pytest.raises(DataError, match="missing \\(or NaN\\) for 1 of the 2"):
        compare_labelings(s, s, revenue=pd.Series([5.0], index=["A"]))
    with pytest.raises(SchemaError, match="numeric"):
        compare_labelings(s, s, revenue=pd.Series(["x", "y"], index=["A", "B"]))


# ---------------------------------------------------------------------------------------------
# Properties: invariance to relabelling, symmetry where it should hold.
# ---------------------------------------------------------------------------------------------

_pairs = st.integers(1, 30).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 4), min_size=n, max_size=n),
        st.lists(st.integers(0, 3), min_size=n, max_size=n),
        st.permutations(range(5)),
    )
)


@settings(max_examples=40, deadline=None)
@given(_pairs)
def test_measures_invariant_to_relabelling_and_symmetric(pair):
    left_codes, right_codes, permutation = pair
    index = _customers(len(left_codes))
    left = pd.Series(left_codes, index=index)
    right = pd.Series(right_codes, index=index)
    renamed = pd.Series([f"seg {permutation[c]}" for c in left_codes], index=index)

    scores = compare_labelings(left, right).scores
    relabelled = compare_labelings(renamed, right).scores
    swapped = compare_labelings(right, left).scores
    for measure in scores.index:
        assert _same(relabelled[measure], scores[measure]), measure
    for measure in SYMMETRIC:
        assert _same(swapped[measure], scores[measure]), measure
    for measure, partner in SWAPPED.items():
        assert _same(swapped[measure], scores[partner]), measure
    assert scores["ari"] == pytest.approx(metrics.adjusted_rand_score(left_codes, right_codes))
