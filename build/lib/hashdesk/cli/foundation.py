"""Foundation commands: ``ingest``, ``info`` and ``demo``."""

from __future__ import annotations

from pathlib import Path

import typer

from hashdesk.cli._common import (
    OutputFormat,
    console,
    emit,
    fail,
    format_option,
    out_option,
    store_from_ctx,
    wide_option,
)
from hashdesk.config import DATA_ENV, BundleMissingError, require_data_dir


def ingest_with_progress(store, data_dir: Path, facts: list[Path] | None = None):
    """Run :func:`hashdesk.store.ingest.ingest_bundle` behind a Rich progress bar."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from hashdesk.store.ingest import ingest_bundle

    files = [p for p in data_dir.rglob("*") if p.is_file() and p.suffix in (".csv", ".json", ".txt")]
    with Progress(
        TextColumn("[bold]ingest[/] {task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} files"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("validating", total=len(files))

        def tick(name: str) -> None:
            bar.update(task, advance=1, description=name)

        report = ingest_bundle(store, data_dir, progress=tick, facts=facts)
        bar.update(task, completed=len(files), description="written")
    return report


def ingest(
    ctx: typer.Context,
    path: Path = typer.Argument(None, help=f"Bundle directory [default: ${DATA_ENV} or ../shared/data]."),
    facts: list[Path] = typer.Option(None, "--facts", help="Company-fact CSV files or directories to add "
                                     "or override (same format as the shipped ones; repeatable)."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format"),
) -> None:
    """Validate a data bundle completely, then load it in one transaction (idempotent)."""
    from hashdesk.store.ingest import IngestError

    try:
        data_dir = require_data_dir(path)
    except BundleMissingError as exc:
        fail(str(exc))
    store = store_from_ctx(ctx, read_only=False)
    try:
        report = ingest_with_progress(store, data_dir, facts)
    except IngestError as exc:
        fail(f"nothing was written. {exc}")
    finally:
        store.close()
    rows = [
        {"file": f.source, "rows_read": f.rows_read, "rows_added": f.rows_added} for f in report.files
    ]
    if fmt == OutputFormat.json:
        emit({"store": str(store.path), "rows_added": report.rows_added, "files": rows}, fmt)
    else:
        emit(rows, fmt, title=f"ingested {data_dir} into {store.path}")
        console.print(f"rows added: [bold]{report.rows_added:,}[/] (0 means already loaded)")


def info(
    ctx: typer.Context,
    fmt: OutputFormat = format_option(),
    out: Path = out_option(),
    wide: bool = wide_option(),
) -> None:
    """Show the store's location, schema version (its latest applied migration, as
    ``/api/v1/health`` reports it) and the rows in each table."""
    store = store_from_ctx(ctx)
    try:
        counts = store.table_counts()
        counts.pop("schema_version", None)  # the migrations' own table: its rows are not the version
        rec = {"store": str(store.path), "schema_version": store.schema_version(), **counts}
    finally:
        store.close()
    emit(rec, fmt, title="hashdesk store", kinds=dict.fromkeys(counts, "int"),
         what="the store (one row: schema version and rows per table)")


def register(app: typer.Typer) -> None:
    """Add the foundation commands."""
    app.command()(ingest)
    app.command()(info)
