"""Public-miner comparables from dated facts: EV per EH/s, EV per MW, price-to-hash, BTC per share.

Pure: the desk (:meth:`hashdesk.desk.Desk.comps`) passes the company facts known at the date
(:func:`hashdesk.data.companies.company_facts`: every row public on or before it), the latest
closes, the BTC price and the latest reported production; nothing here reads the store.

Definitions (each figure keeps the dated facts it came from)
-------------------------------------------------------------
* **Market cap** [USD] = shares outstanding (latest fact) × close (latest on or before the date).
* **EV** [USD] = market cap + debt − cash, each the latest fact that states it; a missing debt or
  cash figure counts as 0 and ``ev_basis`` says so (a blank cell means "not stated", not zero).
* **EV per EH/s** = EV / deployed EH/s (latest fleet fact); **EV per MW** = EV / site MW (energized
  where stated, else gross; latest fact per site).
* **Price-to-hash** = EV / realized EH/s, where realized EH/s = BTC mined in the latest reported
  month / the BTC one EH/s was expected to mine that month (exact work of the month's epochs,
  :mod:`hashdesk.economics.production`).
* **Realized BTC per EH/s per day** = BTC mined / deployed EH/s / days of the month.
* **BTC per share** = BTC held / shares; **hashrate growth** = deployed EH/s vs the latest fact
  at least 180 days older.
* **HPC share of power** = critical-IT MW of HPC contracts announced on or before the date ÷
  (that MW + the mining fleet's power = deployed EH/s × J/TH [MW]); 0 without a contract.

Cohort (point in time): ``pure-play`` without an HPC contract announced by the date, ``hpc``
when the HPC share of power is at least 0.5, ``hybrid`` otherwise (:data:`COMPS_COHORT_RULE`);
the share, the power figures and the label come from :mod:`hashdesk.hpc.cohorts`, the one owner
of the rule.

References
----------
.. [1] Hashrate Index / TheMinerMag public-miner comparables (EV/EH, price-to-hash).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hashdesk.hpc.cohorts import (
    FACTS_COHORT_RULE,
    HPC_COHORT_MIN_SHARE,
    announced_contracts,
    cohort_of,
    facts_cohorts,
    facts_hpc_share,
    fleet_power_mw_from_facts,
    site_power_mw_from_facts,
)

#: Fleet facts this much older (or more) give the hashrate growth [days].
GROWTH_MIN_DAYS: int = 180
#: HPC share of power from which a company is in the ``hpc`` cohort (:mod:`hashdesk.hpc.cohorts`).
HPC_SHARE_COHORT: float = HPC_COHORT_MIN_SHARE
#: The cohort rule, shown beside every classification (:data:`hashdesk.hpc.cohorts.FACTS_COHORT_RULE`).
COMPS_COHORT_RULE: str = FACTS_COHORT_RULE
#: JSON fields the issue names, always present.
REQUIRED_FIELDS = ("ticker", "ev_usd", "ev_per_ehs_usd", "ev_per_mw_usd", "btc_held", "hpc_power_share", "as_of")


@dataclass(frozen=True)
class ReportedHashrate:
    """A capacity hashrate from a monthly production report (known at the month's end)."""

    month: str
    hashrate_ehs: float
    kind: str
    source_url: str


@dataclass(frozen=True)
class ProductionMonth:
    """A company's latest reported month: BTC mined and the BTC 1 EH/s was expected to mine."""

    month: str
    btc_mined: float
    expected_btc_per_ehs: float
    days: float


def _by_ticker(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """A fact table split by ticker, each part sorted by as_of, then public_date (stable)."""
    if df.empty:
        return {}
    d = df.sort_values(["as_of", "public_date"], kind="stable")
    return {str(t): g for t, g in d.groupby("ticker", sort=False)}


def _latest(parts: dict[str, pd.DataFrame], ticker: str, col: str) -> pd.Series | None:
    """The latest row (by as_of, then public_date) of a ticker with a value in ``col``."""
    d = parts.get(ticker)
    if d is None or col not in d:
        return None
    d = d[d[col].notna()]
    return None if d.empty else d.iloc[-1]


def _fact(figure: str, row: pd.Series | None, table: str) -> dict | None:
    if row is None:
        return None
    return {"figure": figure, "table": table, "as_of": str(row.get("as_of", "")),
            "public_date": str(row["public_date"]), "source_url": row["source_url"]}


def comps_table(
    facts: dict[str, pd.DataFrame],
    closes: pd.DataFrame,
    btc_price_usd: float | None,
    production: dict[str, ProductionMonth],
    at: dt.date,
    reported_hashrate: dict[str, ReportedHashrate] | None = None,
) -> pd.DataFrame:
    """One row per company with the comparables of the module notes, and a median row.

    Parameters
    ----------
    facts : dict of pandas.DataFrame
        :func:`hashdesk.data.companies.company_facts` as of ``at``.
    closes : pandas.DataFrame
        ``ticker``, ``date``, ``close`` [USD]: the latest close on or before ``at``.
    btc_price_usd : float, optional
        BTC price at ``at`` [USD/BTC] (values the holdings).
    production : dict
        Ticker → :class:`ProductionMonth` (latest reported month ended by ``at``).
    at : datetime.date
        The date of the comparison.
    reported_hashrate : dict, optional
        Ticker → :class:`ReportedHashrate`: the deployed EH/s of a company without a fleet fact,
        from its latest monthly production report (deployed / energized / operational /
        installed kinds), named as such in ``facts``.

    Returns
    -------
    pandas.DataFrame
        Columns: ticker, name, cohort, as_of, price_date, share_price_usd, shares_outstanding,
        market_cap_usd, cash_usd, debt_usd, ev_usd, ev_basis, deployed_ehs, ev_per_ehs_usd,
        site_mw, ev_per_mw_usd, realized_ehs, price_to_hash_usd_per_ehs,
        realized_btc_per_ehs_day, production_month, btc_held, btc_held_usd, btc_per_share,
        hashrate_growth_pct, hashrate_growth_days, hpc_contracted_mw, hpc_power_share, facts
        (list of the dated facts used). The last row (ticker ``median``) holds each numeric
        column's median over the companies that have it.
    """
    comp = facts.get("companies", pd.DataFrame())
    cap, fleet = facts.get("company_capital", pd.DataFrame()), facts.get("company_fleet", pd.DataFrame())
    sites, contracts = facts.get("company_sites", pd.DataFrame()), facts.get("company_hpc_contracts", pd.DataFrame())
    px = closes.set_index("ticker") if len(closes) else pd.DataFrame(columns=["date", "close"])
    rows = []
    cap_t, fleet_t = _by_ticker(cap), _by_ticker(fleet)
    for _, c in comp.sort_values("ticker").iterrows() if len(comp) else []:
        t = c["ticker"]
        used: list[dict] = []
        shares_r, cash_r, debt_r = (_latest(cap_t, t, "shares_outstanding"), _latest(cap_t, t, "cash_usd"),
                                    _latest(cap_t, t, "debt_usd"))
        held_r, fleet_r = _latest(cap_t, t, "btc_held"), _latest(fleet_t, t, "deployed_ehs")
        eff_r = _latest(fleet_t, t, "efficiency_j_per_th")
        for name, r, tbl in (("shares_outstanding", shares_r, "capital"), ("cash_usd", cash_r, "capital"),
                             ("debt_usd", debt_r, "capital"), ("btc_held", held_r, "capital"),
                             ("deployed_ehs", fleet_r, "fleet"), ("efficiency_j_per_th", eff_r, "fleet")):
            f = _fact(name, r, tbl)
            if f:
                used.append(f)
        price = float(px.loc[t, "close"]) if t in px.index else math.nan
        shares = float(shares_r["shares_outstanding"]) if shares_r is not None else math.nan
        mcap = price * shares
        cash = float(cash_r["cash_usd"]) if cash_r is not None else math.nan
        debt = float(debt_r["debt_usd"]) if debt_r is not None else math.nan
        basis = []
        if math.isnan(debt):
            basis.append("debt not stated (0 used)")
        if math.isnan(cash):
            basis.append("cash not stated (0 used)")
        ev = mcap + (0.0 if math.isnan(debt) else debt) - (0.0 if math.isnan(cash) else cash)
        ehs = float(fleet_r["deployed_ehs"]) if fleet_r is not None else math.nan
        rep = (reported_hashrate or {}).get(t)
        if fleet_r is None and rep is not None:
            ehs = rep.hashrate_ehs
            used.append({"figure": f"deployed_ehs ({rep.kind}, monthly production report {rep.month})",
                         "table": "miner_production", "as_of": rep.month, "public_date": f"after {rep.month}",
                         "source_url": rep.source_url})
        # site power: the latest fact per site, energized where stated, else gross
        mw = site_power_mw_from_facts(sites, t)
        if not math.isnan(mw):
            ss = sites[sites["ticker"] == t].sort_values(["as_of", "public_date"]).drop_duplicates("site_id", keep="last")
            used += [f for _, r in ss.iterrows() if (f := _fact(f"site {r['site_id']} MW", r, "sites"))]
        cc = announced_contracts(contracts, t, at)
        hpc_mw = float(cc["critical_it_mw"].fillna(0.0).sum()) if len(cc) else 0.0
        for _, r in cc.iterrows():
            used.append({"figure": f"HPC contract {r['contract_id']} ({r['tenant']})", "table": "hpc_contracts",
                         "as_of": str(r["announced"]), "public_date": str(r["public_date"]),
                         "source_url": r["source_url"]})
        fleet_mw = (fleet_power_mw_from_facts(fleet, t, None if fleet_r is not None else ehs)
                    if not math.isnan(ehs) else math.nan)
        share = facts_hpc_share(hpc_mw, fleet_mw, mw)
        cohort = cohort_of(hpc_mw, share)
        prod = production.get(t)
        realized = (prod.btc_mined / prod.expected_btc_per_ehs
                    if prod and prod.expected_btc_per_ehs > 0 else math.nan)
        held = float(held_r["btc_held"]) if held_r is not None else math.nan
        growth, growth_days = math.nan, math.nan
        if fleet_r is not None:
            f_t = fleet[(fleet["ticker"] == t) & fleet["deployed_ehs"].notna()]
            older = f_t[f_t["as_of"] <= fleet_r["as_of"] - dt.timedelta(days=GROWTH_MIN_DAYS)]
            if len(older):
                o = older.sort_values(["as_of", "public_date"]).iloc[-1]
                growth = 100.0 * (ehs / float(o["deployed_ehs"]) - 1.0)
                growth_days = (fleet_r["as_of"] - o["as_of"]).days
                used.append(_fact("deployed_ehs (growth base)", o, "fleet"))
        rows.append({
            "ticker": t, "name": c["name"], "cohort": cohort, "as_of": at.isoformat(),
            "price_date": str(px.loc[t, "date"]) if t in px.index else None,
            "share_price_usd": price, "shares_outstanding": shares, "market_cap_usd": mcap,
            "cash_usd": cash, "debt_usd": debt, "ev_usd": ev, "ev_basis": "; ".join(basis) or "as stated",
            "deployed_ehs": ehs, "ev_per_ehs_usd": ev / ehs if ehs > 0 else math.nan,
            "site_mw": mw, "ev_per_mw_usd": ev / mw if mw > 0 else math.nan,
            "realized_ehs": realized,
            "price_to_hash_usd_per_ehs": ev / realized if realized > 0 else math.nan,
            "realized_btc_per_ehs_day": (prod.btc_mined / ehs / prod.days if prod and ehs > 0 else math.nan),
            "production_month": prod.month if prod else None,
            "btc_held": held, "btc_held_usd": held * btc_price_usd if btc_price_usd else math.nan,
            "btc_per_share": held / shares if shares > 0 else math.nan,
            "hashrate_growth_pct": growth, "hashrate_growth_days": growth_days,
            "hpc_contracted_mw": hpc_mw, "hpc_power_share": share,
            "facts": used,
        })
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(columns=list(REQUIRED_FIELDS))
    numeric = [c for c in out.columns if c not in ("ticker", "name", "cohort", "as_of", "price_date", "ev_basis",
                                                   "production_month", "facts")]
    med = {c: float(np.nanmedian(pd.to_numeric(out[c], errors="coerce"))) if out[c].notna().any() else math.nan
           for c in numeric}
    med.update({"ticker": "median", "name": "median of the companies", "cohort": "", "as_of": at.isoformat(),
                "facts": []})
    return pd.concat([out, pd.DataFrame([med])], ignore_index=True)


__all__ = ["COMPS_COHORT_RULE", "REQUIRED_FIELDS", "ProductionMonth", "ReportedHashrate", "comps_table",
           "facts_cohorts"]
