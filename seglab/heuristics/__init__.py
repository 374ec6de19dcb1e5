"""Heuristic segment schemes: the rule engine, derived columns, and the schemes as data tables.

A scheme is data (:class:`SchemeSpec`): named parameters (thresholds), the derived columns it
needs first (:mod:`seglab.heuristics.derived`), an ordered list of segments, each a name, a
condition (:mod:`seglab.heuristics.rules`), a description and an optional action, and a fallback
label. The first segment whose condition holds wins; customers no rule places get the fallback,
so every customer in scope gets exactly one label per scheme. Tag schemes (``kind: tags``) are
the exception: every tag whose condition holds applies, any number per customer.

The default schemes (every scheme of SEGMENTS.md) ship in ``schemes.yaml`` beside this file. A
run's :class:`HeuristicsConfig` picks them (``schemes``), drops some (``drop``), overrides
thresholds (``params``), adds schemes written in YAML only (``add``) and names where the flags
come from (``flags``). :func:`classify` runs them all and returns plain tables.

Input contract
--------------
One customer table: a DataFrame indexed by ``customer_id``, one row per customer in scope, with
the feature columns of :mod:`seglab.features` (float64, as of the report date) and any attribute
columns. Revenue is ``monetary_total``; it must be present. Conditions name columns directly.

Policies
--------
- Order: first match wins, in the order the segments are written; summaries list segments in
  that order, then the fallback, empty segments included with 0 customers.
- Missing values: a condition that compares a missing value does not match (see
  :mod:`seglab.heuristics.rules`), so the customer falls through to later segments or the fallback.
- One namespace: a scheme's parameter names, its derived columns and the table's columns must
  not overlap; an overlap is a ConfigError naming the name.
- Absent columns: a default scheme that needs a column the table does not have (``age`` on data
  without demographics) is skipped and reported in ``skipped`` with the reason; the rest of the
  run goes on. A scheme the analyst asked for explicitly (listed under ``schemes:`` or added
  under ``add:``) raises :class:`~seglab.rules.UnknownColumnError` instead, naming the column,
  suggesting the nearest and listing the known ones.
- Flags: ``blacklist``, ``competitor_customer`` and ``occasional`` are always columns when the
  rules run: from the source configured under ``flags``, else from an attribute column of that
  name, else False for everyone (reported in ``flags``). Ids in a flag file that are not
  customers in scope are counted and reported, not an error.
- Warnings are data: a segment under 2 % or over 50 % of customers, more than 12 non-empty
  segments, and for ABC the share of customers making 80 % of revenue outside 15-25 %.
- Deterministic: no randomness; ties are broken by ``customer_id``.
- Any shop: no default threshold is a currency amount; money thresholds are quantiles of the
  customers' own values unless an amount is given (:mod:`seglab.heuristics.thresholds`), and the
  amount used is reported as a note. Day thresholds (frequency tiers, lifecycle) stay fixed.

Scheme 1 note: orders below the "logistic minimum" order value are removed upstream by the
loader's cleaning policy, so they count neither towards turnover nor frequency here.
"""

from seglab.heuristics.classify import SchemeLabels, classify, transition_counts
from seglab.heuristics.schemes import HeuristicsConfig, SchemeSpec, default_schemes, resolve_schemes

__all__ = [
    "HeuristicsConfig",
    "SchemeLabels",
    "SchemeSpec",
    "classify",
    "default_schemes",
    "resolve_schemes",
    "transition_counts",
]
