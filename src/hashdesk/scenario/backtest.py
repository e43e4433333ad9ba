"""Scenario backtest: rolling starts, each simulated as of its start and compared with what happened.

Pure: the desk (:meth:`hashdesk.desk.Desk.scenario_backtest`) builds each start's spec with
:meth:`~hashdesk.desk.Desk.scenario_spec` (models fitted on the rows known at the start, nothing
later) and hands this module a callable that returns it, plus the realised series (epoch bits,
daily hashprice). For every start and target the simulated distribution is cut at its 5, 25, 50,
75 and 95 % quantiles and the realised value is scored against them:

* **coverage_50** / **coverage_90**: share of starts whose realised value lies in the central
  50 % band ``[q25, q75]`` / 90 % band ``[q05, q95]`` (a calibrated model: about 0.50 and 0.90);
* **median_error** [%]: median over starts of ``|q50 / realised − 1| × 100``, the relative error
  of the simulated median; **median_bias** [%]: the same without the absolute value (sign: the
  model's median above the outcome is positive);
* **pit**: the share of scenarios below the realised value (probability integral transform; a
  calibrated model gives PITs uniform on [0, 1]).

Targets (``DEFAULT_TARGETS``):

* ``difficulty_1r``, ``difficulty_3r``, ``difficulty_6r``: difficulty after 1, 3 and 6 retargets
  from the start, i.e. of the epochs ``e + 1``, ``e + 3``, ``e + 6`` where ``e`` is the start's
  epoch; simulated from the engine's exact retarget bits, realised from the store's epoch bits
  (exact: ``target(0x1d00ffff) / target`` of the compact bits);
* ``hashprice_30d``, ``hashprice_90d``: hashprice [USD/PH/day] on the 30th and 90th day after the
  start, as the engine's step that holds that day (about a week: its mean over the step's days)
  against the mean of the realised daily hashprice over the *same* days (like for like).

References
----------
.. [1] Gneiting, T., Balabdaoui, F. & Raftery, A. E. (2007). Probabilistic forecasts,
   calibration and sharpness. *J. R. Statist. Soc. B* 69(2) (coverage of central intervals, PIT).
.. [2] Diebold, F. X., Gunther, T. A. & Tay, A. S. (1998). Evaluating density forecasts.
   *International Economic Review* 39(4) (PIT uniformity).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from hashdesk.chain.consensus import RETARGET_INTERVAL, difficulty
from hashdesk.scenario.engine import (
    ScenarioSpec,
    difficulty_float,
    first_retarget_height,
    simulate_chunk,
)
from hashdesk.scenario.paths import ScenarioInputError

#: Quantiles cut from each simulated distribution.
QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Central bands scored: name -> (lower, upper) quantile.
BANDS: dict[str, tuple[float, float]] = {"coverage_50": (0.25, 0.75), "coverage_90": (0.05, 0.95)}


#: Day metrics a target can score: the engine's step means and the realised daily columns alike.
DAY_METRICS: tuple[str, ...] = ("hashprice_usd_per_ph_day", "price_usd", "fees_sats_per_block")


@dataclass(frozen=True)
class Target:
    """One quantity scored at every start.

    Parameters
    ----------
    key : str
        Name in the output (``difficulty_3r``, ``hashprice_90d``).
    kind : {"retargets", "days"}
        Difficulty after ``n`` retargets, or hashprice on the ``n``-th day after the start.
    n : int
        Retargets or days (>= 1).
    metric : str
        For ``days``: the engine's step value and the realised daily column compared (one of
        :data:`DAY_METRICS`: ``hashprice_usd_per_ph_day`` [USD/PH/day]; as diagnostics
        ``price_usd`` [USD/BTC] and ``fees_sats_per_block`` [sats]).
    """

    key: str
    kind: str
    n: int
    metric: str = "hashprice_usd_per_ph_day"

    def __post_init__(self) -> None:
        if self.kind not in ("retargets", "days"):
            raise ScenarioInputError(f"target {self.key}: kind {self.kind!r} is not 'retargets' or 'days'")
        if self.n < 1:
            raise ScenarioInputError(f"target {self.key}: n must be >= 1, got {self.n}")
        if self.metric not in DAY_METRICS:
            raise ScenarioInputError(f"target {self.key}: metric {self.metric!r} is not one of "
                                     f"{', '.join(DAY_METRICS)}")

    @property
    def approx_days(self) -> float:
        """About how far ahead the target lies [days] (retargets at two weeks each, plus half an epoch)."""
        return 14.0 * self.n + 7.0 if self.kind == "retargets" else float(self.n)

    @property
    def label(self) -> str:
        """Words for people."""
        if self.kind == "retargets":
            return f"difficulty after {self.n} retarget{'s' if self.n > 1 else ''}"
        if self.metric == "price_usd":
            return f"BTC price on day {self.n} [USD]"
        if self.metric == "fees_sats_per_block":
            return f"fees per block on day {self.n} [sats]"
        return f"hashprice on day {self.n}"


#: Difficulty after 1, 3 and 6 retargets; hashprice after 30 and 90 days.
DEFAULT_TARGETS: tuple[Target, ...] = (
    Target("difficulty_1r", "retargets", 1),
    Target("difficulty_3r", "retargets", 3),
    Target("difficulty_6r", "retargets", 6),
    Target("hashprice_30d", "days", 30),
    Target("hashprice_90d", "days", 90),
)


def horizon_months(targets: Sequence[Target] = DEFAULT_TARGETS) -> int:
    """Months to simulate so that every target is inside the horizon [months].

    Retargets: the current epoch (at most 14 days at 600-s blocks) plus ``n`` epochs, with room
    for epochs up to 60 % slower than two weeks (a falling network); days: ``n`` days plus a month.
    """
    days = [t.n + 31 for t in targets if t.kind == "days"]
    days += [int(math.ceil(14 * (1 + 1.6 * t.n))) + 31 for t in targets if t.kind == "retargets"]
    return max(1, int(math.ceil(max(days) / 28)))


def step_of_day(spec: ScenarioSpec, day: int) -> tuple[int, int, int]:
    """The engine's step that holds the ``day``-th day after the start (1-based).

    Returns
    -------
    (step, first_day, n_days)
        Step index, its first day (0-based days after the start date) and its length [days].
    """
    g = spec.grid
    d = day - 1
    k = int(np.searchsorted(g.first_day, d, side="right") - 1)
    if k < 0 or d >= g.first_day[k] + g.n_days[k]:
        raise ScenarioInputError(f"day {day} is outside the horizon of {spec.n_days} days")
    return k, int(g.first_day[k]), int(g.n_days[k])


def simulate_targets(spec: ScenarioSpec, targets: Sequence[Target], n: int,
                     seed: np.random.SeedSequence) -> dict[str, np.ndarray]:
    """Simulate ``n`` scenarios of ``spec`` and return each target's values per scenario.

    Difficulty targets come from the engine's retarget bits (NaN where a scenario has not reached
    the retarget within the horizon); day targets from the step that holds the day
    (:func:`step_of_day`), its mean hashprice [USD/PH/day].
    """
    want: dict[int, list[Target]] = {}
    for t in targets:
        if t.kind == "days":
            want.setdefault(step_of_day(spec, t.n)[0], []).append(t)
    kept: dict[str, np.ndarray] = {}

    def hook(k: int, values: dict[str, np.ndarray]) -> None:
        for t in want.get(k, ()):
            kept[t.key] = values[t.metric].copy()

    res = simulate_chunk(spec, n, seed, on_step=hook)
    out: dict[str, np.ndarray] = {}
    for t in targets:
        if t.kind == "days":
            out[t.key] = kept[t.key]
        else:
            bits = res.retarget_bits[:, t.n - 1] if res.retarget_bits.shape[1] >= t.n else np.zeros(n, np.int64)
            d = np.full(n, np.nan)
            ok = bits != 0
            d[ok] = difficulty_float(bits[ok])
            out[t.key] = d
    return out


def realized_targets(spec: ScenarioSpec, targets: Sequence[Target], epoch_bits: Mapping[int, int],
                     daily: pd.DataFrame) -> dict[str, float | None]:
    """What happened: each target's realised value for the start of ``spec`` (None: not in the data).

    Parameters
    ----------
    epoch_bits : mapping of int to int
        Compact bits of every epoch the store knows (epoch number -> bits).
    daily : pandas.DataFrame
        Realised daily values indexed by UTC day (``datetime.date``), a column per metric scored
        (:data:`DAY_METRICS`: ``hashprice_usd_per_ph_day`` [USD/PH/day], ``price_usd`` [USD/BTC],
        ``fees_sats_per_block`` [sats]); days without one absent or NaN.

    Notes
    -----
    Difficulty after ``k`` retargets = ``difficulty(bits)`` of epoch
    ``first_retarget_height(tip) / 2016 + k − 1`` (exact from the compact bits). Hashprice on day
    ``n`` = mean of the daily hashprice over the days of the engine's step that holds day ``n``;
    None unless every one of those days has a value.
    """
    first_epoch = first_retarget_height(spec.start.tip_height) // RETARGET_INTERVAL
    d0 = spec.start.start_date
    out: dict[str, float | None] = {}
    for t in targets:
        if t.kind == "retargets":
            b = epoch_bits.get(first_epoch + t.n - 1)
            out[t.key] = None if b is None else float(difficulty(int(b)))
        else:
            _, first, nd = step_of_day(spec, t.n)
            days = [d0 + timedelta(days=first + i) for i in range(nd)]
            v = daily[t.metric].reindex(days).to_numpy(dtype=np.float64)
            out[t.key] = float(v.mean()) if v.size and np.isfinite(v).all() else None
    return out


def score(samples: np.ndarray, realized: float) -> dict[str, float]:
    """Score one realised value against one simulated distribution.

    Returns
    -------
    dict
        ``q05 .. q95`` (numpy's linear quantiles of the finite samples), ``realized``,
        ``in_50`` / ``in_90`` (1.0 inside the band, else 0.0), ``error_pct`` =
        ``(q50 / realized − 1) × 100`` [%], ``pit`` = share of samples below the realised value
        (ties count half), ``n_finite`` (scenarios that reached the target).
    """
    x = np.asarray(samples, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        raise ScenarioInputError("backtest: no scenario reached the target within the horizon")
    q = np.quantile(x, QUANTILES)
    rec = {f"q{int(round(p * 100)):02d}": float(v) for p, v in zip(QUANTILES, q, strict=True)}
    rec["realized"] = float(realized)
    for name, (lo, hi) in BANDS.items():
        a, b = np.quantile(x, [lo, hi])
        rec["in_" + name.split("_")[1]] = float(a <= realized <= b)
    rec["error_pct"] = 100.0 * (rec["q50"] / realized - 1.0)
    rec["pit"] = float(((x < realized).sum() + 0.5 * (x == realized).sum()) / x.size)
    rec["n_finite"] = int(x.size)
    return rec


@dataclass
class BacktestResult:
    """A backtest's per-start scores and per-target summary.

    Attributes
    ----------
    rows : pandas.DataFrame
        One row per start and target: ``start`` (UTC day), ``target``, ``q05 .. q95``,
        ``realized``, ``in_50``, ``in_90``, ``error_pct`` [%], ``pit``, ``n_finite``.
    summary : dict
        Per target: ``n_starts``, ``coverage_50``, ``coverage_90``, ``median_error`` [%],
        ``median_bias`` [%], ``mean_pit``, ``label``.
    skipped : list of dict
        Starts that could not be run (``start``, ``reason``) and targets without a realised value.
    settings : dict
        Scenarios per start, seed, the price drift of the fitted models (one value, or the distinct
        ones), targets, months simulated, starts, definitions.
    models : dict
        The fitted models of each start (``start`` -> the models dict of ``scenario_spec``).
    """

    rows: pd.DataFrame
    summary: dict[str, dict]
    skipped: list[dict] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)

    @property
    def skipped_starts(self) -> list[date]:
        """Starts that could not be run at all (not those missing one target's outcome)."""
        return [s["start"] for s in self.skipped if "target" not in s]


def coverage_interval(hits: np.ndarray, block: int, level: float = 0.9, draws: int = 4000,
                      seed: int = 0) -> tuple[float, float]:
    """Sampling interval of a coverage from a moving-block bootstrap over the starts.

    Consecutive monthly starts whose horizons overlap are not independent; resampling blocks of
    ``block`` consecutive starts keeps that dependence [1]_. Returns the central ``level``
    percentile interval of the resampled coverage.

    Parameters
    ----------
    hits : numpy.ndarray
        1.0 where a start's outcome was inside the band, in start order.
    block : int
        Block length [starts], e.g. the horizon in months rounded up.

    References
    ----------
    .. [1] Künsch, H. R. (1989). The jackknife and the bootstrap for general stationary
       observations. *Annals of Statistics* 17(3).
    """
    x = np.asarray(hits, dtype=np.float64)
    n = x.size
    if n == 0:
        return (math.nan, math.nan)
    b = max(1, min(int(block), n))
    rng = np.random.default_rng(seed)
    k = int(math.ceil(n / b))
    starts = rng.integers(0, n - b + 1, size=(draws, k))
    idx = (starts[:, :, None] + np.arange(b)).reshape(draws, -1)[:, :n]
    cov = x[idx].mean(axis=1)
    lo, hi = np.quantile(cov, [(1 - level) / 2, (1 + level) / 2])
    return (float(lo), float(hi))


def summarize(rows: pd.DataFrame, targets: Sequence[Target] = DEFAULT_TARGETS) -> dict[str, dict]:
    """Coverage of the 50 % and 90 % bands and the median error per target (see the module notes).

    Besides ``coverage_50``, ``coverage_90`` and ``median_error`` [%]: ``n_starts``,
    ``median_bias`` [%], ``mean_pit`` and ``coverage_50_interval`` / ``coverage_90_interval``,
    the 90 % sampling interval of each coverage (:func:`coverage_interval`, blocks of
    ``⌈horizon / 30 days⌉`` starts).
    """
    out: dict[str, dict] = {}
    for t in targets:
        r = rows[rows["target"] == t.key].sort_values("start") if len(rows) else rows
        n = int(len(r))
        block = int(math.ceil(t.approx_days / 30.0))
        out[t.key] = {
            "label": t.label,
            "n_starts": n,
            "coverage_50": float(r["in_50"].mean()) if n else None,
            "coverage_90": float(r["in_90"].mean()) if n else None,
            "median_error": float(r["error_pct"].abs().median()) if n else None,
            "median_bias": float(r["error_pct"].median()) if n else None,
            "mean_pit": float(r["pit"].mean()) if n else None,
            "coverage_50_interval": list(coverage_interval(r["in_50"].to_numpy(), block)) if n else None,
            "coverage_90_interval": list(coverage_interval(r["in_90"].to_numpy(), block)) if n else None,
        }
    return out


def start_seed(seed: int, start: date) -> np.random.SeedSequence:
    """The seed of one start: depends on the root seed and the start day only (adding starts,
    or rows after a start, leaves its draws unchanged)."""
    return np.random.SeedSequence([int(seed), start.toordinal()])


def month_end_starts(first: date, last: date) -> list[date]:
    """The last day of every calendar month from ``first``'s month to ``last`` (inclusive)."""
    out = []
    y, m = first.year, first.month
    while True:
        nxt = date(y + (m == 12), m % 12 + 1, 1)
        d = nxt - timedelta(days=1)
        if d > last:
            return out
        if d >= first:
            out.append(d)
        y, m = nxt.year, nxt.month


def run_backtest(
    starts: Iterable[date],
    spec_for: Callable[[date], tuple[ScenarioSpec, dict]],
    epoch_bits: Mapping[int, int],
    daily: pd.DataFrame,
    *,
    targets: Sequence[Target] = DEFAULT_TARGETS,
    scenarios: int = 2000,
    seed: int = 0,
    progress: Callable[[int, int, date], None] | None = None,
    skip_errors: tuple[type[BaseException], ...] = (ScenarioInputError,),
) -> BacktestResult:
    """Run every start and score it.

    Parameters
    ----------
    starts : iterable of date
        Start days (each start is the end of that UTC day).
    spec_for : callable
        ``spec_for(day) -> (ScenarioSpec, models)`` built as of that day only (the desk's
        :meth:`~hashdesk.desk.Desk.scenario_spec` with :func:`horizon_months`).
    epoch_bits, daily
        Realised values (:func:`realized_targets`).
    scenarios : int
        Scenarios per start.
    seed : int
        Root seed (:func:`start_seed`).
    progress : callable, optional
        ``progress(done, total, day)`` after each start.
    skip_errors : tuple of exception types
        Errors that skip a start (recorded in ``skipped``) instead of stopping the run.

    Returns
    -------
    BacktestResult
    """
    if scenarios < 100:
        raise ScenarioInputError(f"scenarios: a backtest needs >= 100 scenarios per start, got {scenarios}")
    days = list(starts)
    rows: list[dict] = []
    skipped: list[dict] = []
    models: dict = {}
    for i, day in enumerate(days):
        try:
            spec, fitted = spec_for(day)
        except skip_errors as exc:
            skipped.append({"start": day, "reason": str(exc)})
        else:
            models[day.isoformat()] = fitted
            real = realized_targets(spec, targets, epoch_bits, daily)
            todo = [t for t in targets if real[t.key] is not None]
            for t in targets:
                if real[t.key] is None:
                    skipped.append({"start": day, "target": t.key, "reason": "no realised value in the store"})
            if todo:
                sims = simulate_targets(spec, todo, scenarios, start_seed(seed, day))
                for t in todo:
                    rows.append({"start": day, "target": t.key, **score(sims[t.key], real[t.key])})
        if progress is not None:
            progress(i + 1, len(days), day)
    frame = pd.DataFrame(rows, columns=["start", "target", "q05", "q25", "q50", "q75", "q95", "realized",
                                        "in_50", "in_90", "error_pct", "pit", "n_finite"])
    drifts = sorted({m["price"]["drift"] for m in models.values()})
    caps = sorted({"off" if (c := m["hashrate"].get("capitulation")) is None else c["source"]
                   for m in models.values() if "hashrate" in m})
    settings = {
        "scenarios_per_start": scenarios, "seed": seed,
        "price_drift": drifts[0] if len(drifts) == 1 else drifts,
        "capitulation": caps[0] if len(caps) == 1 else caps or None,
        "targets": {t.key: t.label for t in targets},
        "starts": [d.isoformat() for d in days],
        "coverage": "share of starts whose realised value lies in the simulated central band: "
                    "50 % = [q25, q75], 90 % = [q05, q95]",
        "median_error": "median over starts of |simulated median / realised - 1| x 100 [%]",
        "median_bias": "median over starts of (simulated median / realised - 1) x 100 [%]",
        "hashprice_days": "the engine step holding day n (about a week) against the realised daily "
                          "hashprice averaged over the same days",
    }
    return BacktestResult(frame, summarize(frame, targets), skipped, settings, models)
