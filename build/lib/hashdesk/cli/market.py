"""CLI of the market module: ``hashdesk market …`` and ``hashdesk check CLAIMS.yaml``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from hashdesk.cli._common import (
    OutputFormat,
    check_range,
    console,
    desk_from_ctx,
    emit,
    err_console,
    fail,
    format_option,
    out_option,
    parse_date,
    wide_option,
    write_chart,
)

#: Bitcoin's ticker in the store (``hashdesk.market.returns.BTC``; kept here so that building the
#: CLI does not import pandas).
BTC = "BTC-USD"


class Frequency(StrEnum):
    """Sampling of the return series (``hashdesk.market.returns.Frequency``)."""

    daily = "daily"
    weekly = "weekly"


def _freq(value: Frequency):
    from hashdesk.market.returns import Frequency as DomainFrequency

    return DomainFrequency(value.value)


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


def _date(value: str | None, option: str):
    import pandas as pd

    return pd.Timestamp(parse_date(value, option, required=True))


def _range(start: str | None, end: str | None):
    """``--from``/``--to`` as timestamps; exit 2 when missing, malformed or reversed."""
    t0, t1 = _date(start, "--from"), _date(end, "--to")
    check_range(t0.date(), t1.date())
    return t0, t1


def _market_fail(ctx, exc: Exception, tickers: list[str] | None = None) -> None:
    """Exit 2 with a market-data error and, when the window was empty, the prices that exist."""
    msg = str(exc)
    if "no " in msg and ("between" in msg or "returns" in msg):
        try:
            from hashdesk.data.markets import price_coverage

            cov = price_coverage(desk_from_ctx(ctx).reader(None), sorted({*(tickers or []), BTC}))
            if cov:
                have = "; ".join(f"{t} {a}..{b}" for t, (a, b) in cov.items())
                msg += f" (prices in the store: {have})"
        except Exception:  # noqa: BLE001 - the message is a courtesy; the error stands without it
            pass
    fail(msg)


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


#: Columns of the table view of ``hashdesk market`` (JSON, CSV and Parquet have every field).
_TABLE = {
    "ticker": "ticker",
    "return": "ret [%]",
    "excess_return_vs_btc": "vs BTC [pp]",
    "beta_btc": "β BTC",
    "beta_btc_se": "β s.e.",
    "r2_btc": "R²",
    "beta_btc_adj": "β lead/lag",
    "beta_btc_weekly": "β weekly",
    "correlation_btc": "corr",
    "annual_volatility": "vol [%/yr½]",
    "max_drawdown": "maxDD [%]",
    "sharpe": "Sharpe",
}
#: Formats of the market tables: fractions as percent, statistics with two decimals.
_KINDS = {"return": "pct", "excess_return_vs_btc": "pct", "annual_volatility": "share",
          "max_drawdown": "share", "size": "pct", "car": "pct", "mean_car": "pct",
          "excess_return_vs_wgmi": "pct", "excess_return_vs_qqq": "pct"}


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
    fmt: OutputFormat = format_option(),
    chart: Path = typer.Option(None, "--chart", help="Write a cumulative-return chart (HTML)."),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Per ticker vs BTC over a window: return, excess return, OLS/Dimson beta, correlation, risk.

    Returns are on each equity's exchange calendar with BTC (00:00 UTC fixing) compounded over
    the same intervals; statistics use simple returns, rf = 0, 252 periods/year (BTC's own row:
    every UTC day, 365).
    """
    if ctx.invoked_subcommand is not None:
        return
    from hashdesk.market.returns import MarketDataError
    from hashdesk.market.summary import DEFAULT_TICKERS, market_summary

    t0, t1 = _range(start, end)
    frequency = _freq(frequency)
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
        _market_fail(ctx, exc, names)
    _warn(warnings)
    for r in records:
        _warn(r["warnings"])
    if chart is not None:
        _market_chart(inputs, records, t0, t1, frequency, non_operating.value, chart)
    if fmt != OutputFormat.table:
        emit(records, fmt, what="one row per ticker")
        return
    labels = dict(_TABLE)
    if benchmark != Benchmark.btc:
        b = benchmark.value.lower()
        labels.update({f"beta_{b}": f"β {benchmark.value}", f"excess_return_vs_{b}": f"vs {benchmark.value} [pp]"})
    emit(records, fmt, columns=list(labels), labels=labels, kinds=_KINDS,
         title=f"miners vs bitcoin {t0.date()}..{t1.date()} ({frequency.value}, simple returns)")


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
    from hashdesk.market.returns import MarketDataError

    desk = desk_from_ctx(ctx)
    try:
        return desk, desk.market_inputs(tickers, t0, t1, equity_source=source, lookback_days=lookback_days)
    except MarketDataError as exc:
        _market_fail(ctx, exc, tickers)


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
    fmt: OutputFormat = format_option(),
    chart: Path = typer.Option(None, "--chart", help="Write the rolling beta/correlation chart (HTML)."),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Rolling beta and correlation vs a benchmark (window ends on each date).

    The table shows each ticker's last window and range; json, csv and parquet have every date.
    """
    from hashdesk.market.charts import rolling_figure
    from hashdesk.market.returns import MarketDataError
    from hashdesk.market.risk import rolling_beta_correlation
    from hashdesk.market.summary import ticker_returns

    t0, t1 = _range(start, end)
    frequency = _freq(frequency)
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
        _market_fail(ctx, exc, names)
    write_chart(rolling_figure(frames, window, benchmark.value), chart)
    rows = [{"date": d.date(), "ticker": t, "beta": float(r.beta), "correlation": float(r.correlation)}
            for t, df in frames.items() for d, r in df.iterrows()]
    if fmt != OutputFormat.table:
        emit(rows, fmt, what="rolling beta and correlation (one row per date and ticker)")
    else:
        last = [{"ticker": t, "last window end": df.index[-1].date(), "beta": float(df.beta.iloc[-1]),
                 "beta min": float(df.beta.min()), "beta max": float(df.beta.max()),
                 "corr": float(df.correlation.iloc[-1])} for t, df in frames.items() if len(df)]
        emit(last, fmt, kinds={"beta": "ratio", "beta min": "ratio", "beta max": "ratio", "corr": "ratio"},
             title=f"rolling {window}-period beta vs {benchmark.value} (json/csv have every date)")


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
    fmt: OutputFormat = format_option(),
    chart: Path = typer.Option(None, "--chart", help="Chart of the first ticker/basket (HTML)."),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Decoupling episodes: trailing cumulative residual vs BTC beta outside a k-sigma band,
    joined to retargets, the halving, hashrate shocks and reported production months."""
    import pandas as pd

    from hashdesk.market.charts import decoupling_figure
    from hashdesk.market.decoupling import decoupling_episodes, join_events
    from hashdesk.market.events import load_event_file
    from hashdesk.market.factors import basket
    from hashdesk.market.returns import MarketDataError
    from hashdesk.market.summary import panel_returns, ticker_returns

    t0, t1 = _range(start, end)
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
    if fmt != OutputFormat.table:
        emit(rows, fmt, what="decoupling episodes (one row per episode)")
        return
    show = [{"ticker": r["ticker"], "start": r["start"], "end": r["end"], "dir": r["direction"],
             "size": r["size"], "peak_z": r["peak_z"],
             "events": "; ".join(r["events"][:4]) + (f" (+{len(r['events']) - 4})" if len(r["events"]) > 4 else "")}
            for r in rows]
    emit(show, fmt, labels={"size": "size [%]", "peak_z": "peak z"}, kinds={**_KINDS, "events": "text"},
         title=f"decoupling episodes (|{window}-day residual| > {k:g}σ), {t0.date()}..{t1.date()}")


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
    fmt: OutputFormat = format_option(),
    chart: Path = typer.Option(None, "--chart", help="CAR paths of the first ticker (HTML)."),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Event study: market-model (vs BTC) abnormal returns and CARs with t-statistics."""
    import pandas as pd

    from hashdesk.market.charts import car_figure
    from hashdesk.market.events import (
        event_study,
        halving_events,
        load_event_file,
        retarget_events,
        shock_events,
    )
    from hashdesk.market.returns import MarketDataError
    from hashdesk.market.summary import ticker_returns

    t0, t1 = _range(start, end)
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
        summary.append({"ticker": t, "events": len(st.table), "mean_car": st.mean_car,
                        "mean_car_t": st.mean_car_t, "pooled_car_t": st.pooled_car_t})
    if not rows:
        fail("no event could be studied (see warnings)")
    if chart is not None and first is not None:
        write_chart(car_figure(first.paths, f"{first.name}: CAR vs BTC market model"), chart)
    if fmt == OutputFormat.json:
        emit({"events": rows, "summary": summary}, fmt)
        return
    emit(rows, fmt, columns=["ticker", "event", "day0", "beta", "car", "car_t", "car_p"],
         labels={"day0": "day 0", "beta": "β", "car": "CAR [%]", "car_t": "t", "car_p": "p"}, kinds=_KINDS,
         title=f"event study [-{pre}, +{post}] vs BTC market model ({estimation}-day estimation)",
         what="the events (one row per ticker and event)")
    emit(summary, fmt, labels={"mean_car": "mean CAR [%]", "mean_car_t": "t (cross-section, N≥3)",
                               "pooled_car_t": "t (pooled)"}, kinds=_KINDS,
         title="mean CAR across events", primary=False)


@market_app.command("factors")
def factors_cmd(
    ctx: typer.Context,
    start: str = typer.Option(None, "--from"),
    end: str = typer.Option(None, "--to"),
    tickers: str = typer.Option("MARA,RIOT,CLSK,CORZ,IREN,WULF,CIFR,HUT,WGMI", "--tickers"),
    ai_factor: str = typer.Option("QQQ", "--ai-factor", help="AI/tech factor: a ticker, or a '+' basket."),
    window: int = typer.Option(60, "--window", help="Rolling window [exchange days]."),
    source: str = typer.Option("alpaca_iex", "--source"),
    fmt: OutputFormat = format_option(),
    chart: Path = typer.Option(None, "--chart", help="Rolling exposures of the first ticker (HTML)."),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Two-factor regression on BTC and an AI/tech factor, whole window and rolling."""
    import pandas as pd

    from hashdesk.fmt import fmt_value
    from hashdesk.market.charts import factor_figure
    from hashdesk.market.factors import basket, factor_regression
    from hashdesk.market.returns import MarketDataError
    from hashdesk.market.summary import ticker_returns

    t0, t1 = _range(start, end)
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
    if fmt != OutputFormat.table:
        emit(rows, fmt, what="one row per ticker")
        return
    ai = ai_name.upper()
    for r in rows:
        r["first_last"] = (f"{fmt_value(r.get(f'beta_{ai_name}_first_window'), 'ratio')}→"
                           f"{fmt_value(r.get(f'beta_{ai_name}_last_window'), 'ratio')}")
    emit(rows, fmt, columns=["ticker", "beta_btc", "beta_btc_se", f"beta_{ai_name}", f"beta_{ai_name}_se",
                             "r_squared", "first_last"],
         labels={"beta_btc": "β BTC", "beta_btc_se": "s.e.", f"beta_{ai_name}": f"β {ai}",
                 f"beta_{ai_name}_se": "s.e. ", "r_squared": "R²", "first_last": f"β {ai} first→last window"},
         kinds={"first_last": "text"},
         title=f"two-factor regression (BTC, {ai_factor}) {t0.date()}..{t1.date()}, rolling {window}")


