"""The engine's outputs against a closed form written here (issue 13: money outputs pinned).

Volatility, drift, shocks and capitulation are off: the price is constant, the hashrate follows
its deterministic trend (+50 %/year, held at its mean over each of the engine's ~weekly steps,
``H_k = H_0·e^{r·d_k}·mean_j e^{r·j}``, ``r = ln(1.5)/365``, docs/scenario.md) and fees per block
are ``F·(work/(600 s·H_k))^β``. The block draws are the only randomness left; :class:`MeanDraws`
returns each draw's mean (``Gamma(k)`` → ``k``, ``Exp(1)`` → 1), so every block is found after
exactly its expected hashes: block ``i`` of an epoch with work ``w`` when the cumulative hashes
since the epoch's start reach ``i·w``. From that schedule the test computes, with its own code and
the exact consensus functions, every retarget (header times, bits), the halving at height
1,050,000 and each month's BTC, revenue, pool fee, cost, margin, hashprice, fees per block,
hashrate and difficulty: BTC per hash is ``(subsidy + fees per block)/(10^8·work)``, constant
between the change points (step edges, retargets, the halving), integrated over each month
(DESIGN.md §3).

Three schedules, all starting on 2028-02-01 and crossing the 2028 halving: from height 1,040,255
(the next block starts epoch 516) with weekly steps, where the halving and the retargets fall in
different steps; one epoch earlier, where a weekly step holds the halving and then a retarget; and
the same with monthly steps, where one step holds a retarget, the halving and another retarget
(the engine's exact correction for several milestones in a step). They fail if the halving is
flagged one block late (``h % 210000`` for ``(h + 1) % 210000`` in ``engine.milestones``) or the
pool fee is dropped.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from hashdesk.chain.consensus import block_subsidy, block_work, next_work_required, target_from_bits
from hashdesk.scenario.engine import (
    MinerEconomics,
    ScenarioSpec,
    StartState,
    miner_money,
    simulate_chunk,
)
from hashdesk.scenario.paths import FeeModel, GBMPrice, HashrateModel

T0 = int(datetime(2028, 2, 1, tzinfo=UTC).timestamp())
#: (tip height, steps per month): the next block starts an epoch in each (516 × 2016, 515 × 2016)
CASES = {"weekly": (1_040_255, 4), "weekly-halving-then-retarget": (1_038_239, 4),
         "monthly-three-milestones-in-a-step": (1_038_239, 1)}
BITS = 0x17024535
HALVING = 1_050_000
PRICE = 100_000.0  # [USD/BTC]
FEE_BASE = 2.0e6  # fees per block at 600-s blocks [sats]
BETA = 1.06  # fees per block ∝ (block interval / 600 s)^β
H = 1.04 * float(block_work(BITS)) / 600.0  # start hashrate [H/s]: blocks of ~577 s at first
GROWTH = 0.5  # hashrate trend [1/year]
MONTHS = 5
MINER = MinerEconomics(
    "known-values", hashrate_ths=5.0e6, power_kw=90_000.0, uptime=0.95, energy_usd_per_kwh=0.05,
    pool_fee=0.02, other_cost_usd_per_day=1_000.0, demand_response_usd_per_day=500.0,
)
RTOL = 1e-11


class MeanDraws:
    """Stands in for ``numpy.random.Generator`` in the engine's block sampler: every draw is its mean.

    Only the three draws the sampler makes exist; any other draw (a process that is not
    deterministic) raises ``AttributeError``.
    """

    def standard_gamma(self, shape, size=None):
        return np.full(size, shape, dtype=np.float64) if size is not None else np.array(shape, dtype=np.float64)

    def gamma(self, shape, size=None):
        return self.standard_gamma(shape, size)

    def standard_exponential(self, size=None):
        return np.ones(size)


def _spec(tip: int, steps_per_month: int, miner: MinerEconomics = MINER) -> ScenarioSpec:
    st = StartState(T0, tip, BITS, None, PRICE, H / 1e18, FEE_BASE)
    hr = HashrateModel(growth_per_year=GROWTH, noise_sd_per_day=0.0, shocks=None, capitulation=None)
    return ScenarioSpec(st, MONTHS, GBMPrice(0.0, 0.0), hr, FeeModel(FEE_BASE, BETA, 0.0, 0.5), miner,
                        steps_per_month=steps_per_month)


def _steps(spec: ScenarioSpec) -> list[tuple[float, float, float]]:
    """The hashrate path: (start [s], end [s], H_k [H/s]) per step, the trend's mean over its days."""
    r = math.log1p(GROWTH) / 365.0
    g = spec.grid
    return [(f * 86_400.0, (f + nd) * 86_400.0, H * math.exp(r * f) * float(np.exp(r * np.arange(nd)).mean()))
            for f, nd in zip(g.first_day.tolist(), g.n_days.tolist(), strict=True)]


