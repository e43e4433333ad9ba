"""Network commands: ``network`` (the chain's state at a date, retarget projection backtest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from hashdesk.cli._common import (
    OutputFormat,
    emit,
    fail,
    print_kv,
    print_table,
    store_from_ctx,
    write_chart,
)


def _people_view(view: dict[str, Any]) -> dict[str, Any]:
    """The network view as labelled rows with units (table output)."""
    height = f"{view['tip_height']:,}" + ("" if view["tip_height_exact"] else " (estimate)")
    rows: dict[str, Any] = {
        "at (UTC)": f"{view['at']}  ({view['as_of']})",
        "tip height": height,
        "epoch": view["epoch"],
        "epoch start height": f"{view['epoch_start_height']:,}",
        "epoch start (UTC)": view["epoch_start_time"],
        "bits": view["bits"],
        "difficulty": f"{view['difficulty']:.6e}",
        "next retarget height": f"{view['next_retarget_height']:,}",
        "next halving height": f"{view['next_halving_height']:,}",
        "subsidy [BTC/block]": view["subsidy_btc"],
        "hashrate, 7-day [EH/s]": view["hashrate_ehs_7d"],
        "hashrate window": view["hashrate_window"],
        "hashrate, epoch mean [EH/s]": view["hashrate_ehs_epoch"],
        "epoch-mean window": view["hashrate_epoch_window"],
    }
    if view.get("blocks_into_epoch") is not None:
        rows["blocks into epoch [blocks after its first]"] = view["blocks_into_epoch"]
    p = view.get("projection")
    if p:
        lo, hi = p["next_difficulty_change_pct_90"]
        early, late = p["retarget_time_90"]
        rows["projected difficulty change [%]"] = f"{p['next_difficulty_change_pct']:+.2f}"
        rows["  90% interval [%]"] = f"{lo:+.2f} … {hi:+.2f}"
        rows["projected retarget (UTC)"] = p["retarget_time"]
        rows["  90% interval (UTC)"] = f"{early} … {late}"
        rows["blocks to retarget [blocks]"] = p["blocks_remaining"]
    return rows


def network(
    ctx: typer.Context,
    at: str = typer.Option(
        None, "--at", help="UTC date YYYY-MM-DD (= end of that day) or ISO timestamp / unix s."
    ),
    backtest: bool = typer.Option(
        False, "--backtest", help="Show the retarget projection's backtest on the per-block epochs."
    ),
    chart: Path = typer.Option(
        None, "--chart", help="Also write the hashrate/difficulty chart (HTML) to FILE."
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format"),
) -> None:
    """Network state at a date: epoch, bits, difficulty, halving, 7-day hashrate [EH/s], next retarget."""
    from hashdesk.chain.network import NetworkDataError, network_view, projection_backtest

    if not at and not backtest and not chart:
        fail("give --at DATE (or --backtest, or --chart FILE)")
    store = store_from_ctx(ctx)
    if at:
        try:
            view = network_view(store, at)
        except (NetworkDataError, ValueError) as exc:
            fail(str(exc))
        if fmt == OutputFormat.json:
            emit(view, fmt)
        else:
            print_kv(_people_view(view), title=f"bitcoin network at {view['at']}")
            print_kv(view["sources"], title="data sources")
    if backtest:
        try:
            _, summary = projection_backtest(store)
        except ValueError as exc:
            fail(str(exc))
        if fmt == OutputFormat.json:
            emit(summary, fmt)
        else:
            print_table(
                summary.rename(
                    columns={
                        "blocks_mined": "blocks in",
                        "epochs": "epochs",
                        "covered": "covered by 90% interval",
                        "median_error_pp": "median |error| [pp]",
                        "naive_median_error_pp": "naive median |error| [pp]",
                        "median_width_pp": "median 90% width [pp]",
                    }
                ),
                title="retarget projection backtest (real epochs, no look-ahead)",
            )
    if chart:
        from hashdesk.chain.charts import hashrate_difficulty_figure

        write_chart(hashrate_difficulty_figure(store), chart)


def register(app: typer.Typer) -> None:
    """Add the network command."""
    app.command()(network)
