"""Economics commands: ``economics`` (daily network economics), ``profile`` (unit economics),
``stress`` (halving / price stress test)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from hashdesk.cli._common import OutputFormat, emit, err_console, fail, print_table, store_from_ctx

#: Columns shown by ``hashdesk economics --from/--to`` in table format (JSON has all).
RANGE_COLUMNS = [
    "date", "blocks", "fees_btc_per_block", "price_usd", "difficulty",
    "hashprice_usd_per_ph_day", "hashprice_btc_per_ph_day", "missing",
]


def economics(
    ctx: typer.Context,
    at: str = typer.Option(None, "--at", help="One UTC day, YYYY-MM-DD [default: latest day]."),
    start: str = typer.Option(None, "--from", help="First UTC day of a range, YYYY-MM-DD."),
    end: str = typer.Option(None, "--to", help="Last UTC day of a range, YYYY-MM-DD."),
    chart: Path = typer.Option(None, "--chart", help="Write hashprice over time (HTML) to FILE."),
    rebuild: bool = typer.Option(False, "--rebuild", help="(Re)build the stored daily table first."),
    source: str = typer.Option("coinmetrics", "--source", help="network_daily source."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format"),
) -> None:
    """Daily network economics: blocks, subsidy, fees, price, difficulty, hashprice [USD|BTC/PH/day]."""
    from hashdesk.economics.hashprice import NetworkDataError, row_at, row_record
    from hashdesk.economics.tables import network_economics, rebuild_network_economics

    if at and (start or end):
        fail("give either --at or --from/--to, not both")
    for name, val in (("--at", at), ("--from", start), ("--to", end)):
        if val:
            try:
                date.fromisoformat(val)
            except ValueError:
                fail(f"{name}: not a date (YYYY-MM-DD): {val!r}")
    store = store_from_ctx(ctx, read_only=not rebuild)
    try:
        if rebuild:
            n = rebuild_network_economics(store, source)
            err_console.print(f"rebuilt network_economics_daily: {n:,} days", style="dim")
        if start or end:
            table = network_economics(store, start, end, source)
            if table.empty:
                full = network_economics(store, source=source)
                fail(f"no network data between {start or '…'} and {end or '…'} "
                     f"(the store covers {full['date'].min()} .. {full['date'].max()})")
            records = [row_record(r) for _, r in table.iterrows()]
            if fmt == OutputFormat.json:
                emit(records, fmt)
            else:
                rows = [{k: (",".join(v) if k == "missing" else v) for k, v in r.items() if k in RANGE_COLUMNS}
                        for r in records]
                print_table(rows, title=f"network economics {table['date'].min()} .. {table['date'].max()}")
        else:
            table = network_economics(store, source=source)
            row = row_at(table, at) if at else table.dropna(subset=["hashprice_usd_per_ph_day"]).iloc[-1]
            rec = row_record(row)
            if fmt == OutputFormat.table:
                rec["missing"] = ", ".join(rec["missing"]) or "none"
            emit(rec, fmt, title=f"network economics {row['date']}")
    except NetworkDataError as exc:
        fail(str(exc))
    if chart is not None:
        from hashdesk.economics.charts import hashprice_figure

        hashprice_figure(table).write_html(chart, include_plotlyjs=True)
        err_console.print(f"chart written to {chart}", style="dim")


def register(app: typer.Typer) -> None:
    """Add the economics commands."""
    app.command()(economics)
