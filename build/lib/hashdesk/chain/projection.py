"""Projection of the next difficulty retarget with calibrated 50 % and 90 % intervals.

The retarget at the end of an epoch that started at height S (time ``t0``) depends only on
``span = time(S + 2015) − t0``. After ``n`` blocks (heights S+1..S+n) and at time ``now`` the
span is ``(now − t0) + R`` where R is the time the remaining ``m = 2015 − n`` blocks take.

Model, in the log rate relative to the difficulty ``z = log(H · 600 s / w)`` (0 when blocks
come every 600 s), time s in units of the target timespan T = 1,209,600 s:

1. *Block arrival.* For a known rate, ``R = 600 s · G / e^z`` with ``G ~ Gamma(m, 1)`` (hashes
   for m blocks are Gamma(m, work); memoryless, so it holds from ``now`` whatever the time since
   the last block). ``log G`` has mean ψ(m) and variance ψ'(m) (digamma, trigamma).
2. *Hashrate path.* Within the epoch ``z(s) = z0 + g·s + σ W(s)``: log hashrate grows by g per
   epoch with Brownian fluctuations of variance σ² per epoch, from a start level
   ``z0 ~ N(m0, s0²)``. The past mean ``z_p`` (over the elapsed fraction τ) and the future mean
   ``z_f`` (over the rest, 1 − τ) are jointly normal with means ``m0 + gτ/2`` and
   ``m0 + g(1 + τ)/2``, Var z_p = s0² + σ²τ/3, Var z_f = s0² + σ²(τ + (1 − τ)/3),
   Cov = s0² + σ²τ/2.
3. *Observation (Bayesian update).* n blocks in ``now − t0`` seconds have the Gamma/Poisson
   likelihood ``λⁿ e^{−λ(now − t0)}`` in the block rate λ; in ``log λ`` it is approximately
   normal with mode ``o = log(600 n / (now − t0))`` and variance 1/n (Laplace). So
   ``o = z_p + ε``, Var ε = 1/n, and ``z_f | o`` is the Gaussian conditional. The prior's weight
   in the estimate of the rate so far, ``(1/n) / (Var z_p + 1/n)``, falls as blocks accrue, and
   as m → 0 the remaining time, hence any difference from the naive projection, vanishes.
4. *Prior from the difficulty history only* (:func:`fit_drift_prior`, bits up to the projected
   epoch's own, no timestamps). Each log difficulty change ``c_k = log(D_{k+1}/D_k)`` is epoch
   k's mean rate plus the sampling error of 2015 intervals, ``ε_k = log 2016 − log G_2015``
   (mean e_b = log 2016 − ψ(2015), variance p = ψ'(2015)). Under step 2 the changes satisfy
   ``c_k = g + A_k + B_{k−1} + ε_k − ε_{k−1}`` and the next start level is
   ``z0 = g/2 + B_{k} − ε_{k}`` (A, B: the Brownian part of an epoch's mean less its start and
   of its end less its mean; Var A = Var B = σ²/3, Cov(A, B) = σ²/6 [6]_). Hence
   Var c = 2σ²/3 + 2p, E z0 = g/2 − e_b, Var z0 = σ²/3 + p and Cov(z0, c_last) = σ²/6 − p.
   The ``robust`` fit (default) takes g = median(c) and Var c = (1.4826 · MAD(c))² over the last
   ``history_epochs`` changes [7]_, so that one crash (July 2021: −28 %) does not widen every
   interval for the next two years, solves σ² = 1.5 (Var c − 2p), and conditions z0 on the last
   change. The ``moments`` fit is the previous estimator (mean, sample variance, no drift, no
   conditioning), kept for comparison.

``log R`` is taken as normal with mean ``log 600 − E[z_f|o] + ψ(m)`` and variance
``Var[z_f|o] + ψ'(m)``; the span's quantiles map through the exact consensus rule
(:func:`~hashdesk.chain.consensus.next_work_required`) because the new difficulty and the
retarget date are monotone in the span. With m = 0 the span is known and the projection *is*
``next_work_required(bits, t0, last_block_time)``.

References
----------
.. [1] Bitcoin Core, ``src/pow.cpp`` ``CalculateNextWorkRequired``.
.. [2] Bowden, Keeler, Krzesinski, Taylor (2018), "Block arrivals in the Bitcoin blockchain",
   arXiv:1801.07447 (Poisson arrivals modulated by a changing hashrate).
.. [3] Brockwell & Davis (2002), *Introduction to Time Series and Forecasting*, §8 (Gaussian
   conditioning / Kalman update used in steps 3 and 4).
.. [4] Abramowitz & Stegun (1964), *Handbook of Mathematical Functions*, 6.3.5, 6.3.18, 6.4.6
   and 6.4.12 (digamma and trigamma: recurrence and asymptotic series).
.. [5] Wichura (1988), "Algorithm AS 241: The percentage points of the normal distribution",
   Applied Statistics 37(3) (``statistics.NormalDist.inv_cdf``).
.. [6] Karatzas & Shreve (1991), *Brownian Motion and Stochastic Calculus*, §2.2 (covariance
   E[W_s W_t] = min(s, t), from which the moments of time-averaged Brownian motion follow).
.. [7] Rousseeuw & Croux (1993), "Alternatives to the median absolute deviation", JASA 88(424)
   (MAD · 1.4826 estimates a normal standard deviation with a 50 % breakdown point).
.. [8] Gneiting & Raftery (2007), "Strictly proper scoring rules, prediction, and estimation",
   JASA 102(477), §6.2 (interval score, used to choose between fits on validation epochs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from hashdesk.chain.consensus import (
    RETARGET_INTERVAL,
    TARGET_SPACING_S,
    TARGET_TIMESPAN_S,
    decode_compact,
    difficulty,
    next_work_required,
)

#: Intervals measured by a retarget (2015: Bitcoin's historic off-by-one) [blocks].
RETARGET_INTERVALS: int = RETARGET_INTERVAL - 1
#: Default history for the drift prior: 104 epochs ≈ 4 years [epochs].
DEFAULT_HISTORY_EPOCHS: int = 104
#: Block-count checkpoints of the backtest [blocks after the epoch's first block].
BACKTEST_CHECKPOINTS: tuple[int, ...] = (144, 504, 1008, 1512)
#: Fits offered by :func:`fit_drift_prior`.
PRIOR_METHODS: tuple[str, ...] = ("robust", "moments")
#: Normal consistency factor of the median absolute deviation, 1 / Φ⁻¹(3/4) [-].
MAD_TO_SD: float = 1.0 / NormalDist().inv_cdf(0.75)
_VAR_FLOOR: float = 1e-5
_DAY_S: int = 86_400


@dataclass(frozen=True)
class DriftPrior:
    """Hashrate-drift prior fitted on past difficulty changes.

    Attributes
    ----------
    mean_log_rate : float
        Typical log difficulty change per epoch [-]: the median (``robust``) or mean
        (``moments``) of the changes used. Without ``mean_start_level`` it is also the level of
        z throughout the epoch (the ``moments`` model).
    var_start_level : float
        s0²: variance of the epoch's starting log rate (given the last change, ``robust``) [-].
    var_within_epoch : float
        σ²: Brownian variance of log hashrate per epoch [-].
    var_log_change : float
        V: variance of the log difficulty changes used [-]; (1.4826 · MAD)² for ``robust``,
        the sample variance for ``moments``.
    epochs_used : int
        Number of changes in the fit.
    last_epoch : int
        Epoch whose (start) difficulty is the last one used.
    mean_start_level : float or None
        m0: expected log rate at the epoch's first block, given the last change [-]; None
        means ``mean_log_rate``.
    growth_per_epoch : float
        g: drift of log hashrate within the epoch [1/epoch]; 0 for ``moments``.
    last_log_change : float
        The last change used, ``log(D_e / D_{e−1})`` [-] (NaN if not recorded).
    method : str
        ``"robust"`` or ``"moments"`` (see the module docstring).
    """

    mean_log_rate: float
    var_start_level: float
    var_within_epoch: float
    var_log_change: float
    epochs_used: int
    last_epoch: int
    mean_start_level: float | None = None
    growth_per_epoch: float = 0.0
    last_log_change: float = float("nan")
    method: str = "moments"


@dataclass(frozen=True)
class RetargetProjection:
    """Projected next retarget: point estimate and central intervals.

    Attributes
    ----------
    bits : int
        Compact target of the current epoch.
    epoch_start_time : int
        Header time of the epoch's first block [unix s].
    blocks_mined : int
        Blocks mined after the epoch's first block (0–2015).
    blocks_remaining : int
        Blocks until the epoch's last block, ``2015 − blocks_mined``.
    now : int
        Time of the projection [unix s].
    level : float
        Interval probability (0.9 = central 90%).
    next_bits : int
        Projected compact target for the next epoch (point estimate).
    change_pct : float
        Projected difficulty change [%] (point estimate: the median span).
    change_pct_low, change_pct_high : float
        Bounds of the central ``level`` interval of the change [%].
    retarget_time : int
        Projected header time of the epoch's last block, when the new target is fixed [unix s].
    retarget_time_early, retarget_time_late : int
        Interval bounds of that time [unix s].
    expected_rate_vs_target : float
        Projected hashrate for the rest of the epoch relative to the difficulty's (1.0 = 600 s
        blocks) [-].
    prior : DriftPrior
        The drift prior used.
    change_pct_low_50, change_pct_high_50 : float
        Bounds of the central 50 % interval of the change [%].
    naive_change_pct : float
        The naive projection, average block time so far: span = (now − t0) · 2015 / n [%]
        (NaN with no block mined yet).
    prior_weight : float
        Weight of the prior in the estimate of the rate so far, Var[z_p | data] / Var z_p
        [-]; with one window (1/n) / (Var z_p + 1/n): 1 with no block mined, falling as blocks
        accrue (the observation's weight is 1 minus it).
    observed_rate_vs_target : float
        Block rate so far relative to 600 s blocks, 600 n / (now − t0) [-] (NaN with n = 0).
    """

    bits: int
    epoch_start_time: int
    blocks_mined: int
    blocks_remaining: int
    now: int
    level: float
    next_bits: int
    change_pct: float
    change_pct_low: float
    change_pct_high: float
    retarget_time: int
    retarget_time_early: int
    retarget_time_late: int
    expected_rate_vs_target: float
    prior: DriftPrior
    change_pct_low_50: float = float("nan")
    change_pct_high_50: float = float("nan")
    naive_change_pct: float = float("nan")
    prior_weight: float = float("nan")
    observed_rate_vs_target: float = float("nan")


def log_difficulty_changes(epoch_bits: np.ndarray | list[int]) -> np.ndarray:
    """Log difficulty change between consecutive epochs, ``log(D_{k+1} / D_k)`` [-].

    Parameters
    ----------
    epoch_bits : array-like of int
        Compact targets of consecutive epochs.

    Returns
    -------
    numpy.ndarray
        ``log(target_k) − log(target_{k+1})`` from the exact targets; length ``len − 1``.
    """
    logs = np.array([math.log(decode_compact(int(b))[0]) for b in epoch_bits], dtype=np.float64)
    return logs[:-1] - logs[1:]


def digamma(x: float) -> float:
    """Digamma ψ(x) = d/dx log Γ(x) for x > 0 [-] (relative error ≈ 1e-16).

    Recurrence ψ(x) = ψ(x + 1) − 1/x up to x ≥ 10, then the asymptotic series
    ψ(x) ≈ log x − 1/(2x) − Σ B₂ₖ / (2k x²ᵏ), k = 1..7 [4]_. Agrees with
    ``scipy.special.digamma`` to 1e-15 (tested); pure Python, so the projection does not import
    scipy (≈ 1 s of start-up).
    """
    if not x > 0:
        raise ValueError(f"digamma: x must be > 0, got {x}")
    acc = 0.0
    while x < 10.0:
        acc -= 1.0 / x
        x += 1.0
    z = 1.0 / (x * x)
    tail = z * (1 / 12 - z * (1 / 120 - z * (1 / 252 - z * (1 / 240 - z * (1 / 132 - z * (691 / 32760 - z / 12))))))
    return acc + math.log(x) - 0.5 / x - tail


def trigamma(x: float) -> float:
    """Trigamma ψ'(x) for x > 0 [-] (relative error ≈ 1e-16).

    Recurrence ψ'(x) = ψ'(x + 1) + 1/x² up to x ≥ 10, then
    ψ'(x) ≈ 1/x + 1/(2x²) + Σ B₂ₖ / x²ᵏ⁺¹, k = 1..7 [4]_. Agrees with
    ``scipy.special.polygamma(1, x)`` to 1e-15 (tested).
    """
    if not x > 0:
        raise ValueError(f"trigamma: x must be > 0, got {x}")
    acc = 0.0
    while x < 10.0:
        acc += 1.0 / (x * x)
        x += 1.0
    z = 1.0 / (x * x)
    tail = z * (1 / 6 - z * (1 / 30 - z * (1 / 42 - z * (1 / 30 - z * (5 / 66 - z * (691 / 2730 - z * 7 / 6))))))
    return acc + (1.0 + 0.5 / x + tail) / x


#: Variance p and mean e_b of an epoch's sampling error ε = log 2016 − log G_2015 [-].
EPOCH_SAMPLING_VAR: float = trigamma(RETARGET_INTERVALS)
EPOCH_SAMPLING_MEAN: float = math.log(RETARGET_INTERVAL) - digamma(RETARGET_INTERVALS)


def fit_drift_prior(
    epoch_bits: np.ndarray | list[int],
    history_epochs: int = DEFAULT_HISTORY_EPOCHS,
    method: str = "robust",
) -> DriftPrior:
    """Fit the drift prior on the last ``history_epochs`` difficulty changes.

    Parameters
    ----------
    epoch_bits : array-like of int
        Compact targets of epochs 0..e (or any consecutive run ending at the epoch being
        projected). Only these are used, so the fit uses nothing after epoch e's start.
    history_epochs : int
        Number of most recent changes to use (>= 2).
    method : {'robust', 'moments'}
        ``robust`` (default): median and MAD scale, within-epoch growth, start level conditioned
        on the last change. ``moments``: the previous estimator (mean, sample variance, no
        drift), kept for comparison.

    Returns
    -------
    DriftPrior
        See the module docstring (step 4) for the equations.

    References
    ----------
    .. [1] Rousseeuw & Croux (1993), JASA 88(424) (MAD).
    """
    if method not in PRIOR_METHODS:
        raise ValueError(f"method must be one of {PRIOR_METHODS}, got {method!r}")
    changes = log_difficulty_changes(epoch_bits)[-int(history_epochs) :]
    if len(changes) < 2:
        raise ValueError(f"need at least 3 consecutive epochs of bits, got {len(epoch_bits)}")
    p = EPOCH_SAMPLING_VAR
    last = float(changes[-1])
    if method == "moments":
        v = float(np.var(changes, ddof=1))
        poisson = 1.0 / RETARGET_INTERVAL
        var_within = max(1.5 * (v - 2 * poisson), _VAR_FLOOR)
        var_start = max(v - poisson - var_within / 3, _VAR_FLOOR)
        return DriftPrior(
            float(np.mean(changes)), var_start, var_within, v, len(changes), len(epoch_bits) - 1,
            None, 0.0, last, "moments",
        )
    g = float(np.median(changes))
    v = float((MAD_TO_SD * np.median(np.abs(changes - g))) ** 2)
    var_within = max(1.5 * (v - 2 * p), _VAR_FLOOR)
    var_c = 2 * var_within / 3 + 2 * p  # the model's Var c (= v unless floored)
    cov = var_within / 6 - p  # Cov(z0, last change)
    m0 = g / 2 - EPOCH_SAMPLING_MEAN + cov / var_c * (last - g)
    s0 = max(var_within / 3 + p - cov * cov / var_c, _VAR_FLOOR)
    return DriftPrior(g, s0, var_within, v, len(changes), len(epoch_bits) - 1, m0, g, last, "robust")


def _change_pct(bits: int, t0: int, span: float) -> tuple[int, float]:
    new_bits = next_work_required(bits, t0, t0 + int(round(span)))
    return new_bits, 100.0 * (difficulty(new_bits) / difficulty(bits) - 1.0)


def _bm_double_integral(a: float, b: float, c: float, d: float) -> float:
    """∫_a^b ∫_c^d min(s, t) dt ds for 0 ≤ a < b, 0 ≤ c < d (Brownian covariance, [6]_)."""

    def f(x: float, y: float) -> float:  # ∫_0^x ∫_0^y min(s, t) dt ds
        lo, hi = (x, y) if x <= y else (y, x)
        return lo * lo * hi / 2 - lo**3 / 6

    return f(b, d) - f(a, d) - f(b, c) + f(a, c)


def _cov_means(w1: tuple[float, float], w2: tuple[float, float], s0: float, s2: float) -> float:
    """Covariance of the means of ``s0-level + σ² Brownian motion`` over two windows [-]."""
    (a, b), (c, d) = w1, w2
    return s0 + s2 * _bm_double_integral(a, b, c, d) / ((b - a) * (d - c))


def observation_windows(
    epoch_start_time: int, now: int, block_times: np.ndarray | list[int], width_s: int = _DAY_S
) -> list[tuple[int, int, int]]:
    """Bin an epoch's blocks into windows of ``width_s`` ending at ``now``, for :func:`project_retarget`.

    Parameters
    ----------
    epoch_start_time : int
        Header time of the epoch's first block [unix s].
    now : int
        Time of the projection [unix s].
    block_times : array-like of int
        Header times of the blocks mined after the epoch's first (heights S+1..S+n) [unix s];
        times outside ``[epoch_start_time, now]`` (header times are not monotonic) are clamped.
    width_s : int
        Window width [s]; the earliest window, starting at ``epoch_start_time``, may be shorter.

    Returns
    -------
    list of (int, int, int)
        ``(start, end, blocks)`` [unix s, unix s, blocks], contiguous from ``epoch_start_time`` to
        ``now``; the block counts sum to ``len(block_times)``.
    """
    t0, now = int(epoch_start_time), int(now)
    if now <= t0:
        raise ValueError(f"now ({now}) must be after the epoch start time ({t0})")
    if width_s <= 0:
        raise ValueError(f"width_s must be > 0, got {width_s}")
    edges = list(range(now, t0, -int(width_s)))[::-1]
    edges = [t0, *edges] if edges[0] > t0 else edges
    t = np.clip(np.asarray(block_times, dtype=np.int64), t0, now)
    # window i is (edges[i], edges[i+1]]; the first also takes blocks at exactly t0
    idx = np.clip(np.searchsorted(np.asarray(edges[1:]), t, side="left"), 0, len(edges) - 2)
    counts = np.bincount(idx, minlength=len(edges) - 1)
    return [(edges[i], edges[i + 1], int(counts[i])) for i in range(len(edges) - 1)]


def _merge_small(windows: list[tuple[int, int, int]], min_blocks: int) -> list[tuple[int, int, int]]:
    """Merge windows with fewer than ``min_blocks`` blocks into their later (last: earlier) neighbour."""
    out: list[list[int]] = []
    carry: list[int] | None = None
    for a, b, k in windows:
        cur = [a, b, k] if carry is None else [carry[0], b, carry[2] + k]
        carry = cur if cur[2] < min_blocks else None
        if carry is None:
            out.append(cur)
    if carry is not None:
        if out:
            out[-1] = [out[-1][0], carry[1], out[-1][2] + carry[2]]
        else:
            out.append(carry)
    return [(a, b, k) for a, b, k in out]


def _check_windows(windows, t0: int, now: int, n: int) -> list[tuple[int, int, int]]:
    w = [(int(a), int(b), int(k)) for a, b, k in windows]
    if not w or w[0][0] != t0 or w[-1][1] != now:
        raise ValueError(f"windows must run from epoch_start_time ({t0}) to now ({now})")
    for (a, b, k), nxt in zip(w, [*w[1:], None], strict=True):
        if b <= a or k < 0 or (nxt is not None and nxt[0] != b):
            raise ValueError(f"windows must be contiguous, each with end > start and blocks >= 0; bad window {(a, b, k)}")
    if sum(k for _, _, k in w) != n:
        raise ValueError(f"window block counts sum to {sum(k for _, _, k in w)}, not blocks_mined = {n}")
    return w


#: Windows with fewer blocks are merged into a neighbour (the normal approximation of a
#: window's log rate needs a few blocks) [blocks].
MIN_WINDOW_BLOCKS: int = 10


def project_retarget(
    bits: int,
    epoch_start_time: int,
    blocks_mined: int,
    now: int,
    prior: DriftPrior,
    level: float = 0.9,
    last_block_time: int | None = None,
    windows: list[tuple[int, int, int]] | None = None,
) -> RetargetProjection:
    """Project the next difficulty change and retarget date with central intervals.

    Parameters
    ----------
    bits : int
        Compact target of the current epoch.
    epoch_start_time : int
        Header time of the epoch's first block [unix s].
    blocks_mined : int
        Blocks mined after the epoch's first block, 0–2015 (the tip is at height
        ``epoch_start_height + blocks_mined``).
    now : int
        Time of the projection, at or after the tip's header time [unix s].
    prior : DriftPrior
        From :func:`fit_drift_prior` on the epochs up to this one.
    level : float
        Central interval probability, in (0, 1); the 50 % interval is always reported too.
    last_block_time : int, optional
        Header time of the tip [unix s]; only used when ``blocks_mined`` is 2015, when the span
        is known. Defaults to ``now``.
    windows : list of (int, int, int), optional
        The observation split in time: ``(start, end, blocks)`` [unix s, unix s, blocks],
        contiguous from ``epoch_start_time`` to ``now``, counts summing to ``blocks_mined``
        (:func:`observation_windows` makes daily ones from block times). Each window's log
        rate is observed with variance 1/blocks and the rate of the rest of the epoch is
        conditioned on all of them, so recent blocks count for more than old ones when the
        hashrate has moved. Windows with fewer than :data:`MIN_WINDOW_BLOCKS` blocks are merged
        into a neighbour. Default: one window (the block count and elapsed time only).

    Returns
    -------
    RetargetProjection
        Exactly ``next_work_required(bits, epoch_start_time, last_block_time)`` when
        ``blocks_mined`` is 2015 (nothing left to mine).

    Notes
    -----
    See the module docstring for the model; :func:`backtest_projection` and
    :func:`backtest_projection_daily` check it on real epochs.
    """
    n = int(blocks_mined)
    t0 = int(epoch_start_time)
    now = int(now)
    if not 0 <= n <= RETARGET_INTERVALS:
        raise ValueError(f"blocks_mined must be within 0..{RETARGET_INTERVALS}, got {n}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if now < t0:
        raise ValueError(f"now ({now}) is before the epoch start time ({t0})")
    m = RETARGET_INTERVALS - n
    elapsed = float(now - t0)
    observed = TARGET_SPACING_S * n / elapsed if n > 0 and elapsed > 0 else float("nan")
    if m == 0:
        last = now if last_block_time is None else int(last_block_time)
        span = float(last - t0)
        new_bits, pct = _change_pct(bits, t0, span)
        return RetargetProjection(
            int(bits), t0, n, 0, now, level, new_bits, pct, pct, pct, last, last, last,
            float(TARGET_TIMESPAN_S / max(span, 1.0)), prior, pct, pct, pct, 0.0, observed,
        )
    g = prior.growth_per_epoch
    m0 = prior.mean_log_rate if prior.mean_start_level is None else prior.mean_start_level
    s0, s2 = prior.var_start_level, prior.var_within_epoch
    tau = min(elapsed / TARGET_TIMESPAN_S, 1.0)
    mean_past, mean_future = m0 + g * tau / 2, m0 + g * (1 + tau) / 2
    var_past = s0 + s2 * tau / 3
    var_future = s0 + s2 * (tau + (1 - tau) / 3)
    cov = s0 + s2 * tau / 2
    w = None
    if windows is not None and n > 0 and elapsed > 0:
        w = _merge_small(_check_windows(windows, t0, now, n), MIN_WINDOW_BLOCKS)
    if w is not None and len(w) > 1:
        # [3] Gaussian conditioning of the future mean on every window's log rate; the future
        # is the rest of the two weeks, or the remaining blocks at 600 s if that runs longer
        span_t = [((a - t0) / TARGET_TIMESPAN_S, (b - t0) / TARGET_TIMESPAN_S) for a, b, _ in w]
        tau_e = elapsed / TARGET_TIMESPAN_S
        fut = (tau_e, max(1.0, tau_e + m * TARGET_SPACING_S / TARGET_TIMESPAN_S))
        mu = np.array([m0 + g * (a + b) / 2 for a, b in span_t])
        sig = np.array([[_cov_means(wi, wj, s0, s2) for wj in span_t] for wi in span_t])
        k = np.array([_cov_means(wi, fut, s0, s2) for wi in span_t])
        obs = np.array([math.log(TARGET_SPACING_S * c / (b - a)) for a, b, c in w])
        noise = np.diag([1.0 / c for _, _, c in w])
        weights = np.linalg.solve(sig + noise, k)
        z_future = float(m0 + g * (fut[0] + fut[1]) / 2 + weights @ (obs - mu))
        var_z = float(_cov_means(fut, fut, s0, s2) - weights @ k)
        frac = np.array([(b - a) for a, b, _ in w], dtype=np.float64) / elapsed
        sig_p = sig @ frac  # Cov(window means, elapsed mean)
        var_p = float(frac @ sig_p)
        prior_weight = (var_p - float(sig_p @ np.linalg.solve(sig + noise, sig_p))) / var_p
    elif n > 0 and elapsed > 0:
        obs_all = math.log(observed)
        gain = cov / (var_past + 1.0 / n)
        z_future = mean_future + gain * (obs_all - mean_past)
        var_z = var_future - gain * cov
        prior_weight = (1.0 / n) / (var_past + 1.0 / n)
    else:
        z_future, var_z, prior_weight = mean_future, var_future, 1.0
    mean_log_r = math.log(TARGET_SPACING_S) - z_future + digamma(m)
    sd_log_r = math.sqrt(var_z + trigamma(m))

    def span_at(z: float) -> float:
        return elapsed + math.exp(mean_log_r + z * sd_log_r)

    zq = NormalDist().inv_cdf(0.5 + level / 2)  # [5]
    z50 = NormalDist().inv_cdf(0.75)
    mid, early, late = span_at(0.0), span_at(-zq), span_at(zq)
    new_bits, pct = _change_pct(bits, t0, mid)
    _, pct_high = _change_pct(bits, t0, early)  # fast blocks → short span → larger increase
    _, pct_low = _change_pct(bits, t0, late)
    _, pct_high_50 = _change_pct(bits, t0, span_at(-z50))
    _, pct_low_50 = _change_pct(bits, t0, span_at(z50))
    naive = _change_pct(bits, t0, elapsed * RETARGET_INTERVALS / n)[1] if n > 0 else float("nan")
    return RetargetProjection(
        int(bits), t0, n, m, now, level, new_bits, pct, pct_low, pct_high,
        t0 + int(round(mid)), t0 + int(round(early)), t0 + int(round(late)),
        math.exp(z_future), prior, pct_low_50, pct_high_50, naive, prior_weight, observed,
    )


def _checkpoint_row(
    epoch: int, checkpoint: int, n: int, t0: int, now: int, actual: float, bits: int, prior: DriftPrior,
    level: float, windows: list[tuple[int, int, int]] | None,
) -> dict:
    p = project_retarget(bits, t0, n, now, prior, level, windows=windows)
    return {
        "epoch": epoch,
        "checkpoint": checkpoint,
        "blocks_mined": n,
        "actual_pct": actual,
        "projected_pct": p.change_pct,
        "low_pct": p.change_pct_low,
        "high_pct": p.change_pct_high,
        "covered": p.change_pct_low <= actual <= p.change_pct_high,
        "naive_pct": p.naive_change_pct,
        "error_pp": abs(p.change_pct - actual),
        "naive_error_pp": abs(p.naive_change_pct - actual),
        "low50_pct": p.change_pct_low_50,
        "high50_pct": p.change_pct_high_50,
        "covered_50": p.change_pct_low_50 <= actual <= p.change_pct_high_50,
        "prior_weight": p.prior_weight,
    }


def _summarise(rows: list[dict], by: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    detail = pd.DataFrame(rows)
    if detail.empty:
        raise ValueError("no epoch in the data reaches a checkpoint")
    summary = (
        detail.assign(width_pp=detail.high_pct - detail.low_pct)
        .groupby(by)
        .agg(
            epochs=("epoch", "size"),
            covered=("covered", "sum"),
            median_error_pp=("error_pp", "median"),
            naive_median_error_pp=("naive_error_pp", "median"),
            median_width_pp=("width_pp", "median"),
            covered_50=("covered_50", "sum"),
            mean_error_pp=("error_pp", "mean"),
            naive_mean_error_pp=("naive_error_pp", "mean"),
            median_prior_weight=("prior_weight", "median"),
        )
        .reset_index()
    )
    return detail, summary


def backtest_projection(
    heights: np.ndarray,
    times: np.ndarray,
    epoch_bits: np.ndarray | list[int],
    checkpoints: tuple[int, ...] = BACKTEST_CHECKPOINTS,
    history_epochs: int = DEFAULT_HISTORY_EPOCHS,
    level: float = 0.9,
    method: str = "robust",
    window_s: int | None = _DAY_S,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Backtest :func:`project_retarget` on every complete epoch in per-block data.

    Parameters
    ----------
    heights, times : array-like of int
        Per-block heights and header times [unix s] (gaps allowed).
    epoch_bits : array-like of int
        Compact target of every epoch 0..E (index = epoch), e.g. the epochs table's ``bits``.
    checkpoints : tuple of int
        Blocks mined after the epoch's first block at which to project; "now" is the header
        time of that block.
    history_epochs : int
        Drift-prior history (changes up to the projected epoch's own difficulty only).
    level : float
        Interval probability (the 50 % interval is scored as well).
    method : {'robust', 'moments'}
        Drift-prior fit (:func:`fit_drift_prior`).
    window_s : int or None
        Observation windows of this width ending at "now" (:func:`observation_windows`);
        None observes only the block count and elapsed time.

    Returns
    -------
    detail : pandas.DataFrame
        One row per (epoch, checkpoint): ``epoch``, ``checkpoint``, ``blocks_mined``,
        ``actual_pct``, ``projected_pct``, ``low_pct``, ``high_pct``, ``covered``, ``naive_pct``
        (average block time so far: span = (now − t0)·2015/n), ``error_pp``,
        ``naive_error_pp`` [pp], ``low50_pct``, ``high50_pct``, ``covered_50``,
        ``prior_weight``.
    summary : pandas.DataFrame
        Per checkpoint: ``blocks_mined``, ``epochs``, ``covered``, ``median_error_pp``,
        ``naive_median_error_pp``, ``median_width_pp``, ``covered_50``, ``mean_error_pp``,
        ``naive_mean_error_pp``, ``median_prior_weight``.
    """
    h = np.asarray(heights, dtype=np.int64)
    t = np.asarray(times, dtype=np.int64)
    time_at = dict(zip(h.tolist(), t.tolist(), strict=True))
    eb = [int(b) for b in epoch_bits]
    rows = []
    for e in range(len(eb)):
        s = e * RETARGET_INTERVAL
        if not all((s + k) in time_at for k in range(RETARGET_INTERVAL)) or e < 3:
            continue
        t0 = time_at[s]
        _, actual = _change_pct(eb[e], t0, time_at[s + RETARGET_INTERVALS] - t0)
        prior = fit_drift_prior(eb[: e + 1], history_epochs, method)
        for n in checkpoints:
            now = time_at[s + n]
            win = None
            if window_s is not None:
                win = observation_windows(t0, now, [time_at[s + k] for k in range(1, n + 1)], window_s)
            rows.append(_checkpoint_row(e, n, n, t0, now, actual, eb[e], prior, level, win))
    if not rows:
        raise ValueError("no complete epoch in the per-block data")
    detail, summary = _summarise(rows, "checkpoint")
    return detail, summary.rename(columns={"checkpoint": "blocks_mined"})


