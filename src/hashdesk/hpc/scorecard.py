"""Due-diligence scorecard: six criteria, each with its inputs, rule, score [0-100] and weight.

No black box: every row carries the input values it used, the linear rule that maps them to a
score, and the weight. The total is the weighted mean over the criteria that could be scored
(weights renormalised; unscored criteria say why).

Criteria (weights sum to 1):

==================  ======  ==========================================================
criterion           weight  input → score (linear, clipped to 0..100)
==================  ======  ==========================================================
fleet_efficiency    0.20    fleet J/TH: 30 → 0, 15 → 100
power_cost          0.20    MW-weighted site power price [USD/kWh]: 0.08 → 0, 0.03 → 100
power_flexibility   0.10    share of site MW with demand response or a curtailable contract
contract_expiry     0.15    MW-weighted years left on power contracts: 0 → 0, 10 → 100
hpc_readiness       0.20    MW-weighted site readiness (see :func:`site_hpc_readiness`)
balance_sheet       0.15    (net debt − BTC held) ÷ market cap: 0.5 → 0, ≤ 0 → 100
==================  ======  ==========================================================
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hashdesk.economics.profile import ContractType
from hashdesk.hpc.sites import CONTRACTED_HPC, Company, Cooling, InterconnectStatus, Site
from hashdesk.hpc.valuation import MarketInputs


@dataclass(frozen=True)
class Criterion:
    """A scored criterion: weight and the linear rule ``worst → 0``, ``best → 100``."""

    name: str
    weight: float
    unit: str
    worst: float
    best: float

    def score(self, value: float) -> float:
        """Linear score [0-100] of ``value`` between ``worst`` and ``best``, clipped."""
        return float(100.0 * np.clip((value - self.worst) / (self.best - self.worst), 0.0, 1.0))

    @property
    def rule(self) -> str:
        """The rule as text."""
        return f"linear: {self.worst:g} {self.unit} → 0, {self.best:g} {self.unit} → 100"


CRITERIA: tuple[Criterion, ...] = (
    Criterion("fleet_efficiency", 0.20, "J/TH", 30.0, 15.0),
    Criterion("power_cost", 0.20, "USD/kWh", 0.08, 0.03),
    Criterion("power_flexibility", 0.10, "share of MW", 0.0, 1.0),
    Criterion("contract_expiry", 0.15, "years", 0.0, 10.0),
    Criterion("hpc_readiness", 0.20, "readiness 0-1", 0.0, 1.0),
    Criterion("balance_sheet", 0.15, "× market cap", 0.5, 0.0),
)

#: Readiness parts and their weights (sum to 1).
READINESS_WEIGHTS: dict[str, float] = {"interconnect": 0.40, "tenant": 0.30, "cooling": 0.15, "pue": 0.15}
#: Interconnect status → readiness.
INTERCONNECT_READINESS: dict[InterconnectStatus, float] = {
    InterconnectStatus.energized: 1.0,
    InterconnectStatus.approved: 0.5,
    InterconnectStatus.queued: 0.2,
}
#: Cooling → readiness (liquid loops are closer to what GPU halls need than air halls).
COOLING_READINESS: dict[Cooling, float] = {Cooling.hydro: 1.0, Cooling.immersion: 0.7, Cooling.air: 0.3}
#: PUE → readiness: 1.6 → 0, 1.2 → 1 (linear, clipped).
PUE_READINESS_WORST_BEST: tuple[float, float] = (1.6, 1.2)


def site_hpc_readiness(site: Site) -> dict[str, float]:
    """HPC readiness of a site [0-1] and its parts.

    ``readiness = 0.40·interconnect + 0.30·tenant + 0.15·cooling + 0.15·pue`` with
    interconnect energized 1 / approved 0.5 / queued 0.2; tenant 1 when an HPC lease is signed
    or operating, else 0; cooling hydro 1 / immersion 0.7 / air 0.3; PUE 1.6 → 0, 1.2 → 1.
    """
    worst, best = PUE_READINESS_WORST_BEST
    parts = {
        "interconnect": INTERCONNECT_READINESS[site.interconnect.status],
        "tenant": 1.0 if site.hpc.status in CONTRACTED_HPC else 0.0,
        "cooling": COOLING_READINESS[site.cooling],
        "pue": float(np.clip((site.pue - worst) / (best - worst), 0.0, 1.0)),
    }
    parts["readiness"] = sum(READINESS_WEIGHTS[k] * v for k, v in parts.items())
    return parts


def _mw_weighted(sites: Sequence[Site], values: Sequence[float]) -> float:
    w = np.array([s.gross_mw for s in sites], dtype=float)
    return float(np.dot(w, np.asarray(values, dtype=float)) / w.sum())


def score_company(company: Company, market: MarketInputs | None, as_of: dt.date) -> pd.DataFrame:
    """Scorecard rows for one company.

    Parameters
    ----------
    company : Company
        Validated company record.
    market : MarketInputs or None
        Share price, BTC price and BTC held (needed for the balance-sheet criterion).
    as_of : datetime.date
        Date for years-to-expiry.

    Returns
    -------
    pandas.DataFrame
        Columns ``company, criterion, inputs, value, unit, rule, score_0_100, weight,
        weighted_score``; a last row ``total`` holds the weighted mean (weights renormalised
        over the scored rows).
    """
    crit = {c.name: c for c in CRITERIA}
    sites = company.sites
    rows: list[dict] = []

    def add(name: str, value: float | None, inputs: str) -> None:
        c = crit[name]
        score = None if value is None else c.score(value)
        rows.append(
            {
                "company": company.name,
                "criterion": name,
                "inputs": inputs,
                "value": value,
                "unit": c.unit,
                "rule": c.rule,
                "score_0_100": score,
                "weight": c.weight,
                "weighted_score": None if score is None else score * c.weight,
            }
        )

    f = company.fleet
    add("fleet_efficiency", f.efficiency_j_per_th, f"fleet.efficiency_j_per_th={f.efficiency_j_per_th:g}")
    if sites:
        prices = [s.power.price_usd_per_kwh for s in sites]
        add("power_cost", _mw_weighted(sites, prices),
            "; ".join(f"{s.name}: {s.gross_mw:g} MW at {s.power.price_usd_per_kwh:g}" for s in sites))
        flex = [float(s.power.demand_response or s.power.contract == ContractType.curtailable) for s in sites]
        add("power_flexibility", _mw_weighted(sites, flex),
            "; ".join(f"{s.name}: demand_response={s.power.demand_response}, contract={s.power.contract.value}"
                      for s in sites))
        years = [
            max((s.power.expiry_date - as_of).days / 365.25, 0.0) if s.power.expiry_date else 0.0
            for s in sites
        ]
        add("contract_expiry", _mw_weighted(sites, years),
            "; ".join(f"{s.name}: expiry {s.power.expiry_date or 'unknown (0 years)'}" for s in sites))
        ready = [site_hpc_readiness(s) for s in sites]
        add("hpc_readiness", _mw_weighted(sites, [r["readiness"] for r in ready]),
            "; ".join(
                f"{s.name}: " + ", ".join(f"{k}={v:.2f}" for k, v in r.items())
                for s, r in zip(sites, ready, strict=True)
            ))
    else:
        price = f.power_usd_per_kwh
        add("power_cost", price, f"fleet.power_usd_per_kwh={price}" if price else "no sites, no fleet price")
        for name in ("power_flexibility", "contract_expiry", "hpc_readiness"):
            add(name, None, "no site records")
    if market is not None:
        mcap = market.share_price_usd * company.shares_outstanding
        btc_usd = market.btc_held * market.btc_price_usd
        add("balance_sheet", (company.net_debt_usd - btc_usd) / mcap,
            f"net_debt_usd={company.net_debt_usd:,.0f}, btc_held_usd={btc_usd:,.0f}, market_cap_usd={mcap:,.0f}")
    else:
        add("balance_sheet", None, "no market data")
    df = pd.DataFrame(rows)
    scored = df[df.score_0_100.notna()]
    weight = scored.weight.sum()
    total = float(scored.weighted_score.sum() / weight) if weight > 0 else None
    total_row = {
        "company": company.name, "criterion": "total", "inputs": "weighted mean over scored criteria",
        "value": total, "unit": "score", "rule": f"Σ weight·score / Σ weight (Σ weight = {weight:g})",
        "score_0_100": total, "weight": weight, "weighted_score": total,
    }
    return pd.concat([df, pd.DataFrame([total_row])], ignore_index=True)


def scorecard_summary(cards: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Wide table: one row per company, one column per criterion score plus the total."""
    long = pd.concat(list(cards), ignore_index=True)
    wide = long.pivot(index="company", columns="criterion", values="score_0_100")
    order = [c.name for c in CRITERIA] + ["total"]
    return wide[order].astype(float).round(1).sort_values("total", ascending=False).reset_index()