@market_app.command("cohorts")
def cohorts_cmd(
    ctx: typer.Context,
    start: str = typer.Option(None, "--from"),
    end: str = typer.Option(None, "--to"),
    cohort: list[str] = typer.Option(None, "--cohort", help="NAME=T1,T2,… (repeat; default pure_play vs hpc_pivot)."),
    source: str = typer.Option("alpaca_iex", "--source"),
    fmt: OutputFormat = format_option(),
    chart: Path = typer.Option(None, "--chart", help="Cumulative cohort and spread paths (HTML)."),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Equal-weight cohorts (e.g. pure-play vs HPC-pivot), their stats vs BTC and their spread."""
    from hashdesk.market.charts import cumulative_returns_figure
    from hashdesk.market.cohorts import DEFAULT_COHORTS, cohort_analysis
    from hashdesk.market.returns import MarketDataError
    from hashdesk.market.summary import panel_returns

    t0, t1 = _range(start, end)
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
        _market_fail(ctx, exc, members)
    _warn(ar.warnings)
    if chart is not None:
        write_chart(cumulative_returns_figure({c: res.cumulative[c] for c in res.cumulative.columns},
                                               "Cohorts and spread (equal weight, rebalanced daily)"), chart)
    if fmt != OutputFormat.table:
        emit(res.table, fmt, what="one row per cohort")
        return
    rows = [{**r, "beta_btc": r.get("beta_btc", 1.0), "correlation_btc": r.get("correlation_btc", 1.0)}
            for r in res.table]
    emit(rows, fmt, columns=["cohort", "members", "return", "excess_return_vs_btc", "beta_btc", "correlation_btc",
                             "annual_volatility", "max_drawdown"],
         labels={**_TABLE, "cohort": "cohort", "members": "members"}, kinds={**_KINDS, "members": "text"},
         title=f"cohorts {t0.date()}..{t1.date()}")


def check(
    ctx: typer.Context,
    claims_file: Path = typer.Argument(..., help="Claims YAML (see docs/market.md#claim-checks)."),
    source: str = typer.Option("alpaca_iex", "--source"),
    fmt: OutputFormat = format_option(),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Check narrative claims (YAML) against the data: supported / contradicted / not enough data.

    csv and parquet export one row per condition (claim, verdict, condition, measured values).
    """
    from functools import partial

    from hashdesk.market.claims import ClaimError, check_claims, load_claims

    try:
        claims = load_claims(claims_file)
    except ClaimError as exc:
        fail(str(exc))
    desk = desk_from_ctx(ctx)
    results = check_claims(claims, partial(desk.market_inputs, equity_source=source))
    if fmt == OutputFormat.json:
        emit(results, fmt)
        return
    emit(_claim_rows(results, flat=fmt != OutputFormat.table), fmt, title=f"claims in {claims_file}",
         kinds={"measured": "text"}, what="one row per claim condition")
    if fmt == OutputFormat.table:
        from rich.markup import escape

        for r in results:
            console.print(f"[bold]{escape(r.id)}[/]: {escape(r.text)} → [bold]{escape(r.verdict)}[/]")


def _claim_rows(results, flat: bool) -> list[dict]:
    """One row per condition: measured values formatted for people, or raw (``flat``) for export."""
    from hashdesk.fmt import fmt_value, infer_kind

    rows = []
    for r in results:
        for m in r.measured:
            vals = m.get("values") or {}
            row = {"claim": r.id, "verdict": r.verdict, "condition": m["condition"]}
            if flat:
                row.update({f"measured.{k}": v for k, v in vals.items()})
                row["reason"] = m.get("reason", "")
            else:
                row["measured"] = ", ".join(
                    f"{k} = {fmt_value(v, infer_kind(k), with_unit=True)}" for k, v in vals.items()
                ) if vals else m.get("reason", "")
            rows.append(row)
    return rows


def register(app: typer.Typer) -> None:
    """Add ``market`` (with subcommands) and ``check``."""
    app.add_typer(market_app, name="market")
    app.command("check")(check)
