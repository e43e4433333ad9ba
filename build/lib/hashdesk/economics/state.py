"""One ``NetworkState`` as of a time: the single owner of "the network at t".

Every command that needs the network (``network``, ``economics``, ``profile``, ``stress``,
``shocks``, ``simulate``, ``hpc value``, ``brief``) uses the state built here, from whatever
covers the time — per-block rows (bundle windows or ``hashdesk sync``) or the daily network
series (Coin Metrics, or days built from synced blocks) — using only rows known at the time
(the read layer, :mod:`hashdesk.data`, hides every later row). The function is pure: frames in,
a frozen record out.

Which source answers each field
-------------------------------
* **Tip height**: the highest block of the top gap-free per-block run (exact), else the height of
  the last whole day's last block from the daily series (Coin Metrics' block counts carried from
  a retarget day; exact when its counts are), else an estimate from the last known epoch start
  and the daily hashrate (``tip_height_exact = False``). The candidate with the newest data wins.
* **Bits / difficulty**: the target in force for the **next** block (``tip_height + 1``): the
  epochs table, else the tip block's bits, else (at an epoch's last block) the exact retarget
  from the epoch's first and last header times.
* **Hashrate, 7 days**: Σ exact work of the blocks with header time in the 7 days before the
  data's edge / 7 days (per-block rows), else the mean of the daily series' 7 last whole days
  (the same estimator per day: Coin Metrics ``HashRate`` = Σ difficulty·2³² / 86,400), else
  mempool.space's smoothed daily estimate (a different estimator, named as such).
* **Fees per block**: Σ fees / Σ blocks over the daily series' last ``fee_window_days`` whole
  days with fees.
* **Price**: the newest BTC-USD daily close (Coin Metrics' 00:00 UTC fixing, synced candles,
  then blockchain.com's lagged MKPRU).
* **Hashprice** = 86,400·10¹⁵ / work(bits) × (subsidy(tip+1) + fees per block) × price:
  the spot hashprice at ``t`` (the daily series' hashprice is a day's realised mean instead).

``ages_s`` holds each field's age (``t`` minus the time of the newest row behind it) and
``stale_s`` the largest. A field older than ``max_stale_s`` is dropped (None) with a note; when
the tip itself is older the state is refused with a message naming the newest data.

References
----------
.. [1] DESIGN.md §1 ("one owner per number"), §2 (consensus), §3 (hashprice).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hashdesk.chain.consensus import (
    RETARGET_INTERVAL,
    SATS_PER_BTC,
    block_subsidy,
    block_work,
    difficulty,
    next_halving_height,
    next_work_required,
)
from hashdesk.chain.hashrate import contiguous_runs, covered_span, hashrate_time_windows
from hashdesk.economics.core import hashprice_btc_per_ph_day
from hashdesk.times import DAY_S, age_words, day_end_unix, iso_utc
from hashdesk.units import HS_PER_EHS

#: Genesis block header time [unix s].
GENESIS_TIME: int = 1231006505
#: Default staleness limit: fields whose newest row is older than this are dropped [s].
DEFAULT_MAX_STALE_S: int = 3 * DAY_S
#: A per-block run whose newest header time is within this of ``t`` is live at ``t`` [s]
#: (the longest gap between blocks in the bundle is 7,303 s; P(no block in 3 h) ≈ 1.5e-8).
LIVE_GAP_S: int = 3 * 3600
#: Trailing window of the hashrate estimate [days].
HASHRATE_WINDOW_DAYS: int = 7
#: Trailing window of the fees per block [days].
FEE_WINDOW_DAYS: int = 7
#: Per-block runs shorter than this are not per-block data (median-time-past needs 11).
MIN_RUN_BLOCKS: int = 12


class NetworkDataError(ValueError):
    """No data covers the requested time (before, after or in a gap), said with what exists."""


@dataclass(frozen=True)
class NetworkState:
    """The network as of a time ``at`` (see the module notes for where each field comes from).

    Attributes
    ----------
    at : str
        The instant, ISO 8601 UTC.
    at_unix : int
        The instant [unix s].
    as_of : str
        How it was asked, e.g. ``"end of 2024-01-16 UTC"``.
    tip_height : int
        Height of the last block before ``at`` [blocks].
    tip_height_exact : bool
        False when the height is an estimate (no per-block rows, no daily block counts).
    tip_time : str or None
        Header time of the tip block (ISO UTC) when per-block rows give it.
    epoch : int
        Difficulty epoch of the next block.
    bits : int
        Compact target in force for the next block (``tip_height + 1``).
    difficulty : float
        ``target(0x1d00ffff) / target`` [–].
    epoch_start_height : int
        First height of ``epoch`` [blocks].
    epoch_start_time : str or None
        Header time of that block (ISO UTC), when known.
    blocks_mined_in_epoch : int
        Blocks of ``epoch`` mined by ``at`` (``tip_height + 1 − epoch_start_height``).
    next_retarget_height, next_halving_height : int
        [blocks].
    subsidy_btc : float
        Subsidy of the next block [BTC].
    hashrate_ehs_7d : float or None
        Network hashrate over the 7 days before the data's edge [EH/s].
    hashrate_window : str or None
        The window and estimator, in words.
    fees_btc_per_block : float or None
        Mean fees per block over ``fees_window`` [BTC].
    fees_window : str or None
    price_usd : float or None
        BTC price [USD/BTC].
    price_date : str or None
        UTC day of that close (it is the price at the end of the day).
    hashprice_usd_per_ph_day, hashprice_btc_per_ph_day : float or None
        Spot hashprice at ``at`` [USD/PH/day], [BTC/PH/day].
    stale_s : int
        Largest age among the fields present [s].
    ages_s : dict
        Age of each field's newest row [s].
    sources : dict
        Where each field came from.
    notes : tuple of str
        Fields dropped as too old, and other caveats.
    """

    at: str
    at_unix: int
    as_of: str
    tip_height: int
    tip_height_exact: bool
    tip_time: str | None
    epoch: int
    bits: int
    difficulty: float
    epoch_start_height: int
    epoch_start_time: str | None
    blocks_mined_in_epoch: int
    next_retarget_height: int
    next_halving_height: int
    subsidy_btc: float
    hashrate_ehs_7d: float | None
    hashrate_window: str | None
    fees_btc_per_block: float | None
    fees_window: str | None
    price_usd: float | None
    price_date: str | None
    hashprice_usd_per_ph_day: float | None
    hashprice_btc_per_ph_day: float | None
    stale_s: int
    ages_s: dict[str, int] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def subsidy_sats(self) -> int:
        """Subsidy of the next block [sats]."""
        return block_subsidy(self.tip_height + 1)

    @property
    def fees_sats_per_block(self) -> float | None:
        """Mean fees per block [sats]."""
        return None if self.fees_btc_per_block is None else self.fees_btc_per_block * SATS_PER_BTC

    @property
    def hashprice_usd_per_th_day(self) -> float | None:
        """Spot hashprice [USD/TH/day]."""
        return None if self.hashprice_usd_per_ph_day is None else self.hashprice_usd_per_ph_day / 1000.0

    @property
    def hashprice_btc_per_th_day(self) -> float | None:
        """Spot hashprice [BTC/TH/day]."""
        return None if self.hashprice_btc_per_ph_day is None else self.hashprice_btc_per_ph_day / 1000.0

    def require(self, *names: str) -> NetworkState:
        """Return self, or raise :class:`NetworkDataError` naming the fields that are missing."""
        gone = [n for n in names if getattr(self, n) is None]
        if gone:
            why = "; ".join(self.notes) or "no data"
            raise NetworkDataError(f"network state at {self.at}: no {', '.join(gone)} ({why})")
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (``bits`` as ``0x…`` hex, as ``getblockheader`` prints it)."""
        d = asdict(self)
        d["bits"] = f"0x{self.bits:08x}"
        d["notes"] = list(self.notes)
        return d


