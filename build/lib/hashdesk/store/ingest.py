"""Validate and load data bundles into the store: all checks first, then one transaction.

Each reader turns one bundle file into :class:`Batch` objects (rows for one table) after
validating it; any problem raises :class:`IngestError` naming file, row and field. Only when
every file of the bundle has passed does :func:`ingest_bundle` write, in one transaction, and
only rows whose key is not yet stored (so re-ingesting adds nothing).

CSV files are read in chunks of :data:`CHUNK_ROWS` rows, each chunk checked before the next is
read, so a bad row near the top of a large file is reported without parsing the rest. Numbers
must be finite and inside the physical or documented bounds below (a price of ``inf`` or
``1e400``, a height of ``1e23`` or a block time in 2100 are errors, not data); dates may not
lie after the load day. Files that are not UTF-8, raw files of the wrong shape and directories
where a file belongs are refused the same way: never a traceback.

The reader for each file handles that file's caveats from the bundle's ``SOURCES.md``.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hashdesk.chain.consensus import (
    POW_LIMIT_BITS,
    RETARGET_INTERVAL,
    decode_compact,
    difficulty,
    encode_compact,
    next_work_required,
)
from hashdesk.chain.headers import HeaderError, parse_header, verify_header
from hashdesk.store.db import Store

# ---------------------------------------------------------------------------------------------
# physical and documented bounds: a value outside them is an error, never data

#: BTC-USD prices: 0 < price < 10 million USD (the bundle's highest close is about 125,000).
MAX_BTC_PRICE_USD = 1e7
#: Equity and ETF prices: 0 < price < 1 million USD a share (the bundle's highest is about 611).
MAX_EQUITY_PRICE_USD = 1e6
#: Daily volume [shares or BTC]: 0 <= volume < 1e13.
MAX_VOLUME = 1e13
#: Hashrate (network estimates and miners' reports) [EH/s]: 0 <= h < 100,000 (about 100 times
#: the 2025 network).
MAX_HASHRATE_EHS = 1e5
#: BTC a miner reports mined in one month: 0 <= btc < 100,000 (the whole network issues
#: about 14,000 a month since 2024).
MAX_BTC_MINED_PER_MONTH = 1e5
#: BTC that can ever exist (21 million): bounds supply, holdings and daily fees/issuance [BTC].
MAX_BTC = 21e6
#: Block heights: integers 0 <= h < 100 million (the chain is below 1 million).
MAX_HEIGHT = 100_000_000
#: Earliest block time: the genesis block's header time [unix s].
GENESIS_TIME = 1_231_006_505
#: A block time may lead the load time by at most this much (Bitcoin Core's
#: ``MAX_FUTURE_BLOCK_TIME``) [s].
MAX_FUTURE_BLOCK_TIME_S = 7_200
#: Money amounts in reference tables (contracts, revenue, capex) [USD]: 0 <= x < 1e13.
MAX_USD = 1e13
#: Mining-device catalogue: hashrate 0 < h < 100,000 TH/s, power 0 < p < 1 MW, and efficiency
#: 1 <= e <= 10,000 J/TH (every SHA-256 ASIC ever sold lies within; the 2020 table spans 30-257).
MAX_DEVICE_TH = 1e5
MAX_DEVICE_W = 1e6
DEVICE_J_PER_TH = (1.0, 1e4)
#: Largest integer a float64 holds exactly: integer columns beyond it are refused.
MAX_EXACT_INT = 2**53
#: Rows per chunk when reading a CSV (each chunk is validated before the next is read).
CHUNK_ROWS = 50_000
_NON_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


def plain(value: Any) -> str:
    """A value as a plain number or text for error messages (no ``np.int64(…)`` reprs).

    Examples
    --------
    >>> plain(np.int64(818594)), plain(np.float64(2.5)), plain((np.int64(1), "a"))
    ('818594', '2.5', '(1, a)')
    """
    if isinstance(value, tuple | list):
        return "(" + ", ".join(plain(v) for v in value) + ")"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


class IngestError(ValueError):
    """A bundle file failed validation. ``row`` is the 1-based line number in the file."""

    def __init__(self, file: str, row: int | None, field: str | None, message: str):
        self.file, self.row, self.field, self.message = file, row, field, message
        where = file
        if row is not None:
            where += f", row {row}"
        if field:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")


@dataclass
class Batch:
    """Validated rows for one table, with the key that makes loading idempotent."""

    table: str
    key: list[str]
    df: pd.DataFrame


@dataclass
class FileResult:
    """What one bundle file contributed."""

    source: str
    path: str
    sha256: str
    rows_read: int
    batches: list[Batch] = field(default_factory=list)
    rows_added: int = 0


@dataclass
class IngestReport:
    """Outcome of one :func:`ingest_bundle` call."""

    files: list[FileResult]
    skipped: list[str]

    @property
    def rows_added(self) -> int:
        """Total rows written by this ingest."""
        return sum(f.rows_added for f in self.files)


@dataclass(frozen=True)
class LoadTime:
    """When a load happens: dates after ``day`` and block times after ``unix + 2 h`` are refused.

    Attributes
    ----------
    unix : int
        Load instant [unix s].
    """

    unix: int

    @property
    def day(self) -> date:
        """The load day (UTC)."""
        return datetime.fromtimestamp(self.unix, UTC).date()

    @property
    def latest_block_time(self) -> int:
        """Latest acceptable block header time [unix s]: load instant + 7,200 s."""
        return self.unix + MAX_FUTURE_BLOCK_TIME_S

    @classmethod
    def now(cls) -> LoadTime:
        """The current instant."""
        return cls(int(time.time()))


# ---------------------------------------------------------------------------------------------
# reading files


def sha256_file(path: Path) -> str:
    """SHA-256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _utf8_problem(path: Path, name: str) -> IngestError:
    """Locate the first line that is not UTF-8 (streaming) and name its line and CSV column."""
    header: list[str] | None = None
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                col = raw[: exc.start].count(b",")
                fld = header[col].strip() if header and col < len(header) else None
                return IngestError(name, lineno, fld, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} "
                                                      f"at character {exc.start + 1} of the line)")
            if header is None:
                header = next(csv.reader([text]), [])
    return IngestError(name, None, None, "not UTF-8 text")


