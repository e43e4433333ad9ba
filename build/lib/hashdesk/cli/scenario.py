"""``hashdesk simulate``: Monte Carlo of price, hashrate, fees and exact retargets for a miner."""

from __future__ import annotations

from enum import StrEnum
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


class Executor(StrEnum):
    """Where chunks run."""

    local = "local"
    dask = "dask"


class PriceModelName(StrEnum):
    """Price path model."""

    bootstrap = "bootstrap"
    gbm = "gbm"


def simulate(
    ctx: typer.Context,
    miner: Path = typer.Option(None, "--miner", help="Miner profile TOML (fleet, power, pool)."),
    horizon: str = typer.Option("2y", "--horizon", help="Horizon in months or years: 18m, 2y."),
    scenarios: int = typer.Option(10_000, "--scenarios", "-n", help="Number of scenarios."),
    executor: Executor = typer.Option(Executor.local, "--executor"),
    scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://host:8786); "
                                  "without it --executor dask starts a local cluster."),
    workers: int = typer.Option(1, "--workers", help="Local processes (--executor local)."),
    seed: int = typer.Option(0, "--seed", help="Root seed; same seed → same result on any executor."),
    at: str = typer.Option(None, "--at", help="Start: the end of this UTC day, YYYY-MM-DD \\[default: the last day with a hashprice]."),
    price_model: PriceModelName = typer.Option(PriceModelName.bootstrap, "--price-model"),
    price_years: float = typer.Option(4.0, "--price-years", help="Price fitting window before --at [years]."),
    drift: float = typer.Option(None, "--drift", help="GBM drift override [1/year]."),
    vol: float = typer.Option(None, "--vol", help="GBM volatility override [1/sqrt(year)], >= 0."),
    growth: float = typer.Option(None, "--growth", help="Hashrate trend override [1/year], e.g. 0.3."),
    no_shocks: bool = typer.Option(False, "--no-shocks", help="Disable curtailment shocks."),
    no_capitulation: bool = typer.Option(False, "--no-capitulation", help="Disable the cost-curve capitulation."),
    capex_usd: float = typer.Option(0.0, "--capex-usd", help="Investment to recover for time-to-breakeven [USD]."),
    chunk_size: int = typer.Option(16384, "--chunk-size", help="Scenarios per chunk (part of the seed's identity)."),
    fmt: OutputFormat = format_option(),
    chart: Path = typer.Option(None, "--chart", help="Write an HTML fan chart here."),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Simulate price, hashrate, fees and exact retargets; summarise a miner's months.

    csv and parquet export the monthly quantiles (one row per metric and month, with its first
    UTC day). --executor dask needs the dask extra: pip install 'hashdesk[dask]'.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from hashdesk.economics.fleet import CatalogueError, UnknownAsicError
    from hashdesk.economics.profile import ProfileError
    from hashdesk.economics.state import NetworkDataError
    from hashdesk.scenario.charts import fan_chart_figure
    from hashdesk.scenario.engine import parse_horizon
    from hashdesk.scenario.executors import ExecutorError
    from hashdesk.scenario.executors import simulate as run
    from hashdesk.scenario.fit import FitOptions
    from hashdesk.scenario.paths import ScenarioInputError

    if chart is not None and not chart.parent.is_dir():
        fail(f"--chart: directory {chart.parent} does not exist")
    start_date = parse_date(at, "--at")
    if vol is not None and vol < 0:
        fail(f"--vol: volatility must be >= 0, got {vol}")
    if executor == Executor.dask:
        from hashdesk.scenario.executors import require_dask

        try:
            require_dask()
        except ExecutorError as exc:
            fail(str(exc))
    desk = desk_from_ctx(ctx)
    try:
        months = parse_horizon(horizon)
        m = desk.miner(miner) if miner is not None else None
        opts = FitOptions(
            price_model=price_model.value, price_years=price_years, drift_per_year=drift, vol_per_year=vol,
            growth_per_year=growth,
            **({"shocks": None} if no_shocks else {}),
            **({"capitulation": None} if no_capitulation else {}),
        )
        spec, models, state = desk.scenario_spec(months, start_date, miner=m, options=opts, capex_usd=capex_usd)
    except (ProfileError, CatalogueError, UnknownAsicError, ScenarioInputError, NetworkDataError) as exc:
        fail(str(exc))
    finally:
        desk.close()
    with Progress(
        TextColumn("[bold]simulate[/] chunks"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True, disable=fmt != OutputFormat.table or not console.is_terminal,
    ) as bar:
        task = bar.add_task("chunks", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            summary = run(spec, scenarios, seed=seed, executor=executor.value, workers=workers,
                          scheduler=scheduler, chunk_size=chunk_size, progress=tick, models=models)
        except (ExecutorError, ScenarioInputError) as exc:
            fail(str(exc))
    if chart is not None:
        write_chart(fan_chart_figure(summary), chart)
    if fmt == OutputFormat.json:
        emit({
            "n_scenarios": summary.n_scenarios, "seed": summary.seed, "horizon_months": months,
            "start": summary.start, "network_state": state.to_dict(), "models": summary.models,
            "risk": summary.risk,
            "monthly": summary.monthly, "retargets": summary.retargets,
            **({"chart": str(chart)} if chart else {}),
        }, fmt)
        return
    if fmt != OutputFormat.table:
        emit(summary.monthly, fmt, what="the monthly quantiles (one row per metric and month)")
        return
    emit(summary.start, fmt, title="start state", kinds={"time_unix": "datetime", "source": "text"},
         labels={"time_unix": "time (UTC)", "fees_sats_per_block": "fees [sats/block]"})
    table = summary.monthly[summary.monthly.metric.isin(
        ["price_usd", "hashprice_usd_per_ph_day", "margin_usd", "btc_mined"])]
    last = table.month.max()
    pick = table[table.month.isin(sorted({1, 3, 6, 12, 24, last} & set(range(1, last + 1))))]
    emit(pick.drop(columns=["mean"]), fmt, row_kinds_from="metric",
         labels={"month_start": "month start (UTC)", "month": "month"}, kinds={"month": "int"},
         title=f"monthly quantiles ({summary.n_scenarios:,} scenarios, seed {seed})")
    emit(summary.retargets.head(6)[["retarget", "height", "day_q05", "day_q50", "day_q95",
                                    "change_pct_q05", "change_pct_q50", "change_pct_q95"]],
         fmt, title="first retargets (day after start, difficulty change [%])",
         labels={"day_q05": "day q05", "day_q50": "day q50", "day_q95": "day q95"},
         kinds={"retarget": "int", "day_q05": "days", "day_q50": "days", "day_q95": "days"})
    if summary.risk:
        r = summary.risk
        share = "share"
        emit({
            "P(margin < 0 over horizon) [%]": r["p_negative_margin_horizon"],
            "P(margin < 0 in last month) [%]": r["p_negative_margin_by_month"][-1],
            "capex [USD]": r["capex_usd"],
            "P(breakeven within horizon) [%]": r["p_breakeven_within_horizon"],
            "breakeven month q05/q50/q95": f"{r['breakeven_month_q05']}/{r['breakeven_month_q50']}/{r['breakeven_month_q95']}",
            "total margin q05 [USD]": r["horizon_totals"]["margin_usd"]["q05"],
            "total margin q50 [USD]": r["horizon_totals"]["margin_usd"]["q50"],
            "total margin q95 [USD]": r["horizon_totals"]["margin_usd"]["q95"],
            "total BTC q50 [BTC]": r["horizon_totals"]["btc_mined"]["q50"],
        }, fmt, title="miner risk", kinds={"P(margin < 0 over horizon) [%]": share,
                                            "P(margin < 0 in last month) [%]": share,
                                            "P(breakeven within horizon) [%]": share})
    if chart is not None:
        note(f"fan chart: {chart}", style="")


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command."""
    app.command()(simulate)
