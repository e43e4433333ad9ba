"""Epoch-level Monte Carlo of blocks, retargets, hashprice and a miner's monthly economics.

Blocks need work, not time (DESIGN.md §5): the hashes needed for the next ``k`` blocks at target
``T`` are ``Gamma(k, work(T))`` whatever the hashrate path. The engine draws one Gamma per
*milestone* (first block of an epoch, a halving block, last block of an epoch) and maps the
cumulative hashes to time through the integrated (piecewise-constant daily) hashrate path, so an
epoch costs two draws instead of 2016. This is exact for a given hashrate path. Retargets apply
Bitcoin Core's rule (:func:`hashdesk.chain.consensus.next_work_required`) to the simulated
integer timestamps of the epoch's first and last blocks, vectorised in exact int64 arithmetic
(:func:`retarget_bits`).

The engine runs one *chunk* of scenarios day by day, so memory is O(chunk) for any horizon; the
executors (:mod:`hashdesk.scenario.executors`) split a run into chunks, each with its own child
of one ``numpy.random.SeedSequence``.

References
----------
.. [1] Bitcoin Core, ``src/pow.cpp`` (``CalculateNextWorkRequired``); ``src/arith_uint256.cpp``.
.. [2] DESIGN.md §5 (epoch sampler), §3 (expected BTC = H·dt/work × (subsidy + fees)).
.. [3] Ross, S. M. *Introduction to Probability Models*, §5.3 (sum of k exponentials is Gamma(k)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np

from hashdesk.chain.consensus import (
    HALVING_INTERVAL,
    MAX_TIMESPAN_S,
    MIN_TIMESPAN_S,
    RETARGET_INTERVAL,
    SATS_PER_BTC,
    TARGET_TIMESPAN_S,
    block_subsidy_array,
    next_work_required,
    target_from_bits,
)
from hashdesk.economics.core import HS_PER_EHS, HS_PER_PHS, HS_PER_THS, SECONDS_PER_DAY
from hashdesk.economics.profile import ContractType, MinerProfile, PoolPayout
from hashdesk.scenario.paths import (
    KWH_PER_DAY_PER_W,
    BootstrapPrice,
    FeeModel,
    GBMPrice,
    HashrateModel,
    ScenarioInputError,
)

#: Height at which the subsidy reaches zero (64 >> halvings ... era 33 pays 0 sats) [blocks].
LAST_SUBSIDY_HEIGHT: int = 33 * HALVING_INTERVAL
#: Monthly metrics every chunk returns, each (scenarios × months).
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
)


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
    ``⌊m·s·256^(E-3) / T⌋``. Put ``Y = ⌊256·m·s / T⌋`` (< 2^34): the new target equals
    ``Y·256^(E-4)`` plus lower bytes, so when ``Y`` has >= 3 bytes its compact form depends on
    ``Y`` alone: mantissa = top three bytes of ``Y``, size = bytes(Y) + E − 4 (then Core's sign-bit
    shift; a size above 28 bytes exceeds powLimit and gives ``0x1d00ffff``). Rows outside this
    case (``E < 4`` or tiny mantissas, never seen on mainnet) fall back to the Python-int rule [1]_.

    References
    ----------
    .. [1] Bitcoin Core, ``src/pow.cpp`` and ``src/arith_uint256.cpp``.
    """
    bits = np.asarray(bits, dtype=np.int64)
    first_time = np.asarray(first_time, dtype=np.int64)
    last_time = np.asarray(last_time, dtype=np.int64)
    span = np.clip(last_time - first_time, MIN_TIMESPAN_S, MAX_TIMESPAN_S)
    size_in = bits >> 24
    mant = bits & 0x007FFFFF
    y = (mant * span * 256) // TARGET_TIMESPAN_S
    nbytes = np.ones_like(y)
    for k in range(1, 8):
        nbytes += y >= (np.int64(1) << (8 * k))
    shift = 8 * (nbytes - 3)
    mantissa = y >> np.maximum(shift, 0)
    size = nbytes + size_in - 4
    sign = (mantissa & 0x00800000) != 0
    mantissa = np.where(sign, mantissa >> 8, mantissa)
    size = np.where(sign, size + 1, size)
    out = (size << 24) | mantissa
    over = (nbytes + size_in - 4) >= 29
    out = np.where(over, 0x1D00FFFF, out)
    slow = np.flatnonzero((size_in < 4) | (nbytes < 3) | ((bits & 0x00800000) != 0))
    for i in slow:
        out[i] = next_work_required(int(bits[i]), int(first_time[i]), int(last_time[i]))
    return out


