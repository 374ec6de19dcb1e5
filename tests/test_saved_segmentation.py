"""The saved segmentation: score equals fit, ids and names survive refits, bad files are refused."""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from scipy.spatial.distance import cdist
from sklearn.datasets import make_blobs

from seglab.cli import main
from seglab.cluster.assign import fit_assigner
from seglab.cluster.hierarchical import HierarchicalClustering
from seglab.errors import ConfigError, DataError, ModelError
from seglab.evaluate.drift import describe, stability_index
from seglab.interpret.identity import match_segments
from seglab.interpret.saved import FORMAT, load_segmentation, save_segmentation
from seglab.run.config import load_config
from seglab.run.pipeline import _reference_key, compute_run, run_segmentation

EXPERIMENTS = {
    "feature_sets": ["value", "shop"],
    "scalings": ["log_standard"],
    "algorithms": ["kmeans", "fuzzy_cmeans"],
    "k_min": 3,
    "k_max": 5,
    "n_jobs": 1,
    "stability_top": 0,
}
NAMES = {"S2": {"name": "Loyal big spenders", "action": "early access"}}


#: A feature set that needs product ids (product_breadth).
SHOP = {"shop": ["recency_days", "frequency", "monetary_total", "product_breadth"]}


def _config(folder: Path, config_writer, algorithm: str = "kmeans", **clustering) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    chosen = {"choose": "config", "feature_set": "value", "scaling": "log_standard",
              "algorithm": algorithm, "k": 4, **clustering}  # fmt: skip
    experiments = dict(EXPERIMENTS)
    if algorithm not in experiments["algorithms"]:  # the grid must hold the chosen solution
        experiments["algorithms"] = [*experiments["algorithms"], algorithm]
    return config_writer(
        folder, experiments=experiments, clustering=chosen, features={"sets": SHOP}
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory, config_writer):
    """A k-means run with an analyst's name for S2, and its saved segmentation."""
    folder = tmp_path_factory.mktemp("trained")
    config = _config(folder, config_writer, names=NAMES, feature_set="shop")
    run = run_segmentation(config)
    path = save_segmentation(run.segmentation, folder / "segmentation.skops")
    return config, run, path


@pytest.mark.parametrize("algorithm", ["kmeans", "fuzzy_cmeans", "gmm"])
def test_scoring_the_training_data_reproduces_every_label(tmp_path, config_writer, algorithm):
    config = _config(tmp_path, config_writer, algorithm)
    run = run_segmentation(config)
    path = save_segmentation(run.segmentation, tmp_path / "segmentation.skops")
    loaded = load_segmentation(path)
    scores = loaded.score(run.features.customers).customers
    assert scores.index.equals(run.segmentation.labels.index)
    assert (scores["segment_id"] == run.segmentation.segment_ids).all()
    assert (scores["segment_name"] == run.segmentation.segment_names).all()
    assert (scores["outside_training_range"] == "").all()
    assert loaded.model.assigner.training_agreement == 1.0
    if algorithm in ("fuzzy_cmeans", "gmm"):
        memberships = scores.filter(like="membership_s").to_numpy()
        np.testing.assert_allclose(memberships, run.segmentation.memberships.to_numpy(), atol=1e-9)


def test_score_from_transactions_and_from_the_command_line(trained, tmp_path, capsys):
    config, run, path = trained
    transactions = pd.read_parquet(load_config(config).data.transactions)
    scores = load_segmentation(path).score(transactions).customers
    assert (scores["segment_id"] == run.segmentation.segment_ids).all()
    out = tmp_path / "scores.csv"
    code = main(["score", "--model", str(path), "--config", str(config), "--out", str(out)])
    assert code == 0
    written = pd.read_csv(out).set_index("customer_id")
    assert list(written.columns[:3]) == ["segment_id", "segment_name", "action"]
    assert (written["segment_id"] == run.segmentation.segment_ids).all()
    assert "Loyal big spenders" in capsys.readouterr().out


def test_a_run_keyed_on_a_reference_keeps_its_key_when_the_reference_is_saved_again(
    trained, tmp_path
):
    _, run, path = trained
    again = save_segmentation(run.segmentation, tmp_path / "again.skops")
    assert again.read_bytes() != path.read_bytes()  # skops names arrays after object ids
    assert _reference_key(again) == _reference_key(path)


