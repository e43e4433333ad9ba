"""Validate and load data bundles into the store: all checks first, then one transaction.

Each reader turns one bundle file into :class:`Batch` objects (rows for one table) after
validating it; any problem raises :class:`IngestError` naming file, row and field. Only when
every file of the bundle has passed does :func:`ingest_bundle` write, in one transaction, and
only rows whose key is not yet stored (so re-ingesting adds nothing).

The reader for each file handles that file's caveats from the bundle's ``SOURCES.md``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

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


# ---------------------------------------------------------------------------------------------
# helpers


def sha256_file(path: Path) -> str:
    """SHA-256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_csv_strict(path: Path, expected: Iterable[str], name: str | None = None) -> pd.DataFrame:
    """Read a CSV as strings and check its header against ``expected`` columns exactly.

    Raises
    ------
    IngestError
        On unreadable files, missing or unknown columns.
    """
    name = name or path.name
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise IngestError(name, None, None, f"cannot parse CSV: {exc}") from exc
    cols = [c.strip() for c in df.columns]
    df.columns = cols
    expected = list(expected)
    missing = [c for c in expected if c not in cols]
    if missing:
        raise IngestError(name, 1, missing[0], f"missing column(s) {missing}")
    unknown = [c for c in cols if c not in expected and c != "" and not c.startswith("Unnamed")]
    if unknown:
        raise IngestError(name, 1, unknown[0], f"unknown column(s) {unknown}")
    return df[expected]


def _rows(mask: np.ndarray) -> int | None:
    idx = np.flatnonzero(mask)
    return int(idx[0]) + 2 if len(idx) else None  # header is line 1


def to_number(
    df: pd.DataFrame,
    col: str,
    name: str,
    *,
    integer: bool = False,
    required: bool = True,
    min_value: float | None = None,
    positive: bool = False,
) -> pd.Series:
    """Parse a string column to numbers, raising on the first bad row with file/row/field."""
    s = df[col].astype(str).str.strip()
    empty = s.eq("")
    if required and empty.any():
        raise IngestError(name, _rows(empty.to_numpy()), col, "value is missing")
    num = pd.to_numeric(s.where(~empty, None), errors="coerce")
    bad = num.isna() & ~empty
    if bad.any():
        r = _rows(bad.to_numpy())
        raise IngestError(name, r, col, f"not a number: {s[bad].iloc[0]!r}")
    if integer:
        frac = num.notna() & (num != np.floor(num.fillna(0)))
        if frac.any():
            raise IngestError(name, _rows(frac.to_numpy()), col, "not an integer")
    if positive:
        neg = num.notna() & (num <= 0)
        if neg.any():
            raise IngestError(name, _rows(neg.to_numpy()), col, f"must be > 0, got {num[neg].iloc[0]}")
    if min_value is not None:
        low = num.notna() & (num < min_value)
        if low.any():
            raise IngestError(name, _rows(low.to_numpy()), col, f"must be >= {min_value}, got {num[low].iloc[0]}")
    if integer:
        return num.astype("Int64")
    return num.astype("float64")


def to_dates(df: pd.DataFrame, col: str, name: str, fmt: str = "%Y-%m-%d") -> pd.Series:
    """Parse ISO dates, raising on the first bad row."""
    d = pd.to_datetime(df[col].str.strip(), format=fmt, errors="coerce")
    bad = d.isna()
    if bad.any():
        raise IngestError(name, _rows(bad.to_numpy()), col, f"not a date ({fmt}): {df[col][bad].iloc[0]!r}")
    return d.dt.date


def check_unique(df: pd.DataFrame, cols: list[str], name: str) -> None:
    """Raise on the first duplicated key."""
    dup = df.duplicated(subset=cols, keep="first")
    if dup.any():
        r = _rows(dup.to_numpy())
        raise IngestError(name, r, ",".join(cols), f"duplicate key {tuple(df.loc[dup, cols].iloc[0])}")


