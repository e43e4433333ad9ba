"""Validated, incremental, resumable writes of per-block rows from a live chain source.

Every block is checked before it is written, as the bundle ingest checks headers: the 80-byte
header must hash to the block's id, satisfy its proof of work, link to its parent, carry the bits
the consensus rule demands (``next_work_required`` at multiples of 2016, else the parent's bits),
and have a time above the median of the previous 11 and at most 2 h in the future. Rows are
committed one batch per transaction, so an interrupted sync resumes from the last stored height.

Before extending, the stored tip is compared with the source's block at that height; if the
source's chain no longer contains it (a reorg), the orphaned rows are rolled back to the last
common block, the event is written to ``event_log`` (kinds ``reorg`` and ``rollback``) and the
sync continues from there on the new branch.

**Anchor rule.** The first new block needs a trusted parent at ``start − 1`` (the anchor):

1. a stored row with a hash (written by an earlier sync or a bitcoinj epoch header) is trusted;
2. a stored bundle row without a hash (``btc_block_times``) takes its hash from Electrum's
   epoch-end checkpoint when it has one, otherwise the source's header at that height is fetched
   and accepted only if its proof of work holds *and* its time and bits equal the stored row's;
3. no stored row (empty store, or a gap): the source's header is accepted only with
   ``trust_anchor=True`` (CLI ``--trust-anchor``) and after its proof of work is checked; the
   acceptance is recorded in ``event_log`` (kind ``anchor``). Its ancestry is not verified.

A retarget check needs the time of the previous epoch's first block; when neither the store nor
the current batch has it, that header is fetched and used after checking its PoW and bits.

References
----------
.. [1] Bitcoin Core ``src/validation.cpp`` (``ContextualCheckBlockHeader``: bits, median time
   past, ``MAX_FUTURE_BLOCK_TIME`` = 7,200 s) and ``src/pow.cpp``.
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from hashdesk.chain.consensus import (
    POW_LIMIT,
    POW_LIMIT_BITS,
    RETARGET_INTERVAL,
    block_work,
    check_proof_of_work,
    decode_compact,
    next_work_required,
)
from hashdesk.chain.headers import HeaderError, parse_header
from hashdesk.sources.base import BlockRecord, ChainSource
from hashdesk.store.db import Store

#: Blocks whose times give the median time past.
MTP_SPAN = 11
#: Largest allowed lead of a header time over the local clock [s].
MAX_FUTURE_BLOCK_TIME_S = 2 * 60 * 60
#: Display hash of "no parent" (genesis' prev_hash).
ZERO_HASH = "0" * 64
_BLOCK_COLS = ["height", "hash", "prev_hash", "merkle_root", "version", "time", "bits", "nonce",
               "chainwork_hex", "fees_sats", "tx_count", "header_hex", "source", "load_id"]


class SyncError(RuntimeError):
    """Sync cannot proceed safely (no anchor, reorg too deep, conflict with bundle data)."""


class ChainValidationError(ValueError):
    """A block from a source failed a consensus check; nothing of its batch is written."""

    def __init__(self, height: int, check: str, message: str):
        self.height, self.check = height, check
        super().__init__(f"block {height}: {check}: {message}")


@dataclass(frozen=True)
class ChainParams:
    """The consensus parameters the validator needs.

    Attributes
    ----------
    name : str
        Network name.
    pow_limit : int
        Easiest allowed target.
    genesis_bits : int
        Bits of block 0.
    no_retargeting : bool
        True on regtest (``fPowNoRetargeting``): bits never change.
    """

    name: str
    pow_limit: int
    genesis_bits: int
    no_retargeting: bool = False


#: Bitcoin mainnet.
MAINNET = ChainParams("main", POW_LIMIT, POW_LIMIT_BITS)
#: Bitcoin Core regtest (``powLimit`` 0x7fff…ff, bits 0x207fffff, no retargeting).
REGTEST = ChainParams("regtest", (1 << 255) - 1, 0x207FFFFF, no_retargeting=True)


@dataclass(frozen=True)
class ChainPoint:
    """A validated block as far as its children need it: height, hash, time [unix s], bits."""

    height: int
    hash: str
    time: int
    bits: int
    chainwork: int | None = None


@dataclass(frozen=True)
class ReorgEvent:
    """A reorg handled by sync: blocks above ``fork_height`` were replaced."""

    fork_height: int
    rolled_back: int
    old_tip_hash: str


@dataclass
class ChainSyncReport:
    """Outcome of :func:`sync_chain`."""

    source: str
    url: str
    start_height: int
    target_height: int
    blocks_written: int = 0
    batches: int = 0
    anchor: str = ""
    reorgs: list[ReorgEvent] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# pure checks


def pow_ok(block_hash: str, bits: int, params: ChainParams = MAINNET) -> bool:
    """Proof of work under ``params``: Core's ``CheckProofOfWork`` with the network's powLimit."""
    if params.pow_limit == POW_LIMIT:
        return check_proof_of_work(block_hash, bits)
    target, negative, overflow = decode_compact(bits)
    if negative or overflow or target == 0 or target > params.pow_limit:
        return False
    return int(block_hash, 16) <= target


def expected_bits(
    height: int, prev: ChainPoint, epoch_first_time: int | None, params: ChainParams = MAINNET
) -> int:
    """Bits the consensus rule requires at ``height`` (mainnet: no min-difficulty exception).

    Parameters
    ----------
    height : int
        Height of the new block.
    prev : ChainPoint
        Its parent (height − 1).
    epoch_first_time : int or None
        Header time at ``height − 2016`` [unix s]; needed only when ``height % 2016 == 0``.
    params : ChainParams

    Returns
    -------
    int
        ``next_work_required(prev.bits, t(h−2016), t(h−1))`` at a retarget, else ``prev.bits``.
    """
    if height == 0:
        return params.genesis_bits
    if params.no_retargeting or height % RETARGET_INTERVAL:
        return prev.bits
    if epoch_first_time is None:
        raise ChainValidationError(height, "bits", "retarget needs the time of block height-2016")
    return next_work_required(prev.bits, epoch_first_time, prev.time)


def validate_block(
    rec: BlockRecord,
    prev: ChainPoint,
    epoch_first_time: int | None,
    params: ChainParams = MAINNET,
    median_time_past: int | None = None,
    now_unix: int | None = None,
) -> None:
    """Check one block against its parent; raise :class:`ChainValidationError` naming the check.

    Checks: height follows the parent; the raw header parses, hashes to ``rec.hash`` and agrees
    with the decoded fields; proof of work; link to the parent's hash; bits per
    :func:`expected_bits`; time > median time past (when given); time ≤ now + 2 h (when given).
    """
    h = rec.height
    if h != prev.height + 1:
        raise ChainValidationError(h, "height", f"does not follow parent height {prev.height}")
    try:
        hdr = parse_header(bytes.fromhex(rec.header_hex))
    except (ValueError, HeaderError) as exc:
        raise ChainValidationError(h, "header", str(exc)) from exc
    fields = {"hash": hdr.hash, "prev_hash": hdr.prev_hash, "merkle_root": hdr.merkle_root,
              "version": hdr.version, "time": hdr.time, "bits": hdr.bits, "nonce": hdr.nonce}
    for name, val in fields.items():
        if getattr(rec, name) != val:
            raise ChainValidationError(h, "header", f"field {name} disagrees with the raw header")
    if not pow_ok(rec.hash, rec.bits, params):
        raise ChainValidationError(
            h, "proof-of-work", f"hash {rec.hash} above the target of bits 0x{rec.bits:08x}")
    if rec.prev_hash != prev.hash:
        raise ChainValidationError(
            h, "link", f"prev_hash {rec.prev_hash} is not the parent's hash {prev.hash}")
    want = expected_bits(h, prev, epoch_first_time, params)
    if rec.bits != want:
        raise ChainValidationError(h, "bits", f"0x{rec.bits:08x}, consensus requires 0x{want:08x}")
    if median_time_past is not None and rec.time <= median_time_past:
        raise ChainValidationError(h, "time", f"{rec.time} not above median time past {median_time_past}")
    if now_unix is not None and rec.time > now_unix + MAX_FUTURE_BLOCK_TIME_S:
        raise ChainValidationError(h, "time", f"{rec.time} more than 2 h in the future")


# ---------------------------------------------------------------------------------------------
# store access


def _row(store: Store, height: int) -> dict | None:
    df = store.df("SELECT height, hash, prev_hash, time, bits, chainwork_hex, source FROM blocks "
                  "WHERE height = ?", [int(height)])
    if df.empty:
        return None
    r = df.iloc[0]
    return {k: (None if pd.isna(v) else v) for k, v in r.items()}


def _point(row: dict, hash_: str) -> ChainPoint:
    cw = row.get("chainwork_hex")
    return ChainPoint(int(row["height"]), hash_, int(row["time"]), int(row["bits"]),
                      int(cw, 16) if cw else None)


def _log(store: Store, kind: str, message: str) -> None:
    store.con.execute("INSERT INTO event_log VALUES (?, ?, ?)",
                      [int(time.time()), kind, message]).fetchall()


def stored_tip(store: Store) -> int | None:
    """Highest stored block height (any source), or None for an empty table."""
    v = store.scalar("SELECT max(height) FROM blocks")
    return None if v is None else int(v)


def checkpoint_hash(store: Store, height: int) -> str | None:
    """Electrum's hash for ``height`` when it is the last block of an epoch (``epochs`` table)."""
    if height % RETARGET_INTERVAL != RETARGET_INTERVAL - 1:
        return None
    return store.scalar("SELECT last_block_hash FROM epochs WHERE last_height = ?", [int(height)])


