"""Claim checks: test narrative statements about miners and bitcoin against the data.

A claims file (YAML) holds a list of claims; each claim is one *condition* or ``all:`` a list of
conditions, and every condition names its subject(s), metric, period, comparison and threshold.
The verdict per claim is ``supported`` (every condition holds), ``contradicted`` (one fails) or
``not enough data`` (a subject lacks prices covering the period), always with the measured
values and the data used. Schema (see docs/market.md for the full reference)::

    period: {from: 2024-01-01, to: 2024-01-31}     # default for every claim (optional)
    claims:
      - id: wgmi-up-15                              # unique, required
        text: "the WGMI miners ETF rose over 15%"   # the statement, required
        period: {from: ..., to: ...}                # optional override
        subject: WGMI            # or subjects: [MARA, RIOT] with quantifier: each|any|basket
        metric: return           # see METRICS
        benchmark: BTC-USD       # for relative metrics (default BTC-USD)
        comparison: ">"          # >, >=, <, <=, between
        threshold: 0.15          # a number, or [low, high] for between
      - id: btc-flat-dip
        text: "..."
        all:                     # every condition must hold
          - {subject: BTC-USD, metric: return, comparison: between, threshold: [-0.05, 0.05]}
          - {subject: BTC-USD, metric: min_close, comparison: "<", threshold: 40000}

Returns are simple and fractional (0.15 = 15 %); prices are in USD; BTC-USD on its own is
measured on every UTC day (00:00 UTC fixings, so ``min_close`` is the lowest daily fixing, not
the intraday low); an equity, and BTC next to an equity, on the equity's exchange calendar.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from hashdesk.market import risk
from hashdesk.market.factors import basket
from hashdesk.market.inputs import MarketInputs
from hashdesk.market.returns import BTC, MarketDataError, period_return
from hashdesk.market.summary import panel_returns, ticker_returns

#: Metric → (description with unit, needs a benchmark, works on a basket).
METRICS: dict[str, tuple[str, bool, bool]] = {
    "return": ("compounded simple return over the period [1]", False, True),
    "log_return": ("ln(1 + return) [1]", False, True),
    "excess_return": ("return minus the benchmark's return over the same dates [1]", True, True),
    "return_multiple": ("return divided by the benchmark's return [1]", True, True),
    "min_close": ("lowest close in the period [USD]", False, False),
    "max_close": ("highest close in the period [USD]", False, False),
    "end_close": ("last close in the period [USD]", False, False),
    "max_drawdown": ("largest peak-to-trough fall (negative) [1]", False, True),
    "annual_volatility": ("annualised volatility [1/sqrt(year)]", False, True),
    "beta": ("OLS beta on the benchmark [1]", True, True),
    "correlation": ("correlation with the benchmark [1]", True, True),
}
COMPARISONS = (">", ">=", "<", "<=", "between")
QUANTIFIERS = ("each", "any", "basket")
#: A subject's data must start and end within this many days of the period bounds [days].
COVERAGE_SLACK_DAYS = 7

SUPPORTED, CONTRADICTED, NOT_ENOUGH = "supported", "contradicted", "not enough data"


class ClaimError(ValueError):
    """A claims file is malformed; the message names the claim and the field."""


@dataclass(frozen=True)
class Condition:
    """One measurable statement: ``metric(subjects) comparison threshold`` over a period."""

    subjects: tuple[str, ...]
    quantifier: str
    metric: str
    benchmark: str
    comparison: str
    threshold: tuple[float, ...]
    start: pd.Timestamp
    end: pd.Timestamp

    def holds(self, value: float) -> bool:
        """Whether a measured value satisfies the comparison."""
        t = self.threshold
        return {
            ">": value > t[0], ">=": value >= t[0], "<": value < t[0], "<=": value <= t[0],
            "between": t[0] <= value <= t[-1],
        }[self.comparison]

    def describe(self) -> str:
        """Human-readable form, e.g. 'return(WGMI) > 0.15'."""
        subj = ",".join(self.subjects)
        if len(self.subjects) > 1:
            subj = f"{self.quantifier}({subj})"
        rel = f" vs {self.benchmark}" if METRICS[self.metric][1] else ""
        thr = f"[{self.threshold[0]:g}, {self.threshold[-1]:g}]" if self.comparison == "between" else f"{self.threshold[0]:g}"
        return f"{self.metric}({subj}{rel}) {self.comparison} {thr} over {self.start.date()}..{self.end.date()}"


@dataclass(frozen=True)
class Claim:
    """A named statement and the conditions that must all hold for it."""

    id: str
    text: str
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class ClaimResult:
    """Verdict on one claim, with what was measured and from which data."""

    id: str
    text: str
    verdict: str
    measured: list[dict] = field(default_factory=list)
    data_used: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# parsing


class _DatesAsText(yaml.SafeLoader):
    """Safe YAML loader that leaves dates as strings, so a bad date is reported by field."""


_DatesAsText.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def yaml_load(text: str):
    """Parse YAML safely with dates kept as text (validated later, field by field)."""
    return yaml.load(text, Loader=_DatesAsText)  # noqa: S506 - a SafeLoader subclass


def load_claims(path: str | Path) -> list[Claim]:
    """Read and validate a claims YAML file.

    Raises
    ------
    ClaimError
        Unreadable file or a claim with a missing / invalid field (claim id and field named).
    """
    path = Path(path)
    if path.is_dir():
        raise ClaimError(f"{path}: is a directory, not a claims file")
    try:
        data = yaml_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ClaimError(f"{path}: no such claims file") from exc
    except OSError as exc:
        raise ClaimError(f"{path}: cannot read ({exc.strerror})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ClaimError(f"{path}: not valid YAML: {exc}") from exc
    return parse_claims(data, source=str(path))


def _period(obj, where: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    if not isinstance(obj, dict) or "from" not in obj or "to" not in obj:
        raise ClaimError(f"{where}, field 'period': needs 'from' and 'to' dates")
    out = []
    for key in ("from", "to"):
        try:
            out.append(pd.Timestamp(str(obj[key])))
        except ValueError as exc:
            raise ClaimError(f"{where}, field 'period.{key}': not a date: {obj[key]!r}") from exc
    if out[0] > out[1]:
        raise ClaimError(f"{where}, field 'period': 'from' {out[0].date()} is after 'to' {out[1].date()}")
    return out[0], out[1]


def _condition(obj, where: str, period) -> Condition:
    if not isinstance(obj, dict):
        raise ClaimError(f"{where}: a condition must be a mapping")
    if "subject" in obj and "subjects" in obj:
        raise ClaimError(f"{where}, field 'subjects': give 'subject' or 'subjects', not both")
    raw = obj.get("subjects", obj.get("subject"))
    subjects = [raw] if isinstance(raw, str) else raw
    if not subjects or not isinstance(subjects, list) or not all(isinstance(s, str) and s.strip() for s in subjects):
        raise ClaimError(f"{where}, field 'subject': missing or not a ticker / list of tickers")
    subjects = tuple(s.strip().upper() for s in subjects)
    quant = str(obj.get("quantifier", "each"))
    if quant not in QUANTIFIERS:
        raise ClaimError(f"{where}, field 'quantifier': {quant!r} is not one of {QUANTIFIERS}")
    metric = obj.get("metric")
    if metric not in METRICS:
        raise ClaimError(f"{where}, field 'metric': {metric!r} is not one of {sorted(METRICS)}")
    if quant == "basket" and not METRICS[metric][2]:
        raise ClaimError(f"{where}, field 'metric': {metric!r} is a price, not defined for a basket")
    comp = obj.get("comparison")
    if comp not in COMPARISONS:
        raise ClaimError(f"{where}, field 'comparison': {comp!r} is not one of {COMPARISONS}")
    thr = obj.get("threshold")
    thr = thr if isinstance(thr, list) else [thr]
    try:
        thr = tuple(float(t) for t in thr)
    except (TypeError, ValueError) as exc:
        raise ClaimError(f"{where}, field 'threshold': not a number: {obj.get('threshold')!r}") from exc
    if any(math.isnan(t) for t in thr) or (comp == "between") != (len(thr) == 2) or len(thr) not in (1, 2):
        raise ClaimError(f"{where}, field 'threshold': 'between' needs [low, high], other comparisons one number")
    if comp == "between" and thr[0] > thr[1]:
        raise ClaimError(f"{where}, field 'threshold': low {thr[0]} is above high {thr[1]}")
    if "period" in obj:
        period = _period(obj["period"], where)
    if period is None:
        raise ClaimError(f"{where}, field 'period': missing (give it here or at the top of the file)")
    bench = str(obj.get("benchmark", BTC)).strip().upper()
    return Condition(subjects, quant, metric, bench, comp, thr, period[0], period[1])


def parse_claims(data, source: str = "claims") -> list[Claim]:
    """Validate a claims document (already parsed YAML) into :class:`Claim` objects.

    Raises
    ------
    ClaimError
        Naming the claim (by id, or by position) and the field.
    """
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list) or not data["claims"]:
        raise ClaimError(f"{source}: expected a mapping with a non-empty 'claims' list")
    default = _period(data["period"], f"{source}: file") if "period" in data else None
    claims, seen = [], set()
    for i, c in enumerate(data["claims"], start=1):
        where = f"{source}: claim #{i}"
        if not isinstance(c, dict):
            raise ClaimError(f"{where}: must be a mapping")
        cid = c.get("id")
        if not isinstance(cid, str) or not cid.strip():
            raise ClaimError(f"{where}, field 'id': missing")
        where = f"{source}: claim {cid!r}"
        if cid in seen:
            raise ClaimError(f"{where}, field 'id': duplicate")
        seen.add(cid)
        text = c.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ClaimError(f"{where}, field 'text': missing")
        period = _period(c["period"], where) if "period" in c else default
        if "all" in c:
            if not isinstance(c["all"], list) or not c["all"]:
                raise ClaimError(f"{where}, field 'all': must be a non-empty list of conditions")
            conds = tuple(_condition(x, f"{where}, condition {j}", period) for j, x in enumerate(c["all"], start=1))
        else:
            conds = (_condition(c, where, period),)
        claims.append(Claim(cid.strip(), text.strip(), conds))
    return claims


# ---------------------------------------------------------------------------------------------
# evaluation

#: Loads inputs for (tickers, start, end); e.g. ``partial(load_market_inputs, store)``.
InputsLoader = Callable[[list[str], pd.Timestamp, pd.Timestamp], MarketInputs]


class _NotEnough(Exception):
    pass


def _covers(index: pd.DatetimeIndex, start: pd.Timestamp, end: pd.Timestamp, name: str) -> None:
    slack = pd.Timedelta(days=COVERAGE_SLACK_DAYS)
    if len(index) == 0 or index[0] > start + slack or index[-1] < end - slack:
        span = f"{index[0].date()}..{index[-1].date()}" if len(index) else "none"
        raise _NotEnough(f"{name}: returns span {span}, not the period {start.date()}..{end.date()}")


def _measure_series(metric: str, r: pd.Series, b: pd.Series | None, closes: pd.Series | None, ppy: int) -> float:
    if metric == "return":
        return period_return(r)
    if metric == "log_return":
        return math.log1p(period_return(r))
    if metric == "excess_return":
        pair = pd.concat([r, b], axis=1).dropna()
        return period_return(pair.iloc[:, 0]) - period_return(pair.iloc[:, 1])
    if metric == "return_multiple":
        pair = pd.concat([r, b], axis=1).dropna()
        rb = period_return(pair.iloc[:, 1])
        if abs(rb) < 1e-9:
            raise _NotEnough("benchmark return is zero: the multiple is undefined")
        return period_return(pair.iloc[:, 0]) / rb
    if metric in ("min_close", "max_close", "end_close"):
        c = closes.dropna()
        return float({"min_close": c.min, "max_close": c.max, "end_close": lambda: c.iloc[-1]}[metric]())
    if metric == "max_drawdown":
        return risk.max_drawdown(r)
    if metric == "annual_volatility":
        return risk.annual_volatility(r, ppy)
    if metric == "beta":
        return risk.beta(r, b)
    if metric == "correlation":
        return risk.correlation(r, b)
    raise AssertionError(metric)


def _measure(cond: Condition, inputs: MarketInputs) -> tuple[list[tuple[str, float]], list[str]]:
    """Measured value per subject (or one for a basket) and the data used."""
    needs_b = METRICS[cond.metric][1]
    bench = [cond.benchmark] if needs_b else []
    used: list[str] = []
    if cond.quantifier == "basket" and len(cond.subjects) > 1:
        ar = panel_returns(inputs, [*cond.subjects, *[x for x in bench if x != BTC]], cond.start, cond.end)
        for s in cond.subjects:
            _covers(ar.returns[s].dropna().index, cond.start, cond.end, s)
        r = basket(ar.returns[list(cond.subjects)])
        b = ar.returns[cond.benchmark] if needs_b else None
        used.append(f"equal-weight basket {','.join(cond.subjects)}, {len(r.dropna())} exchange-day returns "
                    f"{r.index[0].date()}..{r.index[-1].date()}")
        return [("basket(" + ",".join(cond.subjects) + ")", _measure_series(cond.metric, r, b, None, ar.periods_per_year))], used
    out = []
    for s in cond.subjects:
        # BTC against an equity is measured on the equity's exchange days
        on = cond.benchmark if (s == BTC and needs_b and cond.benchmark != BTC) else s
        try:
            ar = ticker_returns(inputs, on, cond.start, cond.end, benchmarks=[*bench, BTC])
        except MarketDataError as exc:
            raise _NotEnough(str(exc)) from exc
        r = ar.returns[s]
        _covers(r.dropna().index, cond.start, cond.end, s)
        closes = ar.prices[s].loc[cond.start:cond.end]
        b = (r if cond.benchmark == s else ar.returns[cond.benchmark]) if needs_b else None
        cal = "daily UTC 00:00 fixings" if on == BTC else "exchange days"
        src = "coinmetrics/blockchaincom_mkpru" if s == BTC else inputs.equity_source.get(s, "")
        used.append(f"{s} {src} closes {ar.prices.index[0].date()}..{ar.prices.index[-1].date()} "
                    f"({len(r.dropna())} returns, {cal})" + (f", vs {cond.benchmark} on the same dates" if needs_b else ""))
        out.append((s, _measure_series(cond.metric, r, b, closes, ar.periods_per_year)))
    return out, used


def evaluate_condition(cond: Condition, inputs: MarketInputs) -> tuple[str, dict, list[str]]:
    """Verdict, measurement record and data used for one condition."""
    rec = {"condition": cond.describe()}
    try:
        values, used = _measure(cond, inputs)
    except (_NotEnough, MarketDataError) as exc:
        rec["reason"] = str(exc)
        return NOT_ENOUGH, rec, []
    ok = [cond.holds(v) for _, v in values]
    rec["values"] = {name: v for name, v in values}
    verdict_ok = any(ok) if cond.quantifier == "any" else all(ok)
    return (SUPPORTED if verdict_ok else CONTRADICTED), rec, used


def check_claims(claims: Sequence[Claim], load: InputsLoader) -> list[ClaimResult]:
    """Evaluate claims; a claim is contradicted if any condition is, else not-enough-data if
    any condition lacks data, else supported."""
    results = []
    for c in claims:
        verdicts, measured, used = [], [], []
        for cond in c.conditions:
            tickers = [*cond.subjects, cond.benchmark]
            try:
                inputs = load([t for t in tickers if t != BTC], cond.start, cond.end)
            except MarketDataError as exc:
                verdicts.append(NOT_ENOUGH)
                measured.append({"condition": cond.describe(), "reason": str(exc)})
                continue
            v, rec, u = evaluate_condition(cond, inputs)
            verdicts.append(v)
            measured.append(rec)
            used.extend(u)
        verdict = CONTRADICTED if CONTRADICTED in verdicts else NOT_ENOUGH if NOT_ENOUGH in verdicts else SUPPORTED
        results.append(ClaimResult(c.id, c.text, verdict, measured, list(dict.fromkeys(used))))
    return results


def results_table(results: Sequence[ClaimResult]) -> list[dict]:
    """Flat rows for display: one per condition."""
    rows = []
    for r in results:
        for m in r.measured:
            vals = m.get("values")
            shown = ", ".join(f"{k}={v:.4g}" for k, v in vals.items()) if vals else m.get("reason", "")
            rows.append({"claim": r.id, "verdict": r.verdict, "condition": m["condition"], "measured": shown})
    return rows

