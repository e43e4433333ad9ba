"""Filtered historical simulation of the BTC price (an option, ``FitOptions(price_filter=...)``).

* the RiskMetrics recursion and the rescaling by hand, and their invariants (hypothesis);
* the candidate's log score in the point-in-time selection by hand, and the choice on synthetic
  volatility regimes (chosen where the volatility switches every quarter, not when it is steady);
* on the bundle: the volatility at the start against pandas' own exponentially weighted mean, a
  martingale price, nothing after the start used, and the candidate not chosen at 2024-03-31.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashdesk.scenario.fit import FILTERED, FitOptions, price_ewma_variance, select_price_halflife
from hashdesk.scenario.paths import (
    RISKMETRICS_LAMBDA,
    BootstrapPrice,
    ScenarioInputError,
    center_log_returns,
    ewma_variance,
    filtered_log_returns,
)


def test_scen_ewma_variance_hand_values():
    v = ewma_variance(np.array([0.1, np.nan, -0.2, 0.0]), init_days=2)
    # start: mean square of the first two finite returns (0.01 + 0.04) / 2; a NaN day is carried over
    want = [0.025, 0.94 * 0.025 + 0.06 * 0.01]
    want += [want[1], 0.94 * want[1] + 0.06 * 0.04]
    want += [0.94 * want[3]]
    np.testing.assert_allclose(v, want, rtol=1e-15)
    assert RISKMETRICS_LAMBDA == 0.94
    with pytest.raises(ScenarioInputError, match="need >= 30 finite returns"):
        ewma_variance(np.full(29, 0.01))
    with pytest.raises(ScenarioInputError, match="ewma_lambda"):
        ewma_variance(np.full(40, 0.01), lam=1.0)


def test_scen_filtered_log_returns_hand_values():
    r, m2 = filtered_log_returns(np.array([0.02, -0.04]), np.array([0.0004, 0.0016]), 0.0009)
    assert m2 == pytest.approx(1.0) and r == pytest.approx([0.03, -0.03], rel=1e-14)  # z = ±1, σ now 0.03
    r, m2 = filtered_log_returns(np.array([0.02, -0.08]), np.array([0.0004, 0.0016]), 0.0009, np.array([0.75, 0.25]))
    assert m2 == pytest.approx(0.75 * 1 + 0.25 * 4)  # z = 1, −2
    assert r == pytest.approx(np.array([1.0, -2.0]) * math.sqrt(0.0009 / 1.75), rel=1e-14)
    with pytest.raises(ScenarioInputError, match="var_before"):
        filtered_log_returns(np.array([0.01, 0.02]), np.array([0.0004, 0.0]), 0.0009)
    with pytest.raises(ScenarioInputError, match="var_now"):
        filtered_log_returns(np.array([0.01, 0.02]), np.array([0.0004, 0.0004]), -1.0)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(40, 400), vol_now=st.floats(0.005, 0.2))
def test_scen_filtered_returns_have_the_start_variance_and_centre_to_a_martingale(seed, n, vol_now):
    """Invariants: each rescaled return is its standardised return times one factor; under the
    bootstrap's day weights the second moment is the variance at the start; centred, the price is
    a martingale and the spread is unchanged."""
    rng = np.random.default_rng(seed)
    r = rng.standard_t(4, n) * 0.03
    v = ewma_variance(r, init_days=30)
    dw = BootstrapPrice(r, 30).day_weights
    f, m2 = filtered_log_returns(r, v[:-1], vol_now**2, dw)
    z = r / np.sqrt(v[:-1])
    np.testing.assert_allclose(f, z * math.sqrt(vol_now**2 / m2), rtol=1e-12)
    assert float(dw @ (f * f)) == pytest.approx(vol_now**2, rel=1e-12)
    c = center_log_returns(f, 0.0, dw)
    assert float(dw @ np.exp(c)) == pytest.approx(1.0, abs=1e-13)
    np.testing.assert_allclose(np.diff(c), np.diff(f), atol=1e-15)


def _prices(r: np.ndarray, first: str = "2014-01-01") -> pd.DataFrame:
    days = pd.date_range(first, periods=r.size + 1, freq="D")
    return pd.DataFrame({"date": days.date, "close": 1e4 * np.exp(np.concatenate([[0.0], np.cumsum(r)])),
                         "source": "synthetic"})


def test_scen_select_filtered_candidate_score_by_hand():
    """560 days of prices (all inside the selection's look-back), a 1-year window, origins in the
    last half year, 30-day horizon: the candidate's score is Σ over origins of the Gaussian log
    density of the 30-day log-return under N(0, 30·v), v the EWMA variance after the origin's day."""
    rng = np.random.default_rng(9)
    r = rng.standard_normal(559) * 0.03
    prices = _prices(r)
    end = prices.date.iloc[-1]
    _, info = select_price_halflife(prices, end, 1.0, candidates=(math.inf,), horizons=(30,), eval_years=0.5,
                                    filtered=True)
    logp = np.log(prices.close.to_numpy())
    v = ewma_variance(r)
    days = pd.DatetimeIndex(pd.to_datetime(prices.date))
    want, n = 0.0, 0
    for o in pd.date_range(pd.Timestamp(end) - pd.Timedelta(days=182), pd.Timestamp(end), freq="ME"):
        io = days.get_loc(o)
        if io + 30 >= logp.size:
            continue
        y, var = logp[io + 30] - logp[io], 30 * v[io]  # v[io]: before the return into day io + 1
        want += -0.5 * (math.log(2 * math.pi * var) + y * y / var)
        n += 1
    assert n == 5
    assert info["log_score"][FILTERED] == pytest.approx(want, abs=0.006)  # rounded to 2 decimals
    assert "ewma" in info["log_score"] and "inf" in info["log_score"]


def test_scen_select_filtered_candidate_wins_on_its_own_model_not_on_a_steady_market():
    """Returns drawn from the RiskMetrics model itself (σ²_{t+1} = 0.94 σ²_t + 0.06 r_t², whose
    h-day variance forecast is exactly h·σ²_{t+1}): the filtered candidate has the best score;
    with a constant volatility it rarely has (its daily estimate is the noisier)."""
    rng = np.random.default_rng(1)
    r, v = np.empty(365 * 9), 0.03**2
    for t in range(r.size):
        r[t] = math.sqrt(v) * rng.standard_normal()
        v = 0.94 * v + 0.06 * r[t] ** 2
    p = _prices(r)
    best, info = select_price_halflife(p, p.date.iloc[-1], 4.0, filtered=True)
    assert best == FILTERED and info["used"].startswith("filtered")
    chosen = 0
    for seed in range(8):  # overlapping horizons: few independent outcomes, so look at several markets
        steady = _prices(np.random.default_rng(seed).standard_normal(365 * 9) * 0.03)
        best, info = select_price_halflife(steady, steady.date.iloc[-1], 4.0, filtered=True)
        chosen += best == FILTERED
    assert chosen <= 2, chosen
    assert select_price_halflife(steady, steady.date.iloc[-1], 4.0)[1]["log_score"].keys() == {
        "60", "90", "180", "365", "730", "inf"}  # not offered unless asked


def test_scen_price_ewma_variance_uses_nothing_after_the_start():
    r = np.random.default_rng(3).standard_normal(3000) * 0.03
    prices = _prices(r)
    end = date(2020, 6, 30)
    ages = np.arange(1459, -1, -1, dtype=np.float64)
    vb, vn = price_ewma_variance(prices, end, ages, 4.0)
    vb_cut, vn_cut = price_ewma_variance(prices[prices.date <= end], end, ages, 4.0)
    assert vn == vn_cut and np.array_equal(vb, vb_cut)
    # the last return (age 0, into ``end``) is standardised by the variance before it
    i_end = int(np.flatnonzero(prices.date.to_numpy() == end)[0])
    assert vn == pytest.approx(0.94 * vb[-1] + 0.06 * r[i_end - 1] ** 2, rel=1e-14)


def test_scen_filtered_price_on_the_bundle(bundle_desk):
    at = "2024-03-31"
    spec, m, _ = bundle_desk.scenario_spec(3, at, options=FitOptions(price_filter=FILTERED))
    p = m["price"]
    assert p["filter"] == FILTERED and p["halflife_days"] is None and "filtered to the EWMA" in p["window"]
    # the volatility at the start against pandas' exponentially weighted mean of squared returns
    # (alpha = 1 − λ; its start differs, forgotten after years: 0.94^1800 ≈ 0)
    prices = bundle_desk.inputs(bundle_desk.at_unix(at)).btc_prices
    close = pd.Series(prices.close.to_numpy(float), index=pd.to_datetime(prices.date)).asfreq("D")
    r2 = np.log(close).diff().pow(2)
    r2 = r2[r2.index >= pd.Timestamp(at) - pd.Timedelta(days=1800)]
    want = float(r2.ewm(alpha=1 - RISKMETRICS_LAMBDA, adjust=False, ignore_na=True).mean().iloc[-1])
    assert p["filter_fit"]["vol_per_year_at_start"] == pytest.approx(math.sqrt(365 * want), rel=1e-9)
    assert p["vol_per_year"] == pytest.approx(p["filter_fit"]["vol_per_year_at_start"], rel=0.01)
    w = spec.price.day_weights
    assert float(w @ np.exp(spec.price.log_returns)) == pytest.approx(1.0, abs=1e-13)  # martingale
    assert p["drift_per_year"] == pytest.approx(0.0, abs=1e-10)
    # as a candidate of the point-in-time choice it loses at this start: the default model results
    cand, mc, _ = bundle_desk.scenario_spec(3, at, options=FitOptions(price_filter="candidate"))
    base, mb, _ = bundle_desk.scenario_spec(3, at)
    scores = mc["price"]["halflife_fit"]["log_score"]
    assert scores[FILTERED] < max(scores.values()) and mc["price"]["filter"] is None
    assert mc["price"]["halflife_days"] == mb["price"]["halflife_days"]
    assert np.array_equal(cand.price.log_returns, base.price.log_returns)
    with pytest.raises(ScenarioInputError, match="needs price_halflife_days"):
        bundle_desk.scenario_spec(3, at, options=FitOptions(price_filter="candidate", price_halflife_days=365.0))
    with pytest.raises(ScenarioInputError, match="price.filter"):
        bundle_desk.scenario_spec(3, at, options=FitOptions(price_filter="garch"))


def test_scen_filtered_gbm_takes_the_start_volatility(bundle_desk):
    _, m, _ = bundle_desk.scenario_spec(3, "2023-09-30", options=FitOptions(price_model="gbm", price_filter=FILTERED))
    assert m["price"]["vol_per_year"] == pytest.approx(m["price"]["filter_fit"]["vol_per_year_at_start"], rel=0.01)
    assert m["price"]["drift_per_year"] == 0.0
