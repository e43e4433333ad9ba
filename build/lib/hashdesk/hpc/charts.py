"""Plotly figures of the hpc module (units in every axis title; reusable by reports/dashboard)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from hashdesk.hpc.valuation import CompanyValuation, SiteCashflows, SiteValuationResult
from hashdesk.theme import styled


def tornado_figure(sensitivity: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Tornado chart of the switch value NPV(HPC) − NPV(mining) [USD] per input.

    Parameters
    ----------
    sensitivity : pandas.DataFrame
        Output of :func:`hashdesk.hpc.valuation.sensitivity_table`.
    """
    df = sensitivity.sort_values("swing_usd")
    base = float(df.switch_value_base_usd.iloc[0]) if len(df) else 0.0
    labels = [f"{r.input} ({r.low_value:.4g} / {r.high_value:.4g} {r.unit})" for r in df.itertuples()]
    fig = go.Figure()
    fig.add_bar(
        y=labels, x=(df.switch_value_low_usd - base) / 1e6, base=base / 1e6, orientation="h",
        name="input low", marker_color="#d62728",
    )
    fig.add_bar(
        y=labels, x=(df.switch_value_high_usd - base) / 1e6, base=base / 1e6, orientation="h",
        name="input high", marker_color="#2ca02c",
    )
    fig.add_vline(x=base / 1e6, line_dash="dash", annotation_text="base")
    fig.add_vline(x=0, line_color="black")
    fig.update_layout(
        title=title or "Sensitivity of the switch value NPV(HPC) − NPV(mining)",
        barmode="overlay",
        xaxis_title="NPV(HPC) − NPV(mining) [million USD]",
        yaxis_title="input (low / high)",
        height=120 + 40 * len(df),
    )
    return styled(fig)


def site_comparison_figure(result: SiteValuationResult, lease_range: tuple[float, float] | None = None) -> go.Figure:
    """Mining vs HPC per gross MW-year [USD/MW-year] and the lease vs its break-even.

    ``lease_range`` (low, high) [USD/kW-month] from public deals is drawn as a band.
    """
    fig = go.Figure()
    fig.add_bar(
        x=["mining margin", "HPC net operating income"],
        y=[result.mining_usd_per_mw_year / 1e3, result.hpc_usd_per_mw_year / 1e3],
        marker_color=["#f7931a", "#1f77b4"],
        text=[f"{result.mining_usd_per_mw_year / 1e3:,.0f}", f"{result.hpc_usd_per_mw_year / 1e3:,.0f}"],
    )
    fig.update_layout(
        title=(
            f"{result.site}: first-year value per gross MW ({result.as_of}); lease "
            f"{result.lease_usd_per_kw_month:.1f} vs break-even "
            f"{result.breakeven_lease_usd_per_kw_month:.1f} USD/kW-month"
            + (f"; public deals {lease_range[0]:.0f}–{lease_range[1]:.0f}" if lease_range else "")
        ),
        yaxis_title="value [thousand USD per gross MW-year]",
        xaxis_title="use of the site",
    )
    return styled(fig)


def cashflow_figure(cashflows: SiteCashflows, site: str) -> go.Figure:
    """Cumulative undiscounted cash flow of mining vs HPC [million USD] over time [years]."""
    df = cashflows.frame()
    fig = go.Figure()
    fig.add_scatter(x=df.t_years, y=df.mining_cum_usd / 1e6, name="mining", line_color="#f7931a")
    fig.add_scatter(x=df.t_years, y=df.hpc_cum_usd / 1e6, name="HPC hosting", line_color="#1f77b4")
    fig.add_hline(y=0, line_color="black")
    fig.update_layout(
        title=f"{site}: cumulative cash flow (capex at t = 0)",
        xaxis_title="time from valuation date [years]",
        yaxis_title="cumulative cash flow [million USD]",
    )
    return styled(fig)


def sotp_figure(valuation: CompanyValuation) -> go.Figure:
    """Waterfall: mining + contracted HPC + BTC held − net debt = sum of the parts, vs market cap."""
    v = valuation
    steps = [
        ("mining value", v.mining_value_usd, "relative"),
        ("contracted HPC", v.contracted_hpc_value_usd, "relative"),
        ("BTC held", v.btc_held_usd, "relative"),
        ("− net debt", -v.net_debt_usd, "relative"),
        ("sum of the parts", v.sum_of_parts_usd, "total"),
    ]
    fig = go.Figure(
        go.Waterfall(
            x=[s[0] for s in steps],
            y=[s[1] / 1e6 if s[2] == "relative" else 0 for s in steps],
            measure=[s[2] for s in steps],
            name="sum of the parts",
        )
    )
    fig.add_bar(x=["market cap"], y=[v.market_cap_usd / 1e6], name="market cap", marker_color="#7f7f7f")
    fig.update_layout(
        title=(
            f"{v.name}: sum of the parts vs market cap ({v.price_date}); premium "
            f"{v.premium_usd / 1e6:,.0f} million USD"
        ),
        yaxis_title="value [million USD]",
        xaxis_title="component",
        showlegend=False,
    )
    return styled(fig)