def rollback_blocks(store: Store, from_height: int, reason: str) -> int:
    """Delete synced rows at heights ≥ ``from_height`` (one transaction), logging ``rollback``.

    Raises
    ------
    SyncError
        If any row in that range came from a bundle (sync never rewrites reference history).
    """
    with store.transaction() as con:
        n_bundle = con.execute(
            "SELECT count(*) FROM blocks WHERE height >= ? AND source NOT LIKE 'sync:%'",
            [int(from_height)]).fetchone()[0]
        if n_bundle:
            raise SyncError(f"rollback from {from_height} would delete {n_bundle} bundle rows; refusing")
        n = con.execute("DELETE FROM blocks WHERE height >= ?", [int(from_height)]).fetchone()[0]
        _log(store, "rollback", f"deleted {n} block rows from height {from_height}: {reason}")
    return int(n)


def find_fork(store: Store, source: ChainSource, height: int, max_depth: int) -> int:
    """Highest height ≤ ``height`` whose stored hash the source still has on its best chain.

    Rows without a hash (bundle times) end the walk: they are below anything sync wrote.

    Raises
    ------
    SyncError
        If no common block is found within ``max_depth`` blocks.
    """
    h = int(height)
    while h >= 0 and height - h <= max_depth:
        row = _row(store, h)
        if row is None or row["hash"] is None:
            return h
        if source.block_hash(h) == row["hash"]:
            return h
        h -= 1
    raise SyncError(f"reorg deeper than {max_depth} blocks below height {height}; refusing to roll back")


