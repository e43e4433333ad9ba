"""Every bad input exits 2 with a message naming file and field, and changes nothing.

Each input class (NaN, inf, 1e400, out-of-range and negative numbers, a height of 1e23, dates
after the load day, block times in 2100, bytes that are not UTF-8, a directory where a file
belongs) is swept through each bundle reader, and the raw files are garbled in their own ways
(bad JSON, wrong shape, missing key, bad base64). Each case copies the files the reader needs to
``tmp_path``, corrupts one, runs ``hashdesk ingest`` through typer's CliRunner against a store
that already holds data, and checks: exit status 2, file and field in the message, no traceback,
store unchanged.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hashdesk.cli import app
from hashdesk.store import Store
from hashdesk.store.ingest import CHUNK_ROWS, IngestError, ingest_bundle

ELECTRUM = "btc_epoch_targets_electrum.csv"
BITCOINJ = "btc_retarget_headers_bitcoinj.csv"
HASHRATE = "btc_daily_hashrate_mempool.csv"


@dataclass(frozen=True)
class Reader:
    """One bundle file, the files it needs, and the columns each input class goes into."""

    file: str
    needs: tuple[str, ...] = ()
    value: str | None = None  # a numeric column (NaN, inf, 1e400, 1e300, -5)
    height: str | None = None  # a height column (1e23)
    day: str | None = None  # a date column (after the load day)
    block_time: str | None = None  # a block-time column (2100)
    text: str | None = None  # the column that gets a non-UTF-8 byte
    row: int = 3  # 0-based data row to corrupt (reported as row + 2)


READERS = {
    "electrum": Reader(ELECTRUM, value="next_epoch_difficulty", height="epoch_last_height",
                       text="epoch_last_block_hash"),
    "bitcoinj": Reader(BITCOINJ, (ELECTRUM,), value="difficulty", height="height",
                       block_time="time", text="block_hash"),
    "block_times": Reader("btc_block_times.csv", (ELECTRUM,), value="time", height="height",
                          block_time="time", text="time"),
    "difficulty": Reader("btc_difficulty_adjustments_mempool.csv", value="difficulty",
                         height="height", block_time="time", text="time_utc"),
    "hashrate": Reader(HASHRATE, value="avg_hashrate_hs", day="date", block_time="timestamp",
                       text="date"),
    "coinmetrics": Reader("btc_network_daily_coinmetrics.csv", value="price_usd", day="date",
                          text="date"),
    "blockchaincom": Reader("btc_usd_daily_close_blockchaincom.csv", value="close_usd", day="date",
                            text="close_usd"),
    "alpaca": Reader("stocks/alpaca_iex_spooky/MARA.csv", value="Close", day="Date", text="Date"),
    "yfinance": Reader("stocks/yfinance_dieperdev/MARA.csv", value="Volume", day="Date",
                       text="Date"),
    "production": Reader("miner_monthly_production.csv", value="btc_mined", day="month",
                         text="note"),
    "f2pool": Reader("asic_mining_devices_f2pool_2020-03.csv", value="Hashrate (T)",
                     text="Device"),
    "asic_recent": Reader("asic_models_recent.csv", value="hashrate_th", text="model", row=1),
    "hpc": Reader("hpc_deals_public.csv", value="total_contract_usd", text="operator", row=1),
}

#: value class → (text written into the cell, pattern the message must contain)
VALUES = {
    "nan": ("nan", "not a finite number: nan"),
    "inf": ("inf", "not a finite number: inf"),
    "1e400": ("1e400", "not a finite number: 1e400"),
    "1e300": ("1e300", ("must be", "too large", "recorded")),
    "negative": ("-5", "must be"),
}


def copy_bundle(data_dir: Path, dest: Path, files) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for f in files:
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(data_dir / f, dest / f)
        (dest / f).chmod(0o644)
    return dest


def edit_cell(path: Path, row: int, column: str, value: str) -> None:
    """Set ``column`` of data row ``row`` (0-based); ``value`` may carry raw bytes as surrogates."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    j = [c.strip() for c in rows[0]].index(column)
    rows[row + 1][j] = value
    with open(path, "w", newline="", encoding="utf-8", errors="surrogateescape") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