def check_increasing(values: pd.Series, name: str, col: str, strict: bool = True) -> None:
    """Raise where a key column does not increase."""
    d = np.diff(np.asarray(values, dtype=np.int64))
    bad = (d <= 0) if strict else (d < 0)
    if bad.any():
        r = int(np.flatnonzero(bad)[0]) + 3
        raise IngestError(name, r, col, "values are not increasing")


# ---------------------------------------------------------------------------------------------
# chain files


def read_electrum_targets(path: Path) -> tuple[FileResult, pd.DataFrame]:
    """Electrum epoch targets. Entry k's target applies to epoch **k+1** (SOURCES.md caveat).

    Returns the file result and an epochs frame (epoch, bits, target, last_block_hash) for epochs
    0..K+1, epoch 0 being the genesis target ``0x1d00ffff``.
    """
    name = path.name
    cols = [
        "epoch", "epoch_first_height", "epoch_last_height", "epoch_last_block_hash",
        "next_epoch_first_height", "next_epoch_target_hex", "next_epoch_difficulty",
    ]
    df = read_csv_strict(path, cols)
    ep = to_number(df, "epoch", name, integer=True, min_value=0)
    first = to_number(df, "epoch_first_height", name, integer=True, min_value=0)
    last = to_number(df, "epoch_last_height", name, integer=True, min_value=0)
    check_unique(df.assign(epoch=ep), ["epoch"], name)
    if not (ep.to_numpy() == np.arange(len(df))).all():
        raise IngestError(name, _rows(ep.to_numpy() != np.arange(len(df))), "epoch", "epochs must be 0,1,2,… without gaps")
    bad = first.to_numpy() != ep.to_numpy() * RETARGET_INTERVAL
    if bad.any():
        raise IngestError(name, _rows(bad), "epoch_first_height", "must equal epoch × 2016")
    bad = last.to_numpy() != first.to_numpy() + RETARGET_INTERVAL - 1
    if bad.any():
        raise IngestError(name, _rows(bad), "epoch_last_height", "must equal first + 2015")
    rows = [{"epoch": 0, "bits": POW_LIMIT_BITS, "last_block_hash": None}]
    for i, r in enumerate(df.itertuples(index=False)):
        line = i + 2
        h = r.epoch_last_block_hash.strip().lower()
        if len(h) != 64 or any(c not in "0123456789abcdef" for c in h):
            raise IngestError(name, line, "epoch_last_block_hash", "not a 64-hex block hash")
        try:
            target = int(r.next_epoch_target_hex, 16)
        except ValueError as exc:
            raise IngestError(name, line, "next_epoch_target_hex", "not hex") from exc
        bits = encode_compact(target)
        if decode_compact(bits)[0] != target:
            raise IngestError(name, line, "next_epoch_target_hex", "target is not a compact-representable value")
        rows[-1]["last_block_hash"] = h
        rows.append({"epoch": int(ep.iloc[i]) + 1, "bits": bits, "last_block_hash": None})
    epochs = pd.DataFrame(rows)
    res = FileResult(name, str(path), sha256_file(path), len(df))
    return res, epochs


def read_electrum_raw(path: Path, epochs: pd.DataFrame) -> FileResult:
    """Cross-check ``raw/electrum_mainnet_checkpoints.json`` against the CSV-derived epochs."""
    name = f"raw/{path.name}"
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise IngestError(name, exc.lineno, None, f"invalid JSON: {exc.msg}") from exc
    if len(data) != len(epochs) - 1:
        raise IngestError(name, None, None, f"{len(data)} entries, CSV has {len(epochs) - 1}")
    for k, (h, target) in enumerate(data):
        if h != epochs.last_block_hash.iloc[k] or encode_compact(int(target)) != epochs.bits.iloc[k + 1]:
            raise IngestError(name, None, f"entry {k}", "does not match btc_epoch_targets_electrum.csv")
    return FileResult(name, str(path), sha256_file(path), len(data))


