"""``hashdesk demo``: the main job on the embedded defaults (what ``make demo`` runs)."""

from __future__ import annotations

from pathlib import Path

import typer

from hashdesk.cli._common import console, fail, print_table, store_from_ctx
from hashdesk.cli.foundation import ingest_with_progress
from hashdesk.config import BundleMissingError, require_data_dir

#: Dates around the January 2024 winter storm (dip 14–17 Jan; retarget at 826,560 on 20 Jan).
STORM_DATES = ["2024-01-10", "2024-01-16", "2024-01-22"]


def demo(
    ctx: typer.Context,
    out_dir: Path = typer.Option(Path("out"), "--out", help="Directory for the HTML files."),
    month: str = typer.Option("2024-01", "--month", help="Month of the brief (YYYY-MM)."),
) -> None:
    """Load the reference bundle, show the network around the January 2024 storm, write charts
    and the monthly brief."""
    from hashdesk.desk import Desk
    from hashdesk.economics.charts import hashprice_figure
    from hashdesk.report.brief import write_brief
    from hashdesk.store.ingest import IngestError

    try:
        data_dir = require_data_dir()
    except BundleMissingError as exc:
        fail(str(exc))
    store = store_from_ctx(ctx, read_only=False)
    console.print(f"[bold]hashdesk demo[/] — bundle {data_dir} → store {store.path}")
    try:
        report = ingest_with_progress(store, data_dir)
    except IngestError as exc:
        fail(f"nothing was written. {exc}")
    console.print(f"ingest: {report.rows_added:,} rows added (0 = already loaded)")
    desk = Desk(con=store.con)

    rows = []
    for day in STORM_DATES:
        v = desk.network(day)
        s, proj = v["network_state"], v.get("projection") or {}
        econ = desk.daily(day, day).iloc[0]
        rows.append(
            {
                "date (UTC)": day,
                "epoch start": s["epoch_start_height"],
                "difficulty [T]": s["difficulty"] / 1e12,
                "blocks in epoch": s["blocks_mined_in_epoch"],
                "hashrate 7d [EH/s]": s["hashrate_ehs_7d"],
                "next retarget [%]": proj.get("next_difficulty_change_pct"),
                "hashprice [USD/PH/day]": econ["hashprice_usd_per_ph_day"],
            }
        )
    # printed, not written to --out: demo's --out is the directory of the HTML files (named
    # out_dir here, so that the data commands' ``--out FILE`` rule does not take it)
    print_table(rows, title="Network around the January 2024 winter storm")

    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "network.html", out_dir / "hashprice.html"]
    desk.network_figure("2023-06-01", "2024-12-31", mark_retargets=True).write_html(written[0], include_plotlyjs=True)
    hashprice_figure(desk.daily()).write_html(written[1], include_plotlyjs=True)
    brief_path = out_dir / f"brief-{month}.html"
    write_brief(desk, month, brief_path, "html")
    written.append(brief_path)
    desk.close()
    for p in written:
        console.print(f"wrote {p.resolve()}")


def register(app: typer.Typer) -> None:
    """Add ``demo``."""
    app.command()(demo)
