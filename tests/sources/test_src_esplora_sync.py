"""Chain sync end to end over a fake esplora/mempool server and a real DuckDB file (regtest PoW)."""

from __future__ import annotations

import httpx
import pytest

from hashdesk.sources.base import MalformedResponseError, RateLimitedError, SourceError
from hashdesk.sources.esplora import EsploraSource
from hashdesk.store import Store
from hashdesk.store.chainsync import (
    REGTEST,
    ChainValidationError,
    ReorgRejectedError,
    SyncError,
    sync_chain,
)


def stored(path) -> list[tuple]:
    with Store(path, read_only=True) as s:
        return s.con.execute(
            "SELECT height, hash, prev_hash, fees_sats, tx_count, source FROM blocks ORDER BY height"
        ).fetchall()


def events(path) -> list[tuple]:
    with Store(path, read_only=True) as s:
        return s.con.execute("SELECT kind, message FROM event_log ORDER BY at_unix, kind").fetchall()


def assert_consistent(path, chain) -> None:
    """Rows are contiguous from 0, each links to its parent, and all belong to ``chain``."""
    rows = stored(path)
    assert [r[0] for r in rows] == list(range(len(rows)))
    for (h, _hsh, prev, *_), parent in zip(rows[1:], rows, strict=False):
        assert prev == parent[1], f"row {h} does not link"
    assert [r[1] for r in rows] == [b.hash for b in chain[: len(rows)]]


def run(path, source, **kw):
    with Store(path) as store:
        return sync_chain(store, source, params=REGTEST, **kw)


@pytest.mark.parametrize("flavor", ["esplora", "mempool"])
def test_src_sync_from_genesis_stores_fees_and_tx_counts(flavor, store_path, chain_of, fake_esplora,
                                                         make_client):
    chain = chain_of(40)
    fake = fake_esplora(chain)
    src = EsploraSource(make_client(), flavor=flavor)
    rep = run(store_path, src, from_height=0, batch_size=30)
    assert rep.blocks_written == 40 and rep.batches == 2
    rows = stored(store_path)
    assert_consistent(store_path, chain)
    assert [r[3] for r in rows] == [b.fees_sats for b in chain]  # exact fees per block [sats]
    assert [r[4] for r in rows] == [b.tx_count for b in chain]
    assert {r[5] for r in rows} == {f"sync:{flavor}"}
    pages = [p for p in fake.requests if "blocks/" in p and "tip" not in p]
    # pages of 10 (esplora) or 15 (mempool) blocks per request, within batches 0-29 and 30-39
    assert len(pages) == (3 + 1 if flavor == "esplora" else 2 + 1)


def test_src_incremental_resume_and_idempotent(store_path, chain_of, fake_esplora, make_client):
    chain = chain_of(25)
    fake = fake_esplora(chain[:12])
    src = EsploraSource(make_client(), flavor="mempool")
    run(store_path, src, from_height=0)
    assert len(stored(store_path)) == 12
    fake.chain = chain
    rep = run(store_path, src)  # incremental: from stored tip + 1
    assert (rep.start_height, rep.blocks_written) == (12, 13)
    assert_consistent(store_path, chain)
    rep = run(store_path, src)
    assert rep.blocks_written == 0 and len(stored(store_path)) == 25


def test_src_reorg_at_tip_rolls_back_and_resyncs(store_path, chain_of, fake_esplora, make_client):
    a = chain_of(30)
    b = chain_of(34, salt="b", base=a[:25])  # shares 0..24, then a longer branch
    fake = fake_esplora(a)
    src = EsploraSource(make_client(), flavor="mempool")
    run(store_path, src, from_height=0)
    fake.chain = b
    rep = run(store_path, src)
    assert [(e.fork_height, e.rolled_back, e.old_tip_hash) for e in rep.reorgs] == [(24, 5, a[29].hash)]
    assert_consistent(store_path, b)
    assert len(stored(store_path)) == 34
    kinds = [k for k, _ in events(store_path)]
    assert "reorg" in kinds and "rollback" in kinds
    msg = next(m for k, m in events(store_path) if k == "reorg")
    assert "fork at 24" in msg and a[29].hash in msg


