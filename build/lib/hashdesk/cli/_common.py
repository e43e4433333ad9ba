"""Shared plumbing for CLI commands: store access, output formats and export, errors.

Every data command takes ``--format table|json|csv|parquet``, ``--out FILE`` and ``--wide``;
:func:`emit` is the one place that turns what the desk returns into any of them:

* ``table``: labels with units (:func:`hashdesk.fmt.label`), numbers by unit kind
  (:mod:`hashdesk.fmt`), laid out for the terminal's width (:mod:`hashdesk.cli._layout`);
* ``json``: every field at full precision;
* ``csv`` / ``parquet``: the command's main frame with its date column and units in the column
  names (nested records flattened to one row with dotted keys).

Heavy libraries (pandas, Rich) are imported inside functions so that ``hashdesk --help`` starts
fast.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from hashdesk.store.db import Store


def _make_console(stderr: bool) -> Console:
    """A Rich console whose width follows ``COLUMNS`` at print time (not at import time)."""
    from rich.console import Console

    c = Console(stderr=stderr)
    c._width = None  # Rich reads COLUMNS once at construction; re-read it on every size query
    return c


class _LazyConsole:
    """A Rich console created on first use (Rich is not imported for ``--help``)."""

    def __init__(self, stderr: bool = False) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def _get(self) -> Console:
        if self._console is None:
            self._console = _make_console(self._stderr)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)

    def __enter__(self) -> Console:  # Rich's Live uses ``with console:``
        return self._get().__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._get().__exit__(*exc)


#: Rich consoles for progress bars and notes (stdout and stderr).
console: Any = _LazyConsole()
err_console: Any = _LazyConsole(stderr=True)


class OutputFormat(StrEnum):
    """Output format of a data command."""

    table = "table"
    json = "json"
    csv = "csv"
    parquet = "parquet"


#: Formats that write one frame (a file format, not a view).
EXPORT_FORMATS = (OutputFormat.csv, OutputFormat.parquet)

FORMAT_HELP = ("table (for people: labels with units, fits the terminal), json (every field), "
               "csv or parquet (the main frame: date column, units in column names).")


def format_option() -> Any:
    """The ``--format`` option of a data command."""
    return typer.Option(OutputFormat.table, "--format", help=FORMAT_HELP)


def out_option() -> Any:
    """The ``--out FILE`` option of a data command."""
    return typer.Option(None, "--out", help="Write the output (table, json, csv, parquet) to FILE "
                        "instead of stdout.", dir_okay=False)


def wide_option() -> Any:
    """The ``--wide`` option of a data command."""
    return typer.Option(False, "--wide", help="Tables: show every column at full width, wider "
                        "than the terminal if need be.")


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a red error line to stderr and exit with ``code``."""
    from rich.markup import escape

    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=False)
    raise typer.Exit(code)


def note(message: str, style: str = "dim") -> None:
    """A note for people: on stdout beside a table, on stderr beside JSON/CSV/Parquet output."""
    from rich.markup import escape

    fmt = _param("fmt")
    target = console if fmt in (None, OutputFormat.table, "table") and _param("out") is None else err_console
    target.print(f"[{style}]{escape(message)}[/]" if style else escape(message))


def store_from_ctx(ctx: typer.Context, read_only: bool = True) -> Store:
    """Open the store chosen by ``--db`` / ``HASHDESK_DB`` / the XDG default."""
    from hashdesk.store.db import Store, StoreError

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


def check_range(start: Any, end: Any, start_option: str = "--from", end_option: str = "--to") -> None:
    """Exit 2 when a range is reversed (``--to`` before ``--from``)."""
    if start is not None and end is not None and str(end) < str(start):
        fail(f"{end_option} {end} is before {start_option} {start}: give the first day or month "
             f"with {start_option} and the last with {end_option}")


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
    _atomic_write(path, html.encode("utf-8"), ".html.tmp")
    err_console.print(f"chart written to {path}", style="dim")
    return path


def _atomic_write(path: Path, data: bytes, suffix: str = ".tmp") -> None:
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- where output goes ----------------------------------------------------------------------


def _ctx():
    """The running command's context (Typer vendors click; older Typer used click itself)."""
    try:
        from typer._click.globals import get_current_context
    except ImportError:  # pragma: no cover - Typer without a vendored click
        from click import get_current_context
    return get_current_context(silent=True)


def _param(name: str) -> Any:
    """A parameter of the running command (``fmt``, ``out``, ``wide``), or None outside one."""
    ctx = _ctx()
    return None if ctx is None else ctx.params.get(name)


def _write_text(text: str) -> None:
    """Write text to ``--out FILE`` (appending after the command's first write) or stdout."""
    out = _param("out")
    if out is None:
        typer.echo(text)
        return
    ctx = _ctx()
    written = ctx.meta.setdefault("hashdesk.out_written", set())
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if path in written else "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    if path not in written:
        err_console.print(f"wrote {path}", style="dim")
    written.add(path)


