"""Returns on the equity calendar, with bitcoin compounded across weekends and holidays.

Bitcoin trades every day; equities trade on exchange days. Every return here is measured
between two consecutive rows of the *equity's own* price history (its exchange calendar), and
the bitcoin return for the same row is the price ratio over exactly the same interval, so a
weekend or holiday move in bitcoin lands on the next exchange day (Monday). Nothing is ever
forward-filled: a price missing on a calendar date makes the returns that touch it NaN, and an
interval longer than ``max_gap_days`` (a delisting, a data hole) gives NaN rather than one
giant return.

Conventions (DESIGN.md §4)
--------------------------
* Simple returns ``r_t = P_t / P_{t-1} - 1``; log returns ``ln(P_t / P_{t-1})``.
* BTC-USD "close" of UTC day *d* is the fixing at 00:00 UTC of *d+1* (Coin Metrics
  ``PriceUSD``); before 2021-12-08 the blockchain.com MKPRU value of day *d+1* is used (MKPRU
  is lagged one day, SOURCES.md §8). That fixing is 3-4 h after the US close of day *d*: close
  but not synchronous, hence the Dimson beta in :mod:`hashdesk.market.risk` and the weekly
  option here.
* Annualise equity-calendar series with 252 (weekly: 52), bitcoin's own daily series with 365.

References
----------
.. [1] Campbell, Lo & MacKinlay (1997), *The Econometrics of Financial Markets*, ch. 1 (simple
   vs log returns) and ch. 4 (event studies).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import pandas as pd

#: Ticker of bitcoin in the store.
BTC = "BTC-USD"
#: Periods per year of an equity (exchange-day) series.
EQUITY_PERIODS_PER_YEAR: int = 252
#: Periods per year of bitcoin's own daily series (it trades every day).
BTC_PERIODS_PER_YEAR: int = 365
#: Periods per year of weekly (Friday-to-Friday) series.
WEEKLY_PERIODS_PER_YEAR: int = 52


class MarketDataError(ValueError):
    """Bad or insufficient market input (unknown ticker, empty window, all-NaN series, ...)."""


class Frequency(StrEnum):
    """Sampling of the return series."""

    daily = "daily"
    weekly = "weekly"


class ReturnKind(StrEnum):
    """Return convention."""

    simple = "simple"
    log = "log"


def periods_per_year(frequency: Frequency | str) -> int:
    """Annualisation factor of an equity-calendar series at ``frequency`` [periods/year]."""
    return WEEKLY_PERIODS_PER_YEAR if Frequency(frequency) == Frequency.weekly else EQUITY_PERIODS_PER_YEAR


def btc_close_series(coinmetrics: pd.Series, mkpru: pd.Series | None = None) -> tuple[pd.Series, pd.Series]:
    """Splice BTC-USD closes into one daily series stamped on UTC day *d* = fixing at 00:00 *d+1*.

    Parameters
    ----------
    coinmetrics : pd.Series
        Coin Metrics ``PriceUSD`` by UTC date [USD/BTC] (already the 00:00 UTC next-day fixing).
    mkpru : pd.Series, optional
        blockchain.com MKPRU by date [USD/BTC]; lagged one day, so its value of day *d+1* is
        used for day *d*. Only used for days before the first Coin Metrics day.

    Returns
    -------
    close : pd.Series
        Daily close [USD/BTC], DatetimeIndex (UTC dates), gaps left as gaps (no fill).
    source : pd.Series
        Source name of each day ('coinmetrics' or 'blockchaincom_mkpru').
    """
    cm = _as_daily(coinmetrics)
    parts = [cm]
    if mkpru is not None and len(mkpru):
        mk = _as_daily(mkpru)
        mk.index = mk.index - pd.Timedelta(days=1)
        first_cm = cm.index.min() if len(cm) else pd.Timestamp.max
        parts.insert(0, mk[mk.index < first_cm])
    close = pd.concat(parts).sort_index()
    source = pd.Series(
        np.where(close.index.isin(cm.index), "coinmetrics", "blockchaincom_mkpru"), index=close.index
    )
    return close.rename(BTC), source


def _as_daily(s: pd.Series) -> pd.Series:
    out = s.copy()
    out.index = pd.DatetimeIndex(pd.to_datetime(out.index)).normalize()
    return out.sort_index().astype(float)


@dataclass(frozen=True)
class AlignedReturns:
    """Returns of several series measured on one calendar.

    Attributes
    ----------
    returns : pd.DataFrame
        Returns per calendar row (simple or log, see ``kind``); the first row of the calendar
        is dropped (it has no previous price). NaN where a price is missing or a gap is too long.
    prices : pd.DataFrame
        Prices on the calendar [USD], exactly as stored (never filled).
    kind : ReturnKind
    frequency : Frequency
    periods_per_year : int
    warnings : tuple of str
        Gaps and missing prices found, each naming the series and dates.
    """

    returns: pd.DataFrame
    prices: pd.DataFrame
    kind: ReturnKind
    frequency: Frequency
    periods_per_year: int
    warnings: tuple[str, ...] = field(default_factory=tuple)


def week_end_calendar(dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Last date of each week (weeks ending Friday) present in ``dates``."""
    d = pd.DatetimeIndex(dates).sort_values()
    if len(d) == 0:
        return d
    s = pd.Series(d, index=d)
    return pd.DatetimeIndex(s.groupby(d.to_period("W-FRI")).max().to_numpy())