def read_bitcoinj_headers(path: Path, epochs: pd.DataFrame) -> tuple[FileResult, pd.DataFrame]:
    """Epoch-start headers: parse, PoW, link to Electrum's hashes, bits vs epoch targets."""
    name = path.name
    cols = [
        "height", "block_hash", "time", "time_utc", "version", "prev_hash", "merkle_root",
        "bits_hex", "nonce", "target_hex", "difficulty", "chainwork_hex", "header_hex",
    ]
    df = read_csv_strict(path, cols)
    height = to_number(df, "height", name, integer=True, min_value=0)
    check_unique(df.assign(height=height), ["height"], name)
    check_increasing(height, name, "height")
    diff_col = to_number(df, "difficulty", name, positive=True)
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
            "time": str(hdr.time) == r.time.strip(),
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
            raise IngestError(name, line, "difficulty", f"recorded {diff_col.iloc[i]} but bits give {d}")
        out.append(
            {
                "height": h, "hash": hdr.hash, "prev_hash": hdr.prev_hash,
                "merkle_root": hdr.merkle_root, "version": hdr.version, "time": hdr.time,
                "bits": hdr.bits, "nonce": hdr.nonce, "chainwork_hex": r.chainwork_hex.strip().lower(),
                "header_hex": raw.hex(),
            }
        )
    headers = pd.DataFrame(out)
    return FileResult(name, str(path), sha256_file(path), len(df)), headers


def read_bitcoinj_raw(path: Path, headers: pd.DataFrame) -> FileResult:
    """Decode ``raw/bitcoinj…checkpoints.txt`` (base64, 96 bytes each) and match the CSV."""
    name = f"raw/{path.name}"
    lines = path.read_text().split()
    if not lines or lines[0] != "TXT":
        raise IngestError(name, 1, None, "missing 'TXT CHECKPOINTS 1' header")
    n = int(lines[4])
    body = lines[5:]
    if len(body) != n or n != len(headers):
        raise IngestError(name, None, None, f"{len(body)} checkpoints (header says {n}; CSV has {len(headers)})")
    for i, b64 in enumerate(body):
        blob = base64.b64decode(b64)
        if len(blob) != 96:
            raise IngestError(name, i + 4, None, f"checkpoint decodes to {len(blob)} bytes, expected 96")
        work = int.from_bytes(blob[:12], "big")
        height = int.from_bytes(blob[12:16], "big")
        if height != headers.height.iloc[i] or blob[16:].hex() != headers.header_hex.iloc[i] or work != int(
            headers.chainwork_hex.iloc[i], 16
        ):
            raise IngestError(name, i + 4, None, "checkpoint does not match btc_retarget_headers_bitcoinj.csv")
    return FileResult(name, str(path), sha256_file(path), n)


def read_block_times(path: Path, epochs: pd.DataFrame) -> tuple[FileResult, pd.DataFrame]:
    """Per-block header times. Checks continuity and recomputes every retarget it can.

    Header times are not monotonic (median-time-past rule), so no ordering check on ``time``.
    Bits are filled from the epoch targets (exact consensus values).
    """
    name = path.name
    df = read_csv_strict(path, ["height", "time"])
    height = to_number(df, "height", name, integer=True, min_value=0)
    t = to_number(df, "time", name, integer=True, min_value=1231006505)
    check_unique(df.assign(height=height), ["height"], name)
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


def read_mempool_difficulty(path: Path, headers: pd.DataFrame) -> FileResult:
    """mempool.space difficulty adjustments; time/difficulty checked against bitcoinj headers."""
    name = path.name
    df = read_csv_strict(path, ["height", "time", "time_utc", "difficulty", "adjustment_ratio"])
    h = to_number(df, "height", name, integer=True, min_value=0)
    t = to_number(df, "time", name, integer=True, min_value=0)
    d = to_number(df, "difficulty", name, positive=True)
    a = to_number(df, "adjustment_ratio", name, required=False, min_value=0)
    check_unique(df.assign(height=h), ["height"], name)
    check_increasing(h, name, "height")
    bad = (h % RETARGET_INTERVAL != 0).to_numpy()
    if bad.any():
        raise IngestError(name, _rows(bad), "height", "not a multiple of 2016")
    hdr = headers.set_index("height")
    for i in range(len(df)):
        hh = int(h.iloc[i])
        if hh in hdr.index:
            if int(hdr.at[hh, "time"]) != int(t.iloc[i]):
                raise IngestError(name, i + 2, "time", f"disagrees with header time {hdr.at[hh, 'time']}")
            dd = difficulty(int(hdr.at[hh, "bits"]))
            if abs(dd - d.iloc[i]) > 1e-7 * dd:
                raise IngestError(name, i + 2, "difficulty", f"disagrees with bits ({dd})")
    out = pd.DataFrame({"height": h.astype("int64"), "time": t.astype("int64"), "difficulty": d, "adjustment_ratio": a})
    res = FileResult(name, str(path), sha256_file(path), len(df))
    res.batches.append(Batch("difficulty_adjustments", ["height"], out.assign(source="mempool.space")))
    return res


