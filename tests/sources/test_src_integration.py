"""Synced per-block rows feed the network view (blocks into epoch, live projection) and economics
(exact fees per block), on real DuckDB copies of the bundle store.

Two kinds of synced data are used:

* block 820,512, synced for real by :func:`hashdesk.store.chainsync.sync_chain` from the recorded
  mempool response onto the bundle cut back to 820,511 (as in ``test_src_mainnet.py``);
* bundle rows re-labelled as sync would write them (``source = 'sync:esplora'``, fees and tx
  counts filled in; real heights, times and bits; the fees are illustrative, since the bundle has
  none), plus the ``sync`` event a run ends with.
"""

from __future__ import annotations

import json
import shutil
from datetime import date

import httpx
import numpy as np
import pandas as pd
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from hashdesk.chain.consensus import SATS_PER_BTC, block_work
from hashdesk.chain.hashrate import covered_span
from hashdesk.cli import app
from hashdesk.data import chain as dchain
from hashdesk.data import open_reader
from hashdesk.desk import Desk
from hashdesk.economics.core import hashprice_btc_per_ph_day_from_work
from hashdesk.economics.hashprice import daily_from_blocks, network_economics_daily
from hashdesk.sources.esplora import EsploraSource
from hashdesk.store import Store
from hashdesk.store.chainsync import sync_chain

BASE = "https://esplora.test/api"
H = 820_512  # first block of epoch 407, served from the recorded mempool response
EPOCH_467_FIRST = 941_472  # first block of epoch 467; the bundle's last block is 942,199
TIP = 942_199
TIP_TIME = 1_774_470_748  # 2026-03-25 20:32:28 UTC
FEE_DAYS = [date(2024, 1, 9), date(2024, 1, 10), date(2024, 1, 11)]
FEE_HEIGHTS = (824_899, 825_396)  # 20 blocks either side of the blocks timed 2024-01-09..11


def _copy(bundle_db_path, tmp_path, name: str):
    path = tmp_path / name
    shutil.copy(bundle_db_path, path)
    return path


def _resync_rows(store: Store, lo: int, hi: int, fees_sats) -> None:
    """Delete the bundle rows lo..hi and add them back as an esplora sync writes them."""
    con = store.con
    rows = store.df("SELECT * FROM blocks WHERE height BETWEEN ? AND ? ORDER BY height", [lo, hi])
    rows["fees_sats"] = [fees_sats(int(h)) for h in rows.height]
    rows["tx_count"] = 3_000
    rows["source"] = "sync:esplora"
    con.execute("DELETE FROM blocks WHERE height BETWEEN ? AND ?", [lo, hi]).fetchall()
    con.register("_rows", rows)
    con.execute("INSERT INTO blocks SELECT * FROM _rows").fetchall()
    con.unregister("_rows")


def network_view(path, at) -> dict:
    """The network command's answer as one flat dict (state fields beside the projection)."""
    with Desk(path) as desk:
        a = desk.network(at)
    return {**a["network_state"], **{k: v for k, v in a.items() if k != "network_state"}}


def network_economics(path, start=None, end=None) -> pd.DataFrame:
    """The daily series between two days, as of the end of ``end``."""
    with Desk(path) as desk:
        return desk.daily(start, end).reset_index(drop=True)


def synced_through(path):
    with open_reader(path) as r:
        return dchain.synced_through(r)


def _log_sync(store: Store, at_unix: int, lo: int, hi: int) -> None:
    """The event ``sync_chain`` writes at the end of a run (same message shape)."""
    store.con.execute(
        "INSERT INTO event_log VALUES (?, 'sync', ?)",
        [at_unix, f"esplora {BASE}: heights {lo}..{hi}, {hi - lo + 1} blocks written, 0 reorgs; "
                  "anchor: stored block"],
    ).fetchall()


# ---------------------------------------------------------------------------------------------
# network view


@pytest.fixture()
def synced_tail(bundle_db_path, tmp_path):
    """Bundle copy whose last window is replaced by a synced stretch from epoch 467's first block
    (728 blocks, under an epoch: the shape of a sync anchored with --trust-anchor in a gap), with
    epoch 467's start time left for the blocks to supply."""
    path = _copy(bundle_db_path, tmp_path, "tail.duckdb")
    with Store(path) as s:
        s.con.execute("DELETE FROM blocks WHERE height BETWEEN 920024 AND ?", [EPOCH_467_FIRST - 1]).fetchall()
        _resync_rows(s, EPOCH_467_FIRST, TIP, lambda h: 2_000_000 + h % 1000)
        s.con.execute("UPDATE epochs SET start_time = NULL WHERE epoch = 467").fetchall()
    return path


