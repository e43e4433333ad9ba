"""Unit economics of a fleet: cost per BTC, breakeven hashprice, power price and BTC price.

Energy [kWh/day] = hashrate [TH/s] × efficiency [J/TH] × 0.024 (1 W for 24 h is 0.024 kWh).
The power-only breakeven hashprice [USD/TH/day] = efficiency × 0.024 × power price [USD/kWh].

Conventions (also in docs/economics.md):

- Revenue accrues only while hashing (``uptime``); power and hosting are paid on energy used;
  ``other_cash_cost_usd_per_year`` and demand-response credits accrue every day.
- BTC earned is *gross* of the pool fee; the pool fee is a cost line, so that the cash cost per
  BTC equals the BTC price exactly when the margin is zero.
- Breakevens are cash breakevens (no depreciation, no interest).

References
----------
.. [1] DESIGN.md §3 (energy and breakeven hashprice).
.. [2] Hashrate Index, "hashcost" = efficiency × power price × 24 h.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hashdesk.economics.fleet import Fleet
from hashdesk.economics.hashprice import NetworkState
from hashdesk.economics.profile import MinerProfile

#: Energy of 1 TH/s at 1 J/TH over a day [kWh]: 1 W × 24 h / 1000.
KWH_PER_TH_DAY_PER_J_TH: float = 0.024
#: Days per year used for yearly cost lines [days].
DAYS_PER_YEAR: float = 365.0


def _check_efficiency(efficiency_j_per_th) -> np.ndarray:
    e = np.asarray(efficiency_j_per_th, dtype=np.float64)
    if not np.all(np.isfinite(e)) or np.any(e <= 0):
        raise ValueError(f"efficiency_j_per_th must be > 0, got {efficiency_j_per_th!r}")
    return e


def _check_nonneg(name: str, value) -> np.ndarray:
    v = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(v)) or np.any(v < 0):
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return v


def _out(x: np.ndarray):
    return float(x) if np.ndim(x) == 0 else x


def energy_kwh_per_day(hashrate_ths, efficiency_j_per_th):
    """Energy used per day [kWh/day] = hashrate [TH/s] × efficiency [J/TH] × 0.024.

    Examples
    --------
    1 PH/s (1,000 TH/s) of 17.5 J/TH machines draws 17.5 kW, i.e. 420 kWh a day:

    >>> energy_kwh_per_day(1000.0, 17.5)
    420.0
    """
    h = _check_nonneg("hashrate_ths", hashrate_ths)
    return _out(h * _check_efficiency(efficiency_j_per_th) * KWH_PER_TH_DAY_PER_J_TH)


def breakeven_hashprice_usd_per_th_day(efficiency_j_per_th, power_usd_per_kwh):
    """Power-only breakeven hashprice [USD/TH/day] = efficiency × 0.024 × power price.

    Parameters
    ----------
    efficiency_j_per_th : float or array
        Fleet efficiency [J/TH], > 0.
    power_usd_per_kwh : float or array
        Power price [USD/kWh], >= 0.

    Returns
    -------
    float or numpy.ndarray
        Hashprice at which power cost equals revenue [USD/TH/day].

    References
    ----------
    .. [1] DESIGN.md §3.

    Examples
    --------
    An S21 (17.5 J/TH) at 5 ¢/kWh: 17.5 × 0.024 × 0.05 = 0.021 USD/TH/day = 21 USD/PH/day.

    >>> round(breakeven_hashprice_usd_per_th_day(17.5, 0.05), 6)
    0.021
    """
    e = _check_efficiency(efficiency_j_per_th)
    p = _check_nonneg("power_usd_per_kwh", power_usd_per_kwh)
    return _out(e * KWH_PER_TH_DAY_PER_J_TH * p)


def breakeven_power_usd_per_kwh(
    hashprice_usd_per_th_day, efficiency_j_per_th, pool_fee: float = 0.0, hosting_usd_per_kwh: float = 0.0
):
    """Power price at which revenue net of pool fee pays power and hosting [USD/kWh].

    ``hashprice × (1 − pool_fee) / (efficiency × 0.024) − hosting``; negative means no power
    price breaks even.

    Examples
    --------
    At 50 USD/PH/day (0.05 USD/TH/day), 25 J/TH, 2 % pool fee:
    0.05 × 0.98 / (25 × 0.024) = 0.08167 USD/kWh.

    >>> round(breakeven_power_usd_per_kwh(0.05, 25.0, pool_fee=0.02), 5)
    0.08167
    """
    hp = _check_nonneg("hashprice_usd_per_th_day", hashprice_usd_per_th_day)
    e = _check_efficiency(efficiency_j_per_th)
    if not 0 <= pool_fee < 1:
        raise ValueError(f"pool_fee must be in [0, 1), got {pool_fee!r}")
    _check_nonneg("hosting_usd_per_kwh", hosting_usd_per_kwh)
    return _out(hp * (1.0 - pool_fee) / (e * KWH_PER_TH_DAY_PER_J_TH) - hosting_usd_per_kwh)


def breakeven_btc_price_usd(
    hashprice_btc_per_th_day,
    efficiency_j_per_th,
    power_usd_per_kwh,
    pool_fee: float = 0.0,
    hosting_usd_per_kwh: float = 0.0,
):
    """BTC price at which a running TH/s pays its power and hosting [USD/BTC].

    ``efficiency × 0.024 × (power + hosting) / (hashprice_btc × (1 − pool_fee))``.

    Examples
    --------
    After the 2024 halving, about 1.1e-6 BTC/TH/day; 25 J/TH at 5 ¢/kWh:
    25 × 0.024 × 0.05 / 1.1e-6 = 27,273 USD/BTC.

    >>> round(breakeven_btc_price_usd(1.1e-6, 25.0, 0.05))
    27273
    """
    hb = np.asarray(hashprice_btc_per_th_day, dtype=np.float64)
    if np.any(hb <= 0):
        raise ValueError(f"hashprice_btc_per_th_day must be > 0, got {hashprice_btc_per_th_day!r}")
    if not 0 <= pool_fee < 1:
        raise ValueError(f"pool_fee must be in [0, 1), got {pool_fee!r}")
    e = _check_efficiency(efficiency_j_per_th)
    p = _check_nonneg("power_usd_per_kwh", power_usd_per_kwh) + _check_nonneg("hosting_usd_per_kwh", hosting_usd_per_kwh)
    return _out(e * KWH_PER_TH_DAY_PER_J_TH * p / (hb * (1.0 - pool_fee)))


@dataclass(frozen=True)
class UnitEconomics:
    """A fleet's daily economics under one network state. Money in USD, BTC gross of pool fee."""

    start: str
    end: str
    hashrate_ehs: float
    online_hashrate_ehs: float
    efficiency_j_per_th: float
    power_usd_per_kwh: float
    hashprice_usd_per_ph_day: float
    hashprice_btc_per_ph_day: float
    price_usd: float
    btc_per_day: float
    revenue_usd_per_day: float
    demand_response_usd_per_day: float
    energy_mwh_per_day: float
    power_cost_usd_per_day: float
    hosting_cost_usd_per_day: float
    pool_fee_usd_per_day: float
    other_cost_usd_per_day: float
    margin_usd_per_day: float
    margin_pct: float
    cost_per_btc_power_usd: float
    cost_per_btc_hosting_usd: float
    cost_per_btc_pool_usd: float
    cost_per_btc_other_usd: float
    cash_cost_per_btc_usd: float
    breakeven_hashprice_power_usd_per_ph_day: float
    breakeven_hashprice_all_in_usd_per_ph_day: float
    breakeven_power_usd_per_kwh: float
    breakeven_btc_price_usd: float


