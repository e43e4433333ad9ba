"""Block-level reference sampler: one exponential per block (tests and benchmarks only)."""

from __future__ import annotations

import numpy as np

from hashdesk.chain.consensus import block_work, next_work_required


def reference_epochs(
    n: int, n_epochs: int, bits0: int, t0_unix: int, hashrate_hs_per_day: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate ``n`` chains block by block from the first block of an epoch.

    Hashrate is piecewise constant per day (``hashrate_hs_per_day[d]`` on day ``d``); every block
    needs Exp(work(T)) hashes; cumulative hashes map to time by inverting the integrated path;
    retargets use :func:`next_work_required` on floored integer timestamps.

    Returns
    -------
    last_time_s : (n, n_epochs) float — time of each epoch's last block since t0 [s]
    bits : (n, n_epochs) int — bits of each epoch (column 0 = ``bits0``)
    """
    rng = np.random.default_rng(seed)
    h = np.asarray(hashrate_hs_per_day, dtype=np.float64)
    grid_t = np.arange(h.size + 1) * 86_400.0
    grid_c = np.concatenate([[0.0], np.cumsum(h * 86_400.0)])
    last = np.zeros((n, n_epochs))
    bits_out = np.zeros((n, n_epochs), dtype=np.int64)
    c0 = np.zeros(n)
    bits = [bits0] * n
    for e in range(n_epochs):
        w = np.array([float(block_work(b)) for b in bits])
        c = c0[:, None] + np.cumsum(rng.exponential(size=(n, 2016)), axis=1) * w[:, None]
        first_t = np.interp(c[:, 0], grid_c, grid_t)
        last_t = np.interp(c[:, -1], grid_c, grid_t)
        last[:, e] = last_t
        bits_out[:, e] = bits
        bits = [
            next_work_required(b, t0_unix + int(np.floor(f)), t0_unix + int(np.floor(la)))
            for b, f, la in zip(bits, first_t, last_t, strict=True)
        ]
        c0 = c[:, -1]
    return last, bits_out
