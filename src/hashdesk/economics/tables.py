"""Store queries of the economics module (the only I/O of ``hashdesk.economics``' issue-3 parts).

The domain functions in :mod:`hashprice`, :mod:`fleet`, :mod:`breakeven` and :mod:`halving` are
pure; this module reads their inputs from the store and writes the ``network_economics_daily``
table (migration 0010).

The stored table holds Coin Metrics' fees (it has no ``fees_source`` column); exact fees of the
days that synced per-block rows cover (``blocks.fees_sats``) are applied whenever the table is
read or computed (:func:`hashdesk.economics.hashprice.apply_block_fees`), so a sync never leaves
it stale.
"""

from __future__ import annotations

import time
from datetime import date

import pandas as pd

from hashdesk.economics.fleet import (
    CATALOGUE_COLUMNS,
    AsicCatalogue,
    read_catalogue_file,
    shipped_additions,
    validate_catalogue,
)
from hashdesk.economics.hashprice import (
    COLUMNS,
    NetworkDataError,
    apply_block_fees,
    block_fees_by_day,
    choose_daily_fees,
    network_economics_daily,
)
from hashdesk.store.db import Store

#: The economics table (migration 0010).
TABLE = "network_economics_daily"
#: Default network_daily source.
DEFAULT_SOURCE = "coinmetrics"
#: Columns of the stored table (the fee source is decided when it is read).
STORED_COLUMNS = [c for c in COLUMNS if c != "fees_source"]


def _has_table(store: Store, name: str) -> bool:
    return bool(
        store.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name])
    )


def load_network_inputs(store: Store, source: str = DEFAULT_SOURCE) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``network_daily`` rows of one source, the ``epochs`` table and mempool's daily hashrate.

    Raises
    ------
    NetworkDataError
        If the store has no ``network_daily`` rows for ``source`` or no epochs.
    """
    nd = store.df(
        "SELECT date, blk_cnt, fee_tot_btc, iss_tot_btc, price_usd, hashrate_ehs "
        "FROM network_daily WHERE source = ? ORDER BY date",
        [source],
    )
    if nd.empty:
        raise NetworkDataError(
            f"the store has no network_daily rows from source '{source}': run `hashdesk ingest` first"
        )
    ep = store.df("SELECT epoch, bits FROM epochs ORDER BY epoch")
    if ep.empty:
        raise NetworkDataError("the store has no difficulty epochs: run `hashdesk ingest` first")
    hd = store.df(
        "SELECT date, hashrate_ehs FROM hashrate_daily WHERE source = 'mempool.space' ORDER BY date"
    )
    return nd, ep, hd


def load_block_fees(store: Store, start: date | str | None = None, end: date | str | None = None) -> pd.DataFrame:
    """Exact fees of the UTC days whose blocks all carry ``fees_sats`` (synced rows).

    Parameters
    ----------
    store : Store
    start, end : date or str, optional
        First and last UTC day wanted (inclusive); rows a day either side are read so that
        the covering rule sees the neighbouring blocks.

    Returns
    -------
    pandas.DataFrame
        :func:`hashdesk.economics.hashprice.block_fees_by_day` output: ``date``, ``blocks``,
        ``fees_sats`` [sats], complete days only.
    """
    where, params = ["fees_sats IS NOT NULL"], []
    if start is not None:
        where.append("time >= ?")
        params.append(_day_unix(start) - 86_400)
    if end is not None:
        where.append("time < ?")
        params.append(_day_unix(end) + 2 * 86_400)
    rows = store.df(
        f"SELECT height, time, fees_sats FROM blocks WHERE {' AND '.join(where)} ORDER BY height", params
    )
    return block_fees_by_day(rows.height, rows.time, rows.fees_sats)


def _day_unix(day: date | str) -> int:
    """Start of a UTC day [unix s]."""
    return int(pd.Timestamp(pd.Timestamp(day).date()).timestamp())


def load_daily_fees(store: Store, start: date | str, end: date | str) -> pd.DataFrame:
    """Fees per UTC day in ``start..end``: from ``blocks`` where they cover the day, else Coin Metrics.

    Returns
    -------
    pandas.DataFrame
        :func:`hashdesk.economics.hashprice.choose_daily_fees` output restricted to the days
        that have fees: ``date``, ``fee_blocks`` [blocks], ``fees_btc_total`` [BTC],
        ``fees_btc_per_block`` [BTC], ``fees_source`` (``'blocks'`` | ``'coinmetrics'``).
    """
    lo, hi = pd.Timestamp(start).date(), pd.Timestamp(end).date()
    cm = store.df(
        "SELECT date, blk_cnt, fee_tot_btc FROM network_daily "
        "WHERE source = ? AND date BETWEEN ? AND ? AND fee_tot_btc IS NOT NULL ORDER BY date",
        [DEFAULT_SOURCE, lo, hi],
    )
    out = choose_daily_fees(cm, load_block_fees(store, lo, hi))
    keep = out["fees_source"].notna() & (out["date"] >= lo) & (out["date"] <= hi)
    return out[keep].reset_index(drop=True)


def compute_network_economics(store: Store, source: str = DEFAULT_SOURCE) -> pd.DataFrame:
    """Build the daily table from the store's inputs without writing it (block fees applied)."""
    nd, ep, hd = load_network_inputs(store, source)
    return network_economics_daily(nd, ep, hd, load_block_fees(store, nd["date"].min(), nd["date"].max()))


