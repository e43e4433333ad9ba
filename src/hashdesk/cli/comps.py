"""``hashdesk comps``: public-miner comparables from dated, sourced facts."""

from __future__ import annotations

from pathlib import Path

import typer

from hashdesk.cli._common import (
    EXPORT_FORMATS,
    OutputFormat,
    desk_from_ctx,
    emit,
    fail,
    format_option,
    out_option,
    parse_date,
    wide_option,
)

#: Columns of the terminal table (JSON, CSV and Parquet carry every column; JSON also the facts).
TABLE_COLUMNS = {
    "ticker": "ticker", "cohort": "cohort", "ev_usd": "EV [USD]", "ev_per_ehs_usd": "EV / EH/s [USD]",
    "ev_per_mw_usd": "EV / MW [USD]", "price_to_hash_usd_per_ehs": "EV / realized EH/s [USD]",
    "deployed_ehs": "deployed [EH/s]", "btc_held": "BTC held [BTC]", "btc_per_share": "BTC per share [BTC]",
    "realized_btc_per_ehs_day": "BTC per EH/s per day [BTC]", "hashrate_growth_pct": "EH/s growth [%]",
    "hpc_power_share": "HPC share of power [0-1]",
}


def comps(
    ctx: typer.Context,
    at: str = typer.Option(..., "--at", help="UTC date YYYY-MM-DD: facts public by the end of that day."),
    fmt: OutputFormat = format_option(),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Public-miner comparables: EV, EV per EH/s and per MW, price-to-hash, BTC per share, HPC share."""
    day = parse_date(at, "--at", required=True)
    desk = desk_from_ctx(ctx)
    table = desk.comps(day)
    companies = table[table.ticker != "median"]
    if companies.empty:
        fail(f"no company facts public by {day}: run `hashdesk ingest` (the facts ship with hashdesk)")
    if fmt == OutputFormat.json:
        emit(table, fmt)
        return
    if fmt in EXPORT_FORMATS:  # every column; the dated facts behind each row are in --format json
        emit(table.drop(columns=["facts"]), fmt, what="one row per company, medians last")
        return
    emit(table[list(TABLE_COLUMNS)].rename(columns=TABLE_COLUMNS), fmt,
         title=f"public-miner comparables as of the end of {day} (facts public by then; median last)")
    from hashdesk.hpc.comps import COMPS_COHORT_RULE

    typer.echo(f"cohorts: {COMPS_COHORT_RULE}", err=True)
    for _, r in companies.iterrows():
        if r["ev_basis"] != "as stated":
            typer.echo(f"{r['ticker']}: {r['ev_basis']}", err=True)


def register(app: typer.Typer) -> None:
    """Add ``comps``."""
    app.command()(comps)
