"""The hashprice forward curve (issue 16): known values, invariants, quotes, executors and the CLI on the bundle.

Known values: with volatility, drift, noise, shocks and capitulation off, revenue per hash is fixed
by the difficulty in force (DESIGN.md §3), so a month that ends before the first retarget has the
hand-computed hashprice ``86,400·10^15 / work × (subsidy + fees per block) × price`` in every
scenario, whatever the block draws. With the block draws replaced by their means the halving
block's time follows from the chain built here.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from typer.testing import CliRunner

from hashdesk.chain.consensus import block_subsidy, block_work, next_work_required
from hashdesk.scenario.engine import (
    MinerEconomics,
    ScenarioSpec,
    StartState,
    first_retarget_height,
    simulate_chunk,
)
from hashdesk.scenario.forward import (
    REFERENCE_MINER,
    QuoteError,
    forward_curve,
    forward_spec,
    halving_day,
    month_days,
    month_labels,
    read_quotes,
)
from hashdesk.scenario.paths import FeeModel, GBMPrice, HashrateModel
from hashdesk.scenario.summary import StreamingHistogram

T0 = int(datetime(2028, 2, 1, tzinfo=UTC).timestamp())
TIP = 1_040_255  # the next block starts epoch 516
BITS = 0x17024535
PRICE = 100_000.0  # [USD/BTC]
FEE_BASE = 2.0e6  # fees per block at 600-s blocks [sats]
BETA = 1.06
W = float(block_work(BITS))  # expected hashes per block


class MeanDraws:
    """The block sampler's three draws at their means (Gamma(k) → k, Exp(1) → 1); any other draw raises."""

    def standard_gamma(self, shape, size=None):
        return np.full(size, shape, dtype=np.float64) if size is not None else np.array(shape, dtype=np.float64)

    def gamma(self, shape, size=None):
        return self.standard_gamma(shape, size)

    def standard_exponential(self, size=None):
        return np.ones(size)


def _spec(hashrate_hs: float, months: int, *, price_vol: float = 0.0, noise: float = 0.0,
          miner: MinerEconomics | None = None) -> ScenarioSpec:
    st_ = StartState(T0, TIP, BITS, None, PRICE, hashrate_hs / 1e18, FEE_BASE)
    hr = HashrateModel(growth_per_year=0.0, noise_sd_per_day=noise, shocks=None, capitulation=None)
    return ScenarioSpec(st_, months, GBMPrice(0.0, price_vol), hr, FeeModel(FEE_BASE, BETA, noise, 0.5), miner)


# -- known values -------------------------------------------------------------------------------------


def test_forward_month_before_first_retarget_is_the_hand_computed_hashprice():
    """Blocks every 1,800 s (H = work/1800): the first epoch lasts ~42 days, so February 2028 (29 days)
    has no retarget in any scenario and its average hashprice is the closed form, in every scenario."""
    spec = _spec(W / 1800.0, 2)
    curve = forward_curve(spec, 3000, seed=5, chunk_size=1000)
    fee = FEE_BASE * 3.0**BETA  # fees per block at 1,800-s blocks: base·(τ/600 s)^β
    btc = 86_400 * 1e15 / W * (block_subsidy(TIP + 1) + fee) / 1e8  # [BTC/PH/day]
    usd = btc * PRICE
    r = curve.rows.iloc[0]
    assert r["month"] == "2028-02" and r["days"] == 29
    for k in ("mean_usd_per_ph_day", "median_usd_per_ph_day", "p05", "p25", "p75", "p95"):
        assert r[k] == pytest.approx(usd, rel=1e-12), k
    for k in ("mean_btc_per_ph_day", "median_btc_per_ph_day", "p05_btc_per_ph_day", "p95_btc_per_ph_day"):
        assert r[k] == pytest.approx(btc, rel=1e-12), k
    assert r["retargets_expected"] == 0 and r["p_halving"] == 0 and r["subsidy_btc"] == 3.125
    assert r["fees_btc_per_block_mean"] == pytest.approx(fee / 1e8, rel=1e-12)
    assert r["difficulty_change_pct_mean"] == pytest.approx(0.0, abs=1e-9)
    # March: the first retarget (epoch of ~2015 × 1,800 s: difficulty × 1,209,600 / 3,627,000, −66.65 %)
    # on ~14 March, and a second one two weeks later at ~600-s blocks (difficulty about unchanged)
    r2 = curve.rows.iloc[1]
    assert r2["retargets_expected"] == pytest.approx(2.0)
    assert r2["difficulty_change_pct_mean"] == pytest.approx(-66.65, abs=0.2)
    assert r2["mean_usd_per_ph_day"] > usd


