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
    print_json,
    print_kv,
    print_table,
    wide_option,
    write_chart,
)

hpc_app = typer.Typer(
    name="hpc",
    no_args_is_help=True,
    help="AI/HPC pivot: mining vs HPC value per MW, sum of the parts, due-diligence scorecard.",
)


#: Columns of the per-input provenance table.
INPUT_COLUMNS = ["input", "value", "unit", "kind", "as_of", "public_date", "source_url", "note"]


def _assumptions(path: Path | None):
    from hashdesk.hpc.sites import SiteFileError, load_assumptions

    try:
        return load_assumptions(path)
    except SiteFileError as exc:
        fail(str(exc))


def _print_inputs(inputs: list[dict], title: str) -> None:
    print_table([{c: r.get(c) for c in INPUT_COLUMNS} for r in inputs], title=title, columns=INPUT_COLUMNS)


def _print_site_result(rec: dict, title: str) -> None:
    warnings = rec.pop("warnings", ())
    print_kv(rec, title=title)
    for w in warnings:
        console.print(f"[yellow]warning:[/] {w}")


@hpc_app.command("value")
def value(
    ctx: typer.Context,
    site_file: Path = typer.Option(None, "--site", help="Site TOML file (see examples/hpc/); overrides the facts."),
    ticker: str = typer.Option(None, "--ticker", help="Value this company's HPC/AI contracts from the stored facts."),
    contract: str = typer.Option(None, "--contract", help="With --ticker: only this contract_id."),
    assumptions: Path = typer.Option(None, "--assumptions",
                                     help="With --ticker: TOML of the inputs the facts do not state (FactAssumptions)."),
    at: str = typer.Option(None, "--at", "--as-of",
                           help="Valuation date (end of this UTC day) \\[default: the file's valuation date, else latest]."),
    html: Path = typer.Option(None, "--chart", "--html", help="Also write comparison, cash-flow and tornado charts here."),
    fmt: OutputFormat = format_option(),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Value a site both ways (mining vs HPC hosting): NPV, IRR, payback, break-even lease,
    renewal options on a separate line. From a site file (--site) or from the facts (--ticker).

    csv and parquet export the valuation as one row; the sensitivity and the reference ranges
    are in --format json.
    """
    from hashdesk.data.companies import hpc_deals
    from hashdesk.economics.state import NetworkDataError
    from hashdesk.hpc.contracts import ContractError
    from hashdesk.hpc.sites import FactsError, SiteFileError, load_site
    from hashdesk.hpc.valuation import (
        ValuationError,
        deal_reference_ranges,
        sensitivity_table,
        site_cashflows,
        value_site,
    )

    if (site_file is None) == (ticker is None):
        fail("give either --site FILE or --ticker TICKER [--contract ID]")
    if contract and not ticker:
        fail("--contract needs --ticker")
    if assumptions and not ticker:
        fail("--assumptions goes with --ticker (a site file states its own inputs)")
    desk = desk_from_ctx(ctx)
    day = parse_date(at, "--at")
    charts = []
    if ticker is not None:
        try:
            out = desk.hpc_value(ticker, day or desk.latest_priced_day(), contract, _assumptions(assumptions),
                                 sensitivity=True)
        except (FactsError, ContractError, ValuationError, NetworkDataError) as exc:
            fail(str(exc))
        state = out["network_state"]
        ranges = deal_reference_ranges(hpc_deals(desk.reader(state.at_unix)))
        rows = []
        for c in out["contracts"]:
            res = c["result"].to_dict()
            res["warnings"] = [*c["warnings"], *res["warnings"]]
            rows.append({"contract_id": c["contract_id"], "tenant": c["tenant"], **res, "inputs": c["inputs"],
                         "sensitivity": c["sensitivity"], "sources": c["site"].sources,
                         "illustrative": c["site"].illustrative})
            if html is not None:
                from hashdesk.hpc.charts import (
                    cashflow_figure,
                    site_comparison_figure,
                    tornado_figure,
                )

                site = c["site"]
                charts += [site_comparison_figure(c["result"], None),
                           cashflow_figure(site_cashflows(site, state), site.name),
                           tornado_figure(c["sensitivity"], f"{site.name}: sensitivity of NPV(HPC) − NPV(mining)")]
        if charts:
            write_chart(charts, html)
        if fmt == OutputFormat.json:
            print_json({"ticker": out["ticker"], "as_of": out["as_of"], "contracts": rows,
                        "not_valued": out["not_valued"], "assumptions": out["assumptions"].model_dump(),
                        "network_state": state.to_dict(), "reference_ranges": ranges})
            return
        from hashdesk.cli.network import state_rows

        for r in rows:
            rec = {k: v for k, v in r.items() if k not in ("inputs", "sensitivity", "sources", "illustrative")}
            _print_site_result(rec, f"{r['contract_id']}: mining vs HPC hosting on the contract's power "
                                    f"(facts public by {out['as_of']})")
            _print_inputs(r["inputs"], f"{r['contract_id']}: inputs (fact = dated and sourced; assumption = "
                                       "a user input, --assumptions)")
        for s in out["not_valued"]:
            console.print(f"[yellow]not valued:[/] {s['contract_id']} ({s['tenant']}, announced {s['announced']}): "
                          f"{s['reason']}")
        print_kv(state_rows(state.to_dict()), title="network state (hashprice start)")
        return

    try:
        site = load_site(site_file)
    except SiteFileError as exc:
        fail(str(exc))
    try:
        day = day or site.valuation.as_of or desk.latest_priced_day()
        state = desk.network_state(day).require("fees_btc_per_block", "price_usd")
        deals = hpc_deals(desk.reader(state.at_unix))
        result = value_site(site, state)
        sens = sensitivity_table(site, state)
    except (NetworkDataError, ValuationError) as exc:
        fail(f"{site_file}: {exc}" if isinstance(exc, ValuationError) else str(exc))
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
    company_file: Path = typer.Argument(None, help="Company TOML file (see examples/hpc/); overrides the facts."),
    ticker: str = typer.Option(None, "--ticker", help="Build the company from the stored facts."),
    assumptions: Path = typer.Option(None, "--assumptions",
                                     help="With --ticker: TOML of the inputs the facts do not state (FactAssumptions)."),
    at: str = typer.Option(None, "--at", help="With --ticker: facts public by the end of this UTC day [default: latest]."),
    html: Path = typer.Option(None, "--chart", "--html", help="Also write the sum-of-the-parts chart here."),
    fmt: OutputFormat = format_option(),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Sum of the parts (mining + contracted HPC + BTC − net debt) vs market cap; renewal options
    of the contracted leases on a separate line.

    csv and parquet export the company's valuation as one row; its sites are in --format json.
    """
    from hashdesk.data.companies import CompanyDataError, market_inputs
    from hashdesk.economics.state import NetworkDataError
    from hashdesk.hpc.cohorts import COHORT_RULE, classify_cohort, hpc_power_share
    from hashdesk.hpc.contracts import ContractError
    from hashdesk.hpc.sites import FactsError, SiteFileError, load_company
    from hashdesk.hpc.valuation import ValuationError, value_company

    if (company_file is None) == (ticker is None):
        fail("give either a company FILE or --ticker TICKER")
    if (assumptions or at) and not ticker:
        fail("--assumptions and --at go with --ticker (a company file states its own valuation date)")
    desk = desk_from_ctx(ctx)
    if ticker is not None:
        day = parse_date(at, "--at")
        try:
            out = desk.hpc_company(ticker, day or desk.latest_priced_day(), _assumptions(assumptions))
        except (FactsError, ContractError, CompanyDataError, ValuationError, NetworkDataError) as exc:
            fail(str(exc))
        val = out["valuation"]
        if html is not None:
            from hashdesk.hpc.charts import sotp_figure

            write_chart(sotp_figure(val), html)
        rec = val.to_dict()
        sites = rec.pop("sites")
        rec.pop("warnings")
        co = out["cohort"] or {}
        rec.update(cohort=co.get("cohort"), hpc_power_share=co.get("hpc_power_share"), cohort_rule=co.get("rule"))
        if fmt == OutputFormat.json:
            print_json({**rec, "sites": sites, "inputs": out["inputs"], "contracts": out["contracts"],
                        "not_valued": out["not_valued"], "warnings": out["warnings"],
                        "assumptions": out["assumptions"].model_dump(),
                        "network_state": out["network_state"].to_dict()})
            return
        print_kv(rec, title=f"{val.name}: sum of the parts vs market cap (facts public by {day or 'latest'})")
        print_table(list(sites), title="sites (one per HPC contract; the fleet mines)")
        _print_inputs(out["inputs"], "company inputs")
        for c in out["contracts"]:
            _print_inputs(c["inputs"], f"{c['contract_id']}: inputs")
        for s in out["not_valued"]:
            console.print(f"[yellow]not valued:[/] {s['contract_id']}: {s['reason']}")
        for w in out["warnings"]:
            console.print(f"[yellow]warning:[/] {w}")
        return

    try:
        comp = load_company(company_file)
    except SiteFileError as exc:
        fail(str(exc))
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
    warnings = rec.pop("warnings")
    day = state_day = market.price_date
    rec.update(cohort=classify_cohort(comp, state_day), hpc_power_share=hpc_power_share(comp, day),
               cohort_rule=COHORT_RULE)
    if fmt == OutputFormat.json:
        emit({**rec, "sites": sites, "warnings": warnings, "sources": comp.sources,
              "illustrative": comp.illustrative, "network_state": state.to_dict()}, fmt)
        return
    emit(rec, fmt, title=f"{comp.name}: sum of the parts vs market cap", what="the company (one row)")
    emit(list(sites), fmt, title="sites", primary=False)
    if fmt != OutputFormat.table:
        return
    _warnings(warnings)
    if comp.illustrative:
        console.print(f"[dim]illustrative inputs: {', '.join(comp.illustrative)}[/]")


def _is_file_arg(arg: str) -> bool:
    return arg.lower().endswith(".toml") or Path(arg).is_file()


def _scorecard_files(ctx: typer.Context, files: list[Path], detail: bool, fmt: OutputFormat) -> None:
    import pandas as pd

    from hashdesk.data.companies import CompanyDataError, market_inputs
    from hashdesk.hpc.cohorts import cohort_table
    from hashdesk.hpc.scorecard import score_company, scorecard_summary
    from hashdesk.hpc.sites import SiteFileError, load_company

    companies = []
    for f in files:
        try:
            companies.append(load_company(f))
        except SiteFileError as exc:
            fail(str(exc))
    reader = desk_from_ctx(ctx).reader(None)
    cards, days = [], {}
    for c in companies:
        try:
            market = market_inputs(reader, c)
            as_of = market.price_date
        except CompanyDataError as exc:
            note(f"warning: {c.name}: balance sheet unscored ({exc})", style="yellow")
            market, as_of = None, c.valuation.as_of or dt.date.today()
        days[c.name] = as_of
        cards.append(score_company(c, market, as_of))
    cohorts = pd.concat([cohort_table([c], days[c.name]) for c in companies], ignore_index=True)
    summary = cohorts[["company", "ticker", "cohort"]].merge(
        scorecard_summary(cards), on="company"
    ).sort_values("total", ascending=False, ignore_index=True)
    if fmt == OutputFormat.json:
        emit({"summary": summary, "detail": pd.concat(cards, ignore_index=True)}, fmt)
        return
    if fmt != OutputFormat.table and detail:
        emit(pd.concat(cards, ignore_index=True), fmt, what="every criterion of every company")
        return
    emit(summary, fmt, title="due-diligence scorecard of the company files [score 0-100]", what="one row per company")
    if detail:
        for card in cards:
            emit(card, fmt, title=f"{card.company.iloc[0]}: inputs, rules, weights",
                 columns=["criterion", "inputs", "value", "unit", "rule", "score_0_100", "weight"],
                 kinds={"inputs": "text", "unit": "text", "rule": "text", "weight": "num"})


@hpc_app.command("scorecard")
def scorecard(
    ctx: typer.Context,
    args: list[str] = typer.Argument(
        None, help="Tickers [default: every company in the facts], or company TOML files (user files)."),
    at: str = typer.Option(None, "--at", help="Facts public by the end of this UTC day [default: latest]."),
    detail: bool = typer.Option(False, "--detail", help="Show every criterion's inputs with date and source."),
    fmt: OutputFormat = format_option(),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Due-diligence scorecard (0–100) from the sourced facts: each input with its date and source;
    a missing fact leaves its criterion unscored. Company TOML files are scored as given."""
    from hashdesk.hpc.scorecard import facts_scorecard_summary
    from hashdesk.hpc.sites import FactsError

    args = list(args or [])
    files = [a for a in args if _is_file_arg(a)]
    if files:
        if len(files) != len(args):
            fail("give tickers or company files, not both")
        if at:
            fail("--at goes with the facts (a company file states its own valuation date)")
        _scorecard_files(ctx, [Path(f) for f in files], detail, fmt)
        return
    desk = desk_from_ctx(ctx)
    day = parse_date(at, "--at") or desk.latest_priced_day()
    try:
        card = desk.scorecard(day, args or None)
    except FactsError as exc:
        fail(str(exc))
    if card.empty:
        fail(f"no company facts public by {day}: run `hashdesk ingest` (the facts ship with hashdesk)")
    summary = facts_scorecard_summary(card)
    if fmt == OutputFormat.json:
        emit({"as_of": day, "summary": summary, "detail": card}, fmt)
        return
    if fmt != OutputFormat.table and detail:
        emit(card, fmt, what="every criterion of every company")
        return
    emit(summary.drop(columns=["company"]).round(1), fmt,
         title=f"due-diligence scorecard from the facts public by {day} [score 0-100; — = unscored]",
         what="one row per company")
    if detail:
        for tk, g in card.groupby("ticker", sort=False):
            emit(g, fmt, title=f"{tk}: criteria (weights renormalised over the scored ones)",
                 columns=["criterion", "value", "unit", "score_0_100", "weight", "reason"])
            ins = [{"criterion": r["criterion"], **i} for _, r in g.iterrows() for i in r["inputs"]]
            if ins:
                emit(ins, fmt, title=f"{tk}: inputs with date and source",
                     columns=["criterion", "input", "value", "unit", "as_of", "public_date", "age_days",
                              "source_url"])


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
