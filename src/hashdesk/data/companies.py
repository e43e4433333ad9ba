"""Company-side tables: the ASIC catalogue, public AI/HPC deals, company facts."""

from __future__ import annotations

import pandas as pd

from hashdesk.data import Reader
from hashdesk.economics.fleet import CATALOGUE_COLUMNS


def asic_models(reader: Reader) -> pd.DataFrame:
    """The store's ``asic_models`` rows (:data:`hashdesk.economics.fleet.CATALOGUE_COLUMNS`)."""
    return reader.df(f"SELECT {', '.join(CATALOGUE_COLUMNS)} FROM asic_models ORDER BY model")


def hpc_deals(reader: Reader) -> pd.DataFrame:
    """The public AI/HPC deals table (reference figures, one source per row)."""
    return reader.df(
        "SELECT operator, tenant, total_contract_usd, term_years, critical_it_mw, annual_revenue_usd, "
        "implied_usd_per_kw_month, capex_usd_per_mw_low, capex_usd_per_mw_high, noi_margin, "
        "source_url, note FROM hpc_deals ORDER BY operator, tenant"
    )


__all__ = ["asic_models", "hpc_deals"]
