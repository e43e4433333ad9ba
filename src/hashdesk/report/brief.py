"""The monthly sector brief: "what happened to bitcoin miners this month, and why?"

:func:`build_brief` runs every section builder of :mod:`hashdesk.report.sections` for one UTC
calendar month and returns a :class:`Brief`; :func:`write_brief` renders it as terminal text
(Rich), a self-contained HTML file (Plotly inlined) or JSON with the same numbers. Nothing is
cached between calls beyond the :class:`~hashdesk.desk.Desk` given (the desk reads each thing
once per time it is asked about, so the sections of one brief share their reads); the time each
section took is recorded in the brief. The brief is as of the end of its month: its network
state is the desk's state at that time, the same object ``hashdesk network --at`` prints.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hashdesk.report.model import Month, Section, section_to_dict

if TYPE_CHECKING:  # pragma: no cover
    from hashdesk.desk import Desk


class BriefError(ValueError):
    """The month cannot be briefed (no data for it), said with what the store holds."""


class BriefFormat(StrEnum):
    """Output format of the brief."""

    terminal = "terminal"
    html = "html"
    json = "json"
    pdf = "pdf"


@dataclass(frozen=True)
class Brief:
    """One month's brief: its sections in reading order and how long each took to build."""

    month: Month
    generated_utc: datetime
    sections: tuple[Section, ...]
    timings_s: tuple[tuple[str, float], ...]
    claims_file: str | None = None
    network_state: dict[str, Any] | None = None

    def section(self, key: str) -> Section:
        """The section with ``key`` (KeyError naming the keys that exist)."""
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(f"no section {key!r}; have {[s.key for s in self.sections]}")


def build_brief(desk: Desk, month: str | Month, claims_path: str | Path | None = None) -> Brief:
    """Assemble the brief for a calendar month, as of the month's end.

    Parameters
    ----------
    desk : Desk
        The desk over the store (read-only is enough).
    month : str or Month
        ``YYYY-MM`` (UTC calendar month).
    claims_path : str or Path, optional
        A claims YAML file (see ``hashdesk check``) to evaluate in the Claims section.

    Returns
    -------
    Brief

    Raises
    ------
    BriefError
        When the store has no network state for the month's end (naming the data it has).
    """
    from threadpoolctl import threadpool_limits

    # one BLAS thread: the brief's linear algebra is small (regressions of a few hundred days,
    # 2-parameter fits), where a multi-threaded BLAS spends more on waking threads than it saves;
    # the sections share one snapshot, so each query is read from the store once
    with threadpool_limits(1, user_api="blas"), desk.reading_once():
        return _build_brief(desk, month, claims_path)


def _build_brief(desk: Desk, month: str | Month, claims_path: str | Path | None) -> Brief:
    from hashdesk.economics.state import NetworkDataError
    from hashdesk.report import sections as S

    m = month if isinstance(month, Month) else Month.parse(month)
    try:
        state = desk.network_state(m.end).to_dict()
    except NetworkDataError as exc:
        raise BriefError(f"no brief for {m}: {exc}") from None
    built: list[Section] = []
    timings: list[tuple[str, float]] = []
    for key, builder in S.brief_builders(m, claims_path):
        t0 = time.perf_counter()
        built.append(builder(desk))
        timings.append((key, time.perf_counter() - t0))
    # the narrative quotes the sections above, so it is written last and read first
    from hashdesk.report.narrative import KEY, narrative_section

    t0 = time.perf_counter()
    built.insert(0, narrative_section(desk, m, built))
    timings.insert(0, (KEY, time.perf_counter() - t0))
    return Brief(
        month=m,
        generated_utc=datetime.now(UTC).replace(microsecond=0),
        sections=tuple(built),
        timings_s=tuple(timings),
        claims_file=str(claims_path) if claims_path else None,
        network_state=state,
    )


def brief_to_dict(brief: Brief, include_figures: bool = False) -> dict[str, Any]:
    """JSON-ready dict: the brief's metrics and tables (raw values and display text)."""
    return {
        "month": str(brief.month),
        "period_start": brief.month.start.isoformat(),
        "period_end": brief.month.end.isoformat(),
        "generated_utc": brief.generated_utc.isoformat(),
        "claims_file": brief.claims_file,
        "network_state": brief.network_state,
        "sections": [section_to_dict(s, include_figures) for s in brief.sections],
        "timings_s": {k: round(v, 4) for k, v in brief.timings_s},
    }


def render_brief(brief: Brief, fmt: BriefFormat | str) -> str:
    """Render a brief to text in ``fmt`` (terminal text has no colour codes; not ``pdf``,
    which :func:`save_brief` writes to a file)."""
    fmt = BriefFormat(fmt)
    if fmt == BriefFormat.pdf:
        raise ValueError("a PDF brief is a file: use save_brief(brief, path, 'pdf')")
    if fmt == BriefFormat.json:
        import json

        return json.dumps(brief_to_dict(brief), indent=2)
    if fmt == BriefFormat.html:
        from hashdesk.report.html import render_html

        return render_html(brief)
    from hashdesk.report.terminal import render_text

    return render_text(brief)


def write_brief(
    desk: Desk,
    month: str | Month,
    path: str | Path,
    fmt: BriefFormat | str = BriefFormat.html,
    claims_path: str | Path | None = None,
) -> Brief:
    """Build the brief for ``month`` and write it to ``path`` in ``fmt`` (html, json, terminal).

    Used by ``hashdesk brief --out`` and ``hashdesk demo``. Returns the brief that was written.
    """
    brief = build_brief(desk, month, claims_path)
    save_brief(brief, path, fmt)
    return brief


def save_brief(brief: Brief, path: str | Path, fmt: BriefFormat | str = BriefFormat.html) -> int:
    """Write a built brief to ``path`` in ``fmt``; returns the bytes written.

    ``pdf`` prints the HTML brief with headless Chromium (:func:`hashdesk.report.pdf.html_to_pdf`;
    raises :class:`~hashdesk.report.pdf.PdfError` without a browser).
    """
    fmt = BriefFormat(fmt)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == BriefFormat.pdf:
        from hashdesk.report.html import render_html
        from hashdesk.report.pdf import html_to_pdf

        html_to_pdf(render_html(brief), path)
        return path.stat().st_size
    text = render_brief(brief, fmt)
    path.write_text(text, encoding="utf-8")
    return len(text.encode("utf-8"))
