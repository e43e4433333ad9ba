"""CLI commands of the hpc module: ``hashdesk hpc value|company|scorecard|deals``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from hashdesk.cli._common import (
    OutputFormat,
    console,
    desk_from_ctx,
    emit,
    fail,
    format_option,
    note,
    out_option,
    parse_date,
    wide_option,
    write_chart,
)
from hashdesk.config import repo_root

hpc_app = typer.Typer(
    name="hpc",
    no_args_is_help=True,
    help="AI/HPC pivot: mining vs HPC value per MW, sum of the parts, due-diligence scorecard.",
)

#: Where the example site and company files live in a source checkout.
EXAMPLES_DIR = repo_root() / "examples" / "hpc"


@hpc_app.command("value")
def value(
    ctx: typer.Context,
    site_file: Path = typer.Option(..., "--site", help="Site TOML file (see examples/hpc/)."),
    at: str = typer.Option(None, "--at", "--as-of",
                           help="Network state at the end of this UTC day \\[default: the file's valuation date, else latest]."),
    html: Path = typer.Option(None, "--chart", "--html", help="Also write comparison, cash-flow and tornado charts here."),
    fmt: OutputFormat = format_option(),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Value one site both ways (mining vs HPC hosting): NPV, IRR, payback, break-even lease.

    csv and parquet export the valuation as one row; the sensitivity and the reference ranges
    are in --format json.
    """
    from hashdesk.data.companies import hpc_deals
    from hashdesk.economics.state import NetworkDataError
    from hashdesk.hpc.sites import SiteFileError, load_site
    from hashdesk.hpc.valuation import (
        deal_reference_ranges,
        sensitivity_table,
        site_cashflows,
        value_site,
    )

    try:
        site = load_site(site_file)
    except SiteFileError as exc:
        fail(str(exc))
    desk = desk_from_ctx(ctx)
    try:
        day = parse_date(at, "--at") or site.valuation.as_of or desk.latest_priced_day()
        state = desk.network_state(day).require("fees_btc_per_block", "price_usd")
        deals = hpc_deals(desk.reader(state.at_unix))
        result = value_site(site, state)
        sens = sensitivity_table(site, state)
    except NetworkDataError as exc:
        fail(str(exc))
    ranges = deal_reference_ranges(deals)
    lease = ranges.set_index("metric").loc["lease_usd_per_kw_month"]
    if html is not None:
        from hashdesk.hpc.charts import cashflow_figure, site_comparison_figure, tornado_figure

        band = (lease["low"], lease["high"]) if lease["n"] else None
        write_chart(
            [site_comparison_figure(result, band), cashflow_figure(site_cashflows(site, state), site.name),
             tornado_figure(sens, f"{site.name}: sensitivity of NPV(HPC) − NPV(mining)")],
            html,
        )
    if fmt == OutputFormat.json:
        emit(
            {**result.to_dict(), "network_state": state.to_dict(), "sensitivity": sens,
             "reference_ranges": ranges, "sources": site.sources, "illustrative": site.illustrative}, fmt
        )
        return
    from hashdesk.cli.network import state_rows

    rec = result.to_dict()
    warnings = rec.pop("warnings")
    if fmt != OutputFormat.table:
        emit({**rec, "network_state": state.to_dict()}, fmt,
             what="the valuation and its network state (one row, dotted keys)")
        return
    emit(rec, fmt, title=f"{site.name}: mining vs HPC hosting")
    emit(state_rows(state.to_dict()), fmt, title="network state (hashprice start)")
    emit(sens, fmt, title="sensitivity: switch value NPV(HPC) − NPV(mining) [USD]",
         columns=["input", "low_value", "high_value", "switch_value_low_usd", "switch_value_high_usd"],
         row_kinds_from="input")
    emit(ranges, fmt, title="reference ranges from public deals (store: hpc_deals)", row_kinds_from="metric",
         kinds={"sources": "text"})
    _warnings(warnings)
    if site.illustrative:
        console.print(f"[dim]illustrative inputs: {', '.join(site.illustrative)}[/]")


def _warnings(lines) -> None:
    from rich.markup import escape

    for w in lines:
        console.print(f"[yellow]warning:[/] {escape(str(w))}")


