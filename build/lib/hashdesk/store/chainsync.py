"""Validated, incremental, resumable writes of per-block rows from a live chain source.

Every block is checked before it is written, as the bundle ingest checks headers: the 80-byte
header must hash to the block's id, satisfy its proof of work, link to its parent, carry the bits
the consensus rule demands (``next_work_required`` at multiples of 2016, else the parent's bits),
and have a time above the median of the previous 11 and at most 2 h in the future. Rows are
committed one batch per transaction, so an interrupted sync resumes from the last stored height.

**The store is opened only while it is used.** Sync reads what it needs through short read-only
opens, fetches and validates with no connection held, and opens the writer only to commit a
validated batch (:class:`StoreAccess`). DuckDB allows one writing process and no readers beside
it, so readers (``serve``, ``info``, ``network``) can open the store between batches; a writer
that finds the file locked waits up to ``lock_wait_s`` for readers to finish.

**Reorgs by the rules.** When the source's hash at a stored height differs from the stored one
(checked at the stored tip before extending, at the link of every fetched batch, and for every
stored row a ranged re-sync revisits), sync finds the last common block ``F`` and fetches the
source's competing branch above it without touching the store. The branch must pass every check
above from ``F`` on, and carry strictly more cumulative work than all stored rows above ``F``
that it would replace (at most ``max_reorg_depth`` of them, all written by sync: bundle rows are
reference history and are never replaced). Only then are the old rows deleted and the branch
written, in one transaction, with ``rollback`` and ``reorg`` events. A branch that fails a
check or carries no more work changes nothing: a ``reorg-rejected`` event is logged and
:class:`ReorgRejectedError` raised (the CLI exits with status 2).

**Anchor rule.** The first new block needs a trusted parent at ``start − 1`` (the anchor):

1. a stored row with a hash (written by an earlier sync or a bitcoinj epoch header) is trusted;
2. a stored bundle row without a hash (``btc_block_times``) takes its hash from Electrum's
   epoch-end checkpoint when it has one, otherwise the source's header at that height is fetched
   and accepted only if its proof of work holds *and* its time and bits equal the stored row's;
3. no stored row (empty store, or a gap): the source's header is accepted only with
   ``trust_anchor=True`` (CLI ``--trust-anchor``) and after its proof of work is checked; the
   acceptance is recorded in ``event_log`` (kind ``anchor``). Its ancestry is not verified.

A fetched anchor row is written in the same transaction as the first batch. A retarget check
needs the time of the previous epoch's first block; when neither the store nor the blocks
validated so far have it, that header is fetched and used after checking its PoW and bits.

References
----------
.. [1] Bitcoin Core ``src/validation.cpp`` (``ContextualCheckBlockHeader``: bits, median time
   past, ``MAX_FUTURE_BLOCK_TIME`` = 7,200 s; ``FindMostWorkChain``: a branch replaces the active
   chain only with more cumulative work) and ``src/pow.cpp``.
.. [2] DuckDB, "Concurrency": one process may write; read-only processes may share the file
   when no process writes.
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

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
from hashdesk.sources.base import BlockRecord, ChainSource, MalformedResponseError
from hashdesk.store.db import Store, StoreError

#: Blocks whose times give the median time past.
MTP_SPAN = 11
#: Largest allowed lead of a header time over the local clock [s].
MAX_FUTURE_BLOCK_TIME_S = 2 * 60 * 60
#: Display hash of "no parent" (genesis' prev_hash).
ZERO_HASH = "0" * 64
#: How long a writer (or reader) waits for another process's lock on the store [s].
LOCK_WAIT_S = 30.0
_BLOCK_COLS = ["height", "hash", "prev_hash", "merkle_root", "version", "time", "bits", "nonce",
               "chainwork_hex", "fees_sats", "tx_count", "header_hex", "source", "load_id"]


class SyncError(RuntimeError):
    """Sync cannot proceed safely (no anchor, reorg too deep, conflict with bundle data)."""


class ReorgRejectedError(SyncError):
    """A source's competing branch failed validation or carried no more work; nothing changed."""


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
#: Networks by name (``hashdesk sync --network``).
NETWORKS = {"main": MAINNET, "regtest": REGTEST}


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
    """A branch switch done by sync: the stored rows above ``fork_height`` were replaced.

    Attributes
    ----------
    fork_height : int
        Last block common to the stored chain and the source's.
    rolled_back : int
        Stored rows above the fork that were deleted.
    old_tip_hash : str
        Hash of the highest of those rows [display hex].
    new_tip_height : int
        Highest block of the branch written in the same transaction.
    old_work, new_work : int
        Cumulative work of the replaced rows and of the written branch [hashes]
        (``new_work > old_work``).
    """

    fork_height: int
    rolled_back: int
    old_tip_hash: str
    new_tip_height: int = -1
    old_work: int = 0
    new_work: int = 0


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


