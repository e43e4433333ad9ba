"""Step aggregation: what a ~weekly step draws equals (or is within a stated error of) its days."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashdesk.chain.consensus import next_work_required
from hashdesk.scenario.engine import MinerEconomics, ScenarioSpec, StartState, simulate_chunk
from hashdesk.scenario.paths import (
    BootstrapPrice,
    FeeModel,
    GBMPrice,
    HashrateModel,
    ShockModel,
    ar1_step_moments,
)

START = StartState(1_767_052_800, 930_088, 0x17024535, 1_766_634_486, 87_133.51, 1_098.0, 1.87e6)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.0, 1.0), st.integers(1, 31))
def test_scen_ar1_step_moments_closed_forms(phi, n):
    m = ar1_step_moments(phi, n)
    j = np.arange(1, n + 1)
    var_days = np.array([sum(phi ** (2 * k) for k in range(d)) for d in j])  # Var(e_j)
    assert m.chol[0] ** 2 == pytest.approx(var_days[-1], rel=1e-9)
    assert m.a_end == pytest.approx(phi**n) and m.a_mean == pytest.approx(np.mean(phi**j))
    # total variance = variance of the mean + expected dispersion about it
    assert m.var_mean + m.within == pytest.approx(var_days.mean(), rel=1e-9)
    if phi == 1.0:  # random walk: Var(mean) = (n+1)(2n+1)/(6n)
        assert m.var_mean == pytest.approx((n + 1) * (2 * n + 1) / (6 * n))


def test_scen_ar1_step_draw_matches_daily_simulation():
    """Two normals per step reproduce the daily AR(1)'s (last value, mean) law: KS-free moment check."""
    phi, n, size = 0.9, 8, 200_000
    rng = np.random.default_rng(5)
    x = np.zeros(size)
    days = np.empty((n, size))
    for d in range(n):
        x = phi * x + rng.standard_normal(size)
        days[d] = x
    end, mean = ar1_step_moments(phi, n).draw(np.random.default_rng(6), size)
    for a, b in ((days[-1], end), (days.mean(axis=0), mean)):
        assert np.var(b) == pytest.approx(np.var(a), rel=0.02)
    assert np.corrcoef(end, mean)[0, 1] == pytest.approx(np.corrcoef(days[-1], days.mean(axis=0))[0, 1], abs=0.01)


def test_scen_bootstrap_step_equals_daily_bootstrap():
    """The prefix-sum step gives exactly the daily block bootstrap (same block draws)."""
    r = np.random.default_rng(1).normal(0.001, 0.03, 200)
    model = BootstrapPrice(r, block_days=9)
    n, steps = 50, [(0, 8), (8, 7), (15, 8), (23, 12), (35, 1), (36, 30)]
    rng = np.random.default_rng(7)
    state = model.init(n, rng)
    got = [model.advance(state, f, nd, rng) for f, nd in steps]
    rng = np.random.default_rng(7)
    lr, pos = np.zeros(n), np.zeros(n, dtype=np.int64)
    for (f, nd), g in zip(steps, got, strict=True):
        prices = []
        for d in range(f, f + nd):
            if d % model.block_days == 0:
                pos = rng.integers(0, r.size - model.block_days + 1, size=n)
            lr = lr + r[pos + d % model.block_days]
            prices.append(np.exp(lr))
        np.testing.assert_allclose(g, np.mean(prices, axis=0), rtol=1e-12)
    np.testing.assert_allclose(state["log_ratio"], lr, rtol=1e-12, atol=1e-14)


def test_scen_gbm_step_mean_price_unbiased():
    """E[mean price over a step] = mean_j exp((μ/365) j) (within 3 standard errors)."""
    mu, vol, n_days, size = 0.4, 0.8, 8, 400_000
    model = GBMPrice(mu, vol)
    state = model.init(size, None)
    out = model.advance(state, 0, n_days, np.random.default_rng(2))
    want = np.mean(np.exp(mu / 365 * np.arange(1, n_days + 1)))
    assert abs(out.mean() - want) < 3 * out.std() / math.sqrt(size)
    assert np.exp(state["log_ratio"]).mean() == pytest.approx(math.exp(mu * n_days / 365), rel=3e-3)


def test_scen_fee_step_level_mean_is_base():
    model = FeeModel(2e6, noise_sd_per_day=0.34, noise_ar1=0.95)
    state = model.init(200_000, None)
    rng = np.random.default_rng(3)
    levels = [model.advance(state, nd, rng) for nd in (8, 8, 7, 8, 8, 8, 7, 7)]
    for lv in levels:
        assert lv.mean() == pytest.approx(2e6, rel=0.02)