def given_state(at: int, tip_height: int, bits: int, fees_btc_per_block: float, price_usd: float,
                hashrate_ehs_7d: float | None = None, epoch_start_time: int | None = None,
                source: str = "given") -> NetworkState:
    """A network state from given figures (what-if analysis, tests): the derived fields (difficulty,
    subsidy, hashprice, epoch and halving heights) follow from them exactly.

    Parameters
    ----------
    at : int
        The instant [unix s].
    tip_height : int
        Last block before ``at`` [blocks].
    bits : int
        Compact target in force for the next block.
    fees_btc_per_block : float
        [BTC].
    price_usd : float
        [USD/BTC].
    hashrate_ehs_7d : float, optional
        [EH/s].
    epoch_start_time : int, optional
        Header time of the epoch's first block [unix s].
    source : str
        Recorded as every field's source.

    Examples
    --------
    >>> s = given_state(1743811200, 890_963, 0x1702796C, 0.0379, 83_774.18)
    >>> (s.epoch, s.subsidy_btc, round(s.hashprice_usd_per_ph_day, 2))
    (441, 3.125, 46.86)
    """
    nxt = int(tip_height) + 1
    start = nxt // RETARGET_INTERVAL * RETARGET_INTERVAL
    sub = block_subsidy(nxt)
    hp_btc = hashprice_btc_per_ph_day(int(bits), sub, float(fees_btc_per_block) * SATS_PER_BTC)
    fields = ("tip_height", "bits", "fees_btc_per_block", "price_usd") + (
        ("hashrate_ehs_7d",) if hashrate_ehs_7d is not None else ())
    return NetworkState(
        at=iso_utc(at), at_unix=int(at), as_of=source, tip_height=int(tip_height), tip_height_exact=True,
        tip_time=None, epoch=nxt // RETARGET_INTERVAL, bits=int(bits), difficulty=difficulty(int(bits)),
        epoch_start_height=start,
        epoch_start_time=iso_utc(epoch_start_time) if epoch_start_time is not None else None,
        blocks_mined_in_epoch=nxt - start, next_retarget_height=start + RETARGET_INTERVAL,
        next_halving_height=next_halving_height(int(tip_height)), subsidy_btc=sub / SATS_PER_BTC,
        hashrate_ehs_7d=hashrate_ehs_7d, hashrate_window=source if hashrate_ehs_7d is not None else None,
        fees_btc_per_block=float(fees_btc_per_block), fees_window=source, price_usd=float(price_usd),
        price_date=None, hashprice_usd_per_ph_day=hp_btc * float(price_usd), hashprice_btc_per_ph_day=hp_btc,
        stale_s=0, ages_s={}, sources={f: source for f in fields},
    )


