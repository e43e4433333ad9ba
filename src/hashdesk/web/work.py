"""Bounded work for the dashboard: per-route pools, immediate 503s, caches that cannot be flooded.

Every panel is computed off the event loop in the pool of its route class (:data:`LIMITS`):
``workers`` threads and at most ``queue`` requests waiting for one. A request beyond that gets
``503 Service Unavailable`` with ``Retry-After`` at once, so a burst of expensive requests
cannot hold up anything else. Cheap routes (health, pages, static files, cached panels) never
enter a pool: a cached panel is answered from memory on the event loop.

Caches: panels the server precomputes at start-up (:meth:`Panels.warm`) are pinned and never
evicted; other answers live in a bounded LRU per route class, so a caller cycling through
random seeds can only evict scenario answers, never the network or brief panels. Concurrent
requests for one key share one computation. A client that goes away before its computation
starts cancels it (a computation already running finishes and is cached).

The store is held read-only for the server's life (DuckDB's lock keeps writers out), so a
cached panel cannot go stale while the server runs.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel


@dataclass(frozen=True)
class Limit:
    """Concurrency of one route class: threads computing, requests allowed to wait, cache size."""

    workers: int
    queue: int
    cache: int
    retry_after_s: int


#: Route classes and their limits. ``scenarios`` and ``brief`` are the heavy ones (seconds per
#: uncached request); ``panel`` covers network, miners, markets and hpc.
LIMITS: dict[str, Limit] = {
    "scenarios": Limit(workers=1, queue=1, cache=32, retry_after_s=5),
    "brief": Limit(workers=1, queue=2, cache=24, retry_after_s=10),
    "panel": Limit(workers=2, queue=4, cache=128, retry_after_s=2),
}
#: How often a waiting request checks whether its client went away [s].
DISCONNECT_POLL_S = 0.25


class NotFound(Exception):
    """A computation found nothing to answer with (404, with the message); never cached."""


class Busy(Exception):
    """The route class is at its limit (answered with 503 and ``Retry-After``)."""

    def __init__(self, route: str, retry_after_s: int):
        super().__init__(f"{route}: busy, retry in {retry_after_s} s")
        self.route, self.retry_after_s = route, retry_after_s


def busy_response(exc: Busy) -> JSONResponse:
    """The 503 for a full pool: JSON error and ``Retry-After`` [s]."""
    return JSONResponse(
        {"error": f"the server is busy computing {exc.route} requests; retry in {exc.retry_after_s} s",
         "status": 503},
        status_code=503, headers={"Retry-After": str(exc.retry_after_s)},
    )


class Pool:
    """``workers`` threads with at most ``workers + queue`` requests in flight."""

    def __init__(self, name: str, limit: Limit):
        self.name, self.limit = name, limit
        self.executor = ThreadPoolExecutor(limit.workers, thread_name_prefix=f"hashdesk-{name}")
        self._lock = threading.Lock()
        self.in_flight = 0
        self.rejected = 0

    def try_acquire(self) -> bool:
        with self._lock:
            if self.in_flight >= self.limit.workers + self.limit.queue:
                self.rejected += 1
                return False
            self.in_flight += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


class Panels:
    """Rendered panel JSON by key: pinned precomputed answers, bounded LRUs, shared computations."""

    def __init__(self, limits: dict[str, Limit] | None = None):
        self.pools = {name: Pool(name, lim) for name, lim in (limits or LIMITS).items()}
        self._pinned: dict[Hashable, bytes] = {}
        self._lru: dict[str, OrderedDict[Hashable, bytes]] = {name: OrderedDict() for name in self.pools}
        self._running: dict[Hashable, Future] = {}
        self._waiters: dict[Hashable, int] = {}
        self._lock = threading.Lock()
        self.warm_total = 0
        self.warm_done = 0
        self.warm_error: str | None = None
        self.closed = False

    # -- cache ------------------------------------------------------------------------------

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            hit = self._pinned.get(key)
            if hit is not None:
                return hit
            for lru in self._lru.values():
                hit = lru.get(key)
                if hit is not None:
                    lru.move_to_end(key)
                    return hit
        return None

    def put(self, route: str, key: Hashable, body: bytes, pin: bool = False) -> None:
        with self._lock:
            if pin:
                self._pinned[key] = body
                self._lru[route].pop(key, None)
                return
            if key in self._pinned:
                return
            lru = self._lru[route]
            lru[key] = body
            lru.move_to_end(key)
            while len(lru) > self.pools[route].limit.cache:
                lru.popitem(last=False)

    def sizes(self) -> dict[str, int]:
        with self._lock:
            return {"pinned": len(self._pinned), **{k: len(v) for k, v in self._lru.items()}}

    # -- computing --------------------------------------------------------------------------

    def _start(self, route: str, key: Hashable, build: Callable[[], dict[str, Any]],
               model: type[BaseModel], pin: bool = False,
               also: Callable[[dict[str, Any]], Iterable[tuple[str, Hashable, bytes]]] | None = None) -> Future:
        """The running computation for ``key``, started in ``route``'s pool if none is (Busy when full)."""
        with self._lock:
            fut = self._running.get(key)
            if fut is not None:
                return fut
        pool = self.pools[route]
        if not pool.try_acquire():
            raise Busy(route, pool.limit.retry_after_s)

        def run() -> bytes:
            raw = build()
            body = model.model_validate(raw).model_dump_json().encode()
            self.put(route, key, body, pin=pin)
            if also is not None:
                for r, k, b in also(raw):
                    self.put(r, k, b, pin=pin)
            return body

        def done(f: Future) -> None:
            pool.release()
            with self._lock:
                if self._running.get(key) is f:
                    del self._running[key]
            if not f.cancelled():
                f.exception()  # retrieved here, so an unawaited failure is not logged as lost

        with self._lock:
            fut = self._running.get(key)
            if fut is not None:  # another request started it meanwhile
                pool.release()
                return fut
            fut = pool.executor.submit(run)
            self._running[key] = fut
        fut.add_done_callback(done)
        return fut

    async def respond(self, request: Request, route: str, key: Hashable, build: Callable[[], dict[str, Any]],
                      model: type[BaseModel],
                      also: Callable[[dict[str, Any]], Iterable[tuple[str, Hashable, bytes]]] | None = None,
                      ) -> Response:
        """Answer from the cache, else compute in ``route``'s pool (503 when it is full).

        Responses say ``X-Hashdesk-Cache: hit`` or ``miss``. A client that disconnects while
        its computation is still queued (and no one else waits for it) cancels it.
        """
        hit = self.get(key)
        if hit is not None:
            return Response(hit, media_type="application/json", headers={"X-Hashdesk-Cache": "hit"})
        try:
            fut = self._start(route, key, build, model, also=also)
        except Busy as exc:
            return busy_response(exc)
        with self._lock:
            self._waiters[key] = self._waiters.get(key, 0) + 1
        try:
            waiting = asyncio.wrap_future(fut)
            while True:
                done, _ = await asyncio.wait({waiting}, timeout=DISCONNECT_POLL_S)
                if done:
                    break
                if await request.is_disconnected():
                    with self._lock:
                        alone = self._waiters.get(key, 0) <= 1
                    if alone:
                        fut.cancel()  # only succeeds while it is still queued
                    return Response(status_code=499)
        finally:
            with self._lock:
                self._waiters[key] -= 1
                if not self._waiters[key]:
                    del self._waiters[key]
        try:
            body = waiting.result()
        except (asyncio.CancelledError, CancelledError):
            return busy_response(Busy(route, self.pools[route].limit.retry_after_s))
        except NotFound as exc:
            return JSONResponse({"error": str(exc), "status": 404}, status_code=404)
        return Response(body, media_type="application/json", headers={"X-Hashdesk-Cache": "miss"})

    def warm(self, jobs: Iterable[tuple[str, Hashable, Callable[[], dict[str, Any]], type[BaseModel], Any]]) -> None:
        """Precompute and pin ``(route, key, build, model, also)`` jobs one after another (blocking).

        Meant for a background thread at start-up; waits for a free slot instead of failing,
        and records progress in ``warm_done`` / ``warm_total``.
        """
        import time

        jobs = list(jobs)
        self.warm_total = len(jobs)
        for route, key, build, model, also in jobs:
            while not self.closed:
                if self.get(key) is not None and key in self._pinned:
                    break
                try:
                    fut = self._start(route, key, build, model, pin=True, also=also)
                except Busy:
                    time.sleep(0.2)
                    continue
                except RuntimeError:  # the pools were shut down: the server is stopping
                    return
                try:
                    body = fut.result()
                except CancelledError:
                    continue
                except Exception as exc:  # noqa: BLE001 - a failed warm-up leaves the panel to compute on demand
                    self.warm_error = f"{key}: {type(exc).__name__}: {exc}"
                    break
                self.put(route, key, body, pin=True)  # a request may have started it unpinned
                break
            self.warm_done += 1

    @property
    def warm_state(self) -> str:
        """``"done"``, ``"running"`` or ``"off"``."""
        if not self.warm_total:
            return "off"
        return "done" if self.warm_done >= self.warm_total else "running"

    def status(self) -> dict[str, Any]:
        """Pools' in-flight and rejected counts, cache sizes and the warm-up's progress."""
        return {
            "pools": {n: {"in_flight": p.in_flight, "limit": p.limit.workers + p.limit.queue,
                          "rejected": p.rejected} for n, p in self.pools.items()},
            "cache": self.sizes(),
            "precompute": {"state": self.warm_state, "done": self.warm_done, "total": self.warm_total,
                           "error": self.warm_error},
        }

    def shutdown(self) -> None:
        self.closed = True
        for p in self.pools.values():
            p.shutdown()
