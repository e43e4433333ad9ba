"""Cohorts: is a miner a pure bitcoin bet, a hybrid, or an HPC landlord? (a stated rule)

Rule (from the company's own records, no market data):

``hpc_power_share`` = gross MW of sites that host, or have signed to host, HPC tenants
(``current_use == "hpc"`` or ``hpc.status`` in {signed, operating}) ÷ gross MW of all sites.

- ``pure-play``: ``hpc_power_share == 0`` (no HPC site and no signed HPC lease);
- ``hpc``: ``hpc_power_share >= HPC_COHORT_MIN_SHARE`` (0.5: most of the power serves HPC);
- ``hybrid``: anything in between.

A company without site records is ``pure-play`` (nothing recorded commits power to HPC).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from hashdesk.hpc.sites import CONTRACTED_HPC, Company, Site, SiteUse

#: Share of gross MW committed to HPC from which a company is in the ``hpc`` cohort.
HPC_COHORT_MIN_SHARE: float = 0.5
#: The cohort labels, in order of HPC exposure.
COHORTS: tuple[str, ...] = ("pure-play", "hybrid", "hpc")
#: The rule as text (shown next to every classification).
COHORT_RULE: str = (
    "hpc_power_share = gross MW of sites used for or signed to HPC / gross MW of all sites; "
    f"pure-play if 0, hpc if >= {HPC_COHORT_MIN_SHARE:g}, else hybrid"
)


def is_hpc_site(site: Site) -> bool:
    """True when a site hosts HPC today or has a signed/operating HPC lease."""
    return site.current_use == SiteUse.hpc or site.hpc.status in CONTRACTED_HPC


def hpc_power_share(company: Company) -> float:
    """Gross MW committed to HPC ÷ gross MW of all sites [0-1] (0 without sites)."""
    total = sum(s.gross_mw for s in company.sites)
    if total == 0:
        return 0.0
    return sum(s.gross_mw for s in company.sites if is_hpc_site(s)) / total


def classify_cohort(company: Company) -> str:
    """Cohort of a company: ``"pure-play"``, ``"hybrid"`` or ``"hpc"`` (rule: :data:`COHORT_RULE`).

    Examples
    --------
    A company whose only site has a signed HPC lease is ``"hpc"``; with no HPC site it is
    ``"pure-play"``.
    """
    share = hpc_power_share(company)
    if share == 0:
        return "pure-play"
    if share >= HPC_COHORT_MIN_SHARE:
        return "hpc"
    return "hybrid"


def cohort_table(companies: Iterable[Company]) -> pd.DataFrame:
    """One row per company: ticker, MW, HPC MW, share, cohort and the rule applied."""
    rows = []
    for c in companies:
        rows.append(
            {
                "company": c.name,
                "ticker": c.ticker,
                "gross_mw": sum(s.gross_mw for s in c.sites),
                "hpc_gross_mw": sum(s.gross_mw for s in c.sites if is_hpc_site(s)),
                "hpc_power_share": hpc_power_share(c),
                "cohort": classify_cohort(c),
                "rule": COHORT_RULE,
            }
        )
    return pd.DataFrame(rows)


def cohort_tickers(companies: Iterable[Company]) -> dict[str, tuple[str, ...]]:
    """Tickers per cohort (``{"pure-play": (...), "hybrid": (...), "hpc": (...)}``), for baskets.

    Companies without a ticker are left out; empty cohorts are kept as empty tuples.
    """
    out: dict[str, list[str]] = {c: [] for c in COHORTS}
    for c in companies:
        if c.ticker:
            out[classify_cohort(c)].append(c.ticker)
    return {k: tuple(v) for k, v in out.items()}
