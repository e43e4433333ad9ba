"""``hashdesk forward`` and ``hashdesk hedge``: the model-implied hashprice forward curve and a miner's hedge."""

from __future__ import annotations

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

_AT_HELP = "Start: the end of this UTC day, YYYY-MM-DD \\[default: the last day with a hashprice]."
_QUOTES_HELP = ("CSV of quoted forwards with a header month,price: month YYYY-MM, price [USD/PH/day]. "
                "Adds the implied risk premium (quote − model mean) and the quote's percentile.")

#: Table view of the curve: column → (label, kind); hashprices in USD/PH/day (said in the title).
CURVE_VIEW: dict[str, tuple[str, str]] = {
    "month": ("month", "text"),
    "mean_usd_per_ph_day": ("mean", "usd_ph_day"),
    "median_usd_per_ph_day": ("median", "usd_ph_day"),
    "p05": ("5 %", "usd_ph_day"),
    "p25": ("25 %", "usd_ph_day"),
    "p75": ("75 %", "usd_ph_day"),
    "p95": ("95 %", "usd_ph_day"),
    "median_btc_per_ph_day": ("BTC/PH/day", "btc_ph_day"),
    "subsidy_btc": ("subsidy [BTC]", "btc"),
    "retargets_expected": ("retargets", "ratio"),
}
#: Table view of the quotes.
QUOTES_VIEW: dict[str, tuple[str, str]] = {
    "month": ("month", "text"),
    "quote_usd_per_ph_day": ("quote [USD/PH/day]", "usd_ph_day"),
    "mean_usd_per_ph_day": ("model mean [USD/PH/day]", "usd_ph_day"),
    "premium_usd_per_ph_day": ("premium [USD/PH/day]", "usd_ph_day"),
    "premium_pct": ("premium [%]", "pct_value"),
    "quote_percentile": ("percentile [%]", "pct_value"),
}


