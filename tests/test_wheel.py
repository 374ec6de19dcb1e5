"""An installed seglab renders reports outside the checkout: the notebooks ship as package data."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
#: Top-level folders of the checkout that are not source (data, outputs, environments).
NOT_SOURCE = {".venv", ".git", "data", "reports", "build", "benchmarks", ".pytest_cache"}


def _not_source(folder: str, names: list[str]) -> list[str]:
    top = Path(folder) == ROOT
    return [n for n in names if (top and n in NOT_SOURCE) or n == "__pycache__" or "egg-info" in n]


pytestmark = pytest.mark.slow


def test_a_wheel_installed_elsewhere_renders_a_report(tmp_path):
    source = tmp_path / "source"  # building writes into the source tree: build from a copy
    shutil.copytree(ROOT, source, ignore=_not_source)
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--quiet"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(wheels), str(source)],
        check=True,
        capture_output=True,
    )
    site = tmp_path / "site"
    (wheel,) = wheels.glob("seglab-*.whl")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
         str(wheel)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    work = tmp_path / "elsewhere"
    work.mkdir()
    config = {
        "name": "installed",
        "as_of": "2026-10-31",
        "data": {
            "transactions": "data/transactions.parquet",
            "customers": "data/customers.parquet",
            "synthetic": {"customers": 300, "seed": 3},
        },
        "experiments": {
            "feature_sets": ["value"],
            "scalings": ["log_standard"],
            "algorithms": ["kmeans"],
            "k_max": 4,
            "n_jobs": 1,
            "stability_top": 0,
        },
    }
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    env = {**os.environ, "PYTHONPATH": str(site), "XDG_CACHE_HOME": str(tmp_path / "user-cache")}
    where = subprocess.run(
        [sys.executable, "-c", "import json, seglab; from importlib.resources import files; "
         "print(json.dumps([seglab.__file__, str(files('seglab.notebooks'))]))"],
        cwd=work, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    package, notebooks = json.loads(where.stdout)
    assert package.startswith(str(site)) and notebooks.startswith(str(site))
    done = subprocess.run(
        [sys.executable, "-m", "seglab.cli", "report", "--config", "config.yaml", "--out", "out"],
        cwd=work, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = work / "out" / "installed" / "2026-10-31"
    assert "Customer segmentation report" in (report / "report.html").read_text()
    # No cache_dir and no checkout around the config: the user's cache directory is used.
    assert (tmp_path / "user-cache" / "seglab" / "runs").is_dir()
