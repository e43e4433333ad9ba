"""Plotly figures for expected vs reported production and hashrate shocks.

Builders return :class:`plotly.graph_objects.Figure` so the CLI, the web dashboard and the HTML
brief reuse them (``hashdesk.cli._common.write_chart`` writes them as self-contained HTML).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hashdesk.theme import add_marks, styled, vrect_shape

_VERDICT_SYMBOL = {"beat": "triangle-up", "in line": "circle", "miss": "triangle-down"}


def production_figure(records: pd.DataFrame) -> go.Figure:
    """Realization (with its interval) and reported vs expected BTC, across miners and months.

    Parameters
    ----------
    records : pandas.DataFrame
        Output of :func:`hashdesk.economics.production.production_records`.

    Returns
    -------
    plotly.graph_objects.Figure
        Top: realization [reported / expected] per ticker with error bars spanning the interval
        and a marker per verdict (▲ beat, ● in line, ▼ miss); the hover names the pool fee
        assumed and what the verdict measures. Bottom: reported and expected BTC
        per month [BTC].
    """
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
        subplot_titles=("Realization = reported / expected (bars: interval)",
                        "Reported (solid) vs expected (dotted) BTC per month"),
    )
    ok = records.dropna(subset=["realization"])
    for ticker, g in ok.groupby("ticker", sort=True):
        x = pd.to_datetime(g.month + "-01")
        fig.add_trace(
            go.Scatter(
                x=x, y=g.realization, mode="lines+markers", name=ticker, legendgroup=ticker,
                marker={"symbol": [_VERDICT_SYMBOL.get(v, "circle") for v in g.verdict], "size": 9},
                error_y={"type": "data", "symmetric": False,
                         "array": g.realization_hi - g.realization,
                         "arrayminus": g.realization - g.realization_lo},
                customdata=g.reindex(columns=["verdict", "hashrate_kind", "hashrate_ehs", "pool_payout",
                                              "pool_fee_words", "verdict_measures"]).to_numpy(),
                hovertemplate=(
                    "%{x|%Y-%m} realization %{y:.3f}<br>%{customdata[0]}; "
                    "%{customdata[1]} %{customdata[2]:.2f} EH/s; pool %{customdata[3]}, "
                    "fee %{customdata[4]}<br>measures %{customdata[5]}<extra>" + ticker + "</extra>"
                ),
            ),
            row=1, col=1,
        )
    have_exp = records.dropna(subset=["btc_expected"])
    for ticker, g in have_exp.groupby("ticker", sort=True):
        x = pd.to_datetime(g.month + "-01")
        fig.add_trace(go.Scatter(x=x, y=g.btc_reported, mode="lines+markers", name=ticker,
                                 legendgroup=ticker, showlegend=False), row=2, col=1)
        fig.add_trace(go.Scatter(x=x, y=g.btc_expected, mode="lines+markers", line={"dash": "dot"},
                                 marker={"symbol": "circle-open", "size": 9},
                                 name=f"{ticker} expected", legendgroup=ticker,
                                 showlegend=False), row=2, col=1)
    fig.add_hline(y=1.0, line_dash="dash", line_color="grey", row=1, col=1)
    months = pd.to_datetime(records.month.dropna().unique() + "-01") if len(records) else pd.DatetimeIndex([])
    if len(months):
        lo, hi = months.min() - pd.Timedelta(days=20), months.max() + pd.Timedelta(days=40)
        halving = pd.Timestamp("2024-04-20")
        if lo <= halving <= hi:  # mark the halving only on an axis that reaches it
            fig.add_vline(x=halving.timestamp() * 1000, line_dash="dot",
                          line_color="firebrick", annotation_text="halving 840,000", row="all", col=1)
        fig.update_xaxes(range=[lo, hi], dtick="M1", tickformat="%b %Y")
    fig.update_yaxes(title_text="realization [reported/expected]", row=1, col=1)
    fig.update_yaxes(title_text="BTC per month [BTC]", row=2, col=1)
    fig.update_xaxes(title_text="month [UTC]", row=2, col=1)
    fig.update_layout(title="Miners: expected vs reported production", height=800)
    return styled(fig)


def shock_figure(daily: pd.DataFrame, shocks: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Daily network hashrate, its baseline and threshold, with detected shocks shaded.

    Parameters
    ----------
    daily : pandas.DataFrame
        Columns date, hashrate_ehs, smoothed_ehs, baseline_ehs, threshold_ehs [EH/s]
        (:func:`hashdesk.economics.shocks.shock_signal`).
    shocks : pandas.DataFrame
        Columns start, end, depth_pct (:func:`hashdesk.economics.shocks.detect_shocks`).
    title : str, optional
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=daily.date, y=daily.hashrate_ehs, mode="markers",
                             name="daily [EH/s]", marker={"size": 4, "color": "lightgrey"}))
    fig.add_trace(go.Scatter(x=daily.date, y=daily.smoothed_ehs, mode="lines",
                             name="3-day mean [EH/s]"))
    fig.add_trace(go.Scatter(x=daily.date, y=daily.baseline_ehs, mode="lines",
                             name="baseline: trailing median [EH/s]", line={"dash": "dash"}))
    fig.add_trace(go.Scatter(x=daily.date, y=daily.threshold_ehs, mode="lines",
                             name="threshold [EH/s]", line={"dash": "dot", "color": "firebrick"}))
    bands = [(pd.Timestamp(s.start), pd.Timestamp(s.end) + pd.Timedelta(days=1), s.depth_pct) for s in shocks.itertuples()]
    add_marks(fig, [vrect_shape(x0, x1, "firebrick", 0.15) for x0, x1, _ in bands],
              [{"x": x0, "y": 0, "xref": "x", "yref": "y domain", "text": f"{d:.0f}%", "showarrow": False,
                "xanchor": "left", "yanchor": "bottom"} for x0, _, d in bands])
    fig.update_layout(title=title or "Network hashrate shocks",
                      xaxis_title="date [UTC]", yaxis_title="hashrate [EH/s]", height=500)
    return styled(fig)

