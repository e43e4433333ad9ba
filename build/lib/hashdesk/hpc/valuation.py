"""Mining vs AI/HPC hosting per MW: cash flows, NPV, IRR, payback, switch decision, sum of parts.

Conventions (see docs/hpc.md for the formulas and a worked example):

- Monthly time grid of equal months (365.25/12 days); month ``m = 1..N`` pays at the end of the
  month, ``t = m/12`` years; capex is paid at ``t = 0``. Discounting is annual-compound,
  ``(1 + r)^(-t)``.
- Mining is valued per MW of *gross* site power; HPC per MW of *critical-IT* load and also per
  gross MW (× critical-IT share) so both uses of the same grid connection compare directly.
- The hashprice path starts from the exact-work hashprice at the valuation date and moves only
  through (a) the subsidy halvings, placed at 144 blocks per day from the current height, with
  fees per block held flat, and (b) optional constant drifts of the BTC price and difficulty.
- Pure functions: no I/O. Store reads live in :mod:`hashdesk.data.companies`.

References
----------
.. [1] DESIGN.md §3 (hashprice from exact work; energy = TH/s × J/TH × 0.024;
   HPC value = lease × 12,000 × critical-IT share, less opex).
.. [2] Brealey, Myers & Allen, *Principles of Corporate Finance*, ch. 2 & 5 (NPV, IRR, payback).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hashdesk.chain.consensus import block_subsidy
from hashdesk.economics.breakeven import breakeven_hashprice_usd_per_th_day
from hashdesk.economics.core import hashprice_btc_per_ph_day
from hashdesk.economics.state import NetworkState
from hashdesk.hpc.contracts import (
    add_months,
    format_phases,
    parse_phases,
    parse_renewal_options,
    phase_tranches,
    renewal_exercise_probabilities,
    renewal_terms_years,
)
from hashdesk.hpc.sites import CONTRACTED_HPC, Company, HpcStatus, Site, contracted_by, parse_site

#: Days per year [days] (Julian year; halvings and hashprice use it).
DAYS_PER_YEAR: float = 365.25
#: Days per (equal) month [days].
DAYS_PER_MONTH: float = DAYS_PER_YEAR / 12
#: Hours per (equal) month [h].
HOURS_PER_MONTH: float = DAYS_PER_MONTH * 24
#: kW per MW.
KW_PER_MW: float = 1000.0
#: USD/MW-year per USD/kW-month: 1,000 kW × 12 months.
USD_PER_MW_YEAR_PER_USD_PER_KW_MONTH: float = 12_000.0
#: Expected blocks per day at the 600 s target spacing [blocks/day].
BLOCKS_PER_DAY: float = 144.0


class ValuationError(ValueError):
    """Inputs that cannot be valued (message names the field)."""


# ---------------------------------------------------------------------------------------------
# unit helpers


def lease_usd_per_mw_year(lease_usd_per_kw_month: float) -> float:
    """Convert a lease rate [USD/kW-month] to [USD/MW-year] (× 12,000).

    Examples
    --------
    >>> lease_usd_per_mw_year(150.0)
    1800000.0
    """
    return float(lease_usd_per_kw_month) * USD_PER_MW_YEAR_PER_USD_PER_KW_MONTH


def lease_usd_per_kw_month(usd_per_mw_year: float) -> float:
    """Convert [USD/MW-year] to a lease rate [USD/kW-month] (÷ 12,000).

    Examples
    --------
    >>> lease_usd_per_kw_month(1_800_000.0)
    150.0
    """
    return float(usd_per_mw_year) / USD_PER_MW_YEAR_PER_USD_PER_KW_MONTH


def month_times_years(months: int) -> np.ndarray:
    """End-of-month times ``m/12`` [years] for ``m = 1..months``."""
    return np.arange(1, int(months) + 1, dtype=float) / 12.0


# ---------------------------------------------------------------------------------------------
# discounted cash flow


def npv(rate_per_year: float, cashflows_usd: Sequence[float], times_years: Sequence[float]) -> float:
    """Net present value [USD] = Σ CF_i · (1 + r)^(−t_i).

    Parameters
    ----------
    rate_per_year : float
        Discount rate [1/year], annual compounding (> −1).
    cashflows_usd : array-like
        Cash flows [USD].
    times_years : array-like
        When each flow occurs [years from the valuation date].

    References
    ----------
    .. [1] Brealey, Myers & Allen, ch. 2.

    Examples
    --------
    >>> round(npv(0.10, [-100.0, 60.0, 60.0], [0.0, 1.0, 2.0]), 4)
    4.1322
    """
    if rate_per_year <= -1:
        raise ValueError(f"rate_per_year must be > -1, got {rate_per_year}")
    cf = np.asarray(cashflows_usd, dtype=float)
    t = np.asarray(times_years, dtype=float)
    if cf.shape != t.shape:
        raise ValueError(f"cashflows_usd {cf.shape} and times_years {t.shape} differ in shape")
    return float(np.sum(cf * (1.0 + rate_per_year) ** (-t)))


def irr(cashflows_usd: Sequence[float], times_years: Sequence[float]) -> float | None:
    """Internal rate of return [1/year]: the ``r`` with NPV(r) = 0 (annual compounding).

    Solved with Brent's method on (−0.99, 1e3]. Returns ``None`` when NPV does not change sign
    there (e.g. all flows positive: no investment to earn a rate on). For flows that change sign
    more than once several roots may exist; the one found by bracketing from −0.99 is returned.

    References
    ----------
    .. [1] Brealey, Myers & Allen, ch. 5.

    Examples
    --------
    >>> round(irr([-100.0, 110.0], [0.0, 1.0]), 10)
    0.1
    """
    cf = np.asarray(cashflows_usd, dtype=float)
    t = np.asarray(times_years, dtype=float)

    def f(r: float) -> float:
        return float(np.sum(cf * np.exp(-t * math.log1p(r))))

    lo = -0.99
    f_lo = f(lo)
    if f_lo == 0:
        return lo
    for hi in (0.0, 0.5, 1.0, 10.0, 1e3):
        f_hi = f(hi)
        if np.sign(f_hi) != np.sign(f_lo):
            from scipy.optimize import brentq  # deferred: 0.4 s of import, only IRR needs it

            return float(brentq(f, lo, hi, xtol=1e-12, rtol=1e-12, maxiter=500))
        lo, f_lo = hi, f_hi
    return None


def payback_years(cashflows_usd: Sequence[float], times_years: Sequence[float]) -> float | None:
    """First time the cumulative cash flow reaches zero [years], interpolated linearly.

    Returns ``0.0`` when the cumulative flow never goes negative, ``None`` when it never
    recovers. Pass discounted flows for the discounted payback.

    References
    ----------
    .. [1] Brealey, Myers & Allen, ch. 5 (payback rule).

    Examples
    --------
    >>> payback_years([-100.0, 40.0, 40.0, 40.0], [0.0, 1.0, 2.0, 3.0])
    2.5
    """
    cf = np.asarray(cashflows_usd, dtype=float)
    t = np.asarray(times_years, dtype=float)
    order = np.argsort(t, kind="stable")
    cf, t = cf[order], t[order]
    cum = np.cumsum(cf)
    if (cum >= 0).all():
        return 0.0
    last_neg = int(np.flatnonzero(cum < 0)[-1])
    if last_neg == len(cum) - 1:
        return None
    i = last_neg + 1
    frac = -cum[last_neg] / cf[i]
    return float(t[last_neg] + frac * (t[i] - t[last_neg]))


# ---------------------------------------------------------------------------------------------
# network state and hashprice path


def hashprice_path_usd_per_th_day(
    state: NetworkState,
    months: int,
    difficulty_growth_per_year: float = 0.0,
    btc_price_growth_per_year: float = 0.0,
) -> np.ndarray:
    """Monthly hashprice path [USD/TH/day], sampled at mid-month.

    ``hp(t) = 86,400·10^12 / work(T0) × (subsidy(h_t) + fees0) × P0 × ((1+p)/(1+g))^t``
    with ``h_t = h0 + 144 · 365.25 · t`` blocks, so each halving cuts the subsidy part in half
    at its expected date while fees per block stay at the trailing mean.

    Parameters
    ----------
    state : NetworkState
        Start (:class:`hashdesk.economics.state.NetworkState`): tip height, bits, fees per block,
        price; it must carry fees and a price.
    months : int
        Path length [months].
    difficulty_growth_per_year : float
        Constant difficulty growth ``g`` [1/year].
    btc_price_growth_per_year : float
        Constant BTC price drift ``p`` [1/year].

    References
    ----------
    .. [1] DESIGN.md §3; Bitcoin Core ``GetBlockSubsidy``.
    """
    state.require("fees_btc_per_block", "price_usd")
    t_mid = (np.arange(int(months), dtype=float) + 0.5) / 12.0
    heights = state.tip_height + 1 + np.round(t_mid * DAYS_PER_YEAR * BLOCKS_PER_DAY).astype(np.int64)
    hp_btc_per_ph = np.array(
        [
            hashprice_btc_per_ph_day(state.bits, block_subsidy(int(h)), state.fees_sats_per_block)
            for h in heights
        ]
    )
    drift = ((1.0 + btc_price_growth_per_year) / (1.0 + difficulty_growth_per_year)) ** t_mid
    return hp_btc_per_ph * state.price_usd * drift / 1000.0


def _state_day(state: NetworkState) -> dt.date:
    """UTC day whose end is the state's time."""
    return dt.datetime.fromtimestamp(state.at_unix - 1, tz=dt.UTC).date()


