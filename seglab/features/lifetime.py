"""The lifetime-value stage: what each customer is expected to bring over the next horizon.

:func:`fit_clv` fits the BG/NBD and Gamma-Gamma models of :mod:`seglab.features.clv` to the
customer table when the data can support them and values every customer; otherwise (few repeat
customers, a short history, a failed optimisation) every value is missing and its
:class:`ClvModel` says why in a sentence instead of holding a nonsense fit.
:func:`value_customers` runs it as a stage of a run: its :class:`CustomerValue` feeds the
value/potential matrix (potential = expected lifetime value), the report's future-value section,
the export and ``summary.json``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from seglab.errors import DataError, SchemaError, SeglabWarning
from seglab.features.clv import (
    BTYD_COLUMNS,
    MAX_ITER,
    BgNbdParams,
    GammaGammaParams,
    ModelFit,
    bgnbd_expected_purchases,
    bgnbd_probability_alive,
    check_btyd,
    check_settings,
    customer_lifetime_value,
    first_bad,
    fit_bgnbd,
    fit_gamma_gamma,
    gamma_gamma_expected_value,
)  # fmt: skip
from seglab.settings import Section

__all__ = [
    "MIN_HISTORY_DAYS", "MIN_REPEAT_CUSTOMERS", "MIN_REPEAT_SHARE", "VALUE_COLUMNS", "ClvConfig",
    "ClvModel", "CustomerValue", "fit_clv", "value_customers",
]  # fmt: skip

#: Customers with a repeat purchase of positive value needed: each is one observation of spend
#: and of the repeat rate; with fewer, the estimates are guesses.
MIN_REPEAT_CUSTOMERS = 50
#: Share of all customers who must have such a repeat purchase: below it nearly everyone is a
#: one-off buyer and the BG/NBD cannot tell "buys rarely" from "left after the first purchase".
MIN_REPEAT_SHARE = 0.05
#: The longest customer history (btyd_T) needed, a quarter of a year: with less, a gap between
#: purchases cannot be told from a departure.
MIN_HISTORY_DAYS = 90

#: The per-customer columns of the stage, in order.
VALUE_COLUMNS = ("expected_purchases", "p_alive", "expected_order_value", "clv")
#: The models' time unit (weeks, as in the published figures); the values do not depend on it.
TIME_UNIT_DAYS = 7.0


class ClvConfig(Section):
    """Customer lifetime value: whether to estimate it, over which horizon, at which rate."""

    enabled: bool = True
    """Fit the BG/NBD and Gamma-Gamma models and value every customer (about a second)."""
    horizon_days: int = Field(365, ge=1, le=3650)
    """Length of the future valued, in days."""
    annual_discount_rate: float = Field(0.10, ge=0.0, le=1.0)
    """Discount rate per year applied to future purchases (0.10 = 10 %)."""


@dataclass(frozen=True)
class CustomerValue:
    """Expected future value per customer and the fits behind it.

    Attributes
    ----------
    customers : DataFrame
        Indexed like the customer table: ``expected_purchases`` (in the horizon), ``p_alive``
        (probability the customer still buys), ``expected_order_value`` and ``clv``
        (discounted expected revenue in the horizon); all missing when not estimated.
    fits : dict
        ``{"bgnbd": {r, alpha, a, b, log_likelihood}, "gamma_gamma": {p, q, gamma}}`` (alpha per
        week); a model not fitted is None.
    horizon_days, annual_discount_rate : int, float
        The valued horizon and the discount rate.
    n_customers, n_repeat_customers : int
        Customers valued, and those with a repeat purchase of positive value.
    reason : str or None
        Why the value was not estimated, in words; None when it was.
    """

    customers: pd.DataFrame
    fits: dict[str, Any]
    horizon_days: int
    annual_discount_rate: float
    n_customers: int
    n_repeat_customers: int
    reason: str | None = None

    @property
    def fitted(self) -> bool:
        """Whether every customer has a lifetime value."""
        return self.reason is None

    def summary(self) -> dict[str, Any]:
        """The fits and settings as plain data, for ``summary.json``."""
        return {
            **self.fits,
            "horizon_days": self.horizon_days,
            "annual_discount_rate": self.annual_discount_rate,
            "time_unit_days": TIME_UNIT_DAYS,
            "n_customers": self.n_customers,
            "n_repeat_customers": self.n_repeat_customers,
            "reason": self.reason,
        }

    def table(self) -> pd.DataFrame:
        """The fitted parameters, one row each: model, parameter, value (alpha per week), the
        value as text: four significant digits below 1,000 (a drop-out shape a = 0.0031 is not
        0.00), one decimal above (a log-likelihood), never in scientific notation."""
        rows = [
            {"model": model, "parameter": name, "value": _readable_number(number)}
            for model, fitted in self.fits.items()
            if fitted
            for name, number in fitted.items()
        ]
        return pd.DataFrame(rows, columns=["model", "parameter", "value"])

    def join(self, customers: pd.DataFrame) -> pd.DataFrame:
        """`customers` with the value columns added (for the heuristic schemes)."""
        return customers.join(self.customers)


def _readable_number(number: float) -> str:
    """``0.0031``, ``443.6``, ``-12,260.3``: see :meth:`CustomerValue.table`."""
    if abs(number) >= 1000:
        return f"{number:,.1f}"
    return np.format_float_positional(number, precision=4, unique=False, fractional=False, trim="-")


def value_customers(customers: pd.DataFrame, settings: ClvConfig) -> CustomerValue:
    """Fit the lifetime-value models to the customer table and value every customer.

    Parameters
    ----------
    customers : DataFrame
        The customer table with the ``btyd_*`` columns (see :func:`fit_clv`).
    settings : ClvConfig
        Whether to estimate, the horizon and the discount rate.

    Returns
    -------
    CustomerValue
    """
    common = {
        "horizon_days": settings.horizon_days,
        "annual_discount_rate": settings.annual_discount_rate,
    }
    if not settings.enabled:
        table = pd.DataFrame(np.nan, index=customers.index, columns=list(VALUE_COLUMNS))
        return CustomerValue(
            table, {"bgnbd": None, "gamma_gamma": None}, **common,
            n_customers=len(customers), n_repeat_customers=0,
            reason="customer lifetime value is switched off in the config (clv.enabled: false)",
        )  # fmt: skip
    with warnings.catch_warnings():  # the reason is kept in the result and said in the report
        warnings.simplefilter("ignore", SeglabWarning)
        model = fit_clv(
            customers, horizon_days=settings.horizon_days,
            annual_discount_rate=settings.annual_discount_rate, time_unit_days=TIME_UNIT_DAYS,
        )  # fmt: skip
    fits = model.summary()
    reason = fits.pop("reason", None)
    return CustomerValue(
        model.customers[list(VALUE_COLUMNS)], fits, **common, n_customers=model.n_customers,
        n_repeat_customers=model.n_repeat_customers, reason=reason,
    )  # fmt: skip


@dataclass(frozen=True)
class ClvModel:
    """Customer lifetime value as of the features' date: the two fits and the customer table.

    Attributes
    ----------
    customers : DataFrame
        Indexed like the feature table: ``expected_purchases`` (in the horizon), ``p_alive``
        (now), ``expected_order_value`` and ``clv`` (see :func:`customer_lifetime_value`);
        NaN in the columns of a model that was not fitted.
    bgnbd, gamma_gamma : ModelFit or None
        The purchase and the spend model's fits; None when not tried.
    n_customers, n_repeat_customers : int
        Customers in the table (the BG/NBD's), and those with a repeat purchase of positive
        mean value (the Gamma-Gamma's).
    horizon_days, annual_discount_rate, time_unit_days : float
        As in :func:`fit_clv`.
    reason : str or None
        Why the value was not estimated, in words; None when both models were fitted.
    """

    customers: pd.DataFrame
    bgnbd: ModelFit[BgNbdParams] | None
    gamma_gamma: ModelFit[GammaGammaParams] | None
    n_customers: int
    n_repeat_customers: int
    horizon_days: float
    annual_discount_rate: float
    time_unit_days: float
    reason: str | None = None

    @property
    def fitted(self) -> bool:
        """Whether both models were fitted and every customer has a value."""
        return self.reason is None

    def summary(self) -> dict[str, Any]:
        """The fitted figures as plain data (for summary.json); alpha per `time_unit_days` days.

        ``{"bgnbd": {"r", "alpha", "a", "b", "log_likelihood"}, "gamma_gamma": {"p", "q",
        "gamma"}}``; a model not fitted is None, and then ``"reason"`` says why.
        """
        summary: dict[str, Any] = {"bgnbd": None, "gamma_gamma": None}
        if self.bgnbd is not None and self.bgnbd.converged:
            log_l = {"log_likelihood": self.bgnbd.log_likelihood}
            summary["bgnbd"] = {**self.bgnbd.params._asdict(), **log_l}
        if self.fitted and self.gamma_gamma is not None:
            summary["gamma_gamma"] = self.gamma_gamma.params._asdict()
        if self.reason is not None:
            summary["reason"] = self.reason
        return summary


def fit_clv(
    features: pd.DataFrame,
    *,
    horizon_days: float = 365.0,
    annual_discount_rate: float = 0.1,
    time_unit_days: float = 7.0,
    max_iter: int = MAX_ITER,
) -> ClvModel:
    """Fit the BG/NBD and Gamma-Gamma models to the customer table and value every customer.

    The models are fitted only when the data can support them: at least
    ``MIN_REPEAT_CUSTOMERS`` (50) customers, and ``MIN_REPEAT_SHARE`` (5 %) of all, with a
    repeat purchase of positive value, and a longest history (btyd_T) of at least
    ``MIN_HISTORY_DAYS`` (90) days. Otherwise, or when a fit does not converge, or when the
    fitted spend distribution has no mean (q <= 1), the result says why in ``reason`` and a
    :class:`SeglabWarning` repeats it; such data raise no exception.

    Parameters
    ----------
    features : DataFrame
        The customer table of :func:`seglab.features.compute_features` with the columns
        ``btyd_frequency``, ``btyd_recency`` and ``btyd_T`` (days) and ``btyd_monetary``.
    horizon_days : float
        Length H of the future valued, in days.
    annual_discount_rate : float
        Discount rate d per year, >= 0.
    time_unit_days : float
        Days per time unit of the fit (7: weeks, alpha per week; 1: days, alpha per day).
        The predictions do not depend on it.
    max_iter : int
        Iterations allowed to each optimisation.

    Returns
    -------
    ClvModel
    """
    check_settings(horizon_days, annual_discount_rate, time_unit_days)
    x, t_x, age, m = _read_btyd(features, time_unit_days)
    repeat = (x >= 1) & (m > 0)
    settings = {
        "n_customers": int(x.size),
        "n_repeat_customers": int(repeat.sum()),
        "horizon_days": float(horizon_days),
        "annual_discount_rate": float(annual_discount_rate),
        "time_unit_days": float(time_unit_days),
    }
    table = pd.DataFrame(np.nan, index=features.index, columns=list(VALUE_COLUMNS))
    longest_days = float(age.max(initial=0)) * time_unit_days
    if (reason := _insufficient(x.size, int(repeat.sum()), longest_days)) is not None:
        return _not_fitted(reason, table, None, None, **settings)
    bgnbd = fit_bgnbd(x, t_x, age, max_iter=max_iter)
    if not bgnbd.converged:
        return _not_fitted(bgnbd.message, table, bgnbd, None, **settings)
    horizon = horizon_days / time_unit_days
    table["expected_purchases"] = bgnbd_expected_purchases(bgnbd.params, horizon, x, t_x, age)
    table["p_alive"] = bgnbd_probability_alive(bgnbd.params, x, t_x, age)
    spend = fit_gamma_gamma(x[repeat], m[repeat], max_iter=max_iter)
    if not spend.converged:
        return _not_fitted(spend.message, table, bgnbd, spend, **settings)
    if spend.params.q <= 1:
        reason = (
            f"the Gamma-Gamma fit gives q = {spend.params.q:.3g} <= 1, a spend distribution "
            "without a mean: order values are too heavy-tailed for the model"
        )
        return _not_fitted(reason, table, bgnbd, spend, **settings)
    table["expected_order_value"] = gamma_gamma_expected_value(spend.params, x, m)
    table["clv"] = customer_lifetime_value(
        bgnbd.params, spend.params, x, t_x, age, m, horizon_days=horizon_days,
        annual_discount_rate=annual_discount_rate, time_unit_days=time_unit_days,
    )  # fmt: skip
    return ClvModel(table, bgnbd, spend, **settings)


def _read_btyd(features: pd.DataFrame, time_unit_days: float) -> tuple[np.ndarray, ...]:
    """x, t_x and T in time units, and m_x, from the btyd_* columns (days)."""
    missing = [c for c in BTYD_COLUMNS if c not in features.columns]
    if missing:
        raise SchemaError(
            f"the customer table lacks {', '.join(missing)}; compute them with "
            f"compute_features(..., names=[{', '.join(repr(c) for c in BTYD_COLUMNS)}])"
        )
    x, recency, age, m = (features[c].to_numpy(dtype=np.float64) for c in BTYD_COLUMNS)
    x, t_x, age = check_btyd(x, recency / time_unit_days, age / time_unit_days, features.index)
    if not np.isfinite(m).all():
        bad = ~np.isfinite(m)
        raise DataError(f"btyd_monetary is NaN or infinite for {first_bad(bad, features.index)}")
    return x, t_x, age, m


def _insufficient(n_customers: int, n_repeat: int, longest_days: float) -> str | None:
    """Why the data cannot support the models, in words; None when they can."""
    share = n_repeat / max(n_customers, 1)
    rules = (
        (n_repeat < MIN_REPEAT_CUSTOMERS, f"at least {MIN_REPEAT_CUSTOMERS}"),
        (share < MIN_REPEAT_SHARE, f"at least {MIN_REPEAT_SHARE:.0%} of all ({share:.1%} here)"),
    )
    for failed, needed in rules:
        if failed:
            return (
                f"only {n_repeat} of {n_customers} customers have a repeat purchase of positive "
                f"value; the models need {needed} to tell rare buyers from customers who left"
            )
    if longest_days < MIN_HISTORY_DAYS:
        return (
            f"the longest customer history is {longest_days:.0f} days; the models need at "
            f"least {MIN_HISTORY_DAYS} to tell a pause between purchases from a departure"
        )
    return None


def _not_fitted(reason: str, table: pd.DataFrame, *fits: ModelFit | None, **settings) -> ClvModel:
    sentence = f"customer lifetime value not estimated: {reason}"
    warnings.warn(sentence, SeglabWarning, stacklevel=3)
    return ClvModel(table, *fits, **settings, reason=sentence)
