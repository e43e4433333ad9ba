"""The brief in the terminal (Rich): headline numbers, then each section's tables.

Charts do not fit a terminal; each is named with a pointer to the HTML brief.
"""

from __future__ import annotations

import io

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table as RichTable
from rich.text import Text

from hashdesk.report.brief import Brief
from hashdesk.report.model import OK, Section

_STATUS_STYLE = {"ok": "green", "unavailable": "yellow", "no_data": "yellow", "error": "red"}


def section_renderable(section: Section) -> Panel:
    """A Rich panel for one section."""
    parts: list = []
    if section.note:
        parts.append(Text(section.note, style="dim"))
    for i, sentence in enumerate(section.sentences, 1):
        line = Text(f"{i}. {sentence.text}")
        if sentence.refs:
            line.append(f" [{', '.join(sentence.refs)}]", style="dim")
        parts.append(line)
    for p in section.progress:
        width = 40
        filled = round(width * min(1.0, p.done / p.total)) if p.total else 0
        parts.append(Text(f"{p.label}  [{'#' * filled}{'.' * (width - filled)}] {100 * p.done / p.total:.1f}%"))
        if p.detail:
            parts.append(Text(p.detail, style="dim"))
    if section.metrics:
        kv = RichTable(show_header=False, box=None, pad_edge=False)
        kv.add_column("metric", style="dim")
        kv.add_column("value", justify="right", style="bold")
        for m in section.metrics:
            kv.add_row(escape(m.label), escape(m.display) + (f"  [dim]({escape(m.note)})[/]" if m.note else ""))
        parts.append(kv)
    for t in section.tables:
        rt = RichTable(title=escape(t.title), title_justify="left", caption=escape(t.note) or None)
        for i, c in enumerate(t.columns):
            rt.add_column(escape(c.label), justify="left" if i == 0 or c.kind == "text" else "right", overflow="fold")
        for row in t.display_rows():
            rt.add_row(*[escape(v) for v in row])
        if not t.rows:
            rt.add_row(*(["no rows"] + [""] * (len(t.columns) - 1)))
        parts.append(rt)
    if section.figures:
        names = ", ".join(f.title for f in section.figures)
        parts.append(Text(f"charts in the HTML brief: {names}", style="dim italic"))
    status = "" if section.status == OK else f" [{_STATUS_STYLE.get(section.status, 'red')}]({section.status})[/]"
    return Panel(Group(*parts) if parts else Text(""), title=f"[bold]{escape(section.title)}[/]{status}",
                 title_align="left")


def print_brief(brief: Brief, console: Console) -> None:
    """Print the brief to a Rich console."""
    console.rule(f"[bold]hashdesk brief — {brief.month.start:%B %Y}[/] (UTC {brief.month.start} to {brief.month.end})")
    for s in brief.sections:
        console.print(section_renderable(s))
    t = ", ".join(f"{k} {v:.2f}" for k, v in brief.timings_s)
    console.print(f"[dim]generated {brief.generated_utc:%Y-%m-%d %H:%M} UTC · build times \\[s]: {t}[/]")


def render_text(brief: Brief, width: int = 120) -> str:
    """The terminal brief as plain text (for ``--out FILE`` with ``--format terminal``)."""
    buf = io.StringIO()
    print_brief(brief, Console(file=buf, width=width, force_terminal=False, color_system=None))
    return buf.getvalue()
