"""Cohorts: is a miner a pure bitcoin bet, a hybrid, or an HPC landlord? (one stated rule, as of a date)

One rule, two inputs:

* **From the company facts** (the default everywhere: comps, the brief, the dashboard, the
  scorecard): ``hpc_power_share`` = critical-IT MW of the HPC/AI contracts *announced on or before
  the date* ÷ (that MW + the mining fleet's power = deployed EH/s × J/TH [MW]); without fleet
  power, ÷ site MW (energized where stated, else gross; capped at 1). A contract counts from its
  announcement, never earlier (:data:`FACTS_COHORT_RULE`, :func:`facts_cohort_table`;
  :func:`hashdesk.hpc.comps.comps_table` classifies with the same functions).
* **From a user's company file** (TOML): ``hpc_power_share`` = gross MW of sites that host, or
  have signed to host, HPC tenants (``current_use == "hpc"`` or a signed/operating lease announced
  by the date) ÷ gross MW of all sites (:data:`COHORT_RULE`, :func:`classify_cohort`).

Labels (:func:`cohort_of`): ``pure-play`` without any HPC MW; ``hpc`` when the share is at least
:data:`HPC_COHORT_MIN_SHARE` (0.5: most of the power serves HPC); ``hybrid`` otherwise (also when
HPC MW exist but no power figure gives a share).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping

import pandas as pd

from hashdesk.hpc.sites import Company, Site, SiteUse, contracted_by

#: Share of power committed to HPC from which a company is in the ``hpc`` cohort.
HPC_COHORT_MIN_SHARE: float = 0.5
#: The cohort labels, in order of HPC exposure.
COHORTS: tuple[str, ...] = ("pure-play", "hybrid", "hpc")
#: The rule for company files, as text (shown next to every classification).
COHORT_RULE: str = (
    "hpc_power_share = gross MW of sites used for or signed to HPC (leases announced by the date) / "
    f"gross MW of all sites; pure-play if 0, hpc if >= {HPC_COHORT_MIN_SHARE:g}, else hybrid"
)
#: The rule for the company facts, as text.
FACTS_COHORT_RULE: str = (
    "pure-play: no HPC/AI contract announced by the date; hpc: HPC critical-IT MW / (HPC MW + "
    f"mining fleet MW) >= {HPC_COHORT_MIN_SHARE:g}; hybrid otherwise (contracts dated by announcement)"
)


def cohort_of(hpc_mw: float, share: float) -> str:
    """The cohort label of an HPC MW figure and its share of power.

    Examples
    --------
    >>> cohort_of(0.0, 0.0), cohort_of(200.0, 0.6), cohort_of(200.0, 0.2), cohort_of(200.0, math.nan)
    ('pure-play', 'hpc', 'hybrid', 'hybrid')
    """
    if not hpc_mw:
        return "pure-play"
    if not math.isnan(share) and share >= HPC_COHORT_MIN_SHARE:
        return "hpc"
    return "hybrid"


# ---------------------------------------------------------------------------------------------
# from the company facts


def announced_contracts(contracts: pd.DataFrame | None, ticker: str, at: dt.date) -> pd.DataFrame:
    """A ticker's HPC/AI contracts announced on or before ``at`` (rows of ``company_hpc_contracts``)."""
    if contracts is None or not len(contracts):
        return pd.DataFrame(columns=["ticker", "contract_id", "critical_it_mw", "announced"])
    return contracts[(contracts["ticker"] == ticker) & (contracts["announced"] <= at)]


def fleet_power_mw_from_facts(fleet: pd.DataFrame | None, ticker: str, deployed_ehs: float | None = None) -> float:
    """Mining fleet power [MW] = deployed EH/s × J/TH from the latest fleet facts (NaN if either is
    missing); ``deployed_ehs`` replaces the fleet fact's EH/s (e.g. a production report's)."""
    if fleet is None or not len(fleet):
        return math.nan
    f = fleet[fleet["ticker"] == ticker]
    eff = f[f["efficiency_j_per_th"].notna()].sort_values(["as_of", "public_date"])
    if eff.empty:
        return math.nan
    if deployed_ehs is None:
        d = f[f["deployed_ehs"].notna()].sort_values(["as_of", "public_date"])
        if d.empty:
            return math.nan
        deployed_ehs = float(d.iloc[-1]["deployed_ehs"])
    return float(deployed_ehs) * float(eff.iloc[-1]["efficiency_j_per_th"])


def site_power_mw_from_facts(sites: pd.DataFrame | None, ticker: str) -> float:
    """Site power [MW]: the latest fact per site, energized where stated, else gross (NaN if none)."""
    if sites is None or not len(sites):
        return math.nan
    ss = sites[sites["ticker"] == ticker].sort_values(["as_of", "public_date"]).drop_duplicates("site_id", keep="last")
    vals = ss["energized_mw"].where(ss["energized_mw"].notna(), ss["gross_mw"]).dropna()
    return float(vals.sum()) if len(vals) else math.nan


def facts_hpc_share(hpc_mw: float, fleet_mw: float, site_mw: float) -> float:
    """HPC share of power [0-1] (:data:`FACTS_COHORT_RULE`): 0 without HPC MW; HPC / (HPC + fleet)
    with a fleet figure; else HPC / site MW capped at 1; else NaN.

    Examples
    --------
    >>> facts_hpc_share(200.0, 600.0, math.nan), facts_hpc_share(200.0, math.nan, 100.0)
    (0.25, 1.0)
    """
    if not hpc_mw:
        return 0.0
    if not math.isnan(fleet_mw):
        return hpc_mw / (hpc_mw + fleet_mw)
    if not math.isnan(site_mw) and site_mw > 0:
        return min(hpc_mw / site_mw, 1.0)
    return math.nan