AT_INSIDE = 1_774_400_000  # 2026-03-25 00:53:20 UTC, inside the synced stretch


def test_src_short_synced_run_gives_exact_tip_and_projection(bundle_db_path, synced_tail):
    ref = network_view(bundle_db_path, AT_INSIDE)  # the bundle's full window covers the same instant
    v = network_view(synced_tail, AT_INSIDE)
    assert v["tip_height_exact"] and v["tip_height"] == ref["tip_height"] == 942_077
    assert v["blocks_mined_in_epoch"] == ref["blocks_mined_in_epoch"] == 942_077 + 1 - EPOCH_467_FIRST
    assert v["epoch_start_time"] == ref["epoch_start_time"]
    assert v["sources"]["epoch_start_time"] == "blocks"
    assert v["projection"] == ref["projection"]
    lo, hi = v["projection"]["next_difficulty_change_pct_90"]
    assert lo < v["projection"]["next_difficulty_change_pct"] < hi
    # 728 blocks do not span 7 days and Coin Metrics ends in 2025: no 7-day figure, said so
    assert v["hashrate_ehs_7d"] is None and "hashrate_ehs_7d" not in v["sources"]
    assert any(n.startswith("hashrate_ehs_7d: the newest value is 367.0 days old") for n in v["notes"])


def test_src_epochs_past_the_table_come_from_synced_blocks(bundle_db_path, synced_tail):
    ref = network_view(bundle_db_path, AT_INSIDE)
    with Store(synced_tail) as s:
        s.con.execute("DELETE FROM epochs WHERE epoch >= 467").fetchall()
    with open_reader(synced_tail) as r:
        ep = dchain.epochs(r)
    v = network_view(synced_tail, AT_INSIDE)
    assert ep.epoch.iloc[-1] == 467 and ep.start_time_source.iloc[-1] == "blocks"
    assert v["bits"] == ref["bits"] == "0x17021a91"
    assert v["sources"]["bits"].startswith("blocks")
    assert v["projection"] == ref["projection"]


def test_src_live_view_after_the_last_synced_block(synced_tail):
    synced_at = TIP_TIME + 3 * 3600
    # an hour after the last block the run is live: the answer comes from it and says how old it is
    v0 = network_view(synced_tail, TIP_TIME + 3600)
    assert v0["tip_height"] == TIP and v0["ages_s"]["tip_height"] == 3600
    assert "live" in v0["sources"]["tip_height"]
    # five hours after it, only a sync that found nothing newer vouches for the tip
    far = TIP_TIME + 5 * 3600
    assert "per-block rows end" in network_view(synced_tail, far)["sources"]["tip_height"]
    with Store(synced_tail) as s:
        _log_sync(s, synced_at, EPOCH_467_FIRST, TIP)
    assert synced_through(synced_tail) == (TIP, synced_at)
    v = network_view(synced_tail, far)
    assert "nothing newer at 2026-03-25T23:32:28Z" in v["sources"]["tip_height"]
    assert v["ages_s"]["tip_height"] == far - synced_at  # the data's edge is the sync
    with Store(synced_tail) as s:
        _log_sync(s, synced_at + 600, 900_000, 900_100)  # a later ranged re-sync vouches for nothing
    assert synced_through(synced_tail) == (TIP, synced_at)
    # beyond the staleness limit the state is refused, naming the data and the way forward
    from hashdesk.economics.state import NetworkDataError

    with pytest.raises(NetworkDataError, match="run `hashdesk sync`"):
        network_view(synced_tail, synced_at + 4 * 86_400)
    assert v["tip_height"] == TIP and v["tip_time"] == "2026-03-25T20:32:28Z"
    assert v["projection"]["blocks_mined_after_first"] == TIP - EPOCH_467_FIRST == 727
    p = v["projection"]
    assert p["blocks_remaining"] == 2016 - 728
    assert p["next_difficulty_change_pct_90"][0] < p["next_difficulty_change_pct"] < p["next_difficulty_change_pct_90"][1]
    assert p["retarget_time_90"][0] < p["retarget_time"] < p["retarget_time_90"][1]