# -- helpers -------------------------------------------------------------------------------------


def _top_run(blocks: pd.DataFrame) -> pd.DataFrame | None:
    """The gap-free run of per-block rows with the highest heights (at least 12 blocks)."""
    if blocks is None or len(blocks) < MIN_RUN_BLOCKS:
        return None
    h = blocks["height"].to_numpy(dtype=np.int64)
    runs = [r for r in contiguous_runs(h) if r.stop - r.start >= MIN_RUN_BLOCKS]
    return blocks.iloc[runs[-1]] if runs else None


def _run_edge(run: pd.DataFrame, t: int, synced: tuple[int, int] | None) -> tuple[int, str]:
    """Time up to which the run holds every block, and why: live at ``t``, synced, or MTP-proved."""
    times = run["time"].to_numpy(dtype=np.int64)
    newest = int(times.max())
    if t - newest <= LIVE_GAP_S:
        return t, f"live: newest block {iso_utc(newest)}, {age_words(t - newest)} before"
    top = int(run["height"].iloc[-1])
    if synced is not None and synced[0] == top and synced[1] <= t:
        return max(int(synced[1]), covered_span(times)[1]), f"synced: nothing newer at {iso_utc(synced[1])}"
    return covered_span(times)[1], "per-block rows end"


def block_days_live_end(blocks: pd.DataFrame, t: int, synced: tuple[int, int] | None) -> int | None:
    """Time up to which the top per-block run holds every block, when that is more than the
    median-time-past rule proves: ``t`` when the run is live at ``t``, the sync time when a sync
    found nothing newer (for :func:`hashdesk.economics.hashprice.daily_from_blocks`) [unix s]."""
    run = _top_run(blocks)
    if run is None:
        return None
    edge, why = _run_edge(run, int(t), synced)
    return edge if not why.startswith("per-block") else None


