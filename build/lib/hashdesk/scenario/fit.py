"""Fitting the scenario models on history: price returns, hashrate trend, fees, shocks.

Pure: the desk (:meth:`hashdesk.desk.Desk.scenario_spec`) reads the windows as of the start and
passes them here; the start state is the desk's network state at the start
(:func:`start_from_state`). Returns the frozen dataclasses of :mod:`hashdesk.scenario.engine`
and :mod:`hashdesk.scenario.paths`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from hashdesk.economics.modelchain import MinerSpec
from hashdesk.economics.shocks import ShockError, ShockParams, detect_shocks, shock_signal
from hashdesk.economics.state import NetworkState
from hashdesk.scenario.engine import MinerEconomics, ScenarioSpec, StartState
from hashdesk.scenario.paths import (
    BootstrapPrice,
    CapitulationModel,
    GBMPrice,
    HashrateModel,
    ScenarioInputError,
    ShockModel,
    fit_fee_model,
    fit_gbm,
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
    if state.blocks_mined_in_epoch:
        if state.epoch_start_time is None:
            raise ScenarioInputError(f"start: the start time of epoch {state.epoch} is not known at {state.at}")
        first = int(pd.Timestamp(state.epoch_start_time).timestamp())
    notes = [f"network state at {state.at} ({state.as_of})",
             "tip height " + ("exact" if state.tip_height_exact else "estimated")]
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


def price_log_returns(prices: pd.DataFrame, end: date, years: float) -> tuple[np.ndarray, str]:
    """Daily BTC log-returns over ``years`` to ``end`` from one close per day.

    Parameters
    ----------
    prices : pandas.DataFrame
        ``date``, ``close`` [USD/BTC], ``source`` (:func:`hashdesk.data.network.btc_prices`).

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
    return r, label


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
    drift_per_year, vol_per_year : float, optional
        GBM overrides (else estimated from the window).
    network_days : int
        Window for the hashrate trend and the fee model [days].
    growth_per_year : float, optional
        Hashrate trend override [1/year].
    shocks : ShockModel, None or "fit"
        ``"fit"`` (default): :func:`fit_shocks` on ``shock_years`` of Coin Metrics hashrate;
        None disables shocks.
    shock_years : float
        History searched for shocks when fitting [years].
    capitulation : CapitulationModel or None
    """

    price_model: str = "bootstrap"
    price_years: float = 4.0
    block_days: int = 30
    drift_per_year: float | None = None
    vol_per_year: float | None = None
    network_days: int = 730
    growth_per_year: float | None = None
    shocks: ShockModel | None | str = "fit"
    shock_years: float = 4.0
    capitulation: CapitulationModel | None = CapitulationModel()


def build_spec(
    start: StartState,
    horizon_months: int,
    prices: pd.DataFrame,
    network: pd.DataFrame,
    miner: MinerEconomics | None = None,
    options: FitOptions = FitOptions(),
    capex_usd: float = 0.0,
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
    r, label = price_log_returns(prices, end, options.price_years)
    if options.price_model == "gbm":
        fitted = fit_gbm(r, label)
        price: GBMPrice | BootstrapPrice = GBMPrice(
            fitted.drift_per_year if options.drift_per_year is None else options.drift_per_year,
            fitted.vol_per_year if options.vol_per_year is None else options.vol_per_year,
            label if options.drift_per_year is None and options.vol_per_year is None else f"{label}, overridden",
        )
    elif options.price_model == "bootstrap":
        price = BootstrapPrice(r, options.block_days, label)
    else:
        raise ScenarioInputError(f"price_model: {options.price_model!r} is not one of bootstrap, gbm")
    lo = end - timedelta(days=options.network_days - 1)
    net = network[(network["date"] >= lo) & (network["date"] <= end)]
    net = pd.DataFrame({"date": pd.to_datetime(net["date"]), "hashrate_ehs": net["hashrate_ehs"].astype(float),
                        "blk_cnt": pd.to_numeric(net["blocks"], errors="coerce").astype(float),
                        "fee_tot_btc": net["fees_btc_total"].astype(float)})
    net_label = f"daily series {net.date.min().date() if len(net) else '?'}..{end}"
    if options.growth_per_year is None:
        hr = net.hashrate_ehs.dropna().to_numpy()
        growth = fit_hashrate_trend(hr, net_label)
    else:
        growth = options.growth_per_year
    shock_info: dict | None = None
    if isinstance(options.shocks, str):
        if options.shocks != "fit":
            raise ScenarioInputError(f"shocks: {options.shocks!r} is not a ShockModel, None or 'fit'")
        series = pd.Series(network["hashrate_ehs"].to_numpy(dtype=float), index=list(network["date"]))
        shocks, shock_info = fit_shocks(series.dropna(), end, options.shock_years)
    else:
        shocks = options.shocks
    hashrate = HashrateModel(
        growth_per_year=growth, shocks=shocks, capitulation=options.capitulation, window=net_label
    )
    fees = fit_fee_model(net.blk_cnt.to_numpy(), net.fee_tot_btc.to_numpy(), window=net_label)
    spec = ScenarioSpec(start, horizon_months, price, hashrate, fees, miner, capex_usd)
    models = {
        "price": {
            "model": options.price_model,
            "window": price.window,
            "drift_per_year": price.drift_per_year,
            "vol_per_year": price.vol_per_year,
            **({"block_days": options.block_days} if options.price_model == "bootstrap" else {}),
        },
        "hashrate": {
            "growth_per_year": growth,
            "noise_sd_per_day": hashrate.noise_sd_per_day,
            "noise_ar1": hashrate.noise_ar1,
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
