"""The storm's next-epoch effect against the counterfactual retarget, and mine vs curtail."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from hashdesk.chain.consensus import block_work
from hashdesk.cli import app
from hashdesk.economics.fleet import Fleet, FleetLine
from hashdesk.economics.modelchain import MinerSpec
from hashdesk.economics.production import build_schedule
from hashdesk.economics.shocks import (
    Shock,
    ShockError,
    mine_or_curtail,
    parse_power_prices,
    read_power_prices,
)

BITS_409, BITS_410 = 0x1703D869, 0x1704005A
PROFILES = "examples/profiles"


# -- the windfall against the counterfactual --------------------------------------------------


@pytest.fixture(scope="module")
def storm(bundle_db_path):
    from hashdesk.desk import Desk

    with Desk(bundle_db_path) as desk:
        return desk.shocks(date(2024, 1, 1), date(2024, 2, 15), miner_ehs=10.0).effects[0]


def test_windfall_against_the_counterfactual_retarget(storm):
    """Epoch 410 for 10 EH/s: 9.68 BTC against no difficulty change, 11.04 BTC against the
    +0.58 % the retarget would have been without the storm's 15.6 lost hours (actual −3.90 %)."""
    e = storm
    assert round(e.retarget_change_pct, 2) == -3.90 and round(e.counterfactual_change_pct, 2) == 0.58
    assert round(e.windfall_btc, 2) == 9.68
    assert round(e.windfall_vs_counterfactual_btc, 2) == 11.04
    # by hand: both are E_after × (1 − work_after / work_reference)
    w0, w1, wcf = block_work(BITS_409), block_work(BITS_410), block_work(e.counterfactual_bits)
    e_after = e.windfall_btc / (1 - w1 / w0)
    assert e.windfall_vs_counterfactual_btc == pytest.approx(e_after * (1 - w1 / wcf), rel=1e-12)
    assert e_after == pytest.approx(e.btc_per_ph_day_epoch_after * 1e4 * e.epoch_after_days, rel=1e-12)
    assert any("curtailed in the storm" in n for n in e.notes)
    rows = {r["component"]: r for r in e.to_rows()}
    key = next(k for k in rows if k.startswith("next-epoch effect"))
    assert rows[key]["during / after"] == e.windfall_vs_counterfactual_btc
    assert "curtailed in the storm or not" in rows[key]["note"]


# -- mine or curtail, by hand -------------------------------------------------------------------

#: A 2-day shock on a synthetic chain: epoch from t = 0 at BITS_409, subsidy 50 BTC (height 0), no fees.
SHOCK = Shock(date(1970, 1, 2), date(1970, 1, 3), 2, 500.0, date(1970, 1, 2), 400.0, 100.0, 20.0,
              400.0, 200.0, 120_000.0, 25.0)
NET = build_schedule(
    pd.DataFrame({"first_height": [0], "bits": [BITS_409], "start_unix": [0]}),
    pd.DataFrame({"date": pd.to_datetime(["1970-01-02", "1970-01-03"]), "blk_cnt": [144, 144],
                  "fee_tot_btc": [0.0, 0.0]}))
HB = 86_400e12 / block_work(BITS_409) * 50.0  # BTC per TH/s per day
PRICES = {date(1970, 1, 2): 0.05 / HB, date(1970, 1, 3): 0.05 / HB}  # hashprice 50 USD/PH/day
#: 1 EH/s, 20 J/TH, always up, 5 ¢/kWh power, 1 ¢/kWh hosting, 2 % pool fee.
MINER = MinerSpec("m", Fleet((FleetLine("m", None, 1e6, 20_000.0, 20.0, "t"),)), 1.0, 0.05,
                  hosting_usd_per_kwh=0.01, pool_fee=0.02)
REV_H = 1e6 * 0.05 * 0.98 / 24  # 2,041.67 USD per hour after the pool fee
E_H = 1e6 * 20 * 0.024 / 24  # 20,000 kWh per hour


def _series(high=0.20, low=0.03, n_high=6):
    """Hourly prices: the first ``n_high`` hours of the shock at ``high``, the rest at ``low``."""
    t0 = 86_400
    idx = np.arange(t0, t0 + 48 * 3600, 3600)
    return pd.Series([high] * n_high + [low] * (48 - n_high), index=idx, name="test prices")


