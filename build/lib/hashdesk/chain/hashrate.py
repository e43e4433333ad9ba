"""Hashrate estimators over per-block data and over difficulty epochs.

Every estimator here is "work done / time it took": Σ work / elapsed seconds, where the work of
a block is Bitcoin Core's ``GetBlockProof`` (``2**256 // (target + 1)`` expected hashes). Work is
exact per block (Python ints) and converted to float64 only for the statistic itself.

Three estimators, each reporting its window in words (:attr:`HashrateEstimate.window`):

* **fixed time window** [a, b): Σ work of the blocks whose header time lies in [a, b), divided
  by b − a. The number of blocks in a fixed window is Poisson, so the estimate is unbiased for a
  constant hashrate; this is the estimator for daily and 7-day series.
* **last N blocks**: the N blocks span N − 1 intervals, so the work of the *first* block was
  done before the window opened. We divide the work of blocks 2..N by ``t_N − t_1`` (never N
  blocks' work by N − 1 intervals, which would overstate by N/(N−1)). Its remaining bias is
  Jensen's: with k = N − 1 Gamma-distributed intervals, E[k·w/T] = H·k/(k − 1); pass
  ``bias_correct=True`` to multiply by (k − 1)/k.
* **epoch**: from the epochs table alone (one start time per 2016 blocks), the 2016 intervals
  between the first blocks of epochs e and e + 1 carry the work of 2015 blocks at epoch e's
  target plus one at e + 1's. This covers dates without per-block data.

Header times are not monotonic (median-time-past rule). Blocks are assigned to fixed windows by
their own header time (as Coin Metrics counts blocks per day); N-block windows take their end
points by block order and return NaN when ``t_N − t_1 <= 0``; elapsed time is never negative.

References
----------
.. [1] Bitcoin Core, ``src/chain.cpp`` ``GetBlockProof``.
.. [2] Bitcoin Core, ``src/rpc/mining.cpp`` ``GetNetworkHashPS`` (work over the last N blocks
   divided by the time between their first and last block).
.. [3] Coin Metrics, "HashRate" and "BlkCnt" metric definitions (blocks counted per UTC day by
   header time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from hashdesk.chain.consensus import RETARGET_INTERVAL, block_work, block_work_float
from hashdesk.units import HS_PER_EHS
from hashdesk.units import SECONDS_PER_DAY as DAY_S


@dataclass(frozen=True)
class HashrateEstimate:
    """One hashrate estimate and the window it was measured over.

    Attributes
    ----------
    hashrate_ehs : float
        Estimate [EH/s] (NaN when the window holds no usable interval).
    start : int
        Window start [unix s].
    end : int
        Window end [unix s].
    blocks : int
        Blocks whose work is counted [blocks].
    method : str
        ``"time-window"``, ``"last-n-blocks"`` or ``"epoch"``.
    window : str
        The window in words, e.g. ``"7 days 2024-01-09 00:00 → 2024-01-16 00:00 UTC, 1,004
        blocks by header time"``.
    """

    hashrate_ehs: float
    start: int
    end: int
    blocks: int
    method: str
    window: str


def utc_text(t: int | float) -> str:
    """Format a unix time as ``YYYY-MM-DD HH:MM UTC`` (minute resolution)."""
    return datetime.fromtimestamp(int(t), tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def block_work_exact(bits: np.ndarray | list[int]) -> np.ndarray:
    """Exact work per block [hashes] as an object array of Python ints (``GetBlockProof``).

    Parameters
    ----------
    bits : array-like of int
        Compact targets, one per block.

    Returns
    -------
    numpy.ndarray
        dtype ``object``; each value ``2**256 // (target + 1)``. Computed once per distinct
        ``bits`` value (a chain has one per epoch), so a whole chain costs a few hundred
        big-int divisions.
    """
    arr = np.asarray(bits, dtype=np.int64)
    uniq, inv = np.unique(arr, return_inverse=True)
    vals = np.empty(len(uniq), dtype=object)
    vals[:] = [block_work(int(b)) for b in uniq]
    return vals[inv]


def contiguous_runs(heights: np.ndarray) -> list[slice]:
    """Index slices of runs of consecutive heights (``h[i+1] == h[i] + 1``).

    Parameters
    ----------
    heights : array-like of int
        Block heights sorted ascending, without duplicates.

    Returns
    -------
    list of slice
        One slice per gap-free run, in order.
    """
    h = np.asarray(heights, dtype=np.int64)
    if len(h) == 0:
        return []
    if (np.diff(h) <= 0).any():
        raise ValueError("heights must be strictly increasing")
    breaks = np.flatnonzero(np.diff(h) != 1) + 1
    edges = np.concatenate([[0], breaks, [len(h)]])
    return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def hashrate_time_windows(
    times: np.ndarray, bits: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Σ work / width over fixed time windows [H/s].

    Parameters
    ----------
    times : array-like of int
        Header times [unix s], one per block of a gap-free run (any order; not monotonic).
    bits : array-like of int
        Compact targets of the same blocks.
    edges : array-like of int
        Window edges [unix s], strictly increasing; window i is ``[edges[i], edges[i+1])``.

    Returns
    -------
    hashrate_hs : numpy.ndarray
        Estimate per window [H/s].
    blocks : numpy.ndarray
        Blocks per window (by header time).

    Notes
    -----
    ``H_i = Σ_{t_j ∈ [e_i, e_{i+1})} w_j / (e_{i+1} − e_i)``. The caller must make sure the run
    covers each window (see :func:`daily_hashrate`); a block belongs to the window holding its
    own header time, so a non-monotonic time moves at most one block across an edge.

    References
    ----------
    .. [1] Coin Metrics, "HashRate" metric definition.
    """
    t = np.asarray(times, dtype=np.int64)
    e = np.asarray(edges, dtype=np.int64)
    if len(e) < 2 or (np.diff(e) <= 0).any():
        raise ValueError("edges must hold at least two strictly increasing times")
    w = block_work_float(bits)
    idx = np.searchsorted(e, t, side="right") - 1
    inside = (idx >= 0) & (idx < len(e) - 1)
    work = np.bincount(idx[inside], weights=w[inside], minlength=len(e) - 1)
    count = np.bincount(idx[inside], minlength=len(e) - 1)
    return work / np.diff(e).astype(np.float64), count