def _closed_form(spec: ScenarioSpec):
    """The deterministic chain: retargets and the pieces on which BTC per hash is constant.

    Returns
    -------
    retargets : list of (t_last [s], first header time [unix s], old bits, new bits)
    pieces : list of (t_from [s], t_to [s], subsidy [sats], work [hashes], H [H/s], bits)
    """
    steps = _steps(spec)
    x_edges = np.concatenate([[0.0], np.cumsum([(b - a) * hk for a, b, hk in steps])])  # hashes at step edges

    def time_at(x: float) -> float:
        """Time at which the cumulative hashes since the start reach ``x`` [s]."""
        k = int(np.searchsorted(x_edges, x, side="right")) - 1
        a, _, hk = steps[k]
        return a + (x - x_edges[k]) / hk

    horizon = steps[-1][1]
    changes = []  # (t, subsidy after, work after, bits after)
    retargets = []
    x, h, bits = 0.0, spec.start.tip_height + 1, BITS  # x: hashes at the last block of the previous epoch
    changes.append((0.0, block_subsidy(h), float(block_work(bits)), bits))
    while x < x_edges[-1]:
        w = float(block_work(bits))
        if h < HALVING <= h + 2015 and x + (HALVING - h) * w < x_edges[-1]:  # block HALVING − 1 found
            changes.append((time_at(x + (HALVING - h) * w), block_subsidy(HALVING), w, bits))
        if x + 2016 * w >= x_edges[-1]:
            break
        t_first, t_last = time_at(x + w), time_at(x + 2016 * w)
        for v in (t_first, t_last):  # the floors are not decided by rounding
            assert abs(v - round(v)) > 1e-6
        first_unix, last_unix = T0 + math.floor(t_first), T0 + math.floor(t_last)
        new_bits = next_work_required(bits, first_unix, last_unix)
        retargets.append((t_last, first_unix, bits, new_bits))
        changes.append((t_last, block_subsidy(h + 2016), float(block_work(new_bits)), new_bits))
        x, h, bits = x + 2016 * w, h + 2016, new_bits
    # pieces: between consecutive change points and step edges
    cuts = sorted({c[0] for c in changes} | {a for a, _, _ in steps} | {horizon})
    pieces = []
    for t0, t1 in zip(cuts[:-1], cuts[1:], strict=True):
        _, sub, w, b = max((c for c in changes if c[0] <= t0), key=lambda c: c[0])
        hk = next(hk for a, e, hk in steps if a <= t0 < e)
        pieces.append((t0, t1, sub, w, hk, b))
    return retargets, pieces


def _monthly_closed_form(spec: ScenarioSpec, pieces):
    """Per month: ∫ BTC per hash dt, ∫ fees per block dt, ∫ H dt, length [s], bits at its end."""
    d0 = spec.start.start_date
    edges = [(m - d0).days * 86_400.0 for m in spec.month_starts]
    out = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        rate_dt = fee_dt = h_dt = 0.0
        bits_end = None
        for t0, t1, sub, w, hk, bits in pieces:
            if t0 < b:
                bits_end = bits
            lo, hi = max(a, t0), min(b, t1)
            if hi > lo:
                fee = FEE_BASE * (w / (600.0 * hk)) ** BETA  # fees per block [sats]
                rate_dt += (hi - lo) * (sub + fee) / (w * 1e8)  # [BTC per (H/s)]
                fee_dt += (hi - lo) * fee
                h_dt += (hi - lo) * hk
        out.append({"seconds": b - a, "days": (b - a) / 86_400.0, "rate_dt": rate_dt, "fee_dt": fee_dt,
                    "h_dt": h_dt, "bits": bits_end})
    return out


