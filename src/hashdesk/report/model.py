"""The shape every surface renders: sections of metrics, tables and figures.

A :class:`Section` is built once by a section builder (``hashdesk.report.sections``) from
library calls; the brief (terminal, HTML, JSON) and the dashboard (API + pages) only render it.
Raw values travel beside their formatted text, so JSON consumers get the numbers and people
get EH/s, USD/PH/day, % and bp.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from hashdesk.report.palette import KIND_UNITS, apply_style, fmt_value

#: Section status values.
OK, UNAVAILABLE, NO_DATA, ERROR = "ok", "unavailable", "no_data", "error"

_MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Month:
    """A calendar month in UTC: ``start`` and ``end`` are inclusive dates."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """Parse ``YYYY-MM`` (raises ValueError naming the bad text)."""
        m = _MONTH_RE.match(str(text).strip())
        if not m:
            raise ValueError(f"month must look like YYYY-MM, got {text!r}")
        y = int(m.group(1))
        if not 2009 <= y <= 2140:
            raise ValueError(f"month year must be within 2009..2140, got {y}")
        return cls(y, int(m.group(2)))

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class Column:
    """A table column: ``label`` carries the unit; ``kind`` picks the number format."""

    key: str
    label: str
    kind: str = "num"


@dataclass(frozen=True)
class Table:
    """Rows of raw values (JSON-safe after :func:`hashdesk.jsonable.to_jsonable`)."""

    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    note: str = ""

    def records(self) -> list[dict[str, Any]]:
        """Rows as ``{column key: raw value}`` dicts."""
        return [dict(zip([c.key for c in self.columns], r, strict=True)) for r in self.rows]

    def display_rows(self) -> list[list[str]]:
        """Rows formatted for people (units live in the column labels)."""
        return [[fmt_value(v, c.kind) for v, c in zip(r, self.columns, strict=True)] for r in self.rows]


@dataclass(frozen=True)
class Metric:
    """One headline number."""

    key: str
    label: str
    value: Any
    kind: str = "num"
    note: str = ""

    @property
    def display(self) -> str:
        return fmt_value(self.value, self.kind, with_unit=True)


@dataclass(frozen=True)
class Figure:
    """A Plotly figure built by a domain ``charts`` module (styled by the palette)."""

    key: str
    title: str
    figure: go.Figure = field(compare=False, repr=False)


@dataclass(frozen=True)
class Sentence:
    """One sentence of prose built from the numbers, with the figures it quotes.

    ``refs`` name where each number comes from: ``"section.metric_key"`` for a headline metric,
    ``"section.table_key"`` (optionally ``"…/row label"``) for a table, so every sentence can be
    traced to a figure shown in the same document.
    """

    text: str
    refs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Progress:
    """A progress bar: ``done`` of ``total`` (e.g. blocks mined in the epoch) with its labels."""

    key: str
    label: str
    done: int
    total: int
    detail: str = ""
    marks: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Section:
    """One part of the brief or one dashboard panel."""

    key: str
    title: str
    status: str = OK
    note: str = ""
    metrics: tuple[Metric, ...] = ()
    tables: tuple[Table, ...] = ()
    figures: tuple[Figure, ...] = ()
    sources: tuple[str, ...] = ()
    sentences: tuple[Sentence, ...] = ()
    progress: tuple[Progress, ...] = ()

    def metric(self, key: str) -> Metric | None:
        """The metric with ``key``, or None."""
        return next((m for m in self.metrics if m.key == key), None)

    def table(self, key: str) -> Table | None:
        """The table with ``key``, or None."""
        return next((t for t in self.tables if t.key == key), None)


# -- builders' helpers ------------------------------------------------------------------------


def table_from_records(
    key: str,
    title: str,
    records: pd.DataFrame | Iterable[Mapping[str, Any]],
    columns: Sequence[tuple[str, str, str]],
    note: str = "",
) -> Table:
    """Build a :class:`Table` from records and a ``(key, label, kind)`` column spec.

    A column whose key is missing in every record raises KeyError naming it, so a renamed
    field in a domain module shows up in the tests, not as an empty column.
    """
    if isinstance(records, pd.DataFrame):
        records = records.to_dict(orient="records")
    records = list(records)
    cols = tuple(Column(k, lbl, kind) for k, lbl, kind in columns)
    if records:
        missing = [c.key for c in cols if not any(c.key in r for r in records)]
        if missing:
            raise KeyError(f"table {key!r}: fields {missing} not in records {sorted(records[0])}")
    rows = tuple(tuple(r.get(c.key) for c in cols) for r in records)
    return Table(key, title, cols, rows, note)


def metric(key: str, label: str, value: Any, kind: str = "num", note: str = "") -> Metric:
    """Shorthand for :class:`Metric`."""
    return Metric(key, label, value, kind, note)


def figure(key: str, title: str, fig: go.Figure) -> Figure:
    """Wrap a domain figure, applying the house style (ticker colours, layout)."""
    if not fig.layout.title.text:
        fig.update_layout(title={"text": title})
    return Figure(key, title, apply_style(fig))


def guarded(key: str, title: str, build: Callable[[], Section]) -> Section:
    """Run a section builder; a missing domain module or missing data becomes a visible status.

    ``ModuleNotFoundError`` for a ``hashdesk.*`` module → ``unavailable`` ("module not
    available"); ``LookupError``/``ValueError`` from the library (no rows for the period, bad
    window) → ``no_data`` with its message; anything else → ``error`` with the exception text
    (never a stack trace), so one broken module cannot take the whole brief down silently.
    """
    try:
        return build()
    except ModuleNotFoundError as exc:
        if (exc.name or "").startswith("hashdesk"):
            return Section(key, title, UNAVAILABLE, f"module not available ({exc.name})")
        return Section(key, title, ERROR, f"{type(exc).__name__}: {exc}")
    except (LookupError, ValueError) as exc:
        return Section(key, title, NO_DATA, str(exc))
    except Exception as exc:  # noqa: BLE001 - reported in the section, see docstring
        return Section(key, title, ERROR, f"{type(exc).__name__}: {exc}")


# -- serialisation --------------------------------------------------------------------------


def section_to_dict(section: Section, include_figures: bool = False) -> dict[str, Any]:
    """JSON-ready dict of a section (raw values and their display text)."""
    from hashdesk.jsonable import to_jsonable

    out: dict[str, Any] = {
        "key": section.key,
        "title": section.title,
        "status": section.status,
        "note": section.note,
        "metrics": [
            {
                "key": m.key,
                "label": m.label,
                "value": to_jsonable(m.value),
                "unit": KIND_UNITS.get(m.kind, ""),
                "kind": m.kind,
                "display": m.display,
                "note": m.note,
            }
            for m in section.metrics
        ],
        "tables": [
            {
                "key": t.key,
                "title": t.title,
                "note": t.note,
                "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in t.columns],
                "rows": to_jsonable([list(r) for r in t.rows]),
                "display": t.display_rows(),
            }
            for t in section.tables
        ],
        "sources": list(section.sources),
        "sentences": [{"text": x.text, "refs": list(x.refs)} for x in section.sentences],
        "progress": [
            {"key": p.key, "label": p.label, "done": p.done, "total": p.total, "detail": p.detail,
             "marks": [list(m) for m in p.marks]}
            for p in section.progress
        ],
    }
    out["figures"] = [
        {"key": f.key, "title": f.title, **({"plotly": json.loads(f.figure.to_json())} if include_figures else {})}
        for f in section.figures
    ]
    return out
