"""The regtest test bed as its docstring shows it: per-block economics inputs from every sync path.

Every sync source stores ``fees_sats`` per block (mempool ``extras.totalFees``, esplora coinbase
outputs − subsidy, Bitcoin Core ``getblockstats.totalfee``: see test_src_bitcoind.py) and the
subsidy follows from the height. Here a chain continuing the bundle after 2025-12-29 (where its
daily network series ends) is served from a real local HTTP server and synced into a real
DuckDB copy of the bundle.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from tests.sources.regtest_server import (
    BUNDLE_NEXT_HEIGHT,
    EsploraRegtestServer,
    day_unix,
    default_fees,
    regtest_chain,
    sync_regtest,
)

from hashdesk.chain.consensus import block_subsidy
from hashdesk.store import Store

DAYS = ["2025-12-30", "2025-12-31", "2026-01-01"]


def per_day(db) -> pd.DataFrame:
    with Store(db, read_only=True) as s:
        return s.df(
            "SELECT CAST(to_timestamp(time) AT TIME ZONE 'UTC' AS DATE) AS day, count(*) AS blocks, "
            "count(fees_sats) AS with_fees, sum(fees_sats) AS fees_sats, min(height) AS lo, "
            "max(height) AS hi FROM blocks WHERE height >= ? GROUP BY 1 ORDER BY 1",
            [BUNDLE_NEXT_HEIGHT]).assign(day=lambda d: d.day.astype(str)).set_index("day")


def test_src_chain_after_the_bundle_syncs_with_exact_fees_per_block(bundle_db_path, tmp_path):
    db = tmp_path / "live.duckdb"
    shutil.copy(bundle_db_path, db)
    with Store(db) as s:  # the bundle as of the end of 2025-12-29
        s.con.execute("DELETE FROM blocks WHERE height >= ?", [BUNDLE_NEXT_HEIGHT]).fetchall()
        last = s.df("SELECT height, time FROM blocks ORDER BY height DESC LIMIT 1").iloc[0]
    assert (int(last.height), int(last.time)) == (930_088, day_unix("2025-12-30") - 530)
    chain = regtest_chain(1 + 3 * 144, start_height=BUNDLE_NEXT_HEIGHT,
                          start_time=day_unix("2025-12-30"))
    with EsploraRegtestServer(chain) as server:
        rep = sync_regtest(db, server.url)
    assert rep.start_height == BUNDLE_NEXT_HEIGHT + 1 and "--trust-anchor" in rep.anchor
    days = per_day(db)
    assert list(days.index) == [*DAYS, "2026-01-02"]
    for i, day in enumerate(DAYS):
        lo = BUNDLE_NEXT_HEIGHT + 144 * i
        heights = range(lo, lo + 144)
        assert (days.at[day, "lo"], days.at[day, "hi"]) == (lo, lo + 143)
        assert days.at[day, "blocks"] == days.at[day, "with_fees"] == 144
        assert days.at[day, "fees_sats"] == sum(default_fees(h) for h in heights)  # exact [sats]
    # the subsidy follows from the height: 3.125 BTC since the 2024 halving (840,000)
    assert block_subsidy(BUNDLE_NEXT_HEIGHT) == 312_500_000
    with Store(db, read_only=True) as s:
        below = s.scalar("SELECT count(*) FROM blocks WHERE height < ? AND source = 'btc_block_times'",
                         [BUNDLE_NEXT_HEIGHT])
    assert below > 0  # the bundle's rows below are untouched


@pytest.mark.parametrize("flavor", ["mempool", "esplora"])
def test_src_both_rest_flavours_store_the_fees(flavor, regtest_esplora, tmp_path):
    chain = regtest_chain(25, start_height=BUNDLE_NEXT_HEIGHT, start_time=day_unix("2026-01-05"),
                          fees_sats=lambda h: 1_234_567 + h % 3)
    server = regtest_esplora(chain)
    db = tmp_path / f"{flavor}.duckdb"
    sync_regtest(db, server.url, flavor=flavor)
    with Store(db, read_only=True) as s:
        got = s.con.execute("SELECT height, fees_sats, tx_count, source FROM blocks ORDER BY height"
                            ).fetchall()
    assert [r[0] for r in got] == [b.height for b in chain]
    assert [r[1] for r in got] == [1_234_567 + b.height % 3 for b in chain]
    assert {r[2] for r in got} == {2_000} and {r[3] for r in got} == {f"sync:{flavor}"}
    if flavor == "esplora":  # one coinbase request per block (the anchor's included)
        assert sum(p.endswith("/txs") for p in server.requests) == len(chain)
