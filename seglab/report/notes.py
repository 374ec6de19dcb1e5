"""The report's "Notes on this run": what the reader should know, in words, not warning boxes.

:func:`capture_warnings` keeps every warning a notebook cell raises from reaching the page; the
notes section then says in words what each kind means for the reader, beside what the run
itself recorded (feature sets the data could not give, schemes skipped, scheme warnings).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence

import pandas as pd

from seglab.features.lifetime import CustomerValue

__all__ = ["capture_warnings", "notes_on_run"]

#: What a kind of library warning means for the reader.
MEANINGS = {
    "ConvergenceWarning": "an algorithm stopped at its iteration limit before fully settling; "
    "its result is usable but may differ slightly from a longer run",
    "FutureWarning": "a library announced a change in a later version; it does not affect "
    "these results",
    "DeprecationWarning": "a library announced a change in a later version; it does not affect "
    "these results",
    "PendingDeprecationWarning": "a library announced a change in a later version; it does not "
    "affect these results",
    "RuntimeWarning": "a calculation met an empty group or a division by zero; the figure or "
    "table concerned shows a gap there",
}


def capture_warnings() -> list[warnings.WarningMessage]:
    """Record every warning from now on instead of printing it; return the growing record."""
    record: list[warnings.WarningMessage] = []

    def keep(message, category, filename, lineno, file=None, line=None):
        record.append(warnings.WarningMessage(message, category, filename, lineno, file, line))

    warnings.simplefilter("default")
    warnings.showwarning = keep
    return record


def notes_on_run(
    captured: Sequence[warnings.WarningMessage],
    *,
    grid_notes: Sequence[str] = (),
    skipped: pd.DataFrame | None = None,
    scheme_warnings: pd.DataFrame | None = None,
    value: CustomerValue | None = None,
) -> str:
    """Markdown bullet points: the run's own notes, then the captured warnings explained.

    >>> w = warnings.WarningMessage(UserWarning("x is odd"), UserWarning, "f.py", 1)
    >>> print(notes_on_run([w, w]))
    - A library said (2 times): `x is odd`.
    """
    lines = [f"- {note}" for note in grid_notes]
    if value is not None and not value.fitted:
        lines.append(f"- {value.reason[0].upper()}{value.reason[1:]}.")
    if skipped is not None and not skipped.empty:
        for row in skipped.itertuples():
            lines.append(f"- The scheme *{row.scheme}* was not computed: {row.reason}.")
    if scheme_warnings is not None and not scheme_warnings.empty:
        kinds = scheme_warnings["kind"].value_counts()
        listed = ", ".join(f"{count} {kind}" for kind, count in kinds.items())
        lines.append(
            f"- The heuristic schemes raised {len(scheme_warnings)} warnings ({listed}): "
            "segments too small or too large to act on. They are listed in the appendix and in "
            "tables/scheme_warnings.csv."
        )
    counts = Counter((w.category.__name__, str(w.message)) for w in captured)
    for (category, message), count in sorted(counts.items()):
        times = f" ({count} times)" if count > 1 else ""
        quoted = "`" + message[:200].replace("`", "'").replace("\n", " ") + "`"
        meaning = MEANINGS.get(category)
        if meaning:
            lines.append(f"- {meaning[0].upper()}{meaning[1:]}{times}: {quoted}.")
        else:
            lines.append(f"- A library said{times}: {quoted}.")
    return "\n".join(lines) if lines else "Nothing to report: no warnings, nothing skipped."
