"""The engine's compiled loops equal what they replace, bit for bit: Core's retarget rule (exact
integers), the work of the new bits, and the numpy expressions of the step bookkeeping."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hashdesk.chain.consensus import POW_LIMIT, encode_compact, next_work_required
from hashdesk.scenario import kernels as K
from hashdesk.scenario.engine import EpochSampler, StartState, work_float

targets = st.integers(min_value=1, max_value=POW_LIMIT).map(encode_compact)
spans = st.integers(min_value=-10_000, max_value=6_000_000)
floats = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False, allow_infinity=False)


def _plain_retarget(bits: np.ndarray, spans_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the kernel and the sampler's fix-up on rows whose epoch began at time 0 and ended ``spans_s``
    later (``t_last = span·1.0 + 0.0``, exact); the new bits, work and the retarget table's bits."""
    n = bits.size
    sampler = EpochSampler(StartState(0, 2015, 0x1D00FFFF, None, 1.0, 1.0, 0.0), n, 30, np.random.default_rng(0))
    sampler.bits[:] = bits
    sampler._first_ts[:] = 0
    sampler.start = StartState(0, 2015, 0x1D00FFFF, None, 1.0, 1.0, 0.0)
    hit = np.arange(n, dtype=np.int64)
    f = spans_s.astype(np.float64)
    i = np.zeros(n, dtype=np.int64)
    w = np.full(n, np.nan)
    flag = np.empty(n, dtype=np.int8)
    if K.plain_retarget(hit, f, i, 1.0, 0.0, 0, sampler._first_ts, sampler.bits, sampler._idx, sampler._lasts_before,
                        sampler._rt_time, sampler._rt_first, sampler._rt_bits, w, flag, K.WORK_POW2):
        sampler._fix_retargets(hit, f, i, flag, w, 0.0, 1.0)
    col = int(sampler._lasts_before[0])
    return sampler.bits, w, sampler._rt_bits[col]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(targets, spans), min_size=1, max_size=40))
def test_scen_kernel_retarget_equals_consensus(rows):
    bits = np.array([r[0] for r in rows], dtype=np.int64)
    span = np.array([r[1] for r in rows], dtype=np.int64)
    new, w, table = _plain_retarget(bits, span)
    want = [next_work_required(int(b), 0, int(s)) for b, s in zip(bits, span, strict=True)]
    assert new.tolist() == want
    assert table.tolist() == want
    np.testing.assert_array_equal(w, work_float(np.array(want, dtype=np.int64)))  # same float, bit for bit


def test_scen_kernel_retarget_edges():
    # clamps both ways, the pow-limit cap, a mantissa that needs Core's sign-bit shift, a tiny target
    bits = np.array([0x1D00FFFF, 0x1D00FFFF, 0x17053894, 0x1B0404CB, 0x1C7FFFFF, 0x03123456, 0x0A7FFFFF],
                    dtype=np.int64)
    span = np.array([5_000_000, 100, 302_399, 4_838_401, 1_209_600 * 2, 1_209_600, 1_000_000], dtype=np.int64)
    new, w, _ = _plain_retarget(bits, span)
    want = [next_work_required(int(b), 0, int(s)) for b, s in zip(bits, span, strict=True)]
    assert new.tolist() == want
    assert want[0] == 0x1D00FFFF
    np.testing.assert_array_equal(w, work_float(np.array(want, dtype=np.int64)))


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 64).flatmap(lambda n: st.tuples(*(arrays(np.float64, n, elements=floats) for _ in range(9)))),
       floats, floats, floats)
def test_scen_kernel_step_lines_equal_numpy(a, p0, h0, step_s):
    price_rel, rel, a_fee, w_beta, sub, inv_w, rate_start0, frac0, fee0 = (x.copy() for x in a)
    price, hr, hashes, fee, rate_start = (np.empty_like(rel) for _ in range(5))
    K.step_start(price_rel, p0, price, rel, h0, step_s, hr, hashes, a_fee, w_beta, fee, sub, inv_w, rate_start)
    np.testing.assert_array_equal(price, np.multiply(price_rel, p0))
    hr_np = np.multiply(rel, h0)
    np.testing.assert_array_equal(hr, hr_np)
    np.testing.assert_array_equal(hashes, np.multiply(hr_np, step_s))
    fee_np = np.multiply(a_fee, w_beta)
    np.testing.assert_array_equal(fee, fee_np)
    np.testing.assert_array_equal(rate_start, np.multiply(np.add(fee_np, sub), inv_w))
    # the step means (engine before the kernels: rate_start −= r; *= frac; r += rate_start; and fees)
    frac, fee, rate = frac0.copy(), fee0.copy(), np.empty_like(rel)
    K.step_means(a_fee, w_beta, sub, inv_w, rate_start0, frac, fee, rate)
    fe = a_fee * w_beta
    r = (fe + sub) * inv_w
    np.testing.assert_array_equal(rate, r + (rate_start0 - r) * frac0)
    np.testing.assert_array_equal(fee, (fee0 - fe) * frac0 + fe)
    assert (frac == 1.0).all()
    # fee log-level: ((a·c) + b) + d
    x = a_fee.copy()
    K.fee_log(x, -1.06, sub, 0.5)
    np.testing.assert_array_equal(x, (a_fee * -1.06 + sub) + 0.5)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 7), st.integers(1, 50), st.data())
def test_scen_kernel_month_mean_equals_numpy_reduce(rows, n, data):
    buf = data.draw(arrays(np.float64, (rows, n), elements=floats))
    weight = data.draw(arrays(np.float64, rows, elements=st.floats(0.0, 1.0)))
    out = np.empty(n)
    K.month_mean(buf, weight, out)
    want = np.add.reduce(buf * weight[:, None], axis=0)  # the engine's former multiply-then-reduce
    np.testing.assert_array_equal(out, want)


def test_scen_kernel_hits_and_scatter():
    rem = np.array([5.0, 1.0, 3.0, 9.0, 2.0])
    hashes = np.array([4.0, 1.0, 3.5, 1.0, 1.0])
    out = np.empty(5, dtype=np.int64)
    assert out[:K.hits(rem, hashes, out)].tolist() == np.flatnonzero(rem <= hashes).tolist() == [1, 2]
    frac, inv_w, w_beta = np.ones(5), np.zeros(5), np.zeros(5)
    hit, w = np.array([1, 3]), np.array([3.0e22, 7.0e21])
    K.scatter_work(hit, np.array([0.25, 0.5]), w, np.array([2.0, 3.0]), frac, inv_w, w_beta)
    assert frac.tolist() == [1.0, 0.25, 1.0, 0.5, 1.0]
    np.testing.assert_array_equal(inv_w[hit], np.divide(1.0 / 100_000_000, w))
    assert w_beta.tolist() == [0.0, 2.0, 0.0, 3.0, 0.0]
