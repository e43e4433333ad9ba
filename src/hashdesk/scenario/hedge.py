"""Hedging a miner's hashprice with a forward swap: paired distributions of margin, unhedged and hedged.

**The hedge.** Per horizon month ``m`` the miner sells forward ``R`` of its expected production,
measured in hash: the notional ``Q_m = H · u · d_m`` [PH·day] (fleet hashrate ``H`` [PH/s], uptime
``u``, days ``d_m``). The instrument is a hashprice swap settled on the month-average hashprice
``h_m`` [USD/PH/day] (the index of :mod:`hashdesk.scenario.forward`): the miner receives the
fixed forward ``F_m`` and pays the floating index, so its payoff is

    P_m = R · Q_m · (F_m − h_m)        [USD]

and its hedged margin ``M_m + P_m``. ``F_m`` is a quoted price when one is given for the month,
else the model mean ``E[h_m]`` of the same scenarios (the swap is then fair in the model: the
hedged and unhedged means are equal up to rounding). Pool fee, curtailment and costs stay in the
margin ``M_m`` (:func:`hashdesk.scenario.engine.miner_money`, the one miner model), so a full
hedge ``R = 1`` over-hedges a miner who keeps ``1 − pool fee`` of the gross.

**Variance-minimising ratio.** With ``X = Σ_m Q_m h_m`` and ``M = Σ_m M_m`` over the horizon, the
hedged total is ``M − R·X + R·Σ Q_m F_m``, whose variance ``Var M − 2R Cov(M, X) + R² Var X`` is
smallest at ``R* = Cov(M, X) / Var X`` (the minimum-variance hedge ratio [1]_); per month
``R*_m = Cov(M_m, X_m) / Var X_m`` likewise. For an FPPS miner that is never curtailed,
``M_m = (1 − φ)·u·H·d_m·h_m − cost`` and ``R* = 1 − φ`` exactly. Standard deviations at any ratio
follow from the same moments, exactly; quantiles, P(margin < 0) and the 5 % CVaR (mean of the
worst 5 % of outcomes [2]_) come from streaming histograms of the hedged margins at ``R = 0``,
the given ``R`` and ``R*``.

**Pairing and scale.** Two passes run the *same* scenarios (same seed and chunks:
:func:`hashdesk.scenario.executors.run_reduced`): the first reduces each chunk to means and
co-moments (merged by Chan et al.'s parallel update [3]_), which give ``F`` and ``R*``; the second
to histograms of every leg. Both are fixed-size per chunk, merged in chunk order: bit-identical
on any executor, memory O(chunk) for any number of scenarios.

References
----------
.. [1] Hull, J. C. *Options, Futures, and Other Derivatives*, 10th ed., §3.4 (the minimum
   variance hedge ratio ``h* = ρ σ_S / σ_F`` = Cov / Var).
.. [2] Acerbi, C. & Tasche, D. (2002). On the coherence of expected shortfall. *Journal of Banking
   & Finance* 26(7), 1487–1503.
.. [3] Chan, T. F., Golub, G. H. & LeVeque, R. J. (1979). Updating formulae and a pairwise
   algorithm for computing sample variances. Stanford CS report STAN-CS-79-773.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hashdesk.scenario.engine import ChunkResult, ScenarioSpec
from hashdesk.scenario.executors import DEFAULT_CHUNK_SIZE, Progress, run_reduced
from hashdesk.scenario.forward import match_quotes, month_days, month_labels
from hashdesk.scenario.paths import ScenarioInputError
from hashdesk.scenario.summary import N_BINS, QUANTILES, StreamingHistogram, start_record

#: Tail share of the CVaR reported [0–1].
CVAR_LEVEL: float = 0.05
#: Default scenarios of a hedge analysis (two passes over them).
DEFAULT_SCENARIOS: int = 50_000


# -- pure pieces -----------------------------------------------------------------------------------


def notional_ph_days(spec: ScenarioSpec) -> np.ndarray:
    """The miner's expected production in hash per month, ``Q_m = H · uptime · days`` [PH·day].

    Raises
    ------
    ScenarioInputError
        When the spec has no miner.
    """
    if spec.miner is None:
        raise ScenarioInputError("hedge: the spec has no miner (give a miner profile)")
    return spec.miner.hashrate_ths / 1000.0 * spec.miner.uptime * month_days(spec)


def hedge_payoff(hashprice: np.ndarray, notional: np.ndarray, forward: np.ndarray, ratio: float) -> np.ndarray:
    """Payoff of the short hashprice swap per month, ``R · Q_m · (F_m − h_m)`` [USD].

    Parameters
    ----------
    hashprice : numpy.ndarray
        (scenarios × months) month-average hashprice ``h_m`` [USD/PH/day].
    notional : numpy.ndarray
        ``Q_m`` per month [PH·day].
    forward : numpy.ndarray
        ``F_m`` per month [USD/PH/day].
    ratio : float
        Share of expected production sold forward ``R`` [–].
    """
    return ratio * (np.asarray(notional) * (np.asarray(forward) - hashprice))


def hedged_margin(margin: np.ndarray, hashprice: np.ndarray, notional: np.ndarray, forward: np.ndarray,
                  ratio: float) -> np.ndarray:
    """Hedged monthly margin ``M_m + R · Q_m · (F_m − h_m)`` [USD] (``R = 0`` returns ``margin``'s values).

    Parameters
    ----------
    margin : numpy.ndarray
        (scenarios × months) unhedged margin ``M_m`` [USD].
    hashprice, notional, forward, ratio
        As for :func:`hedge_payoff`.
    """
    return margin + hedge_payoff(hashprice, notional, forward, ratio)


@dataclass
class CoMoments:
    """Means and co-moments of two variables ``a``, ``b`` per group, mergeable exactly in order.

    ``c_aa``, ``c_bb``, ``c_ab`` are sums of centred products (``Σ (a − ā)(b − b̄)``); two sets merge
    by Chan, Golub & LeVeque's update [1]_, which keeps the precision of a two-pass computation.

    References
    ----------
    .. [1] Chan, Golub & LeVeque (1979), STAN-CS-79-773 (pairwise update of sums of squares).
    """

    n: int
    mean_a: np.ndarray
    mean_b: np.ndarray
    c_aa: np.ndarray
    c_bb: np.ndarray
    c_ab: np.ndarray

    @classmethod
    def of(cls, a: np.ndarray, b: np.ndarray) -> CoMoments:
        """From (observations × groups) arrays."""
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        ma, mb = a.mean(axis=0), b.mean(axis=0)
        da, db = a - ma, b - mb
        return cls(a.shape[0], ma, mb, (da * da).sum(axis=0), (db * db).sum(axis=0), (da * db).sum(axis=0))

    def merge(self, other: CoMoments) -> CoMoments:
        """Add ``other`` into ``self`` (call in chunk order for bit-identical results)."""
        n1, n2 = self.n, other.n
        if n2 == 0:
            return self
        n = n1 + n2
        da, db = other.mean_a - self.mean_a, other.mean_b - self.mean_b
        w = n1 * n2 / n
        self.c_aa = self.c_aa + other.c_aa + da * da * w
        self.c_bb = self.c_bb + other.c_bb + db * db * w
        self.c_ab = self.c_ab + other.c_ab + da * db * w
        self.mean_a = self.mean_a + da * (n2 / n)
        self.mean_b = self.mean_b + db * (n2 / n)
        self.n = n
        return self

    def var_a(self) -> np.ndarray:
        """Sample variance of ``a`` (ddof 1)."""
        return self.c_aa / max(self.n - 1, 1)

    def var_b(self) -> np.ndarray:
        """Sample variance of ``b`` (ddof 1)."""
        return self.c_bb / max(self.n - 1, 1)

    def cov(self) -> np.ndarray:
        """Sample covariance of ``a`` and ``b`` (ddof 1)."""
        return self.c_ab / max(self.n - 1, 1)

    def min_var_ratio(self) -> np.ndarray:
        """``Cov(a, b) / Var(b)``: the ``R`` minimising ``Var(a − R·b)`` (NaN where Var b = 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.c_bb > 0, self.c_ab / np.where(self.c_bb > 0, self.c_bb, 1.0), np.nan)

    def std_of(self, ratio: float | np.ndarray) -> np.ndarray:
        """Standard deviation of ``a − R·b`` (ddof 1): ``sqrt(Var a − 2R Cov + R² Var b)``."""
        v = self.c_aa - 2.0 * ratio * self.c_ab + ratio * ratio * self.c_bb
        return np.sqrt(np.maximum(v, 0.0) / max(self.n - 1, 1))


# -- pass 1: moments ---------------------------------------------------------------------------------


@dataclass
class HedgeMoments:
    """Pass 1 of a hedge run: hashprice sums and (margin, floating leg) co-moments, per month and in total."""

    n: int
    hashprice_sum: np.ndarray
    monthly: CoMoments
    total: CoMoments

    def merge(self, other: HedgeMoments) -> HedgeMoments:
        self.n += other.n
        self.hashprice_sum = self.hashprice_sum + other.hashprice_sum
        self.monthly.merge(other.monthly)
        self.total.merge(other.total)
        return self


def moments_of(margin: np.ndarray, hashprice: np.ndarray, notional: np.ndarray) -> HedgeMoments:
    """:class:`HedgeMoments` of (scenarios × months) margin [USD] and hashprice [USD/PH/day]."""
    x = hashprice * notional  # floating leg X_m [USD]
    return HedgeMoments(
        margin.shape[0], hashprice.sum(axis=0),
        CoMoments.of(margin, x),
        CoMoments.of(margin.sum(axis=1, keepdims=True), x.sum(axis=1, keepdims=True)),
    )


@dataclass(frozen=True)
class MomentsReducer:
    """Chunk reducer of pass 1 (:data:`hashdesk.scenario.executors.Reducer`)."""

    notional: tuple[float, ...]

    def __call__(self, spec: ScenarioSpec, res: ChunkResult, index: int) -> HedgeMoments:
        return moments_of(res.monthly["margin_usd"], res.monthly["hashprice_usd_per_ph_day"],
                          np.asarray(self.notional))


# -- pass 2: distributions ----------------------------------------------------------------------------


@dataclass
class HedgeDistributions:
    """Pass 2: histograms (with bin sums) of the monthly and total margin at each ratio, and counts
    of negative margins.

    Each leg is histogrammed standardised, ``z = (v − c) / s`` with its centre ``c`` and spread
    ``s`` from pass 1 (its mean and standard deviation, per month and in total), so a hedged
    margin whose spread is a small fraction of its level is resolved as finely as an unhedged
    one (asinh bins of ``z``: 0.0012 ``s`` near the centre, 1.2 % of ``|z|`` beyond ``s``);
    :meth:`values` maps quantiles and tail means back (a linear map, exact).
    """

    n: int
    ratios: tuple[float, ...]
    centers_month: np.ndarray
    scales_month: np.ndarray
    centers_total: np.ndarray
    scales_total: np.ndarray
    monthly: list[StreamingHistogram]
    total: list[StreamingHistogram]
    neg_monthly: np.ndarray
    neg_total: np.ndarray

    def merge(self, other: HedgeDistributions) -> HedgeDistributions:
        self.n += other.n
        for a, b in zip(self.monthly + self.total, other.monthly + other.total, strict=True):
            a.merge(b)
        self.neg_monthly += other.neg_monthly
        self.neg_total += other.neg_total
        return self

    def values(self, i: int, total: bool = False) -> dict[str, np.ndarray]:
        """Quantiles (5, 25, 50, 75, 95 %), P(< 0) and the 5 % CVaR of leg ``i`` [USD], per month
        or (``total``) for the horizon."""
        h = self.total[i] if total else self.monthly[i]
        c = self.centers_total[i:i + 1] if total else self.centers_month[i]
        s = self.scales_total[i:i + 1] if total else self.scales_month[i]
        q = h.quantiles(QUANTILES) * s[:, None] + c[:, None]
        neg = self.neg_total[i:i + 1] if total else self.neg_monthly[i]
        return {"p05_usd": q[:, 0], "p25_usd": q[:, 1], "median_usd": q[:, 2], "p75_usd": q[:, 3],
                "p95_usd": q[:, 4], "p_negative": neg / self.n,
                "cvar05_usd": h.tail_mean(CVAR_LEVEL) * s + c}


#: asinh scale of the standardised histograms (linear within ±0.1 standard deviation).
Z_SCALE: float = 0.1


def spread_floor(center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Standardising spread: the standard deviation, at least 1e-9 of the level (a leg with no
    variance is then resolved at rounding level) [USD]."""
    return np.maximum(scale, 1e-9 * np.maximum(np.abs(center), 1.0))


def distributions_of(margin: np.ndarray, hashprice: np.ndarray, notional: np.ndarray, forward: np.ndarray,
                     ratios: tuple[float, ...], centers_month: np.ndarray, scales_month: np.ndarray,
                     centers_total: np.ndarray, scales_total: np.ndarray) -> HedgeDistributions:
    """:class:`HedgeDistributions` of the hedged margins at each of ``ratios`` (same scenarios).

    Parameters
    ----------
    margin : numpy.ndarray
        (scenarios × months) unhedged margin [USD].
    hashprice : numpy.ndarray
        (scenarios × months) month-average hashprice [USD/PH/day].
    notional, forward : numpy.ndarray
        Per month [PH·day], [USD/PH/day].
    ratios : tuple of float
    centers_month, scales_month : numpy.ndarray
        (ratios × months) centre and spread of each leg's monthly margin [USD].
    centers_total, scales_total : numpy.ndarray
        (ratios,) the same for the horizon total [USD].
    """
    months = margin.shape[1]
    hm, ht = [], []
    neg_m = np.zeros((len(ratios), months), dtype=np.int64)
    neg_t = np.zeros(len(ratios), dtype=np.int64)
    for i, r in enumerate(ratios):
        m = hedged_margin(margin, hashprice, notional, forward, r)
        tot = m.sum(axis=1, keepdims=True)
        neg_m[i] = (m < 0).sum(axis=0)
        neg_t[i] = int((tot < 0).sum())
        m -= centers_month[i]
        m /= scales_month[i]
        tot -= centers_total[i]
        tot /= scales_total[i]
        h = StreamingHistogram(months, Z_SCALE, N_BINS, with_sums=True)
        h.add(m)
        t = StreamingHistogram(1, Z_SCALE, N_BINS, with_sums=True)
        t.add(tot)
        hm.append(h)
        ht.append(t)
    return HedgeDistributions(margin.shape[0], tuple(ratios), centers_month, scales_month, centers_total,
                              scales_total, hm, ht, neg_m, neg_t)


@dataclass(frozen=True)
class DistributionReducer:
    """Chunk reducer of pass 2 (:data:`hashdesk.scenario.executors.Reducer`)."""

    notional: tuple[float, ...]
    forward: tuple[float, ...]
    ratios: tuple[float, ...]
    centers_month: np.ndarray
    scales_month: np.ndarray
    centers_total: np.ndarray
    scales_total: np.ndarray

    def __call__(self, spec: ScenarioSpec, res: ChunkResult, index: int) -> HedgeDistributions:
        return distributions_of(res.monthly["margin_usd"], res.monthly["hashprice_usd_per_ph_day"],
                                np.asarray(self.notional), np.asarray(self.forward), self.ratios,
                                self.centers_month, self.scales_month, self.centers_total, self.scales_total)


# -- the analysis -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HedgeResult:
    """A miner's margin unhedged and hedged with a hashprice swap, on paired scenarios.

    Attributes
    ----------
    miner : str
    ratio : float
        The ratio asked for ``R``.
    min_var_ratio : float
        ``R*`` minimising the variance of the total margin over the horizon.
    monthly : pandas.DataFrame
        One row per month: ``month``, ``month_start``, ``notional_ph_days`` [PH·day],
        ``forward_usd_per_ph_day`` and ``forward_source`` (quote / model mean),
        ``model_mean_usd_per_ph_day``; for the unhedged margin and the margin hedged at ``R``
        (prefixes ``unhedged_`` and ``hedged_``): ``mean_usd``, ``std_usd``, ``p05_usd``,
        ``median_usd``, ``p95_usd``, ``p_negative`` [0–1], ``cvar05_usd``; ``hedge_payoff_mean_usd``;
        ``min_var_ratio`` (``R*_m``) and ``min_var_std_usd``.
    totals : pandas.DataFrame
        Horizon total margin, one row per leg (``unhedged``, ``hedged at R``, ``hedged at R*``):
        ``leg``, ``ratio``, ``mean_usd``, ``std_usd``, ``p05_usd``, ``median_usd``, ``p95_usd``,
        ``p_negative``, ``cvar05_usd``, ``hedge_payoff_mean_usd``.
    start : dict
    n_scenarios, seed : int
    unmatched_quotes : tuple of str
    """

    miner: str
    ratio: float
    min_var_ratio: float
    monthly: pd.DataFrame
    totals: pd.DataFrame
    start: dict
    n_scenarios: int
    seed: int
    unmatched_quotes: tuple[str, ...] = ()

    def std_reduction(self) -> float:
        """1 − std(hedged at R*) / std(unhedged) of the total margin [0–1]."""
        t = self.totals.set_index("leg")["std_usd"]
        return float(1.0 - t.iloc[2] / t.iloc[0]) if t.iloc[0] > 0 else 0.0

    def to_dict(self) -> dict:
        """JSON-ready: the headline, totals and monthly rows."""
        monthly = self.monthly.to_dict(orient="records")
        for r in monthly:
            r["month_start"] = r["month_start"].isoformat()
        return {"miner": self.miner, "ratio": self.ratio, "min_var_ratio": self.min_var_ratio,
                "std_reduction_at_min_var": self.std_reduction(), "n_scenarios": self.n_scenarios,
                "seed": self.seed, "start": self.start, "totals": self.totals.to_dict(orient="records"),
                "monthly": monthly, "unmatched_quotes": list(self.unmatched_quotes)}


def leg_moments(mom: HedgeMoments, notional: np.ndarray, forward: np.ndarray,
                ratios: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean and standard deviation of each leg's monthly and total margin from pass 1's moments.

    With ``a`` the margin and ``b = Q·h`` the floating leg, the leg at ratio ``R`` is
    ``a − R·b + R·Q·F``: mean ``ā + R(Q·F − b̄)``, standard deviation :meth:`CoMoments.std_of`.

    Returns
    -------
    (centers_month, scales_month, centers_total, scales_total)
        (ratios × months), (ratios × months), (ratios,), (ratios,) [USD].
    """
    qf = notional * forward
    mm, mt = mom.monthly, mom.total
    cm = np.array([mm.mean_a + r * (qf - mm.mean_b) for r in ratios])
    sm = np.array([mm.std_of(r) for r in ratios])
    ct = np.array([mt.mean_a[0] + r * (qf.sum() - mt.mean_b[0]) for r in ratios])
    st = np.array([mt.std_of(r)[0] for r in ratios])
    return cm, sm, ct, st


def finalize_hedge(spec: ScenarioSpec, mom: HedgeMoments, dist: HedgeDistributions, notional: np.ndarray,
                   forward: np.ndarray, source: list[str], ratio: float, seed: int,
                   unmatched: list[str]) -> HedgeResult:
    """Assemble a :class:`HedgeResult` from the two passes (``dist.ratios`` = (0, R, R*))."""
    n = mom.n
    months = spec.horizon_months
    qf = notional * forward  # fixed leg per month [USD]
    mm, mt = mom.monthly, mom.total
    r_star = dist.ratios[2]
    cm, sm, ct, st = leg_moments(mom, notional, forward, dist.ratios)
    rows: dict = {
        "month": month_labels(spec),
        "month_start": list(spec.month_starts[:months]),
        "notional_ph_days": notional,
        "forward_usd_per_ph_day": forward,
        "forward_source": source,
        "model_mean_usd_per_ph_day": mom.hashprice_sum / n,
    }
    keep = ("p05_usd", "median_usd", "p95_usd", "p_negative", "cvar05_usd")
    for prefix, i in (("unhedged_", 0), ("hedged_", 1)):
        rows[prefix + "mean_usd"] = cm[i]
        rows[prefix + "std_usd"] = sm[i]
        v = dist.values(i)
        for k in keep:
            rows[prefix + k] = v[k]
    rows["hedge_payoff_mean_usd"] = ratio * (qf - mm.mean_b)
    r_m = mm.min_var_ratio()
    rows["min_var_ratio"] = r_m
    rows["min_var_std_usd"] = np.array([mm.std_of(r)[j] for j, r in enumerate(r_m)])
    tot_rows = []
    for i, leg in enumerate(("unhedged", f"hedged at R = {ratio:g}", f"hedged at R* = {r_star:.3f}")):
        r = dist.ratios[i]
        v = dist.values(i, total=True)
        tot_rows.append({
            "leg": leg, "ratio": r, "mean_usd": float(ct[i]), "std_usd": float(st[i]),
            **{k: float(v[k][0]) for k in keep},
            "hedge_payoff_mean_usd": float(r * (qf.sum() - mt.mean_b[0])),
        })
    return HedgeResult(spec.miner.name, ratio, r_star, pd.DataFrame(rows), pd.DataFrame(tot_rows),
                       start_record(spec), n, seed, tuple(unmatched))


def hedge_analysis(
    spec: ScenarioSpec,
    ratio: float = 1.0,
    n_scenarios: int = DEFAULT_SCENARIOS,
    seed: int = 0,
    *,
    quotes: pd.DataFrame | None = None,
    executor: str = "local",
    workers: int = 1,
    scheduler: str | None = None,
    client=None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | None = None,
) -> HedgeResult:
    """A miner's monthly and total margin, unhedged and hedged, on the same scenarios.

    Parameters
    ----------
    spec : ScenarioSpec
        With the miner (:meth:`hashdesk.desk.Desk.scenario_spec` with a resolved profile).
    ratio : float
        Share of expected production sold forward ``R`` [–], >= 0.
    n_scenarios : int
    seed : int
    quotes : pandas.DataFrame, optional
        :func:`hashdesk.scenario.forward.read_quotes`; quoted months use the quote as ``F_m``,
        the others the model mean.
    executor, workers, scheduler, client, chunk_size
        As for :func:`hashdesk.scenario.executors.simulate`.
    progress : callable, optional
        ``progress(done, total)`` over both passes' chunks.

    Returns
    -------
    HedgeResult

    Raises
    ------
    ScenarioInputError
        No miner, or a ratio that is negative or not finite.
    """
    if not (math.isfinite(ratio) and ratio >= 0):
        raise ScenarioInputError(f"ratio: must be a finite number >= 0, got {ratio}")
    notional = notional_ph_days(spec)
    run = {"seed": seed, "executor": executor, "workers": workers, "scheduler": scheduler, "client": client,
           "chunk_size": chunk_size}
    n_chunks = -(-n_scenarios // chunk_size) if chunk_size > 0 else 0

    def tick(offset: int):
        if progress is None:
            return None
        return lambda done, total: progress(offset + done, 2 * total)

    mom = run_reduced(spec, n_scenarios, MomentsReducer(tuple(notional)), progress=tick(0), **run)
    model_mean = mom.hashprice_sum / mom.n
    labels = month_labels(spec)
    quoted, unmatched = match_quotes(labels, quotes)
    forward = np.where(np.isfinite(quoted), quoted, model_mean)
    source = ["quote" if np.isfinite(q) else "model mean" for q in quoted]
    r_star = float(mom.total.min_var_ratio()[0])
    ratios = (0.0, float(ratio), r_star if math.isfinite(r_star) else 0.0)
    cm, sm, ct, st = leg_moments(mom, notional, forward, ratios)
    reducer = DistributionReducer(tuple(notional), tuple(forward), ratios, cm, spread_floor(cm, sm), ct,
                                  spread_floor(ct, st))
    dist = run_reduced(spec, n_scenarios, reducer, progress=tick(n_chunks), **run)
    return finalize_hedge(spec, mom, dist, notional, forward, source, float(ratio), seed, unmatched)
