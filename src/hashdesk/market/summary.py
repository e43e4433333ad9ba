"""Per-ticker relative performance versus bitcoin (and WGMI / QQQ on request).

Pure functions over :class:`~hashdesk.market.inputs.MarketInputs`: build each ticker's returns
on its own exchange calendar (bitcoin compounded over the same intervals), then measure
return, excess return, OLS / up / down / Dimson beta, alpha, correlation, volatility, drawdown,
Sharpe, Sortino and capture ratios.

Conventions: statistics use simple returns (``log_return`` is reported alongside); the risk-free
rate is 0; daily series are annualised with 252 and weekly with 52; bitcoin's own row
(``calendar = 'btc_daily_utc'``) uses every UTC day and 365. ``excess_return_vs_X`` is the
arithmetic difference of the two period returns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from hashdesk.market import risk
from hashdesk.market.inputs import MarketInputs
from hashdesk.market.returns import (
    BTC,
    BTC_PERIODS_PER_YEAR,
    AlignedReturns,
    Frequency,
    MarketDataError,
    ReturnKind,
    period_return,
    returns_on_calendar,
    week_end_calendar,
)

#: Miner tickers of the reference bundle plus the WGMI miners ETF.
DEFAULT_TICKERS: tuple[str, ...] = (
    "MARA", "RIOT", "CLSK", "CIFR", "HUT", "BITF", "IREN", "CORZ", "WULF", "BTDR", "WGMI",
)
#: Benchmarks offered besides bitcoin.
BENCHMARKS: tuple[str, ...] = (BTC, "WGMI", "QQQ")


def suffix(benchmark: str) -> str:
    """Field suffix of a benchmark: 'BTC-USD' → 'btc', 'WGMI' → 'wgmi'."""
    return "btc" if benchmark == BTC else benchmark.lower().replace("-", "_").replace(".", "_")


def ticker_returns(
    inputs: MarketInputs,
    ticker: str,
    start: pd.Timestamp | str,
    end: pd.Timestamp | str,
    *,
    benchmarks: Sequence[str] = (BTC,),
    frequency: Frequency | str = Frequency.daily,
    kind: ReturnKind | str = ReturnKind.simple,
    non_operating: str = "exclude",
    max_gap_days: int | None = None,
) -> AlignedReturns:
    """Returns of ``ticker`` and its benchmarks on the ticker's own exchange calendar.

    The calendar is the dates with a stored close of ``ticker``; the first return in the window
    is measured from the last close before ``start``. Weekly = last exchange day of each week
    (weeks ending Friday).

    Parameters
    ----------
    inputs : MarketInputs
    ticker : str
    start, end : date-like
        Window of return dates (inclusive).
    benchmarks : sequence of str
        Columns measured on the same calendar (BTC-USD, WGMI, QQQ, …; must be in ``inputs``).
    frequency : {'daily', 'weekly'}
    kind : {'simple', 'log'}
    non_operating : {'exclude', 'warn'}
        What to do with SPAC / pre-merger dates (``ticker_history.is_operating_miner = false``).
    max_gap_days : int, optional
        Longest interval bridged by one return [calendar days] (default 7 daily, 14 weekly).

    Raises
    ------
    MarketDataError
        Ticker not loaded, or fewer than one return in the window.
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if ticker not in inputs.prices.columns:
        raise MarketDataError(f"unknown ticker {ticker!r}: not loaded")
    for b in benchmarks:
        if b not in inputs.prices.columns:
            raise MarketDataError(f"benchmark {b!r} not loaded")
    px = inputs.prices[ticker].dropna()
    px = px[px.index <= end]
    warnings: list[str] = []
    if ticker == BTC:
        cal = px.index  # bitcoin's own calendar: every UTC day
    else:
        keep = np.ones(len(px), dtype=bool)
        for w in inputs.non_operating:
            if w.ticker != ticker:
                continue
            inside = w.mask(px.index)
            in_window = inside & (px.index >= start)
            if in_window.any():
                what = "excluded" if non_operating == "exclude" else "INCLUDED"
                warnings.append(
                    f"{ticker}: {int(in_window.sum())} day(s) {px.index[in_window][0].date()}..{px.index[in_window][-1].date()} "
                    f"are {w.entity}, not an operating miner ({what})"
                )
            if non_operating == "exclude":
                keep &= ~inside
        cal = px.index[keep]
    if Frequency(frequency) == Frequency.weekly:
        cal = week_end_calendar(cal)
    before = cal[cal < start]
    inside = cal[cal >= start]
    if len(inside) == 0:
        raise MarketDataError(f"{ticker}: no prices between {start.date()} and {end.date()}")
    cal = inside if len(before) == 0 else before[-1:].append(inside)
    if len(before) == 0:
        warnings.append(f"{ticker}: no close before {start.date()}; first return starts {inside[0].date()}")
    if len(cal) < 2:
        raise MarketDataError(f"{ticker}: fewer than two closes between {start.date()} and {end.date()}")
    cols = [ticker, *dict.fromkeys(b for b in benchmarks if b != ticker)]
    ar = returns_on_calendar(
        inputs.prices[cols], cal, kind=kind, frequency=frequency, max_gap_days=max_gap_days
    )
    ppy = BTC_PERIODS_PER_YEAR if ticker == BTC and Frequency(frequency) == Frequency.daily else ar.periods_per_year
    return AlignedReturns(ar.returns, ar.prices, ar.kind, ar.frequency, ppy, (*warnings, *ar.warnings))


