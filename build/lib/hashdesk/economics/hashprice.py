"""Daily network economics: blocks, subsidy, fees, price, difficulty and hashprice per UTC day.

Inputs are the store's ``network_daily`` rows (Coin Metrics: ``blk_cnt``, ``fee_tot_btc``,
``iss_tot_btc``, ``price_usd``, ``hashrate_ehs``) and the ``epochs`` table (exact compact target of
every difficulty epoch). Everything here is pure: frames in, frames out.

Which difficulty applies to a day
---------------------------------
A day's blocks can straddle a retarget. We use **the exact work of each block's own epoch**: the
day's blocks are split between epoch ``k`` and ``k+1`` and the day's hashprice uses the
block-weighted mean work per block,

.. math:: \\bar W = (b_k W_k + b_{k+1} W_{k+1}) / (b_k + b_{k+1}),

which is the hashes the network actually spent per block that day. The split ``(b_k, b_{k+1})`` is
recovered exactly from Coin Metrics' ``HashRate``, which Coin Metrics derives as
``Σ difficulty · 2^32 / 86,400`` over the day's blocks: its implied mean difficulty is an exact
integer mix of the two epochs' difficulties (SOURCES.md §8 checks this on every day of the bundle).
The same split anchors block heights (``height_last``), so the position inside an epoch is known.

Days from synced blocks: exact
------------------------------
Where the stored blocks cover a UTC day completely (the day lies inside a gap-free run of
heights by the covering rule of :func:`hashdesk.chain.hashrate.covered_span`, or up to the time
the top run is known to be complete) **and every block carries its fees**, the day's figures are
exact sums over its blocks (:func:`daily_from_blocks`): block count by header time, subsidy from
each height, fees, and the exact work of each block's epoch (``day_source = fees_source =
'blocks'``). Days past Coin Metrics' series (it ends 2025-12-29) come from the blocks whether or
not they carry fees (a day without fees has no hashprice and says so). Every other day keeps
Coin Metrics' figures (``'coinmetrics'``). A day's figures never mix the two sources; the price
of a block-sourced day is Coin Metrics' fixing when it has the day, else the stored BTC-USD close.

Missing inputs are never filled: the value is NaN and the ``missing`` column names the input(s).

References
----------
.. [1] DESIGN.md §3 (hashprice from exact work).
.. [2] Coin Metrics, ``HashRate`` and ``DiffMean`` metric definitions (community data ``csv/btc.csv``).
.. [3] Hashrate Index, "Bitcoin Hashprice Index" methodology (USD and BTC per PH/s per day).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from hashdesk.chain.consensus import (
    RETARGET_INTERVAL,
    SATS_PER_BTC,
    block_subsidy,
    block_work,
    difficulty,
)
from hashdesk.chain.hashrate import contiguous_runs, covered_span
from hashdesk.economics.core import HS_PER_EHS, SECONDS_PER_DAY, hashprice_btc_per_ph_day_from_work

#: Coin Metrics' hashrate convention: hashes per unit difficulty [hashes].
HASHES_PER_DIFFICULTY: float = 2.0**32
#: Relative tolerance for matching a day's implied difficulty to one epoch [–].
PURE_MATCH_RTOL: float = 1e-5
#: Largest distance of a two-epoch split from an integer number of blocks [blocks].
MIX_INTEGER_TOL: float = 0.05

#: ``fees_source`` of a day whose fees are the exact sum over its blocks.
FEES_FROM_BLOCKS: str = "blocks"
#: ``fees_source`` of a day whose fees are Coin Metrics' ``fee_tot_btc``.
FEES_FROM_COINMETRICS: str = "coinmetrics"
#: ``day_source`` of a day whose blocks, subsidy and work come from Coin Metrics' daily series.
DAY_FROM_COINMETRICS: str = "coinmetrics"
#: ``day_source`` of a day whose figures are exact sums over the stored blocks.
DAY_FROM_BLOCKS: str = "blocks"

#: Columns of the daily network economics table (units in the names).
COLUMNS: list[str] = [
    "date",
    "day_source",
    "blocks",
    "subsidy_btc_per_block",
    "fees_btc_total",
    "fees_btc_per_block",
    "fees_source",
    "revenue_btc_per_block",
    "price_usd",
    "epoch_first",
    "epoch_last",
    "blocks_epoch_first",
    "bits_last",
    "difficulty",
    "difficulty_last",
    "work_per_block",
    "height_last",
    "hashrate_ehs",
    "hashrate_mempool_ehs",
    "hashprice_btc_per_ph_day",
    "hashprice_usd_per_ph_day",
    "hashprice_btc_per_th_day",
    "hashprice_usd_per_th_day",
    "missing",
]


class NetworkDataError(ValueError):
    """Network inputs that cannot be used (bad values, no data for a date)."""


def implied_difficulty(blocks: np.ndarray, hashrate_ehs: np.ndarray) -> np.ndarray:
    """Block-weighted mean difficulty implied by a daily hashrate [–].

    Parameters
    ----------
    blocks : array-like
        Blocks found that day [blocks].
    hashrate_ehs : array-like
        Mean hashrate that day as Coin Metrics defines it [EH/s].

    Returns
    -------
    numpy.ndarray
        ``H · 86,400 / (blocks · 2^32)``; NaN where an input is missing or ``blocks == 0``.

    References
    ----------
    .. [1] Coin Metrics ``HashRate`` definition.

    Examples
    --------
    144 blocks at difficulty 1e13 give a hashrate of 1e13·2^32·144/86,400 H/s = 71.58 EH/s:

    >>> float(implied_difficulty(np.array([144.0]), np.array([71.58278826666667]))[0])
    10000000000000.0
    """
    n = np.asarray(blocks, dtype=np.float64)
    h = np.asarray(hashrate_ehs, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = h * HS_PER_EHS * SECONDS_PER_DAY / (n * HASHES_PER_DIFFICULTY)
    return np.where((n > 0) & np.isfinite(out) & (out > 0), out, np.nan)


def _match(dm: float, n: float, diff: dict[int, float], candidates: list[int]) -> tuple[int, int, int] | None:
    """First epoch split ``(epoch_first, epoch_last, blocks_in_first)`` that explains ``dm``."""
    for j in candidates:
        if j in diff and abs(diff[j] / dm - 1.0) < PURE_MATCH_RTOL:
            return j, j, int(n)
    for j in candidates:
        if j not in diff or j + 1 not in diff or diff[j + 1] == diff[j]:
            continue
        b2 = n * (dm - diff[j]) / (diff[j + 1] - diff[j])
        r = round(b2)
        if abs(b2 - r) < MIX_INTEGER_TOL and 0 < r < n:
            return j, j + 1, int(n - r)
    return None


def assign_epochs(
    blocks: np.ndarray, hashrate_ehs: np.ndarray, epoch_difficulty: pd.Series
) -> pd.DataFrame:
    """Split each day's blocks between the difficulty epoch(s) in force, and anchor heights.

    Parameters
    ----------
    blocks : array-like
        Blocks per day, in date order [blocks].
    hashrate_ehs : array-like
        Coin Metrics daily hashrate [EH/s].
    epoch_difficulty : pandas.Series
        Difficulty per epoch, indexed by epoch number [–].

    Returns
    -------
    pandas.DataFrame
        One row per day: ``epoch_first``, ``epoch_last`` (nullable ints), ``blocks_epoch_first``
        (blocks of that day mined in ``epoch_first``), ``height_last`` (height of the day's last
        block, from the retarget-day splits and the block counts carried forward; days before
        the first retarget day have none, so a day never depends on a later one). Unknown
        values are NA.

    Notes
    -----
    Epochs only move forward: after the first match, day ``i`` is tried against epochs
    ``k..k+2`` (a day without data may hide a retarget). The first day is matched against all
    epochs. A day whose implied difficulty fits no epoch or split is left NA.

    Examples
    --------
    Epoch 0 at difficulty 1e13, epoch 1 at 2e13; day two has 44 blocks in epoch 0 and 100 in 1:

    >>> d = pd.Series({0: 1e13, 1: 2e13})
    >>> h = lambda n, dm: dm * n * 2**32 / 86400 / 1e18  # hashrate [EH/s] for n blocks at mean dm
    >>> out = assign_epochs(np.array([144, 144]), np.array([h(144, 1e13), h(144, (44e13 + 200e13) / 144)]), d)
    >>> out[["epoch_first", "epoch_last", "blocks_epoch_first", "height_last"]].values.tolist()
    [[0, 0, 144, <NA>], [0, 1, 44, 2115]]
    """
    n = np.asarray(blocks, dtype=np.float64)
    dm_all = implied_difficulty(n, hashrate_ehs)
    diff = {int(k): float(v) for k, v in epoch_difficulty.items()}
    ordered = sorted(diff)
    m = len(n)
    e_first = np.full(m, -1, dtype=np.int64)
    e_last = np.full(m, -1, dtype=np.int64)
    b_first = np.full(m, -1, dtype=np.int64)
    k: int | None = None
    for i in range(m):
        if not np.isfinite(dm_all[i]):
            continue
        cands = ordered if k is None else [k, k + 1, k + 2]
        hit = _match(float(dm_all[i]), float(n[i]), diff, cands)
        if hit is None:
            continue
        e_first[i], e_last[i], b_first[i] = hit
        k = hit[1]
    # Heights: a retarget day fixes the height of its last block; block counts carry it on.
    height = np.full(m, np.nan)
    anchors = [i for i in range(m) if e_first[i] >= 0 and e_last[i] != e_first[i]]
    anchor_set = set(anchors)
    for a in anchors:
        height[a] = e_last[a] * RETARGET_INTERVAL + (n[a] - b_first[a]) - 1
    if anchors:  # carried forward only: a day's height never depends on a later day
        for i in range(anchors[0] + 1, m):
            if i not in anchor_set and np.isfinite(height[i - 1]) and np.isfinite(n[i]):
                height[i] = height[i - 1] + n[i]
    out = pd.DataFrame(
        {
            "epoch_first": pd.array(np.where(e_first >= 0, e_first, 0), dtype="Int64"),
            "epoch_last": pd.array(np.where(e_last >= 0, e_last, 0), dtype="Int64"),
            "blocks_epoch_first": pd.array(np.where(b_first >= 0, b_first, 0), dtype="Int64"),
            "height_last": pd.array(np.where(np.isfinite(height), height, 0).astype(np.int64), dtype="Int64"),
        }
    )
    unknown = e_first < 0
    out.loc[unknown, ["epoch_first", "epoch_last", "blocks_epoch_first"]] = pd.NA
    out.loc[~np.isfinite(height), "height_last"] = pd.NA
    return out


def daily_from_blocks(
    heights: np.ndarray,
    times: np.ndarray,
    bits: np.ndarray,
    fees_sats: np.ndarray | None = None,
    live_end: int | None = None,
) -> pd.DataFrame:
    """Daily network figures from per-block rows, for every UTC day the blocks cover completely.

    Parameters
    ----------
    heights : array-like of int
        Block heights, strictly increasing (gaps allowed: each gap-free run is used alone).
    times : array-like of int
        Header times [unix s] (not monotonic).
    bits : array-like of int
        Compact targets of the same blocks.
    fees_sats : array-like, optional
        Total fees of each block excluding the subsidy [sats]; NaN/None where unknown.
    live_end : int, optional
        Time up to which the **top** run (the highest heights) is known to hold every block
        [unix s]: the as-of time when that run is live, or the time of the sync that found
        nothing newer. Without it a run covers only what the median-time-past rule proves.

    Returns
    -------
    pandas.DataFrame
        One row per complete day: ``date`` (datetime.date), ``blocks``, ``subsidy_sats`` (exact
        sum), ``fees_sats`` (exact sum; NA when a block of the day lacks fees), ``work_per_block``
        (exact integer work summed per epoch, divided once) [hashes], ``difficulty`` (block
        mean), ``difficulty_last``, ``epoch_first``, ``epoch_last``, ``blocks_epoch_first``,
        ``bits_last`` (target of the day's highest block), ``height_last`` (highest height with
        a header time in the day) and ``hashrate_ehs`` = Σ work / 86,400 s [EH/s].

    Notes
    -----
    A run covers ``[max of its first 11 times, min of its last 11 times]`` for sure
    (:func:`hashdesk.chain.hashrate.covered_span`); the top run extends to ``live_end``. A day
    counts when it lies inside what its run covers, so no block of the day is missing. Counting
    by header time reproduces Coin Metrics' ``BlkCnt`` (SOURCES.md §9).

    References
    ----------
    .. [1] DESIGN.md §2–3; Coin Metrics ``HashRate`` / ``BlkCnt`` definitions.

    Examples
    --------
    Blocks every 600 s from 22:00 UTC on day 0 to 02:00 on day 2, at the genesis target: only
    day 1 (144 blocks, 50 BTC each) is complete:

    >>> t = np.arange(79_200, 2 * 86_400 + 7_200, 600)
    >>> d = daily_from_blocks(np.arange(len(t)), t, np.full(len(t), 0x1D00FFFF), np.full(len(t), 1_000))
    >>> d[["date", "blocks", "subsidy_sats", "fees_sats"]].values.tolist()
    [[datetime.date(1970, 1, 2), 144, 720000000000, 144000]]
    """
    h = np.asarray(heights, dtype=np.int64)
    t = np.asarray(times, dtype=np.int64)
    b = np.asarray(bits, dtype=np.int64)
    f = (np.full(len(h), np.nan) if fees_sats is None
         else pd.to_numeric(pd.Series(fees_sats), errors="coerce").to_numpy(dtype=np.float64))
    if np.nanmin(f, initial=0.0) < 0:
        raise NetworkDataError(f"blocks: fees_sats is negative at height {int(h[np.nanargmin(f)])}")
    runs = contiguous_runs(h)
    rows: list[dict] = []
    for i, run in enumerate(runs):
        lo, hi = covered_span(t[run])
        if i == len(runs) - 1 and live_end is not None:
            hi = max(hi, int(live_end))
        first_day, last_day = -(-lo // SECONDS_PER_DAY), hi // SECONDS_PER_DAY  # whole days inside
        if last_day <= first_day:
            continue
        hr, tr, br, fr = h[run], t[run], b[run], f[run]
        day = tr // SECONDS_PER_DAY
        inside = (day >= first_day) & (day < last_day)
        for d in np.unique(day[inside]):
            sel = inside & (day == d)
            hh, bb, ff = hr[sel], br[sel], fr[sel]
            epochs = hh // RETARGET_INTERVAL
            e_first, e_last = int(epochs.min()), int(epochs.max())
            by_epoch = {int(e): (int(bb[epochs == e][0]), int((epochs == e).sum())) for e in np.unique(epochs)}
            work = sum(n * block_work(x) for x, n in by_epoch.values())  # exact integer
            diff = sum(n * difficulty(x) for x, n in by_epoch.values()) / len(hh)
            top = int(np.argmax(hh))
            rows.append({
                "date": pd.Timestamp(int(d) * SECONDS_PER_DAY, unit="s").date(),
                "blocks": len(hh),
                "subsidy_sats": int(sum(block_subsidy(int(x)) for x in hh)),
                "fees_sats": pd.NA if np.isnan(ff).any() else int(ff.astype(np.int64).sum()),
                "work_per_block": work / len(hh),
                "difficulty": diff,
                "difficulty_last": difficulty(int(bb[top])),
                "epoch_first": e_first,
                "epoch_last": e_last,
                "blocks_epoch_first": by_epoch[e_first][1],
                "bits_last": int(bb[top]),
                "height_last": int(hh[top]),
                "hashrate_ehs": work / SECONDS_PER_DAY / HS_PER_EHS,
            })
    cols = ["date", "blocks", "subsidy_sats", "fees_sats", "work_per_block", "difficulty",
            "difficulty_last", "epoch_first", "epoch_last", "blocks_epoch_first", "bits_last",
            "height_last", "hashrate_ehs"]
    out = pd.DataFrame(rows, columns=cols)
    for c in ("blocks", "subsidy_sats", "fees_sats", "epoch_first", "epoch_last", "blocks_epoch_first",
              "bits_last", "height_last"):
        out[c] = out[c].astype("Int64")
    return out


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df.columns:
        raise NetworkDataError(f"network_daily: column '{col}' is missing")
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64)


def _coinmetrics_days(network_daily: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """Coin Metrics' daily rows with each day's epoch split, mean work and difficulty."""
    nd = network_daily.copy()
    nd["date"] = pd.to_datetime(nd["date"]).dt.normalize()
    if nd["date"].duplicated().any():
        dup = nd.loc[nd["date"].duplicated(), "date"].iloc[0].date()
        raise NetworkDataError(f"network_daily: duplicate date {dup} (pass one source)")
    for col in ("blk_cnt", "fee_tot_btc", "iss_tot_btc", "price_usd", "hashrate_ehs"):
        v = _num(nd, col)
        if (v < 0).any():
            bad = nd["date"].iloc[int(np.flatnonzero(v < 0)[0])].date()
            raise NetworkDataError(f"network_daily: {col} is negative on {bad}")
    nd = nd.sort_values("date").reset_index(drop=True)
    n = _num(nd, "blk_cnt")
    hr = _num(nd, "hashrate_ehs")
    ep = epochs.set_index(epochs["epoch"].astype(int)).sort_index()
    bits_by_epoch = {int(e): int(b) for e, b in ep["bits"].items()}
    diff = pd.Series({e: difficulty(b) for e, b in bits_by_epoch.items()}, dtype=np.float64)
    work = {e: block_work(b) for e, b in bits_by_epoch.items()}
    split = assign_epochs(n, hr, diff)
    m = len(nd)
    work_mean, diff_mean, diff_last = np.full(m, np.nan), np.full(m, np.nan), np.full(m, np.nan)
    bits_last = pd.array([pd.NA] * m, dtype="Int64")
    # plain lists and dicts: per-row .iloc / Series look-ups cost ~0.3 s over 1,483 days
    e_first, e_last = split.epoch_first.tolist(), split.epoch_last.tolist()
    b_first = split.blocks_epoch_first.tolist()
    diff_of = diff.to_dict()
    for i in range(m):
        if pd.isna(e_first[i]):
            continue
        j, k, b1 = int(e_first[i]), int(e_last[i]), int(b_first[i])
        b2 = int(n[i]) - b1
        work_mean[i] = (b1 * work[j] + b2 * work[k]) / (b1 + b2)  # exact integers, one division
        diff_mean[i] = (b1 * diff_of[j] + b2 * diff_of[k]) / (b1 + b2)
        diff_last[i] = diff_of[k]
        bits_last[i] = bits_by_epoch[k]
    with np.errstate(divide="ignore", invalid="ignore"):
        subsidy = _num(nd, "iss_tot_btc") / np.where(n > 0, n, np.nan)
    return pd.DataFrame({
        "date": nd["date"].dt.date,
        "blocks": pd.array([None if not np.isfinite(v) else int(v) for v in n], dtype="Int64"),
        "subsidy_btc_per_block": subsidy,
        "fees_btc_total": _num(nd, "fee_tot_btc"),
        "price_usd": _num(nd, "price_usd"),
        "epoch_first": split.epoch_first.to_numpy(),
        "epoch_last": split.epoch_last.to_numpy(),
        "blocks_epoch_first": split.blocks_epoch_first.to_numpy(),
        "bits_last": bits_last,
        "difficulty": diff_mean,
        "difficulty_last": diff_last,
        "work_per_block": work_mean,
        "height_last": split.height_last.to_numpy(),
        "hashrate_ehs": hr,
        "day_source": DAY_FROM_COINMETRICS,
        "fees_source": np.where(np.isfinite(_num(nd, "fee_tot_btc")), FEES_FROM_COINMETRICS, None),
    })


def _block_days(block_days: pd.DataFrame) -> pd.DataFrame:
    """:func:`daily_from_blocks` rows in the table's columns (fees and subsidy in BTC)."""
    n = block_days["blocks"].astype("int64").to_numpy()
    fees = block_days["fees_sats"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.DataFrame({
        "date": list(block_days["date"]),
        "blocks": block_days["blocks"].astype("Int64").to_numpy(),
        "subsidy_btc_per_block": block_days["subsidy_sats"].astype("int64").to_numpy() / n / SATS_PER_BTC,
        "fees_btc_total": fees / SATS_PER_BTC,
        "price_usd": np.nan,
        "epoch_first": block_days["epoch_first"].to_numpy(),
        "epoch_last": block_days["epoch_last"].to_numpy(),
        "blocks_epoch_first": block_days["blocks_epoch_first"].to_numpy(),
        "bits_last": block_days["bits_last"].to_numpy(),
        "difficulty": block_days["difficulty"].to_numpy(dtype=np.float64),
        "difficulty_last": block_days["difficulty_last"].to_numpy(dtype=np.float64),
        "work_per_block": block_days["work_per_block"].to_numpy(dtype=np.float64),
        "height_last": block_days["height_last"].to_numpy(),
        "hashrate_ehs": block_days["hashrate_ehs"].to_numpy(dtype=np.float64),
        "day_source": DAY_FROM_BLOCKS,
        "fees_source": np.where(np.isfinite(fees), FEES_FROM_BLOCKS, None),
    })


def network_economics_daily(
    network_daily: pd.DataFrame | None,
    epochs: pd.DataFrame,
    hashrate_daily: pd.DataFrame | None = None,
    block_days: pd.DataFrame | None = None,
    btc_prices: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Build the daily network economics table from Coin Metrics' series and per-block days.

    Parameters
    ----------
    network_daily : pandas.DataFrame or None
        One source's daily rows: ``date``, ``blk_cnt`` [blocks], ``fee_tot_btc`` [BTC],
        ``iss_tot_btc`` [BTC], ``price_usd`` [USD/BTC], ``hashrate_ehs`` [EH/s].
    epochs : pandas.DataFrame
        ``epoch`` and ``bits`` (exact compact target) of each difficulty epoch.
    hashrate_daily : pandas.DataFrame, optional
        A second hashrate estimate (``date``, ``hashrate_ehs`` [EH/s]), e.g. mempool.space's,
        reported alongside as ``hashrate_mempool_ehs``.
    block_days : pandas.DataFrame, optional
        :func:`daily_from_blocks` output. A day the blocks cover **with fees for every block**
        takes all its figures from the blocks (exact: counts, subsidy, fees, work);
        a covered day without fees is used only where Coin Metrics has no row.
    btc_prices : pandas.DataFrame, optional
        ``date``, ``close`` [USD/BTC]: the price of block-sourced days (the close at 00:00 UTC
        after the day, like Coin Metrics' fixing).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`, one row per calendar day from the first to the last input date
        (absent days are kept with ``missing = 'network_daily'``). ``day_source`` says where a
        day's blocks, subsidy and work come from (``'coinmetrics'`` | ``'blocks'``) and
        ``fees_source`` where its fees come from. Per block values are means over the day's
        blocks; ``difficulty`` is the block-weighted mean difficulty, ``difficulty_last`` that
        of the epoch in force at the day's end. Hashprice [BTC/PH/day] = 86,400·10^15 / mean
        work × (subsidy + fees per block); the USD figure multiplies by ``price_usd``; per-TH
        figures divide by 1,000. Coin Metrics assigns blocks to days by its own rule: on
        2024-04-19 it counts blocks 840,000–840,003 (header times on 04-20) and their fees,
        so that day mixes subsidies (docs/economics.md).

    Raises
    ------
    NetworkDataError
        On negative values, duplicate dates or missing columns (named), or no rows at all.

    References
    ----------
    .. [1] DESIGN.md §3.
    .. [2] Hashrate Index hashprice methodology.
    """
    parts = []
    if network_daily is not None and not network_daily.empty:
        parts.append(_coinmetrics_days(network_daily, epochs))
    if block_days is not None and not block_days.empty:
        blk = _block_days(block_days)
        if parts:
            cm = parts[0]
            exact = set(blk.loc[blk["fees_source"] == FEES_FROM_BLOCKS, "date"])
            parts[0] = cm[~cm["date"].isin(exact)]
            blk = blk[blk["date"].isin(exact) | ~blk["date"].isin(set(cm["date"]))]
            if not blk.empty:
                price_cm = dict(zip(cm["date"], cm["price_usd"], strict=True))
                blk = blk.assign(price_usd=[price_cm.get(d, np.nan) for d in blk["date"]])
        parts.append(blk)
    parts = [p for p in parts if not p.empty]
    if not parts:
        raise NetworkDataError("network_daily: no rows (and no per-block day is covered)")
    out = pd.concat(parts, ignore_index=True).sort_values("date").reset_index(drop=True)
    full = pd.date_range(out["date"].min(), out["date"].max(), freq="D").date
    present = set(out["date"])
    out = out.set_index("date").reindex(full).rename_axis("date").reset_index()
    if btc_prices is not None and not btc_prices.empty:
        px = dict(zip(pd.to_datetime(btc_prices["date"]).dt.date, btc_prices["close"], strict=True))
        fill = out["price_usd"].isna().to_numpy() & (out["day_source"] == DAY_FROM_BLOCKS).to_numpy()
        out.loc[fill, "price_usd"] = [px.get(d, np.nan) for d in out.loc[fill, "date"]]
    for c in ("blocks", "epoch_first", "epoch_last", "blocks_epoch_first", "bits_last", "height_last"):
        out[c] = pd.array(out[c], dtype="Int64")
    n = pd.to_numeric(out["blocks"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    fees = out["fees_btc_total"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["fees_btc_per_block"] = np.where(n > 0, fees / n, np.nan)
    checks = [(name, out[col].to_numpy(dtype=np.float64)) for name, col in (
        ("fee_tot_btc", "fees_btc_total"), ("iss_tot_btc", "subsidy_btc_per_block"),
        ("price_usd", "price_usd"), ("hashrate_ehs", "hashrate_ehs"))]
    diff = out["difficulty"].to_numpy(dtype=np.float64)
    missing = []
    for i, d in enumerate(out["date"]):
        if d not in present:
            missing.append("network_daily")
            continue
        parts_i = ["blk_cnt"] if not np.isfinite(n[i]) else []
        parts_i += [name for name, v in checks if not np.isfinite(v[i])]
        if np.isfinite(n[i]) and n[i] == 0:
            parts_i.append("blk_cnt=0")
        if not np.isfinite(diff[i]) and "hashrate_ehs" not in parts_i and "blk_cnt" not in parts_i:
            parts_i.append("difficulty")
        missing.append(",".join(parts_i))
    out["missing"] = missing
    out["hashrate_mempool_ehs"] = np.nan
    if hashrate_daily is not None and not hashrate_daily.empty:
        hd = hashrate_daily.assign(date=pd.to_datetime(hashrate_daily["date"]).dt.date)
        out["hashrate_mempool_ehs"] = out["date"].map(hd.set_index("date")["hashrate_ehs"]).astype("float64")
    reward = out["subsidy_btc_per_block"].to_numpy(dtype=np.float64) + out["fees_btc_per_block"].to_numpy()
    work = out["work_per_block"].to_numpy(dtype=np.float64)
    hp_btc = np.array([
        hashprice_btc_per_ph_day_from_work(w, r) if np.isfinite(w) and np.isfinite(r) and w > 0 else np.nan
        for w, r in zip(work, reward, strict=True)
    ])
    hp_usd = hp_btc * out["price_usd"].to_numpy(dtype=np.float64)
    out["revenue_btc_per_block"] = reward
    out["hashprice_btc_per_ph_day"] = hp_btc
    out["hashprice_usd_per_ph_day"] = hp_usd
    out["hashprice_btc_per_th_day"] = hp_btc / 1000.0
    out["hashprice_usd_per_th_day"] = hp_usd / 1000.0
    return out[COLUMNS]


def row_at(table: pd.DataFrame, day: str | pd.Timestamp) -> pd.Series:
    """The table's row for one UTC day.

    Raises
    ------
    NetworkDataError
        If the day is outside the table, naming the covered range.
    """
    d = pd.Timestamp(day).date()
    hit = table[table["date"] == d]
    if hit.empty:
        lo, hi = (table["date"].min(), table["date"].max()) if len(table) else (None, None)
        raise NetworkDataError(f"no network data for {d} (the store covers {lo} .. {hi})")
    return hit.iloc[0]


def row_record(row: pd.Series) -> dict:
    """One day as a JSON-ready dict (NaN → None; ``missing`` as a list of input names)."""
    rec = {}
    for k, v in row.items():
        if k == "missing":
            rec[k] = [x for x in str(v).split(",") if x]
        elif v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            rec[k] = None
        else:
            rec[k] = v.item() if hasattr(v, "item") else v
    return rec


@dataclass(frozen=True)
class NetworkWindow:
    """The daily series averaged over a day or a window of days (e.g. a month before a halving).

    Attributes
    ----------
    start, end : datetime.date
        First and last UTC day of the window.
    days : int
        Days with complete data in the window.
    hashprice_btc_per_th_day : float
        Mean hashprice [BTC/TH/day].
    hashprice_usd_per_th_day : float
        Mean hashprice [USD/TH/day] (mean of the daily USD values).
    price_usd : float
        Revenue-weighted BTC price = USD hashprice / BTC hashprice [USD/BTC].
    difficulty : float
        Mean difficulty [–].
    subsidy_btc_per_block, fees_btc_per_block : float
        Means per block [BTC].
    """

    start: date
    end: date
    days: int
    hashprice_btc_per_th_day: float
    hashprice_usd_per_th_day: float
    price_usd: float
    difficulty: float
    subsidy_btc_per_block: float
    fees_btc_per_block: float

    @property
    def hashprice_usd_per_ph_day(self) -> float:
        """Mean hashprice [USD/PH/day]."""
        return self.hashprice_usd_per_th_day * 1000.0

    @property
    def hashprice_btc_per_ph_day(self) -> float:
        """Mean hashprice [BTC/PH/day]."""
        return self.hashprice_btc_per_th_day * 1000.0


def network_window(table: pd.DataFrame, start: str | date, end: str | date | None = None) -> NetworkWindow:
    """Average the daily table over ``start..end`` (inclusive; one day when ``end`` is None).

    Days with a missing input are left out and counted; a window with no complete day raises.

    Raises
    ------
    NetworkDataError
        If the window has no complete day, naming the window and the missing inputs.
    """
    lo = pd.Timestamp(start).date()
    hi = pd.Timestamp(end).date() if end is not None else lo
    if hi < lo:
        raise NetworkDataError(f"window end {hi} is before its start {lo}")
    win = table[(table["date"] >= lo) & (table["date"] <= hi)]
    if win.empty:
        row_at(table, lo)  # raises with the covered range
    ok = win[win["hashprice_usd_per_ph_day"].notna()]
    if ok.empty:
        miss = sorted({m for v in win["missing"] for m in str(v).split(",") if m})
        raise NetworkDataError(f"no complete network data in {lo} .. {hi} (missing: {', '.join(miss)})")
    hp_btc = float(ok["hashprice_btc_per_th_day"].mean())
    hp_usd = float(ok["hashprice_usd_per_th_day"].mean())
    return NetworkWindow(
        start=lo, end=hi, days=len(ok),
        hashprice_btc_per_th_day=hp_btc, hashprice_usd_per_th_day=hp_usd, price_usd=hp_usd / hp_btc,
        difficulty=float(ok["difficulty"].mean()),
        subsidy_btc_per_block=float(ok["subsidy_btc_per_block"].mean()),
        fees_btc_per_block=float(ok["fees_btc_per_block"].mean()),
    )
