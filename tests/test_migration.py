import numpy as np
import pandas as pd
import pytest

from seglab.heuristics import transition_counts
from seglab.interpret.migration import tier_moves, transition_shares
from seglab.run.pipeline import run_segmentation


def test_transition_counts_conserve_customers():
    rng = np.random.default_rng(0)
    before = pd.Series(rng.choice(["a", "b", "c"], 300), index=[f"C{i}" for i in range(300)])
    after = pd.Series(rng.choice(["a", "b", "d"], 250), index=[f"C{i}" for i in range(50, 300)])
    counts = transition_counts(before, after)
    # Rows: previous segments (+ new); columns: current segments (+ gone).
    assert counts.drop(index="(new)").sum(axis=1).to_dict() == before.value_counts().to_dict()
    assert counts.drop(columns="(gone)").sum(axis=0).to_dict() == after.value_counts().to_dict()
    assert counts.loc["(new)"].sum() == 0  # every current customer was there before
    assert counts["(gone)"].sum() == 50
    np.testing.assert_allclose(transition_shares(counts).drop(index="(new)").sum(axis=1), 1.0)


def test_tier_moves_by_hand():
    before = pd.Series(
        {"a": "VIP", "b": "Segment 3", "c": "Inactive", "d": "Blacklist", "e": "Segment 1"}
    )
    after = pd.Series(
        {"a": "Segment 2", "b": "Segment 1", "c": "Inactive", "d": "VIP", "f": "Segment 3"}
    )
    moves = tier_moves(before, after).set_index("move")["customers"].to_dict()
    assert moves == {"up": 1, "down": 1, "same": 1, "new": 1, "lost": 1, "other": 1}


@pytest.mark.slow
def test_report_migration_conserves_customers(small_config):
    result = run_segmentation(small_config, previous_as_of="2026-06-30")
    sizes_now = result.segmentation.segment_ids.value_counts()
    for scheme in ("cluster", "frequency_tiers", "rfm_segments"):
        counts = result.migration.matrix(scheme)
        assert counts is not None, scheme
        now = counts.drop(columns="(gone)").sum(axis=0)
        if scheme == "cluster":
            assert now.to_dict() == sizes_now.to_dict()
        else:
            labels = result.schemes.labels[scheme].astype(str).value_counts()
            assert now[now > 0].to_dict() == labels[labels > 0].to_dict()
    assert result.migration.tier_moves["customers"].sum() == counts.to_numpy().sum()


@pytest.mark.slow
def test_a_previous_period_without_customers_gives_a_note_not_a_crash(small_config):
    # The synthetic log starts on 2024-11-01: at 2024-06-30 nobody has bought anything yet.
    result = run_segmentation(small_config, previous_as_of="2024-06-30")
    migration = result.migration
    assert migration.previous_as_of == "2024-06-30"
    assert migration.matrices == {} and migration.tier_moves.empty
    assert migration.matrix("cluster") is None
    assert "no transactions on or before as_of 2024-06-30" in migration.note, migration.note
    assert result.segmentation.segment_ids.notna().all()  # the report itself goes on