def test_the_file_keeps_names_settings_and_training_facts(trained):
    _, run, path = trained
    loaded = load_segmentation(path)
    named = loaded.names.set_index("segment_id")
    assert named.loc["S2", ["name", "action"]].tolist() == ["Loyal big spenders", "early access"]
    assert loaded.model.settings["features"]["growth_months"] == 6
    assert loaded.model.training["customers"] == len(run.features.customers)
    assert loaded.labels.equals(run.segmentation.labels)
    pd.testing.assert_frame_equal(loaded.profile, run.segmentation.profile, check_dtype=False)


def test_a_refit_on_shuffled_customers_keeps_every_id_and_name(trained, tmp_path, config_writer):
    config, run, path = trained
    data = tmp_path / "data"
    data.mkdir()
    source = load_config(config).data
    transactions = pd.read_parquet(source.transactions)
    transactions.sample(frac=1.0, random_state=7).to_parquet(data / "transactions.parquet")
    pd.read_parquet(source.customers).to_parquet(data / "customers.parquet")
    shuffled = _config(
        tmp_path, config_writer, reference=str(path), names=NAMES, feature_set="shop"
    )
    refit = run_segmentation(shuffled).segmentation
    before = run.segmentation
    assert (refit.segment_ids == before.segment_ids.reindex(refit.labels.index)).all()
    assert refit.names.set_index("segment_id")["name"].to_dict() == (
        before.names.set_index("segment_id")["name"].to_dict()
    )
    assert set(refit.identity["status"]) == {"kept"}


def test_a_name_for_a_segment_that_does_not_exist_is_an_error(trained, tmp_path, config_writer):
    config = _config(tmp_path, config_writer, names={"S9": {"name": "ghost"}})
    with pytest.raises(ConfigError, match=r"S9.*never moved"):
        run_segmentation(config)


def test_a_missing_reference_is_named_before_anything_runs(tmp_path, config_writer):
    config = _config(tmp_path, config_writer, reference="nowhere/segmentation.skops")
    with pytest.raises(ModelError, match=r"clustering\.reference: no segmentation file"):
        compute_run(config)


def test_names_keyed_by_cluster_number_are_refused(tmp_path, config_writer):
    config = _config(tmp_path, config_writer, names={0: {"name": "old style"}})
    with pytest.raises(ConfigError, match="keyed by segment id"):
        load_config(config)


def test_a_new_period_matches_segments_and_migrates_by_id(trained, tmp_path, config_writer):
    config, run, path = trained
    later = run_segmentation(
        config, as_of="2026-08-31", previous_as_of="2026-07-31", reference=path
    ).segmentation
    kept = later.identity[later.identity["status"] == "kept"]
    assert len(kept) >= 3
    names = later.names.set_index("segment_id")["name"]
    previous = run.segmentation.names.set_index("segment_id")["name"]
    for segment_id in kept["segment_id"]:
        assert names[segment_id] == previous[segment_id]


def test_matching_follows_the_centres_not_the_order():
    ids, table = match_segments(
        np.array([[9.0, 0.0], [0.0, 0.1], [0.0, 30.0]]),
        np.array([[0.0, 0.0], [10.0, 0.0]]),
        ["S1", "S7"],
    )
    # S7's nearest neighbour is 10 away, so a partner within 5 keeps its id.
    assert ids == ["S7", "S1", "S8"]
    assert table.set_index("segment_id")["status"].to_dict() == {
        "S7": "kept", "S1": "kept", "S8": "new"
    }  # fmt: skip


def test_a_segment_beyond_the_limit_is_new_and_its_partner_dissolved():
    ids, table = match_segments(np.array([[0.0], [4.0]]), np.array([[0.0], [10.0]]), ["S1", "S2"])
    assert ids == ["S1", "S3"]
    assert table.set_index("segment_id")["status"].to_dict() == {
        "S1": "kept", "S3": "new", "S2": "dissolved"
    }  # fmt: skip


def test_hierarchical_solutions_score_by_the_nearest_centroid_of_the_final_segments():
    X, _ = make_blobs(600, centers=4, cluster_std=2.5, random_state=3)
    labels = HierarchicalClustering(n_clusters=4, linkage="ward").fit(X).labels_
    assigner = fit_assigner(X, "ward", labels, random_state=0)
    centroids = np.vstack([X[labels == j].mean(axis=0) for j in range(4)])
    nearest = cdist(X, centroids).argmin(axis=1)
    np.testing.assert_array_equal(assigner.labels(X), nearest)
    assert assigner.training_agreement == pytest.approx(np.mean(nearest == labels))


