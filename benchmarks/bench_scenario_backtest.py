"""Scenario backtest benchmark (``make bench``): the calibration report and what it costs.

Runs ``Desk.scenario_backtest`` with the defaults of ``hashdesk simulate --backtest`` (month-end
starts from 2022-01-31, 2,000 scenarios per start, seed 0) on the reference bundle and prints,
per horizon, the coverage of the 50 % and 90 % bands (target 0.40–0.60 and 0.85–0.95), the
median error [%] and the number of starts; then the wall time beside its in-run baseline, the
time to build the starts' specs alone (fitting every model as of its start), as a ratio. No
timed assertions.
"""

from __future__ import annotations

import time

import pytest

from hashdesk.config import default_data_dir

DATA = default_data_dir()
pytestmark = pytest.mark.skipif(not (DATA / "btc_epoch_targets_electrum.csv").exists(), reason="no bundle")


def test_bench_scenario_backtest_coverage(benchmark, bundle_db):
    from hashdesk.desk import Desk
    from hashdesk.scenario.backtest import DEFAULT_TARGETS, horizon_months

    with Desk(bundle_db) as desk:
        t0 = time.perf_counter()
        res = desk.scenario_backtest(scenarios=2000, seed=0)
        wall = time.perf_counter() - t0
    with Desk(bundle_db) as desk:  # baseline: the specs alone (every start's fits), in a fresh desk
        months = horizon_months(DEFAULT_TARGETS)
        t0 = time.perf_counter()
        for day in res.settings["starts"]:
            desk.scenario_spec(months, day)
        fits = time.perf_counter() - t0
    print(f"\n[backtest] simulate --backtest defaults: {len(res.models)} month-end starts "
          f"{res.settings['starts'][0]}..{res.settings['starts'][-1]}, 2,000 scenarios each, seed 0")
    for s in res.summary.values():
        lo, hi = s["coverage_90_interval"]
        print(f"[backtest] {s['label']:<30} n {s['n_starts']:>3}  coverage_50 {s['coverage_50']:.3f}  "
              f"coverage_90 {s['coverage_90']:.3f} (sampling 90 % interval {lo:.2f}-{hi:.2f})  "
              f"median_error {s['median_error']:6.2f} %  bias {s['median_bias']:+6.2f} %")
    print(f"[backtest] wall {wall:.1f} s (target < 180 s on this 2-core box); building the specs alone "
          f"{fits:.1f} s: the whole run is {wall / fits:.2f}x its fits")
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
