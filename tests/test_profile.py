import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from seglab.cluster.scaling import FeatureScaler
from seglab.interpret.profile import (
    boundary_customers,
    distinguishing_features,
    name_segments,
    persona_note,
    personas,
    profile_segments,
    segment_answers,
    standardised_differences,
    surrogate_rules,
)


def test_profile_in_original_units():
    features = pd.DataFrame(
        {"monetary_total": [10.0, 30.0, 60.0, 0.0], "frequency": [1.0, 3.0, 6.0, 2.0]}
    )
    labels = pd.Series([1, 1, 0, 1])
    got = profile_segments(features, labels)
    assert got.loc[1, "customers"] == 3 and got.loc[1, "share"] == 0.75
    assert got.loc[0, "revenue"] == 60.0 and got.loc[1, "revenue_share"] == pytest.approx(0.4)
    assert got.loc[1, "mean_frequency"] == 2.0 and got.loc[1, "median_frequency"] == 2.0
    assert got["customers"].sum() == len(features)


def test_profile_means_are_raw_means_of_members_after_scaling_and_clustering():
    rng = np.random.default_rng(1)
    raw = pd.DataFrame(
        rng.lognormal(3, 1, size=(300, 3)), columns=["monetary_total", "frequency", "tenure_days"]
    )
    scaled = FeatureScaler("log_standard").fit_transform(raw)
    labels = pd.Series(KMeans(3, n_init=3, random_state=0).fit_predict(scaled), index=raw.index)
    profile = profile_segments(raw, labels)
    for segment in range(3):
        members = raw[labels == segment]
        for column in raw.columns:
            assert profile.loc[segment, f"mean_{column}"] == pytest.approx(members[column].mean())


def test_standardised_differences_by_hand_and_constant_feature():
    features = pd.DataFrame({"x": [0.0, 0.0, 2.0, 2.0], "c": [5.0] * 4})
    got = standardised_differences(features, pd.Series([0, 0, 1, 1]))
    # mean 1, population std 1: segment means 0 and 2 are -1 and +1 sd away.
    assert got["x"].tolist() == [-1.0, 1.0]
    assert got["c"].tolist() == [0.0, 0.0]


def test_distinguishing_features_ranked_by_size():
    d = pd.DataFrame(
        {"a": [0.1, -2.0], "b": [-1.5, 0.2], "c": [1.5, 0.0]},
        index=pd.Index([0, 1], name="segment"),
    )
    got = distinguishing_features(d, top=2)
    assert got[got.segment == 0]["feature"].tolist() == ["b", "c"]  # tie in size: by name
    assert got[got.segment == 1]["feature"].tolist() == ["a", "b"]


def test_names_are_deterministic_unique_and_overridable():
    d = pd.DataFrame(
        {
            "recency_days": [-1.2, 0.9, 0.1, 0.2],
            "monetary_total": [1.0, -0.6, 0.0, 0.1],
            "frequency": [0.7, 0.0, 0.0, 0.0],
        }
    )
    first = name_segments(d)
    assert first["name"].tolist() == [
        "recent, high spend, frequent",
        "lapsed, low spend",
        "typical (2)",
        "typical (3)",
    ]
    assert name_segments(d).equals(first)
    named = name_segments(d, {1: {"name": "win back", "action": "10 % voucher"}})
    assert named.loc[1].tolist() == ["win back", "10 % voucher"]


def test_surrogate_rules_are_faithful_on_separated_clusters():
    X, y = make_blobs(n_samples=600, centers=4, cluster_std=0.6, random_state=3)
    features = pd.DataFrame(X, columns=["recency_days", "frequency"])
    rules = surrogate_rules(features, pd.Series(y), depth=3)
    assert rules.fidelity >= 0.9
    assert (rules.rules["fidelity"] >= 0.8).all()
    assert rules.rules["rule"].str.contains("recency_days|frequency").all()


def test_rules_read_in_original_units():
    features = pd.DataFrame({"frequency": [1.0, 2.0, 10.0, 12.0]})
    rules = surrogate_rules(features, pd.Series(["low", "low", "high", "high"]), depth=1).rules
    assert rules.set_index("segment").loc["high", "rule"] == "frequency > 6"
    assert rules.set_index("segment").loc["low", "rule"] == "frequency <= 6"


