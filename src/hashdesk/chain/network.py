"""Network view: the chain's state at a UTC date or time, from the store.

This module holds the store queries of the chain package; the arithmetic is in
:mod:`hashdesk.chain.consensus`, :mod:`hashdesk.chain.hashrate` and
:mod:`hashdesk.chain.projection`. Every figure names the table it came from.

Data sources, in order of preference:

* ``blocks`` (per-block header times: the bundle's ``btc_block_times.csv`` windows and rows
  written by ``hashdesk sync``, source ``sync:<name>``): exact tip height, blocks into the
  epoch, 7-day hashrate from Σ work / 7 days, live retarget projection. A gap-free run of more
  than 11 blocks counts (a synced stretch need not span an epoch). After the store's last
  block, a synced top run also covers every instant up to the latest ``sync`` event in
  ``event_log`` that ended at that block (:func:`synced_through`): at that time the source had
  nothing newer.
* ``epochs`` (bits for every epoch; start times from bitcoinj headers, per-block data and,
  where those lack one, ``difficulty_adjustments``; epochs after the table's last one are
  added from synced blocks): epoch, bits, difficulty; without per-block data the tip height is
  interpolated between epoch start times and marked so.
* ``network_daily`` (Coin Metrics) then ``hashrate_daily`` (mempool.space) for the 7-day
  hashrate where per-block data is missing.
"""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd

from hashdesk.chain.consensus import (
    RETARGET_INTERVAL,
    SATS_PER_BTC,
    block_subsidy,
    difficulty,
    next_halving_height,
)
from hashdesk.chain.hashrate import (
    DAY_S,
    HS_PER_EHS,
    contiguous_runs,
    covered_span,
    epoch_hashrate,
    epoch_window_words,
    hashrate_time_windows,
    trailing_hashrate,
    utc_text,
)
from hashdesk.chain.projection import (
    DEFAULT_HISTORY_EPOCHS,
    backtest_projection,
    fit_drift_prior,
    project_retarget,
)
from hashdesk.store.db import Store

#: Genesis block header time [unix s].
GENESIS_TIME: int = 1231006505
#: The height range in a ``sync`` event message of :func:`hashdesk.store.chainsync.sync_chain`.
_SYNC_RANGE_RE = re.compile(r"heights (\d+)\.\.(\d+)")


class NetworkDataError(ValueError):
    """The store holds no data for the requested date (before, after or in a gap)."""


