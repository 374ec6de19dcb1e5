"""How customers moved between segments since the previous period.

Every scheme is evaluated again at the previous date on the same data; each pair of labellings
gives a transition matrix (previous segments in rows, current in columns, new and lost
customers as their own row and column). The clusters are compared by segment id: the previous
period's customers are scored by a saved segmentation (:mod:`seglab.interpret.identity` keeps
ids stable), so "S2" means the same group in both periods.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "FREQUENCY_TIER_ORDER",
    "Migration",
    "tier_moves",
    "transition_shares",
]

#: The purchase-frequency tiers from best to worst, for up/down moves (scheme 1).
FREQUENCY_TIER_ORDER = ("VIP", "Segment 1", "Segment 2", "Segment 3", "Inactive")


@dataclass(frozen=True)
class Migration:
    """Transition matrices between two periods.

    Attributes
    ----------
    previous_as_of : str
        The earlier report date.
    matrices : dict
        Scheme (and ``cluster``) -> counts: previous segments + "(new)" in rows, current
        segments + "(gone)" in columns. Without a look-back window (``features.window_months``)
        every customer stays in scope, so "(gone)" stays empty.
    tier_moves : DataFrame
        Purchase-frequency tier moves: ``move`` (up, down, same, new, lost, other) and
        ``customers``.
    """

    previous_as_of: str
    matrices: dict[str, pd.DataFrame]
    tier_moves: pd.DataFrame
    note: str = ""

    def matrix(self, scheme: str) -> pd.DataFrame | None:
        """The counts of one scheme (or ``cluster``), None when it was not evaluated."""
        return self.matrices.get(scheme)


def transition_shares(counts: pd.DataFrame) -> pd.DataFrame:
    """Row shares of a transition matrix: where each previous segment's customers went."""
    return counts.div(counts.sum(axis=1).replace(0, 1), axis=0)


def tier_moves(
    previous: pd.Series, current: pd.Series, order: tuple[str, ...] = FREQUENCY_TIER_ORDER
) -> pd.DataFrame:
    """Count customers moving up, down or staying in the purchase-frequency tiers.

    Tiers outside `order` (blacklist, unclassified) count as ``other`` when they change;
    customers only in one period are ``new`` or ``lost``.

    Examples
    --------
    >>> before = pd.Series({"a": "VIP", "b": "Segment 2", "c": "Segment 1"})
    >>> after = pd.Series({"a": "Segment 1", "b": "Segment 1", "d": "VIP"})
    >>> tier_moves(before, after).set_index("move")["customers"].to_dict()
    {'up': 1, 'down': 1, 'same': 0, 'new': 1, 'lost': 1, 'other': 0}
    """
    rank = {tier: i for i, tier in enumerate(order)}
    customers = previous.index.union(current.index)
    before = previous.astype(object).reindex(customers)
    after = current.astype(object).reindex(customers)
    new, lost = before.isna(), after.isna() & before.notna()
    same = ~new & ~lost & (before == after)
    old_rank, new_rank = before.map(rank), after.map(rank)
    ranked = old_rank.notna() & new_rank.notna() & ~same
    moves = {
        "up": ranked & (new_rank < old_rank),
        "down": ranked & (new_rank > old_rank),
        "same": same,
        "new": new,
        "lost": lost,
    }
    moves["other"] = ~np.logical_or.reduce(list(moves.values()))
    return pd.DataFrame({"move": list(moves), "customers": [int(m.sum()) for m in moves.values()]})