def read_mempool_hashrate(path: Path) -> FileResult:
    """mempool.space daily *estimated* hashrate (stored in EH/s)."""
    name = path.name
    df = read_csv_strict(path, ["date", "timestamp", "avg_hashrate_hs", "avg_hashrate_ehs"])
    date = to_dates(df, "date", name)
    hs = to_number(df, "avg_hashrate_hs", name, min_value=0)
    to_number(df, "timestamp", name, integer=True, min_value=0)
    check_unique(df.assign(date=date), ["date"], name)
    out = pd.DataFrame({"date": date, "source": "mempool.space", "hashrate_ehs": hs / 1e18})
    res = FileResult(name, str(path), sha256_file(path), len(df))
    res.batches.append(Batch("hashrate_daily", ["date", "source"], out))
    return res


def read_mempool_raw(path: Path, hashrate_csv: Path) -> FileResult:
    """Cross-check the raw mempool JSON's daily hashrates against the CSV."""
    name = f"raw/{path.name}"
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise IngestError(name, exc.lineno, None, f"invalid JSON: {exc.msg}") from exc
    rates = data.get("hashrates") if isinstance(data, dict) else None
    if not isinstance(rates, list):
        raise IngestError(name, None, "hashrates", "missing list")
    csv = pd.read_csv(hashrate_csv)
    if len(rates) != len(csv) or any(
        abs(float(r["avgHashrate"]) - float(v)) > 1e-5 * max(1.0, abs(float(v)))
        for r, v in zip(rates, csv.avg_hashrate_hs, strict=True)
    ):
        raise IngestError(name, None, "hashrates", "does not match btc_daily_hashrate_mempool.csv")
    return FileResult(name, str(path), sha256_file(path), len(rates))


def read_coinmetrics(path: Path) -> FileResult:
    """Coin Metrics daily network fields (fees, issuance, blocks, price, hashrate)."""
    name = path.name
    cols = [
        "date", "blk_cnt", "fee_tot_btc", "iss_tot_btc", "rev_tot_btc", "price_usd",
        "iss_tot_usd", "hashrate_ths", "diff_mean", "tx_cnt", "fee_mean_btc_per_tx", "sply_cur_btc",
    ]
    df = read_csv_strict(path, cols)
    date = to_dates(df, "date", name)
    check_unique(df.assign(date=date), ["date"], name)
    out = pd.DataFrame(
        {
            "date": date,
            "source": "coinmetrics",
            "blk_cnt": to_number(df, "blk_cnt", name, integer=True, min_value=0),
            "fee_tot_btc": to_number(df, "fee_tot_btc", name, min_value=0),
            "iss_tot_btc": to_number(df, "iss_tot_btc", name, min_value=0),
            "price_usd": to_number(df, "price_usd", name, positive=True),
            "hashrate_ehs": to_number(df, "hashrate_ths", name, min_value=0) / 1e6,
            "tx_cnt": to_number(df, "tx_cnt", name, integer=True, min_value=0),
            "sply_cur_btc": to_number(df, "sply_cur_btc", name, min_value=0),
        }
    )
    for c in ("rev_tot_btc", "iss_tot_usd", "diff_mean", "fee_mean_btc_per_tx"):
        to_number(df, c, name, required=False)
    d = pd.to_datetime(out["date"])
    if (d.diff().dropna() != pd.Timedelta(days=1)).any():
        raise IngestError(name, None, "date", "days are not consecutive")
    res = FileResult(name, str(path), sha256_file(path), len(df))
    res.batches.append(Batch("network_daily", ["date", "source"], out))
    prices = pd.DataFrame(
        {"ticker": "BTC-USD", "date": out["date"], "source": "coinmetrics", "close": out["price_usd"]}
    )
    res.batches.append(Batch("prices_daily", ["ticker", "date", "source"], prices))
    return res


