"""The scenario backtest and the calibrated model's pieces.

* scoring: hand-made values, and a known answer — outcomes drawn from the model itself are
  covered at the nominal rate (within binomial tolerance), a too-narrow model is caught;
* point in time: a start's spec is the same with or without the rows after it, and its backtest
  row does not change when later rows arrive;
* the bundle end to end (``simulate --backtest --format json``): every coverage_90 in
  [0.85, 0.95] but hashprice on day 90 (0.98: one start of 44 outside; docs/scenario.md says why);
* the calibrated defaults: no price drift (a martingale bootstrap), block weights by half-life
  chosen from past forecasts, the hashrate's Kalman-filtered level and drift, the supply
  response (closed form in the engine, recovered from synthetic data), the estimated epoch start.
"""

from __future__ import annotations

import json
import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from tests.test_as_of import cut_store
from typer.testing import CliRunner

from hashdesk.chain.consensus import RETARGET_INTERVAL, difficulty
from hashdesk.cli import app
from hashdesk.desk import Desk
from hashdesk.jsonable import to_jsonable
from hashdesk.scenario.backtest import (
    DEFAULT_TARGETS,
    Target,
    coverage_interval,
    horizon_months,
    month_end_starts,
    realized_targets,
    run_backtest,
    score,
    simulate_targets,
    step_of_day,
    summarize,
)
from hashdesk.scenario.engine import ScenarioSpec, StartState, first_retarget_height
from hashdesk.scenario.fit import (
    EPOCH_START_ESTIMATED,
    FitOptions,
    _kf_level_trend,
    epoch_start_from_daily,
    fit_hashrate_dynamics,
    hashprice_deviation,
    select_price_halflife,
)
from hashdesk.scenario.paths import (
    BootstrapPrice,
    FeeModel,
    GBMPrice,
    HashrateModel,
    ScenarioInputError,
    SupplyResponse,
    age_block_weights,
    center_log_returns,
)

START = StartState(1_767_052_800, 930_088, 0x17024535, 1_766_634_486, 87_133.51, 1_098.0, 1.87e6)


def _model_spec(vol: float = 0.6) -> ScenarioSpec:
    """A spec like the calibrated default: random-walk hashrate with uncertain start and drift."""
    hr = HashrateModel(0.5, noise_sd_per_day=0.009, noise_ar1=1.0, level_sd0=0.03, slope_sd0_per_day=3e-4,
                       level_slope_corr0=0.2, shocks=None, capitulation=None)
    return ScenarioSpec(START, horizon_months(DEFAULT_TARGETS), GBMPrice(0.0, vol), hr, FeeModel(1.87e6, 1.06, 0.3, 0.95))


# -- scoring -----------------------------------------------------------------------------------


def test_scen_backtest_score_hand_values():
    x = np.arange(1.0, 102.0)  # 1..101: numpy's linear quantiles fall on the integers
    rec = score(x, 80.0)
    assert (rec["q05"], rec["q25"], rec["q50"], rec["q75"], rec["q95"]) == (6.0, 26.0, 51.0, 76.0, 96.0)
    assert rec["in_50"] == 0.0 and rec["in_90"] == 1.0
    assert rec["error_pct"] == pytest.approx(100 * (51 / 80 - 1))
    assert rec["pit"] == pytest.approx(79.5 / 101)  # 79 below, one tie counted half
    assert score(np.append(x, np.nan), 51.0)["n_finite"] == 101
    with pytest.raises(ScenarioInputError, match="no scenario reached the target"):
        score(np.full(5, np.nan), 1.0)


def test_scen_backtest_summary_and_interval_known_values():
    rows = pd.DataFrame({"start": [date(2022, m, 1) for m in range(1, 11)], "target": "difficulty_1r",
                         "in_50": [1, 0] * 5, "in_90": [1.0] * 9 + [0.0], "error_pct": [-3, 1, 2, 5, -1, 0, 4, -2, 6, 9],
                         "pit": 0.5})
    s = summarize(rows, DEFAULT_TARGETS[:1])["difficulty_1r"]
    assert (s["n_starts"], s["coverage_50"], s["coverage_90"]) == (10, 0.5, 0.9)
    assert s["median_error"] == 2.5 and s["median_bias"] == 1.5  # |e| sorted 0,1,1,2,2,3,4,5,6,9
    lo, hi = s["coverage_90_interval"]
    assert 0.6 <= lo <= 0.9 <= hi == 1.0
    assert coverage_interval(np.ones(7), 2) == (1.0, 1.0)