# ---------------------------------------------------------------------------------------------
# cash flows


def mining_cashflows_usd_per_mw(
    hashprice_usd_per_th_day: np.ndarray,
    efficiency_j_per_th: float,
    power_usd_per_kwh: float,
    uptime: float = 1.0,
    pue: float = 1.0,
    pool_fee: float = 0.0,
    opex_usd_per_mw_year: float = 0.0,
    demand_response_usd_per_mw_year: float = 0.0,
    curtail_when_unprofitable: bool = True,
) -> np.ndarray:
    """Monthly mining cash flow per MW of gross site power [USD/MW-month], by the miner model chain.

    One MW of gross power runs ``10^6 / (pue · J/TH)`` TH/s (the site's power over its PUE-loaded
    efficiency). Each month is one :class:`~hashdesk.economics.modelchain.ModelChain` run over
    30.4375 days at the path's hashprice (USD per TH/day, so the chain runs with a price of 1):
    revenue net of the pool fee (taken once), power on the energy used, demand-response credits
    and fixed opex per day; with ``curtail_when_unprofitable`` the machines switch off in months
    whose revenue net of the pool fee is below the power bill (the chain's curtailment rule).

    References
    ----------
    .. [1] DESIGN.md §3 (energy and breakeven formulas); :mod:`hashdesk.economics.modelchain`.
    """
    from hashdesk.economics.fleet import Fleet, FleetLine
    from hashdesk.economics.modelchain import DEFAULT_CHAIN, MinerSpec

    hp = np.asarray(hashprice_usd_per_th_day, dtype=float)
    eff_site = pue * efficiency_j_per_th  # J per TH at the meter
    ths_per_mw = 1e6 / eff_site
    miner = MinerSpec(
        name="1 MW of site power",
        fleet=Fleet((FleetLine("per MW", None, ths_per_mw, KW_PER_MW, eff_site, "site"),)),
        uptime=uptime, power_usd_per_kwh=power_usd_per_kwh, pool_fee=pool_fee,
        curtailable=curtail_when_unprofitable,
        other_cost_usd_per_day=opex_usd_per_mw_year / DAYS_PER_YEAR,
        demand_response_usd_per_day=demand_response_usd_per_mw_year / DAYS_PER_YEAR,
    )
    r = DEFAULT_CHAIN.run(miner, hp, 1.0, DAYS_PER_MONTH)
    return np.asarray(r.margin_usd, dtype=float)


