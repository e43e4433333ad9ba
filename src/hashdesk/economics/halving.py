"""Halving and price stress: a miner's margins across a subsidy cut, the network cost curve,
hashrate under water, capitulation and the difficulty response under the exact retarget rule.

The network cost curve is a table of hashrate segments, each with a share of network hashrate,
an efficiency [J/TH] and a power price [USD/kWh]. A segment is *under water* when its
power-only breakeven hashprice (efficiency × 0.024 × power price) exceeds the hashprice: it is
assumed to switch off (capitulate) and to come back once a retarget lifts the hashprice above
its breakeven. The default curve (``economics/data/network_cost_curve.csv``) sources every
tier (:data:`DEFAULT_CURVE_CAVEAT` says what it leaves out); a user file replaces it and the
output names it.

The halving enters at its height: each simulated block pays the consensus subsidy of its
height, so the epoch containing the halving is split and the cut arrives at the simulated time
the chain reaches it (``halving_at="now"`` keeps the older what-if that halves every remaining
block). :func:`mixed_subsidy_days` flags the days of the daily series that mix two eras.

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
    HALVING_INTERVAL,
    RETARGET_INTERVAL,
    SATS_PER_BTC,
    block_subsidy,
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
#: Optional provenance columns: where each tier's share, efficiency and power price come from,
#: and its ``status`` (``sourced``, ``derived`` — computed from sourced figures — or ``user input``).
PROVENANCE_COLUMNS = ["share_source", "efficiency_source", "power_source", "status"]
#: Subsidy of the first era [BTC].
INITIAL_SUBSIDY_BTC = 50.0
#: Allowed deviation of the shares' sum from 1 [–].
SHARE_SUM_TOL = 1e-6


class StressInputError(ValueError):
    """Bad stress-test input (cost curve, price, fees), naming the field."""


def validate_cost_curve(df: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Check a cost curve and add ``breakeven_hashprice_usd_per_ph_day``, sorted ascending.

    The optional :data:`PROVENANCE_COLUMNS` are kept when present; ``attrs["origin"]`` is set
    to ``origin``.

    Raises
    ------
    StressInputError
        Naming ``origin``, the row and the field.
    """
    missing = [c for c in COST_CURVE_COLUMNS if c not in df.columns]
    if missing:
        raise StressInputError(f"{origin}: missing column(s) {missing}")
    df = df[COST_CURVE_COLUMNS + [c for c in PROVENANCE_COLUMNS if c in df.columns]].copy()
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
    df.attrs["origin"] = origin
    return df


#: Origin label of the shipped curve.
DEFAULT_CURVE_ORIGIN = "shipped default (economics/data/network_cost_curve.csv)"
#: What the shipped curve is and is not (shown with every stress result that uses it).
DEFAULT_CURVE_CAVEAT = (
    "shipped curve: hashrate shares by machine from Coin Metrics' nonce fingerprinting (June "
    "2023; the residual tier's efficiency derived so the mean is Coin Metrics' 33.6 J/TH), "
    "efficiencies from spec sheets, and ONE power price for every tier (CCAF's survey median, "
    "45 USD/MWh, mid-2024). The spread of power prices across miners is not public: this curve "
    "sorts tiers by efficiency only, so capitulation driven by expensive power is not "
    "represented. Pass --curve FILE with your own tiers to stress that."
)


