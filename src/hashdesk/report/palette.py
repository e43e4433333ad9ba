"""One palette and one set of number formats for every surface (brief, terminal, dashboard).

Tickers keep the same colour in every chart; numbers are written the way analysts quote them
(EH/s, USD/PH/day, %, bp). Surfaces never pick colours or formats on their own.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import plotly.graph_objects as go

from hashdesk.fmt import KIND_UNITS  # noqa: F401 - re-exported for the brief's model
from hashdesk.fmt import fmt_time as _fmt_time
from hashdesk.fmt import fmt_value as _fmt_value

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
# One formatter for every surface: :mod:`hashdesk.fmt` (the CLI uses it directly).


def fmt_value(value: Any, kind: str = "num", with_unit: bool = False) -> str:
    """Format one value for people (delegates to :func:`hashdesk.fmt.fmt_value`).

    Parameters
    ----------
    value : Any
        Raw value. Fractions for ``pct`` and ``bp`` (0.0123 → "+1.23%" / "+123 bp").
    kind : str
        One of ``num, int, ratio, pct, share, bp, ehs, usd_ph_day, btc_ph_day, usd, usd_btc, btc,
        j_th, usd_kwh, mw, days, blocks, difficulty, date, datetime, text, bool`` (all kinds of
        :mod:`hashdesk.fmt`).
    with_unit : bool
        Append the unit (for stand-alone metrics; table columns carry units in their labels).

    Returns
    -------
    str
        "—" for missing values; never scientific notation.
    """
    return _fmt_value(value, kind, with_unit)


def fmt_time(value: Any, with_time: bool = False) -> str:
    """Format a date / timestamp / unix seconds as ISO in UTC ("2024-01-15" or "... 12:00 UTC")."""
    return _fmt_time(value, with_time)
