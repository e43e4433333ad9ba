"""Compiled loops of the scenario processes (numba): the per-step arithmetic of :mod:`hashdesk.scenario.paths`.

Each kernel does, per scenario and in one pass, what :mod:`hashdesk.scenario.paths` would otherwise
do one numpy call at a time: the same IEEE operations in the same order (no fast-math, no fused
multiply-add), so results are bit-identical to the numpy expressions they replace
(``tests/scenario/test_scen_path_kernels.py``). Random draws, ``exp``, ``log`` and ``**`` stay with
numpy in :mod:`hashdesk.scenario.paths` (same calls, same order, same dtype), so the random stream
and their rounding do not depend on numba. Compiled on first use and cached on disk (``cache=True``).

The AR(1) step kernels take the step's two float32 standard normals per scenario ``z`` (shape
``(2, n)``) and the Cholesky factor of :class:`~hashdesk.scenario.paths.StepMoments` already
scaled (``c11 = scale·l11``, ``c21 = scale·l21``, ``c22 = scale·l22``): the last-day noise is
``z₀·c11`` and the mean noise ``z₀·c21 + z₁·c22``, each product in float64
(:meth:`~hashdesk.scenario.paths.StepMoments.draw`).

References
----------
.. [1] Lam, S. K., Pitrou, A., Seibert, S. (2015). Numba: a LLVM-based Python JIT compiler.
   *Proc. LLVM-HPC '15*.
.. [2] Glasserman, P. (2003). *Monte Carlo Methods in Financial Engineering*, §3.2 (exact GBM step).
.. [3] Hamilton, J. D. (1994). *Time Series Analysis*, §3.4 (AR(1) moments).
.. [4] Künsch, H. R. (1989). The jackknife and the bootstrap for general stationary observations.
   *Annals of Statistics* 17(3) (moving-block bootstrap).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def gbm_step(z, c11, c21, c22, log_ratio, det, drift, out):  # pragma: no cover - compiled
    """A GBM step's log of the mean price ratio, before ``exp`` [dimensionless] [2]_.

    ``out = (z₀·c21 + z₁·c22 + L) + det`` and ``L ← (L + z₀·c11) + drift`` in place, with ``L``
    the log price ratio, ``det`` the step's deterministic log-mean term and ``drift = m·n`` (the
    drift of the step's days).
    """
    for i in range(log_ratio.shape[0]):
        z0 = np.float64(z[0, i])
        mean = z0 * c21
        mean += np.float64(z[1, i]) * c22
        lr = log_ratio[i]
        o = mean + lr
        o += det
        out[i] = o
        lr += z0 * c11
        lr += drift
        log_ratio[i] = lr


@njit(cache=True, nogil=True)
def ar1_step(z, c11, c21, c22, x, a_mean, a_end, const, slope, slope_c1, slope_c2, has_slope,
             rel):  # pragma: no cover - compiled
    """An AR(1) log-deviation's step mean plus constants, before ``exp`` [dimensionless] [3]_
    (the hashrate noise, and the fee level with ``const = −V/2`` and no slope).

    ``rel = (z₀·c21 + z₁·c22 + x·a_mean) + const`` then, when ``has_slope``,
    ``rel += slope·slope_c1`` and ``rel += slope·slope·slope_c2``; ``x ← x·a_end + z₀·c11`` in place.
    """
    for i in range(x.shape[0]):
        z0 = np.float64(z[0, i])
        r = z0 * c21
        r += np.float64(z[1, i]) * c22
        xi = x[i]
        r += xi * a_mean
        r += const
        if has_slope:
            s = slope[i]
            r += s * slope_c1
            r += s * s * slope_c2
        rel[i] = r
        xi *= a_end
        xi += z0 * c11
        x[i] = xi


@njit(cache=True, nogil=True)
def boot_gather(pos, off, cs, log_ratio, out):  # pragma: no cover - compiled
    """``out = L − C_q`` with ``q = pos + off`` (before ``exp``) [4]_."""
    for i in range(log_ratio.shape[0]):
        out[i] = log_ratio[i] - cs[pos[i] + off]


@njit(cache=True, nogil=True)
def boot_add(pos, off, m, cs, ce, e, log_ratio, total):  # pragma: no cover - compiled
    """``total += e·(E_{q+m} − E_q)`` and ``L += C_{q+m} − C_q`` with ``q = pos + off`` [4]_."""
    for i in range(log_ratio.shape[0]):
        q = pos[i] + off
        total[i] += e[i] * (ce[q + m] - ce[q])
        c_q = cs[q]
        log_ratio[i] += cs[q + m] - c_q


@njit(cache=True, nogil=True)
def shock_carry(carried, left, depth, rel, n_days):  # pragma: no cover - compiled
    """Apply the shocks carried into a step; returns how many rows still have days left.

    Per carried row ``r``: ``a = min(left, n_days)`` active days, ``rel[r] = (1 − depth·(a/n_days))·rel[r]``,
    ``left −= a``; rows whose shock ended get depth 0, the others are packed, in order, at the
    front of ``carried`` (the count is returned).
    """
    c = 0
    for j in range(carried.shape[0]):
        r = carried[j]
        days = left[r]
        active = days if days < n_days else np.int64(n_days)
        share = depth[r] * (active / n_days)
        share = 1.0 - share
        rel[r] = share * rel[r]
        days -= active
        left[r] = days
        if days == 0:
            depth[r] = 0.0
        else:
            carried[c] = r
            c += 1
    return c


@njit(cache=True, nogil=True)
def shock_new(u_rows, n, d, dur, u_start, n_days, rel, depth, left, keep, mark, stamp,
              new):  # pragma: no cover - compiled
    """Apply a step's new shocks, in draw order; returns how many rows join the carried ones.

    Shock ``j`` hits row ``⌊u_rows[j]·n⌋`` from day ``s = ⌊u_start[j]·n_days⌋`` for
    ``a = min(dur, n_days − s)`` days: ``rel[row] *= 1 − d·(a/n_days)``. Shocks with days left
    (``dur − a > 0``) combine per row as ``depth ← 1 − (1 − depth)·Π(1 − d)`` (the product in
    draw order, ``keep`` a scratch array) and ``left ← max(left, dur − a)`` in draw order; rows
    that had no days left are written to ``new``, sorted. ``mark``/``stamp`` flag a row's first
    carried shock of the step (``mark[row] == stamp``).
    """
    c = 0
    for j in range(d.shape[0]):
        r = np.int64(u_rows[j] * n)
        s = np.int64(u_start[j] * n_days)
        du = dur[j]
        room = n_days - s
        inside = du if du < room else room
        dj = d[j]
        rel[r] *= 1.0 - dj * (inside / n_days)
        rest = du - inside
        if rest > 0:
            if mark[r] != stamp:
                mark[r] = stamp
                keep[r] = 1.0 - depth[r]
                if left[r] == 0:
                    new[c] = r
                    c += 1
            keep[r] *= 1.0 - dj
            if rest > left[r]:
                left[r] = rest
    # depth of every row with a carried shock this step: 1 − keep (written once per row)
    for j in range(d.shape[0]):
        r = np.int64(u_rows[j] * n)
        if mark[r] == stamp:
            depth[r] = 1.0 - keep[r]
    if c > 1:
        new[:c] = np.sort(new[:c])
    return c


@njit(cache=True, nogil=True)
def capitulate(target, cost, kappa, mean_keep, end_keep, rel):  # pragma: no cover - compiled
    """Relax ``κ`` towards ``t = min(target/cost, 1)`` over a step and scale ``rel`` by its mean.

    ``g = κ − t``; ``rel ← rel·(g·mean_keep + t)``; ``κ ← g·end_keep + t`` in place (NaN targets
    propagate as in ``numpy.minimum``).
    """
    for i in range(rel.shape[0]):
        t = target[i] / cost
        if t > 1.0:
            t = 1.0
        g = kappa[i] - t
        kappa[i] = g * end_keep + t
        rel[i] = rel[i] * (g * mean_keep + t)


@njit(cache=True, nogil=True)
def response_record(z, ref, c):  # pragma: no cover - compiled
    """The supply response's deviation and reference after a step: ``z ← z − ref`` and ``ref += c·z``
    in place, with ``z = ln hp`` on entry and ``c = 1 − e^{−n/τ}``."""
    for i in range(z.shape[0]):
        zi = z[i] - ref[i]
        z[i] = zi
        ref[i] += c * zi


@njit(cache=True, nogil=True)
def response_step(z, gamma, half, n_days, off, rel):  # pragma: no cover - compiled
    """The supply response's log offset over a step: with ``s = z·γ`` [1/day],
    ``rel ← (rel + off) + s·half`` (``half = (n + 1)/2``, the offset at mid-step) and
    ``off += s·n_days`` in place."""
    for i in range(rel.shape[0]):
        s = z[i] * gamma
        r = rel[i] + off[i]
        r += s * half
        rel[i] = r
        off[i] += s * n_days