@pytest.fixture(scope="module", params=list(CASES), ids=list(CASES))
def run(request):
    spec = _spec(*CASES[request.param])
    res = simulate_chunk(spec, 3, np.random.SeedSequence(0), rng=MeanDraws())
    retargets, pieces = _closed_form(spec)
    return spec, res, retargets, pieces


def test_scen_known_values_mean_draws_give_identical_scenarios(run):
    _, res, _, _ = run
    for k, v in res.monthly.items():
        np.testing.assert_array_equal(v[0], v[1], err_msg=k)
    np.testing.assert_array_equal(res.retarget_bits[0], res.retarget_bits[2])


def test_scen_known_values_retarget_dates_and_bits(run):
    spec, res, retargets, _ = run
    inside = [r for r in retargets if r[0] < spec.n_days * 86_400.0]
    assert len(inside) >= 7  # five months of ~2-week epochs
    got = np.isfinite(res.retarget_time_s[0])
    assert int(got.sum()) == len(inside)
    for k, (t_last, first_unix, old_bits, new_bits) in enumerate(inside):
        assert res.retarget_time_s[0, k] == pytest.approx(t_last, abs=1e-6)
        assert res.retarget_first_time_s[0, k] == first_unix - T0
        assert res.prev_bits[0, k] == old_bits
        assert res.retarget_bits[0, k] == new_bits
    # a growing hashrate: difficulty never falls and mostly rises (with monthly steps the hashrate is
    # flat within a month, and a retarget there can land on the 1,209,600/2015-s equilibrium)
    assert all(target_from_bits(r[3]) <= target_from_bits(r[2]) for r in inside)
    assert sum(target_from_bits(r[3]) < target_from_bits(r[2]) for r in inside) >= len(inside) - 3
    # the halving falls inside the horizon, in April 2028
    t_half = next(p[0] for p in run[3] if p[2] == block_subsidy(HALVING))
    assert 0 < t_half < spec.n_days * 86_400.0
    assert datetime.fromtimestamp(T0 + t_half, tz=UTC).month == 4


def test_scen_known_values_schedules_cover_several_milestones_in_a_step(run):
    """The cases are what they claim: count the milestones in the step that holds the halving."""
    spec, _, retargets, pieces = run
    t_half = next(p[0] for p in pieces if p[2] == block_subsidy(HALVING))
    g = spec.grid
    k = int(np.searchsorted(g.first_day * 86_400.0, t_half, side="right")) - 1
    a, b = g.first_day[k] * 86_400.0, (g.first_day[k] + g.n_days[k]) * 86_400.0
    with_it = [r[0] for r in retargets if a <= r[0] < b]
    want = {1_040_255: 0, 1_038_239: 1 if spec.steps_per_month == 4 else 2}[spec.start.tip_height]
    assert len(with_it) == want
    if want == 2:  # a retarget before the halving and one after it, in the same step
        assert with_it[0] < t_half < with_it[1]


def test_scen_known_values_btc_through_the_halving(run):
    spec, res, _, pieces = run
    cf = _monthly_closed_form(spec, pieces)
    hs = MINER.hashrate_ths * 1e12 * MINER.uptime
    want = np.array([hs * m["rate_dt"] * (1 - MINER.pool_fee) for m in cf])
    np.testing.assert_allclose(res.monthly["btc_mined"][0], want, rtol=RTOL)
    # the subsidy halves in April: May and June mine far less than February (fees keep it above half)
    per_day = want / np.array([m["days"] for m in cf])
    assert per_day[3] < 0.6 * per_day[0]