def test_fixed_price_by_hand():
    d = mine_or_curtail(MINER, SHOCK, NET, PRICES, dr_usd=4_800.0)
    assert d.hours == 48 and d.energy_mwh == pytest.approx(960.0)
    assert d.mine_revenue_usd == pytest.approx(48 * REV_H, rel=1e-9)
    assert d.mine_btc == pytest.approx(1e6 * HB * 2 * 0.98, rel=1e-9)
    assert d.mine_power_cost_usd == pytest.approx(48_000.0) and d.mine_hosting_usd == pytest.approx(9_600.0)
    assert d.mine_usd == pytest.approx(48 * (REV_H - 1_200.0), rel=1e-9)  # 40,400
    assert d.curtail_usd == pytest.approx(4_800.0) and d.curtail_avoided_power_usd == pytest.approx(48_000.0)
    assert d.better == "mine" and d.best_hours_curtailed == 0
    # curtailing pays above (revenue − hosting − DR) / energy = (98,000 − 9,600 − 4,800) / 960,000
    assert d.breakeven_power_usd_per_kwh == pytest.approx(83_600 / 960_000, rel=1e-9)


def test_resale_series_by_hand():
    """Contract price paid in both branches; curtailed energy sold at the hour's price. Six
    hours at 20 ¢: curtailing earns 4,000 − 1,000 + 100 = 3,100 vs mining 841.67 per hour."""
    d = mine_or_curtail(MINER, SHOCK, NET, PRICES, _series(), "resale", dr_usd=4_800.0)
    mine_h = REV_H - 200.0 - 1_000.0
    assert d.mine_usd == pytest.approx(48 * mine_h, rel=1e-9)
    assert d.curtail_power_credit_usd == pytest.approx(6 * 4_000.0 + 42 * 600.0)
    assert d.curtail_power_cost_usd == pytest.approx(48_000.0)
    assert d.curtail_usd == pytest.approx(6 * 3_100.0 + 42 * -300.0)  # 6,000
    assert d.best_hours_curtailed == 6
    assert d.best_usd == pytest.approx(6 * 3_100.0 + 42 * mine_h, rel=1e-9)  # 53,950


def test_spot_series_and_availability_credits_by_hand():
    spot = mine_or_curtail(MINER, SHOCK, NET, PRICES, _series(), "spot", dr_usd=4_800.0)
    assert spot.mine_usd == pytest.approx(6 * (REV_H - 200 - 4_000) + 42 * (REV_H - 200 - 600), rel=1e-9)
    assert spot.curtail_usd == pytest.approx(4_800.0)
    assert spot.best_hours_curtailed == 6
    # the decision does not depend on the basis: curtail − mine is the same hour by hour
    res = mine_or_curtail(MINER, SHOCK, NET, PRICES, _series(), "resale", dr_usd=4_800.0)
    assert spot.curtail_usd - spot.mine_usd == pytest.approx(res.curtail_usd - res.mine_usd, rel=1e-9)
    avail = mine_or_curtail(MINER, SHOCK, NET, PRICES, dr_usd=4_800.0, dr_basis="availability")
    assert avail.mine_dr_usd == pytest.approx(4_800.0) and avail.mine_usd == pytest.approx(48 * (REV_H - 1_100.0))
    assert avail.breakeven_power_usd_per_kwh == pytest.approx(88_400 / 960_000, rel=1e-9)
    d = mine_or_curtail(MINER, SHOCK, NET, PRICES, dr_usd=0.0, next_epoch_btc=2.0, next_epoch_price_usd=40_000.0)
    rows = {r["line"]: r for r in d.to_rows()}
    assert rows["next-epoch effect (shared)"]["mine"] == rows["next-epoch effect (shared)"]["curtail"] == 80_000.0
    with pytest.raises(ShockError, match="power_basis"):
        mine_or_curtail(MINER, SHOCK, NET, PRICES, _series(), "index")
    with pytest.raises(ShockError, match="dr_basis"):
        mine_or_curtail(MINER, SHOCK, NET, PRICES, dr_basis="sometimes")