def test_src_live_seven_day_hashrate_is_exact_work_over_the_window(bundle_db_path, tmp_path):
    path = _copy(bundle_db_path, tmp_path, "window.duckdb")
    at = TIP_TIME + 3600  # an hour after the last block; the sync ran two hours after it
    with Store(path) as s:
        _resync_rows(s, 920_024, TIP, lambda h: 1_000_000)
        _log_sync(s, TIP_TIME + 7200, 920_024, TIP)
        win = s.df("SELECT bits FROM blocks WHERE time >= ? AND time < ?", [at - 7 * 86_400, at])
    v = network_view(path, at)
    want = sum(block_work(int(b)) for b in win.bits) / (7 * 86_400) / 1e18
    assert v["hashrate_ehs_7d"] == pytest.approx(want, rel=1e-12)
    assert len(win) == 1_001 and "1,001 blocks" in v["hashrate_window"]
    assert v["sources"]["hashrate_ehs_7d"].startswith("blocks (Σ exact work")
    # the figures quoted in docs/chain.md §4
    assert round(v["hashrate_ehs_7d"], 1) == 972.9
    assert round(v["projection"]["next_difficulty_change_pct"], 2) == 2.09
    assert v["projection"]["retarget_time"] == "2026-04-03T15:02:35Z"


@pytest.fixture()
def synced_820512(bundle_db_path, tmp_path, recorded, make_client):
    """Bundle cut back to 820,511, then block 820,512 synced for real from the recorded response."""
    path = _copy(bundle_db_path, tmp_path, "sync820512.duckdb")
    with Store(path) as s:
        s.con.execute("DELETE FROM blocks WHERE height > ?", [H - 1]).fetchall()
    router = respx.mock(base_url=BASE, assert_all_called=False)
    router.get("/blocks/tip/height").mock(return_value=httpx.Response(200, text=str(H)))
    router.get(f"/v1/blocks/{H}").mock(
        return_value=httpx.Response(200, json=recorded("mempool_v1_blocks_820512.json")))
    with router, Store(path) as s:
        sync_chain(s, EsploraSource(make_client(BASE), flavor="mempool"))
    return path


def test_src_real_sync_then_live_view_at_the_retarget(bundle_store, bundle_db_path, synced_820512):
    t = int(bundle_store.scalar("SELECT time FROM blocks WHERE height = ?", [H]))
    assert bundle_store.scalar("SELECT min(time) FROM blocks WHERE height > ?", [H]) > t + 1
    ref = network_view(bundle_db_path, t + 1)  # the bundle, one second after block 820,512
    assert synced_through(synced_820512)[0] == H
    v = network_view(synced_820512, t + 1)
    assert v["tip_height"] == H and v["epoch"] == 407 and v["blocks_mined_in_epoch"] == 1
    assert v["bits"] == "0x17042e95"
    assert v["projection"] == ref["projection"]
    assert v["projection"]["blocks_remaining"] == 2015
    assert v["sources"]["tip_height"].startswith("blocks") and v == {**ref, "sources": v["sources"]} \
        or v["tip_height"] == ref["tip_height"]


