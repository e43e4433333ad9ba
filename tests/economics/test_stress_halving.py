"""The halving at its height in the stress test, the sourced cost curve, and halving-day flags."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from hashdesk.chain.consensus import block_work, difficulty, encode_compact, target_from_bits
from hashdesk.cli import app
from hashdesk.economics.halving import (
    DEFAULT_CURVE_ORIGIN,
    StressInputError,
    cost_curve_provenance,
    difficulty_response,
    mean_efficiency_j_per_th,
    mixed_subsidy_days,
    read_cost_curve,
    stress_test,
    validate_cost_curve,
)

BITS_416 = 0x17034219  # epoch 416 (heights 838,656–840,671), difficulty 86.39 T

#: The cost curve the review measured the stress with (the curve shipped before issue 13; its
#: shares and power prices were illustrative). Used here only to reproduce the review's figures.
REVIEW_CURVE = pd.DataFrame({
    "segment": [f"{g} {c}" for g in ("S21", "S19XP", "S19jPro", "S19") for c in ("low", "mid", "high")],
    "hashrate_share": [0.075, 0.1, 0.075, 0.09, 0.12, 0.09, 0.09, 0.12, 0.09, 0.045, 0.06, 0.045],
    "efficiency_j_per_th": [16.5] * 3 + [22.0] * 3 + [29.5] * 3 + [34.0] * 3,
    "power_usd_per_kwh": [0.035, 0.05, 0.07] * 4,
    "source": "review's curve (illustrative shares and power prices)",
})


def _curve(shares, effs, prices):
    return validate_cost_curve(pd.DataFrame({
        "segment": [f"s{i}" for i in range(len(shares))], "hashrate_share": shares,
        "efficiency_j_per_th": effs, "power_usd_per_kwh": prices, "source": "test"}), "test")


def _spacing_hashrate(bits: int, seconds: float) -> float:
    """Hashrate [EH/s] that finds a block every ``seconds`` at ``bits``."""
    return block_work(bits) / seconds / 1e18


def test_halving_splits_the_epoch_by_hand():
    """Epoch 416 from its first block, blocks every 600 s at full hashrate. Tier b (half the
    hashrate, breakeven 64.8 USD/PH/day) is above water at 6.25 BTC and under water at 3.125:
    heights 838,657–839,999 (1,343 intervals) take 600 s, 840,000–840,671 (672) take 1,200 s.
    Span 1,343·600 + 672·1,200 = 1,612,200 s; new target = old × 1,612,200 / 1,209,600."""
    h = _spacing_hashrate(BITS_416, 600.0)
    c = _curve([0.5, 0.5], [15.0, 30.0], [0.05, 0.09])  # breakevens 18.0 and 64.8 USD/PH/day
    r = difficulty_response(BITS_416, 416, 0, h, c, None, 0.0, 64_000.0, n_epochs=2)
    seg = r[r.epoch == 416]
    assert seg.first_height.tolist() == [838_656, 840_000]
    assert seg.last_height.tolist() == [839_999, 840_671]
    assert seg.subsidy_btc_per_block.tolist() == [6.25, 3.125]
    assert seg.share_under_water.tolist() == [0.0, 0.5]
    assert seg.start_day.iloc[1] == pytest.approx(1343 * 600 / 86_400)  # mining at 3.125 starts
    assert seg.days.iloc[1] == pytest.approx(672 * 1200 / 86_400)
    span = 1343 * 600 + 672 * 1200
    expect_bits = encode_compact(target_from_bits(BITS_416) * span // 1_209_600)
    nxt = r[r.epoch == 417].iloc[0]
    assert nxt.bits == expect_bits
    assert nxt.difficulty_change_pct == pytest.approx((difficulty(expect_bits) / difficulty(BITS_416) - 1) * 100)
    assert nxt.difficulty_change_pct == pytest.approx((1_209_600 / span - 1) * 100, abs=1e-3)  # −24.97 %
    # the what-if that halves every block: 2,015 intervals at 1,200 s, the target ×2,418,000/1,209,600
    now = difficulty_response(BITS_416, 416, 0, h, c, 312_500_000, 0.0, 64_000.0, n_epochs=2)
    assert len(now) == 2 and now.share_under_water.iloc[0] == 0.5
    assert now.difficulty_change_pct.iloc[1] == pytest.approx((1_209_600 / 2_418_000 - 1) * 100, abs=1e-3)


def test_blocks_already_mined_keep_the_old_rate():
    """1,000 blocks of epoch 416 mined at 600 s; with every remaining block halved (what-if) or
    only those from 840,000 (at height), the history is the same and only the tail differs."""
    h = _spacing_hashrate(BITS_416, 600.0)
    c = _curve([0.5, 0.5], [15.0, 30.0], [0.05, 0.09])
    at = difficulty_response(BITS_416, 416, 1000, h, c, None, 0.0, 64_000.0, n_epochs=2)
    now = difficulty_response(BITS_416, 416, 1000, h, c, 312_500_000, 0.0, 64_000.0, n_epochs=2)
    span_at = 999 * 600 + (1343 - 999) * 600 + 672 * 1200
    span_now = 999 * 600 + (2015 - 999) * 1200
    assert at[at.epoch == 417].difficulty_change_pct.iloc[0] == pytest.approx((1_209_600 / span_at - 1) * 100, abs=1e-3)
    assert now.difficulty_change_pct.iloc[1] == pytest.approx((1_209_600 / span_now - 1) * 100, abs=1e-3)
    assert at.start_day.iloc[0] == pytest.approx(-999 * 600 / 86_400)


@settings(max_examples=60, deadline=None)
@given(done=st.integers(0, 2015), ratio=st.floats(0.5, 2.0), price=st.floats(20_000, 150_000),
       fees=st.floats(0.0, 2.0), epoch=st.sampled_from([400, 410, 420]))
def test_consensus_subsidy_without_a_halving_equals_a_constant_one(done, ratio, price, fees, epoch):
    """In an epoch no halving touches, the subsidy by height is one constant: the same path."""
    h = _spacing_hashrate(BITS_416, 600.0) * ratio
    c = _curve([0.3, 0.4, 0.3], [18.0, 28.0, 40.0], [0.03, 0.05, 0.08])
    try:
        a = difficulty_response(BITS_416, epoch, done, h, c, None, fees, price, n_epochs=2)
        b = difficulty_response(BITS_416, epoch, done, h, c, 312_500_000 if epoch >= 417 else 625_000_000,
                                fees, price, n_epochs=2)
    except StressInputError:
        return
    pd.testing.assert_frame_equal(a, b)


@settings(max_examples=60, deadline=None)
@given(done=st.integers(0, 1343), ratio=st.floats(0.6, 1.6), price=st.floats(20_000, 150_000),
       fees=st.floats(0.0, 1.0), e2=st.floats(20.0, 60.0), p2=st.floats(0.02, 0.12))
def test_halving_at_height_never_retargets_below_the_cut_now(done, ratio, price, fees, e2, p2):
    """Blocks before 840,000 pay more at height than in the what-if, so no more hashrate is under
    water and the epoch is no longer: the next retarget is at least as high."""
    h = _spacing_hashrate(BITS_416, 600.0) * ratio
    c = _curve([0.6, 0.4], [17.5, e2], [0.03, p2])
    try:
        at = difficulty_response(BITS_416, 416, done, h, c, None, fees, price, n_epochs=2)
        now = difficulty_response(BITS_416, 416, done, h, c, 312_500_000, fees, price, n_epochs=2)
    except StressInputError:
        return
    assert at[at.epoch == 417].difficulty_change_pct.iloc[0] >= now.difficulty_change_pct.iloc[1] - 1e-9


def test_review_comparison_on_the_bundle(bundle_desk):
    """The review's case: epoch 416 with 20 blocks done, the 14-day mean Coin Metrics hashrate
    ending 2024-04-10 (618.47 EH/s), BTC 64,000 USD, fees 0.3 BTC, the review's curve. Halving
    every remaining block now: next retarget −4.40 %; the halving at height 840,000: −1.49 %."""
    state = bundle_desk.network_state("2024-04-10")
    assert state.bits == BITS_416 and state.epoch == 416
    h14 = float(bundle_desk.daily("2024-03-28", "2024-04-10").hashrate_ehs.mean())
    assert h14 == pytest.approx(618.47, abs=0.01)
    c = validate_cost_curve(REVIEW_CURVE, "review curve")
    now = difficulty_response(BITS_416, 416, 20, h14, c, 312_500_000, 0.3, 64_000.0, n_epochs=3)
    at = difficulty_response(BITS_416, 416, 20, h14, c, None, 0.3, 64_000.0, n_epochs=3)
    assert round(float(now.difficulty_change_pct.iloc[1]), 2) == -4.40
    assert round(float(at[at.epoch == 417].difficulty_change_pct.iloc[0]), 2) == -1.49
    # at height: 1,344 blocks at 6.25 BTC (97.6 USD/PH/day, nothing under water), then 3.125
    pre, post = at.iloc[0], at.iloc[1]
    assert (pre.first_height, pre.last_height, post.first_height) == (838_656, 839_999, 840_000)
    assert pre.share_under_water == 0.0 and post.share_under_water == pytest.approx(0.045)
    # the same through stress_test on the desk's state (15 blocks done at the end of 04-10)
    res = stress_test(state, 64_000.0, 0.3, c, halving=True, hashrate_ehs=h14)
    n = res.network
    assert n["subsidy_btc_per_block"] == 6.25 and n["subsidy_after_halving_btc_per_block"] == 3.125
    assert n["blocks_to_halving"] == 840_000 - state.tip_height
    assert round(n["difficulty_change_next_pct"], 2) == -1.49
    # mining at 3.125 starts when block 839,999 is found: 1,329 intervals after the tip
    assert n["halving_day"] == pytest.approx(
        (839_999 - state.tip_height) * block_work(BITS_416) / (h14 * 1e18) / 86_400, rel=1e-6)
    old = stress_test(state, 64_000.0, 0.3, c, halving=True, hashrate_ehs=h14, halving_at="now")
    assert round(old.network["difficulty_change_next_pct"], 2) == -4.41  # 15 blocks done, not 20
    with pytest.raises(StressInputError, match="halving_at"):
        stress_test(state, 64_000.0, 0.3, c, halving=True, halving_at="tomorrow")


def test_default_cost_curve_is_sourced_tier_by_tier():
    c = read_cost_curve()
    assert c.attrs["origin"] == DEFAULT_CURVE_ORIGIN
    p = cost_curve_provenance(c)
    assert p["mean_efficiency_j_per_th"] == pytest.approx(33.6, abs=0.01)  # Coin Metrics' network mean
    assert "ONE power price" in p["caveat"]
    for t in p["tiers"]:
        assert t["status"] in {"sourced", "derived"}
        assert "https://" in t["share_source"] and "https://" in t["power_source"]
        assert t["efficiency_source"]
        assert t["power_usd_per_kwh"] == 0.045  # CCAF survey median, 45 USD/MWh
    shares = {t["segment"]: t["hashrate_share"] for t in p["tiers"]}
    assert shares["Antminer S19j Pro class"] == 0.343 and shares["Antminer S19 class"] == 0.281
    derived = [t for t in p["tiers"] if t["status"] == "derived"]
    assert len(derived) == 1
    # the residual tier's efficiency solves the mean: (33.6 − Σ s·e of the others) / 0.239
    e = (33.6 - (0.137 * 21.5 + 0.343 * 29.5 + 0.281 * 34.0)) / 0.239
    assert derived[0]["efficiency_j_per_th"] == pytest.approx(e, abs=0.005)
    assert mean_efficiency_j_per_th(c) == pytest.approx(33.6, abs=1e-3)


def test_stress_cli_names_the_source_of_every_tier(bundle_db_path, tmp_path):
    run = CliRunner()
    r = run.invoke(app, ["--db", str(bundle_db_path), "stress", "--price", "64000", "--fees", "0.3",
                         "--at", "2024-04-10", "--halving", "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    cc = out["cost_curve"]
    assert cc["origin"].startswith("shipped default") and len(cc["tiers"]) == 4
    assert all(t["share_source"] and t["power_source"] for t in cc["tiers"])
    e = pd.DataFrame(out["epochs"])
    assert e[e.first_height == 840_000].subsidy_btc_per_block.tolist() == [3.125]
    assert e[e.last_height == 839_999].subsidy_btc_per_block.tolist() == [6.25]
    # a user file: every tier named as the user's
    f = tmp_path / "mine.csv"
    REVIEW_CURVE.to_csv(f, index=False)
    r = run.invoke(app, ["--db", str(bundle_db_path), "stress", "--price", "64000", "--fees", "0.3",
                         "--at", "2024-04-10", "--halving", "--curve", str(f), "--hashrate-ehs", "618.4695",
                         "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["cost_curve"]["origin"] == f"user file {f}"
    assert all(t["status"] == "user input" and t["source"].startswith(f"user file {f}")
               for t in out["cost_curve"]["tiers"])
    assert "user's input" in out["cost_curve"]["caveat"]
    assert round(out["network"]["difficulty_change_next_pct"], 2) == -1.49
    r = run.invoke(app, ["--db", str(bundle_db_path), "stress", "--price", "64000", "--fees", "0.3",
                         "--at", "2024-04-10", "--halving", "--halving-at", "now", "--curve", str(f),
                         "--hashrate-ehs", "618.4695", "--format", "json"])
    assert round(json.loads(r.stdout)["network"]["difficulty_change_next_pct"], 2) == -4.41
    r = run.invoke(app, ["--db", str(bundle_db_path), "stress", "--price", "64000", "--fees", "0.3",
                         "--at", "2024-04-10", "--halving"])
    assert r.exit_code == 0 and "ONE power price" in " ".join(r.output.split())


def test_stress_cli_defaults_price_and_fees_to_the_state(bundle_db_path, bundle_desk):
    """The issue's command as given (no --price/--fees): the state's close and mean fees, named as
    such; 6.25 BTC until height 840,000 and 3.125 after; every tier's source named."""
    r = CliRunner().invoke(app, ["--db", str(bundle_db_path), "stress", "--at", "2024-04-10", "--halving",
                                 "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    n = out["network"]
    state = bundle_desk.network_state("2024-04-10")
    close = bundle_desk.daily("2024-04-10", "2024-04-10").price_usd.iloc[0]
    assert n["price_usd"] == pytest.approx(close, rel=1e-12) and state.price_date == "2024-04-10"
    assert round(n["price_usd"], 2) == 70_579.45  # Coin Metrics' fixing for 2024-04-10
    d = bundle_desk.daily("2024-04-04", "2024-04-10")
    assert n["fees_btc_per_block"] == pytest.approx(d.fees_btc_total.sum() / d.blocks.sum(), rel=1e-12)
    assert n["price_source"] == "the network state's BTC close on 2024-04-10"
    assert n["fees_source"].startswith("the network state's mean fees per block over 7 UTC days 2024-04-04")
    e = pd.DataFrame(out["epochs"])
    assert e[e.first_height == 840_000].subsidy_btc_per_block.tolist() == [3.125]
    assert e[e.last_height == 839_999].subsidy_btc_per_block.tolist() == [6.25]
    assert (e[e.first_height >= 840_000].subsidy_btc_per_block == 3.125).all()
    assert all(t["source"] for t in out["cost_curve"]["tiers"])
    given = stress_test(state, 64_000.0, None, read_cost_curve(), halving=True)
    assert given.network["price_source"] == "set (--price)" and given.network["fees_source"] == n["fees_source"]
    with pytest.raises(StressInputError, match="no price known .* pass --price"):
        stress_test(dataclasses.replace(state, price_usd=None), None, 0.3, read_cost_curve())


def test_mixed_subsidy_by_hand():
    """A day whose blocks are all of the new era but begin with the halving block is flagged
    (the halving touches it); a clean day is not; off-era means recover the block split."""
    d = pd.DataFrame({
        "date": ["2020-05-10", "2020-05-11", "2020-05-12", "2024-04-19"],
        "blocks": [150, 140, 144, 151],
        "subsidy_btc_per_block": [12.5, 6.25, 6.25, (147 * 6.25 + 4 * 3.125) / 151],
        "height_last": [629_999, 630_139, 630_283, 840_003],
    })
    out = mixed_subsidy_days(d, {630_000: 1589225023})
    assert out.mixed_subsidy.tolist() == [False, True, False, True]
    assert np.isnan(out.blocks_new_era.iloc[1])  # clean era value; flagged by the halving block
    assert "630,000" in out.subsidy_note.iloc[1] and "2020-05-11 19:23:43" in out.subsidy_note.iloc[1]
    assert out.blocks_new_era.iloc[3] == pytest.approx(4.0)


def test_halving_day_2024_on_the_bundle(bundle_desk):
    """Coin Metrics' 2024-04-19 carries blocks 840,000–840,003 (header times on 04-20)."""
    f = bundle_desk.daily_subsidy_flags("2024-04-15", "2024-04-25").set_index("date")
    assert [str(d) for d in f.index[f.mixed_subsidy]] == ["2024-04-19"]
    row = f[f.mixed_subsidy].iloc[0]
    assert row.blocks == 151 and row.height_last == 840_003
    assert row.blocks_new_era == pytest.approx(4.0, abs=1e-6)
    assert "840,000" in row.subsidy_note and "2024-04-20 00:09:27" in row.subsidy_note
