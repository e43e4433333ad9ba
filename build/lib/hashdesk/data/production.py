"""Miners' reported monthly production (``miner_production``)."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from hashdesk.data import Reader

#: Columns read for the production check.
PRODUCTION_COLUMNS = ("ticker, month, btc_mined, hashrate_ehs, hashrate_kind, btc_held, demand_response_usd, "
                      "source_url, source_rank, is_conflict, note")


class ProductionDataError(ValueError):
    """Unknown ticker or no rows in the range (naming what exists)."""


def known_tickers(reader: Reader) -> list[str]:
    """Tickers with production rows known at the reader's time."""
    return list(reader.df("SELECT DISTINCT ticker FROM miner_production ORDER BY 1").ticker)


def months(reader: Reader) -> list[str]:
    """Months (``YYYY-MM``) with production rows known at the reader's time."""
    return list(reader.df("SELECT DISTINCT month FROM miner_production ORDER BY 1").month)


def production_rows(
    reader: Reader,
    tickers: Iterable[str] | None = None,
    month_from: str | None = None,
    month_to: str | None = None,
) -> pd.DataFrame:
    """``miner_production`` rows for tickers and months (plus the month before ``month_from``,
    so month-end hashrates can be averaged).

    Raises
    ------
    ProductionDataError
        Unknown ticker, ``--from`` after ``--to``, or no rows in the range.
    """
    known = known_tickers(reader)
    tickers = [t.upper() for t in tickers] if tickers else known
    unknown = [t for t in tickers if t not in known]
    if unknown:
        raise ProductionDataError(
            f"unknown ticker {', '.join(unknown)}: production data exists for {', '.join(known) or 'none'}"
        )
    if month_from and month_to and month_from > month_to:
        raise ProductionDataError(f"--from {month_from} is after --to {month_to}")
    lo = str(pd.Period(month_from, freq="M") - 1) if month_from else "0000-00"
    hi = month_to or "9999-99"
    rows = reader.df(
        f"SELECT {PRODUCTION_COLUMNS} FROM miner_production "
        "WHERE list_contains(?, ticker) AND month BETWEEN ? AND ? ORDER BY ticker, month",
        [tickers, lo, hi],
    )
    if rows[rows.month >= (month_from or "0000-00")].empty:
        have = months(reader)
        span = f"{have[0]}..{have[-1]}" if have else "none"
        raise ProductionDataError(
            f"no production rows for {', '.join(tickers)} in "
            f"{month_from or 'the beginning'}..{month_to or 'the end'} (months with data: {span})"
        )
    return rows


__all__ = ["ProductionDataError", "known_tickers", "months", "production_rows"]
