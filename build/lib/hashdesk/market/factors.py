"""Factor view: how much of a miner's return is bitcoin and how much is the AI/tech trade.

Two-factor regression ``r_t = α + β_btc·b_t + β_ai·q_t + e_t`` with bitcoin (compounded on the
exchange calendar) and an AI/tech factor — QQQ by default, or an equal-weight user basket —
over the whole window (with standard errors) and over a rolling window. A rising ``β_ai`` with
a falling ``β_btc`` is the measurable form of "the market prices miners as AI infrastructure".
The factors are correlated, so read the betas together with their standard errors.

References
----------
.. [1] Fama, E. F. & French, K. R. (1993), "Common risk factors in the returns on stocks and
   bonds", J. Financial Economics 33(1) (time-series factor regressions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hashdesk.market.returns import MarketDataError


@dataclass(frozen=True)
class FactorResult:
    """Output of :func:`factor_regression`.

    Attributes
    ----------
    name : str
    factors : tuple of str
        Factor names (columns of the input), e.g. ('btc', 'qqq').
    full : dict
        Whole-window fit: ``alpha_per_period``, ``r_squared``, ``n_obs`` and per factor
        ``beta_<f>``, ``beta_<f>_se``, ``beta_<f>_t``.
    rolling : pd.DataFrame
        ``beta_<f>`` per factor and ``r_squared`` by window end date (empty if no window).
    """

    name: str
    factors: tuple[str, ...]
    full: dict
    rolling: pd.DataFrame


def factor_regression(
    returns: pd.Series, factors: pd.DataFrame, *, window: int | None = 60, name: str = ""
) -> FactorResult:
    """Multi-factor OLS of ``returns`` on the columns of ``factors`` (statsmodels).

    Parameters
    ----------
    returns : pd.Series
        Simple returns [1].
    factors : pd.DataFrame
        Factor returns on the same calendar, one column per factor [1].
    window : int, optional
        Rolling window [periods]; None for the whole-window fit only.

    Raises
    ------
    MarketDataError
        Too few paired observations, or a window longer than the data.
    """
    import statsmodels.api as sm  # deferred: ~1 s of import, only needed here (not by basket)
    from statsmodels.regression.rolling import RollingOLS

    data = pd.concat([returns.rename("__r"), factors], axis=1).dropna()
    k = factors.shape[1]
    if len(data) < k + 3:
        raise MarketDataError(f"{name or 'factor regression'}: {len(data)} paired returns, need at least {k + 3}")
    x = sm.add_constant(data[factors.columns], has_constant="add")
    fit = sm.OLS(data["__r"], x).fit()
    full = {"alpha_per_period": float(fit.params["const"]), "r_squared": float(fit.rsquared), "n_obs": int(fit.nobs)}
    for f in factors.columns:
        full[f"beta_{f}"] = float(fit.params[f])
        full[f"beta_{f}_se"] = float(fit.bse[f])
        full[f"beta_{f}_t"] = float(fit.tvalues[f])
    rolling = pd.DataFrame()
    if window is not None:
        if window < k + 3:
            raise MarketDataError(f"window must be at least {k + 3} periods, got {window}")
        if window > len(data):
            raise MarketDataError(f"window of {window} periods is longer than the {len(data)} paired returns")
        roll = RollingOLS(data["__r"], x, window=window).fit()
        rolling = pd.DataFrame({f"beta_{f}": roll.params[f] for f in factors.columns})
        rolling["r_squared"] = np.asarray(roll.rsquared)
        rolling = rolling.dropna(how="all")
    return FactorResult(name, tuple(factors.columns), full, rolling)


def basket(returns: pd.DataFrame, min_members: int = 1) -> pd.Series:
    """Equal-weight, daily-rebalanced basket: mean of the members' returns each period.

    Parameters
    ----------
    returns : pd.DataFrame
        Member returns on one calendar [1]; NaN members are left out of that period's mean.
    min_members : int
        Periods with fewer members present give NaN.
    """
    n = returns.notna().sum(axis=1)
    return returns.mean(axis=1, skipna=True).where(n >= min_members)
