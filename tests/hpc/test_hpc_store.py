"""Store queries and end-to-end figures on the reference bundle."""

from __future__ import annotations

import datetime as dt

import pytest

from hashdesk.chain.consensus import difficulty
from hashdesk.config import repo_root
from hashdesk.data.companies import CompanyDataError, hpc_deals, latest_close, market_inputs
from hashdesk.economics.state import NetworkDataError
from hashdesk.hpc.scorecard import CRITERIA, score_company
from hashdesk.hpc.sites import load_company, load_site
from hashdesk.hpc.valuation import (
    deal_reference_ranges,
    sensitivity_table,
    value_company,
    value_site,
)

EXAMPLES = repo_root() / "examples" / "hpc"


def test_height_matches_block_timestamps_inside_a_window(bundle_desk):
    r = bundle_desk.reader(None)
    for day in (dt.date(2024, 1, 10), dt.date(2025, 11, 15)):
        eod = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()) + 86_400
        direct = r.scalar("SELECT max(height) FROM blocks WHERE time < ?", [eod])
        st = bundle_desk.network_state(day)
        assert st.tip_height_exact and st.tip_height == direct


def test_height_across_the_gap_hits_bitcoinj_epoch_starts(bundle_desk):
    # epoch starts between the two block-time windows (mid-2024 .. Jan 2025): the height is Coin
    # Metrics' daily block counts carried from the last retarget day
    rows = bundle_desk.reader(None).df(
        "SELECT height, time FROM blocks WHERE source = 'bitcoinj' AND height BETWEEN 850000 AND 878976"
    )
    assert len(rows) >= 10
    for h, t in zip(rows.height, rows.time, strict=True):
        day = dt.datetime.fromtimestamp(int(t), dt.UTC).date()
        assert bundle_desk.network_state(day).tip_height >= h - 3
        assert bundle_desk.network_state(day - dt.timedelta(days=1)).tip_height < h + 3


def test_bits_match_coinmetrics_difficulty(bundle_desk):
    # D = hashrate · 86,400 / (blocks · 2^32) on days inside one epoch (SOURCES.md §8: ≤ 2e-6)
    days = bundle_desk.reader(None).df(
        "SELECT date, hashrate_ehs, blk_cnt FROM network_daily WHERE source = 'coinmetrics' "
        "AND date IN ('2022-06-15', '2023-03-01', '2024-08-20', '2025-04-04', '2025-12-29')"
    )
    assert len(days) == 5
    for r in days.itertuples():
        st = bundle_desk.network_state(r.date)
        implied = r.hashrate_ehs * 1e18 * 86_400 / (r.blk_cnt * 2**32)
        assert difficulty(st.bits) == pytest.approx(implied, rel=1e-5), r.date


def test_network_state_figures(bundle_desk):
    st = bundle_desk.network_state(dt.date(2025, 4, 4))
    assert st.subsidy_sats == 312_500_000
    assert 30 < st.hashprice_usd_per_ph_day < 70
    before = bundle_desk.network_state(dt.date(2024, 4, 18))
    assert before.subsidy_sats == 625_000_000
    assert bundle_desk.latest_priced_day() == dt.date(2025, 12, 29)
    # before Coin Metrics there are no fees: the state says so and hpc value refuses clearly
    old = bundle_desk.network_state(dt.date(2019, 1, 1))
    assert old.fees_btc_per_block is None
    with pytest.raises(NetworkDataError, match="no fees_btc_per_block"):
        old.require("fees_btc_per_block", "price_usd")


def test_deals_reference_ranges(bundle_desk):
    deals = hpc_deals(bundle_desk.reader(None))
    assert len(deals) == 4 and deals.source_url.str.startswith("https://").all()
    ranges = deal_reference_ranges(deals).set_index("metric")
    lease = ranges.loc["lease_usd_per_kw_month"]
    assert (lease["low"], lease["high"], lease["n"]) == (120.8, 155.6, 3)
    capex = ranges.loc["capex_usd_per_mw"]
    assert (capex["low"], capex["high"]) == (8e6, 10e6)
    assert "TeraWulf / Fluidstack" in capex["sources"]


def test_site_example_on_the_bundle(bundle_desk):
    site = load_site(EXAMPLES / "terawulf_lake_mariner_hpc.toml")
    st = bundle_desk.network_state(site.valuation.as_of)
    res = value_site(site, st)
    # lease 154.2 USD/kW-month × 200 MW × 12,000 = 370.08M USD/year
    assert res.hpc_lease_revenue_usd_per_year == pytest.approx(370_080_000.0)
    # NOI 85 % of the lease per critical-IT MW-year
    assert res.hpc_usd_per_critical_it_mw_year == pytest.approx(0.85 * 154.2 * 12_000, rel=1e-3)
    assert res.mining_usd_per_mw_year < res.hpc_usd_per_mw_year
    assert res.hpc_irr is not None and 0 < res.hpc_irr < 0.5
    sens = sensitivity_table(site, st)
    assert len(sens) == 10 and sens.swing_usd.is_monotonic_decreasing
    lease_row = sens.set_index("input").loc["hpc.lease_usd_per_kw_month"]
    assert lease_row.switch_value_high_usd > lease_row.switch_value_low_usd


