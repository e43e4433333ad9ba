"""Compiled loops of the scenario engine (numba): the engine's per-step bookkeeping in one pass.

Each kernel fuses array passes that :mod:`hashdesk.scenario.engine` would otherwise make one
numpy call at a time (a temporary and a trip through memory each); the arithmetic is the same
IEEE operations in the same order, so results are bit-identical to the numpy expressions they
replace (no fast-math, no fused multiply-add). Random draws and transcendental functions
(``exp``, ``log``) stay with numpy, in the engine, so the random stream and the rounding of
``exp``/``log`` do not depend on numba. Consensus values stay exact int64.

Compiled on first use and cached on disk (``cache=True``: later processes load the machine
code instead of compiling).

References
----------
.. [1] Lam, S. K., Pitrou, A., Seibert, S. (2015). Numba: a LLVM-based Python JIT compiler.
   *Proc. LLVM-HPC '15*.
.. [2] Bitcoin Core, ``src/pow.cpp`` (``CalculateNextWorkRequired``); ``src/arith_uint256.cpp``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hashdesk.chain.consensus import MAX_TIMESPAN_S, MIN_TIMESPAN_S, TARGET_TIMESPAN_S

_SPAN_DIV = TARGET_TIMESPAN_S // 256  # 4725
_MIN_SPAN = MIN_TIMESPAN_S
_MAX_SPAN = MAX_TIMESPAN_S
#: ``2^(280 − 8·size)`` for compact sizes 0..32: the work of a target ``m·256^(size−3)`` is
#: ``WORK_POW2[size] / m`` (exact power of two, then one correctly rounded division).
WORK_POW2 = np.array([2.0 ** (280 - 8 * s) for s in range(33)])


@njit(cache=True, nogil=True)
def hits(rem, hashes, out):  # pragma: no cover - compiled
    """Rows with ``rem <= hashes`` written to ``out``; their count (``np.flatnonzero(rem <= hashes)``)."""
    c = 0
    for i in range(rem.shape[0]):
        if rem[i] <= hashes[i]:
            out[c] = i
            c += 1
    return c


@njit(cache=True, nogil=True)
def fee_log(a, c, b, d):  # pragma: no cover - compiled
    """``a = (a·c + b) + d`` in place [dimensionless]."""
    for i in range(a.shape[0]):
        a[i] = (a[i] * c + b[i]) + d


@njit(cache=True, nogil=True)
def step_start(price_rel, p0, price, rel, h0, step_s, hr, hashes, a_fee, w_beta, fee, sub, inv_w,
               rate):  # pragma: no cover - compiled
    """A step's opening lines, per scenario.

    ``price = price_rel·p0`` [USD/BTC], ``hr = rel·h0`` [H/s], ``hashes = hr·step_s`` [hashes],
    ``fee = a_fee·w_beta`` [sats/block] and ``rate = (fee + sub)·inv_w`` [BTC/hash].
    """
    for i in range(rel.shape[0]):
        price[i] = price_rel[i] * p0
        h = rel[i] * h0
        hr[i] = h
        hashes[i] = h * step_s
        f = a_fee[i] * w_beta[i]
        fee[i] = f
        rate[i] = (f + sub[i]) * inv_w[i]


@njit(cache=True, nogil=True)
def step_means(a_fee, w_beta, sub, inv_w, rate_start, frac, fee, rate):  # pragma: no cover - compiled
    """Step means over the segments before and after each scenario's first milestone.

    With the end-of-step ``fee_end = a_fee·w_beta`` and ``r = (fee_end + sub)·inv_w``:
    ``rate = r + (rate_start − r)·frac`` and ``fee = (fee − fee_end)·frac + fee_end``; ``frac``
    is reset to 1.
    """
    for i in range(rate.shape[0]):
        fe = a_fee[i] * w_beta[i]
        r = (fe + sub[i]) * inv_w[i]
        fr = frac[i]
        rate[i] = r + (rate_start[i] - r) * fr
        fee[i] = (fee[i] - fe) * fr + fe
        frac[i] = 1.0


@njit(cache=True, nogil=True)
def round_scan(hit, rem, hashes, idx, r_hit, h_hit, f, i_hit):  # pragma: no cover - compiled
    """Gather a round's rows: ``r_hit``, ``h_hit``, ``f = r_hit/h_hit``, milestone index; (min, max) index."""
    i_min = np.iinfo(np.int64).max
    i_max = -1
    for j in range(hit.shape[0]):
        r = hit[j]
        rr = rem[r]
        hh = hashes[r]
        r_hit[j] = rr
        h_hit[j] = hh
        f[j] = rr / hh
        k = idx[r]
        i_hit[j] = k
        if k < i_min:
            i_min = k
        if k > i_max:
            i_max = k
    return i_min, i_max


