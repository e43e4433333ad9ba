"""Reproducibility across executors and chunking rules; clear errors for unreachable schedulers."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from hashdesk.scenario.engine import MinerEconomics, ScenarioSpec, StartState
from hashdesk.scenario.executors import ChunkPlan, ExecutorError, connect_dask, simulate
from hashdesk.scenario.paths import FeeModel, GBMPrice, HashrateModel, ScenarioInputError

START = StartState(1_767_052_800, 930_088, 0x17024535, 1_766_634_486, 87_133.51, 1_098.0, 1.87e6)


@pytest.fixture(scope="module")
def spec() -> ScenarioSpec:
    miner = MinerEconomics("t", hashrate_ths=5e6, power_kw=90_000, uptime=0.95, energy_usd_per_kwh=0.05,
                           pool_fee=0.02, own_pool=True, curtailable=True, demand_response_usd_per_day=100.0)
    return ScenarioSpec(START, 6, GBMPrice(0.1, 0.5), HashrateModel(0.4), FeeModel(1.87e6), miner, capex_usd=2e6)


def _same(a, b) -> None:
    pd.testing.assert_frame_equal(a.monthly, b.monthly, check_exact=True)
    pd.testing.assert_frame_equal(a.retargets, b.retargets, check_exact=True)
    assert a.risk == b.risk
    for k in a.samples:
        assert np.array_equal(a.samples[k], b.samples[k])


def test_scen_local_processes_and_dask_bit_identical(spec):
    from distributed import Client, LocalCluster

    one = simulate(spec, 250, seed=7, chunk_size=100)
    two = simulate(spec, 250, seed=7, chunk_size=100, workers=2)
    _same(one, two)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        dask = simulate(spec, 250, seed=7, chunk_size=100, executor="dask", client=client)
    _same(one, dask)
    assert one.n_scenarios == 250


def test_scen_seed_changes_result(spec):
    a = simulate(spec, 100, seed=1, chunk_size=100)
    b = simulate(spec, 100, seed=2, chunk_size=100)
    assert not a.monthly["q50"].equals(b.monthly["q50"])


def test_scen_progress_called_per_chunk(spec):
    calls = []
    simulate(spec, 250, seed=3, chunk_size=100, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_scen_chunk_plan():
    plan = ChunkPlan.make(250, 5, 100)
    assert plan.sizes == (100, 100, 50)
    assert [s.spawn_key for s in plan.seeds] == [(0,), (1,), (2,)]
    with pytest.raises(ScenarioInputError, match="scenarios"):
        ChunkPlan.make(0, 5)


def test_scen_unreachable_scheduler_fails_fast():
    t = time.monotonic()
    with pytest.raises(ExecutorError, match="cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'"):
        connect_dask("tcp://127.0.0.1:9", timeout_s=1.0)
    assert time.monotonic() - t < 15
