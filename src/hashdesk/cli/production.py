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
                      "verdict", "hashrate_ehs", "hashrate_kind", "measures", "pool_payout", "pool_fee_shown"]
PRODUCTION_LABELS = {"hashrate_kind": "kind", "pool_payout": "pool", "interval": "interval (95%)",
                     "measures": "verdict measures", "pool_fee_shown": "pool fee"}


def _production_view(rec):
    """The records with the realization interval as one display column (lo–hi)."""
    from hashdesk.economics.production import OPERATING_KINDS
    from hashdesk.fmt import fmt_value

    rows = rec.to_dict(orient="records")
    for r in rows:
        lo, hi = r.get("realization_lo"), r.get("realization_hi")
        r["interval"] = "—" if lo is None or hi is None or lo != lo or hi != hi else (
            f"{fmt_value(lo, 'ratio')}–{fmt_value(hi, 'ratio')}")
        r["measures"] = "—" if not r.get("verdict_measures") else (
            "luck" if r.get("hashrate_kind") in OPERATING_KINDS else "uptime + luck")
        fee, flo, fhi = r.get("pool_fee"), r.get("pool_fee_lo"), r.get("pool_fee_hi")
        r["pool_fee_shown"] = ("—" if fee is None or fee != fee else f"{100 * fee:g} %" if flo == fhi
                               else f"{100 * fee:g} % ({100 * flo:g}–{100 * fhi:g})")
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
    for ticker, basis, fee, fee_basis in rec.drop_duplicates("ticker")[
            ["ticker", "pool_basis", "pool_fee_words", "pool_fee_basis"]].itertuples(index=False):
        note(f"pool {ticker}: {basis}")
        note(f"pool fee {ticker}: {fee} — {fee_basis}", style="yellow")
    for b in sorted(set(rec.hashrate_basis) - {""}):
        note(f"hashrate: {b}")
    for m in sorted(set(rec.verdict_measures) - {""}):
        note(f"verdict measures {m}")


def shocks(
    ctx: typer.Context,
    date_from: str = typer.Option(None, "--from", help="First day, YYYY-MM-DD (UTC) \\[default: the source's "
                                  "first day]."),
    date_to: str = typer.Option(None, "--to", help="Last day, YYYY-MM-DD (UTC) \\[default: the source's last day]."),
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
    fmt: OutputFormat = format_option(),
    chart: Path = typer.Option(None, "--chart", help="Write an HTML chart to this file."),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Detect network hashrate drops, split their effect on a miner that stayed online, and (with
    --profile) compare mining through the shock with curtailing.

    csv and parquet export the shocks (one row per shock); the miner's split is in --format json.
    """
    from dataclasses import asdict

    from hashdesk.cli.economics import _load_miner
    from hashdesk.economics.shocks import ShockError, ShockParams, read_power_prices

    d0 = parse_date(date_from, "--from") if date_from is not None else None
    d1 = parse_date(date_to, "--to") if date_to is not None else None
    if d0 is not None and d1 is not None:
        check_range(d0, d1)
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
        out = rep.to_dict()
        if spec is not None:
            out["profile"] = spec.name
            out["mine_or_curtail"] = [{**asdict(d), "better": d.better, "rows": d.to_rows()} for d in decisions]
        emit(out, fmt)
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
    for dec in decisions:
        emit(dec.to_rows(), fmt, title=f"{spec.name}: mine or curtail, {dec.start}..{dec.end} ({dec.hours} h, "
                                       f"{dec.online_hashrate_ehs:g} EH/s online, {dec.energy_mwh:,.0f} MWh) [USD]",
             primary=False, what="the mine-or-curtail comparison")
        if fmt == OutputFormat.table:
            for line in dec.notes:
                note(line)
    for line in rep.notes:
        note(line, style="yellow")
    note(rep.method)


def register(app: typer.Typer) -> None:
    """Add ``production`` and ``shocks``."""
    app.command()(production)
    app.command()(shocks)
