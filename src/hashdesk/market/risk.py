"""Risk and relative-performance statistics over simple-return series.

The first seven functions are the public contract (``hashdesk.market.beta`` …): they follow
empyrical's conventions — pandas Series or numpy arrays of *simple* returns, NaN-aware
(pairs with a NaN on either side are dropped; pandas inputs are aligned on their index),
``periods_per_year`` defaulting to 252 — and agree with ``empyrical`` to rounding. Unlike
empyrical they raise :class:`~hashdesk.market.returns.MarketDataError` on empty or all-NaN
input instead of returning NaN; a degenerate but valid input (a constant benchmark) gives NaN.

The rest add what empyrical lacks: OLS beta with standard error and R², up/down beta, the
Dimson lead/lag beta for non-synchronous closes, rolling beta and correlation. The regressions
are computed with numpy (the market model in closed form, Dimson's by least squares) and agree
with ``statsmodels`` OLS to 1e-10 (tested); statsmodels itself is not imported here (≈ 2.5 s of
start-up on the brief's path), only by :mod:`hashdesk.market.factors`.

References
----------
.. [1] Sharpe, W. F. (1966), "Mutual Fund Performance", J. Business 39(1).
.. [2] Sortino, F. & Price, L. (1994), "Performance Measurement in a Downside Risk Framework",
   J. Investing 3(3).
.. [3] Dimson, E. (1979), "Risk measurement when shares are subject to infrequent trading",
   J. Financial Economics 7(2), 197-226.
.. [4] Morningstar, "Upside/Downside Capture Ratio" methodology (annualised geometric means).
.. [5] empyrical (Quantopian; maintained as empyrical-reloaded), ``stats.py``.
.. [6] Greene, W. H. (2012), *Econometric Analysis*, 7th ed., §3.2 and §4.3 (least squares,
   s² = e'e / (n − K), Var(b) = s² (X'X)⁻¹, R² = 1 − e'e / Σ(y − ȳ)²).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hashdesk.market.returns import MarketDataError

ArrayLike = pd.Series | np.ndarray


# ---------------------------------------------------------------------------------------------
# input handling


def _one(returns: ArrayLike, name: str = "returns") -> np.ndarray:
    r = np.asarray(returns, dtype=float)
    if r.ndim != 1:
        raise MarketDataError(f"{name}: expected a 1-D series, got shape {r.shape}")
    r = r[~np.isnan(r)]
    if r.size == 0:
        raise MarketDataError(f"{name}: empty or all-NaN series")
    return r


def _pair(returns: ArrayLike, benchmark: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Align (pandas: on the index) and drop pairs with a NaN on either side."""
    if isinstance(returns, pd.Series) and isinstance(benchmark, pd.Series):
        both = pd.concat([returns.rename("r"), benchmark.rename("b")], axis=1, join="outer")
        r, b = both["r"].to_numpy(float), both["b"].to_numpy(float)
    else:
        r, b = np.asarray(returns, dtype=float), np.asarray(benchmark, dtype=float)
        if r.shape != b.shape or r.ndim != 1:
            raise MarketDataError(
                f"returns and benchmark must be 1-D of equal length, got {r.shape} and {b.shape}"
            )
    ok = ~(np.isnan(r) | np.isnan(b))
    if not ok.any():
        raise MarketDataError("returns/benchmark: no period with both values (empty or all-NaN)")
    return r[ok], b[ok]


def _need(n: int, minimum: int, what: str) -> None:
    if n < minimum:
        raise MarketDataError(f"{what}: needs at least {minimum} paired returns, got {n}")


# ---------------------------------------------------------------------------------------------
# public contract (empyrical conventions)


def beta(returns: ArrayLike, benchmark: ArrayLike) -> float:
    """Beta of ``returns`` on ``benchmark``: Cov(r, b) / Var(b) over paired periods.

    Parameters
    ----------
    returns, benchmark : pd.Series or np.ndarray
        Simple returns per period [1].

    Returns
    -------
    float
        Beta [1]; NaN if the benchmark is constant.

    References
    ----------
    .. [1] empyrical ``beta`` (population moments; the ratio is the OLS slope).
    """
    r, b = _pair(returns, benchmark)
    _need(r.size, 2, "beta")
    bc = b - b.mean()
    var = np.mean(bc * bc)
    return float(np.mean(bc * r) / var) if var >= 1e-30 else float("nan")


def alpha(returns: ArrayLike, benchmark: ArrayLike, periods_per_year: int = 252) -> float:
    """Annualised alpha, ``(1 + mean(r - β·b))^periods_per_year - 1``.

    Parameters
    ----------
    returns, benchmark : pd.Series or np.ndarray
        Simple returns per period [1].
    periods_per_year : int
        252 for exchange days, 365 for bitcoin's own daily series, 52 weekly.

    Returns
    -------
    float
        Annualised alpha [1/year] (compounded, as empyrical).
    """
    r, b = _pair(returns, benchmark)
    _need(r.size, 2, "alpha")
    bt = beta(r, b)
    return float((1.0 + np.mean(r - bt * b)) ** periods_per_year - 1.0)


