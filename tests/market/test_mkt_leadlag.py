"""Lead/lag beta: the terms follow from when each price is fixed; the estimator recovers known
coefficients on synthetic series; the 2024 bundle figures."""

from __future__ import annotations

from datetime import time

import numpy as np
import pandas as pd
import pytest

from hashdesk.data.markets import load_market_inputs
from hashdesk.market import MarketDataError, dimson_beta, ols_beta
from hashdesk.market.returns import BTC
from hashdesk.market.risk import (
    BTC_FIXING_UTC,
    EQUITY_CLOSE_NY,
    CloseTiming,
    lead_lag_beta,
    lead_lag_terms,
    weekly_from_daily,
)
from hashdesk.market.summary import ticker_returns

CAL_2024 = pd.bdate_range("2024-01-01", "2024-12-31")


def test_fixing_instants_follow_daylight_saving():
    d = pd.DatetimeIndex(["2024-01-16", "2024-07-16"])
    assert [str(x) for x in EQUITY_CLOSE_NY.instants(d)] == ["2024-01-16 21:00:00+00:00", "2024-07-16 20:00:00+00:00"]
    # the BTC value stamped on d is the 00:00 UTC fixing of d + 1 (19:00 / 20:00 New York on d)
    assert [str(x) for x in BTC_FIXING_UTC.instants(d)] == ["2024-01-17 00:00:00+00:00", "2024-07-17 00:00:00+00:00"]


def test_terms_derived_from_the_timing():
    """Equity close 16:00 New York, BTC fixed 3–4 h later: one lag, the same day, no lead."""
    t = lead_lag_terms(CAL_2024)
    assert t.terms == (-1, 0)
    assert t.overlap_hours[-1] == (3.0, 4.0, 4.0)  # 16:00 → 19:00 EST / 20:00 EDT
    assert t.overlap_hours[0][:2] == (20.0, 20.0) and t.overlap_hours[0][2] == 69.0  # Mondays: Fri 19:00 → Mon 16:00
    assert t.overlap_hours[1] == (0.0, 0.0, 0.0)  # BTC's next row starts after the equity close
    # a benchmark fixed at the same instant needs no lag; one fixed at noon needs a lead
    same = CloseTiming("16:00 NY", time(16), "America/New_York")
    noon = CloseTiming("12:00 NY", time(12), "America/New_York")
    assert lead_lag_terms(CAL_2024, EQUITY_CLOSE_NY, same).terms == (0,)
    assert lead_lag_terms(CAL_2024, EQUITY_CLOSE_NY, noon).terms == (0, 1)
    with pytest.raises(MarketDataError, match="three dates"):
        lead_lag_terms(CAL_2024[:2])


def _synthetic(seed: int, coefs: dict[int, float], n: int = 1500, sd_e: float = 0.03):
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2015-01-05", periods=n)
    b = pd.Series(rng.normal(0.001, 0.03, n), index=idx)
    r = 0.0005 + sum(c * b.shift(-k) for k, c in coefs.items()) + rng.normal(0, sd_e, n)
    return r, b


@pytest.mark.parametrize("seed", range(10))
def test_recovers_known_lag_and_same_day_coefficients(seed):
    """r_t = 0.15·b_{t−1} + 1.1·b_t + e: each slope and the sum within 4 s.e. of the truth."""
    r, b = _synthetic(seed, {-1: 0.15, 0: 1.1})
    ll = lead_lag_beta(r, b)
    assert ll.terms == (-1, 0)
    for est, se, truth in zip(ll.coefficients, ll.standard_errors, (0.15, 1.1), strict=True):
        assert abs(est - truth) < 4 * se
    assert abs(ll.beta - 1.25) < 4 * ll.beta_se
    assert abs(ll.lead_coefficient) < 4 * ll.lead_se
    assert 0.02 < ll.beta_se < 0.06  # ≈ 0.03·√2 / (0.03·√1500)


