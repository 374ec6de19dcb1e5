"""Progress bars for the steps that can take more than a few seconds.

Shown on a terminal; silent with ``--quiet`` (``enabled=False``) and when the output is not a
terminal (a log file, a CI job). One place imports tqdm, so every bar behaves the same.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

from tqdm import TqdmWarning

# In a notebook without ipywidgets, tqdm.auto falls back to text bars with a warning on stderr
# that would show in every report (and its path in the report's HTML); silence that warning.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", TqdmWarning)
    from tqdm.auto import tqdm

__all__ = ["progress_bar"]


def progress_bar(
    iterable: Iterable,
    *,
    desc: str,
    unit: str = "step",
    total: int | None = None,
    enabled: bool = True,
):
    """`iterable` with a progress bar named `desc`, or without one when disabled or not a TTY.

    >>> list(progress_bar(range(3), desc="demo", enabled=False))
    [0, 1, 2]
    """
    return tqdm(iterable, desc=desc, unit=unit, total=total, disable=None if enabled else True)
