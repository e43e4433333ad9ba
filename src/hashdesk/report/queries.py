"""The few store look-ups the surfaces need that no domain module owns (read-only).

Domain numbers come from the domain modules; these queries only find *which* rows exist
(months with production reports, the store's date range) so that pages can offer sensible
choices and defaults.
"""

from __future__ import annotations

from datetime import date

from hashdesk.store.db import Store


def store_date_range(store: Store) -> tuple[date | None, date | None]:
    """First and last UTC date with a BTC-USD price (the span the dashboards can show)."""
    row = store.con.execute(
        "SELECT min(date), max(date) FROM prices_daily WHERE ticker = 'BTC-USD'"
    ).fetchone()
    return (row[0], row[1]) if row else (None, None)


def production_months(store: Store) -> list[str]:
    """Months (``YYYY-MM``) with at least one reported production row, ascending."""
    rows = store.con.execute(
        "SELECT DISTINCT month FROM miner_production ORDER BY month"
    ).fetchall()
    return [r[0] for r in rows]


def equity_tickers(store: Store) -> list[str]:
    """Tickers with daily prices other than BTC-USD, ascending."""
    rows = store.con.execute(
        "SELECT DISTINCT ticker FROM prices_daily WHERE ticker <> 'BTC-USD' ORDER BY ticker"
    ).fetchall()
    return [r[0] for r in rows]
