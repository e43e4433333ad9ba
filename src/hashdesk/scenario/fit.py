"""Fitting the scenario models on history: price returns, hashrate trend, fees, shocks.

Pure: the desk (:meth:`hashdesk.desk.Desk.scenario_spec`) reads the windows as of the start and
passes them here; the start state is the desk's network state at the start
(:func:`start_from_state`). Returns the frozen dataclasses of :mod:`hashdesk.scenario.engine`
and :mod:`hashdesk.scenario.paths`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
from numba import njit

from hashdesk.chain.consensus import RETARGET_INTERVAL
from hashdesk.economics.modelchain import MinerSpec
from hashdesk.economics.shocks import ShockError, ShockParams, detect_shocks, shock_signal
from hashdesk.economics.state import NetworkState
from hashdesk.scenario.engine import MinerEconomics, ScenarioSpec, StartState
from hashdesk.scenario.paths import (
    DAYS_PER_YEAR,
    RISKMETRICS_LAMBDA,
    BootstrapPrice,
    CapitulationModel,
    GBMPrice,
    HashrateModel,
    ScenarioInputError,
    ShockModel,
    SupplyResponse,
    age_block_weights,
    center_log_returns,
    ewma_variance,
    filtered_log_returns,
    fit_fee_model,
    fit_hashrate_trend,
    fit_shock_model,
)


def start_from_state(state: NetworkState) -> StartState:
    """The scenario start from the network state at the start time (the one owner of the network).

    Raises
    ------
    ScenarioInputError
        When the state lacks a price, a 7-day hashrate or fees (naming why).
    """
    missing = [n for n in ("price_usd", "hashrate_ehs_7d", "fees_btc_per_block") if getattr(state, n) is None]
    if missing:
        raise ScenarioInputError(
            f"start: the network state at {state.at} has no {', '.join(missing)} ({'; '.join(state.notes) or 'no data'})"
        )
    first = None
    notes = [f"network state at {state.at} ({state.as_of})",
             "tip height " + ("exact" if state.tip_height_exact else "estimated")]
    if state.blocks_mined_in_epoch:
        if state.epoch_start_time is not None:
            first = int(pd.Timestamp(state.epoch_start_time).timestamp())
        else:  # no header time: from the blocks mined at the 7-day hashrate (refined by build_spec)
            from hashdesk.scenario.engine import work_float

            interval = float(work_float(np.array([state.bits]))[0]) / (float(state.hashrate_ehs_7d) * 1e18)
            first = int(state.at_unix - state.blocks_mined_in_epoch * interval)
            notes.append(f"{EPOCH_START_ESTIMATED} ({state.blocks_mined_in_epoch:,} blocks at the 7-day hashrate)")
    return StartState(
        time_unix=state.at_unix,
        tip_height=state.tip_height,
        bits=state.bits,
        epoch_first_time_unix=first,
        price_usd=float(state.price_usd),
        hashrate_ehs=float(state.hashrate_ehs_7d),
        fees_sats_per_block=float(state.fees_sats_per_block),
        source="; ".join(notes),
    )


#: Words in ``StartState.source`` when the epoch's first header time was not known.
EPOCH_START_ESTIMATED = "epoch start time estimated"


def epoch_start_from_daily(network: pd.DataFrame, epoch: int) -> int | None:
    """The first block time of ``epoch`` placed within its retarget day by the day's block split.

    On the UTC day whose blocks span epochs ``epoch − 1`` and ``epoch`` (daily series columns
    ``epoch_first``, ``epoch_last``, ``blocks_epoch_first``, ``blocks``), the epoch starts after
    the share ``blocks_epoch_first / blocks`` of the day [unix s] (the rule of
    :meth:`hashdesk.desk.Desk.epoch_starts`; within about an hour). None when no such day is known.
    """
    need = {"epoch_first", "epoch_last", "blocks_epoch_first", "blocks", "date"}
    if not need <= set(network.columns):
        return None
    d = network[(pd.to_numeric(network["epoch_last"], errors="coerce") == epoch)
                & (pd.to_numeric(network["epoch_first"], errors="coerce") == epoch - 1)]
    d = d[pd.to_numeric(d["blocks"], errors="coerce") > 0]
    if d.empty:
        return None
    row = d.iloc[0]
    frac = float(row["blocks_epoch_first"]) / float(row["blocks"])
    day0 = int(pd.Timestamp(row["date"]).timestamp())
    return int(day0 + frac * 86_400)


def price_log_returns(prices: pd.DataFrame, end: date, years: float,
                      with_ages: bool = False) -> tuple[np.ndarray, str] | tuple[np.ndarray, str, np.ndarray]:
    """Daily BTC log-returns over ``years`` to ``end`` from one close per day.

    Parameters
    ----------
    prices : pandas.DataFrame
        ``date``, ``close`` [USD/BTC], ``source`` (:func:`hashdesk.data.network.btc_prices`).
    with_ages : bool
        Also return each return's age at the end of ``end`` [days] (0 for the return into ``end``).

    Returns only day-to-day returns within one source (no return spans a gap or a source switch).
    """
    start = end - timedelta(days=int(round(years * 365)))
    df = prices[(pd.to_datetime(prices["date"]).dt.date >= start) & (pd.to_datetime(prices["date"]).dt.date <= end)]
    if df.empty:
        raise ScenarioInputError(f"price: no BTC-USD prices between {start} and {end} in the store")
    d = pd.to_datetime(df["date"]).to_numpy()
    c = df["close"].to_numpy(dtype=np.float64)
    src = df["source"].to_numpy()
    ok = (np.diff(d) == np.timedelta64(1, "D")) & (src[1:] == src[:-1])
    r = np.diff(np.log(c))[ok]
    if r.size < 60:
        raise ScenarioInputError(f"price: only {r.size} daily returns between {start} and {end}; need >= 60")
    label = f"{pd.Timestamp(d[0]).date()}..{pd.Timestamp(d[-1]).date()} ({', '.join(sorted(set(src)))}, {r.size} returns)"
    if with_ages:
        ages = ((np.datetime64(end) - d[1:][ok]) // np.timedelta64(1, "D")).astype(np.float64)
        return r, label, ages
    return r, label


#: Half-lives tried for the price bootstrap's block weights [days] (inf: uniform over the window).
PRICE_HALFLIFE_CANDIDATES: tuple[float, ...] = (60.0, 90.0, 180.0, 365.0, 730.0, math.inf)
#: Horizons whose past forecasts choose the half-life [days].
PRICE_HALFLIFE_HORIZONS: tuple[int, ...] = (30, 90, 365)
#: Years of past forecast origins (month ends) scored when choosing the half-life.
PRICE_HALFLIFE_EVAL_YEARS: float = 4.0


#: The filtered-historical-simulation candidate of :func:`select_price_halflife` (returns
#: rescaled to the EWMA volatility at the start, :func:`hashdesk.scenario.paths.filtered_log_returns`).
FILTERED: str = "ewma"


def select_price_halflife(prices: pd.DataFrame, end: date, window_years: float,
                          candidates: tuple[float, ...] = PRICE_HALFLIFE_CANDIDATES,
                          horizons: tuple[int, ...] = PRICE_HALFLIFE_HORIZONS,
                          eval_years: float = PRICE_HALFLIFE_EVAL_YEARS,
                          filtered: bool = False) -> tuple[float | str, dict]:
    """Choose the price bootstrap's half-life by how well it would have forecast, before ``end``.

    At every month end ``o`` in the ``eval_years`` before ``end`` and for every horizon ``h``
    with ``o + h <= end`` (outcomes known at the start), each candidate half-life gives the
    exponentially weighted variance ``σ²`` of the daily log-returns in the ``window_years``
    before ``o`` (weights ``0.5^(age/half-life)``, about their weighted mean); its forecast of
    the ``h``-day log-return is ``N(0, h·σ²)``. With ``filtered``, one more candidate,
    :data:`FILTERED` (filtered historical simulation), forecasts ``N(0, h·σ²_EWMA(o))`` with
    ``σ²_EWMA(o)`` the RiskMetrics variance (λ 0.94, :func:`hashdesk.scenario.paths.ewma_variance`)
    for the day after ``o`` from the returns up to ``o``. The candidate with the highest total
    Gaussian log score over all origins and horizons is chosen (``inf``: equal weights, the
    plain window; ties go to the half-lives, in order). Only prices known at ``end`` are used.

    Returns
    -------
    (choice, info)
        The half-life [days] (``inf`` = uniform) or :data:`FILTERED`, and the scores per
        candidate.

    References
    ----------
    .. [1] Gneiting, T. & Raftery, A. E. (2007). Strictly proper scoring rules, prediction, and
       estimation. *JASA* 102(477) (the logarithmic score).
    .. [2] J.P. Morgan/Reuters (1996). *RiskMetrics — Technical Document*, §5.2 (exponentially
       weighted volatility).
    .. [3] Hull, J. & White, A. (1998). Incorporating volatility updating into the historical
       simulation method for value-at-risk. *Journal of Risk* 1(1) (filtered historical simulation).
    """
    lo = end - timedelta(days=int(round((eval_years + window_years) * 365)) + 31)
    df = prices[(pd.to_datetime(prices["date"]).dt.date >= lo) & (pd.to_datetime(prices["date"]).dt.date <= end)]
    if len(df) < 400:
        return math.inf, {"used": f"uniform: only {len(df)} daily prices before {end} to score half-lives"}
    close = pd.Series(df["close"].to_numpy(dtype=np.float64),
                      index=pd.DatetimeIndex(pd.to_datetime(df["date"]))).sort_index()
    close = close[~close.index.duplicated(keep="last")].asfreq("D")
    logp = np.log(close.ffill().to_numpy())
    r = np.diff(np.log(close.to_numpy()))  # NaN across gaps
    days = close.index
    win = int(round(window_years * 365))
    last = pd.Timestamp(end)
    origins = pd.date_range(last - pd.Timedelta(days=int(round(eval_years * 365))), last, freq="ME")
    keys: tuple[float | str, ...] = tuple(candidates) + ((FILTERED,) if filtered else ())
    score = dict.fromkeys(keys, 0.0)
    ewma = ewma_variance(r) if filtered else None  # ewma[i]: variance of the return into day i + 1
    count = 0
    for o in origins:
        io = days.get_indexer([o])[0]
        if io < 0 or io - win < 0:
            continue
        outs = [(h, logp[io + h] - logp[io]) for h in horizons if o + pd.Timedelta(days=h) <= last
                and io + h < logp.size and np.isfinite(logp[io + h] - logp[io])]
        if not outs:
            continue
        past = r[io - win: io]  # returns into days io-win+1 .. io
        ok = np.isfinite(past)
        x = past[ok]
        age = (win - 1 - np.arange(win))[ok].astype(np.float64)
        if x.size < 180:
            continue
        for hl in candidates:
            w = np.ones(x.size) if not math.isfinite(hl) else np.exp2(-age / hl)
            w /= w.sum()
            mu = float(w @ x)
            var = float(w @ (x - mu) ** 2)
            for h, y in outs:
                v = var * h
                score[hl] += -0.5 * (math.log(2 * math.pi * v) + y * y / v)
        if ewma is not None:
            var = float(ewma[io])  # known at the end of day io: for the return into day io + 1
            for h, y in outs:
                v = var * h
                score[FILTERED] += -0.5 * (math.log(2 * math.pi * v) + y * y / v)
        count += len(outs)
    if count == 0:
        return math.inf, {"used": f"uniform: no past forecast before {end} to score"}
    best = max(keys, key=lambda c: score[c])
    what = ("filtered (returns rescaled to the EWMA volatility at the start, lambda 0.94)" if best == FILTERED
            else "uniform" if not math.isfinite(best) else f"half-life {best:g} days")
    return best, {
        "used": f"{what}: highest log score of "
                f"{count} past forecasts ({', '.join(str(h) for h in horizons)}-day returns from month ends in the "
                f"{eval_years:g} years before the start)",
        "log_score": {(c if isinstance(c, str) else "inf" if not math.isfinite(c) else f"{c:g}"): round(v, 2)
                      for c, v in score.items()},
    }


#: History before the price window over which the EWMA variance settles [days] (0.94^365 ≈ 2e-10).
EWMA_BURN_IN_DAYS: int = 365


def price_ewma_variance(prices: pd.DataFrame, end: date, ages_days: np.ndarray,
                        years: float) -> tuple[np.ndarray, float]:
    """RiskMetrics variance known the day before each return of the price window, and at the start.

    Parameters
    ----------
    prices : pandas.DataFrame
        ``date``, ``close`` [USD/BTC] known at ``end``.
    end : date
        Last day of the window (the start is the end of this UTC day).
    ages_days : numpy.ndarray
        Age of each return of the window at ``end`` [days] (:func:`price_log_returns`,
        ``with_ages``; 0 for the return into ``end``).
    years : float
        Length of the window [years]; the recursion runs from :data:`EWMA_BURN_IN_DAYS` before it.

    Returns
    -------
    (var_before, var_now)
        Each return's variance forecast from the returns before it, and the forecast for the
        day after ``end`` [1/day] (:func:`hashdesk.scenario.paths.ewma_variance`, λ 0.94, over
        the daily closes with a missing day carried over, as in :func:`select_price_halflife`).

    References
    ----------
    .. [1] J.P. Morgan/Reuters (1996). *RiskMetrics — Technical Document*, §5.2.1.
    """
    lo = end - timedelta(days=int(round(years * 365)) + EWMA_BURN_IN_DAYS)
    d = pd.to_datetime(prices["date"]).dt.date
    df = prices[(d >= lo) & (d <= end)]
    close = pd.Series(df["close"].to_numpy(dtype=np.float64),
                      index=pd.DatetimeIndex(pd.to_datetime(df["date"]))).sort_index()
    close = close[~close.index.duplicated(keep="last")].reindex(pd.date_range(lo, end, freq="D"))
    v = ewma_variance(np.diff(np.log(close.to_numpy())))  # v[k]: before the return into day k + 1
    last = close.index.size - 1  # day ``end``
    return v[last - np.asarray(ages_days, dtype=np.int64) - 1], float(v[last])


def miner_economics(miner: MinerSpec) -> MinerEconomics:
    """The engine's per-scenario miner terms from the one resolved miner (model chain conventions)."""
    return MinerEconomics(
        name=miner.name,
        hashrate_ths=miner.hashrate_ths,
        power_kw=miner.power_kw,
        uptime=miner.uptime,
        energy_usd_per_kwh=miner.energy_usd_per_kwh,
        pool_fee=miner.pool_fee,
        own_pool=miner.own_pool,
        curtailable=miner.curtailable,
        other_cost_usd_per_day=miner.other_cost_usd_per_day,
        demand_response_usd_per_day=miner.demand_response_usd_per_day,
    )