def test_src_reorg_during_sync_is_caught_by_the_link(store_path, chain_of, fake_esplora, make_client):
    a = chain_of(20)
    b = chain_of(26, salt="b", base=a[:18])
    fake = fake_esplora(a)
    src = EsploraSource(make_client(), flavor="mempool")
    run(store_path, src, from_height=0)
    fake.chain = a + [c for c in chain_of(24, base=a)[20:]]  # tip check sees a, extended

    def switch(path: str) -> None:
        if path.startswith("/v1/blocks/"):  # the branch changes between tip check and fetch
            fake.chain = b
    fake.on_request = switch
    rep = run(store_path, src)
    assert rep.reorgs and rep.reorgs[0].fork_height == 17
    assert_consistent(store_path, b)
    # the competing branch is fetched from 18 in one page, up to the source's tip (25), all
    # validated before the switch; its 8 blocks outweigh the 2 stored blocks it replaces
    ev = rep.reorgs[0]
    assert (ev.rolled_back, ev.new_tip_height, ev.old_work, ev.new_work) == (2, 25, 2 * 2, 8 * 2)
    assert len(stored(store_path)) == 26
    assert run(store_path, src).blocks_written == 0
    assert_consistent(store_path, b)


def test_src_deep_reorg_is_refused_without_damage(store_path, chain_of, fake_esplora, make_client):
    a = chain_of(20)
    fake = fake_esplora(a)
    src = EsploraSource(make_client(), flavor="mempool")
    run(store_path, src, from_height=0)
    fake.chain = chain_of(22, salt="z", base=a[:5])
    with pytest.raises(SyncError, match="deeper than 3"):
        run(store_path, src, max_reorg_depth=3)
    assert_consistent(store_path, a)
    assert len(stored(store_path)) == 20


def test_src_timeouts_are_retried_with_exponential_backoff(store_path, chain_of, fake_esplora,
                                                           make_client, sleeps):
    chain = chain_of(12)
    fake = fake_esplora(chain)

    def timeout(request):
        raise httpx.ReadTimeout("slow", request=request)
    fake.faults = [timeout, timeout, timeout]
    rep = run(store_path, EsploraSource(make_client(), flavor="mempool"), from_height=0)
    assert rep.blocks_written == 12
    assert sleeps == [0.5, 1.0, 2.0]
    assert_consistent(store_path, chain)


def test_src_persistent_timeout_fails_and_keeps_committed_batches(store_path, chain_of, fake_esplora,
                                                                  make_client):
    chain = chain_of(30)
    fake = fake_esplora(chain)
    src = EsploraSource(make_client(), flavor="esplora", fees=False)
    calls = {"n": 0}

    def later_timeouts(request):
        calls["n"] += 1
        if request.url.path.endswith("/blocks/19"):
            raise httpx.ConnectTimeout("down", request=request)
        return None
    fake.faults = [later_timeouts] * 100
    with pytest.raises(SourceError, match="failed after 4 attempts: timeout"):
        run(store_path, src, from_height=0, batch_size=10)
    assert len(stored(store_path)) == 10  # first batch committed, second not started
    assert_consistent(store_path, chain)
    fake.faults = []
    run(store_path, src)  # resumes from 10
    assert_consistent(store_path, chain)
    assert len(stored(store_path)) == 30


def test_src_429_retry_after_is_respected(store_path, chain_of, fake_esplora, make_client, sleeps):
    chain = chain_of(5)
    fake = fake_esplora(chain)
    fake.faults = [lambda r: httpx.Response(429, headers={"Retry-After": "7"}, text="slow down")]
    run(store_path, EsploraSource(make_client(), flavor="mempool"), from_height=0)
    assert sleeps == [7.0]  # Retry-After (7 s) beats the 0.5 s backoff
    assert len(stored(store_path)) == 5


def test_src_429_with_long_retry_after_gives_up_cleanly(store_path, chain_of, fake_esplora, make_client):
    fake = fake_esplora(chain_of(5))
    fake.faults = [lambda r: httpx.Response(429, headers={"Retry-After": "3600"})]
    with pytest.raises(RateLimitedError, match="3600"):
        run(store_path, EsploraSource(make_client(), flavor="mempool"), from_height=0)
    assert stored(store_path) == []