def blocks_before_day_ends(
    day_starts: np.ndarray, blk_cnt: np.ndarray, heights: np.ndarray, times: np.ndarray
) -> np.ndarray:
    """Blocks with a header time before each UTC day's end, from daily counts and per-block data.

    Daily block counts (Coin Metrics ``BlkCnt`` counts blocks by header time) give the number
    of blocks up to each midnight up to a constant; the constant is read off one midnight that
    per-block data cover, and every other covered midnight is checked against it.

    Parameters
    ----------
    day_starts : array-like of int
        Consecutive UTC days, each as its 00:00 [unix s].
    blk_cnt : array-like of int
        Blocks per day [blocks].
    heights, times : array-like of int
        Per-block heights and header times [unix s] (gap-free runs of at least two days).

    Returns
    -------
    numpy.ndarray
        Blocks (heights 0 upwards) with header time < ``day_start + 86,400``, per day.

    Raises
    ------
    ValueError
        If the days are not consecutive, no midnight lies inside a per-block run (a day away
        from its ends, where header times out of order cannot matter), or the two sources
        disagree at a covered midnight (naming the date).
    """
    d = np.asarray(day_starts, dtype=np.int64)
    c = np.asarray(blk_cnt, dtype=np.int64)
    if len(d) == 0 or len(d) != len(c):
        raise ValueError(f"day_starts and blk_cnt must be non-empty and of equal length, got {len(d)} and {len(c)}")
    if (np.diff(d) != _DAY_S).any():
        i = int(np.flatnonzero(np.diff(d) != _DAY_S)[0])
        raise ValueError(f"daily counts are not consecutive after {pd.to_datetime(d[i], unit='s').date()}")
    ends = d + _DAY_S
    cum = np.cumsum(c)
    h = np.asarray(heights, dtype=np.int64)
    t = np.asarray(times, dtype=np.int64)
    offsets: list[tuple[int, int]] = []
    if len(h):
        breaks = np.flatnonzero(np.diff(h) != 1) + 1
        for a, b in zip(np.r_[0, breaks], np.r_[breaks, len(h)], strict=True):
            rt = t[a:b]
            inside = np.flatnonzero((ends >= rt[0] + _DAY_S) & (ends <= rt[-1] - _DAY_S))
            for i in inside:
                true = int(h[a]) + int((rt < ends[i]).sum())
                offsets.append((int(i), true - int(cum[i])))
    if not offsets:
        raise ValueError("no day end lies inside the per-block data: cannot anchor the daily counts")
    _, off = offsets[0]
    for i, o in offsets:
        if o != off:
            day = pd.to_datetime(d[i], unit="s").date()
            raise ValueError(
                f"daily block count disagrees with per-block data at the end of {day}: "
                f"{int(cum[i] + off)} vs {int(cum[i] + o)} blocks"
            )
    return cum + off