def returns_on_calendar(
    prices: pd.DataFrame,
    calendar: pd.DatetimeIndex,
    *,
    kind: ReturnKind | str = ReturnKind.simple,
    frequency: Frequency | str = Frequency.daily,
    max_gap_days: int | None = None,
) -> AlignedReturns:
    """Returns of every column of ``prices`` between consecutive dates of ``calendar``.

    A daily bitcoin column thereby compounds every day between two exchange days: the
    Friday→Monday row carries Saturday's and Sunday's moves.

    Parameters
    ----------
    prices : pd.DataFrame
        Prices [USD], DatetimeIndex of dates, one column per series; NaN/absent = no price.
    calendar : pd.DatetimeIndex
        The exchange days (usually the equity's own price dates), or week ends for weekly.
    kind : {'simple', 'log'}
    frequency : {'daily', 'weekly'}
        Only sets ``periods_per_year`` (252 or 52) and the labels; the calendar decides.
    max_gap_days : int, optional
        Intervals longer than this many calendar days give NaN (with a warning) instead of a
        return spanning a data hole. Default 7 for daily (exchange calendars never exceed 5
        days; 9/11: 6) and 14 for weekly (a holiday Friday makes a Thursday-to-Friday week).

    Returns
    -------
    AlignedReturns

    Raises
    ------
    MarketDataError
        If the calendar has fewer than two dates.
    """
    kind, frequency = ReturnKind(kind), Frequency(frequency)
    if max_gap_days is None:
        max_gap_days = 14 if frequency == Frequency.weekly else 7
    cal = pd.DatetimeIndex(calendar).sort_values().unique()
    if len(cal) < 2:
        raise MarketDataError(f"need at least two calendar dates for a return, got {len(cal)}")
    p = prices.reindex(cal)  # no fill: a missing price stays NaN
    v = p.to_numpy(dtype=float)
    ratio = v[1:] / v[:-1]  # row t: price on cal[t+1] over price on cal[t]
    gap_days = np.asarray((cal[1:] - cal[:-1]).days)
    too_long = gap_days > max_gap_days
    warnings: list[str] = []
    for i in np.flatnonzero(too_long):
        warnings.append(
            f"gap of {int(gap_days[i])} days from {cal[i].date()} to {cal[i + 1].date()}: no return across it"
        )
    ratio[too_long] = np.nan
    missing = np.isnan(v)
    for j in np.flatnonzero(missing.any(axis=0)):
        days = cal[missing[:, j]]
        shown = ", ".join(str(x.date()) for x in days[:5]) + (" …" if len(days) > 5 else "")
        warnings.append(f"{p.columns[j]}: no price on {len(days)} calendar date(s) ({shown}); returns touching them are NaN")
    rets = np.log(ratio) if kind == ReturnKind.log else ratio - 1.0
    return AlignedReturns(
        returns=pd.DataFrame(rets, index=cal[1:], columns=p.columns),
        prices=p,
        kind=kind,
        frequency=frequency,
        periods_per_year=periods_per_year(frequency),
        warnings=tuple(warnings),
    )


def simple_to_log(returns: pd.Series | np.ndarray) -> pd.Series | np.ndarray:
    """Log returns ``ln(1 + r)`` from simple returns ``r``."""
    return np.log1p(returns)


def log_to_simple(returns: pd.Series | np.ndarray) -> pd.Series | np.ndarray:
    """Simple returns ``exp(l) - 1`` from log returns ``l``."""
    return np.expm1(returns)


def cumulative_returns(returns: pd.Series) -> pd.Series:
    """Compounded return to each date, ``∏(1 + r) - 1`` (NaN periods count as 0, as in empyrical)."""
    return (1.0 + returns.fillna(0.0)).cumprod() - 1.0


def period_return(returns: pd.Series | np.ndarray) -> float:
    """Compounded simple return over the whole series, ``∏(1 + r) - 1``.

    Raises
    ------
    MarketDataError
        If no return is present.
    """
    r = np.asarray(returns, dtype=float)
    r = r[~np.isnan(r)]
    if r.size == 0:
        raise MarketDataError("no returns in the window (empty or all NaN)")
    return float(np.prod(1.0 + r) - 1.0)
