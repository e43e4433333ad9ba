"""The read layer: every read of the store lives in this package.

A :class:`Reader` is a read-only view of the store **as of a time** ``t``: each dated table is
shadowed by a temporary table holding only the rows known at ``t`` (:data:`KNOWN_AT_RULES`), so
every query of this package sees exactly what a store loaded with nothing after ``t`` would
hold. An answer as of ``t`` therefore cannot change when later rows arrive. ``as_of=None`` reads
everything (the store as it is now).

The modules of this package (one per table family: :mod:`~hashdesk.data.chain`,
:mod:`~hashdesk.data.network`, :mod:`~hashdesk.data.markets`, :mod:`~hashdesk.data.production`,
:mod:`~hashdesk.data.companies`) turn SQL into DataFrames (a UTC ``DatetimeIndex`` where rows are
dated) or frozen records. Domain modules never import this package; the desk
(:mod:`hashdesk.desk`) passes what it reads to them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from hashdesk.config import default_db_path

#: Seconds per day.
DAY_S: int = 86_400
#: A gap-free run of fewer blocks than this is not per-block data (DESIGN.md §2: a header time
#: only has to exceed the median of the previous 11); isolated epoch-start headers are kept.
MIN_RUN_BLOCKS: int = 12


class DataError(RuntimeError):
    """The store cannot be read (missing file, locked, not a hashdesk store)."""


#: When a row of each dated table becomes known (documentation of the temp tables built below).
KNOWN_AT_RULES: dict[str, str] = {
    "blocks": (
        "header time < t; then gap-free runs shorter than 12 blocks are dropped unless they are "
        "isolated epoch-start headers (a block whose predecessor carries a later time, cut off "
        "from its run, is not per-block data)"
    ),
    "epochs": (
        "every epoch before the first one whose start time (epochs / first block / "
        "difficulty_adjustments) is known to be >= t (epochs with unknown start times before it stay)"
    ),
    "difficulty_adjustments": "time < t",
    "network_daily": "end of the UTC day <= t (Coin Metrics' values and price fixing close the day)",
    "hashrate_daily": "end of the UTC day <= t",
    "prices_daily": "end of the UTC (BTC) or New York (equities) trading day <= t",
    "miner_production": "end of the reported calendar month <= t",
    "event_log": "at_unix <= t",
    "company facts": "end of the public day <= t (company_capital, _fleet, _sites, _hpc_contracts; "
                     "the companies table is identity data and is not dated)",
}


def last_full_day(t: int) -> date:
    """The last UTC day that has ended at or before ``t`` [unix s]."""
    return datetime.fromtimestamp(int(t) - DAY_S, tz=UTC).date()


def last_full_month(t: int) -> str:
    """The last calendar month (``YYYY-MM``) that has ended at or before ``t`` [unix s]."""
    d = last_full_day(t)
    nxt = d + timedelta(days=1)
    if nxt.day == 1:
        return d.strftime("%Y-%m")
    first = d.replace(day=1) - timedelta(days=1)
    return first.strftime("%Y-%m")


def _as_of_tables(con: duckdb.DuckDBPyConnection, db: str, t: int) -> None:
    """Create the temporary tables and views that shadow the dated tables with their rows known at ``t``."""
    day = last_full_day(t)
    month = last_full_month(t)
    src = f'"{db}".main'
    # the heights known (integers only: copying whole rows with their hashes cost ~15 ms more)
    # and a view of those rows
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _known_heights AS
        WITH k AS (SELECT height FROM {src}.blocks WHERE time < {int(t)}),
        r AS (SELECT height, height - row_number() OVER (ORDER BY height) AS _grp FROM k),
        c AS (SELECT _grp, count(*) AS _n FROM r GROUP BY _grp)
        SELECT r.height FROM r JOIN c USING (_grp)
        WHERE c._n >= {MIN_RUN_BLOCKS} OR (c._n = 1 AND r.height % 2016 = 0)
        """
    )
    con.execute(f"CREATE OR REPLACE TEMP VIEW blocks AS SELECT * FROM {src}.blocks "
                "WHERE height IN (SELECT height FROM _known_heights)")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE epochs AS
        WITH s AS (
            SELECT e.epoch, coalesce(e.start_time, b.time, d.time) AS start
            FROM {src}.epochs e
            LEFT JOIN {src}.blocks b ON b.height = e.first_height
            LEFT JOIN {src}.difficulty_adjustments d ON d.height = e.first_height
        )
        SELECT e.* FROM {src}.epochs e
        WHERE e.epoch < coalesce((SELECT min(epoch) FROM s WHERE start >= {int(t)}), 2147483647)
        ORDER BY e.epoch
        """
    )
    simple = {
        "difficulty_adjustments": f"time < {int(t)}",
        "network_daily": f"date <= DATE '{day.isoformat()}'",
        "hashrate_daily": f"date <= DATE '{day.isoformat()}'",
        "prices_daily": f"date <= DATE '{day.isoformat()}'",
        "miner_production": f"month <= '{month}'",
        "event_log": f"at_unix <= {int(t)}",
    }
    company = ("company_capital", "company_fleet", "company_sites", "company_hpc_contracts")
    present = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = 'main' "
        "AND table_type = 'BASE TABLE'", [db]).fetchall()}
    simple |= {name: f"public_date <= DATE '{day.isoformat()}'" for name in company if name in present}
    # plain filters are views: nothing is copied (copying prices_daily alone took ~40 ms)
    for name, where in simple.items():
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {src}.{name} WHERE {where}")


class Reader:
    """A read-only view of the store, optionally as of a time.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection to the store (its own cursor is used; temp tables live there).
    as_of : int, optional
        Unix seconds [s]; rows not known at that time are invisible (:data:`KNOWN_AT_RULES`).
        None reads everything.
    path : Path or str, optional
        The store's path, for messages.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, as_of: int | None = None,
                 path: Path | str | None = None):
        self.con = con.cursor()
        self.as_of = None if as_of is None else int(as_of)
        self.path = path
        self._db = self.con.execute("SELECT current_database()").fetchone()[0]
        if self.as_of is not None:
            _as_of_tables(self.con, self._db, self.as_of)

    def at(self, as_of: int | None) -> Reader:
        """Another reader on the same store as of a different time."""
        return Reader(self.con, as_of, self.path)

    #: Answers of earlier queries while :meth:`memoize` is on (None: off), keyed by the query text
    #: and its parameters.
    _memo: dict[tuple[str, str], Any] | None = None

    def memoize(self, on: bool) -> None:
        """Keep (``True``) or stop keeping and forget (``False``) the answers of this reader's
        queries. While on, a query asked again is answered from memory (DataFrames as copies):
        for a job that reads one snapshot many times (the brief), not for a long-lived reader
        that must see new rows."""
        self._memo = {} if on else None

    def df(self, sql: str, params: list | tuple | None = None) -> pd.DataFrame:
        """Run a query and return a DataFrame."""
        if self._memo is None:
            return self.con.execute(sql, params or []).df()
        key = (sql, repr(params))
        if key not in self._memo:
            self._memo[key] = self.con.execute(sql, params or []).df()
        return self._memo[key].copy()

    def scalar(self, sql: str, params: list | tuple | None = None) -> Any:
        """Run a query returning one value (None when there is no row)."""
        key = ("scalar", sql + repr(params))
        if self._memo is not None and key in self._memo:
            return self._memo[key]
        row = self.con.execute(sql, params or []).fetchone()
        value = None if row is None else row[0]
        if self._memo is not None:
            self._memo[key] = value
        return value

    def has_table(self, name: str) -> bool:
        """True when the store has the table (migrations may add tables later)."""
        return bool(self.scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]))

    def schema_version(self) -> int:
        """Highest applied migration version (0 for an empty database)."""
        if not self.has_table("schema_version"):
            return 0
        return int(self.scalar("SELECT max(version) FROM schema_version") or 0)

    def table_counts(self) -> dict[str, int]:
        """Row count of every stored table (not the as-of views)."""
        names = [r[0] for r in self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? "
            "AND table_schema = 'main' ORDER BY table_name", [self._db]).fetchall()]
        return {n: int(self.scalar(f'SELECT count(*) FROM "{self._db}".main."{n}"')) for n in names}

    def close(self) -> None:
        """Close this reader's cursor."""
        self.con.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def connect_read_only(path: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """Open the store file read-only (many readers may share it with one writer process).

    Raises
    ------
    DataError
        When there is no store at ``path`` or it cannot be opened, naming the way forward.
    """
    p = Path(path) if path is not None else default_db_path()
    if not p.exists():
        raise DataError(
            f"no store at {p}: run `hashdesk ingest` (or `make demo`) first, "
            "or point --db / HASHDESK_DB at an existing store"
        )
    try:
        return duckdb.connect(str(p), read_only=True)
    except duckdb.IOException as exc:
        msg = str(exc)
        if "lock" in msg.lower():
            raise DataError(
                f"cannot open {p} read-only: another process holds its write lock ({msg.splitlines()[0]}). "
                "Wait for `hashdesk ingest`/`hashdesk sync` to finish, then retry."
            ) from None
        raise DataError(f"cannot open store {p}: {msg}") from None


def open_reader(path: str | Path | None = None, as_of: int | None = None) -> Reader:
    """A :class:`Reader` on the store at ``path`` (default: ``--db`` / ``HASHDESK_DB`` / XDG)."""
    p = Path(path) if path is not None else default_db_path()
    return Reader(connect_read_only(p), as_of, p)


__all__ = ["KNOWN_AT_RULES", "DataError", "Reader", "connect_read_only", "last_full_day",
           "last_full_month", "open_reader"]


def newest_row_unix(reader: Reader) -> int | None:
    """Time of the newest row the reader shows in any dated chain or daily table [unix s]:
    the last block's header time, or the end of the last UTC day of ``network_daily``,
    ``prices_daily`` or ``hashrate_daily``; None when all are empty."""
    from hashdesk.times import day_end_unix

    cands = [reader.scalar("SELECT max(time) FROM blocks")]
    for table in ("network_daily", "prices_daily", "hashrate_daily"):
        d = reader.scalar(f"SELECT max(date) FROM {table}")
        cands.append(day_end_unix(d) if d is not None else None)
    cands = [int(c) for c in cands if c is not None]
    return max(cands) if cands else None
