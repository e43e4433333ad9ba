"""Network view, the ``hashdesk network`` command and the hashrate/difficulty chart."""

from __future__ import annotations

import json
from datetime import date, datetime

import pandas as pd
import pytest
from typer.testing import CliRunner

from hashdesk.chain.charts import epoch_history, halving_times
from hashdesk.cli import app
from hashdesk.economics.state import NetworkDataError
from hashdesk.times import parse_at

REQUIRED = {
    "epoch_start_height", "epoch_start_time", "bits", "difficulty", "next_retarget_height",
    "next_halving_height", "subsidy_btc", "hashrate_ehs_7d", "hashrate_window", "tip_height",
    "tip_height_exact", "fees_btc_per_block", "price_usd", "hashprice_usd_per_ph_day",
    "hashprice_btc_per_ph_day", "stale_s", "sources", "at",
}


def _view(desk, at):
    """The network state (as a dict) with the network command's extras beside it."""
    answer = desk.network(at)
    return {**answer["network_state"], **{k: v for k, v in answer.items() if k != "network_state"}}


def test_parse_at_forms():
    assert parse_at("2024-01-16") == (1705449600, "end of 2024-01-16 UTC")  # 2024-01-17 00:00
    assert parse_at(date(2024, 1, 16))[0] == 1705449600
    assert parse_at("2024-01-16T12:00:00Z")[0] == 1705406400
    assert parse_at("2024-01-16T12:00:00")[0] == 1705406400  # naive = UTC
    assert parse_at(datetime(2024, 1, 16, 12))[0] == 1705406400
    assert parse_at("1705406400")[0] == 1705406400
    with pytest.raises(ValueError, match="cannot read"):
        parse_at("16/01/2024")


def test_storm_dates(bundle_desk):
    views = {d: _view(bundle_desk, d) for d in ("2024-01-10", "2024-01-16", "2024-01-22")}
    v = views["2024-01-16"]
    assert REQUIRED <= set(v)
    assert (v["epoch"], v["epoch_start_height"], v["bits"]) == (409, 824_544, "0x1703d869")
    assert v["epoch_start_time"] == "2024-01-06T00:41:32Z"
    assert v["next_retarget_height"] == 826_560 and v["next_halving_height"] == 840_000
    assert v["subsidy_btc"] == 6.25 and v["tip_height_exact"]
    assert v["difficulty"] == pytest.approx(7.3197634206e13, rel=1e-10)
    assert v["blocks_mined_in_epoch"] == v["tip_height"] + 1 - 824_544 == 1527
    lo, hi = v["projection"]["next_difficulty_change_pct_90"]
    assert lo < -3.90 < hi  # the actual retarget at 826,560 is inside the interval
    assert v["sources"]["hashrate_ehs_7d"].startswith("blocks")
    # 7-day hashrate: storm days pull the week after the storm below the week before it
    assert views["2024-01-22"]["hashrate_ehs_7d"] < views["2024-01-16"]["hashrate_ehs_7d"]
    assert views["2024-01-22"]["epoch"] == 410 and views["2024-01-22"]["bits"] == "0x1704005a"
    # −3.9 %: epoch 410's difficulty against 409's
    d410, d409 = views["2024-01-22"]["difficulty"], views["2024-01-10"]["difficulty"]
    assert 100 * (d410 / d409 - 1) == pytest.approx(-3.90, abs=0.01)


def test_halving_heights_and_subsidy(bundle_desk):
    before, after = _view(bundle_desk, "2024-04-19"), _view(bundle_desk, "2024-04-21")
    assert (before["next_halving_height"], before["subsidy_btc"]) == (840_000, 6.25)
    assert (after["next_halving_height"], after["subsidy_btc"]) == (1_050_000, 3.125)
    old = _view(bundle_desk, "2016-07-01")
    assert (old["next_halving_height"], old["subsidy_btc"]) == (420_000, 25.0)
    i = bundle_desk.inputs(bundle_desk.data_end_unix + 1)
    h = halving_times(epoch_history(i.epochs), i.blocks).set_index("height")
    assert list(h.index) == [210_000, 420_000, 630_000, 840_000]
    assert h.loc[840_000, "exact"] and h.loc[840_000, "time"].timestamp() == 1_713_571_767
    for height, day in ((210_000, "2012-11-28"), (420_000, "2016-07-09"), (630_000, "2020-05-11")):
        assert abs((h.loc[height, "time"].normalize() - pd.Timestamp(day, tz="UTC")).days) <= 1


