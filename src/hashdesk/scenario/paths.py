"""Stochastic paths for the scenario engine: BTC price, network hashrate and fees per block.

Each process is a small frozen dataclass with two vectorised methods, ``init(n, rng)`` returning
its state for ``n`` scenarios and ``advance(...)`` moving that state over one *step* of ``n_days``
UTC days (the engine, :mod:`hashdesk.scenario.engine`, cuts every month into a few steps of about
a week). The processes are defined on days; a step draws what the days in it add up to, exactly
or with a stated error (:func:`ar1_step_moments`), so memory is O(scenarios) whatever the horizon
and the cost is per step, not per day. Fitting functions take plain arrays (no I/O) and return
the dataclasses.

The steps' arithmetic runs as compiled loops (:mod:`hashdesk.scenario.paths_kernels`, loaded on
first use); every random draw, ``exp``, ``log`` and ``**`` stays with numpy here, and the loops do
the same operations in the same order as numpy would, so results are bit-identical to the numpy
expressions they replace.

Annual figures use a 365-day year (bitcoin trades every day).

References
----------
.. [1] Glasserman, P. (2003). *Monte Carlo Methods in Financial Engineering*, §3.2 (exact GBM step).
.. [2] Künsch, H. R. (1989). The jackknife and the bootstrap for general stationary observations.
   *Annals of Statistics* 17(3) (moving-block bootstrap).
.. [3] DESIGN.md §3 (energy, breakeven hashprice = J/TH × 0.024 × USD/kWh).
.. [4] Hamilton, J. D. (1994). *Time Series Analysis*, §3.4 (AR(1) moments).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from hashdesk.economics.breakeven import breakeven_hashprice_usd_per_th_day

#: Days per year for bitcoin (trades every day).
DAYS_PER_YEAR: float = 365.0


def _kernels():
    """The compiled step loops (:mod:`hashdesk.scenario.paths_kernels`), imported on first use (numba's
    start-up costs about half a second; building and validating a spec never needs these loops)."""
    from hashdesk.scenario import paths_kernels

    return paths_kernels


class ScenarioInputError(ValueError):
    """Invalid scenario input (the message names the field)."""


def _check(cond: bool, field_name: str, message: str) -> None:
    if not cond:
        raise ScenarioInputError(f"{field_name}: {message}")


@dataclass(frozen=True)
class StepMoments:
    """How ``n`` days of a unit-innovation AR(1) add up (see :func:`ar1_step_moments`).

    Attributes
    ----------
    a_end, a_mean : float
        Weight of the start value ``x_0`` in the last day's value and in the mean of the days.
    chol : tuple of three float
        Lower Cholesky factor ``(l11, l21, l22)`` of the covariance of (last-day noise, mean noise).
    var_mean : float
        Variance of the mean noise.
    within : float
        Expected dispersion of the days' noise about their mean, ``E[(1/n) Σ_j (e_j − ē)²]``.
    """

    a_end: float
    a_mean: float
    chol: tuple[float, float, float]
    var_mean: float
    within: float

    def draw(self, rng: np.random.Generator, size: int, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Joint draw of ``scale ×`` (last-day noise, mean noise) for ``size`` scenarios.

        Two standard normals per scenario, drawn in float32 (numpy's float32 ziggurat: 24-bit
        resolution, a fifth cheaper than float64) and combined in float64. The models draw the
        same normals themselves and combine them in their compiled step loops (same products).
        """
        z = rng.standard_normal((2, size), dtype=np.float32)
        l11, l21, l22 = self.chol
        end = np.multiply(z[0], scale * l11, dtype=np.float64)
        mean = np.multiply(z[0], scale * l21, dtype=np.float64)
        mean += np.multiply(z[1], scale * l22, dtype=np.float64)
        return end, mean


@lru_cache(maxsize=256)
def ar1_step_moments(phi: float, n_days: int) -> StepMoments:
    """Exact joint law of an AR(1)'s last value and mean over a step of ``n_days`` days.

    Parameters
    ----------
    phi : float
        Daily AR(1) coefficient in ``[0, 1]`` (1 = random walk).
    n_days : int
        Days in the step.

    Returns
    -------
    StepMoments

    Notes
    -----
    ``x_j = φ^j x_0 + e_j`` with ``e_j = Σ_{i≤j} φ^{j−i} ε_i`` and unit ``ε`` (days ``j = 1..n``).
    ``(e_n, ē)`` is bivariate Gaussian with covariance from the coefficient matrix
    ``M_{ji} = φ^{j−i}`` (``i ≤ j``), so two normals per step give the last value and the mean of
    the ``n`` daily values *exactly in distribution* [4]_. Within-step variation is kept only
    through ``within`` (for Jensen terms such as ``mean_j e^{x_j} ≈ e^{x̄ + within/2}``).
    """
    j = np.arange(n_days)
    m = np.tril(float(phi) ** (j[:, None] - j[None, :]).clip(0))
    end, mean = m[-1], m.mean(axis=0)
    v_end, v_mean, cov = float(end @ end), float(mean @ mean), float(end @ mean)
    l11 = math.sqrt(v_end)
    l21 = cov / l11
    l22 = math.sqrt(max(v_mean - l21 * l21, 0.0))
    powers = float(phi) ** (j + 1.0)
    return StepMoments(
        a_end=float(phi) ** n_days,
        a_mean=float(powers.mean()),
        chol=(l11, l21, l22),
        var_mean=v_mean,
        within=float((m * m).sum() / n_days - v_mean),
    )


