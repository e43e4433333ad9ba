"""Price–hashrate co-movement: the estimator on series with a known correlation, and the engine
drawing hashrate innovations with the correlation it is given."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from hashdesk.scenario.engine import ScenarioSpec, StartState, simulate_chunk
from hashdesk.scenario.fit import COMOVE_MIN_CHANGES, fit_price_hashrate_corr
from hashdesk.scenario.paths import FeeModel, GBMPrice, HashrateModel, ScenarioInputError

START = StartState(1_767_052_800, 930_088, 0x17024535, 1_766_634_486, 87_133.51, 1_098.0, 1.87e6)
END = date(2025, 12, 28)  # a Sunday: the last UTC week is complete


def _daily(weekly_log: np.ndarray, col: str, end: date = END) -> pd.DataFrame:
    """Each week's value on its seven days (weeks ending on Sundays, the last on ``end``)."""
    days = [end - timedelta(days=i) for i in range(7 * len(weekly_log) - 1, -1, -1)]
    return pd.DataFrame({"date": days, col: np.exp(np.repeat(weekly_log, 7))})


def test_comove_exact_linear_relation_gives_one_and_its_mirror_zero():
    rng = np.random.default_rng(1)
    p = np.cumsum(rng.normal(0, 0.1, 200))
    prices = _daily(p + 10, "close")
    rho, info = fit_price_hashrate_corr(prices, _daily(2 + 0.3 * p, "hashrate_ehs"), None, END)
    assert info["rho"] == pytest.approx(1.0, abs=1e-12) and rho == pytest.approx(0.99)  # < 1 for the model
    assert info["n_changes"] == 200 - 13  # 200 complete weeks (all inside the 4-year window), 13-week changes
    rho, info = fit_price_hashrate_corr(prices, _daily(2 - 0.3 * p, "hashrate_ehs"), None, END)
    assert info["rho"] == pytest.approx(-1.0, abs=1e-12) and rho == 0.0


def test_comove_recovers_a_known_correlation():
    """Weekly increments bivariate normal with correlation 0.5: 13-week changes correlate at 0.5."""
    rng = np.random.default_rng(7)
    n = 52 * 40
    z = rng.standard_normal((2, n))
    dp = 0.08 * z[0]
    dh = 0.02 * (0.5 * z[0] + np.sqrt(1 - 0.25) * z[1])
    prices = _daily(np.cumsum(dp) + 10, "close")
    rho, info = fit_price_hashrate_corr(prices, _daily(np.cumsum(dh), "hashrate_ehs"), None, END, years=40)
    assert info["n_changes"] > 2000
    assert rho == pytest.approx(0.5, abs=0.06)  # sampling sd about 0.03 at 2,000 overlapping changes


def test_comove_long_series_fills_in_before_coin_metrics_and_too_few_changes_give_zero():
    rng = np.random.default_rng(3)
    p = np.cumsum(rng.normal(0, 0.1, 200))
    prices = _daily(p + 10, "close")
    long = _daily(1 + 0.2 * p, "hashrate_ehs")
    short = long.iloc[-7 * 60:]  # Coin Metrics: the last 60 weeks only
    rho, info = fit_price_hashrate_corr(prices, short, long, END)
    assert info["n_changes"] == 200 - 13 and "47 from Coin Metrics, 140 from the longer" in info["used"]
    assert rho == pytest.approx(0.99)
    rho, info = fit_price_hashrate_corr(prices, short, None, END)
    assert info["n_changes"] == 47 < COMOVE_MIN_CHANGES and rho == 0.0 and info["used"].startswith("none: 47")


@pytest.mark.parametrize("rho", [0.0, 0.6])
def test_engine_draws_hashrate_innovations_with_the_given_correlation(rho):
    """GBM price, random-walk hashrate, nothing else: the change of log price and of log hashrate
    between the first and the last step correlate at ρ (both are sums of step innovations that
    correlate at ρ), and the hashrate's own spread does not depend on ρ."""
    hr = HashrateModel(0.0, noise_sd_per_day=0.01, noise_ar1=1.0, shocks=None, capitulation=None, price_corr=rho)
    spec = ScenarioSpec(START, 3, GBMPrice(0.0, 0.6), hr, FeeModel(1.87e6, noise_sd_per_day=0.0))
    kept = {}

    def hook(k, values):
        kept[k] = (np.log(values["price_usd"]).copy(), np.log(values["hashrate_ehs"]).copy())

    simulate_chunk(spec, 20_000, np.random.SeedSequence(11), on_step=hook)
    first, last = kept[0], kept[max(kept)]
    dp, dh = last[0] - first[0], last[1] - first[1]
    assert np.corrcoef(dp, dh)[0, 1] == pytest.approx(rho, abs=0.02)
    days = (max(kept)) * 7.5  # about the days between the two steps' middles
    assert dh.std() == pytest.approx(0.01 * np.sqrt(days), rel=0.1)


def test_price_corr_must_be_below_one():
    with pytest.raises(ScenarioInputError, match="hashrate.price_corr"):
        HashrateModel(price_corr=1.0)