@pytest.mark.parametrize("seed", range(10))
def test_a_lagging_benchmark_shows_in_the_lead_diagnostic_not_in_beta(seed):
    """r_t = 1.1·b_t + 0.3·b_{t+1} + e (the benchmark moves a day after the asset): the lead is
    found by the diagnostic and left out of the timing beta; the symmetric Dimson sum adds it."""
    r, b = _synthetic(seed, {0: 1.1, 1: 0.3})
    ll = lead_lag_beta(r, b)
    assert abs(ll.lead_coefficient - 0.3) < 4 * ll.lead_se
    assert abs(ll.beta - 1.1) < 4 * ll.beta_se
    assert any("lagged" in n for n in ll.notes)
    sym = dimson_beta(r, b, lags=1)
    assert abs(sym.beta - 1.4) < 4 * sym.beta_se


def test_standard_errors_match_the_spread_over_seeds():
    est = [lead_lag_beta(*_synthetic(s, {-1: 0.15, 0: 1.1})) for s in range(40)]
    spread = np.std([e.beta for e in est], ddof=1)
    assert spread == pytest.approx(np.mean([e.beta_se for e in est]), rel=0.3)


def test_structural_timing_simulation():
    """Hourly bitcoin, equity = 1.2 × bitcoin at its 16:00 New York close + noise, BTC sampled at
    00:00 UTC: the slopes are 1.2 × the share of each term's hours inside the equity's
    interval (counted here from the calendar), they sum to 1.2, and the lead is 0."""
    rng = np.random.default_rng(11)
    beta, sd_h = 1.2, 0.03 / np.sqrt(24)
    cal = pd.bdate_range("2016-01-04", "2023-12-29")
    hours = pd.date_range("2016-01-01", "2024-01-03", freq="h", tz="UTC")
    logp = pd.Series(np.cumsum(rng.normal(0, sd_h, len(hours))), index=hours)
    eq_t, btc_t = EQUITY_CLOSE_NY.instants(cal), BTC_FIXING_UTC.instants(cal)
    eq = np.exp(beta * logp.reindex(eq_t).to_numpy() + np.cumsum(rng.normal(0, 0.02, len(cal))))
    btc = np.exp(logp.reindex(btc_t).to_numpy())
    r = pd.Series(eq[1:] / eq[:-1] - 1, index=cal[1:])
    b = pd.Series(btc[1:] / btc[:-1] - 1, index=cal[1:])
    # known slopes: Σ overlap hours / Σ benchmark interval hours over the rows (equal variance per hour)
    a_s, b_s = eq_t.as_unit("s").asi8, btc_t.as_unit("s").asi8
    rows = np.arange(2, len(cal) - 1)
    want = {}
    for k in (-1, 0):
        lo = np.maximum(a_s[rows - 1], b_s[rows + k - 1])
        hi = np.minimum(a_s[rows], b_s[rows + k])
        want[k] = beta * np.maximum(hi - lo, 0).sum() / (b_s[rows + k] - b_s[rows + k - 1]).sum()
    assert 0.10 < want[-1] / beta < 0.14 and 0.85 < want[0] / beta < 0.90
    ll = lead_lag_beta(r, b)
    assert ll.terms == (-1, 0) and ll.n_obs == len(cal) - 2
    for k, est, se in zip(ll.terms, ll.coefficients, ll.standard_errors, strict=True):
        assert abs(est - want[k]) < 4 * se
    assert abs(ll.beta - beta) < 4 * ll.beta_se
    assert abs(ll.lead_coefficient) < 4 * ll.lead_se
    assert abs(ll.weekly_beta - beta) < 4 * ll.weekly_beta_se
    assert ll.same_day_beta < ll.beta  # same-day OLS misses the lag share


def test_weekly_from_daily_compounds_weeks_ending_friday():
    idx = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-05", "2024-01-08", "2024-01-12"])
    r = pd.Series([0.1, -0.1, 0.0, 0.2, np.nan], index=idx)
    w = weekly_from_daily(r)
    assert w.index.tolist() == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-12")]
    assert w.iloc[0] == pytest.approx(1.1 * 0.9 - 1) and np.isnan(w.iloc[1])


