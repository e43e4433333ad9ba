"""Plotly figure builders for miner economics (hashprice history, halving stress).

Each function returns a :class:`plotly.graph_objects.Figure`; callers write it with
``fig.write_html(path, include_plotlyjs=True)`` (self-contained, no CDN). Dates are UTC.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hashdesk.theme import styled

#: Halving blocks and the UTC date of their header time (DESIGN.md §2; block 840,000 has header
#: time 1,713,571,767 = 2024-04-20 00:09:27 UTC).
HALVING_DATES: dict[int, str] = {
    210_000: "2012-11-28",
    420_000: "2016-07-09",
    630_000: "2020-05-11",
    840_000: "2024-04-20",
}


def _mark_halvings(fig: go.Figure, start, end) -> None:
    for height, day in HALVING_DATES.items():
        ts = pd.Timestamp(day)
        if pd.Timestamp(start) <= ts <= pd.Timestamp(end):
            fig.add_vline(x=ts, line_dash="dash", line_color="firebrick")
            fig.add_annotation(
                x=ts, y=1.0, yref="paper", text=f"halving (block {height:,})", showarrow=False,
                xanchor="left", yanchor="bottom", font={"color": "firebrick"},
            )


def hashprice_figure(table: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Hashprice over time [USD/PH/day] and [BTC/PH/day], halvings marked.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows of :func:`hashdesk.economics.hashprice.network_economics_daily`.
    title : str, optional
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        Days with a missing input show as gaps (never interpolated).
    """
    if table.empty:
        raise ValueError("no rows to chart")
    x = pd.to_datetime(table["date"])
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Scatter(x=x, y=table["hashprice_usd_per_ph_day"], name="hashprice [USD/PH/day]",
                   mode="lines", connectgaps=False),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(x=x, y=table["hashprice_btc_per_ph_day"], name="hashprice [BTC/PH/day]",
                   mode="lines", line={"width": 1, "color": "gray"}, connectgaps=False),
        secondary_y=True,
    )
    _mark_halvings(fig, x.min(), x.max())
    fig.update_layout(
        title=title or "Bitcoin hashprice (daily, exact work; Coin Metrics fees and price)",
        xaxis_title="date [UTC]",
        hovermode="x unified",
    )
    fig.update_yaxes(title_text="hashprice [USD/PH/day]", secondary_y=False)
    fig.update_yaxes(title_text="hashprice [BTC/PH/day]", secondary_y=True, tickformat=".5f")
    return styled(fig)


def stress_figure(result) -> go.Figure:
    """Network cost curve with the stress hashprice, and the difficulty path by epoch.

    Parameters
    ----------
    result : hashdesk.economics.halving.StressResult

    Returns
    -------
    plotly.graph_objects.Figure
        Left: cumulative hashrate share [%] against power-only breakeven hashprice
        [USD/PH/day], the stress hashprice as a vertical line. Right: difficulty [T] and
        hashprice [USD/PH/day] per epoch.
    """
    curve, path, net = result.curve, result.epochs, result.network
    fig = make_subplots(
        rows=1, cols=2, specs=[[{}, {"secondary_y": True}]],
        subplot_titles=("network cost curve (power-only breakeven)", "difficulty response by epoch"),
    )
    x = [0.0, *curve.breakeven_hashprice_usd_per_ph_day.tolist()]
    y = [0.0, *(curve.cumulative_share * 100).tolist()]
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines", line_shape="hv", name="cumulative hashrate [%]"),
                  row=1, col=1)
    hp = net["hashprice_usd_per_ph_day"]
    fig.add_vline(x=hp, line_dash="dash", line_color="firebrick", row=1, col=1)
    fig.add_annotation(x=hp, y=100, text=f"stress hashprice {hp:.1f} USD/PH/day<br>"
                       f"under water {net['share_under_water'] * 100:.1f} %",
                       showarrow=False, xanchor="left", row=1, col=1)
    # an epoch split by a halving appears once per subsidy segment
    split = path.epoch.duplicated(keep=False) if "subsidy_btc_per_block" in path else path.epoch.map(lambda _: False)
    labels = [f"epoch {e} ({sub:g} BTC)" if dup else f"epoch {e}"
              for e, sub, dup in zip(path.epoch, path.get("subsidy_btc_per_block", path.epoch), split, strict=True)]
    fig.add_trace(go.Bar(x=labels, y=path.difficulty / 1e12, name="difficulty [T]"), row=1, col=2)
    fig.add_trace(go.Scatter(x=labels, y=path.hashprice_usd_per_ph_day, name="hashprice [USD/PH/day]",
                             mode="lines+markers"), row=1, col=2, secondary_y=True)
    fig.update_xaxes(title_text="breakeven hashprice [USD/PH/day]", row=1, col=1)
    fig.update_yaxes(title_text="hashrate share at or below [%]", row=1, col=1)
    fig.update_yaxes(title_text="difficulty [T]", row=1, col=2)
    fig.update_yaxes(title_text="hashprice [USD/PH/day]", row=1, col=2, secondary_y=True)
    fig.update_layout(
        title=(f"Stress at {net['at']}: BTC {net['price_usd']:,.0f} USD, fees {net['fees_btc_per_block']:g} "
               f"BTC/block, subsidy {net['subsidy_btc_per_block']:g} BTC"),
    )
    return styled(fig)