# ---------------------------------------------------------------------------------------------
# prices


def read_btc_blockchaincom(path: Path) -> FileResult:
    """blockchain.com MKPRU BTC-USD close. Missing dates stay missing (never forward-filled)."""
    name = path.name
    df = read_csv_strict(path, ["date", "close_usd"])
    date = to_dates(df, "date", name)
    close = to_number(df, "close_usd", name, positive=True)
    check_unique(df.assign(date=date), ["date"], name)
    out = pd.DataFrame({"ticker": "BTC-USD", "date": date, "source": "blockchaincom_mkpru", "close": close})
    res = FileResult(name, str(path), sha256_file(path), len(df))
    res.batches.append(Batch("prices_daily", ["ticker", "date", "source"], out))
    return res


def check_ohlc(out: pd.DataFrame, name: str, tol: float = 1e-9) -> None:
    """Positive prices and ``low <= min(open, close) <= max(open, close) <= high``."""
    o, h, low, c = (out[k].to_numpy(dtype=float) for k in ("open", "high", "low", "close"))
    checks = [
        ("low", low > np.minimum(o, c) * (1 + tol) + tol, "low above open/close"),
        ("high", h < np.maximum(o, c) * (1 - tol) - tol, "high below open/close"),
        ("low", low > h, "low above high"),
    ]
    for fld, mask, msg in checks:
        if mask.any():
            raise IngestError(name, _rows(mask), fld, msg)


