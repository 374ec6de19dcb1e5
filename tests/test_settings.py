"""seglab.settings: unknown keys anywhere in a config name the keys allowed there."""

import pytest

from seglab.errors import ConfigError
from seglab.heuristics.schemes import HeuristicsConfig
from seglab.run.config import Config
from seglab.settings import known_keys


def test_known_keys_walk_fields_dict_values_and_list_items():
    assert known_keys(["add", "my_scheme", "segments", 0], HeuristicsConfig) == [
        "name",
        "when",
        "description",
        "action",
    ]
    assert "transactions" in known_keys(["data"], Config)
    assert known_keys(["no_such_section"], Config) == []


def test_an_unknown_key_deep_in_a_scheme_lists_the_segment_keys(tmp_path):
    from seglab.run.config import config_from_dict

    segment = {"name": "x", "when": "frequency > 1", "colour": "red"}
    raw = {
        "name": "t",
        "data": {"transactions": "t.parquet"},
        "heuristics": {"add": {"mine": {"segments": [segment]}}},
    }
    with pytest.raises(ConfigError) as error:
        config_from_dict(raw, base_dir=tmp_path)
    message = str(error.value)
    assert "unknown key 'heuristics.add.mine.segments.0.colour'" in message
    assert "Known keys here: name, when, description, action." in message