def unit_economics(fleet: Fleet, profile: MinerProfile, state: NetworkState) -> UnitEconomics:
    """Daily revenue, costs, cost per BTC and breakevens of a fleet.

    Parameters
    ----------
    fleet : Fleet
        Resolved fleet (nameplate hashrate and efficiency).
    profile : MinerProfile
        Uptime, power price, hosting, pool fee, other cash costs, demand-response credits.
        The contract's ``price_usd_per_kwh`` is used as the all-in price for every contract
        kind (an indexed contract's realised price is not modelled here).
    state : NetworkState
        Hashprice and BTC price (a day or a window mean).

    Returns
    -------
    UnitEconomics
        With ``H`` online TH/s, ``hb`` BTC/TH/day, ``P`` USD/BTC, ``f`` pool fee, ``E`` kWh/day:
        BTC/day = H·hb; revenue = BTC·P; pool fee = f·revenue; power = E·price; cash cost per
        BTC = (power + hosting + other + pool fee) / BTC; all-in breakeven hashprice =
        (power + hosting + other − DR) / (H·(1 − f)); breakeven BTC price = same costs /
        (BTC·(1 − f)); breakeven power price = (revenue·(1 − f) + DR − hosting − other) / E.

    Examples
    --------
    1 EH/s at 20 J/TH, 100 % uptime, 5 ¢/kWh, no fees, hashprice 50 USD/PH/day at 62,500 USD:
    revenue 50,000 USD/day, energy 480 MWh/day, power 24,000 USD/day, cost per BTC 30,000 USD.

    >>> from datetime import date
    >>> from hashdesk.economics.fleet import FleetLine
    >>> fl = Fleet((FleetLine("x", None, 1e6, 20_000.0, 20.0, "t"),))
    >>> pr = MinerProfile.model_validate({"name": "x", "uptime": 1.0,
    ...     "fleet": [{"hashrate_ehs": 1.0, "efficiency_j_per_th": 20.0}],
    ...     "power": {"price_usd_per_kwh": 0.05}})
    >>> st = NetworkState(date(2024, 5, 1), date(2024, 5, 1), 1, 8e-7, 0.05, 62_500.0, 8.6e13, 3.125, 0.1)
    >>> u = unit_economics(fl, pr, st)
    >>> round(u.revenue_usd_per_day), round(u.power_cost_usd_per_day), round(u.cash_cost_per_btc_usd)
    (50000, 24000, 30000)
    >>> round(u.breakeven_btc_price_usd), round(u.breakeven_power_usd_per_kwh, 5)
    (30000, 0.10417)
    """
    if state.hashprice_btc_per_th_day <= 0 or state.price_usd <= 0:
        raise ValueError("the network state needs a positive hashprice and BTC price")
    f = profile.pool_fee
    h_online = fleet.hashrate_ths * profile.uptime
    e_kwh = energy_kwh_per_day(h_online, fleet.efficiency_j_per_th)
    btc = h_online * state.hashprice_btc_per_th_day
    revenue = btc * state.price_usd
    power = e_kwh * profile.power.price_usd_per_kwh
    hosting = e_kwh * profile.hosting_usd_per_kwh
    other = profile.other_cash_cost_usd_per_year / DAYS_PER_YEAR
    dr = profile.power.demand_response_usd_per_year / DAYS_PER_YEAR
    pool = f * revenue
    margin = revenue + dr - power - hosting - other - pool
    net_cost = power + hosting + other - dr
    return UnitEconomics(
        start=str(state.start),
        end=str(state.end),
        hashrate_ehs=fleet.hashrate_ehs,
        online_hashrate_ehs=h_online / 1e6,
        efficiency_j_per_th=fleet.efficiency_j_per_th,
        power_usd_per_kwh=profile.power.price_usd_per_kwh,
        hashprice_usd_per_ph_day=state.hashprice_usd_per_ph_day,
        hashprice_btc_per_ph_day=state.hashprice_btc_per_ph_day,
        price_usd=state.price_usd,
        btc_per_day=btc,
        revenue_usd_per_day=revenue,
        demand_response_usd_per_day=dr,
        energy_mwh_per_day=e_kwh / 1000.0,
        power_cost_usd_per_day=power,
        hosting_cost_usd_per_day=hosting,
        pool_fee_usd_per_day=pool,
        other_cost_usd_per_day=other,
        margin_usd_per_day=margin,
        margin_pct=margin / (revenue + dr),
        cost_per_btc_power_usd=power / btc,
        cost_per_btc_hosting_usd=hosting / btc,
        cost_per_btc_pool_usd=pool / btc,
        cost_per_btc_other_usd=other / btc,
        cash_cost_per_btc_usd=(power + hosting + other + pool) / btc,
        breakeven_hashprice_power_usd_per_ph_day=1000.0
        * breakeven_hashprice_usd_per_th_day(fleet.efficiency_j_per_th, profile.power.price_usd_per_kwh),
        breakeven_hashprice_all_in_usd_per_ph_day=1000.0 * net_cost / (h_online * (1.0 - f)),
        breakeven_power_usd_per_kwh=(revenue * (1.0 - f) + dr - hosting - other) / e_kwh,
        breakeven_btc_price_usd=net_cost / (btc * (1.0 - f)),
    )


def side_by_side(results: dict[str, UnitEconomics]) -> pd.DataFrame:
    """Unit economics under several states as rows = metrics, columns = labels (+ change %)."""
    df = pd.DataFrame({k: pd.Series(v.__dict__) for k, v in results.items()})
    if len(results) == 2:
        a, b = list(results)
        num = pd.to_numeric(df[a], errors="coerce"), pd.to_numeric(df[b], errors="coerce")
        df["change_pct"] = (num[1] / num[0] - 1.0) * 100.0
    return df
