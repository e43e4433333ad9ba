"""Company-side tables: the ASIC catalogue, public AI/HPC deals, company facts."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from hashdesk.data import Reader
from hashdesk.economics.fleet import CATALOGUE_COLUMNS
from hashdesk.hpc.sites import Company
from hashdesk.hpc.valuation import MarketInputs

#: Network-daily source used for the BTC price.
NETWORK_SOURCE = "coinmetrics"
#: Equity price source for market caps (SOURCES.md §3: closes match consolidated to ~0.1–0.4%).
EQUITY_SOURCE = "alpaca_iex"


class CompanyDataError(LookupError):
    """The store lacks a company input (a close, a BTC price, a holding)."""


def asic_models(reader: Reader) -> pd.DataFrame:
    """The store's ``asic_models`` rows (:data:`hashdesk.economics.fleet.CATALOGUE_COLUMNS`)."""
    return reader.df(f"SELECT {', '.join(CATALOGUE_COLUMNS)} FROM asic_models ORDER BY model")


def hpc_deals(reader: Reader) -> pd.DataFrame:
    """The public AI/HPC deals table (reference figures, one source per row)."""
    return reader.df(
        "SELECT operator, tenant, total_contract_usd, term_years, critical_it_mw, annual_revenue_usd, "
        "implied_usd_per_kw_month, capex_usd_per_mw_low, capex_usd_per_mw_high, noi_margin, "
        "source_url, note FROM hpc_deals ORDER BY operator, tenant"
    )


def latest_close(reader: Reader, ticker: str, on_or_before: dt.date | None = None) -> tuple[dt.date, float]:
    """Latest equity close [USD] on or before a date from ``alpaca_iex``.

    Raises
    ------
    CompanyDataError
        When the store has no close for the ticker.
    """
    row = reader.con.execute(
        "SELECT date, close FROM prices_daily WHERE ticker = ? AND source = ? "
        "AND (?::DATE IS NULL OR date <= ?::DATE) ORDER BY date DESC LIMIT 1",
        [ticker, EQUITY_SOURCE, on_or_before, on_or_before],
    ).fetchone()
    if row is None:
        raise CompanyDataError(f"no {EQUITY_SOURCE} close for {ticker!r} on or before {on_or_before or 'today'}")
    return row[0], float(row[1])


def latest_btc_held(reader: Reader, ticker: str, on_or_before: dt.date) -> tuple[float, str] | None:
    """Latest reported BTC held [BTC] for a ticker up to a date, with its source URL.

    Prefers the best ``source_rank`` within the latest month that reports a holding.
    """
    row = reader.con.execute(
        "SELECT btc_held, month, source_url FROM miner_production "
        "WHERE ticker = ? AND btc_held IS NOT NULL AND month <= ? "
        "ORDER BY month DESC, source_rank, source_url LIMIT 1",
        [ticker, on_or_before.strftime("%Y-%m")],
    ).fetchone()
    if row is None:
        return None
    return float(row[0]), f"miner_production {row[1]}: {row[2]}"


def market_inputs(reader: Reader, company: Company) -> MarketInputs:
    """Share price, BTC price and BTC held for a company at its valuation date.

    The price date is the latest ``alpaca_iex`` close on or before ``valuation.as_of``; the
    BTC price is Coin Metrics' fixing for that day (00:00 UTC next day, close to the US close).
    """
    if not company.ticker:
        raise CompanyDataError(f"{company.name}: ticker is required to look up the market cap")
    price_date, share_price = latest_close(reader, company.ticker, company.valuation.as_of)
    btc = reader.scalar(
        "SELECT close FROM prices_daily WHERE ticker = 'BTC-USD' AND date <= ? "
        "ORDER BY (source = ?) DESC, date DESC LIMIT 1",
        [price_date, NETWORK_SOURCE],
    )
    if btc is None:
        raise CompanyDataError(f"no BTC-USD price on or before {price_date}")
    if company.btc_held is not None:
        held, source = company.btc_held, company.sources.get("btc_held", "company file")
    else:
        found = latest_btc_held(reader, company.ticker, price_date)
        if found is None:
            raise CompanyDataError(
                f"{company.name}: btc_held not given and no miner_production record for {company.ticker}"
            )
        held, source = found
    return MarketInputs(price_date, share_price, float(btc), held, source)



# -- company facts (shipped with the package, loaded by ingest; dated by public_date) -----------

#: Natural key of each facts table: rows with the same key are versions; the newest load wins.
FACT_KEYS: dict[str, tuple[str, ...]] = {
    "companies": ("ticker",),
    "company_capital": ("ticker", "as_of", "source_url"),
    "company_fleet": ("ticker", "as_of", "source_url"),
    "company_sites": ("ticker", "site_id", "as_of", "source_url"),
    "company_hpc_contracts": ("ticker", "contract_id"),
}


def company_facts(reader: Reader) -> dict[str, pd.DataFrame]:
    """The company facts known at the reader's time, one frame per table.

    Rows public after the reader's time are invisible (the read layer's rule); among versions of
    one natural key (:data:`FACT_KEYS`) the newest load wins. Tables the store lacks (a store
    migrated before the facts) come back empty.

    Returns
    -------
    dict of pandas.DataFrame
        ``companies``, ``company_capital``, ``company_fleet``, ``company_sites``,
        ``company_hpc_contracts``; dates as ``datetime.date``.
    """
    out = {}
    for table, key in FACT_KEYS.items():
        if not reader.has_table(table):
            out[table] = pd.DataFrame()
            continue
        cols = ", ".join(key)
        df = reader.df(
            f"SELECT * EXCLUDE (_rn) FROM (SELECT *, row_number() OVER (PARTITION BY {cols} "
            f"ORDER BY load_id DESC) AS _rn FROM {table}) WHERE _rn = 1 ORDER BY {cols}"
        )
        for c in ("as_of", "public_date", "announced", "start_date"):
            if c in df:
                df[c] = pd.to_datetime(df[c]).dt.date
        out[table] = df
    return out


def closes_on_or_before(reader: Reader, tickers: list[str], day: dt.date,
                        source: str = EQUITY_SOURCE) -> pd.DataFrame:
    """Each ticker's latest close on or before ``day``: ``ticker``, ``date``, ``close`` [USD]."""
    return reader.df(
        "SELECT ticker, max(date) AS date, arg_max(close, date) AS close FROM prices_daily "
        "WHERE source = ? AND date <= ? AND list_contains(?, ticker) AND close > 0 GROUP BY ticker ORDER BY ticker",
        [source, day, tickers])


__all__ = ["FACT_KEYS", "CompanyDataError", "asic_models", "closes_on_or_before", "company_facts", "hpc_deals",
           "latest_btc_held", "latest_close", "market_inputs"]
