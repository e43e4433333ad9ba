"""Plotly figures of the chain: hashrate and difficulty over time, halvings marked.

Figures are :class:`plotly.graph_objects.Figure` objects for reuse by the report and web
surfaces; :func:`write_hashrate_difficulty_html` writes a self-contained file (plotly.js
embedded, no CDN). Dates are UTC.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hashdesk.chain.consensus import HALVING_INTERVAL, RETARGET_INTERVAL
from hashdesk.chain.hashrate import daily_hashrate
from hashdesk.chain.network import epoch_history, load_blocks, parse_at
from hashdesk.store.db import Store


def halving_times(epochs: pd.DataFrame, blocks: pd.DataFrame) -> pd.DataFrame:
    """UTC time of each past halving: the block's header time, else interpolated.

    Parameters
    ----------
    epochs : pandas.DataFrame
        From :func:`hashdesk.chain.network.epoch_history`.
    blocks : pandas.DataFrame
        From :func:`hashdesk.chain.network.load_blocks`.

    Returns
    -------
    pandas.DataFrame
        ``height``, ``time`` (UTC Timestamp), ``exact`` (False when interpolated linearly
        between the start times of the enclosing epoch and the next).
    """
    by_height = dict(zip(blocks.height.tolist(), blocks.time.tolist(), strict=True))
    starts = epochs.start_time.to_numpy(dtype=np.float64)
    rows = []
    h = HALVING_INTERVAL
    while h // RETARGET_INTERVAL + 1 < len(starts):
        e = h // RETARGET_INTERVAL
        if h in by_height:
            rows.append((h, float(by_height[h]), True))
        elif not np.isnan(starts[e]) and not np.isnan(starts[e + 1]):
            frac = (h - e * RETARGET_INTERVAL) / RETARGET_INTERVAL
            rows.append((h, starts[e] + frac * (starts[e + 1] - starts[e]), False))
        h += HALVING_INTERVAL
    out = pd.DataFrame(rows, columns=["height", "time", "exact"])
    out["time"] = pd.to_datetime(out["time"], unit="s", utc=True)
    return out


def hashrate_difficulty_figure(
    store: Store, start: str | None = None, end: str | None = None
) -> go.Figure:
    """Hashrate [EH/s] and difficulty on two axes, halvings marked.

    Parameters
    ----------
    store : Store
        Store with the chain tables.
    start, end : str, optional
        UTC dates ``YYYY-MM-DD`` bounding the chart [default: all data].

    Returns
    -------
    plotly.graph_objects.Figure
        Traces: epoch-mean hashrate (epochs table, step per epoch), daily and 7-day hashrate
        from per-block data (Σ work / window, where available), difficulty (step, right axis).
        Axes are logarithmic when a series spans more than two decades. Epochs whose successor
        has no known start time are left as gaps (never bridged).
    """
    ep = epoch_history(store)
    blocks = load_blocks(store)
    lo = pd.Timestamp(parse_at(start)[0] - 86_400, unit="s", tz="UTC") if start else None
    hi = pd.Timestamp(parse_at(end)[0], unit="s", tz="UTC") if end else None

    def clip(df: pd.DataFrame, col: str) -> pd.DataFrame:
        keep = df[col].notna()
        if lo is not None:
            keep &= df[col] >= lo
        if hi is not None:
            keep &= df[col] < hi
        return df[keep]

    # Break the difficulty step where the next epoch's start time is unknown (a data gap).
    ep["difficulty_drawn"] = ep.difficulty.where(ep.start_time.shift(-1).notna())
    eps = clip(ep, "start_utc")
    daily = daily_hashrate(blocks.height, blocks.time, blocks.bits)
    daily["date"] = pd.to_datetime(daily["date"], utc=True)
    daily = clip(daily, "date")
    if eps.empty and daily.empty:
        raise ValueError(f"no chain data between {start or '…'} and {end or '…'}")
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Scatter(x=eps.start_utc, y=eps.hashrate_ehs, name="hashrate, epoch mean [EH/s]",
                   mode="lines", line={"shape": "hv", "color": "steelblue"}),
        secondary_y=False,
    )
    if not daily.empty:
        gap = daily["date"].diff() != pd.Timedelta(days=1)  # separate per-block windows
        for _, part in daily.groupby(gap.cumsum()):
            first = part.index[0] == daily.index[0]
            fig.add_trace(
                go.Scatter(x=part["date"], y=part.hashrate_ehs, name="hashrate, daily [EH/s]",
                           mode="lines", line={"width": 1, "color": "lightgray"},
                           legendgroup="daily", showlegend=bool(first)),
                secondary_y=False,
            )
            fig.add_trace(
                go.Scatter(x=part["date"], y=part.hashrate_ehs.rolling(7).mean(),
                           name="hashrate, 7-day [EH/s]", mode="lines",
                           line={"color": "darkorange"}, legendgroup="7d",
                           showlegend=bool(first)),
                secondary_y=False,
            )
    fig.add_trace(
        go.Scatter(x=eps.start_utc, y=eps.difficulty_drawn, name="difficulty [-]", mode="lines",
                   line={"shape": "hv", "color": "seagreen", "dash": "dot"}),
        secondary_y=True,
    )
    x_lo = min(v for v in (eps.start_utc.min(), daily["date"].min()) if pd.notna(v))
    x_hi = max(v for v in (eps.start_utc.max(), daily["date"].max()) if pd.notna(v))
    for _, hv in halving_times(ep, blocks).iterrows():
        if x_lo <= hv.time <= x_hi:
            fig.add_vline(x=hv.time, line_dash="dash", line_color="firebrick")
            fig.add_annotation(x=hv.time, y=1.0, yref="paper", showarrow=False,
                               text=f"halving {int(hv.height):,}", xanchor="left",
                               yanchor="bottom", font={"color": "firebrick"})
    h = pd.concat([eps.hashrate_ehs, daily.hashrate_ehs]).dropna()
    log_h = len(h) > 0 and h[h > 0].max() / h[h > 0].min() > 100
    log_d = len(eps) > 0 and eps.difficulty.max() / eps.difficulty.min() > 100
    fig.update_yaxes(title_text="hashrate [EH/s]", type="log" if log_h else "linear",
                     secondary_y=False)
    fig.update_yaxes(title_text="difficulty [-]", type="log" if log_d else "linear",
                     secondary_y=True)
    fig.update_xaxes(title_text="date [UTC]")
    span = f"{x_lo:%Y-%m-%d} … {x_hi:%Y-%m-%d}"
    fig.update_layout(title=f"Bitcoin hashrate and difficulty, {span}", hovermode="x unified",
                      legend={"orientation": "h", "y": -0.15})
    return fig


def write_hashrate_difficulty_html(
    store: Store, path: str | Path, start: str | None = None, end: str | None = None
) -> Path:
    """Write :func:`hashrate_difficulty_figure` as a self-contained HTML file.

    Returns
    -------
    pathlib.Path
        The file written (plotly.js embedded; no network access needed to view it).
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    hashrate_difficulty_figure(store, start, end).write_html(out, include_plotlyjs=True)
    return out
