"""The one formatter (hashdesk.fmt): known values, kinds and labels from names, no e-notation."""

from __future__ import annotations

import math
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashdesk.fmt import KIND_UNITS, fmt_column, fmt_time, fmt_value, infer_kind, label, unit_of
from hashdesk.report.palette import fmt_value as palette_fmt_value


@pytest.mark.parametrize(
    ("value", "kind", "with_unit", "text"),
    [
        (73_197_634_206_448.0, "difficulty", False, "73.20 T"),  # epoch 409 (bits 0x1703d869)
        (1.5e17, "difficulty", False, "150.00 P"),
        (2.1e18, "difficulty", False, "2.10 E"),
        (0.7513, "share", True, "75.1 %"),  # margin_pct as a fraction
        (120_200_000.0, "usd", True, "120,200,000 USD"),  # was 1.202e+08
        (84.6112, "usd_ph_day", True, "84.61 USD/PH/day"),
        (0.0019599, "btc_ph_day", False, "0.001960"),
        (519.84, "ehs", True, "519.8 EH/s"),
        (0.8814, "btc", False, "0.881"),
        (212.54135, "btc", False, "212.5"),
        (0.0123, "pct", True, "+1.23%"),
        (-2.85, "pct_value", True, "-2.85 %"),
        (-0.039, "bp", True, "-390 bp"),
        (826070, "int", False, "826,070"),
        (155, "num", False, "155"),
        (0.000274821, "num", False, "0.000275"),
        (386_127_977, "bits", False, "0x1703d869"),
        (3.0926876330325410e23, "si", False, "309.27 Z"),
        (True, "bool", False, "yes"),
        (None, "usd", True, "—"),
        (float("nan"), "pct", False, "—"),
        (-0.0000001, "pct", False, "+0.00"),
        (-0.0001, "usd", False, "0.00"),
    ],
)
def test_fmt_value_known(value, kind, with_unit, text):
    assert fmt_value(value, kind, with_unit) == text


def test_palette_delegates_to_fmt():
    for v, k in ((0.0123, "pct"), (7.3197634206448e13, "difficulty"), (512.345, "ehs"), (1e10, "num")):
        assert palette_fmt_value(v, k, True) == fmt_value(v, k, True)
    assert "e+" not in palette_fmt_value(1.202e8, "num")


def test_fmt_time_utc():
    assert fmt_time(1705761155, with_time=True) == "2024-01-20 14:32 UTC"
    assert fmt_time("2024-01-16T23:30:26Z") == "2024-01-16 23:30 UTC"
    assert fmt_time("2024-01-17T00:00:00Z") == "2024-01-17"
    assert fmt_time(date(2024, 1, 10)) == "2024-01-10"


def test_fmt_column_one_number_of_decimals():
    assert fmt_column([0.1, 0.08]) == ["0.100", "0.080"]  # never "0.1" beside "0.08"
    assert fmt_column([155, 131, None]) == ["155", "131", "—"]
    assert fmt_column([533.334, 1.875, 146.571]) == ["533.33", "1.88", "146.57"]
    assert fmt_column([1.371235, 0.6122], "btc") == ["1.371", "0.612"]


@pytest.mark.parametrize(
    ("name", "kind", "text"),
    [
        ("hashprice_usd_per_ph_day", "usd_ph_day", "hashprice [USD/PH/day]"),
        ("hashprice_btc_per_ph_day", "btc_ph_day", "hashprice [BTC/PH/day]"),
        ("hashrate_ehs_7d", "ehs", "hashrate 7-day [EH/s]"),
        ("margin_pct", "share", "margin [%]"),
        ("difficulty", "difficulty", "difficulty"),
        ("difficulty_change_pct", "pct_value", "difficulty change [%]"),
        ("fees_btc_per_block", "btc", "fees [BTC/block]"),
        ("price_usd", "usd_btc", "price [USD]"),  # a BTC price: cents
        ("cash_cost_per_btc_usd", "usd", "cash cost per BTC [USD]"),
        ("efficiency_j_per_th", "j_th", "efficiency [J/TH]"),
        ("power_usd_per_kwh", "usd_kwh", "power [USD/kWh]"),
        ("breakeven_lease_usd_per_kw_month", "usd_kw_month", "breakeven lease [USD/kW-month]"),
        ("btc_gross_per_day", "btc", "gross [BTC/day]"),
        ("revenue_usd_per_day", "usd", "revenue [USD/day]"),
        ("return", "pct", "return [%]"),
        ("max_drawdown", "share", "max drawdown [%]"),
        ("beta_btc", "ratio", "beta BTC"),
        ("r2_btc", "ratio", "R² BTC"),
        ("depth_pct", "pct_value", "depth [%]"),
        ("energy_curtailed_mwh", "mwh", "energy curtailed [MWh]"),
        ("tip_height", "int", "tip height"),
        ("date", "date", "date"),
        ("bits_last", "bits", "bits last"),
        ("hashrate [EH/s]", "ehs", "hashrate [EH/s]"),  # already a label
    ],
)
def test_kind_and_label_from_name(name, kind, text):
    assert infer_kind(name) == kind
    assert label(name) == text


def test_unit_of():
    assert unit_of("hashprice_usd_per_ph_day") == "USD/PH/day"
    assert unit_of("margin_pct") == "%"
    assert unit_of("difficulty") == ""


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e30, max_value=1e30),
       st.sampled_from(sorted(set(KIND_UNITS) | {"num", "int", "ratio", "difficulty", "si"})))
def test_never_scientific_notation(x, kind):
    text = fmt_value(x, kind, with_unit=True)
    assert "e+" not in text and "e-" not in text
    assert text not in ("", "nan")


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15),
                min_size=1, max_size=20))
def test_column_decimals_are_fixed(xs):
    out = fmt_column(xs)
    decimals = {len(s.split(".")[1]) if "." in s else 0 for s in out}
    assert len(decimals) == 1
    assert not any("e" in s for s in out)
    assert all(math.isfinite(float(s.replace(",", ""))) for s in out)