@hpc_app.command("company")
def company(
    ctx: typer.Context,
    company_file: Path = typer.Argument(..., help="Company TOML file (see examples/hpc/)."),
    html: Path = typer.Option(None, "--chart", "--html", help="Also write the sum-of-the-parts chart here."),
    fmt: OutputFormat = format_option(),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Sum of the parts (mining + contracted HPC + BTC − net debt) vs market cap.

    csv and parquet export the company's valuation as one row; its sites are in --format json.
    """
    from hashdesk.data.companies import CompanyDataError, market_inputs
    from hashdesk.economics.state import NetworkDataError
    from hashdesk.hpc.cohorts import COHORT_RULE, classify_cohort, hpc_power_share
    from hashdesk.hpc.sites import SiteFileError, load_company
    from hashdesk.hpc.valuation import ValuationError, value_company

    try:
        comp = load_company(company_file)
    except SiteFileError as exc:
        fail(str(exc))
    desk = desk_from_ctx(ctx)
    try:
        market = market_inputs(desk.reader(None), comp)
        state = desk.network_state(market.price_date).require("fees_btc_per_block", "price_usd")
        val = value_company(comp, state, market)
    except (CompanyDataError, ValuationError, NetworkDataError) as exc:
        fail(str(exc))
    if html is not None:
        from hashdesk.hpc.charts import sotp_figure

        write_chart(sotp_figure(val), html)
    rec = val.to_dict()
    sites = rec.pop("sites")
    rec.update(cohort=classify_cohort(comp), hpc_power_share=hpc_power_share(comp), cohort_rule=COHORT_RULE)
    if fmt == OutputFormat.json:
        emit({**rec, "sites": sites, "sources": comp.sources, "illustrative": comp.illustrative,
              "network_state": state.to_dict()}, fmt)
        return
    emit(rec, fmt, title=f"{comp.name}: sum of the parts vs market cap", what="the company (one row)")
    emit(list(sites), fmt, title="sites", primary=False)
    if fmt != OutputFormat.table:
        return
    if comp.illustrative:
        console.print(f"[dim]illustrative inputs: {', '.join(comp.illustrative)}[/]")


def _company_files(files: list[Path] | None) -> list[Path]:
    import tomllib

    if files:
        return files
    if not EXAMPLES_DIR.is_dir():
        fail(f"no company files given and no examples at {EXAMPLES_DIR}")
    out = []
    for p in sorted(EXAMPLES_DIR.glob("*.toml")):
        try:
            if "shares_outstanding" in tomllib.loads(p.read_text(encoding="utf-8")):
                out.append(p)
        except tomllib.TOMLDecodeError as exc:
            fail(f"{p}: invalid TOML: {exc}")
    return out


@hpc_app.command("scorecard")
def scorecard(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(None, help="Company TOML files \\[default: examples/hpc companies]."),
    detail: bool = typer.Option(False, "--detail", help="Show every criterion's inputs, rule and weight."),
    fmt: OutputFormat = format_option(),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Due-diligence scorecard (0–100) per company, with inputs and weights, and its cohort."""
    import pandas as pd

    from hashdesk.data.companies import CompanyDataError, market_inputs
    from hashdesk.hpc.cohorts import cohort_table
    from hashdesk.hpc.scorecard import score_company, scorecard_summary
    from hashdesk.hpc.sites import SiteFileError, load_company

    companies = []
    for f in _company_files(files):
        try:
            companies.append(load_company(f))
        except SiteFileError as exc:
            fail(str(exc))
    if not companies:
        fail("no company files to score")
    reader = desk_from_ctx(ctx).reader(None)
    cards = []
    for c in companies:
        try:
            market = market_inputs(reader, c)
            as_of = market.price_date
        except CompanyDataError as exc:
            note(f"warning: {c.name}: balance sheet unscored ({exc})", style="yellow")
            market, as_of = None, c.valuation.as_of or dt.date.today()
        cards.append(score_company(c, market, as_of))
    summary = cohort_table(companies)[["company", "ticker", "cohort"]].merge(
        scorecard_summary(cards), on="company"
    ).sort_values("total", ascending=False, ignore_index=True)
    if fmt == OutputFormat.json:
        emit({"summary": summary, "detail": pd.concat(cards, ignore_index=True)}, fmt)
        return
    if fmt != OutputFormat.table and detail:
        emit(pd.concat(cards, ignore_index=True), fmt, what="every criterion of every company")
        return
    emit(summary, fmt, title="due-diligence scorecard [score 0-100]", what="one row per company")
    if detail:
        for card in cards:
            emit(card, fmt, title=f"{card.company.iloc[0]}: inputs, rules, weights",
                 columns=["criterion", "inputs", "value", "unit", "rule", "score_0_100", "weight"],
                 kinds={"inputs": "text", "unit": "text", "rule": "text", "weight": "num"})


@hpc_app.command("deals")
def deals(
    ctx: typer.Context,
    fmt: OutputFormat = format_option(),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Public AI/HPC hosting deals (store: hpc_deals) and the reference ranges they give."""
    from hashdesk.data.companies import hpc_deals
    from hashdesk.hpc.valuation import deal_reference_ranges

    df = hpc_deals(desk_from_ctx(ctx).reader(None))
    if df.empty:
        fail("the store's hpc_deals table is empty: run `hashdesk ingest` first")
    ranges = deal_reference_ranges(df)
    if fmt == OutputFormat.json:
        emit({"deals": df, "reference_ranges": ranges}, fmt)
        return
    emit(df, fmt, title="public AI/HPC deals", what="the deals (one row per deal)",
         columns=["operator", "tenant", "critical_it_mw", "term_years", "implied_usd_per_kw_month",
                  "capex_usd_per_mw_low", "capex_usd_per_mw_high", "noi_margin", "source_url"]
         if fmt == OutputFormat.table else None)
    emit(ranges, fmt, title="reference ranges", row_kinds_from="metric", kinds={"sources": "text"},
         primary=False)


def register(app: typer.Typer) -> None:
    """Add the ``hpc`` sub-app (value, company, scorecard, deals)."""
    app.add_typer(hpc_app, name="hpc")
