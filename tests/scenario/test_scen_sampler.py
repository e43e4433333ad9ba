"""The epoch-level sampler matches a block-level reference in distribution (two-sample KS).

Both run the same deterministic hashrate path (growing 80 %/year, starting 5 % above the
difficulty's hashrate, piecewise constant over the engine's ~weekly steps:
``ScenarioSpec.deterministic_hashrate_hs``) from the first block of an epoch. Threshold: each
KS test must give p > 0.01 with the fixed seeds below; the power check shows the same test
rejects a sampler whose hashrate is 2 % off.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import ks_2samp

from hashdesk.scenario.engine import (
    ScenarioSpec,
    StartState,
    sample_epochs,
    simulate_chunk,
    work_float,
)
from hashdesk.scenario.paths import FeeModel, GBMPrice, HashrateModel

from ._reference import reference_epochs

BITS = 0x17053894
T0 = 1_767_052_800
TIP = 931_391  # next block 931,392 starts an epoch
GROWTH = 0.8
N = 600
P_MIN = 0.01
H0_HS = float(work_float(np.array([BITS]))[0]) / 600.0 * 1.05


def _engine(n: int, seed: int):
    st = StartState(T0, TIP, BITS, None, 90_000.0, H0_HS / 1e18, 2e6)
    hr = HashrateModel(growth_per_year=GROWTH, noise_sd_per_day=0.0, shocks=None, capitulation=None)
    spec = ScenarioSpec(st, 3, GBMPrice(0.0, 0.0), hr, FeeModel(2e6, 1.0, 0.0, 0.5))
    return spec, simulate_chunk(spec, n, np.random.SeedSequence(seed))


def _path(spec: ScenarioSpec, scale: float = 1.0) -> np.ndarray:
    """The engine's path, then 60 more days of the daily trend (the reference may run longer)."""
    d = np.arange(spec.n_days, spec.n_days + 60)
    tail = H0_HS * np.exp(math.log1p(GROWTH) * d / 365.0)
    return scale * np.concatenate([spec.deterministic_hashrate_hs(), tail])


def _stats_engine(res):
    t = res.retarget_time_s
    durations = np.diff(t[:, :4], axis=1)  # epochs 2..4: last-block to last-block
    ratios = work_float(res.retarget_bits[:, :4]) / work_float(res.prev_bits[:, :4])
    return t[:, 0], durations, ratios


def _stats_ref(last, bits):
    durations = np.diff(last[:, :4], axis=1)
    ratios = work_float(bits[:, 1:5]) / work_float(bits[:, 0:4])
    return last[:, 0], durations, ratios


def test_scen_epoch_sampler_matches_block_reference():
    spec, res = _engine(N, 11)
    assert res.retarget_time_s.shape[1] >= 5
    last, bits = reference_epochs(N, 5, BITS, T0, _path(spec), seed=12)
    e_first, e_dur, e_ratio = _stats_engine(res)
    r_first, r_dur, r_ratio = _stats_ref(last, bits)
    assert ks_2samp(e_first, r_first).pvalue > P_MIN
    for k in range(3):
        assert ks_2samp(e_dur[:, k], r_dur[:, k]).pvalue > P_MIN, k
        assert ks_2samp(e_ratio[:, k], r_ratio[:, k]).pvalue > P_MIN, k
    # Gamma(2015)-driven spread: epoch duration sd ≈ mean / sqrt(2016)
    assert abs(np.std(e_first) / np.mean(e_first) - 1 / math.sqrt(2016)) < 0.005


def test_scen_ks_has_power_against_a_biased_sampler():
    spec, res = _engine(N, 11)
    last, bits = reference_epochs(N, 5, BITS, T0, _path(spec, scale=1.02), seed=12)
    e_first, _, _ = _stats_engine(res)
    r_first, _, _ = _stats_ref(last, bits)
    assert ks_2samp(e_first, r_first).pvalue < P_MIN


def test_scen_sample_epochs_is_the_engines_sampler():
    """On a deterministic spec the engine draws nothing else, so its retargets equal sample_epochs' bit for bit."""
    spec, res = _engine(300, 21)
    alone = sample_epochs(spec, 300, np.random.SeedSequence(21))
    for name in ("retarget_time_s", "retarget_first_time_s", "retarget_bits", "prev_bits"):
        np.testing.assert_array_equal(getattr(alone, name), getattr(res, name))
    assert alone.retarget_time_s.shape[1] >= 6
