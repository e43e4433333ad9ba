"""AI/HPC pivot: sites and power contracts, mining vs HPC value per MW, sum of the parts.

Modules: :mod:`~hashdesk.hpc.sites` (TOML models), :mod:`~hashdesk.hpc.valuation` (cash flows,
NPV/IRR/payback, switch decision, sum of the parts), :mod:`~hashdesk.hpc.scorecard`,
:mod:`~hashdesk.hpc.cohorts`, :mod:`~hashdesk.hpc.charts` (Plotly) and
:mod:`~hashdesk.hpc.data` (store queries).
"""

from hashdesk.hpc.cohorts import COHORT_RULE, classify_cohort, cohort_table, cohort_tickers
from hashdesk.hpc.sites import Company, Site, SiteFileError, load_company, load_site
from hashdesk.hpc.valuation import (
    CompanyValuation,
    NetworkState,
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
    "NetworkState",
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
