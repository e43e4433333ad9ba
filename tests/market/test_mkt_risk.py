"""The public risk contract against empyrical, on pandas and numpy inputs, plus invariances."""

from __future__ import annotations

import empyrical
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import hashdesk.market as mkt
from hashdesk.market import MarketDataError

RNG = np.random.default_rng(20240131)
N = 300
BENCH = RNG.normal(0.001, 0.03, N)
RETS = 1.3 * BENCH + RNG.normal(0.0005, 0.04, N)
RETS_NAN = RETS.copy()
RETS_NAN[[3, 50, 51, 200]] = np.nan
BENCH_NAN = BENCH.copy()
BENCH_NAN[[3, 50, 51, 200]] = np.nan  # empyrical's alpha expects NaNs on both sides


def as_input(kind, x):
    return pd.Series(x, index=pd.bdate_range("2023-01-02", periods=len(x))) if kind == "pandas" else x


@pytest.mark.parametrize("kind", ["pandas", "numpy"])
@pytest.mark.parametrize("r,b", [(RETS, BENCH), (RETS_NAN, BENCH_NAN)], ids=["clean", "nan"])
def test_parity_with_empyrical(kind, r, b):
    R, B = as_input(kind, r), as_input(kind, b)
    assert mkt.beta(R, B) == pytest.approx(empyrical.beta(R, B), rel=1e-10)
    assert mkt.alpha(R, B) == pytest.approx(empyrical.alpha(R, B), rel=1e-9)
    assert mkt.alpha(R, B, periods_per_year=365) == pytest.approx(empyrical.alpha(R, B, annualization=365), rel=1e-9)
    assert mkt.max_drawdown(R) == pytest.approx(empyrical.max_drawdown(R), rel=1e-12)
    assert mkt.annual_volatility(R) == pytest.approx(empyrical.annual_volatility(R), rel=1e-12)
    assert mkt.annual_volatility(R, 365) == pytest.approx(empyrical.annual_volatility(R, annualization=365), rel=1e-12)
    assert mkt.sharpe_ratio(R) == pytest.approx(empyrical.sharpe_ratio(R), rel=1e-10)
    assert mkt.sharpe_ratio(R, periods_per_year=52) == pytest.approx(empyrical.sharpe_ratio(R, annualization=52), rel=1e-10)
    assert mkt.up_capture(R, B) == pytest.approx(empyrical.up_capture(R, B), rel=1e-10)
    assert mkt.down_capture(R, B) == pytest.approx(empyrical.down_capture(R, B), rel=1e-10)
    assert mkt.sortino_ratio(R) == pytest.approx(empyrical.sortino_ratio(R), rel=1e-10)


def test_pandas_inputs_are_aligned_on_the_index():
    idx = pd.bdate_range("2024-01-01", periods=N)
    r = pd.Series(RETS, index=idx)
    b = pd.Series(BENCH, index=idx)[::-1]  # same data, reversed order
    assert mkt.beta(r, b) == pytest.approx(mkt.beta(RETS, BENCH), rel=1e-12)
    assert mkt.beta(r, b) == pytest.approx(empyrical.beta(r, b), rel=1e-10)


def test_hand_worked_example():
    # benchmark +10 %, -10 %; stock +20 %, -20 %: beta 2, wealth 1.2 -> 0.96
    r, b = np.array([0.2, -0.2]), np.array([0.1, -0.1])
    assert mkt.beta(r, b) == pytest.approx(2.0)
    assert mkt.max_drawdown(r) == pytest.approx(-0.2)
    assert mkt.max_drawdown(np.array([-0.1, 0.05])) == pytest.approx(-0.1)  # first-day loss counts
    assert mkt.annual_volatility(np.array([0.01, -0.01]), periods_per_year=4) == pytest.approx(np.sqrt(2e-4) * 2)


finite = st.floats(-0.2, 0.2, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, 30, elements=finite), st.floats(0.2, 5.0))
def test_beta_invariances(x, lev):
    if np.std(x) < 1e-6:
        return
    assert mkt.beta(x, x) == pytest.approx(1.0)
    assert mkt.beta(lev * x, x) == pytest.approx(lev, rel=1e-9)
    y = np.roll(x, 1) * 0.5 + x * 0.3 + 0.001
    if np.std(y) > 1e-6:
        assert mkt.correlation(x, y) == pytest.approx(mkt.correlation(y, x), abs=1e-12)
        # adding a constant to returns shifts alpha but not beta
        assert mkt.beta(y + 0.01, x) == pytest.approx(mkt.beta(y, x), rel=1e-9, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, 20, elements=finite))
def test_drawdown_bounds_and_scaling(x):
    dd = mkt.max_drawdown(x)
    assert -1.0 <= dd <= 0.0
    assert mkt.max_drawdown(np.abs(x)) == 0.0
    assert mkt.annual_volatility(2 * x) == pytest.approx(2 * mkt.annual_volatility(x), abs=1e-12)


@pytest.mark.parametrize("fn", [mkt.max_drawdown, mkt.annual_volatility, mkt.sharpe_ratio])
@pytest.mark.parametrize("bad", [np.array([]), np.full(10, np.nan)], ids=["empty", "all-nan"])
def test_unary_bad_input(fn, bad):
    with pytest.raises(MarketDataError, match="empty or all-NaN"):
        fn(bad)


@pytest.mark.parametrize("fn", [mkt.beta, mkt.alpha, mkt.up_capture, mkt.down_capture, mkt.correlation])
def test_binary_bad_input(fn):
    with pytest.raises(MarketDataError, match="all-NaN"):
        fn(np.full(10, np.nan), BENCH[:10])
    with pytest.raises(MarketDataError, match="equal length"):
        fn(RETS[:10], BENCH[:9])


def test_constant_benchmark_gives_nan_beta():
    assert np.isnan(mkt.beta(RETS[:10], np.full(10, 0.01)))


def test_ols_and_dimson_beta():
    ols = mkt.ols_beta(RETS, BENCH)
    assert ols.beta == pytest.approx(mkt.beta(RETS, BENCH), rel=1e-9)
    assert 0 < ols.beta_se < 0.2 and 0 < ols.r_squared < 1
    # stock reacts to the benchmark one period late: same-day beta misses it, Dimson finds it
    b = pd.Series(BENCH)
    r = 0.4 * b + 0.8 * b.shift(1) + pd.Series(RNG.normal(0, 0.005, N))
    dim = mkt.dimson_beta(r, b)
    assert mkt.beta(r, b) == pytest.approx(0.4, abs=0.05)
    assert dim.beta == pytest.approx(1.2, abs=0.05)
    assert dim.slopes[0] == pytest.approx(0.8, abs=0.05)  # lag first


def test_up_down_beta_and_rolling():
    b = pd.Series(BENCH)
    r = pd.Series(np.where(BENCH > 0, 2.0 * BENCH, 0.5 * BENCH))
    up, down = mkt.up_down_beta(r, b)
    assert up == pytest.approx(2.0) and down == pytest.approx(0.5)
    roll = mkt.rolling_beta_correlation(pd.Series(RETS), b, 60)
    assert len(roll) == N - 59
    assert roll.beta.iloc[-1] == pytest.approx(mkt.beta(RETS[-60:], BENCH[-60:]), rel=1e-9)
    with pytest.raises(MarketDataError, match="longer than"):
        mkt.rolling_beta_correlation(pd.Series(RETS), b, N + 1)