def read_text(path: Path, name: str) -> str:
    """A whole (small) text file as UTF-8, or :class:`IngestError` naming the first bad line."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _utf8_problem(path, name) from None


def read_json(path: Path, name: str) -> Any:
    """A JSON file (UTF-8), or :class:`IngestError` naming the line of the first problem."""
    text = read_text(path, name)
    try:
        return json.loads(text, parse_constant=lambda c: float(c))
    except json.JSONDecodeError as exc:
        raise IngestError(name, exc.lineno, None, f"invalid JSON: {exc.msg}") from exc
    except RecursionError as exc:
        raise IngestError(name, None, None, "invalid JSON: nested too deeply") from exc


def _csv_header(path: Path, name: str) -> list[str]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            first = fh.readline()
    except UnicodeDecodeError:
        raise _utf8_problem(path, name) from None
    if not first.strip():
        raise IngestError(name, 1, None, "empty file: no header row")
    return [c.strip() for c in next(csv.reader([first]))]


def iter_csv(path: Path, name: str, chunk_rows: int = CHUNK_ROWS) -> Iterable[tuple[int, pd.DataFrame]]:
    """Yield ``(first_line, chunk)`` of a CSV read as strings, ``chunk_rows`` rows at a time.

    ``first_line`` is the 1-based file line of the chunk's first row (the header is line 1).
    Column names are stripped. Undecodable bytes and malformed lines raise :class:`IngestError`.
    """
    first_line = 2
    try:
        reader = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[],
                             encoding="utf-8-sig", chunksize=chunk_rows)
        for chunk in reader:
            chunk.columns = [str(c).strip() for c in chunk.columns]
            yield first_line, chunk
            first_line += len(chunk)
    except UnicodeDecodeError:
        raise _utf8_problem(path, name) from None
    except pd.errors.EmptyDataError:
        return
    except pd.errors.ParserError as exc:
        raise IngestError(name, None, None, f"cannot parse CSV: {exc}") from exc


def read_csv_strict(path: Path, expected: Iterable[str], name: str | None = None) -> pd.DataFrame:
    """Read a whole CSV as strings and check its header against ``expected`` columns exactly.

    Prefer :func:`read_table`, which converts and checks values chunk by chunk.

    Raises
    ------
    IngestError
        On unreadable files, missing or unknown columns.
    """
    name = name or path.name
    expected = list(expected)
    _check_columns(_csv_header(path, name), expected, name, allow_extra=False)
    parts = [c for _, c in iter_csv(path, name)]
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=expected)
    return df[expected]


def _check_columns(cols: list[str], expected: list[str], name: str, allow_extra: bool) -> None:
    missing = [c for c in expected if c not in cols]
    if missing:
        raise IngestError(name, 1, missing[0], f"missing column(s) {missing}")
    unknown = [c for c in cols if c not in expected and c != "" and not c.startswith("Unnamed")]
    if unknown and not allow_extra:
        raise IngestError(name, 1, unknown[0], f"unknown column(s) {unknown}")


# ---------------------------------------------------------------------------------------------
# column specs: each converts a chunk's strings and reports its first bad row


def _first(mask: np.ndarray) -> int | None:
    idx = np.flatnonzero(mask)
    return int(idx[0]) if len(idx) else None


@dataclass(frozen=True)
class Num:
    """A numeric column: finite, optionally integral, within ``ge``/``gt`` .. ``le``/``lt``."""

    integer: bool = False
    required: bool = True
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    unit: str = ""

    def bounds_text(self) -> str:
        """The allowed range in words, e.g. ``> 0 and < 1e+07``."""
        parts = []
        for op, v in ((">=", self.ge), (">", self.gt), ("<=", self.le), ("<", self.lt)):
            if v is not None:
                parts.append(f"{op} {plain(int(v) if float(v).is_integer() and abs(v) < 1e15 else v)}")
        return " and ".join(parts) + (f" {self.unit}" if self.unit else "")

    def convert(self, s: pd.Series, load: LoadTime) -> tuple[pd.Series, tuple[int, str] | None]:
        """Parse; return the values and the first problem ``(index, message)`` or None."""
        s = s.astype(str).str.strip()
        raw = s.to_numpy(dtype=object)
        empty = s.eq("").to_numpy()
        num = pd.to_numeric(s.where(~s.eq(""), None), errors="coerce").astype("float64")
        v = num.to_numpy()
        nonfinite_text = s.str.lower().isin(_NON_FINITE).to_numpy()
        checks: list[tuple[np.ndarray, Callable[[int], str]]] = []
        if self.required:
            checks.append((empty, lambda i: "value is missing"))
        checks.append((nonfinite_text | np.isinf(v), lambda i: f"not a finite number: {raw[i]}"))
        checks.append((np.isnan(v) & ~empty & ~nonfinite_text,
                       lambda i: f"not a number: {raw[i]!r}"))
        ok = np.isfinite(v)
        if self.integer:
            checks.append((ok & (np.abs(v) >= MAX_EXACT_INT),
                           lambda i: f"integer too large: {raw[i]}"))
            checks.append((ok & (v != np.floor(np.where(ok, v, 0))),
                           lambda i: f"not an integer: {raw[i]}"))
        out_of_range = np.zeros(len(v), dtype=bool)
        with np.errstate(invalid="ignore"):
            if self.ge is not None:
                out_of_range |= ok & (v < self.ge)
            if self.gt is not None:
                out_of_range |= ok & (v <= self.gt)
            if self.le is not None:
                out_of_range |= ok & (v > self.le)
            if self.lt is not None:
                out_of_range |= ok & (v >= self.lt)
        checks.append((out_of_range, lambda i: f"must be {self.bounds_text()}, got {raw[i]}"))
        problem = _earliest(checks)
        out = pd.Series(v, index=s.index)
        if self.integer and problem is None:
            out = out.astype("Int64")  # exact: integral values below 2**53
        return out, problem


@dataclass(frozen=True)
class Day:
    """A date column (``fmt``), not after the load day unless ``future_ok``."""

    fmt: str = "%Y-%m-%d"
    future_ok: bool = False

    def convert(self, s: pd.Series, load: LoadTime) -> tuple[pd.Series, tuple[int, str] | None]:
        """Parse; return python dates and the first problem ``(index, message)`` or None."""
        raw = s.astype(str).str.strip()
        d = pd.to_datetime(raw, format=self.fmt, errors="coerce")
        bad = d.isna().to_numpy()
        checks = [(bad, lambda i: f"not a date ({self.fmt}): {raw.iloc[i]!r}")]
        if not self.future_ok:
            late = (~bad) & (d.dt.date > load.day).to_numpy()
            checks.append((late, lambda i: f"{raw.iloc[i]} is after the load day {load.day}"))
        return d.dt.date, _earliest(checks)


@dataclass(frozen=True)
class Text:
    """A text column kept as it is (``required``: no empty values)."""

    required: bool = False

    def convert(self, s: pd.Series, load: LoadTime) -> tuple[pd.Series, tuple[int, str] | None]:
        """Return the strings and the first empty value when required."""
        s = s.astype(str)
        if self.required:
            return s, _earliest([(s.str.strip().eq("").to_numpy(), lambda i: "value is missing")])
        return s, None


def _earliest(checks: list[tuple[np.ndarray, Callable[[int], str]]]) -> tuple[int, str] | None:
    best: tuple[int, str] | None = None
    for mask, message in checks:
        i = _first(mask)
        if i is not None and (best is None or i < best[0]):
            best = (i, message(i))
    return best


def read_table(
    path: Path,
    name: str,
    spec: dict[str, Num | Day | Text],
    load: LoadTime,
    *,
    allow_extra: bool = False,
    chunk_rows: int = CHUNK_ROWS,
) -> pd.DataFrame:
    """Read a CSV chunk by chunk, converting and checking every column of ``spec``.

    The first bad row of each chunk (over all columns) raises at once, before the next chunk is
    read: a bad row near the top of a 200 MB file is reported after parsing one chunk.

    Parameters
    ----------
    path : Path
        The CSV file (UTF-8, header row first).
    name : str
        Name used in errors (path relative to the bundle).
    spec : dict
        Column name → :class:`Num`, :class:`Day` or :class:`Text`.
    load : LoadTime
        The load instant (dates after its day are refused).
    allow_extra : bool
        Accept columns the spec does not name (they are dropped).
    chunk_rows : int
        Rows per chunk.

    Returns
    -------
    pandas.DataFrame
        The spec's columns, converted (integers as ``Int64``, floats as ``float64``, dates as
        ``datetime.date``, text as ``str``), with a fresh ``RangeIndex``.

    Raises
    ------
    IngestError
        Naming the file, the 1-based line and the column.
    """
    cols = _csv_header(path, name)
    _check_columns(cols, list(spec), name, allow_extra)
    parts = []
    for first_line, chunk in iter_csv(path, name, chunk_rows):
        out = {}
        worst: tuple[int, str, str] | None = None
        for col, sp in spec.items():
            values, problem = sp.convert(chunk[col], load)
            out[col] = values.reset_index(drop=True)
            if problem is not None and (worst is None or problem[0] < worst[0]):
                worst = (problem[0], col, problem[1])
        if worst is not None:
            raise IngestError(name, first_line + worst[0], worst[1], worst[2])
        parts.append(pd.DataFrame(out))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in spec})
    return pd.concat(parts, ignore_index=True)


def _rows(mask: np.ndarray) -> int | None:
    idx = np.flatnonzero(mask)
    return int(idx[0]) + 2 if len(idx) else None  # header is line 1


def check_unique(df: pd.DataFrame, cols: list[str], name: str) -> None:
    """Raise on the first duplicated key (values shown as plain numbers)."""
    dup = df.duplicated(subset=cols, keep="first")
    if dup.any():
        r = _rows(dup.to_numpy())
        key = tuple(df.loc[dup, cols].iloc[0].tolist())
        raise IngestError(name, r, ",".join(cols), f"duplicate key {plain(key)}")


def check_increasing(values: pd.Series, name: str, col: str, strict: bool = True) -> None:
    """Raise where a key column does not increase."""
    d = np.diff(np.asarray(values, dtype=np.int64))
    bad = (d <= 0) if strict else (d < 0)
    if bad.any():
        r = int(np.flatnonzero(bad)[0]) + 3
        raise IngestError(name, r, col, "values are not increasing")


def height_spec() -> Num:
    """Block heights: integers ``0 <= h < 10^8``."""
    return Num(integer=True, ge=0, lt=MAX_HEIGHT)


def block_time_spec(load: LoadTime) -> Num:
    """Block header times: integers from the genesis time to load instant + 2 h [unix s]."""
    return Num(integer=True, ge=GENESIS_TIME, le=load.latest_block_time, unit="unix s")


# ---------------------------------------------------------------------------------------------
# chain files


def read_electrum_targets(path: Path, load: LoadTime | None = None) -> tuple[FileResult, pd.DataFrame]:
    """Electrum epoch targets. Entry k's target applies to epoch **k+1** (SOURCES.md caveat).

    Returns the file result and an epochs frame (epoch, bits, target, last_block_hash) for epochs
    0..K+1, epoch 0 being the genesis target ``0x1d00ffff``.
    """
    load = load or LoadTime.now()
    name = path.name
    epoch_max = MAX_HEIGHT // RETARGET_INTERVAL
    df = read_table(path, name, {
        "epoch": Num(integer=True, ge=0, lt=epoch_max),
        "epoch_first_height": height_spec(),
        "epoch_last_height": height_spec(),
        "epoch_last_block_hash": Text(required=True),
        "next_epoch_first_height": height_spec(),
        "next_epoch_target_hex": Text(required=True),
        "next_epoch_difficulty": Num(gt=0),
    }, load)
    ep, first, last = df["epoch"], df["epoch_first_height"], df["epoch_last_height"]
    check_unique(df, ["epoch"], name)
    if not (ep.to_numpy() == np.arange(len(df))).all():
        raise IngestError(name, _rows(ep.to_numpy() != np.arange(len(df))), "epoch", "epochs must be 0,1,2,… without gaps")
    bad = first.to_numpy() != ep.to_numpy() * RETARGET_INTERVAL
    if bad.any():
        raise IngestError(name, _rows(bad), "epoch_first_height", "must equal epoch × 2016")
    bad = last.to_numpy() != first.to_numpy() + RETARGET_INTERVAL - 1
    if bad.any():
        raise IngestError(name, _rows(bad), "epoch_last_height", "must equal first + 2015")
    bad = df["next_epoch_first_height"].to_numpy() != last.to_numpy() + 1
    if bad.any():
        raise IngestError(name, _rows(bad), "next_epoch_first_height", "must equal last + 1")
    rows = [{"epoch": 0, "bits": POW_LIMIT_BITS, "last_block_hash": None}]
    for i, (h, target_hex) in enumerate(zip(df.epoch_last_block_hash, df.next_epoch_target_hex,
                                             strict=True)):
        line = i + 2
        h = h.strip().lower()
        if len(h) != 64 or any(c not in "0123456789abcdef" for c in h):
            raise IngestError(name, line, "epoch_last_block_hash", "not a 64-hex block hash")
        t = target_hex.strip()
        if not 0 < len(t) <= 64 or any(c not in "0123456789abcdefABCDEF" for c in t):
            raise IngestError(name, line, "next_epoch_target_hex", "not a 256-bit hex target")
        target = int(t, 16)
        if target == 0:
            raise IngestError(name, line, "next_epoch_target_hex", "target is zero")
        bits = encode_compact(target)
        if decode_compact(bits)[0] != target:
            raise IngestError(name, line, "next_epoch_target_hex", "target is not a compact-representable value")
        d, recorded = difficulty(bits), float(df.next_epoch_difficulty.iloc[i])
        if abs(d - recorded) > 1e-6 * d + 1e-6:  # printed to 6 decimals
            raise IngestError(name, line, "next_epoch_difficulty",
                              f"recorded {plain(recorded)} but the target gives {plain(d)}")
        rows[-1]["last_block_hash"] = h
        rows.append({"epoch": int(ep.iloc[i]) + 1, "bits": bits, "last_block_hash": None})
    epochs = pd.DataFrame(rows)
    res = FileResult(name, str(path), sha256_file(path), len(df))
    return res, epochs


def read_electrum_raw(path: Path, epochs: pd.DataFrame) -> FileResult:
    """Cross-check ``raw/electrum_mainnet_checkpoints.json`` against the CSV-derived epochs."""
    name = f"raw/{path.name}"
    data = read_json(path, name)
    if not isinstance(data, list):
        raise IngestError(name, None, None, "expected a JSON list of [hash, target] pairs")
    if len(data) != len(epochs) - 1:
        raise IngestError(name, None, None, f"{len(data)} entries, CSV has {len(epochs) - 1}")
    for k, entry in enumerate(data):
        if (not isinstance(entry, list) or len(entry) != 2 or not isinstance(entry[0], str)
                or isinstance(entry[1], bool) or not isinstance(entry[1], int) or entry[1] <= 0
                or entry[1] >= 2**256):
            raise IngestError(name, None, f"entry {k}", "expected [64-hex hash, positive integer "
                                                        f"target below 2^256], got {str(entry)[:80]}")
        h, target = entry
        if h != epochs.last_block_hash.iloc[k] or encode_compact(target) != epochs.bits.iloc[k + 1]:
            raise IngestError(name, None, f"entry {k}", "does not match btc_epoch_targets_electrum.csv")
    return FileResult(name, str(path), sha256_file(path), len(data))


def read_bitcoinj_headers(
    path: Path, epochs: pd.DataFrame, load: LoadTime | None = None
) -> tuple[FileResult, pd.DataFrame]:
    """Epoch-start headers: parse, PoW, link to Electrum's hashes, bits vs epoch targets."""
    load = load or LoadTime.now()
    name = path.name
    df = read_table(path, name, {
        "height": height_spec(), "block_hash": Text(required=True),
        "time": block_time_spec(load), "time_utc": Text(), "version": Text(required=True),
        "prev_hash": Text(required=True), "merkle_root": Text(required=True),
        "bits_hex": Text(required=True), "nonce": Text(required=True), "target_hex": Text(),
        "difficulty": Num(gt=0), "chainwork_hex": Text(required=True),
        "header_hex": Text(required=True),
    }, load)
    height = df["height"]
    check_unique(df, ["height"], name)
    check_increasing(height, name, "height")
    diff_col = df["difficulty"]
    by_epoch = epochs.set_index("epoch")
    out = []
    for i, r in enumerate(df.itertuples(index=False)):
        line = i + 2
        h = int(height.iloc[i])
        if h % RETARGET_INTERVAL:
            raise IngestError(name, line, "height", f"{h} is not an epoch start (multiple of 2016)")
        try:
            raw = bytes.fromhex(r.header_hex.strip())
            hdr = parse_header(raw)
        except (ValueError, HeaderError) as exc:
            raise IngestError(name, line, "header_hex", str(exc)) from exc
        expected_prev = None
        ep = h // RETARGET_INTERVAL
        if ep - 1 in by_epoch.index:
            expected_prev = by_epoch.at[ep - 1, "last_block_hash"]
        try:
            verify_header(hdr, expected_prev)
        except HeaderError as exc:
            fld = "prev_hash" if "link" in str(exc) else "header_hex"
            raise IngestError(name, line, fld, str(exc)) from exc
        checks = {
            "block_hash": hdr.hash == r.block_hash.strip().lower(),
            "time": str(hdr.time) == str(r.time),
            "prev_hash": hdr.prev_hash == r.prev_hash.strip().lower(),
            "merkle_root": hdr.merkle_root == r.merkle_root.strip().lower(),
            "bits_hex": f"{hdr.bits:08x}" == r.bits_hex.strip().lower(),
            "nonce": str(hdr.nonce) == r.nonce.strip(),
            "version": str(hdr.version) == r.version.strip(),
        }
        for fld, ok in checks.items():
            if not ok:
                raise IngestError(name, line, fld, "does not match the decoded header")
        if ep in by_epoch.index and int(by_epoch.at[ep, "bits"]) != hdr.bits:
            raise IngestError(
                name, line, "bits_hex",
                f"0x{hdr.bits:08x} disagrees with Electrum's epoch {ep} target 0x{int(by_epoch.at[ep, 'bits']):08x}",
            )
        d = difficulty(hdr.bits)
        if abs(d - diff_col.iloc[i]) > 1e-6 * d + 1e-6:
            raise IngestError(name, line, "difficulty", f"recorded {plain(diff_col.iloc[i])} but bits give {plain(d)}")
        cw = r.chainwork_hex.strip().lower()
        if not 0 < len(cw) <= 64 or any(c not in "0123456789abcdef" for c in cw):
            raise IngestError(name, line, "chainwork_hex", "not a 256-bit hex number")
        out.append(
            {
                "height": h, "hash": hdr.hash, "prev_hash": hdr.prev_hash,
                "merkle_root": hdr.merkle_root, "version": hdr.version, "time": hdr.time,
                "bits": hdr.bits, "nonce": hdr.nonce, "chainwork_hex": cw,
                "header_hex": raw.hex(),
            }
        )
    headers = pd.DataFrame(out, columns=["height", "hash", "prev_hash", "merkle_root", "version",
                                         "time", "bits", "nonce", "chainwork_hex", "header_hex"])
    return FileResult(name, str(path), sha256_file(path), len(df)), headers