def branch_work(bits: list[int] | pd.Series) -> int:
    """Cumulative work of blocks with these bits [hashes], exact.

    Parameters
    ----------
    bits : sequence of int
        Compact targets of the blocks.

    Returns
    -------
    int
        Σ ``block_work(b)`` = Σ 2^256 // (target(b) + 1): the expected hashes to produce them.

    References
    ----------
    .. [1] Bitcoin Core ``src/chain.cpp`` (``GetBlockProof``); ``nChainWork`` is its running sum,
       and ``FindMostWorkChain`` prefers the chain with the most of it.
    """
    return sum(block_work(int(b)) for b in bits)


# ---------------------------------------------------------------------------------------------
# store access: open only while reading or writing


class StoreAccess:
    """Short-lived access to the store: a read-only open per read, a writer per committed batch.

    Parameters
    ----------
    target : Store or str or Path
        A store path (opened and closed around every use, so other processes can read between
        batches; created and migrated on first use if absent), or an open
        :class:`~hashdesk.store.db.Store`, used as it is (the caller then holds its connection
        throughout: convenient in one process, but it keeps the lock).
    lock_wait_s : float
        How long an open waits while another process holds a conflicting lock [s].
    """

    def __init__(self, target: Store | str | Path, lock_wait_s: float = LOCK_WAIT_S):
        self._store = target if isinstance(target, Store) else None
        self.path = target.path if isinstance(target, Store) else Path(target)
        self.lock_wait_s = lock_wait_s
        self.opens = {"read": 0, "write": 0}

    @classmethod
    def of(cls, target: Store | str | Path | StoreAccess, lock_wait_s: float = LOCK_WAIT_S
           ) -> StoreAccess:
        """``target`` itself when it is already a :class:`StoreAccess`, else a new one."""
        return target if isinstance(target, StoreAccess) else cls(target, lock_wait_s)

    def _open(self, read_only: bool) -> Store:
        deadline = time.monotonic() + self.lock_wait_s
        delay = 0.02
        while True:
            try:
                if read_only and not self.path.exists():  # a writer's first read: create it
                    Store(self.path).close()
                return Store(self.path, read_only=read_only)
            except StoreError as exc:
                if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    @contextmanager
    def read(self) -> Iterator[Store]:
        """The store opened read-only for the enclosed reads (closed afterwards)."""
        self.opens["read"] += 1
        if self._store is not None:
            yield self._store
            return
        store = self._open(read_only=True)
        try:
            yield store
        finally:
            store.close()

    @contextmanager
    def write(self) -> Iterator[Store]:
        """The store opened for writing for the enclosed transaction (closed afterwards)."""
        self.opens["write"] += 1
        if self._store is not None:
            yield self._store
            return
        store = self._open(read_only=False)
        try:
            yield store
        finally:
            store.close()


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


def _recent_times(store: Store, height: int) -> list[int]:
    """Times of the contiguous stored run ending at ``height`` (at most 11 blocks), oldest first."""
    df = store.df("SELECT height, time FROM blocks WHERE height BETWEEN ? AND ? ORDER BY height",
                  [int(height) - MTP_SPAN + 1, int(height)])
    out: list[int] = []
    want = int(height)
    for h, t in zip(reversed(df.height.tolist()), reversed(df.time.tolist()), strict=True):
        if int(h) != want:
            break
        out.append(int(t))
        want -= 1
    return out[::-1]


