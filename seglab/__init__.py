"""seglab: a workbench for customer segmentation.

The public surface is small: load a config, run the segmentation (every stage, typed results),
open a run for a notebook, render a report. Each stage of the data flow is a subpackage:
``data``, ``features``, ``heuristics``, ``cluster``, ``evaluate``, ``interpret``, ``report``,
and ``run`` (config, cache, grid, the orchestrator) drives them.
"""

from importlib.metadata import version

from seglab.errors import ConfigError, DataError, SchemaError, SeglabError, SeglabWarning
from seglab.run.config import Config, load_config
from seglab.run.pipeline import Run, compute_run, open_run, run_experiments, run_segmentation
from seglab.run.reports import render_report, render_series

__all__ = [
    "Config",
    "ConfigError",
    "DataError",
    "Run",
    "SchemaError",
    "SeglabError",
    "SeglabWarning",
    "__version__",
    "compute_run",
    "load_config",
    "open_run",
    "render_report",
    "render_series",
    "run_experiments",
    "run_segmentation",
]

__version__ = version("seglab")
