"""Scenario engine benchmarks (``make bench``): sampler vs block-level reference, throughput, memory.

Printed figures, in one run (no timed assertions):

1. the epoch sampler (``engine.sample_epochs``: the engine's ``EpochSampler`` on the spec's
   deterministic hashrate path) vs the block-level reference (one exponential per block,
   tests/scenario) at equal N on the same path: scenario-epochs/s of each and their ratio
   (target >= 200x); and the whole engine on that spec (sampler + monthly bookkeeping);
2. scenario-epochs per second per core of the full engine (price, hashrate noise, shocks,
   capitulation, fees with interval elasticity, a miner), simulation alone and with the
   streaming reduction (target >= 10^6);
3. peak memory of 10^5 and 10^6 scenarios x 2 years through ``executors.simulate`` (one process,
   chunks of 8,192), each in a fresh subprocess (the two run at once, one per core): the OS's
   peak RSS, split into what the imports take and what the run adds; their ratio shows memory
   does not grow with N (target: independent of N). No tracemalloc: it doubles the run time.

Rates use process CPU time (``time.process_time``), i.e. per core, best of a few repeats, because
this 2-core box is shared; the 10^6 run's wall time is printed too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from hashdesk.scenario.engine import (
    MinerEconomics,
    ScenarioSpec,
    StartState,
    sample_epochs,
    simulate_chunk,
    work_float,
)
from hashdesk.scenario.executors import run_chunk
from hashdesk.scenario.paths import FeeModel, GBMPrice, HashrateModel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "scenario"))
from _reference import reference_epochs  # noqa: E402

BITS = 0x17053894
T0 = 1_767_052_800
TIP = 931_391
H0 = float(work_float(np.array([BITS]))[0]) / 600.0
MINER = MinerEconomics("bench", 5e6, 90_000, 0.95, 0.05)
N_EQUAL = 4096
REF_EPOCHS = 4


def _bare(months: int) -> ScenarioSpec:
    """Deterministic hashrate path (trend only), constant price and fees: the sampler alone."""
    st = StartState(T0, TIP, BITS, None, 90_000.0, H0 / 1e18, 2e6)
    hr = HashrateModel(0.5, noise_sd_per_day=0.0, shocks=None, capitulation=None)
    return ScenarioSpec(st, months, GBMPrice(0.0, 0.0), hr, FeeModel(2e6, 1.0, 0.0, 0.5))


def _full(months: int) -> ScenarioSpec:
    """Every process on: GBM price, AR(1) hashrate noise, shocks, capitulation, fees (β 1.06), a miner."""
    st = StartState(T0, TIP, BITS, None, 90_000.0, H0 / 1e18, 2e6)
    return ScenarioSpec(st, months, GBMPrice(0.15, 0.5), HashrateModel(0.45), FeeModel(2e6, 1.06, 0.34, 0.95), MINER)


def _epochs(res) -> int:
    return int(np.isfinite(res.retarget_time_s).sum())


def _best(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t)
    return best, out


def test_bench_sampler_vs_reference(benchmark):
    spec = _bare(12)
    t_sampler, res = _best(lambda: sample_epochs(spec, N_EQUAL, np.random.SeedSequence(1)), 5)
    t_engine, res_engine = _best(lambda: simulate_chunk(spec, N_EQUAL, np.random.SeedSequence(1)), 5)
    path = spec.deterministic_hashrate_hs()
    t_ref, _ = _best(lambda: reference_epochs(N_EQUAL, REF_EPOCHS, BITS, T0, path, seed=2), 2)
    rate_sampler, rate_engine = _epochs(res) / t_sampler, _epochs(res_engine) / t_engine
    rate_ref = N_EQUAL * REF_EPOCHS / t_ref
    print(f"\n[scenario] 1. N = {N_EQUAL:,} scenarios on the same deterministic path, 1 core: epoch sampler "
          f"{rate_sampler:,.0f} scenario-epochs/s ({1e9 / rate_sampler:,.0f} ns each); block-level reference "
          f"{rate_ref:,.0f} scenario-epochs/s ({1e9 / rate_ref:,.0f} ns each); "
          f"ratio {rate_sampler / rate_ref:,.0f}x (target >= 200x). With the engine's monthly price/"
          f"hashprice/fee bookkeeping around it: {rate_engine:,.0f} scenario-epochs/s, {rate_engine / rate_ref:,.0f}x")
    benchmark.pedantic(sample_epochs, args=(spec, N_EQUAL, np.random.SeedSequence(1)), rounds=1, iterations=1)


def test_bench_full_engine_throughput(benchmark):
    n = 8192
    spec = _full(24)
    t_sim, res = _best(lambda: simulate_chunk(spec, n, np.random.SeedSequence(3)), 3)
    ep = _epochs(res)
    t_all, _ = _best(lambda: run_chunk(spec, n, np.random.SeedSequence(3), 1), 3)
    print(f"\n[scenario] 2. full engine, 2 years, chunk of {n:,}, 1 core: simulation {ep / t_sim:,.0f} "
          f"scenario-epochs/s; simulation + streaming reduction {ep / t_all:,.0f} scenario-epochs/s "
          f"({n * spec.n_days / t_all:,.0f} scenario-days/s) (target >= 1,000,000 scenario-epochs/s/core)")
    benchmark.pedantic(run_chunk, args=(spec, n, np.random.SeedSequence(3), 1), rounds=1, iterations=1)


_CHILD = """
import json, sys, time
sys.path.insert(0, {bench!r})
from bench_scenario import _full
from hashdesk.scenario.executors import simulate