def hpc_tranche_cashflows_usd(
    tranches: Sequence[tuple[int, float]],
    lease_usd_per_kw_month: float,
    term_years: float,
    escalator_per_year: float = 0.0,
    operator_opex_usd_per_kw_month: float = 0.0,
    pue: float = 1.0,
    power_usd_per_kwh: float = 0.0,
    tenant_power_share: float = 1.0,
    *,
    lease_months: tuple[int, int] | None = None,
    months: int | None = None,
) -> np.ndarray:
    """Monthly HPC cash flows [USD/month] of critical-IT tranches that start paying at different months.

    Tranche ``(s, MW)`` pays its lease month ``j = 0, 1, …`` in grid month ``s + j`` (grid months
    ``1..N``; ``s ≤ 0``: in service before the valuation day, its first ``1 − s`` months elapsed):

    ``kW × (L × (1+esc)^(j // 12) − opex) − kW × pue × hours × USD/kWh × (1 − tenant share)``.

    Parameters
    ----------
    tranches : sequence of (int, float)
        ``(s, critical_it_mw)`` [grid month, MW] (:func:`hashdesk.hpc.contracts.phase_tranches`).
    lease_usd_per_kw_month, term_years, escalator_per_year, operator_opex_usd_per_kw_month, pue,
    power_usd_per_kwh, tenant_power_share
        As in :func:`hpc_cashflows_usd` [USD/kW-month, years, 1/year, USD/kW-month, ratio, USD/kWh, 0-1].
    lease_months : (int, int), optional
        Window ``[j0, j1)`` of lease months to pay [default: the initial term, ``[0, 12·term)``];
        a renewal is the window after it.
    months : int, optional
        Grid length N [default: the last month any tranche pays].

    References
    ----------
    .. [1] DESIGN.md §3 (lease × 12,000 per MW-year); docs/hpc.md (phased energization).
    """
    n_lease = int(round(term_years * 12))
    j0, j1 = lease_months if lease_months is not None else (0, n_lease)
    if months is None:
        months = max([int(s) - 1 + j1 for s, _ in tranches] + [0])
    out = np.zeros(int(months))
    j = np.arange(j0, j1)
    power = pue * HOURS_PER_MONTH * power_usd_per_kwh * (1.0 - tenant_power_share)
    rate = lease_usd_per_kw_month * (1.0 + escalator_per_year) ** (j // 12) - operator_opex_usd_per_kw_month - power
    for s, mw in tranches:
        g = int(s) + j
        keep = (g >= 1) & (g <= months)
        np.add.at(out, g[keep] - 1, mw * KW_PER_MW * rate[keep])
    return out


def hpc_cashflows_usd(
    critical_it_mw: float,
    lease_usd_per_kw_month: float,
    term_years: float,
    months_to_energize: int,
    escalator_per_year: float = 0.0,
    operator_opex_usd_per_kw_month: float = 0.0,
    pue: float = 1.0,
    power_usd_per_kwh: float = 0.0,
    tenant_power_share: float = 1.0,
) -> np.ndarray:
    """Monthly HPC hosting cash flows of a site [USD/month] (capex excluded).

    Months ``1..E`` (building) pay nothing; then ``round(12·term)`` lease months pay
    ``kW_IT × (lease × (1+esc)^k − opex) − kW_IT × pue × hours × USD/kWh × (1 − tenant share)``
    in lease year ``k = 0, 1, ...`` (one tranche starting in grid month ``E + 1``:
    :func:`hpc_tranche_cashflows_usd`).

    References
    ----------
    .. [1] DESIGN.md §3 (lease × 12,000 per MW-year).
    """
    return hpc_tranche_cashflows_usd(
        [(int(months_to_energize) + 1, critical_it_mw)], lease_usd_per_kw_month, term_years, escalator_per_year,
        operator_opex_usd_per_kw_month, pue, power_usd_per_kwh, tenant_power_share)


def site_tranches(site: Site, day: dt.date) -> list[tuple[int, float]]:
    """A site's critical-IT tranches ``(s, MW)`` on the grid of valuation day ``day``.

    With ``hpc.phases``: the MW added by each phase from its month
    (:func:`hashdesk.hpc.contracts.phase_tranches`); else all MW from grid month
    ``months_to_energize + 1``.
    """
    if site.hpc.phases:
        return phase_tranches(parse_phases(site.hpc.phases), day)
    return [(int(site.hpc.months_to_energize) + 1, site.critical_it_mw)]


def base_horizon_months(site: Site, day: dt.date) -> int:
    """Months from the valuation day to the end of the last tranche's initial term [months]."""
    n_lease = int(round(site.hpc.term_years * 12))
    return max([int(s) - 1 + n_lease for s, _ in site_tranches(site, day)] + [0])


def shift_phases(phases: str, months: int, day: dt.date) -> str:
    """Phases moved by ``months`` (none earlier than the month after ``day``; colliding months merge).

    Examples
    --------
    >>> shift_phases("2025-03:40;2025-09:100", -6, dt.date(2024, 12, 31))
    '2025-01:40;2025-03:100'
    """
    first = add_months(f"{day:%Y-%m}", 1)
    out: dict[str, float] = {}
    for month, mw in parse_phases(phases):
        moved = add_months(month, months)
        if month >= first and moved < first:
            moved = first
        out[moved] = max(mw, out.get(moved, 0.0))
    return format_phases(sorted(out.items()))


def check_announced(site: Site, day: dt.date) -> None:
    """Refuse a valuation day before the lease's announcement.

    Raises
    ------
    ValuationError
        Naming the site, the valuation day and the announcement day.
    """
    ann = site.hpc.announced
    if ann is not None and day < ann:
        raise ValuationError(
            f"{site.name}: the valuation date {day} precedes the lease's announcement on {ann}: "
            f"value it on or after {ann}")


# ---------------------------------------------------------------------------------------------
# one site


@dataclass(frozen=True)
class SiteValuationResult:
    """Mining vs HPC for one site, side by side (all over the same horizon)."""

    site: str
    as_of: dt.date
    horizon_years: float
    hashprice_usd_per_ph_day: float
    breakeven_hashprice_usd_per_ph_day: float
    mining_usd_per_mw_year: float
    mining_npv_usd: float
    hpc_usd_per_mw_year: float
    hpc_usd_per_critical_it_mw_year: float
    hpc_lease_revenue_usd_per_year: float
    hpc_capex_usd: float
    hpc_npv_usd: float
    hpc_irr: float | None
    payback_years: float | None
    discounted_payback_years: float | None
    switch_value_usd: float
    decision: str
    breakeven_lease_usd_per_kw_month: float
    lease_usd_per_kw_month: float
    hpc_build_capex_usd: float = 0.0
    tenant_funded_capex_usd: float = 0.0
    capex_rule: str = ""
    capex_sunk_critical_it_mw: float = 0.0
    phases: str | None = None
    first_lease_month: int = 1
    renewal_options: str | None = None
    renewal_probability: float | None = None
    renewal_years: float = 0.0
    renewal_npv_usd: float = 0.0
    renewal_npv_if_exercised_usd: float = 0.0
    renewal_mining_npv_usd: float = 0.0
    renewal_switch_value_usd: float = 0.0
    switch_value_with_renewals_usd: float = 0.0
    decision_with_renewals: str = ""
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for JSON)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class SiteCashflows:
    """Monthly cash flows behind a :class:`SiteValuationResult` [USD]."""

    times_years: np.ndarray
    mining_usd: np.ndarray
    hpc_usd: np.ndarray
    hpc_capex_usd: float
    hashprice_usd_per_th_day: np.ndarray

    def frame(self) -> pd.DataFrame:
        """One row per month, plus t = 0 for capex; cumulative columns included."""
        t = np.concatenate([[0.0], self.times_years])
        mining = np.concatenate([[0.0], self.mining_usd])
        hpc = np.concatenate([[-self.hpc_capex_usd], self.hpc_usd])
        return pd.DataFrame(
            {
                "t_years": t,
                "hashprice_usd_per_th_day": np.concatenate([[np.nan], self.hashprice_usd_per_th_day]),
                "mining_usd": mining,
                "hpc_usd": hpc,
                "mining_cum_usd": np.cumsum(mining),
                "hpc_cum_usd": np.cumsum(hpc),
            }
        )