def read_bitcoinj_raw(path: Path, headers: pd.DataFrame) -> FileResult:
    """Decode ``raw/bitcoinj…checkpoints.txt`` (base64, 96 bytes each) and match the CSV.

    Layout: line 1 ``TXT CHECKPOINTS 1``, line 2 the number of signatures (0), line 3 the number
    of checkpoints N, then N lines of base64.
    """
    name = f"raw/{path.name}"
    lines = [ln.strip() for ln in read_text(path, name).splitlines()]
    if not lines or lines[0] != "TXT CHECKPOINTS 1":
        raise IngestError(name, 1, None, "missing 'TXT CHECKPOINTS 1' header")
    if len(lines) < 3 or not lines[1].isdigit() or not lines[2].isdigit():
        raise IngestError(name, 2, None, "lines 2-3 must give the signature and checkpoint counts")
    n_sigs, n = int(lines[1]), int(lines[2])
    body = [ln for ln in lines[3 + n_sigs:] if ln]
    if len(body) != n or n != len(headers):
        raise IngestError(name, None, None, f"{len(body)} checkpoints (header says {n}; CSV has {len(headers)})")
    first = 4 + n_sigs
    for i, b64 in enumerate(body):
        try:
            blob = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise IngestError(name, first + i, None, f"not base64 ({exc})") from exc
        if len(blob) != 96:
            raise IngestError(name, first + i, None, f"checkpoint decodes to {len(blob)} bytes, expected 96")
        work = int.from_bytes(blob[:12], "big")
        height = int.from_bytes(blob[12:16], "big")
        if height != headers.height.iloc[i] or blob[16:].hex() != headers.header_hex.iloc[i] or work != int(
            headers.chainwork_hex.iloc[i], 16
        ):
            raise IngestError(name, first + i, None, "checkpoint does not match btc_retarget_headers_bitcoinj.csv")
    return FileResult(name, str(path), sha256_file(path), n)


