"""The processes' compiled step loops (``scenario.paths_kernels``) equal the numpy they replaced, bit for bit.

Each ``_np_*`` function below is the numpy code of :mod:`hashdesk.scenario.paths` before the loops
were compiled (same draws, same operations in the same order); the models' ``advance`` must give
the same arrays and the same state, step after step, from the same generator. Plus hand-worked
cases of the shock bookkeeping (two carried shocks in one row, a shock that ends).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hashdesk.scenario import paths_kernels as PK
from hashdesk.scenario.paths import (
    BootstrapPrice,
    CapitulationModel,
    FeeModel,
    GBMPrice,
    HashrateModel,
    ShockModel,
    SupplyResponse,
    _capitulation_step,
    _gbm_step_constants,
    _trend_step_mean,
    ar1_step_moments,
)

STEPS = [(0, 8), (8, 7), (15, 8), (23, 8), (31, 1), (32, 30), (62, 8)]


def _np_gbm(model, state, first_day, n_days, rng):
    lr = state["log_ratio"]
    mom = ar1_step_moments(1.0, n_days)
    m, s, det = _gbm_step_constants(model.drift_per_year, model.vol_per_year, n_days)
    if s > 0:
        end, out = mom.draw(rng, lr.shape[0], s)
        out += lr
        lr += end
    else:
        out = lr.copy()
    out += det
    np.exp(out, out=out)
    lr += m * n_days
    return out


def _np_bootstrap(model, state, first_day, n_days, rng):
    lr, cs, ce = state["log_ratio"], state["cs"], state["ce"]
    total = np.zeros(lr.shape[0])
    day, end = first_day, first_day + n_days
    while day < end:
        off = day % model.block_days
        if off == 0:
            cdf = state.get("cdf")
            if cdf is None:
                state["pos"] = rng.integers(0, model.log_returns.size - model.block_days + 1, size=lr.shape[0])
            else:
                pos = np.searchsorted(cdf, rng.random(lr.shape[0]), side="right")
                state["pos"] = np.minimum(pos, cdf.size - 1)
        m = min(end - day, model.block_days - off)
        q = state["pos"] + off
        c_q = cs[q]
        total += np.exp(lr - c_q) * (ce[q + m] - ce[q])
        lr += cs[q + m] - c_q
        day += m
    total /= n_days
    return total


def _np_fee_log(model, state, n_days, rng):
    y = state["y"]
    mom = ar1_step_moments(model.noise_ar1, n_days)
    sd = model.noise_sd_per_day
    end, mean = mom.draw(rng, y.shape[0], sd)
    v_mean = mom.a_mean**2 * state["var"] + sd * sd * mom.var_mean
    mean += y * mom.a_mean
    mean -= 0.5 * v_mean
    y *= mom.a_end
    y += end
    state["var"] = mom.a_end**2 * state["var"] + sd * sd * mom.chol[0] ** 2
    return mean


def _np_shocks(sh, state, months, rng, rel):
    depth, left = state["shock_depth"], state["shock_left"]
    n = depth.shape[0]
    n_days = len(months)
    carried = state.get("shock_rows")
    if carried is None:
        carried = np.flatnonzero(left)
    if carried.size:
        days = left.take(carried)
        active = np.minimum(days, n_days)
        share = depth.take(carried) * (active / n_days)
        np.subtract(1.0, share, out=share)
        share *= rel.take(carried)
        rel[carried] = share
        days -= active
        left[carried] = days
        ended = days == 0
        depth[carried[ended]] = 0.0
        carried = carried[~ended]
    lam = sh.expected_starts(months)
    count = int(rng.poisson(lam * n)) if lam > 0 else 0
    if count:
        rows = rng.random(count)
        rows *= n
        rows = rows.astype(np.int64)
        a = sh.depth_mean * sh.depth_concentration
        d = rng.beta(a, sh.depth_concentration - a, size=count)
        dur = rng.geometric(1.0 / sh.duration_days_mean, size=count)
        start = rng.random(count)
        start *= n_days
        start = start.astype(np.int64)
        inside = np.minimum(dur, n_days - start)
        np.multiply.at(rel, rows, 1.0 - d * (inside / n_days))
        rest = dur - inside
        carry = rest > 0
        if carry.any():
            c, dc, rc = rows[carry], d[carry], rest[carry]
            uc = np.unique(c)
            new = uc[left.take(uc) == 0]
            if uc.size == c.size:
                depth[c] = 1.0 - (1.0 - depth.take(c)) * (1.0 - dc)
                left[c] = np.maximum(left.take(c), rc)
            else:
                keep = 1.0 - depth
                np.multiply.at(keep, c, 1.0 - dc)
                depth[uc] = 1.0 - keep.take(uc)
                np.maximum.at(left, c, rc)
            if new.size:
                carried = np.concatenate([carried, new])
    state["shock_rows"] = carried


def _np_record(resp, state, hashprice_prev, first_day):
    prev_first, prev_n = state["resp_prev"]
    z = np.log(hashprice_prev)
    ref = state["resp_ref"]
    z -= ref
    ref += (-math.expm1(-prev_n / resp.ref_days)) * z
    buf = state["resp_buf"]
    buf.append((prev_first, prev_n, z))
    while len(buf) > 1 and buf[1][0] <= first_day + 0.5 - resp.lag_days - 60:
        buf.pop(0)


def _np_hashrate(model, state, first_day, months, hashprice_prev, rng):
    """HashrateModel.advance as numpy."""
    n_days = len(months)
    trend = _trend_step_mean(model.growth_per_year, first_day, n_days)
    slope = state["slope"]
    x = state["x"]
    mom = ar1_step_moments(model.noise_ar1, n_days)
    sd = model.noise_sd_per_day
    if sd > 0:
        end, rel = mom.draw(rng, x.shape[0], sd)
        rel += x * mom.a_mean
        rel += 0.5 * sd * sd * mom.within + math.log(trend)
    else:
        end = None
        rel = x * mom.a_mean
        rel += math.log(trend)
    x *= mom.a_end
    if end is not None:
        x += end
    if slope is not None:
        rel += slope * (first_day + 0.5 * (n_days - 1))
        rel += slope * slope * ((n_days * n_days - 1) / 24.0)
    resp = model.response
    if resp is not None:
        if first_day > 0:
            _np_record(resp, state, hashprice_prev, first_day)
        step = resp.lagged_z(state, first_day, n_days) * resp.gamma_per_day
        off = state["resp_off"]
        rel += off
        rel += step * (0.5 * (n_days + 1))
        off += step * n_days
        state["resp_prev"] = (first_day, n_days)
    np.exp(rel, out=rel)
    sh = model.shocks
    if sh is not None and sh.rate_per_year > 0:
        _np_shocks(sh, state, months, rng, rel)
    cap = model.capitulation
    if cap is not None and cap.enabled:
        cost, mean_keep, end_keep = _capitulation_step(cap, first_day, n_days)
        target = hashprice_prev / cost
        if cap.elasticity != 1.0:
            target **= cap.elasticity
        np.minimum(target, 1.0, out=target)
        gap = state["kappa"] - target
        kappa = gap * end_keep
        gap *= mean_keep
        gap += target
        rel *= gap
        kappa += target
        state["kappa"] = kappa
    return rel


def _same_state(a: dict, b: dict, keys) -> None:
    for k in keys:
        if isinstance(a[k], np.ndarray):
            np.testing.assert_array_equal(a[k], b[k], err_msg=k, strict=True)
        else:
            assert a[k] == b[k], k


@settings(max_examples=30, deadline=None)
@given(st.floats(-1.0, 1.0), st.floats(0.0, 2.0), st.integers(1, 300), st.integers(0, 2**32))
def test_scen_path_kernel_gbm_equals_numpy(drift, vol, n, seed):
    model = GBMPrice(drift, vol)
    r1, r2 = np.random.default_rng(seed), np.random.default_rng(seed)
    s1, s2 = model.init(n, r1), model.init(n, r2)
    for first, nd in STEPS:
        np.testing.assert_array_equal(model.advance(s1, first, nd, r1), _np_gbm(model, s2, first, nd, r2), strict=True)
        _same_state(s1, s2, ["log_ratio"])
    assert r1.random() == r2.random()  # the same draws were taken


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 40), st.integers(1, 200), st.booleans(), st.integers(0, 2**32))
def test_scen_path_kernel_bootstrap_equals_numpy(block, n, weighted, seed):
    r = np.random.default_rng(seed).standard_t(3, 300) * 0.03
    w = np.exp2(-np.arange(300 - block + 1)[::-1] / 90.0) if weighted else None
    model = BootstrapPrice(r, block, block_weights=w)
    r1, r2 = np.random.default_rng(seed + 1), np.random.default_rng(seed + 1)
    s1, s2 = model.init(n, r1), model.init(n, r2)
    for first, nd in STEPS:
        np.testing.assert_array_equal(model.advance(s1, first, nd, r1), _np_bootstrap(model, s2, first, nd, r2),
                                      strict=True)
        _same_state(s1, s2, ["log_ratio", "pos"])
    assert r1.random() == r2.random()


@settings(max_examples=20, deadline=None)
@given(st.floats(0.0, 1.0), st.floats(0.0, 0.98), st.floats(0.0, 5.0), st.integers(1, 300), st.integers(0, 2**32))
def test_scen_path_kernel_fees_equal_numpy(sd, phi, beta, n, seed):
    model = FeeModel(2e6, beta, sd, phi)
    r1, r2 = np.random.default_rng(seed), np.random.default_rng(seed)
    s1, s2 = model.init(n, r1), model.init(n, r2)
    for _, nd in STEPS:
        got = model.advance_log(s1, nd, r1)
        if sd == 0:
            assert got is None
            continue
        np.testing.assert_array_equal(got, _np_fee_log(model, s2, nd, r2), strict=True)
        _same_state(s1, s2, ["y", "var"])
    assert r1.random() == r2.random()


@settings(max_examples=25, deadline=None)
@given(
    st.floats(0.0, 0.05), st.sampled_from([0.0, 0.5, 0.9, 1.0]), st.floats(0.0, 0.05), st.floats(0.0, 1e-3),
    st.sampled_from([0.0, 4.0, 300.0]), st.floats(1.0, 20.0), st.sampled_from([None, 1.0, 0.6, 2.5]),
    st.sampled_from([None, 0, 3, 12, 40]), st.integers(1, 300), st.integers(0, 2**32),
)
def test_scen_path_kernel_hashrate_equals_numpy(sd, phi, level_sd, slope_sd, rate, dur, elasticity, lag, n, seed):
    """Noise, start level and slope, shocks (at 300/year many rows get two carried shocks in a step),
    capitulation with elasticity 1 or not, and the supply response (lagged on the history or on
    simulated steps): the same online hashrate and state every step."""
    shocks = ShockModel(rate_per_year=rate, depth_mean=0.2, duration_days_mean=dur) if rate > 0 else None
    cap = CapitulationModel(elasticity=elasticity, marginal_efficiency_j_per_th=30.0) if elasticity else None
    resp = None if lag is None else SupplyResponse(0.003, lag, 91.0, math.log(37.0), (0.05, -0.02, 0.1) * 5)
    model = HashrateModel(0.4, sd, phi, shocks, cap, level_offset0=0.01, level_sd0=level_sd, slope_sd0_per_day=slope_sd,
                          level_slope_corr0=0.3, response=resp)
    r1, r2 = np.random.default_rng(seed), np.random.default_rng(seed)
    s1, s2 = model.init(n, r1), model.init(n, r2)
    hp = np.random.default_rng(seed + 1).uniform(10.0, 90.0, n)
    for first, nd in STEPS:
        months = (np.arange(first, first + nd) // 30 % 12 + 1).astype(np.int64)
        got = model.advance(s1, first, months, hp, r1)
        want = _np_hashrate(model, s2, first, months, hp, r2)
        np.testing.assert_array_equal(got, want, strict=True)
        _same_state(s1, s2, ["x", "kappa", "shock_depth", "shock_left"] + (["resp_ref", "resp_off"] if resp else []))
        assert sorted(s1["shock_rows"].tolist()) == sorted(s2["shock_rows"].tolist())
        assert s1["shock_rows"].tolist() == s2["shock_rows"].tolist()  # same order too
        hp = got * 40.0
    assert r1.random() == r2.random()


def test_scen_path_kernel_shocks_by_hand():
    """A carried shock in row 0 that ends in the step and one in row 3 that goes on; then two new shocks
    in row 1 that outlast the step (depths 0.5, 0.5: 1 − 0.5·0.5 = 0.75, the longer one's days left)
    and two that end inside it (rows 0 and 3)."""
    n, n_days = 4, 8
    rel = np.ones(n)
    depth = np.array([0.2, 0.0, 0.0, 0.1])
    left = np.array([3, 0, 0, 20], dtype=np.int64)
    carried = np.array([0, 3], dtype=np.int64)
    k = PK.shock_carry(carried, left, depth, rel, n_days)
    assert k == 1 and carried[:k].tolist() == [3]
    assert rel.tolist() == [1 - 0.2 * 3 / 8, 1.0, 1.0, 1 - 0.1]
    assert depth.tolist() == [0.0, 0.0, 0.0, 0.1] and left.tolist() == [0, 0, 0, 12]
    rel = np.ones(n)
    u_rows = np.array([0.3, 0.26, 0.8, 0.1])  # rows 1, 1, 3, 0
    d = np.array([0.5, 0.5, 0.5, 0.25])
    dur = np.array([10, 20, 4, 2], dtype=np.int64)
    u_start = np.array([0.0, 0.5, 0.25, 0.5])  # days 0, 4, 2, 4
    mark, keep, new = np.zeros(n, dtype=np.int64), np.empty(n), np.empty(4, dtype=np.int64)
    k = PK.shock_new(u_rows, n, d, dur, u_start, n_days, rel, depth, left, keep, mark, 1, new)
    assert new[:k].tolist() == [1]  # row 3 already carried; rows 0 and 3's new shocks end inside the step
    assert rel.tolist() == [1 - 0.25 * 2 / 8, (1 - 0.5) * (1 - 0.5 * 4 / 8), 1.0, 1 - 0.5 * 4 / 8]
    assert depth.tolist() == [0.0, 0.75, 0.0, 0.1] and left.tolist() == [0, 16, 0, 12]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 50), st.floats(0.5, 200.0), st.integers(0, 2**32))
def test_scen_path_kernel_capitulate_equals_numpy(n, cost, seed):
    g = np.random.default_rng(seed)
    hp, kappa, rel = g.uniform(0.0, 300.0, n), g.uniform(0.1, 1.0, n), g.uniform(0.5, 2.0, n)
    hp[0] = np.nan  # propagates as through numpy.minimum
    target = np.minimum(hp / cost, 1.0)
    gap = kappa - target
    want_kappa, want_rel = gap * 0.3 + target, rel * (gap * 0.6 + target)
    PK.capitulate(hp, cost, kappa, 0.6, 0.3, rel)
    np.testing.assert_array_equal(kappa, want_kappa)
    np.testing.assert_array_equal(rel, want_rel)