def test_epoch_only_date_names_its_sources(bundle_desk):
    v = _view(bundle_desk, "2020-05-11")
    assert REQUIRED <= set(v)
    assert not v["tip_height_exact"] and v["projection"] is None
    assert v["sources"]["tip_height"].startswith("estimate")
    # the halving block 630,000 came at 2020-05-11 19:23 UTC: the estimate at the day's end is just past it
    assert 630_000 <= v["tip_height"] <= 630_060
    assert v["sources"]["hashrate_ehs_7d"].startswith("hashrate_daily")
    assert 80 < v["hashrate_ehs_7d"] < 150 and 80 < v["hashrate_ehs_epoch"] < 150
    cm = _view(bundle_desk, "2025-03-01")  # no per-block data; the daily series (Coin Metrics)
    assert cm["sources"]["hashrate_ehs_7d"].startswith("daily series")
    assert cm["sources"]["epoch_start_time"] == "difficulty_adjustments"
    assert cm["sources"]["tip_height"].startswith("daily series") and not cm["tip_height_exact"]
    # between mempool's last adjustment (2025-03) and the second block window (2025-10) the daily
    # series still places the chain: its height from Coin Metrics' counts carried from retarget days
    june = _view(bundle_desk, "2025-06-01")
    assert june["sources"]["tip_height"].startswith("daily series") and 895_000 < june["tip_height"] < 905_000


@pytest.mark.parametrize(
    ("at", "message"),
    [("2008-12-31", "before the genesis"), ("2026-04-01", "after the newest chain data")],
)
def test_dates_outside_the_data(bundle_desk, at, message):
    with pytest.raises(NetworkDataError, match=message):
        bundle_desk.network_state(at)


def test_cli_json_and_table(bundle_db_path, tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["--db", str(bundle_db_path), "network", "--at", "2024-01-16",
                              "--format", "json"])
    assert res.exit_code == 0, res.output
    view = json.loads(res.stdout)
    assert {"network_state", "projection", "hashrate_ehs_epoch"} <= set(view)
    assert REQUIRED <= set(view["network_state"])
    assert view["network_state"]["bits"] == "0x1703d869"
    table = runner.invoke(app, ["--db", str(bundle_db_path), "network", "--at", "2024-01-16"])
    assert table.exit_code == 0 and "[EH/s]" in table.stdout and "[BTC/block]" in table.stdout
    bad = runner.invoke(app, ["--db", str(bundle_db_path), "network", "--at", "2030-01-01"])
    assert bad.exit_code == 2 and "after the newest chain data" in bad.output
    bt = runner.invoke(app, ["--db", str(bundle_db_path), "network", "--backtest", "--format", "json"])
    assert bt.exit_code == 0
    out = json.loads(bt.stdout)
    assert [r["covered"] for r in out["per_block_epochs"]] == [20, 20, 20, 22]  # of 24 (85 %)
    assert [r["covered"] for r in out["daily_checkpoint_epochs"]] == [69, 70, 67, 71]  # of 74 (94 %)
    out = tmp_path / "chart.html"
    ch = runner.invoke(app, ["--db", str(bundle_db_path), "network", "--chart", str(out)])
    assert ch.exit_code == 0 and out.exists()


def test_chart_self_contained(bundle_desk, tmp_path):
    from hashdesk.cli._common import write_chart

    fig = bundle_desk.network_figure("2023-11-01", "2024-06-30", mark_retargets=True)
    names = {t.name for t in fig.data}
    assert {"hashrate, epoch mean [EH/s]", "hashrate, 7-day [EH/s]", "difficulty [-]"} <= names
    assert any("halving 840,000" in a.text for a in fig.layout.annotations)
    assert any("retarget -3.90%" in a.text for a in fig.layout.annotations)  # the storm's retarget
    assert fig.layout.yaxis.title.text == "hashrate [EH/s]"
    path = write_chart(fig, tmp_path / "c.html")
    html = path.read_text()
    assert "<script src=" not in html and len(html) > 1_000_000  # plotly.js embedded, no CDN
    full = bundle_desk.network_figure()
    assert full.layout.yaxis.type == "log"  # 2009–2026 spans many decades
    with pytest.raises(ValueError, match="no chain data"):
        bundle_desk.network_figure("2030-01-01", "2030-02-01")


def test_view_at_epoch_end_gives_the_chains_next_bits(bundle_desk):
    # 2024-01-20T14:32:35Z is block 826,560's header time: the tip is 826,559, 2015 blocks in.
    v = _view(bundle_desk, "2024-01-20T14:32:35Z")
    assert v["tip_height"] == 826_559 and v["projection"]["blocks_mined_after_first"] == 2015
    assert v["projection"]["next_bits"] == "0x1704005a"  # epoch 410's bits, exactly
    # the next block opens epoch 410: the state's bits are those in force for it, by the retarget rule
    assert (v["epoch"], v["bits"], v["blocks_mined_in_epoch"]) == (410, "0x1704005a", 0)
    assert v["projection"]["next_difficulty_change_pct"] == pytest.approx(-3.899, abs=1e-3)
