"""Shared helpers for the benchmark suites (baselines timed in the same process)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pytest


def median_time(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of ``repeat`` calls of ``fn`` [s] — for in-run baselines."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


@pytest.fixture()
def baseline_time():
    """The :func:`median_time` helper, as a fixture."""
    return median_time


def gamma_draws_per_s(size: int = 16384, shape: float = 2015.0, repeat: int = 5, calls: int = 40) -> float:
    """The RNG bound: ``numpy.random.Generator.standard_gamma`` draws per second on one core.

    Best of ``repeat`` timings (process CPU time) of ``calls`` calls filling ``size`` draws of
    shape ``shape`` (an epoch's Gamma(2015) in the scenario engine) into a preallocated array.
    """
    import numpy as np

    rng = np.random.Generator(np.random.PCG64(0))
    out = np.empty(size)
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        for _ in range(calls):
            rng.standard_gamma(shape, out=out)
        best = min(best, time.process_time() - t)
    return calls * size / best


@pytest.fixture()
def gamma_rate():
    """The :func:`gamma_draws_per_s` helper (the RNG bound), as a fixture."""
    return gamma_draws_per_s


@pytest.fixture(scope="session")
def bundle_db(tmp_path_factory) -> Path:
    """A DuckDB store with the whole reference bundle ingested, shared by the suites that read it."""
    from hashdesk.config import default_data_dir
    from hashdesk.store import Store
    from hashdesk.store.ingest import ingest_bundle

    path = tmp_path_factory.mktemp("bundle") / "bundle.duckdb"
    with Store(path) as store:
        ingest_bundle(store, default_data_dir())
    return path
