"""Real-data results on the reference bundle: January 2024 and 2024 as a whole, and the CLI."""

from __future__ import annotations

import json
from functools import partial

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hashdesk.cli import app
from hashdesk.data.markets import load_market_inputs
from hashdesk.market import MarketDataError
from hashdesk.market.claims import check_claims, load_claims
from hashdesk.market.cohorts import DEFAULT_COHORTS, cohort_analysis
from hashdesk.market.decoupling import decoupling_episodes, join_events
from hashdesk.market.events import event_study, halving_events
from hashdesk.market.factors import factor_regression
from hashdesk.market.returns import BTC
from hashdesk.market.summary import market_summary, panel_returns, ticker_returns

EXAMPLE = "examples/claims/jan2024.yaml"


def summary(store, tickers, start, end, **kw):
    inputs = load_market_inputs(store, [*tickers, *kw.get("benchmarks", [])], start, end)
    recs, _ = market_summary(inputs, tickers, start, end, **kw)
    return {r["ticker"]: r for r in recs}


def test_january_2024(bundle_store):
    s = summary(bundle_store, ["MARA", "RIOT", "WGMI"], "2024-01-01", "2024-01-31")
    # returns from the last close of 2023 (Fri 2023-12-29) to 2024-01-31, straight from the rows
    assert s["MARA"]["return"] == pytest.approx(17.72 / 23.50 - 1)  # -24.60 %
    assert s["RIOT"]["return"] == pytest.approx(10.895 / 15.46 - 1)  # -29.53 %
    assert s["WGMI"]["return"] == pytest.approx(13.08 / 17.83 - 1)  # -26.64 %
    assert s["MARA"]["n_obs"] == 21 and s["MARA"]["first_date"].isoformat() == "2024-01-02"
    # BTC over the same exchange days: 00:00 UTC fixing of 2023-12-29 -> 2024-01-31
    assert s["MARA"]["btc_return"] == pytest.approx(0.014069, abs=1e-6)
    assert s["MARA"]["excess_return_vs_btc"] == pytest.approx(s["MARA"]["return"] - s["MARA"]["btc_return"])
    # BTC on its own calendar: every UTC day, 365/yr
    assert s[BTC]["return"] == pytest.approx(0.008819, abs=1e-6)
    assert s[BTC]["n_obs"] == 31 and s[BTC]["periods_per_year"] == 365
    assert s["MARA"]["beta_btc"] == pytest.approx(0.983, abs=1e-3)
    assert s["MARA"]["max_drawdown"] == pytest.approx(-0.4045, abs=1e-4)
    # asynchronous closes: the Dimson beta is far above the same-day beta this month
    assert s["MARA"]["beta_btc_dimson"] > 2 * s["MARA"]["beta_btc"]


def test_year_2024(bundle_store):
    s = summary(bundle_store, ["MARA", "RIOT", "CORZ", "WGMI"], "2024-01-01", "2024-12-31", benchmarks=[BTC, "QQQ"])
    assert s["MARA"]["n_obs"] == 252
    assert s["MARA"]["return"] == pytest.approx(-0.2860, abs=1e-4)
    assert s["MARA"]["btc_return"] == pytest.approx(1.2237, abs=1e-4)
    assert s[BTC]["return"] == pytest.approx(1.2121, abs=1e-4)
    assert s["MARA"]["beta_btc"] == pytest.approx(1.150, abs=1e-3)
    assert s["MARA"]["beta_btc_se"] == pytest.approx(0.095, abs=1e-3)
    assert s["RIOT"]["correlation_btc"] == pytest.approx(0.619, abs=1e-3)
    assert s["MARA"]["beta_qqq"] == pytest.approx(2.048, abs=1e-3)
    # CORZ relisted 2024-01-24: it starts there, with a warning
    assert s["CORZ"]["first_date"].isoformat() == "2024-01-25"
    assert any("no close before" in w for w in s["CORZ"]["warnings"])
    # WGMI's zero-volume (stale) IEX bars are dropped, not used
    assert s["WGMI"]["n_obs"] == 247


def test_spac_period_excluded(bundle_store):
    s = summary(bundle_store, ["CIFR"], "2021-06-01", "2021-09-30")
    assert s["CIFR"]["first_date"] > pd.Timestamp("2021-08-01").date()
    assert any("GWAC (SPAC)" in w and "excluded" in w for w in s["CIFR"]["warnings"])