def work_float(bits: np.ndarray) -> np.ndarray:
    """Expected hashes per block ``2^256 / (target + 1)`` as float64 [hashes].

    Relative error below 1e-15 against :func:`hashdesk.chain.consensus.block_work`; consensus
    values (bits, timestamps) stay exact integers, only the time mapping uses floats.
    """
    bits = np.asarray(bits, dtype=np.int64)
    target = (bits & 0x007FFFFF).astype(np.float64) * np.exp2(8.0 * ((bits >> 24) - 3))
    return np.exp2(256.0) / (target + 1.0)


def difficulty_float(bits: np.ndarray) -> np.ndarray:
    """Difficulty ``target(0x1d00ffff) / target`` as float64 [dimensionless]."""
    bits = np.asarray(bits, dtype=np.int64)
    target = (bits & 0x007FFFFF).astype(np.float64) * np.exp2(8.0 * ((bits >> 24) - 3))
    return float(0xFFFF) * 2.0**208 / target


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
        """Hashprice at the start [USD/PH/day] (DESIGN.md §3)."""
        subsidy = int(block_subsidy_array(np.array([self.tip_height + 1]))[0])
        w = float(work_float(np.array([self.bits]))[0])
        return SECONDS_PER_DAY * HS_PER_PHS / w * (subsidy + self.fees_sats_per_block) / SATS_PER_BTC * self.price_usd


@dataclass(frozen=True)
class MinerEconomics:
    """A miner's fleet and costs, resolved from a profile (see :func:`miner_from_profile`).

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
        return self.efficiency_j_per_th * KWH_PER_DAY_PER_W * self.energy_usd_per_kwh * 1000.0


def miner_from_profile(profile: MinerProfile, catalogue: dict[str, tuple[float, float]]) -> MinerEconomics:
    """Resolve a profile's fleet into hashrate and power.

    Parameters
    ----------
    profile : MinerProfile
        Validated profile.
    catalogue : dict
        ``model -> (hashrate_th [TH/s], power_w [W])`` from the store's ``asic_models``.

    Returns
    -------
    MinerEconomics

    Raises
    ------
    ScenarioInputError
        Naming the fleet line whose model is not in the catalogue.
    """
    ths = kw = 0.0
    for i, e in enumerate(profile.fleet):
        if e.model is not None:
            if e.model not in catalogue:
                known = ", ".join(sorted(catalogue)[:8])
                raise ScenarioInputError(
                    f"fleet[{i}].model: {e.model!r} is not in the ASIC catalogue (asic_models); known: {known}, ..."
                )
            h_th, p_w = catalogue[e.model]
            ths += h_th * e.units
            kw += p_w * e.units / 1000.0
        else:
            h = e.hashrate_ehs * HS_PER_EHS / HS_PER_THS
            ths += h
            kw += h * e.efficiency_j_per_th / 1000.0
    p = profile.power
    energy = p.price_usd_per_kwh + (p.index_adder_usd_per_kwh if p.contract == ContractType.indexed else 0.0)
    return MinerEconomics(
        name=profile.name,
        hashrate_ths=ths,
        power_kw=kw,
        uptime=profile.uptime,
        energy_usd_per_kwh=energy + profile.hosting_usd_per_kwh,
        pool_fee=profile.pool_fee,
        own_pool=profile.pool_payout == PoolPayout.own,
        curtailable=p.contract == ContractType.curtailable,
        other_cost_usd_per_day=profile.other_cash_cost_usd_per_year / 365.0,
        demand_response_usd_per_day=p.demand_response_usd_per_year / 365.0,
    )


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
    """

    start: StartState
    horizon_months: int
    price: GBMPrice | BootstrapPrice
    hashrate: HashrateModel
    fees: FeeModel
    miner: MinerEconomics | None = None
    capex_usd: float = 0.0
    month_starts: tuple[date, ...] = field(init=False)
    n_days: int = field(init=False)

    def __post_init__(self) -> None:
        if self.horizon_months <= 0:
            raise ScenarioInputError("horizon: must be at least one month")
        if self.capex_usd < 0:
            raise ScenarioInputError("capex_usd: must be >= 0")
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
    def day_month_index(self) -> np.ndarray:
        """Horizon month (0-based) of every simulated day."""
        d0 = self.start.start_date
        edges = np.array([(m - d0).days for m in self.month_starts])
        return np.searchsorted(edges, np.arange(self.n_days), side="right") - 1

    @property
    def day_calendar_month(self) -> np.ndarray:
        """Calendar month 1..12 of every simulated day."""
        d0 = self.start.start_date
        return np.array([(d0 + timedelta(days=int(i))).month for i in range(self.n_days)])


