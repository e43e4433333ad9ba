"""CLI commands ``production`` (expected vs reported BTC) and ``shocks`` (hashrate drops)."""

from __future__ import annotations

from pathlib import Path

import typer

from hashdesk.cli._common import (
    OutputFormat,
    check_range,
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

#: Columns of the production table (JSON, CSV and Parquet have every field).
PRODUCTION_COLUMNS = ["ticker", "month", "btc_reported", "btc_expected", "realization", "interval",
                      "verdict", "hashrate_ehs", "hashrate_kind", "pool_payout"]
PRODUCTION_LABELS = {"hashrate_kind": "kind", "pool_payout": "pool", "interval": "interval (95%)"}


def _production_view(rec):
    """The records with the realization interval as one display column (lo–hi)."""
    from hashdesk.fmt import fmt_value

    rows = rec.to_dict(orient="records")
    for r in rows:
        lo, hi = r.get("realization_lo"), r.get("realization_hi")
        r["interval"] = "—" if lo is None or hi is None or lo != lo or hi != hi else (
            f"{fmt_value(lo, 'ratio')}–{fmt_value(hi, 'ratio')}")
    return rows


_SHOCK_LABELS = {
    "baseline_ehs": "baseline [EH/s]",
    "trough_date": "trough day",
    "trough_ehs": "trough 3-day [EH/s]",
    "depth_ehs": "depth [EH/s]",
    "depth_pct": "depth [%]",
    "trough_daily_ehs": "lowest day [EH/s]",
    "shortfall_eh_days": "shortfall [EH/s·day]",
    "energy_curtailed_mwh": "energy curtailed [MWh]",
    "efficiency_j_per_th": "at [J/TH]",
}


def _parse_pools(specs: list[str]):
    """``T=own`` / ``T=fpps`` / ``T=fpps:0.02`` → {ticker: PoolModel}."""
    from hashdesk.economics.production import DEFAULT_POOL_MODELS, Payout, PoolModel

    models = dict(DEFAULT_POOL_MODELS)
    for spec in specs:
        ticker, _, rest = spec.partition("=")
        payout, _, fee = rest.partition(":")
        try:
            models[ticker.strip().upper()] = PoolModel(
                Payout(payout.strip().lower()), float(fee) if fee else 0.0, f"user: --pool {spec}"
            )
        except ValueError as exc:
            fail(f"--pool {spec!r}: expected TICKER=own|fpps[:FEE] with FEE in [0, 1) ({exc})")
    return models


def production(
    ctx: typer.Context,
    miner: list[str] = typer.Option(None, "--miner", help="Ticker (repeatable) \\[default: all]."),
    month_from: str = typer.Option(None, "--from", help="First month, YYYY-MM."),
    month_to: str = typer.Option(None, "--to", help="Last month, YYYY-MM."),
    kind: str = typer.Option(
        None, "--kind", help="Use only this hashrate kind (average_operating, deployed, ...)."
    ),
    pool: list[str] = typer.Option(
        None, "--pool", help="Pool model override, e.g. RIOT=own or CLSK=fpps:0.02 (repeatable)."
    ),
    complete: bool = typer.Option(
        False, "--complete", help="Only months with both reported BTC and a hashrate."
    ),
    fmt: OutputFormat = format_option(),
    chart: Path = typer.Option(None, "--chart", help="Write an HTML chart to this file."),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Expected vs reported monthly BTC per miner: realization, its interval and a verdict."""
    from hashdesk.data.production import ProductionDataError
    from hashdesk.economics.production import ProductionError
    from hashdesk.economics.state import NetworkDataError

    check_range(month_from, month_to)
    desk = desk_from_ctx(ctx)
    try:
        rec = desk.production(miner or None, month_from, month_to, _parse_pools(pool or []), kind)
    except (ProductionError, ProductionDataError, NetworkDataError) as exc:
        msg = str(exc)
        if "months with data" not in msg:
            from hashdesk.data.production import months

            have = months(desk.reader(None))
            msg += f" (the store's production months: {have[0]}..{have[-1]})" if have else \
                " (the store has no production rows: run `hashdesk ingest`)"
        fail(msg)
    if complete:
        rec = rec.dropna(subset=["realization"]).reset_index(drop=True)
    if chart is not None:
        from hashdesk.economics.charts_production import production_figure

        write_chart(production_figure(rec), chart)
    if fmt != OutputFormat.table:
        emit(rec, fmt, what="expected vs reported production (one row per ticker and month)")
        return
    emit(_production_view(rec), fmt, columns=PRODUCTION_COLUMNS, labels=PRODUCTION_LABELS,
         kinds={"btc_reported": "num", "btc_expected": "num"},
         title="Expected vs reported production (interval: 95% luck × hashrate-kind band)")
    for ticker, basis in rec.drop_duplicates("ticker")[["ticker", "pool_basis"]].itertuples(index=False):
        note(f"pool {ticker}: {basis}")
    for b in sorted(set(rec.hashrate_basis) - {""}):
        note(f"hashrate: {b}")


def shocks(
    ctx: typer.Context,
    date_from: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD (UTC)."),
    date_to: str = typer.Option(..., "--to", help="Last day, YYYY-MM-DD (UTC)."),
    source: str = typer.Option("coinmetrics", "--source", help="coinmetrics | mempool.space"),
    window_days: int = typer.Option(28, "--window", help="Baseline: trailing median window [days]."),
    threshold_pct: float = typer.Option(10.0, "--threshold", help="Drop below baseline [%]."),
    efficiency: float = typer.Option(
        25.0, "--efficiency", help="Fleet efficiency of curtailed machines [J/TH]."
    ),
    miner_ehs: float = typer.Option(
        10.0, "--miner-ehs", help="Hashrate of a miner that stayed online [EH/s]."
    ),
    profile: Path = typer.Option(
        None, "--profile", help="Miner profile TOML (fleet hashrate and demand-response credits)."
    ),
    fmt: OutputFormat = format_option(),
    chart: Path = typer.Option(None, "--chart", help="Write an HTML chart to this file."),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Detect network hashrate drops and split their effect on a miner that stayed online.

    csv and parquet export the shocks (one row per shock); the miner's split is in --format json.
    """
    from hashdesk.cli.economics import _load_miner
    from hashdesk.economics.shocks import ShockError, ShockParams

    d0, d1 = parse_date(date_from, "--from"), parse_date(date_to, "--to")
    check_range(d0, d1)
    desk = desk_from_ctx(ctx)
    spec = _load_miner(desk, profile, None) if profile is not None else None
    try:
        params = ShockParams(window_days=window_days, threshold=threshold_pct / 100,
                             efficiency_j_per_th=efficiency)
        rep = desk.shocks(d0, d1, params, source=source, miner_ehs=miner_ehs, miner=spec)
    except ShockError as exc:
        msg = str(exc)
        if msg.startswith("no "):
            from hashdesk.data.network import coverage

            first, last = coverage(desk.reader(None))["network_daily"]
            if first is not None:
                msg += f" (the store's daily network series covers {first}..{last})"
        fail(msg)
    if chart is not None:
        from hashdesk.economics.charts_production import shock_figure

        write_chart(shock_figure(rep.daily, rep.shocks_frame(), title=rep.title), chart)
    if fmt == OutputFormat.json:
        emit(rep.to_dict(), fmt)
        return
    shocks_frame = rep.shocks_frame()
    if shocks_frame.empty and fmt == OutputFormat.table:
        note(f"{rep.title}: no hashrate shock found", style="yellow")
    else:
        emit(shocks_frame, fmt, title=rep.title, labels=_SHOCK_LABELS,
             what="the hashrate shocks (one row per shock)")
    for effect in rep.effects:
        emit(effect.to_rows(), fmt, title=f"miner that stayed online: shock {effect.start}..{effect.end}",
             row_kinds_from="component", primary=False)
        if fmt == OutputFormat.table:
            for line in effect.notes:
                note(line)
    for line in rep.notes:
        note(line, style="yellow")
    note(rep.method)


def register(app: typer.Typer) -> None:
    """Add ``production`` and ``shocks``."""
    app.command()(production)
    app.command()(shocks)