def test_bad_input(bundle_store):
    with pytest.raises(MarketDataError, match="unknown ticker 'XYZ'"):
        load_market_inputs(bundle_store, ["XYZ"], "2024-01-01", "2024-01-31")
    inputs = load_market_inputs(bundle_store, ["MARA"], "2024-01-06", "2024-01-07")
    with pytest.raises(MarketDataError, match="MARA: no prices between 2024-01-06 and 2024-01-07"):
        market_summary(inputs, ["MARA"], "2024-01-06", "2024-01-07")
    with pytest.raises(MarketDataError, match="is after its end"):
        load_market_inputs(bundle_store, ["MARA"], "2024-02-01", "2024-01-01")
    ar = ticker_returns(load_market_inputs(bundle_store, ["MARA"], "2024-01-01", "2024-01-31"), "MARA",
                        "2024-01-01", "2024-01-31")
    with pytest.raises(MarketDataError, match="longer than the 21 paired returns"):
        decoupling_episodes(ar.returns["MARA"], ar.returns[BTC], window=60)


def test_claims_example_answers_from_data(bundle_store):
    res = {r.id: r for r in check_claims(load_claims(EXAMPLE), partial(load_market_inputs, bundle_store))}
    assert res["btc-flat-after-dip"].verdict == "supported"
    low = res["btc-flat-after-dip"].measured[1]["values"][BTC]
    assert low == pytest.approx(39577.10, abs=0.01)  # 2024-01-22 fixing
    assert res["wgmi-rose-15pct"].verdict == "contradicted"
    assert res["mara-riot-doubled-btc"].verdict == "contradicted"
    assert res["miners-outperformed-btc"].verdict == "contradicted"
    assert all(r.data_used for r in res.values())


