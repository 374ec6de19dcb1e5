"""environment.yml (conda) and pyproject.toml (pip) must declare the same dependencies."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("dev", "spark")
# Not a Python package: pip users install Java from the system.
CONDA_ONLY = {"openjdk>=17"}


def _normalise(requirement: str) -> str:
    name, spec = re.match(r"^\s*([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*(.*)$", requirement).groups()
    return re.sub(r"[-_.]+", "-", name).lower() + spec.replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    pip_side = {
        _normalise(r) for r in project["dependencies"] + [r for e in EXTRAS for r in extras[e]]
    }
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_side = {
        _normalise(d)
        for d in env["dependencies"]
        if isinstance(d, str) and not d.startswith(("python", "pip")) and d not in CONDA_ONLY
    }
    assert conda_side == pip_side, (
        f"only in environment.yml: {conda_side - pip_side}; "
        f"only in pyproject.toml: {pip_side - conda_side}"
    )
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip_section == [f"-e .[{','.join(EXTRAS)}]"]
