"""The DuckDB store: connection, versioned migrations and transactions.

The store is the only writer. Migrations live in ``store/migrations/NNNN_name.sql`` and are
applied in order, each once, inside a transaction; ``schema_version`` records them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb
import pandas as pd

from hashdesk.config import default_db_path

_MIGRATION_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class StoreError(RuntimeError):
    """A problem with the store itself (schema, locking, missing data)."""


def migrations() -> list[tuple[int, str, str]]:
    """All packaged migrations as ``(version, name, sql)``, sorted by version."""
    out = []
    for entry in resources.files("hashdesk.store").joinpath("migrations").iterdir():
        m = _MIGRATION_RE.match(entry.name)
        if m:
            out.append((int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    out.sort()
    versions = [v for v, _, _ in out]
    if len(set(versions)) != len(versions):
        raise StoreError(f"duplicate migration versions: {versions}")
    return out


_LOCK_RE = re.compile(r"Conflicting lock is held in (?P<exe>.*?) \(PID (?P<pid>\d+)\)")


def _lock_message(path: Path | str, exc: Exception, read_only: bool) -> str | None:
    """Who holds the store's lock and what to do, from DuckDB's lock error (None if not one)."""
    m = _LOCK_RE.search(str(exc))
    if not m:
        return None
    pid = m.group("pid")
    try:  # the holder's command line, e.g. "hashdesk serve" (Linux)
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        who = " ".join(" ".join(a.decode(errors="replace") for a in args if a).split())[:160]
        who = who or m.group("exe")
    except OSError:
        who = m.group("exe")
    if read_only:
        return (f"cannot read store {path}: process {pid} ({who}) is writing to it (DuckDB allows one "
                f"writer or many readers at a time). Run this again when it has finished; a sync or "
                f"ingest holds the store only while it writes.")
    return (f"cannot write to store {path}: process {pid} ({who}) has it open (DuckDB allows one "
            f"writer or many readers at a time, and `hashdesk serve` keeps a reader open). Stop that "
            f"process (Ctrl-C in its terminal, or `kill {pid}`), run this command again, then restart "
            f"it; or write to another store with --db PATH.")


class Store:
    """A hashdesk DuckDB store.

    Parameters
    ----------
    path : str or Path, optional
        Database file; defaults to :func:`hashdesk.config.default_db_path`. ``":memory:"`` works
        for throwaway stores.
    read_only : bool
        Open without write access (no migrations are applied).
    """

    def __init__(self, path: str | Path | None = None, read_only: bool = False):
        self.path = Path(path) if path not in (None, ":memory:") else path
        if self.path is None:
            self.path = default_db_path()
        if isinstance(self.path, Path):
            if read_only and not self.path.exists():
                raise StoreError(
                    f"no store at {self.path}: run `hashdesk ingest` (or `make demo`) first, "
                    "or point --db / HASHDESK_DB at an existing store"
                )
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:  # locked by another process, unreadable, ...
            raise StoreError(_lock_message(self.path, exc, read_only) or
                             f"cannot open store {self.path}: {exc}") from exc
        self.read_only = read_only
        if not read_only:
            self.migrate()

    # -- schema -------------------------------------------------------------------------------
    def schema_version(self) -> int:
        """Highest applied migration version (0 for an empty database)."""
        exists = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
        ).fetchone()[0]
        if not exists:
            return 0
        v = self.con.execute("SELECT max(version) FROM schema_version").fetchone()[0]
        return int(v or 0)

    def migrate(self) -> list[int]:
        """Apply pending migrations in order; returns the versions applied."""
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER PRIMARY KEY, name VARCHAR, applied_at BIGINT)"
        )
        current = self.schema_version()
        applied = []
        for version, name, sql in migrations():
            if version <= current:
                continue
            with self.transaction():
                self.con.execute(sql)
                self.con.execute(
                    "INSERT INTO schema_version VALUES (?, ?, ?)", [version, name, int(time.time())]
                )
            applied.append(version)
        return applied

    # -- transactions & queries -----------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One all-or-nothing transaction; rolls back on any exception."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")

    def df(self, sql: str, params: list | tuple | None = None) -> pd.DataFrame:
        """Run a query and return a DataFrame."""
        return self.con.execute(sql, params or []).df()

    def scalar(self, sql: str, params: list | tuple | None = None):
        """Run a query returning one value."""
        row = self.con.execute(sql, params or []).fetchone()
        return None if row is None else row[0]

    def table_counts(self) -> dict[str, int]:
        """Row count of every user table."""
        names = [
            r[0]
            for r in self.con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'main' ORDER BY table_name"
            ).fetchall()
        ]
        return {n: int(self.scalar(f'SELECT count(*) FROM "{n}"')) for n in names}

    def next_load_id(self) -> int:
        """Next free ``loads.load_id``."""
        return int(self.scalar("SELECT coalesce(max(load_id), 0) + 1 FROM loads"))

    def close(self) -> None:
        """Close the connection."""
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_store(path: str | Path | None = None, read_only: bool = False) -> Store:
    """Open (and migrate) the store at ``path`` or the default location."""
    return Store(path, read_only=read_only)
