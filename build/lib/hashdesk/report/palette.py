"""One palette and one set of number formats for every surface (brief, terminal, dashboard).

Tickers keep the same colour in every chart; numbers are written the way analysts quote them
(EH/s, USD/PH/day, %, bp). Surfaces never pick colours or formats on their own.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import plotly.graph_objects as go

#: Fixed colour per ticker (hex). BTC is bitcoin orange; indices are greys/blues.
TICKER_COLOURS: dict[str, str] = {
    "BTC-USD": "#f7931a",
    "BTC": "#f7931a",
    "MARA": "#1f77b4",
    "RIOT": "#d62728",
    "CLSK": "#2ca02c",
    "CIFR": "#9467bd",
    "HUT": "#8c564b",
    "BITF": "#e377c2",
    "IREN": "#17becf",
    "CORZ": "#bcbd22",
    "WULF": "#ff7f0e",
    "BTDR": "#7f7f7f",
    "WGMI": "#111111",
    "QQQ": "#4c78a8",
    "SPY": "#9d9d9d",
}
#: Colours for tickers not in the table, assigned by a stable hash of the name.
_EXTRA = ("#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d")
#: Series colours for non-ticker quantities.
SERIES_COLOURS: dict[str, str] = {
    "hashrate": "#1f77b4",
    "difficulty": "#d62728",
    "hashprice": "#2ca02c",
    "price": "#f7931a",
    "fees": "#9467bd",
}


def ticker_colour(ticker: str) -> str:
    """Colour of a ticker (stable across runs and surfaces)."""
    t = str(ticker).upper()
    if t in TICKER_COLOURS:
        return TICKER_COLOURS[t]
    return _EXTRA[sum(t.encode()) % len(_EXTRA)]


#: Plotly template of every surface figure.
HOUSE_TEMPLATE = "plotly_white"


@lru_cache(maxsize=1)
def _house_template_json() -> dict[str, Any]:
    import plotly.io as pio

    return pio.templates[HOUSE_TEMPLATE].to_plotly_json()


def apply_style(fig: go.Figure) -> go.Figure:
    """Give a domain figure the house look: ticker colours by trace name, UTC note, white theme.

    Traces named after a ticker (exactly, or ``"MARA ..."``) get that ticker's colour, so a
    figure built by any module matches the others. Returns the same figure (mutated).
    """
    for trace in fig.data:
        name = (getattr(trace, "name", None) or "").split(" ")[0].upper()
        if name in TICKER_COLOURS:
            colour = TICKER_COLOURS[name]
            if hasattr(trace, "line") and trace.type in ("scatter", "scattergl"):
                trace.line.color = colour
            if hasattr(trace, "marker") and trace.type in ("bar", "scatter", "scattergl"):
                trace.marker.color = colour
    layout: dict[str, Any] = {
        "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "legend": {"orientation": "h", "y": -0.2},
        "height": fig.layout.height or 380,
    }
    # Setting a template copies it (≈ 15 ms a figure): skip when the builder already set it.
    if fig.layout.template.to_plotly_json() != _house_template_json():
        layout["template"] = HOUSE_TEMPLATE
    fig.update_layout(**layout)
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