def handle_reorg(
    store: Store, source: ChainSource, tip_height: int, max_depth: int
) -> ReorgEvent | None:
    """If the stored tip left the source's best chain, roll back to the fork and log ``reorg``."""
    fork = find_fork(store, source, tip_height, max_depth)
    if fork >= tip_height:
        return None
    old = _row(store, tip_height)
    n = rollback_blocks(store, fork + 1, f"reorg detected against {source.name}")
    ev = ReorgEvent(fork, n, old["hash"] if old else "")
    with store.transaction():
        _log(store, "reorg", f"{source.name}: stored tip {tip_height} ({ev.old_tip_hash}) orphaned; "
                             f"fork at {fork}, {n} blocks rolled back, re-syncing from {fork + 1}")
    return ev


def resolve_anchor(
    store: Store, source: ChainSource, height: int, params: ChainParams, trust_anchor: bool
) -> tuple[ChainPoint, str]:
    """The trusted parent at ``height`` for the first new block (see the module's anchor rule).

    Returns
    -------
    (ChainPoint, str)
        The anchor and a one-line description of why it is trusted.
    """
    if height < 0:
        return ChainPoint(-1, ZERO_HASH, 0, params.genesis_bits, 0), "genesis (no parent)"
    row = _row(store, height)
    if row is not None and row["hash"]:
        return _point(row, row["hash"]), f"stored block {height} ({row['source']})"
    if row is not None and row["bits"] is not None and (cp := checkpoint_hash(store, height)):
        return _point(row, cp), f"bundle block {height} with Electrum checkpoint hash"
    if row is None and not trust_anchor:
        raise SyncError(
            f"no stored block at height {height} to link to: rerun with --trust-anchor to accept "
            f"{source.name}'s header at {height} as the anchor (its PoW is checked, its ancestry is not)"
        )
    (rec,) = source.blocks(height, height)
    _check_standalone(rec, params)
    if row is not None:
        if row["time"] != rec.time or (row["bits"] is not None and row["bits"] != rec.bits):
            raise SyncError(
                f"{source.name}'s block {height} (time {rec.time}, bits 0x{rec.bits:08x}) disagrees "
                f"with the stored bundle row (time {row['time']}); not a safe anchor"
            )
        why = f"{source.name} header {height} matching the bundle's time and bits"
    else:
        why = f"{source.name} header {height} trusted by --trust-anchor"
    _write_rows(store, [rec], [None], source, f"anchor {height}")
    with store.transaction():
        _log(store, "anchor", f"height {height} hash {rec.hash}: {why}")
    return ChainPoint(height, rec.hash, rec.time, rec.bits, None), why