def test_src_cli_network_now_json(synced_tail):
    with Store(synced_tail) as s:
        _log_sync(s, TIP_TIME + 600, EPOCH_467_FIRST, TIP)
    res = CliRunner().invoke(app, ["--db", str(synced_tail), "network", "--at", str(TIP_TIME + 300),
                                   "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["network_state"]["blocks_mined_in_epoch"] == 728 and out["projection"]["blocks_remaining"] == 1288
    res = CliRunner().invoke(app, ["--db", str(synced_tail), "network", "--at", "now"])
    assert res.exit_code == 2 and "run `hashdesk sync`" in " ".join(res.output.split())


# ---------------------------------------------------------------------------------------------
# economics: exact fees per block


def _fee(height: int) -> int:
    """Illustrative fees [sats]: 0.1 BTC plus a height-dependent part (the bundle has no fees)."""
    return 10_000_000 + (height % 7) * 1_000_003


@pytest.fixture()
def fee_store(bundle_db_path, tmp_path):
    """Bundle copy whose blocks around 2024-01-09..11 are re-synced with fees."""
    path = _copy(bundle_db_path, tmp_path, "fees.duckdb")
    with Store(path) as s:
        _resync_rows(s, *FEE_HEIGHTS, _fee)
    return path


def _day_blocks(store, day: date) -> pd.DataFrame:
    t0 = int(pd.Timestamp(day).timestamp())
    return store.df("SELECT height, fees_sats FROM blocks WHERE time >= ? AND time < ?", [t0, t0 + 86_400])


def test_src_economics_fees_switch_to_blocks_on_covered_days(bundle_db_path, fee_store):
    ref = network_economics(bundle_db_path, "2024-01-07", "2024-01-13").set_index("date")
    got = network_economics(fee_store, "2024-01-07", "2024-01-13").set_index("date")
    with Store(fee_store, read_only=True) as s:
        day_rows = {d: _day_blocks(s, d) for d in FEE_DAYS}
    assert list(got.fees_source) == ["coinmetrics"] * 2 + ["blocks"] * 3 + ["coinmetrics"] * 2
    assert list(got.day_source) == list(got.fees_source)  # a day's figures come from one source
    for d in FEE_DAYS:
        rows = day_rows[d]
        total = int(rows.fees_sats.sum())
        assert total == sum(_fee(int(h)) for h in rows.height)
        assert len(rows) == got.at[d, "blocks"]  # header-time count = Coin Metrics' blk_cnt
        assert got.at[d, "fees_btc_total"] == total / SATS_PER_BTC
        assert got.at[d, "fees_btc_per_block"] == pytest.approx(total / len(rows) / SATS_PER_BTC, rel=1e-15)
        assert got.at[d, "fees_btc_per_block"] != ref.at[d, "fees_btc_per_block"]
        reward = got.at[d, "subsidy_btc_per_block"] + got.at[d, "fees_btc_per_block"]
        assert got.at[d, "hashprice_btc_per_ph_day"] == pytest.approx(
            hashprice_btc_per_ph_day_from_work(got.at[d, "work_per_block"], reward), rel=1e-12)
        assert got.at[d, "hashprice_usd_per_ph_day"] == pytest.approx(
            got.at[d, "hashprice_btc_per_ph_day"] * got.at[d, "price_usd"], rel=1e-12)
    # the figures quoted in docs/economics.md
    d = FEE_DAYS[1]
    assert (got.at[d, "fees_btc_total"], ref.at[d, "fees_btc_total"]) == (17.29001197, 82.64575047)
    assert (round(got.at[d, "hashprice_usd_per_ph_day"], 2), round(ref.at[d, "hashprice_usd_per_ph_day"], 2)) == (
        82.09, 88.41)
    # on the covered days the exact sums over the blocks agree with Coin Metrics' figures
    # (counts by header time, subsidy, the epoch split and work; HashRate is truncated to 0.01 TH/s)
    exact = ["hashrate_ehs", "difficulty", "work_per_block"]
    same = [c for c in got.columns if not c.startswith(("fees_", "revenue_", "hashprice_", "day_source"))
            and c not in [*exact, "height_last"]]
    # the day's last height is exact from the blocks (Coin Metrics' counts carried from a retarget
    # day put it 5 blocks higher here)
    for d in FEE_DAYS:
        assert got.at[d, "height_last"] == day_rows[d].height.max()
    pd.testing.assert_frame_equal(got[same], ref[same])
    for c in exact:  # Σ exact work vs Σ difficulty·2^32: 1.5e-5 apart (DESIGN.md §2)
        assert np.allclose(got[c], ref[c], rtol=2e-5), c
    edge = [date(2024, 1, 7), date(2024, 1, 8), date(2024, 1, 12), date(2024, 1, 13)]
    pd.testing.assert_frame_equal(got.loc[edge], ref.loc[edge])


def test_src_economics_never_mixes_sources_within_a_day(bundle_db_path, fee_store):
    with Store(fee_store) as s:
        mid = int(_day_blocks(s, FEE_DAYS[1]).height.median())
        s.con.execute("UPDATE blocks SET fees_sats = NULL WHERE height = ?", [mid]).fetchall()
    got = network_economics(fee_store, "2024-01-09", "2024-01-11").set_index("date")
    # the middle day's fee-carrying blocks split into two runs: each still covers its outer day
    ref = network_economics(bundle_db_path, "2024-01-10", "2024-01-10").set_index("date")
    assert list(got.fees_source) == ["blocks", "coinmetrics", "blocks"]
    pd.testing.assert_series_equal(got.loc[FEE_DAYS[1]], ref.loc[FEE_DAYS[1]])


def test_src_bundle_fees_stay_coinmetrics(bundle_db_path):
    table = network_economics(bundle_db_path)
    assert (table.day_source[table.date <= date(2025, 12, 29)] == "coinmetrics").all()
    has_fees = table.fees_btc_total.notna()
    assert (table.fees_source[has_fees] == "coinmetrics").all()
    assert table.fees_source[~has_fees].isna().all()


def test_src_cli_economics_json_names_fee_source(bundle_db_path, fee_store):
    runner = CliRunner()
    for db, want in ((fee_store, "blocks"), (bundle_db_path, "coinmetrics")):
        res = runner.invoke(app, ["--db", str(db), "economics", "--at", "2024-01-10", "--format", "json"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.output)["fees_source"] == want


def test_src_production_fees_follow_the_same_rule(bundle_db_path, fee_store):
    t0, t1 = int(pd.Timestamp("2024-01-01").timestamp()), int(pd.Timestamp("2024-02-01").timestamp())
    with Desk(bundle_db_path) as d:
        ref = d.network_schedule(t1, t0, t1)
    with Desk(fee_store) as d:
        net = d.network_schedule(t1, t0, t1)
        daily = d.daily("2024-01-01", "2024-01-31").set_index("date")
    with Store(fee_store, read_only=True) as s:
        rows = _day_blocks(s, FEE_DAYS[0])
    d = np.datetime64("2024-01-09")
    assert net.fees_at(d) == pytest.approx(int(rows.fees_sats.sum()) / len(rows), rel=1e-15)
    assert net.fees_at(np.datetime64("2024-01-20")) == ref.fees_at(np.datetime64("2024-01-20"))
    assert any("exact from blocks on 3 of 31 days" in n for n in net.notes)
    assert not any("blocks" in n for n in ref.notes)
    assert list(daily.fees_source.value_counts().sort_index()) == [3, 28]


# ---------------------------------------------------------------------------------------------
# the covering rule


@settings(max_examples=60, deadline=None)
@given(
    start=st.integers(0, 3 * 86_400),
    gaps=st.lists(st.integers(1, 1_800), min_size=12, max_size=400),
    jitter=st.lists(st.integers(-900, 900), min_size=400, max_size=400),
)
def test_src_daily_from_blocks_lists_only_fully_covered_days(start, gaps, jitter):
    t = start + np.cumsum(gaps) + np.array(jitter[: len(gaps)])
    h = np.arange(len(t)) + 800_000
    fees = (h % 13) * 1_000 + 1
    out = daily_from_blocks(h, t, np.full(len(t), 0x1D00FFFF), fees)
    lo, hi = covered_span(t)
    for d, n, f in out[["date", "blocks", "fees_sats"]].itertuples(index=False):
        a = int(pd.Timestamp(d).timestamp())
        assert lo <= a and a + 86_400 <= hi
        inside = (t >= a) & (t < a + 86_400)
        assert n == inside.sum() and f == int(fees[inside].sum())
    first, last = -(-lo // 86_400), hi // 86_400
    assert len(out) == len({int(x) for x in t // 86_400 if first <= x < last})


def test_src_daily_series_keeps_one_source_per_day():
    """A day the blocks cover with fees takes every figure from them; the others stay Coin Metrics'."""
    bits = 0x1703D869
    ep = pd.DataFrame({"epoch": [409], "bits": [bits]})
    from hashdesk.chain.consensus import difficulty

    hr = 144 * difficulty(bits) * 2**32 / 86_400 / 1e18
    cm = pd.DataFrame({"date": ["2024-01-10", "2024-01-11", "2024-01-12"], "blk_cnt": [144, 144, 144],
                       "fee_tot_btc": [144.0, 72.0, 1.0], "iss_tot_btc": [900.0] * 3,
                       "price_usd": [40_000.0] * 3, "hashrate_ehs": [hr] * 3})
    t = np.arange(int(pd.Timestamp("2024-01-10 22:00").timestamp()),
                  int(pd.Timestamp("2024-01-12 02:00").timestamp()), 600)
    h = 825_000 + np.arange(len(t))
    days = daily_from_blocks(h, t, np.full(len(t), bits), np.full(len(t), 50_000_000))
    out = network_economics_daily(cm, ep, None, days)
    assert list(out.day_source) == ["coinmetrics", "blocks", "coinmetrics"]
    assert list(out.fees_source) == ["coinmetrics", "blocks", "coinmetrics"]
    assert out.fees_btc_per_block.tolist() == [1.0, 0.5, 1.0 / 144]
    assert int(out.blocks.iloc[1]) == 144 and out.price_usd.iloc[1] == 40_000.0
