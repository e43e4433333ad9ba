"""The read layer's "read once" scope: within ``Desk.reading_once()`` a repeated query is answered
from memory (as an independent copy); outside it every query goes to the store and sees new rows.
Real DuckDB files, written by a second connection between reads."""

from __future__ import annotations

import duckdb

from hashdesk.data import Reader
from hashdesk.desk import Desk

QUERY = "SELECT x FROM t ORDER BY x"


def _store(path) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t (x INTEGER)")
    con.execute("INSERT INTO t VALUES (1), (2)")
    con.close()


def test_reader_memo_answers_a_repeat_from_memory_as_a_copy(tmp_path):
    path = tmp_path / "s.duckdb"
    _store(path)
    con = duckdb.connect(str(path))
    r = Reader(con)
    r.memoize(True)
    first = r.df(QUERY)
    first.loc[0, "x"] = 99  # a caller's edit must not reach the next caller
    con.execute("INSERT INTO t VALUES (3)")  # a row written after the first read
    again = r.df(QUERY)
    assert again["x"].tolist() == [1, 2]  # the snapshot read once, unedited
    assert r.scalar("SELECT count(*) FROM t") == 3  # a new query is read from the store
    con.execute("INSERT INTO t VALUES (4)")
    assert r.scalar("SELECT count(*) FROM t") == 3  # ... once
    r.memoize(False)  # off: forget, and read the store again
    assert r.df(QUERY)["x"].tolist() == [1, 2, 3, 4]
    assert r.scalar("SELECT count(*) FROM t") == 4
    con.close()


def test_desk_reading_once_scope_is_nested_and_forgets_on_exit(tmp_path):
    path = tmp_path / "s.duckdb"
    _store(path)
    con = duckdb.connect(str(path))
    desk = Desk(con=con)
    r = desk.reader(None)
    assert r._memo is None
    with desk.reading_once():
        with desk.reading_once():
            assert desk.reader(None).df(QUERY)["x"].tolist() == [1, 2]
            con.execute("INSERT INTO t VALUES (3)")
        # the inner block's exit keeps the outer scope's memory
        assert desk.reader(None).df(QUERY)["x"].tolist() == [1, 2]
    assert r._memo is None
    assert desk.reader(None).df(QUERY)["x"].tolist() == [1, 2, 3]
    con.close()
