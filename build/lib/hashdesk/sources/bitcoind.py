"""Bitcoin Core JSON-RPC chain source (``getblockhash``, ``getblockheader``, ``getblockstats``).

Authentication is either the node's cookie file (``<datadir>/.cookie``, holding
``__cookie__:<password>``) or an explicit user/password (``rpcauth``/``rpcuser``); the password
never appears in a log or error (see :class:`hashdesk.sources.base.Secret`). Calls for a range of
heights go out as JSON-RPC batches: one batch of ``getblockhash``, one of ``getblockheader``
(verbose=false → the raw 80-byte header as hex) and one of ``getblockstats`` with the fields
``totalfee`` [sats] and ``txs``. ``getblockstats`` needs the block's undo data, so it fails on a
pruned node for pruned blocks; those rows are stored without fees.

References
----------
.. [1] Bitcoin Core RPC documentation: ``getblockhash``, ``getblockheader``, ``getblockstats``,
   ``getblockcount`` (bitcoincore.org/en/doc).
.. [2] Bitcoin Core ``doc/JSON-RPC-interface.md`` (batches, HTTP status of errors, cookie auth).
"""

from __future__ import annotations

from itertools import count
from pathlib import Path
from typing import Any

from hashdesk.chain.headers import HeaderError, parse_header
from hashdesk.sources.base import (
    BlockRecord,
    ConfigError,
    HttpClient,
    MalformedResponseError,
    NotFoundError,
    Secret,
    SourceError,
    check_block_extras,
    check_private_file,
    decode_json,
    parse_hex,
    require,
)

#: Default RPC endpoint of a local mainnet node.
DEFAULT_URL = "http://127.0.0.1:8332"
#: Body cap of a JSON-RPC batch reply: a fixed allowance plus this much per call [bytes] (a raw
#: header is 160 hex characters, a ``getblockstats`` reply with two fields under 100 bytes).
BATCH_BASE_BYTES = 64 * 1024
BATCH_PER_CALL_BYTES = 4096


class RpcError(SourceError):
    """An RPC call returned an ``error`` object (``code`` is Core's ``RPCErrorCode``)."""

    def __init__(self, method: str, code: int, message: str):
        self.method, self.code = method, code
        super().__init__(f"bitcoind {method}: RPC error {code}: {message}")