@settings(max_examples=50, deadline=None)
@given(prices=st.lists(st.floats(-0.05, 1.0), min_size=48, max_size=48), dr=st.floats(0, 1e5),
       basis=st.sampled_from(["resale", "spot"]), dr_basis=st.sampled_from(["curtailment", "availability"]))
def test_curtail_minus_mine_is_the_energy_value_identity(prices, dr, basis, dr_basis):
    """Σ_h curtail − mine = Σ E_h·s_h + DR (if it moves) − revenue + hosting, and the hourly
    choice is never worse than either branch throughout."""
    s = pd.Series(prices, index=np.arange(86_400, 86_400 + 48 * 3600, 3600), name="p")
    d = mine_or_curtail(MINER, SHOCK, NET, PRICES, s, basis, dr, dr_basis)
    moving = dr if dr_basis == "curtailment" else 0.0
    expect = E_H * float(np.sum(prices)) + moving - d.mine_revenue_usd + d.mine_hosting_usd
    assert d.curtail_usd - d.mine_usd == pytest.approx(expect, rel=1e-9, abs=1e-6)
    assert d.best_usd >= max(d.mine_usd, d.curtail_usd) - 1e-6


def test_power_price_files(tmp_path):
    p = tmp_path / "p.csv"
    p.write_text("date,hour,usd_per_kwh\n1970-01-02,0,0.05\n1970-01-02,24,0.05\n")
    with pytest.raises(ShockError, match=r"row 2, field 'hour'"):
        read_power_prices(p)
    p.write_text("date,hour,usd_per_kwh\n1970-01-02,0,0.05\n1970-01-02,0,0.06\n")
    with pytest.raises(ShockError, match="row 2: hour 1970-01-02 00:00 given twice"):
        read_power_prices(p)
    p.write_text("date,hour,price\n1970-01-02,0,0.05\n")
    with pytest.raises(ShockError, match="missing column"):
        read_power_prices(p)
    p.write_text("date,hour,usd_per_kwh\n1970-01-02,0,abc\n")
    with pytest.raises(ShockError, match=r"row 1, field 'usd_per_kwh'"):
        read_power_prices(p)
    with pytest.raises(ShockError, match="no such power-price file"):
        read_power_prices(tmp_path / "none.csv")
    short = parse_power_prices(pd.DataFrame({"date": ["1970-01-02"] * 24, "hour": range(24),
                                             "usd_per_kwh": [0.05] * 24}), "short.csv")
    with pytest.raises(ShockError, match="short.csv: no price for 1970-01-03 00:00 UTC"):
        mine_or_curtail(MINER, SHOCK, NET, PRICES, short)


# -- the Riot-style fleet in the January 2024 storm (bundle) -------------------------------------


@pytest.fixture(scope="module")
def riot_jan(bundle_db_path):
    from hashdesk.desk import Desk

    with Desk(bundle_db_path) as desk:
        miner = desk.miner(f"{PROFILES}/riot_style_2024_03.toml")
        rep, dec = desk.shocks_mine_or_curtail(date(2024, 1, 1), date(2024, 2, 15), miner)
        return miner, rep, dec


def test_riot_style_fleet_in_the_january_2024_storm(riot_jan):
    """8.68 EH/s online (12.4 × 0.70) at 25 J/TH and 3.5 ¢/kWh through 2024-01-14..17 (96 h)."""
    miner, rep, (d,) = riot_jan
    e = rep.effects[0]
    assert d.online_hashrate_ehs == pytest.approx(8.68)
    assert d.energy_mwh == pytest.approx(8.68e6 * 25 * 0.024 * 4 / 1000)  # 20,832 MWh
    # the hourly model chain reproduces the split's BTC (window_stats, a different path)
    assert d.mine_btc == pytest.approx(e.btc_forgone_if_curtailed, rel=1e-9)
    assert round(d.mine_btc, 2) == 70.55
    assert round(d.mine_revenue_usd, -3) == 3_002_000
    assert d.mine_power_cost_usd == pytest.approx(20_832_000 * 0.035)
    assert round(d.mine_usd, -3) == 2_273_000
    assert d.curtail_usd == pytest.approx(9.6e6 * 4 / 365)  # the credits, pro rata
    assert round(d.breakeven_power_usd_per_kwh, 4) == 0.1391
    assert d.better == "mine"
    # the shared next-epoch effect is the 10 EH/s figure scaled to 8.68 EH/s
    assert d.next_epoch_btc == pytest.approx(e.windfall_vs_counterfactual_btc)
    assert round(d.next_epoch_btc, 2) == round(11.0445 * 0.868, 2)
    assert 40_000 < d.next_epoch_price_usd < 44_000


