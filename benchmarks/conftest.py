"""Shared helpers for the benchmark suites (baselines timed in the same process)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

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
