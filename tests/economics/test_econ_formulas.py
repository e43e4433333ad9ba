"""Hand-worked formulas, invariants and bad input for hashprice, fleets, breakeven and stress."""

from __future__ import annotations

import doctest
import importlib
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashdesk.chain.consensus import block_work, difficulty
from hashdesk.economics.breakeven import (
    breakeven_btc_price_usd,
    breakeven_hashprice_usd_per_th_day,
    breakeven_power_usd_per_kwh,
    energy_kwh_per_day,
)
from hashdesk.economics.core import hashprice_btc_per_ph_day, hashprice_btc_per_ph_day_from_work
from hashdesk.economics.fleet import (
    AsicCatalogue,
    CatalogueError,
    UnknownAsicError,
    read_catalogue_file,
    resolve_fleet,
    shipped_additions,
)
from hashdesk.economics.halving import (
    StressInputError,
    difficulty_response,
    read_cost_curve,
    share_under_water,
    validate_cost_curve,
    with_subsidy,
)
from hashdesk.economics.hashprice import (
    NetworkDataError,
    network_economics_daily,
    network_window,
)
from hashdesk.economics.modelchain import resolve_miner, unit_economics
from hashdesk.economics.profile import MinerProfile, ProfileError, load_profile

MODULES = [
    "hashdesk.economics.core",
    "hashdesk.economics.hashprice",
    "hashdesk.economics.fleet",
    "hashdesk.economics.breakeven",
    "hashdesk.economics.halving",
    "hashdesk.economics.modelchain",
]
BITS_JAN_2024 = 0x1703D869  # a January 2024 target (difficulty ~7.3e13)


@pytest.mark.parametrize("name", MODULES)
def test_econ_docstring_examples(name):
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert res.attempted > 0, f"{name} has no doctest examples"
    assert res.failed == 0


# -- hashprice -----------------------------------------------------------------------------------


def test_econ_hashprice_from_work_matches_bits_formula():
    w = block_work(BITS_JAN_2024)
    by_bits = hashprice_btc_per_ph_day(BITS_JAN_2024, 625_000_000, 40_000_000)
    by_work = hashprice_btc_per_ph_day_from_work(w, 6.65)
    assert by_work == pytest.approx(by_bits, rel=1e-15)
    # by hand: 86,400 s × 1e15 H/s / 3.14386e23 H per block × 6.65 BTC
    assert by_work == pytest.approx(86_400e15 / 314386242214620658760377 * 6.65, rel=1e-15)


def _cm_frame(days: int = 3, d: float = 7e13, blocks: int = 144) -> pd.DataFrame:
    """Synthetic Coin Metrics-style rows at one difficulty: 6.25 BTC subsidy, 0.5 BTC fees/block."""
    h_ehs = d * 2**32 * blocks / 86_400 / 1e18
    return pd.DataFrame(
        {
            "date": pd.date_range("2024-01-01", periods=days, freq="D").date,
            "blk_cnt": blocks,
            "fee_tot_btc": 0.5 * blocks,
            "iss_tot_btc": 6.25 * blocks,
            "price_usd": 40_000.0,
            "hashrate_ehs": h_ehs,
        }
    )


def _epochs_at(d: float) -> pd.DataFrame:
    # pick bits whose difficulty is d: encode from target = diff1 / d
    from hashdesk.chain.consensus import DIFF1_TARGET, encode_compact

    bits = encode_compact(int(DIFF1_TARGET / d))
    return pd.DataFrame({"epoch": [400, 401], "bits": [bits, encode_compact(int(DIFF1_TARGET / (d * 1.1)))]})


def test_econ_daily_table_hand_worked():
    ep = _epochs_at(7e13)
    d = difficulty(int(ep.bits[0]))
    table = network_economics_daily(_cm_frame(d=d), ep)
    r = table.iloc[0]
    assert r["missing"] == ""
    assert int(r["epoch_first"]) == 400 and int(r["blocks_epoch_first"]) == 144
    assert r["fees_btc_per_block"] == pytest.approx(0.5)
    assert r["subsidy_btc_per_block"] == pytest.approx(6.25)
    want = 86_400e15 / block_work(int(ep.bits[0])) * 6.75
    assert r["hashprice_btc_per_ph_day"] == pytest.approx(want, rel=1e-12)
    assert r["hashprice_usd_per_ph_day"] == pytest.approx(want * 40_000, rel=1e-12)
    assert r["hashprice_usd_per_th_day"] == pytest.approx(want * 40, rel=1e-12)