def test_company_sum_of_parts_and_scorecard(bundle_desk):
    r = bundle_desk.reader(None)
    mara = load_company(EXAMPLES / "mara.toml")
    m = market_inputs(r, mara)
    assert m.price_date == dt.date(2025, 4, 4)
    assert m.share_price_usd == latest_close(r, "MARA")[1]
    assert m.btc_held == 44_893.0 and "2024-12" in m.btc_held_source  # from miner_production
    val = value_company(mara, bundle_desk.network_state(m.price_date), m)
    assert val.market_cap_usd == pytest.approx(m.share_price_usd * mara.shares_outstanding)
    parts = val.mining_value_usd + val.contracted_hpc_value_usd + val.btc_held_usd - val.net_debt_usd
    assert val.sum_of_parts_usd == pytest.approx(parts)
    assert val.premium_usd == pytest.approx(val.market_cap_usd - val.sum_of_parts_usd)
    assert val.fleet_power_mw == pytest.approx(53.2 * 19.0)
    card = score_company(mara, m, m.price_date)
    assert list(card.criterion) == [c.name for c in CRITERIA] + ["total"]
    scored = card.iloc[:-1]
    total = (scored.score_0_100 * scored.weight).sum() / scored.weight.sum()
    assert card.iloc[-1].score_0_100 == pytest.approx(total)
    assert card.inputs.str.len().gt(0).all()

    wulf = load_company(EXAMPLES / "terawulf.toml")
    mw = market_inputs(r, wulf)
    wv = value_company(wulf, bundle_desk.network_state(mw.price_date), mw)
    # the Fluidstack lease (announced 2025-08-14) was not known on the 2025-04-04 price date
    assert wv.contracted_hpc_critical_it_mw == 0.0 and wv.contracted_hpc_value_usd == 0.0
    assert [s["in_sum_of_parts"] for s in wv.sites] == ["not yet announced (2025-08-14)", "mining fleet"]
    assert any("announced 2025-08-14" in w for w in wv.warnings)
    corz = load_company(EXAMPLES / "core_scientific.toml")
    mc = market_inputs(r, corz)
    cv = value_company(corz, bundle_desk.network_state(mc.price_date), mc)
    assert cv.contracted_hpc_critical_it_mw == 200.0 and cv.contracted_hpc_renewal_npv_usd > 0
    assert cv.sum_of_parts_with_renewals_usd == pytest.approx(cv.sum_of_parts_usd + cv.contracted_hpc_renewal_npv_usd)


def test_empty_store_errors_say_what_to_do(empty_store):
    from hashdesk.data import DataError
    from hashdesk.desk import Desk

    desk = Desk(con=empty_store.con)
    with pytest.raises(DataError, match="run `hashdesk ingest`"):
        desk.latest_priced_day()
    with pytest.raises(ValueError, match="run `hashdesk ingest`"):
        desk.network_state(dt.date(2025, 1, 1))
    with pytest.raises(CompanyDataError, match="no alpaca_iex close for 'MARA'"):
        market_inputs(desk.reader(None), load_company(EXAMPLES / "mara.toml"))


def test_figures_carry_units(bundle_desk):
    from hashdesk.hpc.charts import (
        cashflow_figure,
        site_comparison_figure,
        sotp_figure,
        tornado_figure,
    )
    from hashdesk.hpc.valuation import site_cashflows

    site = load_site(EXAMPLES / "illustrative_texas_mining.toml")
    st = bundle_desk.network_state(site.valuation.as_of)
    res = value_site(site, st)
    figs = [
        tornado_figure(sensitivity_table(site, st)),
        site_comparison_figure(res, (120.8, 155.6)),
        cashflow_figure(site_cashflows(site, st), site.name),
    ]
    mara = load_company(EXAMPLES / "mara.toml")
    m = market_inputs(bundle_desk.reader(None), mara)
    figs.append(sotp_figure(value_company(mara, bundle_desk.network_state(m.price_date), m)))
    for fig in figs:
        assert "[" in fig.layout.yaxis.title.text or "[" in fig.layout.xaxis.title.text
    # tornado bars: one pair per input, the low bar of the lease below the base
    tornado = figs[0]
    assert len(tornado.data) == 2 and len(tornado.data[0].y) == 10
    # cumulative HPC cash flow starts at −capex
    assert figs[2].data[1].y[0] == pytest.approx(-res.hpc_capex_usd / 1e6)
