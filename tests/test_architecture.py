"""The layering of DESIGN.md §1, checked on the source: domain modules do no I/O."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "hashdesk"
DOMAIN = ("chain", "economics", "market", "hpc", "scenario", "report")
IMPORT = re.compile(r"^\s*(?:from|import)\s+(hashdesk(?:\.\w+)*)", re.M)


def _imports(path: Path) -> set[str]:
    return set(IMPORT.findall(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("package", DOMAIN)
def test_domain_imports_neither_store_nor_read_layer(package):
    forbidden = ("hashdesk.store", "hashdesk.data", "hashdesk.sources")
    if package != "report":  # the brief formats what the desk returns; the domain never sees it
        forbidden += ("hashdesk.desk",)
    bad = {f"{p.relative_to(SRC)}: {m}" for p in (SRC / package).rglob("*.py") for m in _imports(p)
           if m.startswith(forbidden)}
    assert not bad, sorted(bad)


SQL = re.compile(r"\b(?:SELECT|INSERT|DELETE FROM|UPDATE \w+ SET|CREATE (?:TEMP )?TABLE)\b")


def test_sql_lives_in_the_store_and_the_read_layer():
    """Every query is in ``hashdesk.store`` (writes, migrations) or ``hashdesk.data`` (reads)."""
    bad = [f"{p.relative_to(SRC)}:{i}" for p in SRC.rglob("*.py")
           if p.relative_to(SRC).parts[0] not in ("store", "data")
           for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if SQL.search(line)]
    assert not bad, bad


def test_sources_only_fetch_and_parse():
    """Sources import neither the store nor anything above it (writes live in hashdesk.store)."""
    bad = {f"{p.relative_to(SRC)}: {m}" for p in (SRC / "sources").rglob("*.py") for m in _imports(p)
           if m.startswith(("hashdesk.store", "hashdesk.data", "hashdesk.desk", "hashdesk.cli"))}
    assert not bad, sorted(bad)


def test_only_the_cli_imports_the_cli():
    bad = {f"{p.relative_to(SRC)}: {m}" for p in SRC.rglob("*.py") if "cli" not in p.relative_to(SRC).parts
           for m in _imports(p) if m.startswith("hashdesk.cli")}
    assert not bad, sorted(bad)


def test_the_read_layer_never_writes():
    """hashdesk.data opens the store read-only and runs no DDL/DML on stored tables."""
    for p in (SRC / "data").rglob("*.py"):
        text = p.read_text(encoding="utf-8")
        for stmt in ("INSERT INTO", "UPDATE ", "DELETE FROM", "DROP TABLE", "ALTER TABLE"):
            assert stmt not in text, f"{p.name}: {stmt}"
        assert "CREATE TABLE" not in text.replace("CREATE OR REPLACE TEMP TABLE", ""), p.name


def test_a_broken_rule_is_caught(tmp_path, monkeypatch):
    """The check above fails when a domain module imports the store (it can fail)."""
    fake = tmp_path / "hashdesk" / "economics"
    fake.mkdir(parents=True)
    (fake / "leak.py").write_text("from hashdesk.store.db import Store\n")
    import sys

    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path / "hashdesk")
    with pytest.raises(AssertionError, match="leak.py"):
        test_domain_imports_neither_store_nor_read_layer("economics")
