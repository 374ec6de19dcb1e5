"""Score the customers of a config's transactions with a saved segmentation (``seglab score``).

The transactions are read with the config's files and column mapping but cleaned with the
model's cleaning policy, and the features are computed with the model's settings (window,
trend periods), so a customer is described exactly as the training customers were.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from seglab.data import reading
from seglab.data.settings import CleaningConfig
from seglab.errors import ConfigError, DataError, ModelError
from seglab.features import Features, compute_features
from seglab.features.settings import FeaturesConfig
from seglab.interpret.model import Scores
from seglab.interpret.saved import load_segmentation
from seglab.run.config import Config, as_config, resolve_as_of

__all__ = ["score"]


def score(
    model: str | Path, config: Config | str | Path, *, as_of: str | dt.date | None = None
) -> Scores:
    """Assign the customers of `config`'s transactions as of `as_of` to the saved segments.

    Parameters
    ----------
    model : path-like
        A ``segmentation.skops`` written beside a report.
    config : Config or path-like
        Names the transactions (and how to read them).
    as_of : date or str, optional
        The date the features describe; the config's ``as_of`` by default.
    """
    segmentation = load_segmentation(model)
    config = as_config(config)
    day = resolve_as_of(config, as_of)
    settings = segmentation.model.settings
    data = config.data.model_copy(update={"cleaning": CleaningConfig(**settings["cleaning"])})
    prepared = reading.load(data)
    options = FeaturesConfig(**settings["features"])
    try:
        customers = compute_features(
            prepared.transactions, day, segmentation.model.features, options=options
        )
    except (ConfigError, DataError) as exc:
        raise ModelError(
            f"the features of the segmentation in '{model}' cannot be computed from "
            f"'{config.data.transactions}': {exc}"
        ) from None
    if segmentation.model.categorical:
        if prepared.customers is None:
            raise ModelError(
                f"the segmentation in '{model}' clusters the attribute column(s) "
                f"{', '.join(segmentation.model.categorical)}: set data.customers in the config "
                "to the customer attribute table"
            )
        customers = Features.join(day, customers, prepared.customers).customers
    return segmentation.score(customers)
