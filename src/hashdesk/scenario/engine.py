"""Epoch-level Monte Carlo of blocks, retargets, hashprice and a miner's monthly economics.

Blocks need work, not time (DESIGN.md §5): the hashes needed for the next ``k`` blocks at target
``T`` are ``Gamma(k, work(T))`` whatever the hashrate path. The engine draws one Gamma per
*milestone* (last block of an epoch, block before a halving) plus one ``Exp(1)`` for each epoch's
first block, and maps the cumulative hashes to time through the integrated (piecewise-constant
per step) hashrate path, so an epoch costs two draws instead of 2016. This is exact for a given
hashrate path. Retargets apply Bitcoin Core's rule (:func:`hashdesk.chain.consensus.next_work_required`) to the simulated
integer timestamps of the epoch's first and last blocks, vectorised in exact int64 arithmetic
(:func:`retarget_bits`).

A miner's money lines (BTC after the pool fee, revenue, pool fee, energy and other cost,
curtailment; margin = revenue − cost) come from one vectorised function, :func:`miner_money`.

The engine runs one *chunk* of scenarios in month-aligned steps of about a week (:class:`StepGrid`),
so memory is O(chunk) for any horizon and the cost is per step and per epoch, not per day or per
block; the executors (:mod:`hashdesk.scenario.executors`) split a run into chunks, each with its
own child of one ``numpy.random.SeedSequence``. The per-step bookkeeping and the sampler's usual
round (every row at an epoch's end) run as compiled loops (:mod:`hashdesk.scenario.kernels`, the
same IEEE operations in the same order as the numpy expressions they replace); random draws and
``exp``/``log`` stay with numpy.

References
----------
.. [1] Bitcoin Core, ``src/pow.cpp`` (``CalculateNextWorkRequired``); ``src/arith_uint256.cpp``.
.. [2] DESIGN.md §5 (epoch sampler), §3 (expected BTC = H·dt/work × (subsidy + fees)).
.. [3] Ross, S. M. *Introduction to Probability Models*, §5.3 (sum of k exponentials is Gamma(k)).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

import numpy as np

from hashdesk.chain.consensus import (
    HALVING_INTERVAL,
    MAX_TIMESPAN_S,
    MIN_TIMESPAN_S,
    RETARGET_INTERVAL,
    SATS_PER_BTC,
    TARGET_TIMESPAN_S,
    block_subsidy,
    block_subsidy_array,
    next_work_required,
    target_from_bits,
)
from hashdesk.economics.breakeven import breakeven_hashprice_usd_per_th_day
from hashdesk.economics.core import (
    HS_PER_EHS,
    HS_PER_PHS,
    HS_PER_THS,
    SECONDS_PER_DAY,
    hashprice_usd_per_ph_day,
)
from hashdesk.scenario.paths import (
    BootstrapPrice,
    FeeModel,
    GBMPrice,
    HashrateModel,
    ScenarioInputError,
)

#: Height at which the subsidy reaches zero (64 >> halvings ... era 33 pays 0 sats) [blocks].
LAST_SUBSIDY_HEIGHT: int = 33 * HALVING_INTERVAL
#: Monthly metrics every chunk returns, each (scenarios × months); ``pool_fee_usd`` [USD] is the pool's
#: share of the miner's gross revenue (``revenue_usd`` is net of it).
MONTHLY_METRICS: tuple[str, ...] = (
    "price_usd",
    "hashrate_ehs",
    "hashprice_usd_per_ph_day",
    "fees_sats_per_block",
    "difficulty",
    "btc_mined",
    "revenue_usd",
    "cost_usd",
    "margin_usd",
    "pool_fee_usd",
)


def _kernels():
    """The compiled loops (:mod:`hashdesk.scenario.kernels`), imported on first use (numba's import
    and the kernels' load from the on-disk cache cost about half a second)."""
    from hashdesk.scenario import kernels

    return kernels


# -- exact vectorised retarget -----------------------------------------------------------------


def retarget_bits(bits: np.ndarray, first_time: np.ndarray, last_time: np.ndarray) -> np.ndarray:
    """Vectorised ``CalculateNextWorkRequired`` on compact bits, exact in int64.

    Parameters
    ----------
    bits : numpy.ndarray of int64
        Compact target of the ending epoch, per scenario.
    first_time, last_time : numpy.ndarray of int64
        Header times of the epoch's first (``h-2016``) and last (``h-1``) blocks [unix s].

    Returns
    -------
    numpy.ndarray of int64
        Compact bits of the next epoch; equal to :func:`next_work_required` element by element.

    Notes
    -----
    With mantissa ``m`` (< 2^23), exponent ``E`` and clamped span ``s``, the new target is
    ``⌊m·s·256^(E-3) / T⌋``. Put ``Y = ⌊256·m·s / T⌋ = ⌊m·s / 4725⌋`` (``T = 1,209,600 = 256·4725``;
    ``Y`` < 2^34): the new target equals ``Y·256^(E-4)`` plus lower bytes, so when ``Y`` has >= 3
    bytes its compact form depends on ``Y`` alone: mantissa = top three bytes of ``Y``, size =
    bytes(Y) + E − 4 (then Core's sign-bit shift; a size above 28 bytes exceeds powLimit and gives
    ``0x1d00ffff``). Rows outside this case (``E < 4``, tiny mantissas or an input mantissa with
    the sign bit, never seen on mainnet) fall back to the Python-int rule [1]_.

    References
    ----------
    .. [1] Bitcoin Core, ``src/pow.cpp`` and ``src/arith_uint256.cpp``.
    """
    return _retarget(bits, first_time, last_time)[0]


def _retarget(bits: np.ndarray, first_time: np.ndarray, last_time: np.ndarray,
              trusted: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """:func:`retarget_bits` and the new epoch's :func:`work_float` [hashes], in few array passes.

    With ``Y = ⌊m·s / 4725⌋`` of bit length ``L`` (``Y >= 2^16``): Core's compact form shifts
    ``Y`` right by ``k`` whole bytes, the fewest that leave a mantissa below ``2^23`` (three bytes
    of ``Y``, one more when the third has its top bit set), so ``k = ⌊(L − 16)/8⌋`` and the size
    is ``k + E − 1`` [1]_. ``L`` comes from float64's biased exponent (``Y < 2^34`` converts exactly).
    ``trusted``: the bits come from this function or a validated start (no sign bit set).
    """
    bits = np.asarray(bits, dtype=np.int64)
    first_time = np.asarray(first_time, dtype=np.int64)
    last_time = np.asarray(last_time, dtype=np.int64)
    span = np.subtract(last_time, first_time)
    np.clip(span, MIN_TIMESPAN_S, MAX_TIMESPAN_S, out=span)
    y = bits & 0x007FFFFF
    y *= span
    y //= TARGET_TIMESPAN_S // 256  # ⌊256·m·s / T⌋ = ⌊m·s / 4725⌋
    size_in = bits >> 24
    slow = None
    if size_in.min() < 4 or y.min() < 1 << 16 or (not trusted and (bits & 0x00800000).any()):
        slow = np.flatnonzero((size_in < 4) | (y < 1 << 16) | ((bits & 0x00800000) != 0))
        y[slow] = 1 << 16  # placeholder (recomputed below)
    k = y.astype(np.float64).view(np.int64)
    k >>= 52
    k -= 1038  # biased exponent 1022 + L  ->  L − 16
    k >>= 3
    shift = k << 3
    y >>= shift  # the mantissa, < 2^23
    k += size_in
    k -= 1  # the size
    size = k
    over = None
    if size.max() >= 29:  # targets of 29 bytes or more exceed powLimit: 0x1d00ffff
        over = np.flatnonzero((size > 29) | ((size == 29) & (y >= 1 << 16)))
    # work 2^256 / (m·256^(E−3)) = 2^(280−8E) / m, correctly rounded (a power of two is exact): the
    # float of 2^256 / (target + 1) once the target exceeds 2^53 (E >= 10), where "+ 1" no longer
    # changes it. The power of two is built from its exponent bits (1023 + 280 − 8E, E <= 29).
    small = size.min() < 10
    work = size * -8
    work += 1303
    work <<= 52
    work = work.view(np.float64)
    work /= y
    size <<= 24
    size |= y
    if over is not None:
        size[over] = 0x1D00FFFF
    if slow is not None:
        for i in slow:
            size[i] = next_work_required(int(bits[i]), int(first_time[i]), int(last_time[i]))
    if small or over is not None or slow is not None:
        fix = np.flatnonzero(size < 10 << 24)
        for extra in (over, slow):
            if extra is not None:
                fix = np.union1d(fix, extra)
        work[fix] = work_float(size[fix])
    return size, work


def work_float(bits: np.ndarray) -> np.ndarray:
    """Expected hashes per block ``2^256 / (target + 1)`` as float64 [hashes].

    Relative error below 1e-15 against :func:`hashdesk.chain.consensus.block_work`; consensus
    values (bits, timestamps) stay exact integers, only the time mapping uses floats.
    """
    bits = np.asarray(bits, dtype=np.int64)
    size = bits >> 24
    mant = (bits & 0x007FFFFF).astype(np.float64)
    # 2^256 / (m·256^(E−3)) as (1/m)·2^(256−8(E−3)): the same correctly rounded float once the
    # target exceeds 2^53 (E >= 10), where "+ 1" no longer changes it
    with np.errstate(divide="ignore"):
        out = np.ldexp(1.0 / mant, 280 - 8 * size)
    small = size < 10
    if small.any():
        target = mant[small] * np.exp2(8.0 * (size[small] - 3))
        out[small] = np.exp2(256.0) / (target + 1.0)
    return out


def difficulty_float(bits: np.ndarray) -> np.ndarray:
    """Difficulty ``target(0x1d00ffff) / target`` as float64 [dimensionless]."""
    bits = np.asarray(bits, dtype=np.int64)
    target = (bits & 0x007FFFFF).astype(np.float64) * np.exp2(8.0 * ((bits >> 24) - 3))
    return float(0xFFFF) * 2.0**208 / target


def difficulty_ratio(new_bits: np.ndarray, old_bits: np.ndarray) -> np.ndarray:
    """Difficulty change ``target(old) / target(new)`` as float64 [dimensionless]."""
    new_bits = np.asarray(new_bits, dtype=np.int64)
    old_bits = np.asarray(old_bits, dtype=np.int64)
    r = (old_bits & 0x007FFFFF).astype(np.float64)
    r /= new_bits & 0x007FFFFF
    r *= np.exp2(8.0 * ((old_bits >> 24) - (new_bits >> 24)))
    return r


# -- inputs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartState:
    """Network state at the start of a run.

    Parameters
    ----------
    time_unix : int
        Start instant [unix s, UTC].
    tip_height : int
        Height of the last block mined before the start [blocks].
    bits : int
        Compact target in force for block ``tip_height + 1``.
    epoch_first_time_unix : int or None
        Header time of the first block of the epoch containing ``tip_height + 1`` [unix s];
        None only when ``tip_height + 1`` starts a new epoch.
    price_usd : float
        BTC price [USD/BTC].
    hashrate_ehs : float
        Network hashrate [EH/s].
    fees_sats_per_block : float
        Mean fees per block [sats].
    source : str
        Where the figures come from.
    """

    time_unix: int
    tip_height: int
    bits: int
    epoch_first_time_unix: int | None
    price_usd: float
    hashrate_ehs: float
    fees_sats_per_block: float
    source: str = "given"

    def __post_init__(self) -> None:
        def need(cond: bool, name: str, msg: str) -> None:
            if not cond:
                raise ScenarioInputError(f"start.{name}: {msg}")

        need(self.tip_height >= 0, "tip_height", "must be >= 0")
        try:
            target_from_bits(self.bits)
        except ValueError as exc:
            raise ScenarioInputError(f"start.bits: {exc}") from exc
        need(self.price_usd > 0 and math.isfinite(self.price_usd), "price_usd", "must be > 0")
        need(self.hashrate_ehs > 0 and math.isfinite(self.hashrate_ehs), "hashrate_ehs", "must be > 0")
        need(self.fees_sats_per_block >= 0, "fees_sats_per_block", "must be >= 0")
        starts_epoch = (self.tip_height + 1) % RETARGET_INTERVAL == 0
        need(
            starts_epoch or self.epoch_first_time_unix is not None,
            "epoch_first_time_unix",
            "required unless the next block starts an epoch",
        )
        if self.epoch_first_time_unix is not None:
            need(self.epoch_first_time_unix <= self.time_unix + 7200, "epoch_first_time_unix", "is after the start")

    @property
    def start_date(self) -> date:
        """UTC date of the start instant."""
        return datetime.fromtimestamp(self.time_unix, tz=UTC).date()

    @property
    def hashprice_usd_per_ph_day(self) -> float:
        """Hashprice at the start [USD/PH/day] (exact work, DESIGN.md §3)."""
        return hashprice_usd_per_ph_day(
            self.bits, block_subsidy(self.tip_height + 1), self.fees_sats_per_block, self.price_usd
        )


@dataclass(frozen=True)
class MinerEconomics:
    """A miner's fleet and costs, resolved by the model chain (see :func:`hashdesk.scenario.fit.miner_economics`).

    Parameters
    ----------
    name : str
    hashrate_ths : float
        Fleet nameplate hashrate [TH/s].
    power_kw : float
        Fleet power draw at nameplate [kW].
    uptime : float
        Share of time hashing [0–1].
    energy_usd_per_kwh : float
        Power plus hosting [USD/kWh].
    pool_fee : float
        Pool fee share of revenue [0–1].
    own_pool : bool
        True when the miner bears block luck (solo / own pool): monthly BTC is Poisson.
    curtailable : bool
        True when the miner may switch off on days whose revenue is below the energy cost.
    other_cost_usd_per_day : float
        Non-energy cash cost [USD/day].
    demand_response_usd_per_day : float
        Demand-response credits, a separate revenue line [USD/day].
    """

    name: str
    hashrate_ths: float
    power_kw: float
    uptime: float
    energy_usd_per_kwh: float
    pool_fee: float = 0.0
    own_pool: bool = False
    curtailable: bool = False
    other_cost_usd_per_day: float = 0.0
    demand_response_usd_per_day: float = 0.0

    @property
    def efficiency_j_per_th(self) -> float:
        """Fleet efficiency [J/TH]."""
        return self.power_kw * 1000.0 / self.hashrate_ths

    @property
    def breakeven_hashprice_usd_per_ph_day(self) -> float:
        """Energy breakeven hashprice = J/TH × 0.024 × USD/kWh × 1000, before pool fee [USD/PH/day]."""
        return 1000.0 * breakeven_hashprice_usd_per_th_day(self.efficiency_j_per_th, self.energy_usd_per_kwh)


# -- miner money (the one place of a miner's revenue, pool fee, energy cost, curtailment, margin) --


class MinerMoney(NamedTuple):
    """A miner's money lines over one period, per scenario (see :func:`miner_money`).

    Attributes
    ----------
    btc : numpy.ndarray
        BTC credited to the miner, after the pool fee [BTC].
    revenue_usd : numpy.ndarray
        ``btc × price`` plus demand-response credits [USD].
    pool_fee_usd : numpy.ndarray
        Pool fee, ``pool_fee × gross BTC × price`` [USD].
    cost_usd : numpy.ndarray or float
        Energy (zero while curtailed) plus other cash cost [USD]; a float when it is the same
        in every scenario.
    """

    btc: np.ndarray
    revenue_usd: np.ndarray
    pool_fee_usd: np.ndarray
    cost_usd: np.ndarray | float

    @property
    def margin_usd(self) -> np.ndarray:
        """Revenue minus cost [USD]."""
        return self.revenue_usd - self.cost_usd


def miner_money(miner: MinerEconomics, btc_per_hs: np.ndarray, price_usd: np.ndarray, n_days: float,
                out: MinerMoney | None = None) -> MinerMoney:
    """A miner's BTC, revenue, pool fee and cost over one period, vectorised over scenarios.

    The engine calls this once per step; it is the only code that turns the network's BTC per
    unit of hashrate into a miner's money (swap it to change the miner model).

    Parameters
    ----------
    miner : MinerEconomics
    btc_per_hs : numpy.ndarray
        Expected BTC the network pays per unit of hashrate over the period,
        ``∫ (subsidy + fees per block) / work dt`` [BTC per (H/s)] (DESIGN.md §3).
    price_usd : numpy.ndarray
        Mean BTC price over the period [USD/BTC].
    n_days : float
        Length of the period [days].
    out : MinerMoney, optional
        Arrays to write ``btc``, ``revenue_usd``, ``pool_fee_usd`` (and ``cost_usd`` for a
        curtailable miner) into.

    Returns
    -------
    MinerMoney
        With ``H = hashrate_ths·10^12·uptime`` [H/s] and pool fee ``φ``: gross BTC
        ``G = H·btc_per_hs``, ``btc = G·(1 − φ)``, ``pool_fee_usd = G·φ·price``,
        ``revenue_usd = btc·price + demand_response_usd_per_day·n_days``, energy
        ``E = power_kw·24·uptime·energy_usd_per_kwh·n_days`` and
        ``cost_usd = E + other_cost_usd_per_day·n_days`` (a float unless curtailable).
        A curtailable miner is off for the period (BTC, pool fee, mined revenue and energy all 0)
        where ``btc·price < E``; margin = revenue − cost.

    References
    ----------
    .. [1] DESIGN.md §3 (expected BTC = H·dt/work × (subsidy + fees); energy = kW × 24 × USD/kWh).
    """
    hs = miner.hashrate_ths * HS_PER_THS * miner.uptime
    btc = np.multiply(btc_per_hs, hs * (1.0 - miner.pool_fee), out=None if out is None else out.btc)
    mined = np.multiply(btc, price_usd, out=None if out is None else out.revenue_usd)
    pool_usd = np.multiply(btc_per_hs, hs * miner.pool_fee, out=None if out is None else out.pool_fee_usd)
    pool_usd *= price_usd
    energy = miner.power_kw * 24.0 * miner.uptime * miner.energy_usd_per_kwh * n_days
    other = miner.other_cost_usd_per_day * n_days
    cost: np.ndarray | float = energy + other
    if miner.curtailable:
        on = mined >= energy
        btc *= on
        mined *= on
        pool_usd *= on
        cost = np.multiply(on, energy, out=None if out is None or not isinstance(out.cost_usd, np.ndarray)
                           else out.cost_usd)
        cost += other
    if miner.demand_response_usd_per_day:
        mined += miner.demand_response_usd_per_day * n_days
    return MinerMoney(btc, mined, pool_usd, cost)


def miner_block_luck(money: dict[str, np.ndarray], expected_blocks: np.ndarray, demand_response_usd: float,
                     rng: np.random.Generator) -> None:
    """Scale a month's mined lines by Poisson block luck (a miner on its own pool), in place.

    ``luck = K / λ`` with ``K ~ Poisson(λ)``, ``λ`` the miner's expected blocks in the month (1
    where ``λ = 0``); ``btc``, ``pool_fee_usd`` and the mined part of ``revenue_usd`` (revenue less
    ``demand_response_usd``) are multiplied by it.
    """
    lam = expected_blocks
    luck = np.where(lam > 0, rng.poisson(lam) / np.where(lam > 0, lam, 1.0), 1.0)
    money["btc"] *= luck
    money["pool_fee_usd"] *= luck
    rev = money["revenue_usd"]
    rev -= demand_response_usd
    rev *= luck
    rev += demand_response_usd


def parse_horizon(text: str) -> int:
    """Parse a horizon such as ``"2y"``, ``"18m"``, ``"6mo"`` into months.

    Raises
    ------
    ScenarioInputError
        For anything else, or a non-positive horizon.
    """
    s = str(text).strip().lower()
    for suffix, mult in (("years", 12), ("year", 12), ("y", 12), ("months", 1), ("month", 1), ("mo", 1), ("m", 1)):
        if s.endswith(suffix) and s[: -len(suffix)].strip().isdigit():
            months = int(s[: -len(suffix)]) * mult
            if months <= 0:
                break
            return months
    raise ScenarioInputError(f"horizon: {text!r} is not a positive number of months or years (e.g. 18m, 2y)")


def add_months(d: date, months: int) -> date:
    """Calendar month arithmetic, clipping the day to the month's length."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


#: Default steps per calendar month of the horizon (about a week each).
DEFAULT_STEPS_PER_MONTH: int = 4


@dataclass(frozen=True)
class StepGrid:
    """The engine's time steps: every horizon month cut into ``steps_per_month`` runs of days.

    Attributes
    ----------
    first_day : numpy.ndarray of int64
        First day of each step (days after the start date).
    n_days : numpy.ndarray of int64
        Days in each step (a 31-day month with 4 steps gives 8, 8, 8, 7).
    month : numpy.ndarray of int64
        Horizon month (0-based) of each step.
    calendar_month : tuple of numpy.ndarray
        Calendar month 1..12 of every day of each step.
    """

    first_day: np.ndarray
    n_days: np.ndarray
    month: np.ndarray
    calendar_month: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class ScenarioSpec:
    """Everything a run needs (picklable: sent to every worker).

    Parameters
    ----------
    start : StartState
    horizon_months : int
        Horizon [months]; months are calendar months counted from the start date.
    price : GBMPrice or BootstrapPrice
    hashrate : HashrateModel
    fees : FeeModel
    miner : MinerEconomics or None
    capex_usd : float
        Investment to recover for time-to-breakeven [USD] (0 = first month with cumulative
        margin >= 0).
    steps_per_month : int
        Time steps per horizon month, 1..28 (:class:`StepGrid`); part of the result's identity.
    """

    start: StartState
    horizon_months: int
    price: GBMPrice | BootstrapPrice
    hashrate: HashrateModel
    fees: FeeModel
    miner: MinerEconomics | None = None
    capex_usd: float = 0.0
    steps_per_month: int = DEFAULT_STEPS_PER_MONTH
    month_starts: tuple[date, ...] = field(init=False)
    n_days: int = field(init=False)

    def __post_init__(self) -> None:
        if self.horizon_months <= 0:
            raise ScenarioInputError("horizon: must be at least one month")
        if self.capex_usd < 0:
            raise ScenarioInputError("capex_usd: must be >= 0")
        if not 1 <= self.steps_per_month <= 28:
            raise ScenarioInputError(f"steps_per_month: must be in [1, 28], got {self.steps_per_month}")
        d0 = self.start.start_date
        starts = tuple(add_months(d0, i) for i in range(self.horizon_months + 1))
        end = starts[-1]
        last_era_unix = self.start.time_unix + (LAST_SUBSIDY_HEIGHT - self.start.tip_height) * 600
        last_era = datetime.fromtimestamp(max(last_era_unix, 0), tz=UTC).date()
        if end > last_era:
            raise ScenarioInputError(
                f"horizon: ends {end.isoformat()}, after the last subsidy era ends (height "
                f"{LAST_SUBSIDY_HEIGHT:,} ≈ {last_era.isoformat()} at 600-s blocks); shorten it"
            )
        object.__setattr__(self, "month_starts", starts)
        object.__setattr__(self, "n_days", (end - d0).days)

    @property
    def grid(self) -> StepGrid:
        """The month-aligned step grid of the horizon."""
        d0 = self.start.start_date
        edges = [(m - d0).days for m in self.month_starts]
        first, length, month = [], [], []
        for m in range(self.horizon_months):
            q, r = divmod(edges[m + 1] - edges[m], self.steps_per_month)
            day = edges[m]
            for k in range(self.steps_per_month):
                nd = q + (k < r)
                first.append(day)
                length.append(nd)
                month.append(m)
                day += nd
        cal = np.array([(d0 + timedelta(days=i)).month for i in range(self.n_days)])
        return StepGrid(
            first_day=np.array(first, dtype=np.int64),
            n_days=np.array(length, dtype=np.int64),
            month=np.array(month, dtype=np.int64),
            calendar_month=tuple(cal[f : f + nd] for f, nd in zip(first, length, strict=True)),
        )

    def deterministic_hashrate_hs(self) -> np.ndarray:
        """Daily network hashrate when noise, shocks and capitulation are off [H/s].

        The trend's step means, repeated over each step's days: the exact path the engine uses
        in that case (for reference samplers and checks).
        """
        g = self.grid
        r = math.log1p(self.hashrate.growth_per_year) / 365.0
        h0 = self.start.hashrate_ehs * HS_PER_EHS
        out = [
            np.full(nd, math.exp(r * f) * float(np.exp(r * np.arange(nd)).mean()) * h0)  # as HashrateModel
            for f, nd in zip(g.first_day, g.n_days, strict=True)
        ]
        return np.concatenate(out)


# -- milestones --------------------------------------------------------------------------------


def milestones(next_height: int, max_height: int) -> dict[str, np.ndarray]:
    """Heights where the engine stops a draw: every epoch's last block and the block before a halving.

    Returns
    -------
    dict
        ``height``, ``delta`` (blocks since the previous milestone, the first measured from
        ``next_height - 1``), ``is_last`` (``height ≡ 2015 mod 2016``), ``is_halving_next``
        (block ``height + 1`` is a halving), ``subsidy_next_sats`` (subsidy of block ``height + 1``).

    Notes
    -----
    The first block of each epoch is not a milestone: its hashes are drawn with the epoch's
    (``Exp(1)·work`` then ``Gamma(Δ − 1)·work`` to the next milestone, together ``Gamma(Δ)``).
    """
    e0 = next_height // RETARGET_INTERVAL
    e1 = max_height // RETARGET_INTERVAL + 1
    lasts = np.arange(e0, e1 + 1, dtype=np.int64) * RETARGET_INTERVAL + RETARGET_INTERVAL - 1
    halvings = np.arange(next_height // HALVING_INTERVAL, max_height // HALVING_INTERVAL + 2, dtype=np.int64)
    h = np.unique(np.concatenate([lasts, halvings * HALVING_INTERVAL - 1]))
    h = h[h >= next_height]
    prev = np.concatenate([[next_height - 1], h[:-1]])
    return {
        "height": h,
        "delta": h - prev,
        "is_last": h % RETARGET_INTERVAL == RETARGET_INTERVAL - 1,
        "is_halving_next": (h + 1) % HALVING_INTERVAL == 0,
        "subsidy_next_sats": block_subsidy_array(h + 1).astype(np.float64),
    }


# -- chunk simulation --------------------------------------------------------------------------


@dataclass
class ChunkResult:
    """Per-scenario outputs of one chunk.

    Attributes
    ----------
    monthly : dict of str -> numpy.ndarray
        :data:`MONTHLY_METRICS`, each (scenarios × months) (from :func:`simulate_chunk`: views of
        month-major arrays); monthly means for price, hashrate, hashprice, fees; month-end
        difficulty; sums for BTC [BTC] and USD lines [USD] (revenue, pool fee, cost, margin).
    retarget_time_s : numpy.ndarray
        (scenarios × retargets) time of each epoch's last block since the start [s]; NaN after
        the horizon. Retarget ``k`` is at height ``first_boundary + 2016·k`` in every scenario.
    retarget_first_time_s : numpy.ndarray
        Same shape: header time of the epoch's first block minus the start time [s] (negative
        when it precedes the start; NaN where ``retarget_time_s`` is).
    retarget_bits : numpy.ndarray of int64
        Same shape: compact bits from each retarget (0 where none).
    prev_bits : numpy.ndarray of int64
        Same shape: bits of the epoch that ended.
    breakeven_month : numpy.ndarray of int64
        First month (1-based) whose cumulative margin reaches ``capex_usd``; 0 = not reached.
    """

    monthly: dict[str, np.ndarray]
    retarget_time_s: np.ndarray
    retarget_first_time_s: np.ndarray
    retarget_bits: np.ndarray
    prev_bits: np.ndarray
    breakeven_month: np.ndarray


class EpochSampler:
    """Blocks, retargets and halvings of ``n`` scenarios, advanced one step of hashes at a time.

    Blocks need work, not time (DESIGN.md §5): ``rem`` holds the hashes still needed for the next
    milestone (an epoch's last block, or the block before a halving), drawn as ``Gamma(Δ)·work``.
    :meth:`advance` is given the hashes of one step per scenario (constant hashrate within it) and
    places every milestone that falls inside at fraction ``rem / hashes`` of the step; after an
    epoch's last block the next epoch's first block is ``Exp(1)·work`` further (so the epoch is
    ``Exp(1) + Gamma(2015)`` = ``Gamma(2016)``), placed in time the same way in whichever step it
    falls. Retargets apply :func:`retarget_bits` to the floored integer header times [1]_ [3]_.

    Parameters
    ----------
    start : StartState
    n : int
        Scenarios.
    n_days : int
        Horizon [days] (sizes the milestone table and the retarget table).
    rng : numpy.random.Generator
        Source of the ``standard_gamma``, ``gamma`` and ``standard_exponential`` draws (a test may
        pass an object with these three methods returning their means: the block times are then
        the expected ones, see ``tests/scenario/test_scen_known_values.py``).

    Attributes
    ----------
    bits, work, subsidy : numpy.ndarray
        Per scenario: compact bits in force, expected hashes per block [hashes] and the subsidy of
        the block being mined [sats].

    Notes
    -----
    Cost: per step, one comparison over all scenarios; per milestone, two draws and one pass of
    compiled loops over the scenarios that reached one (one round per step in the usual case).
    A *plain* milestone (an epoch's last block followed by a full epoch: shape 2015 after the first
    block, no halving) takes that path (:func:`~hashdesk.scenario.kernels.plain_retarget`,
    :func:`~hashdesk.scenario.kernels.plain_place`); the milestone index range of a round is checked
    against a prefix count of the other kinds, and rounds with a halving or a partial epoch take
    the numpy path (about 60 array operations).
    """

    def __init__(self, start: StartState, n: int, n_days: int, rng: np.random.Generator) -> None:
        self.start, self.n, self.rng = start, n, rng
        next_height = start.tip_height + 1
        ms = milestones(next_height, next_height + int(n_days * 144 * 8) + 2 * RETARGET_INTERVAL)
        delta = ms["delta"].astype(np.float64)
        self._last, self._subsidy_next, self._halving = ms["is_last"], ms["subsidy_next_sats"], ms["is_halving_next"]
        self._n_ms = delta.size
        self._first_halving = int(np.argmax(self._halving)) if self._halving.any() else self._n_ms
        self._lasts_before = np.cumsum(self._last) - self._last  # retargets before milestone i
        # Gamma shape drawn after milestone i: to milestone i + 1, less the first block after a last
        self._shape_after = np.append(delta[1:], 1.0) - self._last
        plain = self._last & ~self._halving & (self._shape_after == RETARGET_INTERVAL - 1)
        self._odd_before = np.concatenate([[0], np.cumsum(~plain)])  # non-plain milestones before i
        self.bits = np.full(n, start.bits, dtype=np.int64)
        work = work_float(self.bits)
        self.subsidy = np.full(n, float(block_subsidy_array(np.array([next_height]))[0]))
        #: True while ``on_change`` runs for a round in which some subsidy changed (a halving)
        self.subsidy_changed = False
        known = start.epoch_first_time_unix
        self._first_ts = np.full(n, known if known is not None else -1, dtype=np.int64)
        self._idx = np.zeros(n, dtype=np.int64)
        # first blocks of an epoch drawn but not yet placed in time: rows, hashes still to go
        self._pend_rows = np.zeros(0, dtype=np.int64)
        self._pend_rem = np.zeros(0)
        if next_height % RETARGET_INTERVAL == 0:
            first_rem = rng.standard_exponential(n) * work
            self._rem = first_rem + rng.gamma(delta[0] - 1.0, size=n) * work
            self._pend_rows, self._pend_rem = np.arange(n, dtype=np.int64), first_rem
        else:
            self._rem = rng.gamma(delta[0], size=n) * work
        # retargets written in place, stored retarget-major (k, scenario): the scenarios of a round
        # are sorted and within an epoch or two of each other, so the writes are near-sequential
        cols = max(4, n_days // 12 + 4)  # zero pages cost nothing until written
        self._rt_time = np.zeros((cols, n))
        self._rt_first = np.zeros((cols, n), dtype=np.int64)
        self._rt_bits = np.zeros((cols, n), dtype=np.int64)
        self._rt_used = 0

    def _grow(self, cols: int) -> None:
        """Make room for at least ``cols`` retargets per scenario."""
        old = self._rt_time.shape[0]
        cols = max(cols, 2 * old)
        for name in ("_rt_time", "_rt_first", "_rt_bits"):
            a = getattr(self, name)
            b = np.zeros((cols, self.n), dtype=a.dtype)
            b[:old] = a
            setattr(self, name, b)

    @property
    def work(self) -> np.ndarray:
        """Expected hashes per block at the bits in force, per scenario [hashes] (:func:`work_float`)."""
        return work_float(self.bits)

    def advance(self, hashes: np.ndarray, t_start: float, step_s: float,
                on_change: Callable[[np.ndarray, np.ndarray, np.ndarray], None] | None = None) -> None:
        """Run one step of ``hashes`` per scenario, starting ``t_start`` s after the start, ``step_s`` long.

        ``on_change(rows, f, work)`` is called after each round of milestones with the scenarios
        whose work or subsidy just changed, the step fraction where it happened and their new
        work [hashes] (:attr:`subsidy` already updated; :attr:`subsidy_changed` tells whether any
        did). ``rows`` is sorted; a later round of the same step holds only rows of the earlier
        one (a second milestone in the step).
        """
        rng, rem, idx, first_ts = self.rng, self._rem, self._idx, self._first_ts
        bits, t0 = self.bits, self.start.time_unix
        t_start, step_s = float(t_start), float(step_s)
        # first blocks drawn in an earlier step: placed if they fall in this one
        if self._pend_rows.size:
            rows, pend = self._pend_rows, self._pend_rem
            h = hashes.take(rows)
            inside = pend <= h
            t = pend / h
            t *= step_s
            t += t_start
            first_ts[rows[inside]] = t0 + t[inside].astype(np.int64)  # t >= 0: truncation is the floor
            pend -= h
            out = ~inside
            self._pend_rows, self._pend_rem = rows[out], pend[out]
        K = _kernels()
        hit = np.empty(rem.shape[0], dtype=np.int64)
        hit = hit[:K.hits(rem, hashes, hit)]
        while hit.size:
            m = hit.size
            r_hit, h_hit, f = np.empty(m), np.empty(m), np.empty(m)
            i = np.empty(m, dtype=np.int64)
            i_min, i_max = K.round_scan(hit, rem, hashes, idx, r_hit, h_hit, f, i)
            if i_max + 1 >= self._n_ms:
                raise ScenarioInputError("simulation ran past its milestone table (hashrate path explodes?)")
            if self._odd_before[i_max + 1] == self._odd_before[i_min]:
                # plain: every row ends an epoch followed by a full one (shape 2015 after its first block)
                top = int(self._lasts_before[i_max]) + 1
                if top > self._rt_time.shape[0]:
                    self._grow(top)
                self._rt_used = max(self._rt_used, top)
                w = np.empty(m)
                flag = np.empty(m, dtype=np.int8)
                if K.plain_retarget(hit, f, i, step_s, t_start, t0, first_ts, bits, idx, self._lasts_before,
                                    self._rt_time, self._rt_first, self._rt_bits, w, flag, K.WORK_POW2):
                    self._fix_retargets(hit, f, i, flag, w, t_start, step_s)
                g = rng.standard_gamma(RETARGET_INTERVAL - 1.0, size=m)
                x1 = rng.standard_exponential(m)
                out = np.empty(m, dtype=np.bool_)
                nxt = np.empty(m, dtype=np.int64)
                n_next, n_out = K.plain_place(hit, g, x1, w, r_hit, h_hit, step_s, t_start, t0, first_ts, rem,
                                              out, nxt)
                if n_out:
                    self._pend_rows = np.concatenate([self._pend_rows, hit[out]])
                    self._pend_rem = np.concatenate([self._pend_rem, x1[out] - h_hit[out]])
                if on_change is not None:
                    on_change(hit, f, w)
                hit = nxt[:n_next]
                continue
            lm = self._last[i]
            s = hit[lm]
            if s.size:
                f_s, h_s, r_s, i_s = f[lm], h_hit[lm], r_hit[lm], i[lm]
                t_last = f_s * step_s
                t_last += t_start
                ft_s = first_ts.take(s)
                last_ts = t_last.astype(np.int64)
                last_ts += t0
                new_bits, w_s = _retarget(bits.take(s), ft_s, last_ts, trusted=True)
                col = self._lasts_before.take(i_s)
                top = int(self._lasts_before[int(i_s.max())]) + 1
                if top > self._rt_time.shape[0]:
                    self._grow(top)
                self._rt_used = max(self._rt_used, top)
                flat = col * self.n
                flat += s
                self._rt_time.ravel()[flat] = t_last
                self._rt_first.ravel()[flat] = ft_s
                self._rt_bits.ravel()[flat] = new_bits
                bits[s] = new_bits
            halving = i_max >= self._first_halving and bool(self._halving[i].any())
            if halving:
                self.subsidy[hit] = self._subsidy_next[i]
            d = self._shape_after[i]  # after a last block the first block is drawn apart (Exp(1))
            d0 = d[0]
            uniform = bool((d == d0).all())
            i += 1
            idx[hit] = i
            w = work_float(bits.take(hit))
            g = rng.standard_gamma(d0, size=hit.size) if uniform else rng.standard_gamma(d)
            g *= w
            if s.size:
                x1 = rng.standard_exponential(s.size)
                x1 *= w[lm]
                x1 += r_s  # hashes from the step start to the first block
                inside = x1 <= h_s
                t = x1 / h_s
                t *= step_s
                t += t_start
                if inside.all():
                    first_ts[s] = t0 + t.astype(np.int64)
                else:
                    first_ts[s[inside]] = t0 + t[inside].astype(np.int64)
                    out = ~inside
                    self._pend_rows = np.concatenate([self._pend_rows, s[out]])
                    self._pend_rem = np.concatenate([self._pend_rem, x1[out] - h_s[out]])
                r_hit[lm] = x1
            g += r_hit
            rem[hit] = g
            if on_change is not None:
                self.subsidy_changed = halving
                on_change(hit, f, w)
                self.subsidy_changed = False
            hit = hit[g <= h_hit]
        rem -= hashes

    def _fix_retargets(self, hit: np.ndarray, f: np.ndarray, i: np.ndarray, flag: np.ndarray, w: np.ndarray,
                       t_start: float, step_s: float) -> None:
        """Finish the rows :func:`~hashdesk.scenario.kernels.plain_retarget` flagged (never seen on
        mainnet): Core's rule in Python ints where the fast rule does not apply (flag 1), and the
        work of the new bits (flags 1 and 2)."""
        for j in np.flatnonzero(flag):
            r = int(hit[j])
            if flag[j] == 1:
                t_last = float(f[j]) * step_s + t_start
                new = next_work_required(int(self.bits[r]), int(self._first_ts[r]),
                                         int(t_last) + self.start.time_unix)
                col = int(self._lasts_before[int(i[j])])
                self._rt_bits[col, r] = new
                self.bits[r] = new
            w[j] = work_float(self.bits[r:r + 1])[0]

    def retargets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The retargets so far, one row per scenario and one column per retarget.

        Returns
        -------
        time_s, first_time_s, bits, prev_bits
            See :class:`ChunkResult` (``retarget_time_s`` ... ``prev_bits``).
        """
        used = self._rt_used
        bits = self._rt_bits[:used]
        t = self._rt_time[:used]
        first = np.empty(bits.shape)
        prev = np.empty_like(bits)
        # NaN times and 0 previous bits where no retarget happened (bits 0); the first block's time
        # relative to the start as float; the previous bits: the start's, then each retarget's
        _kernels().retarget_tables(t, self._rt_first, bits, self.start.time_unix, self.start.bits, first, prev)
        return t.T, first.T, bits.T, prev.T  # (scenarios × retargets) views


def sample_epochs(spec: ScenarioSpec, n: int, seed: np.random.SeedSequence) -> ChunkResult:
    """The epoch sampler alone on the spec's deterministic hashrate path (no prices, fees, miner).

    The path is :meth:`ScenarioSpec.deterministic_hashrate_hs` (the trend's step means: noise,
    shocks and capitulation are ignored); blocks and retargets come from :class:`EpochSampler`,
    the code :func:`simulate_chunk` runs. For the block-level comparison and benchmarks.

    Returns
    -------
    ChunkResult
        Retarget fields only (``monthly`` is empty, ``breakeven_month`` zeros).
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    grid = spec.grid
    sampler = EpochSampler(spec.start, n, spec.n_days, rng)
    path = spec.deterministic_hashrate_hs()[grid.first_day]
    hashes = np.empty(n)
    for k in range(grid.n_days.size):
        step_s = float(grid.n_days[k]) * SECONDS_PER_DAY
        hashes.fill(path[k] * step_s)
        sampler.advance(hashes, float(grid.first_day[k]) * SECONDS_PER_DAY, step_s)
    t, first, bits, prev = sampler.retargets()
    return ChunkResult({}, t, first, bits, prev, np.zeros(n, dtype=np.int64))


def simulate_chunk(spec: ScenarioSpec, n: int, seed: np.random.SeedSequence, *,
                   rng: np.random.Generator | None = None,
                   on_step: Callable[[int, dict[str, np.ndarray]], None] | None = None) -> ChunkResult:
    """Simulate ``n`` scenarios step by step (:class:`StepGrid`) with the epoch-level block sampler.

    Parameters
    ----------
    spec : ScenarioSpec
    n : int
        Scenarios in this chunk.
    seed : numpy.random.SeedSequence
        This chunk's child seed; the result depends only on ``(spec, n, seed)``.
    rng : numpy.random.Generator, optional
        Draw from this instead of ``Generator(PCG64(seed))`` (tests pass one whose block draws
        are their means, for closed-form checks).
    on_step : callable, optional
        Called after every step ``k`` of the grid as ``on_step(k, values)`` with the step's means
        per scenario: ``price_usd`` [USD/BTC], ``hashrate_ehs`` [EH/s],
        ``hashprice_usd_per_ph_day`` [USD/PH/day] and ``fees_sats_per_block`` [sats] (arrays the
        engine reuses: copy what you keep). For the backtest, which compares a step with the
        realised days it covers; draws nothing, so results are the same with or without it.

    Returns
    -------
    ChunkResult

    Notes
    -----
    Each step (``n_k`` days, about a week) draws the price, hashrate and fee processes for its
    days (:mod:`hashdesk.scenario.paths`), holds the online hashrate ``H_k`` constant and gives
    the :class:`EpochSampler` ``86,400·n_k·H_k`` hashes. Expected BTC per hash is
    ``(subsidy + fees) / work`` [2]_ with fees per block ``F_k·(work/(600·H_k))^β``
    (:class:`~hashdesk.scenario.paths.FeeModel`), i.e. ``A_k·work^β`` with
    ``A_k = exp(ln F_k − β·ln(600·H_k))`` for the step and ``work^β``, ``1/work`` kept per scenario
    (they change only at milestones). The step mean is exact over the segments between
    milestones: ``r_end + f_1·(r_start − r_end)`` with ``f_1`` the step fraction before a
    scenario's milestone, plus ``(f_i − f_1)·(r_{i−1} − r_i)`` for each further milestone ``i`` in
    the same step. The miner's money lines come from :func:`miner_money`.
    """
    rng = np.random.Generator(np.random.PCG64(seed)) if rng is None else rng
    st = spec.start
    grid = spec.grid
    n_steps = grid.n_days.size
    n_months = spec.horizon_months
    chain = EpochSampler(st, n, spec.n_days, rng)
    subsidy = chain.subsidy

    # paths
    price_model, hr_model, fee_model = spec.price, spec.hashrate, spec.fees
    price_state = price_model.init(n, rng)
    hr_state = hr_model.init(n, rng)
    fee_state = fee_model.init(n, rng)
    h0 = st.hashrate_ehs * HS_PER_EHS
    p0 = st.price_usd
    hashprice_prev = np.full(n, st.hashprice_usd_per_ph_day)
    beta = float(fee_model.interval_elasticity)
    base = float(fee_model.base_sats_per_block)
    # ln A_k = ln F_k − β·ln(600·H_k) = [ln(F_k/base)] − β·ln(rel_k) + [ln base − β·ln(600·h0)]
    ln_a0 = (math.log(base) - beta * math.log(600.0 * h0)) if base > 0 else -math.inf
    uses_hashprice = hr_model.responds

    # per-scenario factors of the work in force: 1/(1e8·w), w^β, and the subsidy they go with
    def powers(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        iw = np.divide(1.0 / SATS_PER_BTC, w)
        if beta == 0.0:
            return iw, np.ones_like(w)
        if beta == 1.0:
            return iw, w.copy()
        wb = np.log(w)
        wb *= beta
        return iw, np.exp(wb, out=wb)

    inv_w, w_beta = powers(chain.work)
    sub = subsidy.copy()
    a_fee = np.empty(n)  # A_k [sats per block per hash^β]
    frac = np.ones(n)  # step fraction before each scenario's first milestone in the step (1: none)
    extra: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # further milestones in a step
    rounds = [0]

    def on_change(hit: np.ndarray, f: np.ndarray, w: np.ndarray) -> None:
        if rounds[0] == 0:  # the first round of the step: 1/(1e8·w), w^β and f scattered in one pass
            wb = w if beta == 1.0 else np.ones_like(w) if beta == 0.0 else np.exp(np.multiply(np.log(w), beta))
            K.scatter_work(hit, f, w, wb, frac, inv_w, w_beta)
            rounds[0] += 1
            if chain.subsidy_changed:
                sub[hit] = subsidy.take(hit)
            return
        iw, wb = powers(w)
        # rows with an earlier milestone in this step: (f − f_1)·(r_prev − r_new)
        a = a_fee.take(hit)
        fee_prev = a * w_beta.take(hit)
        r_prev = fee_prev + sub.take(hit)
        r_prev *= inv_w.take(hit)
        fee_new = a * wb
        r_new = fee_new + subsidy.take(hit)
        r_new *= iw
        df = f - frac.take(hit)
        r_prev -= r_new
        r_prev *= df
        fee_prev -= fee_new
        fee_prev *= df
        extra.append((hit, r_prev, fee_prev))
        rounds[0] += 1
        if chain.subsidy_changed:
            sub[hit] = subsidy.take(hit)
        inv_w[hit] = iw
        w_beta[hit] = wb

    # monthly outputs, month-major (rows written whole); the steps' price, hashrate, hashprice and
    # fees are kept for the month and reduced once, weighted by the steps' days
    monthly_t = {k: np.empty((n_months, n)) for k in MONTHLY_METRICS}
    spm = spec.steps_per_month
    b_price, b_hr, b_hp, b_fee = (np.empty((spm, n)) for _ in range(4))
    rate_start, rate = np.empty(n), np.empty(n)
    miner = spec.miner
    b_money = MinerMoney(*(np.empty((spm, n)) for _ in range(4))) if miner is not None else None
    cost_scalar = 0.0
    own_blocks = np.zeros(n) if miner is not None and miner.own_pool else None
    m_hs = miner.hashrate_ths * HS_PER_THS * miner.uptime if miner is not None else 0.0
    cum_margin = np.zeros(n)
    breakeven = np.zeros(n, dtype=np.int64)
    days_in_month = 0
    hashes = np.empty(n)
    first_days, lengths, months = grid.first_day.tolist(), grid.n_days.tolist(), grid.month.tolist()
    calendar = grid.calendar_month

    ones = np.ones(spm)
    K = _kernels()
    comove = hr_model.price_corr > 0  # the hashrate's innovation sees the step's price return
    if comove:
        lr_prev, u = np.empty(n), np.empty(n)
        p_mean, p_sd = price_model.daily_log_moments()
        hr_state["price_u"] = u
    j = 0  # step of the month
    for k in range(n_steps):
        nd, day = lengths[k], first_days[k]
        step_s = float(nd * SECONDS_PER_DAY)
        if comove:
            lr_prev[:] = price_state["log_ratio"]
        price_rel = price_model.advance(price_state, day, nd, rng)
        if comove:  # u = (ΔL − m·n) / (s·√n), the step's standardised log-return (the hashrate reads it)
            np.subtract(price_state["log_ratio"], lr_prev, out=u)
            u -= p_mean * nd
            u *= 1.0 / (p_sd * math.sqrt(nd)) if p_sd > 0 else 0.0
        rel = hr_model.advance(hr_state, day, calendar[k], hashprice_prev, rng)
        ln_f = fee_model.advance_log(fee_state, nd, rng)
        # A_k (fees per block are A_k·w^β)
        if beta == 0.0:
            if ln_f is None:
                a_fee.fill(base)
            else:
                np.exp(ln_f, out=a_fee)
                a_fee *= base
        else:
            np.log(rel, out=a_fee)
            if ln_f is not None:
                K.fee_log(a_fee, -beta, ln_f, ln_a0)
            else:
                a_fee *= -beta
                a_fee += ln_a0
            np.exp(a_fee, out=a_fee)
        # price [USD/BTC], hashrate [H/s], hashes, fees per block at the step start [sats], BTC per hash
        price, hr, fee_start = b_price[j], b_hr[j], b_fee[j]
        K.step_start(price_rel, p0, price, rel, h0, step_s, hr, hashes, a_fee, w_beta, fee_start, sub, inv_w,
                     rate_start)
        rounds[0] = 0
        chain.advance(hashes, float(day) * SECONDS_PER_DAY, step_s, on_change)
        if rounds[0]:  # step means over the segments between milestones
            K.step_means(a_fee, w_beta, sub, inv_w, rate_start, frac, fee_start, rate)
            for rows, dr, dfee in extra:
                np.add.at(rate, rows, dr)
                np.add.at(fee_start, rows, dfee)
            extra.clear()
        else:
            rate, rate_start = rate_start, rate
        # b_fee[j]: mean fees per block over the step [sats]; rate: mean BTC per hash [BTC/hash]
        hp = np.multiply(rate, price, out=b_hp[j])  # [USD/hash]
        if uses_hashprice:
            hashprice_prev = hp * (SECONDS_PER_DAY * HS_PER_PHS)
        if on_step is not None:
            on_step(k, {"price_usd": price, "hashrate_ehs": hr / HS_PER_EHS,
                        "hashprice_usd_per_ph_day": hp * (SECONDS_PER_DAY * HS_PER_PHS),
                        "fees_sats_per_block": b_fee[j]})
        if miner is not None:
            rate *= step_s  # BTC per (H/s) over the step
            money = miner_money(miner, rate, price, nd, out=MinerMoney(*(b[j] for b in b_money)))
            if not isinstance(money.cost_usd, np.ndarray):
                cost_scalar += money.cost_usd
            if own_blocks is not None:
                # expected blocks found by the miner while mining: m_hs·step_s/work
                blocks = np.divide(m_hs * step_s, chain.work)
                if miner.curtailable:
                    blocks *= money.btc > 0
                own_blocks += blocks
        days_in_month += nd
        j += 1

        m = months[k]
        if k == n_steps - 1 or months[k + 1] != m:
            weight = np.array(lengths[k + 1 - j:k + 1], dtype=np.float64)[:, None] / days_in_month
            for buf, key, scale in ((b_price, "price_usd", 1.0), (b_hr, "hashrate_ehs", 1.0 / HS_PER_EHS),
                                    (b_hp, "hashprice_usd_per_ph_day", SECONDS_PER_DAY * HS_PER_PHS),
                                    (b_fee, "fees_sats_per_block", 1.0)):
                w_ = weight * scale if scale != 1.0 else weight
                K.month_mean(buf[:j], w_.ravel(), monthly_t[key][m])
            j_month, j = j, 0
            monthly_t["difficulty"][m] = difficulty_float(chain.bits)
            if miner is not None:
                month = {"btc": monthly_t["btc_mined"][m], "revenue_usd": monthly_t["revenue_usd"][m],
                         "pool_fee_usd": monthly_t["pool_fee_usd"][m]}
                for key, v in month.items():
                    K.month_mean(getattr(b_money, key)[:j_month], ones[:j_month], v)
                cost_m = monthly_t["cost_usd"][m]
                if miner.curtailable:
                    np.add.reduce(b_money.cost_usd[:j_month], axis=0, out=cost_m)
                else:
                    cost_m.fill(cost_scalar)
                if own_blocks is not None:
                    miner_block_luck(month, own_blocks, miner.demand_response_usd_per_day * days_in_month, rng)
                    own_blocks.fill(0.0)
                margin = np.subtract(month["revenue_usd"], cost_m, out=monthly_t["margin_usd"][m])
                cum_margin += margin
                newly = (breakeven == 0) & (cum_margin >= spec.capex_usd)
                breakeven[newly] = m + 1
                cost_scalar = 0.0
            days_in_month = 0
    if miner is None:
        for k in ("btc_mined", "revenue_usd", "cost_usd", "margin_usd", "pool_fee_usd"):
            monthly_t[k].fill(np.nan)
    rt_time, rt_first, rt_bits, prev_bits = chain.retargets()
    return ChunkResult(
        monthly={k: v.T for k, v in monthly_t.items()},  # (scenarios × months) views
        retarget_time_s=rt_time,
        retarget_first_time_s=rt_first,
        retarget_bits=rt_bits,
        prev_bits=prev_bits,
        breakeven_month=breakeven,
    )


def first_retarget_height(tip_height: int) -> int:
    """Height of the first retarget after the tip (the first block of the next epoch)."""
    return (tip_height + 1) // RETARGET_INTERVAL * RETARGET_INTERVAL + RETARGET_INTERVAL