def _safe(fn, *args, **kw) -> float:
    try:
        return float(fn(*args, **kw))
    except MarketDataError:
        return float("nan")


def relative_fields(r: pd.Series, b: pd.Series, periods_per_year: int, s: str) -> dict[str, float]:
    """Relative statistics of ``r`` against ``b``, keys suffixed with ``s`` (e.g. 'btc').

    Keys: ``{s}_return``, ``excess_return_vs_{s}``, ``beta_{s}``, ``beta_{s}_se``, ``r2_{s}``,
    ``alpha_{s}`` [1/year], ``beta_{s}_up``, ``beta_{s}_down``, ``beta_{s}_dimson``,
    ``beta_{s}_dimson_se``, ``correlation_{s}``, ``up_capture_{s}``, ``down_capture_{s}`` and the
    timing-derived lead/lag beta (:func:`hashdesk.market.risk.lead_lag_beta`): ``beta_{s}_adj``
    (the beta used, with ``_se``), its terms ``beta_{s}_lag1`` / ``beta_{s}_same``, the next-day
    diagnostic ``beta_{s}_lead_diag`` (kept out of the sum) and ``beta_{s}_weekly``.
    """
    both = pd.concat([r.rename("r"), b.rename("b")], axis=1).dropna()
    out: dict[str, float] = {
        f"{s}_return": period_return(both["b"]) if len(both) else float("nan"),
    }
    out[f"excess_return_vs_{s}"] = period_return(both["r"]) - out[f"{s}_return"] if len(both) else float("nan")
    # already paired and NaN-free: the risk functions take the arrays as they are (no re-alignment)
    rr, bb = both["r"].to_numpy(float), both["b"].to_numpy(float)
    try:
        ols = risk.ols_beta(rr, bb)
        out.update({f"beta_{s}": ols.beta, f"beta_{s}_se": ols.beta_se, f"r2_{s}": ols.r_squared})
    except MarketDataError:
        out.update({f"beta_{s}": float("nan"), f"beta_{s}_se": float("nan"), f"r2_{s}": float("nan")})
    out[f"alpha_{s}"] = _safe(risk.alpha, rr, bb, periods_per_year)
    up, down = risk.up_down_beta(rr, bb) if len(both) else (math.nan, math.nan)
    out[f"beta_{s}_up"], out[f"beta_{s}_down"] = up, down
    try:
        dim = risk.dimson_beta(r, b)
        out[f"beta_{s}_dimson"], out[f"beta_{s}_dimson_se"] = dim.beta, dim.beta_se
    except MarketDataError:
        out[f"beta_{s}_dimson"] = out[f"beta_{s}_dimson_se"] = float("nan")
    # the lead/lag terms the two closes' timing calls for (BTC's fixing comes after the equity
    # close; an equity benchmark closes with the asset: same day only), and the weekly beta
    timing = {} if s == "btc" else {"benchmark_timing": risk.EQUITY_CLOSE_NY}
    try:
        out.update(risk.lead_lag_beta(r, b, **timing).as_record(s))
    except MarketDataError:
        out.update({f"beta_{s}_adj": float("nan"), f"beta_{s}_adj_se": float("nan"),
                    f"beta_{s}_weekly": float("nan")})
    out[f"correlation_{s}"] = _safe(risk.correlation, rr, bb)
    out[f"up_capture_{s}"] = _safe(risk.up_capture, rr, bb, periods_per_year)
    out[f"down_capture_{s}"] = _safe(risk.down_capture, rr, bb, periods_per_year)
    return out


