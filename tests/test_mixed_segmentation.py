"""A chosen mixed-type solution is saved, loaded (trusted types only) and scores as fitted."""

import pandas as pd
import pytest

from seglab.cli import main
from seglab.interpret.saved import load_segmentation, save_segmentation
from seglab.run.pipeline import run_segmentation

FIRMOGRAPHICS = {
    "numeric": ["monetary_total", "frequency", "recency_days"],
    "categorical": ["company_size", "industry", "region"],
}


@pytest.fixture(scope="module", params=["kprototypes", "gower_hierarchical"])
def saved(request, tmp_path_factory, config_writer):
    """The run of 400 synthetic customers with the mixed solution at k = 3 chosen, saved."""
    folder = tmp_path_factory.mktemp(request.param)
    experiments = {
        "feature_sets": ["firmographics"], "scalings": ["log_standard"],
        "algorithms": [request.param], "k_min": 3, "k_max": 3, "n_jobs": 1, "stability_top": 0,
        "params": {"kprototypes": {"n_init": 1}, "gower_hierarchical": {"max_exact": 300}},
    }  # fmt: skip
    clustering = {"choose": "config", "feature_set": "firmographics", "scaling": "log_standard",
                  "algorithm": request.param, "k": 3, "maps": []}  # fmt: skip
    config = config_writer(
        folder, experiments=experiments, clustering=clustering,
        features={"sets": {"firmographics": FIRMOGRAPHICS}},
    )  # fmt: skip
    run = run_segmentation(config)
    return config, run, save_segmentation(run.segmentation, folder / "segmentation.skops")


def test_the_saved_mixed_segmentation_scores_the_training_customers_as_fitted(saved):
    _, run, path = saved
    loaded = load_segmentation(path)
    assert loaded.model.categorical == ("company_size", "industry", "region")
    scores = loaded.score(run.features.customers).customers
    agreement = (scores["segment_id"] == run.segmentation.segment_ids).mean()
    assert loaded.model.assigner.training_agreement == pytest.approx(agreement)
    if run.segmentation.algorithm == "kprototypes":
        assert agreement == 1.0  # its predict is the rule it was fitted by
    else:
        # 400 customers above max_exact = 300: a sample is cut from the tree and the other 100
        # join the nearest medoid, the rule that scores; in the sample the tree's cut and the
        # nearest medoid may differ near a boundary.
        assert run.grid.results["fit_sampled"].all()
        assert agreement >= 0.9


def test_seglab_score_joins_the_attribute_table(saved, tmp_path):
    config, run, path = saved
    out = tmp_path / "scores.csv"
    assert main(["score", "--model", str(path), "--config", str(config), "--out", str(out)]) == 0
    written = pd.read_csv(out).set_index("customer_id")["segment_id"]
    expected = load_segmentation(path).score(run.features.customers).customers["segment_id"]
    assert written.equals(expected.rename_axis("customer_id"))


def test_a_new_category_matches_no_segment_but_is_still_scored(saved):
    _, run, path = saved
    customers = run.features.customers.head(5).assign(industry="mining")
    scores = load_segmentation(path).score(customers).customers
    assert scores["segment_id"].isin(run.segmentation.segment_ids.unique()).all()


def test_the_run_profiles_the_categories_of_its_segments_by_hand(saved):
    _, run, _ = saved
    shares = run.interpretation.categories
    assert list(shares["column"].unique()) == ["company_size", "industry", "region"]
    customers = run.features.customers
    ids = run.segmentation.segment_ids
    region = customers["region"].astype("string").fillna("(missing)")
    for (segment, category), share in (
        shares[shares["column"] == "region"].set_index(["segment", "category"])["share"].items()
    ):
        members = region[ids == segment]
        assert share == pytest.approx((members == category).mean()), (segment, category)
    table = run.interpretation.category_table()
    assert list(table.columns) == ["column", "category", *sorted(ids.unique()), "all customers"]
    assert table["all customers"].groupby(table["column"]).sum().to_numpy() == pytest.approx(1.0)
