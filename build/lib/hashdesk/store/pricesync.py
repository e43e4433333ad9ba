"""Incremental sync of daily prices: the sources fetch and parse, this module validates and writes.

For each ticker: the first missing day is read from the store (a short read-only open), the bars
are fetched from the ticker's source with no store connection held
(:mod:`hashdesk.sources.prices`), validated, and written in one transaction per ticker through
the bundle ingest's writer (only new ``(ticker, date, source)`` keys are inserted, so a later
revision of ``adj_close`` by Yahoo after a dividend or split does not rewrite stored rows).

Bars are validated with the bounds the bundle ingest uses (:mod:`hashdesk.store.ingest`):
finite prices, ``0 < price < 10^7`` USD for ``*-USD`` pairs and ``< 10^6`` USD for equities,
``0 <= volume < 10^13``, ``low <= min(open, close) <= max(open, close) <= high``, unique dates,
none after the last complete day. A bad bar raises :class:`~hashdesk.store.ingest.IngestError`
naming the response, the bar (1-based) and the field; nothing of that ticker is written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from hashdesk.sources.base import utc_now
from hashdesk.sources.prices import last_complete_day
from hashdesk.store.chainsync import StoreAccess
from hashdesk.store.db import Store
from hashdesk.store.ingest import (
    MAX_BTC_PRICE_USD,
    MAX_EQUITY_PRICE_USD,
    MAX_VOLUME,
    Batch,
    FileResult,
    IngestError,
    check_ohlc,
    plain,
    write_results,
)

#: First date fetched for a ticker with no stored history.
DEFAULT_START = date(2020, 1, 1)


@dataclass(frozen=True)
class PriceSyncResult:
    """Outcome for one ticker: rows fetched and added, the date range asked for."""

    ticker: str
    source: str
    start: date
    end: date
    rows_fetched: int
    rows_added: int


def price_start_date(store: Store, ticker: str, source: str) -> date:
    """Day after the last stored bar of ``(ticker, source)``; else the ticker's first stored date
    from any source; else :data:`DEFAULT_START`."""
    last = store.scalar("SELECT max(date) FROM prices_daily WHERE ticker = ? AND source = ?",
                        [ticker, source])
    if last is not None:
        return pd.Timestamp(last).date() + timedelta(days=1)
    first = store.scalar("SELECT min(date) FROM prices_daily WHERE ticker = ?", [ticker])
    return pd.Timestamp(first).date() if first is not None else DEFAULT_START


def max_price_usd(ticker: str) -> float:
    """Upper bound on a price of ``ticker`` [USD]: 10^7 for ``*-USD`` pairs, else 10^6."""
    return MAX_BTC_PRICE_USD if ticker.upper().endswith("-USD") else MAX_EQUITY_PRICE_USD


def validate_prices(
    df: pd.DataFrame, name: str, ticker: str | None = None, last_day: date | None = None
) -> pd.DataFrame:
    """Check finite, plausible prices and volumes, unique dates and OHLC consistency.

    Parameters
    ----------
    df : pandas.DataFrame
        Bars in :data:`hashdesk.sources.prices.PRICE_COLUMNS`.
    name : str
        Label for errors (``source:ticker``).
    ticker : str, optional
        Picks the price bound (:func:`max_price_usd`); default from ``df.ticker``.
    last_day : date, optional
        Latest date allowed (the last complete day); default: no check.

    Returns
    -------
    pandas.DataFrame
        ``df`` unchanged.

    Raises
    ------
    IngestError
        Naming the response, the first bad bar (1-based) and the field.
    """
    if ticker is None:
        ticker = str(df.ticker.iloc[0]) if len(df) else "BTC-USD"
    hi = max_price_usd(ticker)

    def first_bad(mask: np.ndarray) -> int:
        return int(np.flatnonzero(mask)[0])

    for col in ("open", "high", "low", "close", "adj_close"):
        if col not in df.columns:
            continue
        v = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        if col == "adj_close" and df[col].isna().all():
            continue
        bad = ~np.isfinite(v) | (v <= 0) | (v >= hi)
        if bad.any():
            i = first_bad(bad)
            raise IngestError(name, i + 1, col, f"price must be finite, > 0 and < {hi:g} USD, got "
                                                f"{plain(df[col].iloc[i])}")
    vol = pd.to_numeric(df["volume"], errors="coerce").to_numpy(dtype=float)
    bad = df["volume"].notna().to_numpy() & (~np.isfinite(vol) | (vol < 0) | (vol >= MAX_VOLUME))
    if bad.any():
        i = first_bad(bad)
        raise IngestError(name, i + 1, "volume", f"must be finite, >= 0 and < {MAX_VOLUME:g}, got "
                                                 f"{plain(df['volume'].iloc[i])}")
    dup = df["date"].duplicated().to_numpy()
    if dup.any():
        i = first_bad(dup)
        raise IngestError(name, i + 1, "date", f"duplicate date {df['date'].iloc[i]}")
    if last_day is not None and len(df):
        late = (pd.to_datetime(df["date"]).dt.date > last_day).to_numpy()
        if late.any():
            i = first_bad(late)
            raise IngestError(name, i + 1, "date", f"{df['date'].iloc[i]} is after the last complete "
                                                   f"day {last_day}")
    check_ohlc(df, name, first_row=1)
    return df


def sync_prices(
    store: Store | str | Path | StoreAccess,
    tickers: list[str],
    source_for: Callable[[str], object],
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[PriceSyncResult]:
    """Fetch, validate and store new daily bars for each ticker, one transaction per ticker.

    Parameters
    ----------
    store : str or Path or Store or StoreAccess
        The store's path (opened only to read the start date and to write each ticker), or an
        open writable store.
    tickers : list of str
        Tickers as stored (``BTC-USD``, ``MARA``, …).
    source_for : callable
        Maps a ticker to its :class:`~hashdesk.sources.base.PriceSource`.
    now : datetime, optional
        Current UTC time (tests pin it).
    progress : callable, optional
        Called with each ticker when done.

    Returns
    -------
    list of PriceSyncResult

    Raises
    ------
    IngestError
        A bar fails validation (that ticker writes nothing; earlier tickers stay committed).
    hashdesk.sources.base.SourceError
        The source failed or answered something unusable.
    """
    access = StoreAccess.of(store)
    out = []
    for ticker in tickers:
        src = source_for(ticker)
        with access.read() as s:
            start = price_start_date(s, ticker, src.name)
        end = last_complete_day(ticker, now)
        if start > end:
            out.append(PriceSyncResult(ticker, src.name, start, end, 0, 0))
        else:
            df = src.daily(ticker, start, end)
            label = f"{src.name}:{ticker}"
            validate_prices(df, label, ticker, end)
            payload = df.to_json(orient="records", date_format="iso").encode()
            res = FileResult(label, src.client.masked_url, hashlib.sha256(payload).hexdigest(), len(df))
            res.batches.append(Batch("prices_daily", ["ticker", "date", "source"], df))

            def log_sync(s: Store, res=res, label=label, start=start, end=end) -> None:
                s.con.execute("INSERT INTO event_log VALUES (?, 'sync', ?)", [
                    int(utc_now().timestamp()),
                    json.dumps({"prices": label, "start": str(start), "end": str(end),
                                "rows_added": res.rows_added})]).fetchall()

            with access.write() as s:
                write_results(s, [res], kind="sync:prices", after=log_sync)
            out.append(PriceSyncResult(ticker, src.name, start, end, len(df), res.rows_added))
        if progress:
            progress(ticker)
    return out
