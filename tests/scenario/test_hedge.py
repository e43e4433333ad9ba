"""Hedging with a hashprice swap (issue 16): closed forms, paired statistics against numpy, invariants, CLI.

Closed forms: the minimum-variance ratio is ``Cov(M, X) / Var X`` (Hull §3.4); for an FPPS miner who
is never curtailed the margin is ``(1 − φ)·X − cost``, so ``R* = 1 − φ`` and the hedged margin at
``R*`` has no variance. When the forward is the model mean of the same scenarios the swap is fair:
hedged and unhedged means agree. Every streamed statistic is checked against numpy on the very
scenarios the run drew (one chunk, re-simulated from the run's own seed).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from typer.testing import CliRunner

from hashdesk.chain.consensus import block_work
from hashdesk.config import repo_root
from hashdesk.scenario.engine import MinerEconomics, ScenarioSpec, StartState, simulate_chunk
from hashdesk.scenario.executors import ChunkPlan
from hashdesk.scenario.forward import month_days
from hashdesk.scenario.hedge import (
    CoMoments,
    distributions_of,
    hedge_analysis,
    hedged_margin,
    notional_ph_days,
)
from hashdesk.scenario.paths import FeeModel, GBMPrice, HashrateModel, ScenarioInputError

T0 = int(datetime(2028, 2, 1, tzinfo=UTC).timestamp())
BITS = 0x17024535
W = float(block_work(BITS))
FPPS = MinerEconomics("fpps", hashrate_ths=2.0e6, power_kw=36_000.0, uptime=0.97, energy_usd_per_kwh=0.06,
                      pool_fee=0.025, other_cost_usd_per_day=5_000.0)
CURTAIL = MinerEconomics("curtail", hashrate_ths=2.0e6, power_kw=50_000.0, uptime=0.95, energy_usd_per_kwh=0.07,
                         pool_fee=0.02, curtailable=True)


def _spec(miner: MinerEconomics, months: int = 6, vol: float = 0.7) -> ScenarioSpec:
    st_ = StartState(T0, 1_040_255, BITS, None, 60_000.0, 1.02 * W / 600.0 / 1e18, 2.0e6)
    return ScenarioSpec(st_, months, GBMPrice(0.0, vol), HashrateModel(0.4, noise_sd_per_day=0.02, shocks=None),
                        FeeModel(2.0e6, 1.06, 0.3, 0.9), miner)


# -- closed forms on synthetic data ---------------------------------------------------------------------


def test_min_var_ratio_is_cov_over_var_on_synthetic_data():
    rng = np.random.default_rng(0)
    x = rng.normal(100.0, 20.0, size=(50_000, 3))
    a = 0.8 * x + rng.normal(0.0, 5.0, size=x.shape) - 30.0
    m = None
    for part_a, part_x in zip(np.array_split(a, 9), np.array_split(x, 9), strict=True):  # streamed, uneven chunks
        c = CoMoments.of(part_a, part_x)
        m = c if m is None else m.merge(c)
    cov = np.array([np.cov(a[:, j], x[:, j])[0, 1] for j in range(3)])
    var = x.var(axis=0, ddof=1)
    np.testing.assert_allclose(m.min_var_ratio(), cov / var, rtol=1e-10)
    np.testing.assert_allclose(m.var_a(), a.var(axis=0, ddof=1), rtol=1e-10)
    r = m.min_var_ratio()
    np.testing.assert_allclose(m.std_of(r), (a - r * x).std(axis=0, ddof=1), rtol=1e-9)
    np.testing.assert_allclose(m.std_of(0.5), (a - 0.5 * x).std(axis=0, ddof=1), rtol=1e-9)
    assert np.all(m.std_of(r) <= m.std_of(r + 0.05)) and np.all(m.std_of(r) <= m.std_of(r - 0.05))


def test_fpps_miner_min_var_ratio_is_one_minus_pool_fee():
    res = hedge_analysis(_spec(FPPS), 1.0, 3000, seed=4, chunk_size=1000)
    assert res.min_var_ratio == pytest.approx(1 - FPPS.pool_fee, rel=1e-9)
    np.testing.assert_allclose(res.monthly["min_var_ratio"], 1 - FPPS.pool_fee, rtol=1e-9)
    t = res.totals.set_index("ratio")
    assert t["std_usd"].iloc[2] < 1e-6 * t["std_usd"].iloc[0]
    assert res.std_reduction() > 0.999999
    # forward = model mean of the same scenarios: a fair swap, means unchanged
    np.testing.assert_allclose(t["mean_usd"], t["mean_usd"].iloc[0], rtol=1e-12)
    np.testing.assert_allclose(res.monthly["hedged_mean_usd"], res.monthly["unhedged_mean_usd"], rtol=1e-10)
    np.testing.assert_allclose(res.monthly["hedge_payoff_mean_usd"], 0.0,
                               atol=1e-6 * res.monthly["unhedged_std_usd"].max())


def test_notional_is_expected_ph_days():
    spec = _spec(FPPS, 3)
    np.testing.assert_allclose(notional_ph_days(spec), 2000.0 * 0.97 * month_days(spec))  # 2 EH/s = 2,000 PH/s
    with pytest.raises(ScenarioInputError, match="no miner"):
        notional_ph_days(ScenarioSpec(spec.start, 3, spec.price, spec.hashrate, spec.fees))
    with pytest.raises(ScenarioInputError, match="ratio"):
        hedge_analysis(spec, -0.1, 10)


# -- paired statistics against numpy on the same scenarios -------------------------------------------------


def _exact(spec: ScenarioSpec, n: int, seed: int):
    """The run's scenarios (one chunk): margin and hashprice per scenario and month."""
    res = simulate_chunk(spec, n, ChunkPlan.make(n, seed, n).seeds[0])
    return res.monthly["margin_usd"], res.monthly["hashprice_usd_per_ph_day"]