@pytest.fixture(scope="module")
def base_db(tmp_path_factory, data_dir) -> Path:
    """A store already holding a little data, so that "unchanged" means something."""
    d = tmp_path_factory.mktemp("base")
    good = copy_bundle(data_dir, d / "good", ["asic_models_recent.csv", "hpc_deals_public.csv"])
    with Store(d / "base.duckdb") as s:
        ingest_bundle(s, good)
    return d / "base.duckdb"


def snapshot(db: Path) -> dict:
    with Store(db, read_only=True) as s:
        return {**s.table_counts(), "max_load": s.scalar("SELECT max(load_id) FROM loads")}


def run_ingest(db: Path, bundle: Path):
    res = CliRunner().invoke(app, ["--db", str(db), "ingest", str(bundle)])
    return res, " ".join(res.output.split())


def check_refused(tmp_path, base_db, bundle, file: str, field: str | None, expect,
                  row: int | None = None) -> str:
    db = tmp_path / "store.duckdb"
    shutil.copy(base_db, db)
    before = snapshot(db)
    res, out = run_ingest(db, bundle)
    assert res.exit_code == 2, out
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    assert "nothing was written" in out and file in out, out
    if field is not None:
        assert f"field '{field}'" in out, out
    if row is not None:
        assert f"row {row}," in out or f"row {row}:" in out, out
    patterns = expect if isinstance(expect, tuple) else (expect,)
    assert any(p in out for p in patterns), out
    assert snapshot(db) == before
    return out


def cases(kind: str) -> list:
    out = []
    for name, r in READERS.items():
        col = getattr(r, kind)
        if col is not None:
            out.append(pytest.param(name, id=f"{name}-{col}"))
    return out


@pytest.mark.parametrize("value_class", list(VALUES))
@pytest.mark.parametrize("reader", cases("value"))
def test_bad_number_in_each_reader(reader, value_class, tmp_path, data_dir, base_db):
    r = READERS[reader]
    bundle = copy_bundle(data_dir, tmp_path / "bad", [*r.needs, r.file])
    text, expect = VALUES[value_class]
    edit_cell(bundle / r.file, r.row, r.value, text)
    check_refused(tmp_path, base_db, bundle, r.file, r.value, expect, row=r.row + 2)


@pytest.mark.parametrize("reader", cases("height"))
def test_height_1e23_in_each_reader(reader, tmp_path, data_dir, base_db):
    r = READERS[reader]
    bundle = copy_bundle(data_dir, tmp_path / "bad", [*r.needs, r.file])
    edit_cell(bundle / r.file, r.row, r.height, "1e23")
    out = check_refused(tmp_path, base_db, bundle, r.file, r.height, ("too large", "must be"),
                        row=r.row + 2)
    assert "np.int64" not in out and "1e23" in out


@pytest.mark.parametrize("reader", cases("day"))
def test_date_after_the_load_day_in_each_reader(reader, tmp_path, data_dir, base_db):
    r = READERS[reader]
    bundle = copy_bundle(data_dir, tmp_path / "bad", [*r.needs, r.file])
    edit_cell(bundle / r.file, r.row, r.day, "2099-12" if r.day == "month" else "2099-12-31")
    check_refused(tmp_path, base_db, bundle, r.file, r.day, "after the load day", row=r.row + 2)


@pytest.mark.parametrize("reader", cases("block_time"))
def test_block_time_in_2100_in_each_reader(reader, tmp_path, data_dir, base_db):
    r = READERS[reader]
    bundle = copy_bundle(data_dir, tmp_path / "bad", [*r.needs, r.file])
    edit_cell(bundle / r.file, r.row, r.block_time, "4102444800")  # 2100-01-01
    out = check_refused(tmp_path, base_db, bundle, r.file, r.block_time, "must be >= 1231006505",
                        row=r.row + 2)
    assert "got 4102444800" in out


