"""The public Python API: ``import hashdesk as hd; desk = hd.open()``.

The desk loads through the read layer (:mod:`hashdesk.data`, read-only, as of a time) and
computes through the pure domain modules. Every answer is as of a time: a date means the end of
that UTC day; the rows behind it are only those known then, so the answer never changes when
later rows arrive. Within one desk, what it reads for a time is read once and reused (a brief
reads each thing once).

The CLI, the web API and the brief call the same desk; they format what it returns.

Examples
--------
>>> import hashdesk as hd                                   # doctest: +SKIP
>>> desk = hd.open()                                        # doctest: +SKIP
>>> desk.network_state("2024-01-16").hashprice_usd_per_ph_day  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hashdesk.data import DataError, Reader, connect_read_only
from hashdesk.economics.state import (
    DEFAULT_MAX_STALE_S,
    NetworkDataError,
    NetworkState,
)
from hashdesk.times import DAY_S, day_end_unix, iso_utc, parse_at

AtLike = str | date | datetime | int | float


@dataclass(frozen=True)
class NetworkInputs:
    """What the network state and the daily series are built from, as of ``at_unix``."""

    at_unix: int
    blocks: pd.DataFrame
    epochs: pd.DataFrame
    daily: pd.DataFrame
    btc_prices: pd.DataFrame
    hashrate_daily: pd.DataFrame
    synced: tuple[int, int] | None


class Desk:
    """hashdesk's answers over one store.

    Parameters
    ----------
    path : str or Path, optional
        The store (default: ``HASHDESK_DB`` or the XDG data dir, as the CLI finds it).
    con : duckdb.DuckDBPyConnection, optional
        An open connection to use instead of opening ``path`` read-only (e.g. a writer's).
    max_stale_s : int
        Staleness limit of the network state [s].
    """

    def __init__(self, path: str | Path | None = None, *, con=None,
                 max_stale_s: int = DEFAULT_MAX_STALE_S):
        self._own = con is None
        self.con = connect_read_only(path) if con is None else con
        self.path = path
        self.max_stale_s = int(max_stale_s)
        self._readers: dict[int | None, Reader] = {}
        self._inputs: dict[int, NetworkInputs] = {}
        self._states: dict[tuple[int, int], NetworkState] = {}

    # -- plumbing ---------------------------------------------------------------------------------
    def reader(self, at_unix: int | None = None) -> Reader:
        """A read-only view of the store as of ``at_unix`` (None: everything), cached."""
        key = None if at_unix is None else int(at_unix)
        if key not in self._readers:
            self._readers[key] = Reader(self.con, key, self.path)
        return self._readers[key]

    def close(self) -> None:
        """Close the readers (and the connection when the desk opened it)."""
        for r in self._readers.values():
            r.close()
        self._readers.clear()
        if self._own:
            self.con.close()

    def __enter__(self) -> Desk:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @staticmethod
    def at_unix(at: AtLike) -> int:
        """``at`` as unix seconds (a date is the end of that UTC day)."""
        return parse_at(at)[0]

    @cached_property
    def data_end_unix(self) -> int:
        """Time of the newest row in the store (any dated table) [unix s]."""
        r = self.reader(None)
        cands = [r.scalar("SELECT max(time) FROM blocks")]
        for table in ("network_daily", "prices_daily", "hashrate_daily"):
            d = r.scalar(f"SELECT max(date) FROM {table}")
            cands.append(day_end_unix(d) if d is not None else None)
        cands = [int(c) for c in cands if c is not None]
        if not cands:
            raise DataError("the store is empty: run `hashdesk ingest` (or `hashdesk sync`) first")
        return max(cands)

    # -- network ------------------------------------------------------------------------------------
    def inputs(self, at_unix: int) -> NetworkInputs:
        """Read (once) the chain and daily inputs known at ``at_unix``."""
        from hashdesk.data import chain as dchain
        from hashdesk.data import network as dnet
        from hashdesk.economics.hashprice import daily_from_blocks, network_economics_daily
        from hashdesk.economics.state import block_days_live_end

        t = int(at_unix)
        if t not in self._inputs:
            r = self.reader(t)
            blocks = dchain.blocks(r, with_fees=True)
            epochs = dchain.epochs(r)
            synced = dchain.synced_through(r)
            cm = dnet.network_daily(r)
            prices = dnet.btc_prices(r)
            mempool = dnet.hashrate_daily(r)
            # per-block days matter where they carry fees or run past Coin Metrics' series
            cm_end = day_end_unix(cm["date"].max()) if len(cm) else None
            useful = blocks["fees_sats"].notna().to_numpy().copy()
            if cm_end is not None:
                useful |= blocks["time"].to_numpy() >= cm_end - DAY_S
            else:
                useful[:] = True
            sel = blocks[useful]
            bdays = daily_from_blocks(sel.height, sel.time, sel.bits, sel.fees_sats,
                                      live_end=block_days_live_end(sel, t, synced)) if len(sel) else None
            daily = network_economics_daily(cm, epochs, mempool, bdays, prices) \
                if len(cm) or (bdays is not None and len(bdays)) else pd.DataFrame(columns=["date"])
            self._inputs[t] = NetworkInputs(t, blocks, epochs, daily, prices, mempool, synced)
        return self._inputs[t]

    def network_state(self, at: AtLike = "now", max_stale_s: int | None = None) -> NetworkState:
        """The network as of ``at`` (a date = the end of that UTC day).

        Raises
        ------
        NetworkDataError
            When nothing within the staleness limit covers ``at`` (naming the newest data).
        """
        from hashdesk.economics.state import network_state

        t, words = parse_at(at)
        limit = self.max_stale_s if max_stale_s is None else int(max_stale_s)
        key = (t, limit)
        if key not in self._states:
            i = self.inputs(t)
            self._states[key] = network_state(
                t, i.blocks, i.epochs, i.daily, i.btc_prices, i.hashrate_daily, i.synced,
                as_of=words, max_stale_s=limit)
        return self._states[key]

    def network(self, at: AtLike = "now") -> dict[str, Any]:
        """The network command's answer: the state, the retarget projection and the epoch means.

        Returns
        -------
        dict
            ``network_state`` (:meth:`NetworkState.to_dict`), ``projection`` (None without
            per-block rows for the tip's epoch), ``hashrate_ehs_epoch`` with its window (the
            last epoch whose end is known at ``at``).
        """
        from hashdesk.chain.consensus import RETARGET_INTERVAL
        from hashdesk.chain.hashrate import epoch_hashrate, epoch_window_words
        from hashdesk.chain.projection import fit_drift_prior, project_retarget
        from hashdesk.units import HS_PER_EHS

        state = self.network_state(at)
        i = self.inputs(state.at_unix)
        out: dict[str, Any] = {"network_state": state.to_dict(), "projection": None}
        ep = i.epochs
        starts = ep["start_time"].to_numpy(dtype=np.float64)
        eh = epoch_hashrate(ep["bits"], starts) / HS_PER_EHS
        done = np.flatnonzero(np.isfinite(eh))
        if len(done):
            e = int(done[-1])
            out["hashrate_ehs_epoch"] = float(eh[e])
            out["hashrate_epoch_window"] = epoch_window_words(e, int(starts[e]), int(starts[e + 1]))
        else:
            out["hashrate_ehs_epoch"] = out["hashrate_epoch_window"] = None
        e_tip = state.tip_height // RETARGET_INTERVAL
        row = ep[ep["epoch"] == e_tip]
        if state.tip_height_exact and state.tip_time and len(row) and np.isfinite(row["start_time"].iloc[0]):
            n = state.tip_height - e_tip * RETARGET_INTERVAL
            prior = fit_drift_prior(ep["bits"].iloc[: e_tip + 1].to_numpy(), )
            tip_t = int(pd.Timestamp(state.tip_time).timestamp())
            p = project_retarget(int(row["bits"].iloc[0]), int(row["start_time"].iloc[0]), n,
                                 state.at_unix, prior, last_block_time=tip_t)
            out["projection"] = {
                "epoch": e_tip,
                "blocks_mined_after_first": n,
                "blocks_remaining": p.blocks_remaining,
                "next_difficulty_change_pct": p.change_pct,
                "next_difficulty_change_pct_90": [p.change_pct_low, p.change_pct_high],
                "next_bits": f"0x{p.next_bits:08x}",
                "retarget_time": iso_utc(p.retarget_time),
                "retarget_time_90": [iso_utc(p.retarget_time_early), iso_utc(p.retarget_time_late)],
                "hashrate_vs_difficulty": p.expected_rate_vs_target,
                "prior_epochs": prior.epochs_used,
                "source": ("blocks (this epoch's header times) + drift prior from the last "
                           f"{prior.epochs_used} difficulty changes (epochs)"),
            }
        return out

    def daily(self, start: AtLike | None = None, end: AtLike | None = None) -> pd.DataFrame:
        """The daily network series between two UTC days (inclusive), as of the end of ``end``.

        Returns
        -------
        pandas.DataFrame
            :data:`hashdesk.economics.hashprice.COLUMNS` with a UTC ``DatetimeIndex`` named
            ``date`` (the ``date`` column stays as ``datetime.date``).

        Raises
        ------
        NetworkDataError
            ``end`` before ``start``, or no row in the range (naming what exists).
        """
        lo = pd.Timestamp(start).date() if start is not None else None
        hi = pd.Timestamp(end).date() if end is not None else None
        if lo and hi and hi < lo:
            raise NetworkDataError(f"--to {hi} is before --from {lo}")
        t = day_end_unix(hi) if hi is not None else self.data_end_unix
        table = self.inputs(t).daily
        sel = table
        if lo is not None:
            sel = sel[sel["date"] >= lo]
        if hi is not None:
            sel = sel[sel["date"] <= hi]
        if sel.empty:
            have = (f"{table['date'].min()} .. {table['date'].max()}" if len(table)
                    else "none")
            raise NetworkDataError(
                f"no daily network data in {lo or 'the beginning'} .. {hi or 'the end'} "
                f"(the store's daily series, as of that time, covers {have})")
        sel = sel.copy()
        sel.index = pd.DatetimeIndex(pd.to_datetime(sel["date"]), name="date").tz_localize("UTC")
        return sel

    def hashprice(self, start: AtLike | None = None, end: AtLike | None = None) -> pd.DataFrame:
        """Daily hashprice [USD and BTC per PH and TH per day] between two UTC days."""
        cols = ["date", "day_source", "price_usd", "difficulty", "subsidy_btc_per_block",
                "fees_btc_per_block", "hashprice_usd_per_ph_day", "hashprice_btc_per_ph_day",
                "hashprice_usd_per_th_day", "hashprice_btc_per_th_day", "missing"]
        return self.daily(start, end)[cols]


def open(path: str | Path | None = None, *, max_stale_s: int = DEFAULT_MAX_STALE_S) -> Desk:  # noqa: A001
    """Open the store read-only and return a :class:`Desk` (see the module example)."""
    return Desk(path, max_stale_s=max_stale_s)


def as_list(tickers: Iterable[str] | str | None) -> list[str] | None:
    """Tickers from a list or a comma-separated string (upper case), None for all."""
    if tickers is None:
        return None
    if isinstance(tickers, str):
        tickers = tickers.split(",")
    return [t.strip().upper() for t in tickers if t.strip()]


__all__ = ["Desk", "NetworkInputs", "open"]
