"""Network commands: ``network`` (the network state at a time, retarget projection, backtest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from hashdesk.cli._common import (
    OutputFormat,
    desk_from_ctx,
    emit,
    fail,
    format_option,
    out_option,
    wide_option,
    write_chart,
)


def state_rows(s: dict[str, Any]) -> dict[str, Any]:
    """A network state (``NetworkState.to_dict()``) as labelled rows with units."""
    from hashdesk.fmt import fmt_time, fmt_value

    def num(v: Any, kind: str) -> Any:
        return None if v is None else fmt_value(v, kind)

    height = f"{s['tip_height']:,}" + ("" if s["tip_height_exact"] else " (estimate)")
    return {
        "at (UTC)": f"{fmt_time(s['at'], True)} ({s['as_of']})",
        "tip height": height,
        "tip block time (UTC)": s["tip_time"],
        "epoch (of the next block)": s["epoch"],
        "epoch start height": f"{s['epoch_start_height']:,}",
        "epoch start (UTC)": s["epoch_start_time"],
        "blocks mined in epoch": f"{s['blocks_mined_in_epoch']:,}",
        "bits": s["bits"],
        "difficulty": None if s["difficulty"] is None
        else f"{fmt_value(s['difficulty'], 'difficulty')} ({s['difficulty']:,.0f})",
        "next retarget height": f"{s['next_retarget_height']:,}",
        "next halving height": f"{s['next_halving_height']:,}",
        "subsidy [BTC/block]": num(s["subsidy_btc"], "btc"),
        "hashrate, 7-day [EH/s]": num(s["hashrate_ehs_7d"], "ehs"),
        "hashrate window": s["hashrate_window"],
        "fees [BTC/block]": None if s["fees_btc_per_block"] is None else f"{s['fees_btc_per_block']:.4f}",
        "fees window": s["fees_window"],
        "BTC price [USD]": num(s["price_usd"], "usd_btc"),
        "price of (UTC day)": s["price_date"],
        "hashprice [USD/PH/day]": num(s["hashprice_usd_per_ph_day"], "usd_ph_day"),
        "hashprice [BTC/PH/day]": None if s["hashprice_btc_per_ph_day"] is None
        else f"{s['hashprice_btc_per_ph_day']:.7f}",
        "oldest input [h]": f"{s['stale_s'] / 3600:,.1f}",
    }


def _people_view(view: dict[str, Any]) -> dict[str, Any]:
    """The network command's answer as labelled rows with units (table output)."""
    from hashdesk.fmt import fmt_time, fmt_value

    rows = state_rows(view["network_state"])
    rows["hashrate, last complete epoch [EH/s]"] = (
        None if view["hashrate_ehs_epoch"] is None else fmt_value(view["hashrate_ehs_epoch"], "ehs"))
    rows["epoch-mean window"] = view["hashrate_epoch_window"]
    p = view.get("projection")
    if p:
        lo, hi = p["next_difficulty_change_pct_90"]
        early, late = p["retarget_time_90"]
        rows["projected difficulty change [%]"] = f"{p['next_difficulty_change_pct']:+.2f}"
        rows["  90% interval [%]"] = f"{lo:+.2f} … {hi:+.2f}"
        rows["projected retarget (UTC)"] = p["retarget_time"]
        rows["  90% interval (UTC)"] = f"{fmt_time(early, True)} … {fmt_time(late, True)}"
        rows["blocks to retarget"] = f"{p['blocks_remaining']:,}"
    return rows


#: Labels of the projection backtest's summary columns.
BACKTEST_LABELS = {
    "blocks_mined": "blocks in",
    "epochs": "epochs",
    "covered": "covered by 90% interval",
    "covered_50": "covered by 50% interval",
    "median_error_pp": "median |error| [pp]",
    "naive_median_error_pp": "naive median |error| [pp]",
    "median_width_pp": "median 90% width [pp]",
}


def network(
    ctx: typer.Context,
    at: str = typer.Option(
        None, "--at", help="UTC date YYYY-MM-DD (= end of that day), ISO timestamp, unix s or 'now'."
    ),
    backtest: bool = typer.Option(
        False, "--backtest", help="Show the retarget projection's backtest on the per-block epochs."
    ),
    chart: Path = typer.Option(
        None, "--chart", help="Also write the hashrate/difficulty chart (HTML) to FILE."
    ),
    fmt: OutputFormat = format_option(),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Network state at a time: tip, bits, difficulty, 7-day hashrate [EH/s], fees, price, hashprice, next retarget.

    csv and parquet export the state and its projection as one row (dotted keys:
    ``network_state.tip_height``, ``projection.next_difficulty_change_pct``); with --backtest
    alone, the per-block epochs' backtest summary.
    """
    from hashdesk.economics.state import NetworkDataError

    if not at and not backtest and not chart:
        fail("give --at DATE (or --backtest, or --chart FILE)")
    desk = desk_from_ctx(ctx)
    if at:
        try:
            view = desk.network(at)
        except (NetworkDataError, ValueError) as exc:
            fail(str(exc))
        if fmt != OutputFormat.table:
            emit(view, fmt, what="the network state and its projection (one row, dotted keys)")
        else:
            state = view["network_state"]
            emit(_people_view(view), fmt, title=f"bitcoin network at {state['at']}")
            sources = dict(state["sources"])
            if view.get("projection"):
                sources["projection"] = view["projection"]["source"]
            emit(sources, fmt, title="data sources", kinds=dict.fromkeys(sources, "text"))
            for note in state["notes"]:
                typer.echo(f"note: {note}", err=True)
    if backtest:
        try:
            _, summary = desk.projection_backtest()
            _, daily = desk.projection_backtest_daily()
        except ValueError as exc:
            fail(str(exc))
        if fmt == OutputFormat.json:
            emit({"per_block_epochs": summary, "daily_checkpoint_epochs": daily}, fmt)
        else:
            for frame, title, what in (
                (summary, "retarget projection backtest: the per-block epochs (real epochs, no look-ahead)",
                 "the per-block epochs' backtest summary"),
                (daily, "retarget projection backtest: other epochs, checkpoints at UTC midnights "
                        "from daily block counts", "the daily-checkpoint backtest summary"),
            ):
                emit(frame, fmt, title=title, labels=BACKTEST_LABELS, what=what, primary=not at,
                     columns=[c for c in BACKTEST_LABELS if c in frame.columns]
                     if fmt == OutputFormat.table else None)
    if chart:
        try:
            write_chart(desk.network_figure(mark_retargets=False), chart)
        except ValueError as exc:
            fail(str(exc))


def register(app: typer.Typer) -> None:
    """Add the network command."""
    app.command()(network)
