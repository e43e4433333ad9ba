"""Expected vs reported monthly production of listed miners.

Expected BTC for a month integrates the revenue per hash fixed by consensus over the month:

.. math::

    E[\\text{BTC}] = \\int_{t_0}^{t_1} \\frac{H(t)}{\\mathrm{work}(T(t))}
                     \\bigl(\\text{subsidy}(t) + \\text{fees}(t)\\bigr)\\,dt

with the target ``T`` of the epoch in force at each instant (epoch start times from the store), the
subsidy of the era in force (the April 2024 halving falls on 2024-04-20 00:09:27 UTC, mid-month)
and the realised mean fees per block of each UTC day (exact from synced ``blocks.fees_sats`` where
they cover the whole day, else Coin Metrics; the daily series of :mod:`hashdesk.economics.hashprice`).
``H`` is the reported
hashrate, held constant over the month (see :func:`effective_hashrate` for the kinds).

Realization is ``reported / expected``. Its interval under the hypothesis "the miner produced at
its expected rate" combines block-finding luck (Poisson on the expected blocks when the miner
mines on its own pool; none when an FPPS pool absorbs it) with the uncertainty of the hashrate
kind. A month *beats* when realization lies above the interval, *misses* below it, and is *in
line* inside it. The pool fee of each company is stated (:data:`DEFAULT_POOL_MODELS`, with its
source); where it is not public the interval allows the range of public FPPS fees
(:data:`UNSTATED_POOL_FEE_RANGE`), so a verdict does not hinge on an unstated fee. A verdict is
about luck and pool terms only when the hashrate is an operating one
(:data:`OPERATING_KINDS`); against deployed or energized capacity it measures uptime and
curtailment as well, and the record says so (``verdict_measures``).

References
----------
.. [1] DESIGN.md §3: ``H·dt / work(T) × (subsidy + fees)``.
.. [2] Bitcoin Core ``GetBlockProof``, ``GetBlockSubsidy``.
.. [3] Rosenfeld, M. (2011). "Analysis of Bitcoin Pooled Mining Reward Systems",
   arXiv:1112.4980 (PPS/FPPS: the pool bears the variance).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import pandas as pd

from hashdesk.chain.consensus import SATS_PER_BTC, block_subsidy
from hashdesk.economics.core import HS_PER_EHS, SECONDS_PER_DAY, expected_blocks, expected_btc

#: Default confidence level of the realization interval.
DEFAULT_LEVEL: float = 0.95
#: Relative tolerance for an ``average_operating`` hashrate besides rounding: companies define
#: the monthly average differently (JV shares, curtailed hours) [fraction].
AVERAGE_KIND_TOLERANCE: float = 0.02
#: Relative band for a month-end (or ``unknown``) hashrate when no prior month-end value of the
#: same kind exists, so the month's path is unknown [fraction].
SINGLE_POINT_TOLERANCE: float = 0.10
#: Allowance for a month-end pair: the path between two snapshots need not be linear or
#: monotone, and a snapshot may be taken on a good or a bad day [fraction].
MONTH_END_PAIR_TOLERANCE: float = 0.05

#: Preference among hashrate kinds when a month reports several: a monthly average first, then
#: month-end operating capacity, then deployed/energized capacity, nameplate, unknown.
KIND_PREFERENCE: tuple[str, ...] = (
    "average_operating",
    "operational",
    "deployed",
    "energized",
    "installed",
    "unknown",
)
#: Kinds that are a point value at (or just after) month end, not a monthly average.
MONTH_END_KINDS: frozenset[str] = frozenset({"operational", "deployed", "energized", "installed"})


class ProductionError(ValueError):
    """Bad input or missing data for the production comparison (message names the field)."""


class Payout(StrEnum):
    """Who bears block-finding luck."""

    fpps = "fpps"  # the pool pays expected value per share: no luck for the miner
    own = "own"  # own/solo pool: the miner's BTC is Poisson in found blocks


class Verdict(StrEnum):
    """Realization against its interval."""

    beat = "beat"
    in_line = "in line"
    miss = "miss"
    no_btc = "n/a: no BTC reported"
    no_hashrate = "n/a: no hashrate reported"


@dataclass(frozen=True)
class PoolModel:
    """Pool payout model of a miner.

    Attributes
    ----------
    payout : Payout
        ``fpps`` (luck absorbed by the pool) or ``own`` (the miner bears it).
    pool_fee : float
        Pool fee share of the reward [0–1]: the stated (or default) value shown in the output.
    basis : str
        Why this payout model applies: a public statement, or "assumption".
    pool_fee_lo, pool_fee_hi : float or None
        The range of fees the interval allows for [0–1]; None = ``pool_fee`` (a known fee). An
        unstated fee carries the range of public FPPS fees, so the verdict holds for any fee in it.
    fee_basis : str
        Where the fee comes from ("" = the same as ``basis``).
    """

    payout: Payout = Payout.fpps
    pool_fee: float = 0.0
    basis: str = "assumption: default FPPS (pool absorbs luck); no public statement used"
    pool_fee_lo: float | None = None
    pool_fee_hi: float | None = None
    fee_basis: str = ""

    def __post_init__(self) -> None:
        for name in ("pool_fee", "pool_fee_lo", "pool_fee_hi"):
            v = getattr(self, name)
            if v is not None and not 0 <= v < 1:
                raise ProductionError(f"{name} must be in [0, 1), got {v}")
        if not self.fee_range[0] <= self.pool_fee <= self.fee_range[1]:
            raise ProductionError(f"pool_fee {self.pool_fee} outside its range {self.fee_range}")

    @property
    def fee_range(self) -> tuple[float, float]:
        """``(lowest, highest)`` fee the interval allows for [0–1]."""
        lo = self.pool_fee if self.pool_fee_lo is None else self.pool_fee_lo
        hi = self.pool_fee if self.pool_fee_hi is None else self.pool_fee_hi
        return lo, hi

    @property
    def fee_words(self) -> str:
        """The fee as shown: ``2 % (default; interval allows 0–4 %)`` or ``0.5 %``."""
        lo, hi = self.fee_range
        if lo == hi:
            return f"{100 * self.pool_fee:g} %"
        return f"{100 * self.pool_fee:g} % (not public; interval allows {100 * lo:g}–{100 * hi:g} %)"


#: Public FPPS pool fees, for the default fee band of a miner whose fee is not public: Luxor
#: ~0.7 %, Braiins 2 %, AntPool 2.5 %, F2Pool / ViaBTC / Binance Pool 4 %; Foundry USA (where
#: most listed US miners mine) tiered and undisclosed. Source: spark.money, "Bitcoin Mining Pool
#: Comparison" (snapshot of early 2026; fees change),
#: https://www.spark.money/tools/bitcoin-mining-pool-comparison
PUBLIC_FPPS_FEES_SOURCE: str = (
    "public FPPS fees 0.7–4 % (Luxor ~0.7 %, Braiins 2 %, AntPool 2.5 %, F2Pool/ViaBTC/Binance 4 %; "
    "Foundry USA tiered, undisclosed): https://www.spark.money/tools/bitcoin-mining-pool-comparison "
    "(early-2026 snapshot)"
)
#: Default fee of a miner whose fee is not public, and the range the interval allows [0–1]:
#: the midpoint of 0 (own pool or a negotiated zero) and the highest public FPPS fee (4 %).
UNSTATED_POOL_FEE: float = 0.02
UNSTATED_POOL_FEE_RANGE: tuple[float, float] = (0.0, 0.04)


def unstated_fee_model(basis: str) -> PoolModel:
    """FPPS with the fee not public: :data:`UNSTATED_POOL_FEE` shown, the interval allowing
    :data:`UNSTATED_POOL_FEE_RANGE` (stated in ``fee_basis``)."""
    lo, hi = UNSTATED_POOL_FEE_RANGE
    return PoolModel(Payout.fpps, UNSTATED_POOL_FEE, basis, lo, hi,
                     f"fee not public: default {100 * UNSTATED_POOL_FEE:g} %, interval allows "
                     f"{100 * lo:g}–{100 * hi:g} % ({PUBLIC_FPPS_FEES_SOURCE})")


#: Per-ticker pool models, each with its basis. Payout and fee are sourced where public; no
#: listed miner in the bundle publishes its pool fee, so every FPPS miner carries the default fee
#: band. The company facts dataset (``facts/companies.csv``, column ``pool_fee``) can replace
#: these through :func:`pool_models_from_facts`.
DEFAULT_POOL_MODELS: Mapping[str, PoolModel] = {
    "MARA": PoolModel(
        Payout.own,
        0.0,
        "MARA mines on its own pool (MARA Pool); its 2024 monthly updates count 'blocks won' "
        "(bundle notes 2024-07: 201, 2024-09: 207). Applied to every month: for 2023, while "
        "the move to its own pool was under way, this is an assumption.",
        fee_basis="own pool: no pool fee is paid (the pool's running cost is not a fee on BTC)",
    ),
    "CLSK": unstated_fee_model(
        "CleanSpark moved its whole hashrate to Foundry USA Pool (FPPS) in 2021: "
        "http://crypto500.news/nasdaq-listed-cleanspark-moves-full-mining-power-to-foundry-pool ; "
        "assumed unchanged"),
    **{t: unstated_fee_model(f"assumption: FPPS (pool absorbs luck); no public statement of {t}'s "
                             "pool or payout found")
       for t in ("RIOT", "BITF", "HUT", "IREN", "WULF", "CIFR", "BTDR")},
}


def default_pool_model(ticker: str) -> PoolModel:
    """The pool model of a ticker: :data:`DEFAULT_POOL_MODELS`, else FPPS with the unstated fee."""
    return DEFAULT_POOL_MODELS.get(ticker) or unstated_fee_model(
        f"assumption: FPPS (pool absorbs luck); no public statement of {ticker}'s pool found")


def pool_models_from_facts(facts: pd.DataFrame,
                           base: Mapping[str, PoolModel] | None = None) -> dict[str, PoolModel]:
    """Pool models with the fees of a company facts table (the hook for ``facts/companies.csv``).

    Parameters
    ----------
    facts : pandas.DataFrame
        ``ticker`` and ``pool_fee`` [0–1] (NaN: not known), optional ``pool_payout``
        (``fpps``/``own``) and ``pool_fee_source`` (or ``source``).
    base : mapping, optional
        Models to start from (default :data:`DEFAULT_POOL_MODELS`).

    Returns
    -------
    dict
        Ticker → :class:`PoolModel`; a ticker with a stated fee gets that fee with no band and
        its source as ``fee_basis``.

    Raises
    ------
    ProductionError
        For a fee outside [0, 1) or an unknown payout, naming the ticker.

    Examples
    --------
    >>> m = pool_models_from_facts(pd.DataFrame({"ticker": ["RIOT"], "pool_fee": [0.015],
    ...                                          "pool_fee_source": ["10-K 2024"]}))
    >>> m["RIOT"].fee_range, m["RIOT"].fee_basis, m["CLSK"].fee_range
    ((0.015, 0.015), '10-K 2024', (0.0, 0.04))
    """
    out = dict(DEFAULT_POOL_MODELS if base is None else base)
    if "ticker" not in facts.columns or "pool_fee" not in facts.columns:
        raise ProductionError("company facts: need columns ticker and pool_fee")
    src_col = "pool_fee_source" if "pool_fee_source" in facts.columns else (
        "source" if "source" in facts.columns else None)
    for _, r in facts.iterrows():
        fee = pd.to_numeric(pd.Series([r["pool_fee"]]), errors="coerce").iloc[0]
        if pd.isna(fee):
            continue
        ticker = str(r["ticker"]).strip().upper()
        prev = out.get(ticker) or default_pool_model(ticker)
        payout = prev.payout
        if "pool_payout" in facts.columns and isinstance(r["pool_payout"], str) and r["pool_payout"].strip():
            try:
                payout = Payout(r["pool_payout"].strip().lower())
            except ValueError as exc:
                raise ProductionError(f"company facts, {ticker}: pool_payout {r['pool_payout']!r} "
                                      "is not fpps or own") from exc
        if not 0 <= float(fee) < 1:
            raise ProductionError(f"company facts, {ticker}: pool_fee must be in [0, 1), got {fee}")
        source = str(r[src_col]) if src_col and isinstance(r[src_col], str) else "company facts"
        out[ticker] = PoolModel(payout, float(fee), prev.basis, fee_basis=source)
    return out


#: What a verdict measures, by the hashrate kind it is computed against.
VERDICT_MEASURES: Mapping[str, str] = {
    "average_operating": "luck and pool terms (against the operating hashrate)",
    "operational": "luck and pool terms (against a month-end operating hashrate)",
    "deployed": "uptime and curtailment as well as luck: against deployed capacity, not operating hashrate",
    "energized": "uptime and curtailment as well as luck: against energized capacity, not operating hashrate",
    "installed": "uptime and curtailment as well as luck: against installed capacity, not operating hashrate",
    "unknown": "unclear: the hashrate kind is not stated, so uptime may be included",
}
#: Kinds that measure operating hashrate (a verdict against them is about luck and pool terms).
OPERATING_KINDS: frozenset[str] = frozenset({"average_operating", "operational"})


@dataclass(frozen=True, eq=False)
class NetworkSchedule:
    """Piecewise-constant consensus state and daily fees over a span of time.

    Attributes
    ----------
    regime_start_unix : numpy.ndarray of int64
        Start of each regime (an epoch start or a halving) [unix s], sorted.
    regime_bits : numpy.ndarray of int64
        Compact target in force from each regime start.
    regime_subsidy_sats : numpy.ndarray of int64
        Block subsidy in force from each regime start [sats].
    fee_day : numpy.ndarray of datetime64[D]
        UTC days with fee data, sorted, consecutive or not.
    fee_sats_per_block : numpy.ndarray of float64
        Realised mean fees per block on each day [sats].
    notes : tuple of str
        Approximations made while building it (e.g. an interpolated halving time).
    """

    regime_start_unix: np.ndarray
    regime_bits: np.ndarray
    regime_subsidy_sats: np.ndarray
    fee_day: np.ndarray
    fee_sats_per_block: np.ndarray
    notes: tuple[str, ...] = field(default=())

    def regime_at(self, t_unix: int) -> int:
        """Index of the regime in force at ``t_unix`` (raises before the first one)."""
        i = int(np.searchsorted(self.regime_start_unix, t_unix, side="right")) - 1
        if i < 0:
            raise ProductionError(
                f"no epoch start time known before {pd.Timestamp(t_unix, unit='s')} UTC"
            )
        if self.regime_bits[i] == 0:
            raise ProductionError(
                f"target in force at {pd.Timestamp(t_unix, unit='s')} UTC is unknown: the store "
                "lacks the start time of the epoch after the last one known before it"
            )
        return i

    def fees_at(self, day: np.datetime64) -> float:
        """Mean fees per block on a UTC day [sats]; raises when the day has no fee data."""
        i = int(np.searchsorted(self.fee_day, day))
        if i >= len(self.fee_day) or self.fee_day[i] != day:
            raise ProductionError(f"network_daily has no fee data for {day} (fees per block)")
        return float(self.fee_sats_per_block[i])


@dataclass(frozen=True)
class ExpectedProduction:
    """Expected output of a constant hashrate over ``[start, end)``.

    Attributes
    ----------
    btc : float
        Expected reward [BTC] (subsidy + fees).
    blocks : float
        Expected blocks [blocks].
    subsidy_btc : float
        Subsidy part [BTC].
    fees_btc : float
        Fee part [BTC].
    bits : tuple of int
        Compact targets in force over the span, in time order.
    """

    btc: float
    blocks: float
    subsidy_btc: float
    fees_btc: float
    bits: tuple[int, ...]


# ---------------------------------------------------------------------------------------------
# pure domain functions


def build_schedule(
    epochs: pd.DataFrame,
    fees: pd.DataFrame,
    halving_times: Mapping[int, int] | None = None,
) -> NetworkSchedule:
    """Assemble a :class:`NetworkSchedule` from epoch starts, halving times and daily fees.

    Parameters
    ----------
    epochs : pandas.DataFrame
        Columns ``first_height``, ``bits``, ``start_unix`` (header time of the epoch's first
        block [unix s], NaN when unknown). An epoch whose successor exists without a start
        time has an unknown end: asking for a time after its start raises.
    fees : pandas.DataFrame
        Columns ``date`` (UTC day), ``blk_cnt`` [blocks], ``fee_tot_btc`` [BTC]; optional
        ``fees_source`` (``'blocks'`` | ``'coinmetrics'``), summarised in ``notes``.
    halving_times : mapping of int to int, optional
        Halving height → header time of that block [unix s]. A halving inside the epochs'
        span without a time is placed by linear interpolation of height between the epoch
        starts around it (stated in ``notes``).

    Returns
    -------
    NetworkSchedule
    """
    ep = epochs.dropna(subset=["start_unix"]).sort_values("first_height")
    if ep.empty:
        raise ProductionError("epochs: no epoch with a known start time")
    all_first = set(epochs.first_height.astype(int))
    first_h = ep.first_height.to_numpy(dtype=np.int64)
    start_t = ep.start_unix.to_numpy(dtype=np.int64)
    bits = ep.bits.to_numpy(dtype=np.int64)
    starts, regime_bits, subsidies = [], [], []
    notes = []
    halving_times = dict(halving_times or {})
    for i in range(len(ep)):
        starts.append(int(start_t[i]))
        subsidies.append(block_subsidy(int(first_h[i])))
        gap = (i + 1 < len(ep) and first_h[i + 1] != first_h[i] + 2016) or (
            i + 1 == len(ep) and int(first_h[i]) + 2016 in all_first
        )
        # the next epoch exists but its start time is unknown: so is this epoch's end (bits 0)
        regime_bits.append(0 if gap else int(bits[i]))
        if gap:
            continue
        last_h = first_h[i] + 2015
        for hh in range(int(first_h[i]) + 1, int(last_h) + 1):
            if hh % 210_000:
                continue
            t = halving_times.get(hh)
            if t is None:
                if i + 1 >= len(ep):
                    # no block time and no later epoch start known: the halving lies after the
                    # data this schedule is built from, so no span it answers reaches it
                    notes.append(f"halving {hh} not reached by the data the schedule is built from")
                    continue
                frac = (hh - first_h[i]) / 2016
                t = int(round(start_t[i] + frac * (start_t[i + 1] - start_t[i])))
                notes.append(f"halving {hh} time interpolated from epoch starts (no block time)")
            starts.append(int(t))
            regime_bits.append(int(bits[i]))
            subsidies.append(block_subsidy(hh))
    f = fees.sort_values("date")
    blk = f.blk_cnt.to_numpy(dtype=np.float64)
    if (blk <= 0).any():
        bad = f.date[blk <= 0].iloc[0]
        raise ProductionError(f"network_daily: blk_cnt is 0 on {bad}: no fees per block")
    if "fees_source" in f.columns and (f.fees_source == "blocks").any():
        exact = f.date[f.fees_source == "blocks"]
        notes.append(
            f"fees per block exact from blocks on {len(exact)} of {len(f)} days "
            f"({pd.Timestamp(exact.min()).date()} .. {pd.Timestamp(exact.max()).date()}), Coin Metrics otherwise"
        )
    return NetworkSchedule(
        regime_start_unix=np.asarray(starts, dtype=np.int64),
        regime_bits=np.asarray(regime_bits, dtype=np.int64),
        regime_subsidy_sats=np.asarray(subsidies, dtype=np.int64),
        fee_day=pd.to_datetime(f.date).to_numpy().astype("datetime64[D]"),
        fee_sats_per_block=f.fee_tot_btc.to_numpy(dtype=np.float64) * SATS_PER_BTC / blk,
        notes=tuple(notes),
    )


def expected_production(
    hashrate_ehs: float, start_unix: int, end_unix: int, network: NetworkSchedule
) -> ExpectedProduction:
    """Expected blocks and BTC of a constant hashrate over ``[start_unix, end_unix)``.

    The span is cut at every UTC midnight, epoch start and halving; each piece contributes
    ``H·dt / work(T) × (subsidy + fees per block of that day)``.

    Parameters
    ----------
    hashrate_ehs : float
        Hashrate [EH/s], >= 0.
    start_unix, end_unix : int
        Span [unix s], ``end > start``.
    network : NetworkSchedule
        Targets, subsidies and daily fees covering the span.

    Returns
    -------
    ExpectedProduction

    References
    ----------
    .. [1] DESIGN.md §3; :func:`hashdesk.economics.core.expected_btc`.

    Examples
    --------
    100 EH/s for one day inside epoch 409 (bits 0x1703d869, work 3.1439e23 hashes, 6.25 BTC
    subsidy) with fees of 0.5 BTC per block: ``100e18 · 86400 / work = 27.482`` blocks,
    ``× 6.75 BTC = 185.50`` BTC.

    >>> net = build_schedule(
    ...     pd.DataFrame({"first_height": [824544], "bits": [0x1703d869], "start_unix": [0]}),
    ...     pd.DataFrame({"date": [pd.Timestamp("1970-01-01")], "blk_cnt": [144],
    ...                   "fee_tot_btc": [72.0]}))
    >>> e = expected_production(100.0, 0, 86_400, net)
    >>> round(e.blocks, 3), round(e.btc, 2), round(e.fees_btc, 2)
    (27.482, 185.5, 13.74)
    """
    if not np.isfinite(hashrate_ehs) or hashrate_ehs < 0:
        raise ProductionError(f"hashrate_ehs must be a finite number >= 0, got {hashrate_ehs}")
    if end_unix <= start_unix:
        raise ProductionError(f"empty span: end {end_unix} <= start {start_unix}")
    hs = float(hashrate_ehs) * HS_PER_EHS
    day0 = (start_unix // SECONDS_PER_DAY + 1) * SECONDS_PER_DAY
    cuts = set(range(int(day0), int(end_unix), SECONDS_PER_DAY))
    rs = network.regime_start_unix
    cuts.update(int(t) for t in rs[(rs > start_unix) & (rs < end_unix)])
    edges = [int(start_unix), *sorted(cuts), int(end_unix)]
    btc = blocks = sub_btc = 0.0
    seen_bits: list[int] = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        i = network.regime_at(a)
        bits = int(network.regime_bits[i])
        subsidy = int(network.regime_subsidy_sats[i])
        fee = network.fees_at(np.datetime64(a // SECONDS_PER_DAY, "D"))
        n = expected_blocks(hs, b - a, bits)
        blocks += n
        btc += expected_btc(hs, b - a, bits, subsidy, fee)
        sub_btc += n * subsidy / SATS_PER_BTC
        if not seen_bits or seen_bits[-1] != bits:
            seen_bits.append(bits)
    return ExpectedProduction(btc, blocks, sub_btc, btc - sub_btc, tuple(seen_bits))


def poisson_quantile(q: float, mean: float) -> int:
    """Quantile of a Poisson distribution: the smallest k with P(N ≤ k) ≥ q [blocks].

    Exact definition of the discrete quantile (as ``scipy.stats.poisson.ppf``, which it matches
    on a grid of means up to 10^4 and the usual tails; tested) from the cumulative sum of
    ``exp(k·log λ − λ − log Γ(k + 1))`` for k = 0 … λ + 12√λ + 30. Pure numpy, so the
    production report does not import ``scipy.stats`` (≈ 1.3 s of start-up).

    Parameters
    ----------
    q : float
        Probability in (0, 1).
    mean : float
        λ > 0 [blocks].

    Returns
    -------
    int
        k [blocks].
    """
    if not 0 < q < 1:
        raise ProductionError(f"poisson quantile: q must be in (0, 1), got {q}")
    if not mean > 0:
        raise ProductionError(f"poisson quantile: mean must be > 0, got {mean}")
    top = int(mean + 12.0 * math.sqrt(mean) + 30)
    k = np.arange(top + 1, dtype=np.float64)
    log_fact = np.array([math.lgamma(i + 1.0) for i in range(top + 1)])
    cdf = np.cumsum(np.exp(k * math.log(mean) - mean - log_fact))
    return int(np.searchsorted(cdf, q, side="left"))


def realization_interval(
    expected_blocks_n: float,
    pool: PoolModel,
    kind_band: float,
    level: float = DEFAULT_LEVEL,
) -> tuple[float, float]:
    """Interval of ``reported / expected`` for a miner producing at its expected rate.

    Parameters
    ----------
    expected_blocks_n : float
        Expected blocks λ over the period [blocks].
    pool : PoolModel
        ``own``: reported BTC ∝ N ~ Poisson(λ), so the luck interval is the central ``level``
        Poisson quantiles over λ; ``fpps``: the pool pays the expectation, the luck interval
        is the point 1. The low bound is scaled by ``1 − highest fee`` and the high bound by
        ``1 − lowest fee`` of :attr:`PoolModel.fee_range` (both by ``1 − pool_fee`` for a known fee).
    kind_band : float
        Relative uncertainty ``u`` of the hashrate kind [fraction]: the true hashrate lies in
        ``H·(1 ± u)``, widening the interval to ``[lo·(1−u), hi·(1+u)]``.
    level : float
        Central probability of the luck interval.

    Returns
    -------
    (float, float)
        Lower and upper realization bound [dimensionless].

    References
    ----------
    .. [1] Rosenfeld (2011), arXiv:1112.4980, §3 (pool variance), §4 (PPS).

    Examples
    --------
    λ = 100 blocks on an own pool, no kind band: Poisson(100) 2.5%/97.5% quantiles are 81 and
    120, so the interval is (0.81, 1.20).

    >>> realization_interval(100.0, PoolModel(Payout.own), 0.0)
    (0.81, 1.2)
    """
    if not 0 < level < 1:
        raise ProductionError(f"level must be in (0, 1), got {level}")
    if expected_blocks_n <= 0:
        raise ProductionError(f"expected blocks must be > 0, got {expected_blocks_n}")
    if not 0 <= kind_band < 1:
        raise ProductionError(f"kind_band must be in [0, 1), got {kind_band}")
    if pool.payout == Payout.own:
        tail = (1 - level) / 2
        lo = poisson_quantile(tail, expected_blocks_n) / expected_blocks_n
        hi = poisson_quantile(1 - tail, expected_blocks_n) / expected_blocks_n
    else:
        lo = hi = 1.0
    fee_lo, fee_hi = pool.fee_range
    return lo * (1.0 - fee_hi) * (1 - kind_band), hi * (1.0 - fee_lo) * (1 + kind_band)


def classify(realization: float, interval: tuple[float, float]) -> Verdict:
    """``beat`` above the interval, ``miss`` below it, ``in line`` inside (bounds inclusive)."""
    lo, hi = interval
    if realization > hi:
        return Verdict.beat
    if realization < lo:
        return Verdict.miss
    return Verdict.in_line


def month_bounds(month: str) -> tuple[int, int]:
    """Start and end of a calendar month ``YYYY-MM`` [unix s, UTC]."""
    if not isinstance(month, str) or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise ProductionError(f"month must be YYYY-MM, got {month!r}")
    p = pd.Period(month, freq="M")
    start = int(p.start_time.tz_localize("UTC").timestamp())
    end = int((p + 1).start_time.tz_localize("UTC").timestamp())
    return start, end


def _best(rows: list[tuple], col: int) -> tuple[float | None, bool]:
    """Value at ``col`` of the best-ranked row with one (rank, then source_url) and a conflict flag.

    ``rows`` are ``(source_rank, source_url, is_conflict, …)`` tuples in store order; the sort
    is stable, so equal (rank, url) keep that order.
    """
    have = sorted((r for r in rows if not math.isnan(r[col])), key=lambda r: (r[0], r[1]))
    if not have:
        return None, False
    top_rank = have[0][0]
    conflict = any(r[2] for r in have) or len({r[col] for r in have if r[0] == top_rank}) > 1
    return float(have[0][col]), conflict


def dedupe_production(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (ticker, month, hashrate_kind) from the store's many-source rows.

    BTC mined, demand-response credits and each kind's hashrate are taken from the best
    ``source_rank`` (1 company-primary, 2 later-release column, 3 secondary; ties broken by
    source URL). ``conflict`` is set when a row says CONFLICT or best-rank sources disagree.

    Parameters
    ----------
    rows : pandas.DataFrame
        ``miner_production`` rows (columns ticker, month, btc_mined, hashrate_ehs,
        hashrate_kind, demand_response_usd, source_url, source_rank, is_conflict).

    Returns
    -------
    pandas.DataFrame
        Columns ticker, month, btc_reported, demand_response_usd, hashrate_kind, hashrate_ehs,
        btc_conflict, hashrate_conflict; kind ``""`` with NaN hashrate when a month reports
        BTC but no hashrate.
    """
    if (rows.hashrate_ehs.dropna() < 0).any():
        bad = rows[rows.hashrate_ehs < 0].iloc[0]
        raise ProductionError(
            f"miner_production: negative hashrate_ehs {bad.hashrate_ehs} for {bad.ticker} {bad.month}"
        )
    if (rows.btc_mined.dropna() < 0).any():
        bad = rows[rows.btc_mined < 0].iloc[0]
        raise ProductionError(
            f"miner_production: negative btc_mined {bad.btc_mined} for {bad.ticker} {bad.month}"
        )
    # plain tuples per (ticker, month), in store order: (rank, url, conflict, btc, dr, kind, hashrate)
    btc_col, dr_col, kind_col, hr_col = 3, 4, 5, 6
    groups: dict[tuple[str, str], list[tuple]] = {}
    for rec in zip(
        rows.ticker, rows.month, rows.source_rank, rows.source_url, rows.is_conflict.astype(bool),
        rows.btc_mined.to_numpy(dtype=float), rows.demand_response_usd.to_numpy(dtype=float),
        rows.hashrate_kind, rows.hashrate_ehs.to_numpy(dtype=float), strict=True,
    ):
        groups.setdefault((rec[0], rec[1]), []).append(rec[2:])
    out = []
    for (ticker, month), g in sorted(groups.items(), key=lambda kv: kv[0]):
        btc, btc_conflict = _best(g, btc_col)
        dr, _ = _best(g, dr_col)
        kinds = [k for k in KIND_PREFERENCE if any(r[kind_col] == k and not math.isnan(r[hr_col]) for r in g)]
        base = {"ticker": ticker, "month": month, "btc_reported": btc,
                "demand_response_usd": dr, "btc_conflict": btc_conflict}
        if not kinds:
            out.append({**base, "hashrate_kind": "", "hashrate_ehs": np.nan,
                        "hashrate_conflict": False})
        for k in kinds:
            h, hc = _best([r for r in g if r[kind_col] == k], hr_col)
            out.append({**base, "hashrate_kind": k, "hashrate_ehs": h, "hashrate_conflict": hc})
    return pd.DataFrame(out)