def backtest_projection_daily(
    day_starts: np.ndarray,
    blocks_before: np.ndarray,
    epoch_bits: np.ndarray | list[int],
    epoch_start_times: np.ndarray,
    checkpoints: tuple[int, ...] = BACKTEST_CHECKPOINTS,
    history_epochs: int = DEFAULT_HISTORY_EPOCHS,
    level: float = 0.9,
    method: str = "robust",
    exclude_epochs: tuple[int, ...] | set[int] = (),
    daily_windows: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Backtest :func:`project_retarget` at UTC midnights, on epochs without per-block data.

    At each checkpoint c the projection is made at the first midnight after the epoch's start
    at which at least c blocks are mined (n from :func:`blocks_before_day_ends`, "now" = that
    midnight); the actual change comes from the next epoch's bits (exact). This extends the
    backtest to every epoch the daily block counts cover, e.g. 2021-12 to 2025-02 with the
    bundle's Coin Metrics counts and epoch start times.

    Parameters
    ----------
    day_starts : array-like of int
        Consecutive UTC days, each as its 00:00 [unix s].
    blocks_before : array-like of int
        Blocks with header time before each day's end (:func:`blocks_before_day_ends`).
    epoch_bits : array-like of int
        Compact target of every epoch 0..E (index = epoch).
    epoch_start_times : array-like of float
        Header time of each epoch's first block [unix s], NaN where unknown.
    checkpoints : tuple of int
        Minimum blocks mined after the epoch's first block.
    history_epochs : int
        Drift-prior history.
    level : float
        Interval probability (the 50 % interval is scored as well).
    method : {'robust', 'moments'}
        Drift-prior fit.
    exclude_epochs : collection of int
        Epochs to leave out (e.g. those :func:`backtest_projection` covers).
    daily_windows : bool
        Observe each UTC day's count as its own window (the first from the epoch's start to
        the next midnight); False observes only the block count and elapsed time.

    Returns
    -------
    detail, summary : pandas.DataFrame
        As :func:`backtest_projection`; ``checkpoint`` is the target and ``blocks_mined`` the
        blocks actually mined at the midnight used; the summary is per ``checkpoint`` and adds
        ``median_blocks_mined``.
    """
    ends = np.asarray(day_starts, dtype=np.int64) + _DAY_S
    before = np.asarray(blocks_before, dtype=np.int64)
    starts = np.asarray(epoch_start_times, dtype=np.float64)
    eb = [int(b) for b in epoch_bits]
    skip = {int(e) for e in exclude_epochs}
    rows = []
    for e in range(3, min(len(eb) - 1, len(starts))):
        if e in skip or math.isnan(starts[e]):
            continue
        t0 = int(starts[e])
        s = e * RETARGET_INTERVAL
        nxt = starts[e + 1] if e + 1 < len(starts) else math.nan
        mined = before - 1 - s  # blocks after the epoch's first, at each midnight
        ok = (ends > t0) & (mined >= 0) & (mined <= RETARGET_INTERVALS - 1)
        if not math.isnan(nxt):
            ok &= ends < nxt
        if not ok.any():
            continue
        actual = 100.0 * (difficulty(eb[e + 1]) / difficulty(eb[e]) - 1.0)
        prior = None
        for c in checkpoints:
            idx = np.flatnonzero(ok & (mined >= c))
            if len(idx) == 0:
                continue
            i = int(idx[0])
            prior = prior or fit_drift_prior(eb[: e + 1], history_epochs, method)
            win = None
            if daily_windows:
                j0 = int(np.flatnonzero(ends > t0)[0])
                win = [(t0, int(ends[j0]), int(mined[j0]))] + [
                    (int(ends[j - 1]), int(ends[j]), int(mined[j] - mined[j - 1])) for j in range(j0 + 1, i + 1)
                ]
            rows.append(_checkpoint_row(e, c, int(mined[i]), t0, int(ends[i]), actual, eb[e], prior, level, win))
    if not rows:
        raise ValueError("no epoch in the daily counts reaches a checkpoint")
    detail, summary = _summarise(rows, "checkpoint")
    med = detail.groupby("checkpoint").blocks_mined.median().rename("median_blocks_mined")
    return detail, summary.merge(med.reset_index(), on="checkpoint")