@pytest.mark.parametrize("miner", [FPPS, CURTAIL], ids=["fpps", "curtailable"])
def test_streamed_hedge_statistics_match_numpy_on_the_same_scenarios(miner):
    n, seed, ratio = 6000, 11, 0.6
    spec = _spec(miner)
    res = hedge_analysis(spec, ratio, n, seed=seed, chunk_size=n)
    margin, hp = _exact(spec, n, seed)
    q = notional_ph_days(spec)
    f = hp.mean(axis=0)
    np.testing.assert_allclose(res.monthly["forward_usd_per_ph_day"], f, rtol=1e-12)
    x_tot = (hp * q).sum(axis=1)
    m_tot = margin.sum(axis=1)
    r_star = np.cov(m_tot, x_tot)[0, 1] / x_tot.var(ddof=1)
    assert res.min_var_ratio == pytest.approx(r_star, rel=1e-9)
    for i, r in enumerate((0.0, ratio, r_star)):
        leg = hedged_margin(margin, hp, q, f, r)
        tot = leg.sum(axis=1)
        row = res.totals.iloc[i]
        assert row["mean_usd"] == pytest.approx(tot.mean(), rel=1e-9, abs=1e-6)
        assert row["std_usd"] == pytest.approx(tot.std(ddof=1), rel=1e-6, abs=1e-3)
        assert row["p_negative"] == (tot < 0).mean()
        sd = max(tot.std(), 1e-9 * abs(tot.mean()))
        for col, p in (("p05_usd", 0.05), ("median_usd", 0.5), ("p95_usd", 0.95)):
            assert abs(row[col] - np.quantile(tot, p)) <= 0.02 * sd + 1e-6 * abs(tot.mean()), (i, col)
        cvar = np.sort(tot)[: int(0.05 * n)].mean()
        assert abs(row["cvar05_usd"] - cvar) <= 0.02 * sd + 1e-6 * abs(tot.mean()), i
    hedged = hedged_margin(margin, hp, q, f, ratio)
    np.testing.assert_allclose(res.monthly["hedged_std_usd"], hedged.std(axis=0, ddof=1), rtol=1e-6)
    np.testing.assert_allclose(res.monthly["unhedged_p_negative"], (margin < 0).mean(axis=0))
    np.testing.assert_allclose(res.monthly["hedged_p_negative"], (hedged < 0).mean(axis=0))
    assert res.totals["std_usd"].iloc[2] < res.totals["std_usd"].iloc[0]


def test_quoted_forward_shifts_the_mean_by_the_premium(tmp_path):
    from hashdesk.scenario.forward import read_quotes

    spec = _spec(FPPS, 3)
    base = hedge_analysis(spec, 0.8, 2000, seed=3, chunk_size=1000)
    f = tmp_path / "q.csv"
    f.write_text(f"month,price\n2028-03,{base.monthly['forward_usd_per_ph_day'].iloc[1] + 10:.12f}\n")
    quoted = hedge_analysis(spec, 0.8, 2000, seed=3, chunk_size=1000, quotes=read_quotes(f))
    assert quoted.monthly["forward_source"].tolist() == ["model mean", "quote", "model mean"]
    gain = 0.8 * notional_ph_days(spec)[1] * 10
    d = quoted.monthly["hedged_mean_usd"] - base.monthly["hedged_mean_usd"]
    np.testing.assert_allclose(d, [0.0, gain, 0.0], atol=1e-6 * gain)
    assert quoted.totals["mean_usd"].iloc[1] - base.totals["mean_usd"].iloc[1] == pytest.approx(gain, rel=1e-9)
    # the unhedged leg is the same scenarios in both runs
    pd.testing.assert_series_equal(quoted.monthly["unhedged_p05_usd"], base.monthly["unhedged_p05_usd"])