@njit(cache=True, nogil=True)
def plain_retarget(hit, f, i_hit, step_s, t_start, t0, first_ts, bits, idx, lasts_before, rt_time,
                   rt_first, rt_bits, w, flag, pow2):  # pragma: no cover - compiled
    """Retargets of a round of plain milestones (every row ends an epoch), written in place.

    Per row: the last block's time ``t_last = f·step_s + t_start`` [s since start] and header
    time ``⌊t_last⌋ + t0``; the new compact bits by Core's rule (see ``engine._retarget``: with
    ``Y = ⌊m·s/4725⌋`` of bit length ``L``, mantissa ``Y >> 8k`` with ``k = ⌊(L − 16)/8⌋`` and
    size ``k + E − 1``) and the new work ``pow2[size]/mantissa`` [hashes] with
    ``pow2[s] = 2^(280 − 8s)`` (:data:`WORK_POW2`) [2]_; the retarget
    tables, ``bits`` and ``idx`` (+1). ``flag``: 0 done; 1 outside the fast rule (``E < 4`` or
    ``Y < 2^16``: nothing written, the caller applies the exact Python rule); 2 bits written, work
    left to the caller (a target above powLimit, clamped to ``0x1d00ffff``, or below 10 bytes).
    Returns the number of flagged rows.
    """
    bad = 0
    for j in range(hit.shape[0]):
        r = hit[j]
        t_last = f[j] * step_s
        t_last += t_start
        ft = first_ts[r]
        span = (np.int64(t_last) + t0) - ft
        if span < _MIN_SPAN:
            span = _MIN_SPAN
        elif span > _MAX_SPAN:
            span = _MAX_SPAN
        b = bits[r]
        y = ((b & 0x007FFFFF) * span) // _SPAN_DIV
        size_in = b >> 24
        k = i_hit[j]
        col = lasts_before[k]
        idx[r] = k + 1
        rt_time[col, r] = t_last
        rt_first[col, r] = ft
        if size_in < 4 or y < 65536:
            flag[j] = 1
            bad += 1
            continue
        # k = ⌊(L − 16)/8⌋ whole bytes to drop, L the bit length of Y (2^16 <= Y < 2^47 here)
        sh = 0
        if y >= 8388608:  # 2^23
            sh = 1
            if y >= 2147483648:  # 2^31
                sh = 2 if y < 549755813888 else 3  # 2^39
        mant = y >> (sh << 3)
        size = sh + size_in - 1
        if size > 29 or (size == 29 and mant >= 65536):
            nb = np.int64(0x1D00FFFF)
            flag[j] = 2
            bad += 1
        else:
            nb = (size << 24) | mant
            if size < 10:
                flag[j] = 2
                bad += 1
            else:
                flag[j] = 0
                w[j] = pow2[size] / mant
        rt_bits[col, r] = nb
        bits[r] = nb
    return bad


@njit(cache=True, nogil=True)
def plain_place(hit, g, x1, w, r_hit, h_hit, step_s, t_start, t0, first_ts, rem, out, nxt):  # pragma: no cover
    """Place a plain round's first blocks and set the hashes to the next milestone.

    ``g·w`` hashes to the epoch's last block after its first, ``x = x1·w + r_hit`` hashes from
    the step's start to the first block (``x1`` overwritten with it): placed at
    ``⌊(x/h)·step_s + t_start⌋ + t0`` when ``x <= h_hit``, else ``out`` is set (the caller carries
    it to the next step). ``rem = g·w + x``; rows whose next milestone is in this step too go to
    ``nxt``. Returns (rows in ``nxt``, rows out).
    """
    c = 0
    n_out = 0
    for j in range(hit.shape[0]):
        r = hit[j]
        ww = w[j]
        gg = g[j] * ww
        x = x1[j] * ww
        x += r_hit[j]
        x1[j] = x
        h = h_hit[j]
        if x <= h:
            t = x / h
            t *= step_s
            t += t_start
            first_ts[r] = t0 + np.int64(t)
            out[j] = False
        else:
            out[j] = True
            n_out += 1
        gg += x
        rem[r] = gg
        if gg <= h:
            nxt[c] = r
            c += 1
    return c, n_out


@njit(cache=True, nogil=True)
def scatter_work(hit, f, w, wb, frac, inv_w, w_beta):  # pragma: no cover - compiled
    """After a step's first round of milestones: ``frac[hit] = f`` [step fraction],
    ``inv_w[hit] = 10^-8 / w`` [BTC per sat per hash] and ``w_beta[hit] = wb`` [hashes^β]."""
    c = 1.0 / 100_000_000
    for j in range(hit.shape[0]):
        r = hit[j]
        inv_w[r] = c / w[j]
        w_beta[r] = wb[j]
        frac[r] = f[j]


@njit(cache=True, nogil=True)
def month_mean(buf, weight, out):  # pragma: no cover - compiled
    """``out = Σ_j buf[j]·weight[j]``, the products summed over ``j`` in order."""
    n = buf.shape[1]
    w0 = weight[0]
    for i in range(n):
        out[i] = buf[0, i] * w0
    for j in range(1, buf.shape[0]):
        wj = weight[j]
        for i in range(n):
            out[i] += buf[j, i] * wj


@njit(cache=True, nogil=True)
def retarget_tables(t, first_abs, bits, t0, start_bits, first, prev):  # pragma: no cover - compiled
    """The sampler's retarget tables as a chunk returns them, in one pass (retarget-major ``(k, n)``).

    Where ``bits[k, i] == 0`` (no retarget ``k`` in scenario ``i``): ``t`` set to NaN in place,
    ``first`` NaN, ``prev`` 0; elsewhere ``first = float(first_abs − t0)`` [s since the start] and
    ``prev`` the bits of the epoch that ended (``start_bits`` for ``k = 0``, else ``bits[k − 1]``).
    """
    for k in range(bits.shape[0]):
        for i in range(bits.shape[1]):
            b = bits[k, i]
            if b == 0:
                t[k, i] = np.nan
                first[k, i] = np.nan
                prev[k, i] = 0
            else:
                first[k, i] = float(first_abs[k, i] - t0)
                prev[k, i] = start_bits if k == 0 else bits[k - 1, i]