def covered_span(times: np.ndarray) -> tuple[int, int]:
    """Interval of time a gap-free run covers completely [unix s].

    Blocks outside the run can carry header times up to the median of the previous 11 blocks
    earlier than the run's extremes, so the run covers [max of its first 11 times, min of its
    last 11 times] for sure.
    """
    t = np.asarray(times, dtype=np.int64)
    k = min(11, len(t))
    return int(t[:k].max()), int(t[-k:].min())


def daily_hashrate(heights: np.ndarray, times: np.ndarray, bits: np.ndarray) -> pd.DataFrame:
    """Daily hashrate from per-block data, one row per whole UTC day covered [EH/s].

    Parameters
    ----------
    heights : array-like of int
        Block heights, strictly increasing (gaps allowed; each gap-free run is used alone).
    times : array-like of int
        Header times [unix s].
    bits : array-like of int
        Compact targets.

    Returns
    -------
    pandas.DataFrame
        Columns ``date`` (UTC day, naive Timestamp), ``blocks``, ``hashrate_ehs`` [EH/s]. Only days that a run
        covers completely are listed (partial first and last days are dropped).

    Notes
    -----
    A fixed 86,400-s window: ``H = Σ work of the day's blocks / 86,400 s`` (unbiased; no N−1
    correction needed). Counting by header time reproduces Coin Metrics' ``BlkCnt``.
    """
    h = np.asarray(heights, dtype=np.int64)
    t = np.asarray(times, dtype=np.int64)
    b = np.asarray(bits, dtype=np.int64)
    frames = []
    for run in contiguous_runs(h):
        lo, hi = covered_span(t[run])
        first_day = -(-lo // DAY_S) * DAY_S
        last_day = (hi // DAY_S) * DAY_S
        if last_day - first_day < DAY_S:
            continue
        edges = np.arange(first_day, last_day + 1, DAY_S, dtype=np.int64)
        hs, count = hashrate_time_windows(t[run], b[run], edges)
        frames.append(
            pd.DataFrame(
                {
                    "date": pd.to_datetime(edges[:-1], unit="s"),
                    "blocks": count,
                    "hashrate_ehs": hs / HS_PER_EHS,
                }
            )
        )
    if not frames:
        return pd.DataFrame({
            "date": pd.to_datetime([]), "blocks": np.array([], dtype=np.int64),
            "hashrate_ehs": np.array([], dtype=np.float64),
        })
    return pd.concat(frames, ignore_index=True)


def trailing_hashrate(
    heights: np.ndarray,
    times: np.ndarray,
    bits: np.ndarray,
    at: int,
    window_s: int = 7 * DAY_S,
) -> HashrateEstimate:
    """Hashrate over the fixed window ``[at − window_s, at)`` [EH/s].

    Parameters
    ----------
    heights, times, bits : array-like of int
        Per-block heights, header times [unix s] and compact targets.
    at : int
        Window end [unix s] (exclusive).
    window_s : int
        Window length [s]; 7 days by default.

    Returns
    -------
    HashrateEstimate

    Raises
    ------
    ValueError
        When no gap-free run of blocks covers the whole window.
    """
    h = np.asarray(heights, dtype=np.int64)
    t = np.asarray(times, dtype=np.int64)
    b = np.asarray(bits, dtype=np.int64)
    start, end = int(at) - int(window_s), int(at)
    for run in contiguous_runs(h):
        lo, hi = covered_span(t[run])
        if lo <= start and end <= hi:
            hs, count = hashrate_time_windows(t[run], b[run], np.array([start, end]))
            days = window_s / DAY_S
            span = f"{days:g} days" if days >= 1 else f"{window_s / 3600:g} hours"
            words = (
                f"{span} {utc_text(start)} → {utc_text(end)}, {int(count[0]):,} blocks "
                "by header time (Σ work / window length)"
            )
            return HashrateEstimate(
                float(hs[0]) / HS_PER_EHS, start, end, int(count[0]), "time-window", words
            )
    raise ValueError(
        f"per-block data does not cover {utc_text(start)} → {utc_text(end)}: "
        "no gap-free run of heights spans that window"
    )


def hashrate_over_blocks(
    times: np.ndarray, bits: np.ndarray, n: int, bias_correct: bool = False
) -> np.ndarray:
    """Rolling hashrate over the last ``n`` blocks of a gap-free run [H/s].

    Parameters
    ----------
    times : array-like of int
        Header times [unix s], in height order.
    bits : array-like of int
        Compact targets.
    n : int
        Blocks per window (>= 2); the window holds ``n − 1`` intervals.
    bias_correct : bool
        Multiply by ``(k − 1)/k`` with ``k = n − 1`` to remove Jensen's bias of a ratio with a
        Gamma-distributed denominator (exact for a constant hashrate).

    Returns
    -------
    numpy.ndarray
        Value at index i uses blocks ``i − n + 1 .. i``: ``Σ_{j=i−n+2}^{i} w_j / (t_i − t_{i−n+1})``.
        NaN for the first ``n − 1`` entries and wherever the elapsed time is not positive.

    References
    ----------
    .. [1] Bitcoin Core, ``src/rpc/mining.cpp`` ``GetNetworkHashPS``.
    """
    n = int(n)
    if n < 2:
        raise ValueError(f"n must be >= 2 blocks, got {n}")
    t = np.asarray(times, dtype=np.int64)
    w = block_work_float(bits)
    out = np.full(len(t), np.nan)
    if len(t) < n:
        return out
    cw = np.concatenate([[0.0], np.cumsum(w)])
    i = np.arange(n - 1, len(t))
    work = cw[i + 1] - cw[i - n + 2]  # blocks i-n+2 .. i
    elapsed = (t[i] - t[i - n + 1]).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.where(elapsed > 0, work / elapsed, np.nan)
    if bias_correct:
        k = n - 1
        est = est * (k - 1) / k if k > 1 else np.full_like(est, np.nan)
    out[n - 1 :] = est
    return out


def epoch_hashrate(bits: np.ndarray, start_times: np.ndarray) -> np.ndarray:
    """Mean hashrate of each difficulty epoch from epoch start times alone [H/s].

    Parameters
    ----------
    bits : array-like of int
        Compact target of epochs 0..E−1 (consecutive).
    start_times : array-like of float
        Header time of each epoch's first block [unix s]; NaN where unknown.

    Returns
    -------
    numpy.ndarray
        ``H_e = (2015·w_e + w_{e+1}) / (s_{e+1} − s_e)``: the 2016 intervals between the first
        blocks of e and e + 1 carry the work of blocks 2..2016 of epoch e plus the first block
        of e + 1. NaN for the last epoch and where a start time is unknown or the elapsed time
        is not positive.
    """
    w = block_work_float(bits)
    s = np.asarray(start_times, dtype=np.float64)
    if len(w) != len(s):
        raise ValueError(f"bits ({len(w)}) and start_times ({len(s)}) differ in length")
    out = np.full(len(w), np.nan)
    if len(w) < 2:
        return out
    elapsed = s[1:] - s[:-1]
    work = (RETARGET_INTERVAL - 1) * w[:-1] + w[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:-1] = np.where(elapsed > 0, work / elapsed, np.nan)
    return out


def epoch_window_words(epoch: int, start_time: int, end_time: int) -> str:
    """Describe the epoch estimator's window, e.g. ``"epoch 410 (heights 826,560–828,575) …"``."""
    first = int(epoch) * RETARGET_INTERVAL
    return (
        f"epoch {epoch} (heights {first:,}–{first + RETARGET_INTERVAL - 1:,}), "
        f"{utc_text(start_time)} → {utc_text(end_time)}, 2016 block intervals "
        "between epoch start times (Σ work / elapsed)"
    )
