"""seglab.run.cache: keyed by inputs and code, touched on use, shown and trimmed, never outside."""

import os
import time

import pandas as pd
import pytest

from seglab.cli import main
from seglab.errors import ConfigError
from seglab.run import cache as cache_module
from seglab.run.cache import Cache, code_fingerprint, default_cache_dir


def test_a_frame_is_computed_once_then_served(tmp_path):
    cache, calls = Cache(tmp_path), []

    def compute():
        calls.append(1)
        return pd.DataFrame({"x": [1.0, 2.0]})

    first = cache.frame("features", "k", compute)
    again = cache.frame("features", "k", compute)
    assert calls == [1]
    pd.testing.assert_frame_equal(first, again)


def test_new_code_misses_what_old_code_stored(tmp_path, monkeypatch):
    cache = Cache(tmp_path)
    cache.save_frame("solutions", "k", pd.DataFrame({"x": [1]}))
    assert cache.load_frame("solutions", "k") is not None
    code_fingerprint.cache_clear()
    monkeypatch.setattr(cache_module, "_version", lambda: "99.0")
    try:
        assert cache.load_frame("solutions", "k") is None  # an upgrade never serves old results
    finally:
        code_fingerprint.cache_clear()


def test_the_fingerprint_follows_the_source_of_the_stages_involved():
    assert code_fingerprint("embeddings") != code_fingerprint("features")
    assert code_fingerprint("features") == code_fingerprint("features")


def test_info_and_prune_by_last_use(tmp_path):
    cache = Cache(tmp_path)
    cache.save_frame("features", "old", pd.DataFrame({"x": [1]}))
    cache.save_frame("features", "new", pd.DataFrame({"x": [2]}))
    old = cache.path("features", "old", ".parquet")
    ten_days_ago = time.time() - 10 * 86400
    os.utime(old, (ten_days_ago, ten_days_ago))
    info = cache.info().set_index("kind")
    assert info.loc["features", "entries"] == 2
    size = old.stat().st_size
    assert cache.prune(older_than_days=5) == (1, size)
    assert not old.exists() and cache.load_frame("features", "new") is not None
    cache.save_frame("features", "again", pd.DataFrame({"x": [3]}))
    removed, _ = cache.prune()
    assert removed == 2 and cache.info()["entries"].sum() == 0


def test_a_read_entry_is_young_again(tmp_path):
    cache = Cache(tmp_path)
    cache.save_frame("gap", "k", pd.DataFrame({"x": [1]}))
    path = cache.path("gap", "k", ".parquet")
    os.utime(path, (0, 0))
    cache.load_frame("gap", "k")
    assert path.stat().st_mtime > time.time() - 60
    assert cache.prune(older_than_days=1) == (0, 0)


def test_prune_never_touches_what_is_not_an_entry(tmp_path):
    outside = tmp_path / "keep.txt"
    outside.write_text("not the cache's")
    root = tmp_path / "cache"
    (root / "features").mkdir(parents=True)
    (root / "features" / "link").symlink_to(outside)
    (root / "notes.txt").write_text("mine")
    Cache(root).prune()
    assert outside.read_text() == "not the cache's" and (root / "notes.txt").exists()


def test_a_cache_dir_that_is_a_file_is_a_clear_error(tmp_path):
    file = tmp_path / "cache"
    file.write_text("")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        Cache(file)


def test_default_cache_dir_is_the_checkouts_or_the_users(tmp_path, monkeypatch):
    (tmp_path / "checkout" / "data" / "interim").mkdir(parents=True)
    (tmp_path / "checkout" / "configs").mkdir()
    assert default_cache_dir(tmp_path / "checkout" / "configs") == (
        tmp_path / "checkout" / "data" / "interim"
    )
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir(tmp_path / "elsewhere") == tmp_path / "xdg" / "seglab"


def test_cache_commands(small_config, capsys):
    assert main(["run", "--config", str(small_config)]) == 0
    capsys.readouterr()
    assert main(["cache", "info", "--config", str(small_config)]) == 0
    shown = capsys.readouterr().out
    assert "solutions" in shown and "runs" in shown
    assert main(["cache", "prune", "--config", str(small_config), "--older-than", "30"]) == 0
    assert "removed 0 entries unused for 30 days" in capsys.readouterr().out
    assert main(["cache", "prune", "--config", str(small_config)]) == 0
    assert "removed" in capsys.readouterr().out
    assert not any((small_config.parent / "cache" / "solutions").iterdir())