def read_cost_curve(path: str | Path | None = None) -> pd.DataFrame:
    """Read a cost curve CSV (:data:`COST_CURVE_COLUMNS`, optional :data:`PROVENANCE_COLUMNS`);
    the shipped default when ``path`` is None (``attrs["origin"]`` says which)."""
    if path is None:
        ref = resources.files("hashdesk.economics").joinpath("data/network_cost_curve.csv")
        with resources.as_file(ref) as p:
            return validate_cost_curve(pd.read_csv(p, comment="#"), DEFAULT_CURVE_ORIGIN)
    path = Path(path)
    if not path.exists():
        raise StressInputError(f"{path}: no such cost-curve file")
    try:
        df = pd.read_csv(path, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise StressInputError(f"{path}: cannot parse CSV: {exc}") from exc
    return validate_cost_curve(df, f"user file {path}")


def mean_efficiency_j_per_th(curve: pd.DataFrame) -> float:
    """Hashrate-weighted mean efficiency of a cost curve [J/TH]: ``Σ share × J/TH`` (network
    power / network hashrate).

    Examples
    --------
    >>> c = validate_cost_curve(pd.DataFrame({"segment": ["a", "b"], "hashrate_share": [0.25, 0.75],
    ...     "efficiency_j_per_th": [20.0, 40.0], "power_usd_per_kwh": [0.05, 0.05], "source": "t"}), "t")
    >>> mean_efficiency_j_per_th(c)
    35.0
    """
    return float((curve.hashrate_share * curve.efficiency_j_per_th).sum())


def cost_curve_provenance(curve: pd.DataFrame) -> dict:
    """Where every tier of a cost curve comes from, for the output.

    Returns
    -------
    dict
        ``origin`` (the shipped default or ``user file PATH``), ``caveat`` (what the curve does
        not represent), ``mean_efficiency_j_per_th`` and ``tiers``: per tier its segment, share,
        efficiency, power price, power-only breakeven [USD/PH/day], ``status`` and the source
        of its share, efficiency and power price (a user file's ``source`` text, named as the
        user's, when it has no provenance columns).
    """
    origin = str(curve.attrs.get("origin", "unnamed curve"))
    user = origin.startswith("user file")
    tiers = []
    for r in curve.itertuples(index=False):
        row = r._asdict()
        given = {c: row.get(c) for c in PROVENANCE_COLUMNS if isinstance(row.get(c), str) and row.get(c).strip()}
        fallback = f"{origin}: {row['source']}" if user else str(row["source"])
        tiers.append({
            "segment": row["segment"],
            "hashrate_share": float(row["hashrate_share"]),
            "efficiency_j_per_th": float(row["efficiency_j_per_th"]),
            "power_usd_per_kwh": float(row["power_usd_per_kwh"]),
            "breakeven_hashprice_usd_per_ph_day": float(row["breakeven_hashprice_usd_per_ph_day"]),
            "status": given.get("status", "user input" if user else "unstated"),
            "source": fallback,
            "share_source": given.get("share_source", fallback),
            "efficiency_source": given.get("efficiency_source", fallback),
            "power_source": given.get("power_source", fallback),
        })
    caveat = (DEFAULT_CURVE_CAVEAT if origin == DEFAULT_CURVE_ORIGIN else
              f"cost curve from the {origin}: its tiers are the user's input, not hashdesk data")
    return {"origin": origin, "caveat": caveat,
            "mean_efficiency_j_per_th": mean_efficiency_j_per_th(curve), "tiers": tiers}


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


def _state_default(given: float | None, known: float | None, what: str, flag: str, source: str,
                   at: str) -> tuple[float, str]:
    """A stress input and where it came from: ``given`` (set by the user), else the state's value."""
    if given is not None:
        return float(given), f"set ({flag})"
    if known is None:
        raise StressInputError(f"no {what} known at {at}: pass {flag}")
    return float(known), source


def _segments(first_height: int, constant_subsidy: int | None) -> list[tuple[int, int, int]]:
    """``(first, last, subsidy_sats)`` runs of one subsidy inside the epoch starting at
    ``first_height`` (one run for a constant subsidy; split at a halving height otherwise)."""
    last = first_height + RETARGET_INTERVAL - 1
    if constant_subsidy is not None:
        return [(first_height, last, int(constant_subsidy))]
    cuts = [h for h in range(first_height + 1, last + 1) if h % HALVING_INTERVAL == 0]
    edges = [first_height, *cuts, last + 1]
    return [(a, b - 1, block_subsidy(a)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def difficulty_response(
    bits: int,
    epoch: int,
    blocks_done: int,
    hashrate_ehs: float,
    curve: pd.DataFrame,
    subsidy_sats: int | None,
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
        Its epoch number (its first height is ``epoch × 2016``).
    blocks_done : int
        Blocks of that epoch already mined (0–2015), found at ``hashrate_ehs``.
    hashrate_ehs : float
        Network hashrate before the shock, the capacity that can come back [EH/s].
    curve : pandas.DataFrame
        Validated cost curve (:func:`validate_cost_curve`).
    subsidy_sats : int or None
        A subsidy held for every block [sats] (a what-if), or None for the consensus subsidy of
        each block's height (:func:`hashdesk.chain.consensus.block_subsidy`): a halving then
        takes effect at its height, reached at the simulated time, and the epoch containing it
        is split into one segment per subsidy.
    fees_btc_per_block : float
        Fees per block [BTC].
    price_usd : float
        BTC price [USD/BTC].
    n_epochs : int
        Epochs to report: the current one and ``n_epochs − 1`` retargets.

    Returns
    -------
    pandas.DataFrame
        One row per (epoch, subsidy segment) — one row per epoch unless a halving splits it:
        ``epoch``, ``first_height``, ``last_height`` (the segment's blocks), ``subsidy_btc_per_block``,
        ``bits``, ``difficulty``, ``difficulty_change_pct`` (at the epoch's retarget; on every
        segment of the epoch), ``hashprice_usd_per_ph_day``, ``hashprice_btc_per_ph_day``,
        ``share_under_water``, ``online_hashrate_ehs``, ``capitulated_ehs``, ``start_day`` (days
        after now when the segment's mining starts: the epoch's first block for its first
        segment, the block before the segment's first block otherwise; negative for the current
        epoch) and ``days`` (time until the segment's last block; for a segment under way, the
        days left).

    Notes
    -----
    The block at height ``h`` is found at the online hashrate ``H0 × (1 − share under water at
    the hashprice of subsidy(h))``, so the interval before it lasts ``work / H``; the retarget
    measures the 2015 intervals from the epoch's first to its last block
    (:func:`hashdesk.chain.consensus.next_work_required`). Blocks already mined took
    ``work / H0`` each.

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

    With the consensus subsidy, epoch 416 (heights 838,656–840,671) splits at 840,000:

    >>> r = difficulty_response(bits, 416, 0, H, c, None, 0.0, 64_000.0, n_epochs=2)
    >>> [(int(a), int(b), s) for a, b, s in zip(r.first_height, r.last_height, r.subsidy_btc_per_block)][:2]
    [(838656, 839999, 6.25), (840000, 840671, 3.125)]
    """
    check_stress_inputs(price_usd, fees_btc_per_block)
    if not np.isfinite(hashrate_ehs) or hashrate_ehs <= 0:
        raise StressInputError(f"hashrate_ehs must be > 0, got {hashrate_ehs!r}")
    if not 0 <= blocks_done < RETARGET_INTERVAL:
        raise StressInputError(f"blocks_done must be in 0..2015, got {blocks_done}")
    if n_epochs < 1:
        raise StressInputError(f"n_epochs must be >= 1, got {n_epochs}")
    if subsidy_sats is not None and subsidy_sats < 0:
        raise StressInputError(f"subsidy_sats must be >= 0, got {subsidy_sats!r}")
    h0 = hashrate_ehs * HS_PER_EHS

    def online(bits_: int, subsidy: int, ep: int) -> tuple[float, float, float]:
        hp = hashprice_usd_at(bits_, subsidy, fees_btc_per_block, price_usd)
        share = share_under_water(curve, hp)
        if share >= 1.0 - 1e-12:
            raise StressInputError(
                f"the whole cost curve is under water at {hp:.2f} USD/PH/day (epoch {ep}): "
                "no block would be found"
            )
        return hp, share, h0 * (1.0 - share)

    rows = []
    prev_diff = None
    n_before = max(blocks_done - 1, 0)  # measured intervals already elapsed at h0
    mined_last = epoch * RETARGET_INTERVAL + n_before  # highest height whose interval is history
    t_first = -round(n_before * block_work(bits) / h0)
    for j in range(n_epochs):
        ep = epoch + j
        fh = ep * RETARGET_INTERVAL
        w = block_work(bits)
        d = difficulty(bits)
        span = 0.0  # seconds from the epoch's first block to the end of the current segment
        for a, b, subsidy in _segments(fh, subsidy_sats):
            hp, share, h1 = online(bits, subsidy, ep)
            lo = max(a, fh + 1)  # intervals belong to the block they end with
            n_int = b - lo + 1
            n_old = max(0, min(b, mined_last) - lo + 1) if j == 0 else 0
            seg_start = t_first + span
            span += n_old * w / h0 + (n_int - n_old) * w / h1
            seg_end = t_first + span
            rows.append(
                {
                    "epoch": ep,
                    "first_height": a,
                    "last_height": b,
                    "subsidy_btc_per_block": subsidy / SATS_PER_BTC,
                    "bits": bits,
                    "difficulty": d,
                    "difficulty_change_pct": None if prev_diff is None else (d / prev_diff - 1.0) * 100.0,
                    "hashprice_usd_per_ph_day": hp,
                    "hashprice_btc_per_ph_day": hp / price_usd,
                    "share_under_water": share,
                    "online_hashrate_ehs": h1 / HS_PER_EHS,
                    "capitulated_ehs": (h0 - h1) / HS_PER_EHS,
                    "start_day": seg_start / 86_400.0,
                    "days": max(seg_end - max(seg_start, 0.0), 0.0) / 86_400.0,
                }
            )
        t_last = t_first + round(span)
        new_bits = next_work_required(bits, t_first, t_last)
        # the first block of the next epoch is found at the next epoch's online hashrate
        nfh = fh + RETARGET_INTERVAL
        sub_next = block_subsidy(nfh) if subsidy_sats is None else int(subsidy_sats)
        hp_next = hashprice_usd_at(new_bits, sub_next, fees_btc_per_block, price_usd)
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


#: How the halving enters the network response: at its height (reached at the simulated time),
#: or ``now`` (every remaining block at the next era's subsidy: a what-if, and the behaviour of
#: earlier versions, kept for comparison).
HALVING_MODES: tuple[str, ...] = ("height", "now")


@dataclass(frozen=True)
class StressResult:
    """Outcome of :func:`stress_test`: the network at the stress inputs, the difficulty path
    (one row per epoch and subsidy segment), the cost curve with each tier's provenance and,
    when a fleet is given, the miner across the halving."""

    network: dict
    epochs: pd.DataFrame
    curve: pd.DataFrame
    miner: HalvingStress | None
    cost_curve: dict | None = None


def stress_test(
    state: NetworkState,
    price_usd: float | None,
    fees_btc_per_block: float | None,
    curve: pd.DataFrame,
    halving: bool = False,
    n_epochs: int = 4,
    hashrate_ehs: float | None = None,
    miner: MinerSpec | None = None,
    halving_at: str = "height",
) -> StressResult:
    """Price / fee / halving stress from the network state at a time.

    Parameters
    ----------
    state : NetworkState
        The network as of the stress time (:func:`hashdesk.economics.state.network_state`):
        tip height, bits in force, blocks mined in the epoch, 7-day hashrate.
    price_usd : float or None
        Stress BTC price [USD/BTC]; None: the state's BTC close (``price_date``).
    fees_btc_per_block : float or None
        Stress fees per block [BTC]; None: the state's mean fees per block over its window
        (``fees_window``).
    curve : pandas.DataFrame
        Validated network cost curve (:func:`read_cost_curve`; its ``attrs`` carry the origin).
    halving : bool
        Apply the halving to the network response; else every block keeps today's subsidy.
    n_epochs : int
        Epochs in the difficulty path.
    hashrate_ehs : float, optional
        Pre-shock network hashrate [EH/s]; default the state's 7-day hashrate.
    miner : MinerSpec, optional
        A miner to stress across the halving at the stress price and fees (today's difficulty).
    halving_at : {"height", "now"}
        ``height`` (default): each block pays the consensus subsidy of its height, so blocks
        below the next halving height pay today's subsidy and the cut comes when the simulated
        chain reaches it. ``now``: every remaining block pays the next era's subsidy (a what-if
        that treats the blocks still paying the old subsidy as halved).

    Returns
    -------
    StressResult
        ``network`` holds the stress inputs and the headline figures: the subsidy of the next
        block, ``halving_height``, ``blocks_to_halving``, ``halving_day`` (simulated days from
        now to the halving block; None when it is not reached in the path), the hashprice and
        share under water now and after the halving, and the next retarget's change;
        ``price_source`` and ``fees_source`` say whether each input was given or taken from the
        state.
    """
    from hashdesk.chain.consensus import next_halving_height

    price_usd, price_source = _state_default(price_usd, state.price_usd, "price", "--price",
                                             f"the network state's BTC close on {state.price_date}", state.at)
    fees_btc_per_block, fees_source = _state_default(
        fees_btc_per_block, state.fees_btc_per_block, "fees per block", "--fees",
        f"the network state's mean fees per block over {state.fees_window}", state.at)
    check_stress_inputs(price_usd, fees_btc_per_block)
    if halving_at not in HALVING_MODES:
        raise StressInputError(f"halving_at must be one of {', '.join(HALVING_MODES)}, got {halving_at!r}")
    bits, epoch, height = state.bits, state.epoch, state.tip_height
    if hashrate_ehs is None:
        if state.hashrate_ehs_7d is None:
            raise StressInputError(f"no 7-day hashrate known at {state.at}: pass --hashrate-ehs")
        hashrate_ehs = float(state.hashrate_ehs_7d)
    h_halving = next_halving_height(height)
    subsidy_now = block_subsidy(height + 1)
    subsidy_next = block_subsidy(h_halving)
    if not halving:
        path_subsidy: int | None = subsidy_now
    elif halving_at == "now":
        path_subsidy = subsidy_next
    else:
        path_subsidy = None
    blocks_done = state.blocks_mined_in_epoch
    path = difficulty_response(
        bits, epoch, blocks_done, hashrate_ehs, curve, path_subsidy,
        fees_btc_per_block, price_usd, n_epochs,
    )
    first = path.iloc[0]
    later = path[path.epoch > epoch]
    after = path[path.first_height >= h_halving] if halving and halving_at == "height" else path
    reach = path[path.first_height == h_halving]
    halving_day = None  # days from now until mining at the new subsidy starts
    if halving and halving_at == "height" and len(reach):
        halving_day = float(reach.start_day.iloc[0])
    elif halving and halving_at == "now":
        halving_day = 0.0
    if halving and halving_at == "height":
        applied = f"at height {h_halving:,} (reached at the simulated time)"
    elif halving:
        applied = "now: every remaining block at the next era's subsidy (what-if)"
    else:
        applied = f"no: every block at today's subsidy (the halving at height {h_halving:,} not applied)"
    network = {
        "at": state.at,
        "height": height,
        "epoch": epoch,
        "blocks_done_in_epoch": blocks_done,
        "bits": bits,
        "difficulty": difficulty(bits),
        "hashrate_before_ehs": hashrate_ehs,
        "price_usd": price_usd,
        "price_source": price_source,
        "fees_btc_per_block": fees_btc_per_block,
        "fees_source": fees_source,
        "subsidy_btc_per_block": float(first.subsidy_btc_per_block),
        "halving_applied": halving,
        "halving_at": applied,
        "halving_height": h_halving,
        "blocks_to_halving": h_halving - height,
        "subsidy_after_halving_btc_per_block": subsidy_next / SATS_PER_BTC,
        "halving_day": halving_day,
        "hashprice_usd_per_ph_day": float(first.hashprice_usd_per_ph_day),
        "hashprice_btc_per_ph_day": float(first.hashprice_btc_per_ph_day),
        "share_under_water": float(first.share_under_water),
        "capitulation_ehs": float(first.capitulated_ehs),
        "hashprice_after_halving_usd_per_ph_day": (float(after.hashprice_usd_per_ph_day.iloc[0])
                                                   if halving and len(after) else None),
        "share_under_water_after_halving": (float(after.share_under_water.iloc[0])
                                            if halving and len(after) else None),
        "difficulty_change_next_pct": (float(later.difficulty_change_pct.iloc[0])
                                       if len(later) else None),
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
    return StressResult(network=network, epochs=path, curve=curve, miner=result,
                        cost_curve=cost_curve_provenance(curve))


# -- halving-day attribution in the daily series -------------------------------------------------

#: Columns added by :func:`mixed_subsidy_days`.
MIXED_SUBSIDY_COLUMNS: tuple[str, ...] = ("mixed_subsidy", "blocks_new_era", "subsidy_note")


def mixed_subsidy_days(daily: pd.DataFrame, halving_times: dict[int, int] | None = None) -> pd.DataFrame:
    """Flag the days of a daily series whose blocks mix two subsidy eras.

    A day is flagged (``mixed_subsidy``) when its realised subsidy per block is not one era's
    value (``50 / 2^k`` BTC) or when its blocks, as the series attributes them (heights
    ``height_last − blocks + 1 … height_last``), include a halving height. Coin Metrics assigns
    blocks to days by its own rule, not by header time: its 2024-04-19 carries blocks
    840,000–840,003, whose header times fall on 2024-04-20, and their fees (block 840,000 alone
    paid about 37.6 BTC of fees), so that day's hashprice is not a clean pre-halving figure.

    Parameters
    ----------
    daily : pandas.DataFrame
        The daily series (:func:`hashdesk.economics.hashprice.network_economics_daily`):
        ``date``, ``blocks``, ``subsidy_btc_per_block``, ``height_last``.
    halving_times : dict of int to int, optional
        Halving height → header time [unix s] (from the blocks known), quoted in the note.

    Returns
    -------
    pandas.DataFrame
        ``daily`` with :data:`MIXED_SUBSIDY_COLUMNS`: ``mixed_subsidy`` (bool),
        ``blocks_new_era`` (blocks of the day at the later era's subsidy, from the realised mean:
        ``n × (s_old − s) / (s_old − s_new)``; NaN when the day is not mixed) and
        ``subsidy_note`` (words; "" when not mixed).

    References
    ----------
    .. [1] Bitcoin Core ``GetBlockSubsidy`` (eras of 210,000 blocks).
    .. [2] Coin Metrics, ``IssTotNtv`` / ``BlkCnt`` (blocks attributed to UTC days by Coin Metrics).

    Examples
    --------
    151 blocks with a mean subsidy of 931.25 / 151 BTC: 147 at 6.25 and 4 at 3.125.

    >>> d = pd.DataFrame({"date": ["2024-04-18", "2024-04-19"], "blocks": [145, 151],
    ...                   "subsidy_btc_per_block": [6.25, 931.25 / 151], "height_last": [839852, 840003]})
    >>> out = mixed_subsidy_days(d)
    >>> out.mixed_subsidy.tolist(), round(float(out.blocks_new_era.iloc[1]), 9)
    ([False, True], 4.0)
    """
    out = daily.copy()
    n = pd.to_numeric(out["blocks"], errors="coerce").to_numpy(dtype=float)
    s = pd.to_numeric(out["subsidy_btc_per_block"], errors="coerce").to_numpy(dtype=float)
    hl = pd.to_numeric(out["height_last"], errors="coerce").to_numpy(dtype=float)
    eras = np.array([INITIAL_SUBSIDY_BTC / 2**k for k in range(34)])
    mixed = np.zeros(len(out), dtype=bool)
    new_era = np.full(len(out), np.nan)
    notes = [""] * len(out)
    halving_times = dict(halving_times or {})
    # vectorised screen: a day off every era's value, or whose attributed heights reach a multiple
    # of the halving interval; only those few days are worded below
    off = np.isfinite(s) & ~(np.abs(s[:, None] - eras[None, :]) <= 1e-9).any(axis=1)
    spans = np.isfinite(hl) & np.isfinite(n) & (n > 0)
    hl0, n0 = np.where(spans, hl, 0).astype(np.int64), np.where(spans, n, 0).astype(np.int64)
    lo0 = np.maximum(hl0 - n0 + 1, 1)
    first0 = -(-lo0 // HALVING_INTERVAL) * HALVING_INTERVAL
    for i in np.flatnonzero(off | (spans & (first0 <= hl0))):
        off_era = bool(off[i])
        touched = list(range(int(first0[i]), int(hl0[i]) + 1, HALVING_INTERVAL)) if spans[i] else []
        mixed[i] = True
        parts = []
        if off_era and np.isfinite(n[i]):
            s_old = float(eras[eras > s[i]].min())
            s_new = s_old / 2
            k = n[i] * (s_old - s[i]) / (s_old - s_new)
            new_era[i] = k
            parts.append(f"realised subsidy {s[i]:.6f} BTC/block is no one era's value: "
                         f"{n[i] - k:.0f} blocks at {s_old:g} and {k:.0f} at {s_new:g} BTC")
        for h in touched:
            words = f"halving block {h:,} is attributed to this day"
            if h in halving_times:
                t = pd.Timestamp(halving_times[h], unit="s")
                words += f" (header time {t:%Y-%m-%d %H:%M:%S} UTC)"
            parts.append(words)
        parts.append("its fees and hashprice mix both eras")
        notes[i] = "; ".join(parts)
    out["mixed_subsidy"] = mixed
    out["blocks_new_era"] = new_era
    out["subsidy_note"] = notes
    return out