def test_scen_backtest_month_end_starts_and_step_of_day():
    assert month_end_starts(date(2023, 11, 15), date(2024, 3, 30)) == [
        date(2023, 11, 30), date(2023, 12, 31), date(2024, 1, 31), date(2024, 2, 29)]
    spec = _model_spec()
    for day in (1, 30, 90, 120):
        k, first, nd = step_of_day(spec, day)
        assert first <= day - 1 < first + nd and spec.grid.first_day[k] == first
    # room for 6 retargets at epochs 60 % slower than two weeks, plus the current one
    assert spec.n_days >= 14 * (1 + 1.6 * 6)
    with pytest.raises(ScenarioInputError, match="outside the horizon"):
        step_of_day(spec, spec.n_days + 1)


def test_scen_backtest_realized_targets_exact_bits_and_step_days():
    spec = _model_spec()
    e1 = first_retarget_height(START.tip_height) // RETARGET_INTERVAL
    bits = {e1: 0x17023A1B, e1 + 2: 0x170229F0, e1 + 5: 0x17021D3C}
    k, first, nd = step_of_day(spec, 30)
    d0 = START.start_date
    days = [d0 + timedelta(days=i) for i in range(120)]
    daily = pd.DataFrame({"hashprice_usd_per_ph_day": np.arange(120, dtype=float),
                          "price_usd": np.nan}, index=days)
    real = realized_targets(spec, DEFAULT_TARGETS, bits, daily)
    assert real["difficulty_1r"] == difficulty(0x17023A1B)  # exact from the compact bits
    assert real["difficulty_3r"] == difficulty(0x170229F0) and real["difficulty_6r"] == difficulty(0x17021D3C)
    assert real["hashprice_30d"] == pytest.approx(np.mean(np.arange(first, first + nd)))
    k90, f90, n90 = step_of_day(spec, 90)
    assert real["hashprice_90d"] == pytest.approx(np.mean(np.arange(f90, f90 + n90)))
    daily.iloc[first] = np.nan  # one missing day of the step: no realised value
    assert realized_targets(spec, DEFAULT_TARGETS, {}, daily)["hashprice_30d"] is None
    price = realized_targets(spec, [Target("p", "days", 30, "price_usd")], bits, daily)
    assert price["p"] is None
    daily["fees_sats_per_block"] = 1e6 + 1e3 * np.arange(120.0)
    fees = realized_targets(spec, [Target("f", "days", 90, "fees_sats_per_block")], bits, daily)
    assert fees["f"] == pytest.approx(1e6 + 1e3 * np.mean(np.arange(f90, f90 + n90)))
    assert Target("f", "days", 90, "fees_sats_per_block").label == "fees per block on day 90 [sats]"
    with pytest.raises(ScenarioInputError, match="not one of hashprice_usd_per_ph_day, price_usd, fees"):
        Target("x", "days", 30, "hashrate_ehs")


def test_scen_backtest_outcomes_from_the_model_are_covered_at_the_nominal_rate():
    """Known answer: with outcomes drawn from the model itself, each outcome is exchangeable with the
    ensemble, so the band [q05, q95] of m = 199 draws (numpy's linear quantiles: order statistics
    10.9 .. 189.1) covers it with probability 178.2/200 = 0.891 and [q25, q75] with 99/200; the
    PITs are uniform. A model with half the price volatility is caught."""
    n_starts, m = 160, 199
    spec = _model_spec()
    sims = simulate_targets(spec, DEFAULT_TARGETS, n_starts * (m + 1), np.random.SeedSequence(11))
    narrow = simulate_targets(_model_spec(vol=0.3), DEFAULT_TARGETS[3:], n_starts * m, np.random.SeedSequence(12))
    for t in DEFAULT_TARGETS:
        v = sims[t.key].reshape(n_starts, m + 1)
        recs = [score(v[i, 1:], v[i, 0]) for i in range(n_starts)]
        cov90 = np.mean([r["in_90"] for r in recs])
        cov50 = np.mean([r["in_50"] for r in recs])
        assert abs(cov90 - 0.891) < 3 * math.sqrt(0.9 * 0.1 / n_starts), (t.key, cov90)
        assert abs(cov50 - 0.495) < 3 * math.sqrt(0.25 / n_starts), (t.key, cov50)
        assert stats.kstest([r["pit"] for r in recs], "uniform").pvalue > 0.001, t.key
        if t.kind == "days":  # outcomes from the model, bands from a model with half the volatility
            w = narrow[t.key].reshape(n_starts, m)
            caught = np.mean([score(w[i], v[i, 0])["in_90"] for i in range(n_starts)])
            assert caught < 0.75, (t.key, caught)


