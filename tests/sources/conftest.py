"""Fakes for the sources tests: tiny regtest chains mined here, served in the providers' shapes.

Mainnet PoW cannot be mined in a test, so flows that need many consecutive blocks (reorgs,
retries, resumption) run on regtest chains (bits 0x207fffff, ~2 hashes a block) validated with
``REGTEST`` params; the mainnet checks run on the real bundle headers (test_src_mainnet.py).
Two ways to serve them: ``fake_esplora`` routes httpx inside the process (respx), and
``regtest_esplora`` serves them from a real local HTTP server (pytest-httpserver; see
``regtest_server.py``, also usable from other test directories).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import respx
from tests.sources.regtest_server import REGTEST_BITS, EsploraRegtestServer, mine  # noqa: F401

from hashdesk.chain.consensus import block_subsidy
from hashdesk.sources.base import BlockRecord, HttpClient, RetryPolicy
from hashdesk.store import Store

FIXTURES = Path(__file__).parents[1] / "data" / "sources"
T0 = 1_700_000_000


def make_chain(n: int, salt: str = "a", base: list[BlockRecord] | None = None) -> list[BlockRecord]:
    """Blocks 0..n-1; when ``base`` is given, extend a copy of it (a fork) with new ``salt``."""
    chain = list(base or [])
    while len(chain) < n:
        h = len(chain)
        prev = chain[-1].hash if chain else "0" * 64
        chain.append(mine(h, prev, T0 + 600 * h + (1 if salt != "a" else 0), salt))
    return chain


def esplora_json(rec: BlockRecord, extras: bool) -> dict:
    """A block object in esplora's shape (plus mempool's ``extras`` when asked)."""
    obj = {"id": rec.hash, "height": rec.height, "version": rec.version, "timestamp": rec.time,
           "tx_count": rec.tx_count, "size": 1000, "weight": 4000, "merkle_root": rec.merkle_root,
           "previousblockhash": rec.prev_hash if rec.height else None, "mediantime": rec.time - 1,
           "nonce": rec.nonce, "bits": rec.bits, "difficulty": 4.6e-10}
    if extras:
        obj["extras"] = {"totalFees": rec.fees_sats, "reward": rec.fees_sats + 5_000_000_000}
    return obj


class FakeEsplora:
    """An esplora/mempool server over a mutable best chain, with fault injection.

    ``faults`` is a list of callables consulted before each request: one returning a response
    (or raising) replaces the real answer and is consumed.
    """

    def __init__(self, chain: list[BlockRecord], base: str = "https://esplora.test/api"):
        self.chain = chain
        self.base = base
        self.faults: list[Callable[[httpx.Request], httpx.Response | None]] = []
        self.requests: list[str] = []
        self.on_request: Callable[[str], None] | None = None
        self.transform: Callable[[str, httpx.Response], httpx.Response] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        resp = self._answer(request)
        if self.transform:
            resp = self.transform(request.url.path.removeprefix("/api"), resp)
        return resp

    def _answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api")
        self.requests.append(path)
        if self.on_request:
            self.on_request(path)
        if self.faults:
            fault = self.faults.pop(0)
            resp = fault(request)
            if resp is not None:
                return resp
        parts = path.strip("/").split("/")
        by_hash = {b.hash: b for b in self.chain}
        if parts == ["blocks", "tip", "height"]:
            return httpx.Response(200, text=str(len(self.chain) - 1))
        if parts[0] == "block-height":
            h = int(parts[1])
            if h >= len(self.chain):
                return httpx.Response(404, text="Block not found")
            return httpx.Response(200, text=self.chain[h].hash)
        if parts[0] == "blocks" or parts[:2] == ["v1", "blocks"]:
            mempool = parts[0] == "v1"
            top = min(int(parts[-1]), len(self.chain) - 1)
            size = 15 if mempool else 10
            page = [esplora_json(self.chain[h], mempool) for h in range(top, max(-1, top - size), -1)]
            return httpx.Response(200, json=page)
        if parts[0] == "block" and parts[2:] == ["txs"]:
            rec = by_hash[parts[1]]
            cb = {"txid": "00" * 32, "vin": [{"is_coinbase": True}],
                  "vout": [{"value": block_subsidy(rec.height) + rec.fees_sats - 1}, {"value": 1}]}
            return httpx.Response(200, json=[cb])
        return httpx.Response(404, text="unknown path")


@pytest.fixture()
def sleeps() -> list[float]:
    """Recorded backoff delays (the client sleeps into this list instead of waiting)."""
    return []


@pytest.fixture()
def policy() -> RetryPolicy:
    """Fast retry policy for tests (delays are recorded, not slept)."""
    return RetryPolicy(timeout_s=2.0, max_retries=3, backoff_s=0.5, max_backoff_s=4.0)


@pytest.fixture()
def make_client(sleeps, policy):
    """Factory: an HttpClient for ``base`` whose sleeps are recorded."""
    def make(base: str = "https://esplora.test/api", **kw) -> HttpClient:
        return HttpClient(base, kw.pop("policy", policy), sleep=sleeps.append, **kw)
    return make


@pytest.fixture()
def fake_esplora():
    """Factory: route https://esplora.test/api/* to a FakeEsplora over ``chain``."""
    mocks = []

    def start(chain: list[BlockRecord]) -> FakeEsplora:
        fake = FakeEsplora(chain)
        m = respx.mock(assert_all_called=False)
        m.start()
        m.route(host="esplora.test").mock(side_effect=fake)
        mocks.append(m)
        return fake

    yield start
    for m in mocks:
        m.stop()


@pytest.fixture()
def store_path(tmp_path) -> Path:
    """A fresh DuckDB file path (the store is reopened by tests to check what was committed)."""
    p = tmp_path / "sync.duckdb"
    Store(p).close()
    return p


def load_fixture(name: str):
    """A recorded response from tests/data/sources."""
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture()
def mine_block():
    """The :func:`mine` helper."""
    return mine


@pytest.fixture()
def chain_of():
    """The :func:`make_chain` helper."""
    return make_chain


@pytest.fixture()
def recorded():
    """The :func:`load_fixture` helper."""
    return load_fixture


@pytest.fixture()
def regtest_esplora(httpserver):
    """Factory: serve a regtest chain as an esplora/mempool API on the local pytest-httpserver."""
    def start(chain: list[BlockRecord]) -> EsploraRegtestServer:
        return EsploraRegtestServer(chain, httpserver)
    return start
