"""One palette and one set of number formats for every surface (brief, terminal, dashboard).

Tickers keep the same colour in every chart; numbers are written the way analysts quote them
(EH/s, USD/PH/day, %, bp). Surfaces never pick colours or formats on their own.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

import plotly.graph_objects as go

from hashdesk.theme import SERIES_COLOURS, TEMPLATE, TICKER_COLOURS, styled, ticker_colour

__all__ = ["HOUSE_TEMPLATE", "KIND_UNITS", "SERIES_COLOURS", "TICKER_COLOURS", "apply_style", "fmt_time",
           "fmt_value", "ticker_colour"]

#: Plotly template of every surface figure (registered by :mod:`hashdesk.theme`).
HOUSE_TEMPLATE = TEMPLATE


def apply_style(fig: go.Figure) -> go.Figure:
    """Give a figure the house look (:func:`hashdesk.theme.styled`) and the surfaces' default height.

    The domain ``charts`` modules already end with :func:`~hashdesk.theme.styled`; this makes
    sure any other figure a section wraps looks the same. Returns the same figure (mutated).
    """
    styled(fig)
    if not fig.layout.height:
        fig.update_layout(height=380)
    return fig


# -- number formats --------------------------------------------------------------------------

#: Unit shown after a value of each kind ("" when the label carries it or none applies).
KIND_UNITS: dict[str, str] = {
    "ehs": "EH/s",
    "usd_ph_day": "USD/PH/day",
    "btc_ph_day": "BTC/PH/day",
    "usd": "USD",
    "usd_btc": "USD/BTC",
    "btc": "BTC",
    "pct": "%",
    "bp": "bp",
    "j_th": "J/TH",
    "usd_kwh": "USD/kWh",
    "mw": "MW",
    "days": "days",
    "blocks": "blocks",
}


def _isnull(v: Any) -> bool:
    if v is None:
        return True
    try:
        return isinstance(v, float) and math.isnan(v)
    except TypeError:
        return False


def fmt_value(value: Any, kind: str = "num", with_unit: bool = False) -> str:
    """Format one value for people.

    Parameters
    ----------
    value : Any
        Raw value. Fractions for ``pct`` and ``bp`` (0.0123 → "+1.23%" / "+123 bp").
    kind : str
        One of ``num, int, ratio, pct, bp, ehs, usd_ph_day, btc_ph_day, usd, usd_btc, btc, j_th,
        usd_kwh, mw, days, blocks, difficulty, date, datetime, text, bool``.
    with_unit : bool
        Append the unit (for stand-alone metrics; table columns carry units in their labels).

    Returns
    -------
    str
        "—" for missing values.
    """
    if _isnull(value):
        return "—"
    unit = KIND_UNITS.get(kind, "") if with_unit else ""
    if kind == "text":
        return str(value)
    if kind == "bool":
        return "yes" if value else "no"
    if kind in ("date", "datetime"):
        return fmt_time(value, with_time=kind == "datetime")
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if kind == "pct":
        s = f"{x * 100:+.2f}"
        return s + ("%" if with_unit else "")
    if kind == "bp":
        s = f"{x * 1e4:+,.0f}"
    elif kind in ("int", "blocks"):
        s = f"{x:,.0f}"
    elif kind == "difficulty":
        s = f"{x / 1e12:,.2f} T"
    elif kind in ("usd", "usd_btc"):
        s = f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.2f}"
    elif kind == "btc_ph_day":
        s = f"{x:.6f}"
    elif kind == "btc":
        s = f"{x:,.1f}" if abs(x) >= 100 else f"{x:,.3f}"
    elif kind in ("ehs", "usd_ph_day", "mw", "days", "j_th"):
        s = f"{x:,.1f}" if kind in ("ehs", "mw", "days", "j_th") else f"{x:,.2f}"
    elif kind == "usd_kwh":
        s = f"{x:.4f}"
    elif kind == "ratio":
        s = f"{x:.3f}"
    else:
        if x != 0 and (abs(x) >= 1e9 or abs(x) < 1e-3):
            s = f"{x:.4g}"
        elif abs(x) >= 1000:
            s = f"{x:,.1f}"
        else:
            s = f"{x:,.4f}".rstrip("0").rstrip(".")
    return f"{s} {unit}" if unit else s


def fmt_time(value: Any, with_time: bool = False) -> str:
    """Format a date / timestamp / unix seconds as ISO in UTC ("2024-01-15" or "... 12:00 UTC")."""
    if _isnull(value):
        return "—"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = datetime.fromtimestamp(int(value), tz=UTC)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%d %H:%M UTC") if with_time else value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return fmt_time(value.to_pydatetime(), with_time)
    return str(value)
