"""Chain tables: per-block rows, difficulty epochs, halvings, sync events.

Every function takes a :class:`~hashdesk.data.Reader` (as of a time, or not) and returns plain
frames; the consensus arithmetic lives in :mod:`hashdesk.chain`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from hashdesk.chain.consensus import HALVING_INTERVAL, RETARGET_INTERVAL, difficulty
from hashdesk.data import Reader

#: The height range in a ``sync`` event message of :func:`hashdesk.store.chainsync.sync_chain`.
_SYNC_RANGE_RE = re.compile(r"heights (\d+)\.\.(\d+)")


class ChainDataError(ValueError):
    """The store lacks the chain data a question needs."""


def blocks(reader: Reader, with_fees: bool = False) -> pd.DataFrame:
    """Per-block ``height``, ``time`` [unix s], ``bits`` (and ``fees_sats`` [sats]) known at the reader's time.

    Rows without bits are left out (every bundle and synced row has them).
    """
    cols = "height, time, bits" + (", fees_sats" if with_fees else "")
    return reader.df(f"SELECT {cols} FROM blocks WHERE bits IS NOT NULL ORDER BY height")


def epochs(reader: Reader) -> pd.DataFrame:
    """Epochs with start times, from ``epochs`` extended and filled by per-block data.

    Start time of an epoch: ``epochs.start_time``, else the header time of its first block in
    ``blocks`` (e.g. synced), else ``difficulty_adjustments``. Epochs after the table's last one
    whose blocks are stored (synced past the bundle) are appended with the bits of their blocks
    (validated against the retarget rule by sync).

    Returns
    -------
    pandas.DataFrame
        ``epoch``, ``first_height``, ``bits``, ``difficulty``, ``start_time`` [unix s, float
        with NaN when unknown], ``start_time_source`` (``"epochs"``, ``"blocks"``,
        ``"difficulty_adjustments"`` or None), ``in_table`` (bool: from the epochs table).

    Raises
    ------
    ChainDataError
        When the store has no epochs or they are not the consecutive run 0, 1, 2, ...
    """
    ep = reader.df(
        """
        SELECT e.epoch, e.first_height, e.bits, e.difficulty,
               e.start_time, b.time AS block_time, d.time AS adj_time
        FROM epochs e
        LEFT JOIN blocks b ON b.height = e.first_height
        LEFT JOIN difficulty_adjustments d ON d.height = e.first_height
        ORDER BY e.epoch
        """
    )
    if ep.empty:
        raise ChainDataError("the store has no difficulty epochs: run `hashdesk ingest` first")
    if (ep.epoch.to_numpy() != np.arange(len(ep))).any():
        raise ChainDataError("epochs table is not the consecutive run 0, 1, 2, …")
    ep["in_table"] = True
    later = reader.df(
        """
        SELECT height // ? AS epoch, arg_min(bits, height) AS bits,
               max(CASE WHEN height % ? = 0 THEN time END) AS block_time
        FROM blocks WHERE bits IS NOT NULL AND height >= ?
        GROUP BY 1 ORDER BY 1
        """,
        [RETARGET_INTERVAL, RETARGET_INTERVAL, len(ep) * RETARGET_INTERVAL],
    )
    later = later[later.epoch.to_numpy() == np.arange(len(ep), len(ep) + len(later))]
    if len(later):
        later = later.assign(
            first_height=later.epoch * RETARGET_INTERVAL,
            difficulty=[difficulty(int(b)) for b in later.bits],
            start_time=None, adj_time=None, in_table=False,
        )
        ep = pd.concat([ep, later[ep.columns]], ignore_index=True)
    cols = {c: ep[c].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
            for c in ("start_time", "block_time", "adj_time")}
    start = np.where(~np.isnan(cols["start_time"]), cols["start_time"],
                     np.where(~np.isnan(cols["block_time"]), cols["block_time"], cols["adj_time"]))
    ep["start_time"] = start
    ep["start_time_source"] = np.select(
        [~np.isnan(cols["start_time"]), ~np.isnan(cols["block_time"]), ~np.isnan(cols["adj_time"])],
        ["epochs", "blocks", "difficulty_adjustments"], default=None,
    )
    return ep.drop(columns=["block_time", "adj_time"]).astype(
        {"epoch": "int64", "first_height": "int64", "bits": "int64", "in_table": bool})


def synced_through(reader: Reader) -> tuple[int, int] | None:
    """Height and time up to which the store is known to hold every block, from the last sync.

    The top block must be a synced row (``source`` ``sync:…``) and a ``sync`` event in
    ``event_log`` must record a run that ended at that height: at the event's time the source
    had no newer block.

    Returns
    -------
    (int, int) or None
        ``(top height, unix s of the latest such sync event)``; None when there is none.
    """
    top = reader.df("SELECT height, source FROM blocks WHERE height = (SELECT max(height) FROM blocks)")
    if top.empty or not str(top.source.iloc[0]).startswith("sync:"):
        return None
    height = int(top.height.iloc[0])
    events = reader.df("SELECT at_unix, message FROM event_log WHERE kind = 'sync' ORDER BY at_unix DESC")
    for at_unix, message in zip(events.at_unix, events.message, strict=True):
        m = _SYNC_RANGE_RE.search(str(message))
        if m and int(m.group(2)) == height:
            return height, int(at_unix)
    return None


def halving_blocks(reader: Reader) -> pd.DataFrame:
    """Halving blocks present in ``blocks``: ``index``, ``height``, ``time`` [unix s]."""
    heights = [HALVING_INTERVAL * i for i in range(1, 34)]
    df = reader.df("SELECT height, time FROM blocks WHERE height IN (SELECT unnest(?)) ORDER BY height",
                   [heights])
    df["index"] = df.height // HALVING_INTERVAL
    return df[["index", "height", "time"]]


def block_range(reader: Reader, h0: int, h1: int) -> pd.DataFrame:
    """``height``, ``time``, ``bits`` of the stored blocks with ``h0 <= height <= h1``."""
    return reader.df(
        "SELECT height, time, bits FROM blocks WHERE height BETWEEN ? AND ? AND bits IS NOT NULL "
        "ORDER BY height", [int(h0), int(h1)])


__all__ = ["ChainDataError", "block_range", "blocks", "epochs", "halving_blocks", "synced_through"]
