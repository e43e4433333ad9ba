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

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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
from hashdesk.jsonable import to_jsonable
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

    #: Times whose reads a desk keeps (least recently used dropped first).
    CACHE_TIMES: int = 24

    def __init__(self, path: str | Path | None = None, *, con=None,
                 max_stale_s: int = DEFAULT_MAX_STALE_S):
        self._own = con is None
        self.con = connect_read_only(path) if con is None else con
        self.path = path
        self.max_stale_s = int(max_stale_s)
        self._readers: OrderedDict[int | None, Reader] = OrderedDict()
        self._inputs: OrderedDict[int, NetworkInputs] = OrderedDict()
        self._states: dict[tuple[int, int], NetworkState] = {}
        self._epochs: dict[int, tuple[pd.DataFrame, list[str]]] = {}  # epoch starts per time
        self._catalogue = None  # the store's and shipped models (no user files) and their catalogue, read once
        self._once = 0  # depth of reading_once() blocks
        self._facts: dict[int | None, dict[str, pd.DataFrame]] = {}

    @contextmanager
    def reading_once(self) -> Iterator[Desk]:
        """Within the block every query is read from the store once (a repeated one is answered
        from memory, and the company facts parsed once per time): for one job over one snapshot,
        such as the brief. Leaving the outermost block forgets what was kept."""
        self._once += 1
        if self._once == 1:
            for r in self._readers.values():
                r.memoize(True)
        try:
            yield self
        finally:
            self._once -= 1
            if self._once == 0:
                for r in self._readers.values():
                    r.memoize(False)
                self._facts.clear()

    # -- plumbing ---------------------------------------------------------------------------------
    def reader(self, at_unix: int | None = None) -> Reader:
        """A read-only view of the store as of ``at_unix`` (None: everything), cached."""
        key = None if at_unix is None else int(at_unix)
        if key not in self._readers:
            self._readers[key] = Reader(self.con, key, self.path)
            self._readers[key].memoize(self._once > 0)
            while len(self._readers) > self.CACHE_TIMES:
                _, old = self._readers.popitem(last=False)
                old.close()
        self._readers.move_to_end(key)
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
        from hashdesk.data import newest_row_unix

        t = newest_row_unix(self.reader(None))
        if t is None:
            raise DataError("the store is empty: run `hashdesk ingest` (or `hashdesk sync`) first")
        return t

    def latest_priced_day(self) -> date:
        """The last UTC day of the daily series with a hashprice in USD."""
        d = self.daily().dropna(subset=["hashprice_usd_per_ph_day"])
        if d.empty:
            raise NetworkDataError("no day in the store has a hashprice (fees and a BTC price)")
        return d["date"].iloc[-1]

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
            if len(daily):  # days whose blocks mix two subsidy eras (Coin Metrics' 2024-04-19)
                from hashdesk.chain.consensus import HALVING_INTERVAL
                from hashdesk.economics.halving import mixed_subsidy_days

                hv = blocks[blocks["height"] % HALVING_INTERVAL == 0]
                daily = mixed_subsidy_days(daily, dict(zip(hv.height, hv.time, strict=True)))
            self._inputs[t] = NetworkInputs(t, blocks, epochs, daily, prices, mempool, synced)
            while len(self._inputs) > self.CACHE_TIMES:
                old_t, _ = self._inputs.popitem(last=False)
                self._states = {k: v for k, v in self._states.items() if k[0] != old_t}
                self._epochs.pop(old_t, None)
        self._inputs.move_to_end(t)
        return self._inputs[t]

    def network_state(self, at: AtLike = "now", max_stale_s: int | None = None) -> NetworkState:
        """The network as of ``at`` (a date = the end of that UTC day).

        Raises
        ------
        NetworkDataError
            When nothing within the staleness limit covers ``at`` (naming the newest data).
        """
        from hashdesk.economics.state import GENESIS_TIME, network_state

        t, words = parse_at(at)
        if t <= GENESIS_TIME:
            raise NetworkDataError(f"at: {iso_utc(t)} is before the genesis block ({iso_utc(GENESIS_TIME)})")
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
        from hashdesk.chain.projection import fit_drift_prior, observation_windows, project_retarget
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
            prior = fit_drift_prior(ep["bits"].iloc[: e_tip + 1].to_numpy())
            tip_t = int(pd.Timestamp(state.tip_time).timestamp())
            t0 = int(row["start_time"].iloc[0])
            b = i.blocks
            mined = b[(b.height > e_tip * RETARGET_INTERVAL) & (b.height <= state.tip_height)]
            win = observation_windows(t0, state.at_unix, mined.time.to_numpy()) \
                if len(mined) == n and n > 0 else None
            p = project_retarget(int(row["bits"].iloc[0]), t0, n, state.at_unix, prior,
                                 last_block_time=tip_t, windows=win)
            out["projection"] = to_jsonable({
                "epoch": e_tip,
                "blocks_mined_after_first": n,
                "blocks_remaining": p.blocks_remaining,
                "next_difficulty_change_pct": p.change_pct,
                "next_difficulty_change_pct_90": [p.change_pct_low, p.change_pct_high],
                "next_difficulty_change_pct_50": [p.change_pct_low_50, p.change_pct_high_50],
                "naive_change_pct": p.naive_change_pct,
                "prior_weight": p.prior_weight,
                "observed_rate_vs_target": p.observed_rate_vs_target,
                "next_bits": f"0x{p.next_bits:08x}",
                "retarget_time": iso_utc(p.retarget_time),
                "retarget_time_90": [iso_utc(p.retarget_time_early), iso_utc(p.retarget_time_late)],
                "hashrate_vs_difficulty": p.expected_rate_vs_target,
                "prior_epochs": prior.epochs_used,
                "prior_method": prior.method,
                "source": ("blocks (this epoch's header times, in daily windows) + drift prior from the "
                           f"last {prior.epochs_used} difficulty changes (epochs, {prior.method})"),
            })
        return out

    def retargets(self, start: AtLike | None = None, end: AtLike | None = None) -> pd.DataFrame:
        """Difficulty retargets whose first block falls in ``start..end`` (UTC days), as of ``end``.

        Returns
        -------
        pandas.DataFrame
            ``date`` (UTC day), ``epoch``, ``height``, ``difficulty``, ``change_pct`` [%] versus
            the previous epoch, ``start_time`` [unix s].
        """
        t = day_end_unix(pd.Timestamp(end).date()) if end is not None else self.data_end_unix
        ep = self.inputs(t).epochs.copy()
        ep["change_pct"] = 100.0 * (ep["difficulty"] / ep["difficulty"].shift(1) - 1.0)
        ep = ep.dropna(subset=["start_time"])
        ep["date"] = pd.to_datetime(ep["start_time"], unit="s").dt.normalize()
        if start is not None:
            ep = ep[ep["date"] >= pd.Timestamp(start)]
        if end is not None:
            ep = ep[ep["date"] <= pd.Timestamp(end)]
        return ep.rename(columns={"first_height": "height"})[
            ["date", "epoch", "height", "difficulty", "change_pct", "start_time"]].reset_index(drop=True)

    def network_figure(self, start: AtLike | None = None, end: AtLike | None = None,
                       mark_retargets: bool = False):
        """Hashrate and difficulty chart (:func:`hashdesk.chain.charts.hashrate_difficulty_figure`)
        as of the end of ``end`` (default: all data)."""
        from hashdesk.chain.charts import hashrate_difficulty_figure

        t = day_end_unix(pd.Timestamp(end).date()) if end is not None else self.data_end_unix
        i = self.inputs(t)
        rt = self.retargets(start, end) if mark_retargets else None
        return hashrate_difficulty_figure(i.epochs, i.blocks, start, end, retargets=rt)

    def projection_backtest(self, level: float = 0.9) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The retarget projection's backtest on every complete per-block epoch in the store
        (:func:`hashdesk.chain.projection.backtest_projection`; each checkpoint uses nothing later)."""
        from hashdesk.chain.projection import backtest_projection

        i = self.inputs(self.data_end_unix + 1)
        return backtest_projection(i.blocks.height, i.blocks.time, i.epochs.bits, level=level)

    def projection_backtest_daily(self, level: float = 0.9) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The projection's backtest on the epochs the per-block rows do not cover, with
        checkpoints at UTC midnights placed by the daily block counts
        (:func:`hashdesk.chain.projection.backtest_projection_daily`)."""
        from hashdesk.chain.projection import (
            backtest_projection,
            backtest_projection_daily,
            blocks_before_day_ends,
        )
        from hashdesk.data.network import network_daily

        i = self.inputs(self.data_end_unix + 1)
        nd = network_daily(self.reader(None))
        days = ((pd.to_datetime(nd.date) - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)).to_numpy()
        before = blocks_before_day_ends(days, nd.blk_cnt.to_numpy(), i.blocks.height.to_numpy(),
                                        i.blocks.time.to_numpy())
        per_block, _ = backtest_projection(i.blocks.height, i.blocks.time, i.epochs.bits, level=level)
        return backtest_projection_daily(days, before, i.epochs.bits, i.epochs.start_time.to_numpy(),
                                         exclude_epochs=set(per_block.epoch), level=level)

    # -- production ----------------------------------------------------------------------------
    def epoch_starts(self, at_unix: int) -> tuple[pd.DataFrame, list[str]]:
        """Epoch start times known at ``at_unix``, gaps filled from the daily series' retarget days.

        Returns
        -------
        (pandas.DataFrame, list of str)
            ``epoch``, ``first_height``, ``bits``, ``start_unix`` [unix s, NaN unknown], and notes
            naming the starts placed within a day by the day's block split (not exact).
        """
        t = int(at_unix)
        if t not in self._epochs:
            self._epochs[t] = self._epoch_starts(t)
        ep, notes = self._epochs[t]
        return ep.copy(), list(notes)

    def _epoch_starts(self, at_unix: int) -> tuple[pd.DataFrame, list[str]]:
        i = self.inputs(at_unix)
        ep = i.epochs[["epoch", "first_height", "bits", "start_time"]].rename(columns={"start_time": "start_unix"})
        notes: list[str] = []
        d = i.daily
        if len(d) and "epoch_last" in d:
            ret = d[(d["epoch_first"].notna()) & (d["epoch_first"] != d["epoch_last"])]
            fill = {}
            for r in ret.itertuples():
                frac = float(r.blocks_epoch_first) / float(r.blocks)
                fill[int(r.epoch_last)] = day_end_unix(r.date) - DAY_S + frac * DAY_S
            missing = ep["start_unix"].isna() & ep["epoch"].isin(list(fill))
            if missing.any():
                ep.loc[missing, "start_unix"] = [fill[int(e)] for e in ep.loc[missing, "epoch"]]
                notes.append(f"{int(missing.sum())} epoch start time(s) placed within their retarget day "
                             "by the day's block split (daily series), not exact header times")
        return ep, notes

    def network_schedule(self, at_unix: int, start_unix: int, end_unix: int):
        """Consensus state and daily fees over ``[start_unix, end_unix)`` as known at ``at_unix``
        (:class:`hashdesk.economics.production.NetworkSchedule`)."""
        from hashdesk.chain.consensus import HALVING_INTERVAL
        from hashdesk.economics.production import ProductionError, build_schedule

        ep, notes = self.epoch_starts(at_unix)
        known = ep.dropna(subset=["start_unix"])
        before = known[known.start_unix <= start_unix]
        if before.empty:
            raise ProductionError(f"epochs: no epoch start time at or before {iso_utc(start_unix)}")
        later = known[known.start_unix >= end_unix]
        last_h = int(later.first_height.iloc[0]) if not later.empty else int(ep.first_height.max())
        ep = ep[ep.first_height.between(int(before.first_height.iloc[-1]), last_h)]
        i = self.inputs(at_unix)
        hv = i.blocks[i.blocks["height"] % HALVING_INTERVAL == 0]
        d = i.daily
        d0 = pd.Timestamp(start_unix, unit="s").date()
        d1 = pd.Timestamp(end_unix - 1, unit="s").date()
        d = d[(d["date"] >= d0) & (d["date"] <= d1) & d["fees_btc_total"].notna() & d["blocks"].notna()]
        fees = pd.DataFrame({"date": d["date"], "blk_cnt": d["blocks"].astype("int64"),
                             "fee_tot_btc": d["fees_btc_total"], "fees_source": d["fees_source"]})
        sched = build_schedule(ep, fees, dict(zip(hv.height, hv.time, strict=True)))
        if notes:
            from dataclasses import replace

            sched = replace(sched, notes=(*sched.notes, *notes))
        return sched

    def production(self, tickers: Iterable[str] | str | None = None, start: str | None = None,
                   end: str | None = None, pool_models=None, kind: str | None = None,
                   level: float | None = None) -> pd.DataFrame:
        """Expected vs reported monthly production as of the end of month ``end``.

        Parameters
        ----------
        tickers : list or comma-separated str, optional
            Default: every ticker with production rows.
        start, end : str, optional
            First and last month ``YYYY-MM`` (a date picks its month).
        pool_models, kind, level
            See :func:`hashdesk.economics.production.production_records`.

        Returns
        -------
        pandas.DataFrame
            One row per ticker-month (:func:`~hashdesk.economics.production.production_records`).
        """
        from hashdesk.data.production import production_rows
        from hashdesk.economics.production import DEFAULT_LEVEL, month_bounds, production_records

        m_from = _month(start)
        m_to = _month(end)
        t = month_bounds(m_to)[1] if m_to else self.data_end_unix
        rows = production_rows(self.reader(t), as_list(tickers), m_from, m_to)
        if pool_models is None:  # pool fees stated in the company facts public by then
            from hashdesk.economics.production import pool_models_from_facts

            comp = self._company_facts(t)["companies"]
            if len(comp) and "pool_fee" in comp:
                comp = comp.assign(pool_fee_source=comp["source_url"])
                pool_models = pool_models_from_facts(comp[comp["pool_fee"].notna()])
        months = sorted(rows.month.unique())
        s0, _ = month_bounds(months[0])
        _, s1 = month_bounds(months[-1])
        network = self.network_schedule(t, s0, min(s1, t))
        rec = production_records(rows, network, pool_models, kind, DEFAULT_LEVEL if level is None else level)
        rec = rec[rec.month >= (m_from or "0000-00")].reset_index(drop=True)
        rec.attrs["notes"] = list(network.notes)
        return rec

    # -- shocks ----------------------------------------------------------------------------------
    def daily_hashrate(self, start: date, end: date, source: str = "coinmetrics",
                       at_unix: int | None = None) -> pd.Series:
        """Daily network hashrate [EH/s] between two UTC days: the daily series (``coinmetrics``:
        Coin Metrics' HashRate, or Σ work / 86,400 s of synced blocks) or ``mempool.space``'s
        smoothed estimate, as of ``at_unix`` (default: the end of ``end``)."""
        from hashdesk.economics.shocks import SOURCES, ShockError

        if source not in SOURCES:
            raise ShockError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
        i = self.inputs(day_end_unix(end) if at_unix is None else at_unix)
        if source == "coinmetrics":
            d = i.daily[["date", "hashrate_ehs"]] if len(i.daily) else pd.DataFrame(columns=["date", "hashrate_ehs"])
        else:
            d = i.hashrate_daily.assign(date=pd.to_datetime(i.hashrate_daily["date"]).dt.date)
        d = d[(d["date"] >= start) & (d["date"] <= end)].dropna(subset=["hashrate_ehs"])
        return pd.Series(d["hashrate_ehs"].to_numpy(dtype=float), index=list(d["date"]), dtype=float)

    def shock_days(self, start: AtLike | None = None, end: AtLike | None = None,
                   source: str = "coinmetrics") -> tuple[date, date]:
        """The days a shock search covers: ``start`` and ``end`` as given, each missing one the
        first / last day of ``source``'s daily hashrate in the store (all rows known now)."""
        d0 = pd.Timestamp(start).date() if start is not None else None
        d1 = pd.Timestamp(end).date() if end is not None else None
        if d0 is None or d1 is None:
            whole = self.daily_hashrate(date.min, date.max, source, self.data_end_unix)
            if whole.empty:
                from hashdesk.economics.shocks import ShockError

                raise ShockError(f"no {source} daily hashrate in the store")
            d0 = d0 if d0 is not None else whole.index[0]
            d1 = d1 if d1 is not None else whole.index[-1]
        return d0, d1

    def shocks(self, start: AtLike | None = None, end: AtLike | None = None, params=None,
               source: str = "coinmetrics", miner_ehs: float = 10.0, miner=None):
        """Hashrate shocks between two UTC days and each one's effect on a miner that stayed
        online, as of the end of ``end`` (:class:`hashdesk.economics.shocks.ShockReport`).

        Parameters
        ----------
        start, end : date or str, optional
            Days searched (the baseline reads ``params.window_days`` before) [default: the first /
            last day of ``source``'s daily hashrate, :meth:`shock_days`].
        params : ShockParams, optional
        source : {"coinmetrics", "mempool.space"}
        miner_ehs : float
            Miner hashrate when no miner is given [EH/s].
        miner : MinerSpec, optional
            A resolved profile: its online hashrate (nameplate × uptime) and demand-response
            credits replace ``miner_ehs``.
        """
        from datetime import timedelta

        from hashdesk.economics.production import ProductionError
        from hashdesk.economics.shocks import (
            ChainWindow,
            ShockError,
            ShockParams,
            ShockReport,
            detect_shocks,
            shock_effect,
            shock_signal,
        )

        params = params or ShockParams()
        d0, d1 = self.shock_days(start, end, source)
        if d1 < d0:
            raise ShockError(f"--to {d1} is before --from {d0}")
        t = day_end_unix(d1)
        series = self.daily_hashrate(d0 - timedelta(days=params.window_days), d1, source, t)
        if series[series.index >= d0].empty:
            raise ShockError(f"no {source} daily hashrate between {d0} and {d1}")
        sig = shock_signal(series, params)
        found = [x for x in detect_shocks(sig, params) if x.end >= d0]
        dr_year = 0.0
        if miner is not None:
            miner_ehs = miner.online_hashrate_ths / 1e6
            dr_year = miner.demand_response_usd_per_day * 365.0
        effects, notes = [], []
        if found:
            epochs, _ = self.epoch_starts(t)
            i = self.inputs(t)
            known = epochs.dropna(subset=["start_unix"])
            for x in found:
                t0 = day_end_unix(x.start - timedelta(days=params.before_days)) - DAY_S
                in_force = known[known.start_unix <= day_end_unix(x.start) - DAY_S]
                if not in_force.empty:  # read from the start of the epoch in force at the shock
                    t0 = min(t0, int(in_force.start_unix.iloc[-1]))
                after = known[known.start_unix >= day_end_unix(x.end)]
                t1 = int(after.start_unix.iloc[1]) if len(after) >= 2 else day_end_unix(x.end)
                try:
                    network = self.network_schedule(t, t0, t1)
                    first = known[known.start_unix <= t0]
                    h0 = int(first.first_height.iloc[-1]) if not first.empty else 0
                    h1 = int(after.first_height.iloc[1]) if len(after) >= 2 else h0
                    b = i.blocks[(i.blocks.height >= h0) & (i.blocks.height <= h1)]
                    chain = (ChainWindow(b.height.to_numpy(np.int64), b.time.to_numpy(np.int64),
                                         b.bits.to_numpy(np.int64)) if len(b) == h1 - h0 + 1 else None)
                    dd = i.daily[(i.daily["date"] >= pd.Timestamp(t0, unit="s").date())
                                 & (i.daily["date"] <= pd.Timestamp(t1, unit="s").date())].dropna(subset=["blocks"])
                    daily_blocks = pd.Series(dd["blocks"].astype("int64").to_numpy(), index=list(dd["date"]))
                    effects.append(shock_effect(x, miner_ehs, network, epochs, chain, daily_blocks,
                                                params, dr_year))
                except ProductionError as exc:
                    notes.append(f"shock {x.start}..{x.end}: no miner split: {exc}")
        method = (
            f"{source} daily hashrate; signal = {params.smooth_days}-day centred mean; baseline = "
            f"median of the previous {params.window_days} days; shock = >= {params.min_days} days "
            f"with signal < baseline × {1 - params.threshold:.2f}, extended over days with daily "
            f"value < baseline × {1 - params.threshold / 2:.3f}, block-deficit z >= {params.min_z:g}; "
            f"energy at {params.efficiency_j_per_th:g} J/TH; before window = {params.before_days} days"
        )
        shown = sig[sig.date >= d0].reset_index(drop=True)
        return ShockReport(
            title=f"Hashrate shocks {d0}..{d1} ({source})", method=method, params=params,
            source=source, daily=shown, shocks=tuple(found), effects=tuple(effects), notes=tuple(notes),
        )

    # -- markets ---------------------------------------------------------------------------------
    def market_inputs(self, tickers: Iterable[str] | str, start: AtLike, end: AtLike, *,
                      equity_source: str | None = None, lookback_days: int = 21):
        """Closes of ``tickers`` and BTC-USD over ``[start − lookback, end]``, as of the end of
        ``end`` (:func:`hashdesk.data.markets.load_market_inputs`)."""
        from hashdesk.data.markets import DEFAULT_EQUITY_SOURCE, load_market_inputs

        t = day_end_unix(pd.Timestamp(end).date())
        return load_market_inputs(self.reader(t), as_list(tickers) or [], start, end,
                                  equity_source=equity_source or DEFAULT_EQUITY_SOURCE,
                                  lookback_days=lookback_days)

    def market(self, tickers: Iterable[str] | str, start: AtLike, end: AtLike, *,
               benchmarks: Iterable[str] = ("WGMI", "QQQ"), frequency: str = "daily",
               non_operating: str = "exclude", equity_source: str | None = None) -> pd.DataFrame:
        """Miners vs BTC (and benchmarks) over a window: return, excess return, beta, alpha,
        correlation, volatility, drawdown, Sharpe, Sortino, capture (one row per ticker).

        Returns
        -------
        pandas.DataFrame
            :func:`hashdesk.market.summary.market_summary` records, indexed by ticker;
            ``attrs["warnings"]`` lists skipped tickers and input notes.
        """
        from hashdesk.market.returns import BTC
        from hashdesk.market.summary import market_summary

        names = as_list(tickers) or []
        benches = [BTC, *[b for b in as_list(list(benchmarks)) or [] if b != BTC]]
        inputs = self.market_inputs(names + benches[1:], start, end, equity_source=equity_source)
        records, warnings = market_summary(inputs, names, start, end, benchmarks=benches,
                                           frequency=frequency, non_operating=non_operating)
        out = pd.DataFrame(records).set_index("ticker", drop=False)
        out.attrs["warnings"] = warnings
        return out

    def halvings(self, at_unix: int | None = None) -> pd.DataFrame:
        """Halving blocks known at ``at_unix``: ``index``, ``height``, ``date`` (UTC day)."""
        from hashdesk.data.chain import halving_blocks

        df = halving_blocks(self.reader(at_unix))
        df["date"] = pd.to_datetime(df["time"], unit="s").dt.normalize()
        return df[["index", "height", "date"]]

    def hashrate_shocks(self, start: AtLike, end: AtLike) -> list:
        """Network hashrate shocks overlapping a window (default detector on the daily series,
        else mempool.space's estimate), as of the end of ``end``; empty when neither covers it."""
        from hashdesk.economics.shocks import ShockError, detect_shocks, shock_signal

        lo, hi = pd.Timestamp(start), pd.Timestamp(end)
        for source in ("coinmetrics", "mempool.space"):
            series = self.daily_hashrate((lo - pd.Timedelta(days=60)).date(), hi.date(), source)
            if len(series) > 30:
                try:
                    found = detect_shocks(shock_signal(series))
                except ShockError:
                    continue
                return [x for x in found if pd.Timestamp(x.end) >= lo and pd.Timestamp(x.start) <= hi]
        return []

    def production_months(self, tickers: Iterable[str], at_unix: int | None = None) -> pd.DataFrame:
        """Reported production months, one row per (ticker, month): ``ticker``, ``month``,
        ``btc_mined`` [BTC] (deduplicated by source rank)."""
        from hashdesk.data.production import known_tickers, production_rows
        from hashdesk.economics.production import dedupe_production

        r = self.reader(at_unix)
        known = set(known_tickers(r))
        have = [t for t in tickers if t in known]
        if not have:
            return pd.DataFrame(columns=["ticker", "month", "btc_mined"])
        months = dedupe_production(production_rows(r, have)).drop_duplicates(["ticker", "month"])
        return months.rename(columns={"btc_reported": "btc_mined"})[["ticker", "month", "btc_mined"]].reset_index(drop=True)

    def chain_events(self, start: AtLike, end: AtLike, tickers: Iterable[str], *,
                     min_retarget_pct: float = 0.0) -> pd.DataFrame:
        """Retargets, halvings, hashrate shocks and reported production months in a window, as
        of the end of ``end`` (columns :data:`hashdesk.market.events.EVENT_COLUMNS`)."""
        from hashdesk.market.events import (
            EVENT_COLUMNS,
            halving_events,
            production_events,
            retarget_events,
            shock_events,
        )

        lo, hi = pd.Timestamp(start), pd.Timestamp(end)
        t = day_end_unix(hi.date())
        parts = [
            retarget_events(self.retargets(lo, hi), min_abs_change_pct=min_retarget_pct),
            halving_events(self.halvings(t)),
            shock_events(self.hashrate_shocks(lo, hi)),
            production_events(self.production_months(list(tickers), t)),
        ]
        parts = [p for p in parts if not p.empty]
        ev = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=EVENT_COLUMNS)
        ev = ev[(pd.to_datetime(ev["end_date"]) >= lo) & (pd.to_datetime(ev["date"]) <= hi)]
        return ev.sort_values("date").reset_index(drop=True)

    # -- scenarios -------------------------------------------------------------------------------
    def scenario_spec(self, horizon_months: int, at: AtLike | None = None, miner=None, options=None,
                      capex_usd: float = 0.0):
        """Fit the scenario models on the history known at the start and assemble the spec.

        Parameters
        ----------
        horizon_months : int
        at : date-like, optional
            Start: the end of this UTC day [default: the last day with a hashprice].
        miner : MinerSpec, optional
            From :meth:`miner` (the one fleet resolver).
        options : FitOptions, optional
        capex_usd : float

        Returns
        -------
        (ScenarioSpec, dict, NetworkState)
            The spec, what was fitted, and the network state the run starts from.
        """
        from hashdesk.scenario.fit import FitOptions, build_spec, miner_economics, start_from_state

        state = self.network_state(at if at is not None else self.latest_priced_day())
        i = self.inputs(state.at_unix)
        spec, models = build_spec(start_from_state(state), horizon_months, i.btc_prices, i.daily,
                                  miner_economics(miner) if miner is not None else None,
                                  options or FitOptions(), capex_usd, hashrate_history=i.hashrate_daily)
        return spec, models, state

    def scenario_backtest(self, first: AtLike = "2022-01-31", last: AtLike | None = None, *,
                          scenarios: int = 2000, seed: int = 0, options=None, starts=None, targets=None,
                          progress=None):
        """Backtest the scenario engine on rolling month-end starts
        (:func:`hashdesk.scenario.backtest.run_backtest`).

        Each start is built with :meth:`scenario_spec` as of the end of its day (the read layer
        shows it only the rows known then); the realised difficulty (epoch bits) and daily
        hashprice come from everything the store holds. A start whose spec cannot be built is
        skipped and named in ``skipped``.

        Parameters
        ----------
        first, last : date-like
            Month-end starts from ``first``'s month to ``last`` [default: the last day with a
            hashprice, less 90 days].
        scenarios : int
            Scenarios per start.
        seed : int
            Root seed (each start's seed depends on it and the start day only).
        options : FitOptions, optional
            The models to score [default: the calibrated defaults].
        starts : iterable of date, optional
            The start days to use instead of the month ends.
        targets : sequence of Target, optional
            [default: :data:`hashdesk.scenario.backtest.DEFAULT_TARGETS`].
        progress : callable, optional
            ``progress(done, total, day)``.

        Returns
        -------
        BacktestResult
        """
        from hashdesk.chain.consensus import SATS_PER_BTC
        from hashdesk.economics.state import NetworkDataError
        from hashdesk.scenario.backtest import (
            DEFAULT_TARGETS,
            horizon_months,
            month_end_starts,
            run_backtest,
        )
        from hashdesk.scenario.paths import ScenarioInputError

        end = self.latest_priced_day()
        if starts is None:
            hi = pd.Timestamp(last).date() if last is not None else end - pd.Timedelta(days=90)
            starts = month_end_starts(pd.Timestamp(first).date(), min(hi, end))
        i = self.inputs(self.data_end_unix + 1)
        bits = dict(zip(i.epochs["epoch"].astype(int), i.epochs["bits"].astype(int), strict=True))
        realized = i.daily.set_index("date")[["hashprice_usd_per_ph_day", "price_usd"]].astype(float)
        realized["fees_sats_per_block"] = i.daily["fees_btc_per_block"].astype(float).to_numpy() * SATS_PER_BTC
        targets = tuple(targets or DEFAULT_TARGETS)
        months = horizon_months(targets)
        res = run_backtest(starts, lambda day: self.scenario_spec(months, day, options=options)[:2], bits, realized,
                           targets=targets, scenarios=scenarios, seed=seed, progress=progress,
                           skip_errors=(ScenarioInputError, NetworkDataError))
        res.settings["months_simulated"] = months
        return res

    # -- companies -------------------------------------------------------------------------------
    def company_market_inputs(self, company, at: AtLike | None = None):
        """Share price, BTC price and BTC held for a company at its valuation date (or ``at``)
        (:func:`hashdesk.data.companies.market_inputs`)."""
        from hashdesk.data.companies import market_inputs

        return market_inputs(self.reader(None if at is None else self.at_unix(at)), company)

    def company_facts(self, at: AtLike | None = None) -> dict[str, pd.DataFrame]:
        """The company facts public by ``at`` (the end of that day; default: all)
        (:func:`hashdesk.data.companies.company_facts`)."""
        return self._company_facts(None if at is None else self.at_unix(at))

    def _company_facts(self, t: int | None) -> dict[str, pd.DataFrame]:
        from hashdesk.data.companies import company_facts

        if self._once == 0:
            return company_facts(self.reader(t))
        if t not in self._facts:
            self._facts[t] = company_facts(self.reader(t))
        return {k: v.copy() for k, v in self._facts[t].items()}

    def comps(self, at: AtLike) -> pd.DataFrame:
        """Public-miner comparables as of the end of ``at`` from facts public by then
        (:func:`hashdesk.hpc.comps.comps_table`; the last row holds the medians)."""
        from hashdesk.data.companies import closes_on_or_before
        from hashdesk.data.production import production_rows
        from hashdesk.economics.production import (
            ProductionError,
            dedupe_production,
            expected_production,
            month_bounds,
        )
        from hashdesk.hpc.comps import ProductionMonth, ReportedHashrate, comps_table

        t = self.at_unix(at)
        day = pd.Timestamp(t - 1, unit="s").date()
        r = self.reader(t)
        facts = self._company_facts(t)
        tickers = sorted(facts["companies"]["ticker"]) if len(facts["companies"]) else []
        closes = closes_on_or_before(r, tickers, day)
        prices = self.inputs(t).btc_prices
        btc = float(prices["close"].iloc[-1]) if len(prices) else None
        production: dict[str, ProductionMonth] = {}
        reported: dict[str, ReportedHashrate] = {}
        try:
            raw = production_rows(r, None)
            rows = dedupe_production(raw)
        except (LookupError, ValueError):
            raw = rows = pd.DataFrame()
        if len(raw):
            cap = raw[raw["hashrate_kind"].isin(["deployed", "energized", "operational", "installed"])
                      & raw["hashrate_ehs"].notna()].sort_values(["month", "source_rank"])
            for tk, g in cap.groupby("ticker"):
                last = g[g["month"] == g["month"].max()].iloc[0]
                reported[tk] = ReportedHashrate(str(last["month"]), float(last["hashrate_ehs"]),
                                                str(last["hashrate_kind"]), str(last["source_url"]))
        per_ehs: dict[str, float | None] = {}  # expected BTC of 1 EH/s, per month (shared by tickers)
        for tk in tickers:
            mine = rows[(rows["ticker"] == tk) & rows["btc_reported"].notna()] if len(rows) else rows
            if mine is None or not len(mine):
                continue
            month = str(mine["month"].max())
            s0, s1 = month_bounds(month)
            if month not in per_ehs:
                try:
                    per_ehs[month] = expected_production(1.0, s0, s1, self.network_schedule(t, s0, s1)).btc
                except (ProductionError, LookupError, ValueError):
                    per_ehs[month] = None
            exp = per_ehs[month]
            if exp is None:
                continue
            btc_mined = float(mine[mine["month"] == month]["btc_reported"].iloc[0])
            production[tk] = ProductionMonth(month, btc_mined, exp, (s1 - s0) / DAY_S)
        return comps_table(facts, closes, btc, production, day, reported)

    # -- miners ------------------------------------------------------------------------------------
    def catalogue(self, extra_files: Iterable[str | Path] = ()):
        """The ASIC catalogue: the store's models, the shipped additions, then each user file
        (later wins; names are case-insensitive) (:class:`hashdesk.economics.fleet.AsicCatalogue`)."""
        from hashdesk.data.companies import asic_models
        from hashdesk.economics.fleet import (
            AsicCatalogue,
            read_catalogue_file,
            shipped_additions,
            validate_catalogue,
        )

        extra = list(extra_files)
        if self._catalogue is None:
            stored = asic_models(self.reader(None))
            frames = [validate_catalogue(stored, "store asic_models")] if not stored.empty else []
            frames.append(shipped_additions())
            self._catalogue = frames, AsicCatalogue.from_frames(*frames)  # frozen: shared
        if not extra:
            return self._catalogue[1]
        return AsicCatalogue.from_frames(*self._catalogue[0], *(read_catalogue_file(p) for p in extra))

    def miner(self, profile, asics: Iterable[str | Path] = ()):
        """A miner profile (a path or a validated :class:`~hashdesk.economics.profile.MinerProfile`)
        resolved by the one fleet resolver (:func:`hashdesk.economics.modelchain.resolve_miner`).

        Raises
        ------
        ProfileError, CatalogueError, UnknownAsicError
            Naming the file and the field.
        """
        from hashdesk.economics.fleet import UnknownAsicError
        from hashdesk.economics.modelchain import resolve_miner
        from hashdesk.economics.profile import MinerProfile, load_profile

        where = None
        if not isinstance(profile, MinerProfile):
            where = str(profile)
            profile = load_profile(profile)
        try:
            return resolve_miner(profile, self.catalogue(asics))
        except UnknownAsicError as exc:
            raise UnknownAsicError(f"{where}: {exc}" if where else str(exc)) from None

    def unit_economics(self, miner, at: AtLike = "now", window_days: int = 1):
        """A miner's daily economics through the model chain, at the network state as of ``at``
        (``window_days`` = 1) or at the daily series' mean over the ``window_days`` days ending
        with ``at``'s day.

        Returns
        -------
        (UnitEconomics, NetworkState)
        """
        from hashdesk.economics.hashprice import network_window
        from hashdesk.economics.modelchain import unit_economics

        state = self.network_state(at)
        if window_days <= 1:
            state.require("hashprice_btc_per_ph_day", "price_usd")
            return unit_economics(miner, state.hashprice_btc_per_th_day, state.price_usd,
                                  state.at, state.at), state
        end = pd.Timestamp(state.at_unix - 1, unit="s").date()
        w = network_window(self.inputs(state.at_unix).daily, end - pd.Timedelta(days=window_days - 1), end)
        return unit_economics(miner, w.hashprice_btc_per_th_day, w.price_usd, str(w.start), str(w.end)), state

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

    # -- issue 12: HPC from facts ----------------------------------------------------------------
    def _facts_day(self, at: AtLike) -> date:
        """The UTC day whose end is ``at`` (facts public by then are visible)."""
        return pd.Timestamp(self.at_unix(at) - 1, unit="s").date()

    def hpc_contract_sites(self, ticker: str, at: AtLike, contract_id: str | None = None, assumptions=None):
        """A company's HPC/AI contracts announced by ``at``, each as a site to value, from the facts
        public by then (:func:`hashdesk.hpc.sites.site_from_contract`).

        Returns
        -------
        (list of ContractSite, list of dict)
            The sites, and the contracts that cannot be valued with the reason.

        Raises
        ------
        FactsError
            The ticker is not in the facts; or no contract (or not ``contract_id``) is announced by
            ``at`` — the message names the announcement date of the first later one.
        """
        from hashdesk.hpc.contracts import ContractError
        from hashdesk.hpc.sites import FactsError, site_from_contract

        ticker = ticker.upper()
        day = self._facts_day(at)
        facts = self.company_facts(day)
        comp = facts["companies"]
        if not len(comp) or not (comp["ticker"] == ticker).any():
            known = ", ".join(sorted(comp["ticker"])) if len(comp) else "none: run `hashdesk ingest`"
            raise FactsError(f"{ticker}: not in the company facts (known: {known})")
        cc = facts["company_hpc_contracts"]
        cc = cc[(cc["ticker"] == ticker) & (cc["announced"] <= day)] if len(cc) else cc
        if contract_id is not None:
            cc = cc[cc["contract_id"] == contract_id] if len(cc) else cc
        if not len(cc):
            every = self.company_facts(None)["company_hpc_contracts"]
            later = every[every["ticker"] == ticker] if len(every) else every
            if contract_id is not None:
                later = later[later["contract_id"] == contract_id] if len(later) else later
            later = later[later["announced"] > day].sort_values("announced") if len(later) else later
            what = f"contract {contract_id!r}" if contract_id else "HPC/AI contract"
            if len(later):
                first = later.iloc[0]
                raise FactsError(
                    f"{ticker}: no {what} announced by {day}; {first['contract_id']} ({first['tenant']}) was "
                    f"announced on {first['announced']}: value it on or after {first['announced']}")
            ids = sorted(every.loc[every["ticker"] == ticker, "contract_id"]) if len(every) else []
            raise FactsError(f"{ticker}: no {what} in the facts" + (f" (known: {', '.join(ids)})" if ids else ""))
        sites, skipped = [], []
        for _, row in cc.sort_values(["announced", "contract_id"]).iterrows():
            try:
                sites.append(site_from_contract(row, facts, day, assumptions))
            except (FactsError, ContractError) as exc:
                if contract_id is not None:
                    raise
                skipped.append({"contract_id": row["contract_id"], "tenant": row["tenant"],
                                "announced": str(row["announced"]), "reason": str(exc)})
        return sites, skipped

    def hpc_value(self, ticker: str, at: AtLike, contract_id: str | None = None, assumptions=None,
                  sensitivity: bool = False) -> dict[str, Any]:
        """Value a company's HPC/AI contracts (mining vs HPC on the same power) from the facts public
        by ``at``, at the network state as of ``at`` (:func:`hashdesk.hpc.valuation.value_site`).

        Returns
        -------
        dict
            ``ticker``, ``as_of``, ``network_state`` (:class:`NetworkState`), ``assumptions``
            (:class:`~hashdesk.hpc.sites.FactAssumptions`), ``contracts`` (per contract:
            ``contract_id``, ``tenant``, ``site``, ``result`` (:class:`SiteValuationResult`), ``inputs``
            (each with its date and source, or marked as an assumption), ``warnings``, and with
            ``sensitivity`` the tornado table), ``not_valued`` (contract and reason).
        """
        from hashdesk.hpc.sites import FactAssumptions
        from hashdesk.hpc.valuation import sensitivity_table, value_site

        a = assumptions or FactAssumptions()
        sites, skipped = self.hpc_contract_sites(ticker, at, contract_id, a)
        state = self.network_state(self._facts_day(at)).require("fees_btc_per_block", "price_usd")
        out = []
        for cs in sites:
            rec = {"contract_id": cs.contract_id, "tenant": cs.tenant, "site": cs.site,
                   "result": value_site(cs.site, state), "inputs": list(cs.inputs), "warnings": list(cs.warnings)}
            if sensitivity:
                rec["sensitivity"] = sensitivity_table(cs.site, state)
            out.append(rec)
        return {"ticker": ticker.upper(), "as_of": self._facts_day(at), "network_state": state, "assumptions": a,
                "contracts": out, "not_valued": skipped}

    def hpc_company(self, ticker: str, at: AtLike, assumptions=None) -> dict[str, Any]:
        """Sum of the parts of a company from the facts public by ``at``
        (:func:`hashdesk.hpc.sites.company_from_facts`, :func:`hashdesk.hpc.valuation.value_company`).

        The share price is the latest ``alpaca_iex`` close on or before ``at`` (a warning says how
        old); the network state is the one as of ``at``; BTC held is the latest fact, else the
        latest monthly production report, else 0 with a warning.

        Returns
        -------
        dict
            ``valuation`` (:class:`CompanyValuation`), ``company``, ``inputs``, ``contracts``
            (per contract: ``contract_id``, ``tenant``, ``inputs``), ``not_valued``, ``warnings``,
            ``cohort`` (the facts rule as of ``at``), ``network_state``, ``assumptions``.
        """
        from hashdesk.data.companies import latest_btc_held, market_inputs
        from hashdesk.hpc.sites import FactAssumptions, company_from_facts
        from hashdesk.hpc.valuation import value_company

        a = assumptions or FactAssumptions()
        ticker = ticker.upper()
        day = self._facts_day(at)
        facts = self.company_facts(day)
        built = company_from_facts(ticker, facts, day, a)
        comp = built.company
        warnings = list(built.warnings)
        inputs = list(built.inputs)
        reader = self.reader(self.at_unix(day))
        if comp.btc_held is None:
            found = latest_btc_held(reader, ticker, day)
            if found is None:
                warnings.append(f"{ticker}: no btc_held fact and no production report by {day}: 0 BTC used "
                                "(give btc_held in --assumptions)")
                comp = comp.model_copy(update={"btc_held": 0.0})
            else:
                comp = comp.model_copy(update={"btc_held": found[0]})
                inputs.append({"input": "btc_held", "value": found[0], "unit": "BTC", "kind": "report",
                               "table": "miner_production", "as_of": None, "public_date": None,
                               "source_url": found[1]})
        market = market_inputs(reader, comp)
        if (day - market.price_date).days > 7:
            warnings.append(f"share price from {market.price_date}, {(day - market.price_date).days} days before "
                            f"{day} (the newest {ticker} close in the store)")
        state = self.network_state(day).require("fees_btc_per_block", "price_usd")
        val = value_company(comp, state, market)
        cohort = self.cohorts(day)
        row = cohort[cohort["ticker"] == ticker]
        return {"valuation": val, "company": comp, "inputs": inputs,
                "contracts": [{"contract_id": c.contract_id, "tenant": c.tenant, "inputs": list(c.inputs),
                               "warnings": list(c.warnings)} for c in built.contracts],
                "not_valued": list(built.skipped), "warnings": warnings + list(val.warnings),
                "cohort": row.iloc[0].to_dict() if len(row) else None,
                "network_state": state, "assumptions": a}

    def _hpc_comps(self, day: date) -> pd.DataFrame:
        """:meth:`comps` as of the end of ``day``, kept for the desk's life (cohorts, scorecard)."""
        cache = self.__dict__.setdefault("_hpc_comps_cache", OrderedDict())
        if day not in cache:
            cache[day] = self.comps(day)
            while len(cache) > self.CACHE_TIMES:
                cache.popitem(last=False)
        return cache[day]

    def cohorts(self, at: AtLike) -> pd.DataFrame:
        """Cohort of every company in the facts as of ``at``: contracts count from their
        announcement (:data:`hashdesk.hpc.cohorts.FACTS_COHORT_RULE`; the same classification as
        :meth:`comps`).

        Returns
        -------
        pandas.DataFrame
            ``ticker, cohort, hpc_contracted_mw, hpc_power_share, deployed_ehs, rule``.
        """
        from hashdesk.hpc.cohorts import FACTS_COHORT_RULE

        c = self._hpc_comps(self._facts_day(at))
        c = c[c["ticker"] != "median"]
        out = c[["ticker", "cohort", "hpc_contracted_mw", "hpc_power_share", "deployed_ehs"]].reset_index(drop=True)
        return out.assign(rule=FACTS_COHORT_RULE)

    def scorecard(self, at: AtLike, tickers: Iterable[str] | str | None = None) -> pd.DataFrame:
        """Due-diligence scorecard of the companies in the facts, as of ``at``
        (:func:`hashdesk.hpc.scorecard.score_facts`): per company and criterion the value, score,
        weight and every input with its date and source URL; a criterion missing a fact is
        unscored and says why; a ``total`` row per company.

        Parameters
        ----------
        at : date-like
            Facts public by the end of this day; prices on or before it.
        tickers : list or comma-separated str, optional
            Default: every company in the facts.

        Returns
        -------
        pandas.DataFrame
            :data:`hashdesk.hpc.scorecard.FACT_SCORE_COLUMNS` plus ``cohort`` and ``as_of``.

        Raises
        ------
        FactsError
            A requested ticker is not in the facts.
        """
        from hashdesk.data.companies import NETWORK_SOURCE, closes_on_or_before
        from hashdesk.hpc.scorecard import FACT_SCORE_COLUMNS, FactsMarket, score_facts
        from hashdesk.hpc.sites import FactsError

        day = self._facts_day(at)
        facts = self.company_facts(day)
        known = sorted(facts["companies"]["ticker"]) if len(facts["companies"]) else []
        want = as_list(tickers) or known
        unknown = [t for t in want if t not in known]
        if unknown:
            raise FactsError(f"not in the company facts: {', '.join(unknown)} (known: {', '.join(known) or 'none'})")
        cohorts = self.cohorts(day).set_index("ticker")
        comps = self._hpc_comps(day).set_index("ticker")
        t = self.at_unix(day)
        closes = closes_on_or_before(self.reader(t), want, day).set_index("ticker")
        prices = self.inputs(t).btc_prices
        cards = []
        for tk in want:
            market = None
            if tk in closes.index and len(prices):
                last = prices.iloc[-1]
                market = FactsMarket(float(closes.loc[tk, "close"]), pd.Timestamp(closes.loc[tk, "date"]).date(),
                                     "store prices_daily (alpaca_iex close)", float(last["close"]),
                                     pd.Timestamp(last["date"]).date(),
                                     f"store prices_daily (BTC-USD, preferred source {NETWORK_SOURCE})")
            co = None
            if tk in cohorts.index:
                r = cohorts.loc[tk]
                fleet_mw = np.nan if pd.isna(comps.loc[tk, "deployed_ehs"]) else 0.0
                co = {"hpc_contracted_mw": float(r["hpc_contracted_mw"]), "hpc_power_share": float(r["hpc_power_share"]),
                      "cohort": r["cohort"], "fleet_mw": fleet_mw}
            card = score_facts(tk, facts, day, market, co)
            cards.append(card.assign(cohort=co["cohort"] if co else None, as_of=day.isoformat()))
        if not cards:
            return pd.DataFrame(columns=[*FACT_SCORE_COLUMNS, "cohort", "as_of"])
        return pd.concat(cards, ignore_index=True)


    # -- issue 13: stress / shocks / production ---------------------------------------------------
    # Added methods only; the methods above keep their behaviour.

    def shocks_mine_or_curtail(self, start: AtLike | None, end: AtLike | None, miner, params=None,
                               source: str = "coinmetrics", power_prices=None,
                               power_basis: str = "resale", dr_usd: float | None = None,
                               dr_basis: str = "curtailment"):
        """Shocks between two UTC days with, for each, the mine-or-curtail decision of ``miner``
        (:func:`hashdesk.economics.shocks.mine_or_curtail`), as of the end of ``end``.

        Parameters
        ----------
        start, end : date or str, optional
            As :meth:`shocks` (None: the whole daily series of ``source``).
        miner : MinerSpec
            From :meth:`miner`: its online hashrate, power price, hosting, pool fee and credits.
        params : ShockParams, optional
        source : {"coinmetrics", "mempool.space"}
        power_prices : pandas.Series, optional
            Hourly prices [USD/kWh] (:func:`hashdesk.economics.shocks.read_power_prices`);
            default the profile's fixed price.
        power_basis, dr_basis : str
            See :data:`hashdesk.economics.shocks.POWER_BASES` / :data:`~hashdesk.economics.shocks.DR_BASES`.
        dr_usd : float, optional
            Credits over each shock [USD]; default the profile's annual credits pro rata.

        Returns
        -------
        (ShockReport, list of CurtailDecision)
            The report of :meth:`shocks` for the miner (its effects carry the windfall against
            the counterfactual retarget) and one decision per shock whose days the store covers;
            a shock it cannot value is named in the report's notes.
        """
        from dataclasses import replace

        from hashdesk.economics.production import ProductionError
        from hashdesk.economics.shocks import ShockError, mine_or_curtail

        start, end = self.shock_days(start, end, source)
        rep = self.shocks(start, end, params, source=source, miner=miner)
        t = day_end_unix(end)
        daily = self.inputs(t).daily
        prices = {d: float(p) for d, p in zip(daily["date"], daily["price_usd"], strict=True)
                  if p is not None and np.isfinite(p)}
        epochs, _ = self.epoch_starts(t)
        known = epochs.dropna(subset=["start_unix"]).sort_values("first_height")
        by_start = {e.start: e for e in rep.effects}
        decisions, notes = [], list(rep.notes)
        for x in rep.shocks:
            eff = by_start.get(x.start)
            ne_btc = eff.windfall_vs_counterfactual_btc if eff is not None else None
            ne_px = None
            if eff is not None and eff.epoch_after is not None:
                e = known[known.epoch >= eff.epoch_after].head(2)
                if len(e) == 2:
                    a_day = pd.Timestamp(int(e.start_unix.iloc[0]), unit="s").date()
                    b_day = pd.Timestamp(int(e.start_unix.iloc[1]) - 1, unit="s").date()
                    sel = [v for d, v in prices.items() if a_day <= d <= b_day]
                    ne_px = float(np.mean(sel)) if sel else None
            try:
                network = self.network_schedule(t, day_end_unix(x.start) - DAY_S, day_end_unix(x.end))
                decisions.append(mine_or_curtail(
                    miner, x, network, prices, power_prices, power_basis, dr_usd, dr_basis,
                    ne_btc, ne_px))
            except (ProductionError, ShockError) as exc:
                notes.append(f"shock {x.start}..{x.end}: no mine-or-curtail valuation: {exc}")
        return replace(rep, notes=tuple(notes)), decisions

    def daily_subsidy_flags(self, start: AtLike | None = None, end: AtLike | None = None) -> pd.DataFrame:
        """The daily series between two UTC days with the halving-day attribution flags
        (:func:`hashdesk.economics.halving.mixed_subsidy_days`: ``mixed_subsidy``,
        ``blocks_new_era``, ``subsidy_note``), header times of halving blocks from the blocks
        known as of the end of ``end``."""
        from hashdesk.chain.consensus import HALVING_INTERVAL
        from hashdesk.economics.halving import mixed_subsidy_days

        table = self.daily(start, end)
        t = day_end_unix(pd.Timestamp(end).date()) if end is not None else self.data_end_unix
        b = self.inputs(t).blocks
        hv = b[(b["height"] % HALVING_INTERVAL == 0) & (b["height"] > 0)]
        return mixed_subsidy_days(table, dict(zip(hv.height.astype(int), hv.time.astype(int), strict=True)))

    # -- issue 16: hashprice forward curve and hedging ------------------------------------------------
    # Added methods only; the methods above keep their behaviour.

    def forward_curve(self, at: AtLike | None = None, months: int = 12, n_scenarios: int = 100_000,
                      seed: int = 0, quotes=None, options=None, *, executor: str = "local", workers: int = 1,
                      scheduler: str | None = None, chunk_size: int | None = None, progress=None):
        """The model-implied hashprice forward curve from the end of ``at``
        (:func:`hashdesk.scenario.forward.forward_curve`): per month, the distribution of the
        month-average hashprice [USD/PH/day, BTC/PH/day] and its drivers.

        Parameters
        ----------
        at : date-like, optional
            Start: the end of this UTC day [default: the last day with a hashprice].
        months : int
            Horizon [months].
        n_scenarios, seed : int
        quotes : str, Path or pandas.DataFrame, optional
            Quoted forwards (``month,price`` CSV, :func:`hashdesk.scenario.forward.read_quotes`).
        options : FitOptions, optional
            How the scenario models are fitted (:meth:`scenario_spec`).
        executor, workers, scheduler, chunk_size, progress
            As for :func:`hashdesk.scenario.executors.simulate`.

        Returns
        -------
        ForwardCurve
        """
        from hashdesk.scenario.executors import DEFAULT_CHUNK_SIZE
        from hashdesk.scenario.forward import forward_curve, read_quotes

        q = read_quotes(quotes) if isinstance(quotes, (str, Path)) else quotes
        spec, models, _ = self.scenario_spec(months, at, options=options)
        return forward_curve(spec, n_scenarios, seed, quotes=q, models=models, executor=executor,
                             workers=workers, scheduler=scheduler, chunk_size=chunk_size or DEFAULT_CHUNK_SIZE,
                             progress=progress)

    def forward_realized(self, curve) -> pd.DataFrame:
        """The realised month-average hashprice on a forward curve's months, from the daily series
        as the store holds it now (:func:`hashdesk.scenario.forward.realized_monthly_hashprice`;
        NaN for months the data does not cover completely), beside the curve's 5–95 % band.

        Returns
        -------
        pandas.DataFrame
            ``month``, ``days_with_data``, ``realized_usd_per_ph_day``, ``realized_btc_per_ph_day``,
            ``p05``, ``p95``, ``mean_usd_per_ph_day``, ``realized_percentile`` (where the realised value
            sits in the model distribution [%]) and ``inside_band`` (p05 <= realised <= p95; None when
            not realised).
        """
        from hashdesk.scenario.forward import realized_monthly_hashprice

        rows = curve.rows
        first = rows["month_start"].iloc[0]
        try:
            daily = self.hashprice(first, None)
        except NetworkDataError:
            daily = pd.DataFrame(columns=["date", "hashprice_usd_per_ph_day", "hashprice_btc_per_ph_day"])
        out = realized_monthly_hashprice(daily, list(rows["month"]), list(rows["month_start"]),
                                         rows["days"].to_numpy())
        out["p05"], out["p95"] = rows["p05"].to_numpy(), rows["p95"].to_numpy()
        out["mean_usd_per_ph_day"] = rows["mean_usd_per_ph_day"].to_numpy()
        real = out["realized_usd_per_ph_day"]
        out["realized_percentile"] = curve.percentile(real.to_numpy()) if curve.usd_hist is not None else np.nan
        inside = (real >= out["p05"]) & (real <= out["p95"])
        out["inside_band"] = [bool(v) if np.isfinite(r) else None for v, r in zip(inside, real, strict=True)]
        return out

    def hedge(self, miner, at: AtLike | None = None, months: int = 12, ratio: float = 1.0,
              n_scenarios: int = 50_000, seed: int = 0, quotes=None, options=None, *, executor: str = "local",
              workers: int = 1, scheduler: str | None = None, chunk_size: int | None = None, progress=None):
        """A miner's margin unhedged and hedged with a hashprice swap on ``ratio`` of its expected
        production, on the same scenarios (:func:`hashdesk.scenario.hedge.hedge_analysis`).

        Parameters
        ----------
        miner : MinerSpec, MinerProfile or path
            Resolved through :meth:`miner` (the one fleet resolver) unless already a MinerSpec.
        at : date-like, optional
            Start: the end of this UTC day [default: the last day with a hashprice].
        months : int
            Horizon [months].
        ratio : float
            Share of expected production sold forward [–].
        n_scenarios, seed : int
        quotes : str, Path or pandas.DataFrame, optional
            Quoted forwards; months without a quote are hedged at the model mean.
        options : FitOptions, optional
        executor, workers, scheduler, chunk_size, progress
            As for :func:`hashdesk.scenario.executors.simulate`.

        Returns
        -------
        HedgeResult
        """
        from hashdesk.economics.modelchain import MinerSpec
        from hashdesk.scenario.executors import DEFAULT_CHUNK_SIZE
        from hashdesk.scenario.forward import read_quotes
        from hashdesk.scenario.hedge import hedge_analysis

        m = miner if isinstance(miner, MinerSpec) else self.miner(miner)
        q = read_quotes(quotes) if isinstance(quotes, (str, Path)) else quotes
        spec, _, _ = self.scenario_spec(months, at, miner=m, options=options)
        return hedge_analysis(spec, ratio, n_scenarios, seed, quotes=q, executor=executor, workers=workers,
                              scheduler=scheduler, chunk_size=chunk_size or DEFAULT_CHUNK_SIZE, progress=progress)


def open(path: str | Path | None = None, *, max_stale_s: int = DEFAULT_MAX_STALE_S) -> Desk:  # noqa: A001
    """Open the store read-only and return a :class:`Desk` (see the module example)."""
    return Desk(path, max_stale_s=max_stale_s)


def _month(value: str | date | None) -> str | None:
    """``YYYY-MM`` from a month or a date (None stays None)."""
    if value is None or value == "":
        return None
    text = str(value)
    if len(text) == 7:
        from hashdesk.economics.production import month_bounds

        month_bounds(text)  # validates
        return text
    return pd.Timestamp(text).strftime("%Y-%m")


def as_list(tickers: Iterable[str] | str | None) -> list[str] | None:
    """Tickers from a list or a comma-separated string (upper case), None for all."""
    if tickers is None:
        return None
    if isinstance(tickers, str):
        tickers = tickers.split(",")
    return [t.strip().upper() for t in tickers if t.strip()]


__all__ = ["Desk", "NetworkInputs", "open"]
