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
from hashdesk.hpc.sites import (
    CONTRACTED_HPC,
    Company,
    Cooling,
    InterconnectStatus,
    Site,
    fact_input,
    latest_fact,
)
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


# ---------------------------------------------------------------------------------------------
# from the company facts (every input with its date and source; a missing fact stays missing)

#: The criteria scored from the company facts: the same names, weights and rules as
#: :data:`CRITERIA`, except ``hpc_readiness``, which the facts cannot describe (no interconnect,
#: cooling or PUE columns) and which reads the HPC share of power instead (the cohort measure,
#: :data:`hashdesk.hpc.cohorts.FACTS_COHORT_RULE`).
FACT_CRITERIA: tuple[Criterion, ...] = tuple(
    Criterion("hpc_readiness", 0.20, "HPC share of power", 0.0, 1.0) if c.name == "hpc_readiness" else c
    for c in CRITERIA
)

#: Columns of :func:`score_facts` rows.
FACT_SCORE_COLUMNS: tuple[str, ...] = (
    "ticker", "company", "criterion", "value", "unit", "rule", "score_0_100", "weight", "weighted_score",
    "scored", "reason", "inputs",
)


@dataclass(frozen=True)
class FactsMarket:
    """Prices the balance-sheet criterion needs, with their dates and sources."""

    share_price_usd: float
    price_date: dt.date
    price_source: str
    btc_price_usd: float
    btc_price_date: dt.date
    btc_price_source: str


def _fin(rec: dict, at: dt.date) -> dict:
    """A provenance record with its age at ``at`` [days]."""
    as_of = rec.get("as_of")
    age = (at - dt.date.fromisoformat(str(as_of)[:10])).days if as_of else None
    return {**rec, "age_days": age}