def test_scen_known_values_money_lines(run):
    spec, res, _, pieces = run
    cf = _monthly_closed_form(spec, pieces)
    hs = MINER.hashrate_ths * 1e12 * MINER.uptime
    gross = np.array([hs * m["rate_dt"] for m in cf])  # BTC before the pool fee
    days = np.array([m["days"] for m in cf])
    revenue = gross * (1 - MINER.pool_fee) * PRICE + MINER.demand_response_usd_per_day * days
    pool_fee = gross * MINER.pool_fee * PRICE
    cost = (MINER.power_kw * 24 * MINER.uptime * MINER.energy_usd_per_kwh + MINER.other_cost_usd_per_day) * days
    m = res.monthly
    np.testing.assert_allclose(m["revenue_usd"][0], revenue, rtol=RTOL)
    np.testing.assert_allclose(m["pool_fee_usd"][0], pool_fee, rtol=RTOL)
    np.testing.assert_allclose(m["cost_usd"][0], cost, rtol=RTOL)
    np.testing.assert_allclose(m["margin_usd"][0], revenue - cost, rtol=RTOL, atol=1e-6 * np.abs(revenue).max())
    # breakeven: first month whose cumulative margin reaches capex 0
    cum = np.cumsum(revenue - cost)
    assert res.breakeven_month[0] == (int(np.argmax(cum >= 0)) + 1 if (cum >= 0).any() else 0)


def test_scen_known_values_network_metrics(run):
    spec, res, _, pieces = run
    cf = _monthly_closed_form(spec, pieces)
    m = res.monthly
    seconds = np.array([c["seconds"] for c in cf])
    np.testing.assert_allclose(m["price_usd"][0], PRICE, rtol=1e-15)
    h_mean = np.array([c["h_dt"] for c in cf]) / seconds
    np.testing.assert_allclose(m["hashrate_ehs"][0], h_mean / 1e18, rtol=1e-13)
    hashprice = np.array([c["rate_dt"] for c in cf]) / seconds * PRICE * 86_400 * 1e15  # [USD/PH/day]
    np.testing.assert_allclose(m["hashprice_usd_per_ph_day"][0], hashprice, rtol=RTOL)
    fees = np.array([c["fee_dt"] for c in cf]) / seconds
    np.testing.assert_allclose(m["fees_sats_per_block"][0], fees, rtol=RTOL)
    difficulty = [(0xFFFF << 208) / target_from_bits(c["bits"]) for c in cf]
    np.testing.assert_allclose(m["difficulty"][0], difficulty, rtol=1e-14)


def test_scen_known_values_miner_money_curtailment():
    """miner_money alone: a curtailable miner is off where mined revenue < energy cost."""
    miner = MinerEconomics("c", hashrate_ths=1e6, power_kw=20_000.0, uptime=1.0, energy_usd_per_kwh=0.06,
                           pool_fee=0.025, curtailable=True, other_cost_usd_per_day=300.0,
                           demand_response_usd_per_day=200.0)
    btc_per_hs = np.array([2.0e-17, 1.0e-17, 3.0e-18])  # network BTC per (H/s) over the period
    price = np.array([90_000.0, 60_000.0, 60_000.0])
    days = 7.0
    money = miner_money(miner, btc_per_hs, price, days)
    gross = btc_per_hs * 1e18  # 1e6 TH/s = 1e18 H/s
    energy = 20_000.0 * 24 * 0.06 * days
    on = gross * 0.975 * price >= energy
    assert on.tolist() == [True, True, False]
    np.testing.assert_allclose(money.btc, gross * 0.975 * on, rtol=1e-15)
    np.testing.assert_allclose(money.pool_fee_usd, gross * 0.025 * price * on, rtol=1e-15)
    np.testing.assert_allclose(money.revenue_usd, gross * 0.975 * price * on + 200.0 * days, rtol=1e-15)
    np.testing.assert_allclose(money.cost_usd, energy * on + 300.0 * days, rtol=1e-15)
    np.testing.assert_allclose(money.margin_usd, money.revenue_usd - money.cost_usd)