def _own_record(
    inputs: MarketInputs,
    ticker: str,
    start: pd.Timestamp | str,
    end: pd.Timestamp | str,
    benchmarks: Sequence[str],
    frequency: Frequency | str,
    non_operating: str,
) -> tuple[dict, AlignedReturns, list[str]]:
    bench = [BTC] if ticker == BTC else [BTC, *[b for b in benchmarks if b != BTC]]
    ar = ticker_returns(inputs, ticker, start, end, benchmarks=bench, frequency=frequency,
                        non_operating=non_operating)
    r = ar.returns[ticker]
    if r.notna().sum() == 0:
        raise MarketDataError(f"{ticker}: all returns between {pd.Timestamp(start).date()} and {pd.Timestamp(end).date()} are NaN")
    ppy = ar.periods_per_year
    total = period_return(r)
    rec: dict = {
        "ticker": ticker,
        "first_date": r.index[0].date(),
        "last_date": r.index[-1].date(),
        "n_obs": int(r.notna().sum()),
        "frequency": str(ar.frequency),
        "calendar": "btc_daily_utc" if ticker == BTC else "exchange_days",
        "periods_per_year": ppy,
        "return": total,
        "log_return": math.log1p(total),
        "annual_volatility": _safe(risk.annual_volatility, r, ppy),
        "max_drawdown": _safe(risk.max_drawdown, r),
        "sharpe": _safe(risk.sharpe_ratio, r, ppy),
        "sortino": _safe(risk.sortino_ratio, r, ppy),
    }
    return rec, ar, bench


def own_record(
    inputs: MarketInputs,
    ticker: str,
    start: pd.Timestamp | str,
    end: pd.Timestamp | str,
    *,
    frequency: Frequency | str = Frequency.daily,
    non_operating: str = "exclude",
) -> dict:
    """A ticker's own performance over a window, without the statistics against benchmarks.

    The same numbers as :func:`ticker_record`'s first fields (one code path), at a fraction of
    its cost: ``ticker``, ``first_date``, ``last_date``, ``n_obs``, ``frequency``, ``calendar``,
    ``periods_per_year``, ``return`` [1], ``log_return`` [1], ``annual_volatility``
    [1/sqrt(year)], ``max_drawdown`` [1], ``sharpe``, ``sortino``.
    """
    return _own_record(inputs, ticker, start, end, (BTC,), frequency, non_operating)[0]


def ticker_record(
    inputs: MarketInputs,
    ticker: str,
    start: pd.Timestamp | str,
    end: pd.Timestamp | str,
    *,
    benchmarks: Sequence[str] = (BTC,),
    frequency: Frequency | str = Frequency.daily,
    non_operating: str = "exclude",
) -> dict:
    """One flat record of a ticker's performance and risk over a window (see module doc).

    Returns
    -------
    dict
        ``ticker``, ``first_date``, ``last_date``, ``n_obs``, ``frequency``, ``calendar``,
        ``periods_per_year``, ``return`` [1], ``log_return`` [1], ``annual_volatility``
        [1/sqrt(year)], ``max_drawdown`` [1], ``sharpe``, ``sortino`` (:func:`own_record`), the
        relative fields of :func:`relative_fields` for every benchmark, ``price_source`` and
        ``warnings``.
    """
    rec, ar, bench = _own_record(inputs, ticker, start, end, benchmarks, frequency, non_operating)
    r = ar.returns[ticker]
    for b in bench:
        rb = r if b == ticker else ar.returns[b]
        rec.update(relative_fields(r, rb, rec["periods_per_year"], suffix(b)))
    rec["price_source"] = "coinmetrics/blockchaincom_mkpru" if ticker == BTC else inputs.equity_source.get(ticker, "")
    src = inputs.btc_source.reindex(ar.prices.index).dropna()
    rec["btc_source"] = "+".join(sorted(set(src))) if len(src) else ""
    rec["warnings"] = list(ar.warnings)
    return rec


