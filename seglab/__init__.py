"""seglab: a workbench for customer segmentation.

The public surface is small: load a config, run the segmentation (every stage, typed results),
open a run for a notebook, render a report, load a saved segmentation and score customers.
Each stage of the data flow is a subpackage: ``data``, ``features``, ``heuristics``,
``cluster``, ``evaluate``, ``interpret``, ``report``, and ``run`` (config, cache, grid, the
orchestrator) drives them. The names below are imported on
first use, so that importing one stage (a worker process, the command line) stays cheap.
"""

from importlib import import_module

from seglab.errors import (
    ConfigError,
    DataError,
    ModelError,
    SchemaError,
    SeglabError,
    SeglabWarning,
)

#: Public name -> the module that defines it.
_LAZY = {
    "Config": "seglab.run.config",
    "load_config": "seglab.run.config",
    "Run": "seglab.run.pipeline",
    "compute_run": "seglab.run.pipeline",
    "open_run": "seglab.run.pipeline",
    "run_experiments": "seglab.run.pipeline",
    "run_segmentation": "seglab.run.pipeline",
    "render_report": "seglab.run.reports",
    "render_series": "seglab.run.reports",
    "load_segmentation": "seglab.interpret.saved",
    "score": "seglab.run.scoring",
}

__all__ = [
    "Config",
    "ConfigError",
    "DataError",
    "ModelError",
    "Run",
    "SchemaError",
    "SeglabError",
    "SeglabWarning",
    "__version__",
    "compute_run",
    "load_config",
    "load_segmentation",
    "open_run",
    "render_report",
    "render_series",
    "run_experiments",
    "run_segmentation",
    "score",
]


def __getattr__(name: str):
    if name == "__version__":  # importlib.metadata takes ~0.1 s to import: only when asked
        from importlib.metadata import version

        return version("seglab")
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'seglab' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(__all__)