def test_src_rate_limit_spaces_requests(chain_of, fake_esplora, make_client, sleeps):
    from hashdesk.sources.base import RetryPolicy

    fake_esplora(chain_of(3))
    ticks = iter([0.0, 0.1, 1.0])
    client = make_client(policy=RetryPolicy(rate_limit_per_s=2.0), clock=lambda: next(ticks))
    src = EsploraSource(client, flavor="mempool")
    src.tip_height(), src.block_hash(1), src.block_hash(2)
    assert sleeps == [pytest.approx(0.4)]  # 2nd request 0.1 s after the 1st waits 0.4 s; 3rd need not


@pytest.mark.parametrize("body", ["<html>502 Bad Gateway</html>", '[{"id": "zz"}]', '{"not": "a list"}'])
def test_src_malformed_body_fails_without_partial_batch(body, store_path, chain_of, fake_esplora,
                                                        make_client):
    chain = chain_of(30)
    fake = fake_esplora(chain)

    def bad(request):
        return httpx.Response(200, text=body) if request.url.path.endswith("/blocks/29") else None
    fake.faults = [bad] * 100
    with pytest.raises(MalformedResponseError):
        run(store_path, EsploraSource(make_client(), flavor="mempool"), from_height=0, batch_size=15)
    assert len(stored(store_path)) == 15
    assert_consistent(store_path, chain)


def test_src_tampered_block_fields_do_not_hash_to_id(store_path, chain_of, fake_esplora, make_client):
    chain = chain_of(8)
    fake = fake_esplora(chain)

    def tampered(path, resp):
        if path.startswith("/v1/blocks/"):
            page = resp.json()
            page[0]["timestamp"] += 1
            return httpx.Response(200, json=page)
        return resp
    fake.transform = tampered
    with pytest.raises(MalformedResponseError, match="hash to"):
        run(store_path, EsploraSource(make_client(), flavor="mempool"), from_height=0)
    assert stored(store_path) == []


def test_src_bad_pow_header_is_rejected(store_path, chain_of, mine_block, fake_esplora, make_client):
    chain = chain_of(10)
    bad = mine_block(10, chain[9].hash, chain[9].time + 600, bad_pow=True)
    fake = fake_esplora(chain)
    src = EsploraSource(make_client(), flavor="mempool")
    run(store_path, src, from_height=0)
    fake.chain = chain + [bad]
    with pytest.raises(ChainValidationError, match="block 10: proof-of-work"):
        run(store_path, src)
    assert len(stored(store_path)) == 10
    assert_consistent(store_path, chain)


def test_src_empty_store_needs_start_and_anchor(store_path, chain_of, fake_esplora, make_client):
    chain = chain_of(12)
    fake_esplora(chain)
    src = EsploraSource(make_client(), flavor="mempool")
    with pytest.raises(SyncError, match="no blocks"):
        run(store_path, src)
    with pytest.raises(SyncError, match="--trust-anchor"):
        run(store_path, src, from_height=6)
    rep = run(store_path, src, from_height=6, trust_anchor=True)
    assert rep.blocks_written == 6 and "trusted by --trust-anchor" in rep.anchor
    assert [r[0] for r in stored(store_path)] == list(range(5, 12))
    assert any(k == "anchor" and chain[5].hash in m for k, m in events(store_path))


def test_src_bundle_rows_anchor_and_are_enriched(store_path, chain_of, fake_esplora, make_client):
    """Times-only bundle rows: the anchor header must match their time and bits."""
    chain = chain_of(15)
    with Store(store_path) as s:
        for b in chain[:10]:
            s.con.execute("INSERT INTO blocks (height, time, bits, source) VALUES (?, ?, ?, "
                          "'btc_block_times')", [b.height, b.time, b.bits]).fetchall()
    fake_esplora(chain)
    src = EsploraSource(make_client(), flavor="mempool")
    rep = run(store_path, src)
    assert rep.start_height == 10 and "matching the bundle" in rep.anchor
    rows = stored(store_path)
    assert rows[9][1] == chain[9].hash and rows[9][5] == "sync:mempool"  # anchor row enriched
    assert rows[8][1] is None and rows[8][5] == "btc_block_times"  # untouched below
    assert [r[1] for r in rows[9:]] == [b.hash for b in chain[9:]]
    # a ranged re-sync over the bundle window enriches rows whose time and bits agree
    run(store_path, src, from_height=1)
    rows = stored(store_path)
    assert all(r[1] == b.hash and r[5] == "sync:mempool" for r, b in zip(rows, chain, strict=True))


