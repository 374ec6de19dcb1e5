"""seglab.run.store: a run read back from its folder equals the run computed in memory."""

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel

from seglab.errors import DataError
from seglab.run import store
from seglab.run.pipeline import Run, open_run, run_segmentation


def _same(a, b, where: str) -> None:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, obj=where)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, obj=where)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif dataclasses.is_dataclass(a):
        assert type(a) is type(b), where
        for item in dataclasses.fields(a):
            if not item.metadata.get("transient"):
                _same(getattr(a, item.name), getattr(b, item.name), f"{where}.{item.name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            _same(a[key], b[key], f"{where}[{key}]")
    elif isinstance(a, BaseModel):
        assert a == b, where
    else:
        assert a == b or (a != a and b != b), f"{where}: {a!r} != {b!r}"


@pytest.fixture(scope="module")
def computed(tmp_path_factory, config_writer):
    folder = tmp_path_factory.mktemp("store")
    return run_segmentation(config_writer(folder), previous_as_of="2026-07-31")


def test_every_stage_result_reads_back_as_computed(computed, tmp_path):
    loaded = store.load(Run, store.save(computed, tmp_path / "run"))
    _same(computed, loaded, "run")
    assert loaded.grid.solutions == {} and loaded.segmentation.model is None  # in memory only


def test_the_comparer_catches_a_changed_table(computed, tmp_path):
    folder = store.save(computed, tmp_path / "run")
    profile = folder / "segmentation" / "profile.parquet"
    table = pd.read_parquet(profile)
    table.iloc[0, 0] += 1
    table.to_parquet(profile)
    with pytest.raises(AssertionError):
        _same(computed, store.load(Run, folder), "run")


def test_column_labels_that_are_not_text_survive(tmp_path):
    @dataclasses.dataclass(frozen=True)
    class Holder:
        counts: pd.DataFrame
        day: dt.date
        shares: pd.Series

    counts = pd.DataFrame([[1, 2]], columns=pd.Index([0, 1], name="cluster"))
    shares = pd.Series(pd.Categorical(["a", "b"], categories=["b", "a"]), name="tier")
    loaded = store.load(Holder, store.save(Holder(counts, dt.date(2026, 1, 31), shares), tmp_path))
    pd.testing.assert_frame_equal(loaded.counts, counts)
    pd.testing.assert_series_equal(loaded.shares, shares)
    assert loaded.day == dt.date(2026, 1, 31)


def test_an_incomplete_or_older_run_folder_is_a_clear_error(tmp_path):
    (tmp_path / "stages").mkdir()
    (tmp_path / "stages" / "fields.json").write_text("{}")
    with pytest.raises(DataError, match="not a complete run folder of this seglab version"):
        open_run(tmp_path)
