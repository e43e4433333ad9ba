"""Shared fixtures: the reference bundle and a real DuckDB store built from it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from hashdesk.config import default_data_dir
from hashdesk.store import Store

# CI runs property tests with a fixed seed sequence (reproducible runs); locally they explore.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The reference bundle (``$HASHDESK_DATA`` or ``../shared/data``); skip if absent."""
    p = default_data_dir()
    if not (p / "btc_epoch_targets_electrum.csv").exists():
        pytest.skip(f"reference bundle not found at {p} (set HASHDESK_DATA)")
    return p


@pytest.fixture(scope="session")
def bundle_db_path(tmp_path_factory, data_dir) -> Path:
    """Path of a DuckDB file holding the whole reference bundle (built once per session)."""
    from hashdesk.store.ingest import ingest_bundle

    path = tmp_path_factory.mktemp("bundle") / "bundle.duckdb"
    with Store(path) as store:
        ingest_bundle(store, data_dir)
    return path


@pytest.fixture()
def bundle_store(bundle_db_path) -> Store:
    """Read-only store with the reference bundle (do not write to it)."""
    store = Store(bundle_db_path, read_only=True)
    yield store
    store.close()


@pytest.fixture()
def bundle_desk(bundle_db_path):
    """A read-only :class:`~hashdesk.desk.Desk` over the reference bundle."""
    from hashdesk.desk import Desk

    desk = Desk(bundle_db_path)
    yield desk
    desk.close()


@pytest.fixture()
def empty_store(tmp_path) -> Store:
    """A fresh, migrated store in a temp dir."""
    store = Store(tmp_path / "empty.duckdb")
    yield store
    store.close()
