"""Economics commands: ``economics`` (daily network economics), ``profile`` (unit economics),
``stress`` (halving / price stress test)."""

from __future__ import annotations

from pathlib import Path

import typer

from hashdesk.cli._common import (
    OutputFormat,
    emit,
    err_console,
    fail,
    parse_date,
    print_table,
    store_from_ctx,
    write_chart,
)

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
        parse_date(val, name)
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

        write_chart(hashprice_figure(table), chart)


#: Columns of the stress epoch path shown in table format (JSON has all).
EPOCH_COLUMNS = [
    "epoch", "difficulty", "difficulty_change_pct", "hashprice_usd_per_ph_day", "share_under_water",
    "online_hashrate_ehs", "start_day", "days",
]
#: The April 2024 halving day (block 840,000); the comparison windows leave this day out.
HALVING_2024 = "2024-04-20"


def _load_fleet(store, profile_path: Path, asics: list[Path] | None):
    """Profile, resolved fleet (or ``fail`` with the message naming file/field/model)."""
    from hashdesk.economics.fleet import CatalogueError, UnknownAsicError, resolve_fleet
    from hashdesk.economics.profile import ProfileError, load_profile
    from hashdesk.economics.tables import asic_catalogue

    try:
        prof = load_profile(profile_path)
        fleet = resolve_fleet(prof, asic_catalogue(store, asics or []))
    except (ProfileError, CatalogueError) as exc:
        fail(str(exc))
    except UnknownAsicError as exc:
        fail(f"{profile_path}: {exc}")
    return prof, fleet


def _metric_rows(df) -> list[dict]:
    return [{"metric": k, **{c: df.at[k, c] for c in df.columns}} for k in df.index]


def profile(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Miner profile TOML (see examples/profiles/)."),
    at: str = typer.Option(None, "--at", help="Last UTC day of the window [default: latest]."),
    window: int = typer.Option(1, "--window", min=1, help="Days averaged, ending at --at."),
    halving: bool = typer.Option(
        False, "--halving",
        help="Side by side: N days before vs after the April 2024 halving (N = --window, 30 when 1).",
    ),
    asics: list[Path] = typer.Option(None, "--asics", help="Extra ASIC catalogue (CSV/TOML); repeatable."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format"),
) -> None:
    """Unit economics of a miner profile: cost per BTC, margins, breakeven hashprice / power / BTC price."""
    import pandas as pd

    from hashdesk.economics.breakeven import side_by_side, unit_economics
    from hashdesk.economics.hashprice import NetworkDataError, network_state
    from hashdesk.economics.tables import network_economics

    store = store_from_ctx(ctx)
    prof, fleet = _load_fleet(store, file, asics)
    try:
        table = network_economics(store)
        if halving:
            h = pd.Timestamp(HALVING_2024)
            days = window if window > 1 else 30
            before = network_state(table, h - pd.Timedelta(days=days), h - pd.Timedelta(days=1))
            after = network_state(table, h + pd.Timedelta(days=1), h + pd.Timedelta(days=days))
            res = {"before_halving": unit_economics(fleet, prof, before),
                   "after_halving": unit_economics(fleet, prof, after)}
            if fmt == OutputFormat.json:
                emit({"profile": prof.name, **res}, fmt)
            else:
                print_table(_metric_rows(side_by_side(res)),
                            title=f"{prof.name}: {days} days before vs after the {HALVING_2024} halving")
            return
        end = pd.Timestamp(at) if at else pd.Timestamp(table.dropna(subset=["hashprice_usd_per_ph_day"])["date"].iloc[-1])
        state = network_state(table, end - pd.Timedelta(days=window - 1), end)
    except (NetworkDataError, ValueError) as exc:
        fail(str(exc))
    emit({"profile": prof.name, **unit_economics(fleet, prof, state).__dict__}, fmt,
         title=f"{prof.name}: unit economics {state.start} .. {state.end}")


def stress(
    ctx: typer.Context,
    price: float = typer.Option(..., "--price", help="BTC price [USD/BTC]."),
    fees: float = typer.Option(..., "--fees", help="Fees per block [BTC]."),
    at: str = typer.Option(None, "--at", help="Network state at the end of this UTC day [default: latest]."),
    profile_file: Path = typer.Option(None, "--profile", help="Miner profile to stress across the halving."),
    asics: list[Path] = typer.Option(None, "--asics", help="Extra ASIC catalogue (CSV/TOML); repeatable."),
    curve_file: Path = typer.Option(None, "--curve", help="Network cost curve CSV [default: shipped curve]."),
    halving: bool = typer.Option(False, "--halving", help="Apply the next halving's subsidy to the network."),
    epochs: int = typer.Option(4, "--epochs", min=1, max=52, help="Epochs in the difficulty path."),
    hashrate_ehs: float = typer.Option(None, "--hashrate-ehs", help="Pre-shock hashrate [EH/s] [default: 14-day mean]."),
    chart: Path = typer.Option(None, "--chart", help="Write the cost curve and difficulty path (HTML) to FILE."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format"),
) -> None:
    """Halving / price stress: hashrate under water, capitulation, difficulty response, miner margins."""
    from hashdesk.economics.breakeven import side_by_side
    from hashdesk.economics.halving import StressInputError, read_cost_curve, stress_test
    from hashdesk.economics.hashprice import NetworkDataError
    from hashdesk.economics.tables import network_economics

    store = store_from_ctx(ctx)
    prof = fleet = None
    if profile_file is not None:
        prof, fleet = _load_fleet(store, profile_file, asics)
    try:
        res = stress_test(
            network_economics(store), at, price, fees, read_cost_curve(curve_file), halving, epochs,
            hashrate_ehs, fleet, prof,
        )
    except (StressInputError, NetworkDataError) as exc:
        fail(str(exc))
    miner = None
    if res.miner is not None:
        miner = {"profile": prof.name, "subsidy_before_btc": res.miner.subsidy_before_btc,
                 "subsidy_after_btc": res.miner.subsidy_after_btc,
                 "before": res.miner.before, "after": res.miner.after}
    if fmt == OutputFormat.json:
        emit({"network": res.network, "epochs": res.epochs, "miner": miner}, fmt)
    else:
        emit(res.network, fmt, title="network at the stress inputs")
        print_table(res.epochs, columns=EPOCH_COLUMNS,
                    title="difficulty response (exact retarget rule on simulated timestamps)")
        if res.miner is not None:
            print_table(
                _metric_rows(side_by_side({"current_subsidy": res.miner.before, "after_halving": res.miner.after})),
                title=f"{prof.name} across the halving (difficulty, price and fees held)",
            )
    if chart is not None:
        from hashdesk.economics.charts import stress_figure

        write_chart(stress_figure(res), chart)


def register(app: typer.Typer) -> None:
    """Add the economics commands."""
    app.command()(economics)
    app.command()(profile)
    app.command()(stress)