def _epoch_row(epochs: pd.DataFrame, e: int) -> pd.Series | None:
    hit = epochs[epochs["epoch"] == e]
    return None if hit.empty else hit.iloc[0]


def _daily_window(daily: pd.DataFrame, col: str, days: int, last_day) -> pd.DataFrame:
    """The ``days`` last whole days up to ``last_day`` with a finite ``col``."""
    d = daily[(daily["date"] <= last_day) & daily[col].notna()]
    d = d[np.isfinite(pd.to_numeric(d[col], errors="coerce").to_numpy(dtype=np.float64))]
    return d.tail(days)


# -- the builder --------------------------------------------------------------------------------


def network_state(
    at_unix: int,
    blocks: pd.DataFrame,
    epochs: pd.DataFrame,
    daily: pd.DataFrame | None = None,
    btc_prices: pd.DataFrame | None = None,
    hashrate_daily: pd.DataFrame | None = None,
    synced: tuple[int, int] | None = None,
    *,
    as_of: str | None = None,
    max_stale_s: int = DEFAULT_MAX_STALE_S,
    fee_window_days: int = FEE_WINDOW_DAYS,
) -> NetworkState:
    """Build the network state as of ``at_unix`` from rows known at that time.

    Parameters
    ----------
    at_unix : int
        The instant [unix s].
    blocks : pandas.DataFrame
        Per-block ``height``, ``time`` [unix s], ``bits`` known at ``at_unix``
        (:func:`hashdesk.data.chain.blocks`).
    epochs : pandas.DataFrame
        :func:`hashdesk.data.chain.epochs` (``epoch``, ``first_height``, ``bits``,
        ``start_time`` [unix s, NaN unknown], ``start_time_source``, ``in_table``).
    daily : pandas.DataFrame, optional
        The daily network series as of ``at_unix``
        (:func:`hashdesk.economics.hashprice.network_economics_daily`).
    btc_prices : pandas.DataFrame, optional
        ``date``, ``close`` [USD/BTC], ``source`` (:func:`hashdesk.data.network.btc_prices`).
    hashrate_daily : pandas.DataFrame, optional
        mempool.space's daily estimate (``date``, ``hashrate_ehs``) for times before the daily
        series.
    synced : (int, int), optional
        :func:`hashdesk.data.chain.synced_through`.
    as_of : str, optional
        How the time was asked (for the record).
    max_stale_s : int
        Staleness limit [s] (module notes).
    fee_window_days : int
        Trailing window of the fees per block [days].

    Returns
    -------
    NetworkState

    Raises
    ------
    NetworkDataError
        Before genesis, or when no tip height within ``max_stale_s`` of ``at_unix`` is known,
        naming the newest data.

    References
    ----------
    .. [1] DESIGN.md §1–3.
    """
    t = int(at_unix)
    if t <= GENESIS_TIME:
        raise NetworkDataError(f"at: {iso_utc(t)} is before the genesis block ({iso_utc(GENESIS_TIME)})")
    sources: dict[str, str] = {}
    ages: dict[str, int] = {}
    notes: list[str] = []
    daily = daily if daily is not None else pd.DataFrame(columns=["date"])
    last_day = pd.Timestamp(t - DAY_S, unit="s").date()  # the last UTC day ended by t
    starts = epochs["start_time"].to_numpy(dtype=np.float64)

    # -- tip height: candidates with their age; the newest wins, exact on ties ------------------
    # (age for ranking, rank, tip, exact, tip time, source, age of the newest row)
    candidates: list[tuple[int, int, int, bool, int | None, str, int]] = []
    run = _top_run(blocks)
    run_edge = None
    if run is not None:
        edge, why = _run_edge(run, t, synced)
        run_edge = edge
        top_i = int(np.argmax(run["height"].to_numpy()))
        tip_b = int(run["height"].iloc[top_i])
        # the age of the tip is that of the newest word about it: the newest block, or a later sync
        newest = int(run["time"].max())
        if synced is not None and synced[0] == tip_b and synced[1] <= t:
            newest = max(newest, int(synced[1]))
        ended = why.startswith("per-block")
        # a live or synced run is the data's edge at t (ranked as fresh); its age is the newest block's
        candidates.append((t - edge if ended else 0, 0, tip_b, True, int(run["time"].iloc[top_i]),
                           f"blocks (per-block header times; {why})", t - min(newest, edge) if ended else t - newest))
    if len(daily) and "height_last" in daily:
        d = daily[(daily["date"] <= last_day) & daily["height_last"].notna()]
        if len(d):
            row = d.iloc[-1]
            age_d = t - day_end_unix(row["date"])
            candidates.append((age_d, 1, int(row["height_last"]), False, None,
                               f"daily series: last block of {row['date']} ({row['day_source']} block counts "
                               "carried from a retarget day)", age_d))
    known = np.flatnonzero(~np.isnan(starts) & (starts < t))
    if len(known):
        e = int(known[-1])
        est = _extrapolated_tip(t, int(epochs["first_height"].iloc[e]), int(starts[e]),
                                int(epochs["bits"].iloc[e]), hashrate_daily, last_day)
        if est is not None:
            tip_e, age_e, words = est
            candidates.append((age_e, 2, tip_e, False, None, words, age_e))
    if not candidates:
        raise NetworkDataError(f"at: no chain data known at {iso_utc(t)} in the store: run `hashdesk ingest`")
    candidates.sort(key=lambda c: (c[0], c[1]))
    _, _, tip, exact, tip_time, src, age = candidates[0]
    if age > max_stale_s:
        raise NetworkDataError(
            f"at: {iso_utc(t)} is {age_words(age)} after the newest chain data known then "
            f"({src}); the staleness limit is {age_words(max_stale_s)}: run `hashdesk sync` "
            "to bring the store up to date, or ask for an earlier time"
        )
    sources["tip_height"] = src
    ages["tip_height"] = int(age)

    # -- bits in force for the next block ------------------------------------------------------
    nxt = tip + 1
    epoch = nxt // RETARGET_INTERVAL
    start_height = epoch * RETARGET_INTERVAL
    row = _epoch_row(epochs, epoch)
    bits = None
    if row is not None:
        bits = int(row["bits"])
        sources["bits"] = ("epochs (Electrum checkpoint targets, exact)" if bool(row.get("in_table", True))
                           else "blocks (synced headers' bits, checked against the retarget rule)")
    elif nxt % RETARGET_INTERVAL == 0 and run is not None:
        prev = _epoch_row(epochs, epoch - 1)
        first = run[run["height"] == start_height - RETARGET_INTERVAL]
        last = run[run["height"] == tip]
        first_time = (int(first["time"].iloc[0]) if len(first)
                      else (int(prev["start_time"]) if prev is not None and not math.isnan(prev["start_time"]) else None))
        if prev is not None and first_time is not None and len(last):
            bits = next_work_required(int(prev["bits"]), first_time, int(last["time"].iloc[0]))
            sources["bits"] = "retarget rule on the epoch's first and last header times (exact)"
    if bits is None and run is not None and tip // RETARGET_INTERVAL == epoch:
        bits = int(run.loc[run["height"] == tip, "bits"].iloc[0])
        sources["bits"] = "blocks (the tip block's bits)"
    if bits is None:
        raise NetworkDataError(
            f"at: the target of epoch {epoch} (next block {nxt:,}) is in neither the epochs table nor blocks"
        )
    t0 = float(row["start_time"]) if row is not None else math.nan
    if math.isnan(t0) and run is not None:
        hit = run[run["height"] == start_height]
        t0 = float(hit["time"].iloc[0]) if len(hit) else math.nan
        if len(hit):
            sources["epoch_start_time"] = "blocks"
    elif row is not None and row.get("start_time_source"):
        sources["epoch_start_time"] = str(row["start_time_source"])

    # -- hashrate over 7 days ------------------------------------------------------------------
    hr = None
    if run is not None and run_edge is not None:
        times = run["time"].to_numpy(dtype=np.int64)
        end = min(t, run_edge)
        begin = end - HASHRATE_WINDOW_DAYS * DAY_S
        if covered_span(times)[0] <= begin:
            hs, count = hashrate_time_windows(times, run["bits"].to_numpy(dtype=np.int64), np.array([begin, end]))
            hr = (float(hs[0]) / HS_PER_EHS, t - end,
                  f"7 days {iso_utc(begin)} → {iso_utc(end)}, {int(count[0]):,} blocks by header time",
                  "blocks (Σ exact work of the blocks with header time in the window / 7 days)")
    if len(daily) and "hashrate_ehs" in daily:
        w = _daily_window(daily, "hashrate_ehs", HASHRATE_WINDOW_DAYS, last_day)
        if len(w) == HASHRATE_WINDOW_DAYS and (pd.Timestamp(w["date"].iloc[-1]) - pd.Timestamp(w["date"].iloc[0])).days == 6:
            age_d = t - day_end_unix(w["date"].iloc[-1])
            if hr is None or age_d < hr[1]:
                hr = (float(w["hashrate_ehs"].mean()), age_d,
                      f"7 UTC days {w['date'].iloc[0]} → {w['date'].iloc[-1]}, mean of daily values",
                      "daily series (Σ work of each day's blocks / 86,400 s; Coin Metrics HashRate or synced blocks)")
    if hr is None and hashrate_daily is not None and len(hashrate_daily):
        hd = hashrate_daily.assign(date=pd.to_datetime(hashrate_daily["date"]).dt.date)
        w = _daily_window(hd, "hashrate_ehs", HASHRATE_WINDOW_DAYS, last_day)
        if len(w) == HASHRATE_WINDOW_DAYS:
            hr = (float(w["hashrate_ehs"].mean()), t - day_end_unix(w["date"].iloc[-1]),
                  f"7 UTC days {w['date'].iloc[0]} → {w['date'].iloc[-1]}, mean of daily values",
                  "hashrate_daily (mempool.space's smoothed estimate from difficulty and block times)")

    # -- fees per block ------------------------------------------------------------------------
    fees = None
    if len(daily) and "fees_btc_total" in daily:
        w = _daily_window(daily, "fees_btc_total", fee_window_days, last_day)
        w = w[pd.to_numeric(w["blocks"], errors="coerce") > 0]
        if len(w):
            total = float(w["fees_btc_total"].sum())
            n = float(pd.to_numeric(w["blocks"]).sum())
            fee_src = ", ".join(sorted({str(s) for s in w["fees_source"].dropna()}))
            fees = (total / n, t - day_end_unix(w["date"].iloc[-1]),
                    f"{len(w)} UTC days {w['date'].iloc[0]} → {w['date'].iloc[-1]}: Σ fees / Σ blocks ({int(n):,} blocks)",
                    f"daily series ({fee_src})")

    # -- price ----------------------------------------------------------------------------------
    price = None
    if btc_prices is not None and len(btc_prices):
        p = btc_prices[pd.to_datetime(btc_prices["date"]).dt.date <= last_day]
        if len(p):
            r = p.iloc[-1]
            d = pd.Timestamp(r["date"]).date()
            lag = " (a lagged daily average: SOURCES.md §2)" if r["source"] == "blockchaincom_mkpru" else ""
            price = (float(r["close"]), t - day_end_unix(d), d.isoformat(), f"prices_daily BTC-USD {r['source']}{lag}")

    def keep(name: str, value, age_s: int, src: str):
        if value is None:
            return None
        if age_s > max_stale_s:
            notes.append(f"{name}: the newest value is {age_words(age_s)} old (limit {age_words(max_stale_s)})")
            return None
        ages[name] = int(age_s)
        sources[name] = src
        return value

    hashrate = keep("hashrate_ehs_7d", hr[0] if hr else None, hr[1] if hr else 0, hr[3] if hr else "")
    fee_v = keep("fees_btc_per_block", fees[0] if fees else None, fees[1] if fees else 0, fees[3] if fees else "")
    price_v = keep("price_usd", price[0] if price else None, price[1] if price else 0, price[3] if price else "")
    for name, v in (("hashrate_ehs_7d", hr), ("fees_btc_per_block", fees), ("price_usd", price)):
        if v is None:
            notes.append(f"{name}: no data known at {iso_utc(t)}")
    subsidy_sats = block_subsidy(nxt)
    hp_btc = hp_usd = None
    if fee_v is not None:
        hp_btc = hashprice_btc_per_ph_day(bits, subsidy_sats, fee_v * SATS_PER_BTC)
        sources["hashprice_btc_per_ph_day"] = "86,400·10^15 / work(bits) × (subsidy + fees per block)"
        if price_v is not None:
            hp_usd = hp_btc * price_v
            sources["hashprice_usd_per_ph_day"] = "hashprice [BTC/PH/day] × price_usd"
    return NetworkState(
        at=iso_utc(t), at_unix=t, as_of=as_of or iso_utc(t),
        tip_height=tip, tip_height_exact=exact,
        tip_time=iso_utc(tip_time) if tip_time is not None else None,
        epoch=epoch, bits=bits, difficulty=difficulty(bits),
        epoch_start_height=start_height,
        epoch_start_time=iso_utc(t0) if not math.isnan(t0) else None,
        blocks_mined_in_epoch=nxt - start_height,
        next_retarget_height=start_height + RETARGET_INTERVAL,
        next_halving_height=next_halving_height(tip),
        subsidy_btc=subsidy_sats / SATS_PER_BTC,
        hashrate_ehs_7d=hashrate, hashrate_window=hr[2] if hashrate is not None else None,
        fees_btc_per_block=fee_v, fees_window=fees[2] if fee_v is not None else None,
        price_usd=price_v, price_date=price[2] if price_v is not None else None,
        hashprice_usd_per_ph_day=hp_usd, hashprice_btc_per_ph_day=hp_btc,
        stale_s=max(ages.values()) if ages else 0,
        ages_s=ages, sources=sources, notes=tuple(notes),
    )


