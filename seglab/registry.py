"""One shape for every named choice in seglab: scalers, algorithms, features, presets.

>>> colours = Registry("colour")
>>> _ = colours.register("red", "#f00")
>>> colours.get("red")
'#f00'
>>> colours.get("rde")
Traceback (most recent call last):
...
seglab.errors.ConfigError: unknown colour 'rde'; did you mean 'red'? Known: red.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Generic, TypeVar

from seglab.errors import ConfigError

__all__ = ["Registry", "suggest"]

T = TypeVar("T")


def suggest(name: str, known: list[str]) -> str:
    """Return "; did you mean 'x'?" for the closest of `known` to `name`, or "" when none is close.

    A known name that starts with `name` wins (``recency`` -> ``recency_days``); otherwise the
    most similar by :func:`difflib.get_close_matches`.
    """
    close = [k for k in known if k.startswith(name)] if name else []
    close = close or difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


class Registry(Generic[T]):
    """A mapping from names to objects whose lookup errors name the key and the known ones.

    Parameters
    ----------
    kind : str
        What the registry holds, used in messages ("scaler", "algorithm").
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        """Add `item` under `name`; a name can be registered once."""
        if name in self._items:
            raise ValueError(f"{self.kind} '{name}' is already registered")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        """Return the item registered as `name`, or raise ConfigError listing the known names."""
        try:
            return self._items[name]
        except KeyError:
            known = sorted(self._items)
            hint = suggest(str(name), known)
            raise ConfigError(
                f"unknown {self.kind} '{name}'{hint or '.'} Known: {', '.join(known)}."
            ) from None

    def names(self) -> list[str]:
        """The registered names, in registration order."""
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)
