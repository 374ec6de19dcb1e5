"""The choice of a segmentation: eligibility, comparable evidence, "no structure", the words."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from seglab.errors import ConfigError
from seglab.evaluate.selection import (
    Rules,
    balance,
    constrain,
    eligibility,
    explain,
    rank_candidates,
)
from seglab.run import choosing
from seglab.run.config import config_from_dict
from seglab.run.pipeline import run_segmentation


def test_eligibility_by_hand():
    results = pd.DataFrame(
        {"solution": ["a", "b", "c"], "sizes": ["500,300,200", "1960,40", "2980,20"]}
    )
    table = eligibility(results, Rules(min_segment_share=0.05, min_segment_size=30))
    assert table["eligible"].tolist() == [True, False, False]
    # b: 40 customers, 2 % of 2,000: enough customers, too small a share.
    assert table.loc[1, "reason"] == "smallest segment 40 customers (2.0%), under 5%"
    assert table.loc[2, "reason"] == "smallest segment 20 customers (0.7%), under 5% and 30"
    assert table.loc[0, "smallest_share"] == 0.2 and table.loc[0, "largest_share"] == 0.5


def test_balance_is_the_normalised_entropy_of_the_sizes():
    assert balance([10, 10, 10]) == pytest.approx(1.0)
    # -(0.9 ln 0.9 + 0.1 ln 0.1) / ln 2 = 0.468996
    assert balance([90, 10]) == pytest.approx(0.468996, abs=1e-6)
    assert balance([5]) == 0.0


def test_constraints_restrict_by_names_lists_and_a_k_range():
    table = pd.DataFrame(
        {
            "feature_set": ["rfm", "rfm", "value", "value"],
            "algorithm": ["kmeans", "ward", "kmeans", "kmeans"],
            "k": [3, 5, 4, 9],
        }
    )
    assert constrain(table, {"k": (4, 8)}).index.tolist() == [1, 2]
    assert constrain(table, {"feature_set": "value", "k": 9}).index.tolist() == [3]
    assert constrain(table, {"algorithm": ("ward", "kmeans"), "k": None}).index.tolist() == [
        0,
        1,
        2,
        3,
    ]


def _winner(solution, feature_set, votes, silhouette, sizes):
    return {
        "solution": solution, "feature_set": feature_set, "scaling": "s", "algorithm": "a",
        "seed": 0, "k": len(sizes.split(",")), "votes": votes, "n_voting": 5,
        "support": votes / 5, "voters": "", "reference_silhouette": silhouette, "sizes": sizes,
    }  # fmt: skip


def test_ranking_uses_the_reference_space_within_a_set_and_votes_across_sets():
    winners = pd.DataFrame(
        [
            _winner("value/a", "value", 3, 0.40, "50,50"),
            _winner("value/b", "value", 5, 0.30, "50,50"),  # more votes, worse separation
            _winner("rfm/a", "rfm", 4, 0.90, "50,50"),  # the best silhouette, another space
        ]
    )
    ranked = rank_candidates(winners, eligibility(winners, Rules(min_segment_size=1)))
    # value's champion is value/a (silhouette, same reference space) with 3 votes; rfm's has 4.
    assert ranked["solution"].tolist() == ["rfm/a", "value/a", "value/b"]
    assert ranked["rank"].tolist() == [1, 2, 3] and ranked["eligible"].all()


def test_an_unstable_leader_becomes_ineligible_and_the_next_one_is_measured(monkeypatch):
    ranked = pd.DataFrame(
        {"rank": [1, 2, 3], "solution": ["a", "b", "c"], "eligible": True, "reason": ""}
    )
    jaccard = {"a": 0.3, "b": 0.9, "c": 0.8}
    monkeypatch.setattr(
        choosing,
        "_measure_many",
        lambda todo, *_, **__: {
            s: {"solution": s, "bootstrap_min_cluster_jaccard": jaccard[s]} for s in todo
        },
    )
    config = config_from_dict(
        {"name": "t", "data": {"transactions": "t.parquet"}, "experiments": {"stability_top": 2}}
    )
    out, stability = choosing._stable(ranked, None, config, None, Rules(), None)
    assert out["solution"].tolist() == ["b", "c", "a"]
    assert out["eligible"].tolist() == [True, True, False]
    assert out.loc[2, "reason"] == (
        "a segment dissolves under resampling (bootstrap Jaccard 0.30 < 0.6)"
    )
    assert sorted(stability["solution"]) == ["a", "b", "c"]  # two eligible ones measured


def test_the_statement_names_the_runner_up_the_disagreement_and_missing_structure():
    candidates = pd.DataFrame(
        [
            {**_winner("value/x/k=4", "value", 3, 0.414, "40,30,20,10"), "balance": 0.9},
            {**_winner("value/y/k=4", "value", 3, 0.40, "40,30,20,10"), "balance": 0.9},
            {**_winner("value/z/k=2", "value", 4, 0.411, "50,50"), "balance": 1.0},
        ]
    )
    candidates["k"] = [4, 4, 2]
    votes = pd.DataFrame(
        {
            "feature_set": "value", "scaling": "s", "algorithm": "a", "seed": 0,
            "criterion": ["silhouette", "gap", "davies_bouldin"], "k": pd.array([4, 2, 4]),
        }
    )  # fmt: skip
    text = explain(candidates, votes, structure=False, gap_k=1, chosen_by="vote",
                   constraints={"k": (2, 6)})  # fmt: skip
    assert text.startswith("Chosen among the solutions with k (2, 6): value/x/k=4: 3 of 5")
    assert "The best alternative, value/z/k=2, separates the customers less well" in text
    # both silhouettes to the same precision: 0.41 against 0.411 would read as a contradiction
    assert "silhouette 0.414 in the reference space" in text
    assert "(silhouette 0.411)" in text
    assert "The criteria disagree: gap k = 2." in text
    assert "No clear cluster structure: the gap statistic finds no cluster structure" in text


@pytest.mark.parametrize(
    ("clustering", "message"),
    [
        ({"choose": "config", "feature_set": "value", "scaling": "log_standard",
          "algorithm": "kmeans", "k": [4, 8]}, "k: choose: config names one solution"),
        ({"choose": "config", "algorithm": "kmeans", "k": 4},
         "feature_set, scaling are not set"),
        ({"feature_set": "trend"}, "clustering.feature_set: trend is not in the experiment grid"),
        ({"k": [12, 14]}, "clustering.k: (12, 14) is outside the grid's k_min..k_max (2..10)"),
        ({"k": [5, 3]}, "a range [low, high] with low <= high"),
    ],
)  # fmt: skip
def test_a_setting_the_mode_cannot_use_is_a_config_error(clustering, message):
    raw = {"name": "t", "data": {"transactions": "t.parquet"}, "clustering": clustering}
    with pytest.raises(ConfigError) as error:
        config_from_dict(raw)
    assert message in str(error.value)


@pytest.mark.slow
def test_the_vote_recovers_the_synthetic_archetypes(tmp_path, config_writer):
    # The default config asks for a value segmentation; on 5,000 customers of the same
    # generator the rule picks k = 7 on log-scaled value features (ARI 0.79 at 20,000).
    config = config_writer(
        tmp_path,
        clustering={"choose": "vote", "feature_set": "value"},
        experiments={
            "feature_sets": ["value"], "scalings": ["log_standard", "robust", "quantile"],
            "algorithms": ["kmeans", "ward"], "k_max": 10, "stability_top": 2, "bootstrap": 5,
        },
    )  # fmt: skip
    raw = yaml.safe_load(config.read_text())
    raw["data"]["synthetic"] = {"customers": 5_000, "seed": 0}
    config.write_text(yaml.safe_dump(raw))
    run = run_segmentation(config)
    assert run.comparison.get("true_segment").scores["ari"] >= 0.7, run.choice.statement
    assert run.choice.structure and run.segmentation.k == 7


def _blob(folder, n=1_200, seed=5):
    """A log of customers from one population: lognormal tenure, recency, orders and spend."""
    rng = np.random.default_rng(seed)
    as_of = pd.Timestamp("2026-10-31")
    tenure = np.exp(rng.normal(np.log(400), 0.3, n)).astype(int) + 30
    recency = np.minimum(np.exp(rng.normal(np.log(40), 0.5, n)).astype(int), tenure - 10)
    orders = np.maximum(2, np.round(np.exp(rng.normal(np.log(8), 0.3, n)))).astype(int)
    value = np.exp(rng.normal(np.log(60), 0.3, n))
    rows = []
    for c in range(n):
        first, last = tenure[c], recency[c]
        days = [first, last, *rng.integers(last, first + 1, orders[c] - 2)]
        for j, day in enumerate(days):
            amount = round(float(value[c] * np.exp(rng.normal(0, 0.1))), 2)
            rows.append((f"B{c:05d}", as_of - pd.Timedelta(days=int(day)), f"O{c}-{j}", amount))
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "order_id", "amount"])
    frame.to_parquet(folder / "blob.parquet", index=False)


@pytest.mark.slow
def test_one_population_of_customers_is_reported_as_no_structure(tmp_path):
    from seglab.run.reports import render_report

    _blob(tmp_path)
    raw = {
        "name": "blob", "as_of": "2026-10-31", "data": {"transactions": "blob.parquet"},
        "cache_dir": "cache",
        "experiments": {"feature_sets": ["value"], "scalings": ["log_standard", "standard"],
                        "algorithms": ["kmeans", "ward"], "k_max": 8, "stability_top": 2,
                        "bootstrap": 5},
    }  # fmt: skip
    (tmp_path / "blob.yaml").write_text(yaml.safe_dump(raw))
    report = render_report(tmp_path / "blob.yaml", out_root=tmp_path / "reports")
    summary = json.loads((report / "summary.json").read_text())
    assert summary["choice"]["structure_found"] is False
    assert "No clear cluster structure" in summary["choice"]["statement"]
    assert "No clear cluster structure" in (report / "report.html").read_text()


@pytest.mark.slow
@pytest.mark.realdata
def test_online_retail_gets_no_tiny_segment_and_names_the_alternative(online_retail_path, tmp_path):
    raw = {
        "name": "retail", "as_of": "2011-12-09", "cache_dir": str(tmp_path / "cache"),
        "data": {"transactions": str(online_retail_path), "preset": "uci_online_retail"},
        "experiments": {"feature_sets": ["rfm", "value"], "scalings": ["log_standard", "robust"],
                        "algorithms": ["kmeans", "ward"], "k_max": 8, "stability_top": 2,
                        "bootstrap": 5},
    }  # fmt: skip
    config = tmp_path / "retail.yaml"
    config.write_text(yaml.safe_dump(raw))
    with pytest.warns(match="only returns"):
        run = run_segmentation(config)
    shares = run.segmentation.labels.value_counts(normalize=True)
    assert shares.min() >= 0.02, shares
    assert "The best alternative" in run.choice.statement
    # The robust scaling's "everyone against a few outliers" splits are not eligible.
    robust = run.choice.eligibility.merge(run.grid.results, on="solution")
    assert not robust[(robust["scaling"] == "robust") & (robust["k"] == 2)]["eligible"].any()
