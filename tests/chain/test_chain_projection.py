"""Retarget projection: exactness at the epoch's end, interval properties, calibration on
synthetic constant-hashrate chains, and the real backtests (bundled per-block epochs = test,
Coin Metrics daily counts on the other epochs = validation)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashdesk.chain import difficulty, next_work_required
from hashdesk.chain.consensus import block_work, encode_compact, target_from_bits
from hashdesk.chain.projection import (
    BACKTEST_CHECKPOINTS,
    EPOCH_SAMPLING_MEAN,
    EPOCH_SAMPLING_VAR,
    MAD_TO_SD,
    DriftPrior,
    _bm_double_integral,
    _merge_small,
    backtest_projection,
    backtest_projection_daily,
    blocks_before_day_ends,
    fit_drift_prior,
    log_difficulty_changes,
    observation_windows,
    project_retarget,
)

PRIOR = DriftPrior(0.02, 4e-4, 8e-4, 1.5e-3, 104, 409)  # old-style (moments) prior
ROBUST = DriftPrior(0.02, 8e-4, 1.2e-3, 1.8e-3, 104, 409, 0.01, 0.02, 0.01, "robust")
bits_st = st.sampled_from([0x1D00FFFF, 0x1B0404CB, 0x1703D869, 0x17028BB1, 0x1701FCA1])
prior_st = st.sampled_from([PRIOR, ROBUST])


@settings(max_examples=80, deadline=None)
@given(bits=bits_st, t0=st.integers(1_231_006_505, 2_000_000_000),
       span=st.integers(-10_000, 6_000_000), prior=prior_st)
def test_complete_epoch_equals_next_work_required(bits, t0, span, prior):
    """2015 blocks mined, now = last block's time → exactly CalculateNextWorkRequired."""
    now = t0 + max(span, 0)
    p = project_retarget(bits, t0, 2015, now, prior)
    assert p.next_bits == next_work_required(bits, t0, now)
    assert p.change_pct == p.change_pct_low == p.change_pct_high == p.naive_change_pct
    assert p.change_pct_low_50 == p.change_pct_high_50 == p.change_pct
    assert p.retarget_time == p.retarget_time_early == p.retarget_time_late == now
    assert p.prior_weight == 0.0


@settings(max_examples=80, deadline=None)
@given(bits=bits_st, n=st.integers(0, 2014), rate=st.floats(0.2, 5.0),
       extra=st.integers(0, 20_000), prior=prior_st, daily=st.booleans())
def test_interval_ordering_nesting_and_clamp(bits, n, rate, extra, prior, daily):
    t0 = 1_700_000_000
    now = t0 + int(n * 600 / rate) + extra
    win = None
    if daily and n > 0 and now > t0:
        times = t0 + np.round(np.arange(1, n + 1) * 600 / rate).astype(np.int64)
        win = observation_windows(t0, now, times)
    p90 = project_retarget(bits, t0, n, now, prior, level=0.9, windows=win)
    p50 = project_retarget(bits, t0, n, now, prior, level=0.5, windows=win)
    assert p90.change_pct_low <= p50.change_pct_low <= p90.change_pct <= p50.change_pct_high
    assert p50.change_pct_high <= p90.change_pct_high
    # the 50 % band is reported beside any level, and equals the level-0.5 interval
    assert (p90.change_pct_low_50, p90.change_pct_high_50) == (p50.change_pct_low, p50.change_pct_high)
    assert p90.retarget_time_early <= p90.retarget_time <= p90.retarget_time_late
    assert p90.retarget_time_early >= now  # the remaining blocks take time
    # consensus clamp: difficulty moves by at most ×4 / ÷4 (compact truncation adds < 1e-4)
    assert p90.change_pct_low >= -75.01 and p90.change_pct_high <= 300.01
    assert p90.blocks_remaining == 2015 - n
    assert 0.0 < p90.prior_weight <= 1.0


@settings(max_examples=60, deadline=None)
@given(rate=st.floats(0.6, 1.6), n=st.integers(1800, 2014), late=st.integers(0, 600),
       seed=st.integers(0, 2**32 - 1), prior=prior_st, daily=st.booleans())
