"""Plotly figure builders for the market module (reused by the brief and the dashboard).

Every builder returns a :class:`plotly.graph_objects.Figure`; axis titles carry units and
dates are UTC. The CLI writes them with ``cli._common.write_chart`` (self-contained, no CDN).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hashdesk.theme import add_marks, plain_figure, styled, vrect_shape


def cumulative_returns_figure(cumulative: dict[str, pd.Series], title: str = "") -> go.Figure:
    """Compounded return paths, one line per series.

    Parameters
    ----------
    cumulative : dict of str → pd.Series
        Cumulative simple return per date [1] (e.g. from
        :func:`hashdesk.market.returns.cumulative_returns`).
    """
    fig = plain_figure(
        [{"type": "scatter", "x": s.index, "y": 100 * s.to_numpy(), "mode": "lines", "name": name}
         for name, s in cumulative.items()],
        {"title": {"text": title or "Cumulative return"}, "xaxis": {"title": {"text": "date (UTC)"}},
         "yaxis": {"title": {"text": "cumulative return [%]"}}, "hovermode": "x unified"})
    return styled(fig)


def rolling_figure(rolling: dict[str, pd.DataFrame], window: int, benchmark: str = "BTC-USD") -> go.Figure:
    """Rolling beta (top) and correlation (bottom) per ticker.

    Parameters
    ----------
    rolling : dict of str → pd.DataFrame
        Frames with columns ``beta`` and ``correlation`` (see
        :func:`hashdesk.market.risk.rolling_beta_correlation`).
    window : int
        Window length [periods], for the title.
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06)
    for name, df in rolling.items():
        fig.add_scatter(x=df.index, y=df["beta"], mode="lines", name=name, legendgroup=name, row=1, col=1)
        fig.add_scatter(x=df.index, y=df["correlation"], mode="lines", name=name, legendgroup=name,
                        showlegend=False, row=2, col=1)
    # short axis titles: two stacked panels leave each about 150 px of height
    fig.update_yaxes(title_text="beta [1]", row=1, col=1)
    fig.update_yaxes(title_text="correlation [1]", row=2, col=1)
    fig.update_xaxes(title_text="date (UTC)", row=2, col=1)
    fig.update_layout(title=f"Rolling {window}-period beta and correlation vs {benchmark}", hovermode="x unified")
    return styled(fig)


def decoupling_figure(path: pd.DataFrame, episodes: pd.DataFrame, name: str, k: float) -> go.Figure:
    """Trailing cumulative residual with its ±k-sigma band and the episodes shaded.

    Parameters
    ----------
    path : pd.DataFrame
        Columns ``trailing_residual`` [1] and ``band`` [1] by date.
    episodes : pd.DataFrame
        Columns ``start``, ``end``, ``direction``.
    """
    band = 100 * path["band"]
    dotted = {"dash": "dot", "color": "grey"}
    fig = plain_figure(
        [{"type": "scatter", "x": path.index, "y": 100 * path["trailing_residual"],
          "mode": "lines", "name": "trailing cumulative residual"},
         {"type": "scatter", "x": path.index, "y": band, "mode": "lines", "line": dict(dotted), "name": f"+{k:g}σ band"},
         {"type": "scatter", "x": path.index, "y": -band, "mode": "lines", "line": dict(dotted), "name": f"-{k:g}σ band"}],
        {"title": {"text": f"{name}: residual vs BTC beta (decoupling episodes shaded)"},
         "xaxis": {"title": {"text": "date (UTC)"}}, "yaxis": {"title": {"text": "cumulative residual return [%]"}}})
    add_marks(fig, [vrect_shape(e.start, e.end, "green" if e.direction == "up" else "red", 0.15)
                    for e in episodes.itertuples(index=False)])
    return styled(fig)


def car_figure(paths: pd.DataFrame, title: str = "Event study") -> go.Figure:
    """Cumulative abnormal return paths around events.

    Parameters
    ----------
    paths : pd.DataFrame
        Index: event day (0 = event) [exchange days]; one column per event/ticker, CAR [1].
    """
    fig = go.Figure()
    for c in paths.columns:
        fig.add_scatter(x=paths.index, y=100 * paths[c], mode="lines+markers", name=str(c))
    fig.add_vline(x=0, line_dash="dot")
    fig.update_layout(title=title, xaxis_title="exchange days relative to event [days]",
                      yaxis_title="cumulative abnormal return [%]")
    return styled(fig)


def factor_figure(rolling: pd.DataFrame, name: str, factors: list[str]) -> go.Figure:
    """Rolling factor betas (top) and R² (bottom) of a two-factor regression."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06)
    for f in factors:
        fig.add_scatter(x=rolling.index, y=rolling[f"beta_{f}"], mode="lines", name=f"beta on {f}", row=1, col=1)
    fig.add_scatter(x=rolling.index, y=rolling["r_squared"], mode="lines", name="R²", row=2, col=1)
    fig.update_yaxes(title_text="factor beta [1]", row=1, col=1)
    fig.update_yaxes(title_text="R² [1]", row=2, col=1)
    fig.update_xaxes(title_text="date (UTC)", row=2, col=1)
    fig.update_layout(title=f"{name}: rolling exposures to {' and '.join(factors)}", hovermode="x unified")
    return styled(fig)


def underwater_figure(paths: dict[str, pd.Series], title: str = "") -> go.Figure:
    """Drawdown from the running peak [%], one filled line per series (a tearsheet's underwater plot).

    Parameters
    ----------
    paths : dict of str → pd.Series
        Drawdown per date [1] (≤ 0), e.g. from :func:`hashdesk.report.tearsheet.underwater`.
    """
    fig = plain_figure(
        [{"type": "scatter", "x": s.index, "y": 100 * s.to_numpy(), "mode": "lines", "name": name,
          "fill": "tozeroy", "line": {"width": 1.2}} for name, s in paths.items()],
        {"title": {"text": title or "Drawdown from peak"}, "xaxis": {"title": {"text": "date (UTC)"}},
         "yaxis": {"title": {"text": "drawdown [%]"}, "ticksuffix": "%", "rangemode": "tozero"},
         "hovermode": "x unified"})
    return styled(fig)


def monthly_returns_figure(table: pd.DataFrame, title: str = "") -> go.Figure:
    """Heatmap of monthly returns [%]: rows are tickers, columns months, red falls, blue rises.

    Parameters
    ----------
    table : pd.DataFrame
        Monthly returns [1], index ``YYYY-MM``, one column per ticker (e.g. from
        :func:`hashdesk.report.tearsheet.monthly_returns`).
    """
    z = 100 * table.T.to_numpy(dtype=float)
    lim = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
    text = [[("" if not np.isfinite(v) else f"{v:+.0f}") for v in row] for row in z]
    fig = go.Figure(go.Heatmap(
        z=z, x=list(table.index), y=list(table.columns), zmid=0, zmin=-lim, zmax=lim,
        colorscale="RdBu", text=text, texttemplate="%{text}", textfont={"size": 10},
        colorbar={"title": {"text": "%"}, "ticksuffix": "%"},
        hovertemplate="%{y} %{x}: %{z:+.2f}%<extra></extra>"))
    fig.update_layout(title=title or "Monthly returns", xaxis_title="month (UTC)",
                      height=max(300, 26 * len(table.columns) + 140))
    fig.update_xaxes(type="category", showgrid=False)
    fig.update_yaxes(autorange="reversed", showgrid=False)
    return styled(fig)