def test_scen_backtest_run_skips_starts_it_cannot_build():
    spec = _model_spec()

    def spec_for(day: date):
        if day.month == 2:
            raise ScenarioInputError("start: no data")
        return spec, {"price": {"drift": "price drift 0 %/y (default; --drift to set)"}}

    e1 = first_retarget_height(START.tip_height) // RETARGET_INTERVAL
    days = [START.start_date + timedelta(days=i) for i in range(200)]
    daily = pd.DataFrame({"hashprice_usd_per_ph_day": 40.0, "price_usd": 9e4}, index=days)
    res = run_backtest([date(2025, 1, 31), date(2025, 2, 28)], spec_for, {e1 + 0: START.bits}, daily,
                       scenarios=200, seed=3)
    assert res.skipped_starts == [date(2025, 2, 28)]
    assert sorted(s["target"] for s in res.skipped if "target" in s) == ["difficulty_3r", "difficulty_6r"]
    assert set(res.rows.target) == {"difficulty_1r", "hashprice_30d", "hashprice_90d"}
    with pytest.raises(ScenarioInputError, match=">= 100 scenarios"):
        run_backtest([], spec_for, {}, daily, scenarios=50)


# -- point in time (bundle) ----------------------------------------------------------------------


def test_scen_backtest_is_point_in_time(bundle_db_path, tmp_path):
    """A start's spec is identical from a store cut at the start (nothing later) and from the full
    store; its backtest row is identical from a store cut months later and from the full store."""
    start, later = "2023-03-31", "2023-09-30"
    at_start, cut_later = tmp_path / "start.duckdb", tmp_path / "later.duckdb"
    cut_store(bundle_db_path, at_start, start)
    cut_store(bundle_db_path, cut_later, later)
    months = horizon_months(DEFAULT_TARGETS)
    with Desk(bundle_db_path) as full, Desk(at_start) as cut:
        a, ma, _ = full.scenario_spec(months, start)
        b, mb, _ = cut.scenario_spec(months, start)
    assert a.start == b.start and json.dumps(to_jsonable(ma)) == json.dumps(to_jsonable(mb))
    assert np.array_equal(a.price.log_returns, b.price.log_returns) and a.hashrate == b.hashrate
    rows = []
    for path in (bundle_db_path, cut_later):
        with Desk(path) as desk:
            rows.append(desk.scenario_backtest(starts=[date.fromisoformat(start)], scenarios=300, seed=5).rows)
    assert len(rows[0]) == 5
    pd.testing.assert_frame_equal(rows[0], rows[1])


# -- the bundle end to end ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_backtest(bundle_db_path) -> dict:
    r = CliRunner().invoke(app, ["--db", str(bundle_db_path), "simulate", "--backtest", "--format", "json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("horizon", ["difficulty_1r", "difficulty_3r", "difficulty_6r", "hashprice_30d",
                                     "hashprice_90d"])
def test_scen_backtest_bundle_coverage_90_is_calibrated(cli_backtest, horizon):
    """The issue's command as written (seed 0, 2,000 scenarios per start); hashprice on day 90 is
    0.932 here and 0.955 at seed 1 (two starts sit at PIT 0.945-0.952): docs/scenario.md."""
    h = cli_backtest["horizons"][horizon]
    assert {"coverage_50", "coverage_90", "median_error"} <= set(h)
    assert h["n_starts"] >= 44
    assert 0.85 <= h["coverage_90"] <= 0.95, h


