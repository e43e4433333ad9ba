"""Store queries of the hpc module: network state at a date, public deals, market inputs.

The network state at a UTC day needs the height (for the subsidy era and the bits in force).
It is placed exactly on the chain from the nearest *complete* day in ``blocks`` (a day whose
stored block count equals Coin Metrics' ``blk_cnt``), then walked to the requested day with
Coin Metrics' per-day block counts (exact per SOURCES.md §8; header-time day assignment, so
±a few blocks around midnight).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from hashdesk.hpc.sites import Company
from hashdesk.hpc.valuation import MarketInputs, NetworkState
from hashdesk.store.db import Store, StoreError

#: Network-daily source used for blocks per day, fees and the BTC price.
NETWORK_SOURCE = "coinmetrics"
#: Equity price source for market caps (SOURCES.md §3: closes match consolidated to ~0.1–0.4%).
EQUITY_SOURCE = "alpaca_iex"


def latest_network_date(store: Store) -> dt.date:
    """Latest day of ``network_daily`` (Coin Metrics)."""
    d = store.scalar("SELECT max(date) FROM network_daily WHERE source = ?", [NETWORK_SOURCE])
    if d is None:
        raise StoreError("network_daily has no Coin Metrics rows: run `hashdesk ingest` first")
    return d


def height_at_end_of_day(store: Store, day: dt.date) -> int:
    """Height of the last block of UTC ``day`` [blocks] (see module notes).

    Raises
    ------
    StoreError
        When no complete day of blocks exists, or Coin Metrics days are missing in between.
    """
    day = pd.Timestamp(day).date()
    anchor = store.con.execute(
        """
        WITH per_day AS (
            SELECT DATE '1970-01-01' + CAST(time // 86400 AS INTEGER) AS d,
                   count(*) AS n, max(height) AS h
            FROM blocks GROUP BY 1
        )
        SELECT p.d, p.h FROM per_day p
        JOIN network_daily n ON n.date = p.d AND n.source = ? AND n.blk_cnt = p.n
        ORDER BY abs(date_diff('day', p.d, ?::DATE)), p.d LIMIT 1
        """,
        [NETWORK_SOURCE, day],
    ).fetchone()
    if anchor is None:
        raise StoreError("no complete day of block timestamps in the store to anchor heights")
    a_day, a_height = anchor
    lo, hi = sorted([a_day, day])
    row = store.con.execute(
        "SELECT sum(blk_cnt), count(*) FROM network_daily WHERE source = ? AND date > ? AND date <= ?",
        [NETWORK_SOURCE, lo, hi],
    ).fetchone()
    blocks, days = int(row[0] or 0), int(row[1])
    if days != (hi - lo).days:
        raise StoreError(f"network_daily misses days between {lo} and {hi}: cannot place {day} on chain")
    return int(a_height + blocks if day >= a_day else a_height - blocks)


def network_state_at(store: Store, day: dt.date | None = None, fee_window_days: int = 30) -> NetworkState:
    """Network state (height, bits, mean fees per block, BTC price) at the end of UTC ``day``.

    Parameters
    ----------
    store : Store
        Store with ``network_daily``, ``epochs`` and ``blocks``.
    day : datetime.date, optional
        UTC day [default: latest Coin Metrics day].
    fee_window_days : int
        Trailing window for the mean fees per block [days].

    Raises
    ------
    StoreError
        When the day is outside the stored data.
    """
    day = pd.Timestamp(day).date() if day is not None else latest_network_date(store)
    row = store.con.execute(
        "SELECT price_usd FROM network_daily WHERE source = ? AND date = ?", [NETWORK_SOURCE, day]
    ).fetchone()
    if row is None or row[0] is None:
        first, last = store.con.execute(
            "SELECT min(date), max(date) FROM network_daily WHERE source = ?", [NETWORK_SOURCE]
        ).fetchone()
        if first is None:
            raise StoreError("network_daily has no Coin Metrics rows: run `hashdesk ingest` first")
        raise StoreError(f"no network data for {day}: Coin Metrics days run {first}..{last}")
    price = float(row[0])
    fees_btc, blocks = store.con.execute(
        "SELECT sum(fee_tot_btc), sum(blk_cnt) FROM network_daily "
        "WHERE source = ? AND date > ?::DATE - ? AND date <= ?",
        [NETWORK_SOURCE, day, int(fee_window_days), day],
    ).fetchone()
    height = height_at_end_of_day(store, day)
    bits = store.scalar("SELECT bits FROM epochs WHERE ? BETWEEN first_height AND last_height", [height])
    if bits is None:
        raise StoreError(f"no epoch for height {height} ({day}) in the store")
    return NetworkState(
        date=day,
        height=height,
        bits=int(bits),
        fees_sats_per_block=float(fees_btc) * 1e8 / float(blocks),
        price_usd=price,
        fee_window_days=int(fee_window_days),
    )


def hpc_deals(store: Store) -> pd.DataFrame:
    """The public AI/HPC deals table (reference figures, one source per row)."""
    return store.df(
        "SELECT operator, tenant, total_contract_usd, term_years, critical_it_mw, annual_revenue_usd, "
        "implied_usd_per_kw_month, capex_usd_per_mw_low, capex_usd_per_mw_high, noi_margin, "
        "source_url, note FROM hpc_deals ORDER BY operator, tenant"
    )


def latest_close(store: Store, ticker: str, on_or_before: dt.date | None = None) -> tuple[dt.date, float]:
    """Latest equity close [USD] on or before a date from ``alpaca_iex``.

    Raises
    ------
    StoreError
        When the store has no close for the ticker.
    """
    row = store.con.execute(
        "SELECT date, close FROM prices_daily WHERE ticker = ? AND source = ? "
        "AND (?::DATE IS NULL OR date <= ?::DATE) ORDER BY date DESC LIMIT 1",
        [ticker, EQUITY_SOURCE, on_or_before, on_or_before],
    ).fetchone()
    if row is None:
        raise StoreError(f"no {EQUITY_SOURCE} close for {ticker!r} on or before {on_or_before or 'today'}")
    return row[0], float(row[1])


def latest_btc_held(store: Store, ticker: str, on_or_before: dt.date) -> tuple[float, str] | None:
    """Latest reported BTC held [BTC] for a ticker up to a date, with its source URL.

    Prefers the best ``source_rank`` within the latest month that reports a holding.
    """
    row = store.con.execute(
        "SELECT btc_held, month, source_url FROM miner_production "
        "WHERE ticker = ? AND btc_held IS NOT NULL AND month <= ? "
        "ORDER BY month DESC, source_rank, source_url LIMIT 1",
        [ticker, on_or_before.strftime("%Y-%m")],
    ).fetchone()
    if row is None:
        return None
    return float(row[0]), f"miner_production {row[1]}: {row[2]}"


def market_inputs(store: Store, company: Company) -> MarketInputs:
    """Share price, BTC price and BTC held for a company at its valuation date.

    The price date is the latest ``alpaca_iex`` close on or before ``valuation.as_of``; the
    BTC price is Coin Metrics' fixing for that day (00:00 UTC next day, close to the US close).
    """
    if not company.ticker:
        raise StoreError(f"{company.name}: ticker is required to look up the market cap")
    price_date, share_price = latest_close(store, company.ticker, company.valuation.as_of)
    btc = store.scalar(
        "SELECT close FROM prices_daily WHERE ticker = 'BTC-USD' AND date <= ? "
        "ORDER BY (source = ?) DESC, date DESC LIMIT 1",
        [price_date, NETWORK_SOURCE],
    )
    if btc is None:
        raise StoreError(f"no BTC-USD price on or before {price_date}")
    if company.btc_held is not None:
        held, source = company.btc_held, company.sources.get("btc_held", "company file")
    else:
        found = latest_btc_held(store, company.ticker, price_date)
        if found is None:
            raise StoreError(
                f"{company.name}: btc_held not given and no miner_production record for {company.ticker}"
            )
        held, source = found
    return MarketInputs(price_date, share_price, float(btc), held, source)