def market_summary(
    inputs: MarketInputs,
    tickers: Sequence[str],
    start: pd.Timestamp | str,
    end: pd.Timestamp | str,
    *,
    benchmarks: Sequence[str] = (BTC,),
    frequency: Frequency | str = Frequency.daily,
    non_operating: str = "exclude",
    strict: bool = True,
    include_btc: bool = True,
) -> tuple[list[dict], list[str]]:
    """Records of :func:`ticker_record` for every ticker (plus bitcoin's own row).

    Parameters
    ----------
    strict : bool
        Raise on a ticker without data in the window; otherwise skip it with a warning.
    include_btc : bool
        Append BTC-USD on its own daily UTC calendar (annualised with 365).

    Returns
    -------
    records : list of dict
    warnings : list of str
        Skipped tickers and input-level notes.
    """
    records, warnings = [], [*inputs.warnings, *inputs.notes]
    names = [t for t in tickers if t != BTC] + ([BTC] if include_btc else [])
    for t in names:
        try:
            records.append(ticker_record(inputs, t, start, end, benchmarks=benchmarks,
                                         frequency=frequency, non_operating=non_operating))
        except MarketDataError as exc:
            if strict:
                raise
            warnings.append(f"skipped: {exc}")
    if not records:
        raise MarketDataError(
            f"no ticker has returns between {pd.Timestamp(start).date()} and {pd.Timestamp(end).date()}"
        )
    return records, warnings


def panel_returns(
    inputs: MarketInputs,
    tickers: Sequence[str],
    start: pd.Timestamp | str,
    end: pd.Timestamp | str,
    *,
    frequency: Frequency | str = Frequency.daily,
    non_operating: str = "exclude",
) -> AlignedReturns:
    """Returns of several equities and BTC on their common exchange calendar.

    The calendar is the union of the tickers' stored dates (all trade on US exchange days); a
    ticker without a close on a date gets NaN for the returns touching it (never filled), and
    its non-operating (SPAC) dates are blanked when ``non_operating='exclude'``.

    Raises
    ------
    MarketDataError
        Unknown ticker or no dates in the window.
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    missing = [t for t in tickers if t not in inputs.prices.columns]
    if missing:
        raise MarketDataError(f"unknown ticker(s) {missing}: not loaded")
    px = inputs.prices[list(tickers)].copy()
    warnings = []
    if non_operating == "exclude":
        for w in inputs.non_operating:
            if w.ticker in px.columns:
                m = w.mask(px.index)
                if (m & (px.index >= start) & px[w.ticker].notna().to_numpy()).any():
                    warnings.append(f"{w.ticker}: {w.entity} days excluded (not an operating miner)")
                px.loc[m, w.ticker] = np.nan
    dates = px.dropna(how="all").index
    dates = dates[dates <= end]
    if Frequency(frequency) == Frequency.weekly:
        dates = week_end_calendar(dates)
    before, inside = dates[dates < start], dates[dates >= start]
    if len(inside) == 0:
        raise MarketDataError(f"no prices for {list(tickers)} between {start.date()} and {end.date()}")
    cal = before[-1:].append(inside)
    px[BTC] = inputs.prices[BTC]
    ar = returns_on_calendar(px, cal, frequency=frequency)
    return AlignedReturns(ar.returns, ar.prices, ar.kind, ar.frequency, ar.periods_per_year,
                          (*warnings, *ar.warnings))
