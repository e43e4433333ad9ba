"""A model-implied hashprice forward curve: per future month, the distribution of its average hashprice.

The curve is read off the scenario engine (:mod:`hashdesk.scenario.engine`) run for a
**reference miner** of exactly 1 PH/s, uptime 1, pool fee 0, no costs, not curtailable, paid
FPPS (no block luck), :data:`REFERENCE_MINER`. For it the engine's monthly lines are the month's
hashprice per scenario:

* ``btc_mined / days`` = ``10^15 · 86,400 · (1/days) ∫ (subsidy + fees per block) / work dt``
  = the month-average hashprice in BTC [BTC/PH/day] (DESIGN.md §3; revenue per hash is fixed by
  the difficulty in force, so this is exact for the simulated chain, retargets and halving
  included);
* ``revenue_usd / days`` = the month-average hashprice in USD [USD/PH/day]: per step the mean BTC
  per hash times the step's mean price, weighted by the step's days. It equals the engine's
  ``hashprice_usd_per_ph_day`` metric (checked to 1e-12 relative in the tests; they agree to an
  ulp, 4e-16 on the bundle), which is what the curve uses.

The month's *average* hashprice is what hashprice forwards settle on (an index averaged over the
delivery month). Months are the engine's horizon months, counted from the day after ``at``: at a
month's last day they are calendar months, labelled ``YYYY-MM``; otherwise each is labelled by its
first day.

Each chunk is reduced where it runs (:class:`ForwardReducer`) to fixed-size histograms and
integer counts (:class:`ForwardPartial`), merged in chunk order by
:func:`hashdesk.scenario.executors.run_reduced`: bit-identical for one process, many or Dask, and
O(chunk) memory for any number of scenarios.

Quotes (``month,price`` CSV, :func:`read_quotes`) are compared with the curve: the implied risk
premium ``quote − model mean`` [USD/PH/day and % of the mean] and the quote's percentile in the
model distribution (:meth:`hashdesk.scenario.summary.StreamingHistogram.cdf`).

References
----------
.. [1] DESIGN.md §3 (hashprice), §5 (scenarios, seeds per chunk).
.. [2] Hull, J. C. *Options, Futures, and Other Derivatives*, 10th ed., §5 (forward prices) and
   §3.4 (the forward price as an expectation plus a risk premium).
.. [3] Hyndman, R. J. & Fan, Y. (1996). Sample quantiles in statistical packages. *The American
   Statistician* 50(4) (definition 4).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from hashdesk.chain.consensus import (
    HALVING_INTERVAL,
    RETARGET_INTERVAL,
    SATS_PER_BTC,
    block_subsidy,
)
from hashdesk.scenario.engine import (
    ChunkResult,
    MinerEconomics,
    ScenarioSpec,
    difficulty_float,
    first_retarget_height,
)
from hashdesk.scenario.executors import DEFAULT_CHUNK_SIZE, Progress, run_reduced
from hashdesk.scenario.fit import model_notes
from hashdesk.scenario.paths import ScenarioInputError
from hashdesk.scenario.summary import N_BINS, QUANTILES, StreamingHistogram, start_record

#: The reference miner whose monthly BTC and revenue per day are the month's hashprice: 1 PH/s
#: (1,000 TH/s), uptime 1, no power, no pool fee, not curtailable, FPPS.
REFERENCE_MINER = MinerEconomics("reference 1 PH/s (forward curve)", hashrate_ths=1000.0, power_kw=0.0,
                                 uptime=1.0, energy_usd_per_kwh=0.0)
#: Default scenarios of a forward curve.
DEFAULT_SCENARIOS: int = 100_000
#: Column names of the quantiles, in :data:`hashdesk.scenario.summary.QUANTILES` order (the median
#: is reported as ``median_*``).
QUANTILE_NAMES: tuple[str, ...] = ("p05", "p25", "median", "p75", "p95")
#: Seconds per day.
DAY_S = 86_400


class QuoteError(ScenarioInputError):
    """A quotes file that cannot be read; the message names the file, row and field."""


# -- months ------------------------------------------------------------------------------------


def month_days(spec: ScenarioSpec) -> np.ndarray:
    """Days in each horizon month of ``spec`` [days] (float64)."""
    return np.diff(np.array([(d - spec.month_starts[0]).days for d in spec.month_starts], dtype=np.float64))


def month_labels(spec: ScenarioSpec) -> list[str]:
    """Labels of the horizon months: ``YYYY-MM`` when the months are calendar months (the start
    is a month's first day), else each month's first day ``YYYY-MM-DD``."""
    starts = spec.month_starts[: spec.horizon_months]
    if spec.start.start_date.day == 1:
        return [d.strftime("%Y-%m") for d in starts]
    return [d.isoformat() for d in starts]


def forward_spec(spec: ScenarioSpec) -> ScenarioSpec:
    """``spec`` with the :data:`REFERENCE_MINER` (and no capex): the run that yields the curve."""
    return replace(spec, miner=REFERENCE_MINER, capex_usd=0.0)


def next_halving_height(tip_height: int) -> int:
    """Height of the first block of the next subsidy era after ``tip_height`` [blocks]."""
    return (tip_height // HALVING_INTERVAL + 1) * HALVING_INTERVAL


def halving_day(spec: ScenarioSpec, res: ChunkResult) -> np.ndarray:
    """Day after the start at which the next halving block is mined, per scenario [days]; NaN past the horizon.

    The engine reports the time of every epoch's first and last block; the halving block
    ``H`` lies in one epoch and its time is interpolated linearly in block count between that
    epoch's first block (or, in the epoch running at the start, the tip at the start) and its last
    block — exact at both ends, and within hours inside an epoch (two weeks of nearly constant
    hashrate). When that epoch ends after the horizon, 600-s blocks from its first block are
    assumed.

    Parameters
    ----------
    spec : ScenarioSpec
    res : ChunkResult

    Returns
    -------
    numpy.ndarray
        One value per scenario [days since the start]; NaN when after the horizon.
    """
    tip = spec.start.tip_height
    hh = next_halving_height(tip)
    h1 = first_retarget_height(tip)
    n = res.breakeven_month.shape[0]
    k = 0 if hh < h1 else (hh - h1) // RETARGET_INTERVAL + 1
    last_h = h1 + RETARGET_INTERVAL * k - 1
    cols = res.retarget_time_s.shape[1]
    end = res.retarget_time_s[:, k] if k < cols else np.full(n, np.nan)
    if k == 0:
        anchor_h, anchor_t = tip, np.zeros(n)
    else:
        anchor_h = h1 + RETARGET_INTERVAL * (k - 1)
        anchor_t = res.retarget_first_time_s[:, k] if k < cols else np.full(n, np.nan)
        if k - 1 < cols:  # epoch end unknown: its first block follows the previous epoch's last
            anchor_t = np.where(np.isfinite(anchor_t), anchor_t, res.retarget_time_s[:, k - 1] + 600.0)
    frac = (hh - anchor_h) / (last_h - anchor_h)
    t = anchor_t + frac * (end - anchor_t)
    t = np.where(np.isfinite(end), t, anchor_t + (hh - anchor_h) * 600.0)
    t = t / DAY_S
    t[~(t < spec.n_days)] = np.nan
    return t


def _month_index(spec: ScenarioSpec, day: np.ndarray) -> np.ndarray:
    """Horizon month (0-based) of each day after the start; ``horizon_months`` for NaN/after."""
    edges = np.array([(d - spec.month_starts[0]).days for d in spec.month_starts], dtype=np.float64)
    idx = np.searchsorted(edges, np.where(np.isfinite(day), day, np.inf), side="right") - 1
    return np.clip(idx, 0, spec.horizon_months).astype(np.int64)


# -- per-chunk reduction -------------------------------------------------------------------------


def hashprice_scales(spec: ScenarioSpec) -> tuple[float, float]:
    """asinh scales of the USD and BTC histograms: 1 % of the start hashprice [USD, BTC /PH/day]."""
    usd = spec.start.hashprice_usd_per_ph_day
    return usd / 100, usd / spec.start.price_usd / 100


@dataclass
class ForwardPartial:
    """Mergeable summary of some scenarios' month-average hashprices (fixed size).

    Attributes
    ----------
    n : int
        Scenarios.
    usd, btc : StreamingHistogram
        Month-average hashprice [USD/PH/day], [BTC/PH/day], one group per month.
    sums : dict of str -> numpy.ndarray
        Per-month sums over scenarios of ``usd``, ``btc``, ``fees_sats_per_block``, ``price_usd``,
        ``hashrate_ehs`` and month-end ``difficulty``.
    retargets : numpy.ndarray of int64
        Retargets (epochs' last blocks) per month, summed over scenarios.
    halving : numpy.ndarray of int64
        Scenarios whose next halving block is mined in each month; the last entry counts those
        after the horizon.
    """

    n: int
    usd: StreamingHistogram
    btc: StreamingHistogram
    sums: dict[str, np.ndarray]
    retargets: np.ndarray
    halving: np.ndarray

    def merge(self, other: ForwardPartial) -> ForwardPartial:
        """Add ``other`` into ``self`` (call in chunk order for bit-identical sums)."""
        self.n += other.n
        self.usd.merge(other.usd)
        self.btc.merge(other.btc)
        for k in self.sums:
            self.sums[k] = self.sums[k] + other.sums[k]
        self.retargets += other.retargets
        self.halving += other.halving
        return self


def month_average_hashprice(spec: ScenarioSpec, res: ChunkResult) -> tuple[np.ndarray, np.ndarray]:
    """Month-average hashprice per scenario from a run of the :data:`REFERENCE_MINER`.

    Returns
    -------
    usd : numpy.ndarray
        (scenarios × months) [USD/PH/day]: the engine's ``hashprice_usd_per_ph_day``
        (= the reference miner's ``revenue_usd / days``).
    btc : numpy.ndarray
        (scenarios × months) [BTC/PH/day]: the reference miner's ``btc_mined / days``.

    Raises
    ------
    ScenarioInputError
        When ``spec`` does not carry the reference miner.
    """
    if spec.miner != REFERENCE_MINER:
        raise ScenarioInputError("forward curve: the spec must carry REFERENCE_MINER (use forward_spec)")
    days = month_days(spec)
    return res.monthly["hashprice_usd_per_ph_day"], res.monthly["btc_mined"] / days


@dataclass(frozen=True)
class ForwardReducer:
    """Chunk reducer of the forward curve (:data:`hashdesk.scenario.executors.Reducer`)."""

    def __call__(self, spec: ScenarioSpec, res: ChunkResult, index: int) -> ForwardPartial:
        months = spec.horizon_months
        usd, btc = month_average_hashprice(spec, res)
        s_usd, s_btc = hashprice_scales(spec)
        h_usd, h_btc = StreamingHistogram(months, s_usd, N_BINS), StreamingHistogram(months, s_btc, N_BINS)
        h_usd.add(usd)
        h_btc.add(btc)
        sums = {"usd": usd.sum(axis=0), "btc": btc.sum(axis=0)}
        for k in ("fees_sats_per_block", "price_usd", "hashrate_ehs", "difficulty"):
            sums[k] = res.monthly[k].sum(axis=0)
        t = res.retarget_time_s / DAY_S
        idx = _month_index(spec, t[np.isfinite(t)])
        retargets = np.bincount(idx, minlength=months + 1)[:months].astype(np.int64)
        halving = np.bincount(_month_index(spec, halving_day(spec, res)), minlength=months + 1).astype(np.int64)
        return ForwardPartial(res.breakeven_month.shape[0], h_usd, h_btc, sums, retargets, halving)


# -- quotes --------------------------------------------------------------------------------------


def read_quotes(path: str | Path) -> pd.DataFrame:
    """Read quoted hashprice forwards: a CSV with a header ``month,price`` [USD/PH/day].

    ``month`` is ``YYYY-MM`` (a calendar month) or ``YYYY-MM-DD`` (a horizon month's first day,
    for curves that do not start on a month's first day); ``price`` a positive number. Extra
    columns are ignored; blank lines are skipped.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    pandas.DataFrame
        ``month`` (str), ``price_usd_per_ph_day`` (float), ``row`` (data row number, from 1).

    Raises
    ------
    QuoteError
        Naming the file, the row (and its line) and the field: missing file or header, a month
        that is not a month, a price that is not a positive number, a month given twice.
    """
    p = Path(path)
    if not p.is_file():
        raise QuoteError(f"{p}: quotes file not found")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise QuoteError(f"{p}: cannot read the quotes file ({exc})") from None
    reader = csv.reader(text.splitlines())
    header = None
    rows: list[dict] = []
    seen: dict[str, int] = {}
    for line_no, cells in enumerate(reader, start=1):
        if not cells or all(not c.strip() for c in cells):
            continue
        if header is None:
            header = [c.strip().lower() for c in cells]
            missing = [c for c in ("month", "price") if c not in header]
            if missing:
                raise QuoteError(f"{p}: line {line_no}: header must name the columns month,price "
                                 f"(missing {', '.join(missing)}; found {', '.join(header) or 'nothing'})")
            i_month, i_price = header.index("month"), header.index("price")
            continue
        row = len(rows) + 1
        where = f"{p}: row {row} (line {line_no})"
        month = cells[i_month].strip() if i_month < len(cells) else ""
        price_text = cells[i_price].strip() if i_price < len(cells) else ""
        try:
            if len(month) == 7:
                date.fromisoformat(month + "-01")
            elif len(month) == 10:
                date.fromisoformat(month)
            else:
                raise ValueError
        except ValueError:
            raise QuoteError(f"{where}, field 'month': not a month (YYYY-MM) or day (YYYY-MM-DD): {month!r}") from None
        try:
            price = float(price_text)
        except ValueError:
            raise QuoteError(f"{where}, field 'price': not a number: {price_text!r}") from None
        if not (math.isfinite(price) and price > 0):
            raise QuoteError(f"{where}, field 'price': must be a positive number [USD/PH/day], got {price_text!r}")
        if month in seen:
            raise QuoteError(f"{where}, field 'month': {month} is also quoted in row {seen[month]}")
        seen[month] = row
        rows.append({"month": month, "price_usd_per_ph_day": price, "row": row})
    if header is None:
        raise QuoteError(f"{p}: empty quotes file (expected a header month,price and one row per month)")
    if not rows:
        raise QuoteError(f"{p}: no quotes after the header")
    return pd.DataFrame(rows)


def match_quotes(labels: list[str], quotes: pd.DataFrame | None) -> tuple[np.ndarray, list[str]]:
    """Quotes per horizon month (NaN where none) and the quoted months not on the curve.

    Parameters
    ----------
    labels : list of str
        :func:`month_labels`.
    quotes : pandas.DataFrame or None
        :func:`read_quotes`.
    """
    out = np.full(len(labels), np.nan)
    if quotes is None or not len(quotes):
        return out, []
    pos = {m: i for i, m in enumerate(labels)}
    unmatched = []
    for m, price in zip(quotes["month"], quotes["price_usd_per_ph_day"], strict=True):
        if m in pos:
            out[pos[m]] = price
        else:
            unmatched.append(m)
    return out, unmatched


# -- the curve -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForwardCurve:
    """A model-implied hashprice forward curve.

    Attributes
    ----------
    rows : pandas.DataFrame
        One row per month: ``month`` (label), ``month_start`` (UTC date), ``days``;
        ``mean_usd_per_ph_day``, ``median_usd_per_ph_day``, ``p05``, ``p25``, ``p75``, ``p95``
        [USD/PH/day]; ``mean_btc_per_ph_day``, ``median_btc_per_ph_day``, ``p05_btc_per_ph_day``
        … ``p95_btc_per_ph_day`` [BTC/PH/day]; the drivers ``p_halving`` (share of scenarios whose
        halving block is mined in the month), ``subsidy_btc`` (subsidy at the month's end in most
        scenarios [BTC/block]), ``retargets_expected`` (mean count of retargets in the month),
        ``difficulty_change_pct_mean`` (mean month-end difficulty vs the start [%]),
        ``fees_btc_per_block_mean``, ``price_usd_mean`` [USD/BTC], ``hashrate_ehs_mean`` [EH/s];
        with quotes: ``quote_usd_per_ph_day``, ``premium_usd_per_ph_day`` (quote − mean),
        ``premium_pct`` (of the mean [%]) and ``quote_percentile`` (where the quote sits in the
        model distribution [%]).
    start : dict
        The start state.
    drivers : dict
        Halving height and subsidies, the fee, hashrate and price models.
    n_scenarios, seed : int
    unmatched_quotes : tuple of str
        Quoted months that are not on the curve.
    """

    rows: pd.DataFrame
    start: dict
    drivers: dict
    n_scenarios: int
    seed: int
    unmatched_quotes: tuple[str, ...] = ()
    usd_hist: StreamingHistogram | None = field(default=None, repr=False, compare=False)

    def percentile(self, values_usd_per_ph_day) -> np.ndarray:
        """Where month-average hashprices sit in the model distribution, per month [%] (0–100).

        Parameters
        ----------
        values_usd_per_ph_day : array-like
            One value per month [USD/PH/day] (NaN gives NaN), e.g. quotes or realised values.
        """
        if self.usd_hist is None:
            raise ValueError("this curve keeps no distribution (built without its histogram)")
        return self.usd_hist.cdf(np.asarray(values_usd_per_ph_day, dtype=np.float64)) * 100.0

    def records(self) -> list[dict]:
        """The rows as JSON-ready dicts (dates as ISO strings)."""
        recs = self.rows.to_dict(orient="records")
        for r in recs:
            r["month_start"] = r["month_start"].isoformat()
        return recs


def finalize_forward(spec: ScenarioSpec, part: ForwardPartial, seed: int, models: dict | None = None,
                     quotes: pd.DataFrame | None = None) -> ForwardCurve:
    """Turn a merged :class:`ForwardPartial` into a :class:`ForwardCurve` (with quotes compared)."""
    months = spec.horizon_months
    n = part.n
    labels = month_labels(spec)
    q_usd, q_btc = part.usd.quantiles(QUANTILES), part.btc.quantiles(QUANTILES)
    tip = spec.start.tip_height
    hh = next_halving_height(tip)
    sub_now = block_subsidy(tip + 1) / SATS_PER_BTC
    sub_after = block_subsidy(hh) / SATS_PER_BTC
    by_end = np.cumsum(part.halving[:months]) / n
    d0 = float(difficulty_float(np.array([spec.start.bits]))[0])
    df = pd.DataFrame({
        "month": labels,
        "month_start": list(spec.month_starts[:months]),
        "days": month_days(spec).astype(np.int64),
        "mean_usd_per_ph_day": part.sums["usd"] / n,
        "median_usd_per_ph_day": q_usd[:, 2],
        "p05": q_usd[:, 0],
        "p25": q_usd[:, 1],
        "p75": q_usd[:, 3],
        "p95": q_usd[:, 4],
        "mean_btc_per_ph_day": part.sums["btc"] / n,
        "median_btc_per_ph_day": q_btc[:, 2],
        "p05_btc_per_ph_day": q_btc[:, 0],
        "p25_btc_per_ph_day": q_btc[:, 1],
        "p75_btc_per_ph_day": q_btc[:, 3],
        "p95_btc_per_ph_day": q_btc[:, 4],
        "p_halving": part.halving[:months] / n,
        "subsidy_btc": np.where(by_end >= 0.5, sub_after, sub_now),
        "retargets_expected": part.retargets / n,
        "difficulty_change_pct_mean": (part.sums["difficulty"] / n / d0 - 1.0) * 100.0,
        "fees_btc_per_block_mean": part.sums["fees_sats_per_block"] / n / SATS_PER_BTC,
        "price_usd_mean": part.sums["price_usd"] / n,
        "hashrate_ehs_mean": part.sums["hashrate_ehs"] / n,
    })
    unmatched: list[str] = []
    if quotes is not None:
        qv, unmatched = match_quotes(labels, quotes)
        mean = df["mean_usd_per_ph_day"].to_numpy()
        df["quote_usd_per_ph_day"] = qv
        df["premium_usd_per_ph_day"] = qv - mean
        df["premium_pct"] = (qv - mean) / mean * 100.0
        df["quote_percentile"] = part.usd.cdf(qv) * 100.0
    models = models or {}
    halving_month = None
    if part.halving[:months].sum() > 0:
        halving_month = labels[int(np.argmax(part.halving[:months]))]
    fees = spec.fees
    drivers = {
        "halving_height": hh,
        "subsidy_btc_now": sub_now,
        "subsidy_btc_after_halving": sub_after,
        "halving_month_most_likely": halving_month,
        "p_halving_within_horizon": float(by_end[-1]),
        "first_retarget_height": first_retarget_height(tip),
        "fees": {"base_sats_per_block": fees.base_sats_per_block, "interval_elasticity": fees.interval_elasticity,
                 "noise_sd_per_day": fees.noise_sd_per_day, "noise_ar1": fees.noise_ar1,
                 "window": models.get("fees", {}).get("window")},
        "hashrate": {"growth_per_year": spec.hashrate.growth_per_year,
                     "shocks": models.get("hashrate", {}).get("shocks") is not None,
                     "capitulation": models.get("hashrate", {}).get("capitulation") is not None},
        "price": {k: v for k, v in models.get("price", {}).items()},
        "reference_miner": "1 PH/s, uptime 1, pool fee 0, no costs, FPPS",
        "model_notes": list(model_notes(models)) if models.get("price") else [],
    }
    return ForwardCurve(df, start_record(spec), drivers, n, seed, tuple(unmatched), part.usd)


def forward_curve(
    spec: ScenarioSpec,
    n_scenarios: int = DEFAULT_SCENARIOS,
    seed: int = 0,
    *,
    quotes: pd.DataFrame | None = None,
    models: dict | None = None,
    executor: str = "local",
    workers: int = 1,
    scheduler: str | None = None,
    client=None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | None = None,
) -> ForwardCurve:
    """The month-average hashprice distribution per horizon month of ``spec`` (the forward curve).

    Parameters
    ----------
    spec : ScenarioSpec
        From :meth:`hashdesk.desk.Desk.scenario_spec`; its miner is replaced by
        :data:`REFERENCE_MINER` (:func:`forward_spec`).
    n_scenarios : int
    seed : int
        Root seed; same seed and chunk size → same curve on any executor.
    quotes : pandas.DataFrame, optional
        :func:`read_quotes`; adds the premium columns.
    models : dict, optional
        What was fitted (for the drivers).
    executor, workers, scheduler, client, chunk_size, progress
        As for :func:`hashdesk.scenario.executors.simulate`.

    Returns
    -------
    ForwardCurve
    """
    fspec = forward_spec(spec)
    part = run_reduced(fspec, n_scenarios, ForwardReducer(), seed=seed, executor=executor, workers=workers,
                       scheduler=scheduler, client=client, chunk_size=chunk_size, progress=progress)
    return finalize_forward(fspec, part, seed, models, quotes)


def realized_monthly_hashprice(daily: pd.DataFrame, labels: list[str], month_starts: list[date],
                               days: np.ndarray) -> pd.DataFrame:
    """Realised month-average hashprice from the daily network series, on the curve's months.

    Parameters
    ----------
    daily : pandas.DataFrame
        The daily series (``date``, ``hashprice_usd_per_ph_day``, ``hashprice_btc_per_ph_day``),
        e.g. :meth:`hashdesk.desk.Desk.hashprice`.
    labels, month_starts, days
        The curve's months (``ForwardCurve.rows``'s ``month``, ``month_start``, ``days``).

    Returns
    -------
    pandas.DataFrame
        ``month``, ``days_with_data``, ``realized_usd_per_ph_day`` and ``realized_btc_per_ph_day``
        (means over the month's days with a hashprice; NaN when the month is not complete in
        the data).
    """
    d = pd.to_datetime(pd.Series(daily["date"]).astype(str)).dt.date.to_numpy()
    usd = pd.to_numeric(daily["hashprice_usd_per_ph_day"], errors="coerce").to_numpy(dtype=float)
    btc = pd.to_numeric(daily["hashprice_btc_per_ph_day"], errors="coerce").to_numpy(dtype=float)
    out = []
    for label, start, nd in zip(labels, month_starts, days, strict=True):
        end = start + timedelta(days=int(nd))
        sel = (d >= start) & (d < end) & np.isfinite(usd)
        k = int(sel.sum())
        full = k == int(nd)
        out.append({"month": label, "days_with_data": k,
                    "realized_usd_per_ph_day": float(usd[sel].mean()) if full else np.nan,
                    "realized_btc_per_ph_day": float(btc[sel].mean()) if full else np.nan})
    return pd.DataFrame(out)
