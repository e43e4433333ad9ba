"""Fan charts of a scenario run (Plotly figures; the caller writes HTML).

Bands are the 5–95 % and 25–75 % quantiles per month, the line the median; a few sample paths
are drawn thin. Dates are month starts (UTC).
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hashdesk.scenario.summary import ScenarioSummary
from hashdesk.theme import styled

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
    fig.update_layout(
        title=title or f"{summary.n_scenarios:,} scenarios from {start['date']} (seed {summary.seed})",
        height=320 * rows + 120,
    )
    return styled(fig)