def _progress_bar(fmt: OutputFormat, label: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn(f"[bold]{label}[/] chunks"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True,
                    disable=fmt != OutputFormat.table or not console.is_terminal)


def _inputs(chart: Path | None, at: str | None, quotes: Path | None):
    """The two commands' checked inputs: the start date and the quotes (None without a file);
    a missing chart directory or a bad quotes file exits 2 naming it."""
    from hashdesk.scenario.forward import QuoteError, read_quotes

    if chart is not None and not chart.parent.is_dir():
        fail(f"--chart: directory {chart.parent} does not exist")
    start = parse_date(at, "--at")
    try:
        return start, (None if quotes is None else read_quotes(quotes))
    except QuoteError as exc:
        fail(str(exc))


def _errors():
    from hashdesk.economics.fleet import CatalogueError, UnknownAsicError
    from hashdesk.economics.profile import ProfileError
    from hashdesk.economics.state import NetworkDataError
    from hashdesk.scenario.executors import ExecutorError
    from hashdesk.scenario.paths import ScenarioInputError

    return (ProfileError, CatalogueError, UnknownAsicError, ScenarioInputError, NetworkDataError, ExecutorError)


def _view(df, view: dict[str, tuple[str, str]]):
    cols = [c for c in view if c in df.columns]
    return df[cols], {c: view[c][0] for c in cols}, {c: view[c][1] for c in cols}


def forward(
    ctx: typer.Context,
    at: str = typer.Option(None, "--at", help=_AT_HELP),
    months: int = typer.Option(12, "--months", min=1, max=120, help="Months of the curve."),
    scenarios: int = typer.Option(100_000, "--scenarios", "-n", min=1, help="Number of scenarios."),
    seed: int = typer.Option(0, "--seed", min=0, help="Root seed; same seed → same curve on any executor."),
    workers: int = typer.Option(1, "--workers", min=1, help="Local processes."),
    chunk_size: int = typer.Option(16384, "--chunk-size", min=1, help="Scenarios per chunk (part of the seed's identity)."),
    quotes: Path = typer.Option(None, "--quotes", help=_QUOTES_HELP, dir_okay=False),
    chart: Path = typer.Option(None, "--chart", help="Write an HTML fan chart of the curve here."),
    fmt: OutputFormat = format_option(),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Hashprice forward curve: per month, the distribution of the month-average hashprice [USD, BTC /PH/day].

    From the scenario engine (models fitted on the history known at --at): mean, median and
    5/25/75/95 % per month, with the drivers (halving and subsidy, expected retargets, fees per
    block). json gives one row per month (month, mean_usd_per_ph_day, median_usd_per_ph_day,
    p05, p25, p75, p95, the BTC figures and the drivers); csv and parquet export the same rows.
    """
    start, q = _inputs(chart, at, quotes)
    desk = desk_from_ctx(ctx)
    try:
        with _progress_bar(fmt, "forward") as bar:
            task = bar.add_task("chunks", total=None)
            curve = desk.forward_curve(start, months, scenarios, seed, quotes=q, workers=workers,
                                       chunk_size=chunk_size,
                                       progress=lambda d, t: bar.update(task, completed=d, total=t))
        realized = desk.forward_realized(curve) if chart is not None else None
    except _errors() as exc:
        fail(str(exc))
    finally:
        desk.close()
    if chart is not None:
        write_chart(_fan(curve, realized), chart)
    if curve.unmatched_quotes:
        note(f"quotes for months not on the curve (ignored): {', '.join(curve.unmatched_quotes)}", style="yellow")
    if fmt != OutputFormat.table:
        st = curve.start
        note(f"forward curve from the end of {_day_before(st['date'])} ({curve.n_scenarios:,} scenarios, seed "
             f"{curve.seed}); start hashprice {st['hashprice_usd_per_ph_day']:,.2f} USD/PH/day")
        emit(curve.records() if fmt == OutputFormat.json else curve.rows, fmt, what="the forward curve (one row per month)")
        return
    st = curve.start
    table, labels, kinds = _view(curve.rows, CURVE_VIEW)
    emit(table, fmt, labels=labels, kinds=kinds,
         title=f"hashprice forward curve from the end of {_day_before(st['date'])} ({curve.n_scenarios:,} "
               f"scenarios, seed {curve.seed}): month averages [USD/PH/day]; BTC/PH/day = median in BTC; "
               "retargets = expected count")
    if q is not None:
        qt, ql, qk = _view(curve.rows[curve.rows["quote_usd_per_ph_day"].notna()], QUOTES_VIEW)
        emit(qt, fmt, labels=ql, kinds=qk, title="quotes vs the model: implied risk premium")
    emit(_drivers(curve), fmt, title="drivers", kinds={"start": "text", "halving": "text", "price model": "text",
                                                     "fee model": "text", "hashrate growth [%/year]": "pct_value"})
    for line in curve.drivers.get("model_notes", []):
        note(line, style="")
    if chart is not None:
        note(f"fan chart: {chart}", style="")


def _day_before(iso: str) -> str:
    from datetime import date, timedelta

    return (date.fromisoformat(iso) - timedelta(days=1)).isoformat()


def _fan(curve, realized):
    from hashdesk.scenario.charts import forward_fan_figure

    return forward_fan_figure(curve, realized)


def _drivers(curve) -> dict:
    d, st = curve.drivers, curve.start
    price = d.get("price", {})
    fees = d["fees"]
    halving = (f"height {d['halving_height']:,}: {d['subsidy_btc_now']:g} → {d['subsidy_btc_after_halving']:g} BTC, "
               f"most likely in {d['halving_month_most_likely']} (P within the curve "
               f"{100 * d['p_halving_within_horizon']:.0f} %)" if d["halving_month_most_likely"]
               else f"height {d['halving_height']:,}: after the curve ({d['subsidy_btc_now']:g} BTC throughout)")
    return {
        "start": f"tip {st['tip_height']:,}, bits {st['bits']}",
        "hashprice at start [USD/PH/day]": st["hashprice_usd_per_ph_day"],
        "BTC price at start [USD]": st["price_usd"],
        "hashrate at start [EH/s]": st["hashrate_ehs"],
        "halving": halving,
        "fee model": (f"{fees['base_sats_per_block'] / 1e8:.3f} BTC/block at 600-s blocks × (interval/600 s)^"
                      f"{fees['interval_elasticity']:.2f}"),
        "hashrate growth [%/year]": 100 * d["hashrate"]["growth_per_year"],
        "price model": f"{price.get('model', '?')} ({price.get('window', '')})",
    }


def hedge(
    ctx: typer.Context,
    miner: Path = typer.Option(..., "--miner", help="Miner profile TOML (fleet, power, pool)."),
    at: str = typer.Option(None, "--at", help=_AT_HELP),
    ratio: float = typer.Option(1.0, "--ratio", min=0.0, help="Share of expected production sold forward, e.g. 0.5."),
    months: int = typer.Option(12, "--months", min=1, max=120, help="Months hedged."),
    quotes: Path = typer.Option(None, "--quotes", help="CSV month,price [USD/PH/day]: quoted months are hedged "
                                "at the quote, the others at the model mean.", dir_okay=False),
    scenarios: int = typer.Option(50_000, "--scenarios", "-n", min=1, help="Number of scenarios (each run twice: "
                                  "moments, then distributions)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Root seed."),
    workers: int = typer.Option(1, "--workers", min=1, help="Local processes."),
    chunk_size: int = typer.Option(16384, "--chunk-size", min=1, help="Scenarios per chunk."),
    chart: Path = typer.Option(None, "--chart", help="Write an HTML chart of the monthly margins here."),
    fmt: OutputFormat = format_option(),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """A miner's margin unhedged and hedged with a hashprice swap, on the same scenarios.

    Per month the miner receives R × expected PH-days × (forward − realised month-average
    hashprice); the forward is the quote or the model mean. Shows the monthly and total margin
    (mean, std, 5 %/median/95 %, P(margin < 0), 5 % CVaR) for each leg and the variance-minimising
    ratio R*. csv and parquet export the monthly rows; json has everything.
    """
    start, q = _inputs(chart, at, quotes)
    desk = desk_from_ctx(ctx)
    try:
        with _progress_bar(fmt, "hedge") as bar:
            task = bar.add_task("chunks", total=None)
            res = desk.hedge(miner, start, months, ratio, scenarios, seed, quotes=q, workers=workers,
                             chunk_size=chunk_size, progress=lambda d, t: bar.update(task, completed=d, total=t))
    except _errors() as exc:
        fail(str(exc))
    finally:
        desk.close()
    if chart is not None:
        from hashdesk.scenario.charts import hedge_figure

        write_chart(hedge_figure(res), chart)
    if res.unmatched_quotes:
        note(f"quotes for months not hedged (ignored): {', '.join(res.unmatched_quotes)}", style="yellow")
    if fmt == OutputFormat.json:
        emit(res.to_dict(), fmt)
        return
    if fmt != OutputFormat.table:
        emit(res.monthly, fmt, what="the monthly rows (unhedged and hedged)")
        return
    t = res.totals
    emit({
        "miner": res.miner,
        "start": _day_before(res.start["date"]),
        "ratio R": res.ratio,
        "variance-minimising ratio R*": res.min_var_ratio,
        "total margin std, unhedged [USD]": float(t["std_usd"].iloc[0]),
        f"total margin std at R = {res.ratio:g} [USD]": float(t["std_usd"].iloc[1]),
        "total margin std at R* [USD]": float(t["std_usd"].iloc[2]),
        "std reduction at R* [%]": 100 * res.std_reduction(),
        "scenarios (paired)": res.n_scenarios,
    }, fmt, title=f"hashprice hedge over {len(res.monthly)} months",
        kinds={"miner": "text", "start": "text", "ratio R": "ratio", "variance-minimising ratio R*": "ratio",
               "std reduction at R* [%]": "pct_value", "scenarios (paired)": "int"})
    emit(t.drop(columns=["ratio"]), fmt, title="total margin over the horizon",
         labels={"leg": "leg", "mean_usd": "mean [USD]", "std_usd": "std [USD]", "p05_usd": "5 % [USD]",
                 "median_usd": "median [USD]", "p95_usd": "95 % [USD]", "p_negative": "P(< 0) [%]",
                 "cvar05_usd": "CVaR 5 % [USD]", "hedge_payoff_mean_usd": "hedge payoff mean [USD]"},
         kinds={"leg": "text", "p_negative": "share"})
    m = res.monthly
    cols = ["month", "forward_usd_per_ph_day", "unhedged_std_usd", "hedged_std_usd", "unhedged_p_negative",
            "hedged_p_negative", "min_var_ratio", "forward_source"]
    emit(m[cols], fmt,
         title=f"monthly margin, unhedged vs hedged at R = {res.ratio:g}: forward [USD/PH/day], std [USD], "
               "P<0 [%] (CVaR and quantiles: --format csv/json)",
         labels={"month": "month", "forward_usd_per_ph_day": "forward", "unhedged_std_usd": "std unhedged",
                 "hedged_std_usd": "std hedged", "unhedged_p_negative": "P<0 unhedged",
                 "hedged_p_negative": "P<0 hedged", "unhedged_cvar05_usd": "CVaR unhedged",
                 "hedged_cvar05_usd": "CVaR hedged", "min_var_ratio": "R*", "forward_source": "forward from"},
         kinds={"month": "text", "forward_usd_per_ph_day": "usd_ph_day", "unhedged_std_usd": "usd",
                "hedged_std_usd": "usd", "unhedged_p_negative": "share", "hedged_p_negative": "share",
                "unhedged_cvar05_usd": "usd", "hedged_cvar05_usd": "usd", "min_var_ratio": "ratio",
                "forward_source": "text"})
    if chart is not None:
        note(f"chart: {chart}", style="")


def register(app: typer.Typer) -> None:
    """Add the ``forward`` and ``hedge`` commands."""
    app.command()(forward)
    app.command()(hedge)