def fit_shocks(hashrate_ehs: pd.Series, end: date, years: float = 4.0) -> tuple[ShockModel, dict]:
    """Fit the shock process to the shocks detected in Coin Metrics' daily hashrate.

    Detection is :func:`hashdesk.economics.shocks.detect_shocks` with its default
    :class:`~hashdesk.economics.shocks.ShockParams` (>= 10 % under a 28-day trailing median for
    >= 2 days, block-deficit z >= 3.5) over ``years`` to ``end``; the fit is
    :func:`~hashdesk.scenario.paths.fit_shock_model` with each shock's depth =
    shortfall / (baseline × days), its mean offline share. The fitted process therefore stands for
    *detectable* shocks; smaller dips are left to the hashrate's AR(1) noise.

    Returns
    -------
    model : ShockModel
        Fitted, or the stated defaults (``ShockModel()``) when fewer than two shocks are found.
    info : dict
        Window, years searched (days with a baseline / 365), the shocks and which was used.
    """
    params = ShockParams()
    start = end - timedelta(days=int(round(years * 365)))
    hr = hashrate_ehs[(hashrate_ehs.index >= start) & (hashrate_ehs.index <= end)]
    info: dict = {"detector": "hashdesk.economics.shocks.detect_shocks (default ShockParams)", "source": "coinmetrics"}
    try:
        shocks = detect_shocks(shock_signal(hr, params), params) if len(hr) > params.window_days else []
    except ShockError as exc:
        shocks = []
        info["note"] = f"detection failed: {exc}"
    searched_years = max(len(hr) - params.window_days, 0) / 365.0
    info.update({
        "window": f"{hr.index[0]}..{hr.index[-1]}" if len(hr) else "none",
        "years_searched": searched_years,
        "shocks": [{"start": x.start.isoformat(), "days": x.days, "trough_depth_pct": x.depth_pct,
                    "mean_depth_pct": 100 * x.shortfall_eh_days / (x.baseline_ehs * x.days)} for x in shocks],
    })
    if len(shocks) < 2 or searched_years <= 0:
        info["used"] = f"stated defaults: {len(shocks)} shock(s) detected, need >= 2 to fit"
        return ShockModel(), info
    model = fit_shock_model(
        np.array([x.shortfall_eh_days / (x.baseline_ehs * x.days) for x in shocks]),
        np.array([x.days for x in shocks], dtype=np.float64),
        searched_years,
    )
    info["used"] = f"fitted on {len(shocks)} shocks (depth concentration and seasonality stated, not fitted)"
    return model, info


