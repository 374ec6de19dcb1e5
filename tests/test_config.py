import re
from pathlib import Path

import pytest

from seglab.errors import ConfigError
from seglab.run.config import config_from_dict, load_config

MINIMAL = {"name": "x", "data": {"transactions": "tx.parquet"}}


def test_misspelled_key_names_it_and_suggests_the_nearest():
    raw = {"name": "x", "data": {"transactoins": "tx.parquet"}}
    with pytest.raises(
        ConfigError, match=r"unknown key 'data\.transactoins'; did you mean 'transactions'\?"
    ):
        config_from_dict(raw)


def test_unknown_top_level_key_lists_known_keys():
    with pytest.raises(
        ConfigError,
        match=r"unknown key 'clustrng'; did you mean 'clustering'\?.*Known keys here: name, seed",
    ):
        config_from_dict({**MINIMAL, "clustrng": {}})


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path):
    path = tmp_path / "sub" / "c.yaml"
    path.parent.mkdir()
    path.write_text("name: x\ndata:\n  transactions: ../raw/tx.csv\n  customers: /abs/c.parquet\n")
    config = load_config(path)
    assert config.data.transactions == (tmp_path / "raw" / "tx.csv").resolve()
    assert config.data.customers == Path("/abs/c.parquet")
    assert config.source == path.resolve()


def test_config_is_frozen():
    config = config_from_dict(MINIMAL)
    with pytest.raises(ValueError, match="frozen"):
        config.seed = 3


def test_bad_value_names_key_and_value():
    with pytest.raises(ConfigError, match=r"key 'clustering\.k'.*'abc'"):
        config_from_dict({**MINIMAL, "clustering": {"k": "abc"}})


def test_unknown_scaler_lists_known_ones():
    with pytest.raises(
        ConfigError,
        match=r"unknown scaler .zscore.*Known: log_standard, minmax, none, power, quantile",
    ):
        config_from_dict({**MINIMAL, "clustering": {"scaling": "zscore"}})


def test_unknown_feature_in_a_set_suggests():
    with pytest.raises(
        ConfigError, match=r"unknown feature 'recency'; did you mean 'recency_days'"
    ):
        config_from_dict({**MINIMAL, "features": {"sets": {"mine": ["recency"]}}})


def test_feature_set_from_config_and_unknown_set():
    sets = {"features": {"sets": {"mine": ["tenure_days"]}}}
    config = config_from_dict({**MINIMAL, **sets, "clustering": {"feature_set": "mine"}})
    assert config.clustering_features == ("tenure_days",)
    with pytest.raises(ConfigError, match=r"unknown feature set 'rmf'.*Known: behaviour, full"):
        config_from_dict({**MINIMAL, "clustering": {"feature_set": "rmf"}})


def test_unknown_contract_column_in_mapping():
    raw = {"name": "x", "data": {"transactions": "t.csv", "columns": {"customerid": "Cust"}}}
    with pytest.raises(
        ConfigError, match=r"'customerid' is not a contract column; did you mean 'customer_id'"
    ):
        config_from_dict(raw)


def test_missing_file_and_bad_yaml(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


@pytest.mark.parametrize(
    "path", sorted((Path(__file__).parents[1] / "configs").glob("*.yaml")), ids=lambda p: p.stem
)
def test_every_shipped_config_is_valid_and_named_after_its_file(path):
    assert load_config(path).name == path.stem


def test_shipped_default_config_is_valid():
    config = load_config(Path(__file__).parents[1] / "configs" / "default.yaml")
    assert config.name == "default"
    assert config.data.synthetic is not None
    assert config.data.synthetic.customers == 20_000


def test_a_one_feature_set_with_a_map_is_refused_naming_set_feature_and_fix():
    raw = {
        **MINIMAL,
        "features": {"sets": {"spend": ["monetary_total"]}},
        "experiments": {"feature_sets": ["spend", "rfm"]},
    }
    with pytest.raises(
        ConfigError, match=r"'spend' has one feature \(monetary_total\).*maps: \[\]"
    ):
        config_from_dict(raw)
    assert (
        config_from_dict({**raw, "clustering": {"maps": []}}).experiments.feature_sets[0] == "spend"
    )


def _config_file(tmp_path, text: str | bytes) -> Path:
    path = tmp_path / "config.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_a_key_written_twice_names_the_key_and_both_lines(tmp_path):
    text = "name: a\nseed: 1\ndata:\n  transactions: t.parquet\nseed: 2\n"
    with pytest.raises(ConfigError, match=r"key 'seed' is written twice, on lines 2 and 5"):
        load_config(_config_file(tmp_path, text))


def test_a_config_that_is_not_utf8_is_a_clear_error(tmp_path):
    text = "name: caf\xe9\ndata:\n  transactions: t.parquet\n".encode("latin-1")
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(byte 0xe9 at position 9\)"):
        load_config(_config_file(tmp_path, text))


def test_a_folder_is_not_a_config(tmp_path):
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"experiments": {"n_jobs": 0}}, "0 jobs would run nothing"),
        ({"as_of": "9999-12-31"}, "as_of 9999-12-31 is outside 1900-01-01 to 2999-12-31"),
        (
            {"experiments": {"params": {"kmeans": {"n_init": "many"}}}},
            "'n_init' parameter of KMeans",
        ),
        ({"experiments": {"params": {"fuzzy_cmeans": {"m": 0.5}}}}, "'m' parameter of FuzzyCMeans"),
        ({"experiments": {"params": {"ward": {"two_step_above": -3}}}}, "two_step_above must be"),
        ({"name": "../elsewhere"}, "one folder name"),
    ],
)
def test_values_that_would_fail_late_are_refused_when_the_config_is_read(section, message):
    raw = {"name": "t", "data": {"transactions": "t.parquet"}, **section}
    with pytest.raises(ConfigError, match=re.escape(message)):
        config_from_dict(raw)


def test_an_as_of_beyond_the_calendar_on_the_command_line_is_a_user_error(small_config, capsys):
    from seglab.cli import main

    assert main(["features", "--config", str(small_config), "--as-of", "9999-12-31",
                 "--out", str(small_config.parent / "f.parquet")]) == 2  # fmt: skip
    assert "as_of 9999-12-31 is outside" in capsys.readouterr().err
