"""After a sync that extends past the bundle, economics and the brief work for the new days.

End to end: the bundle as of the end of 2025-12-29 (Coin Metrics' last day), then blocks for
2025-12-30 … 2026-01-31 synced from a local esplora server (a valid regtest chain continuing the
bundle's heights, with fees) and BTC-USD daily candles synced from a local Coinbase-shaped server,
into a real DuckDB file; then `hashdesk economics --at` and `hashdesk brief --month 2026-01`.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer
from tests.sources.regtest_server import (
    BUNDLE_NEXT_HEIGHT,
    EsploraRegtestServer,
    day_unix,
    regtest_chain,
    sync_regtest,
)
from typer.testing import CliRunner
from werkzeug import Request, Response

from hashdesk.chain.consensus import SATS_PER_BTC, block_subsidy, block_work
from hashdesk.cli import app
from hashdesk.desk import Desk
from hashdesk.sources.base import HttpClient, RetryPolicy
from hashdesk.sources.prices import CoinbaseCandlesSource
from hashdesk.store import Store
from hashdesk.store.pricesync import sync_prices

FIRST_DAY, LAST_DAY = date(2025, 12, 30), date(2026, 1, 31)
DAYS = (LAST_DAY - FIRST_DAY).days + 1
REGTEST_BITS = 0x207FFFFF


def _fee(height: int) -> int:
    """Generated fees [sats]: 0.02 BTC plus a height-dependent part."""
    return 2_000_000 + (height % 11) * 100_003


def _close(d: date) -> float:
    """Generated BTC-USD daily close [USD]."""
    return 90_000.0 + 100.0 * (d - FIRST_DAY).days


def _candles(request: Request) -> Response:
    """Coinbase's /products/BTC-USD/candles: [[time, low, high, open, close, volume], …], newest first."""
    lo = datetime.fromisoformat(request.args["start"].replace("Z", "+00:00")).date()
    hi = datetime.fromisoformat(request.args["end"].replace("Z", "+00:00")).date()
    out, d = [], hi
    while d >= lo:
        if FIRST_DAY <= d <= LAST_DAY:
            c = _close(d)
            out.append([day_unix(d.isoformat()), c - 500, c + 500, c - 50, c, 1234.5])
        d -= timedelta(days=1)
    return Response(json.dumps(out), content_type="application/json")


@pytest.fixture(scope="module")
def live_db(bundle_db_path, tmp_path_factory):
    db = tmp_path_factory.mktemp("live") / "live.duckdb"
    shutil.copy(bundle_db_path, db)
    with Store(db) as s:  # the bundle as of the end of 2025-12-29 (last block 930,088)
        s.con.execute("DELETE FROM blocks WHERE height >= ?", [BUNDLE_NEXT_HEIGHT]).fetchall()
    chain = regtest_chain(DAYS * 144, start_height=BUNDLE_NEXT_HEIGHT, start_time=day_unix(FIRST_DAY.isoformat()),
                          fees_sats=_fee)
    with EsploraRegtestServer(chain) as server:
        sync_regtest(db, server.url)
    prices = HTTPServer()
    prices.expect_request("/products/BTC-USD/candles").respond_with_handler(_candles)
    prices.start()
    try:
        client = HttpClient(prices.url_for(""), RetryPolicy(max_retries=0))
        sync_prices(db, ["BTC-USD"], lambda _t: CoinbaseCandlesSource(client),
                    now=datetime(2026, 2, 2, tzinfo=UTC))
    finally:
        prices.stop()
    return db


def test_daily_series_after_coinmetrics_is_exact_from_blocks(live_db):
    with Desk(live_db) as desk:
        days = desk.daily(FIRST_DAY, LAST_DAY).reset_index(drop=True)
    assert len(days) == DAYS and (days.day_source == "blocks").all() and (days.fees_source == "blocks").all()
    assert (days.blocks == 144).all() and days.missing.eq("").all()
    start = BUNDLE_NEXT_HEIGHT
    for i, row in days.iterrows():
        heights = range(start + 144 * i, start + 144 * (i + 1))
        fees = sum(_fee(h) for h in heights)
        assert row.fees_btc_total == fees / SATS_PER_BTC
        assert row.subsidy_btc_per_block == sum(block_subsidy(h) for h in heights) / 144 / SATS_PER_BTC == 3.125
        assert row.work_per_block == block_work(REGTEST_BITS)  # the regtest chain's work: 2 hashes a block
        assert row.price_usd == _close(row.date)  # the synced Coinbase close of the day
        reward = 3.125 + fees / 144 / SATS_PER_BTC
        assert row.hashprice_btc_per_ph_day == pytest.approx(86_400e15 / block_work(REGTEST_BITS) * reward, rel=1e-12)
        assert row.hashprice_usd_per_ph_day == pytest.approx(row.hashprice_btc_per_ph_day * _close(row.date), rel=1e-12)


def test_economics_and_brief_for_new_days(live_db):
    runner = CliRunner()
    r = runner.invoke(app, ["--db", str(live_db), "economics", "--at", "2026-01-15", "--format", "json"])
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout)
    assert rec["date"] == "2026-01-15" and rec["day_source"] == "blocks" and rec["price_usd"] == _close(date(2026, 1, 15))
    state = rec["network_state"]
    assert state["tip_height_exact"] and state["tip_height"] == BUNDLE_NEXT_HEIGHT + 17 * 144 - 1
    assert state["price_usd"] == _close(date(2026, 1, 15)) and state["fees_btc_per_block"] is not None
    assert state["sources"]["fees_btc_per_block"] == "daily series (blocks)"
    b = runner.invoke(app, ["--db", str(live_db), "brief", "--month", "2026-01", "--format", "json"])
    assert b.exit_code == 0, b.output
    brief = json.loads(b.stdout)
    assert brief["network_state"]["tip_height"] == BUNDLE_NEXT_HEIGHT + DAYS * 144 - 1
    network = next(s for s in brief["sections"] if s["key"] == "network")
    assert network["status"] == "ok"
    economics = next(t for t in network["tables"] if t["key"] == "economics")
    assert len(economics["rows"]) == 31  # every day of January 2026, from the synced blocks
    # a month with nothing in the store exits 2 and says what exists
    bad = runner.invoke(app, ["--db", str(live_db), "brief", "--month", "2027-01"])
    assert bad.exit_code == 2 and "newest chain data" in " ".join(bad.output.split())
