"""Retarget projection: exactness at the epoch's end, interval properties, real backtest."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashdesk.chain import difficulty, next_work_required
from hashdesk.chain.projection import (
    BACKTEST_CHECKPOINTS,
    DriftPrior,
    backtest_projection,
    fit_drift_prior,
    log_difficulty_changes,
    project_retarget,
)

PRIOR = DriftPrior(0.02, 4e-4, 8e-4, 1.5e-3, 104, 409)
bits_st = st.sampled_from([0x1D00FFFF, 0x1B0404CB, 0x1703D869, 0x17028BB1, 0x1701FCA1])


@settings(max_examples=80, deadline=None)
@given(bits=bits_st, t0=st.integers(1_231_006_505, 2_000_000_000),
       span=st.integers(-10_000, 6_000_000))
def test_complete_epoch_equals_next_work_required(bits, t0, span):
    """2015 blocks mined, now = last block's time → exactly CalculateNextWorkRequired."""
    now = t0 + max(span, 0)
    p = project_retarget(bits, t0, 2015, now, PRIOR)
    assert p.next_bits == next_work_required(bits, t0, now)
    assert p.change_pct == p.change_pct_low == p.change_pct_high
    assert p.retarget_time == p.retarget_time_early == p.retarget_time_late == now


@settings(max_examples=80, deadline=None)
@given(bits=bits_st, n=st.integers(0, 2014), rate=st.floats(0.2, 5.0),
       extra=st.integers(0, 20_000))
def test_interval_ordering_nesting_and_clamp(bits, n, rate, extra):
    t0 = 1_700_000_000
    now = t0 + int(n * 600 / rate) + extra
    p90 = project_retarget(bits, t0, n, now, PRIOR, level=0.9)
    p50 = project_retarget(bits, t0, n, now, PRIOR, level=0.5)
    assert p90.change_pct_low <= p50.change_pct_low <= p90.change_pct <= p50.change_pct_high
    assert p50.change_pct_high <= p90.change_pct_high
    assert p90.retarget_time_early <= p90.retarget_time <= p90.retarget_time_late
    assert p90.retarget_time_early >= now  # the remaining blocks take time
    # consensus clamp: difficulty moves by at most ×4 / ÷4 (compact truncation adds < 1e-4)
    assert p90.change_pct_low >= -75.01 and p90.change_pct_high <= 300.01
    assert p90.blocks_remaining == 2015 - n


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="blocks_mined"):
        project_retarget(0x1D00FFFF, 0, 2016, 10, PRIOR)
    with pytest.raises(ValueError, match="before the epoch start"):
        project_retarget(0x1D00FFFF, 100, 5, 50, PRIOR)
    with pytest.raises(ValueError, match="level"):
        project_retarget(0x1D00FFFF, 0, 5, 5000, PRIOR, level=1.0)
    with pytest.raises(ValueError, match="at least 3"):
        fit_drift_prior([0x1D00FFFF, 0x1D00FFFF])


def test_log_difficulty_changes_hand_example():
    # Halving the target (0x1d00ffff → 0x1c7fff80) doubles the difficulty.
    ch = log_difficulty_changes([0x1D00FFFF, 0x1C7FFF80])
    assert ch[0] == pytest.approx(np.log(2), rel=1e-12)
    assert difficulty(0x1C7FFF80) == pytest.approx(2.0)


@pytest.fixture(scope="module")
def backtest(bundle_db_path):
    from hashdesk.desk import Desk

    with Desk(bundle_db_path) as desk:
        detail, summary = desk.projection_backtest()
        i = desk.inputs(desk.data_end_unix + 1)
        return detail, summary, i.blocks, i.epochs


def test_backtest_coverage_and_error_beat_naive(backtest):
    detail, summary, _, _ = backtest
    assert sorted(detail.epoch.unique()) == [*range(406, 420), *range(457, 467)]
    assert list(summary.blocks_mined) == list(BACKTEST_CHECKPOINTS)
    assert (summary.epochs == 24).all()
    assert (summary.covered >= 20).all(), summary
    # the naive "average block time so far" errors quoted in the issue: 6.0, 3.1, 1.9, 0.85 pp
    assert summary.naive_median_error_pp.round(1).tolist() == [6.0, 3.1, 1.8, 0.9]
    assert (summary.median_error_pp < summary.naive_median_error_pp).all(), summary


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