def site_cashflows(site: Site, state: NetworkState) -> SiteCashflows:
    """Monthly cash flows of a site under mining and under HPC hosting.

    The horizon runs to the last month of the initial lease term (the build, or the phased
    ramp, included); mining runs over the same horizon on the site's gross MW (no capex: the halls
    and machines exist). The operator's capex (build cost less what the tenant funds) is paid at
    ``t = 0`` for the MW not yet in service on the valuation day; MW already in service are sunk.

    Raises
    ------
    ValuationError
        The valuation day precedes the lease's announcement, or the initial term has ended.
    """
    h, m, p, v = site.hpc, site.mining, site.power, site.valuation
    day = _state_day(state)
    check_announced(site, day)
    tranches = site_tranches(site, day)
    hpc = hpc_tranche_cashflows_usd(
        tranches, h.lease_usd_per_kw_month, h.term_years, h.escalator_per_year,
        h.operator_opex_usd_per_kw_month, site.pue, p.price_usd_per_kwh, h.tenant_power_share)
    months = len(hpc)
    if months == 0:
        raise ValuationError(f"{site.name}: the initial lease term ended before the valuation date {day}")
    hp = hashprice_path_usd_per_th_day(state, months, v.difficulty_growth_per_year, v.btc_price_growth_per_year)
    mining_per_mw = mining_cashflows_usd_per_mw(
        hp,
        m.efficiency_j_per_th,
        p.price_usd_per_kwh,
        m.uptime,
        m.pue,
        m.pool_fee,
        m.opex_usd_per_mw_year,
        p.demand_response_usd_per_mw_year,
        v.curtail_when_unprofitable,
    )
    future_mw = sum(mw for s_, mw in tranches if s_ >= 1)
    return SiteCashflows(
        times_years=month_times_years(months),
        mining_usd=mining_per_mw * site.gross_mw,
        hpc_usd=hpc,
        hpc_capex_usd=h.operator_capex_usd_per_mw * future_mw,
        hashprice_usd_per_th_day=hp,
    )


@dataclass(frozen=True)
class RenewalValue:
    """Renewal options of a lease, valued apart from the initial term [USD, at the valuation day]."""

    options: str | None
    probability: float | None
    years: float
    npv_usd: float
    npv_if_exercised_usd: float
    mining_npv_usd: float

    @property
    def switch_value_usd(self) -> float:
        """What the options add to NPV(HPC) − NPV(mining): expected renewal flows less the mining
        the same MW would earn over the same months, at the same probabilities [USD]."""
        return self.npv_usd - self.mining_npv_usd


