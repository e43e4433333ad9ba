"""Guard against the DuckDB Top-N bug found on synced stores (wrong row after delete + insert).

DuckDB 2.0.0–2.0.1 (and 1.5.2) return 150000 here instead of 150001; 1.4.x and 1.5.6 are right.
Sync rolls back (deletes) and re-inserts blocks, exactly this pattern, so the pinned version must
pass.
"""

from __future__ import annotations

import duckdb


def test_top1_after_delete_and_reinsert(tmp_path):
    con = duckdb.connect(str(tmp_path / "topn.duckdb"))
    con.execute("CREATE TABLE t (h INTEGER PRIMARY KEY, x VARCHAR)").fetchall()
    con.execute("INSERT INTO t SELECT i, 'a' FROM range(200000) r(i)").fetchall()
    con.execute("CHECKPOINT").fetchall()
    con.execute("DELETE FROM t WHERE h > 150000").fetchall()
    con.execute("INSERT INTO t VALUES (150001, 'new')").fetchall()
    top = con.execute("SELECT h FROM t ORDER BY h DESC LIMIT 1").fetchone()[0]
    assert top == con.execute("SELECT max(h) FROM t").fetchone()[0] == 150001
    con.close()