def test_econ_retarget_day_split_and_block_weighted_work():
    ep = _epochs_at(7e13)
    d0, d1 = (difficulty(int(b)) for b in ep.bits)
    nd = _cm_frame(days=2, d=d0)
    # day 2: 40 blocks at epoch 400, 100 at epoch 401
    nd.loc[1, "blk_cnt"] = 140
    nd.loc[1, "hashrate_ehs"] = (40 * d0 + 100 * d1) * 2**32 / 86_400 / 1e18
    t = network_economics_daily(nd, ep)
    r = t.iloc[1]
    assert (int(r["epoch_first"]), int(r["epoch_last"]), int(r["blocks_epoch_first"])) == (400, 401, 40)
    assert int(r["height_last"]) == 401 * 2016 + 100 - 1
    # the day before the first retarget day has no height: heights are only carried forward
    assert pd.isna(t.iloc[0]["height_last"])
    w0, w1 = (block_work(int(b)) for b in ep.bits)
    assert r["work_per_block"] == pytest.approx((40 * w0 + 100 * w1) / 140, rel=1e-12)
    assert int(r["bits_last"]) == int(ep.bits[1])


def test_econ_missing_inputs_are_marked_not_filled():
    ep = _epochs_at(7e13)
    nd = _cm_frame(days=4, d=difficulty(int(ep.bits[0])))
    nd.loc[1, "price_usd"] = np.nan
    nd = nd.drop(index=2)  # a day absent from network_daily
    t = network_economics_daily(nd, ep)
    assert len(t) == 4
    assert t.iloc[1]["missing"] == "price_usd"
    assert np.isnan(t.iloc[1]["hashprice_usd_per_ph_day"])
    assert np.isfinite(t.iloc[1]["hashprice_btc_per_ph_day"])
    assert t.iloc[2]["missing"] == "network_daily"
    assert np.isnan(t.iloc[2]["fees_btc_per_block"])
    with pytest.raises(NetworkDataError, match="no complete network data"):
        network_window(t, t.iloc[2]["date"])


def test_econ_negative_input_and_no_data_dates_raise():
    ep = _epochs_at(7e13)
    nd = _cm_frame()
    nd.loc[0, "hashrate_ehs"] = -1.0
    with pytest.raises(NetworkDataError, match="hashrate_ehs is negative on 2024-01-01"):
        network_economics_daily(nd, ep)
    t = network_economics_daily(_cm_frame(d=difficulty(int(ep.bits[0]))), ep)
    with pytest.raises(NetworkDataError, match=r"no network data for 2030-01-01 \(the store covers"):
        network_window(t, "2030-01-01")


# -- breakeven -----------------------------------------------------------------------------------


def test_econ_breakeven_hand_worked():
    # 17.5 J/TH × 0.024 kWh per (TH/s·J/TH·day) × 0.05 USD/kWh = 0.021 USD/TH/day
    assert breakeven_hashprice_usd_per_th_day(17.5, 0.05) == pytest.approx(0.021)
    assert energy_kwh_per_day(1000.0, 17.5) == pytest.approx(420.0)
    # breakeven power is the inverse of breakeven hashprice
    assert breakeven_power_usd_per_kwh(0.021, 17.5) == pytest.approx(0.05)
    # 25 J/TH at 5 c: 0.03 USD/TH/day of power; at 1e-6 BTC/TH/day that is 30,000 USD/BTC
    assert breakeven_btc_price_usd(1e-6, 25.0, 0.05) == pytest.approx(30_000.0)


positive = st.floats(min_value=1.0, max_value=200.0, allow_nan=False)
price = st.floats(min_value=0.001, max_value=1.0, allow_nan=False)


@given(e1=positive, e2=positive, p=price)
def test_econ_breakeven_monotonic_in_efficiency(e1, e2, p):
    lo, hi = sorted((e1, e2))
    assert breakeven_hashprice_usd_per_th_day(lo, p) <= breakeven_hashprice_usd_per_th_day(hi, p)
    assert breakeven_power_usd_per_kwh(0.05, lo) >= breakeven_power_usd_per_kwh(0.05, hi)