def test_reference_miner_lines_equal_the_engine_hashprice():
    """``revenue_usd / days`` of the 1 PH/s reference miner is the engine's hashprice metric (to an ulp) and
    ``btc_mined / days`` its BTC counterpart: with a constant price, BTC × price = USD."""
    spec = forward_spec(_spec(1.02 * W / 600.0, 6, noise=0.02))
    res = simulate_chunk(spec, 500, np.random.SeedSequence(3))
    days = month_days(spec)
    usd = res.monthly["revenue_usd"] / days
    np.testing.assert_allclose(usd, res.monthly["hashprice_usd_per_ph_day"], rtol=1e-12)
    np.testing.assert_allclose(res.monthly["btc_mined"] / days * PRICE, usd, rtol=1e-12)
    assert spec.miner == REFERENCE_MINER


def _chain_times(hashrate_hs: float, n_epochs: int) -> list[tuple[int, float, float, float]]:
    """(first height, first-block time, last-block time [s after the start], work) per epoch, with every
    block after exactly its expected hashes at a constant hashrate and the exact consensus retarget."""
    out, t, bits, first_h = [], 0.0, BITS, TIP + 1
    for _ in range(n_epochs):
        w = float(block_work(bits))
        t_first = t + w / hashrate_hs
        t_last = t_first + 2015 * w / hashrate_hs
        out.append((first_h, t_first, t_last, w))
        bits = next_work_required(bits, math.floor(T0 + t_first), math.floor(T0 + t_last))
        t, first_h = t_last, first_h + 2016
    return out


def test_halving_day_matches_the_chain_with_mean_draws():
    """The interpolated halving time is exact (to the 1-s header time) when blocks are evenly spaced in
    an epoch: constant hashrate, every draw at its mean. Height 1,050,000 is block 1,680 of epoch 520."""
    hs = 1.05 * W / 600.0
    spec = _spec(hs, 3)
    res = simulate_chunk(spec, 4, np.random.SeedSequence(0), rng=MeanDraws())
    epochs = _chain_times(hs, 6)
    h = 1_050_000
    first_h, t_first, _, w = next(e for e in epochs if e[0] <= h < e[0] + 2016)
    assert first_h == first_retarget_height(TIP) + 3 * 2016
    want = (t_first + (h - first_h) * w / hs) / 86_400
    got = halving_day(spec, res)
    np.testing.assert_allclose(got, want, atol=2 / 86_400)
    curve_rows = _curve_from(spec, res)
    month = int(np.searchsorted([(d - spec.month_starts[0]).days for d in spec.month_starts], want, "right")) - 1
    assert curve_rows["p_halving"].tolist() == [1.0 if i == month else 0.0 for i in range(3)]
    assert curve_rows["subsidy_btc"].tolist() == [3.125 if i < month else 1.5625 for i in range(3)]


def _curve_from(spec, res):
    from hashdesk.scenario.forward import ForwardReducer, finalize_forward

    fspec = forward_spec(spec)
    return finalize_forward(fspec, ForwardReducer()(fspec, res, 0), 0).rows