def read_block_times(
    path: Path, epochs: pd.DataFrame, load: LoadTime | None = None
) -> tuple[FileResult, pd.DataFrame]:
    """Per-block header times. Checks continuity and recomputes every retarget it can.

    Header times are not monotonic (median-time-past rule), so no ordering check on ``time``.
    Bits are filled from the epoch targets (exact consensus values).
    """
    load = load or LoadTime.now()
    name = path.name
    df = read_table(path, name, {"height": height_spec(), "time": block_time_spec(load)}, load)
    height, t = df["height"], df["time"]
    check_unique(df, ["height"], name)
    check_increasing(height, name, "height")
    h = height.to_numpy(dtype=np.int64)
    tt = t.to_numpy(dtype=np.int64)
    bits_by_epoch = dict(zip(epochs.epoch.astype(int), epochs.bits.astype(int), strict=True))
    ep = h // RETARGET_INTERVAL
    missing = ~np.isin(ep, list(bits_by_epoch))
    if missing.any():
        raise IngestError(name, _rows(missing), "height", "height beyond the known epoch targets")
    bits = np.array([bits_by_epoch[e] for e in ep], dtype=np.int64)
    pos = {int(v): i for i, v in enumerate(h)}
    for i, hh in enumerate(h):
        if hh % RETARGET_INTERVAL == 0 and (hh - 2016) in pos and (hh - 1) in pos:
            got = next_work_required(
                int(bits[pos[hh - 1]]), int(tt[pos[hh - 2016]]), int(tt[pos[hh - 1]])
            )
            if got != bits[i]:
                raise IngestError(
                    name, i + 2, "time",
                    f"retarget at {hh} from these timestamps gives 0x{got:08x}, chain has 0x{bits[i]:08x}",
                )
    blocks = pd.DataFrame({"height": h, "time": tt, "bits": bits})
    return FileResult(name, str(path), sha256_file(path), len(df)), blocks