def terminal_width() -> int | None:
    """Width tables are laid out for: None (natural) with ``--wide`` or ``--out``, else the
    ``COLUMNS`` variable, else the terminal's width, else 80 (piped output)."""
    if _param("wide") or _param("out") is not None:
        return None
    cols = os.environ.get("COLUMNS", "")
    if cols.isdigit() and int(cols) > 0:
        return int(cols)
    if sys.stdout.isatty():
        return shutil.get_terminal_size((80, 24)).columns
    return 80


def print_json(obj: Any) -> None:
    """Print JSON (machine-readable; stdout or ``--out FILE``)."""
    from hashdesk.jsonable import to_jsonable

    _write_text(json.dumps(to_jsonable(obj), indent=2))


# -- tables for people -----------------------------------------------------------------------


def _records(obj: Any) -> list[dict[str, Any]]:
    """Records from a DataFrame (its date index as a column), a list of mappings or dataclasses."""
    if hasattr(obj, "to_dict") and hasattr(obj, "columns"):
        return frame_for_export(obj).to_dict(orient="records")
    out = []
    for r in obj:
        if isinstance(r, Mapping):
            out.append(dict(r))
        elif hasattr(r, "to_dict"):
            out.append(r.to_dict())
        elif hasattr(r, "__dataclass_fields__"):
            out.append(dict(r.__dict__))
        else:
            raise TypeError(f"cannot show a row of type {type(r).__name__}")
    return out


def _columns(records: Sequence[Mapping[str, Any]], columns: Sequence[str] | None) -> list[str]:
    if columns:
        return list(columns)
    cols: list[str] = []
    for r in records:
        cols.extend(k for k in r if k not in cols)
    return cols


def _table_cols(records: Sequence[Mapping[str, Any]], cols: Sequence[str], labels: Mapping[str, str],
                kinds: Mapping[str, str], row_kinds_from: str | None):
    """Layout columns: header labels, cells formatted by kind, numbers right-aligned.

    A column's kind is given, or inferred from its name; with ``row_kinds_from`` the generic
    (``num``) columns take each row's kind from that column's value (a metric's name), and the
    numbers of one row share their decimals.
    """
    from hashdesk import fmt
    from hashdesk.cli._layout import Col

    col_kinds = {c: kinds.get(c) or fmt.infer_kind(c) for c in cols}
    row_cols = [c for c in cols if row_kinds_from is not None and c != row_kinds_from
                and c not in kinds and col_kinds[c] == "num"]
    cells: dict[str, list[str]] = {}
    for c in cols:
        values = [_scalar(r.get(c)) for r in records]
        if c == row_kinds_from:
            cells[c] = [fmt.label(v) if isinstance(v, str) else fmt.fmt_value(v) for v in values]
        elif c not in row_cols:
            cells[c] = fmt.fmt_column(values, col_kinds[c])
    if row_cols:
        for c in row_cols:
            cells[c] = []
        for r in records:
            kind = fmt.infer_kind(str(r.get(row_kinds_from, "")))
            for c, text in zip(row_cols, fmt.fmt_column([_scalar(r.get(c)) for c in row_cols], kind),
                               strict=True):
                cells[c].append(text)
    out = []
    for c in cols:
        k = col_kinds[c]
        numeric = (any(isinstance(r.get(c), (int, float)) and not isinstance(r.get(c), bool) for r in records)
                   and k not in ("text", "date", "datetime", "bits"))
        out.append(Col(labels.get(c) or fmt.label(c), cells[c], "right" if numeric else "left"))
    return out


def _scalar(v: Any) -> Any:
    if isinstance(v, (list, tuple, set)):
        return ", ".join(str(x) for x in v)
    if isinstance(v, Mapping):
        return ", ".join(f"{k}={x}" for k, x in v.items())
    return v


def print_table(
    records: Any,
    title: str | None = None,
    columns: Sequence[str] | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    kinds: Mapping[str, str] | None = None,
    row_kinds_from: str | None = None,
) -> None:
    """Print records as a table for people: labels with units, numbers by unit kind, fitted to
    the terminal's width (or every column with ``--wide``).

    Parameters
    ----------
    records : DataFrame or sequence of mappings
        Raw values (as the desk returns them).
    title : str, optional
        Line above the table.
    columns : sequence of str, optional
        Columns to show, in order [default: all].
    labels, kinds : mapping, optional
        Header and :mod:`hashdesk.fmt` kind per column [default: from the column name].
    row_kinds_from : str, optional
        A column naming each row's quantity (``metric``): its values become labels and the row's
        numbers are formatted by that quantity's kind.
    """
    from hashdesk.cli._layout import render_table

    recs = _records(records)
    if not recs:
        _write_text(f"{title or 'result'}: no rows")
        return
    cols = _table_cols(recs, _columns(recs, columns), dict(labels or {}), dict(kinds or {}), row_kinds_from)
    _write_text(render_table(cols, terminal_width(), title=title))


def print_kv(
    record: Mapping[str, Any],
    title: str | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    kinds: Mapping[str, str] | None = None,
) -> None:
    """Print one record as (label, value) lines: labels with units, values by unit kind."""
    from hashdesk import fmt
    from hashdesk.cli._layout import render_kv

    labels, kinds = dict(labels or {}), dict(kinds or {})
    items = []
    for k, v in record.items():
        kind = kinds.get(k) or fmt.infer_kind(k)
        items.append((labels.get(k) or fmt.label(k), fmt.fmt_value(_scalar(v), kind)))
    _write_text(render_kv(items, terminal_width(), title=title))


