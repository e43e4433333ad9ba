"""Where hashdesk keeps its store and finds the reference data bundle."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

#: Environment variable overriding the DuckDB store path.
DB_ENV = "HASHDESK_DB"
#: Environment variable overriding the reference-data bundle directory.
DATA_ENV = "HASHDESK_DATA"


def repo_root() -> Path:
    """The source checkout's root (three levels above this file in ``src/`` layout)."""
    return Path(__file__).resolve().parents[2]


def default_db_path() -> Path:
    """Store path: ``$HASHDESK_DB`` or ``<XDG data dir>/hashdesk/hashdesk.duckdb``."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env).expanduser()
    return Path(user_data_dir("hashdesk", appauthor=False)) / "hashdesk.duckdb"


def default_data_dir() -> Path:
    """Reference bundle: ``$HASHDESK_DATA`` or ``../shared/data`` beside the repo root."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    return repo_root().parent / "shared" / "data"


class BundleMissingError(FileNotFoundError):
    """The reference bundle is not where we looked."""


def require_data_dir(path: Path | None = None) -> Path:
    """Return the bundle directory or raise a message naming the ways forward."""
    p = Path(path) if path is not None else default_data_dir()
    if not p.is_dir() or not any(p.rglob("*.csv")):
        raise BundleMissingError(
            f"no reference data bundle at {p}. Set {DATA_ENV}=/path/to/shared/data, "
            "or fetch live data with `hashdesk sync`."
        )
    return p