def rounding_ehs(value_ehs: float) -> float:
    """Half a unit of the last decimal a reported hashrate carries [EH/s].

    Examples
    --------
    >>> rounding_ehs(19.3), rounding_ehs(35.52), rounding_ehs(5.576), rounding_ehs(12.0)
    (0.05, 0.005, 0.0005, 0.5)
    """
    for decimals in range(7):
        if abs(round(value_ehs, decimals) - value_ehs) <= 1e-9 * max(1.0, abs(value_ehs)):
            return 0.5 * 10.0**-decimals
    return 0.5e-6


def effective_hashrate(
    kind: str, current_ehs: float, prior_month_end_ehs: float | None
) -> tuple[float, float, str]:
    """Hashrate to hold over the month, its relative band, and the stated assumption.

    Parameters
    ----------
    kind : str
        Reported hashrate kind.
    current_ehs : float
        Reported value for the month [EH/s].
    prior_month_end_ehs : float or None
        Same kind, previous month [EH/s], used for month-end kinds.

    Returns
    -------
    hashrate_ehs : float
        ``average_operating``: the value itself. Month-end kinds (energized, deployed,
        operational, installed): the mean of the prior and current month-end values when both
        exist (a linear path), else the current value held flat.
    band : float
        Relative half-width ``u`` [fraction], always plus rounding (half the last reported
        decimal over H, :func:`rounding_ehs`; 0.05 EH/s for a value like 19.3): 2% for
        averages; ``|Δ|/(2H) + 5%`` for an interpolated month-end pair (half the change between
        the snapshots, plus an allowance for a non-linear path); 10% for a single point or
        ``unknown``. Capacity kinds (energized, deployed, installed) also overstate the
        *operating* hashrate: a miss against them measures uptime and curtailment as well.
    basis : str
        The assumption in words.

    Examples
    --------
    >>> h, band, _ = effective_hashrate("deployed", 12.4, 12.0)
    >>> h, round(band, 4)  # (12.4 + 12.0) / 2; 0.2/12.2 + 0.05 + 0.5/12.2 (12.0: whole EH/s)
    (12.2, 0.1074)
    """
    if not np.isfinite(current_ehs) or current_ehs <= 0:
        raise ProductionError(f"hashrate_ehs must be > 0 for kind {kind!r}, got {current_ehs}")
    rounding = rounding_ehs(current_ehs) / current_ehs
    if kind == "average_operating":
        return current_ehs, AVERAGE_KIND_TOLERANCE + rounding, "monthly average operating hashrate"
    if kind in MONTH_END_KINDS:
        if prior_month_end_ehs is not None and prior_month_end_ehs > 0:
            h = (current_ehs + prior_month_end_ehs) / 2
            band = (
                abs(current_ehs - prior_month_end_ehs) / (2 * h)
                + MONTH_END_PAIR_TOLERANCE
                + max(rounding_ehs(current_ehs), rounding_ehs(prior_month_end_ehs)) / h
            )
            return h, band, f"{kind}: mean of prior and current month-end values (linear path)"
        return (
            current_ehs,
            SINGLE_POINT_TOLERANCE + rounding,
            f"{kind}: month-end value held flat (no prior month-end of this kind)",
        )
    if kind == "unknown":
        return current_ehs, SINGLE_POINT_TOLERANCE + rounding, "unknown kind: value held flat"
    raise ProductionError(f"hashrate_kind {kind!r} is not one of {', '.join(KIND_PREFERENCE)}")