def test_point_estimate_converges_to_the_naive_one(rate, n, late, seed, prior, daily):
    """|projection − naive| shrinks with the blocks left: ≤ 0.05 pp + 0.02 pp per block.

    Both spans are (now − t0) plus an estimate of the remaining time, which vanishes as the
    blocks left → 0 (the model takes the median of the remaining Gamma time, the naive
    projection its mean, hence the constant)."""
    t0 = 1_700_000_000
    times = t0 + np.round(np.cumsum(np.random.default_rng(seed).exponential(600 / rate, n))).astype(np.int64)
    now = int(times[-1]) + late
    win = observation_windows(t0, now, times) if daily else None
    p = project_retarget(0x17034219, t0, n, now, prior, windows=win)
    assert abs(p.change_pct - p.naive_change_pct) <= 0.05 + 0.02 * (2015 - n)


def test_convergence_on_a_real_epoch(bundle_db_path):
    """Epoch 409 (the January 2024 storm): the gap to the naive projection closes to 0."""
    from hashdesk.data import chain, open_reader

    with open_reader(bundle_db_path) as r:
        blocks, ep = chain.blocks(r), chain.epochs(r)
    t = dict(zip(blocks.height, blocks.time, strict=True))
    s, bits = 409 * 2016, int(ep.bits[409])
    prior = fit_drift_prior(ep.bits.iloc[:410])
    gaps = []
    for n in (1512, 1900, 2000, 2010, 2014, 2015):
        now = t[s + n]
        win = observation_windows(t[s], now, [t[s + k] for k in range(1, n + 1)])
        p = project_retarget(bits, t[s], n, now, prior, windows=win)
        gaps.append(abs(p.change_pct - p.naive_change_pct))
    assert gaps[0] > 0.3 and gaps[2] < 0.1 and gaps[-2] < 0.05 and gaps[-1] == 0.0
    assert gaps == sorted(gaps, reverse=True)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="blocks_mined"):
        project_retarget(0x1D00FFFF, 0, 2016, 10, PRIOR)
    with pytest.raises(ValueError, match="before the epoch start"):
        project_retarget(0x1D00FFFF, 100, 5, 50, PRIOR)
    with pytest.raises(ValueError, match="level"):
        project_retarget(0x1D00FFFF, 0, 5, 5000, PRIOR, level=1.0)
    with pytest.raises(ValueError, match="at least 3"):
        fit_drift_prior([0x1D00FFFF, 0x1D00FFFF])
    with pytest.raises(ValueError, match="method"):
        fit_drift_prior([0x1D00FFFF] * 5, method="ols")
    with pytest.raises(ValueError, match="sum to 4, not blocks_mined = 5"):
        project_retarget(0x1D00FFFF, 0, 5, 5000, PRIOR, windows=[(0, 2000, 1), (2000, 5000, 3)])
    with pytest.raises(ValueError, match="contiguous"):
        project_retarget(0x1D00FFFF, 0, 5, 5000, PRIOR, windows=[(0, 2000, 2), (2500, 5000, 3)])
    with pytest.raises(ValueError, match="from epoch_start_time"):
        project_retarget(0x1D00FFFF, 0, 5, 5000, PRIOR, windows=[(10, 5000, 5)])


def test_log_difficulty_changes_hand_example():
    # Halving the target (0x1d00ffff → 0x1c7fff80) doubles the difficulty.
    ch = log_difficulty_changes([0x1D00FFFF, 0x1C7FFF80])
    assert ch[0] == pytest.approx(np.log(2), rel=1e-12)
    assert difficulty(0x1C7FFF80) == pytest.approx(2.0)


def test_brownian_window_covariances_closed_form():
    """∫∫ min(s, t) over the elapsed and future windows gives the single-window moments."""
    for tau in (0.1, 0.5, 0.9):
        assert _bm_double_integral(0, tau, 0, tau) / tau**2 == pytest.approx(tau / 3, rel=1e-12)
        assert _bm_double_integral(0, tau, tau, 1) / (tau * (1 - tau)) == pytest.approx(tau / 2, rel=1e-12)
        assert _bm_double_integral(tau, 1, tau, 1) / (1 - tau) ** 2 == pytest.approx(tau + (1 - tau) / 3, rel=1e-12)
    # disjoint unit windows [0,1] and [1,2]: ∫_0^1 s ds = 1/2
    assert _bm_double_integral(0, 1, 1, 2) == pytest.approx(0.5, rel=1e-12)


