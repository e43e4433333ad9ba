"""CLI commands ``production`` (expected vs reported BTC) and ``shocks`` (hashrate drops)."""

from __future__ import annotations

from pathlib import Path

import typer

from hashdesk.cli._common import (
    OutputFormat,
    console,
    desk_from_ctx,
    emit,
    fail,
    parse_date,
    write_chart,
)


def _production_table(rec):
    """Compact, formatted rows for the terminal (JSON keeps every field at full precision)."""
    from hashdesk.economics.production import OPERATING_KINDS

    def num(v, digits):
        return "—" if v is None or v != v else f"{v:,.{digits}f}"

    return [
        {
            "ticker": r.ticker,
            "month": r.month,
            "reported [BTC]": num(r.btc_reported, 0),
            "expected [BTC]": num(r.btc_expected, 1),
            "realization": num(r.realization, 3),
            "interval": "—" if r.realization_lo is None or r.realization_lo != r.realization_lo
            else f"{r.realization_lo:.3f}–{r.realization_hi:.3f}",
            "verdict": r.verdict,
            "hashrate [EH/s]": num(r.hashrate_ehs, 2),
            "kind": r.hashrate_kind,
            "measures": "—" if not r.verdict_measures else
            ("luck" if r.hashrate_kind in OPERATING_KINDS else "uptime + luck"),
            "pool": r.pool_payout,
            "pool fee": ("—" if r.pool_fee is None else f"{100 * r.pool_fee:g} %" if r.pool_fee_lo == r.pool_fee_hi
                         else f"{100 * r.pool_fee:g} % ({100 * r.pool_fee_lo:g}–{100 * r.pool_fee_hi:g})"),
        }
        for r in rec.itertuples()
    ]


