"""The write lock is held only while writing: readers open the store while sync waits.

DuckDB lets one process write, and no other process open the file meanwhile (not even
read-only). Sync therefore opens the store read-only for its reads and for writing only while a
validated batch is committed. While it waits on a slow source, another process (here a real
subprocess, as ``hashdesk info`` / ``serve`` / ``network`` would be) opens the store read-only
and sees every batch committed so far.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from tests.sources.regtest_server import regtest_chain, sync_regtest

import hashdesk
from hashdesk.store import Store

T0 = 1_767_052_800  # 2025-12-30 00:00 UTC
READER = (
    "import sys\n"
    "from hashdesk.store import Store\n"
    "with Store(sys.argv[1], read_only=True) as s:\n"
    "    print(s.scalar('SELECT count(*) FROM blocks'))\n"
)


def read_in_another_process(path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(hashdesk.__file__).parents[1])}
    return subprocess.run([sys.executable, "-c", READER, str(path)], env=env, capture_output=True,
                          text=True, timeout=120)


def _sync_waiting_on_second_batch(server, run):
    """Run ``run()`` in a thread; block the source's answer for the second batch until released.

    Returns (what the reader saw while sync waited, the sync's outcome).
    """
    waiting, release = threading.Event(), threading.Event()

    def slow(p: str) -> None:
        if p == "/v1/blocks/29":  # mempool pages of 15: blocks 15..29 are the second batch
            waiting.set()
            release.wait(60)
    server.gate = slow
    outcome: list = []

    def target() -> None:
        try:
            outcome.append(run())
        except Exception as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)
    t = threading.Thread(target=target)
    t.start()
    try:
        assert waiting.wait(60), "sync never asked for the second batch"
        seen = read_in_another_process(server.path)
    finally:
        release.set()
        t.join(60)
    return seen, outcome[0]


def test_src_readers_open_the_store_while_sync_waits_on_a_slow_source(regtest_esplora, tmp_path):
    chain = regtest_chain(30, start_time=T0)
    server = regtest_esplora(chain)
    server.path = tmp_path / "lock.duckdb"
    Store(server.path).close()
    seen, rep = _sync_waiting_on_second_batch(
        server, lambda: sync_regtest(server.path, server.url, from_height=0, batch_size=15))
    assert seen.returncode == 0, seen.stderr
    assert seen.stdout.split() == ["15"]  # the first batch, committed before the wait
    assert rep.blocks_written == 30 and rep.batches == 2
    with Store(server.path, read_only=True) as s:
        assert s.scalar("SELECT count(*) FROM blocks") == 30


def test_src_holding_an_open_store_would_lock_readers_out(regtest_esplora, tmp_path):
    """Control: the same wait with the writer held open throughout (an open Store passed in)."""
    from hashdesk.sources.base import HttpClient, RetryPolicy
    from hashdesk.sources.esplora import EsploraSource
    from hashdesk.store.chainsync import REGTEST, sync_chain

    chain = regtest_chain(30, start_time=T0)
    server = regtest_esplora(chain)
    server.path = tmp_path / "held.duckdb"
    store = Store(server.path)
    src = EsploraSource(HttpClient(server.url, RetryPolicy(max_retries=0)), flavor="mempool")
    try:
        seen, rep = _sync_waiting_on_second_batch(
            server, lambda: sync_chain(store, src, params=REGTEST, from_height=0, batch_size=15))
    finally:
        store.close()
    assert seen.returncode != 0 and "lock" in seen.stderr.lower()
    assert rep.blocks_written == 30
