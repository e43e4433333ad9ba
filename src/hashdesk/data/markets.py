"""Daily prices of equities and bitcoin, and tickers' entity history (SPAC / pre-merger windows)."""

from __future__ import annotations

import pandas as pd

from hashdesk.data import Reader
from hashdesk.market.inputs import MarketInputs, NonOperatingWindow
from hashdesk.market.returns import BTC, MarketDataError, btc_close_series

#: Default equity price source (covers 2020-07..2025-04; IEX volume is not market volume).
DEFAULT_EQUITY_SOURCE = "alpaca_iex"


def known_tickers(reader: Reader) -> list[str]:
    """Every ticker with at least one price row."""
    return [r for (r,) in reader.con.execute(
        "SELECT DISTINCT ticker FROM prices_daily ORDER BY ticker").fetchall()]


def price_coverage(reader: Reader, tickers: list[str] | None = None) -> dict[str, tuple]:
    """First and last price day of each ticker (all sources), for messages: ``{ticker: (first, last)}``."""
    sql = "SELECT ticker, min(date), max(date) FROM prices_daily"
    params: list = []
    if tickers:
        sql += f" WHERE ticker IN ({', '.join('?' for _ in tickers)})"
        params = list(tickers)
    return {t: (a, b) for t, a, b in reader.con.execute(sql + " GROUP BY ticker ORDER BY ticker",
                                                         params).fetchall()}


def load_market_inputs(
    reader: Reader,
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
    reader : Reader
        The store as of a time (rows after it are invisible).
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
    sources = reader.df(
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
    rows = reader.df(
        "SELECT p.ticker, p.date, coalesce(p.adj_close, p.close) AS close, p.volume FROM prices_daily p "
        "JOIN (SELECT unnest(?) AS ticker, unnest(?) AS source) c ON p.ticker = c.ticker AND p.source = c.source "
        "WHERE p.date BETWEEN ? AND ? ORDER BY p.ticker, p.date",
        [list(chosen), list(chosen.values()), lo, hi],
    )
    by_ticker = {str(t): g for t, g in rows.groupby("ticker", sort=False)}
    for t in chosen:
        df = by_ticker.get(t, rows.iloc[:0])
        stale = (df.volume == 0).to_numpy()
        if stale.any():
            days = pd.DatetimeIndex(df.date[stale])
            warnings.append(
                f"{t}: {int(stale.sum())} zero-volume bar(s) dropped ({days[0].date()}..{days[-1].date()}): "
                "no trade that day, the bar repeats a stale price"
            )
        frames.append(pd.Series(df.close.to_numpy(float)[~stale], index=pd.DatetimeIndex(df.date[~stale]), name=t))
    btc_lo = (pd.Timestamp(lo) - pd.Timedelta(days=1)).date()
    btc = reader.df(
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
    non_op, notes = _ticker_history(reader, list(chosen), start)
    return MarketInputs(
        prices=prices,
        btc_source=btc_src,
        equity_source=chosen,
        non_operating=non_op,
        notes=notes,
        warnings=tuple(warnings),
    )


def _ticker_history(reader: Reader, tickers: list[str], start: pd.Timestamp) -> tuple[tuple[NonOperatingWindow, ...], tuple[str, ...]]:
    if not tickers:
        return (), ()
    th = reader.df(
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


__all__ = ["DEFAULT_EQUITY_SOURCE", "known_tickers", "load_market_inputs"]