@pytest.mark.parametrize("steps_per_month", [4, 28])
def test_scen_shock_offline_share(steps_per_month):
    """Mean offline share ≈ rate × E[depth] × E[duration] / 365, whatever the step."""
    sh = ShockModel(rate_per_year=12.0, depth_mean=0.2, duration_days_mean=3.0, seasonality=(1.0,) * 12)
    hr = HashrateModel(0.0, noise_sd_per_day=0.0, shocks=sh, capitulation=None)
    spec = ScenarioSpec(START, 12, GBMPrice(0, 0), hr, FeeModel(1e6, noise_sd_per_day=0), steps_per_month=steps_per_month)
    g = spec.grid
    state = hr.init(20_000, None)
    rng = np.random.default_rng(4)
    online = [hr.advance(state, int(f), m, None, rng) * nd for f, m, nd in zip(g.first_day, g.calendar_month, g.n_days, strict=True)]
    offline = 1 - np.sum(online, axis=0).mean() / spec.n_days
    assert offline == pytest.approx(12 * 0.2 * 3 / 365, rel=0.05)


def test_scen_simulated_retargets_equal_consensus():
    """Every retarget of a noisy run equals next_work_required on its simulated header times."""
    miner = MinerEconomics("t", 5e6, 90_000, 0.95, 0.05)
    spec = ScenarioSpec(START, 9, GBMPrice(0.1, 0.6), HashrateModel(0.5, noise_sd_per_day=0.03),
                        FeeModel(1.87e6, 1.06, 0.34, 0.95), miner)
    res = simulate_chunk(spec, 300, np.random.SeedSequence(9))
    done = np.isfinite(res.retarget_time_s)
    assert done.sum() > 300 * 15
    first = START.time_unix + res.retarget_first_time_s[done].astype(np.int64)
    last = START.time_unix + np.floor(res.retarget_time_s[done]).astype(np.int64)
    want = [next_work_required(int(b), int(f), int(la))
            for b, f, la in zip(res.prev_bits[done], first, last, strict=True)]
    assert res.retarget_bits[done].tolist() == want
    # the first block of every epoch but the start's comes after the previous epoch's last block
    t_last = res.retarget_time_s
    assert (res.retarget_first_time_s[:, 1:][done[:, 1:]] >= np.floor(t_last[:, :-1][done[:, 1:]])).all()
    assert (res.retarget_first_time_s[:, 0] < 0).all()  # the start's epoch began before the start


def test_scen_weekly_steps_agree_with_near_daily_steps():
    """4 steps a month and 28 (≈ daily) give the same distributions within Monte Carlo error."""
    miner = MinerEconomics("t", 5e6, 90_000, 0.95, 0.05)
    hr = HashrateModel(0.45, shocks=ShockModel(0.76, 0.18, 10.0, 4.0))
    out = []
    for spm in (4, 28):
        spec = ScenarioSpec(START, 12, GBMPrice(0.15, 0.5), hr, FeeModel(1.87e6, 1.06, 0.34, 0.95), miner,
                            steps_per_month=spm)
        out.append(simulate_chunk(spec, 4000, np.random.SeedSequence(5)))
    weekly, daily = out
    for k in (0, 4):  # retarget days: medians within 0.1 day
        assert np.median(weekly.retarget_time_s[:, k]) == pytest.approx(np.median(daily.retarget_time_s[:, k]), abs=8640)
    # tolerances ≈ 3.5 standard errors of the difference of two q95s at n = 4,000 (fees: log-sd ≈ 1.1)
    for metric, rtol in (("hashprice_usd_per_ph_day", 0.08), ("price_usd", 0.08), ("hashrate_ehs", 0.08),
                         ("fees_sats_per_block", 0.18)):
        qw = np.quantile(weekly.monthly[metric][:, [5, 11]], [0.05, 0.5, 0.95], axis=0)
        qd = np.quantile(daily.monthly[metric][:, [5, 11]], [0.05, 0.5, 0.95], axis=0)
        np.testing.assert_allclose(qw, qd, rtol=rtol, err_msg=metric)
    assert np.median(weekly.monthly["margin_usd"].sum(1)) == pytest.approx(np.median(daily.monthly["margin_usd"].sum(1)), rel=0.04)
