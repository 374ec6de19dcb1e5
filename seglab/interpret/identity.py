"""Segment identity: stable ids ``S1``..``Sk`` that survive refits, new periods and another k.

A first segmentation numbers its segments by size (``S1`` the largest). A later one (the next
period of a series, or any run given ``clustering.reference``) is matched to its reference:
every current segment's centre is placed in the reference's scaled space (the reference's
scaler applied to the current customers), and the one-to-one assignment with the smallest
total distance (Hungarian) pairs current and reference segments. A pair counts only when the
distance is at most ``limit`` times the distance from the reference centre to its nearest
neighbouring reference centre: a segment that moved more than that is new, and a reference
segment left without a partner has dissolved. Matched segments keep the reference's id.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

__all__ = ["IDENTITY_COLUMNS", "SEGMENT_ID", "first_ids", "match_segments", "segment_number"]

#: A segment id: ``S`` and a positive number.
SEGMENT_ID = re.compile(r"^S[1-9][0-9]*$")
#: Columns of the matching table (``previous_name`` is added by the segmentation).
IDENTITY_COLUMNS = ["segment_id", "status", "distance", "allowed"]
#: Default share of the distance to the nearest other reference centre within which a segment
#: is the same segment (``clustering.match_limit``).
MATCH_LIMIT = 0.5


def segment_number(segment_id: str) -> int:
    """The number of a segment id, for ordering (``S10`` after ``S9``).

    >>> sorted(["S10", "S9", "S1"], key=segment_number)
    ['S1', 'S9', 'S10']
    """
    return int(segment_id[1:])


def first_ids(k: int) -> list[str]:
    """Ids of a segmentation without a reference: ``S1`` for segment 0 (the largest), and on.

    >>> first_ids(3)
    ['S1', 'S2', 'S3']
    """
    return [f"S{j + 1}" for j in range(k)]


def match_segments(
    current_centres: np.ndarray,
    reference_centres: np.ndarray,
    reference_ids: list[str],
    *,
    limit: float = MATCH_LIMIT,
) -> tuple[list[str], pd.DataFrame]:
    """Ids of the current segments, and the matching table, from the reference's centres.

    Parameters
    ----------
    current_centres : array of shape (k, d)
        Centres of the current segments (0..k-1) in the reference's scaled space.
    reference_centres : array of shape (k_ref, d)
        The reference segments' centres in that space.
    reference_ids : list of str
        The reference segments' ids, in the order of `reference_centres`.
    limit : float
        A pair counts when its distance is at most `limit` times the distance from the
        reference centre to its nearest other reference centre.

    Returns
    -------
    ids : list of str
        The id of every current segment: the reference's when matched, else a new number.
    table : DataFrame
        One row per current segment (``kept`` or ``new``) and per dissolved reference segment:
        ``segment_id``, ``status``, ``distance`` (to the partner, NaN without one) and
        ``allowed`` (the distance limit of the reference segment).

    Examples
    --------
    >>> ids, table = match_segments(
    ...     np.array([[10.1], [0.2], [50.0]]), np.array([[0.0], [10.0], [20.0]]), ["S1", "S2", "S3"]
    ... )
    >>> ids
    ['S2', 'S1', 'S4']
    >>> table["status"].tolist()
    ['kept', 'kept', 'new', 'dissolved']
    """
    reference_centres = np.asarray(reference_centres, dtype=np.float64)
    distances = cdist(np.asarray(current_centres, dtype=np.float64), reference_centres)
    allowed = _allowed_distances(reference_centres, limit)
    rows, columns = linear_sum_assignment(distances)
    ids: list[str | None] = [None] * len(distances)
    partner: dict[int, int] = {}
    for j, i in zip(rows, columns, strict=True):
        if distances[j, i] <= allowed[i]:
            ids[j], partner[j] = reference_ids[i], i
    next_number = max(map(segment_number, reference_ids), default=0) + 1
    records = []
    for j in range(len(ids)):
        if ids[j] is None:
            ids[j], next_number = f"S{next_number}", next_number + 1
        i = partner.get(j)
        records.append(
            {
                "segment_id": ids[j],
                "status": "new" if i is None else "kept",
                "distance": np.nan if i is None else float(distances[j, i]),
                "allowed": np.nan if i is None else float(allowed[i]),
            }
        )
    for i, reference_id in enumerate(reference_ids):
        if i not in partner.values():
            records.append(
                {
                    "segment_id": reference_id,
                    "status": "dissolved",
                    "distance": np.nan,
                    "allowed": float(allowed[i]),
                }
            )
    return [str(i) for i in ids], pd.DataFrame(records, columns=IDENTITY_COLUMNS)


def _allowed_distances(centres: np.ndarray, limit: float) -> np.ndarray:
    """`limit` times each centre's distance to its nearest other centre (inf when alone)."""
    if len(centres) < 2:
        return np.full(len(centres), np.inf)
    between = cdist(centres, centres)
    np.fill_diagonal(between, np.inf)
    return limit * between.min(axis=1)
