"""seglab: a workbench for customer segmentation.

The public surface is small: load a config, run a segmentation, render a report. Each stage of
the data flow has its own module (``io``, ``schema``, ``features``, ``scaling``, ``cluster``,
``profile``, ``plots``, ``report``).
"""

from importlib.metadata import version

from seglab.errors import ConfigError, DataError, SchemaError, SeglabError, SeglabWarning
from seglab.run.config import Config, load_config
from seglab.run.grid import ExperimentResult, run_experiments
from seglab.run.pipeline import SegmentationResult, run_segmentation

__all__ = [
    "Config",
    "ConfigError",
    "DataError",
    "ExperimentResult",
    "SchemaError",
    "SeglabError",
    "SeglabWarning",
    "SegmentationResult",
    "__version__",
    "load_config",
    "run_experiments",
    "run_segmentation",
]

__version__ = version("seglab")