# -- price -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GBMPrice:
    """Geometric Brownian motion for the BTC price.

    Parameters
    ----------
    drift_per_year : float
        Expected log-return plus half the variance, ``μ`` [1/year].
    vol_per_year : float
        Volatility ``σ`` [1/sqrt(year)], must be >= 0.
    window : str
        Where the figures come from (e.g. ``"fitted 2021-12-29..2025-12-29"`` or ``"given"``).

    Notes
    -----
    Exact step [1]_: ``ln S_{t+1} = ln S_t + (μ − σ²/2)Δ + σ√Δ Z`` with ``Δ = 1/365``.
    """

    drift_per_year: float
    vol_per_year: float
    window: str = "given"

    def __post_init__(self) -> None:
        _check(math.isfinite(self.drift_per_year), "price.drift_per_year", "must be finite")
        _check(
            math.isfinite(self.vol_per_year) and self.vol_per_year >= 0,
            "price.vol_per_year",
            f"volatility must be >= 0, got {self.vol_per_year}",
        )

    def init(self, n: int, rng: np.random.Generator) -> dict:
        return {"log_ratio": np.zeros(n)}

    def daily_log_moments(self) -> tuple[float, float]:
        """Mean and standard deviation of a day's log-return [1/day, 1/day^½]."""
        m, s, _ = _gbm_step_constants(self.drift_per_year, self.vol_per_year, 1)
        return m, s

    def advance(self, state: dict, first_day: int, n_days: int, rng: np.random.Generator) -> np.ndarray:
        """Advance over days ``first_day .. first_day + n_days − 1``.

        Returns
        -------
        numpy.ndarray
            Mean over the step's days of the price relative to the start price [dimensionless].

        Notes
        -----
        The log-price is a random walk with daily drift ``m = (μ − σ²/2)/365`` and sd
        ``s = σ/√365``. The step's last value and the mean of its daily log-prices are drawn
        jointly and exactly (:func:`ar1_step_moments` with ``φ = 1``); the mean price is
        ``exp(L + log mean_j e^{m j} + s·ē + s²·W/2)`` with ``W`` the expected within-step dispersion:
        exact in expectation to ``O(s⁴ n²)`` (< 1e-7 relative at σ = 1/√y and 8-day steps).
        """
        lr = state["log_ratio"]
        m, s, det = _gbm_step_constants(self.drift_per_year, self.vol_per_year, n_days)
        if s > 0:  # what StepMoments.draw and the numpy lines below do, in one compiled pass
            l11, l21, l22 = ar1_step_moments(1.0, n_days).chol
            z = rng.standard_normal((2, lr.shape[0]), dtype=np.float32)
            out = np.empty(lr.shape[0])
            _kernels().gbm_step(z, s * l11, s * l21, s * l22, lr, det, m * n_days, out)
            return np.exp(out, out=out)
        out = lr.copy()
        out += det
        np.exp(out, out=out)
        lr += m * n_days
        return out


@lru_cache(maxsize=256)
def _gbm_step_constants(drift_per_year: float, vol_per_year: float, n_days: int) -> tuple[float, float, float]:
    """Daily drift ``m``, daily sd ``s`` and the step's deterministic log-mean term (see GBMPrice.advance)."""
    dt = 1.0 / DAYS_PER_YEAR
    m = (drift_per_year - 0.5 * vol_per_year**2) * dt
    s = vol_per_year * math.sqrt(dt)
    det = math.log(float(np.exp(m * np.arange(1, n_days + 1)).mean())) + 0.5 * s * s * ar1_step_moments(1.0, n_days).within
    return m, s, det


@dataclass(frozen=True)
class BootstrapPrice:
    """Moving-block bootstrap of historical daily log-returns.

    Parameters
    ----------
    log_returns : numpy.ndarray
        Historical daily log-returns ``ln(S_t / S_{t-1})`` [dimensionless].
    block_days : int
        Block length [days]; each block is a run of consecutive historical days, so volatility
        clustering within a block is kept [2]_.
    window : str
        Which dates the returns come from.
    block_weights : numpy.ndarray, optional
        Probability of each block start ``0 .. len(log_returns) − block_days`` (normalised here);
        None: uniform. :func:`age_block_weights` weights recent blocks more (a half-life).
    """

    log_returns: np.ndarray = field(repr=False)
    block_days: int = 30
    window: str = "given"
    block_weights: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        r = np.asarray(self.log_returns, dtype=np.float64)
        _check(r.ndim == 1 and r.size >= 2, "price.log_returns", "need at least two daily returns")
        _check(bool(np.isfinite(r).all()), "price.log_returns", "contains NaN or inf")
        _check(1 <= self.block_days <= r.size, "price.block_days", f"must be in [1, {r.size}]")
        object.__setattr__(self, "log_returns", r)
        if self.block_weights is not None:
            w = np.asarray(self.block_weights, dtype=np.float64)
            _check(w.shape == (r.size - self.block_days + 1,), "price.block_weights",
                   f"need one weight per block start ({r.size - self.block_days + 1}), got {w.size}")
            _check(bool(np.isfinite(w).all() and (w >= 0).all() and w.sum() > 0), "price.block_weights",
                   "must be finite, >= 0 and not all zero")
            object.__setattr__(self, "block_weights", w / w.sum())

    @property
    def day_weights(self) -> np.ndarray:
        """Probability that a bootstrapped day is each historical day (the block weights spread
        over their days) [sums to 1]."""
        r, b = self.log_returns, self.block_days
        w = np.full(r.size - b + 1, 1.0 / (r.size - b + 1)) if self.block_weights is None else self.block_weights
        return np.convolve(w, np.full(b, 1.0 / b))

    def init(self, n: int, rng: np.random.Generator) -> dict:
        r = self.log_returns
        cs = np.concatenate([[0.0], np.cumsum(r)])
        ce = np.concatenate([[0.0], np.cumsum(np.exp(cs[1:]))])
        state = {"log_ratio": np.zeros(n), "pos": np.zeros(n, dtype=np.int64), "cs": cs, "ce": ce}
        if self.block_weights is not None:
            cdf = np.cumsum(self.block_weights)
            cdf /= cdf[-1]
            state["cdf"] = cdf
        return state

    def advance(self, state: dict, first_day: int, n_days: int, rng: np.random.Generator) -> np.ndarray:
        """Advance over days ``first_day .. first_day + n_days − 1`` (blocks start on days that are
        multiples of ``block_days``).

        Returns
        -------
        numpy.ndarray
            Mean over the step's days of the price relative to the start price [dimensionless].

        Notes
        -----
        Exact: with prefix sums ``C_i = Σ_{k<i} r_k`` and ``E_i = Σ_{k<i} e^{C_{k+1}}``, days
        ``q+1 .. q+m`` of the historical sample add ``C_{q+m} − C_q`` to the log-price, and their
        prices sum to ``e^{L − C_q}(E_{q+m} − E_q)``.
        """
        lr, cs, ce = state["log_ratio"], state["cs"], state["ce"]
        total = np.zeros(lr.shape[0])
        e = np.empty(lr.shape[0])
        K = _kernels()
        day, end = first_day, first_day + n_days
        while day < end:
            off = day % self.block_days
            if off == 0:
                cdf = state.get("cdf")
                if cdf is None:
                    state["pos"] = rng.integers(0, self.log_returns.size - self.block_days + 1, size=lr.shape[0])
                else:
                    pos = np.searchsorted(cdf, rng.random(lr.shape[0]), side="right")
                    state["pos"] = np.minimum(pos, cdf.size - 1)
            m = min(end - day, self.block_days - off)
            pos = state["pos"]
            K.boot_gather(pos, off, cs, lr, e)  # L − C_q, q = pos + off
            np.exp(e, out=e)
            K.boot_add(pos, off, m, cs, ce, e, lr, total)  # total += e·(E_{q+m} − E_q); L += C_{q+m} − C_q
            day += m
        total /= n_days
        return total

    @property
    def drift_per_year(self) -> float:
        """Expected return of a bootstrapped day, ``365 · ln Σ_i w_i e^{r_i}`` with the day weights
        [1/year] (GBM's ``μ``: 0 for a martingale, ``E[S_t] = S_0``; see :func:`center_log_returns`)."""
        r = self.log_returns
        m = float(r.max())
        return float((m + math.log(float(self.day_weights @ np.exp(r - m)))) * DAYS_PER_YEAR)

    def daily_log_moments(self) -> tuple[float, float]:
        """Mean and standard deviation of a bootstrapped day's log-return (day weights) [1/day, 1/day^½]."""
        r, w = self.log_returns, self.day_weights
        mu = float(w @ r)
        return mu, math.sqrt(float(w @ (r - mu) ** 2))

    @property
    def vol_per_year(self) -> float:
        """Standard deviation of a bootstrapped day (the sample's, weighted by the day weights),
        annualised [1/sqrt(year)]."""
        if self.block_weights is None:
            return float(self.log_returns.std(ddof=1) * math.sqrt(DAYS_PER_YEAR))
        return self.daily_log_moments()[1] * math.sqrt(DAYS_PER_YEAR)