def test_hedge_bit_identical_across_workers():
    spec = _spec(CURTAIL, 3)
    a = hedge_analysis(spec, 0.5, 900, seed=2, chunk_size=400)
    b = hedge_analysis(spec, 0.5, 900, seed=2, chunk_size=400, workers=2)
    pd.testing.assert_frame_equal(a.monthly, b.monthly, check_exact=True)
    pd.testing.assert_frame_equal(a.totals, b.totals, check_exact=True)


# -- invariants (hypothesis) ----------------------------------------------------------------------------------


_MONTHS = st.integers(1, 4)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_ratio_zero_is_the_unhedged_margin(data):
    k = data.draw(_MONTHS)
    n = data.draw(st.integers(1, 200))
    fin = st.floats(-1e8, 1e8, allow_nan=False, allow_subnormal=False)
    margin = data.draw(arrays(np.float64, (n, k), elements=fin))
    hp = data.draw(arrays(np.float64, (n, k), elements=st.floats(0, 1e4, allow_subnormal=False)))
    q = data.draw(arrays(np.float64, k, elements=st.floats(0, 1e6, allow_subnormal=False)))
    f = data.draw(arrays(np.float64, k, elements=st.floats(0, 1e4, allow_subnormal=False)))
    assert np.array_equal(hedged_margin(margin, hp, q, f, 0.0), margin)
    # in the reducer too: the ratio-0 leg and a second copy of it histogram identically
    c, s = margin.mean(axis=0), np.maximum(margin.std(axis=0), 1.0)
    ct, sc = np.array([margin.sum(axis=1).mean()] * 2), np.array([max(margin.sum(axis=1).std(), 1.0)] * 2)
    d = distributions_of(margin, hp, q, f, (0.0, 0.0), np.array([c, c]), np.array([s, s]), ct, sc)
    assert np.array_equal(d.monthly[0].counts, d.monthly[1].counts)
    assert np.array_equal(d.neg_monthly[0], (margin < 0).sum(axis=0))
    assert d.neg_total[0] == int((margin.sum(axis=1) < 0).sum())


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(3, 120), _MONTHS),
              elements=st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)),
       arrays(np.float64, st.tuples(st.integers(3, 120), _MONTHS),
              elements=st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)),
       st.integers(1, 5))
def test_comoments_merge_equals_one_pass(a, b, splits):
    n = min(a.shape[0], b.shape[0])
    k = min(a.shape[1], b.shape[1])
    a, b = a[:n, :k], b[:n, :k]
    whole = CoMoments.of(a, b)
    m = None
    for pa, pb in zip(np.array_split(a, splits), np.array_split(b, splits), strict=True):
        if len(pa) == 0:
            continue
        c = CoMoments.of(pa, pb)
        m = c if m is None else m.merge(c)
    scale = max(np.abs(a).max(), np.abs(b).max(), 1.0) ** 2 * n
    for name in ("c_aa", "c_bb", "c_ab"):
        np.testing.assert_allclose(getattr(m, name), getattr(whole, name), atol=1e-9 * scale)
    np.testing.assert_allclose(m.mean_a, whole.mean_a, atol=1e-9 * max(np.abs(a).max(), 1.0))


# -- the CLI on the bundle ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_hedge_on_a_shipped_profile(bundle_db_path, tmp_path):
    """Done-when of issue 16: the variance-minimising ratio, and a lower margin std at it than unhedged,
    on paired scenarios (the curtailable Riot-style profile: R* < 1, and a hosted FPPS fleet: R* = 1 − fee)."""
    from hashdesk.cli import app

    prof = repo_root() / "examples" / "profiles"
    for name, want in (("riot_style_2024_03.toml", None), ("hosted_1ehs.toml", 1 - 0.025)):
        r = CliRunner().invoke(app, ["--db", str(bundle_db_path), "hedge", "--miner", str(prof / name), "--at",
                                     "2024-03-31", "--ratio", "0.5", "-n", "5000", "--format", "json"])
        assert r.exit_code == 0, r.output
        out = json.loads(r.stdout)
        t = {row["leg"].split(" =")[0]: row for row in out["totals"]}
        assert len(out["monthly"]) == 12
        assert t["hedged at R*"]["std_usd"] < t["hedged at R"]["std_usd"] < t["unhedged"]["std_usd"]
        assert 0 < out["min_var_ratio"] <= 1.0
        if want is not None:
            assert out["min_var_ratio"] == pytest.approx(want, rel=1e-9)
    r = CliRunner().invoke(app, ["--db", str(bundle_db_path), "hedge", "--miner", str(prof / "hosted_1ehs.toml"),
                                 "--at", "2024-03-31", "-n", "2000", "--chart", str(tmp_path / "h.html")],
                           env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    assert "variance-minimising ratio" in r.stdout
    assert all(len(line) <= 80 for line in r.stdout.splitlines())
    assert (tmp_path / "h.html").exists()
    r = CliRunner().invoke(app, ["--db", str(bundle_db_path), "hedge", "--miner", str(tmp_path / "nope.toml")])
    assert r.exit_code == 2 and "nope.toml" in r.output
