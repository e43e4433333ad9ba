"""Bad input gives clear errors; summaries agree with exact quantiles; bundle start state."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest
from typer.testing import CliRunner

from hashdesk.cli import app
from hashdesk.economics.fleet import UnknownAsicError
from hashdesk.scenario.engine import ScenarioSpec, StartState, parse_horizon
from hashdesk.scenario.fit import FitOptions, fit_shocks, miner_economics, start_from_state
from hashdesk.scenario.paths import (
    FeeModel,
    GBMPrice,
    HashrateModel,
    ScenarioInputError,
    ShockModel,
    fit_shock_model,
)
from hashdesk.scenario.summary import StreamingHistogram

START = StartState(1_767_052_800, 930_088, 0x17024535, 1_766_634_486, 87_133.51, 1_098.0, 1.87e6)

PROFILE = """
name = "Test miner"
uptime = 0.95
pool_fee = 0.02
[[fleet]]
model = "Antminer S19 Pro"
units = 1000
[[fleet]]
hashrate_ehs = 1.0
efficiency_j_per_th = 17.5
[power]
price_usd_per_kwh = 0.045
"""


def test_scen_negative_volatility():
    with pytest.raises(ScenarioInputError, match="price.vol_per_year: volatility must be >= 0"):
        GBMPrice(0.1, -0.2)
    with pytest.raises(ScenarioInputError, match="hashrate.noise_sd_per_day"):
        HashrateModel(noise_sd_per_day=-1)


def test_scen_horizon_parsing_and_2140_limit():
    assert parse_horizon("2y") == 24 and parse_horizon("18m") == 18 and parse_horizon("6mo") == 6
    for bad in ("0y", "two years", "-3m", "5d"):
        with pytest.raises(ScenarioInputError, match="horizon"):
            parse_horizon(bad)
    ok = ScenarioSpec(START, 12 * 100, GBMPrice(0, 0.5), HashrateModel(), FeeModel(1e6))
    assert ok.n_days > 36_000
    with pytest.raises(ScenarioInputError, match="after the last subsidy era ends"):
        ScenarioSpec(START, 12 * 120, GBMPrice(0, 0.5), HashrateModel(), FeeModel(1e6))


def test_scen_histogram_quantiles_close_to_exact():
    rng = np.random.default_rng(0)
    v = np.column_stack([rng.lognormal(10, 0.6, 20_000), rng.normal(0, 5e5, 20_000), np.full(20_000, 7.0)])
    h = StreamingHistogram(3, 100.0)
    for part in np.array_split(v, 7):
        h.add(part)
    q = h.quantiles((0.05, 0.5, 0.95))
    exact = np.quantile(v, (0.05, 0.5, 0.95), axis=0).T
    assert np.allclose(q[:2], exact[:2], rtol=0.01, atol=2e3)
    assert (q[2] == 7.0).all()


def test_scen_start_state_from_bundle(bundle_desk):
    st = start_from_state(bundle_desk.network_state(date(2025, 12, 29)))
    assert st.tip_height == 930_088  # last block before 2025-12-30 00:00 UTC (consecutive block times)
    assert st.bits == int(bundle_desk.reader(None).scalar("SELECT bits FROM epochs WHERE epoch = 461"))
    assert st.price_usd == pytest.approx(87_133.51, abs=0.01)
    assert 900 < st.hashrate_ehs < 1300
    assert 30 < st.hashprice_usd_per_ph_day < 45
    with pytest.raises(ScenarioInputError, match="no price_usd"):  # no price after Coin Metrics ends
        start_from_state(bundle_desk.network_state(date(2026, 3, 1)))


def test_scen_unknown_asic_model(bundle_desk, tmp_path):
    p = tmp_path / "m.toml"
    p.write_text(PROFILE.replace("Antminer S19 Pro", "Antminer Z99"))
    with pytest.raises(UnknownAsicError, match=r"fleet\[0\].model: unknown ASIC model 'Antminer Z99'"):
        bundle_desk.miner(p)


def test_scen_build_spec_fits_on_bundle(bundle_desk, tmp_path):
    p = tmp_path / "m.toml"
    p.write_text(PROFILE)
    spec_miner = bundle_desk.miner(p)
    miner = miner_economics(spec_miner)
    assert miner.hashrate_ths == pytest.approx(1000 * 110 + 1e6)
    spec, models, state = bundle_desk.scenario_spec(12, None, miner=spec_miner, options=FitOptions(price_model="gbm"))
    assert spec.start.time_unix == state.at_unix and spec.start.price_usd == state.price_usd
    assert 0.3 < models["hashrate"]["growth_per_year"] < 0.7
    assert 0.3 < models["price"]["vol_per_year"] < 0.8
    assert 0.5 < models["fees"]["interval_elasticity"] < 2.0
    assert models["hashrate"]["shocks"]["fit"]["used"].startswith("fitted on 3 shocks")
    with pytest.raises(ScenarioInputError, match="volatility must be >= 0"):
        bundle_desk.scenario_spec(12, None, options=FitOptions(price_model="gbm", vol_per_year=-0.1))


def test_scen_cli_json_and_chart(bundle_db_path, tmp_path):
    p = tmp_path / "m.toml"
    p.write_text(PROFILE)
    chart = tmp_path / "fan.html"
    r = CliRunner().invoke(app, ["--db", str(bundle_db_path), "simulate", "--miner", str(p), "--horizon", "3m",
                                 "-n", "200", "--chunk-size", "100", "--seed", "4", "--format", "json",
                                 "--chart", str(chart)])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["n_scenarios"] == 200 and out["horizon_months"] == 3
    assert 0 <= out["risk"]["p_negative_margin_horizon"] <= 1
    html = chart.read_text()
    assert "plotly" in html.lower() and len(html) > 1_000_000  # Plotly inlined
    assert '<script src="http' not in html


def test_scen_cli_capitulation_says_where_it_comes_from(bundle_db_path):
    """The default cost of the marginal fleet is an assumption and every output says so; the
    flags replace it (25 J/TH x 0.024 x 0.05 USD/kWh x 1000 = 30 USD/PH/day; 30 x 0.06 -> 43.2)."""
    base = ["--db", str(bundle_db_path), "simulate", "--horizon", "1m", "-n", "100"]
    r = CliRunner().invoke(app, [*base, "--format", "json"])
    assert r.exit_code == 0, r.output
    cap = json.loads(r.stdout)["models"]["hashrate"]["capitulation"]
    assert cap["marginal_cost_usd_per_ph_day_at_start"] == pytest.approx(30.0)
    assert cap["source"].startswith("hashdesk's assumption, not a sourced figure")
    r = CliRunner().invoke(app, [*base, "--format", "json", "--capitulation-j-per-th", "30",
                                 "--capitulation-usd-per-kwh", "0.06"])
    assert r.exit_code == 0, r.output
    cap = json.loads(r.stdout)["models"]["hashrate"]["capitulation"]
    assert cap["marginal_cost_usd_per_ph_day_at_start"] == pytest.approx(43.2)
    assert cap["source"] == ("user: marginal fleet 30 J/TH at 0.06 USD/kWh (--capitulation-j-per-th, "
                             "--capitulation-usd-per-kwh; the rest hashdesk's defaults: 10 %/y efficiency gain, "
                             "elasticity 1, 7-day adjustment)")
    r = CliRunner().invoke(app, base)
    assert r.exit_code == 0, r.output
    assert "capitulation below 30.0 USD/PH/day at the start; parameters: hashdesk's assumption" in " ".join(
        r.output.split())
    r = CliRunner().invoke(app, [*base, "--no-capitulation"])
    assert "capitulation: off (--no-capitulation)" in r.output


def test_scen_model_notes_in_words_on_the_dashboard(bundle_desk):
    """The dashboard's scenario panel names what each model was fitted on, in words with units
    (it showed the models' raw dicts, 3,000 characters for the hashrate); values as fitted at
    2025-12-29 (docs/scenario.md, worked example)."""
    from hashdesk.report.sections import scenarios_section

    sec = scenarios_section(bundle_desk, None, 1, 200, 0, None, "bootstrap")
    notes = dict(line.split(":", 1) for line in sec.sources)
    assert list(notes) == ["price", "hashrate", "shocks", "capitulation below 30.0 USD/PH/day at the start; "
                                                          "parameters", "fees per block"]
    assert "half-life 365 d (volatility 0.47/√y); price drift 0 %/y (default; --drift to set)" in notes["price"]
    assert "trend +57.9 %/y" in notes["hashrate"] and "random walk 1.76 %/week" in notes["hashrate"]
    assert "co-movement with the price, ρ = 0.48" in notes["hashrate"]
    assert notes["shocks"].startswith(" 0.76/year, mean depth 18.0 %, 4.0 days")
    assert "^1.02" in notes["fees per block"]
    assert not any("{" in line for line in sec.sources)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--horizon", "200y"], "after the last subsidy era"),
        (["--capitulation-j-per-th", "0"], "--capitulation-j-per-th: must be > 0, got 0"),
        (["--capitulation-usd-per-kwh", "0.06", "--no-capitulation"],
         "--capitulation-usd-per-kwh: not with --no-capitulation"),
        (["--price-model", "gbm", "--vol", "-0.3"], "volatility must be >= 0"),
        (["--executor", "dask", "--scheduler", "tcp://127.0.0.1:9"], "cannot reach the Dask scheduler"),
        (["--miner", "BAD"], "power: Field required"),
    ],
)
def test_scen_cli_bad_input_writes_nothing(bundle_db_path, tmp_path, args, needle):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[fleet]]\nhashrate_ehs = 1.0\nefficiency_j_per_th = 20\n')
    args = [str(bad) if a == "BAD" else a for a in args]
    chart = tmp_path / "fan.html"
    r = CliRunner().invoke(app, ["--db", str(bundle_db_path), "simulate", "-n", "50", "--horizon", "1m",
                                 "--chart", str(chart), *args])
    assert r.exit_code == 2
    assert needle in " ".join(r.output.split())
    assert list(tmp_path.glob("*.html")) == [] and list(tmp_path.glob("*.tmp*")) == []


def test_scen_fit_shock_model_hand_worked():
    m = fit_shock_model(np.array([0.1, 0.2, 0.3]), np.array([2.0, 4.0, 6.0]), years=2.0)
    assert (m.rate_per_year, m.depth_mean, m.duration_days_mean) == (1.5, pytest.approx(0.2), 4.0)
    with pytest.raises(ScenarioInputError, match="need >= 2 detected shocks"):
        fit_shock_model(np.array([0.1]), np.array([3.0]), years=1.0)
    with pytest.raises(ScenarioInputError, match="shocks.depth"):
        fit_shock_model(np.array([0.1, 1.2]), np.array([3.0, 3.0]), years=1.0)


def test_scen_shocks_fitted_on_bundle(bundle_desk):
    """Dec 2022, Jan 2024 and Jun 2025 over ~3.9 searched years (see hashdesk.economics.shocks)."""
    series = bundle_desk.daily_hashrate(date(2021, 1, 1), date(2025, 12, 29))
    model, info = fit_shocks(series, date(2025, 12, 29))
    assert [s["start"] for s in info["shocks"]] == ["2022-12-23", "2024-01-14", "2025-06-22"]
    assert model.rate_per_year == pytest.approx(3 / info["years_searched"])
    assert 0.7 < model.rate_per_year < 0.8
    assert model.depth_mean == pytest.approx(np.mean([s["mean_depth_pct"] for s in info["shocks"]]) / 100)
    assert model.duration_days_mean == 4.0
    short, info_short = fit_shocks(series, date(2023, 6, 30), years=1.0)
    assert short == ShockModel() and "stated defaults" in info_short["used"]