@pytest.mark.slow
def test_scen_backtest_bundle_json_shape_and_50_bands(cli_backtest):
    out = cli_backtest
    assert set(out["horizons"]) == {t.key for t in DEFAULT_TARGETS}
    assert out["settings"]["price_drift"] == "price drift 0 %/y (default; --drift to set)"
    assert out["settings"]["capitulation"].startswith("hashdesk's assumption, not a sourced figure")
    assert out["settings"]["starts"][0] == "2022-01-31" and not [s for s in out["skipped"] if "target" not in s]
    for key, h in out["horizons"].items():
        assert 0.40 <= h["coverage_50"] <= 0.62, (key, h)  # 0.42-0.56 at seed 0, 2,000 scenarios (the default)
        assert h["median_error"] > 0
    assert out["horizons"]["difficulty_1r"]["median_error"] < out["horizons"]["difficulty_6r"]["median_error"]


def test_scen_backtest_cli_csv_and_bad_input(bundle_db_path):
    runner = CliRunner()
    r = runner.invoke(app, ["--db", str(bundle_db_path), "simulate", "--backtest", "-n", "200", "--from",
                            "2024-01-31", "--to", "2024-02-29", "--format", "csv"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.strip().splitlines()
    assert lines[0].startswith("horizon,") and len(lines) == 6
    assert "coverage_90" in lines[0] and "median_error" in lines[0]
    r = runner.invoke(app, ["--db", str(bundle_db_path), "simulate", "--backtest", "--miner", "x.toml"])
    assert r.exit_code == 2 and "does not apply to --backtest" in r.output
    r = runner.invoke(app, ["--db", str(bundle_db_path), "simulate", "--backtest", "--from", "2024-05-31",
                            "--to", "2024-01-31"])
    assert r.exit_code == 2 and "is before --from" in r.output
    r = runner.invoke(app, ["--db", str(bundle_db_path), "simulate", "--to", "2024-01-31"])
    assert r.exit_code == 2 and "apply to --backtest only" in r.output


# -- the calibrated defaults ---------------------------------------------------------------------


def test_scen_default_price_has_no_drift(bundle_desk):
    _, m, _ = bundle_desk.scenario_spec(3, "2024-03-31")
    assert m["price"]["drift_per_year"] == pytest.approx(0.0, abs=1e-12)
    assert m["price"]["drift"] == "price drift 0 %/y (default; --drift to set)"
    _, g, _ = bundle_desk.scenario_spec(3, "2024-03-31", options=FitOptions(price_model="gbm"))
    assert g["price"]["drift_per_year"] == 0.0
    _, h, _ = bundle_desk.scenario_spec(3, "2024-03-31", options=FitOptions(drift_per_year="history"))
    assert h["price"]["drift_per_year"] > 0.1  # 2020-2024 rose
    _, s, _ = bundle_desk.scenario_spec(3, "2024-03-31", options=FitOptions(drift_per_year=0.1))
    assert s["price"]["drift_per_year"] == pytest.approx(0.1, abs=1e-9)
    assert s["price"]["drift"] == "price drift 10 %/y (set)"


def test_scen_center_log_returns_gives_a_martingale():
    r = np.random.default_rng(2).standard_t(3, 900) * 0.03 + 0.002
    w = np.random.default_rng(3).random(900)
    for weights in (None, w / w.sum()):
        c = center_log_returns(r, 0.0, weights)
        ww = np.full(900, 1 / 900) if weights is None else weights
        assert float(ww @ np.exp(c)) == pytest.approx(1.0, abs=1e-13)
        assert np.allclose(np.diff(c), np.diff(r))  # only moved, not reshaped
    c = center_log_returns(r, 0.2)
    assert np.mean(np.exp(c)) == pytest.approx(math.exp(0.2 / 365), abs=1e-13)
    # the bootstrap draws the days near the sample's ends less often: centre with its day weights
    dw = BootstrapPrice(r, 30).day_weights
    assert BootstrapPrice(center_log_returns(r, 0.0, dw), 30).drift_per_year == pytest.approx(0.0, abs=1e-10)


def test_scen_age_block_weights_halve_per_halflife():
    ages = np.arange(400, 0, -1, dtype=float) - 1  # oldest first, the last return is 0 days old
    w = age_block_weights(ages, 30, 100.0)
    assert w.size == 400 - 30 + 1 and w[-1] == 1.0
    assert w[-101] == pytest.approx(0.5) and w[-201] == pytest.approx(0.25)
    assert age_block_weights(ages, 30, None) is None and age_block_weights(ages, 30, math.inf) is None
    b = BootstrapPrice(np.ones(400) * 0.01, 30, block_weights=w)
    assert b.day_weights.sum() == pytest.approx(1.0) and b.day_weights[-1] > b.day_weights[0]


def _synthetic_prices(vols: list[tuple[int, float]], seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    r = np.concatenate([rng.standard_normal(n) * v for n, v in vols])
    days = pd.date_range("2014-01-01", periods=r.size + 1, freq="D")
    return pd.DataFrame({"date": days.date, "close": 1e4 * np.exp(np.concatenate([[0], np.cumsum(r)])),
                         "source": "synthetic"})


def test_scen_select_price_halflife_follows_a_volatility_regime():
    calm_after_wild = _synthetic_prices([(365 * 7, 0.05), (365 * 2, 0.015)])
    end = pd.Timestamp(calm_after_wild.date.iloc[-1]).date()
    hl, info = select_price_halflife(calm_after_wild, end, 4.0)
    assert hl <= 365 and "log_score" in info
    steady = _synthetic_prices([(365 * 9, 0.03)])
    hl, _ = select_price_halflife(steady, pd.Timestamp(steady.date.iloc[-1]).date(), 4.0)
    assert hl >= 730
    short = _synthetic_prices([(200, 0.03)])
    assert select_price_halflife(short, pd.Timestamp(short.date.iloc[-1]).date(), 4.0)[0] == math.inf


def _synthetic_network(weeks: int, beta: float, sigma: float, gamma: float = 0.0, lag: int = 0,
                       seed: int = 6) -> tuple[pd.DataFrame, date]:
    """Daily rows whose weekly log mean hashrate follows the fitted model exactly: a random walk with
    drift ``beta`` and sd ``sigma`` per week plus ``gamma`` times the hashprice deviation ``lag`` weeks
    before, observed with the Poisson variance of 1,008 blocks; log hashprice is a random walk."""
    rng = np.random.default_rng(seed)
    lhp = np.log(50.0) + np.cumsum(rng.standard_normal(weeks) * 0.08)
    z, _ = hashprice_deviation(lhp)
    zz = np.nan_to_num(z)
    lev = np.empty(weeks)
    lev[0] = math.log(500.0)
    for w in range(weeks - 1):
        x = zz[w - lag] if w - lag >= 0 else 0.0
        lev[w + 1] = lev[w] + beta + gamma * x + sigma * rng.standard_normal()
    y = lev + rng.standard_normal(weeks) / math.sqrt(1008)
    end = date(2025, 6, 30)
    days = [end - timedelta(days=7 * weeks - 1 - i) for i in range(7 * weeks)]
    frame = pd.DataFrame({"date": days, "hashrate_ehs": np.repeat(np.exp(y), 7), "blocks": 144,
                          "hashprice_usd_per_ph_day": np.repeat(np.exp(lhp), 7)})
    return frame, end


@settings(max_examples=40, deadline=None)
@given(n=st.integers(3, 120), seed=st.integers(0, 2**32 - 1), gap=st.floats(0.0, 0.4),
       log_q=st.floats(-12.0, -2.0))
def test_scen_kalman_compiled_equals_its_python_source(n, seed, gap, log_q):
    """The compiled filter gives the likelihood and last state of its own Python source exactly
    (same IEEE operations in the same order), with weeks missing at random."""
    rng = np.random.default_rng(seed)
    y = np.cumsum(rng.normal(0.01, 0.02, n)) + rng.normal(0.0, 0.005, n)
    y[rng.random(n) < gap] = np.nan
    r = rng.uniform(1e-6, 1e-4, n)
    u = rng.normal(0.0, 0.003, n)
    got = _kf_level_trend(y, r, u, math.exp(log_q))
    want = _kf_level_trend.py_func(y, r, u, math.exp(log_q))
    assert got[1] == want[1]
    np.testing.assert_allclose([got[0], *got[2]], [want[0], *want[2]], rtol=1e-12, atol=1e-300)


def test_scen_kalman_random_walk_without_noise_has_closed_form_likelihood():
    """Observed without noise (r -> 0) the filter is the conjugate normal update of the drift:
    with prior N(0, P0) (P0 = the filter's "diffuse" variance, 1) and k earlier weekly changes the
    drift's posterior is N(m_k, s_k), s_k = 1 / (1/P0 + k/q), m_k = s_k · Σ changes / q; each later
    change's prediction error is d_k − m_k with variance q + s_k (Durbin & Koopman 2012, §2.2)."""
    from hashdesk.scenario.fit import _DIFFUSE

    q = 0.02**2
    d = np.array([0.03, -0.01, 0.02, 0.05, 0.0])
    y = np.concatenate([[0.0], np.cumsum(d)])
    ll, n, (lev, beta, *_rest) = _kf_level_trend(y, np.full(y.size, 1e-14), np.zeros(y.size), q)

    def posterior(k: int) -> tuple[float, float]:
        s_k = 1.0 / (1.0 / _DIFFUSE + k / q)
        return s_k * d[:k].sum() / q, s_k

    want = 0.0
    for k in range(1, d.size):
        m_k, s_k = posterior(k)
        v, f = d[k] - m_k, q + s_k
        want -= 0.5 * (math.log(2.0 * math.pi * f) + v * v / f)
    assert n == d.size - 1
    assert lev == pytest.approx(y[-1], abs=1e-9)
    assert beta == pytest.approx(posterior(d.size)[0], rel=1e-9)
    assert ll == pytest.approx(want, rel=1e-9)


def test_scen_fit_hashrate_dynamics_recovers_drift_and_noise():
    beta, sigma = 0.01, 0.02
    net, end = _synthetic_network(156, beta, sigma)
    kw, info = fit_hashrate_dynamics(net, end, 500.0, days=7 * 156, response=False)
    assert info["level_sd_per_week"] == pytest.approx(sigma, rel=0.35)
    assert abs(info["drift_per_week"] - beta) < 3 * info["drift_sd_per_week"]
    assert kw["growth_per_year"] == pytest.approx(math.expm1(info["drift_per_week"] / 7 * 365))
    assert kw["noise_sd_per_day"] == pytest.approx(info["level_sd_per_week"] / math.sqrt(7))
    assert kw["noise_ar1"] == 1.0 and kw["response"] is None and 0 < kw["level_sd0"] < 0.05
    assert info["response"]["used"] == "off (option)"
    with pytest.raises(ScenarioInputError, match="need >= 6"):
        fit_hashrate_dynamics(net, end, 500.0, days=30)


def test_scen_fit_supply_response_recovers_lag_and_sign():
    net, end = _synthetic_network(208, 0.005, 0.006, gamma=0.08, lag=4)
    kw, info = fit_hashrate_dynamics(net, end, 500.0, days=7 * 208)
    resp = kw["response"]
    assert resp is not None and resp.lag_days == 7 * 4 + 3.5
    assert resp.gamma_per_day * 7 == pytest.approx(0.08, rel=0.35)
    assert len(resp.z_history) == math.ceil(resp.lag_days) + 7
    flat, end = _synthetic_network(208, 0.005, 0.006, gamma=0.0)
    kw0, info0 = fit_hashrate_dynamics(flat, end, 500.0, days=7 * 208)
    assert kw0["response"] is None or kw0["response"].gamma_per_day * 7 < 0.02
    short, end = _synthetic_network(40, 0.005, 0.006)
    assert "need >= 52" in fit_hashrate_dynamics(short, end, 500.0, days=280)[1]["response"]["used"]


@pytest.mark.parametrize("c", [0.3, -0.2])
def test_scen_supply_response_closed_form_both_directions(c):
    """Noise off: a step's mean hashrate is the trend's times ``exp(γc(d₀ + (n+1)/2))`` while the lag
    reaches back into the history (deviation ``c``): up when hashprice was high, down when low."""
    gamma, g = 0.002, 0.4
    resp = SupplyResponse(gamma, lag_days=300, ref_days=91.0, ref0=math.log(40.0), z_history=(c,) * 307)
    hr = HashrateModel(g, noise_sd_per_day=0.0, shocks=None, capitulation=None, response=resp)
    spec = ScenarioSpec(START, 6, GBMPrice(0, 0), hr, FeeModel(1e6, 1.0, 0.0, 0.5))
    grid = spec.grid
    state = hr.init(3, np.random.default_rng(0))
    r = math.log1p(g) / 365
    for k in range(grid.n_days.size):
        f, n = int(grid.first_day[k]), int(grid.n_days[k])
        rel = hr.advance(state, f, grid.calendar_month[k], np.full(3, 40.0), np.random.default_rng(1))
        trend = math.exp(r * f) * np.exp(r * np.arange(n)).mean()
        expected = trend * math.exp(gamma * c * (f + (n + 1) / 2))
        assert rel == pytest.approx(np.full(3, expected), rel=1e-12)
        assert bool((rel > trend).all()) == (c > 0)


def test_scen_supply_response_uses_the_simulated_hashprice_after_the_lag():
    """With a 3.5-day lag a step responds to the previous step's deviation from the reference."""
    gamma = 0.01
    resp = SupplyResponse(gamma, lag_days=3.5, ref_days=91.0, ref0=math.log(40.0), z_history=(0.0,) * 11)
    hr = HashrateModel(0.0, noise_sd_per_day=0.0, shocks=None, capitulation=None, response=resp)
    state = hr.init(2, np.random.default_rng(0))
    months = np.ones(7, dtype=np.int64)
    assert hr.advance(state, 0, months, np.full(2, 40.0), None) == pytest.approx(1.0)
    rel = hr.advance(state, 7, months, np.array([40.0, 80.0]), None)  # step 0's hashprice: 40 and 80
    z = np.array([0.0, math.log(2.0)])
    assert rel == pytest.approx(np.exp(gamma * z * 4.0), rel=1e-12)  # (n + 1)/2 = 4 days of growth
    ref = math.log(40.0) + (-math.expm1(-7 / 91.0)) * z
    assert state["resp_ref"] == pytest.approx(ref)


def test_scen_start_level_and_slope_draws():
    hr = HashrateModel(0.0, noise_sd_per_day=0.0, noise_ar1=1.0, shocks=None, capitulation=None, level_offset0=0.02,
                       level_sd0=0.03, slope_sd0_per_day=1e-3, level_slope_corr0=0.5)
    state = hr.init(200_000, np.random.default_rng(8))
    x, s = state["x"], state["slope"]
    assert x.mean() == pytest.approx(0.02, abs=3e-4) and x.std() == pytest.approx(0.03, rel=0.01)
    assert s.std() == pytest.approx(1e-3, rel=0.01) and np.corrcoef(x, s)[0, 1] == pytest.approx(0.5, abs=0.01)
    rel = hr.advance(state, 10, np.ones(8, dtype=np.int64), np.full(x.size, 40.0), np.random.default_rng(9))
    expected = np.exp(x + s * (10 + 3.5) + s * s * (63 / 24))
    assert rel == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ScenarioInputError, match="level_slope_corr0"):
        HashrateModel(level_slope_corr0=1.5)


def test_scen_epoch_start_from_daily_on_bundle(bundle_desk):
    i = bundle_desk.inputs(bundle_desk.data_end_unix + 1)
    exact = i.epochs.dropna(subset=["start_time"])
    checked = 0
    for e in (380, 400, 420, 430, 436, 440, 457):
        t = epoch_start_from_daily(i.daily, e)
        true = float(exact.loc[exact.epoch == e, "start_time"].iloc[0])
        assert abs(t - true) < 3 * 3600, e  # within about an hour or two (Coin Metrics' day split)
        checked += 1
    assert checked == 7
    spec, _, state = bundle_desk.scenario_spec(3, "2025-06-30")  # epoch 448: no header time in the store
    assert state.epoch_start_time is None
    assert EPOCH_START_ESTIMATED + " within its retarget day" in spec.start.source
    assert spec.start.epoch_first_time_unix == epoch_start_from_daily(i.daily, 448)


def test_scen_hashrate_fit_falls_back_to_the_trend_model_early_in_the_data(bundle_desk):
    _, m, _ = bundle_desk.scenario_spec(3, "2022-01-10")  # 4 complete weeks of Coin Metrics days
    assert m["hashrate"]["model"] == "trend" and "needs >= 6" in m["hashrate"]["fit"]["used"]
    _, m, _ = bundle_desk.scenario_spec(3, "2022-01-31")
    assert m["hashrate"]["model"] == "state-space" and m["hashrate"]["noise_ar1"] == 1.0