@pytest.mark.parametrize("reader", cases("text"))
def test_bytes_that_are_not_utf8_in_each_reader(reader, tmp_path, data_dir, base_db):
    r = READERS[reader]
    bundle = copy_bundle(data_dir, tmp_path / "bad", [*r.needs, r.file])
    with open(bundle / r.file, newline="", encoding="utf-8-sig") as fh:
        original = list(csv.reader(fh))[r.row + 1][[c.strip() for c in next(csv.reader(
            [(bundle / r.file).read_text(encoding="utf-8-sig").splitlines()[0]]))].index(r.text)]
    edit_cell(bundle / r.file, r.row, r.text, original[:1] + "\udcff" + original[1:])
    check_refused(tmp_path, base_db, bundle, r.file, r.text, "not UTF-8 text (byte 0xff")


@pytest.mark.parametrize("reader", [pytest.param(n, id=n) for n in READERS])
def test_directory_in_place_of_each_file(reader, tmp_path, data_dir, base_db):
    r = READERS[reader]
    filler = "hpc_deals_public.csv" if r.file != "hpc_deals_public.csv" else "asic_models_recent.csv"
    bundle = copy_bundle(data_dir, tmp_path / "bad", [*r.needs, filler])
    (bundle / r.file).mkdir(parents=True, exist_ok=True)
    check_refused(tmp_path, base_db, bundle, r.file, None, "is a directory")


# ---------------------------------------------------------------------------------------------
# raw files


def _corrupt_bytes(path: Path, after_line: int) -> None:
    lines = path.read_bytes().split(b"\n")
    lines[after_line] = lines[after_line][:3] + b"\xff" + lines[after_line][3:]
    path.write_bytes(b"\n".join(lines))


RAW_ELECTRUM = "raw/electrum_mainnet_checkpoints.json"
RAW_BITCOINJ = "raw/bitcoinj_org.bitcoin.production.checkpoints.txt"
RAW_MEMPOOL = "raw/mempool_mining_hashrate_all_20250322.json"


def _json_edit(fn):
    import json

    def edit(path: Path) -> None:
        out = fn(json.loads(path.read_text()))
        path.write_text(out if isinstance(out, str) else json.dumps(out))
    return edit


def _set_entry(k, value):
    def f(data):
        data = [list(e) for e in data]
        data[k][1] = value
        return data
    return f


def _entry_1e400(data):
    import json

    sentinel = 987_654_321_987_654_321
    return json.dumps(_set_entry(2, sentinel)(data)).replace(str(sentinel), "1e400")


def _drop_key(data):
    data["hashrates"][5].pop("avgHashrate")
    return data


def _nan_rate(data):
    import json

    data["hashrates"][5]["avgHashrate"] = float("nan")
    return json.dumps(data)  # writes the NaN literal


def _set_line(k: int, text: str):
    def edit(path: Path) -> None:
        lines = path.read_text().split("\n")
        lines[k] = text
        path.write_text("\n".join(lines))
    return edit


