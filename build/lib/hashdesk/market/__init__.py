"""Miners versus bitcoin: returns on the equity calendar, risk, decoupling, events, factors,
cohorts and claim checks.

The public contract (empyrical conventions: pandas Series or numpy arrays of simple returns,
NaN-aware, ``periods_per_year`` defaulting to 252)::

    beta(returns, benchmark)
    alpha(returns, benchmark, periods_per_year=252)      # annualised
    max_drawdown(returns)
    annual_volatility(returns, periods_per_year=252)
    sharpe_ratio(returns, periods_per_year=252)
    up_capture(returns, benchmark)
    down_capture(returns, benchmark)

See ``docs/market.md`` for formulas, conventions and worked examples on the reference bundle.
"""

from hashdesk.market.returns import MarketDataError
from hashdesk.market.risk import (
    alpha,
    annual_volatility,
    beta,
    correlation,
    dimson_beta,
    down_capture,
    max_drawdown,
    ols_beta,
    rolling_beta_correlation,
    sharpe_ratio,
    sortino_ratio,
    up_capture,
    up_down_beta,
)

__all__ = [
    "MarketDataError",
    "alpha",
    "annual_volatility",
    "beta",
    "correlation",
    "dimson_beta",
    "down_capture",
    "max_drawdown",
    "ols_beta",
    "rolling_beta_correlation",
    "sharpe_ratio",
    "sortino_ratio",
    "up_capture",
    "up_down_beta",
]
