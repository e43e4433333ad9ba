"""Halving and price stress: a miner's margins across a subsidy cut, the network cost curve,
hashrate under water, capitulation and the difficulty response under the exact retarget rule.

The network cost curve is a table of hashrate segments, each with a share of network hashrate,
an efficiency [J/TH] and a power price [USD/kWh]. A segment is *under water* when its
power-only breakeven hashprice (efficiency × 0.024 × power price) exceeds the hashprice: it is
assumed to switch off (capitulate) and to come back once a retarget lifts the hashprice above
its breakeven. The default curve (``economics/data/network_cost_curve.csv``) takes efficiencies
from spec sheets and labels its shares and power prices as illustrative assumptions; pass your
own file to override it.

Difficulty response: blocks come at deterministic intervals ``work / hashrate`` (the expected
solve time), the epoch's timestamps are built from them and each retarget is
:func:`hashdesk.chain.consensus.next_work_required` on those timestamps (2015 intervals, clamp
×4 / ÷4, compact truncation).

References
----------
.. [1] DESIGN.md §3 and §5 (retargets on simulated timestamps).
.. [2] Bitcoin Core ``src/pow.cpp`` ``CalculateNextWorkRequired``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from hashdesk.chain.consensus import (
    RETARGET_INTERVAL,
    SATS_PER_BTC,
    block_work,
    difficulty,
    next_work_required,
)
from hashdesk.economics.breakeven import breakeven_hashprice_usd_per_th_day
from hashdesk.economics.core import HS_PER_EHS, hashprice_btc_per_ph_day
from hashdesk.economics.hashprice import NetworkWindow
from hashdesk.economics.modelchain import MinerSpec, UnitEconomics, unit_economics
from hashdesk.economics.state import NetworkState

#: Columns of a cost-curve file.
COST_CURVE_COLUMNS = ["segment", "hashrate_share", "efficiency_j_per_th", "power_usd_per_kwh", "source"]
#: Allowed deviation of the shares' sum from 1 [–].
SHARE_SUM_TOL = 1e-6


class StressInputError(ValueError):
    """Bad stress-test input (cost curve, price, fees), naming the field."""


def validate_cost_curve(df: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Check a cost curve and add ``breakeven_hashprice_usd_per_ph_day``, sorted ascending.

    Raises
    ------
    StressInputError
        Naming ``origin``, the row and the field.
    """
    missing = [c for c in COST_CURVE_COLUMNS if c not in df.columns]
    if missing:
        raise StressInputError(f"{origin}: missing column(s) {missing}")
    df = df[COST_CURVE_COLUMNS].copy()
    for col, lo_ok in (("hashrate_share", False), ("efficiency_j_per_th", False), ("power_usd_per_kwh", True)):
        v = pd.to_numeric(df[col], errors="coerce")
        bad = v.isna() | ((v < 0) if lo_ok else (v <= 0))
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise StressInputError(f"{origin}, row {i + 1}, field '{col}': must be a number {'>= 0' if lo_ok else '> 0'}")
        df[col] = v
    if df.source.isna().any() or (df.source.astype(str).str.strip() == "").any():
        i = int((df.source.isna() | (df.source.astype(str).str.strip() == "")).to_numpy().nonzero()[0][0])
        raise StressInputError(f"{origin}, row {i + 1}, field 'source': every segment needs its source")
    total = float(df.hashrate_share.sum())
    if abs(total - 1.0) > SHARE_SUM_TOL:
        raise StressInputError(f"{origin}: hashrate_share must sum to 1, got {total:.6f}")
    df["breakeven_hashprice_usd_per_ph_day"] = 1000.0 * breakeven_hashprice_usd_per_th_day(
        df.efficiency_j_per_th.to_numpy(), df.power_usd_per_kwh.to_numpy()
    )
    df = df.sort_values("breakeven_hashprice_usd_per_ph_day", kind="stable").reset_index(drop=True)
    df["cumulative_share"] = df.hashrate_share.cumsum()
    return df