def max_drawdown(returns: ArrayLike) -> float:
    """Largest peak-to-trough fall of the compounded wealth path (≤ 0) [1].

    The wealth path starts at 1 before the first return, so a first-day loss counts.
    """
    r = _one(returns)
    wealth = np.concatenate([[1.0], np.cumprod(1.0 + r)])
    peak = np.maximum.accumulate(wealth)
    return float(np.min(wealth / peak - 1.0))


def annual_volatility(returns: ArrayLike, periods_per_year: int = 252) -> float:
    """Annualised volatility, ``std(r, ddof=1) · sqrt(periods_per_year)`` [1/sqrt(year)]."""
    r = _one(returns)
    _need(r.size, 2, "annual_volatility")
    return float(np.std(r, ddof=1) * np.sqrt(periods_per_year))


def sharpe_ratio(returns: ArrayLike, periods_per_year: int = 252) -> float:
    """Annualised Sharpe ratio with zero risk-free rate, ``mean/std(ddof=1)·sqrt(ppy)`` [1]_.

    NaN when every return is equal (zero dispersion).
    """
    r = _one(returns)
    _need(r.size, 2, "sharpe_ratio")
    if r.max() == r.min():
        return float("nan")
    return float(np.mean(r) / np.std(r, ddof=1) * np.sqrt(periods_per_year))


def _annual_return(r: np.ndarray, periods_per_year: int) -> float:
    return float(np.prod(1.0 + r) ** (periods_per_year / r.size) - 1.0)


def up_capture(returns: ArrayLike, benchmark: ArrayLike, periods_per_year: int = 252) -> float:
    """Up-market capture: annualised return of ``returns`` over annualised return of the
    benchmark, both on the periods where the benchmark rose [4]_ (empyrical ``up_capture``)."""
    r, b = _pair(returns, benchmark)
    up = b > 0
    _need(int(up.sum()), 1, "up_capture (periods with benchmark > 0)")
    return _annual_return(r[up], periods_per_year) / _annual_return(b[up], periods_per_year)


def down_capture(returns: ArrayLike, benchmark: ArrayLike, periods_per_year: int = 252) -> float:
    """Down-market capture: as :func:`up_capture` on the periods where the benchmark fell."""
    r, b = _pair(returns, benchmark)
    down = b < 0
    _need(int(down.sum()), 1, "down_capture (periods with benchmark < 0)")
    return _annual_return(r[down], periods_per_year) / _annual_return(b[down], periods_per_year)


# ---------------------------------------------------------------------------------------------
# beyond empyrical


def sortino_ratio(returns: ArrayLike, periods_per_year: int = 252) -> float:
    """Annualised Sortino ratio (target 0): ``mean(r)·ppy / (sqrt(mean(min(r,0)²))·sqrt(ppy))`` [2]_."""
    r = _one(returns)
    _need(r.size, 2, "sortino_ratio")
    downside = np.sqrt(np.mean(np.minimum(r, 0.0) ** 2)) * np.sqrt(periods_per_year)
    return float(np.mean(r) * periods_per_year / downside) if downside > 0 else float("nan")


def correlation(returns: ArrayLike, benchmark: ArrayLike) -> float:
    """Pearson correlation over paired periods [1]; symmetric in its arguments."""
    r, b = _pair(returns, benchmark)
    _need(r.size, 3, "correlation")
    if r.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(r, b)[0, 1])


@dataclass(frozen=True)
class OLSBeta:
    """Market-model regression ``r = a + β·b + e``.

    Attributes
    ----------
    beta, beta_se : float
        Slope and its (non-robust) standard error [1].
    alpha_per_period : float
        Intercept [1/period].
    r_squared : float
    residual_std : float
        Standard deviation of residuals [1/period].
    n_obs : int
    """

    beta: float
    beta_se: float
    alpha_per_period: float
    r_squared: float
    residual_std: float
    n_obs: int


def ols_beta(returns: ArrayLike, benchmark: ArrayLike) -> OLSBeta:
    """OLS market model with intercept, ``r = a + β·b + e``, on paired periods (closed form).

    With centred sums ``Sbb = Σ(b − b̄)²``, ``Sbr = Σ(b − b̄)(r − r̄)``:
    ``β = Sbr / Sbb``, ``a = r̄ − β·b̄``, ``s² = Σe² / (n − 2)``, ``se(β) = sqrt(s² / Sbb)``,
    ``R² = 1 − Σe² / Σ(r − r̄)²`` [1]_ [6]_ (statsmodels ``OLS(...).fit()`` gives the same to
    1e-10; tested).

    Parameters
    ----------
    returns, benchmark : pd.Series or np.ndarray
        Simple returns per period [1].

    Returns
    -------
    OLSBeta
        All fields NaN except ``n_obs`` (and ``alpha_per_period`` = mean return) when the
        benchmark is constant, as :func:`beta`.

    References
    ----------
    .. [1] Campbell, Lo & MacKinlay (1997), §4.3 (market model).
    """
    r, b = _pair(returns, benchmark)
    n = r.size
    _need(n, 3, "ols_beta")
    b_mean, r_mean = b.mean(), r.mean()
    bc, rc = b - b_mean, r - r_mean
    s_bb = float(bc @ bc)
    if s_bb / n < 1e-30:
        nan = float("nan")
        return OLSBeta(nan, nan, float(r_mean), nan, nan, n)
    slope = float(bc @ rc) / s_bb
    resid = rc - slope * bc
    ssr = float(resid @ resid)
    scale = ssr / (n - 2)
    s_rr = float(rc @ rc)
    return OLSBeta(
        beta=slope,
        beta_se=float(np.sqrt(scale / s_bb)),
        alpha_per_period=float(r_mean - slope * b_mean),
        r_squared=1.0 - ssr / s_rr if s_rr > 0 else float("nan"),
        residual_std=float(np.sqrt(scale)),
        n_obs=n,
    )