def test_src_bundle_row_disagreeing_with_source_is_not_an_anchor(store_path, chain_of, fake_esplora,
                                                                 make_client):
    chain = chain_of(12)
    with Store(store_path) as s:
        s.con.execute("INSERT INTO blocks (height, time, bits, source) VALUES (9, ?, ?, 'btc_block_times')",
                      [chain[9].time + 1, chain[9].bits]).fetchall()
    fake_esplora(chain)
    with pytest.raises(SyncError, match="disagrees with the stored bundle row"):
        run(store_path, EsploraSource(make_client(), flavor="mempool"))
    assert stored(store_path)[0][1] is None


def test_src_esplora_fees_from_coinbase(chain_of, fake_esplora, make_client):
    chain = chain_of(3)
    fake_esplora(chain)
    recs = EsploraSource(make_client(), flavor="esplora").blocks(0, 2)
    assert [r.fees_sats for r in recs] == [b.fees_sats for b in chain]
    assert EsploraSource(make_client(), flavor="esplora", fees=False).blocks(1, 1)[0].fees_sats is None


def test_src_ranged_resync_over_a_heavier_branch_switches_it_whole(store_path, chain_of,
                                                                  fake_esplora, make_client):
    a = chain_of(20)
    fake = fake_esplora(a)
    src = EsploraSource(make_client(), flavor="mempool")
    run(store_path, src, from_height=0)
    b = chain_of(21, salt="b", base=a[:10])  # 11 blocks above the fork: more work than a's 10
    fake.chain = b
    rep = run(store_path, src, from_height=10, to_height=14)
    # the whole stored branch a[10..19] is replaced, and b past 14: needed to show more work
    assert [(e.fork_height, e.rolled_back, e.new_tip_height) for e in rep.reorgs] == [(9, 10, 20)]
    assert_consistent(store_path, b)
    assert len(stored(store_path)) == 21
    msgs = [m for k, m in events(store_path) if k == "reorg"]
    assert len(msgs) == 1 and a[19].hash in msgs[0] and "fork at 9" in msgs[0]


def test_src_ranged_resync_over_an_equal_work_branch_is_refused(store_path, chain_of, fake_esplora,
                                                                make_client):
    a = chain_of(20)
    fake = fake_esplora(a)
    src = EsploraSource(make_client(), flavor="mempool")
    run(store_path, src, from_height=0)
    fake.chain = chain_of(20, salt="b", base=a[:10])  # as long as a: no more work
    with pytest.raises(ReorgRejectedError, match="not more than the 20 of the 10 stored blocks"):
        run(store_path, src, from_height=10, to_height=14)
    assert_consistent(store_path, a)
    assert len(stored(store_path)) == 20
    assert [k for k, _ in events(store_path)].count("reorg-rejected") == 1


@pytest.mark.parametrize("field, value, match", [
    ("totalFees", -5, "fees -5 sats outside"),
    ("totalFees", 21_000_000 * 10**8 + 1, "fees 2100000000000001 sats outside"),
    ("tx_count", 0, "tx_count 0 outside"),
])
def test_src_implausible_fees_or_tx_count_are_malformed(field, value, match, store_path, chain_of,
                                                        fake_esplora, make_client):
    fake = fake_esplora(chain_of(6))

    def bad(path, resp):
        if path.startswith("/v1/blocks/"):
            page = resp.json()
            target = page[0]["extras"] if field == "totalFees" else page[0]
            target[field] = value
            return httpx.Response(200, json=page)
        return resp
    fake.transform = bad
    with pytest.raises(MalformedResponseError, match=match):
        run(store_path, EsploraSource(make_client(), flavor="mempool"), from_height=0)
    assert stored(store_path) == []
