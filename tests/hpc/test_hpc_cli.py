"""The ``hashdesk hpc`` commands end to end on the bundle store."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from hashdesk.cli import app
from hashdesk.config import repo_root

EXAMPLES = repo_root() / "examples" / "hpc"
runner = CliRunner()


def run(db, *args):
    return runner.invoke(app, ["--db", str(db), "hpc", *args])


def test_value_json_has_the_promised_keys(bundle_db_path, tmp_path):
    html = tmp_path / "site.html"
    res = run(bundle_db_path, "value", "--site", str(EXAMPLES / "illustrative_texas_mining.toml"),
              "--format", "json", "--html", str(html))
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout[res.stdout.index("{"):])
    for key in ("mining_usd_per_mw_year", "hpc_usd_per_mw_year", "hpc_npv_usd", "hpc_irr",
                "payback_years", "breakeven_lease_usd_per_kw_month"):
        assert isinstance(out[key], float), key
    assert out["decision"] in ("keep mining", "convert to HPC")
    assert len(out["sensitivity"]) == 10 and len(out["reference_ranges"]) == 4
    assert "hpc" in out["illustrative"]
    text = html.read_text(encoding="utf-8")
    assert "Plotly" in text and "<script src=\"https://cdn.plot.ly" not in text
    assert "[million USD]" in text


def test_value_table_and_bad_site(bundle_db_path, tmp_path):
    res = run(bundle_db_path, "value", "--site", str(EXAMPLES / "terawulf_lake_mariner_hpc.toml"))
    assert res.exit_code == 0, res.output
    assert "breakeven lease [USD/kW-month]" in res.output  # a label with its unit, not the field name
    bad = tmp_path / "bad.toml"
    bad.write_text(
        (EXAMPLES / "illustrative_texas_mining.toml").read_text().replace(
            "critical_it_mw = 225.0", "critical_it_mw = 350.0"),
        encoding="utf-8",
    )
    res = run(bundle_db_path, "value", "--site", str(bad))
    assert res.exit_code == 2
    assert "critical_it_mw (350 MW) exceeds gross_mw (300 MW)" in res.output.replace("\n", " ")


def test_company_and_scorecard(bundle_db_path):
    res = run(bundle_db_path, "company", str(EXAMPLES / "core_scientific.toml"), "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["cohort"] == "hybrid" and out["ticker"] == "CORZ"
    assert out["market_cap_usd"] > 0 and "premium_usd" in out
    files = [str(EXAMPLES / f) for f in ("mara.toml", "core_scientific.toml", "terawulf.toml")]
    res = run(bundle_db_path, "scorecard", *files, "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert {r["ticker"] for r in out["summary"]} == {"MARA", "CORZ", "WULF"}
    assert {"inputs", "rule", "weight"} <= set(out["detail"][0])
    # the Fluidstack lease was announced after the files' 2025-04-04 price date: not yet HPC then
    assert {r["ticker"]: r["cohort"] for r in out["summary"]}["WULF"] == "pure-play"
    res = run(bundle_db_path, "deals")
    assert res.exit_code == 0 and "Fluidstack" in res.output