def score_facts(ticker: str, facts: dict, at: dt.date, market: FactsMarket | None = None,
                cohort: dict | None = None) -> pd.DataFrame:
    """Scorecard rows for one company from the facts known at ``at``.

    Each criterion row lists every input it used (``inputs``: value, unit, ``as_of``,
    ``public_date``, ``source_url``, age in days). A criterion whose inputs are not all stated
    is **unscored** (``scored`` False, ``score_0_100`` None) and ``reason`` says which fact is
    missing; no default number stands in for a missing fact.

    =================  ===================================================================
    criterion          from the facts
    =================  ===================================================================
    fleet_efficiency   latest ``efficiency_j_per_th`` fleet fact
    power_cost         MW-weighted ``power_price_usd_per_kwh`` over the sites stating a price
                       and MW (latest fact per site; energized MW where stated, else gross)
    power_flexibility  share of site MW with a stated ``curtailment_programme``, scored only
                       when every site states one (blank means "none known", not "none")
    contract_expiry    unscored: the facts carry no power-contract expiry
    hpc_readiness      HPC share of power (``cohort``: :func:`hashdesk.hpc.cohorts.facts_cohort_table`);
                       0 when no contract is announced by ``at``
    balance_sheet      (debt − cash − BTC held × BTC price) ÷ (shares × share price): needs all
                       four capital facts and both prices
    =================  ===================================================================

    Parameters
    ----------
    ticker : str
    facts : dict of pandas.DataFrame
        :func:`hashdesk.data.companies.company_facts` as of ``at``.
    at : datetime.date
    market : FactsMarket, optional
        Prices for the balance sheet (without: unscored).
    cohort : dict, optional
        The ticker's row of :func:`hashdesk.hpc.cohorts.facts_cohort_table`.

    Returns
    -------
    pandas.DataFrame
        :data:`FACT_SCORE_COLUMNS`; a last row ``total`` holds the weighted mean over the scored
        criteria (weights renormalised; None when nothing is scored).
    """

    crit = {c.name: c for c in FACT_CRITERIA}
    comp = facts.get("companies", pd.DataFrame())
    name = str(comp.loc[comp["ticker"] == ticker, "name"].iloc[0]) if len(comp) and (comp["ticker"] == ticker).any() \
        else ticker
    rows: list[dict] = []

    def add(cname: str, value: float | None, inputs: list[dict], reason: str) -> None:
        c = crit[cname]
        score = None if value is None else c.score(value)
        rows.append({"ticker": ticker, "company": name, "criterion": cname, "value": value, "unit": c.unit,
                     "rule": c.rule, "score_0_100": score, "weight": c.weight,
                     "weighted_score": None if score is None else score * c.weight,
                     "scored": score is not None, "reason": reason, "inputs": [_fin(r, at) for r in inputs]})

    # fleet efficiency
    fleet = facts.get("company_fleet")
    er = latest_fact(fleet, ticker, "efficiency_j_per_th")
    if er is None:
        add("fleet_efficiency", None, [], f"no efficiency_j_per_th fleet fact public by {at}")
    else:
        v = float(er["efficiency_j_per_th"])
        add("fleet_efficiency", v, [fact_input("efficiency_j_per_th", v, "J/TH", er, "company_fleet")], "as stated")

    # sites: the latest fact per site
    sites = facts.get("company_sites")
    ss = (sites[sites["ticker"] == ticker].sort_values(["as_of", "public_date"]).drop_duplicates("site_id", keep="last")
          if sites is not None and len(sites) else pd.DataFrame())
    site_mw = {r["site_id"]: (r["energized_mw"] if pd.notna(r["energized_mw"]) else r["gross_mw"])
               for _, r in ss.iterrows()}
    if ss.empty:
        add("power_cost", None, [], f"no site fact public by {at}")
        add("power_flexibility", None, [], f"no site fact public by {at}")
    else:
        priced = [(r, float(site_mw[r["site_id"]])) for _, r in ss.iterrows()
                  if pd.notna(r["power_price_usd_per_kwh"]) and pd.notna(site_mw[r["site_id"]])]
        if not priced:
            add("power_cost", None, [], f"no site fact public by {at} states a power price "
                                        f"({', '.join(ss['site_id'])}: blank)")
        else:
            w = np.array([mw for _, mw in priced])
            p = np.array([float(r["power_price_usd_per_kwh"]) for r, _ in priced])
            inputs = []
            for r, mw in priced:
                inputs.append(fact_input(f"{r['site_id']}.power_price_usd_per_kwh", float(r["power_price_usd_per_kwh"]),
                                         "USD/kWh", r, "company_sites"))
                inputs.append(fact_input(f"{r['site_id']}.mw", mw, "MW", r, "company_sites"))
            add("power_cost", float(np.dot(w, p) / w.sum()), inputs,
                f"MW-weighted over {len(priced)} of {len(ss)} sites (the others state no price)")
        with_mw = [(r, float(site_mw[r["site_id"]])) for _, r in ss.iterrows() if pd.notna(site_mw[r["site_id"]])]
        stated = [(r, mw) for r, mw in with_mw if isinstance(r["curtailment_programme"], str)
                  and r["curtailment_programme"].strip()]
        inputs = []
        for r, mw in stated:
            inputs.append(fact_input(f"{r['site_id']}.curtailment_programme", r["curtailment_programme"], "", r,
                                     "company_sites"))
            inputs.append(fact_input(f"{r['site_id']}.mw", mw, "MW", r, "company_sites"))
        if not with_mw:
            add("power_flexibility", None, [], "no site fact states MW")
        elif len(stated) < len(with_mw):
            missing = [str(r["site_id"]) for r, _ in with_mw if all(r is not x for x, _ in stated)]
            add("power_flexibility", None, inputs,
                f"no curtailment programme stated for {', '.join(missing)} (blank means none known, not none)")
        else:
            add("power_flexibility", 1.0, inputs, "every site states a curtailment programme")

    add("contract_expiry", None, [], "the facts carry no power-contract expiry date")

    # HPC share of power (the cohort measure)
    if cohort is None:
        add("hpc_readiness", None, [], "no cohort row")
    else:
        cc = facts.get("company_hpc_contracts")
        cc = cc[(cc["ticker"] == ticker) & (cc["announced"] <= at)] if cc is not None and len(cc) else pd.DataFrame()
        inputs = [fact_input(f"{r['contract_id']}.critical_it_mw", r["critical_it_mw"], "MW", r,
                             "company_hpc_contracts") for _, r in cc.iterrows()]
        share = cohort["hpc_power_share"]
        if cohort["hpc_contracted_mw"] == 0:
            add("hpc_readiness", 0.0, inputs, f"no HPC/AI contract with stated MW announced by {at} "
                                              f"(cohort {cohort['cohort']})")
        elif share is None or np.isnan(share):
            add("hpc_readiness", None, inputs, "HPC MW stated but neither fleet power (EH/s x J/TH) nor site MW")
        else:
            for col in ("deployed_ehs", "efficiency_j_per_th"):
                r = latest_fact(fleet, ticker, col)
                if r is not None and not np.isnan(cohort["fleet_mw"]):
                    inputs.append(fact_input(col, float(r[col]), "EH/s" if col == "deployed_ehs" else "J/TH", r,
                                             "company_fleet"))
            add("hpc_readiness", float(share), inputs,
                f"{cohort['hpc_contracted_mw']:g} MW of HPC contracts; cohort {cohort['cohort']}")

    # balance sheet
    cap = facts.get("company_capital")
    need = {c: latest_fact(cap, ticker, c) for c in ("shares_outstanding", "debt_usd", "cash_usd", "btc_held")}
    missing = [c for c, r in need.items() if r is None]
    inputs = [fact_input(c, float(r[c]), {"shares_outstanding": "shares", "btc_held": "BTC"}.get(c, "USD"), r,
                         "company_capital") for c, r in need.items() if r is not None]
    if market is not None:
        inputs.append({"input": "share_price", "value": market.share_price_usd, "unit": "USD", "kind": "price",
                       "table": "prices_daily", "as_of": market.price_date.isoformat(),
                       "public_date": market.price_date.isoformat(), "source_url": market.price_source})
        inputs.append({"input": "btc_price", "value": market.btc_price_usd, "unit": "USD/BTC", "kind": "price",
                       "table": "prices_daily", "as_of": market.btc_price_date.isoformat(),
                       "public_date": market.btc_price_date.isoformat(), "source_url": market.btc_price_source})
    if missing or market is None:
        why = [f"no {c} fact public by {at}" for c in missing] + ([] if market else [f"no close on or before {at}"])
        add("balance_sheet", None, inputs, "; ".join(why))
    else:
        mcap = float(need["shares_outstanding"]["shares_outstanding"]) * market.share_price_usd
        net = (float(need["debt_usd"]["debt_usd"]) - float(need["cash_usd"]["cash_usd"])
               - float(need["btc_held"]["btc_held"]) * market.btc_price_usd)
        add("balance_sheet", net / mcap, inputs, f"market cap {mcap:,.0f} USD")

    df = pd.DataFrame(rows, columns=list(FACT_SCORE_COLUMNS))
    scored = df[df["scored"]]
    weight = float(scored["weight"].sum())
    total = float(scored["weighted_score"].sum() / weight) if weight > 0 else None
    unscored = list(df.loc[~df["scored"], "criterion"])
    total_row = {"ticker": ticker, "company": name, "criterion": "total", "value": total, "unit": "score",
                 "rule": f"Σ weight·score / Σ weight over scored criteria (Σ weight = {weight:g})",
                 "score_0_100": total, "weight": weight, "weighted_score": total, "scored": total is not None,
                 "reason": f"unscored: {', '.join(unscored)}" if unscored else "all criteria scored", "inputs": []}
    return pd.concat([df, pd.DataFrame([total_row])], ignore_index=True)


def facts_scorecard_summary(detail: pd.DataFrame) -> pd.DataFrame:
    """Wide table of :meth:`hashdesk.desk.Desk.scorecard` rows: one row per company with its
    cohort, each criterion's score (None = unscored), the total, the weight behind it
    (``scored_weight``, of 1) and the number of unscored criteria, best total first."""
    rows = []
    for tk, g in detail.groupby("ticker", sort=False):
        sc = dict(zip(g["criterion"], g["score_0_100"], strict=True))
        crit = g[g["criterion"] != "total"]
        rows.append({"ticker": tk, "company": g["company"].iloc[0],
                     "cohort": g["cohort"].iloc[0] if "cohort" in g else None,
                     **{c.name: sc.get(c.name) for c in FACT_CRITERIA}, "total": sc.get("total"),
                     "scored_weight": float(crit.loc[crit["scored"].astype(bool), "weight"].sum()),
                     "unscored": int((~crit["scored"].astype(bool)).sum())})
    out = pd.DataFrame(rows)
    return out.sort_values("total", ascending=False, na_position="last", ignore_index=True) if len(out) else out
