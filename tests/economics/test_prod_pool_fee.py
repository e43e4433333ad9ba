"""Production verdicts: the pool fee stated per company and in the interval; what a verdict measures."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from hashdesk.cli import app
from hashdesk.economics.production import (
    DEFAULT_POOL_MODELS,
    OPERATING_KINDS,
    UNSTATED_POOL_FEE,
    UNSTATED_POOL_FEE_RANGE,
    Payout,
    PoolModel,
    ProductionError,
    default_pool_model,
    pool_models_from_facts,
    realization_interval,
)


def test_fee_range_enters_the_interval_by_hand():
    """FPPS, kind band 2 %: a known 2 % fee gives [0.98·0.98, 0.98·1.02]; an unstated fee in
    0–4 % gives [0.96·0.98, 1.00·1.02] — the verdict holds for any fee in the range."""
    lo, hi = realization_interval(100.0, PoolModel(Payout.fpps, 0.02), 0.02)
    assert (lo, hi) == pytest.approx((0.98 * 0.98, 0.98 * 1.02))
    lo, hi = realization_interval(100.0, default_pool_model("ZZZ"), 0.02)
    assert (lo, hi) == pytest.approx((0.96 * 0.98, 1.00 * 1.02))
    # own pool with a fee range: Poisson(100) 2.5/97.5 % quantiles 81 and 120
    lo, hi = realization_interval(100.0, PoolModel(Payout.own, 0.01, "t", 0.0, 0.02), 0.0)
    assert (lo, hi) == pytest.approx((0.81 * 0.98, 1.20 * 1.00))
    with pytest.raises(ProductionError, match="outside its range"):
        PoolModel(Payout.fpps, 0.05, "t", 0.0, 0.04)
    with pytest.raises(ProductionError, match="pool_fee_hi"):
        PoolModel(Payout.fpps, 0.0, "t", 0.0, 1.5)


def test_every_bundle_ticker_has_a_stated_pool_fee(bundle_desk):
    rec = bundle_desk.production()
    assert set(rec.ticker) <= set(DEFAULT_POOL_MODELS)
    for t, m in DEFAULT_POOL_MODELS.items():
        assert m.basis and (m.fee_basis or m.basis), t
        if m.payout == Payout.fpps:
            assert m.fee_range == UNSTATED_POOL_FEE_RANGE and m.pool_fee == UNSTATED_POOL_FEE
            assert "https://www.spark.money/tools/bitcoin-mining-pool-comparison" in m.fee_basis
    assert DEFAULT_POOL_MODELS["MARA"].fee_range == (0.0, 0.0)
    assert "Foundry USA" in DEFAULT_POOL_MODELS["CLSK"].basis
    assert rec.pool_fee.notna().all() and (rec.pool_fee_words != "").all()


def test_riot_july_2024_hinges_on_the_fee_and_says_so(bundle_desk):
    """RIOT 2024-07: 370 BTC against 381.9 expected at 15.5 EH/s average operating (0.969). At
    a 0 % fee the month is a miss; at 2 % it is in line; with the fee not public the interval
    allows 0–4 % and the output shows the fee it assumed."""
    default = bundle_desk.production(["RIOT"], "2024-07", "2024-07").iloc[0]
    assert round(default.realization, 3) == 0.969 and default.hashrate_kind == "average_operating"
    assert default.verdict == "in line"
    assert default.pool_fee == 0.02 and (default.pool_fee_lo, default.pool_fee_hi) == (0.0, 0.04)
    assert default.pool_fee_words == "2 % (not public; interval allows 0–4 %)"
    assert default.realization_lo == pytest.approx(0.96 * (1 - default.kind_band_pct / 100))
    zero = bundle_desk.production(["RIOT"], "2024-07", "2024-07",
                                  {"RIOT": PoolModel(Payout.fpps, 0.0, "test")}).iloc[0]
    two = bundle_desk.production(["RIOT"], "2024-07", "2024-07",
                                 {"RIOT": PoolModel(Payout.fpps, 0.02, "test")}).iloc[0]
    assert (zero.verdict, two.verdict) == ("miss", "in line")
    assert zero.btc_expected == two.btc_expected == default.btc_expected  # the fee scales the interval only


def test_verdicts_say_when_they_measure_uptime(bundle_desk):
    """RIOT 2024-05 reports only deployed capacity: the miss (0.64) measures uptime and
    curtailment, not luck; months with an average operating hashrate use it."""
    rec = bundle_desk.production(["RIOT"], "2024-03", "2024-12").set_index("month")
    may = rec.loc["2024-05"]
    assert may.hashrate_kind == "deployed" and may.verdict == "miss"
    assert not may.operating_hashrate_reported
    assert "uptime" in may.verdict_measures and "no operating hashrate reported" in may.verdict_measures
    jul = rec.loc["2024-07"]
    assert jul.hashrate_kind in OPERATING_KINDS and jul.operating_hashrate_reported
    assert jul.verdict_measures.startswith("luck and pool terms")
    # asking for deployed where an operating value exists: labelled, without the "none reported" note
    dep = bundle_desk.production(["RIOT"], "2024-07", "2024-07", kind="deployed").iloc[0]
    assert "uptime" in dep.verdict_measures and dep.operating_hashrate_reported
    assert "no operating hashrate reported" not in dep.verdict_measures


def test_pool_models_from_facts():
    facts = pd.DataFrame({"ticker": ["riot", "CLSK", "HUT"], "pool_fee": [0.01, None, 0.5],
                          "pool_payout": ["fpps", "", "own"], "source": ["10-K", "", "x"]})
    m = pool_models_from_facts(facts[facts.ticker != "HUT"])
    assert m["RIOT"].fee_range == (0.01, 0.01) and m["RIOT"].fee_basis == "10-K"
    assert m["CLSK"] is DEFAULT_POOL_MODELS["CLSK"]  # no fee in the facts: unchanged
    assert pool_models_from_facts(facts)["HUT"].payout == Payout.own
    with pytest.raises(ProductionError, match="need columns ticker and pool_fee"):
        pool_models_from_facts(pd.DataFrame({"ticker": ["RIOT"]}))
    with pytest.raises(ProductionError, match="RIOT: pool_payout 'pps2'"):
        pool_models_from_facts(pd.DataFrame({"ticker": ["RIOT"], "pool_fee": [0.01], "pool_payout": ["pps2"]}))
    with pytest.raises(ProductionError, match="RIOT: pool_fee must be in"):
        pool_models_from_facts(pd.DataFrame({"ticker": ["RIOT"], "pool_fee": [1.2]}))


def test_cli_shows_the_fee(bundle_db_path):
    run = CliRunner()
    r = run.invoke(app, ["--db", str(bundle_db_path), "production", "--miner", "RIOT", "--from", "2024-07",
                         "--to", "2024-07"])
    text = " ".join(r.output.split())
    assert r.exit_code == 0 and "pool fee RIOT: 2 % (not public; interval allows 0–4 %)" in text
    r = run.invoke(app, ["--db", str(bundle_db_path), "production", "--miner", "RIOT", "--from", "2024-07",
                         "--to", "2024-07", "--pool", "RIOT=fpps:0.01-0.03", "--format", "json"])
    rec = json.loads(r.stdout)[0]
    assert (rec["pool_fee"], rec["pool_fee_lo"], rec["pool_fee_hi"]) == pytest.approx((0.02, 0.01, 0.03))
    bad = run.invoke(app, ["--db", str(bundle_db_path), "production", "--miner", "RIOT", "--pool", "RIOT=fpps:0.05-0.01"])
    assert bad.exit_code == 2 and "--pool" in bad.output