def read_stock_csv(path: Path, ticker: str, source: str, volume_kind: str, rel: str) -> FileResult:
    """One ticker's daily OHLCV (Alpaca IEX or Yahoo)."""
    name = rel
    df = read_csv_strict(path, ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"], name)
    raw = df["Date"].str.strip()
    ts = pd.to_datetime(raw, utc=True, errors="coerce", format="mixed")
    bad = ts.isna()
    if bad.any():
        raise IngestError(name, _rows(bad.to_numpy()), "Date", f"not a date: {raw[bad].iloc[0]!r}")
    # Alpaca stamps bars at midnight New York (04:00/05:00 UTC): the trading date is NY local.
    date = ts.dt.tz_convert("America/New_York").dt.date if raw.str.contains(":").any() else ts.dt.date
    out = pd.DataFrame(
        {
            "ticker": ticker,
            "date": date,
            "source": source,
            "open": to_number(df, "Open", name, positive=True),
            "high": to_number(df, "High", name, positive=True),
            "low": to_number(df, "Low", name, positive=True),
            "close": to_number(df, "Close", name, positive=True),
            "adj_close": to_number(df, "Adj Close", name, positive=True),
            "volume": to_number(df, "Volume", name, min_value=0),
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


def read_miner_production(path: Path) -> FileResult:
    """Miners' monthly production (rows are not unique per ticker-month; see SOURCES.md §7)."""
    name = path.name
    cols = ["ticker", "month", "btc_mined", "hashrate_ehs", "hashrate_kind", "btc_held",
            "demand_response_usd", "source_url", "note"]
    df = read_csv_strict(path, cols)
    kinds = {"energized", "deployed", "operational", "average_operating", "installed", "unknown", ""}
    bad = ~df.hashrate_kind.str.strip().isin(kinds)
    if bad.any():
        raise IngestError(name, _rows(bad.to_numpy()), "hashrate_kind", f"unknown kind {df.hashrate_kind[bad].iloc[0]!r}")
    month_ok = pd.to_datetime(df.month.str.strip(), format="%Y-%m", errors="coerce").notna()
    if (~month_ok).any():
        raise IngestError(name, _rows((~month_ok).to_numpy()), "month", "not YYYY-MM")
    tick_bad = ~df.ticker.str.fullmatch(r"[A-Z][A-Z0-9.\-]{0,9}")
    if tick_bad.any():
        raise IngestError(name, _rows(tick_bad.to_numpy()), "ticker", f"bad ticker {df.ticker[tick_bad].iloc[0]!r}")
    url_bad = df.source_url.str.strip().eq("")
    if url_bad.any():
        raise IngestError(name, _rows(url_bad.to_numpy()), "source_url", "every row needs its source")
    out = pd.DataFrame(
        {
            "ticker": df.ticker.str.strip(),
            "month": df.month.str.strip(),
            "btc_mined": to_number(df, "btc_mined", name, required=False, min_value=0),
            "hashrate_ehs": to_number(df, "hashrate_ehs", name, required=False, min_value=0),
            "hashrate_kind": df.hashrate_kind.str.strip(),
            "btc_held": to_number(df, "btc_held", name, required=False, min_value=0),
            "demand_response_usd": to_number(df, "demand_response_usd", name, required=False, min_value=0),
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


def read_asic_f2pool(path: Path) -> FileResult:
    """F2Pool's March-2020 device table (hashrate TH/s, power W)."""
    name = path.name
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df.columns = [c.strip() for c in df.columns]
    need = ["Company", "Device", "Hashrate (T)", "Power Consumption (W)", "Year Released", "Month Released"]
    for c in need:
        if c not in df.columns:
            raise IngestError(name, 1, c, "missing column")
    th = to_number(df, "Hashrate (T)", name, positive=True)
    w = to_number(df, "Power Consumption (W)", name, positive=True)
    y = to_number(df, "Year Released", name, integer=True, required=False)
    m = to_number(df, "Month Released", name, integer=True, required=False)
    released = [
        f"{int(a):04d}-{int(b):02d}" if pd.notna(a) and pd.notna(b) else None for a, b in zip(y, m, strict=True)
    ]
    out = pd.DataFrame(
        {
            "model": df.Device.str.strip(),
            "manufacturer": df.Company.str.strip(),
            "hashrate_th": th,
            "power_w": w,
            "efficiency_j_per_th": w / th,
            "released": released,
            "source": "f2pool 2020-03 snapshot",
        }
    )
    out = out.drop_duplicates(subset=["model"], keep="first")
    res = FileResult(name, str(path), sha256_file(path), len(df))
    res.batches.append(Batch("asic_models", ["model"], out))
    return res


def read_asic_recent(path: Path) -> FileResult:
    """Recent ASIC models with sources."""
    name = path.name
    df = read_csv_strict(path, ["manufacturer", "model", "hashrate_th", "power_w", "efficiency_j_per_th", "source_url"])
    th = to_number(df, "hashrate_th", name, positive=True)
    w = to_number(df, "power_w", name, positive=True)
    eff = to_number(df, "efficiency_j_per_th", name, positive=True)
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


def read_hpc_deals(path: Path) -> FileResult:
    """Public AI/HPC hosting deals (reference ranges, one source per row)."""
    name = path.name
    cols = ["operator", "tenant", "total_contract_usd", "term_years", "critical_it_mw", "annual_revenue_usd",
            "implied_usd_per_kw_month", "capex_usd_per_mw_low", "capex_usd_per_mw_high", "noi_margin",
            "source_url", "note"]
    df = read_csv_strict(path, cols)
    out = pd.DataFrame({"operator": df.operator.str.strip(), "tenant": df.tenant.str.strip()})
    for c in cols[2:10]:
        out[c] = to_number(df, c, name, required=False, min_value=0)
    out["source_url"] = df.source_url
    out["note"] = df.note
    check_unique(out, ["operator", "tenant"], name)
    res = FileResult(name, str(path), sha256_file(path), len(df))
    res.batches.append(Batch("hpc_deals", ["operator", "tenant"], out))
    return res


# ---------------------------------------------------------------------------------------------
# the bundle


def read_bundle(data_dir: Path, progress: Callable[[str], None] | None = None) -> list[FileResult]:
    """Validate every known file of a bundle directory (no writes).

    Files that are absent are skipped (a partial bundle is allowed); files present but invalid
    raise :class:`IngestError`.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise IngestError(str(data_dir), None, None, "bundle directory does not exist")
    tick = progress or (lambda _name: None)
    results: list[FileResult] = []

    def present(rel: str) -> Path | None:
        p = data_dir / rel
        return p if p.exists() else None

    epochs = None
    headers = None
    if p := present("btc_epoch_targets_electrum.csv"):
        tick(p.name)
        res, epochs = read_electrum_targets(p)
        results.append(res)
        if raw := present("raw/electrum_mainnet_checkpoints.json"):
            results.append(read_electrum_raw(raw, epochs))
    if p := present("btc_retarget_headers_bitcoinj.csv"):
        tick(p.name)
        if epochs is None:
            raise IngestError(p.name, None, None, "needs btc_epoch_targets_electrum.csv to check links and bits")
        res, headers = read_bitcoinj_headers(p, epochs)
        results.append(res)
        if raw := present("raw/bitcoinj_org.bitcoin.production.checkpoints.txt"):
            results.append(read_bitcoinj_raw(raw, headers))
    blocks = None
    if p := present("btc_block_times.csv"):
        tick(p.name)
        if epochs is None:
            raise IngestError(p.name, None, None, "needs btc_epoch_targets_electrum.csv for bits")
        res, blocks = read_block_times(p, epochs)
        results.append(res)
    if p := present("btc_difficulty_adjustments_mempool.csv"):
        tick(p.name)
        results.append(read_mempool_difficulty(p, headers if headers is not None else pd.DataFrame(columns=["height", "time", "bits"])))
    if p := present("btc_daily_hashrate_mempool.csv"):
        tick(p.name)
        results.append(read_mempool_hashrate(p))
        if raw := present("raw/mempool_mining_hashrate_all_20250322.json"):
            results.append(read_mempool_raw(raw, p))
    if p := present("btc_network_daily_coinmetrics.csv"):
        tick(p.name)
        results.append(read_coinmetrics(p))
    if p := present("btc_usd_daily_close_blockchaincom.csv"):
        tick(p.name)
        results.append(read_btc_blockchaincom(p))
    for sub, source, vkind in (
        ("stocks/alpaca_iex_spooky", "alpaca_iex", "iex_only"),
        ("stocks/yfinance_dieperdev", "yfinance", "consolidated"),
    ):
        for f in sorted((data_dir / sub).glob("*.csv")) if (data_dir / sub).is_dir() else []:
            tick(f"{sub}/{f.name}")
            results.append(read_stock_csv(f, f.stem.upper(), source, vkind, f"{sub}/{f.name}"))
    for fname, reader in (
        ("miner_monthly_production.csv", read_miner_production),
        ("asic_mining_devices_f2pool_2020-03.csv", read_asic_f2pool),
        ("asic_models_recent.csv", read_asic_recent),
        ("hpc_deals_public.csv", read_hpc_deals),
    ):
        if p := present(fname):
            tick(fname)
            results.append(reader(p))

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
        starts[0] = 1231006505  # genesis header time
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


def write_results(store: Store, results: list[FileResult], kind: str = "bundle") -> None:
    """Write validated results in ONE transaction, recording provenance in ``loads``."""
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


def ingest_bundle(
    store: Store, data_dir: str | Path, progress: Callable[[str], None] | None = None,
    facts: list[Path] | None = None, shipped_facts: bool = True,
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

    results = read_bundle(Path(data_dir), progress)
    if shipped_facts or facts:
        results += read_company_facts([Path(p) for p in facts or []] or None, include_shipped=shipped_facts)
    write_results(store, results)
    return IngestReport(results, [])