_SHOCK_COLUMNS = {
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
    """``T=own`` / ``T=fpps`` / ``T=fpps:0.02`` / ``T=fpps:0.01-0.03`` → {ticker: PoolModel}
    (a range keeps its midpoint as the fee shown and widens the interval to the range)."""
    from hashdesk.economics.production import DEFAULT_POOL_MODELS, Payout, PoolModel

    models = dict(DEFAULT_POOL_MODELS)
    for spec in specs:
        ticker, _, rest = spec.partition("=")
        payout, _, fee = rest.partition(":")
        try:
            lo_s, dash, hi_s = fee.partition("-")
            lo = float(lo_s) if fee else 0.0
            hi = float(hi_s) if dash else lo
            models[ticker.strip().upper()] = PoolModel(
                Payout(payout.strip().lower()), (lo + hi) / 2, f"user: --pool {spec}", lo, hi,
                f"user: --pool {spec}",
            )
        except ValueError as exc:
            fail(f"--pool {spec!r}: expected TICKER=own|fpps[:FEE or LO-HI] with fees in [0, 1) ({exc})")
    return models


def production(
    ctx: typer.Context,
    miner: list[str] = typer.Option(None, "--miner", help="Ticker (repeatable) [default: all]."),
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
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format"),
    chart: Path = typer.Option(None, "--chart", help="Write an HTML chart to this file."),
) -> None:
    """Expected vs reported monthly BTC per miner: realization, its interval and a verdict."""
    from hashdesk.data.production import ProductionDataError
    from hashdesk.economics.production import ProductionError
    from hashdesk.economics.state import NetworkDataError

    desk = desk_from_ctx(ctx)
    try:
        rec = desk.production(miner or None, month_from, month_to, _parse_pools(pool or []), kind)
    except (ProductionError, ProductionDataError, NetworkDataError) as exc:
        fail(str(exc))
    if complete:
        rec = rec.dropna(subset=["realization"]).reset_index(drop=True)
    if chart is not None:
        from hashdesk.economics.charts_production import production_figure

        write_chart(production_figure(rec), chart)
    if fmt == OutputFormat.json:
        emit(rec, fmt)
        return
    emit(_production_table(rec), fmt,
         title="Expected vs reported production (interval: 95% luck × hashrate-kind band)")
    from rich.markup import escape

    for ticker, basis, fee, fee_basis in rec.drop_duplicates("ticker")[
            ["ticker", "pool_basis", "pool_fee_words", "pool_fee_basis"]].itertuples(index=False):
        console.print(f"[dim]pool {ticker}: {escape(basis)}[/]")
        console.print(f"[yellow]pool fee {ticker}: {escape(fee)} — {escape(fee_basis)}[/]")
    for b in sorted(set(rec.hashrate_basis) - {""}):
        console.print(f"[dim]hashrate: {escape(b)}[/]")
    for m in sorted(set(rec.verdict_measures) - {""}):
        console.print(f"[dim]verdict measures {escape(m)}[/]")


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
        None, "--profile", help="Miner profile TOML: its fleet, power price and demand-response credits; "
                                "adds the mine-or-curtail comparison."
    ),
    power_prices: Path = typer.Option(
        None, "--power-prices", help="Hourly power prices CSV (date, hour [UTC, 0-23], usd_per_kwh) covering "
                                     "the shock; default: the profile's fixed price. Needs --profile."
    ),
    power_basis: str = typer.Option(
        "resale", "--power-basis", help="With --power-prices: resale (contract price paid, curtailed power "
                                        "sold at the hour's price) or spot (the miner buys at the hour's price)."
    ),
    dr_usd: float = typer.Option(
        None, "--dr-usd", help="Demand-response credits over each shock [USD] [default: the profile's "
                               "annual credits pro rata]."
    ),
    dr_basis: str = typer.Option(
        "curtailment", "--dr-basis", help="curtailment (credits only when curtailed) or availability "
                                          "(paid whether or not the grid calls)."
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format"),
    chart: Path = typer.Option(None, "--chart", help="Write an HTML chart to this file."),
) -> None:
    """Detect network hashrate drops, split their effect on a miner that stayed online, and (with
    --profile) compare mining through the shock with curtailing."""
    from dataclasses import asdict

    from rich.markup import escape

    from hashdesk.cli.economics import _load_miner
    from hashdesk.economics.shocks import ShockError, ShockParams, read_power_prices

    d0, d1 = parse_date(date_from, "--from"), parse_date(date_to, "--to")
    if profile is None and (power_prices is not None or dr_usd is not None):
        fail("--power-prices and --dr-usd need --profile (the fleet whose decision they value)")
    desk = desk_from_ctx(ctx)
    spec = _load_miner(desk, profile, None) if profile is not None else None
    decisions = []
    try:
        params = ShockParams(window_days=window_days, threshold=threshold_pct / 100,
                             efficiency_j_per_th=efficiency)
        if spec is None:
            rep = desk.shocks(d0, d1, params, source=source, miner_ehs=miner_ehs)
        else:
            prices = read_power_prices(power_prices) if power_prices is not None else None
            rep, decisions = desk.shocks_mine_or_curtail(d0, d1, spec, params, source, prices, power_basis,
                                                         dr_usd, dr_basis)
    except ShockError as exc:
        fail(str(exc))
    if chart is not None:
        from hashdesk.economics.charts_production import shock_figure

        write_chart(shock_figure(rep.daily, rep.shocks_frame(), title=rep.title), chart)
    if fmt == OutputFormat.json:
        out = rep.to_dict()
        if spec is not None:
            out["profile"] = spec.name
            out["mine_or_curtail"] = [{**asdict(d), "better": d.better, "rows": d.to_rows()} for d in decisions]
        emit(out, fmt)
        return
    emit(rep.shocks_frame().rename(columns=_SHOCK_COLUMNS), fmt, title=rep.title)
    for effect in rep.effects:
        rows = [{k: f"{v:.6g}" if isinstance(v, float) else v for k, v in r.items()}
                for r in effect.to_rows()]
        emit(rows, fmt, title=f"miner that stayed online: shock {effect.start}..{effect.end}")
        for note in effect.notes:
            console.print(f"[dim]{escape(note)}[/]")
    for dec in decisions:
        rows = [{k: f"{v:,.0f}" if isinstance(v, float) and k != "line" and abs(v) >= 100 else
                 (f"{v:.4g}" if isinstance(v, float) else v) for k, v in r.items()} for r in dec.to_rows()]
        emit(rows, fmt, title=f"{spec.name}: mine or curtail, {dec.start}..{dec.end} ({dec.hours} h, "
                              f"{dec.online_hashrate_ehs:g} EH/s online, {dec.energy_mwh:,.0f} MWh) [USD]")
        for note in dec.notes:
            console.print(f"[dim]{escape(note)}[/]")
    for note in rep.notes:
        console.print(f"[yellow]{escape(note)}[/]")
    console.print(f"[dim]{escape(rep.method)}[/]")


def register(app: typer.Typer) -> None:
    """Add ``production`` and ``shocks``."""
    app.command()(production)
    app.command()(shocks)
