"""Foundation benchmarks: header verification and bundle ingest, each against a baseline run
in the same process. Results are printed as ratios (ours / baseline); nothing is asserted on time.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from hashdesk.chain.headers import parse_header, verify_header
from hashdesk.config import default_data_dir
from hashdesk.store import Store
from hashdesk.store.ingest import ingest_bundle

DATA = default_data_dir()
pytestmark = pytest.mark.skipif(not (DATA / "btc_retarget_headers_bitcoinj.csv").exists(), reason="no bundle")


@pytest.fixture(scope="module")
def raw_headers() -> list[bytes]:
    df = pd.read_csv(DATA / "btc_retarget_headers_bitcoinj.csv")
    return [bytes.fromhex(h) for h in df.header_hex]


def test_header_verification_vs_bare_double_sha(benchmark, raw_headers, baseline_time):
    """Parse + PoW check of the 436 bundled headers vs a bare hashlib double-SHA256 loop."""

    def ours():
        for raw in raw_headers:
            verify_header(parse_header(raw))

    def baseline():
        for raw in raw_headers:
            hashlib.sha256(hashlib.sha256(raw).digest()).digest()

    benchmark(ours)
    base = baseline_time(baseline, repeat=50)
    ratio = benchmark.stats.stats.median / base
    print(f"\n[bench] header verification: {ratio:.1f}x a bare double-SHA256 loop "
          f"({benchmark.stats.stats.median * 1e6 / len(raw_headers):.2f} us/header)")


def test_bundle_ingest_vs_duckdb_read_csv(benchmark, tmp_path_factory, baseline_time):
    """Full validated ingest of the bundle vs DuckDB's own read_csv of the same CSV files."""
    csvs = sorted(Path(DATA).rglob("*.csv"))

    def ours():
        path = tmp_path_factory.mktemp("ing") / "b.duckdb"
        with Store(path) as s:
            ingest_bundle(s, DATA)

    def baseline():
        con = duckdb.connect(str(tmp_path_factory.mktemp("raw") / "raw.duckdb"))
        for i, f in enumerate(csvs):
            con.execute(f"CREATE TABLE t{i} AS SELECT * FROM read_csv('{f}')").fetchall()
        con.close()

    benchmark.pedantic(ours, rounds=3, iterations=1)
    base = baseline_time(baseline, repeat=3)
    ratio = benchmark.stats.stats.median / base
    print(f"\n[bench] bundle ingest (validate + load, {len(csvs)} CSVs): {ratio:.1f}x DuckDB read_csv "
          f"({benchmark.stats.stats.median:.2f} s vs {base:.2f} s)")
