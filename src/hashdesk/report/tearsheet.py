"""Tearsheet views for the Markets section: underwater drawdown and monthly returns.

Thin pure helpers over return series the market modules produce (no I/O, no new statistics):
the drawdown path whose minimum is :func:`hashdesk.market.risk.max_drawdown`, and returns
compounded within calendar months as :func:`hashdesk.market.returns.period_return` compounds a
period. BTC's monthly returns are taken from
:func:`hashdesk.report.sections.btc_period_record` month by month, so the heatmap's BTC row
quotes the one BTC return of each month the brief uses everywhere.

(Their natural home is ``hashdesk.market``: ``drawdown_path`` beside ``max_drawdown`` and
``monthly_returns`` beside ``period_return``.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def underwater(returns: pd.Series) -> pd.Series:
    """Drawdown from the running peak of compounded wealth at each date [1] (≤ 0).

    Parameters
    ----------
    returns : pandas.Series
        Simple returns per period [1], indexed by date; NaN periods count as 0.

    Returns
    -------
    pandas.Series
        ``W_t / max_{s≤t} W_s − 1`` with ``W_t = ∏_{s≤t}(1 + r_s)`` and the wealth path starting
        at 1 before the first return, so its minimum equals
        :func:`hashdesk.market.risk.max_drawdown` (Bacon, *Practical Portfolio Performance
        Measurement and Attribution*, 2nd ed., 2008, §4.3).
    """
    r = returns.fillna(0.0).to_numpy(dtype=float)
    wealth = np.cumprod(1.0 + r)
    peak = np.maximum.accumulate(np.concatenate([[1.0], wealth]))[1:]
    return pd.Series(wealth / peak - 1.0, index=returns.index, name=returns.name)


def monthly_returns(returns: pd.DataFrame) -> pd.DataFrame:
    """Simple returns compounded within each calendar month [1], one row per month.

    Parameters
    ----------
    returns : pandas.DataFrame
        Simple returns per period [1] (columns: tickers), DatetimeIndex (UTC dates).

    Returns
    -------
    pandas.DataFrame
        Index ``YYYY-MM``; a month where a column has no return is NaN, otherwise
        ``∏(1 + r) − 1`` over that month's periods (NaN periods skipped).
    """
    months = returns.index.to_period("M").astype(str)
    return (1.0 + returns).groupby(months).prod(min_count=1) - 1.0
