"""Load run of the dashboard on loopback: 50 concurrent clients, p99 latency and error rate.

``hashdesk serve`` runs in its own process (so the load generator does not share its GIL) on a
store built from the reference bundle. A small asyncio + httpx load generator keeps 50 clients
busy (closed loop: each sends its next request when the last one answered), bounded by a
request count and a time limit. The baseline in the same run is the cheapest route
(``/api/v1/health``: one store query); the dashboard routes are reported against it as ratios.
Nothing is asserted on time; p99 and the error rate are printed.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from hashdesk.config import default_data_dir

DATA = default_data_dir()
pytestmark = pytest.mark.skipif(not (DATA / "btc_epoch_targets_electrum.csv").exists(), reason="no bundle")

#: Concurrent clients.
CLIENTS = 50
#: Requests per route and its time limit [s].
REQUESTS, TIME_LIMIT_S = 2000, 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from hashdesk.store import Store
    from hashdesk.store.ingest import ingest_bundle

    db = tmp_path_factory.mktemp("web") / "bundle.duckdb"
    with Store(db) as store:
        ingest_bundle(store, DATA)
    port = _free_port()
    env = {**os.environ, "HASHDESK_DB": str(db)}
    env.pop("HASHDESK_TOKEN", None)
    exe = Path(sys.executable).with_name("hashdesk")
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"hashdesk serve did not start: {proc.stderr.read().decode()[-500:]}")
        time.sleep(0.2)
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


async def _load(url: str, clients: int, total: int, limit_s: float) -> tuple[np.ndarray, int, int]:
    """Closed-loop load: ``clients`` workers share ``total`` requests; returns latencies [s],
    errors (non-200 or transport failure) and requests sent."""
    latencies: list[float] = []
    errors = 0
    sent = 0
    stop = time.perf_counter() + limit_s
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:

        async def worker() -> None:
            nonlocal errors, sent
            while sent < total and time.perf_counter() < stop:
                sent += 1
                t0 = time.perf_counter()
                try:
                    r = await client.get(url)
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - t0)
                errors += not ok

        await asyncio.gather(*(worker() for _ in range(clients)))
    return np.asarray(latencies), errors, sent


def _run(url: str, total: int = REQUESTS) -> dict:
    t0 = time.perf_counter()
    lat, errors, sent = asyncio.run(_load(url, CLIENTS, total, TIME_LIMIT_S))
    wall = time.perf_counter() - t0
    return {
        "requests": sent,
        "p50_ms": float(np.percentile(lat, 50) * 1e3),
        "p99_ms": float(np.percentile(lat, 99) * 1e3),
        "error_rate": errors / max(sent, 1),
        "rps": sent / wall,
    }


#: Routes under load: the baseline first, then what the dashboard pages call.
ROUTES = {
    "health (baseline)": "/api/v1/health",
    "page /network (HTML shell)": "/network",
    "static hashdesk.js": "/static/hashdesk.js",
    "api /profiles": "/api/v1/profiles",
    "api /network panel": "/api/v1/network?month=2024-01",
}


def test_web_load_50_clients(benchmark, server):
    results = {}

    def run_all():
        for name, path in ROUTES.items():
            total = REQUESTS if "panel" not in name else 100
            results[name] = _run(server + path, total)

    benchmark.pedantic(run_all, rounds=1, iterations=1)
    base = results["health (baseline)"]["p99_ms"]
    print(f"\nload on loopback: {CLIENTS} concurrent clients, closed loop, limit {TIME_LIMIT_S:.0f} s per route")
    print(f"{'route':32s} {'requests':>8s} {'p50 [ms]':>9s} {'p99 [ms]':>9s} {'errors':>7s} {'req/s':>7s} {'p99/baseline':>12s}")
    for name, r in results.items():
        print(f"{name:32s} {r['requests']:8d} {r['p50_ms']:9.1f} {r['p99_ms']:9.1f} "
              f"{100 * r['error_rate']:6.2f}% {r['rps']:7.0f} {r['p99_ms'] / base:12.2f}")
    print("target: p99 < 50 ms, 0 errors")
