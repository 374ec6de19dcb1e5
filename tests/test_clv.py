"""Customer lifetime value: the BG/NBD and Gamma-Gamma fits, their predictions, the CLV, the checks.

Where the expected values come from:

* the CDNOW 1/10 sample (2,357 customers who first bought in the first quarter of 1997, a
  39-week calibration period ending 1997-09-30), read raw from the file the lifetimes package
  ships. BG/NBD: r = 0.243, alpha = 4.414 (per week), a = 0.793, b = 2.426, log-likelihood
  -9582.4, published by Fader, Hardie and Lee (2005), "Counting your customers the easy way".
  Gamma-Gamma: p = 6.25, q = 3.74, gamma = 15.44, the figures of the lifetimes documentation on
  the 946 repeat customers of the same calibration summary (frequency and monetary_value).
* the model's definition, integrated numerically with scipy.integrate over its mixing
  distributions, for one customer at a time (log-likelihoods, P(alive), expected purchases and
  expected order values), independently of the closed forms in seglab.features.clv.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.util
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, special, stats

from seglab.errors import ConfigError, DataError, SchemaError, SeglabWarning
from seglab.features import clv, compute_features, lifetime
from seglab.features.clv import BgNbdParams, GammaGammaParams
from seglab.features.lifetime import ClvConfig, value_customers
from seglab.report.notes import notes_on_run
from seglab.report.text import value_text

CALIBRATION_END = dt.date(1997, 9, 30)
PUBLISHED_BGNBD = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
PUBLISHED_LOG_LIKELIHOOD = -9582.4
LIFETIMES_GAMMA_GAMMA = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)


def _cdnow_sample_path() -> Path:
    spec = importlib.util.find_spec("lifetimes")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the CDNOW sample is read from the lifetimes package, which is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "CDNOW_sample.txt"
    if not path.exists():
        pytest.skip(f"lifetimes is installed but ships no CDNOW sample at {path}")
    return path


@pytest.fixture(scope="module")
def cdnow_features() -> pd.DataFrame:
    """The calibration-period btyd_* features (days) of the CDNOW sample, by seglab's own query.

    The raw file has one line per transaction: master customer id, sample customer id
    (1..2357), date (yyyymmdd), number of CDs, dollar value. Customers are the sample ids;
    transactions on the same day count as one purchase, as in the published summary.
    """
    raw = pd.read_csv(
        _cdnow_sample_path(),
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "amount"],
        dtype={"date": str},
    )
    transactions = pd.DataFrame(
        {
            "customer_id": raw["customer_id"],
            "order_date": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "amount": raw["amount"].astype("float64"),
        }
    )
    return compute_features(transactions, CALIBRATION_END, list(clv.BTYD_COLUMNS))


@pytest.fixture(scope="module")
def cdnow(cdnow_features) -> dict[str, np.ndarray]:
    """x, t_x and T in weeks (the published unit), and m_x."""
    f = cdnow_features
    return {
        "x": f["btyd_frequency"].to_numpy(),
        "t_x": f["btyd_recency"].to_numpy() / 7,
        "T": f["btyd_T"].to_numpy() / 7,
        "m": f["btyd_monetary"].to_numpy(),
    }


@pytest.fixture(scope="module")
def cdnow_model(cdnow_features) -> lifetime.ClvModel:
    return lifetime.fit_clv(cdnow_features)


# --- The published figures ----------------------------------------------------------------------


def test_the_calibration_summary_is_the_published_one(cdnow_features, cdnow):
    assert len(cdnow_features) == 2357
    assert int((cdnow["x"] > 0).sum()) == 946
    # Customer 1 bought on 1997-01-01, 01-18 and 08-02 (then 12-12, after the calibration):
    # two repeat purchases, the last 213 days = 30.43 weeks after the first, T = 272 days.
    first = cdnow_features.loc[1]
    assert first.tolist() == [2.0, 213.0, 272.0, pytest.approx((29.73 + 14.96) / 2)]
    assert round(cdnow["t_x"][0], 2) == 30.43 and round(cdnow["T"][0], 2) == 38.86


def test_bgnbd_reproduces_fader_hardie_lee_on_cdnow(cdnow):
    fit = clv.fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert fit.converged, fit.message
    assert fit.n_customers == 2357
    for name, published in PUBLISHED_BGNBD._asdict().items():
        assert getattr(fit.params, name) == pytest.approx(published, rel=0.01), name
    assert abs(fit.log_likelihood - PUBLISHED_LOG_LIKELIHOOD) < 0.1


def test_gamma_gamma_reproduces_the_lifetimes_figures_on_cdnow(cdnow):
    repeat = cdnow["x"] > 0
    fit = clv.fit_gamma_gamma(cdnow["x"][repeat], cdnow["m"][repeat])
    assert fit.converged, fit.message
    assert fit.n_customers == 946
    for name, published in LIFETIMES_GAMMA_GAMMA._asdict().items():
        assert getattr(fit.params, name) == pytest.approx(published, rel=0.01), name


def test_fit_clv_on_the_feature_table_gives_the_published_fits(cdnow_model):
    model = cdnow_model
    assert model.fitted and model.reason is None
    assert (model.n_customers, model.n_repeat_customers, model.time_unit_days) == (2357, 946, 7.0)
    summary = model.summary()
    assert list(summary) == ["bgnbd", "gamma_gamma"]
    assert list(summary["bgnbd"]) == ["r", "alpha", "a", "b", "log_likelihood"]
    assert list(summary["gamma_gamma"]) == ["p", "q", "gamma"]
    assert summary["bgnbd"]["alpha"] == pytest.approx(PUBLISHED_BGNBD.alpha, rel=0.01)
    assert summary["gamma_gamma"]["gamma"] == pytest.approx(LIFETIMES_GAMMA_GAMMA.gamma, rel=0.01)
    table = model.customers
    assert list(table.columns) == ["expected_purchases", "p_alive", "expected_order_value", "clv"]
    assert list(table.index) == list(range(1, 2358))  # the feature table's customer ids
    assert np.isfinite(table.to_numpy()).all()
    assert ((table["p_alive"] > 0) & (table["p_alive"] <= 1)).all()


def test_fitting_in_days_or_weeks_gives_the_same_model(cdnow_features, cdnow_model):
    days = lifetime.fit_clv(cdnow_features, time_unit_days=1.0)
    weeks = cdnow_model
    for name in ("r", "a", "b"):
        assert getattr(days.bgnbd.params, name) == pytest.approx(
            getattr(weeks.bgnbd.params, name), rel=1e-6
        )
    assert days.bgnbd.params.alpha == pytest.approx(7 * weeks.bgnbd.params.alpha, rel=1e-6)
    # The likelihood is a density in the x purchase times: a day is a seventh of a week.
    shift = cdnow_features["btyd_frequency"].sum() * math.log(7)
    assert days.bgnbd.log_likelihood == pytest.approx(weeks.bgnbd.log_likelihood - shift, abs=1e-4)
    pd.testing.assert_frame_equal(days.customers, weeks.customers, rtol=1e-6)


def test_the_same_data_give_the_same_numbers(cdnow_features, cdnow_model):
    again = lifetime.fit_clv(cdnow_features.copy())
    assert again.summary() == cdnow_model.summary()
    pd.testing.assert_frame_equal(again.customers, cdnow_model.customers, check_exact=True)


# --- The closed forms against the model's definition, integrated -------------------------------


def _expect_beta(f, a: float, b: float) -> float:
    """E[f(p)] for p ~ Beta(a, b); quad's algebraic weight takes the density's end points."""
    weight = {"weight": "alg", "wvar": (a - 1, b - 1), "epsabs": 0, "epsrel": 1e-11}
    return integrate.quad(f, 0, 1, **weight)[0] / integrate.quad(lambda p: 1.0, 0, 1, **weight)[0]


@functools.cache
def _gamma_range(shape: float, rate: float) -> tuple[float, float]:
    """All of Gamma(shape, rate) but 1e-14 of each tail."""
    density = stats.gamma(shape, scale=1 / rate)
    return float(density.ppf(1e-14)), float(density.isf(1e-14))


def _expect_gamma(f, shape: float, rate: float) -> float:
    """E[f(λ)] for λ ~ Gamma(shape, rate), with f(λ) · density(λ) bounded.

    f must vanish like λ^(1 - shape) at 0 when shape < 1.
    """
    log_norm = shape * math.log(rate) - math.lgamma(shape)

    def integrand(v: float) -> float:
        return f(v) * math.exp(log_norm + (shape - 1) * math.log(v) - rate * v)

    low, high = _gamma_range(shape, rate)
    return integrate.quad(integrand, low, high, epsabs=0, epsrel=1e-11, limit=200)[0]


def _bgnbd_by_integration(params: BgNbdParams, ts: list, x: int, t_x: float, T: float) -> dict:
    """Log-likelihood, P(alive) and E[Y(t)] of one customer with x >= 1 from the model's story.

    A customer with rate λ ~ Gamma(r, alpha) and dropout p ~ Beta(a, b) produces the pattern
    (x, t_x, T) in two ways: alive at T (survived all x purchases, none in (t_x, T]):
    (1-p)^x λ^x e^(-λT); or gone right after the purchase at t_x: p (1-p)^(x-1) λ^x e^(-λ t_x).
    An alive customer's dropouts come at rate λp, so they buy (1 - e^(-λpt)) / p times in t.
    """
    r, alpha, a, b = params
    alive = _expect_beta(lambda p: (1 - p) ** x, a, b) * _expect_gamma(
        lambda v: v**x * math.exp(-v * T), r, alpha
    )
    gone = _expect_beta(lambda p: p * (1 - p) ** (x - 1), a, b) * _expect_gamma(
        lambda v: v**x * math.exp(-v * t_x), r, alpha
    )

    def future(p: float, t: float) -> float:  # E over λ of: alive pattern x purchases to come
        per_p = (lambda v: v * t) if p == 0 else (lambda v: -math.expm1(-v * p * t) / p)
        return (1 - p) ** x * _expect_gamma(lambda v: v**x * math.exp(-v * T) * per_p(v), r, alpha)

    total = alive + gone
    purchases = [_expect_beta(functools.partial(future, t=t), a, b) / total for t in ts]
    return {"log_l": math.log(total), "p_alive": alive / total, "purchases": purchases}


CUSTOMERS = [(2, 30.43, 38.86), (1, 5.0, 38.0), (7, 37.0, 38.86), (20, 10.0, 38.5)]


@pytest.mark.parametrize(("x", "t_x", "T"), CUSTOMERS)
def test_bgnbd_closed_forms_match_the_model_integrated(x, t_x, T):
    horizons = [4.0, 39.0, 520.0]
    truth = _bgnbd_by_integration(PUBLISHED_BGNBD, horizons, x, t_x, T)
    log_l = clv.bgnbd_log_likelihood(PUBLISHED_BGNBD, x, t_x, T)
    assert float(log_l) == pytest.approx(truth["log_l"], rel=1e-8)
    alive = clv.bgnbd_probability_alive(PUBLISHED_BGNBD, x, t_x, T)
    assert float(alive) == pytest.approx(truth["p_alive"], rel=1e-8)
    purchases = clv.bgnbd_expected_purchases(PUBLISHED_BGNBD, horizons, x, t_x, T)
    np.testing.assert_allclose(purchases, truth["purchases"], rtol=1e-7)


def _purchases_if_alive(params: BgNbdParams, t: float, x: int, T: float) -> float:
    """E[Y(t) | alive]: E[(1 - e^(-λpt)) / p] under λ ~ Gamma(r + x, alpha + T), p ~ Beta(a, b + x).

    Given alive at T, the story's likelihood (1-p)^x λ^x e^(-λT) updates the two priors into
    these two distributions.
    """
    r, alpha, a, b = params

    def future(p: float) -> float:
        per_p = (lambda v: v * t) if p == 0 else (lambda v: -math.expm1(-v * p * t) / p)
        return _expect_gamma(per_p, r + x, alpha + T)

    return _expect_beta(future, a, b + x)


def test_bgnbd_without_repeat_purchase_by_hand():
    # x = 0: the customer only has to make no purchase in (0, T]; E[exp(-λT)] over
    # λ ~ Gamma(r, alpha) is (alpha / (alpha + T))^r, and such a customer is alive for sure.
    r, alpha, _, _ = PUBLISHED_BGNBD
    log_l = clv.bgnbd_log_likelihood(PUBLISHED_BGNBD, 0, 0.0, 38.86)
    assert float(log_l) == pytest.approx(r * math.log(alpha / (alpha + 38.86)), rel=1e-12)
    assert float(clv.bgnbd_probability_alive(PUBLISHED_BGNBD, 0, 0.0, 38.86)) == 1.0
    purchases = clv.bgnbd_expected_purchases(PUBLISHED_BGNBD, 39.0, 0, 0.0, 38.86)
    truth = _purchases_if_alive(PUBLISHED_BGNBD, 39.0, 0, 38.86)
    assert float(purchases) == pytest.approx(truth, rel=1e-7)


def test_expected_purchases_of_heavy_buyers_over_long_horizons():
    # The textbook form of the hypergeometric term gives 0 * inf here; Euler's form does not.
    x, t_x, T = 500, 38.8, 38.86
    alive = clv.bgnbd_probability_alive(PUBLISHED_BGNBD, x, t_x, T)
    for t in (39.0, 5200.0):
        purchases = clv.bgnbd_expected_purchases(PUBLISHED_BGNBD, t, x, t_x, T)
        truth = alive * _purchases_if_alive(PUBLISHED_BGNBD, t, x, T)
        assert float(purchases) == pytest.approx(float(truth), rel=1e-7)


def _gamma_gamma_by_integration(params: GammaGammaParams, x: int, m: float) -> dict:
    """Density of m_x and E[Z | m_x] over ν ~ Gamma(q, gamma).

    Given ν, the mean of x values Gamma(p, rate ν) is Gamma(p x, rate x ν); a value's mean is p/ν.
    """
    p, q, gamma = params
    given = lambda v: stats.gamma.pdf(m, p * x, scale=1 / (x * v))  # noqa: E731
    density = _expect_gamma(given, q, gamma)
    value = _expect_gamma(lambda v: p / v * given(v), q, gamma) / density
    return {"log_l": math.log(density), "value": value}


@pytest.mark.parametrize(("x", "m"), [(1, 10.0), (3, 25.0), (12, 140.0)])
def test_gamma_gamma_closed_forms_match_the_model_integrated(x, m):
    truth = _gamma_gamma_by_integration(LIFETIMES_GAMMA_GAMMA, x, m)
    log_l = clv.gamma_gamma_log_likelihood(LIFETIMES_GAMMA_GAMMA, x, m)
    assert float(log_l) == pytest.approx(truth["log_l"], rel=1e-8)
    value = clv.gamma_gamma_expected_value(LIFETIMES_GAMMA_GAMMA, x, m)
    assert float(value) == pytest.approx(truth["value"], rel=1e-8)


def test_a_customer_without_repeat_purchase_gets_the_population_mean_value():
    p, q, gamma = LIFETIMES_GAMMA_GAMMA
    population = _expect_gamma(lambda v: p / v, q, gamma)  # E[p / ν] = p gamma / (q - 1)
    value = clv.gamma_gamma_expected_value(LIFETIMES_GAMMA_GAMMA, 0, 0.0)
    assert float(value) == pytest.approx(population, rel=1e-8)


@pytest.mark.parametrize("model", ["bgnbd", "gamma_gamma"])
def test_the_analytic_gradients_match_finite_differences(cdnow, model):
    x, t_x, T, m = (cdnow[k][:300] for k in ("x", "t_x", "T", "m"))
    repeat = x > 0
    objective, at, data = {
        "bgnbd": (clv._bgnbd_objective, np.log(PUBLISHED_BGNBD) + 0.3, (x, t_x, T)),
        "gamma_gamma": (
            clv._gamma_gamma_objective,
            np.log(LIFETIMES_GAMMA_GAMMA) - 0.2,
            (x[repeat], m[repeat]),
        ),
    }[model]
    args = (*data, 1.0 + np.arange(data[0].size) % 3)  # the weights of repeated rows
    analytic = objective(at, *args)[1]
    numeric = optimize.approx_fprime(at, lambda v: objective(v, *args)[0], 1e-7)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-7)


# --- Customer lifetime value --------------------------------------------------------------------


@pytest.fixture
def some_customers() -> dict[str, np.ndarray]:
    """x, t_x, T (weeks) and m_x of four customers, each likely to buy again."""
    return {
        "frequency": np.array([0, 2, 7, 1]),
        "recency": np.array([0.0, 30.43, 37.0, 20.0]),
        "T": np.array([10.0, 38.86, 38.86, 25.0]),
        "monetary": np.array([0.0, 22.35, 40.0, 15.0]),
    }


def _clv(customers, **settings) -> np.ndarray:
    return clv.customer_lifetime_value(
        PUBLISHED_BGNBD, LIFETIMES_GAMMA_GAMMA, **customers, **settings
    )


def test_clv_is_the_documented_monthly_discounted_sum(some_customers):
    c = some_customers
    value = clv.gamma_gamma_expected_value(LIFETIMES_GAMMA_GAMMA, c["frequency"], c["monetary"])
    bought = lambda days: clv.bgnbd_expected_purchases(  # noqa: E731
        PUBLISHED_BGNBD, days / 7, c["frequency"], c["recency"], c["T"]
    )
    # 365 days: 11 months of 30.4375 days, then a last one cut short at day 365.
    ends = [30.4375 * k for k in range(1, 12)] + [365.0]
    starts = [0.0, *ends[:-1]]
    by_hand = sum(
        (bought(end) - bought(start)) / 1.1 ** (end / 365.25)
        for start, end in zip(starts, ends, strict=True)
    )
    np.testing.assert_allclose(_clv(c), value * by_hand, rtol=1e-12)
    # Undiscounted, the months add up to the whole horizon.
    np.testing.assert_allclose(
        _clv(c, horizon_days=730, annual_discount_rate=0), value * bought(730.0), rtol=1e-12
    )


def test_clv_grows_with_the_horizon_and_shrinks_with_the_discount_rate(some_customers):
    by_horizon = [_clv(some_customers, horizon_days=h) for h in (30, 90, 365, 730, 3650)]
    assert (np.diff(by_horizon, axis=0) > 0).all()
    by_rate = [_clv(some_customers, annual_discount_rate=d) for d in (0.0, 0.05, 0.1, 0.3)]
    assert (np.diff(by_rate, axis=0) < 0).all()


def test_fit_clv_values_customers_with_its_own_fits(cdnow_features, cdnow_model, cdnow):
    model = cdnow_model
    expected = clv.customer_lifetime_value(
        model.bgnbd.params, model.gamma_gamma.params, cdnow["x"], cdnow["t_x"], cdnow["T"],
        cdnow["m"],
    )  # fmt: skip
    np.testing.assert_allclose(model.customers["clv"], expected, rtol=1e-12)
    longer = lifetime.fit_clv(cdnow_features, horizon_days=730, annual_discount_rate=0.2)
    assert (longer.customers["clv"] > model.customers["clv"]).all()


# --- Data that cannot support the models --------------------------------------------------------


def _btyd_table(n_customers: int, n_repeat: int, longest_days: float = 300.0) -> pd.DataFrame:
    """First purchases spread over `longest_days`; the first `n_repeat` customers bought 3 times."""
    repeat = np.arange(n_customers) < n_repeat
    age = np.linspace(longest_days / 4, longest_days, n_customers).round()
    return pd.DataFrame(
        {
            "btyd_frequency": np.where(repeat, 2.0, 0.0),
            "btyd_recency": np.where(repeat, (age / 2).round(), 0.0),
            "btyd_T": age,
            "btyd_monetary": np.where(repeat, 30.0, 0.0),
        },
        index=pd.Index([f"c{i:04d}" for i in range(n_customers)], name="customer_id"),
    )


def _assert_not_fitted(model: lifetime.ClvModel, table: pd.DataFrame) -> None:
    assert not model.fitted
    assert model.summary() == {"bgnbd": None, "gamma_gamma": None, "reason": model.reason}
    assert model.customers.index.equals(table.index)
    assert model.customers.isna().all().all()


@pytest.mark.parametrize(
    ("n_customers", "n_repeat", "longest_days", "reason"),
    [
        (400, 30, 300, "only 30 of 400 customers have a repeat purchase of positive value; the "
         "models need at least 50 to tell rare buyers from customers who left"),
        (2000, 60, 300, "only 60 of 2000 customers have a repeat purchase of positive value; the "
         "models need at least 5% of all (3.0% here)"),
        (400, 100, 60, "the longest customer history is 60 days; the models need at least 90"),
    ],
)  # fmt: skip
def test_too_little_data_is_not_fitted_and_says_why(n_customers, n_repeat, longest_days, reason):
    table = _btyd_table(n_customers, n_repeat, longest_days)
    with pytest.warns(SeglabWarning, match="customer lifetime value not estimated") as caught:
        model = lifetime.fit_clv(table)
    assert reason in model.reason
    assert str(caught[0].message) == model.reason
    assert model.bgnbd is None and model.n_repeat_customers == n_repeat
    _assert_not_fitted(model, table)


def test_a_fit_that_does_not_converge_is_reported_in_words(cdnow_features):
    with pytest.warns(SeglabWarning, match="BG/NBD fit did not converge in 2 iterations"):
        model = lifetime.fit_clv(cdnow_features, max_iter=2)
    assert not model.bgnbd.converged and model.gamma_gamma is None
    _assert_not_fitted(model, cdnow_features)


def test_spend_without_spread_runs_to_the_edge_and_is_reported(cdnow_features):
    same_spend = cdnow_features.assign(
        btyd_monetary=np.where(cdnow_features["btyd_frequency"] > 0, 20.0, 0.0)
    )
    with pytest.warns(SeglabWarning, match="Gamma-Gamma fit ran to the edge of the parameter"):
        model = lifetime.fit_clv(same_spend)
    summary = model.summary()
    assert summary["bgnbd"] is not None and summary["gamma_gamma"] is None
    assert "the data do not pin it down" in summary["reason"]
    assert model.customers["p_alive"].notna().all()
    assert model.customers[["expected_order_value", "clv"]].isna().all().all()


def test_spend_without_a_mean_is_not_valued(cdnow_features):
    # Mean spends spread like a log-normal with sigma 2.5: the fitted q falls below 1.
    repeat = cdnow_features["btyd_frequency"].to_numpy() > 0
    ranks = (np.arange(repeat.sum()) + 0.5) / repeat.sum()
    spend = np.zeros(repeat.size)
    spend[repeat] = np.exp(3 + 2.5 * special.ndtri(ranks))
    with pytest.warns(SeglabWarning, match=r"q = 0\.\d+ <= 1, a spend distribution without a mean"):
        model = lifetime.fit_clv(cdnow_features.assign(btyd_monetary=spend))
    assert model.gamma_gamma.converged and model.gamma_gamma.params.q < 1
    assert model.customers["clv"].isna().all()


def test_broken_inputs_raise_errors_that_name_the_problem():
    table = _btyd_table(100, 60)
    late = table.copy()
    late.loc["c0003", "btyd_recency"] = late.loc["c0003", "btyd_T"] + 1
    with pytest.raises(
        DataError, match=r"1 customer\(s\) have recency < 0 or recency > T \(c0003\)"
    ):
        lifetime.fit_clv(late)
    with pytest.raises(SchemaError, match="lacks btyd_T; compute them with compute_features"):
        lifetime.fit_clv(table.drop(columns="btyd_T"))
    with pytest.raises(ConfigError, match="horizon_days must be a number of days > 0; got 0"):
        lifetime.fit_clv(table, horizon_days=0)
    with pytest.raises(DataError, match="a frequency that is negative or not whole"):
        clv.fit_bgnbd([1.5], [1.0], [2.0])
    with pytest.raises(DataError, match="repeat customers only"):
        clv.fit_gamma_gamma([0, 2], [0.0, 10.0])


def test_the_stage_reports_the_published_fits_for_summary_json(cdnow_features, cdnow_model):
    value = value_customers(cdnow_features, ClvConfig())
    assert value.fitted and (value.n_customers, value.n_repeat_customers) == (2357, 946)
    summary = value.summary()
    for name, published in PUBLISHED_BGNBD._asdict().items():
        assert summary["bgnbd"][name] == pytest.approx(published, rel=0.01), name
    assert summary["bgnbd"]["log_likelihood"] == pytest.approx(PUBLISHED_LOG_LIKELIHOOD, abs=0.1)
    for name, published in LIFETIMES_GAMMA_GAMMA._asdict().items():
        assert summary["gamma_gamma"][name] == pytest.approx(published, rel=0.01), name
    assert (summary["horizon_days"], summary["time_unit_days"], summary["reason"]) == (
        365,
        7.0,
        None,
    )
    pd.testing.assert_frame_equal(value.customers, cdnow_model.customers)
    assert value.table()["parameter"].tolist() == [
        "r", "alpha", "a", "b", "log_likelihood", "p", "q", "gamma"
    ]  # fmt: skip


def test_the_stage_switched_off_or_starved_values_nobody_and_says_why(cdnow_features):
    off = value_customers(cdnow_features, ClvConfig(enabled=False))
    assert off.customers.isna().all().all() and "clv.enabled: false" in off.reason
    assert off.table().empty
    one_off = cdnow_features.assign(btyd_frequency=0.0, btyd_recency=0.0, btyd_monetary=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the reason is kept in the result, not warned twice
        starved = value_customers(one_off, ClvConfig())
    assert not starved.fitted and starved.customers.isna().all().all()
    assert "only 0 of 2357 customers have a repeat purchase" in starved.reason
    text = value_text(starved, pd.DataFrame())
    assert text.startswith("Lifetime value was not estimated: only 0 of 2357")
    assert "not estimated: customer lifetime value" not in text
    assert notes_on_run([], value=starved).startswith(
        "- Customer lifetime value not estimated: only 0 of 2357 customers"
    )


def test_a_model_that_sees_no_churn_is_read_as_an_upper_bound():
    """Online Retail's one year gives a drop-out shape a = 0.003: everyone 'alive'. The report
    says so, and prints the parameters with their digits."""
    customers = pd.DataFrame(
        {"expected_purchases": [2.0, 4.0], "p_alive": [0.999, 0.997],
         "expected_order_value": [10.0, 20.0], "clv": [20.0, 80.0]}
    )  # fmt: skip
    fits = {"bgnbd": {"r": 0.82, "alpha": 9.87, "a": 0.0031, "b": 7.25,
                      "log_likelihood": -12260.31},
            "gamma_gamma": {"p": 2.25, "q": 3.42, "gamma": 443.6}}  # fmt: skip
    value = lifetime.CustomerValue(customers, fits, 365, 0.1, 2, 2)
    summary = pd.DataFrame(
        {"segment_id": ["S1", "S2"], "segment_name": ["a", "b"], "clv_total": [20.0, 80.0],
         "clv_share": [0.2, 0.8], "revenue_share": [0.5, 0.5]}
    )  # fmt: skip
    text = value_text(value, summary)
    assert "almost no customer leaving (on average a 99.8% chance" in text
    assert "upper bound" in text
    table = value.table().set_index("parameter")["value"]
    assert table["a"] == "0.0031" and table["log_likelihood"] == "-12,260.3"
    assert table["gamma"] == "443.6" and table["r"] == "0.82"
    churning = lifetime.CustomerValue(customers.assign(p_alive=[0.6, 0.7]), fits, 365, 0.1, 2, 2)
    assert "upper bound" not in value_text(churning, summary)