def read_cookie(path: str | Path) -> tuple[str, Secret]:
    """Read a Bitcoin Core cookie file ``user:password`` (refusing group/world-readable files).

    Raises
    ------
    ConfigError
        If the file is missing, unsafe or malformed.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise ConfigError(f"cookie file {p} does not exist (is bitcoind running with this datadir?)")
    check_private_file(p)
    text = p.read_text(encoding="utf-8").strip()
    if ":" not in text:
        raise ConfigError(f"cookie file {p} is not of the form user:password")
    user, password = text.split(":", 1)
    return user, Secret(password)


class BitcoindSource:
    """Chain source over Bitcoin Core's JSON-RPC.

    Parameters
    ----------
    client : HttpClient
        Client whose base URL is the RPC endpoint and whose ``auth`` carries the credentials
        (build it with :func:`bitcoind_client`).
    stats : bool
        Call ``getblockstats`` for fees and transaction counts (set False on pruned nodes).
    """

    name = "bitcoind"

    def __init__(self, client: HttpClient, stats: bool = True):
        self.client = client
        self.url = client.masked_url
        self.stats = stats
        self._ids = count(1)

    def _post(self, payload: Any) -> Any:
        # Batches are answered with HTTP 200 and per-call error objects; a 404 means a wrong URL.
        calls = len(payload) if isinstance(payload, list) else 1
        cap = BATCH_BASE_BYTES + BATCH_PER_CALL_BYTES * calls
        try:
            r = self.client.request("POST", "", json=payload, max_bytes=cap)
        except NotFoundError as exc:
            raise SourceError(f"{self.url}: no JSON-RPC endpoint here ({exc})") from exc
        return decode_json(r, self.url)

    def call(self, method: str, *params: Any) -> Any:
        """One RPC call; returns ``result`` or raises :class:`RpcError`."""
        return self.batch([(method, list(params))])[0]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """A JSON-RPC batch; returns the results in call order, raising on the first error."""
        if not calls:
            return []
        ids = [next(self._ids) for _ in calls]
        payload = [{"jsonrpc": "1.0", "id": i, "method": m, "params": p}
                   for i, (m, p) in zip(ids, calls, strict=True)]
        body = self._post(payload)
        if not isinstance(body, list):
            raise MalformedResponseError(f"{self.url}: expected a JSON-RPC batch reply (a list)")
        by_id = {}
        for item in body:
            if not isinstance(item, dict) or "id" not in item:
                raise MalformedResponseError(f"{self.url}: batch item without id: {str(item)[:80]}")
            by_id[item["id"]] = item
        out = []
        for i, (method, _) in zip(ids, calls, strict=True):
            item = by_id.get(i)
            if item is None:
                raise MalformedResponseError(f"{self.url}: no reply for {method} (id {i})")
            err = item.get("error")
            if err:
                code = err.get("code", 0) if isinstance(err, dict) else 0
                msg = err.get("message", str(err)) if isinstance(err, dict) else str(err)
                raise RpcError(method, int(code), str(msg))
            out.append(item.get("result"))
        return out

    def tip_height(self) -> int:
        """``getblockcount``."""
        h = self.call("getblockcount")
        if isinstance(h, bool) or not isinstance(h, int):
            raise MalformedResponseError(f"{self.url}: getblockcount returned {h!r}")
        return h

    def block_hash(self, height: int) -> str:
        """``getblockhash height``."""
        return parse_hex(self.call("getblockhash", int(height)), 32, f"{self.url} getblockhash")

    def blocks(self, start: int, stop: int) -> list[BlockRecord]:
        """Blocks ``start..stop`` via three batches (hashes, raw headers, stats)."""
        heights = list(range(int(start), int(stop) + 1))
        hashes = [parse_hex(h, 32, f"{self.url} getblockhash({ht})")
                  for h, ht in zip(self.batch([("getblockhash", [h]) for h in heights]), heights,
                                   strict=True)]
        raws = self.batch([("getblockheader", [h, False]) for h in hashes])
        stats: list[Any] = [None] * len(heights)
        if self.stats:
            stats = self.batch([("getblockstats", [h, ["totalfee", "txs"]]) for h in hashes])
        out = []
        for ht, bh, raw_hex, st in zip(heights, hashes, raws, stats, strict=True):
            where = f"{self.url} getblockheader({bh})"
            try:
                hdr = parse_header(bytes.fromhex(parse_hex(raw_hex, 80, where)))
            except HeaderError as exc:
                raise MalformedResponseError(f"{where}: {exc}") from exc
            if hdr.hash != bh:
                raise MalformedResponseError(f"{where}: header hashes to {hdr.hash}, not {bh}")
            fees = txs = None
            if st is not None:
                fees = require(st, "totalfee", int, f"{self.url} getblockstats({ht})")
                txs = require(st, "txs", int, f"{self.url} getblockstats({ht})")
                check_block_extras(fees, txs, f"{self.url} getblockstats({ht})")
            out.append(BlockRecord(ht, hdr.hash, hdr.prev_hash, hdr.merkle_root, hdr.version,
                                   hdr.time, hdr.bits, hdr.nonce, hdr.raw.hex(), fees, txs))
        return out


def bitcoind_auth(
    user: str | None = None, password: str | None = None, cookie: str | Path | None = None
) -> tuple[str, str]:
    """Basic-auth pair from a cookie file or user/password (cookie wins when both are given).

    Raises
    ------
    ConfigError
        If neither is usable.
    """
    if cookie:
        u, p = read_cookie(cookie)
        return u, p.value
    if user and password:
        pw = password.value if isinstance(password, Secret) else str.__str__(password)
        return str(user), pw
    raise ConfigError(
        "bitcoind needs credentials: --cookie PATH (or HASHDESK_BITCOIND_COOKIE), or "
        "HASHDESK_BITCOIND_USER and HASHDESK_BITCOIND_PASSWORD, or the sources config file"
    )
