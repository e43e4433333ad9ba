"""Embedded DuckDB store: the only writer."""

from hashdesk.store.db import Store, StoreError, open_store

__all__ = ["Store", "StoreError", "open_store"]
