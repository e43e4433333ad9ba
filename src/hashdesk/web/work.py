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

With ``processes=True`` (the server's setting) each pool's computations run in worker processes
(spawned, each with its own read-only :class:`~hashdesk.desk.Desk` on the store), so a Monte
Carlo run never holds the server's GIL: the event loop stays free for health, pages and cache
hits. Work is then given as a :class:`Job` (a module-level function and its arguments).

The store is held read-only for the server's life (DuckDB's lock keeps writers out), so a
cached panel cannot go stale while the server runs.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import (
    BrokenExecutor,
    CancelledError,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
)
from dataclasses import dataclass, field
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
#: The computing routes' paths and their route class (for the early 503, before routing).
ROUTE_OF_PATH: dict[str, str] = {
    "/api/v1/scenarios": "scenarios",
    "/api/v1/forward": "scenarios",
    "/api/v1/brief": "brief",
    "/api/v1/network": "panel",
    "/api/v1/miners": "panel",
    "/api/v1/markets": "panel",
    "/api/v1/hpc": "panel",
}
#: Raw query strings remembered with their cache key, for the early 503's cache check.
RAW_KEYS = 4096


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


@dataclass(frozen=True)
class Job:
    """A computation that can run in another process: ``func(desk, **kwargs) -> dict`` (JSON)."""

    func: Callable[..., dict[str, Any]]
    kwargs: dict[str, Any] = field(default_factory=dict)


#: How a worker finds its desk: set per process by :func:`_init_process`, or by the app in
#: thread mode (:meth:`Panels.__init__` ``desk_for``).
_DESK_FOR: Callable[[], Any] | None = None


#: CPU priority given to worker processes (``os.nice`` increment): the server's own process,
#: which answers health, pages and cache hits, wins the CPU over a Monte Carlo run.
WORKER_NICE = 10


def _init_process(db_path: str) -> None:
    """Worker-process initializer: lower CPU priority, one read-only desk on the store."""
    global _DESK_FOR
    import os

    from hashdesk.desk import Desk

    try:
        os.nice(WORKER_NICE)
    except (AttributeError, OSError):  # no nice on this platform: run at normal priority
        pass

    desk = Desk(db_path)
    _DESK_FOR = lambda: desk  # noqa: E731


def _ping() -> int:
    import os

    return os.getpid()


def execute(build: Job | Callable[[], dict[str, Any]], model: type[BaseModel],
            also: Callable[[dict[str, Any]], Iterable[tuple[str, Hashable, bytes]]] | None,
            desk_for: Callable[[], Any] | None = None) -> tuple[bytes, list]:
    """Run a computation and render it: ``(body, extra answers)`` (in a worker thread or process)."""
    if isinstance(build, Job):
        get = desk_for or _DESK_FOR
        if get is None:
            raise RuntimeError("no desk for this worker (Panels needs desk_for in thread mode)")
        raw = build.func(get(), **build.kwargs)
    else:
        raw = build()
    body = model.model_validate(raw).model_dump_json().encode()
    return body, list(also(raw)) if also is not None else []


