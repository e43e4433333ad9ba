"""Valid regtest chains, served as an esplora/mempool REST API on a local HTTP server, and synced
into a real DuckDB store: the test bed for anything that needs synced per-block rows.

Mainnet proof of work cannot be mined in a test, so chains are mined under Bitcoin Core's
regtest parameters (bits ``0x207fffff``, about two hashes a block, no retargeting) and validated
by :func:`hashdesk.store.chainsync.sync_chain` with ``params=REGTEST``: every header, link, PoW,
median-time-past and future-time check runs for real. Heights, timestamps and fees are chosen by
the caller, so a chain can continue from any height and any day (e.g. days after 2025-12-29,
where the bundle's daily network series ends). Subsidy is mainnet's schedule,
``hashdesk.chain.consensus.block_subsidy(height)``; fees are stored per block (``fees_sats``)
exactly as given.

What the server answers (paths below ``/api``, the shapes of ``docs/sources.md``):

- ``GET /blocks/tip/height`` and ``GET /block-height/:h`` (plain text);
- ``GET /blocks/:h`` (10 esplora block objects, newest first) and ``GET /v1/blocks/:h`` (15
  mempool objects with ``extras.totalFees``);
- ``GET /block/:hash/txs`` (the coinbase, paying subsidy + fees, so esplora-flavour fees derived
  from the coinbase equal the chain's fees).

Usage
-----
Inside ``tests/sources`` the fixtures of its ``conftest.py`` give a server on pytest-httpserver::

    def test_something(regtest_esplora, tmp_path):
        chain = regtest_chain(300, start_height=930_089, start_time=day_unix("2025-12-30"))
        server = regtest_esplora(chain)                       # http://localhost:PORT/api
        report = sync_regtest(tmp_path / "s.duckdb", server.url)
        # blocks 930,089 (anchor, trusted) .. 930,388 are now in the store, with fees_sats

Elsewhere (``python -m pytest`` from the repo root, as ``make test`` runs, puts ``tests`` on the
import path), use the server as a context manager; it starts its own threaded HTTP server::

    import shutil
    from hashdesk.store import Store
    from tests.sources.regtest_server import (
        BUNDLE_NEXT_HEIGHT, EsploraRegtestServer, day_unix, regtest_chain, sync_regtest)

    def test_economics_after_the_bundle(bundle_db_path, tmp_path):
        db = tmp_path / "live.duckdb"
        shutil.copy(bundle_db_path, db)
        with Store(db) as s:   # the bundle as of the end of 2025-12-29 (last block 930,088)
            s.con.execute("DELETE FROM blocks WHERE height >= ?", [BUNDLE_NEXT_HEIGHT]).fetchall()
        chain = regtest_chain(1 + 3 * 144, start_height=BUNDLE_NEXT_HEIGHT,
                              start_time=day_unix("2025-12-30"))
        with EsploraRegtestServer(chain) as server:
            sync_regtest(db, server.url)
        # 2025-12-30, -31 and 2026-01-01: 144 blocks each, 600 s apart, exact fees on every one

(``tests/sources/test_src_regtest_server.py`` runs exactly this and checks the stored rows.)

Rules the chain follows (so the store accepts it): heights contiguous from ``start_height``;
times strictly increasing (``start_time + spacing_s·i``; keep them before the sync's clock
+ 2 h, or pass ``now=``); when the store already holds rows, all of them must lie below the
chain's first block, which becomes the ``--trust-anchor`` anchor (its ancestry is not checked).
A later call with a longer chain (same blocks, more at the top) continues from the stored tip;
a competing chain (another ``salt`` from some height) is a reorg, adopted only with more work.
The chain's bits are regtest's (difficulty about 4.66e-10, work 2 hashes a block): economics
over these blocks see that difficulty, while the subsidy follows mainnet's halvings.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import count
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from hashdesk.chain.consensus import block_subsidy, decode_compact
from hashdesk.chain.headers import header_hash, serialize_header
from hashdesk.sources.base import BlockRecord, HttpClient, RetryPolicy
from hashdesk.sources.esplora import EsploraSource
from hashdesk.store.chainsync import REGTEST, ChainSyncReport, sync_chain

#: Regtest compact target (``powLimit`` 0x7fffff·2^232): about one hash in two meets it.
REGTEST_BITS = 0x207FFFFF
#: First height after the bundle's last block of 2025-12-29 (930,088, at 23:51:10 UTC), where
#: its daily network series ends: cut the bundle's blocks here to continue it with a chain.
BUNDLE_NEXT_HEIGHT = 930_089
#: Header version used for mined blocks (BIP 9 top bits).
VERSION = 0x20000000
ZERO_HASH = "0" * 64


def day_unix(day: str) -> int:
    """00:00 UTC of ``YYYY-MM-DD`` [unix s]."""
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp())


def default_fees(height: int) -> int:
    """Illustrative fees per block [sats]: 0.02 BTC plus a height-dependent part (exact ints)."""
    return 2_000_000 + (height % 11) * 100_000


def mine(
    height: int, prev_hash: str, t: int, salt: str = "a", bad_pow: bool = False,
    fees_sats: int | None = None, tx_count: int | None = None,
) -> BlockRecord:
    """Mine one regtest block (with ``bad_pow``: find a nonce whose hash *misses* the target).

    Parameters
    ----------
    height : int
    prev_hash : str
        Parent's hash [display hex].
    t : int
        Header time [unix s].
    salt : str
        Varies the merkle root, so two branches at one height differ.
    bad_pow : bool
        Return a header that fails proof of work.
    fees_sats, tx_count : int, optional
        Stored with the record (defaults: ``1000·height + 7`` sats, ``1 + height % 5``).
    """
    target = decode_compact(REGTEST_BITS)[0]
    merkle = hashlib.sha256(f"{salt}:{height}".encode()).hexdigest()
    fees = 1000 * height + 7 if fees_sats is None else int(fees_sats)
    txs = 1 + height % 5 if tx_count is None else int(tx_count)
    for nonce in count():
        raw = serialize_header(VERSION, prev_hash, merkle, t, REGTEST_BITS, nonce)
        h = header_hash(raw)
        if (int(h, 16) <= target) != bad_pow:
            return BlockRecord(height, h, prev_hash, merkle, VERSION, t, REGTEST_BITS, nonce,
                               raw.hex(), fees_sats=fees, tx_count=txs)
    raise AssertionError("unreachable")


def regtest_chain(
    n: int,
    *,
    start_height: int = 0,
    start_time: int = 1_700_000_000,
    spacing_s: int = 600,
    fees_sats: Callable[[int], int] | int = default_fees,
    tx_count: Callable[[int], int] | int = 2_000,
    parent: str | None = None,
    salt: str = "a",
    base: list[BlockRecord] | None = None,
    bad_pow_from: int | None = None,
) -> list[BlockRecord]:
    """A valid regtest chain of ``n`` blocks (or a fork of ``base``), ascending by height.

    Parameters
    ----------
    n : int
        Number of blocks in the result (including any copied from ``base``).
    start_height : int
        Height of the first block (ignored when ``base`` is given).
    start_time : int
        Header time of the first block [unix s]; block i has ``start_time + spacing_s·i``.
    spacing_s : int
        Seconds between blocks [s] (> 0 keeps median time past satisfied).
    fees_sats, tx_count : callable or int
        Per-block fees [sats] and transaction counts, as functions of height or constants.
    parent : str, optional
        ``prev_hash`` of the first block (default: zeros at height 0, else a fixed fake hash:
        the first block then needs ``--trust-anchor``).
    salt : str
        Merkle-root salt (use another for a competing branch).
    base : list of BlockRecord, optional
        Copy these blocks and extend them (a fork sharing ``base``).
    bad_pow_from : int, optional
        Blocks at this height and above fail proof of work (a lying source).

    Returns
    -------
    list of BlockRecord
    """
    chain = list(base or [])
    h0 = chain[0].height if chain else start_height
    t0 = chain[0].time if chain else start_time
    while len(chain) < n:
        h = h0 + len(chain)
        if chain:
            prev = chain[-1].hash
        else:
            prev = parent or (ZERO_HASH if h == 0 else hashlib.sha256(b"anchor-parent").hexdigest())
        t = t0 + spacing_s * (h - h0) + (1 if salt != "a" else 0)
        f = fees_sats(h) if callable(fees_sats) else fees_sats
        c = tx_count(h) if callable(tx_count) else tx_count
        bad = bad_pow_from is not None and h >= bad_pow_from
        chain.append(mine(h, prev, t, salt, bad_pow=bad, fees_sats=f, tx_count=c))
    return chain


def esplora_json(rec: BlockRecord, extras: bool) -> dict:
    """A block object in esplora's shape (plus mempool's ``extras`` when asked)."""
    obj = {"id": rec.hash, "height": rec.height, "version": rec.version, "timestamp": rec.time,
           "tx_count": rec.tx_count, "size": 1000, "weight": 4000, "merkle_root": rec.merkle_root,
           "previousblockhash": rec.prev_hash if rec.height else None, "mediantime": rec.time - 1,
           "nonce": rec.nonce, "bits": rec.bits, "difficulty": 4.6e-10}
    if extras:
        obj["extras"] = {"totalFees": rec.fees_sats,
                         "reward": rec.fees_sats + block_subsidy(rec.height)}
    return obj


def coinbase_json(rec: BlockRecord) -> list[dict]:
    """``/block/:hash/txs``: the coinbase alone, paying subsidy + fees in two outputs."""
    total = block_subsidy(rec.height) + (rec.fees_sats or 0)
    return [{"txid": "00" * 32, "vin": [{"is_coinbase": True}],
             "vout": [{"value": total - 1}, {"value": 1}]}]


class EsploraRegtestServer:
    """Serve a (mutable) regtest chain as an esplora/mempool API on a local HTTP server.

    Parameters
    ----------
    chain : list of BlockRecord
        The best chain, ascending and contiguous (assign ``server.chain`` to reorg or lie).
    httpserver : pytest_httpserver.HTTPServer, optional
        A running server to register on (the ``httpserver`` fixture). Without one, entering the
        context manager starts a threaded server of its own.
    prefix : str
        API root path.

    Attributes
    ----------
    url : str
        API root URL (pass it to :func:`sync_regtest` or ``hashdesk sync --url``).
    requests : list of str
        Paths asked, in order.
    gate : callable or None
        Called with each path before it is answered (block on an event to make a slow source).
    """

    def __init__(self, chain: list[BlockRecord], httpserver: HTTPServer | None = None,
                 prefix: str = "/api"):
        self.chain = chain
        self.prefix = prefix
        self.requests: list[str] = []
        self.gate: Callable[[str], None] | None = None
        self._own = httpserver is None
        self.server = httpserver or HTTPServer(threaded=True)
        self._lock = threading.Lock()
        if not self._own:
            self._register()

    def _register(self) -> None:
        self.server.expect_request(re.compile(re.escape(self.prefix) + "/.*")).respond_with_handler(
            self._handle)

    def __enter__(self) -> EsploraRegtestServer:
        if self._own:
            self.server.start()
            self._register()
        return self

    def __exit__(self, *exc) -> None:
        if self._own:
            self.server.clear()
            if self.server.is_running():
                self.server.stop()

    @property
    def url(self) -> str:
        """API root URL."""
        return self.server.url_for(self.prefix)

    def _handle(self, request: Request) -> Response:
        path = request.path.removeprefix(self.prefix)
        with self._lock:
            self.requests.append(path)
        if self.gate is not None:
            self.gate(path)
        chain = self.chain
        first = chain[0].height
        by_height = {b.height: b for b in chain}
        parts = path.strip("/").split("/")
        if parts == ["blocks", "tip", "height"]:
            return Response(str(chain[-1].height), content_type="text/plain")
        if parts[0] == "block-height" and len(parts) == 2 and parts[1].isdigit():
            rec = by_height.get(int(parts[1]))
            if rec is None:
                return Response("Block not found", status=404)
            return Response(rec.hash, content_type="text/plain")
        if (parts[0] == "blocks" or parts[:2] == ["v1", "blocks"]) and parts[-1].isdigit():
            mempool = parts[0] == "v1"
            top = min(int(parts[-1]), chain[-1].height)
            size = 15 if mempool else 10
            page = [esplora_json(by_height[h], mempool)
                    for h in range(top, max(first - 1, top - size), -1)]
            return Response(json.dumps(page), content_type="application/json")
        if parts[0] == "block" and parts[2:] == ["txs"]:
            rec = next((b for b in chain if b.hash == parts[1]), None)
            if rec is None:
                return Response("Block not found", status=404)
            return Response(json.dumps(coinbase_json(rec)), content_type="application/json")
        return Response("unknown path", status=404)


def sync_regtest(
    store: str | Path,
    url: str,
    *,
    flavor: str = "mempool",
    from_height: int | None = None,
    to_height: int | None = None,
    trust_anchor: bool | None = None,
    batch_size: int = 144,
    now: Callable[[], float] | None = None,
    policy: RetryPolicy | None = None,
) -> ChainSyncReport:
    """Sync the regtest chain served at ``url`` into the DuckDB store at ``store``.

    With no ``from_height``, a store whose highest row lies below the served chain's first block
    (empty, or cut below it) starts at that block: height 0 syncs from genesis; any other first
    block becomes the trusted anchor (``--trust-anchor``) and is stored with the rest. A store
    that already reaches into the served chain continues from its tip.

    Parameters
    ----------
    store : str or Path
        DuckDB file (created and migrated if absent).
    url : str
        API root of an :class:`EsploraRegtestServer`.
    flavor : {'mempool', 'esplora'}
        ``mempool``: fees from ``extras.totalFees``; ``esplora``: fees from the coinbase.
    from_height, to_height : int, optional
        As :func:`hashdesk.store.chainsync.sync_chain`.
    trust_anchor : bool, optional
        Default: True exactly when the automatic start needs an anchor.
    batch_size : int
        Blocks per committed transaction.
    now : callable, optional
        Clock for the future-time check [unix s] (default: the real clock).
    policy : RetryPolicy, optional
        HTTP policy (default: 10 s deadline, no retries).

    Returns
    -------
    ChainSyncReport
    """
    from hashdesk.store import Store
    from hashdesk.store.chainsync import stored_tip

    path = Path(store)
    with Store(path) as s:  # create and migrate
        top = stored_tip(s)
    client = HttpClient(url, policy or RetryPolicy(timeout_s=10.0, max_retries=0))
    source = EsploraSource(client, flavor=flavor)
    try:
        if from_height is None:
            first = _first_served_height(source)
            if top is None or top < first:  # start at the served chain, anchored on its first block
                from_height = 0 if first == 0 else first + 1
                if trust_anchor is None:
                    trust_anchor = first != 0
        kw = {"now": now} if now is not None else {}
        return sync_chain(path, source, params=REGTEST, from_height=from_height,
                          to_height=to_height, batch_size=batch_size,
                          trust_anchor=bool(trust_anchor), **kw)
    finally:
        client.close()


def _first_served_height(source: EsploraSource) -> int:
    """Lowest height the server has (walks down pages from its tip)."""
    lowest = lo = source.tip_height()
    while True:
        heights = [b["height"] for b in source.client.get_json(f"/blocks/{lo}")]
        if not heights:
            return lowest
        lowest = min(heights)
        if lowest == 0 or len(heights) < 10:
            return lowest
        lo = lowest - 1