def test_halving_month_shows_the_subsidy_cut_in_btc():
    """Starting two weeks before the 2028 halving at ~600-s blocks: its month has P(halving) ~1 and the
    next month's BTC hashprice is about half the month before's (subsidy 3.125 → 1.5625 BTC)."""
    st_ = StartState(T0, 1_048_319, BITS, None, PRICE, 1.0 * W / 600.0 / 1e18, FEE_BASE)
    hr = HashrateModel(growth_per_year=0.0, noise_sd_per_day=0.0, shocks=None, capitulation=None)
    spec = ScenarioSpec(st_, 3, GBMPrice(0.0, 0.0), hr, FeeModel(FEE_BASE, 0.0, 0.0, 0.5))
    rows = forward_curve(spec, 2000, seed=1, chunk_size=1000).rows
    assert rows["p_halving"].iloc[0] == pytest.approx(1.0)
    assert rows["subsidy_btc"].tolist() == [1.5625] * 3
    before = 86_400 * 1e15 / W * (block_subsidy(1_048_320) + FEE_BASE) / 1e8
    after = 86_400 * 1e15 / W * (block_subsidy(1_050_000) + FEE_BASE) / 1e8
    assert before > rows["mean_btc_per_ph_day"].iloc[0] > after
    assert rows["mean_btc_per_ph_day"].iloc[1] == pytest.approx(after, rel=0.01)  # difficulty barely moves


# -- invariants ------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 300), st.integers(1, 4)),
              elements=st.floats(-1e7, 1e7, allow_nan=False, allow_subnormal=False)),
       st.floats(1e-3, 1e5))
def test_histogram_quantiles_ordered_within_range_and_cdf_inverse(values, scale):
    h = StreamingHistogram(values.shape[1], scale, with_sums=True)
    h.add(values)
    q = h.quantiles((0.05, 0.25, 0.5, 0.75, 0.95))
    assert np.all(np.diff(q, axis=1) >= 0)
    assert np.all(q >= values.min(axis=0)[:, None]) and np.all(q <= values.max(axis=0)[:, None])
    c = h.cdf(q[:, 2])
    assert np.all((c >= 0) & (c <= 1))
    tail = h.tail_mean(0.05)
    lo = values.min(axis=0)
    mean = values.mean(axis=0)
    span = values.max(axis=0) - lo
    assert np.all(tail >= lo - 1e-9 * np.abs(lo) - 1e-9)
    assert np.all(tail <= mean + 0.03 * span + 1e-6 * np.abs(mean) + 1e-9)


def test_histogram_tail_mean_and_cdf_against_numpy():
    rng = np.random.default_rng(1)
    v = rng.lognormal(4.0, 0.5, size=(200_000, 2)) - 40.0
    h = StreamingHistogram(2, 1.0, with_sums=True)
    for part in np.array_split(v, 7):
        h.add(part)
    srt = np.sort(v, axis=0)
    exact = srt[:10_000].mean(axis=0)
    np.testing.assert_allclose(h.tail_mean(0.05), exact, rtol=2e-3)
    x = np.quantile(v, 0.3, axis=0)
    np.testing.assert_allclose(h.cdf(x), 0.3, atol=2e-3)


def test_forward_quantiles_ordered_on_a_noisy_run():
    spec = _spec(1.03 * W / 600.0, 8, price_vol=0.6, noise=0.02)
    curve = forward_curve(spec, 4000, seed=2, chunk_size=1500)
    rows = curve.rows
    for col, level in (("p05", 5), ("p25", 25), ("median_usd_per_ph_day", 50), ("p95", 95)):
        np.testing.assert_allclose(curve.percentile(rows[col]), level, atol=1e-6)
    for unit in ("", "_btc_per_ph_day"):
        cols = [f"p05{unit}", f"p25{unit}", f"median_{'usd' if not unit else 'btc'}_per_ph_day", f"p75{unit}",
                f"p95{unit}"]
        assert (np.diff(rows[cols].to_numpy(), axis=1) >= 0).all()
    assert (rows["p05"] <= rows["mean_usd_per_ph_day"]).all() and (rows["mean_usd_per_ph_day"] <= rows["p95"]).all()


