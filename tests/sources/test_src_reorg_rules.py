"""Reorgs by the rules, against a real local HTTP server (pytest-httpserver) and DuckDB files.

A source that reports another hash for a stored height must first show a competing branch that
passes every check from the fork on and carries strictly more work than the stored blocks it
would replace; until then the store is not touched. A lying source changes nothing (its claim is
logged as ``reorg-rejected``, the CLI exits 2); an honest heavier branch replaces the old one in
one transaction.
"""

from __future__ import annotations

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.sources.regtest_server import regtest_chain, sync_regtest
from typer.testing import CliRunner

from hashdesk.cli import app
from hashdesk.sources.base import HttpClient, RetryPolicy
from hashdesk.store import Store
from hashdesk.store.chainsync import ReorgRejectedError

T0 = 1_767_052_800  # 2025-12-30 00:00 UTC


def snapshot(path) -> dict:
    with Store(path, read_only=True) as s:
        rows = s.con.execute("SELECT height, hash, load_id FROM blocks ORDER BY height").fetchall()
        events = s.con.execute("SELECT kind, message FROM event_log ORDER BY at_unix").fetchall()
        loads = s.con.execute("SELECT load_id, source FROM loads ORDER BY load_id").fetchall()
    return {"count": len(rows), "tip": rows[-1][:2] if rows else None, "rows": rows,
            "events": events, "loads": loads}


@pytest.fixture()
def synced(regtest_esplora, tmp_path):
    """30 regtest blocks (0..29) served locally and synced into a fresh DuckDB file."""
    chain = regtest_chain(30, start_time=T0)
    server = regtest_esplora(chain)
    path = tmp_path / "reorg.duckdb"
    sync_regtest(path, server.url, batch_size=10)
    before = snapshot(path)
    assert before["count"] == 30 and before["tip"] == (29, chain[29].hash)
    return chain, server, path, before


def test_src_lying_source_whose_branch_fails_pow_changes_nothing(synced):
    a, server, path, before = synced
    # another hash at every height from 25; block 27 of that branch fails proof of work
    server.chain = regtest_chain(40, salt="liar", base=a[:25], bad_pow_from=27)
    with pytest.raises(ReorgRejectedError, match=r"block 27: proof-of-work") as exc:
        sync_regtest(path, server.url)
    assert "above height 24" in str(exc.value) and "the store is unchanged" in str(exc.value)
    after = snapshot(path)
    assert (after["count"], after["tip"], after["rows"]) == (30, before["tip"], before["rows"])
    assert after["loads"] == before["loads"]
    new_events = after["events"][len(before["events"]):]
    assert [k for k, _ in new_events] == ["reorg-rejected"]
    assert "block 27: proof-of-work" in new_events[0][1]


def test_src_lying_source_with_a_valid_but_not_heavier_branch_changes_nothing(synced):
    a, server, path, before = synced
    server.chain = regtest_chain(30, salt="liar", base=a[:25])  # 5 valid blocks for 5: equal work
    with pytest.raises(ReorgRejectedError, match=r"carries 10 hashes of work, not more than the 10"):
        sync_regtest(path, server.url)
    after = snapshot(path)
    assert (after["count"], after["tip"], after["rows"]) == (30, before["tip"], before["rows"])
    assert [k for k, _ in after["events"][len(before["events"]):]] == ["reorg-rejected"]


def test_src_lying_source_exits_2_from_the_cli(synced):
    a, server, path, before = synced
    server.chain = regtest_chain(40, salt="liar", base=a[:25], bad_pow_from=25)
    res = CliRunner().invoke(app, ["--db", str(path), "sync", "--chain", "mempool", "--url",
                                   server.url, "--network", "regtest", "--retries", "0"])
    assert res.exit_code == 2
    out = " ".join(res.output.split())
    assert "source refused" in out and "block 25: proof-of-work" in out
    assert "the store is unchanged" in out
    after = snapshot(path)
    assert (after["count"], after["tip"]) == (30, before["tip"])


