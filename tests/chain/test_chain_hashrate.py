"""Hashrate estimators: hand-worked examples, invariants (hypothesis) and the real bundle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashdesk.chain import block_work, chain_work
from hashdesk.chain.hashrate import (
    DAY_S,
    HS_PER_EHS,
    block_work_exact,
    contiguous_runs,
    daily_hashrate,
    epoch_hashrate,
    hashrate_over_blocks,
    hashrate_time_windows,
    trailing_hashrate,
)

W1 = block_work(0x1D00FFFF)  # 4,295,032,833 hashes


def test_block_work_exact_matches_core_and_chain_work():
    bits = np.array([0x1D00FFFF, 0x1703D869, 0x1D00FFFF, 0x1704005A])
    exact = block_work_exact(bits)
    assert exact.dtype == object
    assert list(exact) == [block_work(int(b)) for b in bits]
    assert list(np.cumsum(exact)) == chain_work(bits)  # exact ints all the way


def test_n_block_estimator_uses_n_minus_1_blocks_of_work():
    # Three blocks 600 s apart: 2 intervals carry the work of blocks 2 and 3.
    est = hashrate_over_blocks([0, 600, 1200], [0x1D00FFFF] * 3, n=3)
    assert np.isnan(est[:2]).all()
    assert est[2] == pytest.approx(2 * W1 / 1200, rel=1e-15)
    corrected = hashrate_over_blocks([0, 600, 1200], [0x1D00FFFF] * 3, n=3, bias_correct=True)
    assert corrected[2] == pytest.approx(est[2] * 1 / 2, rel=1e-15)  # (k-1)/k with k = 2


def test_n_block_estimator_non_monotonic_times_give_nan_not_negative():
    est = hashrate_over_blocks([1000, 900, 1600], [0x1D00FFFF] * 3, n=2)
    assert np.isnan(est[1])  # t_2 - t_1 = -100 s
    assert est[2] == pytest.approx(W1 / 700)
    with pytest.raises(ValueError, match="n must be"):
        hashrate_over_blocks([0, 1], [0x1D00FFFF] * 2, n=1)


def test_time_window_hand_example():
    # Blocks at 10, 20, 700 (and one at 1300, outside); windows [0, 600) and [600, 1200).
    hs, count = hashrate_time_windows([10, 700, 20, 1300], [0x1D00FFFF] * 4, [0, 600, 1200])
    assert list(count) == [2, 1]
    assert hs == pytest.approx([2 * W1 / 600, W1 / 600])
    with pytest.raises(ValueError, match="strictly increasing"):
        hashrate_time_windows([1], [0x1D00FFFF], [5, 5])


def test_epoch_estimator_hand_example():
    # Two epochs exactly two weeks apart at difficulty 1: 2016 × work / 1,209,600 s.
    est = epoch_hashrate([0x1D00FFFF] * 3, [0.0, 1_209_600.0, np.nan])
    assert est[0] == pytest.approx(2016 * W1 / 1_209_600, rel=1e-14)
    assert np.isnan(est[1]) and np.isnan(est[2])


def test_contiguous_runs():
    assert contiguous_runs([5, 6, 7, 10, 11, 20]) == [slice(0, 3), slice(3, 5), slice(5, 6)]
    with pytest.raises(ValueError, match="strictly increasing"):
        contiguous_runs([3, 2])


times_st = st.lists(st.integers(0, 10_000), min_size=1, max_size=60)


@settings(max_examples=60, deadline=None)
@given(times=times_st, shift=st.integers(-10**6, 10**6), seed=st.integers(0, 2**32 - 1))
def test_time_window_invariants(times, shift, seed):
    """Translation and block-order invariance; Σ rate × width = work of blocks inside."""
    t = np.array(times)
    bits = np.array([0x1D00FFFF, 0x1C00FFFF])[np.arange(len(t)) % 2]
    edges = np.array([0, 2500, 5000, 10_001])
    hs, count = hashrate_time_windows(t, bits, edges)
    hs2, _ = hashrate_time_windows(t + shift, bits, edges + shift)
    perm = np.random.default_rng(seed).permutation(len(t))
    hs3, _ = hashrate_time_windows(t[perm], bits[perm], edges)
    assert np.allclose(hs, hs2, rtol=1e-12) and np.allclose(hs, hs3, rtol=1e-12)
    assert count.sum() == len(t)
    total = sum(block_work(int(b)) for b in bits)
    assert (hs * np.diff(edges)).sum() == pytest.approx(float(total), rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(st.integers(-500, 3000), min_size=3, max_size=40), n=st.integers(2, 6))
def test_n_block_estimator_never_negative(steps, n):
    t = np.cumsum(steps)
    est = hashrate_over_blocks(t, [0x1D00FFFF] * len(t), n)
    finite = est[~np.isnan(est)]
    assert (finite > 0).all()
    i = np.arange(n - 1, len(t))
    assert np.isnan(est[i][t[i] - t[i - n + 1] <= 0]).all()


# -- real bundle -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundle_blocks(bundle_db_path):
    from hashdesk.data import chain, open_reader

    with open_reader(bundle_db_path) as r:
        return chain.blocks(r), chain.epochs(r), r.df(
            "SELECT date, blk_cnt, hashrate_ehs FROM network_daily WHERE source = 'coinmetrics'"
        )


def test_daily_counts_reproduce_coinmetrics(bundle_blocks):
    blocks, _, cm = bundle_blocks
    daily = daily_hashrate(blocks.height, blocks.time, blocks.bits)
    both = daily.merge(cm, on="date", suffixes=("", "_cm"))
    assert len(both) == 261  # whole days covered by both files (SOURCES.md §9)
    assert (both.blocks == both.blk_cnt).all()
    ratio = both.hashrate_ehs / both.hashrate_ehs_cm
    assert (ratio - 1).abs().median() < 1e-4  # work vs D·2^32 and CM's truncation
    assert (ratio - 1).abs().max() < 5e-3


def test_january_2024_storm_dip_visible(bundle_blocks):
    blocks, _, _ = bundle_blocks
    d = daily_hashrate(blocks.height, blocks.time, blocks.bits).set_index("date").hashrate_ehs
    before = d["2024-01-01":"2024-01-12"].mean()
    storm = d["2024-01-14":"2024-01-17"].mean()
    after = d["2024-01-19":"2024-01-31"].mean()
    assert storm < 0.9 * before and storm < 0.9 * after
    assert 400 < storm < 480 and 500 < before < 560  # EH/s


def test_seven_day_equals_mean_of_daily(bundle_blocks):
    blocks, _, _ = bundle_blocks
    d = daily_hashrate(blocks.height, blocks.time, blocks.bits).set_index("date").hashrate_ehs
    at = int(pd.Timestamp("2024-01-17", tz="UTC").timestamp())
    est = trailing_hashrate(blocks.height, blocks.time, blocks.bits, at)
    assert est.hashrate_ehs == pytest.approx(d["2024-01-10":"2024-01-16"].mean(), rel=1e-12)
    assert est.blocks == 1000 and "7 days 2024-01-10 00:00 UTC" in est.window
    with pytest.raises(ValueError, match="does not cover"):
        trailing_hashrate(blocks.height, blocks.time, blocks.bits, at + 400 * DAY_S)


def test_epoch_estimator_equals_per_block_sum(bundle_blocks):
    """Epoch 410 from start times alone = Σ work of blocks S+1..S+2016 / (t(S+2016) − t(S))."""
    blocks, ep, _ = bundle_blocks
    est = epoch_hashrate(ep.bits, ep.start_time)
    s = 410 * 2016
    b = blocks.set_index("height")
    work = sum(block_work(int(x)) for x in b.loc[s + 1 : s + 2016, "bits"])
    elapsed = int(b.loc[s + 2016, "time"]) - int(b.loc[s, "time"])
    assert est[410] == pytest.approx(work / elapsed, rel=1e-12)
    assert 520 < est[410] / HS_PER_EHS < 560
