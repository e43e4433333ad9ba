"""Decoupling episodes: when a miner (or basket) stops moving with its bitcoin beta.

Market model ``r_t = α + β·b_t + e_t`` (OLS over the whole window). The trailing cumulative
residual over ``window`` periods, ``S_t = Σ_{j=t-w+1..t} e_j``, has standard deviation
``σ_e·√w`` if residuals are independent; an *episode* is a maximal run of periods where
``|S_t| > k·σ_e·√w`` with the same sign. Each episode is reported with its dates, its size
(``S`` at the peak) and the chain / production events that overlap it.

Residuals are in simple-return units and summed (not compounded): over a few weeks the
difference is second order, and the sum is what the band's variance describes.

References
----------
.. [1] Campbell, Lo & MacKinlay (1997), *The Econometrics of Financial Markets*, §4.3-4.4
   (market model, cumulative abnormal returns and their variance).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hashdesk.market.returns import MarketDataError, period_return
from hashdesk.market.risk import ols_beta


@dataclass(frozen=True)
class DecouplingResult:
    """Output of :func:`decoupling_episodes`.

    Attributes
    ----------
    name : str
    beta, alpha_per_period, residual_std : float
        Market-model fit [1], [1/period], [1/period].
    window : int
        Trailing window [periods].
    k : float
        Band width [sigmas].
    path : pd.DataFrame
        Per date: ``residual``, ``trailing_residual`` [1], ``band`` [1], ``z`` [sigmas].
    episodes : pd.DataFrame
        ``span_start`` (first date of the trailing window at the first breach), ``start`` and
        ``end`` (first/last date outside the band), ``n_periods``, ``direction`` ('up' = miner
        ahead of its BTC beta), ``peak_date``, ``size`` (trailing residual at the peak) [1],
        ``peak_z`` [sigmas], ``return`` and ``btc_return`` over ``span_start..end`` [1].
    """

    name: str
    beta: float
    alpha_per_period: float
    residual_std: float
    window: int
    k: float
    path: pd.DataFrame
    episodes: pd.DataFrame


def decoupling_episodes(
    returns: pd.Series,
    benchmark: pd.Series,
    *,
    window: int = 20,
    k: float = 2.0,
    merge_gap: int | None = None,
    name: str = "",
) -> DecouplingResult:
    """Find periods where the trailing cumulative residual leaves the ±k·σ·√window band.

    Parameters
    ----------
    returns, benchmark : pd.Series
        Simple returns on the same calendar [1].
    window : int
        Trailing window [periods] (20 exchange days ≈ one month).
    k : float
        Band half-width [sigmas].
    merge_gap : int, optional
        Breaches of the same sign separated by at most this many periods inside the band are
        one episode [periods]; default ``window // 4``.
    name : str
        Label (ticker or basket).

    Raises
    ------
    MarketDataError
        If ``window`` < 2, ``k`` <= 0, or the data are shorter than the window.
    """
    if window < 2:
        raise MarketDataError(f"window must be at least 2 periods, got {window}")
    if not k > 0:
        raise MarketDataError(f"k must be > 0 sigmas, got {k}")
    merge_gap = window // 4 if merge_gap is None else merge_gap
    both = pd.concat([returns.rename("r"), benchmark.rename("b")], axis=1).dropna()
    if len(both) < window + 2:
        raise MarketDataError(f"{name or 'series'}: window of {window} periods is longer than the {len(both)} paired returns")
    fit = ols_beta(both["r"], both["b"])
    resid = both["r"] - fit.alpha_per_period - fit.beta * both["b"]
    trailing = resid.rolling(window).sum()
    band = k * fit.residual_std * np.sqrt(window)
    path = pd.DataFrame({
        "residual": resid,
        "trailing_residual": trailing,
        "band": band,
        "z": trailing / (fit.residual_std * np.sqrt(window)),
    })
    sign = np.sign(trailing.where(trailing.abs() > band, 0.0).fillna(0.0)).astype(int)
    sign = _bridge(sign, merge_gap)
    rows = []
    # runs of one sign (positions on both's index, which path and sign share)
    s = sign.to_numpy()
    cuts = np.flatnonzero(s[1:] != s[:-1]) + 1
    z_all, trail_all, idx = path["z"].to_numpy(), path["trailing_residual"].to_numpy(), both.index
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(s)], strict=True):
        if s[a] == 0:
            continue
        peak = a + int(np.nanargmax(np.abs(z_all[a:b])))  # first largest |z|, as idxmax
        span = both.iloc[max(a - window + 1, 0): b]
        rows.append({
            "span_start": span.index[0].date(),
            "start": idx[a].date(),
            "end": idx[b - 1].date(),
            "n_periods": int(b - a),
            "direction": "up" if s[a] > 0 else "down",
            "peak_date": idx[peak].date(),
            "size": float(trail_all[peak]),
            "peak_z": float(z_all[peak]),
            "return": period_return(span["r"]),
            "btc_return": period_return(span["b"]),
        })
    cols = ["span_start", "start", "end", "n_periods", "direction", "peak_date", "size", "peak_z",
            "return", "btc_return"]
    return DecouplingResult(
        name=name,
        beta=fit.beta,
        alpha_per_period=fit.alpha_per_period,
        residual_std=fit.residual_std,
        window=window,
        k=k,
        path=path,
        episodes=pd.DataFrame(rows, columns=cols),
    )


def _bridge(sign: pd.Series, merge_gap: int) -> pd.Series:
    """Fill short runs of 0 lying between two runs of the same sign."""
    out = sign.to_numpy().copy()
    nz = np.flatnonzero(out)
    for a, b in zip(nz[:-1], nz[1:], strict=True):
        if 1 < b - a <= merge_gap + 1 and out[a] == out[b]:
            out[a + 1:b] = out[a]
    return pd.Series(out, index=sign.index)


def join_events(episodes: pd.DataFrame, events: pd.DataFrame, *, tickers: Sequence[str] | None = None,
                pad_days: int = 3) -> pd.DataFrame:
    """Attach to each episode the events overlapping ``[span_start - pad, end + pad]``.

    Parameters
    ----------
    episodes : pd.DataFrame
        From :class:`DecouplingResult`.
    events : pd.DataFrame
        ``date``, ``end_date`` (same as date for a point event), ``kind``, ``ticker`` (None for
        network-wide events), ``description``.
    tickers : sequence of str, optional
        Keep ticker-specific events of these tickers only (network events always kept).
    pad_days : int
        Calendar days added on both sides [days].

    Returns
    -------
    pd.DataFrame
        ``episodes`` with an ``events`` column (list of 'YYYY-MM-DD kind: description').
    """
    out = episodes.copy()
    if events.empty:
        out["events"] = [[] for _ in range(len(out))]
        return out
    ev = events.copy()
    ev["date"] = pd.to_datetime(ev["date"])
    ev["end_date"] = pd.to_datetime(ev["end_date"])
    if tickers is not None:
        ev = ev[ev["ticker"].isna() | ev["ticker"].isin(list(tickers))]
    pad = pd.Timedelta(days=pad_days)
    joined = []
    for e in out.itertuples(index=False):
        lo, hi = pd.Timestamp(e.span_start) - pad, pd.Timestamp(e.end) + pad
        hit = ev[(ev["date"] <= hi) & (ev["end_date"] >= lo)].sort_values("date")
        joined.append([f"{d.date()} {k}: {s}" for d, k, s in zip(hit["date"], hit["kind"], hit["description"], strict=True)])
    out["events"] = joined
    return out
