"""The miner model chain: network state → fleet → expected production → revenue → cost → margin.

One chain serves every command that values a miner (``profile``, ``stress``, ``simulate``,
``shocks --profile``, the mining side of ``hpc value``), in the spirit of pvlib's
``ModelChain``: each step is a plain function, swappable, and the result is a frozen record.
The steps are vectorised (numpy arrays in, arrays out) so the scenario engine uses the same
arithmetic on millions of paths.

Conventions (the one convention, stated once)
---------------------------------------------
* **Fleet**: one resolver (:func:`resolve_miner`) for every command: ASIC models from the
  catalogue (bundle + shipped additions + user files, case-insensitive) or hashrate + J/TH.
  Online hashrate = nameplate × uptime.
* **Expected production** [BTC] = online hashrate × hashprice [BTC/TH/day] × days: the expected
  value under the difficulty in force (DESIGN.md §3), gross of the pool fee.
* **Pool fee, once**: ``pool_fee_btc = pool_fee × btc_gross``; ``btc_net = btc_gross −
  pool_fee_btc``; revenue [USD] = ``btc_net × price``. Nothing else deducts it.
* **Curtailment rule**: only a ``curtailable`` power contract curtails, and only when a period's
  net revenue per unit of energy is below the energy price: curtail when
  ``hashprice_usd_per_th_day × (1 − pool_fee) < efficiency × 0.024 × (power + hosting)``.
  Curtailed periods produce no BTC and use no energy; other costs and demand-response credits
  continue. Fixed and indexed contracts always mine.
* **Cost**: energy [kWh] = online TH/s × J/TH × 0.024 × days; power = kWh × power price; hosting
  = kWh × hosting rate; other cash costs and demand-response credits (a separate revenue line)
  per day.
* **Margin** = revenue + demand response − power − hosting − other.

References
----------
.. [1] DESIGN.md §1 (one miner model chain), §3 (expected BTC, energy, breakeven).
.. [2] Holmgren, Hansen, Mikofski (2018), "pvlib python", JOSS 3(29) — the ModelChain pattern.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from hashdesk.economics.breakeven import KWH_PER_TH_DAY_PER_J_TH, breakeven_hashprice_usd_per_th_day
from hashdesk.economics.fleet import AsicCatalogue, Fleet, resolve_fleet
from hashdesk.economics.profile import ContractType, MinerProfile, PoolPayout

#: Days per year for annual figures [days].
DAYS_PER_YEAR: float = 365.0

ArrayLike = float | np.ndarray


@dataclass(frozen=True)
class MinerSpec:
    """A miner resolved from a profile: fleet at nameplate and its terms.

    Attributes
    ----------
    name : str
    ticker : str or None
    fleet : Fleet
        Resolved fleet lines (hashrate [TH/s], power [kW], efficiency [J/TH], source).
    uptime : float
        Share of time hashing [0–1].
    power_usd_per_kwh : float
        Energy price (contract price, plus the index adder for an indexed contract) [USD/kWh].
    hosting_usd_per_kwh : float
        Hosting fee on energy [USD/kWh].
    pool_fee : float
        Pool fee share of the BTC produced [0–1].
    pool_payout : str
        ``fpps`` / ``pps`` (the pool bears luck) or ``own`` (the miner does).
    curtailable : bool
        True for a curtailable power contract (see the curtailment rule).
    other_cost_usd_per_day : float
        Non-energy cash cost [USD/day].
    demand_response_usd_per_day : float
        Demand-response / curtailment credits, a separate revenue line [USD/day].
    source : str
        Where the figures come from.
    """

    name: str
    fleet: Fleet
    uptime: float
    power_usd_per_kwh: float
    hosting_usd_per_kwh: float = 0.0
    pool_fee: float = 0.0
    pool_payout: str = PoolPayout.fpps.value
    curtailable: bool = False
    other_cost_usd_per_day: float = 0.0
    demand_response_usd_per_day: float = 0.0
    ticker: str | None = None
    source: str = ""

    @property
    def hashrate_ths(self) -> float:
        """Nameplate hashrate [TH/s]."""
        return self.fleet.hashrate_ths

    @property
    def hashrate_ehs(self) -> float:
        """Nameplate hashrate [EH/s]."""
        return self.fleet.hashrate_ehs

    @property
    def online_hashrate_ths(self) -> float:
        """Nameplate × uptime [TH/s]."""
        return self.fleet.hashrate_ths * self.uptime

    @property
    def power_kw(self) -> float:
        """Nameplate power [kW]."""
        return self.fleet.power_kw

    @property
    def efficiency_j_per_th(self) -> float:
        """Fleet efficiency [J/TH]."""
        return self.fleet.efficiency_j_per_th

    @property
    def energy_usd_per_kwh(self) -> float:
        """Power plus hosting [USD/kWh]."""
        return self.power_usd_per_kwh + self.hosting_usd_per_kwh

    @property
    def curtail_below_hashprice_usd_per_th_day(self) -> float:
        """Hashprice below which a curtailable miner switches off [USD/TH/day]:
        ``efficiency × 0.024 × (power + hosting) / (1 − pool_fee)``."""
        return self.efficiency_j_per_th * KWH_PER_TH_DAY_PER_J_TH * self.energy_usd_per_kwh / (1.0 - self.pool_fee)

    @property
    def own_pool(self) -> bool:
        """True when the miner bears block luck (solo / own pool)."""
        return self.pool_payout == PoolPayout.own.value


def resolve_miner(profile: MinerProfile, catalogue: AsicCatalogue) -> MinerSpec:
    """The one fleet resolver: a profile against the ASIC catalogue.

    Parameters
    ----------
    profile : MinerProfile
        Validated profile.
    catalogue : AsicCatalogue
        Bundle catalogue + shipped additions + user files (case-insensitive model names).

    Returns
    -------
    MinerSpec

    Raises
    ------
    hashdesk.economics.fleet.UnknownAsicError
        Naming the ``fleet[i]`` entry whose model is unknown.
    """
    p = profile.power
    energy = p.price_usd_per_kwh + (p.index_adder_usd_per_kwh if p.contract == ContractType.indexed else 0.0)
    return MinerSpec(
        name=profile.name,
        ticker=profile.ticker,
        fleet=resolve_fleet(profile, catalogue),
        uptime=profile.uptime,
        power_usd_per_kwh=energy,
        hosting_usd_per_kwh=profile.hosting_usd_per_kwh,
        pool_fee=profile.pool_fee,
        pool_payout=PoolPayout(profile.pool_payout).value,
        curtailable=p.contract == ContractType.curtailable,
        other_cost_usd_per_day=profile.other_cash_cost_usd_per_year / DAYS_PER_YEAR,
        demand_response_usd_per_day=p.demand_response_usd_per_year / DAYS_PER_YEAR,
        source=profile.source or "profile",
    )


# -- the steps (each vectorised) -----------------------------------------------------------------


def online_share(miner: MinerSpec, hashprice_usd_per_th_day: ArrayLike) -> ArrayLike:
    """Curtailment step: share of the period the fleet hashes [0–1] (uptime × 1 or 0).

    A curtailable miner stops when ``hashprice × (1 − pool_fee)`` is below its energy cost per
    TH-day; any other miner always runs at its uptime.
    """
    hp = np.asarray(hashprice_usd_per_th_day, dtype=np.float64)
    if not miner.curtailable:
        return np.full(hp.shape, miner.uptime) if hp.ndim else miner.uptime
    on = hp >= miner.curtail_below_hashprice_usd_per_th_day
    return np.where(on, miner.uptime, 0.0) if hp.ndim else (miner.uptime if bool(on) else 0.0)


def expected_production_btc(miner: MinerSpec, hashprice_btc_per_th_day: ArrayLike, share: ArrayLike,
                            days: ArrayLike = 1.0) -> ArrayLike:
    """Production step: expected BTC gross of the pool fee = nameplate TH/s × share × BTC/TH/day × days."""
    return miner.hashrate_ths * np.asarray(share) * np.asarray(hashprice_btc_per_th_day) * np.asarray(days)


def energy_kwh(miner: MinerSpec, share: ArrayLike, days: ArrayLike = 1.0) -> ArrayLike:
    """Energy step: nameplate TH/s × share × J/TH × 0.024 × days [kWh] (DESIGN.md §3)."""
    return (miner.hashrate_ths * np.asarray(share) * miner.efficiency_j_per_th * KWH_PER_TH_DAY_PER_J_TH
            * np.asarray(days))


@dataclass(frozen=True)
class MinerResult:
    """A model-chain run: every line of a miner's period P&L (arrays where the inputs were).

    Money in USD, BTC in BTC, over ``days``.
    """

    days: ArrayLike
    price_usd: ArrayLike
    hashprice_usd_per_ph_day: ArrayLike
    hashprice_btc_per_ph_day: ArrayLike
    online_share: ArrayLike
    online_hashrate_ehs: ArrayLike
    btc_gross: ArrayLike
    pool_fee_btc: ArrayLike
    btc_net: ArrayLike
    revenue_usd: ArrayLike
    pool_fee_usd: ArrayLike
    demand_response_usd: ArrayLike
    energy_mwh: ArrayLike
    power_cost_usd: ArrayLike
    hosting_cost_usd: ArrayLike
    other_cost_usd: ArrayLike
    cost_usd: ArrayLike
    margin_usd: ArrayLike
    conventions: str = field(default="pool fee once on BTC; curtail only on curtailable contracts")


@dataclass(frozen=True)
class ModelChain:
    """The step sequence; replace a step with :func:`dataclasses.replace` to try another model.

    Attributes
    ----------
    curtail : callable
        ``(miner, hashprice_usd_per_th_day) -> share online`` (:func:`online_share`).
    production : callable
        ``(miner, hashprice_btc_per_th_day, share, days) -> BTC gross``
        (:func:`expected_production_btc`).
    energy : callable
        ``(miner, share, days) -> kWh`` (:func:`energy_kwh`).
    """

    curtail: Callable = online_share
    production: Callable = expected_production_btc
    energy: Callable = energy_kwh

    def run(self, miner: MinerSpec, hashprice_btc_per_th_day: ArrayLike, price_usd: ArrayLike,
            days: ArrayLike = 1.0) -> MinerResult:
        """Run the chain for one miner.

        Parameters
        ----------
        miner : MinerSpec
        hashprice_btc_per_th_day : float or array
            Expected BTC per TH/s per day at the difficulty, subsidy and fees in force [BTC/TH/day].
        price_usd : float or array
            BTC price [USD/BTC].
        days : float or array
            Length of each period [days].

        Returns
        -------
        MinerResult

        Examples
        --------
        1 EH/s at 20 J/TH, 100 % uptime, 5 ¢/kWh, a 2 % pool fee, hashprice 50 USD/PH/day at
        62,500 USD/BTC: 0.8 BTC gross, 0.016 BTC to the pool, revenue 49,000 USD; energy
        480 MWh, power 24,000 USD, margin 25,000 USD per day:

        >>> from hashdesk.economics.fleet import Fleet, FleetLine
        >>> m = MinerSpec("x", Fleet((FleetLine("x", None, 1e6, 20_000.0, 20.0, "t"),)), 1.0, 0.05, pool_fee=0.02)
        >>> r = ModelChain().run(m, 8e-7, 62_500.0)
        >>> round(float(r.btc_gross), 3), round(float(r.pool_fee_btc), 3), round(float(r.revenue_usd))
        (0.8, 0.016, 49000)
        >>> round(float(r.energy_mwh)), round(float(r.power_cost_usd)), round(float(r.margin_usd))
        (480, 24000, 25000)
        """
        hb = np.asarray(hashprice_btc_per_th_day, dtype=np.float64)
        px = np.asarray(price_usd, dtype=np.float64)
        d = np.asarray(days, dtype=np.float64)
        hp_usd = hb * px
        share = self.curtail(miner, hp_usd)
        gross = self.production(miner, hb, share, d)
        pool = miner.pool_fee * gross
        net = gross - pool
        revenue = net * px
        kwh = self.energy(miner, share, d)
        power = kwh * miner.power_usd_per_kwh
        hosting = kwh * miner.hosting_usd_per_kwh
        other = miner.other_cost_usd_per_day * d
        dr = miner.demand_response_usd_per_day * d
        cost = power + hosting + other
        return MinerResult(
            days=d, price_usd=px, hashprice_usd_per_ph_day=hp_usd * 1000.0,
            hashprice_btc_per_ph_day=hb * 1000.0, online_share=share,
            online_hashrate_ehs=miner.hashrate_ehs * np.asarray(share),
            btc_gross=gross, pool_fee_btc=pool, btc_net=net, revenue_usd=revenue,
            pool_fee_usd=pool * px, demand_response_usd=dr, energy_mwh=kwh / 1000.0,
            power_cost_usd=power, hosting_cost_usd=hosting, other_cost_usd=other, cost_usd=cost,
            margin_usd=revenue + dr - cost,
        )


#: The default chain.
DEFAULT_CHAIN = ModelChain()


def with_terms(miner: MinerSpec, **changes) -> MinerSpec:
    """The miner with some terms changed (e.g. ``power_usd_per_kwh``)."""
    return replace(miner, **changes)


@dataclass(frozen=True)
class UnitEconomics:
    """A miner's daily economics under one hashprice and price (one model-chain run, per day).

    BTC per day is kept after the pool fee (``btc_per_day``); ``btc_gross_per_day`` is before
    it. Money in USD per day; cost per BTC per BTC kept; breakevens are cash breakevens.
    """

    start: str
    end: str
    hashrate_ehs: float
    online_hashrate_ehs: float
    efficiency_j_per_th: float
    power_usd_per_kwh: float
    pool_fee: float
    curtailed: bool
    hashprice_usd_per_ph_day: float
    hashprice_btc_per_ph_day: float
    price_usd: float
    btc_gross_per_day: float
    pool_fee_btc_per_day: float
    btc_per_day: float
    revenue_usd_per_day: float
    pool_fee_usd_per_day: float
    demand_response_usd_per_day: float
    energy_mwh_per_day: float
    power_cost_usd_per_day: float
    hosting_cost_usd_per_day: float
    other_cost_usd_per_day: float
    margin_usd_per_day: float
    margin_pct: float
    cost_per_btc_power_usd: float
    cost_per_btc_hosting_usd: float
    cost_per_btc_other_usd: float
    cash_cost_per_btc_usd: float
    breakeven_hashprice_power_usd_per_ph_day: float
    breakeven_hashprice_all_in_usd_per_ph_day: float
    breakeven_power_usd_per_kwh: float
    breakeven_btc_price_usd: float


def unit_economics(miner: MinerSpec, hashprice_btc_per_th_day: float, price_usd: float,
                   start: str = "", end: str = "", chain: ModelChain = DEFAULT_CHAIN) -> UnitEconomics:
    """Daily revenue, costs, cost per BTC and breakevens of a miner (one model-chain day).

    Parameters
    ----------
    miner : MinerSpec
    hashprice_btc_per_th_day : float
        [BTC/TH/day] (a network state's spot hashprice or a window mean).
    price_usd : float
        [USD/BTC].
    start, end : str
        The period the inputs describe (labels).
    chain : ModelChain

    Returns
    -------
    UnitEconomics
        With ``H`` nameplate TH/s × online share, ``hb`` BTC/TH/day, ``P`` USD/BTC, ``f`` pool
        fee, ``E`` kWh/day: BTC kept = H·hb·(1 − f); revenue = BTC kept × P; cash cost per BTC
        = (power + hosting + other) / BTC kept; all-in breakeven hashprice = (power + hosting +
        other − DR) / (H·(1 − f)); breakeven BTC price = the same costs / BTC kept; breakeven
        power price = (revenue + DR − hosting − other) / E. When the miner is curtailed (a
        curtailable contract below its energy breakeven) production and energy are zero and
        the per-BTC figures are NaN.

    Raises
    ------
    ValueError
        For a non-positive hashprice or price.

    Examples
    --------
    1 EH/s at 20 J/TH, 100 % uptime, 5 ¢/kWh, no fees, hashprice 50 USD/PH/day at 62,500 USD:
    revenue 50,000 USD/day, energy 480 MWh/day, power 24,000 USD/day, cost per BTC 30,000 USD.

    >>> from hashdesk.economics.fleet import Fleet, FleetLine
    >>> m = MinerSpec("x", Fleet((FleetLine("x", None, 1e6, 20_000.0, 20.0, "t"),)), 1.0, 0.05)
    >>> u = unit_economics(m, 8e-7, 62_500.0)
    >>> round(u.revenue_usd_per_day), round(u.power_cost_usd_per_day), round(u.cash_cost_per_btc_usd)
    (50000, 24000, 30000)
    >>> round(u.breakeven_btc_price_usd), round(u.breakeven_power_usd_per_kwh, 5)
    (30000, 0.10417)
    """
    if not hashprice_btc_per_th_day > 0 or not price_usd > 0:
        raise ValueError("unit economics need a positive hashprice and BTC price")
    r = chain.run(miner, hashprice_btc_per_th_day, price_usd, 1.0)
    f = miner.pool_fee
    share = float(r.online_share)
    h_online = miner.hashrate_ths * share
    btc = float(r.btc_net)
    e_kwh = float(r.energy_mwh) * 1000.0
    power, hosting, other = float(r.power_cost_usd), float(r.hosting_cost_usd), float(r.other_cost_usd)
    dr, revenue = float(r.demand_response_usd), float(r.revenue_usd)
    net_cost = power + hosting + other - dr
    nan = float("nan")

    def per_btc(x: float) -> float:
        return x / btc if btc > 0 else nan

    return UnitEconomics(
        start=str(start), end=str(end),
        hashrate_ehs=miner.hashrate_ehs, online_hashrate_ehs=h_online / 1e6,
        efficiency_j_per_th=miner.efficiency_j_per_th, power_usd_per_kwh=miner.power_usd_per_kwh,
        pool_fee=f, curtailed=share == 0.0,
        hashprice_usd_per_ph_day=float(r.hashprice_usd_per_ph_day),
        hashprice_btc_per_ph_day=float(r.hashprice_btc_per_ph_day), price_usd=float(price_usd),
        btc_gross_per_day=float(r.btc_gross), pool_fee_btc_per_day=float(r.pool_fee_btc), btc_per_day=btc,
        revenue_usd_per_day=revenue, pool_fee_usd_per_day=float(r.pool_fee_usd),
        demand_response_usd_per_day=dr, energy_mwh_per_day=e_kwh / 1000.0,
        power_cost_usd_per_day=power, hosting_cost_usd_per_day=hosting, other_cost_usd_per_day=other,
        margin_usd_per_day=float(r.margin_usd),
        margin_pct=float(r.margin_usd) / (revenue + dr) if revenue + dr > 0 else nan,
        cost_per_btc_power_usd=per_btc(power), cost_per_btc_hosting_usd=per_btc(hosting),
        cost_per_btc_other_usd=per_btc(other), cash_cost_per_btc_usd=per_btc(power + hosting + other),
        breakeven_hashprice_power_usd_per_ph_day=1000.0 * breakeven_hashprice_usd_per_th_day(
            miner.efficiency_j_per_th, miner.power_usd_per_kwh),
        breakeven_hashprice_all_in_usd_per_ph_day=(1000.0 * net_cost / (h_online * (1.0 - f))
                                                   if h_online > 0 else nan),
        breakeven_power_usd_per_kwh=(revenue + dr - hosting - other) / e_kwh if e_kwh > 0 else nan,
        breakeven_btc_price_usd=net_cost / btc if btc > 0 else nan,
    )


def side_by_side(results: dict[str, UnitEconomics]) -> pd.DataFrame:
    """Unit economics under several states as rows = metrics, columns = labels (+ change %)."""
    df = pd.DataFrame({k: pd.Series(v.__dict__) for k, v in results.items()})
    if len(results) == 2:
        a, b = list(results)
        num = pd.to_numeric(df[a], errors="coerce"), pd.to_numeric(df[b], errors="coerce")
        df["change_pct"] = (num[1] / num[0] - 1.0) * 100.0
    return df


__all__ = ["DEFAULT_CHAIN", "UnitEconomics", "side_by_side", "unit_economics", "MinerResult", "MinerSpec", "ModelChain", "energy_kwh",
           "expected_production_btc", "online_share", "resolve_miner", "with_terms"]
