"""CLI of the market module: ``hashdesk market …`` and ``hashdesk check CLAIMS.yaml``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import pandas as pd
import typer

from hashdesk.cli._common import OutputFormat, console, emit, err_console, fail, store_from_ctx
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
    if value is None:
        fail(f"{option} DATE is required (YYYY-MM-DD)")
    try:
        return pd.Timestamp(value)
    except (ValueError, TypeError):
        fail(f"{option}: not a date: {value!r} (use YYYY-MM-DD)")


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
    ("beta_btc_dimson", "β Dimson", 1),
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
    from hashdesk.market.data import load_market_inputs
    from hashdesk.market.summary import DEFAULT_TICKERS, market_summary

    t0, t1 = _date(start, "--from"), _date(end, "--to")
    names = _tickers(tickers)
    strict = names is not None
    names = names or list(DEFAULT_TICKERS)
    benches = [BTC] if benchmark == Benchmark.btc else [BTC, benchmark.value]
    store = store_from_ctx(ctx)
    try:
        inputs = load_market_inputs(store, names + benches[1:], t0, t1, equity_source=source)
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
    from hashdesk.market.charts import cumulative_returns_figure, write_html
    from hashdesk.market.returns import cumulative_returns
    from hashdesk.market.summary import ticker_returns

    paths = {}
    for r in records:
        ar = ticker_returns(inputs, r["ticker"], t0, t1, frequency=frequency, non_operating=non_operating)
        paths[r["ticker"]] = cumulative_returns(ar.returns[r["ticker"]])
    fig = cumulative_returns_figure(paths, f"Cumulative return {t0.date()}..{t1.date()}")
    console.print(f"chart: {write_html(fig, path)}")


def register(app: typer.Typer) -> None:
    """Add ``market`` (with subcommands) and ``check``."""
    app.add_typer(market_app, name="market")
