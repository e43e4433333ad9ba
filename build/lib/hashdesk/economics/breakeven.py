"""Unit economics of a fleet: cost per BTC, breakeven hashprice, power price and BTC price.

Energy [kWh/day] = hashrate [TH/s] × efficiency [J/TH] × 0.024 (1 W for 24 h is 0.024 kWh).
The power-only breakeven hashprice [USD/TH/day] = efficiency × 0.024 × power price [USD/kWh].

Conventions (also in docs/economics.md):

- Revenue accrues only while hashing (``uptime``); power and hosting are paid on energy used;
  ``other_cash_cost_usd_per_year`` and demand-response credits accrue every day.
- The pool fee is taken once, from the BTC produced (:mod:`hashdesk.economics.modelchain`);
  the cash cost per BTC is per BTC *kept*, so it equals the BTC price exactly at zero margin.
- Breakevens are cash breakevens (no depreciation, no interest).

References
----------
.. [1] DESIGN.md §3 (energy and breakeven hashprice).
.. [2] Hashrate Index, "hashcost" = efficiency × power price × 24 h.
"""

from __future__ import annotations

import numpy as np

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
