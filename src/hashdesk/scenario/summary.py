"""Streaming aggregation of scenario chunks: histograms, counts and sums that merge exactly.

Each chunk is reduced to a :class:`Partial` of fixed size (independent of the number of
scenarios): integer histogram counts per metric and month, integer counts of negative margins,
float sums and a few sample paths. Partials are merged **in chunk order**, so integer counts are
exact and float sums are bit-identical however the chunks were executed.

Quantiles are read from the histograms: bins are uniform in ``asinh(v / scale)``, which is
linear near zero and logarithmic for large ``|v|``, so one grid serves prices, hashrates and
margins of either sign. The scale is 1 % of the metric's start value, so ``asinh`` in
``[-12.5, 12.5]`` covers ±1,300× the start value; with :data:`N_BINS` bins a bin spans 1.2 % of
the value in the logarithmic range (4.9 % with :data:`N_BINS_LONG` for horizons over ten years).
Quantiles interpolate linearly inside the bin and are clipped to the exact per-month min and
max (so a constant series is reported exactly); tests check them against ``numpy.quantile``.

References
----------
.. [1] Hyndman, R. J. & Fan, Y. (1996). Sample quantiles in statistical packages. *The American
   Statistician* 50(4) (definition 4: linear interpolation of the empirical CDF).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from hashdesk.scenario.engine import (
    MONTHLY_METRICS,
    ChunkResult,
    ScenarioSpec,
    difficulty_float,
    difficulty_ratio,
)

#: Histogram bins per metric and month (horizons up to ten years).
N_BINS: int = 2048
#: Histogram bins for longer horizons (keeps a partial under ~60 MB for a century).
N_BINS_LONG: int = 512
#: Half-width of the histogram range in asinh units (|v| up to ~1.3e5 × scale).
ASINH_RANGE: float = 12.5
#: Quantile levels reported.
QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Number of sample paths kept (from the first chunk) for charts.
N_SAMPLE_PATHS: int = 20
#: Horizon totals reduced per scenario.
TOTAL_METRICS: tuple[str, ...] = ("btc_mined", "revenue_usd", "cost_usd", "margin_usd")


@dataclass
class StreamingHistogram:
    """Histograms of ``groups`` series on one asinh grid; counts are exact int64.

    Parameters
    ----------
    groups : int
        Number of series (e.g. months).
    scale : float
        Value scale of the asinh transform [units of the metric].
    bins : int
        Bins per group.
    with_sums : bool
        Also keep the sum of the values in each bin (``bin_sums``, float64), for tail means
        (:meth:`tail_mean`, the CVaR of a margin); merged in chunk order like the counts.
    """

    groups: int
    scale: float
    bins: int = N_BINS
    with_sums: bool = False
    counts: np.ndarray = field(init=False)
    vmin: np.ndarray = field(init=False)
    vmax: np.ndarray = field(init=False)
    bin_sums: np.ndarray | None = field(init=False)

    def __post_init__(self) -> None:
        if not self.scale > 0:
            self.scale = 1.0
        self.counts = np.zeros((self.groups, self.bins), dtype=np.int64)
        self.vmin = np.full(self.groups, np.inf)
        self.vmax = np.full(self.groups, -np.inf)
        self.bin_sums = np.zeros((self.groups, self.bins)) if self.with_sums else None

    def add(self, values: np.ndarray) -> None:
        """Add values of shape (scenarios × k), k <= groups, into the first k groups; NaNs are skipped.

        Bins are found in float32 (a bin is 0.012 asinh units wide; the float32 asinh is good to
        1e-6); min and max stay exact float64.
        """
        v = np.asarray(values, dtype=np.float64)
        k = v.shape[1]
        ok = np.isfinite(v)
        all_ok = bool(ok.all())
        if not all_ok:
            v = np.where(ok, v, np.nan)
        x = (v / self.scale).astype(np.float32)
        with np.errstate(invalid="ignore", over="ignore"):
            # asinh(x) = sign(x)·log(|x| + sqrt(x² + 1)) with float32 SIMD log/sqrt (5x numpy's
            # arcsinh; absolute error < 1e-6, a bin is 0.012 wide)
            a = np.abs(x)
            y = a * a
            y += 1.0
            np.sqrt(y, out=y)
            y += a
            np.log(y, out=y)
            np.copysign(y, x, out=y)
            y += np.float32(ASINH_RANGE)
            y *= np.float32(self.bins / (2 * ASINH_RANGE))
            np.clip(y, 0, self.bins - 1, out=y)
        if not all_ok:
            y[~ok] = k * self.bins  # past the last bin whatever the column offset: dropped below
        b = y.astype(np.int64)
        b += np.arange(k) * self.bins
        self.counts[:k] += np.bincount(b.ravel(), minlength=k * self.bins)[: k * self.bins].reshape(k, self.bins)
        if self.bin_sums is not None:
            w = v if all_ok else np.where(ok, v, 0.0)
            self.bin_sums[:k] += np.bincount(b.ravel(), weights=w.ravel(),
                                             minlength=k * self.bins)[: k * self.bins].reshape(k, self.bins)
        with np.errstate(all="ignore"):
            self.vmin[:k] = np.fmin(self.vmin[:k], np.fmin.reduce(v, axis=0))
            self.vmax[:k] = np.fmax(self.vmax[:k], np.fmax.reduce(v, axis=0))

    def merge(self, other: StreamingHistogram) -> None:
        self.counts += other.counts
        self.vmin = np.fmin(self.vmin, other.vmin)
        self.vmax = np.fmax(self.vmax, other.vmax)
        if self.bin_sums is not None:
            self.bin_sums += other.bin_sums

    def cdf(self, values: np.ndarray) -> np.ndarray:
        """Share of each group's values at or below ``values[g]`` [0–1], NaN for empty groups.

        The empirical CDF read from the histogram: exact at bin edges, linear inside a bin
        (the inverse of :meth:`quantiles`); 0 below the group's minimum, 1 at or above its maximum.

        Parameters
        ----------
        values : numpy.ndarray
            One value per group [units of the metric]; NaN gives NaN.
        """
        x = np.asarray(values, dtype=np.float64)
        out = np.full(self.groups, np.nan)
        edges = np.linspace(-ASINH_RANGE, ASINH_RANGE, self.bins + 1)
        for gi in range(self.groups):
            c = self.counts[gi]
            total = c.sum()
            if total == 0 or not np.isfinite(x[gi]):
                continue
            if x[gi] < self.vmin[gi]:
                out[gi] = 0.0
            elif x[gi] >= self.vmax[gi]:
                out[gi] = 1.0
            else:
                cdf = np.concatenate([[0.0], np.cumsum(c) / total])
                out[gi] = float(np.interp(np.arcsinh(x[gi] / self.scale), edges, cdf))
        return out

    def tail_mean(self, q: float) -> np.ndarray:
        """Mean of the lowest share ``q`` of each group's values (expected shortfall, CVaR) [1]_.

        Bins wholly below the ``q``-quantile contribute their exact sums; the bin that holds it
        contributes the needed count at that bin's mean value. Needs ``with_sums``.

        Parameters
        ----------
        q : float
            Tail share, in (0, 1] (0.05 for the 5 % CVaR).

        Returns
        -------
        numpy.ndarray
            One mean per group [units of the metric]; NaN for empty groups.

        References
        ----------
        .. [1] Acerbi, C. & Tasche, D. (2002). On the coherence of expected shortfall. *Journal of
           Banking & Finance* 26(7), 1487–1503.
        """
        if self.bin_sums is None:
            raise ValueError("tail_mean needs a histogram built with with_sums=True")
        if not 0 < q <= 1:
            raise ValueError(f"tail share must be in (0, 1], got {q}")
        out = np.full(self.groups, np.nan)
        for gi in range(self.groups):
            c = self.counts[gi]
            total = int(c.sum())
            if total == 0:
                continue
            need = q * total
            cum = np.cumsum(c)
            b = int(np.searchsorted(cum, need, side="left"))
            below = int(cum[b - 1]) if b > 0 else 0
            s = float(self.bin_sums[gi, :b].sum())
            part = need - below
            if part > 0:
                s += part * float(self.bin_sums[gi, b]) / float(c[b])
            out[gi] = s / need
        return out

    def quantiles(self, qs: tuple[float, ...] = QUANTILES) -> np.ndarray:
        """Quantiles per group (groups × len(qs)), NaN for empty groups [1]_."""
        out = np.full((self.groups, len(qs)), np.nan)
        edges = np.linspace(-ASINH_RANGE, ASINH_RANGE, self.bins + 1)
        for gi in range(self.groups):
            c = self.counts[gi]
            total = c.sum()
            if total == 0:
                continue
            cdf = np.concatenate([[0.0], np.cumsum(c) / total])
            y = np.interp(np.asarray(qs), cdf, edges)
            out[gi] = np.clip(np.sinh(y) * self.scale, self.vmin[gi], self.vmax[gi])
        return out


@dataclass
class Partial:
    """Mergeable summary of some scenarios (fixed size)."""

    n: int
    hist: dict[str, StreamingHistogram]
    sums: dict[str, np.ndarray]
    neg_margin: np.ndarray
    neg_total_margin: int
    breakeven: np.ndarray
    rt_count: np.ndarray
    rt_time_sum: np.ndarray
    rt_time_hist: StreamingHistogram
    rt_ratio_hist: StreamingHistogram
    samples: dict[str, np.ndarray]

    def merge(self, other: Partial) -> Partial:
        """Add ``other`` into ``self`` (call in chunk order for bit-identical sums)."""
        self.n += other.n
        for k, h in self.hist.items():
            h.merge(other.hist[k])
        for k in self.sums:
            self.sums[k] = self.sums[k] + other.sums[k]
        self.neg_margin += other.neg_margin
        self.neg_total_margin += other.neg_total_margin
        self.breakeven += other.breakeven
        self.rt_count += other.rt_count
        self.rt_time_sum += other.rt_time_sum
        self.rt_time_hist.merge(other.rt_time_hist)
        self.rt_ratio_hist.merge(other.rt_ratio_hist)
        if not self.samples:
            self.samples = other.samples
        return self


def max_retargets(spec: ScenarioSpec) -> int:
    """Retarget slots summarised per run (epochs that could end inside the horizon)."""
    return spec.n_days // 7 + 4


def nominal_retarget_day(spec: ScenarioSpec) -> np.ndarray:
    """Day of each retarget at exactly 600-s blocks from the start [days] (histogram centre)."""
    from hashdesk.scenario.engine import first_retarget_height

    first = (first_retarget_height(spec.start.tip_height) - spec.start.tip_height - 1) * 600 / 86_400
    return first + 14.0 * np.arange(max_retargets(spec))


def scales(spec: ScenarioSpec) -> dict[str, float]:
    """asinh scales per metric: 1 % of the start value (or of the miner's monthly figures)."""
    st = spec.start
    out = {
        "price_usd": st.price_usd / 100,
        "hashrate_ehs": st.hashrate_ehs / 100,
        "hashprice_usd_per_ph_day": st.hashprice_usd_per_ph_day / 100,
        "fees_sats_per_block": max(st.fees_sats_per_block, 1.0) / 100,
        "difficulty": float(difficulty_float(np.array([st.bits]))[0]) / 100,
    }
    m = spec.miner
    if m is not None:
        rev = m.hashrate_ths / 1000.0 * st.hashprice_usd_per_ph_day * 30 * m.uptime
        out.update(
            btc_mined=max(rev / st.price_usd, 1e-8) / 100,
            revenue_usd=max(rev, 1.0) / 100,
            cost_usd=max(rev, 1.0) / 100,
            margin_usd=max(rev, 1.0) / 100,
        )
    return out


def reduce_chunk(spec: ScenarioSpec, res: ChunkResult, keep_samples: bool) -> Partial:
    """Reduce one :class:`ChunkResult` to a fixed-size :class:`Partial`."""
    sc = scales(spec)
    months = spec.horizon_months
    n = res.breakeven_month.shape[0]
    hist: dict[str, StreamingHistogram] = {}
    sums: dict[str, np.ndarray] = {}
    metrics = [k for k in MONTHLY_METRICS if k in sc]
    bins = N_BINS if months <= 120 else N_BINS_LONG
    for k in metrics:
        hist[k] = StreamingHistogram(months, sc[k], bins)
        hist[k].add(res.monthly[k])
        sums[k] = res.monthly[k].sum(axis=0)
    has_miner = spec.miner is not None
    neg = np.zeros(months, dtype=np.int64)
    neg_total = 0
    if has_miner:
        neg = (res.monthly["margin_usd"] < 0).sum(axis=0).astype(np.int64)
        for k in TOTAL_METRICS:
            tot = res.monthly[k].sum(axis=1, keepdims=True)
            key = f"total_{k}"
            hist[key] = StreamingHistogram(1, sc[k] * months, bins)
            hist[key].add(tot)
            sums[key] = tot.sum(axis=0)
        neg_total = int((res.monthly["margin_usd"].sum(axis=1) < 0).sum())
    breakeven = np.bincount(res.breakeven_month, minlength=months + 1).astype(np.int64)[: months + 1]
    kmax = max_retargets(spec)
    used = min(kmax, res.retarget_time_s.shape[1])
    t = res.retarget_time_s[:, :used] / 86_400.0
    valid = res.retarget_bits[:, :used] > 0
    ratio = np.where(
        valid,
        difficulty_ratio(np.where(valid, res.retarget_bits[:, :used], 0x1D00FFFF),
                         np.where(valid, res.prev_bits[:, :used], 0x1D00FFFF)),
        np.nan,
    )
    t_hist = StreamingHistogram(kmax, 0.01, bins)
    t_hist.add(t - nominal_retarget_day(spec)[:used])
    r_hist = StreamingHistogram(kmax, 0.001, bins)
    ratio -= 1.0
    r_hist.add(ratio)
    rt_count = np.zeros(kmax, dtype=np.int64)
    rt_count[:used] = np.isfinite(t).sum(axis=0)
    rt_time_sum = np.zeros(kmax)
    rt_time_sum[:used] = np.nansum(t, axis=0)
    samples = {}
    if keep_samples:
        samples = {k: res.monthly[k][:N_SAMPLE_PATHS].copy() for k in metrics}
    return Partial(
        n=n,
        hist=hist,
        sums=sums,
        neg_margin=neg,
        neg_total_margin=neg_total,
        breakeven=breakeven,
        rt_count=rt_count,
        rt_time_sum=rt_time_sum,
        rt_time_hist=t_hist,
        rt_ratio_hist=r_hist,
        samples=samples,
    )


@dataclass(frozen=True)
class ScenarioSummary:
    """Result of a run: monthly fan-chart quantiles, risk figures and retarget distribution.

    Attributes
    ----------
    monthly : pandas.DataFrame
        One row per (metric, month): ``month_start`` (UTC date), ``mean`` and ``q05..q95``.
    retargets : pandas.DataFrame
        One row per retarget ``k``: ``height``, ``share_of_scenarios`` reaching it inside the
        horizon, quantiles of its day after the start [days] and of the difficulty change [%].
    risk : dict
        Headline figures: P(negative margin) per horizon and month, breakeven distribution.
    samples : dict
        A few sample paths per metric (scenarios × months) from the first chunk.
    """

    n_scenarios: int
    seed: int
    start: dict
    models: dict
    monthly: pd.DataFrame
    retargets: pd.DataFrame
    risk: dict
    samples: dict


def start_record(spec: ScenarioSpec) -> dict:
    """The start state of a run as a JSON-ready record (:attr:`ScenarioSummary.start`, the forward curve's and the hedge's ``start``)."""
    st = spec.start
    return {
        "date": st.start_date.isoformat(),
        "time_unix": st.time_unix,
        "tip_height": st.tip_height,
        "bits": f"0x{st.bits:08x}",
        "price_usd": st.price_usd,
        "hashrate_ehs": st.hashrate_ehs,
        "fees_sats_per_block": st.fees_sats_per_block,
        "hashprice_usd_per_ph_day": st.hashprice_usd_per_ph_day,
        "source": st.source,
    }


def finalize(spec: ScenarioSpec, part: Partial, seed: int, models: dict) -> ScenarioSummary:
    """Turn the merged :class:`Partial` into a :class:`ScenarioSummary`."""
    from hashdesk.scenario.engine import first_retarget_height

    months = spec.horizon_months
    month_starts: list[date] = list(spec.month_starts[:months])
    qcols = [f"q{int(round(q * 100)):02d}" for q in QUANTILES]
    rows = []
    for k, h in part.hist.items():
        if k.startswith("total_"):
            continue
        qv = h.quantiles()
        mean = part.sums[k] / part.n
        for m in range(months):
            rows.append({"metric": k, "month": m + 1, "month_start": month_starts[m], "mean": mean[m],
                         **dict(zip(qcols, qv[m], strict=True))})
    monthly = pd.DataFrame(rows)
    if spec.miner is not None:
        neg = pd.DataFrame({"metric": "p_negative_margin", "month": np.arange(1, months + 1),
                            "month_start": month_starts, "mean": part.neg_margin / part.n})
        monthly = pd.concat([monthly, neg], ignore_index=True)
    kmax = max_retargets(spec)
    tq = part.rt_time_hist.quantiles() + nominal_retarget_day(spec)[:, None]
    rq = part.rt_ratio_hist.quantiles()
    h1 = first_retarget_height(spec.start.tip_height)
    rrows = []
    for k in range(kmax):
        if part.rt_count[k] == 0:
            break
        rrows.append({
            "retarget": k + 1,
            "height": h1 + 2016 * k,
            "share_of_scenarios": part.rt_count[k] / part.n,
            "day_mean": part.rt_time_sum[k] / part.rt_count[k],
            **{f"day_{c}": v for c, v in zip(qcols, tq[k], strict=True)},
            **{f"change_pct_{c}": v * 100 for c, v in zip(qcols, rq[k], strict=True)},
        })
    risk: dict = {}
    if spec.miner is not None:
        totals = {}
        for k in TOTAL_METRICS:
            q = part.hist[f"total_{k}"].quantiles()[0]
            totals[k] = {"mean": float(part.sums[f"total_{k}"][0] / part.n),
                         **{c: float(v) for c, v in zip(qcols, q, strict=True)}}
        be = part.breakeven
        reached = be[1:]
        cdf = np.cumsum(reached) / part.n
        def month_at(p: float) -> int | None:
            hit = np.flatnonzero(cdf >= p)
            return int(hit[0]) + 1 if hit.size else None
        risk = {
            "p_negative_margin_horizon": part.neg_total_margin / part.n,
            "p_negative_margin_by_month": (part.neg_margin / part.n).tolist(),
            "capex_usd": spec.capex_usd,
            "p_breakeven_within_horizon": float(reached.sum() / part.n),
            "breakeven_month_q05": month_at(0.05),
            "breakeven_month_q50": month_at(0.5),
            "breakeven_month_q95": month_at(0.95),
            "horizon_totals": totals,
        }
    start = start_record(spec)
    return ScenarioSummary(
        n_scenarios=part.n,
        seed=seed,
        start=start,
        models=models,
        monthly=monthly,
        retargets=pd.DataFrame(rrows),
        risk=risk,
        samples=part.samples,
    )