def test_claims_not_enough_data(bundle_store, tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(
        "claims:\n"
        "  - {id: corz-2023, text: CORZ rose in 2023, subject: CORZ, metric: return, comparison: '>', threshold: 0,\n"
        "     period: {from: 2023-01-01, to: 2023-12-31}}\n"
        "  - {id: nope, text: XYZ rose, subject: XYZ, metric: return, comparison: '>', threshold: 0,\n"
        "     period: {from: 2024-01-01, to: 2024-01-31}}\n"
        "  - {id: btc-qqq, text: BTC beat QQQ in 2024, subject: BTC-USD, metric: excess_return, benchmark: QQQ,\n"
        "     comparison: '>', threshold: 0, period: {from: 2024-01-01, to: 2024-12-31}}\n"
    )
    res = check_claims(load_claims(p), partial(load_market_inputs, bundle_store))
    assert [r.verdict for r in res] == ["not enough data", "not enough data", "supported"]
    assert "unknown ticker 'XYZ'" in res[1].measured[0]["reason"]
    # BTC against an equity is measured on the equity's 252 exchange days
    assert "252 returns, exchange days" in res[2].data_used[0]


def test_decoupling_events_factors_cohorts(bundle_store, bundle_desk):
    inputs = load_market_inputs(bundle_store, ["MARA", *DEFAULT_COHORTS["hpc_pivot"], "RIOT", "CLSK", "QQQ"],
                                "2024-01-01", "2024-12-31", lookback_days=400)
    ar = ticker_returns(inputs, "MARA", "2024-01-01", "2024-12-31", benchmarks=[BTC, "QQQ"])
    dec = decoupling_episodes(ar.returns["MARA"], ar.returns[BTC], window=20, k=2.0, name="MARA")
    assert len(dec.episodes) >= 1
    assert (dec.episodes.peak_z.abs() > 2).all()
    events = bundle_desk.chain_events("2024-01-01", "2024-12-31", ["MARA", "RIOT"])
    assert {"retarget", "halving", "production", "hashrate_shock"} <= set(events.kind)
    storm = events[events.kind == "hashrate_shock"].iloc[0]  # the January 2024 winter storm
    assert storm.date == pd.Timestamp("2024-01-14")
    joined = join_events(dec.episodes, events, tickers=["MARA"])
    assert not any("RIOT" in e for evs in joined.events for e in evs)
    assert all(isinstance(e, list) for e in joined.events) and sum(map(len, joined.events)) > 0

    halv = bundle_desk.halvings()
    assert pd.Timestamp("2024-04-20") in set(halv.date)
    long = ticker_returns(inputs, "MARA", "2023-01-01", "2024-12-31")
    early = pd.DataFrame({"date": [pd.Timestamp("2023-02-01")], "description": ["too early"], "kind": ["user"]})
    st = event_study(long.returns["MARA"], long.returns[BTC], pd.concat([early, halving_events(halv)]), name="MARA")
    row = st.table.iloc[-1]
    assert row["day0"].isoformat() == "2024-04-22"  # Saturday halving -> Monday
    assert np.isfinite(row["car_t"]) and len(st.paths) == 11
    assert len(st.table) == 1 and "too early" in st.skipped[0] and "estimation periods" in st.skipped[0]

    fr = factor_regression(ar.returns["MARA"], pd.DataFrame({"btc": ar.returns[BTC], "qqq": ar.returns["QQQ"]}),
                           window=60)
    assert 0.8 < fr.full["beta_btc"] < 1.4 and fr.full["beta_qqq_se"] > 0
    assert len(fr.rolling) == 252 - 59

    members = sorted({m for g in DEFAULT_COHORTS.values() for m in g})
    pr = panel_returns(inputs, members, "2024-01-01", "2024-12-31")
    co = cohort_analysis(pr.returns[members], pr.returns[BTC], DEFAULT_COHORTS)
    spread = co.returns["pure_play_minus_hpc_pivot"]
    assert spread.iloc[5] == pytest.approx(co.returns["pure_play"].iloc[5] - co.returns["hpc_pivot"].iloc[5])
    names = [r["cohort"] for r in co.table]
    assert names == ["pure_play", "hpc_pivot", "pure_play_minus_hpc_pivot", BTC]


runner = CliRunner()


def cli(db, *args):
    return runner.invoke(app, ["--db", str(db), *args])


def test_cli_market_json(bundle_db_path):
    r = cli(bundle_db_path, "market", "--from", "2024-01-01", "--to", "2024-01-31", "--tickers", "MARA,RIOT",
            "--format", "json")
    assert r.exit_code == 0, r.output
    recs = json.loads(r.stdout)
    assert [x["ticker"] for x in recs] == ["MARA", "RIOT", BTC]
    for key in ("ticker", "return", "excess_return_vs_btc", "beta_btc", "correlation_btc", "max_drawdown"):
        assert key in recs[0]


def test_cli_errors_and_subcommands(bundle_db_path, tmp_path):
    r = cli(bundle_db_path, "market", "--from", "2024-01-01", "--to", "2024-01-31", "--tickers", "XYZ")
    assert r.exit_code == 2 and "unknown ticker 'XYZ'" in r.output
    r = cli(bundle_db_path, "market", "--to", "2024-01-31")
    assert r.exit_code == 2 and "--from" in r.output
    r = cli(bundle_db_path, "market", "rolling", "--from", "2024-01-01", "--to", "2024-01-31", "--window", "60")
    assert r.exit_code == 2 and "longer than" in r.output
    chart = tmp_path / "c.html"
    r = cli(bundle_db_path, "market", "cohorts", "--from", "2024-01-01", "--to", "2024-12-31", "--format", "json",
            "--chart", str(chart))
    assert r.exit_code == 0, r.output
    assert chart.stat().st_size > 1_000_000  # plotly.js inlined
    r = cli(bundle_db_path, "check", EXAMPLE, "--format", "json")
    assert r.exit_code == 0, r.output
    assert [x["verdict"] for x in json.loads(r.stdout)] == ["supported", "contradicted", "contradicted", "contradicted"]


def test_cli_analysis_subcommands(bundle_db_path, tmp_path):
    ev = tmp_path / "ev.yaml"
    ev.write_text("events:\n  - {date: 2024-06-03, ticker: CORZ, kind: deal, description: CoreWeave hosting deal}\n")
    r = cli(bundle_db_path, "market", "decoupling", "--from", "2024-01-01", "--to", "2024-12-31", "--tickers", "CORZ",
            "--events-file", str(ev), "--format", "json")
    assert r.exit_code == 0, r.output
    eps = json.loads(r.stdout)
    assert any(e["direction"] == "up" and any("CoreWeave" in x for x in e["events"]) for e in eps)
    r = cli(bundle_db_path, "market", "events", "--from", "2024-01-01", "--to", "2024-12-31", "--tickers", "MARA",
            "--kinds", "halving", "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["events"][0]["day0"] == "2024-04-22"
    r = cli(bundle_db_path, "market", "factors", "--from", "2024-01-01", "--to", "2024-12-31", "--tickers", "MARA",
            "--format", "json")
    assert r.exit_code == 0, r.output
    assert {"beta_btc", "beta_qqq", "beta_qqq_se", "r_squared"} <= set(json.loads(r.stdout)[0])
    r = cli(bundle_db_path, "market", "events", "--from", "2024-01-01", "--to", "2024-12-31", "--kinds", "bogus")
    assert r.exit_code == 2 and "unknown kind" in r.output