def read_mempool_difficulty(path: Path, headers: pd.DataFrame, load: LoadTime | None = None) -> FileResult:
    """mempool.space difficulty adjustments; time/difficulty checked against bitcoinj headers."""
    load = load or LoadTime.now()
    name = path.name
    df = read_table(path, name, {
        "height": height_spec(), "time": block_time_spec(load), "time_utc": Text(),
        "difficulty": Num(ge=1, lt=1e30),
        # the clamp keeps a retarget within 1/4 .. 4 (0 marks the genesis row)
        "adjustment_ratio": Num(required=False, ge=0, le=4),
    }, load)
    h, t, d, a = df["height"], df["time"], df["difficulty"], df["adjustment_ratio"]
    check_unique(df, ["height"], name)
    check_increasing(h, name, "height")
    bad = (h % RETARGET_INTERVAL != 0).to_numpy()
    if bad.any():
        raise IngestError(name, _rows(bad), "height", "not a multiple of 2016")
    hdr = headers.set_index("height")
    for i in range(len(df)):
        hh = int(h.iloc[i])
        if hh in hdr.index:
            if int(hdr.at[hh, "time"]) != int(t.iloc[i]):
                raise IngestError(name, i + 2, "time", f"disagrees with header time {plain(hdr.at[hh, 'time'])}")
            dd = difficulty(int(hdr.at[hh, "bits"]))
            if abs(dd - d.iloc[i]) > 1e-7 * dd:
                raise IngestError(name, i + 2, "difficulty", f"disagrees with bits ({plain(dd)})")
    out = pd.DataFrame({"height": h.astype("int64"), "time": t.astype("int64"), "difficulty": d, "adjustment_ratio": a})
    res = FileResult(name, str(path), sha256_file(path), len(df))
    res.batches.append(Batch("difficulty_adjustments", ["height"], out.assign(source="mempool.space")))
    return res


def read_mempool_hashrate(path: Path, load: LoadTime | None = None) -> FileResult:
    """mempool.space daily *estimated* hashrate (stored in EH/s)."""
    load = load or LoadTime.now()
    name = path.name
    df = read_table(path, name, {
        "date": Day(), "timestamp": block_time_spec(load),
        "avg_hashrate_hs": Num(ge=0, lt=MAX_HASHRATE_EHS * 1e18, unit="H/s"),
        "avg_hashrate_ehs": Num(required=False, ge=0, lt=MAX_HASHRATE_EHS, unit="EH/s"),
    }, load)
    check_unique(df, ["date"], name)
    out = pd.DataFrame({"date": df["date"], "source": "mempool.space",
                        "hashrate_ehs": df["avg_hashrate_hs"] / 1e18})
    res = FileResult(name, str(path), sha256_file(path), len(df))
    res.batches.append(Batch("hashrate_daily", ["date", "source"], out))
    return res


def read_mempool_raw(path: Path, hashrate: FileResult) -> FileResult:
    """Cross-check the raw mempool JSON's daily hashrates against the CSV (its parsed batch)."""
    name = f"raw/{path.name}"
    data = read_json(path, name)
    rates = data.get("hashrates") if isinstance(data, dict) else None
    if not isinstance(rates, list):
        raise IngestError(name, None, "hashrates", "missing list")
    csv_hs = hashrate.batches[0].df["hashrate_ehs"].to_numpy() * 1e18
    if len(rates) != len(csv_hs):
        raise IngestError(name, None, "hashrates", f"{len(rates)} entries, CSV has {len(csv_hs)}")
    for k, (r, v) in enumerate(zip(rates, csv_hs, strict=True)):
        got = r.get("avgHashrate") if isinstance(r, dict) else None
        if isinstance(got, bool) or not isinstance(got, int | float) or not math.isfinite(got):
            raise IngestError(name, None, f"hashrates[{k}].avgHashrate",
                              f"missing or not a finite number: {str(r)[:80]}")
        if abs(float(got) - float(v)) > 1e-5 * max(1.0, abs(float(v))):
            raise IngestError(name, None, f"hashrates[{k}].avgHashrate",
                              "does not match btc_daily_hashrate_mempool.csv")
    return FileResult(name, str(path), sha256_file(path), len(rates))


def read_coinmetrics(path: Path, load: LoadTime | None = None) -> FileResult:
    """Coin Metrics daily network fields (fees, issuance, blocks, price, hashrate)."""
    load = load or LoadTime.now()
    name = path.name
    btc = Num(ge=0, le=MAX_BTC, unit="BTC")
    df = read_table(path, name, {
        "date": Day(),
        "blk_cnt": Num(integer=True, ge=0, lt=10_000),
        "fee_tot_btc": btc,
        "iss_tot_btc": btc,
        "rev_tot_btc": Num(required=False, ge=0, le=MAX_BTC, unit="BTC"),
        "price_usd": Num(gt=0, lt=MAX_BTC_PRICE_USD, unit="USD"),
        "iss_tot_usd": Num(required=False, ge=0, lt=MAX_USD, unit="USD"),
        "hashrate_ths": Num(ge=0, lt=MAX_HASHRATE_EHS * 1e6, unit="TH/s"),
        "diff_mean": Num(required=False, ge=0, lt=1e30),
        "tx_cnt": Num(integer=True, ge=0, lt=1e9),
        "fee_mean_btc_per_tx": Num(required=False, ge=0, le=MAX_BTC, unit="BTC"),
        "sply_cur_btc": btc,
    }, load)
    check_unique(df, ["date"], name)
    out = pd.DataFrame(
        {
            "date": df["date"],
            "source": "coinmetrics",
            "blk_cnt": df["blk_cnt"],
            "fee_tot_btc": df["fee_tot_btc"],
            "iss_tot_btc": df["iss_tot_btc"],
            "price_usd": df["price_usd"],
            "hashrate_ehs": df["hashrate_ths"] / 1e6,
            "tx_cnt": df["tx_cnt"],
            "sply_cur_btc": df["sply_cur_btc"],
        }
    )
    d = pd.to_datetime(out["date"])
    gaps = (d.diff() != pd.Timedelta(days=1)).to_numpy()[1:]
    if gaps.any():
        raise IngestError(name, _first(gaps) + 3, "date", "days are not consecutive")
    res = FileResult(name, str(path), sha256_file(path), len(df))
    res.batches.append(Batch("network_daily", ["date", "source"], out))
    prices = pd.DataFrame(
        {"ticker": "BTC-USD", "date": out["date"], "source": "coinmetrics", "close": out["price_usd"]}
    )
    res.batches.append(Batch("prices_daily", ["ticker", "date", "source"], prices))
    return res


# ---------------------------------------------------------------------------------------------
# prices


def read_btc_blockchaincom(path: Path, load: LoadTime | None = None) -> FileResult:
    """blockchain.com MKPRU BTC-USD close. Missing dates stay missing (never forward-filled)."""
    load = load or LoadTime.now()
    name = path.name
    df = read_table(path, name, {"date": Day(),
                                 "close_usd": Num(gt=0, lt=MAX_BTC_PRICE_USD, unit="USD")}, load)
    check_unique(df, ["date"], name)
    out = pd.DataFrame({"ticker": "BTC-USD", "date": df["date"], "source": "blockchaincom_mkpru",
                        "close": df["close_usd"]})
    res = FileResult(name, str(path), sha256_file(path), len(df))
    res.batches.append(Batch("prices_daily", ["ticker", "date", "source"], out))
    return res


def check_ohlc(out: pd.DataFrame, name: str, tol: float = 1e-9, first_row: int = 2) -> None:
    """Positive prices and ``low <= min(open, close) <= max(open, close) <= high``.

    ``first_row`` is the row number of ``out``'s first row in messages (2 for a CSV with a
    header, 1 for bars of a response).
    """
    o, h, low, c = (out[k].to_numpy(dtype=float) for k in ("open", "high", "low", "close"))
    checks = [
        ("low", low > np.minimum(o, c) * (1 + tol) + tol, "low above open/close"),
        ("high", h < np.maximum(o, c) * (1 - tol) - tol, "high below open/close"),
        ("low", low > h, "low above high"),
    ]
    for fld, mask, msg in checks:
        if mask.any():
            raise IngestError(name, _first(mask) + first_row, fld, msg)