def _check_standalone(rec: BlockRecord, params: ChainParams) -> None:
    """Header self-consistency and PoW of a block checked without its parent."""
    try:
        hdr = parse_header(bytes.fromhex(rec.header_hex))
    except (ValueError, HeaderError) as exc:
        raise ChainValidationError(rec.height, "header", str(exc)) from exc
    if hdr.hash != rec.hash or hdr.bits != rec.bits or hdr.time != rec.time:
        raise ChainValidationError(rec.height, "header", "fields disagree with the raw header")
    if not pow_ok(rec.hash, rec.bits, params):
        raise ChainValidationError(rec.height, "proof-of-work", f"hash {rec.hash} above target")


def _recent_times(store: Store, height: int) -> deque:
    """Times of blocks ``height−10..height`` when all are stored (for median time past)."""
    df = store.df("SELECT time FROM blocks WHERE height BETWEEN ? AND ? ORDER BY height",
                  [int(height) - MTP_SPAN + 1, int(height)])
    return deque(df["time"].astype(int).tolist(), maxlen=MTP_SPAN)


def _epoch_first_time(
    store: Store, source: ChainSource, height: int, batch_times: dict[int, int], prev: ChainPoint,
    params: ChainParams,
) -> int | None:
    if params.no_retargeting or height % RETARGET_INTERVAL or height == 0:
        return None
    first = height - RETARGET_INTERVAL
    if first in batch_times:
        return batch_times[first]
    t = store.scalar("SELECT time FROM blocks WHERE height = ?", [first])
    if t is None:
        t = store.scalar("SELECT start_time FROM epochs WHERE first_height = ?", [first])
    if t is not None:
        return int(t)
    (rec,) = source.blocks(first, first)
    _check_standalone(rec, params)
    if rec.bits != prev.bits:
        raise ChainValidationError(first, "bits", "epoch's first block disagrees with its last")
    return rec.time