# -- hashrate: level, trend and supply response, fitted as a state-space model -----------------

#: Lags tried for the supply response: the growth over week ``t → t+1`` responds to the
#: hashprice deviation of week ``t − L`` [weeks] (a lag of ``7·L + 3.5`` days centre to centre).
RESPONSE_LAGS_WEEKS: tuple[int, ...] = (0, 1, 2, 4, 8, 13, 17, 26)
#: Time constant of the hashprice reference (exponentially weighted mean of log hashprice) [days].
RESPONSE_REF_DAYS: float = 91.0
#: Weeks with a settled hashprice deviation needed to fit the response (else it is off, and said so).
MIN_RESPONSE_WEEKS: int = 52
#: Complete weeks of hashrate needed to fit the level and trend.
MIN_HASHRATE_WEEKS: int = 6
#: Prior variance of the weekly slope (diffuse: a standard deviation of 100 %/week).
_DIFFUSE: float = 1.0


def weekly_network(network: pd.DataFrame, end: date, days: int) -> pd.DataFrame:
    """Weekly means of the daily network series over ``days`` to ``end`` (weeks end on ``end``).

    Parameters
    ----------
    network : pandas.DataFrame
        Daily series known at the start: ``date``, ``hashrate_ehs`` [EH/s], ``blocks``,
        ``hashprice_usd_per_ph_day`` [USD/PH/day].
    end : date
        Last day (the start is the end of this UTC day).
    days : int
        Window [days]; whole weeks only.

    Returns
    -------
    pandas.DataFrame
        Oldest first: ``week_end`` (date), ``ln_hashrate`` (log of the week's mean daily hashrate,
        NaN unless all 7 days have one), ``obs_var`` (``1 / Σ blocks``: the Poisson variance of
        that log, as the daily hashrate is blocks × work per block / 86,400 s), ``ln_hashprice``
        (log of the week's mean daily hashprice, NaN with fewer than 4 days).
    """
    weeks = max(int(days) // 7, 0)
    lo = end - timedelta(days=7 * weeks - 1)
    d = network[(network["date"] >= lo) & (network["date"] <= end)]
    idx = pd.Index([lo + timedelta(days=i) for i in range(7 * weeks)])
    frame = pd.DataFrame({
        "h": pd.to_numeric(d["hashrate_ehs"], errors="coerce").to_numpy(dtype=float),
        "b": pd.to_numeric(d["blocks"], errors="coerce").to_numpy(dtype=float),
        "hp": pd.to_numeric(d.get("hashprice_usd_per_ph_day", pd.Series(np.nan, index=d.index)),
                            errors="coerce").to_numpy(dtype=float),
    }, index=list(d["date"])).groupby(level=0).last().reindex(idx)
    h = frame["h"].to_numpy().reshape(weeks, 7)
    b = frame["b"].to_numpy().reshape(weeks, 7)
    hp = frame["hp"].to_numpy().reshape(weeks, 7)
    ok = np.isfinite(h).all(axis=1) & np.isfinite(b).all(axis=1) & (np.nan_to_num(b).sum(axis=1) > 0) \
        & (np.nan_to_num(h) > 0).all(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        okd = ok[:, None]
        ln_h = np.where(ok, np.log(np.where(okd, h, 1.0).mean(axis=1)), np.nan)
        obs_var = np.where(ok, 1.0 / np.where(okd, b, 1.0).sum(axis=1), np.nan)
        n_hp = np.isfinite(hp).sum(axis=1)
        hp_mean = np.nansum(np.where(np.isfinite(hp), hp, 0.0), axis=1) / np.maximum(n_hp, 1)
        ln_hp = np.where((n_hp >= 4) & (hp_mean > 0), np.log(np.where(hp_mean > 0, hp_mean, 1.0)), np.nan)
    return pd.DataFrame({"week_end": [lo + timedelta(days=7 * (w + 1) - 1) for w in range(weeks)],
                         "ln_hashrate": ln_h, "obs_var": obs_var, "ln_hashprice": ln_hp})


def hashprice_deviation(ln_hashprice: np.ndarray, ref_days: float = RESPONSE_REF_DAYS) -> tuple[np.ndarray, np.ndarray]:
    """Weekly deviation of log hashprice from its exponentially weighted reference.

    ``z_w = ln hp_w − ref_{w−1}``, ``ref_w = ref_{w−1} + (1 − e^{−7/τ})·z_w`` (the reference is
    formed from earlier weeks only), started at the first week with a hashprice; weeks without
    one leave the reference unchanged (``z`` NaN). The first ``τ/7`` weeks after the start are
    NaN (the reference has not settled).

    Returns
    -------
    (z, ref) : numpy.ndarray
        Deviations [dimensionless] and the reference after each week [ln USD/PH/day].
    """
    lhp = np.asarray(ln_hashprice, dtype=np.float64)
    a = -math.expm1(-7.0 / ref_days)
    z = np.full(lhp.size, np.nan)
    ref = np.full(lhp.size, np.nan)
    cur = math.nan
    first = None
    for w, v in enumerate(lhp):
        if math.isfinite(v):
            if first is None:
                first, cur = w, v
            else:
                z[w] = v - cur
                cur += a * z[w]
        ref[w] = cur
    if first is not None:
        z[: first + int(math.ceil(ref_days / 7.0)) + 1] = np.nan
    return z, ref


@njit(cache=True, nogil=True)
def _kf_level_trend(y: np.ndarray, r: np.ndarray, u: np.ndarray, q: float) -> tuple[float, int, tuple[float, ...]]:
    """Kalman filter of a random walk with an unknown constant drift, observed with noise.

    Compiled (numba; called a few hundred times per fit by the likelihood search).

    ``y_t = ℓ_t + ε_t``, ``Var ε_t = r_t``; ``ℓ_{t+1} = ℓ_t + β + u_t + η_t``, ``Var η = q``;
    ``β`` constant with a diffuse prior. Weeks with ``y`` NaN are predicted, not updated.

    Returns
    -------
    (loglik, n, (ℓ, β, P_ℓℓ, P_ℓβ, P_ββ))
        Gaussian log-likelihood of the observations after the first two (which resolve the
        diffuse level and drift), their number, and the filtered state at the last week.

    References
    ----------
    .. [1] Durbin, J. & Koopman, S. J. (2012). *Time Series Analysis by State Space Methods*,
       2nd ed., §2.2 and §5 (local level with drift; diffuse initialisation).
    """
    ll, n, seen = 0.0, 0, 0
    lev = b = p00 = p01 = p11 = 0.0
    two_pi = 2.0 * math.pi
    for t in range(y.size):
        if seen:
            lev += b + u[t - 1]
            p00 += 2.0 * p01 + p11 + q
            p01 += p11
        yt = y[t]
        if yt != yt:  # NaN: no observation this week
            continue
        if not seen:
            lev, b, p00, p01, p11 = yt, 0.0, r[t], 0.0, _DIFFUSE
            seen = 1
            continue
        v = yt - lev
        f = p00 + r[t]
        if seen >= 2:
            ll -= 0.5 * (math.log(two_pi * f) + v * v / f)
            n += 1
        seen += 1
        k0, k1 = p00 / f, p01 / f
        lev += k0 * v
        b += k1 * v
        p11 -= p01 * k1
        p01 -= p00 * k1
        p00 -= p00 * k0
    return ll, n, (lev, b, p00, p01, p11)


def fit_hashrate_dynamics(network: pd.DataFrame, end: date, start_hashrate_ehs: float, days: int = 730,
                          lags_weeks: tuple[int, ...] = RESPONSE_LAGS_WEEKS,
                          ref_days: float = RESPONSE_REF_DAYS,
                          response: bool = True) -> tuple[dict, dict]:
    """Fit the hashrate's level, trend, noise and supply response on the weeks known at the start.

    The model (weekly, on the log of the week's mean hashrate):
    ``y_w = ℓ_w + ε_w`` with the Poisson variance ``1/Σ blocks`` (known), and
    ``ℓ_{w+1} = ℓ_w + β + γ·z_{w−L} + η_w``: a random walk (``Var η = σ²`` per week) with a
    constant drift ``β`` (diffuse prior) and the supply response ``γ ≥ 0`` to the deviation of
    log hashprice from its reference ``L`` weeks earlier (:func:`hashprice_deviation`). For every
    lag in ``lags_weeks`` ``(log σ, γ)`` maximise the likelihood (:func:`_kf_level_trend`,
    L-BFGS-B, ``γ`` bounded to [0, 0.2] per week); the lag with the highest likelihood is kept;
    with fewer than :data:`MIN_RESPONSE_WEEKS` weeks of settled deviations, or ``response``
    False, ``γ = 0``. The filtered level and drift at the last week, with their covariance, give
    the start: ``ℓ`` moved 4/7 of a week to the middle of the first simulated day.

    Parameters
    ----------
    network : pandas.DataFrame
        Daily series known at the start (:func:`weekly_network`).
    end : date
        The start's day.
    start_hashrate_ehs : float
        The start state's hashrate (7-day mean) [EH/s]; the fitted level is given relative to it.
    days : int
        Window [days].
    lags_weeks, ref_days, response
        See above.

    Returns
    -------
    (kwargs, info)
        ``kwargs`` for :class:`~hashdesk.scenario.paths.HashrateModel` (``growth_per_year``,
        ``noise_sd_per_day``, ``noise_ar1 = 1``, ``level_offset0``, ``level_sd0``,
        ``slope_sd0_per_day``, ``level_slope_corr0``, ``response``) and what was fitted.

    Raises
    ------
    ScenarioInputError
        With fewer than :data:`MIN_HASHRATE_WEEKS` complete weeks.

    References
    ----------
    .. [1] Durbin, J. & Koopman, S. J. (2012), §2.2, §5, §7 (maximum likelihood).
    .. [2] Harvey, A. C. (1989). *Forecasting, Structural Time Series Models and the Kalman
       Filter*, §3.3 (regression effects in the state equation).
    """
    from scipy.optimize import minimize
    from threadpoolctl import threadpool_limits

    wk = weekly_network(network, end, days)
    y = wk["ln_hashrate"].to_numpy()
    r = np.nan_to_num(wk["obs_var"].to_numpy(), nan=1.0)
    n_obs = int(np.isfinite(y).sum())
    if n_obs < MIN_HASHRATE_WEEKS:
        raise ScenarioInputError(
            f"hashrate history: {n_obs} complete weeks of daily hashrate and blocks to {end} in the store; "
            f"need >= {MIN_HASHRATE_WEEKS} to fit the level and trend")
    z, ref = hashprice_deviation(wk["ln_hashprice"].to_numpy(), ref_days)
    settled = int(np.isfinite(z).sum())
    window = f"weeks {wk.week_end.iloc[0] - timedelta(days=6)}..{end} ({n_obs} complete)"

    def solve(lag: int | None) -> tuple[float, float, float, np.ndarray]:
        x = np.zeros(y.size)
        if lag is not None:
            zz = np.nan_to_num(z)
            x[lag:] = zz[: y.size - lag] if lag else zz  # growth w -> w+1 responds to z_{w-lag}

        def nll(p: np.ndarray) -> float:
            q = math.exp(2.0 * p[0])
            return -_kf_level_trend(y, r, p[1] * x, q)[0]

        best = None
        for g0 in ((0.0, 0.02) if lag is not None else (0.0,)):
            res = minimize(nll, np.array([math.log(0.02), g0]), method="L-BFGS-B",
                           bounds=[(math.log(0.002), math.log(0.2)), (0.0, 0.2 if lag is not None else 0.0)])
            if best is None or res.fun < best.fun:
                best = res
        return -float(best.fun), math.exp(float(best.x[0])), float(best.x[1]), x

    fits = {}
    use_response = response and settled >= MIN_RESPONSE_WEEKS
    # one BLAS thread: L-BFGS-B's steps are 2×2 linear algebra, which a multi-threaded BLAS
    # makes about ten times slower (thread wake-ups); the results are the same
    with threadpool_limits(1, user_api="blas"):
        if use_response:
            for lag in lags_weeks:
                fits[lag] = solve(lag)
            lag = max(fits, key=lambda k: fits[k][0])
            ll, sig, gamma, x = fits[lag]
        else:
            lag = None
            ll, sig, gamma, x = solve(None)
    _, n_ll, (lev, beta, p00, p01, p11) = _kf_level_trend(y, r, gamma * x, sig * sig)
    # from the last week's level (its mean, centred 3 days before the end) to day 0's middle: 4/7 week
    h = 4.0 / 7.0
    level0 = lev + h * beta
    v0 = p00 + 2.0 * h * p01 + h * h * p11 + h * sig * sig
    sd0 = math.sqrt(max(v0, 0.0))
    sd_b = math.sqrt(max(p11, 0.0))
    corr = (p01 + h * p11) / (sd0 * sd_b) if sd0 > 0 and sd_b > 0 else 0.0
    resp = None
    info_resp: dict = {"ref_days": ref_days, "weeks_settled": settled}
    if lag is not None and gamma > 0:
        lag_days = 7.0 * lag + 3.5
        n_hist = int(math.ceil(lag_days)) + 7
        zz = np.nan_to_num(z)
        hist = [float(zz[max(z.size - 1 - (n_hist - 1 - i) // 7, 0)]) for i in range(n_hist)]
        ref_last = ref[np.isfinite(ref)]
        resp = SupplyResponse(gamma / 7.0, lag_days, ref_days, float(ref_last[-1]) if ref_last.size else 0.0,
                              tuple(hist), window)
        info_resp.update(used=f"fitted: lag {lag} week(s) ({lag_days:g} days), gamma {gamma:.4f}/week per unit "
                              "log-deviation (highest likelihood of the lags tried)")
    elif lag is not None:
        info_resp["used"] = "off: gamma = 0 at its bound for the best lag (no positive response in the data)"
    elif not response:
        info_resp["used"] = "off (option)"
    else:
        info_resp["used"] = (f"off: {settled} weeks of settled hashprice deviation, need >= {MIN_RESPONSE_WEEKS} "
                             "to fit the response")
    if fits:
        info_resp["loglik_by_lag_weeks"] = {int(k): round(v[0], 3) for k, v in fits.items()}
        info_resp["gamma_by_lag_weeks"] = {int(k): round(v[2], 5) for k, v in fits.items()}
    kwargs = {
        "growth_per_year": math.expm1(beta / 7.0 * 365.0),
        "noise_sd_per_day": sig / math.sqrt(7.0),
        "noise_ar1": 1.0,
        "level_offset0": level0 - math.log(start_hashrate_ehs),
        "level_sd0": sd0,
        "slope_sd0_per_day": sd_b / 7.0,
        "level_slope_corr0": max(-1.0, min(1.0, corr)),
        "response": resp,
    }
    info = {
        "model": "weekly log hashrate = level + Poisson noise; level: random walk + drift + gamma x lagged "
                 "hashprice deviation (Kalman filter, maximum likelihood)",
        "window": window,
        "loglik": ll, "weeks_in_loglik": n_ll,
        "level_sd_per_week": sig,
        "drift_per_week": beta, "drift_sd_per_week": sd_b,
        "start_level_ehs": math.exp(level0), "start_level_sd": sd0,
        "response": info_resp,
    }
    return kwargs, info


@dataclass(frozen=True)
class FitOptions:
    """How to build models from the store.

    Parameters
    ----------
    price_model : {"bootstrap", "gbm"}
    price_years : float
        Length of the price window ending at the start date [years].
    block_days : int
        Bootstrap block length [days].
    drift_per_year : float, "history" or None
        Expected price return ``μ`` [1/year]. None (default): **0** — no drift, the price is a
        martingale (the bootstrap's returns are centred, :func:`center_log_returns`; GBM's ``μ``
        is 0). ``"history"``: the window's own drift (the engine's former default).
    vol_per_year : float, optional
        GBM volatility override (else estimated from the window).
    price_halflife_days : float, "auto" or None
        Bootstrap block weights halve every this many days of age (:func:`age_block_weights`).
        ``"auto"`` (default): chosen at the start by :func:`select_price_halflife` from past
        forecasts; None or ``inf``: uniform over the window. GBM: the volatility is the same
        weighted estimate.
    price_filter : {"off", "candidate", "ewma"}
        Filtered historical simulation (:func:`~hashdesk.scenario.paths.filtered_log_returns`:
        each return standardised by its RiskMetrics volatility known the day before, λ 0.94, and
        rescaled to the volatility at the start; uniform block weights). ``"off"``: never;
        ``"candidate"``: one more candidate of the ``"auto"`` choice (:func:`select_price_halflife`
        with ``filtered``; needs ``price_halflife_days = "auto"``); ``"ewma"``: always.
    network_days : int
        Window for the hashrate model and the fee model [days].
    growth_per_year : float, optional
        Hashrate trend override [1/year] (the slope is then taken as known).
    hashrate_model : {"state-space", "trend"}
        ``"state-space"`` (default): :func:`fit_hashrate_dynamics` — level and drift filtered
        from the weekly hashrate with their uncertainty, random-walk noise and the supply
        response, all fitted by maximum likelihood on the window. ``"trend"``: the former model
        (OLS trend of the 7-day mean, AR(1) noise φ 0.9, σ 0.01/day, no response).
    response : bool
        Fit the supply response (``hashrate_model = "state-space"``); False: off.
    shocks : ShockModel, None or "fit"
        ``"fit"`` (default): :func:`fit_shocks` on ``shock_years`` of Coin Metrics hashrate;
        None disables shocks.
    shock_years : float
        History searched for shocks when fitting [years].
    capitulation : CapitulationModel or None
    price_hashrate_corr : bool
        Correlate the hashrate's random-walk innovations with the simulated price's step returns at
        :func:`fit_price_hashrate_corr` (``hashrate_model = "state-space"``); False: independent.
    """

    price_model: str = "bootstrap"
    price_years: float = 4.0
    block_days: int = 30
    drift_per_year: float | str | None = None
    vol_per_year: float | None = None
    price_halflife_days: float | str | None = "auto"
    price_filter: str = "off"
    network_days: int = 730
    growth_per_year: float | None = None
    hashrate_model: str = "state-space"
    response: bool = True
    shocks: ShockModel | None | str = "fit"
    shock_years: float = 4.0
    capitulation: CapitulationModel | None = CapitulationModel()
    price_hashrate_corr: bool = True


#: Horizon of the price–hashrate co-movement [weeks]: the supply response's reference time constant.
COMOVE_WEEKS: int = 13
#: Fewest changes for :func:`fit_price_hashrate_corr` (else no co-movement, said so).
COMOVE_MIN_CHANGES: int = 52
#: Largest correlation used (the model needs ``ρ < 1``: a share of the innovation stays the hashrate's own).
COMOVE_MAX: float = 0.99


def fit_price_hashrate_corr(prices: pd.DataFrame, network: pd.DataFrame, hashrate_history: pd.DataFrame | None,
                            end: date, years: float = 4.0, weeks: int = COMOVE_WEEKS) -> tuple[float, dict]:
    """Correlation of BTC price and network hashrate changes over ``weeks``, known at ``end``.

    Parameters
    ----------
    prices : pandas.DataFrame
        ``date``, ``close`` [USD/BTC] (:func:`hashdesk.data.network.btc_prices`).
    network : pandas.DataFrame
        ``date``, ``hashrate_ehs`` [EH/s] (Coin Metrics' daily series).
    hashrate_history : pandas.DataFrame or None
        ``date``, ``hashrate_ehs`` [EH/s] of a longer daily series (mempool.space), used for the
        changes Coin Metrics does not cover at both ends.
    end : datetime.date
        Last day known.
    years : float
        Window [years].
    weeks : int
        Horizon of the changes [weeks].

    Returns
    -------
    (float, dict)
        ``ρ`` clipped to ``[0, COMOVE_MAX]`` [dimensionless] (0 with fewer than
        :data:`COMOVE_MIN_CHANGES` changes) and what was used (``rho``: unclipped).

    Notes
    -----
    ρ is Pearson's correlation of the overlapping ``weeks``-week changes, at weekly steps, of the
    weekly means of the log close and of the log hashrate (complete UTC weeks ending on Sundays
    only); a change's two weeks come from one hashrate source. Block luck in the weekly hashrate
    is not removed, so ρ understates the co-movement of the hashrate itself slightly.
    """
    lo = pd.Timestamp(end - timedelta(days=int(round(years * 365))))
    hi = pd.Timestamp(end)

    def weekly(frame: pd.DataFrame | None, col: str) -> pd.Series:
        if frame is None or not len(frame):
            return pd.Series(dtype=float)
        x = pd.Series(pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float),
                      index=pd.to_datetime(frame["date"]))
        x = np.log(x[(x.index > lo) & (x.index <= hi) & (x > 0)])
        g = x.resample("W-SUN")
        return g.mean()[g.count() == 7]

    p = weekly(prices, "close")
    changes = []
    for src in (network, hashrate_history):
        h = weekly(src, "hashrate_ehs")
        both = pd.concat([p.rename("p"), h.rename("h")], axis=1, sort=True).dropna().asfreq("W-SUN")
        changes.append(both.diff(weeks).dropna())
    cm = changes[0]
    extra = changes[1][~changes[1].index.isin(cm.index)]
    ch = pd.concat([cm, extra]).sort_index()
    n = len(ch)
    if n < COMOVE_MIN_CHANGES:
        return 0.0, {"used": f"none: {n} {weeks}-week changes of price and hashrate to {end}, "
                             f"need >= {COMOVE_MIN_CHANGES}", "rho": 0.0, "n_changes": n}
    rho = float(np.corrcoef(ch["p"], ch["h"])[0, 1])
    return min(max(rho, 0.0), COMOVE_MAX), {
        "used": f"correlation of {weeks}-week changes of log BTC price and log hashrate: {rho:.3f} "
                f"({n} weekly-step changes, {ch.index[0].date()}..{ch.index[-1].date()}; "
                f"{len(cm)} from Coin Metrics, {len(extra)} from the longer daily series)",
        "rho": rho, "n_changes": n, "weeks": weeks}


def build_spec(
    start: StartState,
    horizon_months: int,
    prices: pd.DataFrame,
    network: pd.DataFrame,
    miner: MinerEconomics | None = None,
    options: FitOptions = FitOptions(),
    capex_usd: float = 0.0,
    hashrate_history: pd.DataFrame | None = None,
) -> tuple[ScenarioSpec, dict]:
    """Fit the price, hashrate and fee models on history and assemble a :class:`ScenarioSpec`.

    Parameters
    ----------
    start : StartState
        :func:`start_from_state` of the network state at the start.
    horizon_months : int
    prices : pandas.DataFrame
        BTC closes known at the start (``date``, ``close``, ``source``).
    network : pandas.DataFrame
        The daily series known at the start (``date``, ``hashrate_ehs`` [EH/s], ``blocks``,
        ``fees_btc_total`` [BTC]).
    miner : MinerEconomics, optional
    options : FitOptions
    capex_usd : float

    Returns
    -------
    spec : ScenarioSpec
    models : dict
        What was fitted, on which window (for reports).
    """
    if options.vol_per_year is not None and options.vol_per_year < 0:
        raise ScenarioInputError(f"price.vol_per_year: volatility must be >= 0, got {options.vol_per_year}")
    end = start.start_date - timedelta(days=1)  # the start is the end of this UTC day
    if EPOCH_START_ESTIMATED in start.source:
        epoch = (start.tip_height + 1) // RETARGET_INTERVAL
        t0 = epoch_start_from_daily(network, epoch)
        if t0 is not None and t0 <= start.time_unix:
            src = start.source.split("; ")
            src = [x if not x.startswith(EPOCH_START_ESTIMATED) else
                   f"{EPOCH_START_ESTIMATED} within its retarget day by the day's block split (daily series)"
                   for x in src]
            start = replace(start, epoch_first_time_unix=t0, source="; ".join(src))
    r, label, ages = price_log_returns(prices, end, options.price_years, with_ages=True)
    hl_opt = options.price_halflife_days
    hl_info: dict = {}
    filt = options.price_filter
    if filt not in ("off", "candidate", FILTERED):
        raise ScenarioInputError(f"price.filter: {filt!r} is not one of off, candidate, {FILTERED}")
    if filt == "candidate" and hl_opt != "auto":
        raise ScenarioInputError("price.filter: 'candidate' needs price_halflife_days = 'auto' (it is one of the "
                                 "candidates chosen from past forecasts)")
    if filt == FILTERED:
        halflife = FILTERED
    elif hl_opt == "auto":
        halflife, hl_info = select_price_halflife(prices, end, options.price_years, filtered=filt == "candidate")
    elif hl_opt is None:
        halflife = math.inf
    elif isinstance(hl_opt, str):
        raise ScenarioInputError(f"price.halflife_days: {hl_opt!r} is not a number, 'auto' or None")
    else:
        halflife = float(hl_opt)
        if not halflife > 0:
            raise ScenarioInputError(f"price.halflife_days: must be > 0, got {hl_opt}")
    filter_info: dict | None = None
    if halflife == FILTERED:  # filtered historical simulation: uniform blocks of rescaled returns
        halflife = math.inf
        var_before, var_now = price_ewma_variance(prices, end, ages, options.price_years)
        dw = BootstrapPrice(r, options.block_days).day_weights
        r, m2 = filtered_log_returns(r, var_before, var_now, dw)
        vol_now = math.sqrt(var_now * DAYS_PER_YEAR)  # [1/sqrt(year)]
        filter_info = {"method": "filtered historical simulation (Hull & White 1998): returns standardised by "
                                 "their EWMA volatility known the day before, rescaled to the volatility at "
                                 "the start", "ewma_lambda": RISKMETRICS_LAMBDA,
                       "vol_per_year_at_start": vol_now, "standardised_second_moment": m2}
        label = f"{label}, filtered to the EWMA volatility {vol_now:.2f}/sqrt(y) at the start"
    weights = age_block_weights(ages, options.block_days, halflife)
    drift_opt = options.drift_per_year
    if isinstance(drift_opt, str) and drift_opt != "history":
        raise ScenarioInputError(f"price.drift_per_year: {drift_opt!r} is not a number, 'history' or None")
    if drift_opt is None:
        drift_note = "price drift 0 %/y (default; --drift to set)"
    elif drift_opt == "history":
        drift_note = "price drift: the window's own (history)"
    else:
        drift_note = f"price drift {100 * float(drift_opt):g} %/y (set)"
    if options.block_days > r.size:
        raise ScenarioInputError(f"price.block_days: {options.block_days} is more than the {r.size} returns")
    sample = BootstrapPrice(r, options.block_days, label, weights)
    if options.price_model == "gbm":
        price: GBMPrice | BootstrapPrice = GBMPrice(
            sample.drift_per_year if drift_opt == "history" else float(drift_opt or 0.0),
            sample.vol_per_year if options.vol_per_year is None else options.vol_per_year,
            label if options.vol_per_year is None else f"{label}, volatility overridden",
        )
    elif options.price_model == "bootstrap":
        if drift_opt != "history":
            r = center_log_returns(r, float(drift_opt or 0.0), sample.day_weights)
        price = BootstrapPrice(r, options.block_days, label, weights)
    else:
        raise ScenarioInputError(f"price_model: {options.price_model!r} is not one of bootstrap, gbm")
    lo = end - timedelta(days=options.network_days - 1)
    net = network[(network["date"] >= lo) & (network["date"] <= end)]
    net = pd.DataFrame({"date": pd.to_datetime(net["date"]), "hashrate_ehs": net["hashrate_ehs"].astype(float),
                        "blk_cnt": pd.to_numeric(net["blocks"], errors="coerce").astype(float),
                        "fee_tot_btc": net["fees_btc_total"].astype(float)})
    net_label = f"daily series {net.date.min().date() if len(net) else '?'}..{end}"
    dynamics: dict = {}
    dyn_info: dict | None = None
    model = options.hashrate_model
    if model == "state-space":
        weeks = int(np.isfinite(weekly_network(network, end, options.network_days)["ln_hashrate"]).sum())
        if weeks < MIN_HASHRATE_WEEKS:  # too early in the data: the former trend model, said so
            model = "trend"
            dyn_info = {"used": f"trend model: {weeks} complete weeks of hashrate to {end}, the state-space fit "
                                f"needs >= {MIN_HASHRATE_WEEKS}"}
    if model == "state-space":
        dynamics, dyn_info = fit_hashrate_dynamics(network, end, start.hashrate_ehs, options.network_days,
                                                   response=options.response)
        growth = dynamics.pop("growth_per_year")
        if options.growth_per_year is not None:
            growth = options.growth_per_year
            dynamics.update(slope_sd0_per_day=0.0, level_slope_corr0=0.0)
    elif model == "trend":
        if options.growth_per_year is None:
            hr = net.hashrate_ehs.dropna().to_numpy()
            growth = fit_hashrate_trend(hr, net_label)
        else:
            growth = options.growth_per_year
    else:
        raise ScenarioInputError(f"hashrate_model: {options.hashrate_model!r} is not one of state-space, trend")
    shock_info: dict | None = None
    if isinstance(options.shocks, str):
        if options.shocks != "fit":
            raise ScenarioInputError(f"shocks: {options.shocks!r} is not a ShockModel, None or 'fit'")
        series = pd.Series(network["hashrate_ehs"].to_numpy(dtype=float), index=list(network["date"]))
        shocks, shock_info = fit_shocks(series.dropna(), end, options.shock_years)
    else:
        shocks = options.shocks
    corr_info: dict | None = None
    if model == "state-space" and options.price_hashrate_corr:
        dynamics["price_corr"], corr_info = fit_price_hashrate_corr(prices, network, hashrate_history, end,
                                                                    options.price_years)
    hashrate = HashrateModel(
        growth_per_year=growth, shocks=shocks, capitulation=options.capitulation, window=net_label, **dynamics
    )
    fees = fit_fee_model(net.blk_cnt.to_numpy(), net.fee_tot_btc.to_numpy(), window=net_label)
    spec = ScenarioSpec(start, horizon_months, price, hashrate, fees, miner, capex_usd)
    models = {
        "price": {
            "model": options.price_model,
            "window": price.window,
            "drift_per_year": price.drift_per_year,
            "drift": drift_note,
            "vol_per_year": price.vol_per_year,
            "halflife_days": None if not math.isfinite(halflife) else halflife,
            "filter": None if filter_info is None else FILTERED,
            **({"filter_fit": filter_info} if filter_info else {}),
            **({"halflife_fit": hl_info} if hl_info else {}),
            **({"block_days": options.block_days} if options.price_model == "bootstrap" else {}),
        },
        "hashrate": {
            "model": model,
            "growth_per_year": growth,
            "noise_sd_per_day": hashrate.noise_sd_per_day,
            "noise_ar1": hashrate.noise_ar1,
            "level_offset0": hashrate.level_offset0,
            "level_sd0": hashrate.level_sd0,
            "slope_sd0_per_day": hashrate.slope_sd0_per_day,
            "level_slope_corr0": hashrate.level_slope_corr0,
            "response": None if hashrate.response is None else {
                "gamma_per_day": hashrate.response.gamma_per_day, "lag_days": hashrate.response.lag_days,
                "ref_days": hashrate.response.ref_days},
            "price_corr": hashrate.price_corr,
            **({"price_corr_fit": corr_info} if corr_info is not None else {}),
            **({"fit": dyn_info} if dyn_info is not None else {}),
            "window": net_label,
            "shocks": None if shocks is None else {**vars(shocks), **({"fit": shock_info} if shock_info else {})},
            "capitulation": None if options.capitulation is None else {
                **vars(options.capitulation),
                "marginal_cost_usd_per_ph_day_at_start": options.capitulation.marginal_cost_usd_per_ph_day(0),
            },
        },
        "fees": {
            "base_sats_per_block": fees.base_sats_per_block,
            "interval_elasticity": fees.interval_elasticity,
            "noise_sd_per_day": fees.noise_sd_per_day,
            "noise_ar1": fees.noise_ar1,
            "window": net_label,
        },
        "miner": None if miner is None else {
            **vars(miner),
            "efficiency_j_per_th": miner.efficiency_j_per_th,
            "breakeven_hashprice_usd_per_ph_day": miner.breakeven_hashprice_usd_per_ph_day,
        },
    }
    return spec, models


def model_notes(models: Mapping) -> tuple[str, ...]:
    """One line per fitted model, in words with units, for people (the CLI, the dashboard, the brief).

    Parameters
    ----------
    models : mapping
        The ``models`` dict of :func:`build_spec` (as JSON or as returned).

    Returns
    -------
    tuple of str
        Price, hashrate, shocks, capitulation, fees and (with one) the miner; what each was fitted on.
    """
    out = []
    p = models["price"]
    if p["model"] == "bootstrap":
        hl = p.get("halflife_days")
        out.append(f"price: moving-block bootstrap of daily returns {p['window']}, {p['block_days']}-day "
                   f"blocks, {'half-life ' + format(hl, 'g') + ' d' if hl else 'uniform weights'} "
                   f"(volatility {p['vol_per_year']:.2f}/√y); {p['drift']}")
    else:
        out.append(f"price: GBM, volatility {p['vol_per_year']:.2f}/√y ({p['window']}); {p['drift']}")
    h = models["hashrate"]
    fit = h.get("fit") or {}
    if h["model"] == "state-space":
        words = (f"hashrate: level, trend and random walk by Kalman filter ({fit.get('window', h['window'])}): "
                 f"trend {100 * h['growth_per_year']:+.1f} %/y ± {100 * 365 * h['slope_sd0_per_day']:.0f} %/y, start "
                 f"level ± {100 * h['level_sd0']:.1f} %, random walk {100 * h['noise_sd_per_day'] * math.sqrt(7):.2f} %/week")
        resp = (fit.get("response") or {}).get("used")
        if resp:
            words += f"; supply response {resp}"
        corr = h.get("price_corr_fit")
        if corr is not None:
            words += f"; co-movement with the price, ρ = {h['price_corr']:.2f}: {corr['used']}"
        out.append(words)
    else:
        out.append(f"hashrate: trend {100 * h['growth_per_year']:+.1f} %/y, AR(1) noise φ {h['noise_ar1']:.2f} "
                   f"σ {h['noise_sd_per_day']:.3f}/day ({fit.get('used', h['window'])})")
    sh = h.get("shocks")
    out.append("shocks: off" if sh is None else
               f"shocks: {sh['rate_per_year']:.2f}/year, mean depth {100 * sh['depth_mean']:.1f} %, "
               f"{sh['duration_days_mean']:.1f} days" + (f", {sh['fit']['used']}" if sh.get("fit") else ""))
    cap = h.get("capitulation")
    out.append("capitulation: off (--no-capitulation)" if cap is None else
               f"capitulation below {cap['marginal_cost_usd_per_ph_day_at_start']:.1f} USD/PH/day at the start; "
               f"parameters: {cap['source']}")
    f = models["fees"]
    out.append(f"fees per block: {f['base_sats_per_block']:,.0f} sats at 600-s blocks × (block interval / 600 s)"
               f"^{f['interval_elasticity']:.2f}, AR(1) log-noise φ {f['noise_ar1']:.2f} σ {f['noise_sd_per_day']:.2f}/day "
               f"({f['window']})")
    m = models.get("miner")
    if m:
        out.append(f"miner: {m['name']}, {m['hashrate_ths'] / 1e6:,.3f} EH/s at {m['efficiency_j_per_th']:.1f} J/TH, "
                   f"breakeven {m['breakeven_hashprice_usd_per_ph_day']:.1f} USD/PH/day")
    return tuple(out)
