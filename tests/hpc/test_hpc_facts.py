"""HPC valuation from the company facts: phased ramp, tenant-funded capex, renewal options,
the announcement date, the facts scorecard and the cohorts (hand calculations, closed forms, and
the bundle store with the shipped facts)."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hashdesk.cli import app
from hashdesk.config import repo_root
from hashdesk.economics.state import given_state
from hashdesk.hpc.contracts import (
    ContractError,
    implied_lease_usd_per_kw_month,
    operator_capex_usd_per_mw,
    parse_phases,
    parse_renewal_options,
    phase_tranches,
    renewal_exercise_probabilities,
)
from hashdesk.hpc.sites import FactsError, SiteFileError, load_company, load_site, parse_site
from hashdesk.hpc.valuation import (
    ValuationError,
    renewal_value,
    site_cashflows,
    value_site,
    with_field,
)

EXAMPLES = repo_root() / "examples" / "hpc"
#: The end of 2025-04-04 (bits of epoch 441, fees and price as in the bundle).
STATE = given_state(int(dt.datetime(2025, 4, 5, tzinfo=dt.UTC).timestamp()), 890_963, 0x1702796C,
                    0.037880396, 83_774.18)
DAY = dt.date(2025, 4, 4)


def site(**hpc) -> dict:
    """100 MW of critical IT on 130 MW gross, flat lease of 100 USD/kW-month, no opex, power passed through."""
    base = {"status": "signed", "lease_usd_per_kw_month": 100.0, "term_years": 1.0, "capex_usd_per_mw": 9e6}
    base.update(hpc)
    return {"name": "t", "gross_mw": 130.0, "critical_it_mw": 100.0, "pue": 1.3,
            "power": {"price_usd_per_kwh": 0.05}, "mining": {"efficiency_j_per_th": 20.0, "uptime": 1.0},
            "hpc": base, "valuation": {"discount_rate_per_year": 0.10}}


def annuity(v: float, first: int, last: int) -> float:
    """Σ_{m=first}^{last} v^m (geometric series)."""
    return v**first * (1 - v ** (last - first + 1)) / (1 - v)


# --- the cells -----------------------------------------------------------------------------------


def test_the_store_parses_contracts_with_the_hpc_functions():
    import hashdesk.store.facts as sf

    assert sf.parse_phases is parse_phases and sf.parse_renewal_options is parse_renewal_options
    assert phase_tranches(parse_phases("2025-05:40;2025-11:100"), DAY) == [(1, 40.0), (7, 60.0)]
    # a phase in service before the valuation day is on the grid at s <= 0
    assert phase_tranches(parse_phases("2025-02:50;2025-04:80"), DAY) == [(-2, 50.0), (0, 30.0)]
    assert renewal_exercise_probabilities(3, 0.5) == [0.5, 0.25, 0.125]


def test_implied_lease_reproduces_the_total_value():
    # CoreWeave / Core Scientific: USD 3.5B over 12 years on 200 MW
    assert implied_lease_usd_per_kw_month(3.5e9, 200.0, 12.0) == pytest.approx(3.5e9 / (200_000 * 144))
    lease = implied_lease_usd_per_kw_month(1e9, 50.0, 10.0, 0.03)
    total = sum(50_000 * lease * 1.03 ** (k // 12) for k in range(120))
    assert total == pytest.approx(1e9, rel=1e-12)
    with pytest.raises(ContractError, match="term_years"):
        implied_lease_usd_per_kw_month(1e9, 50.0, 0.0)


def test_operator_capex_rules():
    assert operator_capex_usd_per_mw(9e6, "yes", 6e6)[:2] == (3e6, 6e6)
    assert operator_capex_usd_per_mw(9e6, "no")[:2] == (9e6, 0.0)
    assert operator_capex_usd_per_mw(9e6, "yes", 12e6)[:2] == (0.0, 9e6)  # never negative
    assert operator_capex_usd_per_mw(9e6, "partial", tenant_capex_share=0.25)[:2] == (6.75e6, 2.25e6)
    with pytest.raises(ContractError, match="state tenant_capex_share"):
        operator_capex_usd_per_mw(9e6, "unknown")
    # the site file says the same, naming the field
    with pytest.raises(SiteFileError, match="tenant_capex_share"):
        parse_site(site(months_to_energize=0, tenant_funds_capex="partial"))
    with pytest.raises(SiteFileError, match="renewal_probability"):
        parse_site(site(months_to_energize=0, renewal_options="2x5y"))
    with pytest.raises(SiteFileError, match="either months_to_energize or phases"):
        parse_site(site(months_to_energize=3, phases="2025-05:100"))
    with pytest.raises(SiteFileError, match="exceed critical_it_mw"):
        parse_site(site(phases="2025-05:120"))
    with pytest.raises(SiteFileError, match="tenant_funds_capex"):
        parse_site(site(months_to_energize=0, tenant_funds_capex="maybe"))
    with pytest.raises(SiteFileError, match="contradicts tenant_capex_usd_per_mw"):
        parse_site(site(months_to_energize=0, tenant_funds_capex="no", tenant_capex_usd_per_mw=1e6))


# --- hand-calculated NPV: phased ramp + tenant-funded build --------------------------------------


def test_phased_ramp_with_tenant_funded_capex_by_hand():
    # 40 MW in service from May 2025 (grid month 1), 100 MW from November (month 7); 1-year terms
    # per tranche; build 9 M USD/MW of which the tenant funds 6 M: the operator pays 3 M x 100 MW.
    s = parse_site(site(phases="2025-05:40;2025-11:100", tenant_funds_capex="yes", tenant_capex_usd_per_mw=6e6))
    res = value_site(s, STATE)
    v = 1.10 ** (-1 / 12)
    tranche1 = 40_000 * 100.0 * annuity(v, 1, 12)   # 4.0 M USD a month, months 1..12
    tranche2 = 60_000 * 100.0 * annuity(v, 7, 18)   # 6.0 M USD a month, months 7..18
    assert res.hpc_capex_usd == 300e6 and res.hpc_build_capex_usd == 900e6
    assert res.tenant_funded_capex_usd == 600e6
    assert res.hpc_npv_usd == pytest.approx(-300e6 + tranche1 + tranche2, rel=1e-12)
    assert res.horizon_years == pytest.approx(18 / 12)
    cf = site_cashflows(s, STATE)
    assert list(cf.hpc_usd[[0, 5, 6, 11, 12, 17]]) == [4e6, 4e6, 10e6, 10e6, 6e6, 6e6]
    # undiscounted: −300 + 48 + 72 = −180 M USD
    flat = value_site(with_field(s, "valuation.discount_rate_per_year", 0.0), STATE)
    assert flat.hpc_npv_usd == pytest.approx(-180e6)
    # the same lease with the operator paying the whole build is worse by exactly the tenant's 600 M
    own = value_site(parse_site(site(phases="2025-05:40;2025-11:100", tenant_funds_capex="no")), STATE)
    assert own.hpc_capex_usd == 900e6
    assert res.hpc_npv_usd - own.hpc_npv_usd == pytest.approx(600e6)
    # tenant funds a share instead of an amount
    half = parse_site(site(phases="2025-05:40;2025-11:100", tenant_funds_capex="partial", tenant_capex_share=0.5))
    assert value_site(half, STATE).hpc_capex_usd == pytest.approx(450e6)


def test_a_single_phase_equals_months_to_energize():
    phased = value_site(parse_site(site(phases="2025-10:100", term_years=3.0)), STATE)
    block = value_site(parse_site(site(months_to_energize=5, term_years=3.0)), STATE)
    for field in ("hpc_npv_usd", "mining_npv_usd", "breakeven_lease_usd_per_kw_month", "horizon_years",
                  "hpc_capex_usd"):
        assert getattr(phased, field) == pytest.approx(getattr(block, field), rel=1e-12), field


def test_mw_in_service_before_the_valuation_day_are_sunk_and_their_term_runs_on():
    # 100 MW in service since February 2025: s = −2, so 1 − s = 3 lease months (Feb, Mar and the
    # valuation month April) have elapsed and 9 remain, paid in grid months 1..9
    res = value_site(parse_site(site(phases="2025-02:100", term_years=1.0)), STATE)
    assert res.hpc_capex_usd == 0.0 and res.capex_sunk_critical_it_mw == 100.0
    v = 1.10 ** (-1 / 12)
    assert res.hpc_npv_usd == pytest.approx(100_000 * 100.0 * annuity(v, 1, 9), rel=1e-12)


# --- renewal options: a separate line, equal to a closed form ------------------------------------


def test_renewal_options_are_valued_apart_and_match_the_closed_form():
    p, r = 0.6, 0.08
    base = site(months_to_energize=0, term_years=2.0, capex_usd_per_mw=0.0)
    base["valuation"]["discount_rate_per_year"] = r
    plain = parse_site(base)
    with_opts = parse_site({**base, "hpc": {**base["hpc"], "renewal_options": "2x5y", "renewal_probability": p}})
    a, b = value_site(plain, STATE), value_site(with_opts, STATE)
    # the base NPV never contains the options
    assert b.hpc_npv_usd == pytest.approx(a.hpc_npv_usd, rel=1e-15) and b.switch_value_usd == a.switch_value_usd
    v = (1 + r) ** (-1 / 12)
    c = 100_000 * 100.0  # 10 M USD a month
    ext1 = c * annuity(v, 25, 84)    # lease months 24..83 → grid months 25..84
    ext2 = c * annuity(v, 85, 144)
    assert b.renewal_years == 10.0
    assert b.renewal_npv_if_exercised_usd == pytest.approx(ext1 + ext2, rel=1e-12)
    assert b.renewal_npv_usd == pytest.approx(p * ext1 + p**2 * ext2, rel=1e-12)
    assert b.switch_value_with_renewals_usd == pytest.approx(
        b.switch_value_usd + b.renewal_npv_usd - b.renewal_mining_npv_usd)
    assert a.renewal_npv_usd == 0.0 and a.switch_value_with_renewals_usd == a.switch_value_usd
    # p = 0: worthless; p = 1: exercised for sure
    assert renewal_value(with_field(with_opts, "hpc.renewal_probability", 0.0), STATE).npv_usd == 0.0
    sure = renewal_value(with_field(with_opts, "hpc.renewal_probability", 1.0), STATE)
    assert sure.npv_usd == pytest.approx(ext1 + ext2, rel=1e-12)


# --- the announcement date ------------------------------------------------------------------------


def test_a_valuation_before_the_announcement_is_refused():
    s = parse_site(site(months_to_energize=0, announced="2025-05-01"))
    with pytest.raises(ValuationError, match=r"2025-04-04 precedes the lease's announcement on 2025-05-01"):
        value_site(s, STATE)
    assert value_site(with_field(s, "hpc.announced", "2025-04-04"), STATE).as_of == DAY  # on the day: fine


def test_examples_value_on_or_after_their_announcement():
    for name, announced in (("core_scientific_coreweave.toml", dt.date(2024, 6, 3)),
                            ("terawulf_lake_mariner_hpc.toml", dt.date(2025, 8, 14))):
        s = load_site(EXAMPLES / name)
        assert s.hpc.announced == announced and s.valuation.as_of >= announced
        assert s.hpc.renewal_options == "2x5y" and "hpc.renewal_probability" in s.illustrative
        assert s.hpc.phases
    cw = load_site(EXAMPLES / "core_scientific_coreweave.toml")
    # the tenant funds the build: the operator is not charged the full 9 M USD/MW
    assert cw.hpc.tenant_funds_capex == "yes" and "hpc.tenant_funds_capex" in cw.sources
    assert cw.hpc.operator_capex_usd_per_mw < cw.hpc.capex_usd_per_mw
    assert "hpc.tenant_capex_share" in cw.illustrative
    lm = load_site(EXAMPLES / "terawulf_lake_mariner_hpc.toml")
    assert lm.hpc.tenant_funds_capex == "no" and lm.hpc.operator_capex_usd_per_mw == 9e6


def test_company_file_cohort_counts_a_lease_from_its_announcement():
    from hashdesk.hpc.cohorts import classify_cohort

    wulf = load_company(EXAMPLES / "terawulf.toml")
    assert classify_cohort(wulf) == "hpc"
    assert classify_cohort(wulf, dt.date(2025, 4, 4)) == "pure-play"
    assert classify_cohort(wulf, dt.date(2025, 8, 14)) == "hpc"


# --- from the shipped facts, on the bundle store ----------------------------------------------------


def run(db, *args):
    return CliRunner().invoke(app, ["--db", str(db), "hpc", *args])


def test_hpc_value_corz_from_the_facts(bundle_db_path):
    res = run(bundle_db_path, "value", "--ticker", "CORZ", "--at", "2024-06-30", "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["network_state"]["at"] == "2024-07-01T00:00:00Z" and out["as_of"] == "2024-06-30"
    [c] = out["contracts"]  # the October option and later contracts were not public yet
    assert c["contract_id"] == "coreweave-2024-06-200mw" and c["tenant"] == "CoreWeave"
    assert c["lease_usd_per_kw_month"] == pytest.approx(3.5e9 / (200_000 * 144))
    # CoreWeave funds the build (fact); no amount is stated, so the share is the stated assumption (1)
    assert c["hpc_build_capex_usd"] == pytest.approx(1.8e9) and c["hpc_capex_usd"] == 0.0
    assert c["renewal_options"] == "2x5y" and c["renewal_probability"] == 0.5 and c["renewal_npv_usd"] > 0
    assert c["switch_value_with_renewals_usd"] == pytest.approx(
        c["switch_value_usd"] + c["renewal_npv_usd"] - c["renewal_mining_npv_usd"])
    facts = [i for i in c["inputs"] if i["kind"] in ("fact", "derived")]
    assumed = {i["input"] for i in c["inputs"] if i["kind"] == "assumption"}
    assert {"critical_it_mw", "hpc.term_years", "total_value_usd", "hpc.tenant_funds_capex",
            "hpc.renewal_options", "mining.efficiency_j_per_th"} <= {i["input"] for i in facts}
    assert {"hpc.capex_usd_per_mw", "hpc.tenant_capex_share", "hpc.renewal_probability", "hpc.phases",
            "power.price_usd_per_kwh"} <= assumed
    for i in facts:
        assert i["public_date"] <= "2024-06-30" and i["source_url"].startswith("http"), i
    assert {"hpc.capex_usd_per_mw", "hpc.phases"} <= set(c["illustrative"])
    assert out["assumptions"]["tenant_capex_share_if_yes"] == 1.0


def test_hpc_value_before_the_announcement_names_it(bundle_db_path):
    res = run(bundle_db_path, "value", "--ticker", "CORZ", "--at", "2024-05-01")
    assert res.exit_code == 2
    msg = " ".join(res.output.split())
    assert "no HPC/AI contract announced by 2024-05-01" in msg and "announced on 2024-06-03" in msg
    res = run(bundle_db_path, "value", "--ticker", "CORZ", "--contract", "coreweave-2024-10-120mw",
              "--at", "2024-06-30")
    assert res.exit_code == 2 and "2024-10-22" in res.output
    res = run(bundle_db_path, "value", "--ticker", "ZZZZ", "--at", "2024-06-30")
    assert res.exit_code == 2 and "not in the company facts" in res.output


def test_assumptions_file_moves_only_what_it_names(bundle_db_path, tmp_path):
    a = tmp_path / "a.toml"
    a.write_text("tenant_capex_share_if_yes = 0.0\n", encoding="utf-8")
    res = run(bundle_db_path, "value", "--ticker", "CORZ", "--at", "2024-06-30", "--format", "json")
    funded = json.loads(res.stdout)["contracts"][0]
    res = run(bundle_db_path, "value", "--ticker", "CORZ", "--at", "2024-06-30", "--assumptions", str(a),
              "--format", "json")
    assert res.exit_code == 0, res.output
    own = json.loads(res.stdout)["contracts"][0]
    # charging the operator the whole build lowers NPV(HPC) by exactly the build (paid at t = 0)
    assert own["hpc_capex_usd"] == pytest.approx(1.8e9)
    assert funded["hpc_npv_usd"] - own["hpc_npv_usd"] == pytest.approx(1.8e9)
    assert own["renewal_npv_usd"] == pytest.approx(funded["renewal_npv_usd"])
    bad = tmp_path / "bad.toml"
    bad.write_text("renewal_probability = 2\n", encoding="utf-8")
    res = run(bundle_db_path, "value", "--ticker", "CORZ", "--at", "2024-06-30", "--assumptions", str(bad))
    assert res.exit_code == 2 and "renewal_probability" in res.output


def test_hpc_company_from_the_facts(bundle_desk):
    out = bundle_desk.hpc_company("CORZ", "2024-06-30")
    val = out["valuation"]
    assert val.shares_outstanding == 177_783_480  # cover page as of 2024-05-03 (10-Q of 2024-05-09)
    assert val.net_debt_usd == -98_100_000  # cash at 2024-03-31; no debt fact was public yet
    assert any("no debt_usd fact" in w for w in out["warnings"])
    assert val.price_date <= dt.date(2024, 6, 30)
    assert val.fleet_hashrate_ehs == 19.3 and val.fleet_power_mw == pytest.approx(19.3 * 26.85)
    assert val.contracted_hpc_critical_it_mw == 200.0
    parts = val.mining_value_usd + val.contracted_hpc_value_usd + val.btc_held_usd - val.net_debt_usd
    assert val.sum_of_parts_usd == pytest.approx(parts)
    assert val.sum_of_parts_with_renewals_usd == pytest.approx(
        val.sum_of_parts_usd + val.contracted_hpc_renewal_npv_usd)
    assert out["cohort"]["cohort"] == "hybrid"
    with pytest.raises(FactsError, match="no shares_outstanding fact is public by 2023-06-30"):
        bundle_desk.hpc_company("CORZ", "2023-06-30")


def test_cohorts_from_the_facts_agree_with_comps(bundle_desk):
    from hashdesk.hpc.cohorts import FACTS_COHORT_RULE, facts_cohort_table
    from hashdesk.hpc.comps import COMPS_COHORT_RULE

    assert COMPS_COHORT_RULE == FACTS_COHORT_RULE
    for day in ("2024-01-31", "2024-06-30", "2025-12-29"):
        desk_table = bundle_desk.cohorts(day).set_index("ticker")
        comps = bundle_desk.comps(day).set_index("ticker").drop(index="median")
        assert (desk_table["cohort"] == comps["cohort"]).all()
        pure = facts_cohort_table(bundle_desk.company_facts(day), dt.date.fromisoformat(day)).set_index("ticker")
        assert (pure.loc[desk_table.index, "cohort"] == desk_table["cohort"]).all(), day
    assert bundle_desk.cohorts("2024-01-31").set_index("ticker").loc["CORZ", "cohort"] == "pure-play"
    assert bundle_desk.cohorts("2024-06-30").set_index("ticker").loc["CORZ", "cohort"] == "hybrid"


def test_scorecard_from_the_facts_dates_and_sources_every_input(bundle_desk):
    at = dt.date(2024, 6, 30)
    card = bundle_desk.scorecard(at)
    assert set(card["ticker"]) == set(bundle_desk.company_facts(at)["companies"]["ticker"])
    crit = card[card["criterion"] != "total"]
    for _, r in crit[crit["scored"]].iterrows():
        for i in r["inputs"]:
            assert i["as_of"] and i["public_date"] and i["source_url"], (r["ticker"], r["criterion"], i)
            if i.get("kind") == "fact":
                assert i["public_date"] <= at.isoformat() and i["source_url"].startswith("http")
        if r["criterion"] != "hpc_readiness" or r["value"] > 0:
            assert r["inputs"], (r["ticker"], r["criterion"])
    # a missing fact stays missing: unscored, with the reason, never a default number
    un = crit[~crit["scored"]]
    assert un["score_0_100"].isna().all() and un["value"].isna().all() and (un["reason"].str.len() > 0).all()
    assert (crit.loc[crit["criterion"] == "contract_expiry", "scored"] == False).all()  # noqa: E712
    corz = card[card["ticker"] == "CORZ"].set_index("criterion")
    assert not corz.loc["balance_sheet", "scored"] and "debt_usd" in corz.loc["balance_sheet", "reason"]
    assert corz.loc["fleet_efficiency", "value"] == 26.85
    assert corz.loc["fleet_efficiency", "score_0_100"] == pytest.approx(100 * (30 - 26.85) / 15)
    assert corz.loc["hpc_readiness", "value"] == pytest.approx(200 / (200 + 19.3 * 26.85))
    # the total is the weighted mean over the scored criteria
    for _, g in card.groupby("ticker"):
        g = g.set_index("criterion")
        sc = g.drop(index="total")
        sc = sc[sc["scored"]]
        if len(sc):
            assert g.loc["total", "score_0_100"] == pytest.approx((sc.score_0_100 * sc.weight).sum() / sc.weight.sum())
        else:
            assert g.loc["total", "score_0_100"] is None or math.isnan(g.loc["total", "score_0_100"])
    clsk = card[card["ticker"] == "CLSK"].set_index("criterion").loc["balance_sheet"]
    assert clsk["scored"] and {i["input"] for i in clsk["inputs"]} == {
        "shares_outstanding", "debt_usd", "cash_usd", "btc_held", "share_price", "btc_price"}
    only = bundle_desk.scorecard(at, ["corz", "RIOT"])
    assert list(dict.fromkeys(only["ticker"])) == ["CORZ", "RIOT"]
    with pytest.raises(FactsError, match="not in the company facts: ZZZZ"):
        bundle_desk.scorecard(at, ["ZZZZ"])


def test_scorecard_cli_from_the_facts_and_from_files(bundle_db_path):
    res = run(bundle_db_path, "scorecard", "--at", "2024-06-30", "CORZ", "CLSK", "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["as_of"] == "2024-06-30" and {r["ticker"] for r in out["summary"]} == {"CORZ", "CLSK"}
    assert {"inputs", "reason", "scored"} <= set(out["detail"][0])
    res = run(bundle_db_path, "scorecard", "--at", "2024-06-30", "--detail")
    assert res.exit_code == 0 and "inputs with date and source" in res.output and "https" in res.output
    res = run(bundle_db_path, "scorecard", "CORZ", str(EXAMPLES / "mara.toml"))
    assert res.exit_code == 2 and "not both" in res.output


def test_value_company_skips_contracts_that_cannot_be_valued(bundle_desk):
    # WULF's Core42 lease states no total value: no lease can be implied (a visible reason)
    out = bundle_desk.hpc_value("WULF", "2025-01-31")
    assert out["contracts"] == [] and out["not_valued"][0]["contract_id"] == "core42-2024-12"
    assert "total_value_usd is not stated" in out["not_valued"][0]["reason"]
    from hashdesk.hpc.sites import FactAssumptions

    priced = bundle_desk.hpc_value("WULF", "2025-01-31", assumptions=FactAssumptions(lease_usd_per_kw_month=125.0,
                                                                                      mining_efficiency_j_per_th=20.0))
    [c] = priced["contracts"]
    assert c["result"].lease_usd_per_kw_month == 125.0
    kinds = {i["input"]: i["kind"] for i in c["inputs"]}
    assert kinds["hpc.lease_usd_per_kw_month"] == "assumption" and kinds["critical_it_mw"] == "fact"


def test_facts_phases_drive_the_ramp(bundle_desk):
    # RIOT's Rockdale lease: 96 MW by December 2027, 191 MW by June 2028 (cumulative, as stated)
    from hashdesk.hpc.sites import FactAssumptions

    facts = bundle_desk.company_facts(None)
    row = facts["company_hpc_contracts"].set_index("contract_id").loc["ai-lab-2026-08-rockdale-191mw"]
    assert row["phases"] == "2027-12:96;2028-06:191"
    from hashdesk.hpc.sites import site_from_contract

    cs = site_from_contract({**row.to_dict(), "contract_id": "ai-lab-2026-08-rockdale-191mw"}, facts,
                            dt.date(2026, 8, 10), FactAssumptions(mining_efficiency_j_per_th=20.0))
    assert cs.site.hpc.phases == "2027-12:96;2028-06:191"
    assert {i["input"]: i["kind"] for i in cs.inputs}["hpc.phases"] == "fact"
    st = bundle_desk.network_state("2025-12-29")
    with pytest.raises(ValuationError, match="precedes the lease's announcement on 2026-08-10"):
        value_site(cs.site, st)
    # valued on its announcement day: the ramp's tranches start at their months (16 and 22 months on)
    from hashdesk.hpc.valuation import site_tranches

    assert site_tranches(cs.site, dt.date(2026, 8, 10)) == [(16, 96.0), (22, 95.0)]
    assert np.isfinite(cs.site.hpc.operator_capex_usd_per_mw)
    frame = pd.DataFrame(cs.inputs)
    assert set(frame.loc[frame["kind"] == "fact", "source_url"].str[:4]) == {"http"}