def test_forward_bit_identical_across_executors():
    from distributed import Client, LocalCluster

    spec = _spec(1.03 * W / 600.0, 4, price_vol=0.5, noise=0.02)
    one = forward_curve(spec, 700, seed=9, chunk_size=300)
    two = forward_curve(spec, 700, seed=9, chunk_size=300, workers=2)
    pd.testing.assert_frame_equal(one.rows, two.rows, check_exact=True)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        dask = forward_curve(spec, 700, seed=9, chunk_size=300, executor="dask", client=client)
    pd.testing.assert_frame_equal(one.rows, dask.rows, check_exact=True)


# -- quotes -------------------------------------------------------------------------------------------------


def test_quotes_premium_and_percentile(tmp_path):
    spec = _spec(W / 1800.0, 2)
    fee = FEE_BASE * 3.0**BETA
    usd = 86_400 * 1e15 / W * (block_subsidy(TIP + 1) + fee) / 1e8 * PRICE
    f = tmp_path / "q.csv"
    f.write_text(f"month,price\n2028-02,{usd + 5:.10f}\n2028-03,1.0\n2030-01,50\n")
    curve = forward_curve(spec, 500, seed=0, quotes=read_quotes(f))
    r = curve.rows
    assert r["premium_usd_per_ph_day"].iloc[0] == pytest.approx(5.0, abs=1e-8)
    assert r["premium_pct"].iloc[0] == pytest.approx(500.0 / usd, rel=1e-9)
    assert r["quote_percentile"].iloc[0] == 100.0  # above every scenario's (identical) value
    assert r["quote_percentile"].iloc[1] == 0.0  # below all
    assert curve.unmatched_quotes == ("2030-01",)


@pytest.mark.parametrize("text, needle", [
    ("month;price\n2024-05;60\n", "line 1: header must name the columns month,price"),
    ("month,price\n2024-13,60\n", "row 1 (line 2), field 'month': not a month"),
    ("month,price\n2024-05,60\n2024-06,abc\n", "row 2 (line 3), field 'price': not a number: 'abc'"),
    ("month,price\n2024-05,-3\n", "row 1 (line 2), field 'price': must be a positive number"),
    ("month,price\n2024-05,60\n2024-05,61\n", "row 2 (line 3), field 'month': 2024-05 is also quoted in row 1"),
    ("", "empty quotes file"),
    ("month,price\n", "no quotes after the header"),
])
def test_bad_quotes_name_file_row_and_field(tmp_path, text, needle):
    f = tmp_path / "quotes.csv"
    f.write_text(text)
    with pytest.raises(QuoteError) as exc:
        read_quotes(f)
    assert str(f) in str(exc.value) and needle in str(exc.value)
    with pytest.raises(QuoteError, match="not found"):
        read_quotes(tmp_path / "missing.csv")


def test_month_labels_calendar_or_first_day():
    assert month_labels(_spec(W / 600, 2)) == ["2028-02", "2028-03"]
    st_ = StartState(T0 + 14 * 86_400, TIP, BITS, None, PRICE, W / 600 / 1e18, FEE_BASE)
    spec = ScenarioSpec(st_, 2, GBMPrice(0.0, 0.0), HashrateModel(0.0), FeeModel(FEE_BASE))
    assert month_labels(spec) == ["2028-02-15", "2028-03-15"]


# -- the CLI on the bundle -----------------------------------------------------------------------------------


def _cli(db, *args, **env):
    from hashdesk.cli import app

    return CliRunner().invoke(app, ["--db", str(db), *args], env={"COLUMNS": "80", **env})


