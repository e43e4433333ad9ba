"""Esplora-compatible REST chain source (blockstream.info, mempool.space, self-hosted).

Endpoints used (paths relative to the configured base URL, e.g. ``https://mempool.space/api``):

- ``GET /blocks/tip/height`` → plain-text height;
- ``GET /block-height/:height`` → plain-text block hash;
- ``GET /blocks/:start_height`` → JSON list of the 10 blocks ``start_height, start_height-1, …``
  (flavor ``esplora``), or mempool's ``GET /v1/blocks/:start_height`` → 15 blocks with an
  ``extras`` object holding ``totalFees`` [sats] (flavor ``mempool``);
- ``GET /block/:hash/txs`` → the first 25 transactions; the coinbase's outputs minus the subsidy
  give the fees claimed by the miner (flavor ``esplora`` only, when ``fees=True``).

Each block object carries every header field (``version``, ``previousblockhash``,
``merkle_root``, ``timestamp``, ``bits``, ``nonce``); the 80-byte header is rebuilt from them and
its double SHA-256 must equal the object's ``id`` — so a tampered or malformed body is caught
before any consensus check.

References
----------
.. [1] Blockstream, Esplora HTTP API, ``API.md`` (github.com/Blockstream/esplora).
.. [2] mempool.space REST API documentation, "GET Blocks (v1)" (``extras.totalFees``).
"""

from __future__ import annotations

from typing import Any

from hashdesk.chain.consensus import block_subsidy
from hashdesk.chain.headers import header_hash, serialize_header
from hashdesk.sources.base import (
    BlockRecord,
    HttpClient,
    MalformedResponseError,
    check_block_extras,
    parse_hex,
    parse_int_text,
    require,
)

#: Blocks returned per page by ``/blocks/:h`` (esplora) and ``/v1/blocks/:h`` (mempool).
PAGE_SIZE = {"esplora": 10, "mempool": 15}
#: Default public base URLs per flavor.
DEFAULT_URLS = {"esplora": "https://blockstream.info/api", "mempool": "https://mempool.space/api"}
#: Body caps per endpoint [bytes]: a plain-text height or hash; a page of 10/15 block objects
#: (about 1-2 KB each); a page of 25 transactions (large consolidations reach a few MB).
MAX_TEXT_BYTES = 1024
MAX_PAGE_BYTES = 2**20
MAX_TXS_BYTES = 16 * 2**20
_ZERO_HASH = "0" * 64


def block_from_json(obj: Any, where: str) -> BlockRecord:
    """Turn one esplora/mempool block object into a :class:`BlockRecord`.

    The header is re-serialised from the fields and must hash to ``id``.

    Parameters
    ----------
    obj : dict
        Block object as documented by esplora (``id``, ``height``, ``version``, ``timestamp``,
        ``bits``, ``nonce``, ``merkle_root``, ``previousblockhash``, ``tx_count``) and optionally
        mempool's ``extras.totalFees`` [sats].
    where : str
        Masked URL for error messages.

    Raises
    ------
    MalformedResponseError
        On a missing/mistyped field or when the fields do not hash to ``id``.
    """
    block_id = parse_hex(require(obj, "id", str, where), 32, f"{where} id")
    height = require(obj, "height", int, where)
    version = require(obj, "version", int, where)
    timestamp = require(obj, "timestamp", int, where)
    bits = require(obj, "bits", int, where)
    nonce = require(obj, "nonce", int, where)
    merkle = parse_hex(require(obj, "merkle_root", str, where), 32, f"{where} merkle_root")
    prev_raw = obj.get("previousblockhash")
    prev = _ZERO_HASH if prev_raw is None and height == 0 else parse_hex(
        prev_raw, 32, f"{where} previousblockhash"
    )
    tx_count = require(obj, "tx_count", int, where)
    for name, val, hi in (("version", version, 2**31), ("timestamp", timestamp, 2**32),
                          ("bits", bits, 2**32), ("nonce", nonce, 2**32)):
        lo = -(2**31) if name == "version" else 0
        if not lo <= val < hi:
            raise MalformedResponseError(f"{where}: field '{name}' out of range: {val}")
    raw = serialize_header(version, prev, merkle, timestamp, bits, nonce)
    if header_hash(raw) != block_id:
        raise MalformedResponseError(
            f"{where}: header fields of block {height} hash to {header_hash(raw)}, not its id {block_id}"
        )
    fees = None
    extras = obj.get("extras")
    if extras is not None:
        fees = require(extras, "totalFees", int, f"{where} extras")
    check_block_extras(fees, tx_count, f"{where} block {height}")
    return BlockRecord(height, block_id, prev, merkle, version, timestamp, bits, nonce, raw.hex(),
                       fees_sats=fees, tx_count=tx_count)