def _write_rows(
    store: Store, recs: list[BlockRecord], chainworks: list[int | None], source: ChainSource,
    label: str,
) -> int:
    """Upsert validated rows in one transaction (bundle rows must agree; they are enriched)."""
    lo, hi = recs[0].height, recs[-1].height
    with store.transaction() as con:
        load_id = store.next_load_id()
        old = store.df("SELECT height, hash, time, bits, chainwork_hex, source FROM blocks "
                       "WHERE height BETWEEN ? AND ?", [lo, hi]).set_index("height")
        rows = []
        for rec, cw in zip(recs, chainworks, strict=True):
            cw_hex = f"{cw:024x}" if cw is not None else None
            if rec.height in old.index:
                o = old.loc[rec.height]
                if not str(o["source"]).startswith("sync:"):
                    bad = [n for n, a, b in (("time", o["time"], rec.time), ("bits", o["bits"], rec.bits),
                                             ("hash", o["hash"], rec.hash)) if pd.notna(a) and a != b]
                    if bad:
                        raise SyncError(f"{source.name}'s block {rec.height} disagrees with the stored "
                                        f"bundle row ({o['source']}) on {', '.join(bad)}")
                elif pd.notna(o["hash"]) and o["hash"] != rec.hash:
                    _log(store, "reorg", f"{source.name}: block {rec.height} replaced "
                                         f"({o['hash']} -> {rec.hash}) by a ranged re-sync")
                if cw_hex is None and pd.notna(o["chainwork_hex"]) and o["hash"] == rec.hash:
                    cw_hex = o["chainwork_hex"]
            rows.append({**rec.__dict__, "chainwork_hex": cw_hex, "source": f"sync:{source.name}",
                         "load_id": load_id})
        df = pd.DataFrame(rows)[_BLOCK_COLS]
        con.execute("DELETE FROM blocks WHERE height BETWEEN ? AND ?", [lo, hi]).fetchall()
        con.register("_sync_blocks", df)
        try:
            con.execute(f"INSERT INTO blocks SELECT {', '.join(_BLOCK_COLS)} FROM _sync_blocks").fetchall()
        finally:
            con.unregister("_sync_blocks")
        digest = hashlib.sha256("".join(r.header_hex for r in recs).encode()).hexdigest()
        con.execute("INSERT INTO loads VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [load_id, f"sync:{source.name}", f"{source.name} {label}", source.url, digest,
                     len(recs), len(recs), int(time.time())]).fetchall()
    return len(recs)


# ---------------------------------------------------------------------------------------------
# the sync loop


