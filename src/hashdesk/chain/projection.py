"""Projection of the next difficulty retarget with a calibrated 90% interval.

The retarget at the end of an epoch that started at height S (time ``t0``) depends only on
``span = time(S + 2015) − t0``. After ``n`` blocks (heights S+1..S+n) and at time ``now`` the
span is ``(now − t0) + R`` where R is the time the remaining ``m = 2015 − n`` blocks take.

Model (log relative rate ``z = log(H · 600 s / w)``, 0 when blocks come every 600 s):

1. *Block arrival.* For a known rate, ``R = 600 s · G / e^z`` with ``G ~ Gamma(m, 1)`` (hashes
   for m blocks are Gamma(m, work); memoryless, so it holds from ``now`` whatever the time since
   the last block). ``log G`` has mean ψ(m) and variance ψ'(m) (digamma, trigamma).
2. *Hashrate drift.* Within the epoch, z follows a Brownian motion with variance σ² per epoch
   from a start level z0 ~ N(μ, s0²). The past mean ``z_p`` (over the elapsed fraction τ of
   the epoch) and the future mean ``z_f`` (over the rest) are jointly normal:
   Var z_p = s0² + σ²τ/3, Var z_f = s0² + σ²(τ + (1 − τ)/3), Cov = s0² + σ²τ/2.
3. *Observation.* n blocks in ``now − t0`` seconds give ``o = log(600 n / (now − t0))`` =
   z_p + ε with Var ε = 1/n (Poisson); z_f | o is the Gaussian conditional.
4. *Prior from the epochs history, no look-ahead.* The last ``history_epochs`` log difficulty
   changes ``c_k = log(D_{k+1}/D_k)`` known when the epoch started (each is epoch k's log rate
   relative to its own difficulty, with 1/2016 Poisson variance) give μ = mean(c),
   V = var(c); consecutive epoch means of a Brownian motion differ with variance 2σ²/3, so
   σ² = 1.5 (V − 2/2016) and s0² = V − 1/2016 − σ²/3 (each floored at 1e-5).

``log R`` is taken as normal with mean ``log 600 − E[z_f|o] + ψ(m)`` and variance
``Var[z_f|o] + ψ'(m)``; the span's quantiles map through the exact consensus rule
(:func:`~hashdesk.chain.consensus.next_work_required`) because the new difficulty and the
retarget date are monotone in the span. With m = 0 the span is known and the projection *is*
``next_work_required(bits, t0, now)``.

References
----------
.. [1] Bitcoin Core, ``src/pow.cpp`` ``CalculateNextWorkRequired``.
.. [2] Bowden, Keeler, Krzesinski, Taylor (2018), "Block arrivals in the Bitcoin blockchain",
   arXiv:1801.07447 (Poisson arrivals modulated by a changing hashrate).
.. [3] Brockwell & Davis (2002), *Introduction to Time Series and Forecasting*, §8 (Gaussian
   conditioning / Kalman update used in step 3).
.. [4] Abramowitz & Stegun (1964), *Handbook of Mathematical Functions*, 6.3.5, 6.3.18, 6.4.6
   and 6.4.12 (digamma and trigamma: recurrence and asymptotic series).
.. [5] Wichura (1988), "Algorithm AS 241: The percentage points of the normal distribution",
   Applied Statistics 37(3) (``statistics.NormalDist.inv_cdf``).
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
_VAR_FLOOR: float = 1e-5


@dataclass(frozen=True)
class DriftPrior:
    """Hashrate-drift prior fitted on past difficulty changes.

    Attributes
    ----------
    mean_log_rate : float
        μ: mean log rate relative to difficulty (≈ mean log difficulty change) [-].
    var_start_level : float
        s0²: variance of the epoch's starting log rate [-].
    var_within_epoch : float
        σ²: Brownian variance of log hashrate per epoch [-].
    var_log_change : float
        V: sample variance of the log difficulty changes used [-].
    epochs_used : int
        Number of changes in the fit.
    last_epoch : int
        Epoch whose (start) difficulty is the last one used.
    """

    mean_log_rate: float
    var_start_level: float
    var_within_epoch: float
    var_log_change: float
    epochs_used: int
    last_epoch: int


@dataclass(frozen=True)
class RetargetProjection:
    """Projected next retarget: point estimate and a central interval.

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
        Projected difficulty change [%] (point estimate, median span).
    change_pct_low, change_pct_high : float
        Interval bounds of the change [%].
    retarget_time : int
        Projected header time of the epoch's last block, when the new target is fixed [unix s].
    retarget_time_early, retarget_time_late : int
        Interval bounds of that time [unix s].
    expected_rate_vs_target : float
        Projected hashrate for the rest of the epoch relative to the difficulty's (1.0 = 600 s
        blocks) [-].
    prior : DriftPrior
        The drift prior used.
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


def fit_drift_prior(
    epoch_bits: np.ndarray | list[int], history_epochs: int = DEFAULT_HISTORY_EPOCHS
) -> DriftPrior:
    """Fit the drift prior on the last ``history_epochs`` difficulty changes.

    Parameters
    ----------
    epoch_bits : array-like of int
        Compact targets of epochs 0..e (or any consecutive run ending at the epoch being
        projected). Only these are used, so the fit uses nothing after epoch e's start.
    history_epochs : int
        Number of most recent changes to use (>= 2).

    Returns
    -------
    DriftPrior
        See the module docstring for the moment equations.
    """
    changes = log_difficulty_changes(epoch_bits)[-int(history_epochs) :]
    if len(changes) < 2:
        raise ValueError(f"need at least 3 consecutive epochs of bits, got {len(epoch_bits)}")
    v = float(np.var(changes, ddof=1))
    poisson = 1.0 / RETARGET_INTERVAL
    var_within = max(1.5 * (v - 2 * poisson), _VAR_FLOOR)
    var_start = max(v - poisson - var_within / 3, _VAR_FLOOR)
    return DriftPrior(
        float(np.mean(changes)), var_start, var_within, v, len(changes), len(epoch_bits) - 1
    )


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


