"""Daily network tables: Coin Metrics' network series, providers' hashrate estimates, BTC prices."""

from __future__ import annotations

import pandas as pd

from hashdesk.data import Reader

#: Default ``network_daily`` source.
DEFAULT_SOURCE = "coinmetrics"
#: BTC-USD price sources in order of preference on the same day. Coin Metrics' reference rate is
#: the 00:00 UTC next-day fixing; synced daily candles close at 00:00 UTC too; blockchain.com's
#: MKPRU is a lagged daily average (SOURCES.md §2) and comes last.
BTC_PRICE_PREFERENCE: tuple[str, ...] = ("coinmetrics", "coinbase", "yahoo_chart", "yfinance", "blockchaincom_mkpru")


def network_daily(reader: Reader, source: str = DEFAULT_SOURCE) -> pd.DataFrame:
    """One source's daily rows: ``date``, ``blk_cnt``, ``fee_tot_btc`` [BTC], ``iss_tot_btc`` [BTC],
    ``price_usd`` [USD/BTC], ``hashrate_ehs`` [EH/s] (empty frame when the source has none)."""
    return reader.df(
        "SELECT date, blk_cnt, fee_tot_btc, iss_tot_btc, price_usd, hashrate_ehs "
        "FROM network_daily WHERE source = ? ORDER BY date", [source])


def hashrate_daily(reader: Reader, source: str = "mempool.space") -> pd.DataFrame:
    """A provider's daily hashrate estimate: ``date``, ``hashrate_ehs`` [EH/s]."""
    return reader.df(
        "SELECT date, hashrate_ehs FROM hashrate_daily WHERE source = ? ORDER BY date", [source])


def btc_prices(reader: Reader) -> pd.DataFrame:
    """Daily BTC-USD closes, one per day, the preferred source of each day.

    Returns
    -------
    pandas.DataFrame
        ``date`` (datetime.date), ``close`` [USD/BTC], ``source``; sorted by date. Sources are
        ranked by :data:`BTC_PRICE_PREFERENCE` (others after them, alphabetically).
    """
    df = reader.df("SELECT date, source, close FROM prices_daily WHERE ticker = 'BTC-USD' AND close > 0")
    if df.empty:
        return pd.DataFrame({"date": [], "close": [], "source": []})
    rank = {s: i for i, s in enumerate(BTC_PRICE_PREFERENCE)}
    df["_rank"] = [rank.get(s, len(rank)) for s in df.source]
    df = df.sort_values(["date", "_rank", "source"]).drop_duplicates("date")
    df["date"] = pd.to_datetime(df["date"]).dt.date
    return df[["date", "close", "source"]].reset_index(drop=True)


def coverage(reader: Reader) -> dict[str, tuple]:
    """First and last day of each daily table (for messages): ``{name: (first, last)}``."""
    out = {}
    for name, sql in (
        ("network_daily", "SELECT min(date), max(date) FROM network_daily"),
        ("btc_prices", "SELECT min(date), max(date) FROM prices_daily WHERE ticker = 'BTC-USD'"),
        ("blocks", "SELECT to_timestamp(min(time))::DATE, to_timestamp(max(time))::DATE FROM blocks"),
    ):
        out[name] = tuple(reader.con.execute(sql).fetchone())
    return out


__all__ = ["BTC_PRICE_PREFERENCE", "DEFAULT_SOURCE", "btc_prices", "coverage", "hashrate_daily",
           "network_daily"]