def find_fork(access: StoreAccess | Store, source: ChainSource, height: int, max_depth: int) -> int:
    """Highest height ≤ ``height`` whose stored hash the source still has on its best chain.

    Rows without a hash (bundle times) and missing rows end the walk: they are below anything
    sync wrote (or below its anchor). One request per step down.

    Raises
    ------
    ReorgRejectedError
        If no common block is found within ``max_depth`` blocks (logged; nothing changed).
    """
    access = StoreAccess.of(access)
    with access.read() as s:
        df = s.df("SELECT height, hash FROM blocks WHERE height BETWEEN ? AND ?",
                  [int(height) - int(max_depth), int(height)])
    stored = {int(h): (None if pd.isna(x) else x) for h, x in zip(df.height, df.hash, strict=True)}
    h = int(height)
    while h >= 0 and height - h <= max_depth:
        if stored.get(h) is None:
            return h
        if source.block_hash(h) == stored[h]:
            return h
        h -= 1
    raise _refuse(access, f"{source.name} ({source.url}) disagrees with every stored block from "
                          f"{height} down to {h + 1}: reorg deeper than {max_depth} blocks; refusing "
                          "to roll back; the store is unchanged")


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


@dataclass
class Anchor:
    """The trusted parent of the first new block, why it is trusted, and its row to write."""

    point: ChainPoint
    why: str
    record: BlockRecord | None = None


def resolve_anchor(
    access: StoreAccess | Store, source: ChainSource, height: int, params: ChainParams,
    trust_anchor: bool,
) -> Anchor:
    """The trusted parent at ``height`` for the first new block (see the module's anchor rule).

    Reads only; a header fetched from the source comes back in ``record`` for the caller to
    write with its first batch.

    Returns
    -------
    Anchor
    """
    access = StoreAccess.of(access)
    if height < 0:
        return Anchor(ChainPoint(-1, ZERO_HASH, 0, params.genesis_bits, 0), "genesis (no parent)")
    with access.read() as s:
        row = _row(s, height)
        cp = checkpoint_hash(s, height) if row is not None and not row["hash"] else None
    if row is not None and row["hash"]:
        return Anchor(_point(row, row["hash"]), f"stored block {height} ({row['source']})")
    if row is not None and row["bits"] is not None and cp:
        return Anchor(_point(row, cp), f"bundle block {height} with Electrum checkpoint hash")
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
    return Anchor(ChainPoint(height, rec.hash, rec.time, rec.bits, None), why, rec)