def facts_cohort_table(facts: Mapping[str, pd.DataFrame], at: dt.date,
                       deployed_ehs: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Cohort of every company in the facts as of ``at`` (:data:`FACTS_COHORT_RULE`).

    Parameters
    ----------
    facts : mapping of pandas.DataFrame
        :func:`hashdesk.data.companies.company_facts` as of ``at`` (rows public by then).
    at : datetime.date
        Contracts announced after it do not count.
    deployed_ehs : mapping, optional
        Ticker → EH/s for companies without a fleet fact (e.g. a monthly production report).

    Returns
    -------
    pandas.DataFrame
        ``ticker, hpc_contracted_mw, fleet_mw, site_mw, hpc_power_share, cohort, contracts, rule``.
    """
    comp = facts.get("companies", pd.DataFrame())
    rows = []
    for t in sorted(comp["ticker"]) if len(comp) else []:
        cc = announced_contracts(facts.get("company_hpc_contracts"), t, at)
        hpc_mw = float(cc["critical_it_mw"].fillna(0.0).sum()) if len(cc) else 0.0
        ehs = (deployed_ehs or {}).get(t)
        fleet_fact = facts.get("company_fleet")
        has_fleet = fleet_fact is not None and len(fleet_fact) and (
            (fleet_fact["ticker"] == t) & fleet_fact["deployed_ehs"].notna()).any()
        fleet_mw = fleet_power_mw_from_facts(fleet_fact, t, None if has_fleet else ehs)
        site_mw = site_power_mw_from_facts(facts.get("company_sites"), t)
        share = facts_hpc_share(hpc_mw, fleet_mw, site_mw)
        rows.append({"ticker": t, "hpc_contracted_mw": hpc_mw, "fleet_mw": fleet_mw, "site_mw": site_mw,
                     "hpc_power_share": share, "cohort": cohort_of(hpc_mw, share),
                     "contracts": [f"{r['contract_id']} (announced {r['announced']})" for _, r in cc.iterrows()],
                     "rule": FACTS_COHORT_RULE})
    return pd.DataFrame(rows, columns=["ticker", "hpc_contracted_mw", "fleet_mw", "site_mw", "hpc_power_share",
                                       "cohort", "contracts", "rule"])


def facts_cohorts(table: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    """Tickers per cohort from a table with ``ticker`` and ``cohort`` columns
    (:func:`facts_cohort_table` or :func:`hashdesk.hpc.comps.comps_table`; its median row left out)."""
    out: dict[str, list[str]] = {c: [] for c in COHORTS}
    for t, c in zip(table["ticker"], table["cohort"], strict=True):
        if t != "median" and c in out:
            out[c].append(t)
    return {k: tuple(v) for k, v in out.items()}


# ---------------------------------------------------------------------------------------------
# from company files


def is_hpc_site(site: Site, day: dt.date | None = None) -> bool:
    """True when a site hosts HPC today or has a signed/operating HPC lease (announced by ``day``)."""
    return site.current_use == SiteUse.hpc or contracted_by(site, day)


def hpc_power_share(company: Company, day: dt.date | None = None) -> float:
    """Gross MW committed to HPC (by ``day``) ÷ gross MW of all sites [0-1] (0 without sites)."""
    total = sum(s.gross_mw for s in company.sites)
    if total == 0:
        return 0.0
    return sum(s.gross_mw for s in company.sites if is_hpc_site(s, day)) / total


def classify_cohort(company: Company, day: dt.date | None = None) -> str:
    """Cohort of a company file: ``"pure-play"``, ``"hybrid"`` or ``"hpc"`` (rule: :data:`COHORT_RULE`).

    Examples
    --------
    A company whose only site has a signed HPC lease is ``"hpc"``; with no HPC site it is
    ``"pure-play"``; with ``day`` before the lease's announcement it is ``"pure-play"`` too.
    """
    hpc_mw = sum(s.gross_mw for s in company.sites if is_hpc_site(s, day))
    return cohort_of(hpc_mw, hpc_power_share(company, day))


def cohort_table(companies: Iterable[Company], day: dt.date | None = None) -> pd.DataFrame:
    """One row per company file: ticker, MW, HPC MW, share, cohort and the rule applied."""
    rows = []
    for c in companies:
        rows.append(
            {
                "company": c.name,
                "ticker": c.ticker,
                "gross_mw": sum(s.gross_mw for s in c.sites),
                "hpc_gross_mw": sum(s.gross_mw for s in c.sites if is_hpc_site(s, day)),
                "hpc_power_share": hpc_power_share(c, day),
                "cohort": classify_cohort(c, day),
                "rule": COHORT_RULE,
            }
        )
    return pd.DataFrame(rows)


def cohort_tickers(companies: Iterable[Company], day: dt.date | None = None) -> dict[str, tuple[str, ...]]:
    """Tickers per cohort (``{"pure-play": (...), "hybrid": (...), "hpc": (...)}``), for baskets.

    Companies without a ticker are left out; empty cohorts are kept as empty tuples.
    """
    out: dict[str, list[str]] = {c: [] for c in COHORTS}
    for c in companies:
        if c.ticker:
            out[classify_cohort(c, day)].append(c.ticker)
    return {k: tuple(v) for k, v in out.items()}
