"""How customers moved between segments since the previous period.

Every scheme is evaluated again at the previous date on the same data; each pair of labellings
gives a transition matrix (previous segments in rows, current in columns, new and lost
customers as their own row and column). The clusters are compared by segment id: the previous
period's customers are scored by a saved segmentation (:mod:`seglab.interpret.identity` keeps
ids stable), so "S2" means the same group in both periods.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "FREQUENCY_TIER_ORDER",
    "MOVER_COLUMNS",
    "Migration",
    "movers",
    "tier_moves",
    "transition_shares",
]

MOVER_COLUMNS = ["customer_id", "change", "from", "to", "direction", "action"]
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
    note : str
        Why there is no migration, when there is none.
    movers : DataFrame
        Customers of both periods whose segment or purchase-frequency tier changed
        (:func:`movers`): the list a CRM automation acts on.
    """

    previous_as_of: str
    matrices: dict[str, pd.DataFrame]
    tier_moves: pd.DataFrame
    note: str = ""
    movers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=MOVER_COLUMNS))

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


def movers(
    before: pd.Series,
    after: pd.Series,
    *,
    change: str,
    order: list[str],
    actions: Mapping[str, str],
) -> pd.DataFrame:
    """The customers of both periods whose label changed, with the direction and the new action.

    Parameters
    ----------
    before, after : Series
        Labels by ``customer_id`` in the previous and the current period.
    change : str
        What changed (``segment``, ``frequency_tier``), for the ``change`` column.
    order : list of str
        Labels from best to worst: moving to an earlier one is ``up``, to a later one ``down``;
        a label outside the order gives ``other``.
    actions : mapping
        The action of each current label.

    Examples
    --------
    >>> before = pd.Series({"a": "VIP", "b": "Segment 2", "c": "Segment 1"})
    >>> after = pd.Series({"a": "Segment 1", "b": "Segment 1", "c": "Segment 1"})
    >>> movers(before, after, change="frequency_tier", order=list(FREQUENCY_TIER_ORDER),
    ...        actions={"Segment 1": "keep discount"})[["customer_id", "direction"]].values.tolist()
    [['a', 'down'], ['b', 'up']]
    """
    both = before.index.intersection(after.index)
    old, new = before.reindex(both).astype(str), after.reindex(both).astype(str)
    moved = old != new
    rank = {label: i for i, label in enumerate(order)}
    old_rank, new_rank = old[moved].map(rank), new[moved].map(rank)
    direction = np.where(
        old_rank.isna() | new_rank.isna(), "other", np.where(new_rank < old_rank, "up", "down")
    )
    table = pd.DataFrame(
        {
            "customer_id": old[moved].index,
            "change": change,
            "from": old[moved].to_numpy(),
            "to": new[moved].to_numpy(),
            "direction": direction,
            "action": new[moved].map(lambda label: actions.get(label, "")).to_numpy(),
        },
        columns=MOVER_COLUMNS,
    )
    return table.sort_values("customer_id", kind="stable").reset_index(drop=True)