def test_shocks_cli_mine_vs_curtail_with_a_price_series(bundle_db_path, tmp_path):
    """Six hours of 2024-01-15 at 50 ¢/kWh (above the ~14 ¢ breakeven), the rest at 2 ¢: the
    hour-by-hour choice curtails exactly those six hours and sells 6 × 217 MWh back."""
    hours = pd.date_range("2024-01-14", "2024-01-17 23:00", freq="h")
    price = [0.50 if (h.date() == date(2024, 1, 15) and 16 <= h.hour < 22) else 0.02 for h in hours]
    f = tmp_path / "ercot_like.csv"
    pd.DataFrame({"date": hours.strftime("%Y-%m-%d"), "hour": hours.hour, "usd_per_kwh": price}).to_csv(f, index=False)
    r = CliRunner().invoke(app, ["--db", str(bundle_db_path), "shocks", "--from", "2024-01-01", "--to", "2024-02-15",
                                 "--profile", f"{PROFILES}/riot_style_2024_03.toml", "--power-prices", str(f),
                                 "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    d = out["mine_or_curtail"][0]
    assert d["best_hours_curtailed"] == 6 and d["power_basis"] == "resale"
    e_h = 8.68e6 * 25 * 0.024 / 24  # kWh per hour
    assert d["curtail_power_credit_usd"] == pytest.approx(e_h * (6 * 0.50 + 90 * 0.02))
    assert d["best_usd"] > d["mine_usd"] > d["curtail_usd"]
    assert out["effects"][0]["windfall_vs_counterfactual_btc"] == pytest.approx(d["next_epoch_btc"])
    bad = CliRunner().invoke(app, ["--db", str(bundle_db_path), "shocks", "--from", "2024-01-01", "--to",
                                   "2024-02-15", "--power-prices", str(f)])
    assert bad.exit_code == 2 and "need --profile" in bad.output
    table = CliRunner().invoke(app, ["--db", str(bundle_db_path), "shocks", "--from", "2024-01-01", "--to",
                                     "2024-02-15", "--profile", f"{PROFILES}/riot_style_2024_03.toml"])
    assert table.exit_code == 0 and "mine or curtail" in " ".join(table.output.split())


def test_shocks_cli_profile_alone_searches_the_whole_series(bundle_db_path):
    """`hashdesk shocks --profile P` (no dates): the whole Coin Metrics series is searched; every
    shock the store can value gets mine vs curtail, the 2024-01 storm as in a dated search."""
    prof = f"{PROFILES}/riot_style_2024_03.toml"
    r = CliRunner().invoke(app, ["--db", str(bundle_db_path), "shocks", "--profile", prof, "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [s["start"][:10] for s in out["shocks"]][:3] == ["2022-12-23", "2024-01-14", "2025-06-22"]
    starts = [d["start"][:10] for d in out["mine_or_curtail"]]
    assert starts[:3] == ["2022-12-23", "2024-01-14", "2025-06-22"]
    assert all(n.startswith("shock 2026-") for n in out["notes"])  # block-only days: no fees to value them
    dated = CliRunner().invoke(app, ["--db", str(bundle_db_path), "shocks", "--from", "2024-01-01", "--to",
                                     "2024-02-15", "--profile", prof, "--format", "json"])
    storm = json.loads(dated.stdout)["mine_or_curtail"][0]
    whole = out["mine_or_curtail"][1]
    assert whole["next_epoch_btc"] == pytest.approx(storm["next_epoch_btc"], rel=1e-12)
    assert whole["mine_usd"] == pytest.approx(storm["mine_usd"], rel=1e-12)
    assert round(whole["next_epoch_btc"], 2) == round(11.0445 * 0.868, 2)
