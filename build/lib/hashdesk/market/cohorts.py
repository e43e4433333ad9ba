"""Cohorts: user-defined baskets of miners compared with each other and with bitcoin.

Each cohort is an equal-weight basket rebalanced every period
(:func:`hashdesk.market.factors.basket`); the spread of cohort A over cohort B is the
long-A/short-B return ``r_A - r_B`` each period, compounded for its cumulative path. Default
cohorts: pure-play bitcoin miners versus miners pivoting to AI/HPC hosting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from hashdesk.market import risk
from hashdesk.market.factors import basket
from hashdesk.market.returns import BTC, MarketDataError, cumulative_returns, period_return
from hashdesk.market.summary import relative_fields

#: Default cohorts (editable on the command line).
DEFAULT_COHORTS: dict[str, tuple[str, ...]] = {
    "pure_play": ("MARA", "RIOT", "CLSK"),
    "hpc_pivot": ("CORZ", "IREN", "WULF", "CIFR", "HUT"),
}


@dataclass(frozen=True)
class CohortResult:
    """Output of :func:`cohort_analysis`.

    Attributes
    ----------
    returns : pd.DataFrame
        Per-period returns of each cohort, of BTC and of the spread(s) ``A_minus_B`` [1].
    cumulative : pd.DataFrame
        Compounded paths of the same columns [1].
    table : list of dict
        Per cohort / spread: ``cohort``, ``members``, ``return``, ``annual_volatility``,
        ``max_drawdown``, ``sharpe`` and the BTC relative fields (``beta_btc`` …).
    """

    returns: pd.DataFrame
    cumulative: pd.DataFrame
    table: list[dict]


def cohort_analysis(
    member_returns: pd.DataFrame,
    btc_returns: pd.Series,
    cohorts: Mapping[str, Sequence[str]],
    *,
    periods_per_year: int = 252,
    min_members: int = 1,
) -> CohortResult:
    """Baskets, their statistics versus BTC and the spread of the first cohort over the others.

    Parameters
    ----------
    member_returns : pd.DataFrame
        Returns of every member on one calendar [1].
    btc_returns : pd.Series
        BTC compounded over the same calendar [1].
    cohorts : mapping of name → tickers
        At least one cohort; with two or more, spreads are ``first - each other``.

    Raises
    ------
    MarketDataError
        No cohort, or a member without returns.
    """
    if not cohorts:
        raise MarketDataError("need at least one cohort")
    cols: dict[str, pd.Series] = {}
    for name, members in cohorts.items():
        missing = [m for m in members if m not in member_returns.columns]
        if missing:
            raise MarketDataError(f"cohort {name!r}: no returns for {missing}")
        cols[name] = basket(member_returns[list(members)], min_members=min_members)
    names = list(cohorts)
    for other in names[1:]:
        cols[f"{names[0]}_minus_{other}"] = cols[names[0]] - cols[other]
    cols[BTC] = btc_returns
    rets = pd.DataFrame(cols)
    table = []
    for c in rets.columns:
        r = rets[c]
        rec = {"cohort": c, "members": ",".join(cohorts.get(c, ())) if c in cohorts else "",
               "n_obs": int(r.notna().sum()), "return": period_return(r)}
        rec["annual_volatility"] = risk.annual_volatility(r, periods_per_year)
        rec["max_drawdown"] = risk.max_drawdown(r)
        rec["sharpe"] = risk.sharpe_ratio(r, periods_per_year)
        if c != BTC:
            rec.update(relative_fields(r, btc_returns, periods_per_year, "btc"))
        if c not in cohorts and c != BTC:  # a long-short spread: its excess over BTC means nothing
            rec.pop("btc_return")
            rec.pop("excess_return_vs_btc")
        table.append(rec)
    return CohortResult(rets, rets.apply(cumulative_returns), table)
