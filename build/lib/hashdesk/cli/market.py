"""CLI of the market module: ``hashdesk market …`` and ``hashdesk check CLAIMS.yaml``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import pandas as pd
import typer

from hashdesk.cli._common import (
    OutputFormat,
    console,
    desk_from_ctx,
    emit,
    err_console,
    fail,
    parse_date,
    write_chart,
)
from hashdesk.market.returns import BTC, Frequency, MarketDataError

market_app = typer.Typer(
    help="Miners vs bitcoin: returns, risk, decoupling, events, factors, cohorts.",
    no_args_is_help=False,
)


class Benchmark(StrEnum):
    """Benchmark besides bitcoin (BTC is always measured)."""

    btc = "BTC-USD"
    wgmi = "WGMI"
    qqq = "QQQ"


class NonOperating(StrEnum):
    """What to do with SPAC / pre-merger dates."""

    exclude = "exclude"
    warn = "warn"


def _date(value: str | None, option: str) -> pd.Timestamp:
    return pd.Timestamp(parse_date(value, option, required=True))


def _tickers(value: str | None) -> list[str] | None:
    if value is None:
        return None
    out = [t.strip().upper() for t in value.split(",") if t.strip()]
    if not out:
        fail("--tickers: empty list")
    return out


def _warn(lines) -> None:
    for w in lines:
        err_console.print(f"[yellow]warning:[/] {w}")


#: Columns of the table view of ``hashdesk market`` (JSON has every field): key, label, scale.
_TABLE = [
    ("ticker", "ticker", 1),
    ("return", "ret [%]", 100),
    ("excess_return_vs_btc", "vs BTC \\[pp]", 100),
    ("beta_btc", "β BTC", 1),
    ("beta_btc_se", "β s.e.", 1),
    ("r2_btc", "R²", 1),
    ("beta_btc_adj", "β lead/lag", 1),
    ("beta_btc_weekly", "β weekly", 1),
    ("correlation_btc", "corr", 1),
    ("annual_volatility", "vol [%/yr½]", 100),
    ("max_drawdown", "maxDD [%]", 100),
    ("sharpe", "Sharpe", 1),
]


def _table_rows(records: list[dict], cols: list[tuple[str, str, float]]) -> list[dict]:
    """Scale (fractions → %) and round the chosen fields for display."""
    out = []
    for r in records:
        row = {}
        for key, label, scale in cols:
            v = r.get(key)
            row[label] = round(v * scale, 2) if isinstance(v, float) and v == v else v
        out.append(row)
    return out


@market_app.callback(invoke_without_command=True)
def market(
    ctx: typer.Context,
    start: str = typer.Option(None, "--from", help="First return date (YYYY-MM-DD)."),
    end: str = typer.Option(None, "--to", help="Last return date (YYYY-MM-DD, inclusive)."),
    tickers: str = typer.Option(None, "--tickers", help="Comma-separated tickers \\[default: miners + WGMI]."),
    benchmark: Benchmark = typer.Option(Benchmark.btc, "--benchmark", help="Extra benchmark (BTC is always measured)."),
    frequency: Frequency = typer.Option(Frequency.daily, "--frequency", help="daily (252/yr) or weekly Fri-Fri (52/yr)."),
    source: str = typer.Option("alpaca_iex", "--source", help="Equity price source: alpaca_iex or yfinance."),
    non_operating: NonOperating = typer.Option(NonOperating.exclude, "--non-operating", help="SPAC/pre-merger days."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format"),
    chart: Path = typer.Option(None, "--chart", help="Write a cumulative-return chart (HTML)."),
) -> None:
    """Per ticker vs BTC over a window: return, excess return, OLS/Dimson beta, correlation, risk.

    Returns are on each equity's exchange calendar with BTC (00:00 UTC fixing) compounded over
    the same intervals; statistics use simple returns, rf = 0, 252 periods/year (BTC's own row:
    every UTC day, 365).
    """
    if ctx.invoked_subcommand is not None:
        return
    from hashdesk.market.summary import DEFAULT_TICKERS, market_summary

    t0, t1 = _date(start, "--from"), _date(end, "--to")
    names = _tickers(tickers)
    strict = names is not None
    names = names or list(DEFAULT_TICKERS)
    benches = [BTC] if benchmark == Benchmark.btc else [BTC, benchmark.value]
    desk = desk_from_ctx(ctx)
    try:
        inputs = desk.market_inputs(names + benches[1:], t0, t1, equity_source=source)
        records, warnings = market_summary(
            inputs, names, t0, t1, benchmarks=benches, frequency=frequency,
            non_operating=non_operating.value, strict=strict,
        )
    except MarketDataError as exc:
        fail(str(exc))
    _warn(warnings)
    for r in records:
        _warn(r["warnings"])
    if chart is not None:
        _market_chart(inputs, records, t0, t1, frequency, non_operating.value, chart)
    if fmt == OutputFormat.json:
        emit(records, fmt)
        return
    cols = list(_TABLE)
    if benchmark != Benchmark.btc:
        s = benchmark.value.lower()
        cols += [(f"beta_{s}", f"β {benchmark.value}", 1), (f"excess_return_vs_{s}", f"vs {benchmark.value} \\[pp]", 100)]
    emit(_table_rows(records, cols), fmt, title=f"miners vs bitcoin {t0.date()}..{t1.date()} ({frequency.value}, simple returns)")


def _market_chart(inputs, records, t0, t1, frequency, non_operating, path: Path) -> None:
    from hashdesk.market.charts import cumulative_returns_figure
    from hashdesk.market.returns import cumulative_returns
    from hashdesk.market.summary import ticker_returns

    paths = {}
    for r in records:
        ar = ticker_returns(inputs, r["ticker"], t0, t1, frequency=frequency, non_operating=non_operating)
        paths[r["ticker"]] = cumulative_returns(ar.returns[r["ticker"]])
    fig = cumulative_returns_figure(paths, f"Cumulative return {t0.date()}..{t1.date()}")
    write_chart(fig, path)


def _inputs(ctx, tickers: list[str], t0, t1, source: str, lookback_days: int = 21):

    desk = desk_from_ctx(ctx)
    try:
        return desk, desk.market_inputs(tickers, t0, t1, equity_source=source, lookback_days=lookback_days)
    except MarketDataError as exc:
        fail(str(exc))


@market_app.command("rolling")
def rolling(
    ctx: typer.Context,
    start: str = typer.Option(None, "--from"),
    end: str = typer.Option(None, "--to"),
    tickers: str = typer.Option("MARA,RIOT,CLSK,WGMI", "--tickers"),
    benchmark: Benchmark = typer.Option(Benchmark.btc, "--benchmark"),
    window: int = typer.Option(60, "--window", help="Window [exchange days, or weeks if weekly]."),
    frequency: Frequency = typer.Option(Frequency.daily, "--frequency"),
    source: str = typer.Option("alpaca_iex", "--source"),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format"),
    chart: Path = typer.Option(None, "--chart", help="Write the rolling beta/correlation chart (HTML)."),
) -> None:
    """Rolling beta and correlation vs a benchmark (window ends on each date)."""
    from hashdesk.market.charts import rolling_figure
    from hashdesk.market.risk import rolling_beta_correlation
    from hashdesk.market.summary import ticker_returns

    t0, t1 = _date(start, "--from"), _date(end, "--to")
    names = _tickers(tickers)
    _, inputs = _inputs(ctx, names + [benchmark.value], t0, t1, source)
    frames = {}
    try:
        for t in names:
            ar = ticker_returns(inputs, t, t0, t1, benchmarks=[benchmark.value], frequency=frequency)
            _warn(ar.warnings)
            b = ar.returns[t] if t == benchmark.value else ar.returns[benchmark.value]
            frames[t] = rolling_beta_correlation(ar.returns[t], b, window)
    except MarketDataError as exc:
        fail(str(exc))
    write_chart(rolling_figure(frames, window, benchmark.value), chart)
    rows = [{"date": d.date(), "ticker": t, "beta": float(r.beta), "correlation": float(r.correlation)}
            for t, df in frames.items() for d, r in df.iterrows()]
    if fmt == OutputFormat.json:
        emit(rows, fmt)
    else:
        last = [{"ticker": t, "last window end": df.index[-1].date(), "beta": round(float(df.beta.iloc[-1]), 3),
                 "beta min": round(float(df.beta.min()), 3), "beta max": round(float(df.beta.max()), 3),
                 "corr": round(float(df.correlation.iloc[-1]), 3)} for t, df in frames.items()]
        emit(last, fmt, title=f"rolling {window}-period beta vs {benchmark.value} (JSON has every date)")


@market_app.command("decoupling")
def decoupling(
    ctx: typer.Context,
    start: str = typer.Option(None, "--from"),
    end: str = typer.Option(None, "--to"),
    tickers: str = typer.Option("MARA,RIOT,CLSK,WGMI", "--tickers", help="Tickers; '+' joins a basket, e.g. CORZ+IREN+WULF."),
    window: int = typer.Option(20, "--window", help="Trailing window [exchange days]."),
    k: float = typer.Option(2.0, "--k", help="Band half-width [sigmas]."),
    events_file: Path = typer.Option(None, "--events-file", help="Extra user events to join (YAML or CSV)."),
    source: str = typer.Option("alpaca_iex", "--source"),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format"),
    chart: Path = typer.Option(None, "--chart", help="Chart of the first ticker/basket (HTML)."),
) -> None:
    """Decoupling episodes: trailing cumulative residual vs BTC beta outside a k-sigma band,
    joined to retargets, the halving, hashrate shocks and reported production months."""
    from hashdesk.market.charts import decoupling_figure
    from hashdesk.market.decoupling import decoupling_episodes, join_events
    from hashdesk.market.events import load_event_file
    from hashdesk.market.factors import basket
    from hashdesk.market.summary import panel_returns, ticker_returns

    t0, t1 = _date(start, "--from"), _date(end, "--to")
    groups = [g.split("+") for g in _tickers(tickers)]
    desk, inputs = _inputs(ctx, sorted({m for g in groups for m in g}), t0, t1, source)
    events = desk.chain_events(t0, t1, sorted({m for g in groups for m in g}))
    rows, first = [], None
    try:
        if events_file is not None:
            events = pd.concat([events, load_event_file(events_file)], ignore_index=True)
        for g in groups:
            name = "+".join(g)
            if len(g) == 1:
                ar = ticker_returns(inputs, g[0], t0, t1)
                r = ar.returns[g[0]]
            else:
                ar = panel_returns(inputs, g, t0, t1)
                r = basket(ar.returns[g])
            _warn(ar.warnings)
            res = decoupling_episodes(r, ar.returns[BTC], window=window, k=k, name=name)
            eps = join_events(res.episodes, events, tickers=g)
            first = first or (res, eps)
            for e in eps.to_dict(orient="records"):
                rows.append({"ticker": name, "beta_btc": res.beta, **e})
    except MarketDataError as exc:
        fail(str(exc))
    if first is not None and chart is not None:
        write_chart(decoupling_figure(first[0].path, first[0].episodes, first[0].name, k), chart)
    if fmt == OutputFormat.json:
        emit(rows, fmt)
        return
    show = [{"ticker": r["ticker"], "start": r["start"], "end": r["end"], "dir": r["direction"],
             "size [%]": round(100 * r["size"], 1), "peak z": round(r["peak_z"], 2),
             "events": "; ".join(r["events"][:4]) + (f" (+{len(r['events']) - 4})" if len(r["events"]) > 4 else "")}
            for r in rows]
    emit(show, fmt, title=f"decoupling episodes (|{window}-day residual| > {k:g}σ), {t0.date()}..{t1.date()}")


@market_app.command("events")
def events_cmd(
    ctx: typer.Context,
    start: str = typer.Option(None, "--from"),
    end: str = typer.Option(None, "--to"),
    tickers: str = typer.Option("MARA,RIOT,CLSK,WGMI", "--tickers"),
    kinds: str = typer.Option("halving,retarget", "--kinds", help="halving, retarget, hashrate_shock (comma list)."),
    min_retarget_pct: float = typer.Option(5.0, "--min-retarget", help="Large retarget threshold [%]."),
    events_file: Path = typer.Option(None, "--events-file", help="User events (YAML or CSV: date, description[, kind, ticker])."),
    pre: int = typer.Option(5, "--pre", help="Days before day 0 [exchange days]."),
    post: int = typer.Option(5, "--post", help="Days after day 0 [exchange days]."),
    estimation: int = typer.Option(120, "--estimation", help="Estimation window [exchange days]."),
    source: str = typer.Option("alpaca_iex", "--source"),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format"),
    chart: Path = typer.Option(None, "--chart", help="CAR paths of the first ticker (HTML)."),
) -> None:
    """Event study: market-model (vs BTC) abnormal returns and CARs with t-statistics."""
    from hashdesk.market.charts import car_figure
    from hashdesk.market.events import (
        event_study,
        halving_events,
        load_event_file,
        retarget_events,
        shock_events,
    )
    from hashdesk.market.summary import ticker_returns

    t0, t1 = _date(start, "--from"), _date(end, "--to")
    names = _tickers(tickers)
    lookback = int((estimation + pre + 20) * 1.5)
    desk, inputs = _inputs(ctx, names, t0, t1, source, lookback_days=lookback)
    wanted = {k.strip() for k in kinds.split(",") if k.strip()}
    bad = wanted - {"halving", "retarget", "hashrate_shock"}
    if bad:
        fail(f"--kinds: unknown kind(s) {sorted(bad)}")
    parts = []
    if "halving" in wanted:
        parts.append(halving_events(desk.halvings(desk.at_unix(t1.date()))))
    if "retarget" in wanted:
        parts.append(retarget_events(desk.retargets(t0, t1), min_abs_change_pct=min_retarget_pct))
    if "hashrate_shock" in wanted:
        parts.append(shock_events(desk.hashrate_shocks(t0, t1)))
    try:
        if events_file is not None:
            parts.append(load_event_file(events_file))
    except MarketDataError as exc:
        fail(str(exc))
    ev = pd.concat([p for p in parts if not p.empty], ignore_index=True) if any(not p.empty for p in parts) else None
    if ev is None:
        fail("no events selected")
    ev = ev[(ev.date >= t0) & (ev.date <= t1)].sort_values("date")
    if ev.empty:
        fail(f"no events between {t0.date()} and {t1.date()}")
    rows, summary, first = [], [], None
    for t in names:
        try:
            ar = ticker_returns(inputs, t, t0 - pd.Timedelta(days=lookback), t1)
            own = ev[ev.ticker.isna() | (ev.ticker == t)]
            st = event_study(ar.returns[t], ar.returns[BTC], own, pre=pre, post=post, estimation=estimation, name=t)
        except MarketDataError as exc:
            _warn([str(exc)])
            continue
        _warn(st.skipped)
        first = first or st
        for r in st.table.to_dict(orient="records"):
            rows.append({"ticker": t, **r})
        summary.append({"ticker": t, "events": len(st.table), "mean CAR [%]": round(100 * st.mean_car, 2),
                        "t (cross-section, N≥3)": round(st.mean_car_t, 2), "t (pooled)": round(st.pooled_car_t, 2)})
    if not rows:
        fail("no event could be studied (see warnings)")
    if chart is not None and first is not None:
        write_chart(car_figure(first.paths, f"{first.name}: CAR vs BTC market model"), chart)
    if fmt == OutputFormat.json:
        emit({"events": rows, "summary": summary}, fmt)
        return
    emit([{"ticker": r["ticker"], "event": r["event"], "day 0": r["day0"], "β": round(r["beta"], 2),
           "CAR [%]": round(100 * r["car"], 2), "t": round(r["car_t"], 2), "p": round(r["car_p"], 3)} for r in rows],
         fmt, title=f"event study [-{pre}, +{post}] vs BTC market model ({estimation}-day estimation)")
    emit(summary, fmt, title="mean CAR across events")


@market_app.command("factors")
def factors_cmd(
    ctx: typer.Context,
    start: str = typer.Option(None, "--from"),
    end: str = typer.Option(None, "--to"),
    tickers: str = typer.Option("MARA,RIOT,CLSK,CORZ,IREN,WULF,CIFR,HUT,WGMI", "--tickers"),
    ai_factor: str = typer.Option("QQQ", "--ai-factor", help="AI/tech factor: a ticker, or a '+' basket."),
    window: int = typer.Option(60, "--window", help="Rolling window [exchange days]."),
    source: str = typer.Option("alpaca_iex", "--source"),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format"),
    chart: Path = typer.Option(None, "--chart", help="Rolling exposures of the first ticker (HTML)."),
) -> None:
    """Two-factor regression on BTC and an AI/tech factor, whole window and rolling."""
    from hashdesk.market.charts import factor_figure
    from hashdesk.market.factors import basket, factor_regression
    from hashdesk.market.summary import ticker_returns

    t0, t1 = _date(start, "--from"), _date(end, "--to")
    names = _tickers(tickers)
    ai = _tickers(ai_factor.replace("+", ","))
    ai_name = "ai" if len(ai) > 1 else ai[0].lower()
    _, inputs = _inputs(ctx, names + ai, t0, t1, source)
    rows, first = [], None
    for t in names:
        try:
            ar = ticker_returns(inputs, t, t0, t1, benchmarks=[BTC, *ai])
            f = basket(ar.returns[ai]) if len(ai) > 1 else ar.returns[ai[0]]
            res = factor_regression(ar.returns[t], pd.DataFrame({"btc": ar.returns[BTC], ai_name: f}),
                                    window=window, name=t)
        except MarketDataError as exc:
            _warn([str(exc)])
            continue
        first = first or res
        rec = {"ticker": t, **res.full}
        if not res.rolling.empty:
            rec["beta_btc_first_window"] = float(res.rolling["beta_btc"].iloc[0])
            rec["beta_btc_last_window"] = float(res.rolling["beta_btc"].iloc[-1])
            rec[f"beta_{ai_name}_first_window"] = float(res.rolling[f"beta_{ai_name}"].iloc[0])
            rec[f"beta_{ai_name}_last_window"] = float(res.rolling[f"beta_{ai_name}"].iloc[-1])
        rows.append(rec)
    if not rows:
        fail("no ticker could be regressed (see warnings)")
    if chart is not None and first is not None:
        write_chart(factor_figure(first.rolling, first.name, list(first.factors)), chart)
    if fmt == OutputFormat.json:
        emit(rows, fmt)
        return
    emit([{"ticker": r["ticker"], "β BTC": round(r["beta_btc"], 2), "s.e.": round(r["beta_btc_se"], 2),
           f"β {ai_name.upper()}": round(r[f"beta_{ai_name}"], 2), "s.e. ": round(r[f"beta_{ai_name}_se"], 2),
           "R²": round(r["r_squared"], 2),
           f"β {ai_name.upper()} first→last window": f"{r.get(f'beta_{ai_name}_first_window', float('nan')):.2f}→{r.get(f'beta_{ai_name}_last_window', float('nan')):.2f}"}
          for r in rows], fmt, title=f"two-factor regression (BTC, {ai_factor}) {t0.date()}..{t1.date()}, rolling {window}")


@market_app.command("cohorts")
def cohorts_cmd(
    ctx: typer.Context,
    start: str = typer.Option(None, "--from"),
    end: str = typer.Option(None, "--to"),
    cohort: list[str] = typer.Option(None, "--cohort", help="NAME=T1,T2,… (repeat; default pure_play vs hpc_pivot)."),
    source: str = typer.Option("alpaca_iex", "--source"),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format"),
    chart: Path = typer.Option(None, "--chart", help="Cumulative cohort and spread paths (HTML)."),
) -> None:
    """Equal-weight cohorts (e.g. pure-play vs HPC-pivot), their stats vs BTC and their spread."""
    from hashdesk.market.charts import cumulative_returns_figure
    from hashdesk.market.cohorts import DEFAULT_COHORTS, cohort_analysis
    from hashdesk.market.summary import panel_returns

    t0, t1 = _date(start, "--from"), _date(end, "--to")
    groups: dict[str, list[str]] = {}
    for c in cohort or []:
        name, _, members = c.partition("=")
        if not name.strip() or not members.strip():
            fail(f"--cohort {c!r}: use NAME=T1,T2,…")
        groups[name.strip()] = _tickers(members)
    groups = groups or {k: list(v) for k, v in DEFAULT_COHORTS.items()}
    members = sorted({m for g in groups.values() for m in g})
    _, inputs = _inputs(ctx, members, t0, t1, source)
    try:
        ar = panel_returns(inputs, members, t0, t1)
        res = cohort_analysis(ar.returns[members], ar.returns[BTC], groups, periods_per_year=ar.periods_per_year)
    except MarketDataError as exc:
        fail(str(exc))
    _warn(ar.warnings)
    if chart is not None:
        write_chart(cumulative_returns_figure({c: res.cumulative[c] for c in res.cumulative.columns},
                                               "Cohorts and spread (equal weight, rebalanced daily)"), chart)
    if fmt == OutputFormat.json:
        emit(res.table, fmt)
        return
    emit([{"cohort": r["cohort"], "members": r["members"], "ret [%]": round(100 * r["return"], 1),
           "vs BTC \\[pp]": round(100 * r["excess_return_vs_btc"], 1) if "excess_return_vs_btc" in r else None,
           "β BTC": round(r.get("beta_btc", 1.0), 2), "corr": round(r.get("correlation_btc", 1.0), 2),
           "vol [%/yr½]": round(100 * r["annual_volatility"], 1), "maxDD [%]": round(100 * r["max_drawdown"], 1)}
          for r in res.table], fmt, title=f"cohorts {t0.date()}..{t1.date()}")


def check(
    ctx: typer.Context,
    claims_file: Path = typer.Argument(..., help="Claims YAML (see docs/market.md#claim-checks)."),
    source: str = typer.Option("alpaca_iex", "--source"),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format"),
) -> None:
    """Check narrative claims (YAML) against the data: supported / contradicted / not enough data."""
    from functools import partial

    from hashdesk.market.claims import ClaimError, check_claims, load_claims, results_table

    try:
        claims = load_claims(claims_file)
    except ClaimError as exc:
        fail(str(exc))
    desk = desk_from_ctx(ctx)
    results = check_claims(claims, partial(desk.market_inputs, equity_source=source))
    if fmt == OutputFormat.json:
        emit(results, fmt)
        return
    emit(results_table(results), fmt, title=f"claims in {claims_file}")
    for r in results:
        console.print(f"[bold]{r.id}[/]: {r.text} → [bold]{r.verdict}[/]")


def register(app: typer.Typer) -> None:
    """Add ``market`` (with subcommands) and ``check``."""
    app.add_typer(market_app, name="market")
    app.command("check")(check)