class _StockDate:
    """Stock bar dates: a timestamp (Alpaca, midnight New York in UTC) or a plain date (Yahoo)."""

    def convert(self, s: pd.Series, load: LoadTime) -> tuple[pd.Series, tuple[int, str] | None]:
        raw = s.astype(str).str.strip()
        ts = pd.to_datetime(raw, utc=True, errors="coerce", format="mixed")
        bad = ts.isna().to_numpy()
        if bad.any():
            return ts, (_first(bad), f"not a date: {raw.iloc[_first(bad)]!r}")
        # Alpaca stamps bars at midnight New York (04:00/05:00 UTC): the trading date is NY local.
        timed = raw.str.contains(":").to_numpy()
        d = pd.Series(np.where(timed, ts.dt.tz_convert("America/New_York").dt.date, ts.dt.date),
                      index=s.index)
        late = (d > load.day).to_numpy()
        if late.any():
            return d, (_first(late), f"{raw.iloc[_first(late)]} is after the load day {load.day}")
        return d, None


def read_stock_csv(
    path: Path, ticker: str, source: str, volume_kind: str, rel: str, load: LoadTime | None = None
) -> FileResult:
    """One ticker's daily OHLCV (Alpaca IEX or Yahoo)."""
    load = load or LoadTime.now()
    name = rel
    price = Num(gt=0, lt=MAX_EQUITY_PRICE_USD, unit="USD")
    df = read_table(path, name, {
        "Date": _StockDate(), "Open": price, "High": price, "Low": price, "Close": price,
        "Adj Close": price, "Volume": Num(ge=0, lt=MAX_VOLUME),
    }, load)
    out = pd.DataFrame(
        {
            "ticker": ticker,
            "date": df["Date"],
            "source": source,
            "open": df["Open"],
            "high": df["High"],
            "low": df["Low"],
            "close": df["Close"],
            "adj_close": df["Adj Close"],
            "volume": df["Volume"],
            "volume_kind": volume_kind,
        }
    )
    check_unique(out, ["date"], name)
    check_increasing(pd.to_datetime(out["date"]).astype("int64"), name, "Date")
    check_ohlc(out, name)
    res = FileResult(name, str(path), sha256_file(path), len(df))
    res.batches.append(Batch("prices_daily", ["ticker", "date", "source"], out))
    return res


#: Entity history per ticker (SOURCES.md §3 caveats): pre-merger / SPAC periods are flagged so
#: analytics can exclude them. Dates are inclusive.
TICKER_HISTORY: list[tuple[str, str | None, str | None, str, bool, str]] = [
    ("HUT", None, "2023-11-29", "Hut 8 Mining Corp (old)", True,
     "pre-USBTC merger; prices scaled x5 to new Hut 8 Corp shares"),
    ("HUT", "2023-11-30", None, "Hut 8 Corp", True, "post-merger"),
    ("CORZ", None, "2021-12-31", "XPDI (SPAC)", False, "SPAC before the Core Scientific merger"),
    ("CORZ", "2022-01-01", "2022-12-29", "Core Scientific", True, ""),
    ("CORZ", "2022-12-30", "2024-01-23", "Core Scientific (bankrupt, OTC CORZQ)", True,
     "no rows in the bundle: delisted during bankruptcy"),
    ("CORZ", "2024-01-24", None, "Core Scientific (relisted)", True, ""),
    ("BTDR", None, "2023-04-13", "BSGA (SPAC)", False, "illiquid SPAC before Bitdeer listing"),
    ("BTDR", "2023-04-14", None, "Bitdeer Technologies", True, ""),
    ("WULF", None, "2021-11-30", "IKONICS (IKNX)", False, "pre-merger shell"),
    ("WULF", "2021-12-01", None, "TeraWulf", True, ""),
    ("CIFR", None, "2021-07-31", "GWAC (SPAC)", False, "SPAC before Cipher Mining"),
    ("CIFR", "2021-08-01", None, "Cipher Mining", True, ""),
]


# ---------------------------------------------------------------------------------------------
# reference tables

_PRIMARY_HOSTS = ("ir.", "investor", "sec.gov", "globenewswire", "prnewswire", "advfn", "einpresswire",
                  "einnews", "wlox", "wtok", "businesswire", "accesswire")


def source_rank(url: str, note: str) -> int:
    """1 company-primary, 2 later-release comparison column, 3 secondary (SOURCES.md §7)."""
    u = url.lower()
    if any(h in u for h in _PRIMARY_HOSTS):
        return 1
    n = note.lower()
    if "prior-month" in n or "year-ago" in n or "comparison" in n or "column" in n:
        return 2
    return 3


class _Month:
    """A ``YYYY-MM`` month whose first day is not after the load day."""

    def convert(self, s: pd.Series, load: LoadTime) -> tuple[pd.Series, tuple[int, str] | None]:
        raw = s.astype(str).str.strip()
        d = pd.to_datetime(raw, format="%Y-%m", errors="coerce")
        bad = d.isna().to_numpy()
        late = (~bad) & (d.dt.date > load.day).to_numpy()
        return raw, _earliest([(bad, lambda i: f"not YYYY-MM: {raw.iloc[i]!r}"),
                               (late, lambda i: f"month {raw.iloc[i]} starts after the load day "
                                                f"{load.day}")])


def read_miner_production(path: Path, load: LoadTime | None = None) -> FileResult:
    """Miners' monthly production (rows are not unique per ticker-month; see SOURCES.md §7)."""
    load = load or LoadTime.now()
    name = path.name
    df = read_table(path, name, {
        "ticker": Text(), "month": _Month(),
        "btc_mined": Num(required=False, ge=0, lt=MAX_BTC_MINED_PER_MONTH, unit="BTC"),
        "hashrate_ehs": Num(required=False, ge=0, lt=MAX_HASHRATE_EHS, unit="EH/s"),
        "hashrate_kind": Text(),
        "btc_held": Num(required=False, ge=0, le=MAX_BTC, unit="BTC"),
        "demand_response_usd": Num(required=False, ge=0, lt=MAX_USD, unit="USD"),
        "source_url": Text(), "note": Text(),
    }, load)
    kinds = {"energized", "deployed", "operational", "average_operating", "installed", "unknown", ""}
    bad = ~df.hashrate_kind.str.strip().isin(kinds)
    if bad.any():
        raise IngestError(name, _rows(bad.to_numpy()), "hashrate_kind", f"unknown kind {df.hashrate_kind[bad].iloc[0]!r}")
    tick_bad = ~df.ticker.str.fullmatch(r"[A-Z][A-Z0-9.\-]{0,9}")
    if tick_bad.any():
        raise IngestError(name, _rows(tick_bad.to_numpy()), "ticker", f"bad ticker {df.ticker[tick_bad].iloc[0]!r}")
    url_bad = df.source_url.str.strip().eq("")
    if url_bad.any():
        raise IngestError(name, _rows(url_bad.to_numpy()), "source_url", "every row needs its source")
    out = pd.DataFrame(
        {
            "ticker": df.ticker.str.strip(),
            "month": df.month,
            "btc_mined": df.btc_mined,
            "hashrate_ehs": df.hashrate_ehs,
            "hashrate_kind": df.hashrate_kind.str.strip(),
            "btc_held": df.btc_held,
            "demand_response_usd": df.demand_response_usd,
            "source_url": df.source_url.str.strip(),
            "source_rank": [source_rank(u, n) for u, n in zip(df.source_url, df.note, strict=True)],
            "is_conflict": df.note.str.contains("CONFLICT", case=True),
            "note": df.note,
        }
    )
    check_unique(out, ["ticker", "month", "source_url", "hashrate_kind"], name)
    res = FileResult(name, str(path), sha256_file(path), len(df))
    res.batches.append(Batch("miner_production", ["ticker", "month", "source_url", "hashrate_kind"], out))
    return res


