"""The seven archetypes of the synthetic customers: who they are and how they buy.

Each :class:`Archetype` holds the parameters its customers' orders are drawn from (share,
activity window, order rate, order value, lines per order, B2B share, category mix, trend).
:mod:`seglab.data.synth` draws customers and their transactions from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "ARCHETYPES",
    "CATEGORIES",
    "CHANNELS",
    "COMPANY_SIZES",
    "INDUSTRIES",
    "INDUSTRY_WEIGHTS",
    "REGIONS",
    "Archetype",
]

CATEGORIES: tuple[str, ...] = (
    "stationery",
    "office",
    "home",
    "garden",
    "toys",
    "kitchen",
    "gifts",
    "seasonal",
)
REGIONS: tuple[str, ...] = ("North", "South", "East", "West", "Central")
CHANNELS: tuple[str, ...] = ("online", "store", "sales_rep")
#: Industries of the business (B2B) customers.
INDUSTRIES: tuple[str, ...] = (
    "retail",
    "hospitality",
    "education",
    "professional_services",
    "healthcare",
    "manufacturing",
)
#: Company size bands of the business customers by employees (EU definitions): below 10,
#: 10 to 49, 50 to 249, 250 and more.
COMPANY_SIZES: tuple[tuple[str, float], ...] = (
    ("micro", 10.0),
    ("small", 50.0),
    ("medium", 250.0),
    ("large", float("inf")),
)


@dataclass(frozen=True)
class Archetype:
    """A kind of customer, with the parameters its customers are drawn from.

    Parameters
    ----------
    name : str
        Short identifier, used as ``true_segment``.
    description : str
        One sentence in business words.
    share : float
        Share of customers.
    orders_per_year : float
        Mean purchase rate while active.
    order_value : float
        Median order value in currency units.
    rate_shape : float
        Gamma shape of the per-customer purchase rate (larger: less spread).
    value_sigma : float
        Lognormal sigma of the per-customer order-value level.
    first_purchase_days : tuple of float
        Range of the start of the active window, in days before ``end``, clipped to the window;
        ``(inf, inf)`` is a customer from before the window, active from its start.
    last_active_days : tuple of float
        Range of the end of the active window, in days before ``end``; ``(0, 0)`` is active to
        the end.
    dropout : float
        Probability of dropping out at a uniform time inside the active window.
    max_orders : int or None
        Cap on the number of orders per customer.
    lines_per_order : float
        Mean number of lines per order (at least 1).
    b2b_share : float
        Share of business (B2B) customers.
    category_weights : tuple of float
        Preference weights over :data:`CATEGORIES`.
    trend_mean, trend_sd : float
        Mean and spread of the yearly log growth of order value.
    """

    name: str
    description: str
    share: float
    orders_per_year: float
    order_value: float
    rate_shape: float
    value_sigma: float
    first_purchase_days: tuple[float, float]
    last_active_days: tuple[float, float]
    dropout: float
    max_orders: int | None
    lines_per_order: float
    b2b_share: float
    category_weights: tuple[float, ...]
    trend_mean: float
    trend_sd: float


_INF = math.inf

# Order values are set apart (vip 150 against regular 60; lapsed 60 against occasional 20 and
# bargain_hunter 10) and vary little within an archetype (value_sigma 0.3), so that the seven
# archetypes are seven groups in log-scaled RFM-type features. With spreads of 0.6 and closer
# values every index preferred five or six clusters (vip merged with regular, occasional with
# lapsed and bargain_hunter).
ARCHETYPES: tuple[Archetype, ...] = (
    Archetype(
        name="vip",
        description="Loyal high spenders who buy every week or two and have done so for long.",
        share=0.05,
        orders_per_year=52.0,
        order_value=150.0,
        rate_shape=16.0,
        value_sigma=0.3,
        first_purchase_days=(_INF, _INF),
        last_active_days=(0.0, 0.0),
        dropout=0.0,
        max_orders=None,
        lines_per_order=3.0,
        b2b_share=0.15,
        category_weights=(0.08, 0.12, 0.22, 0.14, 0.08, 0.16, 0.14, 0.06),
        trend_mean=0.05,
        trend_sd=0.15,
    ),
    Archetype(
        name="regular",
        description="Steady customers who buy about once a month at a medium basket value.",
        share=0.20,
        orders_per_year=13.0,
        order_value=60.0,
        rate_shape=16.0,
        value_sigma=0.3,
        first_purchase_days=(_INF, _INF),
        last_active_days=(0.0, 0.0),
        dropout=0.0,
        max_orders=None,
        lines_per_order=2.2,
        b2b_share=0.10,
        category_weights=(0.14, 0.12, 0.16, 0.12, 0.12, 0.14, 0.10, 0.10),
        trend_mean=0.0,
        trend_sd=0.12,
    ),
    Archetype(
        name="occasional",
        description="Customers who come back about once a quarter for medium-low baskets.",
        share=0.25,
        orders_per_year=3.5,
        order_value=20.0,
        rate_shape=16.0,
        value_sigma=0.3,
        first_purchase_days=(_INF, _INF),
        last_active_days=(0.0, 0.0),
        dropout=0.02,
        max_orders=None,
        lines_per_order=1.8,
        b2b_share=0.08,
        category_weights=(0.16, 0.08, 0.12, 0.12, 0.16, 0.12, 0.12, 0.12),
        trend_mean=0.0,
        trend_sd=0.12,
    ),
    Archetype(
        name="bargain_hunter",
        description="Deal seekers who buy once or twice, cheaply, at any time.",
        share=0.20,
        orders_per_year=0.6,
        order_value=10.0,
        rate_shape=3.0,
        value_sigma=0.3,
        first_purchase_days=(_INF, _INF),
        last_active_days=(0.0, 0.0),
        dropout=0.0,
        max_orders=2,
        lines_per_order=1.3,
        b2b_share=0.03,
        category_weights=(0.26, 0.04, 0.04, 0.06, 0.16, 0.08, 0.06, 0.30),
        trend_mean=0.0,
        trend_sd=0.10,
    ),
    Archetype(
        name="lapsed",
        description="Former monthly regulars who stopped buying six to fifteen months ago.",
        share=0.12,
        orders_per_year=16.0,
        order_value=60.0,
        rate_shape=16.0,
        value_sigma=0.3,
        first_purchase_days=(_INF, _INF),
        last_active_days=(190.0, 456.0),
        dropout=0.0,
        max_orders=None,
        lines_per_order=2.0,
        b2b_share=0.10,
        category_weights=(0.14, 0.12, 0.14, 0.12, 0.12, 0.14, 0.10, 0.12),
        trend_mean=-0.15,
        trend_sd=0.12,
    ),
    Archetype(
        name="new",
        description="Customers who made their first purchase in the last three months.",
        share=0.10,
        orders_per_year=16.0,
        order_value=40.0,
        rate_shape=12.0,
        value_sigma=0.3,
        first_purchase_days=(0.0, 90.0),
        last_active_days=(0.0, 0.0),
        dropout=0.0,
        max_orders=None,
        lines_per_order=1.8,
        b2b_share=0.08,
        category_weights=(0.12, 0.10, 0.14, 0.12, 0.14, 0.12, 0.16, 0.10),
        trend_mean=0.10,
        trend_sd=0.15,
    ),
    Archetype(
        name="b2b_bulk",
        description="Business accounts that order very large baskets every three to five months.",
        share=0.08,
        orders_per_year=3.5,
        order_value=500.0,
        rate_shape=12.0,
        value_sigma=0.3,
        first_purchase_days=(_INF, _INF),
        last_active_days=(0.0, 0.0),
        dropout=0.02,
        max_orders=None,
        lines_per_order=7.0,
        b2b_share=1.0,
        category_weights=(0.30, 0.36, 0.08, 0.06, 0.02, 0.10, 0.04, 0.04),
        trend_mean=0.05,
        trend_sd=0.15,
    ),
)

#: Weights over :data:`INDUSTRIES` of each archetype's business customers: bulk buyers are
#: shops and hotels, VIP businesses professional services, regular ones schools, so that the
#: industry tells archetypes apart (a mixed-type segmentation can find them there).
INDUSTRY_WEIGHTS: dict[str, tuple[float, ...]] = {
    "vip": (0.10, 0.05, 0.05, 0.55, 0.15, 0.10),
    "regular": (0.10, 0.10, 0.50, 0.10, 0.15, 0.05),
    "occasional": (0.15, 0.15, 0.15, 0.15, 0.20, 0.20),
    "bargain_hunter": (0.20, 0.10, 0.10, 0.10, 0.10, 0.40),
    "lapsed": (0.20, 0.15, 0.15, 0.15, 0.15, 0.20),
    "new": (0.15, 0.15, 0.15, 0.15, 0.25, 0.15),
    "b2b_bulk": (0.45, 0.35, 0.05, 0.05, 0.05, 0.05),
}