def renewal_value(site: Site, state: NetworkState) -> RenewalValue:
    """Value a lease's renewal options separately from its initial term.

    Extension ``i = 1..n`` (in exercise order, :func:`hashdesk.hpc.contracts.renewal_terms_years`)
    runs with probability ``p^i`` (``p`` = ``hpc.renewal_probability``, each option exercised given
    the one before ran) and continues each tranche's lease months after the initial term at the
    escalated rate, operator opex and power terms unchanged. On a flat lease with one tranche
    starting in grid month ``s`` and monthly net ``C``, with ``v = (1 + r)^(−1/12)``:

    ``NPV_i = C · v^(s + a_i) · (1 − v^(12·y_i)) / (1 − v)``, ``a_i`` = lease months before the
    extension (``12·term`` plus earlier extensions), ``y_i`` its years; renewal NPV = Σ p^i NPV_i.

    The mining counterpart is the mining cash flow of the same MW (gross = critical IT ×
    gross/critical share) over the same months, weighted the same way.

    Returns
    -------
    RenewalValue
        ``npv_usd`` (expected), ``npv_if_exercised_usd`` (``p = 1``), ``mining_npv_usd``.

    References
    ----------
    .. [1] Brealey, Myers & Allen, ch. 2 (annuity) and ch. 22 (options valued at a stated probability).
    """
    h, m, p, v = site.hpc, site.mining, site.power, site.valuation
    terms = renewal_terms_years(parse_renewal_options(h.renewal_options))
    if not terms:
        return RenewalValue(h.renewal_options, h.renewal_probability, 0.0, 0.0, 0.0, 0.0)
    prob = renewal_exercise_probabilities(len(terms), float(h.renewal_probability))
    day = _state_day(state)
    tranches = site_tranches(site, day)
    n0 = int(round(h.term_years * 12))
    ext_months = [int(round(y * 12)) for y in terms]
    horizon = max([int(s_) - 1 + n0 + sum(ext_months) for s_, _ in tranches] + [1])
    hp = hashprice_path_usd_per_th_day(state, horizon, v.difficulty_growth_per_year, v.btc_price_growth_per_year)
    mining_per_mw = mining_cashflows_usd_per_mw(
        hp, m.efficiency_j_per_th, p.price_usd_per_kwh, m.uptime, m.pue, m.pool_fee,
        m.opex_usd_per_mw_year, p.demand_response_usd_per_mw_year, v.curtail_when_unprofitable)
    t = month_times_years(horizon)
    disc = (1.0 + v.discount_rate_per_year) ** (-t)
    gross_per_it = site.gross_mw / site.critical_it_mw
    expected = exercised = mining = 0.0
    j0 = n0
    for n_ext, pi in zip(ext_months, prob, strict=True):
        flows = hpc_tranche_cashflows_usd(
            tranches, h.lease_usd_per_kw_month, h.term_years, h.escalator_per_year,
            h.operator_opex_usd_per_kw_month, site.pue, p.price_usd_per_kwh, h.tenant_power_share,
            lease_months=(j0, j0 + n_ext), months=horizon)
        pv = float(flows @ disc)
        mine = np.zeros(horizon)
        for s_, mw in tranches:
            g = int(s_) + np.arange(j0, j0 + n_ext)
            g = g[(g >= 1) & (g <= horizon)]
            mine[g - 1] += mw * gross_per_it * mining_per_mw[g - 1]
        expected += pi * pv
        exercised += pv
        mining += pi * float(mine @ disc)
        j0 += n_ext
    return RenewalValue(h.renewal_options, h.renewal_probability, float(sum(terms)), expected, exercised, mining)


def _first_year(flows: np.ndarray, start: int) -> float:
    """Sum of 12 months from ``start`` (annualised when fewer remain)."""
    part = flows[start : start + 12]
    return float(part.sum() * 12 / len(part)) if len(part) else 0.0


def value_site(site: Site, state: NetworkState) -> SiteValuationResult:
    """Value a site both ways and decide: keep mining or convert to HPC hosting.

    Parameters
    ----------
    site : Site
        Validated site record.
    state : NetworkState
        Network state at the valuation date (hashprice start).

    Returns
    -------
    SiteValuationResult
        ``mining_usd_per_mw_year``: first-year mining margin per gross MW [USD/MW-year];
        ``hpc_usd_per_mw_year``: first full lease year's net operating income per gross MW
        [USD/MW-year]; NPVs over the shared horizon [USD]; ``hpc_irr`` [1/year]; payback
        [years]; the break-even lease [USD/kW-month] at which NPV(HPC) = NPV(mining).

    Notes
    -----
    NPV(HPC) is affine in the lease rate, so the break-even lease is exact:
    ``L* = L + (NPV_mining − NPV_hpc(L)) / (∂NPV_hpc/∂L)``.
    """
    cf = site_cashflows(site, state)
    t, r = cf.times_years, site.valuation.discount_rate_per_year
    months = len(t)
    day = _state_day(state)
    tranches = site_tranches(site, day)
    t_all = np.concatenate([[0.0], t])
    hpc_all = np.concatenate([[-cf.hpc_capex_usd], cf.hpc_usd])
    mining_npv = npv(r, cf.mining_usd, t)
    hpc_npv = npv(r, hpc_all, t_all)
    # ∂NPV/∂L: the NPV of the lease-revenue flows of 1 USD/kW-month (escalated).
    h = site.hpc
    unit = hpc_tranche_cashflows_usd(tranches, 1.0, h.term_years, h.escalator_per_year, months=months)
    d_npv_d_lease = npv(r, unit, t)
    breakeven = (h.lease_usd_per_kw_month + (mining_npv - hpc_npv) / d_npv_d_lease
                 if d_npv_d_lease > 0 else math.nan)
    leased_mw = float(sum(mw for _, mw in tranches))
    power = site.pue * HOURS_PER_MONTH * site.power.price_usd_per_kwh * (1.0 - h.tenant_power_share)
    # run rate of the first lease year with every tranche in service [USD/year]
    hpc_year1 = leased_mw * KW_PER_MW * 12 * (h.lease_usd_per_kw_month - h.operator_opex_usd_per_kw_month - power)
    warnings = []
    expiry = site.power.expiry_date
    if expiry is not None:
        horizon_end = day + dt.timedelta(days=months * DAYS_PER_MONTH)
        if expiry < horizon_end:
            warnings.append(
                f"power.expiry_date {expiry} is before the horizon end {horizon_end}: "
                "the valuation assumes the power price holds after expiry"
            )
    mining_year1 = _first_year(cf.mining_usd, 0) / site.gross_mw
    if mining_year1 < 0:
        warnings.append("mining margin is negative in year 1")
    if site.hpc.status == HpcStatus.operating and (h.months_to_energize or 0) > 0:
        warnings.append("hpc.status is 'operating' but hpc.months_to_energize > 0")
    if leased_mw < site.critical_it_mw * (1 - 1e-9):
        warnings.append(f"hpc.phases reach {leased_mw:g} of {site.critical_it_mw:g} critical-IT MW: "
                        "the rest is not valued")
    sunk_mw = float(sum(mw for s_, mw in tranches if s_ < 1))
    build = h.capex_usd_per_mw * (leased_mw - sunk_mw)
    ren = renewal_value(site, state)
    switch = hpc_npv - mining_npv
    with_ren = switch + ren.switch_value_usd
    return SiteValuationResult(
        site=site.name,
        as_of=day,
        horizon_years=months / 12,
        hashprice_usd_per_ph_day=state.hashprice_usd_per_ph_day,
        breakeven_hashprice_usd_per_ph_day=1000
        * breakeven_hashprice_usd_per_th_day(site.mining.efficiency_j_per_th * site.mining.pue, site.power.price_usd_per_kwh),
        mining_usd_per_mw_year=mining_year1,
        mining_npv_usd=mining_npv,
        hpc_usd_per_mw_year=hpc_year1 / site.gross_mw,
        hpc_usd_per_critical_it_mw_year=hpc_year1 / leased_mw if leased_mw else math.nan,
        hpc_lease_revenue_usd_per_year=lease_usd_per_mw_year(h.lease_usd_per_kw_month) * leased_mw,
        hpc_capex_usd=cf.hpc_capex_usd,
        hpc_npv_usd=hpc_npv,
        hpc_irr=irr(hpc_all, t_all),
        payback_years=payback_years(hpc_all, t_all),
        discounted_payback_years=payback_years(hpc_all * (1 + r) ** (-t_all), t_all),
        switch_value_usd=switch,
        decision="convert to HPC" if hpc_npv > mining_npv else "keep mining",
        breakeven_lease_usd_per_kw_month=float(breakeven),
        lease_usd_per_kw_month=h.lease_usd_per_kw_month,
        hpc_build_capex_usd=build,
        tenant_funded_capex_usd=build - cf.hpc_capex_usd,
        capex_rule=h.capex_rule,
        capex_sunk_critical_it_mw=sunk_mw,
        phases=h.phases,
        first_lease_month=max(min(s_ for s_, _ in tranches), 1) if tranches else 1,
        renewal_options=h.renewal_options,
        renewal_probability=h.renewal_probability,
        renewal_years=ren.years,
        renewal_npv_usd=ren.npv_usd,
        renewal_npv_if_exercised_usd=ren.npv_if_exercised_usd,
        renewal_mining_npv_usd=ren.mining_npv_usd,
        renewal_switch_value_usd=ren.switch_value_usd,
        switch_value_with_renewals_usd=with_ren,
        decision_with_renewals="convert to HPC" if with_ren > 0 else "keep mining",
        warnings=tuple(warnings),
    )