@pytest.mark.slow
def test_cli_forward_on_the_bundle(bundle_db_path, bundle_desk):
    """Done-when of issue 16: 12 monthly rows from 2024-03-31; the halving month (2024-04) shows the
    subsidy cut; the 5–95 % band brackets the realised month-average hashprice in >= 10 of 12 months."""
    r = _cli(bundle_db_path, "forward", "--at", "2024-03-31", "--format", "json", "-n", "20000")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert len(rows) == 12
    keys = {"month", "mean_usd_per_ph_day", "median_usd_per_ph_day", "p05", "p25", "p75", "p95"}
    assert all(keys <= set(x) for x in rows)
    assert [x["month"] for x in rows][:2] == ["2024-04", "2024-05"]
    april, may = rows[0], rows[1]
    assert april["p_halving"] > 0.99 and april["subsidy_btc"] == 3.125
    assert may["mean_btc_per_ph_day"] < 0.7 * april["mean_btc_per_ph_day"]
    curve = bundle_desk.forward_curve("2024-03-31", 12, 20000)
    assert [x["mean_usd_per_ph_day"] for x in rows] == pytest.approx(list(curve.rows["mean_usd_per_ph_day"]),
                                                                     rel=1e-12)
    realized = bundle_desk.forward_realized(curve)
    assert realized["realized_usd_per_ph_day"].notna().all()
    assert sum(bool(v) for v in realized["inside_band"]) >= 10


@pytest.mark.slow
def test_cli_forward_table_quotes_csv_and_errors(bundle_db_path, tmp_path):
    q = tmp_path / "quotes.csv"
    q.write_text("month,price\n2024-05,55\n2024-06,60\n")
    r = _cli(bundle_db_path, "forward", "--at", "2024-03-31", "-n", "2000", "--quotes", str(q),
             "--chart", str(tmp_path / "fan.html"))
    assert r.exit_code == 0, r.output
    assert "implied risk premium" in r.stdout and "halving" in r.stdout
    assert all(len(line) <= 80 for line in r.stdout.splitlines())
    assert (tmp_path / "fan.html").stat().st_size > 10_000
    r = _cli(bundle_db_path, "forward", "--at", "2024-03-31", "-n", "2000", "--months", "6", "--format", "csv")
    assert r.exit_code == 0
    df = pd.read_csv(__import__("io").StringIO(r.stdout))
    assert len(df) == 6 and "p95_btc_per_ph_day" in df.columns
    bad = tmp_path / "bad.csv"
    bad.write_text("month,price\n2024-05,lots\n")
    r = _cli(bundle_db_path, "forward", "--at", "2024-03-31", "--quotes", str(bad))
    assert r.exit_code == 2 and str(bad) in r.output and "field 'price'" in r.output


@pytest.mark.slow
def test_dashboard_forward_panel(bundle_db_path):
    """/api/v1/forward: the section the brief shows (fan chart, curve table), a profile's hedge table,
    validated parameters; the brief's forward section fills the panel's cache for its month end."""
    from fastapi.testclient import TestClient

    from hashdesk.web.app import create_app

    with TestClient(create_app(bundle_db_path, precompute=False)) as client:
        r = client.get("/api/v1/forward?at=2024-03-31&months=6&scenarios=2000&profile=hosted_1ehs&ratio=0.5")
        assert r.status_code == 200, r.text[:300]
        body = r.json()
        assert body["status"] == "ok" and body["key"] == "forward"
        assert [t["key"] for t in body["tables"]] == ["forward_curve", "hedge"]
        assert len(body["tables"][0]["rows"]) == 6 and body["figures"][0]["plotly"]["data"]
        # the models in words, the unsourced capitulation cost said to be an assumption
        assert [s.split(":")[0] for s in body["sources"]][:3] == ["price", "hashrate", "shocks"]
        assert any(s.startswith("capitulation below 30.0 USD/PH/day at the start; parameters: hashdesk's "
                                "assumption") for s in body["sources"])
        for bad in ("scenarios=10000000", "profile=../../etc/passwd", "ratio=-1", "at=2024-02-30x"):
            assert client.get(f"/api/v1/forward?{bad}").status_code == 422, bad
        assert client.get("/forward").status_code == 200
        b = client.get("/api/v1/brief?month=2024-01")
        assert b.status_code == 200 and b.json()["sections"][-1]["key"] == "forward"
        again = client.get("/api/v1/forward?at=2024-01-31")
        assert again.headers["x-hashdesk-cache"] == "hit"
        assert again.json()["tables"][0] == b.json()["sections"][-1]["tables"][0]
