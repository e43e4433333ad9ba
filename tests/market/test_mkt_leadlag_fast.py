"""Fast paths (lead/lag regressions, weekly compounding, the event study's p-value) equal the definitions they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashdesk.market.risk import _offset_regression, weekly_from_daily


def _weekly_reference(r: pd.Series) -> pd.Series:
    idx = pd.DatetimeIndex(r.index)
    groups = idx.to_period("W-FRI")
    out = (1.0 + r).groupby(groups).prod(min_count=1) - 1.0
    out[r.isna().groupby(groups).any().to_numpy()] = np.nan
    out.index = pd.DatetimeIndex(pd.Series(idx, index=idx).groupby(groups).max().to_numpy())
    return out


returns = st.lists(st.one_of(st.floats(-0.3, 0.3), st.just(float("nan"))), min_size=12, max_size=80)


@settings(max_examples=60, deadline=None)
@given(returns, st.integers(0, 6))
def test_weekly_from_daily_equals_groupby(values, offset):
    idx = pd.bdate_range("2024-01-01", periods=len(values)) + pd.Timedelta(days=offset)
    r = pd.Series(values, index=idx)
    pd.testing.assert_series_equal(weekly_from_daily(r), _weekly_reference(r), check_names=False,
                                   check_freq=False)


@settings(max_examples=40, deadline=None)
@given(returns, st.integers(1, 10_000))
def test_offset_regression_equals_shifted_frame(values, seed):
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2024-01-01", periods=len(values))
    b = pd.Series(values, index=idx)
    r = pd.Series(1.3 * np.nan_to_num(b.to_numpy()) + rng.normal(0, 0.01, len(b)), index=idx)
    offs = (-1, 0, 1)
    frame = pd.concat([r.rename("r"), pd.DataFrame({k: b.shift(-k) for k in offs})], axis=1).dropna()
    if len(frame) < len(offs) + 3:
        return
    x = np.column_stack([np.ones(len(frame)), frame.drop(columns="r").to_numpy()])
    expected = np.linalg.lstsq(x, frame["r"].to_numpy(), rcond=None)[0][1:]
    slopes, _, n = _offset_regression(r, b, offs, "test")
    assert n == len(frame)
    np.testing.assert_allclose(slopes, expected, rtol=1e-7, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.floats(-40, 40))
def test_two_sided_p_equals_scipy(t):
    from scipy import stats

    from hashdesk.market.events import two_sided_normal_p

    assert two_sided_normal_p(t) == pytest.approx(2 * stats.norm.sf(abs(t)), rel=1e-12, abs=1e-300)