@given(e=positive, p1=price, p2=price)
def test_econ_breakeven_monotonic_in_power_price(e, p1, p2):
    lo, hi = sorted((p1, p2))
    assert breakeven_hashprice_usd_per_th_day(e, lo) <= breakeven_hashprice_usd_per_th_day(e, hi)
    assert breakeven_btc_price_usd(1e-6, e, lo) <= breakeven_btc_price_usd(1e-6, e, hi)


def _profile(**kw) -> MinerProfile:
    base = {"name": "t", "fleet": [{"hashrate_ehs": 1.0, "efficiency_j_per_th": 20.0}],
            "power": {"price_usd_per_kwh": 0.05}}
    base.update(kw)
    return MinerProfile.model_validate(base)


def _ue(pr: MinerProfile, hb=8e-7, p=62_500.0):
    """Unit economics of a 1 EH/s, 20 J/TH fleet with the profile's terms."""
    cat = AsicCatalogue.from_frames(shipped_additions())
    return unit_economics(resolve_miner(pr, cat), hb, p)


@settings(max_examples=40, deadline=None)
@given(
    uptime=st.floats(0.1, 1.0), fee=st.floats(0.0, 0.05), host=st.floats(0.0, 0.03),
    other=st.floats(0.0, 5e6), dr=st.floats(0.0, 1e6),
)
def test_econ_margin_is_zero_at_breakevens(uptime, fee, host, other, dr):
    pr = _profile(uptime=uptime, pool_fee=fee, hosting_usd_per_kwh=host, other_cash_cost_usd_per_year=other,
                  power={"price_usd_per_kwh": 0.05, "demand_response_usd_per_year": dr})
    u = _ue(pr)
    assert u.hashrate_ehs == pytest.approx(1.0) and u.efficiency_j_per_th == pytest.approx(20.0)
    # the pool fee is taken once, from the BTC: kept = gross × (1 − fee), revenue = kept × price
    assert u.btc_per_day == pytest.approx(u.btc_gross_per_day * (1 - fee), rel=1e-12)
    assert u.revenue_usd_per_day == pytest.approx(u.btc_per_day * 62_500.0, rel=1e-12)
    if u.breakeven_btc_price_usd > 0:
        at_price = _ue(pr, p=u.breakeven_btc_price_usd)
        assert at_price.margin_usd_per_day == pytest.approx(0.0, abs=1e-6 * u.revenue_usd_per_day)
        assert at_price.cash_cost_per_btc_usd - dr / 365 / at_price.btc_per_day == pytest.approx(
            u.breakeven_btc_price_usd, rel=1e-9)
    hp_th = u.breakeven_hashprice_all_in_usd_per_ph_day / 1000
    if hp_th > 0:
        at_hp = _ue(pr, hb=hp_th / 62_500.0)
        assert at_hp.margin_usd_per_day == pytest.approx(0.0, abs=1e-6 * u.revenue_usd_per_day)


@pytest.mark.parametrize(
    "call",
    [
        lambda: breakeven_hashprice_usd_per_th_day(0.0, 0.05),
        lambda: breakeven_hashprice_usd_per_th_day(-3.0, 0.05),
        lambda: breakeven_power_usd_per_kwh(0.05, 0.0),
        lambda: energy_kwh_per_day(-1.0, 20.0),
        lambda: breakeven_hashprice_usd_per_th_day(20.0, -0.01),
    ],
)
def test_econ_breakeven_rejects_zero_efficiency_and_negatives(call):
    with pytest.raises(ValueError, match="must be"):
        call()


# -- profiles and catalogue ------------------------------------------------------------------------