# ---------------------------------------------------------------------------------------------
# stochastic hashprice paths (e.g. samples from the scenario engine)


def mining_npv_under_paths(
    site: Site, state: NetworkState, hashprice_paths_usd_per_ph_day: np.ndarray
) -> np.ndarray:
    """Mining NPV of a site [USD] under each of ``n`` monthly hashprice paths.

    Parameters
    ----------
    site : Site
        Validated site record (its HPC terms set the horizon).
    state : NetworkState
        Start state (used for the deterministic tail).
    hashprice_paths_usd_per_ph_day : numpy.ndarray
        Shape ``(n, k)``: ``k`` monthly hashprices [USD/PH/day] per path, e.g. sample paths of
        :mod:`hashdesk.scenario`. When ``k`` is shorter than the horizon, each path continues
        with the deterministic path (:func:`hashprice_path_usd_per_th_day`) rescaled to meet the
        path's last month; extra months are ignored.

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)`` [USD]; compare with ``value_site(site, state).hpc_npv_usd``.
    """
    paths = np.atleast_2d(np.asarray(hashprice_paths_usd_per_ph_day, dtype=float)) / 1000.0
    if paths.shape[1] == 0 or not np.isfinite(paths).all() or (paths < 0).any():
        raise ValuationError("hashprice_paths_usd_per_ph_day: need k >= 1 finite, non-negative months")
    v, m, p = site.valuation, site.mining, site.power
    check_announced(site, _state_day(state))
    months = base_horizon_months(site, _state_day(state))
    det = hashprice_path_usd_per_th_day(state, months, v.difficulty_growth_per_year, v.btc_price_growth_per_year)
    k = min(paths.shape[1], months)
    full = np.empty((paths.shape[0], months))
    full[:, :k] = paths[:, :k]
    if k < months:
        full[:, k:] = paths[:, k - 1 : k] * det[k:] / det[k - 1]
    per_mw = mining_cashflows_usd_per_mw(
        full, m.efficiency_j_per_th, p.price_usd_per_kwh, m.uptime, m.pue, m.pool_fee,
        m.opex_usd_per_mw_year, p.demand_response_usd_per_mw_year, v.curtail_when_unprofitable,
    )
    discount = (1.0 + v.discount_rate_per_year) ** (-month_times_years(months))
    return site.gross_mw * per_mw @ discount


# ---------------------------------------------------------------------------------------------
# sensitivity


def with_field(site: Site, dotted: str, value: Any) -> Site:
    """A copy of ``site`` with one (dotted) field replaced and re-validated.

    Raises
    ------
    SiteFileError
        When the new value is invalid (message names the field).
    """
    data = site.model_dump()
    *parents, leaf = dotted.split(".")
    node = data
    for key in parents:
        node = node[key]
    if leaf not in node:
        raise KeyError(f"unknown site field {dotted!r}")
    node[leaf] = value
    return parse_site(data, f"site {site.name!r} with {dotted}={value!r}")


@dataclass(frozen=True)
class SensitivityInput:
    """One tornado bar: an input, how to move it down and up, and its unit."""

    name: str
    unit: str
    low: Any  # callable(site value) -> new value
    high: Any


def _scale(f: float):
    return lambda x: x * f


def _add(d: float, floor: float | None = None):
    return lambda x: max(x + d, floor) if floor is not None else x + d


