"""Claims-file validation, and decoupling / event study on hand-made series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from hashdesk.market.claims import ClaimError, load_claims, parse_claims
from hashdesk.market.decoupling import decoupling_episodes, join_events
from hashdesk.market.events import event_study, load_event_file

OK = {"id": "a", "text": "WGMI rose", "subject": "WGMI", "metric": "return", "comparison": ">", "threshold": 0.15,
      "period": {"from": "2024-01-01", "to": "2024-01-31"}}


def test_example_file_parses():
    claims = load_claims("examples/claims/jan2024.yaml")
    assert [c.id for c in claims] == ["btc-flat-after-dip", "wgmi-rose-15pct", "mara-riot-doubled-btc",
                                      "miners-outperformed-btc"]
    assert claims[0].conditions[0].holds(0.0) and not claims[0].conditions[0].holds(0.06)


@pytest.mark.parametrize("change,msg", [
    ({"metric": "vibes"}, "claim 'a', field 'metric'"),
    ({"comparison": "~"}, "claim 'a', field 'comparison'"),
    ({"threshold": "lots"}, "claim 'a', field 'threshold'"),
    ({"comparison": "between", "threshold": 0.1}, "claim 'a', field 'threshold'"),
    ({"period": {"from": "2024-13-01", "to": "2024-01-31"}}, "claim 'a', field 'period.from'"),
    ({"period": {"from": "2024-02-01", "to": "2024-01-31"}}, "claim 'a', field 'period'"),
    ({"subject": None}, "claim 'a', field 'subject'"),
    ({"quantifier": "most"}, "claim 'a', field 'quantifier'"),
    ({"text": ""}, "claim 'a', field 'text'"),
    ({"id": None}, "claim #1, field 'id'"),
    ({"subjects": ["MARA", "RIOT"], "subject": None, "quantifier": "basket", "metric": "min_close"},
     "claim 'a', field 'metric'"),
])
def test_bad_claims_name_claim_and_field(change, msg):
    claim = {**OK, **change}
    claim = {k: v for k, v in claim.items() if v is not None}
    with pytest.raises(ClaimError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        parse_claims({"claims": [claim]}, source="t.yaml")


def test_bad_claims_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("claims: [\n")
    with pytest.raises(ClaimError, match="not valid YAML"):
        load_claims(p)
    with pytest.raises(ClaimError, match="no such claims file"):
        load_claims(tmp_path / "missing.yaml")
    p.write_text(yaml.safe_dump({"claims": [{k: v for k, v in OK.items() if k != "period"}]}))
    with pytest.raises(ClaimError, match="field 'period': missing"):
        load_claims(p)
    p.write_text(yaml.safe_dump({"claims": [OK, OK]}))
    with pytest.raises(ClaimError, match="claim 'a', field 'id': duplicate"):
        load_claims(p)


def synthetic(n=200, seed=1):
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2023-01-02", periods=n)
    b = pd.Series(rng.normal(0, 0.03, n), index=idx)
    r = 1.5 * b + pd.Series(rng.normal(0, 0.01, n), index=idx)
    return r, b


def test_decoupling_finds_an_injected_episode():
    r, b = synthetic()
    r.iloc[120:130] += 0.03  # ten days of +3 % idiosyncratic drift: +30 % residual
    res = decoupling_episodes(r, b, window=10, k=3.0, name="X")
    assert res.beta == pytest.approx(1.5, abs=0.05)
    big = res.episodes[res.episodes.peak_z > 5]
    assert len(big) == 1 and big.direction.iloc[0] == "up"
    assert pd.Timestamp(big.start.iloc[0]) <= r.index[129] <= pd.Timestamp(big.end.iloc[0])
    assert big["size"].iloc[0] == pytest.approx(0.30, abs=0.06)
    ev = pd.DataFrame({"date": [r.index[125], r.index[10]], "end_date": [r.index[125], r.index[10]],
                       "kind": ["halving", "retarget"], "ticker": [None, None], "description": ["h", "r"]})
    joined = join_events(big, ev)
    assert joined.events.iloc[0] == [f"{r.index[125].date()} halving: h"]


def test_event_study_recovers_abnormal_return(tmp_path):
    r, b = synthetic(300, seed=2)
    day0 = r.index[250]
    r.loc[day0] += 0.10  # a 10 % jump unexplained by the benchmark
    p = tmp_path / "ev.csv"
    p.write_text(f"date,description\n{day0.date()},news\n{r.index[20].date()},too early\n")
    events = load_event_file(p)
    st = event_study(r, b, events, pre=2, post=2, estimation=120, gap=5)
    assert len(st.table) == 1 and st.skipped and "too early" in st.skipped[0]
    row = st.table.iloc[0]
    assert row.car == pytest.approx(0.10, abs=0.03) and row.car_t > 3
    assert st.pooled_car_t == pytest.approx(row.car_t) and np.isnan(st.mean_car_t)  # one event
    assert st.paths.index.tolist() == [-2, -1, 0, 1, 2]


def test_event_file_errors(tmp_path):
    p = tmp_path / "ev.yaml"
    p.write_text("events:\n  - {date: 2024-13-45, description: x}\n")
    with pytest.raises(ValueError, match="event 1: field 'date'"):
        load_event_file(p)
    p.write_text("- {date: 2024-01-02}\n")
    with pytest.raises(ValueError, match="event 1: field 'description'"):
        load_event_file(p)
