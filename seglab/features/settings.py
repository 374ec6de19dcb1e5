"""Settings of the feature stage: the look-back window, the trend periods, the analyst's sets."""

from __future__ import annotations

from typing import Annotated

from pydantic import Discriminator, Field, Tag, field_validator

from seglab.features.catalogue import FEATURES
from seglab.settings import Section, check_registered

__all__ = ["FeaturesConfig", "MixedFeatureSet"]


class MixedFeatureSet(Section):
    """A feature set of numbers and categories, for the mixed-type algorithms.

    ``numeric`` names computed features (scaled like any set); ``categorical`` names columns of
    the customer attribute table (``data.customers``), clustered as categories, never scaled.
    """

    numeric: tuple[str, ...] = Field(min_length=1)
    categorical: tuple[str, ...] = Field(min_length=1)

    @field_validator("numeric")
    @classmethod
    def _known_features(cls, members: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_registered(FEATURES, member) for member in members)

    @field_validator("categorical")
    @classmethod
    def _attribute_columns(cls, members: tuple[str, ...]) -> tuple[str, ...]:
        computed = [member for member in members if member in FEATURES]
        if computed:
            raise ValueError(
                f"{', '.join(computed)}: a computed feature is numeric; list it under numeric "
                "(categorical names columns of the customer attribute table, data.customers)"
            )
        repeated = sorted({member for member in members if members.count(member) > 1})
        if repeated:
            raise ValueError(f"{', '.join(repeated)} is listed twice; list each column once")
        return members


def _form(members: object) -> str:
    """Which form a feature set is written in: a mapping (mixed) or a list."""
    return "dict" if isinstance(members, dict | MixedFeatureSet) else "list"


#: A feature set as the config writes it: a list of features, or numbers and categories.
FeatureSet = Annotated[
    Annotated[tuple[str, ...], Tag("list")] | Annotated[MixedFeatureSet, Tag("dict")],
    Discriminator(_form),
]


class FeaturesConfig(Section):
    """How customer features are computed, and the analyst's own named feature sets."""

    window_months: int | None = Field(None, ge=1)
    """Only transactions in the last `window_months` months up to as_of count; None: all."""
    growth_months: int = Field(6, ge=1)
    """Length of the two periods compared by ``revenue_growth``."""
    recent_days: int = Field(91, ge=1)
    """Length of the recent period of ``revenue_last_quarter`` and ``orders_last_quarter``."""
    sets: dict[str, FeatureSet] = Field(default_factory=dict)
    """The analyst's own named feature sets: a list of features, e.g. ``{loyalty:
    [frequency_days, tenure_days]}``, or numbers and categories, e.g. ``{firmographics:
    {numeric: [monetary_total, frequency], categorical: [industry, region]}}`` (categorical:
    columns of the customer attribute table; only kprototypes and gower_hierarchical take them)."""

    @field_validator("sets")
    @classmethod
    def _known_features(cls, sets: dict[str, FeatureSet]) -> dict[str, FeatureSet]:
        for name, members in sets.items():
            if isinstance(members, MixedFeatureSet):
                continue
            if not members:
                raise ValueError(f"feature set '{name}' is empty; name at least one feature")
            for member in members:
                check_registered(FEATURES, member)
        return sets