def _device_efficiency(th: pd.Series, w: pd.Series, name: str, fld: str) -> pd.Series:
    eff = w / th
    lo, hi = DEVICE_J_PER_TH
    bad = ((eff < lo) | (eff > hi)).to_numpy()
    if bad.any():
        i = _first(bad)
        raise IngestError(name, i + 2, fld, f"efficiency {plain(float(eff.iloc[i]))} J/TH outside "
                                            f"{plain(lo)}..{plain(hi)} J/TH")
    return eff


def read_asic_f2pool(path: Path, load: LoadTime | None = None) -> FileResult:
    """F2Pool's March-2020 device table (hashrate TH/s, power W)."""
    load = load or LoadTime.now()
    name = path.name
    df = read_table(path, name, {
        "Company": Text(required=True), "Device": Text(required=True),
        "Hashrate (T)": Num(gt=0, lt=MAX_DEVICE_TH, unit="TH/s"),
        "Power Consumption (W)": Num(gt=0, lt=MAX_DEVICE_W, unit="W"),
        "Year Released": Num(integer=True, required=False, ge=2009, le=load.day.year),
        "Month Released": Num(integer=True, required=False, ge=1, le=12),
    }, load, allow_extra=True)
    th, w = df["Hashrate (T)"], df["Power Consumption (W)"]
    eff = _device_efficiency(th, w, name, "Power Consumption (W)")
    released = [
        f"{int(a):04d}-{int(b):02d}" if pd.notna(a) and pd.notna(b) else None
        for a, b in zip(df["Year Released"], df["Month Released"], strict=True)
    ]
    out = pd.DataFrame(
        {
            "model": df.Device.str.strip(),
            "manufacturer": df.Company.str.strip(),
            "hashrate_th": th,
            "power_w": w,
            "efficiency_j_per_th": eff,
            "released": released,
            "source": "f2pool 2020-03 snapshot",
        }
    )
    out = out.drop_duplicates(subset=["model"], keep="first")
    res = FileResult(name, str(path), sha256_file(path), len(df))
    res.batches.append(Batch("asic_models", ["model"], out))
    return res


def read_asic_recent(path: Path, load: LoadTime | None = None) -> FileResult:
    """Recent ASIC models with sources."""
    load = load or LoadTime.now()
    name = path.name
    lo, hi = DEVICE_J_PER_TH
    df = read_table(path, name, {
        "manufacturer": Text(), "model": Text(required=True),
        "hashrate_th": Num(gt=0, lt=MAX_DEVICE_TH, unit="TH/s"),
        "power_w": Num(gt=0, lt=MAX_DEVICE_W, unit="W"),
        "efficiency_j_per_th": Num(ge=lo, le=hi, unit="J/TH"),
        "source_url": Text(),
    }, load)
    th, w, eff = df["hashrate_th"], df["power_w"], df["efficiency_j_per_th"]
    bad = (abs(w / th - eff) > 0.05 * eff).to_numpy()
    if bad.any():
        raise IngestError(name, _rows(bad), "efficiency_j_per_th", "disagrees with power_w / hashrate_th")
    out = pd.DataFrame(
        {
            "model": df.model.str.strip(), "manufacturer": df.manufacturer.str.strip(),
            "hashrate_th": th, "power_w": w, "efficiency_j_per_th": eff, "released": None,
            "source": df.source_url,
        }
    )
    check_unique(out, ["model"], name)
    res = FileResult(name, str(path), sha256_file(path), len(df))
    res.batches.append(Batch("asic_models", ["model"], out))
    return res


def read_hpc_deals(path: Path, load: LoadTime | None = None) -> FileResult:
    """Public AI/HPC hosting deals (reference ranges, one source per row)."""
    load = load or LoadTime.now()
    name = path.name
    usd = Num(required=False, ge=0, lt=MAX_USD, unit="USD")
    df = read_table(path, name, {
        "operator": Text(required=True), "tenant": Text(),
        "total_contract_usd": usd,
        "term_years": Num(required=False, ge=0, le=100, unit="years"),
        "critical_it_mw": Num(required=False, ge=0, lt=1e5, unit="MW"),
        "annual_revenue_usd": usd,
        "implied_usd_per_kw_month": Num(required=False, ge=0, lt=1e5, unit="USD/kW-month"),
        "capex_usd_per_mw_low": usd,
        "capex_usd_per_mw_high": usd,
        "noi_margin": Num(required=False, ge=0, le=1),
        "source_url": Text(), "note": Text(),
    }, load)
    out = pd.DataFrame({"operator": df.operator.str.strip(), "tenant": df.tenant.str.strip()})
    for c in list(df.columns)[2:10]:
        out[c] = df[c]
    out["source_url"] = df.source_url
    out["note"] = df.note
    check_unique(out, ["operator", "tenant"], name)
    res = FileResult(name, str(path), sha256_file(path), len(df))
    res.batches.append(Batch("hpc_deals", ["operator", "tenant"], out))
    return res


# ---------------------------------------------------------------------------------------------
# the bundle


def _guarded(rel: str, fn: Callable[[], Any]) -> Any:
    """Run one reader; any unexpected failure becomes an :class:`IngestError` naming the file."""
    try:
        return fn()
    except IngestError:
        raise
    except IsADirectoryError as exc:
        raise IngestError(rel, None, None, "is a directory, expected a file") from exc
    except OSError as exc:
        raise IngestError(rel, None, None, f"cannot read: {exc.strerror or exc}") from exc
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError) as exc:
        raise IngestError(rel, None, None, f"cannot be read ({type(exc).__name__}: {exc})") from exc


