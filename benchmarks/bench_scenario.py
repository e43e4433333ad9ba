"""Scenario engine benchmarks (``make bench``): sampler vs block-level reference, throughput, memory.

Printed figures (no timed assertions):
- epoch sampler vs the block-level reference (one exponential per block) at equal N: ratio;
- scenario-epochs per second per core, for the bare sampler (deterministic hashrate path) and the
  full engine (price, hashrate noise/shocks/capitulation, fees, miner);
- peak traced memory (tracemalloc) of a 2-year run for growing N at a fixed chunk size.

Rates use process CPU time (``time.process_time``), i.e. per core, so a busy machine does not
distort them.
"""

from __future__ import annotations

import math
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from hashdesk.scenario.engine import (
    MinerEconomics,
    ScenarioSpec,
    StartState,
    simulate_chunk,
    work_float,
)
from hashdesk.scenario.executors import simulate
from hashdesk.scenario.paths import FeeModel, GBMPrice, HashrateModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "scenario"))
from _reference import reference_epochs  # noqa: E402

BITS = 0x17053894
T0 = 1_767_052_800
TIP = 931_391
H0 = float(work_float(np.array([BITS]))[0]) / 600.0
MINER = MinerEconomics("bench", 5e6, 90_000, 0.95, 0.05)


def _bare(months: int) -> ScenarioSpec:
    st = StartState(T0, TIP, BITS, None, 90_000.0, H0 / 1e18, 2e6)
    hr = HashrateModel(0.5, noise_sd_per_day=0.0, shocks=None, capitulation=None)
    return ScenarioSpec(st, months, GBMPrice(0.0, 0.0), hr, FeeModel(2e6, 1.0, 0.0, 0.5))


def _full(months: int) -> ScenarioSpec:
    st = StartState(T0, TIP, BITS, None, 90_000.0, H0 / 1e18, 2e6)
    return ScenarioSpec(st, months, GBMPrice(0.15, 0.5), HashrateModel(0.45), FeeModel(2e6, 1.06, 0.34, 0.95), MINER)


def _epochs(res) -> int:
    return int(np.isfinite(res.retarget_time_s).sum())


def test_bench_sampler_vs_reference(benchmark):
    n = 2000
    spec = _bare(6)
    t = time.process_time()
    res = simulate_chunk(spec, n, np.random.SeedSequence(1))
    t_engine = time.process_time() - t
    ep = _epochs(res)
    n_ep = 4
    path = H0 * 1.02 * np.exp(math.log1p(0.5) * np.arange(90) / 365)
    t = time.process_time()
    reference_epochs(n, n_ep, BITS, T0, path, seed=2)
    t_ref = time.process_time() - t
    per_engine = t_engine / ep
    per_ref = t_ref / (n * n_ep)
    print(f"\n[scenario] sampler {ep / t_engine:,.0f} scenario-epochs/s; block-level reference "
          f"{n * n_ep / t_ref:,.0f} scenario-epochs/s; ratio {per_ref / per_engine:,.0f}x (target >= 200x)")
    benchmark.pedantic(simulate_chunk, args=(spec, n, np.random.SeedSequence(1)), rounds=1, iterations=1)


def test_bench_full_engine_throughput(benchmark):
    n = 8192
    spec = _full(12)
    t = time.process_time()
    res = simulate_chunk(spec, n, np.random.SeedSequence(3))
    dt = time.process_time() - t
    print(f"\n[scenario] full engine (price+hashrate+shocks+capitulation+fees+miner), 1 core: "
          f"{_epochs(res) / dt:,.0f} scenario-epochs/s, {n * spec.n_days / dt:,.0f} scenario-days/s "
          f"(target >= 1,000,000 scenario-epochs/s/core)")
    benchmark.pedantic(simulate_chunk, args=(spec, n, np.random.SeedSequence(3)), rounds=1, iterations=1)


def test_bench_memory_independent_of_n(benchmark):
    spec = _bare(24)
    rows = []
    for n in (4_096, 16_384):
        tracemalloc.start()
        t = time.process_time()
        simulate(spec, n, seed=1, chunk_size=4096)
        dt = time.process_time() - t
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rows.append((n, peak, dt))
        print(f"\n[scenario] 2-year run, N={n:,}, chunk 4,096: peak traced memory {peak / 2**20:,.1f} MiB, "
              f"{dt:,.1f} s")
    per_chunk = rows[-1][2] / (rows[-1][0] / 4096)
    print(f"[scenario] peak memory ratio N=16,384 / N=4,096: {rows[1][1] / rows[0][1]:.2f} "
          f"(chunks are reduced and merged in order, so 10^6 scenarios peak the same; "
          f"10^6 x 2y would take ~{per_chunk * 1e6 / 4096 / 60:,.0f} CPU-min)")
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
