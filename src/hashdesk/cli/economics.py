"""Economics commands: ``economics`` (daily network economics), ``profile`` (unit economics),
``stress`` (halving / price stress test)."""

from __future__ import annotations

from pathlib import Path

import typer

from hashdesk.cli._common import (
    OutputFormat,
    desk_from_ctx,
    emit,
    fail,
    format_option,
    out_option,
    parse_date,
    wide_option,
    write_chart,
)

#: Columns shown by ``hashdesk economics --from/--to`` in table format (JSON has all).
RANGE_COLUMNS = [
    "date", "blocks", "fees_btc_per_block", "price_usd", "difficulty",
    "hashprice_usd_per_ph_day", "hashprice_btc_per_ph_day", "missing",
]


#: Why two hashrate figures differ (shown beside them).
HASHRATE_NOTE = (
    "hashrate_ehs is that day's Σ work of its blocks / 86,400 s (Coin Metrics HashRate, or exact "
    "from synced blocks): unbiased but noisy (±8 % at 1σ from 144 blocks' luck); "
    "hashrate_mempool_ehs is mempool.space's estimate, smoothed over several days. The network "
    "state's 7-day figure is the one hashdesk uses."
)


def economics(
    ctx: typer.Context,
    at: str = typer.Option(None, "--at", help="One UTC day, YYYY-MM-DD \\[default: latest day]."),
    start: str = typer.Option(None, "--from", help="First UTC day of a range, YYYY-MM-DD."),
    end: str = typer.Option(None, "--to", help="Last UTC day of a range, YYYY-MM-DD."),
    chart: Path = typer.Option(None, "--chart", help="Write hashprice over time (HTML) to FILE."),
    fmt: OutputFormat = format_option(),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Daily network economics: blocks, subsidy, fees, price, difficulty, hashprice [USD|BTC/PH/day].

    With --from/--to, csv and parquet export the daily series (a date column, units in the column
    names); with --at, the day and the network state as one row (dotted keys).
    """
    from hashdesk.cli.network import state_rows
    from hashdesk.economics.hashprice import row_record
    from hashdesk.economics.state import NetworkDataError

    if at and (start or end):
        fail("give either --at or --from/--to, not both")
    for name, val in (("--at", at), ("--from", start), ("--to", end)):
        parse_date(val, name)
    desk = desk_from_ctx(ctx)
    try:
        if start or end:
            table = desk.daily(start, end)
            if fmt == OutputFormat.json:
                emit([row_record(r) for _, r in table.iterrows()], fmt)
            else:
                cols = [c for c in RANGE_COLUMNS if c != "missing" or table["missing"].astype(bool).any()]
                emit(table, fmt, title=f"network economics {table['date'].min()} .. {table['date'].max()}",
                     columns=cols, what="the daily series")
                if "mixed_subsidy" in table:
                    for d, note in zip(table["date"][table["mixed_subsidy"].astype(bool)],
                                       table["subsidy_note"][table["mixed_subsidy"].astype(bool)], strict=True):
                        typer.echo(f"note {d}: {note}", err=True)
        else:
            day = at or str(desk.daily().dropna(subset=["hashprice_usd_per_ph_day"])["date"].iloc[-1])
            table = desk.daily(day, day)
            rec = row_record(table.iloc[-1])
            rec["hashrate_note"] = HASHRATE_NOTE
            state = desk.network_state(day).to_dict()
            if fmt != OutputFormat.table:
                emit({**rec, "network_state": state}, fmt, what="the day and the network state (one row)")
            else:
                rec["missing"] = ", ".join(rec["missing"]) or "none"
                emit(rec, fmt, title=f"network economics of the UTC day {rec['date']}")
                emit(state_rows(state), fmt, title=f"network state at {state['at']} (spot)")
    except NetworkDataError as exc:
        fail(str(exc))
    if chart is not None:
        from hashdesk.economics.charts import hashprice_figure

        write_chart(hashprice_figure(table), chart)


#: Columns of the stress epoch path shown in table format (JSON has all).
EPOCH_COLUMNS = [
    "epoch", "first_height", "last_height", "subsidy_btc_per_block", "difficulty",
    "difficulty_change_pct", "hashprice_usd_per_ph_day", "share_under_water", "online_hashrate_ehs",
    "start_day", "days",
]
#: Columns of the cost-curve tiers shown in table format (JSON has every source in full).
CURVE_COLUMNS = [
    "segment", "hashrate_share", "efficiency_j_per_th", "power_usd_per_kwh",
    "breakeven_hashprice_usd_per_ph_day", "status", "source",
]
#: The April 2024 halving day (block 840,000); the comparison windows leave this day out.
HALVING_2024 = "2024-04-20"


def _load_miner(desk, profile_path: Path, asics: list[Path] | None):
    """The profile resolved by the one fleet resolver (or ``fail`` naming file/field/model)."""
    from hashdesk.economics.fleet import CatalogueError, UnknownAsicError
    from hashdesk.economics.profile import ProfileError

    try:
        return desk.miner(profile_path, asics or [])
    except (ProfileError, CatalogueError, UnknownAsicError) as exc:
        fail(str(exc))


def _metric_rows(df) -> list[dict]:
    return [{"metric": k, **{c: df.at[k, c] for c in df.columns}} for k in df.index]


def profile(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Miner profile TOML (see examples/profiles/)."),
    at: str = typer.Option(None, "--at", help="Network state at the end of this UTC day \\[default: latest]."),
    window: int = typer.Option(1, "--window", min=1, help="Days of the daily series averaged, ending at --at "
                               "(1 = the network state's spot hashprice)."),
    halving: bool = typer.Option(
        False, "--halving",
        help="Side by side: N days before vs after the April 2024 halving (N = --window, 30 when 1).",
    ),
    asics: list[Path] = typer.Option(None, "--asics", help="Extra ASIC catalogue (CSV/TOML); repeatable."),
    fmt: OutputFormat = format_option(),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Unit economics of a miner profile: cost per BTC, margins, breakeven hashprice / power / BTC price."""
    import pandas as pd

    from hashdesk.economics.hashprice import network_window
    from hashdesk.economics.modelchain import side_by_side, unit_economics
    from hashdesk.economics.state import NetworkDataError

    desk = desk_from_ctx(ctx)
    miner = _load_miner(desk, file, asics)
    try:
        if halving:
            h = pd.Timestamp(HALVING_2024)
            days = window if window > 1 else 30
            table = desk.daily(None, (h + pd.Timedelta(days=days)).date())
            res = {}
            # the window before ends on 04-18: Coin Metrics' 04-19 already carries blocks 840,000-840,003
            for label, lo, hi in (("before_halving", h - pd.Timedelta(days=days + 1), h - pd.Timedelta(days=2)),
                                  ("after_halving", h + pd.Timedelta(days=1), h + pd.Timedelta(days=days))):
                w = network_window(table, lo, hi)
                res[label] = unit_economics(miner, w.hashprice_btc_per_th_day, w.price_usd, str(w.start), str(w.end))
            if fmt == OutputFormat.json:
                emit({"profile": miner.name, **res}, fmt)
            else:
                emit(_metric_rows(side_by_side(res)), fmt, row_kinds_from="metric",
                     title=f"{miner.name}: {days} days before vs after the {HALVING_2024} halving")
            return
        if at is None:
            at = str(desk.daily().dropna(subset=["hashprice_usd_per_ph_day"])["date"].iloc[-1])
        parse_date(at, "--at")
        ue, state = desk.unit_economics(miner, at, window)
    except (NetworkDataError, ValueError) as exc:
        fail(str(exc))
    rec = {"profile": miner.name, **ue.__dict__}
    if fmt == OutputFormat.json:
        emit({**rec, "network_state": state.to_dict()}, fmt)
    else:
        emit(rec, fmt, title=f"{miner.name}: unit economics {ue.start} .. {ue.end}")


def stress(
    ctx: typer.Context,
    price: float = typer.Option(None, "--price", help="BTC price [USD/BTC] \\[default: the close at --at]."),
    fees: float = typer.Option(None, "--fees", help="Fees per block [BTC] \\[default: the network state's "
                               "mean at --at]."),
    at: str = typer.Option(None, "--at", help="Network state at the end of this UTC day \\[default: latest]."),
    profile_file: Path = typer.Option(None, "--profile", help="Miner profile to stress across the halving."),
    asics: list[Path] = typer.Option(None, "--asics", help="Extra ASIC catalogue (CSV/TOML); repeatable."),
    curve_file: Path = typer.Option(None, "--curve", help="Network cost curve CSV \\[default: the shipped, "
                                    "sourced curve; the output names every tier's source]."),
    halving: bool = typer.Option(False, "--halving", help="Apply the next halving to the network, at its height."),
    halving_at: str = typer.Option("height", "--halving-at",
                                   help="height: the cut comes when the simulated chain reaches the halving "
                                        "height; now: every remaining block halved (what-if, for comparison)."),
    epochs: int = typer.Option(4, "--epochs", min=1, max=52, help="Epochs in the difficulty path."),
    hashrate_ehs: float = typer.Option(None, "--hashrate-ehs",
                                       help="Pre-shock hashrate [EH/s] \\[default: the network state's 7-day hashrate]."),
    chart: Path = typer.Option(None, "--chart", help="Write the cost curve and difficulty path (HTML) to FILE."),
    fmt: OutputFormat = format_option(),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Halving / price stress: hashrate under water, capitulation, difficulty response, miner margins.

    csv and parquet export the difficulty response (one row per epoch and subsidy segment).
    """
    from hashdesk.cli._common import console
    from hashdesk.economics.halving import StressInputError, read_cost_curve, stress_test
    from hashdesk.economics.modelchain import side_by_side
    from hashdesk.economics.state import NetworkDataError

    desk = desk_from_ctx(ctx)
    spec = _load_miner(desk, profile_file, asics) if profile_file is not None else None
    try:
        if at is None:
            at = str(desk.daily().dropna(subset=["hashprice_usd_per_ph_day"])["date"].iloc[-1])
        parse_date(at, "--at")
        state = desk.network_state(at)
        res = stress_test(state, price, fees, read_cost_curve(curve_file), halving, epochs, hashrate_ehs, spec,
                          halving_at=halving_at)
    except (StressInputError, NetworkDataError) as exc:
        fail(str(exc))
    miner = None
    if res.miner is not None:
        miner = {"profile": spec.name, "subsidy_before_btc": res.miner.subsidy_before_btc,
                 "subsidy_after_btc": res.miner.subsidy_after_btc,
                 "before": res.miner.before, "after": res.miner.after}
    if fmt == OutputFormat.json:
        emit({"network": res.network, "epochs": res.epochs, "cost_curve": res.cost_curve, "miner": miner,
              "network_state": state.to_dict()}, fmt)
    else:
        from rich.markup import escape

        emit(res.network, fmt, title="network at the stress inputs", primary=False)
        emit(res.epochs, fmt, columns=EPOCH_COLUMNS if fmt == OutputFormat.table else None,
             title="difficulty response (exact retarget rule on simulated timestamps; one row per epoch and subsidy)",
             what="the difficulty response (one row per epoch and subsidy segment)")
        cc = res.cost_curve
        emit(cc["tiers"], fmt, columns=CURVE_COLUMNS if fmt == OutputFormat.table else None, primary=False,
             title=f"network cost curve: {cc['origin']} (mean {cc['mean_efficiency_j_per_th']:.1f} J/TH)",
             what="the cost curve's tiers")
        if fmt == OutputFormat.table:
            console.print(f"[bold yellow]cost curve:[/] [yellow]{escape(cc['caveat'])}[/]")
            console.print("[dim]each tier's efficiency and power-price source: --format json (cost_curve.tiers)[/]")
        if res.miner is not None:
            emit(
                _metric_rows(side_by_side({"current_subsidy": res.miner.before, "after_halving": res.miner.after})),
                fmt, row_kinds_from="metric", primary=False,
                title=f"{spec.name} across the halving (difficulty, price and fees held)",
            )
    if chart is not None:
        from hashdesk.economics.charts import stress_figure

        write_chart(stress_figure(res), chart)


def register(app: typer.Typer) -> None:
    """Add the economics commands."""
    app.command()(economics)
    app.command()(profile)
    app.command()(stress)