def peak_kib():  # VmHWM: this process's peak RSS (ru_maxrss would carry the parent's over exec)
    with open("/proc/self/status") as fh:
        return int(next(line for line in fh if line.startswith("VmHWM")).split()[1])

spec = _full(24)
base = peak_kib()
t, c = time.perf_counter(), time.process_time()
s = simulate(spec, {n}, seed=1, chunk_size=8192)
wall, cpu = time.perf_counter() - t, time.process_time() - c
epochs = float((s.retargets.share_of_scenarios * s.n_scenarios).sum())
print(json.dumps({{"n": s.n_scenarios, "base_kib": base, "maxrss_kib": peak_kib(),
                   "wall_s": wall, "cpu_s": cpu, "epochs": epochs}}))
"""


def _child(n: int) -> subprocess.Popen:
    code = _CHILD.format(bench=str(Path(__file__).resolve().parent), n=n)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONHASHSEED": "0"})


def test_bench_memory_independent_of_n(benchmark):
    procs = {n: _child(n) for n in (100_000, 1_000_000)}  # both at once: one per core
    rows = {}
    for n, p in procs.items():
        out, _ = p.communicate(timeout=900)
        assert p.returncode == 0, out
        rows[n] = json.loads(out.strip().splitlines()[-1])
    for n, r in rows.items():
        own = (r["maxrss_kib"] - r["base_kib"]) / 1024
        print(f"\n[scenario] 3. {n:>9,} scenarios x 2 years (full engine, 1 process, chunks of 8,192): peak RSS "
              f"{r['maxrss_kib'] / 1024:,.0f} MiB = {r['base_kib'] / 1024:,.0f} MiB after imports + {own:,.0f} MiB for "
              f"the run; {r['cpu_s']:,.1f} s CPU, {r['wall_s']:,.1f} s wall, "
              f"{r['epochs'] / r['cpu_s']:,.0f} scenario-epochs/s/core end to end")
    a, b = rows[100_000], rows[1_000_000]
    print(f"[scenario] 3. peak RSS 10^6 / 10^5: {b['maxrss_kib'] / a['maxrss_kib']:.2f}x; the run's own part "
          f"{(b['maxrss_kib'] - b['base_kib']) / max(a['maxrss_kib'] - a['base_kib'], 1):.2f}x, for 10x the "
          f"scenarios (target: independent of N)")
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