def test_bad_input_is_named():
    r, b = _synthetic(0, {0: 1.0}, n=50)
    with pytest.raises(MarketDataError, match="use must be"):
        lead_lag_beta(r, b, use="monthly")
    with pytest.raises(MarketDataError, match="DatetimeIndex"):
        lead_lag_beta(r.to_numpy(), b)
    with pytest.raises(MarketDataError, match="at least 5"):
        lead_lag_beta(r.iloc[:4], b.iloc[:4])
    with pytest.raises(MarketDataError, match="lags and leads"):
        dimson_beta(r, b, lags=1, leads=-1)


# ---------------------------------------------------------------------------------------------
# the bundle, 2024

#: ticker: (lag, same, sum, lead diagnostic, weekly, weeks) on 2024 (docs/market.md)
BUNDLE_2024 = {
    "MARA": (0.03, 1.17, 1.20, 0.27, 1.10, 53),
    "RIOT": (-0.03, 1.05, 1.02, 0.20, 0.82, 53),
    "CLSK": (0.09, 1.22, 1.31, 0.23, 1.19, 53),
    "CIFR": (0.07, 1.07, 1.14, 0.17, 0.90, 53),
    "HUT": (-0.09, 1.09, 1.00, 0.13, 1.09, 53),
    "BITF": (-0.08, 0.92, 0.84, 0.12, 0.61, 53),
    "IREN": (0.10, 1.02, 1.12, -0.02, 0.54, 53),
    "CORZ": (-0.06, 0.69, 0.63, 0.06, 0.52, 50),
    "WULF": (-0.07, 0.96, 0.88, 0.13, 0.29, 53),
    "BTDR": (-0.12, 0.99, 0.88, 0.06, 0.71, 53),
    "WGMI": (-0.02, 1.00, 0.98, 0.10, 0.71, 53),
}


@pytest.fixture(scope="module")
def bundle_inputs(bundle_db_path):
    """Inputs as ``hashdesk market --from … --to …`` loads them, per window."""
    from hashdesk.store import Store

    cache = {}

    def load(start, end):
        if (start, end) not in cache:
            with Store(bundle_db_path, read_only=True) as s:
                cache[start, end] = load_market_inputs(s, list(BUNDLE_2024), start, end)
        return cache[start, end]

    return load


@pytest.mark.parametrize("ticker", list(BUNDLE_2024))
def test_bundle_2024_lead_lag_and_weekly(bundle_inputs, ticker):
    inputs = bundle_inputs("2024-01-01", "2024-12-31")
    ar = ticker_returns(inputs, ticker, "2024-01-01", "2024-12-31")
    ll = lead_lag_beta(ar.returns[ticker], ar.returns[BTC])
    lag, same, total, lead, weekly, weeks = BUNDLE_2024[ticker]
    assert ll.terms == (-1, 0) and ll.overlap_hours == (4.0, 20.0)
    assert [round(c, 2) for c in ll.coefficients] == [lag, same]
    assert round(ll.beta, 2) == total and round(ll.lead_coefficient, 2) == lead
    assert round(ll.weekly_beta, 2) == weekly and ll.weekly_n_obs == weeks
    assert (ll.used, ll.beta_used, ll.beta_used_se) == ("lead_lag", ll.beta, ll.beta_se)
    assert abs(ll.beta - ll.same_day_beta) < ll.beta_se  # within one s.e. of the same-day beta
    assert not any("weekly" in n for n in ll.notes)  # within two combined s.e. of the weekly
    # the weekly beta equals the one on price-based weekly returns (weeks ending Friday), except
    # that a series starting mid-week (CORZ, relisted Wed 2024-01-24) keeps its first part-week
    wk = ticker_returns(inputs, ticker, "2024-01-01", "2024-12-31", frequency="weekly")
    ref = ols_beta(wk.returns[ticker], wk.returns[BTC])
    if ticker == "CORZ":
        assert (ref.n_obs, round(ref.beta, 2)) == (49, 0.52)
    else:
        assert ll.weekly_beta == pytest.approx(ref.beta, rel=1e-12)
        assert ll.weekly_beta_se == pytest.approx(ref.beta_se, rel=1e-12)
    rec = ll.as_record("btc")
    assert rec["beta_btc_lag1"] == ll.coefficients[0] and rec["beta_btc_same"] == ll.coefficients[1]
    assert rec["beta_btc_adj"] == ll.beta and rec["beta_btc_used"] == "lead_lag"


