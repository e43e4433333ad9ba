"""Hand-worked NPV / IRR / payback, HPC cash flows, hashprice path and the break-even lease."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from hashdesk.chain.consensus import block_subsidy
from hashdesk.economics.breakeven import breakeven_hashprice_usd_per_th_day, energy_kwh_per_day
from hashdesk.economics.core import hashprice_usd_per_ph_day
from hashdesk.economics.state import given_state
from hashdesk.hpc.sites import parse_site
from hashdesk.hpc.valuation import (
    HOURS_PER_MONTH,
    fleet_power_mw,
    hashprice_path_usd_per_th_day,
    hpc_cashflows_usd,
    irr,
    lease_usd_per_kw_month,
    lease_usd_per_mw_year,
    mining_cashflows_usd_per_mw,
    npv,
    payback_years,
    value_site,
    with_field,
)

#: Network state on 2025-04-04 (bits of epoch 441, fees and price as in the bundle).
# the state at the end of 2025-04-04: fees 3,788,039.6 sats per block (the old 30-day figure)
STATE = given_state(int(dt.datetime(2025, 4, 5, tzinfo=dt.UTC).timestamp()), 890_963, 0x1702796C,
                    0.037880396, 83_774.18)


def simple_site(**hpc) -> dict:
    """A small site mapping: 10 MW gross, 5 MW critical IT."""
    base_hpc = {
        "status": "prospective", "lease_usd_per_kw_month": 100.0, "term_years": 1.0,
        "capex_usd_per_mw": 1_000_000.0, "months_to_energize": 0,
    }
    base_hpc.update(hpc)
    return {
        "name": "test", "gross_mw": 10.0, "critical_it_mw": 5.0, "pue": 1.2,
        "power": {"price_usd_per_kwh": 0.05},
        "mining": {"efficiency_j_per_th": 20.0, "uptime": 1.0},
        "hpc": base_hpc,
        "valuation": {"discount_rate_per_year": 0.0},
    }


# --- NPV / IRR / payback by hand ---------------------------------------------------------------


def test_npv_hand_worked():
    # −100 + 60/1.1 + 60/1.21 = −100 + 54.5454… + 49.5867… = 4.1322…
    assert npv(0.10, [-100.0, 60.0, 60.0], [0.0, 1.0, 2.0]) == pytest.approx(4.132231405, abs=1e-9)
    # zero rate: plain sum; half-year discounting is (1+r)^-0.5
    assert npv(0.0, [-100.0, 30.0, 80.0], [0.0, 0.5, 1.0]) == pytest.approx(10.0)
    assert npv(0.21, [121.0], [0.5]) == pytest.approx(121.0 / 1.1)


def test_npv_rejects_bad_input():
    with pytest.raises(ValueError, match="rate_per_year"):
        npv(-1.0, [1.0], [0.0])
    with pytest.raises(ValueError, match="shape"):
        npv(0.1, [1.0, 2.0], [0.0])


def test_irr_hand_worked():
    assert irr([-100.0, 110.0], [0.0, 1.0]) == pytest.approx(0.10, abs=1e-10)
    assert irr([-100.0, 0.0, 121.0], [0.0, 1.0, 2.0]) == pytest.approx(0.10, abs=1e-10)
    # 2-year bond: −100, 8, 108 → 8 %
    assert irr([-100.0, 8.0, 108.0], [0.0, 1.0, 2.0]) == pytest.approx(0.08, abs=1e-10)
    # a loss: −100 then 50 → −50 %
    assert irr([-100.0, 50.0], [0.0, 1.0]) == pytest.approx(-0.5, abs=1e-10)
    # no sign change: undefined
    assert irr([100.0, 10.0], [0.0, 1.0]) is None
    assert irr([-100.0, -10.0], [0.0, 1.0]) is None


def test_irr_monthly_annuity_matches_annuity_formula():
    # 1,000,000 invested, 100,000 at the end of each of 12 months.
    t = np.arange(0, 13) / 12.0
    cf = np.array([-1_000_000.0] + [100_000.0] * 12)
    r = irr(cf, t)
    i = (1 + r) ** (1 / 12) - 1  # monthly rate
    assert 100_000.0 * (1 - (1 + i) ** -12) / i == pytest.approx(1_000_000.0, rel=1e-10)
    assert npv(r, cf, t) == pytest.approx(0.0, abs=1e-4)


def test_payback_hand_worked():
    assert payback_years([-100.0, 40.0, 40.0, 40.0], [0.0, 1.0, 2.0, 3.0]) == pytest.approx(2.5)
    assert payback_years([-100.0, 50.0, 50.0], [0.0, 1.0, 2.0]) == pytest.approx(2.0)
    assert payback_years([-100.0, 10.0, 10.0], [0.0, 1.0, 2.0]) is None
    assert payback_years([0.0, 10.0], [0.0, 1.0]) == 0.0
    # goes positive, dips, recovers: the last crossing counts
    assert payback_years([-10.0, 20.0, -20.0, 20.0], [0.0, 1.0, 2.0, 3.0]) == pytest.approx(2.5)


# --- units ---------------------------------------------------------------------------------------


def test_unit_conversions_kw_month_vs_mw_year():
    assert lease_usd_per_mw_year(150.0) == 1_800_000.0  # 150 USD/kW-month × 1,000 kW × 12
    assert lease_usd_per_kw_month(1_800_000.0) == 150.0
    assert energy_kwh_per_day(50_000.0, 20.0) == pytest.approx(24_000.0)  # 1 MW for a day
    assert breakeven_hashprice_usd_per_th_day(20.0, 0.05) == pytest.approx(0.024)
    assert fleet_power_mw(10.0, 20.0) == pytest.approx(200.0)  # 10 EH/s at 20 J/TH


# --- cash flows ----------------------------------------------------------------------------------


def test_hpc_cashflows_hand_worked():
    # 10 MW IT, 100 USD/kW-month, 2 years, 3 months build, +10 %/year, opex 20 USD/kW-month,
    # tenant pays half the power at PUE 1.2 and 0.05 USD/kWh.
    cf = hpc_cashflows_usd(10.0, 100.0, 2.0, 3, 0.10, 20.0, 1.2, 0.05, 0.5)
    assert len(cf) == 3 + 24
    assert (cf[:3] == 0).all()
    power = 10_000 * 1.2 * HOURS_PER_MONTH * 0.05 * 0.5  # 219,150 USD/month
    assert power == pytest.approx(219_150.0)
    assert cf[3:15] == pytest.approx(np.full(12, 10_000 * (100 - 20) - power))
    assert cf[15:] == pytest.approx(np.full(12, 10_000 * (110 - 20) - power))


def test_mining_cashflows_per_mw_hand_worked():
    # hashprice 0.05 USD/TH/day, 25 J/TH → 40,000 TH/s per MW; 24,000 kWh/day at 0.04 USD/kWh
    days = 365.25 / 12
    cf = mining_cashflows_usd_per_mw(np.array([0.05]), 25.0, 0.04, uptime=0.9, opex_usd_per_mw_year=12_000.0)
    expected = 0.9 * (0.05 * 40_000 - 24_000 * 0.04) * days - 1_000.0
    assert cf[0] == pytest.approx(expected)
    # below breakeven (0.025 USD/TH/day): switched off → only fixed opex, or the loss if not curtailing
    off = mining_cashflows_usd_per_mw(np.array([0.01]), 25.0, 0.04, opex_usd_per_mw_year=12_000.0)
    assert off[0] == pytest.approx(-1_000.0)
    on = mining_cashflows_usd_per_mw(np.array([0.01]), 25.0, 0.04, curtail_when_unprofitable=False)
    assert on[0] == pytest.approx((0.01 * 40_000 - 960.0) * days)


def test_hashprice_path_starts_at_exact_work_hashprice_and_halves_subsidy():
    hp = hashprice_path_usd_per_th_day(STATE, 60)
    exact = hashprice_usd_per_ph_day(STATE.bits, block_subsidy(STATE.tip_height + 1), STATE.fees_sats_per_block,
                                     STATE.price_usd) / 1000
    assert hp[0] == pytest.approx(exact, rel=1e-12)
    # the 2028 halving (height 1,050,000) falls inside 5 years: subsidy part halves, fees stay
    jumps = np.flatnonzero(np.diff(hp) < 0)
    assert len(jumps) == 1
    before, after = hp[jumps[0]], hp[jumps[0] + 1]
    sub, fees = STATE.subsidy_sats, STATE.fees_sats_per_block
    assert after / before == pytest.approx((sub / 2 + fees) / (sub + fees), rel=1e-12)
    months_to_halving = (1_050_000 - STATE.tip_height - 1) / 144 / (365.25 / 12)
    assert jumps[0] + 1 == int(np.ceil(months_to_halving - 0.5))
    # difficulty growth of g per year divides the path by (1+g)^t
    grown = hashprice_path_usd_per_th_day(STATE, 60, difficulty_growth_per_year=0.25)
    t_mid = (np.arange(60) + 0.5) / 12
    assert grown == pytest.approx(hp / 1.25**t_mid, rel=1e-12)


# --- a whole site by hand ------------------------------------------------------------------------


def test_value_site_hpc_side_by_hand():
    # 5 MW IT × 100 USD/kW-month = 500,000 USD/month for 12 months; capex 5 MW × 1M = 5M.
    site = parse_site(simple_site(lease_usd_per_kw_month=100.0, capex_usd_per_mw=1_000_000.0))
    res = value_site(site, STATE)
    assert res.hpc_capex_usd == 5_000_000.0
    assert res.hpc_npv_usd == pytest.approx(12 * 500_000.0 - 5_000_000.0)  # discount rate 0
    assert res.payback_years == pytest.approx(10 / 12)  # 10 months of 500,000
    assert res.hpc_usd_per_critical_it_mw_year == pytest.approx(1_200_000.0)  # 100 × 12,000
    assert res.hpc_usd_per_mw_year == pytest.approx(600_000.0)  # × 5/10 critical-IT share
    assert res.hpc_lease_revenue_usd_per_year == pytest.approx(6_000_000.0)
    assert res.horizon_years == 1.0
    # mining over the same year: per-MW flows × 10 MW, undiscounted
    hp = hashprice_path_usd_per_th_day(STATE, 12)
    per_mw = mining_cashflows_usd_per_mw(hp, 20.0, 0.05)
    assert res.mining_npv_usd == pytest.approx(10 * per_mw.sum())
    assert res.mining_usd_per_mw_year == pytest.approx(per_mw.sum())
    assert res.breakeven_hashprice_usd_per_ph_day == pytest.approx(20 * 0.024 * 0.05 * 1000)


def test_breakeven_lease_equalises_npvs():
    data = simple_site(lease_usd_per_kw_month=140.0, term_years=10.0, months_to_energize=12,
                       capex_usd_per_mw=9_000_000.0, escalator_per_year=0.03,
                       operator_opex_usd_per_kw_month=20.0)
    data["valuation"] = {"discount_rate_per_year": 0.1, "difficulty_growth_per_year": 0.2}
    site = parse_site(data)
    res = value_site(site, STATE)
    at_be = value_site(with_field(site, "hpc.lease_usd_per_kw_month", res.breakeven_lease_usd_per_kw_month), STATE)
    assert at_be.switch_value_usd == pytest.approx(0.0, abs=1e-3)
    assert at_be.hpc_npv_usd == pytest.approx(res.mining_npv_usd, rel=1e-9)
    assert (res.decision == "convert to HPC") == (res.lease_usd_per_kw_month > res.breakeven_lease_usd_per_kw_month)


def test_irr_of_site_zeroes_its_npv():
    data = simple_site(term_years=10.0, months_to_energize=6, capex_usd_per_mw=8_000_000.0,
                       lease_usd_per_kw_month=150.0)
    data["valuation"] = {"discount_rate_per_year": 0.10}
    site = parse_site(data)
    res = value_site(site, STATE)
    at_irr = value_site(with_field(site, "valuation.discount_rate_per_year", res.hpc_irr), STATE)
    assert at_irr.hpc_npv_usd == pytest.approx(0.0, abs=1.0)
    assert 0 < res.hpc_irr < 1
    assert res.discounted_payback_years > res.payback_years


def test_operating_with_delay_and_expiry_warn():
    data = simple_site(status="operating", months_to_energize=3)
    data["power"] = {"price_usd_per_kwh": 0.05, "start_date": "2020-01-01", "expiry_date": "2025-06-01"}
    res = value_site(parse_site(data), STATE)
    assert any("power.expiry_date" in w for w in res.warnings)
    assert any("operating" in w for w in res.warnings)


def test_mining_npv_under_paths():
    from hashdesk.hpc.valuation import ValuationError, mining_npv_under_paths

    data = simple_site(term_years=5.0, months_to_energize=6)
    data["valuation"] = {"discount_rate_per_year": 0.1, "difficulty_growth_per_year": 0.3}
    site = parse_site(data)
    res = value_site(site, STATE)
    det = hashprice_path_usd_per_th_day(STATE, 66, 0.3) * 1000
    # the deterministic path itself, whole or cut short (the tail continues it exactly)
    npvs = mining_npv_under_paths(site, STATE, np.vstack([det, det]))
    assert npvs == pytest.approx([res.mining_npv_usd] * 2, rel=1e-12)
    short = mining_npv_under_paths(site, STATE, det[None, :12])
    assert short[0] == pytest.approx(res.mining_npv_usd, rel=1e-12)
    # higher paths are worth more; a zero path is worth only the (negative) fixed costs
    up = mining_npv_under_paths(site, STATE, np.vstack([0.5 * det, det, 2 * det]))
    assert up[0] < up[1] < up[2]
    assert mining_npv_under_paths(site, STATE, np.zeros((1, 66)))[0] == pytest.approx(0.0)
    with pytest.raises(ValuationError, match="hashprice_paths_usd_per_ph_day"):
        mining_npv_under_paths(site, STATE, np.full((1, 3), np.nan))
