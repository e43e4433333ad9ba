"""One palette and one set of number formats for every surface (brief, terminal, dashboard).

Tickers keep the same colour in every chart (:mod:`hashdesk.theme`); numbers are written the way
analysts quote them (EH/s, USD/PH/day, %, bp) by :mod:`hashdesk.fmt`. Surfaces never pick colours
or formats on their own.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from hashdesk.fmt import KIND_UNITS
from hashdesk.fmt import fmt_time as _fmt_time
from hashdesk.fmt import fmt_value as _fmt_value
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