def rebuild_network_economics(store: Store, source: str = DEFAULT_SOURCE) -> int:
    """(Re)build ``network_economics_daily`` (``source``'s fees) in one transaction; returns the rows written."""
    if store.read_only:
        raise NetworkDataError("the store is open read-only; cannot rebuild the economics table")
    nd, ep, hd = load_network_inputs(store, source)
    table = network_economics_daily(nd, ep, hd).assign(source=source, built_at=int(time.time()))
    cols = ["date", "source", *STORED_COLUMNS[1:], "built_at"]
    table = table[cols]
    with store.transaction() as con:
        con.execute(f"DELETE FROM {TABLE}").fetchall()
        con.register("_econ", table)
        try:
            con.execute(f"INSERT INTO {TABLE} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM _econ").fetchall()
        finally:
            con.unregister("_econ")
    return len(table)


def _stored_is_current(store: Store, source: str) -> bool:
    if not _has_table(store, TABLE):
        return False
    got = store.con.execute(
        f"SELECT count(*), min(date), max(date), min(source), max(source) FROM {TABLE}"
    ).fetchone()
    want = store.con.execute(
        "SELECT count(*), min(date), max(date) FROM network_daily WHERE source = ?", [source]
    ).fetchone()
    if not got[0] or got[3] != source or got[4] != source:
        return False
    span = (want[2] - want[1]).days + 1 if want[0] else -1
    return got[1] == want[1] and got[2] == want[2] and got[0] == span


def network_economics(
    store: Store,
    start: str | None = None,
    end: str | None = None,
    source: str = DEFAULT_SOURCE,
) -> pd.DataFrame:
    """Daily network economics between ``start`` and ``end`` (inclusive, UTC dates).

    Reads ``network_economics_daily`` when it is current for ``source``; otherwise computes the
    table from the inputs in memory (a read-only store cannot be written). Either way, days
    whose blocks all carry ``fees_sats`` take their fees from the blocks (``fees_source``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`hashdesk.economics.hashprice.COLUMNS`.
    """
    if _stored_is_current(store, source):
        df = store.df(f"SELECT {', '.join(STORED_COLUMNS)} FROM {TABLE} ORDER BY date")
        df["date"] = pd.to_datetime(df["date"]).dt.date
        for c in ("blocks", "epoch_first", "epoch_last", "blocks_epoch_first", "bits_last", "height_last"):
            df[c] = df[c].astype("Int64")
        df = apply_block_fees(df, load_block_fees(store, df["date"].min(), df["date"].max()))
    else:
        df = compute_network_economics(store, source)
    if start is not None:
        df = df[df["date"] >= pd.Timestamp(start).date()]
    if end is not None:
        df = df[df["date"] <= pd.Timestamp(end).date()]
    return df.reset_index(drop=True)


def asic_catalogue(store: Store, extra_files: list | tuple = ()) -> AsicCatalogue:
    """The store's ``asic_models``, then the shipped additions, then each user file (later wins).

    Raises
    ------
    CatalogueError
        If a user file is missing or invalid.
    """
    stored = store.df(f"SELECT {', '.join(CATALOGUE_COLUMNS)} FROM asic_models ORDER BY model")
    frames = [validate_catalogue(stored, "store asic_models")] if not stored.empty else []
    frames.append(shipped_additions())
    frames.extend(read_catalogue_file(p) for p in extra_files)
    return AsicCatalogue.from_frames(*frames)