#: Default tornado inputs: site fields (dotted) and ``network.price_usd`` (the BTC price).
DEFAULT_SENSITIVITY: tuple[SensitivityInput, ...] = (
    SensitivityInput("hpc.lease_usd_per_kw_month", "USD/kW-month", _scale(0.8), _scale(1.2)),
    SensitivityInput("hpc.capex_usd_per_mw", "USD/MW", _scale(0.8), _scale(1.2)),
    SensitivityInput("hpc.months_to_energize", "months", _add(-6, 0), _add(6)),
    SensitivityInput("hpc.operator_opex_usd_per_kw_month", "USD/kW-month", _scale(0.8), _scale(1.2)),
    SensitivityInput("hpc.escalator_per_year", "1/year", _add(-0.01), _add(0.01)),
    SensitivityInput("valuation.discount_rate_per_year", "1/year", _add(-0.02), _add(0.02)),
    SensitivityInput("valuation.difficulty_growth_per_year", "1/year", _add(-0.10), _add(0.10)),
    SensitivityInput("power.price_usd_per_kwh", "USD/kWh", _scale(0.8), _scale(1.2)),
    SensitivityInput("mining.efficiency_j_per_th", "J/TH", _scale(0.8), _scale(1.2)),
    SensitivityInput("network.price_usd", "USD/BTC", _scale(0.8), _scale(1.2)),
)


