"""Bitcoin Core JSON-RPC source: batches, auth (cookie / user-password), errors, a regtest sync."""

from __future__ import annotations

import base64
import json
import os

import httpx
import pytest
import respx

from hashdesk.sources import chain_source
from hashdesk.sources.base import ConfigError, MalformedResponseError
from hashdesk.sources.bitcoind import BitcoindSource, RpcError, read_cookie
from hashdesk.store import Store
from hashdesk.store.chainsync import REGTEST, sync_chain

URL = "http://node.test:18443"


class FakeNode:
    """Answers JSON-RPC batches from a regtest chain; records the Authorization headers."""

    def __init__(self, chain):
        self.chain = chain
        self.auth: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.auth.append(request.headers.get("authorization", ""))
        by_hash = {b.hash: b for b in self.chain}
        out = []
        for c in json.loads(request.content):
            m, p = c["method"], c["params"]
            res, err = None, None
            if m == "getblockcount":
                res = len(self.chain) - 1
            elif m == "getblockhash":
                if p[0] >= len(self.chain):
                    err = {"code": -8, "message": "Block height out of range"}
                else:
                    res = self.chain[p[0]].hash
            elif m == "getblockheader":
                res = by_hash[p[0]].header_hex if p[1] is False else {"hash": p[0]}
            elif m == "getblockstats":
                b = by_hash[p[0]]
                res = {"totalfee": b.fees_sats, "txs": b.tx_count}
            out.append({"result": res, "error": err, "id": c["id"]})
        return httpx.Response(200, json=out)


@pytest.fixture()
def node(chain_of):
    fake = FakeNode(chain_of(20))
    with respx.mock(assert_all_called=False) as r:
        r.post(URL).mock(side_effect=fake)
        yield fake


def test_src_bitcoind_sync_uses_three_batches_per_round(node, store_path, make_client):
    src = BitcoindSource(make_client(URL, auth=("alice", "s3cret")))
    with Store(store_path) as store:
        rep = sync_chain(store, src, params=REGTEST, from_height=0, batch_size=10)
        rows = store.con.execute("SELECT hash, fees_sats, tx_count FROM blocks ORDER BY height").fetchall()
    assert rep.blocks_written == 20
    assert rows == [(b.hash, b.fees_sats, b.tx_count) for b in node.chain]
    assert len(node.auth) == 1 + 2 * 3  # getblockcount, then hashes/headers/stats per batch of 10
    assert set(node.auth) == {"Basic " + base64.b64encode(b"alice:s3cret").decode()}


def test_src_bitcoind_rpc_error_is_raised_with_code(node, make_client):
    src = BitcoindSource(make_client(URL, auth=("a", "b")))
    with pytest.raises(RpcError, match="-8: Block height out of range") as exc:
        src.block_hash(99)
    assert exc.value.code == -8


def test_src_bitcoind_header_not_matching_hash_is_malformed(node, make_client):
    node.chain[3] = node.chain[3].__class__(**{**node.chain[3].__dict__, "header_hex": node.chain[4].header_hex})
    with pytest.raises(MalformedResponseError, match="hashes to"):
        BitcoindSource(make_client(URL, auth=("a", "b"))).blocks(3, 3)


def test_src_bitcoind_non_batch_reply_is_malformed(make_client):
    with respx.mock() as r:
        r.post(URL).mock(return_value=httpx.Response(200, json={"result": 1, "error": None, "id": 1}))
        with pytest.raises(MalformedResponseError, match="batch"):
            BitcoindSource(make_client(URL)).tip_height()


def test_src_cookie_auth_and_permissions(tmp_path, node, monkeypatch):
    cookie = tmp_path / ".cookie"
    cookie.write_text("__cookie__:0123abcd")
    os.chmod(cookie, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        read_cookie(cookie)
    os.chmod(cookie, 0o600)
    user, pw = read_cookie(cookie)
    assert user == "__cookie__" and pw.value == "0123abcd" and "0123abcd" not in f"{pw} {pw!r}"
    src = chain_source("bitcoind", URL, config={}, cookie=str(cookie))
    assert src.tip_height() == 19
    assert node.auth[-1] == "Basic " + base64.b64encode(b"__cookie__:0123abcd").decode()


def test_src_bitcoind_needs_credentials(monkeypatch):
    for k in ("USER", "PASSWORD", "COOKIE"):
        monkeypatch.delenv(f"HASHDESK_BITCOIND_{k}", raising=False)
    with pytest.raises(ConfigError, match="needs credentials"):
        chain_source("bitcoind", URL, config={})