def _extrapolated_tip(t: int, start_height: int, start_time: int, bits: int,
                      hashrate_daily: pd.DataFrame | None, last_day) -> tuple[int, int, str] | None:
    """Tip estimate from the last known epoch start: Σ daily hashrate × seconds / work.

    Returns ``(tip, age [s], words)`` or None without a daily hashrate since the epoch start.
    """
    if hashrate_daily is None or not len(hashrate_daily):
        return None
    hd = hashrate_daily.assign(date=pd.to_datetime(hashrate_daily["date"]).dt.date)
    first_day = pd.Timestamp(start_time, unit="s").date()
    w = hd[(hd["date"] >= first_day) & (hd["date"] <= last_day)]
    if w.empty:
        return None
    work = float(block_work(bits))
    blocks = 0.0
    for d, h in zip(w["date"], w["hashrate_ehs"], strict=True):
        a = max(start_time, day_end_unix(d) - DAY_S)
        b = min(t, day_end_unix(d))
        if b > a and np.isfinite(h):
            blocks += float(h) * HS_PER_EHS * (b - a) / work
    age = t - day_end_unix(w["date"].iloc[-1])
    tip = start_height + min(int(blocks), RETARGET_INTERVAL - 1)
    words = (f"estimate: epoch start {start_height:,} at {iso_utc(start_time)} + Σ daily hashrate × time "
             "/ work per block (hashrate_daily, mempool.space)")
    return tip, max(age, 0), words


__all__ = ["DEFAULT_MAX_STALE_S", "GENESIS_TIME", "NetworkDataError", "NetworkState", "block_days_live_end",
           "given_state",
           "network_state"]