def coinbase_fees_sats(txs: Any, height: int, where: str) -> int | None:
    """Fees claimed by a block's coinbase: Σ coinbase outputs − subsidy [sats].

    Returns None when the coinbase claims less than the subsidy (a miner may under-claim; the
    true fee total is then unknown from the coinbase alone).

    Raises
    ------
    MalformedResponseError
        If the first transaction is missing or is not a coinbase.
    """
    if not isinstance(txs, list) or not txs:
        raise MalformedResponseError(f"{where}: expected a non-empty list of transactions")
    cb = txs[0]
    vin = require(cb, "vin", list, where)
    if not vin or not isinstance(vin[0], dict) or vin[0].get("is_coinbase") is not True:
        raise MalformedResponseError(f"{where}: first transaction is not the coinbase")
    total = 0
    for i, out in enumerate(require(cb, "vout", list, where)):
        total += require(out, "value", int, f"{where} vout[{i}]")
    fees = total - block_subsidy(height)
    return fees if fees >= 0 else None


class EsploraSource:
    """Chain source over an esplora-compatible REST API.

    Parameters
    ----------
    client : HttpClient
        HTTP client whose base URL is the API root (e.g. ``https://blockstream.info/api``).
    flavor : {'esplora', 'mempool'}
        ``mempool`` uses mempool.space's ``/v1/blocks`` (15 blocks a page, exact
        ``extras.totalFees``); ``esplora`` uses ``/blocks`` (10 a page).
    fees : bool
        For flavor ``esplora``: fetch each block's coinbase to derive its fees (one more request
        per block). Ignored for ``mempool``, which always reports fees.
    """

    def __init__(self, client: HttpClient, flavor: str = "esplora", fees: bool = True):
        if flavor not in PAGE_SIZE:
            raise ValueError(f"flavor must be one of {sorted(PAGE_SIZE)}, got {flavor!r}")
        self.client = client
        self.flavor = flavor
        self.name = flavor
        self.url = client.masked_url
        self.fees = fees

    def tip_height(self) -> int:
        """Best-chain height (``/blocks/tip/height``)."""
        text = self.client.get_text("/blocks/tip/height", max_bytes=MAX_TEXT_BYTES)
        return parse_int_text(text, f"{self.url}/blocks/tip/height")

    def block_hash(self, height: int) -> str:
        """Hash at ``height`` on the best chain (``/block-height/:height``)."""
        path = f"/block-height/{int(height)}"
        return parse_hex(self.client.get_text(path, max_bytes=MAX_TEXT_BYTES), 32, self.url + path)

    def _page(self, top: int) -> list[Any]:
        path = f"/v1/blocks/{top}" if self.flavor == "mempool" else f"/blocks/{top}"
        body = self.client.get_json(path, max_bytes=MAX_PAGE_BYTES)
        if not isinstance(body, list):
            raise MalformedResponseError(f"{self.url}{path}: expected a JSON list of blocks")
        return body

    def blocks(self, start: int, stop: int) -> list[BlockRecord]:
        """Blocks ``start..stop`` (inclusive, ascending), a page of 10/15 per request."""
        out: dict[int, BlockRecord] = {}
        page = PAGE_SIZE[self.flavor]
        lo = int(start)
        while lo <= stop:
            top = min(lo + page - 1, int(stop))
            where = f"{self.url}/blocks/{top}"
            for obj in self._page(top):
                rec = block_from_json(obj, where)
                if lo <= rec.height <= top:
                    out[rec.height] = rec
            missing = [h for h in range(lo, top + 1) if h not in out]
            if missing:
                raise MalformedResponseError(f"{where}: page lacks heights {missing[:5]}")
            lo = top + 1
        recs = [out[h] for h in range(int(start), int(stop) + 1)]
        if self.flavor == "esplora" and self.fees:
            recs = [self._with_coinbase_fees(r) for r in recs]
        return recs

    def _with_coinbase_fees(self, rec: BlockRecord) -> BlockRecord:
        path = f"/block/{rec.hash}/txs"
        txs = self.client.get_json(path, max_bytes=MAX_TXS_BYTES)
        fees = coinbase_fees_sats(txs, rec.height, self.url + path)
        check_block_extras(fees, None, self.url + path)
        return BlockRecord(**{**rec.__dict__, "fees_sats": fees})