class Pool:
    """``workers`` threads (or processes) with at most ``workers + queue`` requests in flight."""

    def __init__(self, name: str, limit: Limit, db_path: str | None = None):
        self.name, self.limit = name, limit
        self.db_path = db_path
        self.processes = db_path is not None
        self.executor = self._executor()
        self._lock = threading.Lock()
        self.in_flight = 0
        self.rejected = 0

    def _executor(self):
        if self.processes:
            import multiprocessing

            return ProcessPoolExecutor(self.limit.workers, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_init_process, initargs=(str(self.db_path),))
        return ThreadPoolExecutor(self.limit.workers, thread_name_prefix=f"hashdesk-{self.name}")

    def submit(self, fn, *args) -> Future:
        """Submit to the pool; a process pool whose worker died (broken) is replaced first."""
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self.executor.submit(fn, *args)
        except BrokenProcessPool:
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = self._executor()
            return self.executor.submit(fn, *args)

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

    def __init__(self, limits: dict[str, Limit] | None = None, *, processes_db: str | None = None,
                 desk_for: Callable[[], Any] | None = None):
        """``processes_db``: run each pool in worker processes on this store (read-only);
        else threads, which get their desk from ``desk_for``."""
        self.desk_for = desk_for
        self.pools = {name: Pool(name, lim, processes_db) for name, lim in (limits or LIMITS).items()}
        self._pinned: dict[Hashable, bytes] = {}
        self._lru: dict[str, OrderedDict[Hashable, bytes]] = {name: OrderedDict() for name in self.pools}
        self._running: dict[Hashable, Future] = {}
        self._waiters: dict[Hashable, int] = {}
        self._raw: OrderedDict[tuple[str, bytes], Hashable] = OrderedDict()
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

    def _start(self, route: str, key: Hashable, build: Job | Callable[[], dict[str, Any]],
               model: type[BaseModel], pin: bool = False,
               also: Callable[[dict[str, Any]], Iterable[tuple[str, Hashable, bytes]]] | None = None) -> Future:
        """The running computation for ``key``, started in ``route``'s pool if none is (Busy when
        full). Its result is ``(body, extras)``; both are cached when it completes."""
        with self._lock:
            fut = self._running.get(key)
            if fut is not None:
                return fut
        pool = self.pools[route]
        if not pool.try_acquire():
            raise Busy(route, pool.limit.retry_after_s)

        def done(f: Future) -> None:
            pool.release()
            if not f.cancelled() and f.exception() is None:
                body, extras = f.result()
                self.put(route, key, body, pin=pin)
                for r, k, b in extras:
                    self.put(r, k, b, pin=pin)
            with self._lock:
                if self._running.get(key) is f:
                    del self._running[key]

        with self._lock:
            fut = self._running.get(key)
            if fut is not None:  # another request started it meanwhile
                pool.release()
                return fut
            try:
                if pool.processes:
                    if not isinstance(build, Job):
                        raise TypeError("a worker process needs a Job, not a closure")
                    fut = pool.submit(execute, build, model, also)
                else:
                    fut = pool.submit(execute, build, model, also, self.desk_for)
            except BaseException:
                pool.release()
                raise
            self._running[key] = fut
        fut.add_done_callback(done)
        return fut

    def prestart(self) -> None:
        """Start the worker processes now (their imports take a second or two), not on first use."""
        for pool in self.pools.values():
            if pool.processes:
                for _ in range(pool.limit.workers):
                    pool.submit(_ping)

    def early_busy(self, path: str, raw_query: bytes) -> Busy | None:
        """Before any routing or validation: Busy when ``path``'s pool is full and this exact
        query is neither cached nor being computed (so a flood of new keys costs the server
        almost nothing per request); None to handle the request normally."""
        route = ROUTE_OF_PATH.get(path)
        if route is None:
            return None
        pool = self.pools[route]
        if pool.in_flight < pool.limit.workers + pool.limit.queue:
            return None
        with self._lock:
            key = self._raw.get((path, raw_query))
        if key is not None and (self.get(key) is not None or key in self._running):
            return None
        with pool._lock:
            pool.rejected += 1
        return Busy(route, pool.limit.retry_after_s)

    def _remember(self, request: Request, key: Hashable) -> None:
        raw = (request.url.path, request.scope.get("query_string", b""))
        with self._lock:
            self._raw[raw] = key
            self._raw.move_to_end(raw)
            while len(self._raw) > RAW_KEYS:
                self._raw.popitem(last=False)

    async def respond(self, request: Request, route: str, key: Hashable,
                      build: Job | Callable[[], dict[str, Any]],
                      model: type[BaseModel],
                      also: Callable[[dict[str, Any]], Iterable[tuple[str, Hashable, bytes]]] | None = None,
                      ) -> Response:
        """Answer from the cache, else compute in ``route``'s pool (503 when it is full).

        Responses say ``X-Hashdesk-Cache: hit`` or ``miss``. A client that disconnects while
        its computation is still queued (and no one else waits for it) cancels it.
        """
        hit = self.get(key)
        if hit is not None:
            self._remember(request, key)
            return Response(hit, media_type="application/json", headers={"X-Hashdesk-Cache": "hit"})
        try:
            fut = self._start(route, key, build, model, also=also)
            self._remember(request, key)
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
            body = waiting.result()[0]
        except (asyncio.CancelledError, CancelledError):
            return busy_response(Busy(route, self.pools[route].limit.retry_after_s))
        except NotFound as exc:
            return JSONResponse({"error": str(exc), "status": 404}, status_code=404)
        except BrokenExecutor:  # its worker process died (the pool is replaced on next use)
            return busy_response(Busy(route, self.pools[route].limit.retry_after_s))
        return Response(body, media_type="application/json", headers={"X-Hashdesk-Cache": "miss"})

    def warm(self, jobs: Iterable[tuple[str, Hashable, Any, type[BaseModel], Any]]) -> None:
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
                    body, extras = fut.result()
                except CancelledError:
                    continue
                except Exception as exc:  # noqa: BLE001 - a failed warm-up leaves the panel to compute on demand
                    self.warm_error = f"{key}: {type(exc).__name__}: {exc}"
                    break
                self.put(route, key, body, pin=True)  # a request may have started it unpinned
                for r, k, b in extras:
                    self.put(r, k, b, pin=True)
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
