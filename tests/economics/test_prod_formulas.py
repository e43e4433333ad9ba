"""Expected vs reported production: hand-worked formulas, properties and bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashdesk.chain.consensus import block_work
from hashdesk.economics.production import (
    Payout,
    PoolModel,
    ProductionError,
    Verdict,
    build_schedule,
    classify,
    dedupe_production,
    effective_hashrate,
    expected_production,
    production_records,
    realization_interval,
    rounding_ehs,
)

BITS_409 = 0x1703D869  # epoch 409 (2024-01-06 .. 2024-01-20)
W409 = block_work(BITS_409)
DAY = 86_400


def _schedule(days: int = 62, fee_btc_per_block: float = 0.5, start: str = "2024-01-01"):
    """One epoch (409's bits) from unix 0 of ``start`` and constant fees per block."""
    t0 = int(pd.Timestamp(start, tz="UTC").timestamp())
    dates = pd.date_range(start, periods=days, freq="D")
    return build_schedule(
        pd.DataFrame({"first_height": [824544], "bits": [BITS_409], "start_unix": [t0]}),
        pd.DataFrame({"date": dates, "blk_cnt": 144, "fee_tot_btc": 144 * fee_btc_per_block}),
    ), t0


def _rows(records: list[tuple]) -> pd.DataFrame:
    cols = ["ticker", "month", "btc_mined", "hashrate_ehs", "hashrate_kind",
            "demand_response_usd", "source_url", "source_rank", "is_conflict"]
    return pd.DataFrame(records, columns=cols)


def test_expected_production_one_day_by_hand():
    net, t0 = _schedule()
    e = expected_production(100.0, t0, t0 + DAY, net)
    blocks = 100e18 * DAY / W409  # = 27.4821 blocks
    assert e.blocks == pytest.approx(blocks, rel=1e-12)
    assert e.btc == pytest.approx(blocks * 6.75, rel=1e-12)
    assert e.subsidy_btc == pytest.approx(blocks * 6.25, rel=1e-12)
    assert e.fees_btc == pytest.approx(blocks * 0.5, rel=1e-9)
    assert round(e.btc, 2) == 185.50


def test_fees_follow_each_utc_day():
    t0 = int(pd.Timestamp("2024-01-01", tz="UTC").timestamp())
    net = build_schedule(
        pd.DataFrame({"first_height": [824544], "bits": [BITS_409], "start_unix": [t0]}),
        pd.DataFrame({"date": pd.date_range("2024-01-01", periods=2), "blk_cnt": [100, 200],
                      "fee_tot_btc": [100.0, 0.0]}),  # 1 BTC/block then 0
    )
    # 12 h on day 1 and 12 h on day 2
    e = expected_production(10.0, t0 + DAY // 2, t0 + 3 * DAY // 2, net)
    half = 10e18 * (DAY // 2) / W409
    assert e.fees_btc == pytest.approx(half * 1.0, rel=1e-9)
    assert e.btc == pytest.approx(2 * half * 6.25 + half, rel=1e-12)


def test_halving_mid_span_splits_subsidy_at_block_time():
    # epoch 416 holds height 840,000; block 840,000 has header time 1713571767
    t_epoch, t_halving = 1712900000, 1713571767
    net = build_schedule(
        pd.DataFrame({"first_height": [838656], "bits": [0x17034219], "start_unix": [t_epoch]}),
        pd.DataFrame({"date": pd.date_range("2024-04-12", periods=14), "blk_cnt": 144,
                      "fee_tot_btc": 0.0}),
        {840000: t_halving},
    )
    w = block_work(0x17034219)
    a, b = t_halving - 3 * DAY, t_halving + DAY
    e = expected_production(1.0, a, b, net)
    before, after = 1e18 * 3 * DAY / w, 1e18 * DAY / w
    assert e.subsidy_btc == pytest.approx(before * 6.25 + after * 3.125, rel=1e-12)


def test_halving_time_interpolated_without_block_time():
    net = build_schedule(
        pd.DataFrame({"first_height": [838656, 840672], "bits": [0x17034219, 0x17034219],
                      "start_unix": [0, 2016 * 600]}),
        pd.DataFrame({"date": [pd.Timestamp("1970-01-01")], "blk_cnt": [1], "fee_tot_btc": [0]}),
    )
    # 840000 is 1344 blocks into the epoch → 1344/2016 of its 2016·600 s
    assert 1344 * 600 in set(net.regime_start_unix.tolist())
    assert any("interpolated" in n for n in net.notes)


def test_realization_interval_by_hand():
    # Poisson(100): 2.5% quantile 81, 97.5% quantile 120
    assert realization_interval(100.0, PoolModel(Payout.own), 0.0) == (0.81, 1.2)
    lo, hi = realization_interval(100.0, PoolModel(Payout.fpps), 0.05)
    assert (lo, hi) == pytest.approx((0.95, 1.05))
    lo, hi = realization_interval(100.0, PoolModel(Payout.fpps, pool_fee=0.02), 0.0)
    assert (lo, hi) == pytest.approx((0.98, 0.98))
    # more blocks → narrower luck interval
    assert realization_interval(400.0, PoolModel(Payout.own), 0.0)[0] > 0.81


def test_classify_against_interval_not_a_threshold():
    assert classify(0.9, (0.81, 1.2)) == Verdict.in_line
    assert classify(0.9, (0.95, 1.05)) == Verdict.miss
    assert classify(1.06, (0.95, 1.05)) == Verdict.beat
    assert classify(1.05, (0.95, 1.05)) == Verdict.in_line


def test_effective_hashrate_kinds():
    h, band, basis = effective_hashrate("average_operating", 12.5, None)
    assert (h, band) == (12.5, pytest.approx(0.02 + 0.05 / 12.5))
    h, band, basis = effective_hashrate("deployed", 12.4, 12.1)
    assert h == pytest.approx(12.25)
    assert band == pytest.approx(0.3 / 24.5 + 0.05 + 0.05 / 12.25)
    assert "prior and current" in basis
    h, band, basis = effective_hashrate("energized", 20.0, None)  # whole EH/s: ±0.5
    assert (h, band) == (20.0, pytest.approx(0.1 + 0.025))
    assert "held flat" in basis
    assert rounding_ehs(5.576) == pytest.approx(0.0005)


def test_dedupe_prefers_rank_then_flags_conflicts():
    rows = _rows([
        ("RIOT", "2024-11", 496.0, None, "", None, "https://b-news", 3, True),
        ("RIOT", "2024-11", 495.0, None, "", None, "https://a-later", 2, True),
        ("RIOT", "2024-07", 370.0, 23.3, "deployed", 2e5, "https://ir.x/jul", 1, True),
        ("RIOT", "2024-07", 370.0, 23.2, "deployed", 2e5, "https://ir.x/aug", 1, True),
        ("RIOT", "2024-07", 370.0, 15.5, "average_operating", 2e5, "https://ir.x/jul", 1, False),
    ])
    d = dedupe_production(rows).set_index(["month", "hashrate_kind"])
    assert d.loc[("2024-11", ""), "btc_reported"] == 495.0
    assert d.loc[("2024-11", ""), "btc_conflict"]
    assert d.loc[("2024-07", "deployed"), "hashrate_ehs"] == 23.2  # tie → first source URL
    assert d.loc[("2024-07", "deployed"), "hashrate_conflict"]
    assert not d.loc[("2024-07", "average_operating"), "hashrate_conflict"]


def test_records_prefer_average_kind_and_average_month_ends():
    net, _ = _schedule(days=62)
    rows = _rows([
        ("X", "2024-01", None, 10.0, "deployed", None, "u1", 1, False),
        ("X", "2024-02", 100.0, 12.0, "deployed", None, "u2", 1, False),
        ("Y", "2024-02", 100.0, 12.0, "deployed", None, "u3", 1, False),
        ("Y", "2024-02", 100.0, 8.0, "average_operating", None, "u3", 1, False),
    ])
    r = production_records(rows, net, {}).set_index(["ticker", "month"])
    assert r.loc[("X", "2024-02"), "hashrate_ehs"] == pytest.approx(11.0)
    assert r.loc[("X", "2024-01"), "verdict"] == Verdict.no_btc.value
    assert r.loc[("Y", "2024-02"), "hashrate_kind"] == "average_operating"
    t0 = int(pd.Timestamp("2024-02-01", tz="UTC").timestamp())
    t1 = int(pd.Timestamp("2024-03-01", tz="UTC").timestamp())
    exp = 8e18 * (t1 - t0) / W409 * 6.75
    assert r.loc[("Y", "2024-02"), "btc_expected"] == pytest.approx(exp, rel=1e-9)
    assert r.loc[("Y", "2024-02"), "realization"] == pytest.approx(100.0 / exp, rel=1e-9)
    only = production_records(rows, net, {}, kind="deployed").set_index(["ticker", "month"])
    assert only.loc[("Y", "2024-02"), "hashrate_kind"] == "deployed"


@settings(max_examples=20, deadline=None)
@given(
    hashrate=st.floats(0.5, 80.0),
    btc=st.floats(10.0, 3000.0),
    k=st.floats(0.05, 20.0),
    payout=st.sampled_from([Payout.own, Payout.fpps]),
)
def test_realization_is_scale_free(hashrate, btc, k, payout):
    net, _ = _schedule(days=62)
    base = _rows([("X", "2024-01", btc, hashrate, "average_operating", None, "u", 1, False)])
    scaled = base.assign(btc_mined=btc * k, hashrate_ehs=hashrate * k)
    pools = {"X": PoolModel(payout)}
    r0 = production_records(base, net, pools).iloc[0]
    r1 = production_records(scaled, net, pools).iloc[0]
    assert r1.realization == pytest.approx(r0.realization, rel=1e-9)
    assert r1.btc_expected == pytest.approx(k * r0.btc_expected, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(h=st.floats(0.0, 1000.0), k=st.floats(0.0, 50.0), hours=st.integers(1, 24 * 40))
def test_expected_btc_is_linear_in_hashrate(h, k, hours):
    net, t0 = _schedule(days=42)
    a = expected_production(h, t0, t0 + 3600 * hours, net)
    b = expected_production(h * k, t0, t0 + 3600 * hours, net)
    assert math.isclose(b.btc, k * a.btc, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(b.blocks, k * a.blocks, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_negative_or_non_finite_hashrate_is_rejected(bad):
    net, t0 = _schedule()
    with pytest.raises(ProductionError, match="hashrate_ehs"):
        expected_production(bad, t0, t0 + DAY, net)


def test_bad_inputs_name_the_problem():
    net, t0 = _schedule(days=2)
    with pytest.raises(ProductionError, match="empty span"):
        expected_production(1.0, t0, t0, net)
    with pytest.raises(ProductionError, match="no fee data for 2024-01-03"):
        expected_production(1.0, t0, t0 + 3 * DAY, net)
    with pytest.raises(ProductionError, match="no epoch start time"):
        expected_production(1.0, t0 - DAY, t0, net)
    rows = _rows([("X", "2024-01", 10.0, -3.0, "deployed", None, "u", 1, False)])
    with pytest.raises(ProductionError, match="negative hashrate_ehs -3.0 for X 2024-01"):
        dedupe_production(rows)
    with pytest.raises(ProductionError, match="kind 'nameplate'"):
        production_records(rows.assign(hashrate_ehs=3.0), net, {}, kind="nameplate")
    with pytest.raises(ProductionError, match="pool_fee"):
        PoolModel(Payout.fpps, pool_fee=1.5)
    with pytest.raises(ProductionError, match="expected blocks"):
        realization_interval(0.0, PoolModel(), 0.0)
    with pytest.raises(ProductionError, match="must be > 0"):
        effective_hashrate("deployed", 0.0, None)
    assert np.isfinite(realization_interval(1e-3, PoolModel(Payout.own), 0.0)[1])
