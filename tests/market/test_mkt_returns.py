"""Calendar alignment: BTC compounded over weekends/holidays onto the equity calendar."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hashdesk.market.inputs import MarketInputs, NonOperatingWindow
from hashdesk.market.returns import (
    BTC,
    MarketDataError,
    btc_close_series,
    period_return,
    returns_on_calendar,
    week_end_calendar,
)
from hashdesk.market.summary import ticker_record, ticker_returns


def make_inputs(equity: dict[str, float], btc: dict[str, float], non_operating=()) -> MarketInputs:
    eq = pd.Series(equity, dtype=float)
    eq.index = pd.DatetimeIndex(eq.index)
    b = pd.Series(btc, dtype=float)
    b.index = pd.DatetimeIndex(b.index)
    prices = pd.concat([eq.rename("MINR"), b.rename(BTC)], axis=1, sort=True)
    return MarketInputs(prices, pd.Series("coinmetrics", index=b.index), {"MINR": "test"}, tuple(non_operating))


def test_weekend_btc_move_lands_on_monday():
    # Fri 2024-01-05, Mon 2024-01-08; BTC rallies 10 % on Saturday and 10 % on Sunday
    inp = make_inputs(
        {"2024-01-04": 10.0, "2024-01-05": 10.0, "2024-01-08": 12.0},
        {"2024-01-04": 100.0, "2024-01-05": 100.0, "2024-01-06": 110.0, "2024-01-07": 121.0, "2024-01-08": 121.0},
    )
    ar = ticker_returns(inp, "MINR", "2024-01-05", "2024-01-08")
    assert list(ar.returns.index.strftime("%a")) == ["Fri", "Mon"]
    assert ar.returns.loc["2024-01-08", BTC] == pytest.approx(0.21)  # 1.1 * 1.1 - 1, on Monday
    assert ar.returns.loc["2024-01-08", "MINR"] == pytest.approx(0.2)
    assert ar.periods_per_year == 252


def test_holiday_is_compounded_and_missing_btc_is_never_filled():
    # Monday 2024-01-15 is MLK day: Fri -> Tue covers four BTC days
    btc = {"2024-01-11": 100.0, "2024-01-12": 100.0, "2024-01-13": 90.0, "2024-01-14": 95.0, "2024-01-15": 99.0, "2024-01-16": 104.0}
    inp = make_inputs({"2024-01-11": 5.0, "2024-01-12": 5.0, "2024-01-16": 5.5}, btc)
    ar = ticker_returns(inp, "MINR", "2024-01-12", "2024-01-16")
    assert ar.returns.loc["2024-01-16", BTC] == pytest.approx(0.04)
    # drop BTC's Tuesday: that return is NaN (no forward fill) and a warning names it
    del btc["2024-01-16"]
    inp = make_inputs({"2024-01-11": 5.0, "2024-01-12": 5.0, "2024-01-16": 5.5}, btc)
    ar = ticker_returns(inp, "MINR", "2024-01-12", "2024-01-16")
    assert np.isnan(ar.returns.loc["2024-01-16", BTC])
    assert any("BTC-USD: no price on 1" in w for w in ar.warnings)


def test_long_gap_gives_nan_not_one_giant_return():
    prices = pd.DataFrame({"X": [1.0, 2.0, 3.0]}, index=pd.DatetimeIndex(["2022-12-29", "2024-01-24", "2024-01-25"]))
    ar = returns_on_calendar(prices, prices.index)
    assert np.isnan(ar.returns["X"].iloc[0]) and ar.returns["X"].iloc[1] == pytest.approx(0.5)
    assert "gap of 391 days" in ar.warnings[0]


def test_log_and_weekly():
    idx = pd.bdate_range("2024-01-01", "2024-01-31")
    prices = pd.DataFrame({"X": np.linspace(10, 13, len(idx))}, index=idx)
    simple = returns_on_calendar(prices, idx)
    log = returns_on_calendar(prices, idx, kind="log")
    assert np.allclose(np.log1p(simple.returns["X"]), log.returns["X"])
    assert log.returns["X"].sum() == pytest.approx(np.log(13 / 10))
    weeks = week_end_calendar(idx)
    assert list(weeks.strftime("%a")) == ["Fri"] * 4 + ["Wed"]
    wk = returns_on_calendar(prices, weeks, frequency="weekly")
    assert wk.periods_per_year == 52
    assert period_return(wk.returns["X"]) == pytest.approx(13 / prices["X"].loc[weeks[0]] - 1)


def test_btc_splice_shifts_mkpru_one_day():
    cm = pd.Series([200.0, 210.0], index=pd.to_datetime(["2021-12-08", "2021-12-09"]))
    mk = pd.Series([100.0, 150.0, 999.0], index=pd.to_datetime(["2021-12-06", "2021-12-07", "2021-12-08"]))
    close, src = btc_close_series(cm, mk)
    # MKPRU of day d+1 is BTC of day d; Coin Metrics wins where it exists
    assert close.loc["2021-12-05"] == 100.0 and close.loc["2021-12-06"] == 150.0
    assert close.loc["2021-12-07"] == 999.0 and close.loc["2021-12-08"] == 200.0
    assert src.loc["2021-12-07"] == "blockchaincom_mkpru" and src.loc["2021-12-08"] == "coinmetrics"


def test_non_operating_days_excluded_or_warned():
    days = pd.bdate_range("2021-11-22", "2021-12-10")
    eq = {str(d.date()): 10.0 + i for i, d in enumerate(days)}
    btc = {str(d.date()): 100.0 for d in pd.date_range("2021-11-20", "2021-12-10")}
    shell = NonOperatingWindow("MINR", None, pd.Timestamp("2021-11-30"), "SHELL (SPAC)")
    inp = make_inputs(eq, btc, [shell])
    ar = ticker_returns(inp, "MINR", "2021-11-22", "2021-12-10")
    assert ar.returns.index[0] == pd.Timestamp("2021-12-02")  # first return after the first operating day
    assert any("not an operating miner (excluded)" in w for w in ar.warnings)
    ar = ticker_returns(inp, "MINR", "2021-11-22", "2021-12-10", non_operating="warn")
    assert ar.returns.index[0] == pd.Timestamp("2021-11-23")
    assert any("(INCLUDED)" in w for w in ar.warnings)


def test_bad_windows():
    inp = make_inputs({"2024-01-04": 10.0, "2024-01-05": 11.0}, {"2024-01-04": 1.0, "2024-01-05": 1.0})
    with pytest.raises(MarketDataError, match="no prices between"):
        ticker_returns(inp, "MINR", "2024-02-01", "2024-02-28")
    with pytest.raises(MarketDataError, match="unknown ticker"):
        ticker_returns(inp, "NOPE", "2024-01-01", "2024-01-31")
    nan_inp = make_inputs({"2024-01-04": np.nan, "2024-01-05": np.nan, "2024-01-08": np.nan},
                          {"2024-01-04": 1.0, "2024-01-05": 1.0})
    with pytest.raises(MarketDataError, match="MINR: no prices between"):
        ticker_record(nan_inp, "MINR", "2024-01-05", "2024-01-08")
    with pytest.raises(MarketDataError, match="need at least two calendar dates"):
        returns_on_calendar(pd.DataFrame({"X": [1.0]}, index=pd.DatetimeIndex(["2024-01-02"])),
                            pd.DatetimeIndex(["2024-01-02"]))


def test_weekly_good_friday_week_is_not_a_gap():
    # Good Friday 2024-03-29: the week ends Thursday 03-28, the next one Friday 04-05 (8 days)
    idx = pd.bdate_range("2024-03-18", "2024-04-12").drop(pd.Timestamp("2024-03-29"))
    prices = pd.DataFrame({"X": np.arange(len(idx), dtype=float) + 10}, index=idx)
    weeks = week_end_calendar(idx)
    assert pd.Timestamp("2024-03-28") in weeks
    wk = returns_on_calendar(prices, weeks, frequency="weekly")
    assert wk.returns["X"].notna().all() and not wk.warnings
    daily = returns_on_calendar(prices, weeks)  # the daily limit (7 days) would cut it
    assert daily.returns["X"].isna().any()
