"""``hashdesk simulate``: Monte Carlo of price, hashrate, fees and exact retargets for a miner."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

import typer

from hashdesk.cli._common import (
    OutputFormat,
    console,
    desk_from_ctx,
    emit,
    err_console,
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


#: Scenarios per start of ``simulate --backtest`` (fixed seed; ~1 minute on a 2-core box).
BACKTEST_SCENARIOS: int = 2000

#: Labels of the backtest's summary table.
BACKTEST_LABELS = {
    "label": "horizon",
    "n_starts": "starts",
    "coverage_50": "in 50 % band [%]",
    "coverage_90": "in 90 % band [%]",
    "coverage_90_interval": "90 % band: sampling interval [%]",
    "median_error": "median error [%]",
    "median_bias": "median bias [%]",
}


class FitOptionsArgs(NamedTuple):
    """The model options of ``simulate`` (shared by a run and ``--backtest``)."""

    price_model: str
    price_years: float
    drift: float | None
    vol: float | None
    growth: float | None
    no_shocks: bool
    no_capitulation: bool
    capitulation_j_per_th: float | None = None
    capitulation_usd_per_kwh: float | None = None

    def build(self):
        """The :class:`~hashdesk.scenario.fit.FitOptions` these options give (raises
        :class:`~hashdesk.scenario.paths.ScenarioInputError` on conflicting or bad options)."""
        from hashdesk.scenario.fit import FitOptions
        from hashdesk.scenario.paths import CapitulationModel, ScenarioInputError

        given = [(flag, name, value) for flag, name, value in (
            ("--capitulation-j-per-th", "marginal_efficiency_j_per_th", self.capitulation_j_per_th),
            ("--capitulation-usd-per-kwh", "power_usd_per_kwh", self.capitulation_usd_per_kwh)) if value is not None]
        for flag, _, value in given:
            if not value > 0:
                raise ScenarioInputError(f"{flag}: must be > 0, got {value:g}")
        flags = ", ".join(flag for flag, _, _ in given)
        cap = {}
        if self.no_capitulation:
            if given:
                raise ScenarioInputError(f"{flags}: not with --no-capitulation")
            cap = {"capitulation": None}
        elif given:
            cap = {"capitulation": CapitulationModel().set_by_user(flags, **{name: v for _, name, v in given})}
        return FitOptions(
            price_model=self.price_model, price_years=self.price_years, drift_per_year=self.drift,
            vol_per_year=self.vol, growth_per_year=self.growth,
            **({"shocks": None} if self.no_shocks else {}), **cap,
        )


def simulate(
    ctx: typer.Context,
    miner: Path = typer.Option(None, "--miner", help="Miner profile TOML (fleet, power, pool)."),
    horizon: str = typer.Option("2y", "--horizon", help="Horizon in months or years: 18m, 2y."),
    scenarios: int = typer.Option(None, "--scenarios", "-n", help="Number of scenarios \\[default: 10,000; "
                                  f"with --backtest {BACKTEST_SCENARIOS:,} per start]."),
    executor: Executor = typer.Option(Executor.local, "--executor"),
    scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://host:8786); "
                                  "without it --executor dask starts a local cluster."),
    workers: int = typer.Option(1, "--workers", help="Local processes (--executor local)."),
    seed: int = typer.Option(0, "--seed", help="Root seed; same seed → same result on any executor."),
    at: str = typer.Option(None, "--at", help="Start: the end of this UTC day, YYYY-MM-DD \\[default: the last day with a hashprice]."),
    price_model: PriceModelName = typer.Option(PriceModelName.bootstrap, "--price-model"),
    price_years: float = typer.Option(4.0, "--price-years", help="Price fitting window before --at [years]."),
    drift: float = typer.Option(None, "--drift", help="Expected BTC price return [1/year] (bootstrap and GBM) "
                                "\\[default: 0, no drift]."),
    vol: float = typer.Option(None, "--vol", help="GBM volatility override [1/sqrt(year)], >= 0."),
    growth: float = typer.Option(None, "--growth", help="Hashrate trend override [1/year], e.g. 0.3."),
    no_shocks: bool = typer.Option(False, "--no-shocks", help="Disable curtailment shocks."),
    no_capitulation: bool = typer.Option(False, "--no-capitulation", help="Disable the cost-curve capitulation."),
    capitulation_j_per_th: float = typer.Option(
        None, "--capitulation-j-per-th", help="Capitulation: the marginal fleet's efficiency [J/TH] "
        "\\[default: 25, an assumption, not sourced]."),
    capitulation_usd_per_kwh: float = typer.Option(
        None, "--capitulation-usd-per-kwh", help="Capitulation: the marginal fleet's power price [USD/kWh] "
        "\\[default: 0.05, an assumption, not sourced]."),
    capex_usd: float = typer.Option(0.0, "--capex-usd", help="Investment to recover for time-to-breakeven [USD]."),
    chunk_size: int = typer.Option(16384, "--chunk-size", help="Scenarios per chunk (part of the seed's identity)."),
    fmt: OutputFormat = format_option(),
    chart: Path = typer.Option(None, "--chart", help="Write an HTML fan chart here."),
    backtest: bool = typer.Option(False, "--backtest", help="Backtest the model instead: month-end starts, each "
                                  "fitted as of its day, against the realised difficulty after 1, 3 and 6 "
                                  "retargets and hashprice on day 30 and 90."),
    start_from: str = typer.Option(None, "--from", help="--backtest: first start (its month's end), YYYY-MM-DD "
                                   "\\[default: 2022-01-31]."),
    start_to: str = typer.Option(None, "--to", help="--backtest: last start, YYYY-MM-DD \\[default: the last day "
                                 "with a hashprice less 90 days]."),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Simulate price, hashrate, fees and exact retargets; summarise a miner's months.

    csv and parquet export the monthly quantiles (one row per metric and month, with its first
    UTC day). --executor dask needs the dask extra: pip install 'hashdesk[dask]'.

    --backtest scores the default model (or the model options given) on rolling month-end starts:
    per horizon the coverage of the 50 % and 90 % bands and the median error (json: per horizon
    coverage_50, coverage_90, median_error; csv/parquet: one row per horizon).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from hashdesk.economics.fleet import CatalogueError, UnknownAsicError
    from hashdesk.economics.profile import ProfileError
    from hashdesk.economics.state import NetworkDataError
    from hashdesk.scenario.charts import fan_chart_figure
    from hashdesk.scenario.engine import parse_horizon
    from hashdesk.scenario.executors import ExecutorError
    from hashdesk.scenario.executors import simulate as run
    from hashdesk.scenario.fit import model_notes
    from hashdesk.scenario.paths import ScenarioInputError

    if chart is not None and not chart.parent.is_dir():
        fail(f"--chart: directory {chart.parent} does not exist")
    start_date = parse_date(at, "--at")
    if vol is not None and vol < 0:
        fail(f"--vol: volatility must be >= 0, got {vol}")
    if backtest:
        for given, name in ((miner, "--miner"), (chart, "--chart"), (at, "--at")):
            if given is not None:
                fail(f"{name} does not apply to --backtest (it scores the network model on many starts)")
        _backtest(ctx, scenarios or BACKTEST_SCENARIOS, seed, start_from, start_to, FitOptionsArgs(
            price_model.value, price_years, drift, vol, growth, no_shocks, no_capitulation,
            capitulation_j_per_th, capitulation_usd_per_kwh), fmt)
        return
    if start_from is not None or start_to is not None:
        fail("--from/--to apply to --backtest only (use --at for a simulation's start)")
    scenarios = 10_000 if scenarios is None else scenarios
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
        opts = FitOptionsArgs(price_model.value, price_years, drift, vol, growth, no_shocks, no_capitulation,
            capitulation_j_per_th, capitulation_usd_per_kwh).build()
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
    for line in model_notes(models):
        note(line, style="")
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


def _backtest(ctx: typer.Context, scenarios: int, seed: int, start_from: str | None, start_to: str | None,
              args: FitOptionsArgs, fmt: OutputFormat) -> None:
    """``simulate --backtest``: run :meth:`hashdesk.desk.Desk.scenario_backtest` and show its figures."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from hashdesk.economics.state import NetworkDataError
    from hashdesk.scenario.paths import ScenarioInputError

    first = parse_date(start_from, "--from")
    last = parse_date(start_to, "--to")
    if first is not None and last is not None and last < first:
        fail(f"--to {last} is before --from {first}")
    desk = desk_from_ctx(ctx)
    t0 = time.perf_counter()
    try:
        with Progress(
            TextColumn("[bold]backtest[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=err_console, transient=True, disable=not err_console.is_terminal,
        ) as bar:
            task = bar.add_task("starts", total=None)

            def tick(done: int, total: int, day) -> None:
                bar.update(task, completed=done, total=total, description=f"start {day}")

            res = desk.scenario_backtest(first or "2022-01-31", last, scenarios=scenarios, seed=seed,
                                         options=args.build(), progress=tick)
    except (ScenarioInputError, NetworkDataError) as exc:
        fail(str(exc))
    finally:
        desk.close()
    wall = time.perf_counter() - t0
    if not len(res.rows):
        fail("--backtest: no start could be scored (" + "; ".join(f"{s['start']}: {s['reason']}" for s in res.skipped[:3])
             + ")")
    settings = {**res.settings, "wall_s": wall}
    if fmt == OutputFormat.json:
        emit({"horizons": res.summary, "settings": settings, "skipped": res.skipped, "starts": res.rows}, fmt)
        return
    table = [{"horizon": k, **v} for k, v in res.summary.items()]
    if fmt != OutputFormat.table:
        emit(table, fmt, what="the backtest summary (one row per horizon)")
        return
    shown = [{**r, "coverage_90_interval": "{:.0f}–{:.0f}".format(*(100 * x for x in r["coverage_90_interval"]))}
             for r in table]
    n_starts = len(res.models)
    emit(shown, fmt, columns=list(BACKTEST_LABELS), labels=BACKTEST_LABELS,
         kinds={"coverage_50": "share", "coverage_90": "share", "median_error": "pct_value",
                "median_bias": "pct_value", "coverage_90_interval": "text", "label": "text", "n_starts": "int"},
         title=f"scenario backtest: {n_starts} month-end starts {res.settings['starts'][0]} .. "
               f"{res.settings['starts'][-1]}, {scenarios:,} scenarios each (seed {seed})")
    note(f"{settings['price_drift']}; coverage = share of starts whose outcome fell in the simulated band "
         "(50 %: q25–q75, 90 %: q05–q95; calibrated ≈ 50 % and 90 %); median error = median over starts of "
         "|simulated median / realised − 1|; bias = the same, signed; sampling interval: moving-block "
         f"bootstrap over starts. {len(res.skipped_starts)} start(s) skipped; "
         f"{wall:.0f} s.", style="dim")
    if caps := settings["capitulation"]:
        note("capitulation: " + (caps if isinstance(caps, str) else "; ".join(caps)), style="dim")


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command."""
    app.command()(simulate)