def read_bundle(
    data_dir: Path, progress: Callable[[str], None] | None = None, load: LoadTime | None = None
) -> list[FileResult]:
    """Validate every known file of a bundle directory (no writes).

    Files that are absent are skipped (a partial bundle is allowed); files present but invalid
    (or a directory where a file belongs) raise :class:`IngestError`.

    Parameters
    ----------
    data_dir : Path
        Bundle directory.
    progress : callable, optional
        Called with each file name as it is validated.
    load : LoadTime, optional
        The load instant (default now): no date after its day, no block time after it + 2 h.
    """
    data_dir = Path(data_dir)
    load = load or LoadTime.now()
    if not data_dir.exists():
        raise IngestError(str(data_dir), None, None, "bundle directory does not exist")
    if not data_dir.is_dir():
        raise IngestError(str(data_dir), None, None, "is a file, expected the bundle directory")
    tick = progress or (lambda _name: None)
    results: list[FileResult] = []

    def present(rel: str) -> Path | None:
        p = data_dir / rel
        if not p.exists():
            return None
        if not p.is_file():
            raise IngestError(rel, None, None, "is a directory (or not a regular file), expected a file")
        return p

    epochs = None
    headers = None
    if p := present("btc_epoch_targets_electrum.csv"):
        tick(p.name)
        res, epochs = _guarded(p.name, lambda: read_electrum_targets(p, load))
        results.append(res)
        if raw := present("raw/electrum_mainnet_checkpoints.json"):
            results.append(_guarded(f"raw/{raw.name}", lambda: read_electrum_raw(raw, epochs)))
    if p := present("btc_retarget_headers_bitcoinj.csv"):
        tick(p.name)
        if epochs is None:
            raise IngestError(p.name, None, None, "needs btc_epoch_targets_electrum.csv to check links and bits")
        res, headers = _guarded(p.name, lambda: read_bitcoinj_headers(p, epochs, load))
        results.append(res)
        if raw := present("raw/bitcoinj_org.bitcoin.production.checkpoints.txt"):
            results.append(_guarded(f"raw/{raw.name}", lambda: read_bitcoinj_raw(raw, headers)))
    blocks = None
    if p := present("btc_block_times.csv"):
        tick(p.name)
        if epochs is None:
            raise IngestError(p.name, None, None, "needs btc_epoch_targets_electrum.csv for bits")
        res, blocks = _guarded(p.name, lambda: read_block_times(p, epochs, load))
        results.append(res)
    if p := present("btc_difficulty_adjustments_mempool.csv"):
        tick(p.name)
        hdrs = headers if headers is not None else pd.DataFrame(columns=["height", "time", "bits"])
        results.append(_guarded(p.name, lambda: read_mempool_difficulty(p, hdrs, load)))
    if p := present("btc_daily_hashrate_mempool.csv"):
        tick(p.name)
        hashrate = _guarded(p.name, lambda: read_mempool_hashrate(p, load))
        results.append(hashrate)
        if raw := present("raw/mempool_mining_hashrate_all_20250322.json"):
            results.append(_guarded(f"raw/{raw.name}", lambda: read_mempool_raw(raw, hashrate)))
    if p := present("btc_network_daily_coinmetrics.csv"):
        tick(p.name)
        results.append(_guarded(p.name, lambda: read_coinmetrics(p, load)))
    if p := present("btc_usd_daily_close_blockchaincom.csv"):
        tick(p.name)
        results.append(_guarded(p.name, lambda: read_btc_blockchaincom(p, load)))
    for sub, source, vkind in (
        ("stocks/alpaca_iex_spooky", "alpaca_iex", "iex_only"),
        ("stocks/yfinance_dieperdev", "yfinance", "consolidated"),
    ):
        for f in sorted((data_dir / sub).glob("*.csv")) if (data_dir / sub).is_dir() else []:
            rel = f"{sub}/{f.name}"
            present(rel)
            tick(rel)
            results.append(_guarded(rel, lambda f=f, rel=rel, source=source, vkind=vkind:
                                    read_stock_csv(f, f.stem.upper(), source, vkind, rel, load)))
    for fname, reader in (
        ("miner_monthly_production.csv", read_miner_production),
        ("asic_mining_devices_f2pool_2020-03.csv", read_asic_f2pool),
        ("asic_models_recent.csv", read_asic_recent),
        ("hpc_deals_public.csv", read_hpc_deals),
    ):
        if p := present(fname):
            tick(fname)
            results.append(_guarded(fname, lambda p=p, reader=reader: reader(p, load)))

    # Chain tables assembled across files.
    if epochs is not None:
        ep = epochs.copy()
        ep["first_height"] = ep.epoch * RETARGET_INTERVAL
        ep["last_height"] = ep.first_height + RETARGET_INTERVAL - 1
        ep["target_hex"] = [f"{decode_compact(int(b))[0]:064x}" for b in ep.bits]
        ep["difficulty"] = [difficulty(int(b)) for b in ep.bits]
        starts = {}
        if headers is not None:
            starts.update(zip(headers.height, headers.time, strict=True))
        if blocks is not None:
            sel = blocks[blocks.height % RETARGET_INTERVAL == 0]
            starts.update(zip(sel.height, sel.time, strict=True))
        starts[0] = GENESIS_TIME  # genesis header time
        ep["start_time"] = [starts.get(int(h)) for h in ep.first_height]
        ep["start_time"] = ep["start_time"].astype("Int64")
        ep["source"] = "electrum+bitcoinj"
        results[0].batches.append(Batch("epochs", ["epoch"], ep))
    if headers is not None or blocks is not None:
        parts = []
        if headers is not None:
            parts.append(headers.assign(source="bitcoinj"))
        if blocks is not None:
            b = blocks.assign(source="btc_block_times")
            if headers is not None:
                both = b.merge(headers[["height", "time"]], on="height", suffixes=("", "_hdr"))
                clash = both[both.time != both.time_hdr]
                if len(clash):
                    raise IngestError("btc_block_times.csv", None, "time",
                                      f"height {int(clash.height.iloc[0])} disagrees with its bitcoinj header")
                b = b[~b.height.isin(headers.height)]
            parts.append(b)
        allb = pd.concat(parts, ignore_index=True).sort_values("height")
        owner = next(r for r in results if r.source in ("btc_retarget_headers_bitcoinj.csv", "btc_block_times.csv"))
        owner.batches.append(Batch("blocks", ["height"], allb))
    return results


def _insert_new(store: Store, batch: Batch, load_id: int) -> int:
    """Insert rows of ``batch`` whose key is not yet in the table; return rows added."""
    con = store.con
    df = batch.df.copy()
    df["load_id"] = load_id
    cols = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [batch.table],
    ).fetchall()]
    for c in cols:
        if c not in df.columns:
            df[c] = None
    df = df[cols]
    con.register("_incoming", df)
    try:
        on = " AND ".join(f't."{k}" = i."{k}"' for k in batch.key)
        select = ", ".join(f'i."{c}"' for c in cols)
        added = con.execute(
            f'INSERT INTO "{batch.table}" SELECT {select} FROM _incoming i '
            f'WHERE NOT EXISTS (SELECT 1 FROM "{batch.table}" t WHERE {on})'
        ).fetchone()[0]
    finally:
        con.unregister("_incoming")
    return int(added)


def write_results(
    store: Store, results: list[FileResult], kind: str = "bundle",
    after: Callable[[Store], None] | None = None,
) -> None:
    """Write validated results in ONE transaction, recording provenance in ``loads``.

    ``after(store)`` runs inside the same transaction once the rows are in (e.g. to log an
    event that reports ``rows_added``).
    """
    with store.transaction() as con:
        load_id = store.next_load_id()
        now = int(time.time())
        for res in results:
            res.rows_added = sum(_insert_new(store, b, load_id) for b in res.batches)
            seen = con.execute(
                "SELECT count(*) FROM loads WHERE source = ? AND sha256 = ?", [res.source, res.sha256]
            ).fetchone()[0]
            if not seen or res.rows_added:
                con.execute(
                    "INSERT INTO loads VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [load_id, kind, res.source, res.path, res.sha256, res.rows_read, res.rows_added, now],
                ).fetchall()
                load_id += 1
        # reference table that is not a file: ticker entity history
        th = pd.DataFrame(TICKER_HISTORY, columns=["ticker", "valid_from", "valid_to", "entity", "is_operating_miner", "note"])
        _insert_new(store, Batch("ticker_history", ["ticker", "entity"], th), 0)
        if after is not None:
            after(store)


def ingest_bundle(
    store: Store, data_dir: str | Path, progress: Callable[[str], None] | None = None,
    load: LoadTime | None = None, facts: list[Path] | None = None, shipped_facts: bool = True,
) -> IngestReport:
    """Validate a bundle directory and the company facts completely, then load them in one transaction.

    Parameters
    ----------
    store : Store
        Open, writable store.
    data_dir : str or Path
        Bundle directory (e.g. ``../shared/data``).
    progress : callable, optional
        Called with each file name as it is validated.
    load : LoadTime, optional
        The load instant (default now; tests pin it): no date after its day, no block time
        after it + 2 h.
    facts : list of Path, optional
        The user's company-fact files or directories (:mod:`hashdesk.store.facts`), layered over
        the shipped ones.
    shipped_facts : bool
        Load the company facts that ship with the package (sourced and dated).

    Returns
    -------
    IngestReport

    Raises
    ------
    IngestError
        On the first invalid file/row/field; nothing is written.
    """
    from hashdesk.store.facts import read_company_facts

    results = read_bundle(Path(data_dir), progress, load)
    if shipped_facts or facts:
        results += read_company_facts([Path(p) for p in facts or []] or None, load.day if load else None,
                                      include_shipped=shipped_facts)
    write_results(store, results)
    return IngestReport(results, [])
