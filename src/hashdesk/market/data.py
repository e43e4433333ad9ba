"""Store queries for the market module (the only place it touches DuckDB).

Everything here reads ``prices_daily``, ``ticker_history``, ``epochs``, ``blocks``,
``hashrate_daily`` and ``miner_production`` and returns plain pandas objects / frozen
dataclasses for the pure functions in :mod:`hashdesk.market`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hashdesk.chain.consensus import HALVING_INTERVAL
from hashdesk.market.returns import BTC, MarketDataError, btc_close_series
from hashdesk.store.db import Store

#: Default equity price source (covers 2020-07..2025-04; IEX volume is not market volume).
DEFAULT_EQUITY_SOURCE = "alpaca_iex"


@dataclass(frozen=True)
class NonOperatingWindow:
    """A period in which a ticker was not (yet) an operating miner (SPAC, pre-merger shell)."""

    ticker: str
    valid_from: pd.Timestamp | None
    valid_to: pd.Timestamp | None
    entity: str

    def mask(self, dates: pd.DatetimeIndex) -> np.ndarray:
        """True for the dates inside the window (bounds inclusive, open ends unbounded)."""
        m = np.ones(len(dates), dtype=bool)
        if self.valid_from is not None:
            m &= dates >= self.valid_from
        if self.valid_to is not None:
            m &= dates <= self.valid_to
        return m


@dataclass(frozen=True)
class MarketInputs:
    """Daily prices for some tickers and bitcoin, as stored (no fill).

    Attributes
    ----------
    prices : pd.DataFrame
        Close [USD] per date (DatetimeIndex) and ticker; ``BTC-USD`` is the 00:00 UTC next-day
        fixing stamped on its UTC day. NaN = no row.
    btc_source : pd.Series
        Source of each BTC day ('coinmetrics' / 'blockchaincom_mkpru').
    equity_source : dict
        Price source used per equity ticker.
    non_operating : tuple of NonOperatingWindow
        SPAC / pre-merger periods of the requested tickers (``ticker_history``).
    notes : tuple of str
        Entity notes worth telling the user (e.g. HUT's pre-merger scaling).
    warnings : tuple of str
    """

    prices: pd.DataFrame
    btc_source: pd.Series
    equity_source: dict[str, str]
    non_operating: tuple[NonOperatingWindow, ...] = ()
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)


def known_tickers(store: Store) -> list[str]:
    """Every ticker with at least one price row."""
    return [r for (r,) in store.con.execute(
        "SELECT DISTINCT ticker FROM prices_daily ORDER BY ticker").fetchall()]


def load_market_inputs(
    store: Store,
    tickers: list[str],
    start: pd.Timestamp | str,
    end: pd.Timestamp | str,
    *,
    equity_source: str = DEFAULT_EQUITY_SOURCE,
    lookback_days: int = 21,
) -> MarketInputs:
    """Load closes of ``tickers`` and BTC-USD for ``[start - lookback_days, end]``.

    Parameters
    ----------
    store : Store
    tickers : list of str
        Equity tickers (BTC-USD is always loaded; listing it is allowed).
    start, end : date-like
        Window (inclusive); the lookback supplies the base price before ``start``.
    equity_source : str
        'alpaca_iex' (default) or 'yfinance' (through 2024-03-08). A ticker absent from that
        source but present in exactly one other is read from the other, with a warning.
        Bars with zero volume are dropped (no trade: they repeat a stale price; WGMI's IEX
        bars of 2023 include a bogus 4.237 on such days), with a warning.
    lookback_days : int
        Calendar days loaded before ``start`` [days].

    Raises
    ------
    MarketDataError
        Unknown ticker, or ``start`` after ``end``.
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if start > end:
        raise MarketDataError(f"window start {start.date()} is after its end {end.date()}")
    lo = (start - pd.Timedelta(days=lookback_days)).date()
    hi = end.date()
    wanted = [t.strip().upper() for t in tickers if t.strip() and t.strip().upper() != BTC]
    sources = store.df(
        "SELECT ticker, source, count(*) AS n FROM prices_daily GROUP BY ticker, source"
    )
    known = sorted(set(sources.ticker))
    warnings: list[str] = []
    chosen: dict[str, str] = {}
    for t in wanted:
        have = sources[sources.ticker == t]
        if have.empty:
            raise MarketDataError(f"unknown ticker {t!r}: no rows in prices_daily (known: {', '.join(known)})")
        if equity_source in set(have.source):
            chosen[t] = equity_source
        elif len(have) == 1:
            chosen[t] = str(have.source.iloc[0])
            warnings.append(f"{t}: no {equity_source!r} prices; using {chosen[t]!r}")
        else:
            raise MarketDataError(
                f"ticker {t!r} has no {equity_source!r} prices; choose one of {sorted(have.source)}"
            )
    frames = []
    for t, src in chosen.items():
        df = store.df(
            "SELECT date, coalesce(adj_close, close) AS close, volume FROM prices_daily "
            "WHERE ticker = ? AND source = ? AND date BETWEEN ? AND ? ORDER BY date",
            [t, src, lo, hi],
        )
        stale = (df.volume == 0).to_numpy()
        if stale.any():
            days = pd.DatetimeIndex(df.date[stale])
            warnings.append(
                f"{t}: {int(stale.sum())} zero-volume bar(s) dropped ({days[0].date()}..{days[-1].date()}): "
                "no trade that day, the bar repeats a stale price"
            )
        frames.append(pd.Series(df.close.to_numpy(float)[~stale], index=pd.DatetimeIndex(df.date[~stale]), name=t))
    btc_lo = (pd.Timestamp(lo) - pd.Timedelta(days=1)).date()
    btc = store.df(
        "SELECT date, source, close FROM prices_daily WHERE ticker = ? AND date BETWEEN ? AND ? "
        "AND source IN ('coinmetrics', 'blockchaincom_mkpru')",
        [BTC, btc_lo, (end + pd.Timedelta(days=1)).date()],
    )

    def series(src: str) -> pd.Series:
        part = btc[btc.source == src]
        return pd.Series(part.close.to_numpy(float), index=pd.DatetimeIndex(part.date))

    btc_close, btc_src = btc_close_series(series("coinmetrics"), series("blockchaincom_mkpru"))
    btc_close = btc_close[(btc_close.index >= pd.Timestamp(lo)) & (btc_close.index <= end)]
    btc_src = btc_src.reindex(btc_close.index)
    prices = pd.concat([*frames, btc_close.rename(BTC)], axis=1, sort=True)
    non_op, notes = _ticker_history(store, list(chosen), start)
    return MarketInputs(
        prices=prices,
        btc_source=btc_src,
        equity_source=chosen,
        non_operating=non_op,
        notes=notes,
        warnings=tuple(warnings),
    )


def _ticker_history(store: Store, tickers: list[str], start: pd.Timestamp) -> tuple[tuple[NonOperatingWindow, ...], tuple[str, ...]]:
    if not tickers:
        return (), ()
    th = store.df(
        "SELECT * FROM ticker_history WHERE ticker IN (SELECT unnest(?)) ORDER BY ticker, valid_from",
        [tickers],
    )
    windows, notes = [], []

    def ts(v) -> pd.Timestamp | None:
        return None if v is None or pd.isna(v) else pd.Timestamp(v)

    for r in th.itertuples(index=False):
        if not r.is_operating_miner:
            windows.append(NonOperatingWindow(r.ticker, ts(r.valid_from), ts(r.valid_to), r.entity))
        elif r.note and "scaled" in str(r.note) and (ts(r.valid_to) is None or ts(r.valid_to) >= start):
            notes.append(f"{r.ticker} until {ts(r.valid_to).date() if ts(r.valid_to) else 'now'}: {r.entity} ({r.note})")
    return tuple(windows), tuple(notes)


# ---------------------------------------------------------------------------------------------
# chain and production events


def load_retargets(store: Store, start: pd.Timestamp | str, end: pd.Timestamp | str) -> pd.DataFrame:
    """Difficulty retargets in a window, from the ``epochs`` table.

    Returns
    -------
    pd.DataFrame
        ``date`` (UTC day of the epoch's first block), ``epoch``, ``height``, ``difficulty``,
        ``change_pct`` [%] versus the previous epoch.
    """
    df = store.df(
        "SELECT epoch, first_height AS height, difficulty, start_time, "
        "100 * (difficulty / lag(difficulty) OVER (ORDER BY epoch) - 1) AS change_pct "
        "FROM epochs ORDER BY epoch"
    )
    df = df.dropna(subset=["start_time"])
    df["date"] = pd.to_datetime(df.start_time, unit="s").dt.normalize()
    sel = df[(df.date >= pd.Timestamp(start)) & (df.date <= pd.Timestamp(end))]
    return sel[["date", "epoch", "height", "difficulty", "change_pct"]].reset_index(drop=True)


def load_halvings(store: Store) -> pd.DataFrame:
    """Halving blocks present in ``blocks``: ``index``, ``height``, ``date`` (UTC day)."""
    heights = [HALVING_INTERVAL * i for i in range(1, 34)]
    df = store.df(
        "SELECT height, time FROM blocks WHERE height IN (SELECT unnest(?)) ORDER BY height", [heights]
    )
    df["index"] = df.height // HALVING_INTERVAL
    df["date"] = pd.to_datetime(df.time, unit="s").dt.normalize()
    return df[["index", "height", "date"]]


def load_hashrate_shocks(store: Store, start: pd.Timestamp | str, end: pd.Timestamp | str) -> list:
    """Network hashrate shocks overlapping a window, detected by
    :func:`hashdesk.economics.shocks.detect_shocks` (default parameters: 3-day mean 10 % below
    the 28-day trailing median, Poisson z >= 3.5) on Coin Metrics' daily hashrate, else
    mempool.space's. Empty when neither covers the window.
    """
    from hashdesk.economics.shocks import (
        ShockError,
        detect_shocks,
        load_daily_hashrate,
        shock_signal,
    )

    start, end = pd.Timestamp(start), pd.Timestamp(end)
    lo = (start - pd.Timedelta(days=60)).date()
    for source in ("coinmetrics", "mempool.space"):
        series = load_daily_hashrate(store, lo, end.date(), source)
        if len(series) > 30:
            try:
                shocks = detect_shocks(shock_signal(series))
            except ShockError:
                continue
            return [x for x in shocks if pd.Timestamp(x.end) >= start and pd.Timestamp(x.start) <= end]
    return []


def load_production_months(store: Store, tickers: list[str]) -> pd.DataFrame:
    """Reported production months, one row per (ticker, month), deduplicated by source rank
    with :func:`hashdesk.economics.production.dedupe_production`.

    Returns
    -------
    pd.DataFrame
        ``ticker``, ``month`` ('YYYY-MM'), ``btc_mined`` [BTC] (NaN when only hashrate or
        holdings were reported). Tickers without production rows (ETFs, indices) are skipped.
    """
    from hashdesk.economics.production import dedupe_production, load_production_rows
    from hashdesk.economics.production import known_tickers as production_tickers

    have = [t for t in tickers if t in set(production_tickers(store))]
    if not have:
        return pd.DataFrame(columns=["ticker", "month", "btc_mined"])
    months = dedupe_production(load_production_rows(store, have)).drop_duplicates(["ticker", "month"])
    return months.rename(columns={"btc_reported": "btc_mined"})[["ticker", "month", "btc_mined"]].reset_index(drop=True)


def load_chain_events(
    store: Store,
    start: pd.Timestamp | str,
    end: pd.Timestamp | str,
    tickers: list[str],
    *,
    min_retarget_pct: float = 0.0,
) -> pd.DataFrame:
    """Chain and production events in a window: retargets, halvings, hashrate shocks, and the
    reported production months of ``tickers`` (columns :data:`~hashdesk.market.events.EVENT_COLUMNS`).
    """
    from hashdesk.market.events import (
        EVENT_COLUMNS,
        halving_events,
        production_events,
        retarget_events,
        shock_events,
    )

    start, end = pd.Timestamp(start), pd.Timestamp(end)
    parts = [
        retarget_events(load_retargets(store, start, end), min_abs_change_pct=min_retarget_pct),
        halving_events(load_halvings(store)),
        shock_events(load_hashrate_shocks(store, start, end)),
        production_events(load_production_months(store, tickers)),
    ]
    ev = pd.concat([p for p in parts if not p.empty], ignore_index=True) if any(not p.empty for p in parts) \
        else pd.DataFrame(columns=EVENT_COLUMNS)
    ev = ev[(pd.to_datetime(ev["end_date"]) >= start) & (pd.to_datetime(ev["date"]) <= end)]
    return ev.sort_values("date").reset_index(drop=True)