def up_down_beta(returns: ArrayLike, benchmark: ArrayLike) -> tuple[float, float]:
    """Betas estimated separately on periods with benchmark > 0 and < 0 ([1], [1]).

    NaN for a side with fewer than 3 periods.
    """
    r, b = _pair(returns, benchmark)
    out = []
    for mask in (b > 0, b < 0):
        out.append(beta(r[mask], b[mask]) if mask.sum() >= 3 else float("nan"))
    return out[0], out[1]


@dataclass(frozen=True)
class DimsonBeta:
    """Dimson (1979) lead/lag beta: sum of slopes on benchmark lags ``-k..+k``.

    Attributes
    ----------
    beta : float
        Sum of the slopes [1].
    beta_se : float
        Standard error of the sum (from the coefficient covariance) [1].
    slopes : tuple of float
        Slopes on ``b_{t-k} … b_{t+k}`` (lag first).
    lags : int
    n_obs : int
    """

    beta: float
    beta_se: float
    slopes: tuple[float, ...]
    lags: int
    n_obs: int


def dimson_beta(returns: pd.Series, benchmark: pd.Series, lags: int = 1) -> DimsonBeta:
    """Regress ``r_t`` on ``b_{t-k}, …, b_t, …, b_{t+k}`` and sum the slopes [3]_.

    For miners vs bitcoin the 00:00 UTC fixing comes 3-4 h after the US close, so news in that
    gap reaches the stock one exchange day later: the lag-1 slope picks it up.

    Parameters
    ----------
    returns, benchmark : pd.Series
        Simple returns on the same calendar (same index) [1].
    lags : int
        k, the number of leads and lags (1 is usual for daily data).
    """
    if not isinstance(returns, pd.Series) or not isinstance(benchmark, pd.Series):
        returns, benchmark = pd.Series(np.asarray(returns, float)), pd.Series(np.asarray(benchmark, float))
    cols = {f"b{k:+d}": benchmark.shift(-k) for k in range(-lags, lags + 1)}
    frame = pd.concat([returns.rename("r"), pd.DataFrame(cols)], axis=1).dropna()
    _need(len(frame), 2 * lags + 4, "dimson_beta")
    y = frame["r"].to_numpy(float)
    x = np.column_stack([np.ones(len(frame)), frame.drop(columns="r").to_numpy(float)])
    # least squares through the pseudo-inverse, as statsmodels' OLS: b = X⁺y,
    # Var(b) = s² X⁺X⁺' with s² = e'e / (n − rank) [6]_
    x_pinv = np.linalg.pinv(x, rcond=1e-15)
    params = x_pinv @ y
    resid = y - x @ params
    scale = float(resid @ resid) / (len(y) - np.linalg.matrix_rank(x))
    slopes = params[1:]
    cov = (x_pinv @ x_pinv.T)[1:, 1:] * scale
    return DimsonBeta(
        beta=float(slopes.sum()),
        beta_se=float(np.sqrt(cov.sum())),
        slopes=tuple(float(s) for s in slopes),
        lags=lags,
        n_obs=len(frame),
    )


def rolling_beta_correlation(returns: pd.Series, benchmark: pd.Series, window: int) -> pd.DataFrame:
    """Rolling beta and correlation over ``window`` periods (each window needs all its pairs).

    Returns
    -------
    pd.DataFrame
        Columns ``beta``, ``correlation``, indexed by the window's last date.

    Raises
    ------
    MarketDataError
        If ``window`` < 3 or longer than the paired data.
    """
    both = pd.concat([returns.rename("r"), benchmark.rename("b")], axis=1).dropna()
    if window < 3:
        raise MarketDataError(f"window must be at least 3 periods, got {window}")
    if window > len(both):
        raise MarketDataError(f"window of {window} periods is longer than the {len(both)} paired returns")
    roll = both.rolling(window)
    cov = roll.cov().xs("b", level=1)["r"]
    var_b = both["b"].rolling(window).var()
    var_r = both["r"].rolling(window).var()
    out = pd.DataFrame({"beta": cov / var_b, "correlation": cov / np.sqrt(var_b * var_r)})
    return out.dropna(how="all")
