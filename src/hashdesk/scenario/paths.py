"""Stochastic paths for the scenario engine: BTC price, network hashrate and fees per block.

Each process is a small frozen dataclass with two vectorised methods, ``init(n, rng)`` returning
its state for ``n`` scenarios and ``step(...)`` advancing that state by one UTC day. The engine
(:mod:`hashdesk.scenario.engine`) calls them day by day, so memory is O(scenarios), whatever the
horizon. Fitting functions take plain arrays (no I/O) and return the dataclasses.

Time step is one day; annual figures use a 365-day year (bitcoin trades every day).

References
----------
.. [1] Glasserman, P. (2003). *Monte Carlo Methods in Financial Engineering*, §3.2 (exact GBM step).
.. [2] Künsch, H. R. (1989). The jackknife and the bootstrap for general stationary observations.
   *Annals of Statistics* 17(3) (moving-block bootstrap).
.. [3] DESIGN.md §3 (energy, breakeven hashprice = J/TH × 0.024 × USD/kWh).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: Days per year for bitcoin (trades every day).
DAYS_PER_YEAR: float = 365.0
#: kWh per day per (TH/s · J/TH) = 86,400 s / 3.6e6 J/kWh.
KWH_PER_DAY_PER_W: float = 0.024


class ScenarioInputError(ValueError):
    """Invalid scenario input (the message names the field)."""


def _check(cond: bool, field_name: str, message: str) -> None:
    if not cond:
        raise ScenarioInputError(f"{field_name}: {message}")


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

    def step(self, state: dict, day: int, rng: np.random.Generator) -> np.ndarray:
        """Advance one day; returns the price relative to the start price [dimensionless]."""
        dt = 1.0 / DAYS_PER_YEAR
        z = rng.standard_normal(state["log_ratio"].shape[0])
        state["log_ratio"] += (self.drift_per_year - 0.5 * self.vol_per_year**2) * dt + (
            self.vol_per_year * math.sqrt(dt)
        ) * z
        return np.exp(state["log_ratio"])


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
    """

    log_returns: np.ndarray = field(repr=False)
    block_days: int = 30
    window: str = "given"

    def __post_init__(self) -> None:
        r = np.asarray(self.log_returns, dtype=np.float64)
        _check(r.ndim == 1 and r.size >= 2, "price.log_returns", "need at least two daily returns")
        _check(bool(np.isfinite(r).all()), "price.log_returns", "contains NaN or inf")
        _check(1 <= self.block_days <= r.size, "price.block_days", f"must be in [1, {r.size}]")
        object.__setattr__(self, "log_returns", r)

    def init(self, n: int, rng: np.random.Generator) -> dict:
        return {"log_ratio": np.zeros(n), "pos": np.zeros(n, dtype=np.int64)}

    def step(self, state: dict, day: int, rng: np.random.Generator) -> np.ndarray:
        """Advance one day; returns the price relative to the start price [dimensionless]."""
        if day % self.block_days == 0:
            n = state["pos"].shape[0]
            state["pos"] = rng.integers(0, self.log_returns.size - self.block_days + 1, size=n)
        state["log_ratio"] += self.log_returns[state["pos"]]
        state["pos"] += 1
        return np.exp(state["log_ratio"])

    @property
    def drift_per_year(self) -> float:
        """Mean log-return of the sample, annualised [1/year]."""
        return float(self.log_returns.mean() * DAYS_PER_YEAR)

    @property
    def vol_per_year(self) -> float:
        """Standard deviation of the sample, annualised [1/sqrt(year)]."""
        return float(self.log_returns.std(ddof=1) * math.sqrt(DAYS_PER_YEAR))


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

    def daily_probability(self, months: np.ndarray) -> np.ndarray:
        """Shock start probability per day for calendar months 1..12 [1/day]."""
        w = np.asarray(self.seasonality, dtype=np.float64)
        w = w / w.mean()
        return 1.0 - np.exp(-self.rate_per_year / DAYS_PER_YEAR * w[np.asarray(months) - 1])


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

    def __post_init__(self) -> None:
        _check(self.marginal_efficiency_j_per_th > 0, "capitulation.marginal_efficiency_j_per_th", "must be > 0")
        _check(self.power_usd_per_kwh > 0, "capitulation.power_usd_per_kwh", "must be > 0")
        _check(0 <= self.efficiency_gain_per_year < 1, "capitulation.efficiency_gain_per_year", "must be in [0, 1)")
        _check(self.elasticity >= 0, "capitulation.elasticity", "must be >= 0")
        _check(self.adjust_days >= 1, "capitulation.adjust_days", "must be >= 1")

    def marginal_cost_usd_per_ph_day(self, day: float) -> float:
        """Marginal cost of hashing on a day after the start [USD/PH/day]."""
        eff = self.marginal_efficiency_j_per_th * (1 - self.efficiency_gain_per_year) ** (day / DAYS_PER_YEAR)
        return eff * KWH_PER_DAY_PER_W * self.power_usd_per_kwh * 1000.0


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

    Notes
    -----
    ``H_d = H_0 · (1+g)^{d/365} · exp(x_d) · (1 − shock_d) · κ_d`` with
    ``x_d = φ x_{d-1} + σ ε_d`` and ``κ`` relaxing towards ``min(1, (hp/c)^ε)``.
    """

    growth_per_year: float = 0.30
    noise_sd_per_day: float = 0.01
    noise_ar1: float = 0.9
    shocks: ShockModel | None = ShockModel()
    capitulation: CapitulationModel | None = CapitulationModel()
    window: str = "given"

    def __post_init__(self) -> None:
        _check(self.growth_per_year > -1, "hashrate.growth_per_year", "must be > -1")
        _check(self.noise_sd_per_day >= 0, "hashrate.noise_sd_per_day", "volatility must be >= 0")
        _check(0 <= self.noise_ar1 < 1, "hashrate.noise_ar1", "must be in [0, 1)")

    def init(self, n: int, rng: np.random.Generator) -> dict:
        return {
            "x": np.zeros(n),
            "kappa": np.ones(n),
            "shock_depth": np.zeros(n),
            "shock_left": np.zeros(n, dtype=np.int64),
        }

    def step(
        self, state: dict, day: int, month: int, hashprice_prev: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Advance one day; returns online hashrate relative to the start [dimensionless].

        Parameters
        ----------
        hashprice_prev : numpy.ndarray
            Previous day's network hashprice [USD/PH/day] (drives capitulation).
        month : int
            Calendar month 1..12 of the day (drives shock seasonality).
        """
        n = state["x"].shape[0]
        if self.noise_sd_per_day > 0:
            state["x"] *= self.noise_ar1
            state["x"] += self.noise_sd_per_day * rng.standard_normal(n)
        rel = math.exp(math.log1p(self.growth_per_year) * day / DAYS_PER_YEAR) * np.exp(state["x"])
        sh = self.shocks
        if sh is not None and sh.rate_per_year > 0:
            state["shock_left"] -= 1
            ended = state["shock_left"] <= 0
            state["shock_depth"][ended] = 0.0
            p = float(sh.daily_probability(np.array([month]))[0])
            new = np.flatnonzero(rng.random(n) < p)
            if new.size:
                a = sh.depth_mean * sh.depth_concentration
                depth = rng.beta(a, sh.depth_concentration - a, size=new.size)
                dur = rng.geometric(1.0 / sh.duration_days_mean, size=new.size)
                old = state["shock_depth"][new]
                state["shock_depth"][new] = 1 - (1 - old) * (1 - depth)
                state["shock_left"][new] = np.maximum(state["shock_left"][new], dur)
            rel = rel * (1.0 - state["shock_depth"])
        cap = self.capitulation
        if cap is not None and cap.enabled:
            cost = cap.marginal_cost_usd_per_ph_day(day)
            ratio = hashprice_prev / cost
            target = np.minimum(1.0, ratio if cap.elasticity == 1.0 else ratio**cap.elasticity)
            state["kappa"] += (target - state["kappa"]) / cap.adjust_days
            rel = rel * state["kappa"]
        return rel


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
        return {"y": np.zeros(n)}

    def step(self, state: dict, day: int, rng: np.random.Generator) -> np.ndarray:
        """Advance to day ``day`` (1-based); returns the fee level at 600-s blocks [sats/block].

        ``y_d = φ y_{d-1} + σ ε`` from ``y_0 = 0`` has variance
        ``v_d = σ²(1 − φ^{2d}) / (1 − φ²)``; the level is ``base · exp(y_d − v_d/2)``, whose mean
        is ``base`` on every day.
        """
        y = state["y"]
        if self.noise_sd_per_day == 0:
            return np.full(y.shape[0], self.base_sats_per_block)
        y *= self.noise_ar1
        y += self.noise_sd_per_day * rng.standard_normal(y.shape[0])
        phi2 = self.noise_ar1**2
        var = self.noise_sd_per_day**2 * (1 - phi2**day) / (1 - phi2)
        return self.base_sats_per_block * np.exp(y - 0.5 * var)


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