class _Validator:
    """Validates consecutive blocks from a trusted parent, carrying MTP times and chainwork."""

    def __init__(self, access: StoreAccess, source: ChainSource, params: ChainParams,
                 parent: ChainPoint, now: Callable[[], float]):
        self.access, self.source, self.params, self.now = access, source, params, now
        self.prev = parent
        with access.read() as s:
            times = _recent_times(s, parent.height) if parent.height >= 0 else []
        if not times:
            times = [parent.time] if parent.height >= 0 else []
        self.times: deque[int] = deque(times, maxlen=MTP_SPAN)
        self.seen: dict[int, int] = {}  # height → time of blocks validated here

    def _epoch_first_time(self, height: int) -> int | None:
        if self.params.no_retargeting or height % RETARGET_INTERVAL or height == 0:
            return None
        first = height - RETARGET_INTERVAL
        if first in self.seen:
            return self.seen[first]
        with self.access.read() as s:
            t = s.scalar("SELECT time FROM blocks WHERE height = ?", [first])
            if t is None:
                t = s.scalar("SELECT start_time FROM epochs WHERE first_height = ?", [first])
        if t is not None:
            return int(t)
        (rec,) = self.source.blocks(first, first)
        _check_standalone(rec, self.params)
        if rec.bits != self.prev.bits:
            raise ChainValidationError(first, "bits", "epoch's first block disagrees with its last")
        return rec.time

    def check(self, recs: list[BlockRecord]) -> list[int | None]:
        """Validate ``recs`` in order from the current parent; return their chainworks."""
        out: list[int | None] = []
        for rec in recs:
            mtp = sorted(self.times)[MTP_SPAN // 2] if len(self.times) == MTP_SPAN else None
            eft = self._epoch_first_time(rec.height)
            validate_block(rec, self.prev, eft, self.params, mtp, int(self.now()))
            p = self.prev
            cw = p.chainwork + block_work(rec.bits) if p.chainwork is not None else None
            out.append(cw)
            self.seen[rec.height] = rec.time
            self.times.append(rec.time)
            self.prev = ChainPoint(rec.height, rec.hash, rec.time, rec.bits, cw)
        return out


def _fetch(source: ChainSource, lo: int, hi: int) -> list[BlockRecord]:
    recs = source.blocks(lo, hi)
    if len(recs) != hi - lo + 1 or [r.height for r in recs] != list(range(lo, hi + 1)):
        raise ChainValidationError(lo, "height", f"source returned heights other than {lo}..{hi}")
    return recs


def _upsert(
    store: Store, recs: list[BlockRecord], chainworks: list[int | None], source: ChainSource,
    label: str,
) -> int:
    """Write validated rows inside the caller's transaction (bundle rows must agree; they are
    enriched). A synced row with another hash means the store changed under us: refuse."""
    con = store.con
    lo, hi = recs[0].height, recs[-1].height
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
                raise SyncError(f"block {rec.height} changed in the store while this batch was "
                                "validated (another sync?); nothing written; run sync again")
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


def _check_parent(store: Store, parent: ChainPoint, anchor_written: bool) -> None:
    """Inside a write: the parent the batch was validated against is still stored."""
    if parent.height < 0 or anchor_written:
        return
    row = _row(store, parent.height)
    if row is None:
        raise SyncError(f"block {parent.height} left the store while the next batch was validated "
                        "(another sync?); nothing written; run sync again")
    if row["hash"] is not None and row["hash"] != parent.hash:
        raise SyncError(f"block {parent.height} changed in the store while the next batch was "
                        "validated (another sync?); nothing written; run sync again")


def _write_batch(
    access: StoreAccess, recs: list[BlockRecord], chainworks: list[int | None], parent: ChainPoint,
    source: ChainSource, label: str, anchor: Anchor | None = None,
) -> int:
    """One transaction: the anchor row (when fetched) and a validated batch."""
    with access.write() as s, s.transaction():
        _check_parent(s, parent, anchor is not None and anchor.record is not None)
        if anchor is not None and anchor.record is not None:
            _upsert(s, [anchor.record], [None], source, f"anchor {anchor.record.height}")
            _log(s, "anchor", f"height {anchor.record.height} hash {anchor.record.hash}: {anchor.why}")
        return _upsert(s, recs, chainworks, source, label)


# ---------------------------------------------------------------------------------------------
# branch switch


def _refuse(access: StoreAccess, message: str) -> ReorgRejectedError:
    """Log a refused branch (``event_log`` kind ``reorg-rejected``) and return the error."""
    with access.write() as s, s.transaction():
        _log(s, "reorg-rejected", message)
    return ReorgRejectedError(message)


def _reject(access: StoreAccess, source: ChainSource, fork: int, old: pd.DataFrame,
            reason: str) -> ReorgRejectedError:
    tip = f"tip {int(old.height.iloc[-1])} ({old.hash.iloc[-1]})" if len(old) else "no rows above it"
    return _refuse(access, f"{source.name} ({source.url}) reports a chain that leaves the stored "
                           f"one above height {fork}, but {reason}; the store is unchanged "
                           f"({len(old)} stored blocks above the fork kept, {tip})")


def adopt_branch(
    access: StoreAccess | Store,
    source: ChainSource,
    fork: int,
    *,
    params: ChainParams = MAINNET,
    max_reorg_depth: int = 144,
    batch_size: int = 144,
    now: Callable[[], float] = time.time,
) -> ReorgEvent:
    """Replace the stored rows above ``fork`` by the source's branch, if the rules allow it.

    The branch is fetched from ``fork + 1`` and validated block by block from the stored block
    at ``fork`` without touching the store, until its cumulative work exceeds that of every
    stored row above ``fork``; it may need up to ``4·n + 16`` blocks for ``n`` replaced rows (a
    retarget lowers the work per block at most fourfold) and never goes past the source's tip.
    Then, in one transaction, the old rows are deleted and the branch written.

    Parameters
    ----------
    access : StoreAccess or Store
    source : ChainSource
    fork : int
        Last height the store and the source agree on.
    params : ChainParams
    max_reorg_depth : int
        Most stored rows a switch may replace [blocks].
    batch_size : int
        Blocks per request round while fetching the branch.
    now : callable
        Clock for the future-time check [unix s].

    Returns
    -------
    ReorgEvent

    Raises
    ------
    ReorgRejectedError
        The branch fails a check, or its work is not strictly greater; logged, nothing changed.
    SyncError
        The switch would reach bundle rows, go deeper than ``max_reorg_depth``, or start at a
        block the store does not hold.
    """
    access = StoreAccess.of(access)
    with access.read() as s:
        old = s.df("SELECT height, hash, bits, source FROM blocks WHERE height > ? ORDER BY height",
                   [int(fork)])
        parent_row = _row(s, fork) if fork >= 0 else None
    if not old.source.str.startswith("sync:").all():
        first = old[~old.source.str.startswith("sync:")].iloc[0]
        raise _reject(access, source, fork, old, f"replacing the stored rows would delete bundle "
                                                 f"row {int(first.height)} ({first.source})")
    if len(old) > max_reorg_depth:
        raise _reject(access, source, fork, old, f"the reorg is deeper than {max_reorg_depth} "
                                                 f"blocks ({len(old)} stored rows above the fork)")
    if fork >= 0 and parent_row is None:
        raise _reject(access, source, fork, old, f"block {fork} is not stored (below the anchor), so "
                                                 "its branch cannot be linked; rerun with "
                                                 "--from-height and --trust-anchor")
    old_work = branch_work(old.bits)
    anchor = resolve_anchor(access, source, fork, params, trust_anchor=False)
    validator = _Validator(access, source, params, anchor.point, now)
    tip = source.tip_height()
    limit = min(tip, int(fork) + 4 * max(len(old), 1) + 16)
    branch: list[BlockRecord] = []
    works: list[int | None] = []
    new_work = 0
    h = int(fork) + 1
    try:
        while new_work <= old_work and h <= limit:
            e = min(h + batch_size - 1, limit)
            recs = _fetch(source, h, e)
            works += validator.check(recs)
            branch += recs
            new_work += branch_work([r.bits for r in recs])
            h = e + 1
    except (ChainValidationError, MalformedResponseError) as exc:
        raise _reject(access, source, fork, old, f"its branch fails validation ({exc})") from exc
    if new_work <= old_work:
        top = f"{fork + 1}..{branch[-1].height}" if branch else "(none: its tip is at the fork)"
        raise _reject(access, source, fork, old,
                      f"its branch {top} carries {new_work:,} hashes of work, not more than the "
                      f"{old_work:,} of the {len(old)} stored blocks it would replace")
    old_tip = str(old.hash.iloc[-1]) if len(old) else ""
    with access.write() as s, s.transaction() as con:
        now_old = s.df("SELECT height, hash FROM blocks WHERE height > ? ORDER BY height", [int(fork)])
        if now_old.height.tolist() != old.height.tolist() or now_old.hash.tolist() != old.hash.tolist():
            raise SyncError("the store changed while the competing branch was validated (another "
                            "sync?); nothing written; run sync again")
        _check_parent(s, anchor.point, anchor.record is not None)
        n = int(con.execute("DELETE FROM blocks WHERE height > ?", [int(fork)]).fetchone()[0])
        _log(s, "rollback", f"deleted {n} block rows above height {fork}: replaced by "
                            f"{source.name}'s heavier branch")
        if anchor.record is not None:
            _upsert(s, [anchor.record], [None], source, f"anchor {fork}")
        _upsert(s, branch, works, source, f"branch {fork + 1}-{branch[-1].height} (reorg)")
        _log(s, "reorg", f"{source.name}: stored tip {int(old.height.iloc[-1]) if len(old) else fork} "
                         f"({old_tip}) orphaned; fork at {fork}, {n} blocks rolled back, "
                         f"{len(branch)} written ({fork + 1}..{branch[-1].height}); work "
                         f"{new_work:,} > {old_work:,} hashes")
    return ReorgEvent(int(fork), n, old_tip, branch[-1].height, old_work, new_work)


def _first_differing(store: Store, recs: list[BlockRecord]) -> int | None:
    """First height of ``recs`` where a stored synced row has another hash (ranged re-sync)."""
    lo, hi = recs[0].height, recs[-1].height
    df = store.df("SELECT height, hash FROM blocks WHERE height BETWEEN ? AND ? AND hash IS NOT NULL "
                  "AND source LIKE 'sync:%' ORDER BY height", [lo, hi])
    by_h = {r.height: r.hash for r in recs}
    for h, hsh in zip(df.height.tolist(), df.hash.tolist(), strict=True):
        if by_h[int(h)] != hsh:
            return int(h)
    return None


# ---------------------------------------------------------------------------------------------
# the sync loop


def sync_chain(
    store: Store | str | Path | StoreAccess,
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
    lock_wait_s: float = LOCK_WAIT_S,
) -> ChainSyncReport:
    """Bring the ``blocks`` table up to the source's tip, validating every header.

    Parameters
    ----------
    store : str or Path or Store or StoreAccess
        The store's path (preferred: it is opened read-only for reads and for writing only while
        a validated batch is committed), or an open writable store (held throughout).
    source : ChainSource
        Esplora/mempool REST or Bitcoin Core RPC.
    params : ChainParams
        Consensus parameters (mainnet; regtest for local test chains).
    from_height : int, optional
        First height to (re)sync; default: one above the highest stored height.
    to_height : int, optional
        Last height to sync; default: the source's tip. A branch switch may write past it (the
        blocks needed to show the branch carries more work).
    batch_size : int
        Blocks per request round and per committed transaction.
    trust_anchor : bool
        Accept the source's header at ``start − 1`` when the store has none (anchor rule 3).
    max_reorg_depth : int
        Most stored rows a branch switch may replace [blocks].
    progress : callable, optional
        ``progress(blocks_done, blocks_total)`` after each batch.
    now : callable
        Clock for the future-time check [unix s].
    lock_wait_s : float
        How long an open waits for another process's lock [s].

    Returns
    -------
    ChainSyncReport

    Raises
    ------
    ReorgRejectedError
        The source's competing branch failed validation or carried no more work (logged;
        nothing changed).
    SyncError, ChainValidationError, hashdesk.sources.base.SourceError
        Nothing of the failing batch is written; earlier batches stay committed.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    access = StoreAccess.of(store, lock_wait_s)
    tip = source.tip_height()
    target = tip if to_height is None else min(int(to_height), tip)
    reorgs: list[ReorgEvent] = []
    switch = {"params": params, "max_reorg_depth": max_reorg_depth, "batch_size": batch_size,
              "now": now}
    with access.read() as s:
        top = stored_tip(s)
        top_row = _row(s, min(top, tip)) if top is not None else None
    if from_height is None:
        if top is None:
            raise SyncError("the store has no blocks: give a start height (--from-height N); with an "
                            "empty store also --trust-anchor (see docs/sources.md, anchor rule)")
        start = top + 1
        if top_row is not None and top_row["hash"] and source.block_hash(top_row["height"]) != top_row["hash"]:
            fork = find_fork(access, source, int(top_row["height"]), max_reorg_depth)
            ev = adopt_branch(access, source, fork, **switch)
            reorgs.append(ev)
            start = ev.new_tip_height + 1
    else:
        start = int(from_height)
    anchor = resolve_anchor(access, source, start - 1, params, trust_anchor)
    report = ChainSyncReport(source.name, source.url, start, target, anchor=anchor.why, reorgs=reorgs)
    report.blocks_written = sum(ev.new_tip_height - ev.fork_height for ev in reorgs)
    validator = _Validator(access, source, params, anchor.point, now)
    total = max(0, target - start + 1)
    pending_anchor: Anchor | None = anchor
    h = start
    while h <= target:
        e = min(h + batch_size - 1, target)
        recs = _fetch(source, h, e)
        parent = validator.prev
        fork = None
        if recs[0].prev_hash != parent.hash and parent.height >= 0:
            fork = find_fork(access, source, parent.height, max_reorg_depth)
            if fork >= parent.height:  # our parent is still on the source's chain: a bad batch
                raise ChainValidationError(h, "link", f"prev_hash {recs[0].prev_hash} is not the "
                                                      f"stored parent's hash {parent.hash}")
        else:
            with access.read() as s:
                differ = _first_differing(s, recs)
            if differ is not None:
                fork = differ - 1
        if fork is not None:
            ev = adopt_branch(access, source, fork, **switch)
            reorgs.append(ev)
            report.blocks_written += ev.new_tip_height - ev.fork_height
            with access.read() as s:
                tip_row = _row(s, ev.new_tip_height)
            validator = _Validator(access, source, params, _point(tip_row, tip_row["hash"]), now)
            pending_anchor = None
            total += ev.new_tip_height - h + 1
            h = ev.new_tip_height + 1
            continue
        chainworks = validator.check(recs)
        report.blocks_written += _write_batch(access, recs, chainworks, parent, source,
                                              f"blocks {h}-{e}", pending_anchor)
        pending_anchor = None
        report.batches += 1
        h = e + 1
        if progress:
            progress(report.blocks_written, total)
    with access.write() as s, s.transaction():
        _log(s, "sync", f"{source.name} {source.url}: heights {start}..{target}, "
                        f"{report.blocks_written} blocks written, {len(reorgs)} reorgs; anchor: "
                        f"{anchor.why}")
    return report
