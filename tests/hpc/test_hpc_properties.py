"""Invariants of the HPC valuation (hypothesis): monotonicity, scaling, break-even."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hashdesk.economics.state import given_state
from hashdesk.hpc.sites import parse_site
from hashdesk.hpc.valuation import value_site, with_field

# the state at the end of 2025-04-04: fees 3,788,039.6 sats per block (the old 30-day figure)
STATE = given_state(int(dt.datetime(2025, 4, 5, tzinfo=dt.UTC).timestamp()), 890_963, 0x1702796C,
                    0.037880396, 83_774.18)
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def sites(draw):
    crit = draw(st.floats(1.0, 300.0))
    pue = draw(st.floats(1.05, 1.6))
    gross = crit * pue * draw(st.floats(1.0, 2.0))
    opex = draw(st.floats(0.0, 40.0))
    return parse_site(
        {
            "name": "prop",
            "gross_mw": gross,
            "critical_it_mw": crit,
            "pue": pue,
            "power": {"price_usd_per_kwh": draw(st.floats(0.01, 0.12))},
            "mining": {"efficiency_j_per_th": draw(st.floats(12.0, 40.0)), "uptime": draw(st.floats(0.5, 1.0))},
            "hpc": {
                "lease_usd_per_kw_month": opex + draw(st.floats(1.0, 250.0)),  # positive margin
                "operator_opex_usd_per_kw_month": opex,
                "term_years": draw(st.integers(1, 20)),
                "escalator_per_year": draw(st.floats(0.0, 0.05)),
                "capex_usd_per_mw": draw(st.floats(0.0, 15e6)),
                "months_to_energize": draw(st.integers(0, 36)),
            },
            "valuation": {
                "discount_rate_per_year": draw(st.floats(0.01, 0.3)),
                "difficulty_growth_per_year": draw(st.floats(-0.2, 0.6)),
            },
        }
    )


@FAST
@given(sites(), st.floats(1e4, 5e6))
def test_npv_falls_with_capex(site, extra):
    base = value_site(site, STATE)
    more = value_site(with_field(site, "hpc.capex_usd_per_mw", site.hpc.capex_usd_per_mw + extra), STATE)
    assert more.hpc_npv_usd < base.hpc_npv_usd
    assert more.hpc_npv_usd == pytest.approx(base.hpc_npv_usd - extra * site.critical_it_mw, rel=1e-9)
    assert more.mining_npv_usd == base.mining_npv_usd


@FAST
@given(sites(), st.integers(1, 24))
def test_npv_falls_with_delay(site, months):
    base = value_site(site, STATE)
    later = value_site(with_field(site, "hpc.months_to_energize", site.hpc.months_to_energize + months), STATE)
    assert later.hpc_npv_usd < base.hpc_npv_usd


@FAST
@given(sites(), st.floats(0.5, 100.0))
def test_npv_rises_with_lease(site, more):
    base = value_site(site, STATE)
    higher = value_site(
        with_field(site, "hpc.lease_usd_per_kw_month", site.hpc.lease_usd_per_kw_month + more), STATE
    )
    assert higher.hpc_npv_usd > base.hpc_npv_usd
    assert higher.breakeven_lease_usd_per_kw_month == pytest.approx(base.breakeven_lease_usd_per_kw_month, rel=1e-9)


@FAST
@given(sites(), st.floats(0.1, 10.0))
def test_per_mw_figures_do_not_depend_on_site_size(site, k):
    base = value_site(site, STATE)
    data = site.model_dump()
    data["gross_mw"] *= k
    data["critical_it_mw"] *= k
    scaled = value_site(parse_site(data), STATE)
    assert scaled.hpc_npv_usd == pytest.approx(k * base.hpc_npv_usd, rel=1e-9, abs=1e-3)
    assert scaled.mining_npv_usd == pytest.approx(k * base.mining_npv_usd, rel=1e-9, abs=1e-3)
    for field in ("mining_usd_per_mw_year", "hpc_usd_per_mw_year", "breakeven_lease_usd_per_kw_month"):
        assert getattr(scaled, field) == pytest.approx(getattr(base, field), rel=1e-9, abs=1e-6)
    if base.hpc_irr is not None:
        assert scaled.hpc_irr == pytest.approx(base.hpc_irr, rel=1e-7, abs=1e-9)


@FAST
@given(sites())
def test_breakeven_lease_gives_zero_switch_value(site):
    res = value_site(site, STATE)
    be = res.breakeven_lease_usd_per_kw_month
    if be < 0:  # HPC wins even at a zero lease: nothing to check at a negative rate
        return
    at_be = value_site(with_field(site, "hpc.lease_usd_per_kw_month", be), STATE)
    # tolerance relative to the size of the flows (the mining NPV may itself be ~0)
    scale = max(1.0, abs(res.mining_npv_usd), res.hpc_capex_usd,
                res.hpc_lease_revenue_usd_per_year * res.horizon_years)
    assert at_be.switch_value_usd == pytest.approx(0.0, abs=1e-9 * scale)


@FAST
@given(sites(), st.floats(0.01, 0.5))
def test_mining_value_falls_with_difficulty_growth(site, more):
    base = value_site(site, STATE)
    g = site.valuation.difficulty_growth_per_year + more
    harder = value_site(with_field(site, "valuation.difficulty_growth_per_year", g), STATE)
    assert harder.mining_npv_usd <= base.mining_npv_usd
    assert harder.hpc_npv_usd == base.hpc_npv_usd


@FAST
@given(sites(), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_renewals_stay_off_the_base_npv_and_grow_with_their_probability(site, p1, p2):
    lo, hi = sorted((p1, p2))
    a = value_site(with_field(with_field(site, "hpc.renewal_probability", lo), "hpc.renewal_options", "2x5y"), STATE)
    b = value_site(with_field(with_field(site, "hpc.renewal_probability", hi), "hpc.renewal_options", "2x5y"), STATE)
    plain = value_site(site, STATE)
    assert a.hpc_npv_usd == pytest.approx(plain.hpc_npv_usd, rel=1e-12)
    assert b.switch_value_usd == pytest.approx(plain.switch_value_usd, rel=1e-12)
    # a positive-margin lease: more likely extensions are worth more, never more than if exercised
    assert 0.0 <= a.renewal_npv_usd <= b.renewal_npv_usd * (1 + 1e-12) + 1e-6
    assert b.renewal_npv_usd <= b.renewal_npv_if_exercised_usd * (1 + 1e-12) + 1e-6


@FAST
@given(sites(), st.floats(0.0, 1.0))
def test_a_tenant_funded_share_lowers_the_operator_capex_one_for_one(site, share):
    own = value_site(site, STATE)
    funded = value_site(with_field(with_field(site, "hpc.tenant_capex_share", share), "hpc.tenant_funds_capex",
                                   "partial"), STATE)
    assert funded.hpc_npv_usd - own.hpc_npv_usd == pytest.approx(share * own.hpc_capex_usd, rel=1e-9, abs=1e-3)