def test_drift_is_measured_and_worded(trained):
    _, run, path = trained
    customers = run.features.customers.copy()
    same = load_segmentation(path).score(customers)
    assert (same.drift["psi"] == 0).all() and same.warnings == []
    customers["monetary_total"] *= 3
    shifted = load_segmentation(path).score(customers)
    row = shifted.drift.set_index("feature").loc["monetary_total"]
    expected = stability_index(
        describe(run.features.customers["monetary_total"]), customers["monetary_total"]
    )
    assert row["psi"] == pytest.approx(expected) and row["psi"] > 0.25
    assert any("monetary_total" in w and "refitting" in w for w in shifted.warnings)
    assert (shifted.customers["outside_training_range"] != "").sum() == row["outside_range"]


def test_population_stability_index_matches_a_direct_computation():
    rng = np.random.default_rng(0)
    training, scored = rng.lognormal(size=5000), rng.lognormal(0.3, size=3000)
    edges = np.quantile(training, np.linspace(0, 1, 11)[1:-1])
    bins = np.concatenate([[-np.inf], edges, [np.inf]])
    p = pd.Series(pd.cut(training, bins, right=False)).value_counts(sort=False) / len(training)
    q = pd.Series(pd.cut(scored, bins, right=False)).value_counts(sort=False) / len(scored)
    assert stability_index(describe(training), scored) == pytest.approx(
        float(np.sum((q - p) * np.log(q / p))), abs=1e-6
    )


def test_missing_features_are_named(trained):
    _, run, path = trained
    with pytest.raises(DataError, match="product_breadth"):
        load_segmentation(path).score(run.features.customers.drop(columns="product_breadth"))


class _Payload:
    """Runs a command when unpickled, as a hostile model file would."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_payload_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "segmentation.skops"
    path.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ModelError, match="pickle or joblib file is never loaded"):
        load_segmentation(path)
    assert not marker.exists()


class _Hostile:
    """A type outside seglab's trusted list; setting its state would leave a trace."""

    def __setstate__(self, state):
        Path(state["marker"]).touch()


def test_a_skops_file_with_an_untrusted_type_is_refused_before_loading(tmp_path):
    marker = tmp_path / "ran"
    hostile = _Hostile()
    hostile.marker = str(marker)
    path = tmp_path / "segmentation.skops"
    sio.dump({"format": FORMAT, "format_version": 1, "payload": hostile}, path)
    with pytest.raises(ModelError, match=r"does not trust.*_Hostile"):
        load_segmentation(path)
    assert not marker.exists()


def test_damaged_foreign_missing_and_future_files_get_clear_errors(trained, tmp_path):
    _, _, path = trained
    truncated = tmp_path / "truncated.skops"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ModelError, match="not a readable segmentation file"):
        load_segmentation(truncated)
    foreign = tmp_path / "foreign.skops"
    sio.dump({"weights": np.ones(3)}, foreign)
    with pytest.raises(ModelError, match="not a seglab segmentation"):
        load_segmentation(foreign)
    with pytest.raises(ModelError, match="no segmentation file"):
        load_segmentation(tmp_path / "absent.skops")
    future = tmp_path / "future.skops"
    sio.dump({"format": FORMAT, "format_version": 99, "seglab_version": "9.0"}, future)
    with pytest.raises(ModelError, match="format 99"):
        load_segmentation(future)
    assert zipfile.is_zipfile(path)


def test_score_exits_2_when_the_data_cannot_give_the_models_features(trained, tmp_path, capsys):
    config, _, path = trained
    transactions = pd.read_parquet(load_config(config).data.transactions)
    folder = tmp_path / "data"
    folder.mkdir()
    transactions.drop(columns=["product_id"]).to_parquet(folder / "transactions.parquet")
    other = tmp_path / "other.yaml"
    other.write_text(
        f"name: other\nas_of: '2026-10-31'\ncache_dir: null\n"
        f"data: {{transactions: {folder / 'transactions.parquet'}}}\n"
    )
    assert main(["score", "--model", str(path), "--config", str(other)]) == 2
    assert "product_breadth" in capsys.readouterr().err
    assert main(["score", "--model", str(tmp_path / "none.skops"), "--config", str(other)]) == 2
