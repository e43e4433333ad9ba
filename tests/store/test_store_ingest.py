"""Ingest of the reference bundle: completeness, caveats, idempotency, and bad input."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from hashdesk.chain import block_subsidy, check_proof_of_work, decode_compact, difficulty
from hashdesk.cli import app
from hashdesk.store import Store
from hashdesk.store.db import migrations
from hashdesk.store.ingest import IngestError, ingest_bundle


def test_bundle_loads_every_file(bundle_store):
    counts = bundle_store.table_counts()
    assert counts["epochs"] == 474  # Electrum's 473 entries give targets for epochs 1..473, plus genesis
    assert counts["blocks"] == 50_400 + 436 - 14  # the 14 epoch starts inside the windows merge
    assert counts["difficulty_adjustments"] == 426
    assert counts["hashrate_daily"] == 5923
    assert counts["network_daily"] == 1483
    assert counts["miner_production"] == 190
    assert counts["hpc_deals"] == 4
    sources = set(bundle_store.df("SELECT source FROM loads").source)
    for f in (
        "btc_epoch_targets_electrum.csv",
        "raw/electrum_mainnet_checkpoints.json",
        "btc_retarget_headers_bitcoinj.csv",
        "raw/bitcoinj_org.bitcoin.production.checkpoints.txt",
        "btc_block_times.csv",
        "raw/mempool_mining_hashrate_all_20250322.json",
        "btc_usd_daily_close_blockchaincom.csv",
        "stocks/alpaca_iex_spooky/WGMI.csv",
        "stocks/yfinance_dieperdev/MARA.csv",
        "asic_mining_devices_f2pool_2020-03.csv",
        "asic_models_recent.csv",
    ):
        assert f in sources
    assert bundle_store.scalar("SELECT count(*) FROM loads WHERE sha256 IS NULL OR length(sha256) <> 64") == 0


def test_every_epoch_header_has_pow_links_and_recorded_difficulty(bundle_store, data_dir):
    hdr = bundle_store.df("SELECT height, hash, prev_hash, bits FROM blocks WHERE header_hex IS NOT NULL ORDER BY height")
    assert len(hdr) == 436
    ep = bundle_store.df("SELECT epoch, bits, last_block_hash FROM epochs").set_index("epoch")
    recorded = pd.read_csv(data_dir / "btc_retarget_headers_bitcoinj.csv").set_index("height")["difficulty"]
    for r in hdr.itertuples():
        assert check_proof_of_work(r.hash, r.bits)
        e = r.height // 2016
        assert r.prev_hash == ep.at[e - 1, "last_block_hash"]
        assert r.bits == ep.at[e, "bits"]
        assert difficulty(r.bits) == pytest.approx(recorded[r.height], rel=1e-7, abs=1e-6)


def test_electrum_off_by_one_shift(bundle_store):
    # Entry k of the Electrum file is the target of epoch k+1: epoch 410 (height 826,560, the
    # post-storm retarget) must carry the bits of the header at 826,560.
    bits = bundle_store.scalar("SELECT bits FROM epochs WHERE epoch = 410")
    assert bits == bundle_store.scalar("SELECT bits FROM blocks WHERE height = 826560")
    prev = bundle_store.scalar("SELECT difficulty FROM epochs WHERE epoch = 409")
    new = bundle_store.scalar("SELECT difficulty FROM epochs WHERE epoch = 410")
    assert new / prev - 1 == pytest.approx(-0.0390, abs=5e-4)
    assert bundle_store.scalar("SELECT bits FROM epochs WHERE epoch = 0") == 0x1D00FFFF
    target_hex = bundle_store.scalar("SELECT target_hex FROM epochs WHERE epoch = 473")
    assert int(target_hex, 16) == decode_compact(bundle_store.scalar("SELECT bits FROM epochs WHERE epoch = 473"))[0]


def test_halving_block_in_bundle(bundle_store):
    t = bundle_store.scalar("SELECT time FROM blocks WHERE height = 840000")
    assert t == 1713571767  # 2024-04-20 00:09:27 UTC
    assert block_subsidy(839_999) == 625_000_000 and block_subsidy(840_000) == 312_500_000


def test_caveats_are_recorded(bundle_store):
    kinds = dict(bundle_store.df("SELECT DISTINCT source, volume_kind FROM prices_daily WHERE volume_kind IS NOT NULL").values)
    assert kinds == {"alpaca_iex": "iex_only", "yfinance": "consolidated"}
    # missing MKPRU dates stay missing (no forward fill)
    n = bundle_store.scalar(
        "SELECT count(*) FROM prices_daily WHERE ticker='BTC-USD' AND source='blockchaincom_mkpru' "
        "AND date BETWEEN '2024-12-04' AND '2024-12-08'"
    )
    assert n == 0
    shells = bundle_store.df("SELECT ticker FROM ticker_history WHERE NOT is_operating_miner")
    assert set(shells.ticker) == {"CORZ", "BTDR", "WULF", "CIFR"}
    conflicts = bundle_store.scalar("SELECT count(*) FROM miner_production WHERE is_conflict")
    assert conflicts == 14
    # Alpaca bars stamped 04:00/05:00 UTC belong to the New York trading date
    assert bundle_store.scalar(
        "SELECT count(*) FROM prices_daily WHERE source='alpaca_iex' AND dayofweek(date) IN (0, 6)"
    ) == 0


def test_reingest_adds_nothing(tmp_path, data_dir):
    with Store(tmp_path / "s.duckdb") as s:
        first = ingest_bundle(s, data_dir)
        counts = s.table_counts()
        second = ingest_bundle(s, data_dir)
        assert first.rows_added > 90_000
        assert second.rows_added == 0
        assert s.table_counts() == counts


def test_migrations_are_versioned(empty_store):
    versions = [v for v, _, _ in migrations()]
    assert versions == sorted(versions) and versions[0] == 1
    assert empty_store.schema_version() == versions[-1]
    assert empty_store.migrate() == []  # nothing pending the second time


# --------------------------------------------------------------------------------------------
# bad input: each a clear error naming file, row and field; the store unchanged


def _mini_bundle(data_dir: Path, dest: Path, files: list[str]) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for f in files:
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(data_dir / f, dest / f)
    return dest


def _edit_csv(path: Path, row: int, column: str, value: str) -> None:
    """Set ``column`` of data row ``row`` (0-based, i.e. file line row+2)."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
        fields = list(rows[0].keys())
    rows[row][column] = value
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)