def age_block_weights(ages_days: np.ndarray, block_days: int, halflife_days: float | None) -> np.ndarray | None:
    """Block-start weights that halve every ``halflife_days`` of a block's age (None: uniform).

    Parameters
    ----------
    ages_days : numpy.ndarray
        Age of each daily return at the start [days].
    block_days : int
    halflife_days : float or None
        Half-life [days]; None or ``inf``: uniform weights.

    Returns
    -------
    numpy.ndarray or None
        ``0.5^(age of the block's middle day / half-life)`` per block start (unnormalised).
    """
    if halflife_days is None or not math.isfinite(halflife_days):
        return None
    _check(halflife_days > 0, "price.halflife_days", "must be > 0")
    a = np.asarray(ages_days, dtype=np.float64)
    mid = a[block_days // 2: a.size - block_days + 1 + block_days // 2]
    return np.exp2(-(mid - mid.min()) / halflife_days)


def center_log_returns(log_returns: np.ndarray, drift_per_year: float = 0.0,
                       day_weights: np.ndarray | None = None) -> np.ndarray:
    """Shift daily log-returns so that their expected gross return is ``e^{μ/365}``.

    Parameters
    ----------
    log_returns : numpy.ndarray
        Daily log-returns [dimensionless].
    drift_per_year : float
        Expected return ``μ`` [1/year]; 0 (the default of the scenario engine) makes the
        bootstrapped price a martingale, ``E[S_{t+1} / S_t] = 1``, so the history's drift is not
        carried into the future.
    day_weights : numpy.ndarray, optional
        How often the bootstrap draws each day (:attr:`BootstrapPrice.day_weights`); default equal.

    Returns
    -------
    numpy.ndarray
        ``r − ln Σ w_i e^{r_i} + μ/365``: the same shape of returns (volatility, tails, clustering
        within blocks), moved as a whole [2]_.
    """
    r = np.asarray(log_returns, dtype=np.float64)
    _check(r.size >= 1 and bool(np.isfinite(r).all()), "price.log_returns", "need finite returns")
    _check(math.isfinite(drift_per_year), "price.drift_per_year", "must be finite")
    w = np.full(r.size, 1.0 / r.size) if day_weights is None else np.asarray(day_weights, dtype=np.float64)
    _check(w.shape == r.shape, "price.day_weights", "need one weight per return")
    m = float(r.max())
    return r - (m + math.log(float((w / w.sum()) @ np.exp(r - m)))) + drift_per_year / DAYS_PER_YEAR


#: RiskMetrics decay of the exponentially weighted daily variance (fixed a priori, not fitted) [5]_.
RISKMETRICS_LAMBDA: float = 0.94
#: Finite returns whose mean square starts the exponentially weighted variance.
EWMA_INIT_DAYS: int = 30


def ewma_variance(log_returns: np.ndarray, lam: float = RISKMETRICS_LAMBDA,
                  init_days: int = EWMA_INIT_DAYS) -> np.ndarray:
    """Exponentially weighted daily variance known *before* each return (RiskMetrics, zero mean).

    Parameters
    ----------
    log_returns : numpy.ndarray
        Consecutive daily log-returns, oldest first [dimensionless]; NaN where a day is missing
        (the variance is then carried over unchanged).
    lam : float
        Decay ``λ`` in (0, 1) [dimensionless].
    init_days : int
        The recursion starts at the mean square of the first ``init_days`` finite returns.

    Returns
    -------
    numpy.ndarray
        ``v`` of length ``n + 1`` [1/day]: ``v[t]`` is the variance forecast for return ``t`` from
        the returns before it, ``v[t+1] = λ v[t] + (1 − λ) r_t²``; ``v[n]`` is the forecast for the
        day after the last return.

    References
    ----------
    .. [5] J.P. Morgan/Reuters (1996). *RiskMetrics — Technical Document*, 4th ed., §5.2.1
       (exponentially weighted volatility, λ = 0.94 for daily data).
    """
    r = np.asarray(log_returns, dtype=np.float64)
    _check(0.0 < lam < 1.0, "price.ewma_lambda", f"must be in (0, 1), got {lam}")
    fin = r[np.isfinite(r)]
    _check(fin.size >= init_days, "price.log_returns",
           f"need >= {init_days} finite returns to start the EWMA variance, got {fin.size}")
    v = np.empty(r.size + 1)
    cur = float(np.mean(fin[:init_days] ** 2))
    for t in range(r.size):
        v[t] = cur
        x = r[t]
        if x == x:  # finite (NaN: a missing day, carried over)
            cur = lam * cur + (1.0 - lam) * x * x
    v[r.size] = cur
    return v


def filtered_log_returns(log_returns: np.ndarray, var_before: np.ndarray, var_now: float,
                         day_weights: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Filtered historical simulation: returns rescaled from their own volatility to today's.

    Parameters
    ----------
    log_returns : numpy.ndarray
        Historical daily log-returns ``r_i`` [dimensionless].
    var_before : numpy.ndarray
        Each return's variance known the day before (:func:`ewma_variance`) [1/day], > 0.
    var_now : float
        Variance forecast for the first simulated day [1/day], > 0.
    day_weights : numpy.ndarray, optional
        How often the bootstrap draws each day (:attr:`BootstrapPrice.day_weights`); default equal.

    Returns
    -------
    (returns, m2)
        ``r*_i = √var_now · z_i / √m2`` with the standardised returns ``z_i = r_i / √var_before_i``
        and ``m2 = Σ w_i z_i²`` their second moment under the day weights, so a bootstrapped day
        has second moment ``var_now`` (the variance its forecast was scored with); and ``m2``.
        Centre the result afterwards (:func:`center_log_returns`) for a martingale price.

    References
    ----------
    .. [6] Hull, J. & White, A. (1998). Incorporating volatility updating into the historical
       simulation method for value-at-risk. *Journal of Risk* 1(1), 5–19.
    .. [7] Barone-Adesi, G., Giannopoulos, K. & Vosper, L. (1999). VaR without correlations for
       portfolios of derivative securities. *Journal of Futures Markets* 19(5), 583–602.
    """
    r = np.asarray(log_returns, dtype=np.float64)
    vb = np.asarray(var_before, dtype=np.float64)
    _check(vb.shape == r.shape, "price.var_before", "need one variance per return")
    _check(bool(np.isfinite(vb).all() and (vb > 0).all()), "price.var_before", "must be finite and > 0")
    _check(math.isfinite(var_now) and var_now > 0, "price.var_now", f"must be finite and > 0, got {var_now}")
    z = r / np.sqrt(vb)
    w = np.full(r.size, 1.0 / r.size) if day_weights is None else np.asarray(day_weights, dtype=np.float64)
    _check(w.shape == r.shape, "price.day_weights", "need one weight per return")
    m2 = float((w / w.sum()) @ (z * z))
    _check(m2 > 0, "price.log_returns", "all returns are zero")
    return z * math.sqrt(var_now / m2), m2


def fit_gbm(log_returns: np.ndarray, window: str = "given") -> GBMPrice:
    """Estimate GBM drift and volatility from daily log-returns.

    Parameters
    ----------
    log_returns : numpy.ndarray
        Daily log-returns [dimensionless].
    window : str
        Label of the dates used (kept in the result).

    Returns
    -------
    GBMPrice
        ``σ = sd(r)·√365``, ``μ = mean(r)·365 + σ²/2`` [1]_.
    """
    r = np.asarray(log_returns, dtype=np.float64)
    _check(r.size >= 2 and bool(np.isfinite(r).all()), "price.log_returns", "need >= 2 finite returns")
    vol = float(r.std(ddof=1) * math.sqrt(DAYS_PER_YEAR))
    return GBMPrice(float(r.mean() * DAYS_PER_YEAR + 0.5 * vol**2), vol, window)


# -- hashrate ----------------------------------------------------------------------------------

#: Default relative shock intensity per calendar month (Jan..Dec): winter storms (Dec–Feb) and
#: summer heat / grid peaks (Jun–Sep) in Texas-heavy fleets; normalised to mean 1 when used.
DEFAULT_SHOCK_SEASONALITY: tuple[float, ...] = (1.5, 1.2, 0.6, 0.5, 0.6, 1.0, 1.6, 1.8, 1.2, 0.6, 0.6, 0.8)


@dataclass(frozen=True)
class ShockModel:
    """Weather / curtailment shocks: part of the network switches off for some days.

    Parameters
    ----------
    rate_per_year : float
        Mean number of shocks per year [1/year] (seasonally modulated Poisson arrivals).
    depth_mean : float
        Mean share of hashrate offline during a shock [0–1]; depth ~ Beta with this mean.
    depth_concentration : float
        Beta concentration ``a + b`` (larger = less dispersed depths).
    duration_days_mean : float
        Mean duration [days]; duration = 1 + Geometric, so at least one day.
    seasonality : tuple of 12 float
        Relative intensity per calendar month (Jan..Dec), normalised to mean 1.
    """

    rate_per_year: float = 4.0
    depth_mean: float = 0.10
    depth_concentration: float = 10.0
    duration_days_mean: float = 3.0
    seasonality: tuple[float, ...] = DEFAULT_SHOCK_SEASONALITY

    def __post_init__(self) -> None:
        _check(self.rate_per_year >= 0, "shocks.rate_per_year", "must be >= 0")
        _check(0 < self.depth_mean < 1, "shocks.depth_mean", "must be in (0, 1)")
        _check(self.depth_concentration > 0, "shocks.depth_concentration", "must be > 0")
        _check(self.duration_days_mean >= 1, "shocks.duration_days_mean", "must be >= 1 day")
        _check(
            len(self.seasonality) == 12 and min(self.seasonality) >= 0 and sum(self.seasonality) > 0,
            "shocks.seasonality",
            "need 12 non-negative monthly weights, not all zero",
        )

    def expected_starts(self, months: np.ndarray) -> float:
        """Expected number of shock starts over days in calendar months ``months`` (1..12)."""
        return _expected_starts(self, np.asarray(months, dtype=np.int64).tobytes())

    def advance(self, state: dict, months: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Online share over one step whose days fall in calendar ``months`` [0–1].

        Notes
        -----
        Shock starts in the step are Poisson with mean ``Σ_days rate/365 · w_month``; each starts
        on a uniform day of the step, lasts ``D ~ Geometric(1/duration_days_mean)`` days (>= 1) with
        depth ``δ ~ Beta``. The step's online share is ``Π_k (1 − δ_k · a_k / n)`` over the shocks
        ``k`` active in it for ``a_k`` of its ``n`` days: exact for one shock, and off by at most
        ``δ_1 a_1 δ_2 a_2 / n²`` when two overlap partially. Days left over carry into the next
        step (overlapping carried shocks combine as ``1 − (1 − δ)(1 − δ')``, the longer one's days).
        Drawn as Poisson splitting (the same law): the step's shocks over all ``N`` scenarios
        number ``K ~ Poisson(N·λ)``, each in a uniform scenario ``⌊u·N⌋``, with start day ``⌊u'·n⌋``
        (uniform to 2^-53); one call per distribution.
        """
        online = np.ones(state["shock_depth"].shape[0])
        self.apply(state, months, rng, online)
        return online

    def apply(self, state: dict, months: np.ndarray, rng: np.random.Generator, rel: np.ndarray) -> None:
        """Multiply ``rel`` in place by the step's online share (what :meth:`advance` returns)."""
        depth, left = state["shock_depth"], state["shock_left"]
        n = depth.shape[0]
        n_days = len(months)
        carried = state.get("shock_rows")  # the rows with days left, kept between steps
        if carried is None:
            carried = np.flatnonzero(left)
        K = _kernels()
        if carried.size:  # the carried shocks' days in this step; rows whose shock ended drop out
            carried = carried[:K.shock_carry(carried, left, depth, rel, n_days)]
        lam = self.expected_starts(months)
        count = int(rng.poisson(lam * n)) if lam > 0 else 0
        if count:
            u_rows = rng.random(count)  # row ⌊u·n⌋
            a = self.depth_mean * self.depth_concentration
            d = rng.beta(a, self.depth_concentration - a, size=count)
            dur = rng.geometric(1.0 / self.duration_days_mean, size=count)
            u_start = rng.random(count)  # start day ⌊u'·n_days⌋, 0 .. n_days − 1
            mark = state.get("shock_mark")
            if mark is None:
                mark = state["shock_mark"] = np.zeros(n, dtype=np.int64)
                state["shock_keep"] = np.empty(n)
            stamp = state["shock_stamp"] = state.get("shock_stamp", 0) + 1
            new = np.empty(count, dtype=np.int64)
            k = K.shock_new(u_rows, n, d, dur, u_start, n_days, rel, depth, left, state["shock_keep"], mark,
                            stamp, new)
            if k:  # rows that had no days left join the carried ones
                carried = np.concatenate([carried, new[:k]])
        state["shock_rows"] = carried


@lru_cache(maxsize=4096)
def _expected_starts(model: ShockModel, months: bytes) -> float:
    """:meth:`ShockModel.expected_starts` for calendar months given as int64 bytes (cached)."""
    w = np.asarray(model.seasonality, dtype=np.float64)
    w = w / w.mean()
    return float(model.rate_per_year / DAYS_PER_YEAR * w[np.frombuffer(months, dtype=np.int64) - 1].sum())


@lru_cache(maxsize=4096)
def _poisson_cdf(lam: float) -> tuple[float, np.ndarray]:
    """``P(K = 0)`` and the Poisson CDF levels ``P(K <= j)``, ``j = 1, 2, ...`` (while they grow)."""
    p_k = math.exp(-lam)
    cdf, levels = p_k, []
    for j in range(1, 400):
        p_k *= lam / j
        nxt = cdf + p_k
        if nxt == cdf:
            break
        cdf = nxt
        levels.append(cdf)
    return math.exp(-lam), np.array(levels)


def fit_shock_model(
    depths: np.ndarray,
    durations_days: np.ndarray,
    years: float,
    depth_concentration: float = 10.0,
    seasonality: tuple[float, ...] = DEFAULT_SHOCK_SEASONALITY,
) -> ShockModel:
    """Method-of-moments :class:`ShockModel` from detected shocks.

    Parameters
    ----------
    depths : numpy.ndarray
        Mean offline share of each shock [0–1], e.g. shortfall / (baseline × days).
    durations_days : numpy.ndarray
        Duration of each shock [days].
    years : float
        Length of the history searched [years].
    depth_concentration, seasonality
        Kept as given (a handful of shocks cannot pin a Beta's spread or twelve monthly weights).

    Returns
    -------
    ShockModel
        ``rate = count / years``, ``depth_mean = mean(depths)``,
        ``duration_days_mean = mean(durations)``.

    Raises
    ------
    ScenarioInputError
        With fewer than two shocks, depths outside (0, 1) or durations under one day.
    """
    d = np.asarray(depths, dtype=np.float64)
    t = np.asarray(durations_days, dtype=np.float64)
    _check(d.size >= 2 and d.size == t.size, "shocks", f"need >= 2 detected shocks to fit, got {d.size}")
    _check(bool(((d > 0) & (d < 1)).all()), "shocks.depth", "every depth must be in (0, 1)")
    _check(bool((t >= 1).all()), "shocks.duration_days", "every duration must be >= 1 day")
    _check(years > 0, "shocks.years", "must be > 0")
    return ShockModel(
        rate_per_year=d.size / years,
        depth_mean=float(d.mean()),
        depth_concentration=depth_concentration,
        duration_days_mean=float(t.mean()),
        seasonality=seasonality,
    )


#: Where the default capitulation parameters come from: nowhere citable, and the output says so.
CAPITULATION_ASSUMPTION = (
    "hashdesk's assumption, not a sourced figure: a marginal fleet of 25 J/TH at 0.05 USD/kWh, "
    "10 %/y more efficient as fleets renew (the sourced cost curve of `hashdesk stress` describes "
    "June 2023 and is not dated to a start); `hashdesk simulate --capitulation-j-per-th / "
    "--capitulation-usd-per-kwh` set it, --no-capitulation turns it off"
)


@dataclass(frozen=True)
class CapitulationModel:
    """Network cost curve: hashrate switches off when hashprice falls under the marginal cost.

    Parameters
    ----------
    marginal_efficiency_j_per_th : float
        Efficiency of the marginal (least efficient still running) fleet [J/TH].
    power_usd_per_kwh : float
        Marginal miners' all-in power price [USD/kWh].
    efficiency_gain_per_year : float
        Yearly fall of the marginal J/TH as fleets renew [0–1 per year].
    elasticity : float
        Online share of the network when hashprice ``hp`` is below marginal cost ``c`` is
        ``(hp / c) ** elasticity`` [dimensionless].
    adjust_days : float
        Time constant of switching off / back on [days].
    source : str
        Where the parameters come from, shown with every result (default
        :data:`CAPITULATION_ASSUMPTION`: they are an assumption, not data).

    Notes
    -----
    Marginal cost [USD/PH/day] = J/TH × 0.024 × USD/kWh × 1000 [3]_.
    """

    marginal_efficiency_j_per_th: float = 25.0
    power_usd_per_kwh: float = 0.05
    efficiency_gain_per_year: float = 0.10
    elasticity: float = 1.0
    adjust_days: float = 7.0
    enabled: bool = True
    source: str = CAPITULATION_ASSUMPTION

    def __post_init__(self) -> None:
        _check(self.marginal_efficiency_j_per_th > 0, "capitulation.marginal_efficiency_j_per_th", "must be > 0")
        _check(self.power_usd_per_kwh > 0, "capitulation.power_usd_per_kwh", "must be > 0")
        _check(0 <= self.efficiency_gain_per_year < 1, "capitulation.efficiency_gain_per_year", "must be in [0, 1)")
        _check(self.elasticity >= 0, "capitulation.elasticity", "must be >= 0")
        _check(self.adjust_days >= 1, "capitulation.adjust_days", "must be >= 1")

    def set_by_user(self, origin: str, **values: float) -> CapitulationModel:
        """This model with ``values`` (field names) replaced and its source saying so.

        Parameters
        ----------
        origin : str
            Who set them, for the source (e.g. the command-line flags).
        **values : float
            ``marginal_efficiency_j_per_th`` [J/TH], ``power_usd_per_kwh`` [USD/kWh], … (checked
            as any model's fields).
        """
        m = replace(self, **values)
        return replace(m, source=(
            f"user: marginal fleet {m.marginal_efficiency_j_per_th:g} J/TH at {m.power_usd_per_kwh:g} USD/kWh "
            f"({origin}; the rest hashdesk's defaults: {100 * m.efficiency_gain_per_year:g} %/y efficiency "
            f"gain, elasticity {m.elasticity:g}, {m.adjust_days:g}-day adjustment)"))

    def marginal_cost_usd_per_ph_day(self, day: float) -> float:
        """Marginal cost of hashing on a day after the start [USD/PH/day]."""
        eff = self.marginal_efficiency_j_per_th * (1 - self.efficiency_gain_per_year) ** (day / DAYS_PER_YEAR)
        return 1000.0 * breakeven_hashprice_usd_per_th_day(eff, self.power_usd_per_kwh)


@dataclass(frozen=True)
class SupplyResponse:
    """Hashrate supply responds to hashprice, in both directions, after a lag.

    Parameters
    ----------
    gamma_per_day : float
        Extra daily log-growth of the network hashrate per unit log-deviation of hashprice from its
        reference ``lag_days`` earlier [1/day]; >= 0 (hashprice above its reference adds
        machines, below it removes them).
    lag_days : int
        Lag between the hashprice deviation and the growth it causes [days], >= 0.
    ref_days : float
        Time constant of the reference: an exponentially weighted mean of log hashprice [days].
    ref0 : float
        The reference at the start, ``ln`` of [USD/PH/day].
    z_history : tuple of float
        The deviation ``z = ln hp − ref`` on the ``len(z_history)`` days before the start (oldest
        first): what the first ``lag_days`` of the horizon respond to.
    window : str
        Where the figures come from.

    Notes
    -----
    ``d ln H / dt += γ · z(t − L)`` with ``z(t) = ln hp(t) − ref(t)`` and
    ``ref ← ref + (1 − e^{−n/τ})·(ln hp − ref)`` after each ``n``-day step (before the step: the
    reference is formed from earlier hashprices only). In the engine a step responds to the ``z``
    of the step that holds day ``mid-step − L`` (the history before the start, the latest
    simulated step when the lag is shorter than half a step), so the response comes from the
    hashprice the step before at the earliest.
    """

    gamma_per_day: float
    lag_days: int
    ref_days: float = 91.0
    ref0: float = 0.0
    z_history: tuple[float, ...] = ()
    window: str = "given"

    def __post_init__(self) -> None:
        _check(math.isfinite(self.gamma_per_day) and self.gamma_per_day >= 0, "hashrate.response.gamma_per_day",
               f"must be >= 0, got {self.gamma_per_day}")
        _check(self.lag_days >= 0, "hashrate.response.lag_days", "must be >= 0")
        _check(self.ref_days > 0, "hashrate.response.ref_days", "must be > 0")
        _check(math.isfinite(self.ref0), "hashrate.response.ref0", "must be finite")
        _check(all(math.isfinite(z) for z in self.z_history), "hashrate.response.z_history", "must be finite")

    def lagged_z(self, state: dict, first_day: int, n_days: int) -> float | np.ndarray:
        """The deviation a step responds to (scalar from the history, or per scenario)."""
        d_star = first_day + 0.5 * (n_days - 1) - self.lag_days
        buf = state["resp_buf"]
        if d_star < 0 or not buf:
            idx = math.floor(d_star) + len(self.z_history) if d_star < 0 else len(self.z_history) - 1
            return float(self.z_history[idx]) if 0 <= idx < len(self.z_history) else 0.0
        for first, _, z in reversed(buf):
            if first <= d_star:
                return z
        return buf[0][2]

    def record(self, state: dict, hashprice_prev: np.ndarray, first_day: int) -> None:
        """Fold the previous step's mean hashprice into the reference and keep its deviation."""
        prev_first, prev_n = state["resp_prev"]
        z = np.log(hashprice_prev)
        ref = state["resp_ref"]
        # z −= ref; ref += (1 − e^{−n/τ})·z, in place (the reference after the step)
        _kernels().response_record(z, ref, -math.expm1(-prev_n / self.ref_days))
        buf = state["resp_buf"]
        buf.append((prev_first, prev_n, z))
        while len(buf) > 1 and buf[1][0] <= first_day + 0.5 - self.lag_days - 60:
            buf.pop(0)


@dataclass(frozen=True)
class HashrateModel:
    """Installed hashrate trend × AR(1) log-noise × shocks × capitulation.

    Parameters
    ----------
    growth_per_year : float
        Trend growth of installed hashrate [1/year], e.g. 0.45 = +45 %/year.
    noise_sd_per_day : float
        Innovation sd of the AR(1) log-deviation [1/day^½], >= 0.
    noise_ar1 : float
        AR(1) coefficient of the daily log-deviation [0–1).
    shocks : ShockModel or None
        Curtailment shock process; None disables.
    capitulation : CapitulationModel or None
        Network cost curve; None disables.
    window : str
        Where the trend comes from.
    level_offset0 : float
        Mean start value of the log-deviation ``x`` (the fitted level at the start less
        ``ln H_0``) [dimensionless].
    level_sd0 : float
        Standard deviation of the start value of ``x`` (the level is estimated from noisy daily
        counts) [dimensionless].
    slope_sd0_per_day : float
        Standard deviation of the trend's slope about ``ln(1+g)/365`` (the trend is estimated)
        [1/day]; each scenario draws its slope once.
    level_slope_corr0 : float
        Correlation of the start level and the slope draws [−1, 1].
    response : SupplyResponse or None
        Supply response to hashprice (both directions, lagged); None disables.
    price_corr : float
        Correlation of each step's random-walk innovation of ``x`` with the price's standardised
        log-return over the same step [0, 1) (the engine passes it as ``state["price_u"]``); 0: none.

    Notes
    -----
    ``H_d = H_0 · (1+g)^{d/365} · e^{δ d} · exp(x_d + r_d) · (1 − shock_d) · κ_d`` with
    ``x_d = φ x_{d-1} + σ ε_d`` (``φ = 1``: a random walk; a step's ``ε`` correlates at
    ``price_corr`` with the price's standardised return over the step), ``x_0 ~ N(level_offset0, level_sd0²)``,
    the slope deviation ``δ ~ N(0, slope_sd0²)`` (correlated with ``x_0``), the response
    ``r_d = Σ_{d' < d} γ z(d' − L)`` (:class:`SupplyResponse`) and ``κ`` relaxing towards
    ``min(1, (hp/c)^ε)``.
    """

    growth_per_year: float = 0.30
    noise_sd_per_day: float = 0.01
    noise_ar1: float = 0.9
    shocks: ShockModel | None = ShockModel()
    capitulation: CapitulationModel | None = CapitulationModel()
    window: str = "given"
    level_offset0: float = 0.0
    level_sd0: float = 0.0
    slope_sd0_per_day: float = 0.0
    level_slope_corr0: float = 0.0
    response: SupplyResponse | None = None
    price_corr: float = 0.0

    def __post_init__(self) -> None:
        _check(self.growth_per_year > -1, "hashrate.growth_per_year", "must be > -1")
        _check(0 <= self.price_corr < 1, "hashrate.price_corr", f"must be in [0, 1), got {self.price_corr}")
        _check(self.noise_sd_per_day >= 0, "hashrate.noise_sd_per_day", "volatility must be >= 0")
        _check(0 <= self.noise_ar1 <= 1, "hashrate.noise_ar1", "must be in [0, 1]")
        _check(math.isfinite(self.level_offset0), "hashrate.level_offset0", "must be finite")
        _check(self.level_sd0 >= 0, "hashrate.level_sd0", "must be >= 0")
        _check(self.slope_sd0_per_day >= 0, "hashrate.slope_sd0_per_day", "must be >= 0")
        _check(-1 <= self.level_slope_corr0 <= 1, "hashrate.level_slope_corr0", "must be in [-1, 1]")

    @property
    def responds(self) -> bool:
        """True when the hashrate depends on the simulated hashprice (response or capitulation)."""
        cap = self.capitulation is not None and self.capitulation.enabled
        return cap or (self.response is not None and self.response.gamma_per_day > 0)

    def init(self, n: int, rng: np.random.Generator) -> dict:
        """The state of ``n`` scenarios at the start (draws the start level and slope when uncertain)."""
        x = np.full(n, self.level_offset0)
        slope = None
        if self.level_sd0 > 0 or self.slope_sd0_per_day > 0:
            z = rng.standard_normal((2, n))
            x += self.level_sd0 * z[0]
            if self.slope_sd0_per_day > 0:
                c = self.level_slope_corr0
                slope = self.slope_sd0_per_day * (c * z[0] + math.sqrt(max(1.0 - c * c, 0.0)) * z[1])
        state = {
            "x": x,
            "slope": slope,
            "kappa": np.ones(n),
            "shock_depth": np.zeros(n),
            "shock_left": np.zeros(n, dtype=np.int64),
            "shock_rows": np.zeros(0, dtype=np.int64),
        }
        if self.response is not None and self.response.gamma_per_day > 0:
            state.update(resp_ref=np.full(n, self.response.ref0), resp_buf=[], resp_prev=(0, 0),
                         resp_off=np.zeros(n))
        return state

    def advance(
        self,
        state: dict,
        first_day: int,
        months: np.ndarray,
        hashprice_prev: np.ndarray,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Advance over days ``first_day .. first_day + len(months) − 1``.

        Parameters
        ----------
        months : numpy.ndarray
            Calendar month 1..12 of each day of the step (shock seasonality).
        hashprice_prev : numpy.ndarray
            The previous step's mean network hashprice [USD/PH/day] (drives capitulation).

        Returns
        -------
        numpy.ndarray
            Mean online hashrate over the step relative to the start [dimensionless].

        Notes
        -----
        Mean of the trend over the step's days (exact); ``exp(x̄ + σ²W/2)`` for the AR(1) (``x̄``
        drawn exactly with the step's last value, :func:`ar1_step_moments`); a scenario's slope
        deviation ``δ`` as ``δ·(d₀ + (n−1)/2) + δ²(n²−1)/24`` (the log-mean of ``e^{δj}`` over the
        step's days to second order); the response's offset at mid-step (it grows linearly within
        the step); the shock online share (:meth:`ShockModel.advance`); and the mean of ``κ``,
        which relaxes towards a target held for the step, ``κ_j = t + (κ_0 − t)(1 − 1/A)^j``
        (exact for that target). The product of the step means stands for the mean of the daily
        products (error of second order in the within-step variation, < 0.1 % with the defaults).
        """
        n_days = len(months)
        trend = _trend_step_mean(self.growth_per_year, first_day, n_days)
        slope = state["slope"]
        resp = self.response if "resp_off" in state else None
        x = state["x"]
        if self.noise_sd_per_day > 0 or slope is not None or resp is not None or self.level_offset0 != 0 \
                or self.level_sd0 > 0:
            mom = ar1_step_moments(self.noise_ar1, n_days)
            sd = self.noise_sd_per_day
            c1, c2 = first_day + 0.5 * (n_days - 1), (n_days * n_days - 1) / 24.0  # the slope's terms
            if sd > 0:  # StepMoments.draw, the AR(1) update and the slope's terms in one compiled pass
                l11, l21, l22 = mom.chol
                z = rng.standard_normal((2, x.shape[0]), dtype=np.float32)
                u = state.get("price_u")
                if self.price_corr > 0 and u is not None:  # z0 ← ρ·u + √(1 − ρ²)·z0
                    z0 = z[0]
                    z0 *= math.sqrt(1.0 - self.price_corr ** 2)
                    z0 += self.price_corr * u
                rel = np.empty(x.shape[0])
                _kernels().ar1_step(z, sd * l11, sd * l21, sd * l22, x, mom.a_mean, mom.a_end,
                                    0.5 * sd * sd * mom.within + math.log(trend), x if slope is None else slope,
                                    c1, c2, slope is not None, rel)
            else:
                rel = x * mom.a_mean
                rel += math.log(trend)
                x *= mom.a_end
                if slope is not None:
                    rel += slope * c1
                    rel += slope * slope * c2
            if resp is not None:
                if first_day > 0:
                    resp.record(state, hashprice_prev, first_day)
                z = np.broadcast_to(np.asarray(resp.lagged_z(state, first_day, n_days), dtype=np.float64), rel.shape)
                # s = z·γ; rel += off; rel += s·(n + 1)/2; off += s·n (in place)
                _kernels().response_step(z, resp.gamma_per_day, 0.5 * (n_days + 1), n_days, state["resp_off"], rel)
                state["resp_prev"] = (first_day, n_days)
            np.exp(rel, out=rel)
        else:
            rel = np.full(x.shape[0], trend)
        sh = self.shocks
        if sh is not None and sh.rate_per_year > 0:
            sh.apply(state, months, rng, rel)
        cap = self.capitulation
        if cap is not None and cap.enabled:
            cost, mean_keep, end_keep = _capitulation_step(cap, first_day, n_days)
            hp = np.asarray(hashprice_prev, dtype=np.float64)
            if cap.elasticity != 1.0:  # (hp/c)^ε by numpy, then divided by 1 (exact)
                hp = hp / cost
                hp **= cap.elasticity
                cost = 1.0
            hp = np.broadcast_to(hp, rel.shape)
            # t = min(hp/c, 1); rel ·= (κ − t)·mean_keep + t; κ ← (κ − t)·end_keep + t (in place)
            _kernels().capitulate(hp, cost, state["kappa"], mean_keep, end_keep, rel)
        return rel


@lru_cache(maxsize=4096)
def _trend_step_mean(growth_per_year: float, first_day: int, n_days: int) -> float:
    """Mean of the trend ``(1+g)^{d/365}`` over days ``first_day .. first_day + n_days − 1``."""
    r = math.log1p(growth_per_year) / DAYS_PER_YEAR
    return math.exp(r * first_day) * float(np.exp(r * np.arange(n_days)).mean())


@lru_cache(maxsize=4096)
def _capitulation_step(cap: CapitulationModel, first_day: int, n_days: int) -> tuple[float, float, float]:
    """Marginal cost at mid-step [USD/PH/day], mean of ``keep^j`` over the step's days and ``keep^n``."""
    keep = 1.0 - 1.0 / cap.adjust_days
    return (
        cap.marginal_cost_usd_per_ph_day(first_day + 0.5 * n_days),
        float((keep ** np.arange(1, n_days + 1)).mean()),
        keep**n_days,
    )


def fit_hashrate_trend(hashrate_ehs: np.ndarray, window: str = "given", smooth_days: int = 7) -> float:
    """Trend growth of network hashrate from a daily series.

    Parameters
    ----------
    hashrate_ehs : numpy.ndarray
        Daily hashrate estimates [EH/s], consecutive days.
    smooth_days : int
        Rolling mean applied first [days] (daily estimates carry ~8 % Poisson noise).

    Returns
    -------
    float
        ``exp(b·365) − 1`` where ``b`` is the OLS slope of ``ln H`` on the day number [1/year].
    """
    h = np.asarray(hashrate_ehs, dtype=np.float64)
    _check(h.size > 2 * smooth_days and bool((h > 0).all()), "hashrate history", f"need > {2 * smooth_days} positive days")
    sm = np.convolve(h, np.ones(smooth_days) / smooth_days, mode="valid")
    t = np.arange(sm.size, dtype=np.float64)
    slope = np.polyfit(t, np.log(sm), 1)[0]
    return float(math.expm1(slope * DAYS_PER_YEAR))


# -- fees --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeeModel:
    """Fees per block: AR(1) log-level × (block interval / 600 s)^β.

    Parameters
    ----------
    base_sats_per_block : float
        Long-run level of fees per block at 600-s blocks [sats].
    interval_elasticity : float
        ``β``: fees per block scale as ``(interval / 600 s)^β`` (slower blocks, fuller mempool).
    noise_sd_per_day : float
        Innovation sd of the daily log-level [1/day^½], >= 0.
    noise_ar1 : float
        AR(1) coefficient of the log-level deviation [0–1).
    window : str
        Where the figures come from.
    """

    base_sats_per_block: float
    interval_elasticity: float = 1.0
    noise_sd_per_day: float = 0.25
    noise_ar1: float = 0.9
    window: str = "given"

    def __post_init__(self) -> None:
        _check(self.base_sats_per_block >= 0, "fees.base_sats_per_block", "must be >= 0")
        _check(self.interval_elasticity >= 0, "fees.interval_elasticity", "must be >= 0")
        _check(self.noise_sd_per_day >= 0, "fees.noise_sd_per_day", "volatility must be >= 0")
        _check(0 <= self.noise_ar1 < 1, "fees.noise_ar1", "must be in [0, 1)")

    def init(self, n: int, rng: np.random.Generator) -> dict:
        return {"y": np.zeros(n), "var": 0.0}

    def advance(self, state: dict, n_days: int, rng: np.random.Generator) -> np.ndarray:
        """Advance over ``n_days`` days; returns the step's fee level at 600-s blocks [sats/block].

        ``y`` is a daily AR(1) from ``y_0 = 0``; its step mean ``ȳ`` and last value are drawn
        jointly and exactly (:func:`ar1_step_moments`). The level is ``base · exp(ȳ − V/2)`` with
        ``V`` the unconditional variance of ``ȳ`` (tracked exactly), so its mean is ``base`` in
        every step; the step level is lognormal where the mean of the daily lognormals is not
        quite (that is the approximation).
        """
        log_rel = self.advance_log(state, n_days, rng)
        if log_rel is None:
            return np.full(state["y"].shape[0], self.base_sats_per_block)
        return self.base_sats_per_block * np.exp(log_rel)

    def advance_log(self, state: dict, n_days: int, rng: np.random.Generator) -> np.ndarray | None:
        """:meth:`advance` as ``ln(level / base) = ȳ − V/2`` (None when the noise is off: 0).

        For callers that combine the level with other factors in one ``exp`` (the engine's
        interval elasticity); draws exactly what :meth:`advance` draws.
        """
        y = state["y"]
        if self.noise_sd_per_day == 0:
            return None
        mom = ar1_step_moments(self.noise_ar1, n_days)
        sd = self.noise_sd_per_day
        v_mean = mom.a_mean**2 * state["var"] + sd * sd * mom.var_mean
        l11, l21, l22 = mom.chol
        z = rng.standard_normal((2, y.shape[0]), dtype=np.float32)  # StepMoments.draw's normals
        mean = np.empty(y.shape[0])
        # ȳ − V/2 (adding −V/2 is bit-identical to subtracting V/2); y ← y·a_end + end, in place
        _kernels().ar1_step(z, sd * l11, sd * l21, sd * l22, y, mom.a_mean, mom.a_end, -(0.5 * v_mean),
                            y, 0.0, 0.0, False, mean)
        state["var"] = mom.a_end**2 * state["var"] + sd * sd * mom.chol[0] ** 2
        return mean


def fit_fee_model(blk_cnt: np.ndarray, fee_tot_btc: np.ndarray, level_days: int = 30, window: str = "given") -> FeeModel:
    """Fit :class:`FeeModel` to daily block counts and total fees.

    Parameters
    ----------
    blk_cnt : numpy.ndarray
        Blocks per day [blocks].
    fee_tot_btc : numpy.ndarray
        Fees per day [BTC].
    level_days : int
        The base level is the mean fee per block over the last ``level_days`` days [days].

    Returns
    -------
    FeeModel
        ``β`` from OLS of ``ln(fee/block)`` on ``ln(86,400 / blocks / 600)``; AR(1) ``φ`` and
        innovation sd from the residuals.
    """
    b = np.asarray(blk_cnt, dtype=np.float64)
    f = np.asarray(fee_tot_btc, dtype=np.float64)
    ok = (b > 0) & (f > 0) & np.isfinite(f)
    _check(int(ok.sum()) >= 30, "fee history", "need >= 30 days with blocks and fees")
    b, f = b[ok], f[ok]
    y = np.log(f * 1e8 / b)
    x = np.log(86_400.0 / b / 600.0)
    beta, alpha = np.polyfit(x, y, 1)
    res = y - (alpha + beta * x)
    phi = float(np.clip(np.corrcoef(res[:-1], res[1:])[0, 1], 0.0, 0.99))
    sd = float(np.std(res[1:] - phi * res[:-1], ddof=1))
    tail = slice(-level_days, None)
    base = float(f[tail].sum() * 1e8 / b[tail].sum())
    return FeeModel(base, float(max(beta, 0.0)), sd, phi, window)