def test_observation_windows_hand_example():
    t0, now = 1_000_000, 1_000_000 + 2 * 86_400 + 3_600
    times = [t0 - 50, t0 + 10, t0 + 3_600, t0 + 3_601, now - 1, now + 99]  # out-of-order times clamp
    w = observation_windows(t0, now, times)
    assert w == [(t0, t0 + 3_600, 3), (t0 + 3_600, t0 + 3_600 + 86_400, 1), (t0 + 3_600 + 86_400, now, 2)]
    assert sum(k for *_, k in w) == len(times)
    with pytest.raises(ValueError, match="after the epoch start"):
        observation_windows(t0, t0, [])


def _bits_from_ratios(ratios: list[float], bits0: int = 0x1703D869) -> list[int]:
    """Consecutive epochs' bits whose difficulty moves by ``ratios`` (up to compact rounding)."""
    bits, target = [bits0], target_from_bits(bits0)
    for r in ratios:
        target = int(target / r)
        bits.append(encode_compact(target))
    return bits


def test_small_windows_merge_into_a_neighbour():
    assert _merge_small([(0, 10, 3), (10, 20, 50), (20, 30, 2)], 10) == [(0, 30, 55)]
    assert _merge_small([(0, 10, 50), (10, 20, 3), (20, 30, 4), (30, 40, 60)], 10) == [(0, 10, 50), (10, 40, 67)]
    assert _merge_small([(0, 10, 5)], 10) == [(0, 10, 5)]


def test_fit_drift_prior_robust_hand_formulas():
    """Robust fit = median, (1.4826·MAD)², σ² = 1.5(V − 2p), z0 conditioned on the last change."""
    ratios = [1.0, 1.06, 0.97, 1.08, 0.98, 0.70, 1.07, 1.01, 0.96, 1.05]  # 0.70: a crash
    bits = _bits_from_ratios(ratios)
    c = log_difficulty_changes(bits)
    pr = fit_drift_prior(bits)
    g = float(np.median(c))
    v = (MAD_TO_SD * np.median(np.abs(c - g))) ** 2
    s2 = 1.5 * (v - 2 * EPOCH_SAMPLING_VAR)
    cov, var_c = s2 / 6 - EPOCH_SAMPLING_VAR, 2 * s2 / 3 + 2 * EPOCH_SAMPLING_VAR
    assert s2 > 1e-3
    assert (pr.mean_log_rate, pr.growth_per_epoch) == (pytest.approx(g), pytest.approx(g))
    assert pr.var_log_change == pytest.approx(v, rel=1e-12)
    assert pr.var_within_epoch == pytest.approx(s2, rel=1e-12)
    assert pr.mean_start_level == pytest.approx(g / 2 - EPOCH_SAMPLING_MEAN + cov / var_c * (c[-1] - g), rel=1e-12)
    assert pr.var_start_level == pytest.approx(s2 / 3 + EPOCH_SAMPLING_VAR - cov**2 / var_c, rel=1e-12)
    assert (pr.method, pr.epochs_used, pr.last_epoch) == ("robust", 10, 10)
    assert pr.last_log_change == pytest.approx(c[-1])
    # the crash (−0.36 in log) barely moves the robust scale but inflates the sample variance
    calm = _bits_from_ratios([1.0 if r == 0.70 else r for r in ratios])
    assert fit_drift_prior(bits).var_log_change < 1.5 * fit_drift_prior(calm).var_log_change
    assert fit_drift_prior(bits, method="moments").var_log_change > 4 * fit_drift_prior(calm, method="moments").var_log_change
    assert EPOCH_SAMPLING_VAR == pytest.approx(1 / 2015 + 1 / (2 * 2015**2), rel=1e-6)


def _simulate_constant_hashrate(seed: int, epochs: int, bits0: int = 0x17034219):
    """Blocks at a constant hashrate: exponential (Gamma(1)) intervals, exact retargets."""
    rng = np.random.default_rng(seed)
    hashrate = block_work(bits0) / 600.0  # [H/s]: 600-s blocks at the first difficulty
    bits, t, times = [bits0], 1_700_000_000, []
    for _ in range(epochs):
        gaps = rng.gamma(1.0, block_work(bits[-1]) / hashrate, 2016)
        bt = t + np.round(np.cumsum(np.r_[0.0, gaps[:-1]])).astype(np.int64)
        times.append(bt)
        bits.append(next_work_required(bits[-1], int(bt[0]), int(bt[2015])))
        t = int(bt[2015] + round(gaps[-1]))
    return bits, times


