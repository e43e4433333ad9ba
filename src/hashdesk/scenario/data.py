"""Store queries for the scenario engine: start state, fitting windows, ASIC catalogue.

The only module of :mod:`hashdesk.scenario` that touches the store. It returns plain arrays and
the frozen dataclasses of :mod:`hashdesk.scenario.engine` / :mod:`hashdesk.scenario.paths`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from hashdesk.chain.consensus import RETARGET_INTERVAL
from hashdesk.economics.profile import MinerProfile, load_profile
from hashdesk.economics.shocks import (
    ShockError,
    ShockParams,
    detect_shocks,
    load_daily_hashrate,
    shock_signal,
)
from hashdesk.scenario.engine import MinerEconomics, ScenarioSpec, StartState, miner_from_profile
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
from hashdesk.store.db import Store

#: Days averaged for the start hashrate [days].
HASHRATE_AVG_DAYS: int = 7
#: Days averaged for the start fees per block [days].
FEE_AVG_DAYS: int = 30


def _unix(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def latest_date(store: Store) -> date:
    """Last day with a BTC price and a network hashrate in the store."""
    d = store.scalar(
        "SELECT max(n.date) FROM network_daily n JOIN prices_daily p "
        "ON p.date = n.date AND p.ticker = 'BTC-USD' WHERE n.hashrate_ehs IS NOT NULL"
    )
    if d is None:
        raise ScenarioInputError(
            "start: the store has no day with both a BTC price and a network hashrate; "
            "run `hashdesk ingest` or give the start state by hand"
        )
    return pd.Timestamp(d).date()


def _interp_height(store: Store, t: int) -> tuple[int, bool]:
    """Height of the last block at or before unix time ``t`` (exact when both neighbours are known)."""
    prev = store.con.execute(
        "SELECT height, time FROM blocks WHERE time <= ? ORDER BY height DESC LIMIT 1", [t]
    ).fetchone()
    nxt = store.con.execute(
        "SELECT height, time FROM blocks WHERE time > ? AND height > ? ORDER BY height LIMIT 1",
        [t, prev[0] if prev else -1],
    ).fetchone()
    if prev is None or nxt is None:
        raise ScenarioInputError(
            f"start: no block times around {datetime.fromtimestamp(t, tz=UTC):%Y-%m-%d} in the store"
        )
    (h0, t0), (h1, t1) = prev, nxt
    if h1 == h0 + 1:
        return int(h0), True
    frac = (t - t0) / max(t1 - t0, 1)
    return int(h0 + int(frac * (h1 - h0))), False


def _time_of_height(store: Store, h: int) -> tuple[int, bool]:
    """Header time of height ``h``: stored, else linear between the nearest stored heights."""
    row = store.con.execute("SELECT time FROM blocks WHERE height = ?", [h]).fetchone()
    if row is not None:
        return int(row[0]), True
    row = store.con.execute("SELECT start_time FROM epochs WHERE first_height = ? AND start_time IS NOT NULL", [h]).fetchone()
    if row is not None:
        return int(row[0]), True
    a = store.con.execute("SELECT height, time FROM blocks WHERE height < ? ORDER BY height DESC LIMIT 1", [h]).fetchone()
    b = store.con.execute("SELECT height, time FROM blocks WHERE height > ? ORDER BY height LIMIT 1", [h]).fetchone()
    if a is None or b is None:
        raise ScenarioInputError(f"start: cannot place height {h} in time from the store's blocks")
    return int(a[1] + (b[1] - a[1]) * (h - a[0]) / (b[0] - a[0])), False


def load_start_state(store: Store, at: date | None = None) -> StartState:
    """Network state at the end of UTC day ``at`` (default: the latest day in the store).

    Parameters
    ----------
    store : Store
    at : datetime.date, optional

    Returns
    -------
    StartState
        ``time_unix`` = 00:00 UTC after ``at`` (Coin Metrics' price fixing instant); tip height
        from block times (exact where the store has consecutive blocks, else interpolated);
        bits from ``epochs``; price = BTC-USD close of ``at`` (Coin Metrics, else blockchain.com);
        hashrate = 7-day mean of Coin Metrics (else mempool.space); fees = 30-day total fees /
        blocks (Coin Metrics). ``source`` says which figures were interpolated.
    """
    at = at or latest_date(store)
    t = _unix(at + timedelta(days=1))
    tip, exact = _interp_height(store, t)
    nxt = tip + 1
    epoch = nxt // RETARGET_INTERVAL
    bits = store.scalar("SELECT bits FROM epochs WHERE epoch = ?", [epoch])
    if bits is None:
        raise ScenarioInputError(f"start: epoch {epoch} (height {nxt}) is not in the store's epochs table")
    notes = [f"state at end of {at.isoformat()} UTC", "tip height " + ("exact" if exact else "interpolated")]
    first_time = None
    if nxt % RETARGET_INTERVAL:
        first_time, ft_exact = _time_of_height(store, epoch * RETARGET_INTERVAL)
        if not ft_exact:
            notes.append("epoch start time interpolated")
    price = store.con.execute(
        "SELECT close, source FROM prices_daily WHERE ticker = 'BTC-USD' AND date = ? "
        "ORDER BY source = 'coinmetrics' DESC LIMIT 1",
        [at],
    ).fetchone()
    if price is None:
        raise ScenarioInputError(f"start: no BTC-USD price for {at.isoformat()} in the store")
    lo = at - timedelta(days=FEE_AVG_DAYS - 1)
    net = store.df(
        "SELECT date, hashrate_ehs, blk_cnt, fee_tot_btc FROM network_daily "
        "WHERE source = 'coinmetrics' AND date BETWEEN ? AND ? ORDER BY date",
        [lo, at],
    )
    hr = net.hashrate_ehs.dropna().tail(HASHRATE_AVG_DAYS)
    if len(hr) == HASHRATE_AVG_DAYS:
        hashrate = float(hr.mean())
        notes.append("hashrate coinmetrics 7d")
    else:
        v = store.scalar(
            "SELECT avg(hashrate_ehs) FROM hashrate_daily WHERE date BETWEEN ? AND ?",
            [at - timedelta(days=HASHRATE_AVG_DAYS - 1), at],
        )
        if v is None:
            raise ScenarioInputError(f"start: no network hashrate for the week to {at.isoformat()}")
        hashrate = float(v)
        notes.append("hashrate mempool.space 7d")
    fee_rows = net.dropna(subset=["blk_cnt", "fee_tot_btc"])
    if fee_rows.empty:
        raise ScenarioInputError(f"start: no fee data for the 30 days to {at.isoformat()}")
    fees = float(fee_rows.fee_tot_btc.sum() * 1e8 / fee_rows.blk_cnt.sum())
    notes.append(f"price {price[1]}")
    return StartState(
        time_unix=t,
        tip_height=tip,
        bits=int(bits),
        epoch_first_time_unix=first_time,
        price_usd=float(price[0]),
        hashrate_ehs=hashrate,
        fees_sats_per_block=fees,
        source="; ".join(notes),
    )


def load_price_log_returns(store: Store, end: date, years: float) -> tuple[np.ndarray, str]:
    """Daily BTC log-returns over ``years`` to ``end`` (Coin Metrics, else blockchain.com MKPRU).

    Returns only day-to-day returns within one source (no return spans a gap or a source switch).
    """
    start = end - timedelta(days=int(round(years * 365)))
    df = store.df(
        "SELECT date, source, close FROM prices_daily WHERE ticker = 'BTC-USD' AND date BETWEEN ? AND ? "
        "AND source IN ('coinmetrics', 'blockchaincom_mkpru') ORDER BY date",
        [start, end],
    )
    if df.empty:
        raise ScenarioInputError(f"price: no BTC-USD prices between {start} and {end} in the store")
    df["pref"] = (df.source != "coinmetrics").astype(int)
    df = df.sort_values(["date", "pref"]).drop_duplicates("date")
    d = pd.to_datetime(df.date).to_numpy()
    c = df.close.to_numpy(dtype=np.float64)
    src = df.source.to_numpy()
    ok = (np.diff(d) == np.timedelta64(1, "D")) & (src[1:] == src[:-1])
    r = np.diff(np.log(c))[ok]
    if r.size < 60:
        raise ScenarioInputError(f"price: only {r.size} daily returns between {start} and {end}; need >= 60")
    label = f"{pd.Timestamp(d[0]).date()}..{pd.Timestamp(d[-1]).date()} ({', '.join(sorted(set(src)))}, {r.size} returns)"
    return r, label


def load_network_history(store: Store, end: date, days: int) -> pd.DataFrame:
    """Coin Metrics daily ``hashrate_ehs``, ``blk_cnt``, ``fee_tot_btc`` for ``days`` to ``end``."""
    return store.df(
        "SELECT date, hashrate_ehs, blk_cnt, fee_tot_btc FROM network_daily WHERE source = 'coinmetrics' "
        "AND date BETWEEN ? AND ? ORDER BY date",
        [end - timedelta(days=days - 1), end],
    )


def load_asic_catalogue(store: Store) -> dict[str, tuple[float, float]]:
    """``model -> (hashrate_th [TH/s], power_w [W])`` from ``asic_models``."""
    df = store.df("SELECT model, hashrate_th, power_w FROM asic_models")
    return {r.model: (float(r.hashrate_th), float(r.power_w)) for r in df.itertuples()}


def load_miner(store: Store, profile: MinerProfile | str | Path) -> MinerEconomics:
    """Load (if a path) and resolve a miner profile against the store's ASIC catalogue."""
    if not isinstance(profile, MinerProfile):
        profile = load_profile(profile)
    return miner_from_profile(profile, load_asic_catalogue(store))


def fit_shocks(store: Store, end: date, years: float = 4.0) -> tuple[ShockModel, dict]:
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
    hr = load_daily_hashrate(store, start, end, "coinmetrics")
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
    store: Store,
    horizon_months: int,
    at: date | None = None,
    miner: MinerEconomics | None = None,
    start: StartState | None = None,
    options: FitOptions = FitOptions(),
    capex_usd: float = 0.0,
) -> tuple[ScenarioSpec, dict]:
    """Fit the price, hashrate and fee models on the store and assemble a :class:`ScenarioSpec`.

    Returns
    -------
    spec : ScenarioSpec
    models : dict
        What was fitted, on which window (for reports).
    """
    if options.vol_per_year is not None and options.vol_per_year < 0:
        raise ScenarioInputError(f"price.vol_per_year: volatility must be >= 0, got {options.vol_per_year}")
    start = start or load_start_state(store, at)
    end = start.start_date
    r, label = load_price_log_returns(store, end, options.price_years)
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
    net = load_network_history(store, end, options.network_days)
    net_label = f"coinmetrics {net.date.min().date() if len(net) else '?'}..{end}"
    if options.growth_per_year is None:
        hr = net.hashrate_ehs.dropna().to_numpy()
        growth = fit_hashrate_trend(hr, net_label)
    else:
        growth = options.growth_per_year
    shock_info: dict | None = None
    if isinstance(options.shocks, str):
        if options.shocks != "fit":
            raise ScenarioInputError(f"shocks: {options.shocks!r} is not a ShockModel, None or 'fit'")
        shocks, shock_info = fit_shocks(store, end, options.shock_years)
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