def read_cost_curve(path: str | Path | None = None) -> pd.DataFrame:
    """Read a cost curve CSV (:data:`COST_CURVE_COLUMNS`); the shipped default when ``path`` is None."""
    if path is None:
        ref = resources.files("hashdesk.economics").joinpath("data/network_cost_curve.csv")
        with resources.as_file(ref) as p:
            return validate_cost_curve(pd.read_csv(p), "default network_cost_curve.csv")
    path = Path(path)
    if not path.exists():
        raise StressInputError(f"{path}: no such cost-curve file")
    try:
        df = pd.read_csv(path, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise StressInputError(f"{path}: cannot parse CSV: {exc}") from exc
    return validate_cost_curve(df, str(path))


def share_under_water(curve: pd.DataFrame, hashprice_usd_per_ph_day: float) -> float:
    """Share of network hashrate whose power-only breakeven exceeds the hashprice [0–1].

    Examples
    --------
    >>> c = validate_cost_curve(pd.DataFrame({"segment": ["a", "b"], "hashrate_share": [0.6, 0.4],
    ...     "efficiency_j_per_th": [20.0, 30.0], "power_usd_per_kwh": [0.05, 0.07], "source": "t"}), "t")
    >>> list(c.breakeven_hashprice_usd_per_ph_day.round(3))  # 20×0.024×0.05×1000, 30×0.024×0.07×1000
    [24.0, 50.4]
    >>> share_under_water(c, 45.0), share_under_water(c, 60.0), share_under_water(c, 20.0)
    (0.4, 0.0, 1.0)
    """
    if not np.isfinite(hashprice_usd_per_ph_day) or hashprice_usd_per_ph_day < 0:
        raise StressInputError(f"hashprice must be a number >= 0, got {hashprice_usd_per_ph_day!r}")
    under = curve.breakeven_hashprice_usd_per_ph_day > hashprice_usd_per_ph_day
    return float(curve.hashrate_share[under].sum())


def hashprice_usd_at(bits: int, subsidy_sats: int, fees_btc_per_block: float, price_usd: float) -> float:
    """Hashprice at a target for a given subsidy, fees and price [USD/PH/day] (exact work)."""
    return hashprice_btc_per_ph_day(bits, subsidy_sats, fees_btc_per_block * SATS_PER_BTC) * price_usd


def check_stress_inputs(price_usd: float, fees_btc_per_block: float) -> None:
    """Raise :class:`StressInputError` for a non-positive price or negative fees."""
    if not np.isfinite(price_usd) or price_usd <= 0:
        raise StressInputError(f"price_usd must be > 0, got {price_usd!r}")
    if not np.isfinite(fees_btc_per_block) or fees_btc_per_block < 0:
        raise StressInputError(f"fees_btc_per_block must be >= 0, got {fees_btc_per_block!r}")


def difficulty_response(
    bits: int,
    epoch: int,
    blocks_done: int,
    hashrate_ehs: float,
    curve: pd.DataFrame,
    subsidy_sats: int,
    fees_btc_per_block: float,
    price_usd: float,
    n_epochs: int = 4,
) -> pd.DataFrame:
    """Capitulation and the difficulty path over the next retargets.

    Parameters
    ----------
    bits : int
        Compact target of the epoch in force.
    epoch : int
        Its epoch number.
    blocks_done : int
        Blocks of that epoch already mined (0–2015), found at ``hashrate_ehs``.
    hashrate_ehs : float
        Network hashrate before the shock, the capacity that can come back [EH/s].
    curve : pandas.DataFrame
        Validated cost curve (:func:`validate_cost_curve`).
    subsidy_sats : int
        Block subsidy during the stress [sats].
    fees_btc_per_block : float
        Fees per block [BTC].
    price_usd : float
        BTC price [USD/BTC].
    n_epochs : int
        Epochs to report: the current one and ``n_epochs − 1`` retargets.

    Returns
    -------
    pandas.DataFrame
        One row per epoch: ``epoch``, ``bits``, ``difficulty``, ``difficulty_change_pct``,
        ``hashprice_usd_per_ph_day``, ``share_under_water``, ``online_hashrate_ehs``,
        ``capitulated_ehs``, ``start_day`` (days after now when the epoch starts; negative for
        the current one) and ``days`` (its duration; for the current epoch, the days left).

    Raises
    ------
    StressInputError
        On bad inputs, or if every segment is under water (no block would ever be found).

    Examples
    --------
    Half the hashrate under water from the start of an epoch: blocks come every 1,200 s, the
    2015 measured intervals take 27.986 days, the target nearly doubles (×2,418,000/1,209,600)
    and the retarget lifts the hashprice back above the whole curve:

    >>> c = validate_cost_curve(pd.DataFrame({"segment": ["a", "b"], "hashrate_share": [0.5, 0.5],
    ...     "efficiency_j_per_th": [15.0, 30.0], "power_usd_per_kwh": [0.05, 0.07], "source": "t"}), "t")
    >>> bits = 0x17034219  # difficulty 8.6e13 (epoch 416, April 2024)
    >>> H = block_work(bits) / 600 / 1e18  # hashrate that finds blocks every 600 s [EH/s]
    >>> r = difficulty_response(bits, 416, 0, H, c, 312_500_000, 0.0, 64_000.0, n_epochs=2)
    >>> r.share_under_water.tolist(), round(float(r.days.iloc[0]), 3)
    ([0.5, 0.0], 27.986)
    >>> round(float(r.difficulty_change_pct.iloc[1]), 2)
    -49.98
    """
    check_stress_inputs(price_usd, fees_btc_per_block)
    if not np.isfinite(hashrate_ehs) or hashrate_ehs <= 0:
        raise StressInputError(f"hashrate_ehs must be > 0, got {hashrate_ehs!r}")
    if not 0 <= blocks_done < RETARGET_INTERVAL:
        raise StressInputError(f"blocks_done must be in 0..2015, got {blocks_done}")
    if n_epochs < 1:
        raise StressInputError(f"n_epochs must be >= 1, got {n_epochs}")
    h0 = hashrate_ehs * HS_PER_EHS
    rows = []
    prev_diff = None
    n_before = max(blocks_done - 1, 0)  # measured intervals already elapsed at h0
    t_first = -round(n_before * block_work(bits) / h0)
    for j in range(n_epochs):
        w = block_work(bits)
        hp = hashprice_usd_at(bits, subsidy_sats, fees_btc_per_block, price_usd)
        share = share_under_water(curve, hp)
        if share >= 1.0 - 1e-12:
            raise StressInputError(
                f"the whole cost curve is under water at {hp:.2f} USD/PH/day (epoch {epoch + j}): "
                "no block would be found"
            )
        h1 = h0 * (1.0 - share)
        n_old = n_before if j == 0 else 0
        span = n_old * w / h0 + (RETARGET_INTERVAL - 1 - n_old) * w / h1
        t_last = t_first + round(span)
        d = difficulty(bits)
        rows.append(
            {
                "epoch": epoch + j,
                "bits": bits,
                "difficulty": d,
                "difficulty_change_pct": None if prev_diff is None else (d / prev_diff - 1.0) * 100.0,
                "hashprice_usd_per_ph_day": hp,
                "hashprice_btc_per_ph_day": hp / price_usd,
                "share_under_water": share,
                "online_hashrate_ehs": h1 / HS_PER_EHS,
                "capitulated_ehs": (h0 - h1) / HS_PER_EHS,
                "start_day": t_first / 86_400.0,
                "days": (t_last - max(t_first, 0)) / 86_400.0,
            }
        )
        new_bits = next_work_required(bits, t_first, t_last)
        # the first block of the next epoch is found at the next epoch's online hashrate
        hp_next = hashprice_usd_at(new_bits, subsidy_sats, fees_btc_per_block, price_usd)
        h_next = h0 * (1.0 - min(share_under_water(curve, hp_next), 1.0 - 1e-12))
        t_first = t_last + round(block_work(new_bits) / h_next)
        prev_diff, bits = d, new_bits
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class HalvingStress:
    """A miner's unit economics before and after a subsidy cut, at a fixed difficulty and price."""

    before: UnitEconomics
    after: UnitEconomics
    subsidy_before_btc: float
    subsidy_after_btc: float
    fees_btc_per_block: float


def with_subsidy(state: NetworkWindow, subsidy_btc_per_block: float) -> NetworkWindow:
    """The same network state (difficulty, fees, price) with another subsidy per block.

    At a fixed difficulty the BTC hashprice scales with the reward per block:
    ``hb' = hb × (subsidy' + fees) / (subsidy + fees)``.

    Examples
    --------
    6.25 + 0.25 BTC → 3.125 + 0.25 BTC: hashprice × 3.375 / 6.5.

    >>> from datetime import date
    >>> s = NetworkWindow(date(2024, 4, 1), date(2024, 4, 1), 1, 1.3e-6, 0.0832, 64_000.0, 8.6e13, 6.25, 0.25)
    >>> round(with_subsidy(s, 3.125).hashprice_btc_per_th_day / 1e-6, 4)
    0.675
    """
    if subsidy_btc_per_block < 0:
        raise StressInputError(f"subsidy_btc_per_block must be >= 0, got {subsidy_btc_per_block!r}")
    old = state.subsidy_btc_per_block + state.fees_btc_per_block
    scale = (subsidy_btc_per_block + state.fees_btc_per_block) / old
    return NetworkWindow(
        start=state.start, end=state.end, days=state.days,
        hashprice_btc_per_th_day=state.hashprice_btc_per_th_day * scale,
        hashprice_usd_per_th_day=state.hashprice_usd_per_th_day * scale,
        price_usd=state.price_usd, difficulty=state.difficulty,
        subsidy_btc_per_block=subsidy_btc_per_block, fees_btc_per_block=state.fees_btc_per_block,
    )


def miner_halving_stress(miner: MinerSpec, state: NetworkWindow, subsidy_after_btc: float) -> HalvingStress:
    """Margins and cash cost per BTC for the same fleet, difficulty, fees and price, before and
    after the subsidy becomes ``subsidy_after_btc``; each side carries its breakeven BTC price and
    hashprice (``UnitEconomics.breakeven_*``), both from the miner model chain."""
    after = with_subsidy(state, subsidy_after_btc)

    def ue(s: NetworkWindow) -> UnitEconomics:
        return unit_economics(miner, s.hashprice_btc_per_th_day, s.price_usd, str(s.start), str(s.end))

    return HalvingStress(
        before=ue(state),
        after=ue(after),
        subsidy_before_btc=state.subsidy_btc_per_block,
        subsidy_after_btc=subsidy_after_btc,
        fees_btc_per_block=state.fees_btc_per_block,
    )


#: Days of Coin Metrics hashrate averaged for the pre-shock baseline [days].
BASELINE_DAYS = 14


@dataclass(frozen=True)
class StressResult:
    """Outcome of :func:`stress_test`: the network at the stress inputs, the epoch path and,
    when a fleet is given, the miner across the halving."""

    network: dict
    epochs: pd.DataFrame
    curve: pd.DataFrame
    miner: HalvingStress | None


def stress_test(
    state: NetworkState,
    price_usd: float,
    fees_btc_per_block: float,
    curve: pd.DataFrame,
    halving: bool = False,
    n_epochs: int = 4,
    hashrate_ehs: float | None = None,
    miner: MinerSpec | None = None,
) -> StressResult:
    """Price / fee / halving stress from the network state at a time.

    Parameters
    ----------
    state : NetworkState
        The network as of the stress time (:func:`hashdesk.economics.state.network_state`):
        tip height, bits in force, blocks mined in the epoch, 7-day hashrate.
    price_usd : float
        Stress BTC price [USD/BTC].
    fees_btc_per_block : float
        Stress fees per block [BTC].
    curve : pandas.DataFrame
        Validated network cost curve.
    halving : bool
        Apply the next halving's subsidy to the network response (else today's subsidy).
    n_epochs : int
        Epochs in the difficulty path.
    hashrate_ehs : float, optional
        Pre-shock network hashrate [EH/s]; default the state's 7-day hashrate.
    miner : MinerSpec, optional
        A miner to stress across the halving at the stress price and fees (today's difficulty).

    Returns
    -------
    StressResult
    """
    from hashdesk.chain.consensus import block_subsidy, next_halving_height

    check_stress_inputs(price_usd, fees_btc_per_block)
    bits, epoch, height = state.bits, state.epoch, state.tip_height
    if hashrate_ehs is None:
        if state.hashrate_ehs_7d is None:
            raise StressInputError(f"no 7-day hashrate known at {state.at}: pass --hashrate-ehs")
        hashrate_ehs = float(state.hashrate_ehs_7d)
    subsidy_now = block_subsidy(height + 1)
    subsidy_next = block_subsidy(next_halving_height(height))
    subsidy = subsidy_next if halving else subsidy_now
    blocks_done = state.blocks_mined_in_epoch
    path = difficulty_response(
        bits, epoch, blocks_done, hashrate_ehs, curve, subsidy,
        fees_btc_per_block, price_usd, n_epochs,
    )
    first = path.iloc[0]
    network = {
        "at": state.at,
        "height": height,
        "epoch": epoch,
        "blocks_done_in_epoch": blocks_done,
        "bits": bits,
        "difficulty": difficulty(bits),
        "hashrate_before_ehs": hashrate_ehs,
        "price_usd": price_usd,
        "fees_btc_per_block": fees_btc_per_block,
        "subsidy_btc_per_block": subsidy / SATS_PER_BTC,
        "halving_applied": halving,
        "hashprice_usd_per_ph_day": float(first.hashprice_usd_per_ph_day),
        "hashprice_btc_per_ph_day": float(first.hashprice_btc_per_ph_day),
        "share_under_water": float(first.share_under_water),
        "capitulation_ehs": float(first.capitulated_ehs),
        "difficulty_change_next_pct": float(path.difficulty_change_pct.iloc[1]) if len(path) > 1 else None,
    }
    result = None
    if miner is not None:
        hb = hashprice_btc_per_ph_day(bits, subsidy_now, fees_btc_per_block * SATS_PER_BTC) / 1000.0
        day = pd.Timestamp(state.at_unix - 1, unit="s").date()
        window = NetworkWindow(
            start=day, end=day, days=1, hashprice_btc_per_th_day=hb,
            hashprice_usd_per_th_day=hb * price_usd, price_usd=price_usd, difficulty=difficulty(bits),
            subsidy_btc_per_block=subsidy_now / SATS_PER_BTC, fees_btc_per_block=fees_btc_per_block,
        )
        result = miner_halving_stress(miner, window, subsidy_next / SATS_PER_BTC)
    return StressResult(network=network, epochs=path, curve=curve, miner=result)
