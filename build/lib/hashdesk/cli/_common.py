"""Shared plumbing for CLI commands: store access, output formats, errors."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hashdesk.jsonable import to_jsonable
from hashdesk.store.db import Store

console = Console()
err_console = Console(stderr=True)


class OutputFormat(StrEnum):
    """Output format of a data command."""

    table = "table"
    json = "json"


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a red error line to stderr and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def store_from_ctx(ctx: typer.Context, read_only: bool = True) -> Store:
    """Open the store chosen by ``--db`` / ``HASHDESK_DB`` / the XDG default."""
    from hashdesk.store.db import StoreError

    db = (ctx.obj or {}).get("db") if ctx is not None else None
    try:
        return Store(db, read_only=read_only)
    except StoreError as exc:
        fail(str(exc))


def desk_from_ctx(ctx: typer.Context | None):
    """A read-only :class:`~hashdesk.desk.Desk` on the store chosen by ``--db`` / ``HASHDESK_DB``."""
    from hashdesk.data import DataError
    from hashdesk.desk import Desk

    db = (ctx.obj or {}).get("db") if ctx is not None else None
    try:
        return Desk(db)
    except DataError as exc:
        fail(str(exc))


def parse_date(value: str | None, option: str, *, required: bool = False) -> date | None:
    """Parse a ``YYYY-MM-DD`` option value (UTC day); exit 2 naming ``option`` when it is not one.

    Returns None for a missing value unless ``required``.
    """
    if value is None or value == "":
        if required:
            fail(f"{option} DATE is required (YYYY-MM-DD)")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: not a date (YYYY-MM-DD): {value!r}")


def write_chart(figures: Any, path: Path | None) -> Path | None:
    """Write one Plotly figure, or several, as one self-contained HTML file (``--chart FILE``).

    plotly.js is inlined once (no CDN). The file is written to a temporary name in the target
    directory and renamed, so an error leaves nothing behind; the path goes to stderr.
    Does nothing and returns None when ``path`` is None.
    """
    if path is None:
        return None
    path = Path(path)
    figs = [figures] if hasattr(figures, "to_html") else list(figures)
    if len(figs) == 1:
        html = figs[0].to_html(full_html=True, include_plotlyjs=True)
    else:
        parts = [fig.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, fig in enumerate(figs)]
        html = ("<!doctype html><html><head><meta charset='utf-8'></head><body>"
                + "\n".join(parts) + "</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".html.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(html)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    err_console.print(f"chart written to {path}", style="dim")
    return path


def print_json(obj: Any) -> None:
    """Print JSON (machine-readable, stdout only)."""
    typer.echo(json.dumps(to_jsonable(obj), indent=2))


def _fmt(v: Any) -> str:
    v = to_jsonable(v)
    if v is None:
        return "—"
    if isinstance(v, float):
        if v != 0 and (abs(v) >= 1e7 or abs(v) < 1e-3):
            return f"{v:.4g}"
        return f"{v:,.4f}".rstrip("0").rstrip(".") if abs(v) < 1000 else f"{v:,.1f}"
    return str(v)


def print_table(
    records: Sequence[Mapping[str, Any]] | pd.DataFrame,
    title: str | None = None,
    columns: Sequence[str] | None = None,
) -> None:
    """Render records as a Rich table (column names carry their units)."""
    if isinstance(records, pd.DataFrame):
        records = records.to_dict(orient="records")
    records = list(records)
    if not records:
        console.print(f"[yellow]{title or 'result'}: no rows[/]")
        return
    cols = list(columns) if columns else list(records[0].keys())
    table = Table(title=title, show_lines=False)
    for c in cols:
        table.add_column(escape(str(c)), overflow="fold")
    for r in records:
        table.add_row(*[escape(_fmt(r.get(c))) for c in cols])
    console.print(table)


def print_kv(record: Mapping[str, Any], title: str | None = None) -> None:
    """Render one record as a two-column (field, value) table."""
    table = Table(title=title, show_header=True)
    table.add_column("field")
    table.add_column("value")
    for k, v in record.items():
        table.add_row(escape(str(k)), escape(_fmt(v)))
    console.print(table)


def emit(obj: Any, fmt: OutputFormat, title: str | None = None) -> None:
    """Print a record (dict) or records (list/DataFrame) as table or JSON."""
    if fmt == OutputFormat.json:
        print_json(obj)
    elif isinstance(obj, Mapping):
        print_kv(obj, title)
    else:
        print_table(obj, title)