def test_econ_profile_errors_name_the_field(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text('name = "x"\n[power]\nprice_usd_per_kwh = 0.05\n[[fleet]]\nhashrate_ehs = -1\nefficiency_j_per_th = 20\n')
    with pytest.raises(ProfileError, match=r"fleet\.0\.hashrate_ehs"):
        load_profile(p)
    p.write_text('name = "x"\n[power]\nprice_usd_per_kwh = 0.05\n[[fleet]]\nhashrate_ehs = 1\nefficiency_j_per_th = 0\n')
    with pytest.raises(ProfileError, match=r"fleet\.0\.efficiency_j_per_th"):
        load_profile(p)


def test_econ_unknown_asic_is_a_clear_error():
    cat = AsicCatalogue.from_frames(shipped_additions())
    prof = _profile(fleet=[{"model": "Antminer S21 Pro", "units": 2}, {"model": "Antminer S99", "units": 1}])
    with pytest.raises(UnknownAsicError, match=r"fleet\[1\]\.model: unknown ASIC model 'Antminer S99'"):
        resolve_fleet(prof, cat)
    ok = resolve_fleet(_profile(fleet=[{"model": "antminer s21 PRO", "units": 2}]), cat)
    assert ok.hashrate_ths == 468.0 and ok.efficiency_j_per_th == pytest.approx(15.0)


def test_econ_user_catalogue_toml_and_csv(tmp_path):
    t = tmp_path / "a.toml"
    t.write_text('[[asic]]\nmodel = "Home Miner"\nhashrate_th = 10\nefficiency_j_per_th = 30\nsource = "my spec"\n')
    df = read_catalogue_file(t)
    assert df.power_w.iloc[0] == pytest.approx(300.0)
    c = tmp_path / "a.csv"
    c.write_text("model,hashrate_th,power_w,efficiency_j_per_th,source\nX,100,3000,20,spec\n")
    with pytest.raises(CatalogueError, match=r"row 1 \(X\), field 'efficiency_j_per_th'"):
        read_catalogue_file(c)
    c.write_text("model,hashrate_th,power_w,source\nX,100,3000,\n")
    with pytest.raises(CatalogueError, match="field 'source'"):
        read_catalogue_file(c)
    # a user row overrides the shipped model of the same name
    c.write_text("model,hashrate_th,power_w,source\nAntminer S21 Pro,240,3480,my measurement\n")
    cat = AsicCatalogue.from_frames(shipped_additions(), read_catalogue_file(c))
    assert cat.get("Antminer S21 Pro").hashrate_th == 240.0


def test_econ_shipped_additions_have_sources_and_consistent_specs():
    df = shipped_additions()
    assert len(df) >= 5
    assert df.source.str.len().min() > 10
    assert np.allclose(df.power_w / df.hashrate_th, df.efficiency_j_per_th, rtol=0.05)


def test_econ_example_profiles_resolve(bundle_desk):
    from pathlib import Path

    cat = bundle_desk.catalogue()
    files = sorted((Path(__file__).parents[2] / "examples" / "profiles").glob("*.toml"))
    assert len(files) >= 3
    for f in files:
        prof = load_profile(f)
        assert prof.source, f"{f.name} must say where its figures come from"
        assert resolve_fleet(prof, cat).hashrate_ths > 0


# -- stress ------------------------------------------------------------------------------------------


def _curve(shares, effs, prices):
    return validate_cost_curve(
        pd.DataFrame({"segment": [f"s{i}" for i in range(len(shares))], "hashrate_share": shares,
                      "efficiency_j_per_th": effs, "power_usd_per_kwh": prices, "source": "test"}),
        "test",
    )


DEFAULT_CURVE = read_cost_curve()


@given(a=st.floats(0, 200), b=st.floats(0, 200))
def test_econ_share_under_water_monotonic(a, b):
    c = DEFAULT_CURVE
    lo, hi = sorted((a, b))
    assert share_under_water(c, lo) >= share_under_water(c, hi)


def test_econ_default_cost_curve_is_documented():
    c = read_cost_curve()
    assert c.hashrate_share.sum() == pytest.approx(1.0)
    assert (c.source.str.len() > 10).all()
    assert c.breakeven_hashprice_usd_per_ph_day.is_monotonic_increasing


def test_econ_cost_curve_bad_file(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("segment,hashrate_share,efficiency_j_per_th,power_usd_per_kwh,source\na,0.5,20,0.05,x\nb,0.4,0,0.05,x\n")
    with pytest.raises(StressInputError, match=r"row 2, field 'efficiency_j_per_th'"):
        read_cost_curve(p)
    p.write_text("segment,hashrate_share,efficiency_j_per_th,power_usd_per_kwh,source\na,0.5,20,0.05,x\nb,0.4,30,0.05,x\n")
    with pytest.raises(StressInputError, match="must sum to 1"):
        read_cost_curve(p)


def test_econ_difficulty_response_hits_the_clamp():
    # 90 % of the hashrate off from the first block: 2015 intervals at 10× the spacing would be
    # 10× the timespan; the rule clamps at 4×, so difficulty falls by exactly 75 % (compact-truncated)
    bits = 0x17034219
    h = block_work(bits) / 600 / 1e18
    c = _curve([0.1, 0.9], [15.0, 40.0], [0.01, 1.0])
    r = difficulty_response(bits, 416, 0, h, c, 312_500_000, 0.0, 64_000.0, n_epochs=2)
    assert r.share_under_water.iloc[0] == pytest.approx(0.9)
    assert r.days.iloc[0] == pytest.approx(2015 * 6000 / 86_400, abs=1e-4)
    assert r.difficulty_change_pct.iloc[1] == pytest.approx(-75.0, abs=0.01)
    with pytest.raises(StressInputError, match="whole cost curve is under water"):
        difficulty_response(bits, 416, 0, h, _curve([1.0], [40.0], [1.0]), 312_500_000, 0.0, 64_000.0)
    with pytest.raises(StressInputError, match="price_usd must be > 0"):
        difficulty_response(bits, 416, 0, h, c, 312_500_000, 0.0, -5.0)


def test_econ_no_capitulation_means_no_retarget_change():
    bits = 0x17034219
    h = block_work(bits) / 600 / 1e18
    c = _curve([1.0], [15.0], [0.01])
    r = difficulty_response(bits, 416, 1000, h, c, 312_500_000, 0.1, 64_000.0, n_epochs=3)
    # blocks every 600 s: measured span 2015 × 600 s; new target = old × 2015/2016 (truncated)
    assert r.share_under_water.eq(0).all()
    assert r.difficulty_change_pct.iloc[1] == pytest.approx((2016 / 2015 - 1) * 100, abs=1e-3)


def test_econ_with_subsidy_halves_subsidy_part_only():
    from hashdesk.economics.hashprice import NetworkWindow

    s = NetworkWindow(date(2024, 5, 1), date(2024, 5, 1), 1, 8e-7, 0.05, 62_500.0, 8.6e13, 3.125, 0.1)
    after = with_subsidy(s, s.subsidy_btc_per_block / 2)
    assert after.hashprice_btc_per_th_day / s.hashprice_btc_per_th_day == pytest.approx(
        (1.5625 + 0.1) / (3.125 + 0.1))
    with pytest.raises(StressInputError):
        with_subsidy(s, -1.0)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('name = "x"\n[power]\nprice_usd_per_kwh = 0.05\n[[fleet]]\nhashrate_ehs = inf\nefficiency_j_per_th = 20\n',
         "fleet.0.hashrate_ehs"),
        ('name = "x"\n[power]\nprice_usd_per_kwh = 0.05\n[[fleet]]\nhashrate_ehs = 1\nefficiency_j_per_th = inf\n',
         "fleet.0.efficiency_j_per_th"),
        ('name = "x"\n[power]\nprice_usd_per_kwh = 0.05\n[[fleet]]\nhashrate_ehs = 1\nefficiency_j_per_th = 30000\n',
         "efficiency_j_per_th"),
        ('name = "x"\n[power]\nprice_usd_per_kwh = 0.05\n[[fleet]]\nhashrate_ehs = 1\nefficiency_j_per_th = 0.0001\n',
         "outside the plausible 5–200 J/TH"),
        ('name = "x"\n[power]\nprice_usd_per_kwh = 0.05\n[[fleet]]\nhashrate_ehs = 1e300\nefficiency_j_per_th = 20\n',
         "fleet.0.hashrate_ehs"),
    ],
)
def test_econ_profile_rejects_absurd_physical_inputs(tmp_path, text, needle):
    p = tmp_path / "p.toml"
    p.write_text(text)
    with pytest.raises(ProfileError, match=needle.replace(".", r"\.")):
        load_profile(p)


def test_econ_profile_file_errors_not_tracebacks(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'name = "\xff\xfe"\n')
    with pytest.raises(ProfileError, match="not UTF-8"):
        load_profile(bad)
    with pytest.raises(ProfileError, match="is a directory"):
        load_profile(tmp_path)
    ok = tmp_path / "ok.toml"
    ok.write_text('name = "x"\nunusual_efficiency_ok = true\n[power]\nprice_usd_per_kwh = 0.05\n'
                  '[[fleet]]\nhashrate_ehs = 1\nefficiency_j_per_th = 400\n')
    assert load_profile(ok).fleet[0].efficiency_j_per_th == 400.0  # the user said so
