"""Surface commands: ``brief`` (the monthly sector brief) and ``serve`` (the web dashboard)."""

from __future__ import annotations

import os
import time
from enum import StrEnum
from pathlib import Path

import typer

from hashdesk.cli._common import console, desk_from_ctx, err_console, fail


class BriefFormat(StrEnum):
    """``--format`` of ``brief``: the members of :class:`hashdesk.report.brief.BriefFormat`,
    repeated here so that building the CLI does not import the report (pandas, Plotly);
    ``tests/surfaces/test_surf_cli_output.py`` checks that the two agree."""

    terminal = "terminal"
    html = "html"
    json = "json"
    pdf = "pdf"


def brief(
    ctx: typer.Context,
    month: str = typer.Option(..., "--month", help="UTC calendar month, YYYY-MM."),
    fmt: BriefFormat = typer.Option(BriefFormat.terminal, "--format",
                                    help="terminal, html, json or pdf (pdf needs --out and Chromium)."),
    out: Path = typer.Option(None, "--out", help="Write to this file instead of stdout."),
    claims: Path = typer.Option(None, "--claims", help="Claims YAML to check in the Claims section."),
) -> None:
    """The monthly sector brief: markets, network, miners, AI/HPC and claims for one month."""
    from hashdesk.report.brief import BriefError, build_brief, render_brief
    from hashdesk.report.brief import BriefFormat as ReportFormat
    from hashdesk.report.model import Month

    fmt = ReportFormat(fmt.value)

    t0 = time.perf_counter()
    try:
        m = Month.parse(month)
    except ValueError as exc:
        fail(str(exc))
    if claims is not None and not claims.is_file():
        fail(f"--claims: no such file {claims}")
    if fmt == BriefFormat.pdf:
        from hashdesk.report.pdf import PdfError, find_chromium

        if out is None:
            fail("--format pdf writes a file: give --out FILE.pdf")
        try:
            find_chromium()
        except PdfError as exc:
            fail(str(exc))
    desk = desk_from_ctx(ctx)
    try:
        b = build_brief(desk, m, claims)
    except BriefError as exc:
        fail(str(exc))
    if out is None and fmt == BriefFormat.terminal:
        from hashdesk.report.terminal import print_brief

        print_brief(b, console)
    elif out is None:
        typer.echo(render_brief(b, fmt))
    else:
        from hashdesk.report.brief import save_brief
        from hashdesk.report.pdf import PdfError

        try:
            size = save_brief(b, out, fmt)
        except PdfError as exc:
            fail(str(exc))
        err_console.print(f"wrote {fmt.value} brief for {m} to {out} ({size:,} bytes)")
    err_console.print(f"[dim]brief built in {time.perf_counter() - t0:.2f} s[/]")


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind; non-loopback needs HASHDESK_TOKEN."),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
) -> None:
    """Serve the dashboard and its JSON API (read-only). Loopback by default."""
    import importlib.util

    import uvicorn

    from hashdesk.config import default_db_path
    from hashdesk.web.app import TOKEN_ENV, create_app, is_loopback

    token = os.environ.get(TOKEN_ENV) or None
    if not is_loopback(host) and not token:
        fail(f"refusing to bind {host}: set {TOKEN_ENV} to serve beyond loopback")
    db = (ctx.obj or {}).get("db") or default_db_path()
    desk_from_ctx(ctx).close()  # fail early and clearly if the store is missing or locked
    app = create_app(Path(db), token=token)
    console.print(f"hashdesk dashboard on http://{host}:{port}/ (store {db}; token {'required' if token else 'off'})")
    missing = [m for m in ("uvloop", "httptools") if importlib.util.find_spec(m) is None]
    if missing:
        err_console.print(f"[dim]serving without {' and '.join(missing)}: pip install "
                          "'hashdesk[server-speedups]' for uvicorn's faster event loop and HTTP parser[/]")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    """Add the surface commands."""
    app.command()(brief)
    app.command()(serve)