RAW_CASES = {
    # case: (needs, raw file, corruption, field or None, row or None, message)
    "electrum not utf8": ((ELECTRUM,), RAW_ELECTRUM, lambda p: _corrupt_bytes(p, 2), None, 3,
                          "not UTF-8"),
    "electrum not json": ((ELECTRUM,), RAW_ELECTRUM, lambda p: p.write_text("[[\"00\", 1]"), None,
                          None, "invalid JSON"),
    "electrum wrong shape": ((ELECTRUM,), RAW_ELECTRUM, lambda p: p.write_text('{"a": 1}'), None,
                             None, "expected a JSON list"),
    "electrum text target": ((ELECTRUM,), RAW_ELECTRUM, _json_edit(_set_entry(2, "abc")), "entry 2",
                             None, "positive integer target"),
    "electrum 1e400 target": ((ELECTRUM,), RAW_ELECTRUM, _json_edit(_entry_1e400), "entry 2", None,
                              "positive integer target"),
    "bitcoinj not utf8": ((ELECTRUM, BITCOINJ), RAW_BITCOINJ, lambda p: _corrupt_bytes(p, 5), None,
                          6, "not UTF-8"),
    "bitcoinj garbled header": ((ELECTRUM, BITCOINJ), RAW_BITCOINJ, _set_line(0, "TXT"), None, 1,
                                "missing 'TXT CHECKPOINTS 1' header"),
    "bitcoinj bad count": ((ELECTRUM, BITCOINJ), RAW_BITCOINJ, _set_line(2, "lots"), None, 2,
                           "counts"),
    "bitcoinj bad base64": ((ELECTRUM, BITCOINJ), RAW_BITCOINJ, _set_line(7, "AAAA*AAA"), None, 8,
                            "not base64"),
    "bitcoinj short checkpoint": ((ELECTRUM, BITCOINJ), RAW_BITCOINJ, _set_line(7, "AAAA"), None, 8,
                                  "decodes to 3 bytes"),
    "mempool not utf8": ((HASHRATE,), RAW_MEMPOOL, lambda p: p.write_bytes(b"\xff" + p.read_bytes()),
                         None, 1, "not UTF-8"),
    "mempool missing key": ((HASHRATE,), RAW_MEMPOOL, _json_edit(_drop_key),
                            "hashrates[5].avgHashrate", None, "missing or not a finite number"),
    "mempool NaN": ((HASHRATE,), RAW_MEMPOOL, _json_edit(_nan_rate), "hashrates[5].avgHashrate",
                    None, "missing or not a finite number"),
    "mempool no list": ((HASHRATE,), RAW_MEMPOOL, lambda p: p.write_text('{"rates": []}'),
                        "hashrates", None, "missing list"),
}


@pytest.mark.parametrize("case", list(RAW_CASES))
def test_garbled_raw_files(case, tmp_path, data_dir, base_db):
    needs, raw, corrupt, field, row, msg = RAW_CASES[case]
    bundle = copy_bundle(data_dir, tmp_path / "bad", [*needs, raw])
    corrupt(bundle / raw)
    check_refused(tmp_path, base_db, bundle, raw, field, msg, row=row)


# ---------------------------------------------------------------------------------------------
# streaming, plain numbers


def test_large_csv_stops_at_the_first_bad_row_without_parsing_the_rest(tmp_path, data_dir, base_db):
    """Row 2 is bad and a line far below is malformed: reading the file whole would report the
    malformed line (the tokenizer runs first); reading chunk by chunk reports row 2."""
    bundle = tmp_path / "bad"
    bundle.mkdir()
    n = CHUNK_ROWS + 10_000
    with open(bundle / "btc_usd_daily_close_blockchaincom.csv", "w") as fh:
        fh.write("date,close_usd\n2020-01-01,inf\n")
        for i in range(1, n):
            fh.write(f"2020-01-01,{i}\n")
        fh.write("2020-01-02,1,2,3,4\n")  # too many fields: a parser error, far below
    out = check_refused(tmp_path, base_db, bundle, "btc_usd_daily_close_blockchaincom.csv",
                        "close_usd", "not a finite number: inf", row=2)
    assert "Expected 2 fields" not in out


def test_duplicate_key_message_shows_plain_numbers(tmp_path, data_dir):
    bundle = copy_bundle(data_dir, tmp_path / "bad", [ELECTRUM, "btc_block_times.csv"])
    p = bundle / "btc_block_times.csv"
    lines = p.read_text().splitlines()
    lines.insert(100, lines[99])
    p.write_text("\n".join(lines) + "\n")
    with Store(tmp_path / "s.duckdb") as s, pytest.raises(IngestError) as exc:
        ingest_bundle(s, bundle)
    assert "duplicate key (818594)" in str(exc.value) and "np." not in str(exc.value)


def test_bundle_path_that_is_a_file(tmp_path, base_db):
    f = tmp_path / "bundle.csv"
    f.write_text("a,b\n1,2\n")
    res, out = run_ingest(tmp_path / "x.duckdb", f)
    assert res.exit_code == 2 and "Traceback" not in res.output
