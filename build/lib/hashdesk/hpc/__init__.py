"""AI/HPC pivot: sites and power contracts, mining vs HPC value per MW, sum of the parts.

Modules: :mod:`~hashdesk.hpc.contracts` (contract cells: phases, renewal options, implied lease,
capex split), :mod:`~hashdesk.hpc.sites` (TOML models; sites and companies from the company
facts), :mod:`~hashdesk.hpc.valuation` (cash flows, NPV/IRR/payback, renewals, switch decision,
sum of the parts), :mod:`~hashdesk.hpc.scorecard`, :mod:`~hashdesk.hpc.cohorts` (the one cohort
rule), :mod:`~hashdesk.hpc.comps` and :mod:`~hashdesk.hpc.charts` (Plotly); the store reads live
in :mod:`hashdesk.data.companies`, the joins in :class:`hashdesk.desk.Desk`.
"""

from hashdesk.hpc.cohorts import COHORT_RULE, classify_cohort, cohort_table, cohort_tickers
from hashdesk.hpc.sites import Company, Site, SiteFileError, load_company, load_site
from hashdesk.hpc.valuation import (
    CompanyValuation,
    SiteValuationResult,
    irr,
    npv,
    payback_years,
    sensitivity_table,
    value_company,
    value_site,
)

__all__ = [
    "COHORT_RULE",
    "Company",
    "CompanyValuation",
    "Site",
    "SiteFileError",
    "SiteValuationResult",
    "classify_cohort",
    "cohort_table",
    "cohort_tickers",
    "irr",
    "load_company",
    "load_site",
    "npv",
    "payback_years",
    "sensitivity_table",
    "value_company",
    "value_site",
]