def production_records(
    rows: pd.DataFrame,
    network: NetworkSchedule,
    pool_models: Mapping[str, PoolModel] | None = None,
    kind: str | None = None,
    level: float = DEFAULT_LEVEL,
) -> pd.DataFrame:
    """Expected vs reported production per (ticker, month).

    Parameters
    ----------
    rows : pandas.DataFrame
        Raw ``miner_production`` rows (see :func:`dedupe_production`); include the month before
        the first requested month so month-end kinds can be averaged.
    network : NetworkSchedule
        Consensus state and fees covering the months.
    pool_models : mapping, optional
        Ticker → :class:`PoolModel`; defaults to :data:`DEFAULT_POOL_MODELS`, FPPS otherwise.
    kind : str, optional
        Use only this hashrate kind; by default the first available in
        :data:`KIND_PREFERENCE`.
    level : float
        Confidence level of the luck interval.

    Returns
    -------
    pandas.DataFrame
        One row per ticker-month: ticker, month, btc_reported, btc_expected, realization,
        realization_lo, realization_hi, verdict, hashrate_ehs (as used), hashrate_reported_ehs,
        hashrate_kind, hashrate_basis, kind_band_pct, expected_blocks, pool_payout, pool_basis,
        pool_fee (stated or default) with pool_fee_lo / pool_fee_hi (the range the interval
        allows), pool_fee_basis, pool_fee_words, verdict_measures (what the verdict measures:
        luck and pool terms against an operating hashrate, uptime as well against capacity),
        operating_hashrate_reported, conflict, demand_response_usd.
    """
    models = dict(DEFAULT_POOL_MODELS if pool_models is None else pool_models)
    have_operating = {(t, m) for t, m, k in zip(rows.ticker, rows.month, rows.hashrate_kind, strict=True)
                      if k in OPERATING_KINDS} if len(rows) else set()
    if kind is not None and kind not in KIND_PREFERENCE:
        raise ProductionError(f"kind {kind!r} is not one of {', '.join(KIND_PREFERENCE)}")
    d = dedupe_production(rows)
    lookup = {(r.ticker, r.month, r.hashrate_kind): r.hashrate_ehs for r in d.itertuples()}
    out = []
    for (ticker, month), g in d.groupby(["ticker", "month"], sort=True):
        g = g[g.hashrate_kind != ""]
        if kind is not None:
            g = g[g.hashrate_kind == kind]
        first = d[(d.ticker == ticker) & (d.month == month)].iloc[0]
        pool = models.get(ticker) or default_pool_model(ticker)
        fee_lo, fee_hi = pool.fee_range
        rec = {
            "ticker": ticker, "month": month, "btc_reported": first.btc_reported,
            "btc_expected": None, "realization": None, "realization_lo": None,
            "realization_hi": None, "verdict": Verdict.no_hashrate.value,
            "hashrate_ehs": None, "hashrate_reported_ehs": None, "hashrate_kind": kind or "",
            "hashrate_basis": "", "kind_band_pct": None, "expected_blocks": None,
            "pool_payout": pool.payout.value, "pool_basis": pool.basis,
            "pool_fee": pool.pool_fee, "pool_fee_lo": fee_lo, "pool_fee_hi": fee_hi,
            "pool_fee_basis": pool.fee_basis or pool.basis, "pool_fee_words": pool.fee_words,
            "verdict_measures": "", "operating_hashrate_reported": (ticker, month) in have_operating,
            "conflict": bool(first.btc_conflict), "demand_response_usd": first.demand_response_usd,
        }
        if not g.empty:
            row = g.iloc[int(np.argmin([KIND_PREFERENCE.index(k) for k in g.hashrate_kind]))]
            prev = str(pd.Period(month, freq="M") - 1)
            prior = lookup.get((ticker, prev, row.hashrate_kind))
            prior = None if prior is None or not np.isfinite(prior) else float(prior)
            h, band, basis = effective_hashrate(row.hashrate_kind, float(row.hashrate_ehs), prior)
            start, end = month_bounds(month)
            exp = expected_production(h, start, end, network)
            rec.update(
                btc_expected=exp.btc, hashrate_ehs=h, hashrate_reported_ehs=float(row.hashrate_ehs),
                hashrate_kind=row.hashrate_kind, hashrate_basis=basis,
                kind_band_pct=100 * band, expected_blocks=exp.blocks,
                conflict=bool(first.btc_conflict or row.hashrate_conflict),
                verdict_measures=VERDICT_MEASURES.get(row.hashrate_kind, ""),
            )
            if row.hashrate_kind not in OPERATING_KINDS and not rec["operating_hashrate_reported"]:
                rec["verdict_measures"] += " (no operating hashrate reported for this month)"
            if first.btc_reported is None or not np.isfinite(first.btc_reported):
                rec["verdict"] = Verdict.no_btc.value
            else:
                lo, hi = realization_interval(exp.blocks, pool, band, level)
                real = first.btc_reported / exp.btc
                rec.update(realization=real, realization_lo=lo, realization_hi=hi,
                           verdict=classify(real, (lo, hi)).value)
        out.append(rec)
    return pd.DataFrame(out)


__all__ = [
    "DEFAULT_POOL_MODELS", "KIND_PREFERENCE", "OPERATING_KINDS", "UNSTATED_POOL_FEE",
    "UNSTATED_POOL_FEE_RANGE", "VERDICT_MEASURES", "default_pool_model", "pool_models_from_facts",
    "unstated_fee_model", "ExpectedProduction", "NetworkSchedule", "Payout",
    "PoolModel", "ProductionError", "Verdict", "build_schedule", "classify", "dedupe_production",
    "effective_hashrate", "expected_production", "month_bounds", "poisson_quantile", "production_records",
    "realization_interval", "rounding_ehs",
]