def test_bundle_2024_symmetric_dimson_is_inflated_by_the_lead(bundle_inputs):
    """The issue's figures: MARA slopes previous / same / next day 0.02 / 1.19 / 0.27 (sum 1.48);
    the uplift over the timing sum (1.20) is the lead term."""
    ar = ticker_returns(bundle_inputs("2024-01-01", "2024-12-31"), "MARA", "2024-01-01", "2024-12-31")
    sym = dimson_beta(ar.returns["MARA"], ar.returns[BTC], lags=1)
    assert [round(s, 2) for s in sym.slopes] == [0.02, 1.19, 0.27] and round(sym.beta, 2) == 1.48


#: (start, end): ticker: (previous day, same day, sum, next day, weekly) — docs/market.md
BY_PERIOD = {
    ("2022-01-01", "2022-12-31"): {"MARA": (0.13, 1.13, 1.26, 0.09, 1.47), "RIOT": (0.05, 1.06, 1.11, 0.11, 1.18),
                                   "CLSK": (0.14, 0.93, 1.07, 0.03, 0.90)},
    ("2023-01-01", "2023-12-31"): {"MARA": (0.04, 1.72, 1.76, -0.01, 1.84), "RIOT": (0.05, 1.43, 1.48, -0.14, 1.41),
                                   "CLSK": (0.16, 1.24, 1.40, -0.17, 1.01)},
    ("2024-01-01", "2024-06-30"): {"MARA": (-0.06, 0.96, 0.90, 0.44, 0.79), "RIOT": (-0.13, 0.84, 0.72, 0.37, 0.57),
                                   "CLSK": (-0.03, 1.04, 1.01, 0.46, 1.06)},
    ("2024-07-01", "2024-12-31"): {"MARA": (0.10, 1.34, 1.44, 0.11, 1.38), "RIOT": (0.05, 1.22, 1.27, 0.06, 1.04),
                                   "CLSK": (0.18, 1.36, 1.54, 0.04, 1.32)},
    ("2025-01-01", "2025-12-31"): {"MARA": (0.39, 1.32, 1.71, -0.04, 1.35), "RIOT": (0.34, 1.01, 1.36, 0.04, 1.19),
                                   "CLSK": (0.31, 1.26, 1.57, -0.11, 1.40)},
}


@pytest.mark.parametrize("period", list(BY_PERIOD), ids=lambda p: f"{p[0]}..{p[1]}")
def test_bundle_by_period(bundle_inputs, period):
    """Outside 2024 H1 the previous-day slope is positive and the next-day one near zero;
    in 2024 H1 the next-day slope is 2.7–2.9 standard errors above zero."""
    for ticker, want in BY_PERIOD[period].items():
        ar = ticker_returns(bundle_inputs(*period), ticker, *period)
        ll = lead_lag_beta(ar.returns[ticker], ar.returns[BTC])
        got = (*ll.coefficients, ll.beta, ll.lead_coefficient, ll.weekly_beta)
        assert tuple(round(x, 2) for x in got) == want, ticker
        if period[0] == "2024-01-01":
            assert 2.6 < ll.lead_coefficient / ll.lead_se < 3.0
        else:
            assert ll.coefficients[0] > 0 and abs(ll.lead_coefficient) < 1.6 * ll.lead_se