def _get(obj: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        obj = getattr(obj, key)
    return obj


def sensitivity_table(
    site: Site,
    state: NetworkState,
    inputs: Sequence[SensitivityInput] = DEFAULT_SENSITIVITY,
) -> pd.DataFrame:
    """Switch value NPV(HPC) − NPV(mining) with each input moved down and up alone [USD].

    Returns
    -------
    pandas.DataFrame
        Columns ``input, unit, base_value, low_value, high_value, switch_value_base_usd,
        switch_value_low_usd, switch_value_high_usd, swing_usd`` sorted by swing (largest first).
    """
    base = value_site(site, state).switch_value_usd
    rows = []
    for s in inputs:
        if s.name.startswith("network."):
            field = s.name.removeprefix("network.")
            x0 = getattr(state, field)
            lo_v, hi_v = s.low(x0), s.high(x0)
            lo = value_site(site, dataclasses.replace(state, **{field: lo_v})).switch_value_usd
            hi = value_site(site, dataclasses.replace(state, **{field: hi_v})).switch_value_usd
        elif s.name == "hpc.months_to_energize" and site.hpc.phases:
            # a phased build: move every phase month instead
            day = _state_day(state)
            x0 = site.hpc.phases
            lo_v, hi_v = shift_phases(x0, -6, day), shift_phases(x0, 6, day)
            lo = value_site(with_field(site, "hpc.phases", lo_v), state).switch_value_usd
            hi = value_site(with_field(site, "hpc.phases", hi_v), state).switch_value_usd
            rows.append({"input": "hpc.phases (every month -6 / +6)", "unit": "months", "base_value": x0,
                         "low_value": lo_v, "high_value": hi_v, "switch_value_base_usd": base,
                         "switch_value_low_usd": lo, "switch_value_high_usd": hi, "swing_usd": abs(hi - lo)})
            continue
        else:
            x0 = _get(site, s.name)
            lo_v, hi_v = s.low(x0), s.high(x0)
            if isinstance(x0, int):
                lo_v, hi_v = int(lo_v), int(hi_v)
            lo = value_site(with_field(site, s.name, lo_v), state).switch_value_usd
            hi = value_site(with_field(site, s.name, hi_v), state).switch_value_usd
        rows.append(
            {
                "input": s.name,
                "unit": s.unit,
                "base_value": x0,
                "low_value": lo_v,
                "high_value": hi_v,
                "switch_value_base_usd": base,
                "switch_value_low_usd": lo,
                "switch_value_high_usd": hi,
                "swing_usd": abs(hi - lo),
            }
        )
    return pd.DataFrame(rows).sort_values("swing_usd", ascending=False, ignore_index=True)


# ---------------------------------------------------------------------------------------------
# reference figures from public deals


def deal_reference_ranges(deals: pd.DataFrame) -> pd.DataFrame:
    """Reference ranges (min, median, max, n, sources) from the public-deals table.

    Parameters
    ----------
    deals : pandas.DataFrame
        Rows of the store's ``hpc_deals`` table.

    Returns
    -------
    pandas.DataFrame
        One row per metric: ``lease_usd_per_kw_month``, ``capex_usd_per_mw``, ``term_years``,
        ``noi_margin``; columns ``metric, low, median, high, n, sources`` (operator names).
    """
    metrics = {
        "lease_usd_per_kw_month": [("implied_usd_per_kw_month",)],
        "capex_usd_per_mw": [("capex_usd_per_mw_low",), ("capex_usd_per_mw_high",)],
        "term_years": [("term_years",)],
        "noi_margin": [("noi_margin",)],
    }
    rows = []
    for metric, cols in metrics.items():
        vals, who = [], []
        for (col,) in cols:
            sub = deals[deals[col].notna()]
            vals += sub[col].astype(float).tolist()
            who += [f"{o} / {t}".rstrip(" /") if t else o for o, t in zip(sub.operator, sub.tenant, strict=True)]
        arr = np.asarray(vals, dtype=float)
        rows.append(
            {
                "metric": metric,
                "low": float(arr.min()) if arr.size else None,
                "median": float(np.median(arr)) if arr.size else None,
                "high": float(arr.max()) if arr.size else None,
                "n": int(arr.size),
                "sources": "; ".join(dict.fromkeys(who)),
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# company: sum of the parts


@dataclass(frozen=True)
class MarketInputs:
    """Market figures for a company at a date (from the store's price tables)."""

    price_date: dt.date
    share_price_usd: float
    btc_price_usd: float
    btc_held: float
    btc_held_source: str


@dataclass(frozen=True)
class CompanyValuation:
    """Sum of the parts vs market cap: the premium (discount) on the AI/HPC option."""

    name: str
    ticker: str | None
    price_date: dt.date
    network_date: dt.date
    share_price_usd: float
    shares_outstanding: float
    market_cap_usd: float
    fleet_hashrate_ehs: float
    fleet_power_mw: float
    mining_site_mw: float
    mining_power_usd_per_kwh: float
    mining_horizon_years: float
    mining_value_usd: float
    contracted_hpc_critical_it_mw: float
    contracted_hpc_value_usd: float
    btc_held: float
    btc_held_source: str
    btc_price_usd: float
    btc_held_usd: float
    net_debt_usd: float
    sum_of_parts_usd: float
    premium_usd: float
    premium_pct_of_sum_of_parts: float | None
    sum_of_parts_usd_per_share: float
    sites: tuple[dict, ...]
    contracted_hpc_renewal_npv_usd: float = 0.0
    sum_of_parts_with_renewals_usd: float = 0.0
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for JSON)."""
        return dataclasses.asdict(self)


def fleet_power_mw(hashrate_ehs: float, efficiency_j_per_th: float) -> float:
    """ASIC power of a fleet [MW] = EH/s × J/TH (10^6 TH/s × J/TH = 10^6 W).

    Examples
    --------
    >>> fleet_power_mw(10.0, 20.0)
    200.0
    """
    return float(hashrate_ehs) * float(efficiency_j_per_th)


def value_company(company: Company, state: NetworkState, market: MarketInputs) -> CompanyValuation:
    """Sum of the parts = mining value + contracted HPC value + BTC held − net debt.

    - Mining value: the fleet's ASIC power [MW] × NPV of the per-MW mining cash flows over
      ``fleet.horizon_years`` (hashprice path from ``state``; power price from
      ``fleet.power_usd_per_kwh`` or MW-weighted over sites without a contracted HPC lease).
    - Contracted HPC value: NPV of each site with a ``signed`` or ``operating`` lease
      (capex excluded for ``operating`` sites: it is sunk) announced by the valuation date (a lease
      announced later is left out, with a warning: it was not known then).
    - Renewal options of the contracted leases: their expected NPV is a separate line,
      ``contracted_hpc_renewal_npv_usd``, and ``sum_of_parts_with_renewals_usd`` adds it; the
      sum of the parts itself holds initial terms only.
    - Premium = market cap − sum of the parts: what the market pays for everything not in the
      parts, chiefly the uncontracted AI/HPC option (negative = discount).
    """
    v, f = company.valuation, company.fleet
    day = _state_day(state)
    mining_sites = [s for s in company.sites if not contracted_by(s, day)]
    mining_site_mw = float(sum(s.gross_mw for s in mining_sites))
    if f.power_usd_per_kwh is not None:
        power_price = f.power_usd_per_kwh
    elif mining_site_mw > 0:
        power_price = sum(s.gross_mw * s.power.price_usd_per_kwh for s in mining_sites) / mining_site_mw
    elif f.hashrate_ehs > 0:
        raise ValuationError(
            f"{company.name}: fleet.power_usd_per_kwh is required when no site is left for mining"
        )
    else:
        power_price = 0.0
    months = int(round(f.horizon_years * 12))
    hp = hashprice_path_usd_per_th_day(state, months, v.difficulty_growth_per_year, v.btc_price_growth_per_year)
    per_mw = mining_cashflows_usd_per_mw(
        hp, f.efficiency_j_per_th, power_price, f.uptime, 1.0, 0.0, f.opex_usd_per_mw_year, 0.0,
        v.curtail_when_unprofitable,
    )
    power_mw = fleet_power_mw(f.hashrate_ehs, f.efficiency_j_per_th)
    mining_value = power_mw * npv(v.discount_rate_per_year, per_mw, month_times_years(months))

    site_rows, hpc_value, hpc_mw, renewals, warnings = [], 0.0, 0.0, 0.0, []
    for s in company.sites:
        contracted = s.hpc.status in CONTRACTED_HPC
        row = {"site": s.name, "current_use": s.current_use.value, "hpc_status": s.hpc.status.value,
               "gross_mw": s.gross_mw, "critical_it_mw": s.critical_it_mw, "in_sum_of_parts": "mining fleet"}
        if contracted and s.hpc.announced is not None and s.hpc.announced > day:
            warnings.append(f"{s.name}: lease announced {s.hpc.announced}, after the valuation date {day}: "
                            "not counted as contracted HPC")
            row["in_sum_of_parts"] = f"not yet announced ({s.hpc.announced})"
        elif contracted:
            site_for_value = s
            if s.hpc.status == HpcStatus.operating:
                site_for_value = with_field(s, "hpc.capex_usd_per_mw", 0.0)
            res = value_site(site_for_value, state)
            hpc_value += res.hpc_npv_usd
            hpc_mw += s.critical_it_mw
            renewals += res.renewal_npv_usd
            row.update(in_sum_of_parts="contracted HPC", hpc_npv_usd=res.hpc_npv_usd,
                       hpc_capex_usd=res.hpc_capex_usd, renewal_npv_usd=res.renewal_npv_usd)
        site_rows.append(row)

    btc_usd = market.btc_held * market.btc_price_usd
    sotp = mining_value + hpc_value + btc_usd - company.net_debt_usd
    mcap = market.share_price_usd * company.shares_outstanding
    return CompanyValuation(
        name=company.name,
        ticker=company.ticker,
        price_date=market.price_date,
        network_date=_state_day(state),
        share_price_usd=market.share_price_usd,
        shares_outstanding=company.shares_outstanding,
        market_cap_usd=mcap,
        fleet_hashrate_ehs=f.hashrate_ehs,
        fleet_power_mw=power_mw,
        mining_site_mw=mining_site_mw,
        mining_power_usd_per_kwh=power_price,
        mining_horizon_years=f.horizon_years,
        mining_value_usd=mining_value,
        contracted_hpc_critical_it_mw=hpc_mw,
        contracted_hpc_value_usd=hpc_value,
        btc_held=market.btc_held,
        btc_held_source=market.btc_held_source,
        btc_price_usd=market.btc_price_usd,
        btc_held_usd=btc_usd,
        net_debt_usd=company.net_debt_usd,
        sum_of_parts_usd=sotp,
        premium_usd=mcap - sotp,
        premium_pct_of_sum_of_parts=(mcap - sotp) / sotp if sotp > 0 else None,
        sum_of_parts_usd_per_share=sotp / company.shares_outstanding,
        sites=tuple(site_rows),
        contracted_hpc_renewal_npv_usd=renewals,
        sum_of_parts_with_renewals_usd=sotp + renewals,
        warnings=tuple(warnings),
    )

