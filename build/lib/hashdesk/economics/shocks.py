"""Network hashrate shocks (storms, curtailment) and their effect on a miner that stayed online.

Detection works on a daily network hashrate series [EH/s]:

- *signal*: the 3-day centred mean of the daily values (Coin Metrics' daily hashrate is
  ``blocks × work / 86,400 s``, so one day carries Poisson noise of about ``1/√144 ≈ 8.3%``; a
  3-day mean about 4.8%);
- *baseline*: the median of the previous ``window_days`` daily values (trailing, excluding the
  day itself, so a shock does not pull its own baseline down);
- a *shock* is a run of at least ``min_days`` days whose signal lies below
  ``baseline × (1 − threshold)``, extended on both sides over days whose raw value is still below
  ``baseline × (1 − threshold/2)``, and kept only when its block deficit is significant:
  ``z = Σ_d (1 − H_d/baseline) · √(144/days) ≥ min_z`` (each day's relative noise is
  ``1/√144``). With the defaults (28 days, 10%, 3 days, 2 days, z ≥ 3.5), simulated flat
  Poisson days raise about 0.25 false alarms a year (1.2 without the z rule); on Coin Metrics
  2022–2025 the rule keeps Dec 2022 (z 3.8), Jan 2024 (z 3.9) and Jun 2025 (z 4.9) and drops
  three dips with z ≈ 3.2 that noise alone could produce.

Within an epoch a miner's expected blocks per hash are fixed by the difficulty (DESIGN.md §3):
when others curtail, the remaining miner's expected BTC per PH per day does not rise; its share
of the (fewer) blocks does, blocks come slower, and fees per block may rise. The windfall comes
after the next retarget, when difficulty has fallen and hashrate is back. Demand-response credits
are a separate line.

References
----------
.. [1] DESIGN.md §3 (revenue per hash within an epoch).
.. [2] Bitcoin Core ``CalculateNextWorkRequired`` (retarget rule), via
   :func:`hashdesk.chain.consensus.next_work_required`.
.. [3] Coin Metrics, ``HashRate`` metric definition (``csv/metrics.csv`` in coinmetrics/data).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from hashdesk.chain.consensus import (
    RETARGET_INTERVAL,
    block_work,
    block_work_float,
    difficulty,
    next_work_required,
)
from hashdesk.economics.core import SECONDS_PER_DAY
from hashdesk.economics.production import NetworkSchedule, expected_production

#: MWh per (EH/s · J/TH · day): 1 EH/s = 10^6 TH/s; W × 24 h / 10^6 → MWh.
MWH_PER_EHS_JTH_DAY: float = 24.0
#: Nominal blocks per day (600 s spacing), for the Poisson noise of a daily hashrate [blocks].
BLOCKS_PER_DAY: int = 144
#: EH/s in one PH/s.
EHS_PER_PHS: float = 1e-3
#: Hashrate series the detector can read: the daily series (Coin Metrics, or synced blocks) and
#: mempool.space's smoothed estimate.
SOURCES: tuple[str, ...] = ("coinmetrics", "mempool.space")


class ShockError(ValueError):
    """Bad input or missing data for the shock analysis."""


@dataclass(frozen=True)
class ShockParams:
    """Detection parameters (all stated in the output).

    Attributes
    ----------
    window_days : int
        Trailing-median baseline window [days].
    threshold : float
        Drop of the smoothed signal below baseline that flags a day [fraction].
    smooth_days : int
        Centred rolling-mean window of the signal [days], odd.
    min_days : int
        Minimum run of flagged days [days].
    efficiency_j_per_th : float
        Efficiency of the curtailed machines, for energy [J/TH].
    before_days : int
        Length of the "before" window that ends when the shock starts [days].
    min_z : float
        Minimum significance of the episode's block deficit against Poisson noise:
        ``z = Σ_d (1 − H_d / baseline) · √(144 / days)`` (144 blocks per day nominal).
    """

    window_days: int = 28
    threshold: float = 0.10
    smooth_days: int = 3
    min_days: int = 2
    efficiency_j_per_th: float = 25.0
    before_days: int = 7
    min_z: float = 3.5

    def __post_init__(self) -> None:
        if self.window_days < 3:
            raise ShockError(f"window_days must be >= 3, got {self.window_days}")
        if not 0 < self.threshold < 1:
            raise ShockError(f"threshold must be in (0, 1), got {self.threshold}")
        if self.smooth_days < 1 or self.smooth_days % 2 == 0:
            raise ShockError(f"smooth_days must be odd and >= 1, got {self.smooth_days}")
        if self.min_days < 1:
            raise ShockError(f"min_days must be >= 1, got {self.min_days}")
        if not self.efficiency_j_per_th > 0:
            raise ShockError(f"efficiency_j_per_th must be > 0, got {self.efficiency_j_per_th}")
        if self.min_z < 0:
            raise ShockError(f"min_z must be >= 0, got {self.min_z}")
        if self.before_days < 1:
            raise ShockError(f"before_days must be >= 1, got {self.before_days}")


@dataclass(frozen=True)
class Shock:
    """One detected drop.

    Attributes
    ----------
    start, end : datetime.date
        First and last day (UTC, inclusive).
    days : int
        Duration [days].
    baseline_ehs : float
        Baseline on the first day [EH/s].
    trough_date : datetime.date
        Day of the lowest smoothed value.
    trough_ehs : float
        Lowest smoothed value [EH/s].
    depth_ehs, depth_pct : float
        ``baseline − trough`` [EH/s] and as a share of baseline [%].
    trough_daily_ehs : float
        Lowest raw daily value in the shock [EH/s].
    shortfall_eh_days : float
        ``Σ max(baseline − daily, 0)`` over the shock [EH/s · day].
    energy_curtailed_mwh : float
        ``shortfall × efficiency × 24`` [MWh].
    efficiency_j_per_th : float
        Efficiency used [J/TH].
    """

    start: date
    end: date
    days: int
    baseline_ehs: float
    trough_date: date
    trough_ehs: float
    depth_ehs: float
    depth_pct: float
    trough_daily_ehs: float
    shortfall_eh_days: float
    energy_curtailed_mwh: float
    efficiency_j_per_th: float


def energy_curtailed_mwh(shortfall_eh_days: float, efficiency_j_per_th: float) -> float:
    """Energy not drawn by missing hashrate [MWh].

    Parameters
    ----------
    shortfall_eh_days : float
        Missing hashrate integrated over days [EH/s · day].
    efficiency_j_per_th : float
        Fleet efficiency [J/TH] (= W per TH/s).

    Returns
    -------
    float
        ``shortfall × 10^6 TH/s per EH/s × J/TH × 24 h / 10^6 W per MW`` [MWh].

    References
    ----------
    .. [1] DESIGN.md §3: energy [kWh/day] = hashrate [TH/s] × efficiency [J/TH] × 0.024.

    Examples
    --------
    100 EH/s missing for one day at 25 J/TH: 2.5 GW for 24 h.

    >>> energy_curtailed_mwh(100.0, 25.0)
    60000.0
    """
    if shortfall_eh_days < 0 or efficiency_j_per_th <= 0:
        raise ShockError("shortfall must be >= 0 and efficiency_j_per_th > 0")
    return float(shortfall_eh_days) * float(efficiency_j_per_th) * MWH_PER_EHS_JTH_DAY


def shock_signal(hashrate_ehs: pd.Series, params: ShockParams = ShockParams()) -> pd.DataFrame:
    """Smoothed signal, trailing-median baseline and threshold of a daily hashrate series.

    Parameters
    ----------
    hashrate_ehs : pandas.Series
        Daily network hashrate [EH/s] indexed by consecutive UTC dates.
    params : ShockParams

    Returns
    -------
    pandas.DataFrame
        Columns date, hashrate_ehs, smoothed_ehs, baseline_ehs, threshold_ehs, ratio
        (``smoothed / baseline``); baseline is NaN for the first ``window_days`` days.
    """
    s = pd.Series(hashrate_ehs, dtype="float64").sort_index()
    if s.empty:
        raise ShockError("no daily hashrate values")
    if s.isna().any():
        raise ShockError(f"hashrate_ehs is missing on {s.index[s.isna()][0]}")
    if (s < 0).any():
        raise ShockError(f"negative hashrate_ehs {s[s < 0].iloc[0]} on {s.index[s < 0][0]}")
    idx = pd.to_datetime(pd.Index(s.index))
    if len(idx) > 1 and (np.diff(idx.values) != np.timedelta64(1, "D")).any():
        raise ShockError("daily hashrate dates must be consecutive days")
    smoothed = s.rolling(params.smooth_days, center=True, min_periods=1).mean()
    baseline = s.rolling(params.window_days, min_periods=params.window_days).median().shift(1)
    return pd.DataFrame(
        {
            "date": idx.date,
            "hashrate_ehs": s.to_numpy(),
            "smoothed_ehs": smoothed.to_numpy(),
            "baseline_ehs": baseline.to_numpy(),
            "threshold_ehs": baseline.to_numpy() * (1 - params.threshold),
            "ratio": (smoothed / baseline).to_numpy(),
        }
    )


def detect_shocks(signal: pd.DataFrame, params: ShockParams = ShockParams()) -> list[Shock]:
    """Find shocks in a :func:`shock_signal` frame (see the module docstring for the rule).

    Parameters
    ----------
    signal : pandas.DataFrame
        Output of :func:`shock_signal`.
    params : ShockParams

    Returns
    -------
    list of Shock
        In date order.
    """
    flag = (signal.ratio < 1 - params.threshold).fillna(False).to_numpy()
    raw_low = (signal.hashrate_ehs < signal.baseline_ehs * (1 - params.threshold / 2)).to_numpy()
    out: list[Shock] = []
    i, n = 0, len(signal)
    while i < n:
        if not flag[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and flag[j + 1]:
            j += 1
        if j - i + 1 >= params.min_days:
            base = float(signal.baseline_ehs.iloc[i])
            a, b = i, j
            while a - 1 >= 0 and raw_low[a - 1] and not np.isnan(signal.baseline_ehs.iloc[a - 1]):
                a -= 1
            while b + 1 < n and raw_low[b + 1]:
                b += 1
            base = float(signal.baseline_ehs.iloc[a])
            seg = signal.iloc[a : b + 1]
            deficit = float((1 - seg.hashrate_ehs.to_numpy() / base).sum())
            if deficit * np.sqrt(BLOCKS_PER_DAY / len(seg)) < params.min_z:
                i = b + 1
                continue
            k = int(np.argmin(seg.smoothed_ehs.to_numpy()))
            trough = float(seg.smoothed_ehs.iloc[k])
            shortfall = float(np.clip(base - seg.hashrate_ehs.to_numpy(), 0, None).sum())
            out.append(
                Shock(
                    start=seg.date.iloc[0], end=seg.date.iloc[-1], days=len(seg),
                    baseline_ehs=base, trough_date=seg.date.iloc[k], trough_ehs=trough,
                    depth_ehs=base - trough, depth_pct=100 * (base - trough) / base,
                    trough_daily_ehs=float(seg.hashrate_ehs.min()),
                    shortfall_eh_days=shortfall,
                    energy_curtailed_mwh=energy_curtailed_mwh(shortfall, params.efficiency_j_per_th),
                    efficiency_j_per_th=params.efficiency_j_per_th,
                )
            )
            i = b + 1
        else:
            i = j + 1
    return out


@dataclass(frozen=True, eq=False)
class ChainWindow:
    """Per-block times and targets around a shock (heights contiguous).

    Attributes
    ----------
    height, time_unix, bits : numpy.ndarray of int64
        Block heights, header times [unix s] (not monotonic) and compact targets.
    """

    height: np.ndarray
    time_unix: np.ndarray
    bits: np.ndarray

    def covers(self, a_unix: int, b_unix: int) -> bool:
        """True when blocks before ``a`` and at/after ``b`` are present (the span is inside)."""
        return len(self.time_unix) > 0 and self.time_unix.min() < a_unix and self.time_unix.max() >= b_unix

    def count_and_work(self, a_unix: int, b_unix: int) -> tuple[int, float]:
        """Blocks with header time in ``[a, b)`` and their summed work [blocks, hashes]."""
        m = (self.time_unix >= a_unix) & (self.time_unix < b_unix)
        return int(m.sum()), float(block_work_float(self.bits[m]).sum()) if m.any() else 0.0

    def time_at(self, height: int) -> int | None:
        """Header time of ``height`` or None when not in the window."""
        i = int(np.searchsorted(self.height, height))
        if i < len(self.height) and self.height[i] == height:
            return int(self.time_unix[i])
        return None


@dataclass(frozen=True)
class WindowStats:
    """Network activity over a window and a miner's place in it.

    Attributes
    ----------
    start, end : datetime.date
        First and last day (inclusive).
    blocks : int
        Blocks found [blocks].
    blocks_per_day : float
        Block rate [blocks/day].
    network_ehs : float
        Implied network hashrate = Σ work / seconds [EH/s].
    fees_btc_per_block : float
        Realised mean fees per block [BTC].
    btc_per_ph_day : float
        Expected reward per PH/s per day (difficulty, subsidy and that window's fees) [BTC/PH/day].
    blocks_per_ph_day : float
        Expected blocks per PH/s per day (difficulty only) [blocks/PH/day].
    miner_share_pct : float
        ``miner_ehs / network_ehs`` [%]: the miner's share of the blocks found.
    miner_btc_per_day : float
        The miner's expected BTC per day [BTC/day].
    block_source : str
        ``blocks`` (per-block header times) or ``network_daily`` (daily block counts).
    """

    start: date
    end: date
    blocks: int
    blocks_per_day: float
    network_ehs: float
    fees_btc_per_block: float
    btc_per_ph_day: float
    blocks_per_ph_day: float
    miner_share_pct: float
    miner_btc_per_day: float
    block_source: str


@dataclass(frozen=True)
class ShockEffect:
    """The effect of a shock on a miner with ``miner_ehs`` that stayed online.

    Attributes
    ----------
    start, end : datetime.date
        Shock days.
    miner_ehs : float
        Hashrate of the miner [EH/s].
    before, during : WindowStats
        The ``before_days`` before the shock and the shock itself.
    retarget_height : int or None
        First retarget after the shock.
    epoch_during, epoch_after : int or None
        Epoch in force during the shock and the one the retarget started.
    retarget_change_pct : float or None
        Difficulty change at the retarget [%].
    counterfactual_change_pct : float or None
        Retarget had the shock's missing hashrate kept mining (its lost time added back) [%].
    btc_per_ph_day_epoch_during, btc_per_ph_day_epoch_after : float or None
        Expected reward per PH/s per day over each whole epoch, with its realised fees
        [BTC/PH/day].
    blocks_per_ph_day_epoch_during, blocks_per_ph_day_epoch_after : float or None
        Same, difficulty only [blocks/PH/day].
    epoch_after_days : float or None
        Duration of the epoch after the retarget [days].
    windfall_btc : float or None
        The miner's extra expected BTC over the epoch after, from the lower difficulty alone
        (same fees), against *no difficulty change* [BTC].
    windfall_vs_counterfactual_btc : float or None
        The same against the counterfactual retarget (the change without the shock's lost
        hours): ``E_after × (1 − work_after / work_counterfactual)`` [BTC]. It accrues to every
        hash mined in the epoch after, whether its owner curtailed in the storm or not: it is
        not the gain from staying online.
    counterfactual_bits : int or None
        Compact target of the counterfactual retarget.
    demand_response_usd : float or None
        Profile's annual demand-response credits pro-rated over the shock days [USD]; None when
        the profile has none.
    btc_forgone_if_curtailed : float
        Expected BTC the miner would have given up by curtailing through the shock [BTC].
    notes : tuple of str
        Data sources and approximations.
    """

    start: date
    end: date
    miner_ehs: float
    before: WindowStats
    during: WindowStats
    retarget_height: int | None
    epoch_during: int | None
    epoch_after: int | None
    retarget_change_pct: float | None
    counterfactual_change_pct: float | None
    btc_per_ph_day_epoch_during: float | None
    btc_per_ph_day_epoch_after: float | None
    blocks_per_ph_day_epoch_during: float | None
    blocks_per_ph_day_epoch_after: float | None
    epoch_after_days: float | None
    windfall_btc: float | None
    demand_response_usd: float | None
    btc_forgone_if_curtailed: float
    notes: tuple[str, ...] = field(default=())
    windfall_vs_counterfactual_btc: float | None = None
    counterfactual_bits: int | None = None

    def to_rows(self) -> list[dict]:
        """The split as (component, before, during/after, change %) rows for a table."""

        def row(name, a, b, note=""):
            ch = None if a in (None, 0) or b is None else 100 * (b / a - 1)
            if ch is not None and abs(ch) < 1e-9:  # equal up to float rounding
                ch = 0.0
            return {"component": name, "before": a, "during / after": b, "change [%]": ch,
                    "note": note}

        b, d = self.before, self.during
        same_epoch = abs(b.blocks_per_ph_day / d.blocks_per_ph_day - 1) < 1e-9
        rows = [
            row("expected blocks per PH/day [blocks/PH/day]", b.blocks_per_ph_day,
                d.blocks_per_ph_day, "fixed by difficulty within an epoch" if same_epoch else
                "fixed within an epoch; the before window reaches into the previous epoch"),
            row("expected BTC per PH/day [BTC/PH/day]", b.btc_per_ph_day, d.btc_per_ph_day,
                "moves only with fees per block"),
            row("network block rate [blocks/day]", b.blocks_per_day, d.blocks_per_day,
                f"from {d.block_source}"),
            row("implied network hashrate [EH/s]", b.network_ehs, d.network_ehs),
            row("miner share of blocks [%]", b.miner_share_pct, d.miner_share_pct,
                f"miner {self.miner_ehs:g} EH/s"),
            row("fees per block [BTC]", b.fees_btc_per_block, d.fees_btc_per_block),
            row("miner expected BTC per day [BTC/day]", b.miner_btc_per_day, d.miner_btc_per_day),
        ]
        if self.retarget_height is not None:
            rows += [
                row(f"difficulty at retarget {self.retarget_height:,} (epoch "
                    f"{self.epoch_during} → {self.epoch_after}) [% change]", None,
                    self.retarget_change_pct,
                    f"without the shock: {self.counterfactual_change_pct:+.2f}%"
                    if self.counterfactual_change_pct is not None else ""),
                row(f"expected blocks per PH/day, epoch {self.epoch_during} → "
                    f"{self.epoch_after} [blocks/PH/day]",
                    self.blocks_per_ph_day_epoch_during, self.blocks_per_ph_day_epoch_after,
                    "the windfall: difficulty only"),
                row(f"expected BTC per PH/day, epoch {self.epoch_during} → {self.epoch_after} "
                    "[BTC/PH/day]", self.btc_per_ph_day_epoch_during,
                    self.btc_per_ph_day_epoch_after, "with each epoch's realised fees"),
                row(f"next-epoch effect: miner windfall over epoch {self.epoch_after} vs the "
                    "counterfactual retarget [BTC]", None, self.windfall_vs_counterfactual_btc,
                    f"{self.epoch_after_days:.2f} days at the actual vs the counterfactual "
                    f"({self.counterfactual_change_pct:+.2f}%) difficulty, same fees; accrues to every "
                    "miner hashing in that epoch, curtailed in the storm or not"
                    if self.counterfactual_change_pct is not None else ""),
                row("  the same vs no difficulty change [BTC]", None, self.windfall_btc,
                    "assumes difficulty would otherwise have stayed flat"),
            ]
        rows.append(row("demand-response credits, pro-rated [USD]", None, self.demand_response_usd,
                        "profile annual credits × shock days / 365" if self.demand_response_usd
                        is not None else "profile has none"))
        rows.append(row("BTC forgone had the miner curtailed [BTC]", None,
                        self.btc_forgone_if_curtailed))
        return rows


def _day_unix(d: date) -> int:
    return int(pd.Timestamp(d).tz_localize("UTC").timestamp())


def window_stats(
    a: date,
    b: date,
    miner_ehs: float,
    network: NetworkSchedule,
    chain: ChainWindow | None,
    daily_blocks: pd.Series,
) -> WindowStats:
    """Block rate, implied hashrate, fees and per-PH revenue over days ``a..b`` (inclusive).

    Parameters
    ----------
    a, b : datetime.date
        First and last day [UTC].
    miner_ehs : float
        The miner's hashrate [EH/s].
    network : NetworkSchedule
        Targets, subsidy and daily fees.
    chain : ChainWindow or None
        Per-block times; used when it covers the window, else ``daily_blocks``.
    daily_blocks : pandas.Series
        Blocks per UTC day (Coin Metrics ``blk_cnt``) indexed by date.

    Returns
    -------
    WindowStats
    """
    t0, t1 = _day_unix(a), _day_unix(b + timedelta(days=1))
    secs = t1 - t0
    days = secs / SECONDS_PER_DAY
    per_ph = expected_production(EHS_PER_PHS, t0, t1, network)
    if chain is not None and chain.covers(t0, t1):
        n, work = chain.count_and_work(t0, t1)
        src = "blocks"
    else:
        sel = daily_blocks[(daily_blocks.index >= a) & (daily_blocks.index <= b)]
        if len(sel) != (b - a).days + 1:
            raise ShockError(f"no block counts for every day of {a}..{b}")
        n = int(sel.sum())
        work = n * float(block_work(int(network.regime_bits[network.regime_at(t0)])))
        src = "network_daily"
    fee_days = np.arange(np.datetime64(a, "D"), np.datetime64(b, "D") + 1)
    fees = np.array([network.fees_at(x) for x in fee_days])
    counts = daily_blocks.reindex(pd.Index(pd.to_datetime(fee_days).date)).to_numpy(dtype=float)
    fees_btc = float((fees * counts).sum() / counts.sum()) / 1e8
    network_ehs = work / secs / 1e18
    return WindowStats(
        start=a, end=b, blocks=n, blocks_per_day=n / days, network_ehs=network_ehs,
        fees_btc_per_block=fees_btc, btc_per_ph_day=per_ph.btc / days,
        blocks_per_ph_day=per_ph.blocks / days,
        miner_share_pct=100 * miner_ehs / network_ehs if network_ehs > 0 else float("nan"),
        miner_btc_per_day=per_ph.btc / days * miner_ehs / EHS_PER_PHS, block_source=src,
    )


def shock_effect(
    shock: Shock,
    miner_ehs: float,
    network: NetworkSchedule,
    epochs: pd.DataFrame,
    chain: ChainWindow | None,
    daily_blocks: pd.Series,
    params: ShockParams = ShockParams(),
    demand_response_usd_per_year: float = 0.0,
) -> ShockEffect:
    """Split a shock's effect on a miner that stayed online (see the module docstring).

    Parameters
    ----------
    shock : Shock
    miner_ehs : float
        The miner's hashrate, online throughout [EH/s], > 0.
    network : NetworkSchedule
        Covering the before window through the end of the epoch after the retarget.
    epochs : pandas.DataFrame
        Columns epoch, first_height, bits, start_unix.
    chain : ChainWindow or None
        Per-block times (preferred where they cover).
    daily_blocks : pandas.Series
        Blocks per UTC day indexed by date.
    params : ShockParams
    demand_response_usd_per_year : float
        Annual demand-response credits from the miner's profile [USD/year].

    Returns
    -------
    ShockEffect

    Notes
    -----
    Windfall = ``E_after × (1 − work_after / work_during)``: the miner's expected BTC over the
    epoch after the retarget minus what the same hashes would have earned at the old difficulty
    with the same fees; against the counterfactual retarget,
    ``E_after × (1 − work_after / work_counterfactual)``. Counterfactual retarget: the shock's shortfall ``Σ (baseline − daily)``
    [EH/s·day] inside the ending epoch would have done its work ``shortfall/baseline`` days
    sooner; the measured span is shortened by that and the exact rule re-applied.
    """
    if not np.isfinite(miner_ehs) or miner_ehs <= 0:
        raise ShockError(f"miner_ehs must be > 0, got {miner_ehs}")
    notes = list(network.notes)
    before = window_stats(shock.start - timedelta(days=params.before_days),
                          shock.start - timedelta(days=1), miner_ehs, network, chain, daily_blocks)
    during = window_stats(shock.start, shock.end, miner_ehs, network, chain, daily_blocks)
    t_end = _day_unix(shock.end + timedelta(days=1))
    t_mid = (_day_unix(shock.start) + t_end) // 2
    ep = epochs.dropna(subset=["start_unix"]).sort_values("first_height").reset_index(drop=True)
    cur = ep[ep.start_unix <= t_mid]
    nxt = ep[ep.start_unix >= t_end]
    fields: dict = dict.fromkeys(
        ["retarget_height", "epoch_during", "epoch_after", "retarget_change_pct",
         "counterfactual_change_pct", "btc_per_ph_day_epoch_during", "btc_per_ph_day_epoch_after",
         "blocks_per_ph_day_epoch_during", "blocks_per_ph_day_epoch_after", "epoch_after_days",
         "windfall_btc", "windfall_vs_counterfactual_btc", "counterfactual_bits"]
    )
    if not cur.empty and len(nxt) >= 2:
        e0, e1, e2 = cur.iloc[-1], nxt.iloc[0], nxt.iloc[1]
        # the epoch in force during the shock must be the one the retarget ends
        if int(e1.first_height) - int(e0.first_height) == RETARGET_INTERVAL:
            w0, w1 = block_work(int(e0.bits)), block_work(int(e1.bits))
            ph0 = expected_production(EHS_PER_PHS, int(e0.start_unix), int(e1.start_unix), network)
            ph1 = expected_production(EHS_PER_PHS, int(e1.start_unix), int(e2.start_unix), network)
            d0 = (int(e1.start_unix) - int(e0.start_unix)) / SECONDS_PER_DAY
            d1 = (int(e2.start_unix) - int(e1.start_unix)) / SECONDS_PER_DAY
            miner_after = ph1.btc * miner_ehs / EHS_PER_PHS
            h = int(e1.first_height)
            first_t = chain.time_at(h - RETARGET_INTERVAL) if chain is not None else None
            last_t = chain.time_at(h - 1) if chain is not None else None
            if first_t is None or last_t is None:
                first_t, last_t = int(e0.start_unix), int(e1.start_unix)
                notes.append("epoch span from epoch start times (block times not in the store)")
            in_epoch = [x for x in pd.date_range(shock.start, shock.end).date
                        if _day_unix(x) >= int(e0.start_unix)]
            sig_short = shock.shortfall_eh_days * len(in_epoch) / shock.days
            lost_s = int(round(sig_short / shock.baseline_ehs * SECONDS_PER_DAY))
            cf_bits = next_work_required(int(e0.bits), first_t, last_t - lost_s)
            w_cf = block_work(cf_bits)
            fields.update(
                windfall_vs_counterfactual_btc=miner_after * (1 - w1 / w_cf),
                counterfactual_bits=int(cf_bits),
            )
            notes.append(
                f"the next-epoch effect accrues to every hash in epoch {int(e1.epoch)}: a miner that "
                "curtailed in the storm and came back gets the same windfall per PH"
            )
            fields.update(
                retarget_height=h, epoch_during=int(e0.epoch), epoch_after=int(e1.epoch),
                retarget_change_pct=100 * (difficulty(int(e1.bits)) / difficulty(int(e0.bits)) - 1),
                counterfactual_change_pct=100 * (difficulty(cf_bits) / difficulty(int(e0.bits)) - 1),
                btc_per_ph_day_epoch_during=ph0.btc / d0, btc_per_ph_day_epoch_after=ph1.btc / d1,
                blocks_per_ph_day_epoch_during=ph0.blocks / d0,
                blocks_per_ph_day_epoch_after=ph1.blocks / d1,
                epoch_after_days=d1, windfall_btc=miner_after * (1 - w1 / w0),
            )
            notes.append(
                f"counterfactual: {sig_short:.1f} EH/s·day shortfall inside epoch {int(e0.epoch)} "
                f"= {lost_s / 3600:.1f} h of lost time at the {shock.baseline_ehs:.0f} EH/s baseline"
            )
        else:
            notes.append("the epoch after the shock's epoch has no start time in the store")
    else:
        notes.append("no complete retarget and following epoch after the shock in the store")
    if demand_response_usd_per_year < 0:
        raise ShockError("demand_response_usd_per_year must be >= 0")
    dr = demand_response_usd_per_year * shock.days / 365 if demand_response_usd_per_year else None
    return ShockEffect(
        start=shock.start, end=shock.end, miner_ehs=miner_ehs, before=before, during=during,
        demand_response_usd=dr,
        btc_forgone_if_curtailed=during.miner_btc_per_day * shock.days,
        notes=tuple(notes), **fields,
    )


# ---------------------------------------------------------------------------------------------
# mine or curtail: the decision a miner faced during the shock

#: How the profile's demand-response credits accrue: only when the fleet curtails (``curtailment``,
#: the default), or for being available whether or not the grid calls (``availability``, e.g. an
#: ERCOT ancillary-service award: then they accrue to both branches and do not move the decision).
DR_BASES: tuple[str, ...] = ("curtailment", "availability")
#: How a loaded power-price series enters: ``resale`` — the contract price is paid on the
#: contracted energy in both branches and curtailed energy is sold back at the series price (a
#: fixed-price contract with resale, Riot-style "power curtailment credits"); ``spot`` — the
#: miner buys at the series price what it uses, and curtailing avoids that cost.
POWER_BASES: tuple[str, ...] = ("resale", "spot")
#: Accepted names of the price column of a power-price file.
PRICE_COLUMNS: tuple[str, ...] = ("usd_per_kwh", "price_usd_per_kwh")


def parse_power_prices(df: pd.DataFrame, origin: str) -> pd.Series:
    """Validate an hourly power-price table: ``date`` (UTC day), ``hour`` (0–23, hour beginning,
    UTC) and ``usd_per_kwh`` (or ``price_usd_per_kwh``) [USD/kWh; negative prices allowed].

    Returns
    -------
    pandas.Series
        Prices indexed by the hour's start [unix s], sorted.

    Raises
    ------
    ShockError
        Naming ``origin``, the row (1 = first data row) and the field.

    Examples
    --------
    >>> s = parse_power_prices(pd.DataFrame({"date": ["2024-01-15", "2024-01-15"], "hour": [0, 1],
    ...                                      "usd_per_kwh": [0.05, -0.01]}), "t")
    >>> s.index.tolist(), s.tolist()
    ([1705276800, 1705280400], [0.05, -0.01])
    """
    price_col = next((c for c in PRICE_COLUMNS if c in df.columns), None)
    missing = [c for c in ("date", "hour") if c not in df.columns] + ([] if price_col else ["usd_per_kwh"])
    if missing:
        raise ShockError(f"{origin}: missing column(s) {missing} (need date, hour, usd_per_kwh)")
    days = pd.to_datetime(df["date"], format="%Y-%m-%d", errors="coerce")
    hours = pd.to_numeric(df["hour"], errors="coerce")
    prices = pd.to_numeric(df[price_col], errors="coerce")
    for name, bad in (("date", days.isna()),
                      ("hour", hours.isna() | (hours % 1 != 0) | (hours < 0) | (hours > 23)),
                      (price_col, prices.isna() | ~np.isfinite(prices.fillna(0.0)))):
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise ShockError(f"{origin}, row {i + 1}, field '{name}': {df[name].iloc[i]!r} is not "
                             + {"date": "a YYYY-MM-DD day", "hour": "an hour 0-23"}.get(name, "a number [USD/kWh]"))
    t = ((days - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)).astype("int64") + hours.astype("int64") * 3600
    dup = t.duplicated()
    if dup.any():
        i = int(dup.to_numpy().nonzero()[0][0])
        raise ShockError(f"{origin}, row {i + 1}: hour {df['date'].iloc[i]} {int(hours.iloc[i]):02d}:00 given twice")
    return pd.Series(prices.to_numpy(dtype=float), index=t.to_numpy(), name=origin).sort_index()


def read_power_prices(path) -> pd.Series:
    """Read an hourly power-price CSV (:func:`parse_power_prices`); errors name file/row/field."""
    from pathlib import Path

    path = Path(path)
    if not path.exists():
        raise ShockError(f"{path}: no such power-price file")
    try:
        df = pd.read_csv(path, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ShockError(f"{path}: cannot parse CSV: {exc}") from exc
    return parse_power_prices(df, str(path))


@dataclass(frozen=True)
class CurtailDecision:
    """Mine or curtail through a shock, for one miner (money in USD over the shock's hours).

    Attributes
    ----------
    start, end : datetime.date
        Shock days (UTC, inclusive); the decision covers their ``hours``.
    hours : int
    online_hashrate_ehs : float
        Nameplate × uptime [EH/s].
    energy_mwh : float
        Energy the fleet draws when mining through the shock [MWh].
    power_prices : str
        ``fixed <price> USD/kWh (profile)`` or the loaded file's name.
    power_basis, dr_basis : str
        See :data:`POWER_BASES`, :data:`DR_BASES`.
    mine_btc, mine_revenue_usd, mine_power_cost_usd, mine_hosting_usd, mine_dr_usd, mine_usd : float
        Mining through the shock: BTC after the pool fee, revenue (the model chain), power and
        hosting costs, credits (``availability`` only), and net = revenue − power − hosting + DR.
    curtail_power_credit_usd, curtail_avoided_power_usd, curtail_power_cost_usd, curtail_dr_usd, curtail_usd : float
        Curtailing throughout: energy sold back at the series price (``resale``), the power cost
        not incurred, the contract cost still paid (``resale``), the credits, and net = credit
        − cost + DR.
    best_hours_curtailed : int
        Hours in which curtailing beats mining (hour by hour).
    best_usd : float
        Net of the hour-by-hour choice (credits pro rata per curtailed hour on the
        ``curtailment`` basis).
    breakeven_power_usd_per_kwh : float
        Resale (or spot) price at which curtailing throughout equals mining:
        ``(revenue − hosting − DR_if_curtailed + DR_if_mining) / energy`` [USD/kWh].
    next_epoch_btc, next_epoch_usd : float or None
        The shared next-epoch effect (windfall vs the counterfactual retarget) and its value at
        ``next_epoch_price_usd``: the same in every branch.
    next_epoch_price_usd : float or None
        Mean BTC price over the epoch after [USD/BTC].
    notes : tuple of str
    """

    start: date
    end: date
    hours: int
    online_hashrate_ehs: float
    energy_mwh: float
    power_prices: str
    power_basis: str
    dr_basis: str
    mine_btc: float
    mine_revenue_usd: float
    mine_power_cost_usd: float
    mine_hosting_usd: float
    mine_dr_usd: float
    mine_usd: float
    curtail_power_credit_usd: float
    curtail_avoided_power_usd: float
    curtail_power_cost_usd: float
    curtail_dr_usd: float
    curtail_usd: float
    best_hours_curtailed: int
    best_usd: float
    breakeven_power_usd_per_kwh: float
    next_epoch_btc: float | None
    next_epoch_usd: float | None
    next_epoch_price_usd: float | None
    notes: tuple[str, ...] = ()

    @property
    def better(self) -> str:
        """``mine`` or ``curtail`` (throughout the shock), whichever nets more."""
        return "curtail" if self.curtail_usd > self.mine_usd else "mine"

    def to_rows(self) -> list[dict]:
        """(line, mine, curtail, hour by hour, note) rows for a table [USD unless stated]."""
        ne = self.next_epoch_usd

        def neg(x: float) -> float:
            return -x if x else 0.0

        return [
            {"line": "BTC kept after the pool fee [BTC]", "mine": self.mine_btc, "curtail": 0.0,
             "best hourly": None, "note": "model chain: online TH/s × BTC/TH/day of each hour"},
            {"line": "mining revenue", "mine": self.mine_revenue_usd, "curtail": 0.0, "best hourly": None,
             "note": "BTC × the day's price"},
            {"line": "power bought", "mine": neg(self.mine_power_cost_usd), "curtail": neg(self.curtail_power_cost_usd),
             "best hourly": None, "note": self.power_prices},
            {"line": "power sold back", "mine": 0.0, "curtail": self.curtail_power_credit_usd, "best hourly": None,
             "note": "curtailed energy × the hour's price" if self.power_basis == "resale" and
             self.curtail_power_credit_usd else "no resale"},
            {"line": "hosting", "mine": neg(self.mine_hosting_usd), "curtail": 0.0, "best hourly": None, "note": ""},
            {"line": "demand-response credits", "mine": self.mine_dr_usd, "curtail": self.curtail_dr_usd,
             "best hourly": None, "note": f"basis: {self.dr_basis}"},
            {"line": "net during the shock", "mine": self.mine_usd, "curtail": self.curtail_usd,
             "best hourly": self.best_usd,
             "note": f"better throughout: {self.better}; curtailing pays above "
                     f"{self.breakeven_power_usd_per_kwh:.4f} USD/kWh; hour by hour: "
                     f"{self.best_hours_curtailed} of {self.hours} h curtailed"},
            {"line": "next-epoch effect (shared)", "mine": ne, "curtail": ne, "best hourly": ne,
             "note": (f"{self.next_epoch_btc:.4f} BTC vs the counterfactual retarget at "
                      f"{self.next_epoch_price_usd:,.0f} USD/BTC: the same whatever the miner did"
                      if ne is not None else "epoch after not complete in the store")},
        ]


def mine_or_curtail(
    miner,
    shock: Shock,
    network: NetworkSchedule,
    btc_price_by_day: dict,
    power_prices: pd.Series | None = None,
    power_basis: str = "resale",
    dr_usd: float | None = None,
    dr_basis: str = "curtailment",
    next_epoch_btc: float | None = None,
    next_epoch_price_usd: float | None = None,
    chain=None,
) -> CurtailDecision:
    """What mining earned during a shock, what curtailing would have earned, and what both share.

    Parameters
    ----------
    miner : hashdesk.economics.modelchain.MinerSpec
        The fleet (online = nameplate × uptime), its power price, hosting and pool fee.
    shock : Shock
    network : NetworkSchedule
        Targets, subsidy and daily fees over the shock's days.
    btc_price_by_day : dict
        UTC day → BTC price [USD/BTC] (the daily series' price).
    power_prices : pandas.Series, optional
        Hourly prices [USD/kWh] indexed by hour start [unix s] (:func:`read_power_prices`),
        covering every hour of the shock; default: the profile's fixed price for every hour.
    power_basis : {"resale", "spot"}
        How the series enters (:data:`POWER_BASES`); without a series the fixed price is the
        cost of what is used and curtailing avoids it.
    dr_usd : float, optional
        Demand-response credits over the shock [USD]; default the profile's annual credits ×
        shock days / 365.
    dr_basis : {"curtailment", "availability"}
        :data:`DR_BASES`.
    next_epoch_btc : float, optional
        The shared next-epoch effect [BTC] (:attr:`ShockEffect.windfall_vs_counterfactual_btc`
        for this miner's hashrate).
    next_epoch_price_usd : float, optional
        Its valuation price [USD/BTC].
    chain : ModelChain, optional
        The miner model chain (default :data:`hashdesk.economics.modelchain.DEFAULT_CHAIN`).

    Returns
    -------
    CurtailDecision

    Notes
    -----
    Each hour ``h`` of the shock: expected BTC per TH/s from the network schedule
    (``expected_production`` over the hour: difficulty, subsidy and the day's fees), run
    through the model chain with the fleet always on (its own curtailment rule off: this is the
    decision being valued) and without demand-response credits (their basis decides where they
    go); energy ``E_h`` = online TH/s × J/TH × 0.024 / 24 kWh. With price ``s_h`` (the series,
    or the contract price ``p``):

    * mine: ``revenue_h − hosting_h − E_h·c_h (+ DR_h on availability)`` with ``c_h = p``
      (fixed, resale) or ``s_h`` (spot);
    * curtail: ``E_h·s_h − E_h·p`` (resale) or ``0`` (fixed, spot) ``+ DR_h``.

    In every case ``curtail − mine = E_h·s_h + DR_h(curtailment) − revenue_h + hosting_h``: the
    power price at which curtailing pays is ``(revenue − hosting − DR) / E``. Other cash costs
    are paid in both branches and left out. The next-epoch effect is added to neither: it is
    shown beside both, since curtailing does not forfeit it (one fleet's hours barely move the
    retarget).

    Examples
    --------
    1 EH/s at 20 J/TH for a 1-day shock at a hashprice of 50 USD/PH/day (the price set so), power
    5 ¢/kWh fixed: mining earns 50,000 USD for 480 MWh = 24,000 USD of power, net 26,000;
    curtailing avoids the 24,000 and earns the 10,000 USD of credits; curtailing would pay above
    (50,000 − 10,000) / 480,000 kWh = 0.0833 USD/kWh.

    >>> from hashdesk.economics.fleet import Fleet, FleetLine
    >>> from hashdesk.economics.modelchain import MinerSpec
    >>> from hashdesk.economics.production import build_schedule
    >>> bits = 0x1703D869
    >>> net = build_schedule(pd.DataFrame({"first_height": [0], "bits": [bits], "start_unix": [0]}),
    ...                      pd.DataFrame({"date": [pd.Timestamp("1970-01-02")], "blk_cnt": [144],
    ...                                    "fee_tot_btc": [0.0]}))
    >>> m = MinerSpec("x", Fleet((FleetLine("x", None, 1e6, 20_000.0, 20.0, "t"),)), 1.0, 0.05)
    >>> sh = Shock(date(1970, 1, 2), date(1970, 1, 2), 1, 500.0, date(1970, 1, 2), 400.0, 100.0, 20.0,
    ...            400.0, 100.0, 60_000.0, 25.0)
    >>> hb = 86_400e12 / block_work(bits) * 50.0  # BTC per TH/s per day at this target, subsidy 50
    >>> d = mine_or_curtail(m, sh, net, {date(1970, 1, 2): 0.05 / hb}, dr_usd=10_000.0)
    >>> round(d.mine_revenue_usd), round(d.mine_power_cost_usd), round(d.mine_usd), round(d.curtail_usd)
    (50000, 24000, 26000, 10000)
    >>> round(d.breakeven_power_usd_per_kwh, 4), d.better
    (0.0833, 'mine')
    """
    from hashdesk.economics.modelchain import DEFAULT_CHAIN, with_terms

    if power_basis not in POWER_BASES:
        raise ShockError(f"power_basis must be one of {', '.join(POWER_BASES)}, got {power_basis!r}")
    if dr_basis not in DR_BASES:
        raise ShockError(f"dr_basis must be one of {', '.join(DR_BASES)}, got {dr_basis!r}")
    chain = chain or DEFAULT_CHAIN
    t0, t1 = _day_unix(shock.start), _day_unix(shock.end + timedelta(days=1))
    starts = np.arange(t0, t1, 3600, dtype=np.int64)
    n = len(starts)
    hb = np.empty(n)
    px = np.empty(n)
    for k, t in enumerate(starts):
        hb[k] = expected_production(EHS_PER_PHS, int(t), int(t) + 3600, network).btc * 24.0 / 1000.0
        day = pd.Timestamp(int(t), unit="s").date()
        price = btc_price_by_day.get(day)
        if price is None or not np.isfinite(price) or price <= 0:
            raise ShockError(f"no BTC price for {day} (the daily series' price_usd)")
        px[k] = float(price)
    on = with_terms(miner, curtailable=False, demand_response_usd_per_day=0.0)
    r = chain.run(on, hb, px, np.full(n, 1.0 / 24.0))
    e_kwh = np.asarray(r.energy_mwh, dtype=float) * 1000.0
    revenue = np.asarray(r.revenue_usd, dtype=float)
    hosting = np.asarray(r.hosting_cost_usd, dtype=float)
    p = float(miner.power_usd_per_kwh)
    notes: list[str] = []
    if power_prices is None:
        s = np.full(n, p)
        label = f"fixed {p:g} USD/kWh (profile): curtailing avoids buying the energy"
        basis = "fixed"
    else:
        have = power_prices.reindex(starts)
        if have.isna().any():
            k = int(np.flatnonzero(have.isna().to_numpy())[0])
            raise ShockError(f"{power_prices.name}: no price for {pd.Timestamp(int(starts[k]), unit='s'):%Y-%m-%d %H}:00 "
                             f"UTC (the file must cover every hour of the shock {shock.start}..{shock.end})")
        s = have.to_numpy(dtype=float)
        label = f"{power_prices.name} ({power_basis}; mean {s.mean():.4f} USD/kWh over the shock)"
        basis = power_basis
    if dr_usd is None:
        dr_usd = miner.demand_response_usd_per_day * shock.days
        notes.append(f"demand-response credits: the profile's annual credits × {shock.days} days / 365")
    if dr_usd < 0:
        raise ShockError(f"demand-response credits must be >= 0, got {dr_usd}")
    dr_h = np.full(n, float(dr_usd) / n)
    if basis == "resale":
        mine_power, cur_cost, cur_credit, cur_avoided = e_kwh * p, e_kwh * p, e_kwh * s, np.zeros(n)
    elif basis == "spot":
        mine_power, cur_cost, cur_credit, cur_avoided = e_kwh * s, np.zeros(n), np.zeros(n), e_kwh * s
    else:
        mine_power, cur_cost, cur_credit, cur_avoided = e_kwh * p, np.zeros(n), np.zeros(n), e_kwh * p
    mine_dr = dr_h if dr_basis == "availability" else np.zeros(n)
    cur_dr = dr_h
    mine_h = revenue - hosting - mine_power + mine_dr
    cur_h = cur_credit - cur_cost + cur_dr
    best = np.maximum(mine_h, cur_h)
    e_total = float(e_kwh.sum())
    dr_moving = float(dr_usd) if dr_basis == "curtailment" else 0.0
    ne_usd = (next_epoch_btc * next_epoch_price_usd
              if next_epoch_btc is not None and next_epoch_price_usd is not None else None)
    if dr_basis == "availability":
        notes.append("credits paid for availability accrue whether or not the fleet curtails: "
                     "they do not move the decision (but a called fleet must curtail)")
    notes.append("other cash costs are paid in both branches and left out")
    return CurtailDecision(
        start=shock.start, end=shock.end, hours=n, online_hashrate_ehs=miner.online_hashrate_ths / 1e6,
        energy_mwh=e_total / 1000.0, power_prices=label, power_basis=basis, dr_basis=dr_basis,
        mine_btc=float(np.sum(r.btc_net)), mine_revenue_usd=float(revenue.sum()),
        mine_power_cost_usd=float(mine_power.sum()), mine_hosting_usd=float(hosting.sum()),
        mine_dr_usd=float(mine_dr.sum()), mine_usd=float(mine_h.sum()),
        curtail_power_credit_usd=float(cur_credit.sum()), curtail_avoided_power_usd=float(cur_avoided.sum()),
        curtail_power_cost_usd=float(cur_cost.sum()), curtail_dr_usd=float(cur_dr.sum()),
        curtail_usd=float(cur_h.sum()),
        best_hours_curtailed=int((cur_h > mine_h).sum()), best_usd=float(best.sum()),
        breakeven_power_usd_per_kwh=((float(revenue.sum()) - float(hosting.sum()) - dr_moving) / e_total
                                     if e_total > 0 else float("nan")),
        next_epoch_btc=next_epoch_btc, next_epoch_usd=ne_usd, next_epoch_price_usd=next_epoch_price_usd,
        notes=tuple(notes),
    )


# ---------------------------------------------------------------------------------------------
# the report (assembled by the desk: hashdesk.desk.Desk.shocks)


@dataclass(frozen=True)
class ShockReport:
    """Shocks found between two dates and each one's effect on a miner that stayed online."""

    title: str
    method: str
    params: ShockParams
    source: str
    daily: pd.DataFrame
    shocks: tuple[Shock, ...]
    effects: tuple[ShockEffect, ...]
    notes: tuple[str, ...] = ()

    def shocks_frame(self) -> pd.DataFrame:
        """One row per shock with units in the column names."""
        cols = ["start", "end", "days", "baseline_ehs", "trough_date", "trough_ehs", "depth_ehs",
                "depth_pct", "trough_daily_ehs", "shortfall_eh_days", "energy_curtailed_mwh",
                "efficiency_j_per_th"]
        return pd.DataFrame([asdict(s) for s in self.shocks], columns=cols)

    def to_dict(self) -> dict:
        """JSON-ready: parameters, method, shocks and effects (with their component rows)."""
        return {
            "source": self.source, "params": asdict(self.params), "method": self.method,
            "notes": list(self.notes),
            "shocks": [asdict(s) for s in self.shocks],
            "effects": [{**asdict(e), "components": e.to_rows()} for e in self.effects],
        }