def iso_utc(t: int | float) -> str:
    """Unix seconds as ISO 8601 UTC, e.g. ``2024-01-16T00:00:00Z``."""
    return datetime.fromtimestamp(int(t), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_at(at: str | date | datetime | int | float) -> tuple[int, str]:
    """Resolve a date or timestamp to unix seconds (UTC) and describe it.

    Parameters
    ----------
    at : str, date, datetime or number
        ``YYYY-MM-DD`` (or a ``date``) means the **end** of that UTC day, so its 7-day window is
        the seven UTC days ending with it; an ISO timestamp (naive = UTC) or a ``datetime`` is
        taken as is; a number is unix seconds; ``"now"`` is the current time.

    Returns
    -------
    at_unix : int
        The instant [unix s].
    words : str
        E.g. ``"end of 2024-01-16 UTC"``.
    """
    if isinstance(at, (int, float, np.integer)) and not isinstance(at, bool):
        return int(at), iso_utc(at)
    if isinstance(at, datetime):
        dt = at if at.tzinfo else at.replace(tzinfo=UTC)
        return int(dt.timestamp()), iso_utc(dt.timestamp())
    if isinstance(at, date):
        start = datetime(at.year, at.month, at.day, tzinfo=UTC)
        return int(start.timestamp()) + DAY_S, f"end of {at.isoformat()} UTC"
    text = str(at).strip()
    if text.lower() == "now":
        now = int(time.time())
        return now, f"now ({iso_utc(now)})"
    if text.isdigit():
        return int(text), iso_utc(int(text))
    try:
        if len(text) == 10:
            return parse_at(date.fromisoformat(text))
        return parse_at(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise ValueError(
            f"at: cannot read {text!r}; use a UTC date YYYY-MM-DD, an ISO timestamp "
            "(e.g. 2024-01-16T12:00:00Z), unix seconds or 'now'"
        ) from None


def load_blocks(store: Store) -> pd.DataFrame:
    """Per-block ``height``, ``time`` [unix s], ``bits`` and ``source`` from ``blocks``."""
    return store.df(
        "SELECT height, time, bits, source FROM blocks WHERE bits IS NOT NULL ORDER BY height"
    )


def load_epochs(store: Store) -> pd.DataFrame:
    """Epochs with start times, from ``epochs`` extended and filled by per-block data.

    Start time of an epoch: ``epochs.start_time``, else the header time of its first block in
    ``blocks`` (e.g. synced), else ``difficulty_adjustments``. Epochs after the table's last one
    whose blocks are stored (synced past the bundle) are appended with the bits of their blocks
    (validated against the retarget rule by sync).

    Returns
    -------
    pandas.DataFrame
        ``epoch``, ``first_height``, ``bits``, ``difficulty``, ``start_time`` [unix s, float
        with NaN when unknown], ``start_time_source`` (``"epochs"``, ``"blocks"``,
        ``"difficulty_adjustments"`` or None).
    """
    ep = store.df(
        """
        SELECT e.epoch, e.first_height, e.bits, e.difficulty,
               e.start_time, b.time AS block_time, d.time AS adj_time
        FROM epochs e
        LEFT JOIN blocks b ON b.height = e.first_height
        LEFT JOIN difficulty_adjustments d ON d.height = e.first_height
        ORDER BY e.epoch
        """
    )
    if ep.empty:
        raise NetworkDataError("the store has no epochs: run `hashdesk ingest` first")
    if (ep.epoch.to_numpy() != np.arange(len(ep))).any():
        raise NetworkDataError("epochs table is not the consecutive run 0, 1, 2, …")
    later = store.df(
        """
        SELECT height // ? AS epoch, arg_min(bits, height) AS bits,
               max(CASE WHEN height % ? = 0 THEN time END) AS block_time
        FROM blocks WHERE bits IS NOT NULL AND height >= ?
        GROUP BY 1 ORDER BY 1
        """,
        [RETARGET_INTERVAL, RETARGET_INTERVAL, len(ep) * RETARGET_INTERVAL],
    )
    later = later[later.epoch.to_numpy() == np.arange(len(ep), len(ep) + len(later))]
    if len(later):
        later = later.assign(
            first_height=later.epoch * RETARGET_INTERVAL,
            difficulty=[difficulty(int(b)) for b in later.bits],
            start_time=None, adj_time=None,
        )
        ep = pd.concat([ep, later[ep.columns]], ignore_index=True)
    cols = {c: ep[c].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
            for c in ("start_time", "block_time", "adj_time")}
    start = np.where(~np.isnan(cols["start_time"]), cols["start_time"],
                     np.where(~np.isnan(cols["block_time"]), cols["block_time"], cols["adj_time"]))
    ep["start_time"] = start
    ep["start_time_source"] = np.select(
        [~np.isnan(cols["start_time"]), ~np.isnan(cols["block_time"]), ~np.isnan(cols["adj_time"])],
        ["epochs", "blocks", "difficulty_adjustments"], default=None,
    )
    return ep.drop(columns=["block_time", "adj_time"]).astype({"epoch": "int64", "first_height": "int64",
                                                               "bits": "int64"})


def synced_through(store: Store) -> tuple[int, int] | None:
    """Height and time up to which the store is known to hold every block, from the last sync.

    The stored top block must be a synced row (``source`` ``sync:…``) and a ``sync`` event in
    ``event_log`` must record a run that ended at that height: at the event's time the source
    had no newer block. (A sync stopped early with ``--to-height`` is read the same way.)

    Returns
    -------
    (int, int) or None
        ``(top height, unix s of the latest such sync event)``; None when there is none.
    """
    # max() rather than ORDER BY … LIMIT 1: duckdb 2.0.1's top-N can miss a row re-inserted
    # after a delete (seen on a store where sync replaced the tip)
    top = store.df("SELECT height, source FROM blocks WHERE height = (SELECT max(height) FROM blocks)")
    if top.empty or not str(top.source.iloc[0]).startswith("sync:"):
        return None
    height = int(top.height.iloc[0])
    events = store.df("SELECT at_unix, message FROM event_log WHERE kind = 'sync' ORDER BY at_unix DESC")
    for at_unix, message in zip(events.at_unix, events.message, strict=True):
        m = _SYNC_RANGE_RE.search(str(message))
        if m and int(m.group(2)) == height:
            return height, int(at_unix)
    return None


def epoch_history(store: Store) -> pd.DataFrame:
    """Per-epoch difficulty and mean hashrate (:func:`~hashdesk.chain.hashrate.epoch_hashrate`).

    Returns
    -------
    pandas.DataFrame
        ``epoch``, ``first_height``, ``bits``, ``difficulty``, ``start_time`` [unix s],
        ``start_utc`` (Timestamp), ``hashrate_ehs`` [EH/s] (NaN without the next start time).
    """
    ep = load_epochs(store)
    ep["hashrate_ehs"] = epoch_hashrate(ep.bits, ep.start_time) / HS_PER_EHS
    ep["start_utc"] = pd.to_datetime(ep.start_time, unit="s", utc=True)
    return ep


def _per_block_run(
    blocks: pd.DataFrame, at: int, live: tuple[int, int] | None = None
) -> tuple[pd.DataFrame, bool] | None:
    """The gap-free run of blocks whose covered time span contains ``at``, if any.

    A run of 11 blocks or fewer covers no time (isolated epoch-start headers are not per-block
    data). The run ending at ``live[0]`` (:func:`synced_through`) also covers up to ``live[1]``.

    Returns
    -------
    (pandas.DataFrame, bool) or None
        The run and whether ``at`` lies past its last covered time, in the synced extension.
    """
    h = blocks.height.to_numpy(dtype=np.int64)
    t = blocks.time.to_numpy(dtype=np.int64)
    for run in contiguous_runs(h):
        lo, hi = covered_span(t[run])
        if lo >= hi:
            continue
        if lo <= at <= hi:
            return blocks.iloc[run], False
        if live is not None and h[run.stop - 1] == live[0] and hi < at <= live[1]:
            return blocks.iloc[run], True
    return None


def _live_trailing_hashrate(run: pd.DataFrame, at: int, synced_at: int) -> tuple[float, str, str] | None:
    """7-day Σ work / 7 days ending at ``at`` past the run's last block (synced extension)."""
    start = at - 7 * DAY_S
    if covered_span(run.time.to_numpy(dtype=np.int64))[0] > start:
        return None
    hs, count = hashrate_time_windows(run.time, run.bits, np.array([start, at]))
    words = (
        f"7 days {utc_text(start)} → {utc_text(at)}, {int(count[0]):,} blocks by header time "
        f"(Σ work / window length; none newer as of the sync at {utc_text(synced_at)})"
    )
    return float(hs[0]) / HS_PER_EHS, words, "blocks (synced; Σ exact work of blocks by header time / 7 days)"


def _seven_day_from_daily(store: Store, at: int) -> tuple[float, str, str] | None:
    """7-day mean of a daily hashrate table over the seven whole UTC days before ``at``."""
    end_day = pd.Timestamp(at // DAY_S * DAY_S, unit="s").date()
    start_day = pd.Timestamp((at // DAY_S - 7) * DAY_S, unit="s").date()
    for table, source, label in (
        ("network_daily", "coinmetrics", "network_daily (Coin Metrics HashRate, 7 daily values)"),
        ("hashrate_daily", None, "hashrate_daily (mempool.space estimate, 7 daily values)"),
    ):
        where = "date >= ? AND date < ? AND hashrate_ehs IS NOT NULL"
        params: list[Any] = [start_day, end_day]
        if source:
            where += " AND source = ?"
            params.append(source)
        vals = store.df(f"SELECT hashrate_ehs FROM {table} WHERE {where}", params)
        if len(vals) == 7:
            words = f"7 UTC days {start_day} → {end_day} (exclusive), mean of daily values"
            return float(vals.hashrate_ehs.mean()), words, label
    return None


def network_view(
    store: Store,
    at: str | date | datetime | int,
    history_epochs: int = DEFAULT_HISTORY_EPOCHS,
) -> dict[str, Any]:
    """The network's state at a UTC date or time.

    Parameters
    ----------
    store : Store
        A store with the chain tables loaded.
    at : str, date, datetime or int
        See :func:`parse_at` (a bare date means the end of that UTC day).
    history_epochs : int
        History for the projection's drift prior [epochs].

    Returns
    -------
    dict
        ``at``, ``as_of``, ``tip_height``, ``epoch``, ``epoch_start_height``,
        ``epoch_start_time`` (ISO UTC), ``bits`` ("0x…"), ``difficulty``,
        ``next_retarget_height``, ``next_halving_height``, ``subsidy_btc`` (at the tip) [BTC],
        ``hashrate_ehs_7d`` [EH/s], ``hashrate_window`` (words), ``hashrate_ehs_epoch`` [EH/s]
        with ``hashrate_epoch_window``; where per-block data covers ``at`` also
        ``blocks_into_epoch`` (blocks after the epoch's first) and ``projection`` (next
        difficulty change [%] with its 90% interval and the retarget date); ``sources`` names
        the table behind each figure.

    Raises
    ------
    NetworkDataError
        When ``at`` is before genesis, after the last data, or in a gap of the epoch data.
    """
    at_unix, as_of = parse_at(at)
    if at_unix <= GENESIS_TIME:
        raise NetworkDataError(f"at: {iso_utc(at_unix)} is before the genesis block ({iso_utc(GENESIS_TIME)})")
    ep = load_epochs(store)
    n_table_epochs = int(store.scalar("SELECT count(*) FROM epochs"))
    blocks = load_blocks(store)
    starts = ep.start_time.to_numpy(dtype=np.float64)
    sources: dict[str, str] = {}
    live = synced_through(store)
    found = _per_block_run(blocks, at_unix, live) if len(blocks) else None
    run, past_last = found if found is not None else (None, False)
    if run is not None:
        mined = run[run.time < at_unix]
        tip = int(mined.height.max())
        tip_time = int(mined.time[mined.height == tip].iloc[0])
        epoch = tip // RETARGET_INTERVAL
        sources["tip_height"] = "blocks (per-block header times): highest height with header time before at"
        if past_last:
            sources["tip_height"] += (
                f"; no newer block as of the sync at {iso_utc(live[1])} (event_log)"
            )
        height_exact = True
    else:
        known = np.flatnonzero(~np.isnan(starts) & (starts < at_unix))
        if len(known) == 0:
            raise NetworkDataError(f"at: no epoch start time before {iso_utc(at_unix)} in the store")
        epoch = int(known[-1])
        nxt = starts[epoch + 1] if epoch + 1 < len(starts) else math.nan
        if math.isnan(nxt):
            last_block = blocks.iloc[-1] if len(blocks) else None
            end_words = (
                f"; the last block in the store is {int(last_block.height):,} at "
                f"{iso_utc(int(last_block.time))}" if last_block is not None else ""
            )
            last_time = max(np.nanmax(starts), float(blocks.time.max()) if len(blocks) else 0.0)
            if live is not None:
                last_time = max(last_time, float(live[1]))
                end_words += f", synced at {iso_utc(live[1])}: run `hashdesk sync` to bring it up to date"
            if at_unix > last_time:
                raise NetworkDataError(
                    f"at: {iso_utc(at_unix)} is after the data in the store{end_words}"
                )
            raise NetworkDataError(
                f"at: no data covers {iso_utc(at_unix)}: the start of epoch {epoch + 1} "
                f"(height {(epoch + 1) * RETARGET_INTERVAL:,}) is not in the store, nor are "
                f"per-block times for that date{end_words}"
            )
        frac = (at_unix - starts[epoch]) / (nxt - starts[epoch])
        tip = epoch * RETARGET_INTERVAL + min(int(frac * RETARGET_INTERVAL), RETARGET_INTERVAL - 1)
        tip_time = None
        sources["tip_height"] = "interpolated between epoch start times (epochs): an estimate"
        height_exact = False
    if epoch >= len(ep):
        raise NetworkDataError(
            f"at: the bits of epoch {epoch} (tip {tip:,}) are in neither the epochs table nor blocks"
        )
    row = ep.iloc[epoch]
    bits = int(row.bits)
    start_height = epoch * RETARGET_INTERVAL
    t0 = starts[epoch]
    sources["bits"] = (
        "epochs (Electrum checkpoint targets, exact)" if epoch < n_table_epochs
        else "blocks (synced headers' bits, checked against the retarget rule)"
    )
    sources["epoch_start_time"] = str(row.start_time_source) if row.start_time_source else "unknown"
    view: dict[str, Any] = {
        "at": iso_utc(at_unix),
        "as_of": as_of,
        "tip_height": tip,
        "tip_height_exact": height_exact,
        "tip_time": iso_utc(tip_time) if tip_time is not None else None,
        "epoch": epoch,
        "epoch_start_height": start_height,
        "epoch_start_time": iso_utc(t0) if not math.isnan(t0) else None,
        "bits": f"0x{bits:08x}",
        "difficulty": difficulty(bits),
        "next_retarget_height": start_height + RETARGET_INTERVAL,
        "next_halving_height": next_halving_height(tip),
        "subsidy_btc": block_subsidy(tip) / SATS_PER_BTC,
    }
    # 7-day hashrate: per-block Σ work / 7 days, else daily tables.
    hr = None
    if run is not None and past_last:
        hr = _live_trailing_hashrate(run, at_unix, live[1])
    elif run is not None:
        try:
            est = trailing_hashrate(run.height, run.time, run.bits, at_unix)
            hr = (est.hashrate_ehs, est.window, "blocks (Σ exact work of blocks by header time / 7 days)")
        except ValueError:
            hr = None
    if hr is None:
        hr = _seven_day_from_daily(store, at_unix)
    view["hashrate_ehs_7d"], view["hashrate_window"] = (hr[0], hr[1]) if hr else (None, None)
    sources["hashrate_ehs_7d"] = hr[2] if hr else "none: no per-block or daily hashrate covers the 7 days"
    # Epoch-level estimator (the epoch containing `at`, or the last complete one before it).
    eh = epoch_hashrate(ep.bits, starts) / HS_PER_EHS
    e_est = epoch if not math.isnan(eh[epoch]) else epoch - 1
    if e_est >= 0 and not math.isnan(eh[e_est]):
        view["hashrate_ehs_epoch"] = float(eh[e_est])
        view["hashrate_epoch_window"] = epoch_window_words(
            e_est, int(starts[e_est]), int(starts[e_est + 1])
        )
        sources["hashrate_ehs_epoch"] = "epochs (start times; 2016 × work / elapsed)"
    else:
        view["hashrate_ehs_epoch"], view["hashrate_epoch_window"] = None, None
    view["blocks_into_epoch"] = tip - start_height if height_exact else None
    if run is not None and not math.isnan(t0):
        n = tip - start_height
        prior = fit_drift_prior(ep.bits.iloc[: epoch + 1], history_epochs)
        p = project_retarget(bits, int(t0), n, at_unix, prior, last_block_time=tip_time)
        view["projection"] = {
            "blocks_remaining": p.blocks_remaining,
            "next_difficulty_change_pct": p.change_pct,
            "next_difficulty_change_pct_90": [p.change_pct_low, p.change_pct_high],
            "next_bits": f"0x{p.next_bits:08x}",
            "retarget_time": iso_utc(p.retarget_time),
            "retarget_time_90": [iso_utc(p.retarget_time_early), iso_utc(p.retarget_time_late)],
            "hashrate_vs_difficulty": p.expected_rate_vs_target,
            "prior_epochs": prior.epochs_used,
        }
        sources["projection"] = (
            "blocks (this epoch's header times) + drift prior from the last "
            f"{prior.epochs_used} difficulty changes (epochs)"
        )
    else:
        view["projection"] = None
    view["sources"] = sources
    return view


def projection_backtest(
    store: Store, history_epochs: int = DEFAULT_HISTORY_EPOCHS, level: float = 0.9
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run :func:`~hashdesk.chain.projection.backtest_projection` on the store's data.

    Returns
    -------
    detail, summary : pandas.DataFrame
        See :func:`~hashdesk.chain.projection.backtest_projection`.
    """
    blocks = load_blocks(store)
    ep = load_epochs(store)
    return backtest_projection(
        blocks.height, blocks.time, ep.bits, history_epochs=history_epochs, level=level
    )


__all__ = [
    "NetworkDataError",
    "epoch_history",
    "iso_utc",
    "load_blocks",
    "load_epochs",
    "network_view",
    "parse_at",
    "projection_backtest",
    "synced_through",
]
