"""Plain-text tables that fit the terminal (no third-party imports: ``hashdesk --help`` stays fast).

A table is laid out for a width (the terminal's, ``COLUMNS``, or 80 when piped):

* every column gets at least the width of its header's first word and of its widest short cell,
  so "2024-01-10" or "73.20 T" never wraps and a header never breaks inside its first word;
* when all columns fit at those widths, spare width goes to the columns that want it;
* when they do not, a table of a few rows turns into one key/value block per row, and a longer
  table keeps the columns that fit (first column first) and names the ones it hid;
* ``width=None`` (``--wide``, or output to a file) lays every column out at its natural width.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

#: Spaces between two columns.
GAP = 2
#: A cell of at most this many characters never wraps (numbers with a unit, dates, "in line").
ATOMIC = 12
#: A word longer than this may fold (URLs, long identifiers); dates and numbers never do.
FOLD = 16
#: Dates, times, numbers and ranges of them ("2024-01-10", "2024-01-16T23:30:26Z", "0.788–1.231").
_UNBREAKABLE = re.compile(r"^[(\[]?[+\-−]?[\d][\d,.:\-–→/TZ%]*[)\],;]?$")
#: Tables of at most this many rows that do not fit turn into key/value blocks.
VERTICAL_MAX_ROWS = 5


@dataclass
class Col:
    """One column: its header (a label with unit) and its cells, already formatted."""

    header: str
    cells: list[str]
    align: str = "left"  # or "right"
    #: Narrowest width: the header's first word and every cell that must not wrap.
    min_width: int = field(init=False)
    #: Widest line when nothing wraps.
    natural: int = field(init=False)
    #: Narrowest width at which no header word breaks.
    header_min: int = field(init=False)

    def __post_init__(self) -> None:
        words = self.header.split() or [""]
        cell_min = max((_cell_min(c) for c in self.cells), default=0)
        self.min_width = max(len(words[0]), cell_min, 1)
        self.header_min = max(self.min_width, min(max(len(w) for w in words), FOLD))
        self.natural = max([len(self.header), *[_longest_line(c) for c in self.cells]])
        self.natural = max(self.natural, self.min_width)


def _longest_line(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def _cell_min(text: str) -> int:
    """Width below which a cell would break where it must not: a short cell whole; in a longer
    text, its dates, times and numbers whole, other words up to :data:`FOLD` characters."""
    if len(text) <= ATOMIC and "\n" not in text:
        return len(text)
    return max((len(w) if _UNBREAKABLE.match(w) else min(len(w), FOLD) for w in text.split()), default=0)


def _wrap(text: str, width: int) -> list[str]:
    out: list[str] = []
    for para in text.splitlines() or [""]:
        if len(para) <= width:
            out.append(para)
            continue
        out.extend(textwrap.wrap(para, width, break_long_words=True, break_on_hyphens=False) or [""])
    return out


def _widths(cols: Sequence[Col], width: int | None) -> list[int] | None:
    """Column widths for ``width`` (None: natural), or None when the columns cannot fit."""
    nat = [c.natural for c in cols]
    if width is None:
        return nat
    room = width - GAP * (len(cols) - 1)
    if sum(nat) <= room:
        return nat
    for mins in ([c.header_min for c in cols], [c.min_width for c in cols]):
        if sum(mins) <= room:
            break
    else:
        return None
    widths = list(mins)
    spare = room - sum(widths)
    # whole header words first (narrowest need first), then water-fill towards natural widths
    for i in sorted(range(len(cols)), key=lambda i: cols[i].header_min - widths[i]):
        add = min(max(0, cols[i].header_min - widths[i]), spare)
        widths[i] += add
        spare -= add
    while spare > 0:
        wants = [i for i in range(len(cols)) if widths[i] < nat[i]]
        if not wants:
            break
        share = max(1, spare // len(wants))
        for i in sorted(wants, key=lambda i: widths[i] - nat[i]):
            add = min(share, nat[i] - widths[i], spare)
            widths[i] += add
            spare -= add
            if spare == 0:
                break
    return widths


def _render(cols: Sequence[Col], widths: Sequence[int], header: bool = True) -> list[str]:
    lines: list[str] = []
    if header:
        heads = [_wrap(c.header, w) for c, w in zip(cols, widths, strict=True)]
        depth = max(len(h) for h in heads)
        heads = [[""] * (depth - len(h)) + h for h in heads]  # bottom-aligned
        for k in range(depth):
            lines.append(_join([_pad(h[k], w, c.align) for h, w, c in zip(heads, widths, cols, strict=True)]))
        lines.append(_join(["─" * w for w in widths]))
    nrows = max((len(c.cells) for c in cols), default=0)
    for r in range(nrows):
        parts = [_wrap(c.cells[r] if r < len(c.cells) else "", w) for c, w in zip(cols, widths, strict=True)]
        depth = max(len(p) for p in parts)
        for k in range(depth):
            lines.append(_join([_pad(p[k] if k < len(p) else "", w, c.align)
                                for p, w, c in zip(parts, widths, cols, strict=True)]))
    return lines


def _pad(text: str, width: int, align: str) -> str:
    return text.rjust(width) if align == "right" else text.ljust(width)


def _join(parts: Sequence[str]) -> str:
    return (" " * GAP).join(parts).rstrip()


def _title(title: str | None, width: int | None) -> list[str]:
    if not title:
        return []
    return _wrap(title, width) if width else [title]


def render_table(cols: Sequence[Col], width: int | None, title: str | None = None,
                 vertical_max_rows: int = VERTICAL_MAX_ROWS) -> str:
    """Lay out a table for ``width`` characters (None: every column at its natural width).

    Parameters
    ----------
    cols : sequence of Col
        Columns with formatted cells (all of one length).
    width : int or None
        Terminal width [characters]; None for ``--wide``.
    title : str, optional
        Printed above the table.
    vertical_max_rows : int
        A table of at most this many rows that does not fit becomes key/value blocks.

    Returns
    -------
    str
        The table as lines of text (no trailing newline).
    """
    cols = list(cols)
    nrows = max((len(c.cells) for c in cols), default=0)
    widths = _widths(cols, width)
    if widths is not None:
        return "\n".join(_title(title, width) + _render(cols, widths))
    if nrows == 1:
        return render_kv([(c.header, c.cells[0]) for c in cols], width, title=title)
    if 1 < nrows <= vertical_max_rows:
        # transposed: one line per field, one column per row (keyed by the first column)
        turned = [Col(cols[0].header, [c.header for c in cols[1:]])]
        for r in range(nrows):
            cells = [c.cells[r] for c in cols[1:]]
            align = "right" if all(c.align == "right" or v in ("—", "") for c, v in zip(cols[1:], cells,
                                                                                   strict=True)) else "left"
            turned.append(Col(cols[0].cells[r], cells, align))
        tw = _widths(turned, width)
        if tw is not None:
            return "\n".join(_title(title, width) + _render(turned, tw))
    if nrows <= vertical_max_rows:
        blocks = _title(title, width)
        for r in range(nrows):
            name = f"{cols[0].header}: {cols[0].cells[r]}" if nrows > 1 else ""
            rec = [(c.header, c.cells[r]) for c in (cols[1:] if nrows > 1 else cols)]
            if blocks:
                blocks.append("")
            blocks.append(render_kv(rec, width, title=name or None))
        return "\n".join(blocks)
    keep = [cols[0]]
    for c in cols[1:]:
        if _widths([*keep, c], width) is not None:
            keep.append(c)
    hidden = [c for c in cols if c not in keep]
    widths = _widths(keep, width) or [c.min_width for c in keep]
    names = ", ".join(c.header for c in hidden)
    note = (f"{len(hidden)} more column{'s' if len(hidden) > 1 else ''} not shown ({names}): "
            "--wide shows all, --format csv exports all")
    return "\n".join(_title(title, width) + _render(keep, widths) + _wrap(note, width))


def render_kv(items: Sequence[tuple[str, str]], width: int | None, title: str | None = None) -> str:
    """Lay out (label, value) pairs as two columns for ``width`` characters (None: natural).

    Labels fold at spaces when the width is short; values never break inside a short value.
    """
    labels = Col("", [k for k, _ in items])
    values = Col("", [v for _, v in items])
    widths = _widths([labels, values], width)
    if widths is not None and width is not None and widths[0] < labels.natural:
        # labels whole when the values still get their narrowest width
        w0 = min(labels.natural, width - GAP - values.min_width)
        if w0 > widths[0]:
            widths = [w0, width - GAP - w0]
    if widths is None:  # a very narrow terminal: label line, then the value indented
        lines = []
        for k, v in items:
            lines.append(k)
            lines.extend("  " + x for x in _wrap(v, max(1, (width or 80) - 2)))
        return "\n".join(_title(title, width) + lines)
    body = _render([labels, values], widths, header=False)
    rule = ["─" * min(width or 10**9, max(sum(widths) + GAP, len(title or "")))] if title else []
    return "\n".join(_title(title, width) + rule + body)
