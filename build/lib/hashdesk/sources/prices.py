"""Daily prices over documented public HTTP formats (fetch and parse only).

Two providers, each stored under its own ``prices_daily.source``:

- ``yahoo_chart``: Yahoo Finance chart API v8 JSON (equities/ETFs, consolidated volume):
  ``GET /v8/finance/chart/:ticker?period1=…&period2=…&interval=1d&includeAdjustedClose=true``.
  Each ``timestamp`` is the session's open instant; its date in ``meta.exchangeTimezoneName``
  is the trading date. ``null`` entries (halted days) are dropped, never filled.
- ``coinbase``: Coinbase Exchange candles for ``BTC-USD``:
  ``GET /products/BTC-USD/candles?granularity=86400&start=…&end=…`` → rows
  ``[time, low, high, open, close, volume]`` newest first, at most 300 per request. A candle
  dated D spans D 00:00–24:00 UTC, so its close is the 00:00 UTC D+1 price — the same fixing as
  Coin Metrics' ``price_usd`` for date D.

Today's bar is still forming: :func:`last_complete_day` gives the last final one (UTC for BTC,
New York for equities). Validating and writing the bars is the store's job
(:mod:`hashdesk.store.pricesync`); this module only fetches and parses.

References
----------
.. [1] Coinbase Exchange REST API, "Get product candles".
.. [2] Yahoo Finance chart endpoint v8 (``query1.finance.yahoo.com/v8/finance/chart``), the JSON
   shape used by yfinance's ``history()``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from hashdesk.sources.base import HttpClient, MalformedResponseError, NotFoundError, utc_now

#: Columns of a price frame (``prices_daily`` without ``load_id``).
PRICE_COLUMNS = ["ticker", "date", "source", "open", "high", "low", "close", "adj_close",
                 "volume", "volume_kind"]
#: Default base URLs.
YAHOO_URL = "https://query1.finance.yahoo.com"
COINBASE_URL = "https://api.exchange.coinbase.com"
#: Coinbase returns at most this many candles per request.
COINBASE_MAX_CANDLES = 300
#: Body caps [bytes]: one page of at most 300 candles (about 20 KB); a Yahoo chart of daily
#: bars (about 200 bytes a session, so 16 MiB holds centuries).
MAX_CANDLES_BYTES = 2**20
MAX_CHART_BYTES = 16 * 2**20


def _day(t: object, tz, where: str, i: int) -> date:
    """Date in ``tz`` of a unix timestamp from a response, or :class:`MalformedResponseError`."""
    if isinstance(t, bool) or not isinstance(t, int | float) or not 0 <= t < 2**33:
        raise MalformedResponseError(f"{where}: timestamp {i} is not a unix time: {str(t)[:40]}")
    return datetime.fromtimestamp(int(t), tz).date()


def _frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=PRICE_COLUMNS)
    return df.sort_values("date").reset_index(drop=True)


class YahooChartSource:
    """Yahoo Finance chart API v8 (daily bars of equities and ETFs)."""

    name = "yahoo_chart"

    def __init__(self, client: HttpClient):
        self.client = client

    def daily(self, ticker: str, start: date, end: date) -> pd.DataFrame:
        """Daily bars with trading dates in ``[start, end]``.

        Parameters
        ----------
        ticker : str
            Yahoo symbol (e.g. ``MARA``).
        start, end : date
            Inclusive trading-date range.

        Returns
        -------
        pandas.DataFrame
            :data:`PRICE_COLUMNS`; prices [USD], volume [shares].
        """
        p1 = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
        p2 = int(datetime(end.year, end.month, end.day, tzinfo=UTC).timestamp()) + 2 * 86_400
        path = f"/v8/finance/chart/{ticker}"
        where = f"{self.client.masked_url}{path}"
        try:
            body = self.client.get_json(path, max_bytes=MAX_CHART_BYTES, params={
                "period1": p1, "period2": p2, "interval": "1d",
                "includeAdjustedClose": "true", "events": "div,split"})
        except NotFoundError as exc:
            raise NotFoundError(f"yahoo: no data for {ticker!r} ({exc})") from exc
        return parse_yahoo_chart(body, ticker, start, end, where)


def parse_yahoo_chart(body: object, ticker: str, start: date, end: date, where: str) -> pd.DataFrame:
    """Parse a chart-v8 JSON body into :data:`PRICE_COLUMNS` rows (see :class:`YahooChartSource`)."""
    try:
        chart = body["chart"]  # type: ignore[index]
        if chart.get("error"):
            raise MalformedResponseError(f"{where}: yahoo error {chart['error']}")
        res = chart["result"][0]
        tz = ZoneInfo(res["meta"].get("exchangeTimezoneName") or "America/New_York")
        ts = res.get("timestamp") or []
        q = res["indicators"]["quote"][0]
        adj = (res["indicators"].get("adjclose") or [{}])[0].get("adjclose")
        cols = {k: q[k] for k in ("open", "high", "low", "close", "volume")}
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise MalformedResponseError(f"{where}: not a chart-v8 body ({exc!r})") from exc
    arrays = [ts, *cols.values(), *([adj] if adj is not None else [])]
    if not all(isinstance(v, list) for v in arrays):
        raise MalformedResponseError(f"{where}: timestamps and indicators must be JSON lists")
    n = len(ts)
    if any(len(v) != n for v in cols.values()) or (adj is not None and len(adj) != n):
        raise MalformedResponseError(f"{where}: indicator arrays differ in length from timestamps")
    rows = []
    for i, t in enumerate(ts):
        if cols["close"][i] is None:
            continue
        d = _day(t, tz, where, i)
        if not start <= d <= end:
            continue
        rows.append({
            "ticker": ticker, "date": d, "source": "yahoo_chart",
            "open": cols["open"][i], "high": cols["high"][i], "low": cols["low"][i],
            "close": cols["close"][i], "adj_close": adj[i] if adj is not None else None,
            "volume": cols["volume"][i], "volume_kind": "consolidated",
        })
    return _frame(rows)


class CoinbaseCandlesSource:
    """Coinbase Exchange daily candles (``BTC-USD`` and other products)."""

    name = "coinbase"

    def __init__(self, client: HttpClient):
        self.client = client

    def daily(self, ticker: str, start: date, end: date) -> pd.DataFrame:
        """Daily UTC candles dated ``start..end``, paged 300 at a time; prices [USD], volume [BTC]."""
        parts = []
        lo = start
        while lo <= end:
            hi = min(lo + timedelta(days=COINBASE_MAX_CANDLES - 1), end)
            path = f"/products/{ticker}/candles"
            body = self.client.get_json(path, max_bytes=MAX_CANDLES_BYTES, params={
                "granularity": 86_400, "start": f"{lo.isoformat()}T00:00:00Z",
                "end": f"{hi.isoformat()}T00:00:00Z"})
            parts.append(parse_coinbase_candles(body, ticker, lo, hi, f"{self.client.masked_url}{path}"))
            lo = hi + timedelta(days=1)
        if not parts:
            return _frame([])
        return _frame([r for p in parts for r in p.to_dict(orient="records")])


def parse_coinbase_candles(body: object, ticker: str, start: date, end: date, where: str) -> pd.DataFrame:
    """Parse ``[[time, low, high, open, close, volume], …]`` into :data:`PRICE_COLUMNS` rows."""
    if not isinstance(body, list):
        raise MalformedResponseError(f"{where}: expected a JSON list of candles")
    rows = []
    for i, c in enumerate(body):
        if not isinstance(c, list) or len(c) != 6 or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in c
        ):
            raise MalformedResponseError(f"{where}: candle {i} is not [time, low, high, open, close, volume]")
        t, low, high, o, close, vol = c
        d = _day(t, UTC, where, i)
        if start <= d <= end:
            rows.append({"ticker": ticker, "date": d, "source": "coinbase", "open": o, "high": high,
                         "low": low, "close": close, "adj_close": None, "volume": vol,
                         "volume_kind": "exchange"})
    return _frame(rows)


# ---------------------------------------------------------------------------------------------
# calendar


def last_complete_day(ticker: str, now: datetime | None = None) -> date:
    """Last date whose bar is final: yesterday in UTC for ``*-USD`` pairs, else in New York.

    Parameters
    ----------
    ticker : str
        Stored ticker (``BTC-USD``, ``MARA``, …).
    now : datetime, optional
        Current time, timezone-aware (default: now, UTC).

    Returns
    -------
    date
        The day before ``now``'s date in the ticker's calendar (UTC or America/New_York).
    """
    now = now or utc_now()
    tz = UTC if ticker.upper().endswith("-USD") else ZoneInfo("America/New_York")
    return now.astimezone(tz).date() - timedelta(days=1)
