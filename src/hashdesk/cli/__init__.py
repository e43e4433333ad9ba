"""The ``hashdesk`` command line (Typer + Rich). Commands only call the library."""

from __future__ import annotations

import importlib
from pathlib import Path

import typer

app = typer.Typer(
    name="hashdesk",
    no_args_is_help=True,
    add_completion=False,
    help="Research desk for bitcoin miners: chain, economics, markets, scenarios, AI/HPC.",
    pretty_exceptions_enable=False,
)

#: Command modules; each defines ``register(app)``. Order = order in ``--help``.
COMMAND_MODULES = [
    "hashdesk.cli.foundation",  # ingest, info
    "hashdesk.cli.network",  # network
    "hashdesk.cli.economics",  # economics, stress, profile
    "hashdesk.cli.production",  # production, shocks
    "hashdesk.cli.market",  # market, check, ...
    "hashdesk.cli.scenario",  # simulate
    "hashdesk.cli.forward",  # forward, hedge
    "hashdesk.cli.hpc",  # hpc value/company/scorecard
    "hashdesk.cli.comps",  # comps
    "hashdesk.cli.sync",  # sync
    "hashdesk.cli.surfaces",  # brief, serve
    "hashdesk.cli.demo",  # demo
]


@app.callback()
def _root(
    ctx: typer.Context,
    db: Path = typer.Option(
        None,
        "--db",
        envvar="HASHDESK_DB",
        help="DuckDB store path \\[default: XDG data dir/hashdesk/hashdesk.duckdb].",
    ),
) -> None:
    ctx.obj = {"db": db}


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Console-script entry point."""
    app()