# -- export ---------------------------------------------------------------------------------


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested record as one flat row with dotted keys (``network_state.tip_height``)."""
    out: dict[str, Any] = {}
    for k, v in record.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def frame_for_export(obj: Any):
    """The frame written by ``--format csv|parquet``: a DataFrame's date index becomes its
    ``date`` column; records become rows; one (nested) record becomes one flat row."""
    import pandas as pd

    from hashdesk.jsonable import to_jsonable

    if isinstance(obj, pd.DataFrame):
        df = obj
        if isinstance(df.index, pd.DatetimeIndex) or df.index.name is not None:
            name = df.index.name or "date"
            if name in df.columns:
                df = df.reset_index(drop=True)
            else:
                df = df.reset_index(names=name)
        return df.reset_index(drop=True)
    if isinstance(obj, Mapping):
        rows = [flatten(to_jsonable(dict(obj)) if _nested(obj) else dict(obj))]
    else:
        rows = _records(obj)
        rows = [flatten(r) for r in rows]
    return pd.DataFrame(rows)


def _nested(obj: Mapping[str, Any]) -> bool:
    return any(isinstance(v, Mapping) or hasattr(v, "__dataclass_fields__") for v in obj.values())


def _export_safe(df):
    """Cells Parquet and CSV can hold: lists and dicts as JSON text, dates kept as dates."""
    from hashdesk.jsonable import to_jsonable

    df = df.copy()
    for c in df.columns:
        if df[c].dtype == object:
            sample = df[c].dropna()
            if sample.map(lambda v: isinstance(v, (list, tuple, dict, set))).any():
                df[c] = df[c].map(lambda v: None if v is None else json.dumps(to_jsonable(v)))
            elif not sample.map(lambda v: isinstance(v, (str, date, int, float, bool))).all():
                df[c] = df[c].map(lambda v: None if v is None else str(v))
    df.columns = [str(c) for c in df.columns]
    return df


def export(obj: Any, fmt: OutputFormat, what: str | None = None) -> None:
    """Write ``obj`` as CSV or Parquet to ``--out FILE`` or stdout.

    Parquet is binary: to a terminal it needs ``--out FILE``. ``what`` names the exported table
    (on stderr) when the command shows several.
    """
    df = _export_safe(frame_for_export(obj))
    out = _param("out")
    if fmt == OutputFormat.csv:
        data = df.to_csv(index=False).encode("utf-8")
    else:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            fail("--format parquet needs pyarrow: pip install 'pyarrow>=17,<27' (a dependency of "
                 "hashdesk; reinstall with `pip install -e .`)")
        import io

        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        data = buf.getvalue()
    if out is not None:
        _atomic_write(Path(out), data, f".{fmt.value}.tmp")
        err_console.print(f"wrote {len(df):,} row{'' if len(df) == 1 else 's'} × {len(df.columns)} columns "
                          f"({what or 'result'}) to {out}", style="dim")
        return
    if fmt == OutputFormat.parquet and sys.stdout.isatty():
        fail("--format parquet is binary: give --out FILE (or pipe the output)")
    stream = getattr(sys.stdout, "buffer", None)
    if stream is None:  # pragma: no cover - text-only stdout
        sys.stdout.write(data.decode("utf-8", "replace"))
    else:
        sys.stdout.flush()
        stream.write(data)
        stream.flush()
    if what:
        err_console.print(f"exported: {what} ({len(df):,} row{'' if len(df) == 1 else 's'})", style="dim")


def emit(
    obj: Any,
    fmt: OutputFormat,
    title: str | None = None,
    *,
    columns: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    kinds: Mapping[str, str] | None = None,
    row_kinds_from: str | None = None,
    primary: bool = True,
    what: str | None = None,
) -> None:
    """Show a record (dict) or records (list/DataFrame) in the command's ``--format``.

    ``table``: :func:`print_kv` for a record, :func:`print_table` for records (``columns``
    selects the view; ``labels``/``kinds`` override those inferred from the names). ``json``:
    everything. ``csv``/``parquet``: the command's main table (``primary=True``, the first one
    emitted) with every column; later tables are named on stderr and left to ``--format json``.
    """
    if fmt == OutputFormat.json:
        print_json(obj)
        return
    if fmt in EXPORT_FORMATS:
        ctx = _ctx()
        meta = ctx.meta if ctx is not None else {}
        if primary and not meta.get("hashdesk.exported"):
            meta["hashdesk.exported"] = True
            export(obj, fmt, what or title)
        else:
            err_console.print(f"not in the {fmt.value} export: {what or title or 'a further table'} "
                              "(--format json has every table)", style="dim")
        return
    if isinstance(obj, Mapping):
        print_kv(obj, title, labels=labels, kinds=kinds)
    else:
        print_table(obj, title, columns, labels=labels, kinds=kinds, row_kinds_from=row_kinds_from)