def test_src_heavier_branch_is_validated_untouched_then_switched_in_one_transaction(synced):
    a, server, path, before = synced
    b = regtest_chain(32, salt="honest", base=a[:25])  # 7 blocks above the fork for 5 stored
    server.chain = b
    seen_during_fetch: list[dict] = []

    def look(p: str) -> None:  # while the branch is being fetched, the store still holds a
        if p.startswith("/v1/blocks/") and not seen_during_fetch:
            seen_during_fetch.append(snapshot(path))
    server.gate = look
    rep = sync_regtest(path, server.url)
    assert seen_during_fetch and seen_during_fetch[0]["rows"] == before["rows"]
    (ev,) = rep.reorgs
    assert (ev.fork_height, ev.rolled_back, ev.old_tip_hash, ev.new_tip_height) == (24, 5, a[29].hash, 31)
    assert (ev.old_work, ev.new_work) == (5 * 2, 7 * 2)  # regtest work per block = 2 hashes
    after = snapshot(path)
    assert [h for h, _, _ in after["rows"]] == list(range(32))
    assert [x for _, x, _ in after["rows"]] == [blk.hash for blk in b]
    # one transaction: the branch rows share one load, logged with the rollback and the reorg
    switched = {load for h, _, load in after["rows"] if h >= 25}
    assert len(switched) == 1
    (label,) = [src for lid, src in after["loads"] if lid in switched]
    assert label == "mempool branch 25-31 (reorg)"
    kinds = [k for k, _ in after["events"][len(before["events"]):]]
    assert kinds[:2] == ["rollback", "reorg"] and kinds[-1] == "sync"
    reorg_msg = after["events"][len(before["events"]) + 1][1]
    assert "fork at 24" in reorg_msg and a[29].hash in reorg_msg and "work 14 > 10 hashes" in reorg_msg


def test_src_reorg_across_a_batch_boundary_during_sync(regtest_esplora, tmp_path):
    """The branch changes between the tip check and the fetch of the next batch."""
    a = regtest_chain(20, start_time=T0)
    server = regtest_esplora(a)
    path = tmp_path / "mid.duckdb"
    sync_regtest(path, server.url)
    a_longer = regtest_chain(26, base=a)
    b = regtest_chain(30, salt="b", base=a[:18])
    server.chain = a_longer
    flipped = threading.Event()

    def flip(p: str) -> None:
        if p.startswith("/v1/blocks/") and not flipped.is_set():
            flipped.set()
            server.chain = b
    server.gate = flip
    rep = sync_regtest(path, server.url)
    assert [e.fork_height for e in rep.reorgs] == [17]
    after = snapshot(path)
    assert [x for _, x, _ in after["rows"]] == [blk.hash for blk in b]


# ---------------------------------------------------------------------------------------------
# the invariant, over many branch shapes


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n_old=st.integers(3, 14),
    fork_back=st.integers(1, 8),
    n_new=st.integers(0, 16),
    bad_at=st.one_of(st.none(), st.integers(0, 15)),
)
def test_src_store_is_always_the_old_chain_or_the_heavier_valid_one(n_old, fork_back, n_new, bad_at,
                                                                     tmp_path_factory):
    """After any competing branch, the store holds exactly the old chain or exactly the new one,
    and the new one only when every block is valid and it carries strictly more work."""
    import respx
    from tests.sources.conftest import FakeEsplora

    from hashdesk.sources.esplora import EsploraSource
    from hashdesk.store.chainsync import REGTEST, SyncError, sync_chain

    fork = max(0, n_old - 1 - fork_back)
    a = regtest_chain(n_old, start_time=T0)
    bad_height = None if bad_at is None or bad_at >= n_new else fork + 1 + bad_at
    b = regtest_chain(fork + 1 + n_new, salt="x", base=a[: fork + 1], bad_pow_from=bad_height)
    path = tmp_path_factory.mktemp("prop") / "p.duckdb"
    fake = FakeEsplora(a)
    with respx.mock(assert_all_called=False) as r:
        r.route(host="esplora.test").mock(side_effect=fake)
        src = EsploraSource(HttpClient("https://esplora.test/api", RetryPolicy(max_retries=0)),
                            flavor="mempool")
        sync_chain(path, src, params=REGTEST, from_height=0)
        fake.chain = b
        try:
            sync_chain(path, src, params=REGTEST)
        except SyncError:
            pass
    with Store(path, read_only=True) as s:
        hashes = [h for (h,) in s.con.execute("SELECT hash FROM blocks ORDER BY height").fetchall()]
    heavier = len(b) > len(a)  # equal bits: work is proportional to the number of blocks
    if heavier and bad_height is None:
        assert hashes == [blk.hash for blk in b]
    else:
        assert hashes == [blk.hash for blk in a]