def sync_chain(
    store: Store,
    source: ChainSource,
    *,
    params: ChainParams = MAINNET,
    from_height: int | None = None,
    to_height: int | None = None,
    batch_size: int = 144,
    trust_anchor: bool = False,
    max_reorg_depth: int = 144,
    progress: Callable[[int, int], None] | None = None,
    now: Callable[[], float] = time.time,
) -> ChainSyncReport:
    """Bring the ``blocks`` table up to the source's tip, validating every header.

    Parameters
    ----------
    store : Store
        Writable store.
    source : ChainSource
        Esplora/mempool REST or Bitcoin Core RPC.
    params : ChainParams
        Consensus parameters (mainnet; regtest for local test chains).
    from_height : int, optional
        First height to (re)sync; default: one above the highest stored height.
    to_height : int, optional
        Last height to sync; default: the source's tip.
    batch_size : int
        Blocks per request round and per committed transaction.
    trust_anchor : bool
        Accept the source's header at ``start − 1`` when the store has none (anchor rule 3).
    max_reorg_depth : int
        Deepest reorg rolled back automatically [blocks].
    progress : callable, optional
        ``progress(blocks_done, blocks_total)`` after each batch.
    now : callable
        Clock for the future-time check [unix s].

    Returns
    -------
    ChainSyncReport

    Raises
    ------
    SyncError, ChainValidationError, hashdesk.sources.base.SourceError
        Nothing of the failing batch is written; earlier batches stay committed.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    tip = source.tip_height()
    target = tip if to_height is None else min(int(to_height), tip)
    reorgs: list[ReorgEvent] = []
    if from_height is None:
        top = stored_tip(store)
        if top is None:
            raise SyncError("the store has no blocks: give a start height (--from-height N); with an "
                            "empty store also --trust-anchor (see docs/sources.md, anchor rule)")
        if (ev := handle_reorg(store, source, min(top, tip), max_reorg_depth)) is not None:
            reorgs.append(ev)
        start = (ev.fork_height if ev else top) + 1
    else:
        start = int(from_height)
    prev, why = resolve_anchor(store, source, start - 1, params, trust_anchor)
    report = ChainSyncReport(source.name, source.url, start, target, anchor=why, reorgs=reorgs)
    times = _recent_times(store, prev.height)
    total = max(0, target - start + 1)
    h = start
    while h <= target:
        e = min(h + batch_size - 1, target)
        recs = source.blocks(h, e)
        if len(recs) != e - h + 1 or [r.height for r in recs] != list(range(h, e + 1)):
            raise ChainValidationError(h, "height", f"source returned heights other than {h}..{e}")
        if recs[0].prev_hash != prev.hash and prev.height >= 0:
            ev = handle_reorg(store, source, prev.height, max_reorg_depth)
            if ev is None:  # our parent is still on the source's chain: the batch is inconsistent
                raise ChainValidationError(h, "link", f"prev_hash {recs[0].prev_hash} is not the "
                                                      f"stored parent's hash {prev.hash}")
            reorgs.append(ev)
            prev, _ = resolve_anchor(store, source, ev.fork_height, params, False)
            times = _recent_times(store, prev.height)
            h = ev.fork_height + 1
            total += ev.rolled_back
            continue
        batch_times: dict[int, int] = {}
        chainworks: list[int | None] = []
        p = prev
        for rec in recs:
            mtp = sorted(times)[len(times) // 2] if len(times) == MTP_SPAN else None
            eft = _epoch_first_time(store, source, rec.height, batch_times, p, params)
            validate_block(rec, p, eft, params, mtp, int(now()))
            cw = p.chainwork + block_work(rec.bits) if p.chainwork is not None else None
            chainworks.append(cw)
            batch_times[rec.height] = rec.time
            times.append(rec.time)
            p = ChainPoint(rec.height, rec.hash, rec.time, rec.bits, cw)
        report.blocks_written += _write_rows(store, recs, chainworks, source, f"blocks {h}-{e}")
        report.batches += 1
        prev = p
        h = e + 1
        if progress:
            progress(report.blocks_written, total)
    _unlink_stale_above(store, prev)
    with store.transaction():
        _log(store, "sync", f"{source.name} {source.url}: heights {start}..{target}, "
                            f"{report.blocks_written} blocks written, {len(reorgs)} reorgs; anchor: {why}")
    return report


def _unlink_stale_above(store: Store, last: ChainPoint) -> None:
    """After a ranged re-sync, drop synced rows above it that no longer link (old branch)."""
    row = store.df("SELECT prev_hash FROM blocks WHERE height = ?", [last.height + 1])
    if row.empty or pd.isna(row.prev_hash.iloc[0]) or row.prev_hash.iloc[0] == last.hash:
        return
    rollback_blocks(store, last.height + 1, f"rows above {last.height} linked to an orphaned branch")
