"""Settings of the feature stage: the look-back window, the trend periods, the analyst's sets."""

from __future__ import annotations

from pydantic import Field, field_validator

from seglab.features.catalogue import FEATURES
from seglab.settings import Section, check_registered

__all__ = ["FeaturesConfig"]


class FeaturesConfig(Section):
    """How customer features are computed, and the analyst's own named feature sets."""

    window_months: int | None = Field(None, ge=1)
    """Only transactions in the last `window_months` months up to as_of count; None: all."""
    growth_months: int = Field(6, ge=1)
    """Length of the two periods compared by ``revenue_growth``."""
    recent_days: int = Field(91, ge=1)
    """Length of the recent period of ``revenue_last_quarter`` and ``orders_last_quarter``."""
    sets: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    """The analyst's own named feature sets, e.g. ``{loyalty: [frequency_days, tenure_days]}``."""

    @field_validator("sets")
    @classmethod
    def _known_features(cls, sets: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for name, members in sets.items():
            if not members:
                raise ValueError(f"feature set '{name}' is empty; name at least one feature")
            for member in members:
                check_registered(FEATURES, member)
        return sets
