"""Public-miner comparables from dated facts (hashdesk comps)."""

from __future__ import annotations

import datetime as dt
import json
import math

import pandas as pd
import pytest
from typer.testing import CliRunner

from hashdesk.cli import app
from hashdesk.hpc.comps import ProductionMonth, comps_table


def _facts():
    d = dt.date
    return {
        "companies": pd.DataFrame({"ticker": ["AAA", "BBB"], "name": ["A", "B"]}),
        "company_capital": pd.DataFrame({
            "ticker": ["AAA", "AAA", "BBB"], "as_of": [d(2024, 3, 31)] * 3,
            "shares_outstanding": [100.0, None, 50.0], "cash_usd": [1_000.0, None, None],
            "debt_usd": [None, 3_000.0, 500.0], "btc_held": [None, 10.0, None],
            "public_date": [d(2024, 5, 1)] * 3, "source_url": ["u1", "u2", "u3"]}),
        "company_fleet": pd.DataFrame({
            "ticker": ["AAA", "AAA", "BBB"], "as_of": [d(2023, 6, 30), d(2024, 3, 31), d(2024, 3, 31)],
            "deployed_ehs": [2.0, 4.0, 1.0], "efficiency_j_per_th": [None, 25.0, None],
            "public_date": [d(2023, 8, 1), d(2024, 5, 1), d(2024, 5, 1)], "source_url": ["f0", "f1", "f2"]}),
        "company_sites": pd.DataFrame(columns=["ticker", "site_id", "as_of", "public_date", "gross_mw",
                                               "energized_mw", "source_url"]),
        "company_hpc_contracts": pd.DataFrame({
            "ticker": ["AAA", "AAA"], "contract_id": ["c1", "c2"], "tenant": ["T", "U"],
            "critical_it_mw": [50.0, 999.0], "announced": [d(2024, 4, 1), d(2024, 9, 1)],
            "public_date": [d(2024, 4, 1), d(2024, 9, 1)], "source_url": ["h1", "h2"]}),
    }


def test_comps_by_hand():
    closes = pd.DataFrame({"ticker": ["AAA", "BBB"], "date": ["2024-06-28"] * 2, "close": [20.0, 10.0]})
    prod = {"AAA": ProductionMonth("2024-05", 60.0, 20.0, 31.0)}
    t = comps_table(_facts(), closes, 60_000.0, prod, dt.date(2024, 6, 30)).set_index("ticker")
    a = t.loc["AAA"]
    # EV = 100 × 20 + 3,000 debt − 1,000 cash = 4,000; per deployed EH/s (4.0, the latest fleet fact)
    assert (a.market_cap_usd, a.ev_usd, a.ev_per_ehs_usd) == (2_000.0, 4_000.0, 1_000.0)
    assert a.realized_ehs == 3.0 and a.price_to_hash_usd_per_ehs == pytest.approx(4_000 / 3)
    assert a.realized_btc_per_ehs_day == pytest.approx(60 / 4 / 31)
    assert a.btc_per_share == 0.1 and a.btc_held_usd == 600_000.0
    assert a.hashrate_growth_pct == pytest.approx(100.0) and a.hashrate_growth_days == 275
    # only the contract announced by the date counts: 50 MW vs a 4 EH/s × 25 J/TH = 100 MW fleet
    assert a.hpc_contracted_mw == 50.0 and a.hpc_power_share == pytest.approx(1 / 3)
    assert a.cohort == "hybrid"
    urls = {f["source_url"] for f in a.facts}
    assert {"u1", "u2", "f1", "f0", "h1"} <= urls and "h2" not in urls
    b = t.loc["BBB"]
    assert b.ev_usd == 50 * 10 + 500 and "cash not stated" in b.ev_basis and b.cohort == "pure-play"
    assert t.loc["median", "ev_per_ehs_usd"] == pytest.approx((1_000 + 1_000) / 2)


def test_comps_at_mid_2024_on_the_bundle(bundle_db_path):
    r = CliRunner().invoke(app, ["--db", str(bundle_db_path), "comps", "--at", "2024-06-30", "--format", "json"])
    assert r.exit_code == 0, r.output
    rows = [x for x in json.loads(r.stdout) if x["ticker"] != "median"]
    for k in ("ticker", "ev_usd", "ev_per_ehs_usd", "ev_per_mw_usd", "btc_held", "hpc_power_share", "as_of"):
        assert all(k in x for x in rows), k
    finite = {x["ticker"] for x in rows if x["ev_per_ehs_usd"] is not None and math.isfinite(x["ev_per_ehs_usd"])}
    assert {"BITF", "BTDR", "CLSK", "CORZ", "HUT", "MARA", "RIOT"} <= finite
    # every fact behind a figure was public by the date
    for x in rows:
        for f in x["facts"]:
            if f["table"] != "miner_production":
                assert f["public_date"] <= "2024-06-30", (x["ticker"], f)
    # CoreWeave's first Denton lease was announced 2024-06-03: CORZ is an HPC name by mid-2024,
    # not in January
    corz = next(x for x in rows if x["ticker"] == "CORZ")
    assert corz["cohort"] == "hybrid"
    jan = json.loads(CliRunner().invoke(app, ["--db", str(bundle_db_path), "comps", "--at", "2024-01-31",
                                              "--format", "json"]).stdout)
    assert all(x["cohort"] == "pure-play" for x in jan if x["ticker"] != "median")


def test_january_2024_brief_uses_no_later_contract(bundle_desk):
    """The brief's AI/HPC section classifies with contracts announced by the month's end only."""
    from hashdesk.report.sections import hpc_section

    jan = hpc_section(bundle_desk, dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    comps = next(t for t in jan.tables if t.key == "comps")
    col = [c.key for c in comps.columns]
    cohorts = {r[col.index("ticker")]: r[col.index("cohort")] for r in comps.rows}
    assert len(cohorts) == 10 and set(cohorts.values()) == {"pure-play"}
    assert "no HPC/AI contract announced yet" in jan.note
    dec = hpc_section(bundle_desk, dt.date(2024, 12, 1), dt.date(2024, 12, 31))
    table = next(t for t in dec.tables if t.key == "cohorts")
    members = {r[0]: r[1] for r in table.rows}
    assert members["hybrid"] == "CORZ,WULF"  # CoreWeave (2024-06) and Core42 (2024-10) leases