def test_intervals_calibrated_on_a_constant_hashrate():
    """Synthetic chains at a known constant hashrate, prior fitted on their own difficulty
    history: the 90 % interval covers 85–95 % and the 50 % interval 40–60 % of 1,600
    checkpoints (4 seeds × 100 epochs × 4 checkpoints, daily windows)."""
    hits90 = hits50 = total = 0
    for seed in range(4):
        bits, times = _simulate_constant_hashrate(seed, 104 + 100)
        for e in range(104, 204):
            prior = fit_drift_prior(bits[: e + 1])
            bt, t0 = times[e], int(times[e][0])
            actual = 100.0 * (difficulty(bits[e + 1]) / difficulty(bits[e]) - 1.0)
            for n in BACKTEST_CHECKPOINTS:
                now = int(bt[n])
                p = project_retarget(bits[e], t0, n, now, prior, windows=observation_windows(t0, now, bt[1 : n + 1]))
                hits90 += p.change_pct_low <= actual <= p.change_pct_high
                hits50 += p.change_pct_low_50 <= actual <= p.change_pct_high_50
                total += 1
    assert total == 1_600
    assert 0.85 <= hits90 / total <= 0.95
    assert 0.40 <= hits50 / total <= 0.60


# ---------------------------------------------------------------------------------------------
# real epochs

TEST_EPOCHS = [*range(406, 420), *range(457, 467)]


@pytest.fixture(scope="module")
def backtest(bundle_db_path):
    from hashdesk.desk import Desk

    with Desk(bundle_db_path) as desk:
        detail, summary = desk.projection_backtest()
        i = desk.inputs(desk.data_end_unix + 1)
        return detail, summary, i.blocks, i.epochs


def test_backtest_on_the_bundled_epochs(backtest):
    """The 24 per-block epochs, never used to fit or choose anything: the test set."""
    detail, summary, _, _ = backtest
    assert sorted(detail.epoch.unique()) == TEST_EPOCHS
    assert list(summary.blocks_mined) == list(BACKTEST_CHECKPOINTS)
    assert (summary.epochs == 24).all()
    assert summary.covered.tolist() == [20, 20, 20, 22]  # 82 of 96 (85 %)
    assert summary.covered_50.tolist() == [11, 11, 12, 13]  # 47 of 96 (49 %)
    assert summary.naive_median_error_pp.round(2).tolist() == [5.98, 3.07, 1.81, 0.86]
    assert summary.median_error_pp.round(2).tolist() == [3.08, 2.34, 1.47, 0.86]
    assert (summary.median_error_pp <= summary.naive_median_error_pp).all(), summary
    assert (summary.mean_error_pp < summary.naive_mean_error_pp).all(), summary
    # the prior's weight falls as blocks accrue
    assert summary.median_prior_weight.is_monotonic_decreasing


def test_backtest_before_the_fix(backtest):
    """The previous model (moments prior, one observation window) on the same epochs."""
    _, _, blocks, ep = backtest
    _, old = backtest_projection(blocks.height, blocks.time, ep.bits, method="moments", window_s=None)
    assert old.covered.tolist() == [20, 21, 22, 23]
    assert old.median_error_pp.round(2).tolist() == [3.08, 2.31, 1.66, 0.81]
    assert old.median_width_pp.round(1).tolist() == [19.6, 14.7, 9.7, 5.4]


@pytest.fixture(scope="module")
def validation(bundle_db_path):
    """Checkpoints at UTC midnights from Coin Metrics daily block counts, on the epochs that
    the per-block data do not cover (2021-12 … 2025-02)."""
    from hashdesk.data import chain, open_reader

    with open_reader(bundle_db_path) as s:
        blocks, ep = chain.blocks(s), chain.epochs(s)
        nd = s.df("SELECT date, blk_cnt FROM network_daily WHERE source = 'coinmetrics' ORDER BY date")
    days = ((pd.to_datetime(nd.date) - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)).to_numpy()
    before = blocks_before_day_ends(days, nd.blk_cnt.to_numpy(), blocks.height.to_numpy(), blocks.time.to_numpy())

    def run(**kw):
        return backtest_projection_daily(days, before, ep.bits, ep.start_time.to_numpy(),
                                         exclude_epochs=set(TEST_EPOCHS), **kw)

    return run