# -- milestones --------------------------------------------------------------------------------


def milestones(next_height: int, max_height: int) -> dict[str, np.ndarray]:
    """Heights where the engine draws: epoch first/last blocks and halving blocks.

    Returns
    -------
    dict
        ``height``, ``delta`` (blocks since the previous milestone, the first measured from
        ``next_height - 1``), ``is_first``, ``is_last``, ``is_halving``, ``subsidy_sats``.
    """
    e0 = next_height // RETARGET_INTERVAL
    e1 = max_height // RETARGET_INTERVAL + 1
    firsts = np.arange(e0, e1 + 1, dtype=np.int64) * RETARGET_INTERVAL
    lasts = firsts + RETARGET_INTERVAL - 1
    halvings = np.arange(next_height // HALVING_INTERVAL, max_height // HALVING_INTERVAL + 2, dtype=np.int64)
    halvings *= HALVING_INTERVAL
    h = np.unique(np.concatenate([firsts, lasts, halvings]))
    h = h[h >= next_height]
    prev = np.concatenate([[next_height - 1], h[:-1]])
    return {
        "height": h,
        "delta": h - prev,
        "is_first": h % RETARGET_INTERVAL == 0,
        "is_last": h % RETARGET_INTERVAL == RETARGET_INTERVAL - 1,
        "is_halving": h % HALVING_INTERVAL == 0,
        "subsidy_sats": block_subsidy_array(h).astype(np.float64),
    }


# -- chunk simulation --------------------------------------------------------------------------


@dataclass
class ChunkResult:
    """Per-scenario outputs of one chunk.

    Attributes
    ----------
    monthly : dict of str -> numpy.ndarray
        :data:`MONTHLY_METRICS`, each (scenarios × months); monthly means for price, hashrate,
        hashprice, fees; month-end difficulty; sums for BTC [BTC] and USD lines [USD].
    retarget_time_s : numpy.ndarray
        (scenarios × retargets) time of each epoch's last block since the start [s]; NaN after
        the horizon. Retarget ``k`` is at height ``first_boundary + 2016·k`` in every scenario.
    retarget_first_time_s : numpy.ndarray
        Same shape: time of the epoch's first block [s] (NaN when it precedes the start).
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


def simulate_chunk(spec: ScenarioSpec, n: int, seed: np.random.SeedSequence) -> ChunkResult:
    """Simulate ``n`` scenarios day by day with the epoch-level block sampler.

    Parameters
    ----------
    spec : ScenarioSpec
    n : int
        Scenarios in this chunk.
    seed : numpy.random.SeedSequence
        This chunk's child seed; the result depends only on ``(spec, n, seed)``.

    Returns
    -------
    ChunkResult

    Notes
    -----
    Day ``d`` has constant online hashrate ``H_d``; ``rem`` holds the hashes still needed for the
    next milestone. When ``rem <= 86,400·H_d`` the milestone block is found at fraction
    ``rem / (86,400·H_d)`` of the day; then ``rem += Gamma(Δ)·work`` for the next one [2]_ [3]_.
    Expected BTC per hash is ``(subsidy + fees) / work``, integrated over the day's segments
    between events, so retargets and halvings that fall mid-day are split exactly.
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    st = spec.start
    n_days = spec.n_days
    n_months = spec.horizon_months
    month_of_day = spec.day_month_index
    cal_month = spec.day_calendar_month
    next_height = st.tip_height + 1
    ms = milestones(next_height, next_height + int(n_days * 144 * 8) + 2 * RETARGET_INTERVAL)
    ms_h, ms_delta = ms["height"], ms["delta"]
    is_first, is_last, is_halv, ms_subsidy = ms["is_first"], ms["is_last"], ms["is_halving"], ms["subsidy_sats"]

    # chain state
    bits = np.full(n, st.bits, dtype=np.int64)
    work = work_float(bits)
    first_ts = np.full(n, st.epoch_first_time_unix if st.epoch_first_time_unix is not None else -1, dtype=np.int64)
    first_known = np.full(n, st.epoch_first_time_unix is not None)
    subsidy = np.full(n, float(block_subsidy_array(np.array([next_height]))[0]))
    idx = np.zeros(n, dtype=np.int64)
    rem = rng.gamma(float(ms_delta[0]), size=n) * work
    # first retarget boundary (height) and storage for retargets
    cap = max(4, n_days // 10 + 4)
    rt_time = np.full((n, cap), np.nan)
    rt_first = np.full((n, cap), np.nan)
    rt_bits = np.zeros((n, cap), dtype=np.int64)
    rt_prev = np.zeros((n, cap), dtype=np.int64)
    rt_count = np.zeros(n, dtype=np.int64)

    # paths
    price_state = spec.price.init(n, rng)
    hr_state = spec.hashrate.init(n, rng)
    fee_state = spec.fees.init(n, rng)
    h0 = st.hashrate_ehs * HS_PER_EHS
    hashprice_prev = np.full(n, st.hashprice_usd_per_ph_day)
    beta = spec.fees.interval_elasticity

    # monthly accumulators
    monthly = {k: np.zeros((n, n_months)) for k in MONTHLY_METRICS}
    acc = {k: np.zeros(n) for k in ("price", "hr", "hp", "fee", "btc", "rev", "cost", "blocks")}
    miner = spec.miner
    if miner is not None:
        m_hs = miner.hashrate_ths * HS_PER_THS * miner.uptime
        m_energy_usd_day = miner.power_kw * 24.0 * miner.uptime * miner.energy_usd_per_kwh
    cum_margin = np.zeros(n)
    breakeven = np.zeros(n, dtype=np.int64)
    days_in_month = 0

    for d in range(n_days):
        price = st.price_usd * spec.price.step(price_state, d, rng)
        rel = spec.hashrate.step(hr_state, d, int(cal_month[d]), hashprice_prev, rng)
        hr = h0 * rel
        hashes = hr * SECONDS_PER_DAY
        fee_level = spec.fees.step(fee_state, d + 1, rng)
        inv_600h = 1.0 / (600.0 * hr)

        def rate_of(sel, _fee_level=fee_level, _inv=inv_600h):
            """Expected BTC per hash for scenarios ``sel`` at their current work and subsidy."""
            w = work[sel]
            fee = _fee_level[sel] * (w * _inv[sel] if beta == 1.0 else (w * _inv[sel]) ** beta)
            return (subsidy[sel] + fee) / w / SATS_PER_BTC, fee

        rate, fee_now = rate_of(slice(None))
        rph = np.zeros(n)
        seg = np.zeros(n)
        fee_acc = np.zeros(n)
        hit = np.flatnonzero(rem <= hashes)
        while hit.size:
            f = rem[hit] / hashes[hit]
            dt = (f - seg[hit]) * SECONDS_PER_DAY
            rph[hit] += dt * rate[hit]
            fee_acc[hit] += dt * fee_now[hit]
            seg[hit] = f
            ts = st.time_unix + np.floor((d + f) * SECONDS_PER_DAY).astype(np.int64)
            i = idx[hit]
            fm = is_first[i]
            if fm.any():
                first_ts[hit[fm]] = ts[fm]
                first_known[hit[fm]] = True
            hm = is_halv[i]
            if hm.any():
                subsidy[hit[hm]] = ms_subsidy[i[hm]]
            lm = is_last[i]
            if lm.any():
                s = hit[lm]
                new_bits = retarget_bits(bits[s], first_ts[s], ts[lm])
                k = rt_count[s]
                if k.max() >= cap:
                    extra = cap
                    rt_time = np.pad(rt_time, ((0, 0), (0, extra)), constant_values=np.nan)
                    rt_first = np.pad(rt_first, ((0, 0), (0, extra)), constant_values=np.nan)
                    rt_bits = np.pad(rt_bits, ((0, 0), (0, extra)))
                    rt_prev = np.pad(rt_prev, ((0, 0), (0, extra)))
                    cap += extra
                rt_time[s, k] = (d + f[lm]) * SECONDS_PER_DAY
                rt_first[s, k] = np.where(
                    first_ts[s] >= st.time_unix, (first_ts[s] - st.time_unix).astype(np.float64), np.nan
                )
                rt_bits[s, k] = new_bits
                rt_prev[s, k] = bits[s]
                rt_count[s] += 1
                bits[s] = new_bits
                work[s] = work_float(new_bits)
            idx[hit] += 1
            if idx[hit].max() >= ms_h.size:
                raise ScenarioInputError("simulation ran past its milestone table (hashrate path explodes?)")
            rem[hit] += rng.gamma(ms_delta[idx[hit]].astype(np.float64)) * work[hit]
            r_new, fee_new = rate_of(hit)
            rate[hit] = r_new
            fee_now[hit] = fee_new
            sub = rem[hit] <= hashes[hit]
            hit = hit[sub]
        dt = (1.0 - seg) * SECONDS_PER_DAY
        rph += dt * rate
        fee_acc += dt * fee_now
        rem -= hashes

        hashprice = rph * HS_PER_PHS * price
        hashprice_prev = hashprice
        acc["price"] += price
        acc["hr"] += hr
        acc["hp"] += hashprice
        acc["fee"] += fee_acc / SECONDS_PER_DAY
        if miner is not None:
            btc = m_hs * rph * (1.0 - miner.pool_fee)
            rev = btc * price
            energy = m_energy_usd_day
            if miner.curtailable:
                off = rev < energy
                btc = np.where(off, 0.0, btc)
                rev = np.where(off, 0.0, rev)
                energy = np.where(off, 0.0, energy)
            acc["btc"] += btc
            acc["rev"] += rev + miner.demand_response_usd_per_day
            acc["cost"] += energy + miner.other_cost_usd_per_day
            if miner.own_pool:
                acc["blocks"] += m_hs * SECONDS_PER_DAY / work * (rev > 0)
        days_in_month += 1

        m = int(month_of_day[d])
        if d == n_days - 1 or month_of_day[d + 1] != m:
            monthly["price_usd"][:, m] = acc["price"] / days_in_month
            monthly["hashrate_ehs"][:, m] = acc["hr"] / days_in_month / HS_PER_EHS
            monthly["hashprice_usd_per_ph_day"][:, m] = acc["hp"] / days_in_month
            monthly["fees_sats_per_block"][:, m] = acc["fee"] / days_in_month
            monthly["difficulty"][:, m] = difficulty_float(bits)
            if miner is not None:
                btc_m, rev_m = acc["btc"], acc["rev"]
                if miner.own_pool:
                    lam = acc["blocks"]
                    luck = np.where(lam > 0, rng.poisson(lam) / np.where(lam > 0, lam, 1.0), 1.0)
                    dr = miner.demand_response_usd_per_day * days_in_month
                    btc_m = btc_m * luck
                    rev_m = (rev_m - dr) * luck + dr
                monthly["btc_mined"][:, m] = btc_m
                monthly["revenue_usd"][:, m] = rev_m
                monthly["cost_usd"][:, m] = acc["cost"]
                margin = rev_m - acc["cost"]
                monthly["margin_usd"][:, m] = margin
                cum_margin += margin
                newly = (breakeven == 0) & (cum_margin >= spec.capex_usd)
                breakeven[newly] = m + 1
            for v in acc.values():
                v[:] = 0.0
            days_in_month = 0
    if miner is None:
        for k in ("btc_mined", "revenue_usd", "cost_usd", "margin_usd"):
            monthly[k][:] = np.nan
    used = int(rt_count.max()) if n else 0
    return ChunkResult(
        monthly=monthly,
        retarget_time_s=rt_time[:, :used],
        retarget_first_time_s=rt_first[:, :used],
        retarget_bits=rt_bits[:, :used],
        prev_bits=rt_prev[:, :used],
        breakeven_month=breakeven,
    )


def first_retarget_height(tip_height: int) -> int:
    """Height of the first retarget after the tip (the first block of the next epoch)."""
    return (tip_height + 1) // RETARGET_INTERVAL * RETARGET_INTERVAL + RETARGET_INTERVAL

