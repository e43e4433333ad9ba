"""The numpy regressions of hashdesk.market.risk against statsmodels OLS (the cross-check).

``ols_beta`` (closed form) and ``dimson_beta`` (pseudo-inverse least squares) replaced
statsmodels on the brief's path; statsmodels stays the reference here, on random data and on
real bundle returns, to 1e-10.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from hashdesk.data.markets import load_market_inputs
from hashdesk.market import MarketDataError, dimson_beta, ols_beta
from hashdesk.market.returns import BTC
from hashdesk.market.risk import lead_lag_beta
from hashdesk.market.summary import DEFAULT_TICKERS, ticker_returns

REL = 1e-10


def sm_ols(r: np.ndarray, b: np.ndarray):
    return sm.OLS(r, sm.add_constant(b, has_constant="add")).fit()


def assert_ols_matches(r: np.ndarray, b: np.ndarray) -> None:
    got, ref = ols_beta(r, b), sm_ols(r, b)
    assert got.beta == pytest.approx(ref.params[1], rel=REL, abs=1e-14)
    assert got.alpha_per_period == pytest.approx(ref.params[0], rel=REL, abs=1e-14)
    # s.e. and residual std are 0 at a perfect fit, where both sides return rounding noise
    # (~1e-14): compare those to an absolute 1e-12, far below any real s.e. (~1e-2)
    assert got.beta_se == pytest.approx(ref.bse[1], rel=REL, abs=1e-12)
    assert got.r_squared == pytest.approx(ref.rsquared, rel=REL, abs=1e-14)
    assert got.residual_std == pytest.approx(np.sqrt(ref.scale), rel=REL, abs=1e-12)
    assert got.n_obs == int(ref.nobs)


def assert_dimson_matches(r: pd.Series, b: pd.Series, lags: int, leads: int | None = None) -> None:
    got = dimson_beta(r, b, lags, leads)
    cols = {f"b{k:+d}": b.shift(-k) for k in range(-lags, (lags if leads is None else leads) + 1)}
    frame = pd.concat([r.rename("r"), pd.DataFrame(cols)], axis=1).dropna()
    ref = sm.OLS(frame["r"].to_numpy(), sm.add_constant(frame.drop(columns="r").to_numpy())).fit()
    slopes = np.asarray(ref.params[1:])
    assert got.beta == pytest.approx(slopes.sum(), rel=REL, abs=1e-14)
    assert got.beta_se == pytest.approx(np.sqrt(np.asarray(ref.cov_params())[1:, 1:].sum()), rel=REL, abs=1e-14)
    assert got.slopes == pytest.approx(tuple(slopes), rel=REL, abs=1e-14)
    assert got.slope_se == pytest.approx(tuple(np.asarray(ref.bse)[1:]), rel=REL, abs=1e-14)
    assert got.n_obs == int(ref.nobs)


def test_hand_worked_market_model():
    # b = 1..4, r = (1, 3, 2, 5): Sbb = 5, Sbr = 5.5 -> β = 1.1, a = 2.75 − 1.1·2.5 = 0;
    # residuals (−0.1, 0.8, −1.3, 0.6): Σe² = 2.7, s² = 1.35, se = sqrt(1.35/5);
    # Σ(r − r̄)² = 8.75, R² = 1 − 2.7/8.75
    fit = ols_beta(np.array([1.0, 3.0, 2.0, 5.0]), np.array([1.0, 2.0, 3.0, 4.0]))
    assert fit.beta == pytest.approx(1.1, rel=1e-14)
    assert fit.alpha_per_period == pytest.approx(0.0, abs=1e-14)
    assert fit.beta_se == pytest.approx(np.sqrt(0.27), rel=1e-14)
    assert fit.r_squared == pytest.approx(1 - 2.7 / 8.75, rel=1e-14)
    assert fit.residual_std == pytest.approx(np.sqrt(1.35), rel=1e-14)
    assert fit.n_obs == 4


@pytest.mark.parametrize("seed", range(8))
def test_random_data_matches_statsmodels(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 2000))
    b = rng.normal(0.001, 0.03, n)
    r = rng.normal(-0.5, 2.0) * b + rng.normal(0.0005, rng.uniform(0.001, 0.08), n)
    assert_ols_matches(r, b)
    rs, bs = pd.Series(r), pd.Series(b)
    assert_dimson_matches(rs, bs, 1)
    assert_dimson_matches(rs, bs, 2)
    assert_dimson_matches(rs, bs, 1, 0)  # the miners-vs-BTC timing: one lag, no lead
    assert_dimson_matches(rs, bs, 2, 1)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-0.5, 0.5), st.floats(-0.5, 0.5)), min_size=3, max_size=80),
)
def test_any_well_posed_sample_matches_statsmodels(pairs):
    r, b = (np.array(x, dtype=float) for x in zip(*pairs, strict=True))
    bc = b - b.mean()
    if bc @ bc < 1e-8 or np.ptp(r) < 1e-8:  # near-constant inputs: conditioning, not the formula
        return
    assert_ols_matches(r, b)


def test_nan_pairs_are_dropped_like_statsmodels_on_the_rest():
    rng = np.random.default_rng(7)
    b = rng.normal(0, 0.02, 200)
    r = 0.8 * b + rng.normal(0, 0.02, 200)
    r[[5, 17]] = np.nan
    b[[17, 99]] = np.nan
    ok = ~(np.isnan(r) | np.isnan(b))
    assert_ols_matches(r[ok], b[ok])
    assert ols_beta(r, b) == ols_beta(r[ok], b[ok])


def test_constant_benchmark_and_too_few_points():
    fit = ols_beta(np.array([0.01, 0.02, 0.03]), np.full(3, 0.01))
    assert np.isnan(fit.beta) and np.isnan(fit.beta_se) and np.isnan(fit.r_squared)
    assert fit.alpha_per_period == pytest.approx(0.02) and fit.n_obs == 3
    with pytest.raises(MarketDataError, match="at least 3"):
        ols_beta(np.array([0.01, 0.02]), np.array([0.01, 0.03]))


def test_bundle_returns_match_statsmodels(bundle_store):
    """Each miner and WGMI against BTC on its exchange calendar over 2023 (real returns)."""
    inputs = load_market_inputs(bundle_store, list(DEFAULT_TICKERS), "2023-01-01", "2023-12-31")
    checked = 0
    for t in DEFAULT_TICKERS:
        try:
            ar = ticker_returns(inputs, t, "2023-01-01", "2023-12-31")
        except MarketDataError:  # listed later (CORZ re-listed in 2024)
            continue
        both = ar.returns[[t, BTC]].dropna()
        if len(both) < 30:
            continue
        assert_ols_matches(both[t].to_numpy(), both[BTC].to_numpy())
        assert_dimson_matches(ar.returns[t], ar.returns[BTC], 1)
        assert_dimson_matches(ar.returns[t], ar.returns[BTC], 1, 0)
        ll = lead_lag_beta(ar.returns[t], ar.returns[BTC])
        ref = dimson_beta(ar.returns[t], ar.returns[BTC], 1, 0)
        assert (ll.beta, ll.beta_se, ll.coefficients) == (ref.beta, ref.beta_se, ref.slopes)
        checked += 1
    assert checked >= 8
