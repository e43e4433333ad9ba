"""Plotly figures of the chain: hashrate and difficulty over time, halvings marked.

Figures are :class:`plotly.graph_objects.Figure` objects for reuse by the report and web
surfaces; :func:`write_hashrate_difficulty_html` writes a self-contained file (plotly.js
embedded, no CDN). Dates are UTC.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hashdesk.chain.consensus import HALVING_INTERVAL, RETARGET_INTERVAL
from hashdesk.chain.hashrate import daily_hashrate, epoch_hashrate
from hashdesk.theme import add_marks, styled
from hashdesk.times import parse_at
from hashdesk.units import HS_PER_EHS


def epoch_history(epochs: pd.DataFrame) -> pd.DataFrame:
    """Epochs with their mean hashrate and start as a UTC timestamp.

    Parameters
    ----------
    epochs : pandas.DataFrame
        ``epoch``, ``bits``, ``difficulty``, ``start_time`` [unix s, NaN unknown]
        (:func:`hashdesk.data.chain.epochs`).

    Returns
    -------
    pandas.DataFrame
        A copy with ``hashrate_ehs`` (:func:`~hashdesk.chain.hashrate.epoch_hashrate`: 2016 ×
        work / elapsed, NaN without the next start time) [EH/s] and ``start_utc``.
    """
    ep = epochs.copy()
    ep["hashrate_ehs"] = epoch_hashrate(ep.bits, ep.start_time) / HS_PER_EHS
    ep["start_utc"] = pd.to_datetime(ep.start_time, unit="s", utc=True)
    return ep


def halving_times(epochs: pd.DataFrame, blocks: pd.DataFrame) -> pd.DataFrame:
    """UTC time of each past halving: the block's header time, else interpolated.

    Parameters
    ----------
    epochs : pandas.DataFrame
        From :func:`epoch_history`.
    blocks : pandas.DataFrame
        Per-block ``height``, ``time`` [unix s] (:func:`hashdesk.data.chain.blocks`).

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
    epochs: pd.DataFrame, blocks: pd.DataFrame, start: str | None = None, end: str | None = None,
    retargets: pd.DataFrame | None = None,
) -> go.Figure:
    """Hashrate [EH/s] and difficulty on two axes, halvings (and retargets) marked.

    Parameters
    ----------
    epochs : pandas.DataFrame
        :func:`hashdesk.data.chain.epochs` output.
    blocks : pandas.DataFrame
        Per-block ``height``, ``time`` [unix s], ``bits``.
    retargets : pandas.DataFrame, optional
        ``date`` and ``change_pct`` [%] of retargets to mark with their change.
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
    ep = epoch_history(epochs)
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
    # vertical markers as plain shapes and annotations, added at once (add_vline is slow)
    shapes, notes = [], []
    for _, hv in halving_times(ep, blocks).iterrows():
        if x_lo <= hv.time <= x_hi:
            shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": hv.time, "x1": hv.time,
                           "y0": 0, "y1": 1, "line": {"dash": "dash", "color": "firebrick"}})
            notes.append({"x": hv.time, "y": 1.0, "yref": "paper", "showarrow": False,
                          "text": f"halving {int(hv.height):,}", "xanchor": "left", "yanchor": "bottom",
                          "font": {"color": "firebrick"}})
    if retargets is not None:
        for _, rt in retargets.iterrows():
            x = pd.Timestamp(rt["date"])
            x = x.tz_localize("UTC") if x.tzinfo is None else x
            if x_lo <= x <= x_hi and pd.notna(rt["change_pct"]):
                shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0,
                               "y1": 1, "line": {"dash": "dot", "color": "slategray", "width": 1}})
                notes.append({"x": x, "y": 0.02, "yref": "paper", "showarrow": False, "textangle": -90,
                              "text": f"retarget {rt['change_pct']:+.2f}%", "xanchor": "right",
                              "yanchor": "bottom", "font": {"color": "slategray", "size": 10}})
    add_marks(fig, shapes, notes)
    h = pd.concat([eps.hashrate_ehs, daily.hashrate_ehs]).dropna()
    log_h = len(h) > 0 and h[h > 0].max() / h[h > 0].min() > 100
    log_d = len(eps) > 0 and eps.difficulty.max() / eps.difficulty.min() > 100
    fig.update_yaxes(title_text="hashrate [EH/s]", type="log" if log_h else "linear",
                     secondary_y=False)
    fig.update_yaxes(title_text="difficulty [-]", type="log" if log_d else "linear",
                     secondary_y=True, tickformat="~s")  # 71T, not 71,060,000,000,000
    fig.update_xaxes(title_text="date [UTC]")
    span = f"{x_lo:%Y-%m-%d} … {x_hi:%Y-%m-%d}"
    fig.update_layout(title=f"Bitcoin hashrate and difficulty, {span}", hovermode="x unified")
    return styled(fig)
