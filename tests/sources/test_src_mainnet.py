"""Mainnet consensus checks of sync on REAL headers: block 820,512 (a retarget) over the bundle.

The bundle holds block 820,511's hash (Electrum checkpoint), the times of 818,496..820,511
(btc_block_times) and the real 80-byte header of 820,512 (bitcoinj). Served in the recorded
esplora/mempool/bitcoind shapes, sync must accept it — PoW, link and the retarget all real — and
reject every tampered variant.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import httpx
import pytest
import respx
from typer.testing import CliRunner

from hashdesk.chain.headers import parse_header, serialize_header
from hashdesk.cli import app
from hashdesk.sources.base import BlockRecord
from hashdesk.sources.bitcoind import BitcoindSource
from hashdesk.sources.esplora import EsploraSource, block_from_json
from hashdesk.store import Store
from hashdesk.store.chainsync import (
    MAINNET,
    ChainPoint,
    ChainValidationError,
    expected_bits,
    sync_chain,
    validate_block,
)

H = 820_512
PARENT_HASH = "0000000000000000000125ab365abaa653d41dd6acb9ecddf9bb9a944d1e0bfd"  # Electrum, epoch 406
PARENT_TIME = 1_702_179_081  # btc_block_times, height 820,511
EPOCH_FIRST_TIME = 1_700_957_763  # height 818,496
EPOCH_406_BITS = 0x17042450
BASE = "https://esplora.test/api"


@pytest.fixture()
def real_block(recorded) -> BlockRecord:
    return block_from_json(recorded("mempool_v1_blocks_820512.json")[0], "fixture")


@pytest.fixture()
def parent() -> ChainPoint:
    return ChainPoint(H - 1, PARENT_HASH, PARENT_TIME, EPOCH_406_BITS)


def test_src_real_retarget_header_passes_every_check(real_block, parent):
    assert real_block.hash == "000000000000000000011996808bac907133774cd06fbf2f66c4d79509339d5b"
    assert expected_bits(H, parent, EPOCH_FIRST_TIME) == real_block.bits == 0x17042E95
    validate_block(real_block, parent, EPOCH_FIRST_TIME, MAINNET, median_time_past=PARENT_TIME - 3600,
                   now_unix=PARENT_TIME)


def _rehash(rec: BlockRecord, **changes) -> BlockRecord:
    """A consistent record (hash = double SHA-256 of the header) with changed header fields."""
    r = replace(rec, **changes)
    raw = serialize_header(r.version, r.prev_hash, r.merkle_root, r.time, r.bits, r.nonce)
    hdr = parse_header(raw)
    return replace(r, hash=hdr.hash, header_hex=raw.hex())


@pytest.mark.parametrize(
    "change, eft, check",
    [
        ({"nonce": 1}, EPOCH_FIRST_TIME, "proof-of-work"),  # bad PoW
        ({}, EPOCH_FIRST_TIME - 3 * 86_400, "bits"),  # retarget from other timestamps
        ("prev", EPOCH_FIRST_TIME, "link"),  # parent is not ours
    ],
)
def test_src_real_header_tampered_is_rejected(real_block, parent, change, eft, check):
    rec = real_block
    if change == "prev":
        parent = replace(parent, hash="00" * 32)
    elif change:
        rec = _rehash(real_block, **change)
    with pytest.raises(ChainValidationError, match=f"block {H}: {check}"):
        validate_block(rec, parent, eft, MAINNET)


def test_src_real_header_bits_must_follow_retarget_rule(real_block, parent):
    lying = _rehash(real_block, bits=EPOCH_406_BITS)  # keeps the old target across the boundary
    with pytest.raises(ChainValidationError, match="proof-of-work|bits"):
        validate_block(lying, parent, EPOCH_FIRST_TIME, MAINNET)


def test_src_future_and_mtp_time_checks(real_block, parent):
    with pytest.raises(ChainValidationError, match="median time past"):
        validate_block(real_block, parent, EPOCH_FIRST_TIME, MAINNET, median_time_past=real_block.time)
    with pytest.raises(ChainValidationError, match="future"):
        validate_block(real_block, parent, EPOCH_FIRST_TIME, MAINNET, now_unix=real_block.time - 7201)


@pytest.fixture()
def trimmed_bundle(bundle_db_path, tmp_path):
    """A writable copy of the bundle store cut back to height 820,511."""
    path = tmp_path / "bundle_copy.duckdb"
    shutil.copy(bundle_db_path, path)
    with Store(path) as s:
        s.con.execute("DELETE FROM blocks WHERE height > ?", [H - 1]).fetchall()
    return path


def _serve(recorded, flavor: str) -> respx.MockRouter:
    router = respx.mock(base_url=BASE, assert_all_called=False)
    router.get("/blocks/tip/height").mock(return_value=httpx.Response(200, text=str(H)))
    router.get(f"/v1/blocks/{H}").mock(
        return_value=httpx.Response(200, json=recorded("mempool_v1_blocks_820512.json")))
    router.get(f"/blocks/{H}").mock(
        return_value=httpx.Response(200, json=recorded("esplora_blocks_820512.json")))
    return router


def test_src_sync_real_block_onto_bundle(trimmed_bundle, recorded, make_client):
    with _serve(recorded, "mempool"), Store(trimmed_bundle) as store:
        rep = sync_chain(store, EsploraSource(make_client(BASE), flavor="mempool"))
        assert rep.blocks_written == 1 and "Electrum checkpoint" in rep.anchor
        row = store.con.execute(
            "SELECT hash, prev_hash, bits, time, fees_sats, tx_count, source FROM blocks WHERE height = ?",
            [H]).fetchone()
        assert row == ("000000000000000000011996808bac907133774cd06fbf2f66c4d79509339d5b", PARENT_HASH,
                       0x17042E95, 1_702_180_644, 54_123_456, 3218, "sync:mempool")
        assert store.scalar("SELECT count(*) FROM loads WHERE kind = 'sync:mempool'") == 1


def test_src_resync_enriches_bundle_rows_and_keeps_chainwork(bundle_db_path, tmp_path, recorded,
                                                             make_client):
    path = tmp_path / "full_copy.duckdb"
    shutil.copy(bundle_db_path, path)
    with _serve(recorded, "mempool"), Store(path) as store:
        before = store.con.execute("SELECT chainwork_hex FROM blocks WHERE height = ?", [H]).fetchone()
        n = store.scalar("SELECT count(*) FROM blocks")
        sync_chain(store, EsploraSource(make_client(BASE), flavor="mempool"), from_height=H, to_height=H)
        after = store.con.execute("SELECT chainwork_hex, fees_sats, source FROM blocks WHERE height = ?",
                                  [H]).fetchone()
        assert after == (before[0], 54_123_456, "sync:mempool")
        assert store.scalar("SELECT count(*) FROM blocks") == n  # rows above untouched


def test_src_bitcoind_serves_the_same_real_block(trimmed_bundle, recorded, make_client):
    fx = recorded("bitcoind_header_820512.json")
    answers = {"getblockcount": H, "getblockhash": fx["hash"], "getblockheader": fx["header_hex"],
               "getblockstats": fx["getblockstats"]}

    def rpc(request: httpx.Request) -> httpx.Response:
        calls = json.loads(request.content)
        return httpx.Response(200, json=[{"id": c["id"], "result": answers[c["method"]], "error": None}
                                         for c in calls])
    with respx.mock(assert_all_called=False) as router, Store(trimmed_bundle) as store:
        router.post("http://node.test:8332").mock(side_effect=rpc)
        rep = sync_chain(store, BitcoindSource(make_client("http://node.test:8332", auth=("u", "p"))))
        assert rep.blocks_written == 1
        assert store.con.execute("SELECT fees_sats, tx_count, source FROM blocks WHERE height = ?",
                                 [H]).fetchone() == (54_123_456, 3218, "sync:bitcoind")


def test_src_cli_sync_json(trimmed_bundle, recorded):
    with _serve(recorded, "mempool"):
        res = CliRunner().invoke(app, ["--db", str(trimmed_bundle), "sync", "--chain", "mempool",
                                       "--url", BASE, "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["chain"]["blocks_written"] == 1 and out["chain"]["to_height"] == H


def test_src_cli_sync_fails_cleanly_on_bad_pow(trimmed_bundle, recorded):
    page = recorded("esplora_blocks_820512.json")
    page[0]["nonce"] += 1  # fields no longer hash to the id
    with respx.mock(base_url=BASE, assert_all_called=False) as r:
        r.get("/blocks/tip/height").mock(return_value=httpx.Response(200, text=str(H)))
        r.get(f"/blocks/{H}").mock(return_value=httpx.Response(200, json=page))
        res = CliRunner().invoke(app, ["--db", str(trimmed_bundle), "sync", "--url", BASE])
    assert res.exit_code == 2
    assert "MalformedResponseError" in res.output
    with Store(trimmed_bundle, read_only=True) as s:
        assert s.scalar("SELECT max(height) FROM blocks") == H - 1


@pytest.mark.remote
@pytest.mark.parametrize("flavor, url", [("mempool", "https://mempool.space/api"),
                                         ("esplora", "https://blockstream.info/api")])
def test_src_remote_real_block_matches_bundle(flavor, url, make_client, real_block):
    """Hits the public APIs (skipped by default): block 820,512 as served equals the bundle's."""
    (rec,) = EsploraSource(make_client(url), flavor=flavor).blocks(H, H)
    assert rec.header_hex == real_block.header_hex
