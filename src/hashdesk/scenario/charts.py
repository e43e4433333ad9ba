"""Fan charts of a scenario run, the hashprice forward curve and a hedge (Plotly figures; the caller writes HTML).

Bands are the 5–95 % and 25–75 % quantiles per month, the line the median; a few sample paths
are drawn thin. Dates are month starts (UTC).
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hashdesk.scenario.summary import ScenarioSummary
from hashdesk.theme import TITLE_PAD_PX, add_marks, plain_figure, styled, vline_shape

#: Panel titles with units, by metric.
PANELS: dict[str, str] = {
    "price_usd": "BTC price [USD/BTC]",
    "hashrate_ehs": "Network hashrate [EH/s]",
    "hashprice_usd_per_ph_day": "Hashprice [USD/PH/day]",
    "fees_sats_per_block": "Fees per block [sats]",
    "margin_usd": "Miner margin per month [USD]",
    "btc_mined": "Miner BTC per month [BTC]",
}


def _fan(fig: go.Figure, summary: ScenarioSummary, metric: str, row: int, col: int, color: str) -> None:
    df = summary.monthly[summary.monthly.metric == metric]
    x = [str(d) for d in df.month_start]
    for lo, hi, alpha, name in (("q05", "q95", 0.18, "5–95 %"), ("q25", "q75", 0.35, "25–75 %")):
        fig.add_trace(go.Scatter(x=x, y=df[hi], mode="lines", line={"width": 0}, showlegend=False,
                                 hoverinfo="skip"), row=row, col=col)
        fig.add_trace(go.Scatter(x=x, y=df[lo], mode="lines", line={"width": 0}, fill="tonexty",
                                 fillcolor=f"rgba({color},{alpha})", name=name,
                                 showlegend=row == 1 and col == 1), row=row, col=col)
    for path in summary.samples.get(metric, [])[:5]:
        fig.add_trace(go.Scatter(x=x, y=path, mode="lines", line={"width": 0.6, "color": f"rgba({color},0.5)"},
                                 showlegend=False, hoverinfo="skip"), row=row, col=col)
    fig.add_trace(go.Scatter(x=x, y=df["q50"], mode="lines", line={"color": f"rgb({color})", "width": 2},
                             name="median", showlegend=row == 1 and col == 1), row=row, col=col)


def fan_chart_figure(summary: ScenarioSummary, title: str | None = None) -> go.Figure:
    """Fan charts of price, hashrate, hashprice and (with a miner) margin and BTC per month.

    Parameters
    ----------
    summary : ScenarioSummary
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
    """
    metrics = [m for m in PANELS if (summary.monthly.metric == m).any()
               and summary.monthly.loc[summary.monthly.metric == m, "q50"].notna().any()]
    rows = (len(metrics) + 1) // 2
    fig = make_subplots(rows=rows, cols=2, subplot_titles=[PANELS[m] for m in metrics],
                        vertical_spacing=min(0.3, 0.16 / max(rows - 1, 1) * 1.5))
    colors = ["31,119,180", "255,127,14", "44,160,44", "148,103,189", "214,39,40", "140,86,75"]
    for i, m in enumerate(metrics):
        _fan(fig, summary, m, i // 2 + 1, i % 2 + 1, colors[i % len(colors)])
        # the subplot title names the quantity and its unit; one x title under each column's
        # last panel, so no axis title runs into the subplot title below it
        if i + 2 >= len(metrics):
            fig.update_xaxes(title_text="month start [UTC]", row=i // 2 + 1, col=i % 2 + 1)
    start = summary.start
    height = 320 * rows + 120
    fig.update_layout(
        title=title or f"{summary.n_scenarios:,} scenarios from {start['date']} (seed {summary.seed})",
        height=height,
        # the legend on the title's line, right (under the last row it sat a fraction of the
        # figure's height below, leaving a gap that grew with the rows)
        legend={"yref": "container", "y": 1.0 - TITLE_PAD_PX / height, "yanchor": "top", "xref": "container",
                "x": 1.0, "xanchor": "right"},
        margin={"t": 84},
    )
    return styled(fig)



def _rgb(hex_colour: str) -> str:
    h = hex_colour.lstrip("#")
    return ",".join(str(int(h[i:i + 2], 16)) for i in (0, 2, 4))


def forward_fan_figure(curve, realized=None, title: str | None = None) -> go.Figure:
    """Fan chart of a hashprice forward curve [USD/PH/day]: 5–95 % and 25–75 % bands, median, mean.

    Parameters
    ----------
    curve : hashdesk.scenario.forward.ForwardCurve
    realized : pandas.DataFrame, optional
        :meth:`hashdesk.desk.Desk.forward_realized`: the realised month averages, drawn as points.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        Quotes, when the curve has them, are drawn as diamonds; the halving month is marked.
    """
    from hashdesk.theme import SERIES_COLOURS

    rows = curve.rows
    x = list(rows["month"])
    c = _rgb(SERIES_COLOURS["hashprice"])

    traces = []
    for lo, hi, alpha, name in (("p05", "p95", 0.18, "5–95 %"), ("p25", "p75", 0.35, "25–75 %")):
        traces += [{"type": "scatter", "x": x, "y": rows[hi], "mode": "lines", "line": {"width": 0},
                    "showlegend": False, "hoverinfo": "skip"},
                   {"type": "scatter", "x": x, "y": rows[lo], "mode": "lines", "line": {"width": 0}, "fill": "tonexty",
                    "fillcolor": f"rgba({c},{alpha})", "name": name}]
    traces += [{"type": "scatter", "x": x, "y": rows["median_usd_per_ph_day"], "mode": "lines+markers",
                "line": {"color": f"rgb({c})", "width": 2}, "name": "median"},
               {"type": "scatter", "x": x, "y": rows["mean_usd_per_ph_day"], "mode": "lines",
                "line": {"color": f"rgb({c})", "width": 1.5, "dash": "dash"}, "name": "mean (model forward)"}]
    if "quote_usd_per_ph_day" in rows and rows["quote_usd_per_ph_day"].notna().any():
        traces.append({"type": "scatter", "x": x, "y": rows["quote_usd_per_ph_day"], "mode": "markers",
                       "marker": {"symbol": "diamond", "size": 9, "color": SERIES_COLOURS["price"]}, "name": "quote"})
    if realized is not None and realized["realized_usd_per_ph_day"].notna().any():
        traces.append({"type": "scatter", "x": list(realized["month"]),
                       "y": realized["realized_usd_per_ph_day"], "mode": "markers",
                       "marker": {"size": 8, "color": "#111111"}, "name": "realised"})
    st = curve.start
    fig = plain_figure(traces, {
        "title": {"text": title or f"Hashprice forward curve from {st['date']} ({curve.n_scenarios:,} scenarios, "
                                   f"seed {curve.seed})"},
        "xaxis": {"title": {"text": "delivery month [UTC]"}},
        "yaxis": {"title": {"text": "month-average hashprice [USD/PH/day]"}}, "height": 460})
    halving = list(rows[rows["p_halving"] >= 0.5]["month"])
    add_marks(fig, [vline_shape(m, color=SERIES_COLOURS["halving"], dash="dot", width=1) for m in halving],
              [{"x": m, "y": 1.0, "yref": "paper", "text": "halving", "showarrow": False,
                "font": {"color": SERIES_COLOURS["halving"]}, "yanchor": "bottom"} for m in halving])
    return styled(fig)


def hedge_figure(result, title: str | None = None) -> go.Figure:
    """Monthly margin of a miner unhedged and hedged [USD]: 5–95 % ranges and means per month.

    Parameters
    ----------
    result : hashdesk.scenario.hedge.HedgeResult
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
    """
    from hashdesk.theme import SERIES_COLOURS

    m = result.monthly
    x = list(m["month"])
    fig = go.Figure()
    for prefix, name, colour in (("unhedged_", "unhedged", SERIES_COLOURS["muted"]),
                                 ("hedged_", f"hedged at R = {result.ratio:g}", SERIES_COLOURS["hashprice"])):
        mean = m[prefix + "mean_usd"]
        fig.add_trace(go.Scatter(
            x=x, y=mean, mode="markers", name=f"{name}: mean, 5–95 %", marker={"color": colour, "size": 8},
            error_y={"type": "data", "symmetric": False, "array": m[prefix + "p95_usd"] - mean,
                     "arrayminus": mean - m[prefix + "p05_usd"], "color": colour, "thickness": 2},
        ))
    fig.add_hline(y=0, line={"color": "#444444", "width": 1})
    fig.update_layout(
        title=title or (f"{result.miner}: monthly margin unhedged vs hedged (R* = {result.min_var_ratio:.3f}; "
                        f"{result.n_scenarios:,} paired scenarios)"),
        xaxis_title="month [UTC]", yaxis_title="margin per month [USD]", height=440,
    )
    return styled(fig)