CHAIN = ["btc_epoch_targets_electrum.csv", "btc_retarget_headers_bitcoinj.csv"]
MARA = "stocks/alpaca_iex_spooky/MARA.csv"


@pytest.fixture()
def loaded_store(tmp_path, data_dir):
    """A store that already holds a valid small bundle (so 'unchanged' is meaningful)."""
    good = _mini_bundle(data_dir, tmp_path / "good", [*CHAIN, MARA])
    store = Store(tmp_path / "store.duckdb")
    ingest_bundle(store, good)
    yield store
    store.close()


def _snapshot(store: Store) -> dict:
    return {**store.table_counts(), "max_load": store.scalar("SELECT max(load_id) FROM loads")}


def _header_with(hex_str: str, pos: int, byte: int) -> str:
    raw = bytearray.fromhex(hex_str)
    raw[pos] = byte
    return raw.hex()


CASES = {
    "truncated header": (CHAIN[1], 5, "header_hex", lambda v: v[:-2], "header_hex", "80 bytes"),
    "broken PoW": (CHAIN[1], 7, "header_hex", lambda v: _header_with(v, 79, (int(v[-2:], 16) ^ 0x55)), "header_hex", "proof of work"),
    "wrong link": (CHAIN[0], 3, "epoch_last_block_hash", lambda v: "0" * 8 + "f" * 56, "prev_hash", "link"),
    "text in number column": (MARA, 10, "Close", lambda v: "abc", "Close", "not a number"),
    "negative price": (MARA, 11, "Low", lambda v: "-1", "Low", "must be > 0"),
    "OHLC inconsistent": (MARA, 12, "High", lambda v: "0.01", "high", "high below"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_names_file_row_field_and_changes_nothing(case, tmp_path, data_dir, loaded_store):
    fname, row, col, mutate, field, msg = CASES[case]
    bad = _mini_bundle(data_dir, tmp_path / "bad", [*CHAIN, MARA, "btc_network_daily_coinmetrics.csv"])
    with open(bad / fname, newline="") as fh:
        original = list(csv.DictReader(fh))[row][col]
    _edit_csv(bad / fname, row, col, mutate(original))
    before = _snapshot(loaded_store)
    with pytest.raises(IngestError) as exc:
        ingest_bundle(loaded_store, bad)
    err = exc.value
    # a broken link is reported on the header that fails to link to Electrum's hash
    expected_file = CHAIN[1] if case == "wrong link" else fname
    assert err.file.endswith(Path(expected_file).name)
    assert msg in err.message
    assert err.field == field
    if case != "wrong link":  # the link error is reported on the header row that fails to link
        assert err.row == row + 2
    assert _snapshot(loaded_store) == before


def test_duplicate_rows_rejected(tmp_path, data_dir, loaded_store):
    bad = _mini_bundle(data_dir, tmp_path / "bad", ["btc_network_daily_coinmetrics.csv"])
    lines = (bad / "btc_network_daily_coinmetrics.csv").read_text().splitlines()
    lines.insert(5, lines[4])
    (bad / "btc_network_daily_coinmetrics.csv").write_text("\n".join(lines) + "\n")
    before = _snapshot(loaded_store)
    with pytest.raises(IngestError, match=r"row 6, field 'date': duplicate key"):
        ingest_bundle(loaded_store, bad)
    assert _snapshot(loaded_store) == before


def test_unknown_column_rejected(tmp_path, data_dir):
    bad = _mini_bundle(data_dir, tmp_path / "bad", ["btc_daily_hashrate_mempool.csv"])
    p = bad / "btc_daily_hashrate_mempool.csv"
    lines = p.read_text().splitlines()
    p.write_text("\n".join([lines[0] + ",hashrate_zhs"] + [x + ",1" for x in lines[1:]]) + "\n")
    with Store(tmp_path / "s.duckdb") as s, pytest.raises(IngestError, match="unknown column"):
        ingest_bundle(s, bad)


def test_non_monotonic_block_heights_rejected(tmp_path, data_dir):
    bad = _mini_bundle(data_dir, tmp_path / "bad", ["btc_epoch_targets_electrum.csv", "btc_block_times.csv"])
    p = bad / "btc_block_times.csv"
    lines = p.read_text().splitlines()
    lines[100], lines[101] = lines[101], lines[100]
    p.write_text("\n".join(lines) + "\n")
    with Store(tmp_path / "s.duckdb") as s, pytest.raises(IngestError, match="not increasing") as exc:
        ingest_bundle(s, bad)
    assert exc.value.field == "height"


def test_tampered_block_time_breaks_retarget_check(tmp_path, data_dir):
    bad = _mini_bundle(data_dir, tmp_path / "bad", ["btc_epoch_targets_electrum.csv", "btc_block_times.csv"])
    # last block of epoch 409 (height 826,559): move it a day later -> retarget at 826,560 differs
    _edit_csv(bad / "btc_block_times.csv", 826_559 - 818_496, "time", "1705800000")
    with Store(tmp_path / "s.duckdb") as s, pytest.raises(IngestError, match="retarget at 826560") as exc:
        ingest_bundle(s, bad)
    assert exc.value.field == "time"


def test_cli_ingest_rejects_with_exit_code_and_location(tmp_path, data_dir):
    bad = _mini_bundle(data_dir, tmp_path / "bad", [MARA])
    _edit_csv(bad / MARA, 3, "Open", "1,5")
    db = tmp_path / "cli.duckdb"
    res = CliRunner().invoke(app, ["--db", str(db), "ingest", str(bad)])
    assert res.exit_code == 2
    out = " ".join(res.output.split())
    assert "nothing was written. stocks/alpaca_iex_spooky/MARA.csv, row 5, field 'Open': not a number" in out
    with Store(db) as s:
        assert s.scalar("SELECT count(*) FROM prices_daily") == 0


def test_cli_ingest_missing_bundle_names_the_ways_forward(tmp_path):
    res = CliRunner().invoke(app, ["--db", str(tmp_path / "x.duckdb"), "ingest", str(tmp_path / "nope")])
    assert res.exit_code == 2
    out = " ".join(res.output.split())
    assert "HASHDESK_DATA" in out and "hashdesk sync" in out