def test_boundary_customers_by_hand():
    u = pd.DataFrame([[0.9, 0.1], [0.55, 0.45], [0.3, 0.7], [0.4, 0.6]])
    got = boundary_customers(u, threshold=0.6).set_index("segment")
    assert got.loc[0, ["customers", "boundary"]].tolist() == [2, 1]
    assert got.loc[1, ["customers", "boundary"]].tolist() == [2, 0]  # 0.6 is not below 0.6


def test_persona_is_the_medoid():
    # Segment 0: points 0, 1, 2, 10 in one dimension; summed distances 13, 11, 11, 27: the
    # tie between 1 and 2 goes to the first. Segment 1: a single customer.
    scaled = np.array([[0.0], [1.0], [2.0], [10.0], [50.0]])
    customers = pd.DataFrame(
        {"frequency": [1, 2, 3, 4, 5]}, index=pd.Index(list("abcde"), name="customer_id")
    )
    got = personas(scaled, customers, pd.Series([0, 0, 0, 0, 1]))
    assert got["customer_id"].tolist() == ["b", "e"]
    assert got["frequency"].tolist() == [2, 5]
    assert persona_note(9).startswith("9 personas: more than the 3-7") and persona_note(5) == ""


def test_segment_answers():
    customers = pd.DataFrame(
        {
            "monetary_total": [10.0, 30.0, 60.0],
            "recency_days": [5.0, 15.0, 100.0],
            "interpurchase_median_days": [7.0, 9.0, 60.0],
        }
    )
    got = segment_answers(customers, pd.Series(["a", "a", "b"])).set_index("segment")
    assert got.loc["a", "revenue_share"] == pytest.approx(0.4)
    assert got.loc["a", "median_days_since_last"] == 10.0
    assert got.loc["b", "median_days_between_purchases"] == 60.0


def _printed_rule_holds(features: pd.DataFrame, rule: str) -> pd.Series:
    """Where the rule as printed holds, read by pandas (not by the tree that wrote it)."""
    if rule == "everyone":
        return pd.Series(True, index=features.index)
    if rule.startswith("(no leaf"):
        return pd.Series(False, index=features.index)
    return features.eval(rule.replace(" and ", " & ").replace(" or ", " | "))


def _assert_printed_rules_have_their_fidelity(features, labels, depth):
    got = surrogate_rules(features, labels, depth=depth)
    holds = pd.DataFrame(
        {row.segment: _printed_rule_holds(features, row.rule) for row in got.rules.itertuples()}
    )
    assert (holds.sum(axis=1) == 1).all(), "the printed rules must split the customers"
    own = holds.to_numpy()[np.arange(len(labels)), holds.columns.get_indexer(labels)]
    assert got.fidelity == pytest.approx(own.mean(), abs=0)
    for row in got.rules.itertuples():
        members = (labels == row.segment).to_numpy()
        assert row.customers == members.sum()
        assert row.fidelity == pytest.approx(holds[row.segment].to_numpy()[members].mean(), abs=0)
    return got.rules.set_index("segment")["rule"]


def test_a_printed_threshold_keeps_the_split_of_the_tree():
    # The tree splits at 12,003.975; four significant digits (1.2e+04) would print a rule that
    # puts every customer above it.
    features = pd.DataFrame(
        {"monetary_total": [12_001.10, 12_002.35, 12_003.80, 12_004.15, 12_005.00, 12_006.40]}
    )
    labels = pd.Series(["low"] * 3 + ["high"] * 3)
    rules = _assert_printed_rules_have_their_fidelity(features, labels, depth=1)
    assert rules.to_dict() == {"high": "monetary_total > 12004", "low": "monetary_total <= 12004"}


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_printed_rules_have_the_fidelity_printed_next_to_them(depth):
    # Real units: spend in the thousands with cents, days, counts, shares.
    import datetime as dt

    from seglab.data import synth
    from seglab.features import compute_features

    data = synth.generate(1_500, seed=4)
    features = compute_features(data.transactions, dt.date(2026, 10, 31))
    labels = data.customers.set_index("customer_id").loc[features.index, "true_segment"]
    _assert_printed_rules_have_their_fidelity(features, labels, depth)
