"""The January 2024 storm from the reference bundle, end to end."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from hashdesk.chain.consensus import block_work
from hashdesk.cli import app
from hashdesk.economics.shocks import ShockError

BITS_409, BITS_410 = 0x1703D869, 0x1704005A


@pytest.fixture(scope="module")
def jan(bundle_db_path):
    """The storm as of 2024-02-15: the windfall epoch 410 (20 Jan – 3 Feb) is complete by then."""
    from hashdesk.desk import Desk

    with Desk(bundle_db_path) as desk:
        return desk.shocks(date(2024, 1, 1), date(2024, 2, 15), miner_ehs=10.0)


def test_the_windfall_is_not_known_before_its_epoch_ends(bundle_desk):
    """As of 2024-01-31 epoch 410 is still running: the shock is found, its windfall is not."""
    rep = bundle_desk.shocks(date(2024, 1, 1), date(2024, 1, 31))
    assert len(rep.shocks) == 1 and rep.effects[0].windfall_btc is None
    assert "no complete retarget and following epoch" in rep.effects[0].notes[0]


def test_january_2024_storm_is_detected_with_depth(jan):
    assert len(jan.shocks) == 1
    s = jan.shocks[0]
    assert date(2024, 1, 13) <= s.start <= date(2024, 1, 15)
    assert date(2024, 1, 16) <= s.end <= date(2024, 1, 18)
    assert 500 < s.baseline_ehs < 560  # Coin Metrics, median of the 28 days before
    assert 12 < s.depth_pct < 25 and 60 < s.depth_ehs < 130
    assert s.trough_daily_ehs == pytest.approx(414.81, abs=0.01)  # 2024-01-15: 114 blocks
    assert s.energy_curtailed_mwh == pytest.approx(s.shortfall_eh_days * 25 * 24)


def test_storm_split_for_a_miner_that_stayed_online(jan):
    e = jan.effects[0]
    b, d = e.before, e.during
    assert b.block_source == d.block_source == "blocks"
    # within epoch 409 the expected blocks per PH/day are fixed by difficulty
    assert d.blocks_per_ph_day == pytest.approx(b.blocks_per_ph_day, rel=1e-12)
    assert d.blocks_per_ph_day == pytest.approx(1e15 * 86400 / block_work(BITS_409), rel=1e-12)
    # fewer blocks, a bigger share of them, exactly compensating
    assert d.blocks_per_day < 0.9 * b.blocks_per_day
    assert d.miner_share_pct / b.miner_share_pct == pytest.approx(
        b.network_ehs / d.network_ehs, rel=1e-12)
    assert d.fees_btc_per_block > b.fees_btc_per_block  # fees per block rose in the storm


def test_retarget_826560_and_the_windfall_epoch(jan):
    e = jan.effects[0]
    assert (e.retarget_height, e.epoch_during, e.epoch_after) == (826_560, 409, 410)
    assert e.retarget_change_pct == pytest.approx(-3.899, abs=0.001)  # mempool: ratio 0.961008
    ratio = block_work(BITS_409) / block_work(BITS_410)
    assert e.blocks_per_ph_day_epoch_after / e.blocks_per_ph_day_epoch_during == pytest.approx(
        ratio, rel=1e-12)
    assert ratio == pytest.approx(1.0406, abs=1e-4)
    # BTC/PH/day, epoch 409 → 410, with each epoch's realised fees
    assert 0.0019 < e.btc_per_ph_day_epoch_during < 0.0020
    assert 0.0018 < e.btc_per_ph_day_epoch_after < 0.0020
    # windfall over epoch 410 for 10 EH/s: E_after × (1 − w410/w409)
    after_btc = e.btc_per_ph_day_epoch_after * e.epoch_after_days * 10_000
    assert e.windfall_btc == pytest.approx(after_btc * (1 - 1 / ratio), rel=1e-9)
    assert 8 < e.windfall_btc < 12
    # without the shock's lost hours the retarget would have been about flat
    assert -1.5 < e.counterfactual_change_pct < 2.0


def test_profile_supplies_hashrate_and_demand_response(bundle_desk, tmp_path):
    p = tmp_path / "texas.toml"
    p.write_text(
        'name = "Texas miner"\nuptime = 0.9\n[[fleet]]\nhashrate_ehs = 20.0\n'
        "efficiency_j_per_th = 21.5\n[power]\nprice_usd_per_kwh = 0.035\n"
        'contract = "curtailable"\ndemand_response_usd_per_year = 7300000.0\n'
    )
    rep = bundle_desk.shocks(date(2024, 1, 1), date(2024, 1, 31), miner=bundle_desk.miner(p))
    e = rep.effects[0]
    assert e.miner_ehs == pytest.approx(18.0)
    assert e.demand_response_usd == pytest.approx(7_300_000 * rep.shocks[0].days / 365)
    assert e.btc_forgone_if_curtailed == pytest.approx(
        e.during.miner_btc_per_day * rep.shocks[0].days)


def test_bad_input_and_empty_range(bundle_desk):
    with pytest.raises(ShockError, match="before"):
        bundle_desk.shocks(date(2024, 2, 1), date(2024, 1, 1))
    with pytest.raises(ShockError, match="no coinmetrics daily hashrate"):
        bundle_desk.shocks(date(2030, 1, 1), date(2030, 2, 1))
    with pytest.raises(ShockError, match="source must be"):
        bundle_desk.shocks(date(2024, 1, 1), date(2024, 1, 31), source="foo")
    with pytest.raises(ShockError, match="miner_ehs"):
        bundle_desk.shocks(date(2024, 1, 1), date(2024, 1, 31), miner_ehs=-1.0)


def test_cli_shocks_json_and_chart(bundle_db_path, tmp_path):
    chart = tmp_path / "shocks.html"
    res = CliRunner().invoke(app, ["--db", str(bundle_db_path), "shocks", "--from", "2024-01-01",
                                   "--to", "2024-02-15", "--format", "json", "--chart", str(chart)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["shocks"][0]["start"].startswith("2024-01-1")
    assert out["effects"][0]["retarget_height"] == 826560
    assert any("windfall" in c["component"] for c in out["effects"][0]["components"])
    assert chart.exists()
    bad = CliRunner().invoke(app, ["--db", str(bundle_db_path), "shocks", "--from", "2024-13-01",
                                   "--to", "2024-01-31"])
    assert bad.exit_code == 2
