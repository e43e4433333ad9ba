"""Risk and relative-performance statistics over simple-return series.

The first seven functions are the public contract (``hashdesk.market.beta`` …): they follow
empyrical's conventions — pandas Series or numpy arrays of *simple* returns, NaN-aware
(pairs with a NaN on either side are dropped; pandas inputs are aligned on their index),
``periods_per_year`` defaulting to 252 — and agree with ``empyrical`` to rounding. Unlike
empyrical they raise :class:`~hashdesk.market.returns.MarketDataError` on empty or all-NaN
input instead of returning NaN; a degenerate but valid input (a constant benchmark) gives NaN.

The rest add what empyrical lacks: OLS beta with standard error and R², up/down beta, the
Dimson lead/lag beta for non-synchronous closes, rolling beta and correlation.
:func:`lead_lag_beta` derives the lead and lag terms from when each series is fixed
(:class:`CloseTiming`: the US equity close at 16:00 New York, the BTC fixing at 00:00 UTC, 3–4 h
later), so that the equity's return on day d is regressed on BTC's returns whose intervals it
overlaps (day d and the last 3–4 h of day d − 1, no lead), and reports the weekly beta beside
it. The regressions
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

import math
from dataclasses import dataclass
from datetime import time
from functools import lru_cache
from zoneinfo import ZoneInfo

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
        if returns.index.equals(benchmark.index) and returns.index.is_unique:  # already aligned
            r, b = returns.to_numpy(float), benchmark.to_numpy(float)
        else:
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
    """Dimson (1979) lead/lag beta: sum of slopes on benchmark offsets ``-lags..+leads``.

    Attributes
    ----------
    beta : float
        Sum of the slopes [1].
    beta_se : float
        Standard error of the sum (from the coefficient covariance) [1].
    slopes : tuple of float
        Slopes on ``b_{t-lags} … b_t … b_{t+leads}`` (lag first).
    lags : int
    n_obs : int
    leads : int or None
        Number of lead terms (None: as many as ``lags``, the symmetric regression).
    slope_se : tuple of float
        Standard error of each slope [1].
    """

    beta: float
    beta_se: float
    slopes: tuple[float, ...]
    lags: int
    n_obs: int
    leads: int | None = None
    slope_se: tuple[float, ...] = ()


def _offset_regression(
    returns: pd.Series, benchmark: pd.Series, offsets: tuple[int, ...], what: str
) -> tuple[np.ndarray, np.ndarray, int]:
    """OLS of ``r_t`` on a constant and ``b_{t+k}`` for k in ``offsets``: slopes, their covariance, n.

    Least squares through the pseudo-inverse, as statsmodels' OLS: b = X⁺y,
    Var(b) = s² X⁺X⁺' with s² = e'e / (n − rank) [6]_.
    """
    if not isinstance(returns, pd.Series) or not isinstance(benchmark, pd.Series):
        returns, benchmark = pd.Series(np.asarray(returns, float)), pd.Series(np.asarray(benchmark, float))
    if returns.index.equals(benchmark.index):
        r, b = returns.to_numpy(float), benchmark.to_numpy(float)
        cols = []
        for k in offsets:  # b_{t+k} on row t (Series.shift(-k) on the shared index)
            col = np.full(len(b), np.nan)
            if k >= 0:
                col[: len(b) - k] = b[k:]
            else:
                col[-k:] = b[: len(b) + k]
            cols.append(col)
        x = np.column_stack([np.ones(len(r)), *cols])
        keep = np.isfinite(r) & np.isfinite(x).all(axis=1)
        y, x = r[keep], x[keep]
    else:
        frame = pd.concat([returns.rename("r"), pd.DataFrame({f"b{k:+d}": benchmark.shift(-k) for k in offsets})],
                          axis=1).dropna()
        y = frame["r"].to_numpy(float)
        x = np.column_stack([np.ones(len(frame)), frame.drop(columns="r").to_numpy(float)])
    _need(len(y), len(offsets) + 3, what)
    x_pinv = np.linalg.pinv(x, rcond=1e-15)
    params = x_pinv @ y
    resid = y - x @ params
    scale = float(resid @ resid) / (len(y) - np.linalg.matrix_rank(x))
    cov = (x_pinv @ x_pinv.T)[1:, 1:] * scale
    return params[1:], cov, len(y)


def dimson_beta(
    returns: pd.Series, benchmark: pd.Series, lags: int = 1, leads: int | None = None
) -> DimsonBeta:
    """Regress ``r_t`` on ``b_{t-lags}, …, b_t, …, b_{t+leads}`` and sum the slopes [3]_.

    Which terms belong in the regression follows from when each price is fixed: see
    :func:`lead_lag_terms` and :func:`lead_lag_beta`, which derive them from the timing. For
    US-listed miners against the Coin Metrics 00:00 UTC BTC fixing that is one lag and no lead
    (``lags=1, leads=0``).

    Parameters
    ----------
    returns, benchmark : pd.Series
        Simple returns on the same calendar (same index) [1].
    lags : int
        Number of lagged benchmark terms (``b_{t-1}`` …).
    leads : int, optional
        Number of leading benchmark terms (``b_{t+1}`` …); default ``lags`` (symmetric, as
        Dimson's original specification).

    Returns
    -------
    DimsonBeta
    """
    nleads = lags if leads is None else int(leads)
    if lags < 0 or nleads < 0:
        raise MarketDataError(f"lags and leads must be >= 0, got {lags} and {nleads}")
    offsets = tuple(range(-lags, nleads + 1))
    slopes, cov, n = _offset_regression(returns, benchmark, offsets, "dimson_beta")
    return DimsonBeta(
        beta=float(slopes.sum()),
        beta_se=float(np.sqrt(cov.sum())),
        slopes=tuple(float(s) for s in slopes),
        lags=lags,
        n_obs=n,
        leads=leads,
        slope_se=tuple(float(s) for s in np.sqrt(np.diag(cov))),
    )


# ---------------------------------------------------------------------------------------------
# lead/lag beta from the timing of the two series


@dataclass(frozen=True)
class CloseTiming:
    """When the price stamped on date *d* is fixed.

    Attributes
    ----------
    label : str
        Words for the output.
    local_time : datetime.time
        Clock time of the fixing in ``tz``.
    tz : str
        IANA time zone (``America/New_York`` follows daylight saving: 16:00 is 21:00 UTC in
        winter, 20:00 UTC in summer).
    day_offset : int
        The price stamped on *d* is fixed on local date ``d + day_offset``.
    """

    label: str
    local_time: time
    tz: str
    day_offset: int = 0

    def instants(self, dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
        """UTC instants at which the prices stamped on ``dates`` are fixed."""
        d = pd.DatetimeIndex(dates).tz_localize(None).normalize() + pd.Timedelta(days=self.day_offset)
        local = d + pd.Timedelta(hours=self.local_time.hour, minutes=self.local_time.minute)
        return local.tz_localize(ZoneInfo(self.tz)).tz_convert("UTC")


#: US equity close: 16:00 New York on exchange day *d* (half days close at 13:00 and are
#: treated as 16:00; three or four a year).
EQUITY_CLOSE_NY = CloseTiming("US equity close, 16:00 America/New_York on d", time(16, 0), "America/New_York")
#: BTC-USD in the store: Coin Metrics ``PriceUSD``, the 00:00 UTC fixing of *d + 1*, i.e.
#: 19:00 (EST) or 20:00 (EDT) New York time on *d*.
BTC_FIXING_UTC = CloseTiming("Coin Metrics PriceUSD, 00:00 UTC of d+1 (19:00 EST / 20:00 EDT on d)",
                             time(0, 0), "UTC", 1)


@dataclass(frozen=True)
class LeadLagTerms:
    """Benchmark terms whose return interval overlaps the asset's, from the two timings.

    Attributes
    ----------
    terms : tuple of int
        Offsets k with overlap: the asset's return on row t shares time with the benchmark's
        return on row t + k (−1 = previous row, 0 = same row).
    overlap_hours : dict of int to tuple of float
        Per offset examined: (minimum, median, maximum) overlap over the rows [h].
    interval_hours : dict of int to float
        Per offset: median length of the benchmark's return interval [h].
    asset_timing, benchmark_timing : str
    """

    terms: tuple[int, ...]
    overlap_hours: dict[int, tuple[float, float, float]]
    interval_hours: dict[int, float]
    asset_timing: str
    benchmark_timing: str


def lead_lag_terms(
    dates: pd.DatetimeIndex,
    asset: CloseTiming = EQUITY_CLOSE_NY,
    benchmark: CloseTiming = BTC_FIXING_UTC,
    max_offset: int = 2,
) -> LeadLagTerms:
    """Which lead and lag terms a Dimson regression needs, from when each price is fixed.

    Both series' returns are measured between consecutive ``dates`` (the asset's calendar;
    the benchmark compounded over the same dates). Row t's asset return covers
    ``(A(d_{t−1}), A(d_t)]`` and the benchmark's return on row t + k covers
    ``(B(d_{t+k−1}), B(d_{t+k})]``, A and B the fixing instants. A benchmark term carries
    information the asset's return reflects exactly when the two intervals overlap (with
    synchronous pricing, r_t = β·x_t + e_t with x_t the benchmark's move over the asset's own
    interval; its covariance with b_{t+k} is β times the variance in the overlap) [3]_.

    Parameters
    ----------
    dates : pd.DatetimeIndex
        The asset's calendar (consecutive exchange days), at least three dates.
    asset, benchmark : CloseTiming
    max_offset : int
        Offsets −max_offset..+max_offset are examined.

    Returns
    -------
    LeadLagTerms
        For US equities against the 00:00 UTC BTC fixing: terms (−1, 0); offset 0 overlaps
        20–21 h (68–69 h on Mondays), offset −1 overlaps the 3 h (EST) or 4 h (EDT) from the
        equity close to the fixing, offset +1 starts after the equity close (no overlap).
    """
    d = pd.DatetimeIndex(dates).sort_values().unique()
    if len(d) < 3:
        raise MarketDataError(f"lead_lag_terms: need at least three dates, got {len(d)}")
    # tickers on one exchange share a calendar: the answer depends only on the dates and timings
    return _lead_lag_terms(d.tz_localize(None).as_unit("ns").asi8.tobytes(), asset, benchmark, max_offset)


@lru_cache(maxsize=64)
def _lead_lag_terms(days_ns: bytes, asset: CloseTiming, benchmark: CloseTiming, max_offset: int) -> LeadLagTerms:
    d = pd.DatetimeIndex(np.frombuffer(days_ns, dtype=np.int64).astype("datetime64[ns]"))
    a = asset.instants(d).as_unit("s").asi8  # [unix s]
    b = benchmark.instants(d).as_unit("s").asi8
    a_lo, a_hi = a[:-1], a[1:]  # row t = 1..N-1 (interval from d_{t-1} to d_t)
    overlap: dict[int, tuple[float, float, float]] = {}
    length: dict[int, float] = {}
    terms = []
    rows = np.arange(1, len(d))
    for k in range(-max_offset, max_offset + 1):
        j = rows + k
        ok = (j >= 1) & (j < len(d))
        if not ok.any():
            continue
        lo = np.maximum(a_lo[ok], b[j[ok] - 1])
        hi = np.minimum(a_hi[ok], b[j[ok]])
        hours = np.maximum(hi - lo, 0) / 3600.0
        overlap[k] = (float(hours.min()), float(np.median(hours)), float(hours.max()))
        length[k] = float(np.median((b[j[ok]] - b[j[ok] - 1]) / 3600.0))
        if hours.max() > 0:
            terms.append(k)
    return LeadLagTerms(tuple(terms), overlap, length, asset.label, benchmark.label)


#: Week convention of the weekly beta: weeks ending Friday (pandas ``W-FRI``).
WEEK_CONVENTION = (
    "weeks ending Friday (W-FRI): each week compounds its exchange days' daily returns, i.e. the "
    "price ratio from the previous week's last close to this week's last close (the first week "
    "starts at the first daily return's base close, a part-week if the series starts mid-week); "
    "a week with a missing daily return on either side is dropped"
)


@dataclass(frozen=True)
class LeadLagBeta:
    """Beta with the lead/lag terms the timing calls for, beside the weekly beta.

    Attributes
    ----------
    asset_timing, benchmark_timing : str
        When each series is fixed.
    terms : tuple of int
        Benchmark offsets regressed on (−1 = previous row, 0 = same row, +1 = next row).
    overlap_hours : tuple of float
        Median overlap of each term's return interval with the asset's [h].
    coefficients, standard_errors : tuple of float
        Slope of each term and its standard error [1].
    beta, beta_se : float
        Sum of the slopes (Dimson 1979) and its standard error [1].
    same_day_beta, same_day_beta_se : float
        OLS on the same-row benchmark return alone [1].
    lead_coefficient, lead_se : float
        Slope on the first offset after the last term (``b_{t+1}`` for miners vs BTC) when it is
        added to the regression: a diagnostic, not part of ``beta`` — non-zero means the
        benchmark's *later* move is predicted by the asset's return (the benchmark lagged) [1].
    weekly_beta, weekly_beta_se : float
        OLS beta on non-overlapping weekly returns [1] (NaN with fewer than 3 weeks).
    weekly_n_obs : int
    week_convention : str
    n_obs : int
        Daily rows in the lead/lag regression.
    used : str
        ``"lead_lag"`` or ``"weekly"``: which estimate ``beta_used`` is.
    beta_used, beta_used_se : float
    notes : tuple of str
        E.g. daily and weekly estimates that differ by more than two standard errors.
    """

    asset_timing: str
    benchmark_timing: str
    terms: tuple[int, ...]
    overlap_hours: tuple[float, ...]
    coefficients: tuple[float, ...]
    standard_errors: tuple[float, ...]
    beta: float
    beta_se: float
    same_day_beta: float
    same_day_beta_se: float
    lead_coefficient: float
    lead_se: float
    weekly_beta: float
    weekly_beta_se: float
    weekly_n_obs: int
    week_convention: str
    n_obs: int
    used: str
    beta_used: float
    beta_used_se: float
    notes: tuple[str, ...] = ()

    def as_record(self, suffix: str = "btc") -> dict[str, object]:
        """Flat fields for tables and JSON, e.g. ``beta_btc_leadlag``, ``beta_btc_weekly``."""
        s = suffix
        rec: dict[str, object] = {
            f"beta_{s}_leadlag": self.beta,
            f"beta_{s}_leadlag_se": self.beta_se,
            f"beta_{s}_leadlag_terms": list(self.terms),
        }
        for k, c, e in zip(self.terms, self.coefficients, self.standard_errors, strict=True):
            name = "same" if k == 0 else (f"lag{-k}" if k < 0 else f"lead{k}")
            rec[f"beta_{s}_{name}"], rec[f"beta_{s}_{name}_se"] = c, e
        rec.update({
            f"beta_{s}_lead_diag": self.lead_coefficient,
            f"beta_{s}_lead_diag_se": self.lead_se,
            f"beta_{s}_weekly": self.weekly_beta,
            f"beta_{s}_weekly_se": self.weekly_beta_se,
            f"beta_{s}_weekly_n": self.weekly_n_obs,
            f"beta_{s}_used": self.used,
            f"beta_{s}_adj": self.beta_used,
            f"beta_{s}_adj_se": self.beta_used_se,
            f"beta_{s}_timing": f"{self.asset_timing}; {self.benchmark_timing}",
        })
        return rec


def weekly_from_daily(returns: pd.Series, week: str = "W-FRI") -> pd.Series:
    """Compound daily simple returns into weekly ones (weeks ending Friday by default).

    A week with any NaN return is NaN. The result is indexed by the week's last date present.
    """
    r = returns.astype(float)
    idx = pd.DatetimeIndex(r.index)
    groups = idx.to_period(week)
    if idx.is_monotonic_increasing and len(idx):
        # sorted days: each week is one contiguous run; a NaN day makes its week NaN
        codes = groups.asi8
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        ends = np.r_[starts[1:], len(codes)] - 1
        out = np.multiply.reduceat(1.0 + r.to_numpy(), starts) - 1.0
        return pd.Series(out, index=idx[ends], name=r.name)
    grouped = (1.0 + r).groupby(groups)
    out = grouped.prod(min_count=1) - 1.0
    out[r.isna().groupby(groups).any().to_numpy()] = np.nan
    out.index = pd.DatetimeIndex(pd.Series(idx, index=idx).groupby(groups).max().to_numpy())
    return out


def lead_lag_beta(
    returns: pd.Series,
    benchmark: pd.Series,
    *,
    asset_timing: CloseTiming = EQUITY_CLOSE_NY,
    benchmark_timing: CloseTiming = BTC_FIXING_UTC,
    terms: tuple[int, ...] | None = None,
    use: str = "lead_lag",
) -> LeadLagBeta:
    """Beta with the lead/lag terms the two series' timing calls for, and the weekly beta.

    Parameters
    ----------
    returns, benchmark : pd.Series
        Daily simple returns on the asset's calendar (DatetimeIndex of its exchange days; the
        benchmark compounded between the same dates, as
        :func:`~hashdesk.market.returns.returns_on_calendar` does) [1].
    asset_timing, benchmark_timing : CloseTiming
        When each price is fixed (defaults: US equity close, Coin Metrics BTC fixing).
    terms : tuple of int, optional
        Override the benchmark offsets (default: :func:`lead_lag_terms` on the index).
    use : {'lead_lag', 'weekly'}
        Which estimate ``beta_used`` reports.

    Returns
    -------
    LeadLagBeta

    Notes
    -----
    With synchronous pricing, ``r_t = α + β·x_t + e_t`` where ``x_t`` is the benchmark's move
    over the asset's own interval; when that interval is covered by the benchmark intervals of
    the ``terms`` and the benchmark's increments are uncorrelated, each slope is β times the
    share of that term's variance inside the asset's interval and the slopes sum to β [3]_.
    The weekly beta needs no timing model (a few hours' offset over a 7-day interval) but has a
    fifth of the observations.

    References
    ----------
    .. [1] Dimson, E. (1979), J. Financial Economics 7(2), 197-226.
    .. [2] Scholes, M. & Williams, J. (1977), "Estimating betas from nonsynchronous data",
       J. Financial Economics 5(3), 309-327.
    """
    if use not in ("lead_lag", "weekly"):
        raise MarketDataError(f"use must be 'lead_lag' or 'weekly', got {use!r}")
    if not isinstance(returns, pd.Series) or not isinstance(returns.index, pd.DatetimeIndex):
        raise MarketDataError("lead_lag_beta: returns must be a pd.Series with a DatetimeIndex of exchange days")
    both = pd.concat([returns.rename("r"), benchmark.rename("b")], axis=1).sort_index()
    timing = lead_lag_terms(both.index, asset_timing, benchmark_timing)
    offs = tuple(sorted(terms)) if terms is not None else timing.terms
    if not offs:
        raise MarketDataError("lead_lag_beta: no benchmark term overlaps the asset's returns")
    slopes, cov, n = _offset_regression(both.r, both.b, offs, "lead_lag_beta")
    ll_beta, ll_se = float(slopes.sum()), float(np.sqrt(cov.sum()))
    lead_k = max(offs) + 1
    s2, c2, _ = _offset_regression(both.r, both.b, (*offs, lead_k), "lead_lag_beta (lead diagnostic)")
    same = ols_beta(both.r, both.b)
    wk = weekly_from_daily(both.r), weekly_from_daily(both.b)
    ok = wk[0].notna() & wk[1].notna()
    if ok.sum() >= 3:
        w = ols_beta(wk[0][ok], wk[1][ok])
        w_beta, w_se, w_n = w.beta, w.beta_se, w.n_obs
    else:
        w_beta, w_se, w_n = float("nan"), float("nan"), int(ok.sum())
    notes = []
    diff_se = math.hypot(ll_se, w_se)
    if np.isfinite(diff_se) and abs(ll_beta - w_beta) > 2 * diff_se:
        notes.append(
            f"weekly beta {w_beta:.2f} and lead/lag beta {ll_beta:.2f} differ by more than two standard errors"
        )
    if abs(s2[-1]) > 2 * math.sqrt(c2[-1, -1]):
        notes.append(
            f"the benchmark's next-row return is predicted by the asset's return (slope {s2[-1]:.2f}, "
            f"s.e. {math.sqrt(c2[-1, -1]):.2f}): the benchmark lagged; not part of the beta"
        )
    used = (ll_beta, ll_se) if use == "lead_lag" else (w_beta, w_se)
    return LeadLagBeta(
        asset_timing=timing.asset_timing,
        benchmark_timing=timing.benchmark_timing,
        terms=offs,
        overlap_hours=tuple(timing.overlap_hours.get(k, (np.nan,) * 3)[1] for k in offs),
        coefficients=tuple(float(x) for x in slopes),
        standard_errors=tuple(float(x) for x in np.sqrt(np.diag(cov))),
        beta=ll_beta,
        beta_se=ll_se,
        same_day_beta=same.beta,
        same_day_beta_se=same.beta_se,
        lead_coefficient=float(s2[-1]),
        lead_se=float(math.sqrt(c2[-1, -1])),
        weekly_beta=w_beta,
        weekly_beta_se=w_se,
        weekly_n_obs=w_n,
        week_convention=WEEK_CONVENTION,
        n_obs=n,
        used=use,
        beta_used=used[0],
        beta_used_se=used[1],
        notes=tuple(notes),
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