def _change_pct(bits: int, t0: int, span: float) -> tuple[int, float]:
    new_bits = next_work_required(bits, t0, t0 + int(round(span)))
    return new_bits, 100.0 * (difficulty(new_bits) / difficulty(bits) - 1.0)


def project_retarget(
    bits: int,
    epoch_start_time: int,
    blocks_mined: int,
    now: int,
    prior: DriftPrior,
    level: float = 0.9,
    last_block_time: int | None = None,
) -> RetargetProjection:
    """Project the next difficulty change and retarget date with a central interval.

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
        Central interval probability, in (0, 1).
    last_block_time : int, optional
        Header time of the tip [unix s]; only used when ``blocks_mined`` is 2015, when the span
        is known. Defaults to ``now``.

    Returns
    -------
    RetargetProjection
        Exactly ``next_work_required(bits, epoch_start_time, last_block_time)`` when
        ``blocks_mined`` is 2015 (nothing left to mine).

    Notes
    -----
    See the module docstring for the model. The interval is calibrated on real epochs by
    :func:`backtest_projection`.
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
    if m == 0:
        last = now if last_block_time is None else int(last_block_time)
        span = float(last - t0)
        new_bits, pct = _change_pct(bits, t0, span)
        return RetargetProjection(
            int(bits), t0, n, 0, now, level, new_bits, pct, pct, pct, last, last, last,
            float(TARGET_TIMESPAN_S / max(span, 1.0)), prior,
        )
    mu, s0, s2 = prior.mean_log_rate, prior.var_start_level, prior.var_within_epoch
    tau = min(elapsed / TARGET_TIMESPAN_S, 1.0)
    var_past = s0 + s2 * tau / 3
    var_future = s0 + s2 * (tau + (1 - tau) / 3)
    cov = s0 + s2 * tau / 2
    if n > 0 and elapsed > 0:
        obs = math.log(TARGET_SPACING_S * n / elapsed)
        gain = cov / (var_past + 1.0 / n)
        z_future = mu + gain * (obs - mu)
        var_z = var_future - gain * cov
    else:
        z_future, var_z = mu, var_future
    mean_log_r = math.log(TARGET_SPACING_S) - z_future + digamma(m)
    sd_log_r = math.sqrt(var_z + trigamma(m))
    zq = NormalDist().inv_cdf(0.5 + level / 2)  # [5]

    def span_at(z: float) -> float:
        return elapsed + math.exp(mean_log_r + z * sd_log_r)

    mid, early, late = span_at(0.0), span_at(-zq), span_at(zq)
    new_bits, pct = _change_pct(bits, t0, mid)
    _, pct_high = _change_pct(bits, t0, early)  # fast blocks → short span → larger increase
    _, pct_low = _change_pct(bits, t0, late)
    return RetargetProjection(
        int(bits), t0, n, m, now, level, new_bits, pct, pct_low, pct_high,
        t0 + int(round(mid)), t0 + int(round(early)), t0 + int(round(late)),
        math.exp(z_future), prior,
    )


def backtest_projection(
    heights: np.ndarray,
    times: np.ndarray,
    epoch_bits: np.ndarray | list[int],
    checkpoints: tuple[int, ...] = BACKTEST_CHECKPOINTS,
    history_epochs: int = DEFAULT_HISTORY_EPOCHS,
    level: float = 0.9,
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
        Interval probability.

    Returns
    -------
    detail : pandas.DataFrame
        One row per (epoch, checkpoint): ``epoch``, ``blocks_mined``, ``actual_pct``,
        ``projected_pct``, ``low_pct``, ``high_pct``, ``covered``, ``naive_pct`` (average block
        time so far: span = (now − t0)·2015/n), ``error_pp``, ``naive_error_pp`` [pp].
    summary : pandas.DataFrame
        Per checkpoint: ``blocks_mined``, ``epochs``, ``covered``, ``median_error_pp``,
        ``naive_median_error_pp``, ``median_width_pp``.
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
        prior = fit_drift_prior(eb[: e + 1], history_epochs)
        for n in checkpoints:
            now = time_at[s + n]
            p = project_retarget(eb[e], t0, n, now, prior, level)
            _, naive = _change_pct(eb[e], t0, (now - t0) * RETARGET_INTERVALS / n)
            rows.append(
                {
                    "epoch": e,
                    "blocks_mined": n,
                    "actual_pct": actual,
                    "projected_pct": p.change_pct,
                    "low_pct": p.change_pct_low,
                    "high_pct": p.change_pct_high,
                    "covered": p.change_pct_low <= actual <= p.change_pct_high,
                    "naive_pct": naive,
                    "error_pp": abs(p.change_pct - actual),
                    "naive_error_pp": abs(naive - actual),
                }
            )
    detail = pd.DataFrame(rows)
    if detail.empty:
        raise ValueError("no complete epoch in the per-block data")
    summary = (
        detail.assign(width_pp=detail.high_pct - detail.low_pct)
        .groupby("blocks_mined")
        .agg(
            epochs=("epoch", "size"),
            covered=("covered", "sum"),
            median_error_pp=("error_pp", "median"),
            naive_median_error_pp=("naive_error_pp", "median"),
            median_width_pp=("width_pp", "median"),
        )
        .reset_index()
    )
    return detail, summary
