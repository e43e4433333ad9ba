"""Event studies (market-model abnormal returns and CARs) and the event lists they use.

For an event dated *d*, day 0 is the first exchange day on or after *d* (the 2024-04-20
halving, a Saturday, maps to Monday 2024-04-22). The market model ``r = α + β·m`` is fitted on
``estimation`` periods ending ``gap`` periods before day 0; abnormal returns
``AR_t = r_t - α - β·m_t`` over ``[-pre, +post]`` sum to the CAR, whose t-statistic is
``CAR / (σ_e·√L)`` with ``L = pre + post + 1`` (estimation error ignored). Across N events:
mean CAR with the cross-sectional t ``mean / (sd/√N)`` (N ≥ 3) and the pooled t
``Σ CAR / √(Σ σ_i²·L)`` (independent events).

References
----------
.. [1] Campbell, Lo & MacKinlay (1997), ch. 4 "Event-Study Analysis", eqs. 4.4.7-4.4.24.
.. [2] MacKinlay, A. C. (1997), "Event Studies in Economics and Finance", J. Econ. Lit. 35(1).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from yaml import YAMLError

from hashdesk.economics.shocks import Shock
from hashdesk.market.claims import yaml_load
from hashdesk.market.returns import MarketDataError
from hashdesk.market.risk import ols_beta

#: Columns of an event list.
EVENT_COLUMNS = ["date", "end_date", "kind", "ticker", "description"]



def two_sided_normal_p(t: float) -> float:
    """Two-sided p-value of a z statistic under the standard normal [1]:
    ``2·(1 − Φ(|t|)) = erfc(|t|/√2)`` (equals ``2·scipy.stats.norm.sf(|t|)``; the event study
    does not import scipy.stats, ≈ 1.5 s of start-up).

    References
    ----------
    Abramowitz, M. & Stegun, I. A. (1964), Handbook of Mathematical Functions, 7.1.2 and 26.2.2.
    """
    return math.erfc(abs(float(t)) / math.sqrt(2.0))

@dataclass(frozen=True)
class EventStudy:
    """Output of :func:`event_study`.

    Attributes
    ----------
    name : str
    table : pd.DataFrame
        Per event: ``event``, ``kind``, ``date``, ``day0``, ``alpha``, ``beta``, ``sigma``
        [1/period], ``n_estimation``, ``car`` [1], ``car_t``, ``car_p`` (two-sided).
    paths : pd.DataFrame
        CAR path per event (columns) by relative day (index, ``-pre..post``) [1].
    mean_car : float
        Cross-event mean CAR [1].
    mean_car_t : float
        Cross-sectional t of the mean, ``mean / (sd/√N)`` (NaN for fewer than 3 events).
    pooled_car_t : float
        ``Σ CAR / √(Σ σ_i²·L)``: the t of the summed CARs if events are independent.
    skipped : tuple of str
        Events left out and why.
    """

    name: str
    table: pd.DataFrame
    paths: pd.DataFrame
    mean_car: float
    mean_car_t: float
    pooled_car_t: float
    skipped: tuple[str, ...]


def event_study(
    returns: pd.Series,
    market: pd.Series,
    events: pd.DataFrame,
    *,
    pre: int = 5,
    post: int = 5,
    estimation: int = 120,
    gap: int = 10,
    min_estimation: int = 60,
    name: str = "",
) -> EventStudy:
    """Market-model event study of ``returns`` around each event.

    Parameters
    ----------
    returns, market : pd.Series
        Simple returns on one exchange calendar (e.g. a miner and BTC compounded over it) [1].
    events : pd.DataFrame
        At least ``date`` and ``description`` (``kind`` optional).
    pre, post : int
        Event window ``[-pre, +post]`` [periods].
    estimation, gap : int
        Estimation window length, and periods between its end and day ``-pre`` [periods].
    min_estimation : int
        Fewest paired returns accepted in the estimation window [periods].

    Raises
    ------
    MarketDataError
        If no event can be studied (each reason listed).
    """
    both = pd.concat([returns.rename("r"), market.rename("m")], axis=1).dropna()
    idx = both.index
    rows, paths, skipped = [], {}, []
    for e in events.itertuples(index=False):
        d = pd.Timestamp(e.date)
        label = f"{d.date()} {e.description}"
        pos = int(idx.searchsorted(d))
        if pos >= len(idx):
            skipped.append(f"{label}: after the last return ({idx[-1].date() if len(idx) else 'none'})")
            continue
        if pos - pre < 0 or pos + post >= len(idx):
            skipped.append(f"{label}: event window [-{pre}, +{post}] runs past the data")
            continue
        est_end = pos - pre - gap
        est = both.iloc[max(est_end - estimation, 0):max(est_end, 0)]
        if len(est) < min_estimation:
            skipped.append(f"{label}: only {len(est)} estimation periods (< {min_estimation})")
            continue
        fit = ols_beta(est["r"], est["m"])
        win = both.iloc[pos - pre:pos + post + 1]
        ar = win["r"] - fit.alpha_per_period - fit.beta * win["m"]
        car_path = ar.cumsum()
        car = float(car_path.iloc[-1])
        t = car / (fit.residual_std * np.sqrt(len(win)))
        rows.append({
            "event": str(e.description),
            "kind": getattr(e, "kind", "") or "",
            "date": d.date(),
            "day0": idx[pos].date(),
            "alpha": fit.alpha_per_period,
            "beta": fit.beta,
            "sigma": fit.residual_std,
            "n_estimation": fit.n_obs,
            "car": car,
            "car_t": float(t),
            "car_p": two_sided_normal_p(t),
        })
        paths[label] = pd.Series(car_path.to_numpy(), index=range(-pre, post + 1))
    if not rows:
        raise MarketDataError(f"{name or 'event study'}: no event could be studied: " + "; ".join(skipped))
    table = pd.DataFrame(rows)
    cars = table["car"].to_numpy()
    sd = cars.std(ddof=1) if len(cars) > 1 else 0.0
    mean_t = float(cars.mean() / (sd / np.sqrt(len(cars)))) if len(cars) >= 3 and sd > 0 else float("nan")
    pooled_t = float(cars.sum() / np.sqrt(((table["sigma"] ** 2) * (pre + post + 1)).sum()))
    return EventStudy(name, table, pd.DataFrame(paths), float(cars.mean()), mean_t, pooled_t, tuple(skipped))


# ---------------------------------------------------------------------------------------------
# event lists


def shock_events(shocks: Sequence[Shock]) -> pd.DataFrame:
    """Network hashrate shocks (from :func:`hashdesk.economics.shocks.detect_shocks`) as events.

    Returns
    -------
    pd.DataFrame
        :data:`EVENT_COLUMNS`, kind 'hashrate_shock', spanning each shock's first..last day.
    """
    return pd.DataFrame({
        "date": pd.to_datetime([x.start for x in shocks]),
        "end_date": pd.to_datetime([x.end for x in shocks]),
        "kind": "hashrate_shock",
        "ticker": None,
        "description": [f"network hashrate -{x.depth_pct:.1f}% vs {x.baseline_ehs:.0f} EH/s baseline "
                        f"(trough {x.trough_date}, {x.days} days)" for x in shocks],
    }, columns=EVENT_COLUMNS)


def retarget_events(retargets: pd.DataFrame, *, min_abs_change_pct: float = 0.0) -> pd.DataFrame:
    """Retargets (``date``, ``epoch``, ``change_pct``) with ``|change| >= min_abs_change_pct`` [%]."""
    r = retargets[retargets["change_pct"].abs() >= min_abs_change_pct].dropna(subset=["change_pct"])
    return pd.DataFrame({
        "date": pd.to_datetime(r["date"]), "end_date": pd.to_datetime(r["date"]), "kind": "retarget",
        "ticker": None,
        "description": [f"epoch {int(e)} difficulty {c:+.2f}%" for e, c in zip(r["epoch"], r["change_pct"], strict=True)],
    }, columns=EVENT_COLUMNS)


def halving_events(halvings: pd.DataFrame) -> pd.DataFrame:
    """Halvings (``index``, ``height``, ``date``) as events."""
    return pd.DataFrame({
        "date": pd.to_datetime(halvings["date"]), "end_date": pd.to_datetime(halvings["date"]),
        "kind": "halving", "ticker": None,
        "description": [f"halving {int(i)} (height {int(h):,})" for i, h in zip(halvings["index"], halvings["height"], strict=True)],
    }, columns=EVENT_COLUMNS)


def production_events(production: pd.DataFrame, *, release_days: int = 7) -> pd.DataFrame:
    """Reported production months as spans ``[month start, day release_days of next month]``.

    Monthly updates are released in the first days of the following month, so the span runs
    into it. ``production`` has ``ticker``, ``month``, ``btc_mined`` [BTC].
    """
    start = pd.to_datetime(production["month"], format="%Y-%m")
    end = start + pd.offsets.MonthBegin(1) + pd.Timedelta(days=release_days - 1)
    desc = [f"{t} {m} production report" + (f": {b:,.0f} BTC mined" if b is not None and b == b else "")
            for t, m, b in zip(production["ticker"], production["month"], production["btc_mined"], strict=True)]
    return pd.DataFrame({"date": start, "end_date": end, "kind": "production", "ticker": production["ticker"],
                         "description": desc}, columns=EVENT_COLUMNS)


def load_event_file(path: str | Path) -> pd.DataFrame:
    """Read user events from YAML (a list of {date, description[, kind, ticker]} or
    ``{events: [...]}``) or CSV (columns ``date,description[,kind,ticker]``).

    Raises
    ------
    MarketDataError
        Unreadable file, or a row without a valid ``date`` / ``description`` (row named).
    """
    path = Path(path)
    if not path.is_file():
        raise MarketDataError(f"{path}: no such events file")
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            data = yaml_load(path.read_text(encoding="utf-8"))
            items = data.get("events") if isinstance(data, dict) else data
        else:
            with open(path, newline="", encoding="utf-8-sig") as fh:
                items = list(csv.DictReader(fh))
    except (YAMLError, csv.Error, UnicodeDecodeError) as exc:
        raise MarketDataError(f"{path}: cannot parse: {exc}") from exc
    if not isinstance(items, list) or not items:
        raise MarketDataError(f"{path}: expected a non-empty list of events")
    rows = []
    for i, it in enumerate(items, start=1):
        if not isinstance(it, dict):
            raise MarketDataError(f"{path}: event {i}: expected a mapping with date and description")
        try:
            d = pd.Timestamp(str(it.get("date", "")))
        except ValueError:
            d = pd.NaT
        if pd.isna(d):
            raise MarketDataError(f"{path}: event {i}: field 'date' is missing or not a date: {it.get('date')!r}")
        desc = str(it.get("description") or "").strip()
        if not desc:
            raise MarketDataError(f"{path}: event {i}: field 'description' is missing")
        tick = str(it.get("ticker") or "").strip().upper() or None
        rows.append({"date": d, "end_date": d, "kind": str(it.get("kind") or "user"), "ticker": tick,
                     "description": desc})
    return pd.DataFrame(rows, columns=EVENT_COLUMNS)
