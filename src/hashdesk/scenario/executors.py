"""Run a scenario spec in chunks: in this process, in a local process pool, or on Dask.

A run of ``N`` scenarios is cut into chunks of ``chunk_size`` (the last may be shorter); chunk
``i`` gets child ``i`` of ``numpy.random.SeedSequence(seed)``. Each chunk is simulated and reduced
to a fixed-size :class:`~hashdesk.scenario.summary.Partial` where it runs; partials are merged in
chunk order with at most ``window`` chunks in flight. So results are bit-identical for one
process, many processes or a Dask cluster, and memory does not grow with ``N``.

References
----------
.. [1] NumPy, "Parallel random number generation" (``SeedSequence.spawn``).
.. [2] Dask.distributed, ``Client`` and ``LocalCluster``.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from hashdesk.scenario.engine import ChunkResult, ScenarioSpec, simulate_chunk
from hashdesk.scenario.paths import ScenarioInputError
from hashdesk.scenario.summary import ScenarioSummary, finalize, reduce_chunk

#: Default scenarios per chunk: arrays of 128 KiB stay in L2 while numpy's per-call overhead is amortised
#: (16,384 runs ~15 % faster than 8,192 and ~as fast as 24,576 on the bench box; memory O(chunk)).
DEFAULT_CHUNK_SIZE: int = 16384
#: Seconds to wait for a Dask scheduler before giving up.
CONNECT_TIMEOUT_S: float = 5.0

Progress = Callable[[int, int], None]
#: A chunk reducer: ``reducer(spec, chunk_result, chunk_index) -> partial``, where the partial has
#: ``merge(other) -> partial`` (called in chunk order). It must be picklable (a module-level
#: function or an instance of a module-level class) to run in worker processes or on Dask.
Reducer = Callable[[ScenarioSpec, ChunkResult, int], Any]


class ExecutorError(RuntimeError):
    """The executor cannot run (e.g. unreachable Dask scheduler)."""


@dataclass(frozen=True)
class ChunkPlan:
    """Chunk sizes and child seeds of one run."""

    sizes: tuple[int, ...]
    seeds: tuple[np.random.SeedSequence, ...]

    @classmethod
    def make(cls, n_scenarios: int, seed: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> ChunkPlan:
        """Plan ``n_scenarios`` in chunks of ``chunk_size`` with one SeedSequence spawned per chunk."""
        if n_scenarios <= 0:
            raise ScenarioInputError(f"scenarios: must be >= 1, got {n_scenarios}")
        if chunk_size <= 0:
            raise ScenarioInputError(f"chunk_size: must be >= 1, got {chunk_size}")
        if seed < 0:
            raise ScenarioInputError(f"seed: must be >= 0, got {seed}")
        full, rest = divmod(n_scenarios, chunk_size)
        sizes = (chunk_size,) * full + ((rest,) if rest else ())
        return cls(sizes, tuple(np.random.SeedSequence(seed).spawn(len(sizes))))


def run_chunk(spec: ScenarioSpec, n: int, seed: np.random.SeedSequence, index: int,
              reducer: Reducer | None = None) -> Any:
    """Simulate and reduce one chunk (the unit of work sent to workers).

    With ``reducer`` None the chunk is reduced by :func:`~hashdesk.scenario.summary.reduce_chunk`
    (a :class:`~hashdesk.scenario.summary.Partial`), else by ``reducer(spec, result, index)``.
    """
    res = simulate_chunk(spec, n, seed)
    if reducer is None:
        return reduce_chunk(spec, res, keep_samples=index == 0)
    return reducer(spec, res, index)


def _ordered(submit: Callable[[int], object], result: Callable[[object], Any], n_chunks: int,
             window: int, progress: Progress | None) -> Any:
    """Merge chunk results in index order with at most ``window`` outstanding."""
    pending = {i: submit(i) for i in range(min(window, n_chunks))}
    merged: Any = None
    for i in range(n_chunks):
        part = result(pending.pop(i))
        nxt = i + window
        if nxt < n_chunks:
            pending[nxt] = submit(nxt)
        merged = part if merged is None else merged.merge(part)
        if progress is not None:
            progress(i + 1, n_chunks)
    assert merged is not None
    return merged


def run_local(spec: ScenarioSpec, plan: ChunkPlan, workers: int = 1, progress: Progress | None = None,
              reducer: Reducer | None = None) -> Any:
    """Run in this process (``workers=1``) or a local process pool; the merged partial."""
    n = len(plan.sizes)
    if workers <= 1:
        return _ordered(lambda i: i, lambda i: run_chunk(spec, plan.sizes[i], plan.seeds[i], i, reducer),
                        n, 1, progress)
    fork = "fork" in multiprocessing.get_all_start_methods()
    if fork:  # compile (or load from numba's cache) the engine's loops once, here: the workers inherit them
        simulate_chunk(spec, 1, np.random.SeedSequence(0))
    ctx = multiprocessing.get_context("fork" if fork else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        return _ordered(
            lambda i: pool.submit(run_chunk, spec, plan.sizes[i], plan.seeds[i], i, reducer),
            lambda fut: fut.result(),
            n,
            2 * workers,
            progress,
        )


def require_dask() -> None:
    """Check that Dask's ``distributed`` is installed (an optional extra).

    Raises
    ------
    ExecutorError
        Naming the extra to install when it is missing.
    """
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:
        raise ExecutorError(
            f"--executor dask needs Dask ({exc.name} is not installed): "
            "pip install 'hashdesk[dask]' (or use --executor local)") from exc


def connect_dask(scheduler: str | None, timeout_s: float = CONNECT_TIMEOUT_S):
    """Connect to a Dask scheduler, or start a LocalCluster when ``scheduler`` is None.

    Raises
    ------
    ExecutorError
        When Dask is not installed, or the scheduler cannot be reached within ``timeout_s``.
    """
    require_dask()
    from distributed import Client

    if scheduler is None:
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(scheduler, timeout=f"{timeout_s}s"), None
    except (OSError, TimeoutError) as exc:
        raise ExecutorError(
            f"cannot reach the Dask scheduler at {scheduler!r} within {timeout_s:g} s "
            f"({type(exc).__name__}: {exc}); start one with `dask scheduler` or drop --scheduler"
        ) from exc


def run_dask(spec: ScenarioSpec, plan: ChunkPlan, client, progress: Progress | None = None,
             reducer: Reducer | None = None) -> Any:
    """Run the chunks on a Dask ``Client`` (spec scattered once, partials merged in order)."""
    spec_f = client.scatter(spec, broadcast=True)
    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    return _ordered(
        lambda i: client.submit(run_chunk, spec_f, plan.sizes[i], plan.seeds[i], i, reducer, pure=False),
        lambda fut: fut.result(),
        len(plan.sizes),
        2 * n_workers,
        progress,
    )


def simulate(
    spec: ScenarioSpec,
    n_scenarios: int,
    seed: int = 0,
    executor: str = "local",
    workers: int = 1,
    scheduler: str | None = None,
    client=None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | None = None,
    models: dict | None = None,
) -> ScenarioSummary:
    """Run ``n_scenarios`` of ``spec`` and summarise them.

    Parameters
    ----------
    spec : ScenarioSpec
    n_scenarios : int
    seed : int
        Root of the run's ``SeedSequence``; same seed and chunk size → same result on any executor.
    executor : {"local", "dask"}
    workers : int
        Local processes (``executor="local"``).
    scheduler : str, optional
        Dask scheduler address; None starts a LocalCluster (``executor="dask"``).
    client : distributed.Client, optional
        An existing client (overrides ``scheduler``).
    chunk_size : int
        Scenarios per chunk; part of the result's identity (with the seed).
    progress : callable, optional
        ``progress(done_chunks, total_chunks)`` after each merged chunk.
    models : dict, optional
        Descriptions of the models, copied into the summary.

    Returns
    -------
    ScenarioSummary
    """
    part = run_reduced(spec, n_scenarios, None, seed=seed, executor=executor, workers=workers,
                       scheduler=scheduler, client=client, chunk_size=chunk_size, progress=progress)
    return finalize(spec, part, seed, models or {})


def run_reduced(
    spec: ScenarioSpec,
    n_scenarios: int,
    reducer: Reducer | None,
    seed: int = 0,
    executor: str = "local",
    workers: int = 1,
    scheduler: str | None = None,
    client=None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | None = None,
) -> Any:
    """Run ``n_scenarios`` of ``spec`` and merge each chunk's ``reducer`` output in chunk order.

    The chunks and their seeds are those of :func:`simulate` (same ``seed`` and ``chunk_size`` →
    the same scenarios), so two runs with different reducers see identical scenarios (paired),
    and the merged result is bit-identical for one process, many processes or Dask.

    Parameters
    ----------
    spec : ScenarioSpec
    n_scenarios : int
    reducer : callable or None
        :data:`Reducer`; None reduces to the :class:`~hashdesk.scenario.summary.Partial` of
        :func:`simulate`.
    seed, executor, workers, scheduler, client, chunk_size, progress
        As for :func:`simulate`.

    Returns
    -------
    object
        The merged partial.
    """
    plan = ChunkPlan.make(n_scenarios, seed, chunk_size)
    if executor == "local":
        return run_local(spec, plan, workers, progress, reducer)
    if executor == "dask":
        cluster = None
        owned = client is None
        if owned:
            client, cluster = connect_dask(scheduler)
        try:
            return run_dask(spec, plan, client, progress, reducer)
        finally:
            if owned:
                client.close()
                if cluster is not None:
                    cluster.close()
    raise ScenarioInputError(f"executor: {executor!r} is not one of local, dask")