def test_validation_backtest_on_74_other_epochs(validation):
    detail, summary = validation()
    assert detail.epoch.nunique() == 74 and not set(detail.epoch) & set(TEST_EPOCHS)
    assert (detail.blocks_mined >= detail.checkpoint).all()
    assert summary.covered.tolist() == [69, 70, 67, 71]  # 277 of 296 (94 %)
    assert summary.covered_50.tolist() == [40, 40, 36, 39]  # 155 of 296 (52 %)
    assert summary.median_error_pp.round(2).tolist() == [2.48, 2.03, 1.62, 0.75]
    assert summary.naive_median_error_pp.round(2).tolist() == [5.09, 2.33, 1.74, 0.87]
    assert (summary.median_error_pp < summary.naive_median_error_pp).all()
    # before: the old model's 90 % interval covered 284 of 296 (96 %), 20–40 % wider
    _, old = validation(method="moments", daily_windows=False)
    assert old.covered.tolist() == [72, 71, 69, 72]
    assert (old.median_width_pp > 1.15 * summary.median_width_pp).all()


def test_daily_counts_anchor_and_errors():
    """Hand example: one block every 600 s from t = 100 at heights 10..1009 (≈ 6.9 days)."""
    day = 86_400
    starts = np.arange(7) * day
    heights, times = np.arange(10, 1010), 100 + 600 * np.arange(1000)
    before = blocks_before_day_ends(starts, np.full(7, 144), heights, times)
    # blocks before t = 86,400: heights 0..9 and the 144 with 100 + 600 i < 86,400 → 154
    assert before.tolist() == [154, 298, 442, 586, 730, 874, 1018]
    bad = np.array([144, 144, 150, 144, 144, 144, 144])
    with pytest.raises(ValueError, match="disagrees with per-block data at the end of 1970-01-03"):
        blocks_before_day_ends(starts, bad, heights, times)
    with pytest.raises(ValueError, match="not consecutive after 1970-01-01"):
        blocks_before_day_ends(np.array([0, 2 * day]), np.array([1, 1]), heights, times)
    with pytest.raises(ValueError, match="cannot anchor"):
        blocks_before_day_ends(starts, np.full(7, 144), heights[:300], times[:300])


def test_backtest_epoch_end_is_exact_and_known_retarget(backtest):
    detail, _, blocks, ep = backtest
    t = dict(zip(blocks.height, blocks.time, strict=True))
    bits = ep.bits.astype(int).tolist()
    for e in detail.epoch.unique():
        s = e * 2016
        prior = fit_drift_prior(bits[: e + 1])
        p = project_retarget(bits[e], t[s], 2015, t[s + 2015], prior)
        assert p.next_bits == bits[e + 1]  # the chain's own next target
    # the −3.9 % retarget at 826,560 (January 2024 storm epoch 409 → 410)
    row = detail[(detail.epoch == 409) & (detail.blocks_mined == 144)].iloc[0]
    assert row.actual_pct == pytest.approx(100 * (ep.difficulty[410] / ep.difficulty[409] - 1))
    assert row.actual_pct == pytest.approx(-3.90, abs=0.01)


def test_backtest_has_no_look_ahead(backtest):
    """Changing every later epoch's bits leaves the projections of epoch 406 unchanged."""
    detail, _, blocks, ep = backtest
    bits = ep.bits.astype(int).to_numpy().copy()
    bits[407:] = 0x1D00FFFF
    d2, _ = backtest_projection(blocks.height, blocks.time, bits)
    cols = ["projected_pct", "low_pct", "high_pct", "actual_pct"]
    a = detail[detail.epoch == 406][cols].to_numpy()
    b = d2[d2.epoch == 406][cols].to_numpy()
    assert np.array_equal(a, b)


def test_complete_epoch_uses_last_block_time_not_now():
    p = project_retarget(0x1703D869, 1_704_501_692, 2015, 1_705_761_155, PRIOR,
                         last_block_time=1_705_760_000)
    assert p.next_bits == next_work_required(0x1703D869, 1_704_501_692, 1_705_760_000)
    assert p.retarget_time == 1_705_760_000


def test_single_window_equals_no_windows():
    w = [(1_700_000_000, 1_700_600_000, 1000)]
    a = project_retarget(0x1703D869, 1_700_000_000, 1000, 1_700_600_000, ROBUST, windows=w)
    b = project_retarget(0x1703D869, 1_700_000_000, 1000, 1_700_600_000, ROBUST)
    assert a == b
    assert math.isclose(b.observed_rate_vs_target, 1.0)
