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

Fees per block: exact from ``blocks`` where synced
------------------------------------------------------
Where ``blocks.fees_sats`` covers **every** block whose header time falls in a UTC day (the day
lies inside a gap-free run of heights that all carry fees, by the covering rule of
:func:`hashdesk.chain.hashrate.covered_span`), that day's fees come from the blocks: the exact sum
of ``fees_sats`` over those blocks divided by their count (``fees_source = 'blocks'``). Every
other day keeps Coin Metrics' ``fee_tot_btc / blk_cnt`` (``fees_source = 'coinmetrics'``). A
day's fee figure never mixes the two. Subsidy, block count, epoch split and price stay Coin
Metrics'.

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

from hashdesk.chain.consensus import RETARGET_INTERVAL, SATS_PER_BTC, block_work, difficulty
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

#: Columns of the daily network economics table (units in the names).
COLUMNS: list[str] = [
    "date",
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
        block, from the retarget-day splits and the block counts). Unknown values are NA.

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
    [[0, 0, 144, 1971], [0, 1, 44, 2115]]
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
    if anchors:
        for i in range(anchors[0] + 1, m):
            if i not in anchor_set:
                height[i] = height[i - 1] + n[i]
        for i in range(anchors[0] - 1, -1, -1):
            height[i] = height[i + 1] - n[i + 1]
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


def block_fees_by_day(heights: np.ndarray, times: np.ndarray, fees_sats: np.ndarray) -> pd.DataFrame:
    """Exact fees of every UTC day whose blocks all carry fees [sats].

    Parameters
    ----------
    heights : array-like of int
        Heights of the blocks that have ``fees_sats``, strictly increasing (gaps allowed).
    times : array-like of int
        Their header times [unix s] (not monotonic).
    fees_sats : array-like of int
        Their total fees, excluding the subsidy [sats].

    Returns
    -------
    pandas.DataFrame
        ``date`` (``datetime.date``, UTC), ``blocks`` (blocks with header time in the day),
        ``fees_sats`` (exact integer sum). Only days that one gap-free run covers completely
        are listed: a day counts when it lies inside ``covered_span`` of the run (a block
        outside the run cannot carry a header time in it), so no block of the day lacks fees.

    Examples
    --------
    Blocks every 600 s from 22:00 UTC on day 0 to 02:00 on day 2, 1,000 sats each: only day 1
    is covered completely (144 blocks):

    >>> t = np.arange(79_200, 2 * 86_400 + 7_200, 600)
    >>> block_fees_by_day(np.arange(len(t)), t, np.full(len(t), 1_000)).values.tolist()
    [[datetime.date(1970, 1, 2), 144, 144000]]
    """
    h = np.asarray(heights, dtype=np.int64)
    t = np.asarray(times, dtype=np.int64)
    f = np.asarray(fees_sats, dtype=np.int64)
    if (f < 0).any():
        raise NetworkDataError(f"blocks: fees_sats is negative at height {int(h[np.argmax(f < 0)])}")
    rows: list[tuple] = []
    for run in contiguous_runs(h):
        lo, hi = covered_span(t[run])
        first_day, last_day = -(-lo // SECONDS_PER_DAY), hi // SECONDS_PER_DAY  # whole days inside
        if last_day <= first_day:
            continue
        day = t[run] // SECONDS_PER_DAY
        inside = (day >= first_day) & (day < last_day)
        days, inv = np.unique(day[inside], return_inverse=True)
        sums = np.zeros(len(days), dtype=np.int64)  # exact: a day's fees are far below 2^63 sats
        np.add.at(sums, inv, f[run][inside])
        counts = np.bincount(inv, minlength=len(days))
        rows.extend(
            (pd.Timestamp(int(d) * SECONDS_PER_DAY, unit="s").date(), int(c), int(x))
            for d, c, x in zip(days, counts, sums, strict=True)
        )
    return pd.DataFrame(rows, columns=["date", "blocks", "fees_sats"]).astype(
        {"blocks": "int64", "fees_sats": "int64"})


def choose_daily_fees(coinmetrics: pd.DataFrame, block_fees: pd.DataFrame | None) -> pd.DataFrame:
    """Fees of each day from one source: the blocks where they cover the day, else Coin Metrics.

    Parameters
    ----------
    coinmetrics : pandas.DataFrame
        ``date``, ``blk_cnt`` [blocks], ``fee_tot_btc`` [BTC] (NaN when missing).
    block_fees : pandas.DataFrame or None
        :func:`block_fees_by_day` output (complete days only).

    Returns
    -------
    pandas.DataFrame
        One row per date of either input, sorted: ``date`` (``datetime.date``),
        ``fee_blocks`` [blocks] (the blocks the fees are summed over), ``fees_btc_total`` [BTC],
        ``fees_btc_per_block`` [BTC] and ``fees_source`` (:data:`FEES_FROM_BLOCKS` or
        :data:`FEES_FROM_COINMETRICS`; ``None`` where neither has the day's fees).
        Block-sourced totals are ``Σ fees_sats / 10^8`` (exact to float64 rounding).

    Examples
    --------
    >>> cm = pd.DataFrame({"date": ["2024-01-01", "2024-01-02"], "blk_cnt": [150, 144],
    ...                    "fee_tot_btc": [150.0, 72.0]})
    >>> bl = pd.DataFrame({"date": [date(2024, 1, 2)], "blocks": [144], "fees_sats": [144 * 10**8]})
    >>> choose_daily_fees(cm, bl)[["fees_btc_per_block", "fees_source"]].values.tolist()
    [[1.0, 'coinmetrics'], [1.0, 'blocks']]
    """
    cm = coinmetrics.assign(date=pd.to_datetime(coinmetrics["date"]).dt.date)
    blk = _num(cm, "blk_cnt")
    fee = _num(cm, "fee_tot_btc")
    ok = np.isfinite(blk) & np.isfinite(fee) & (blk > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_block = np.where(ok, fee / blk, np.nan)
    out = pd.DataFrame({
        "date": cm["date"], "fee_blocks": pd.array(np.where(np.isfinite(blk), blk, 0).astype(np.int64), dtype="Int64"),
        "fees_btc_total": fee, "fees_btc_per_block": per_block,
        "fees_source": np.where(np.isfinite(fee), FEES_FROM_COINMETRICS, None),
    })
    out.loc[~np.isfinite(blk), "fee_blocks"] = pd.NA
    if block_fees is not None and not block_fees.empty:
        sats = block_fees["fees_sats"].astype("int64")
        n = block_fees["blocks"].astype("int64")
        exact = pd.DataFrame({
            "date": pd.to_datetime(block_fees["date"]).dt.date,
            "fee_blocks": pd.array(n, dtype="Int64"),
            "fees_btc_total": sats.to_numpy(dtype=np.float64) / SATS_PER_BTC,
            "fees_btc_per_block": [s / k / SATS_PER_BTC if k else np.nan for s, k in zip(sats, n, strict=True)],
            "fees_source": FEES_FROM_BLOCKS,
        })
        out = pd.concat([out[~out["date"].isin(set(exact["date"]))], exact], ignore_index=True)
    return out.sort_values("date").reset_index(drop=True)


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df.columns:
        raise NetworkDataError(f"network_daily: column '{col}' is missing")
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64)


def network_economics_daily(
    network_daily: pd.DataFrame,
    epochs: pd.DataFrame,
    hashrate_daily: pd.DataFrame | None = None,
    block_fees: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Build the daily network economics table.

    Parameters
    ----------
    network_daily : pandas.DataFrame
        One source's daily rows: ``date``, ``blk_cnt`` [blocks], ``fee_tot_btc`` [BTC],
        ``iss_tot_btc`` [BTC], ``price_usd`` [USD/BTC], ``hashrate_ehs`` [EH/s].
    epochs : pandas.DataFrame
        ``epoch`` and ``bits`` (exact compact target) of each difficulty epoch.
    hashrate_daily : pandas.DataFrame, optional
        A second hashrate estimate (``date``, ``hashrate_ehs`` [EH/s]), e.g. mempool.space's,
        reported alongside as ``hashrate_mempool_ehs``.
    block_fees : pandas.DataFrame, optional
        Exact fees of the days that per-block rows cover (:func:`block_fees_by_day`); those days
        take their fees from the blocks (:func:`choose_daily_fees`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`, one row per calendar day from the first to the last input date
        (absent days are kept with ``missing = 'network_daily'``). Per block values are means
        over the day's blocks: ``subsidy_btc_per_block = iss_tot_btc / blk_cnt`` (realised, as
        Coin Metrics assigns blocks to days), ``fees_btc_per_block = fee_tot_btc / blk_cnt``
        or, on days ``block_fees`` covers, Σ ``fees_sats`` / blocks by header time;
        ``fees_source`` says which (``'blocks'`` or ``'coinmetrics'``).
        ``difficulty`` is the block-weighted mean difficulty, ``difficulty_last`` that of the
        epoch in force at the day's end. Hashprice [BTC/PH/day] = 86,400·10^15 / mean work ×
        (subsidy + fees per block); the USD figure multiplies by ``price_usd`` (Coin Metrics'
        00:00 UTC next-day fixing); per-TH figures divide by 1,000.

    Raises
    ------
    NetworkDataError
        On negative values, duplicate dates or missing columns (named).

    References
    ----------
    .. [1] DESIGN.md §3.
    .. [2] Hashrate Index hashprice methodology.
    """
    if network_daily.empty:
        raise NetworkDataError("network_daily: no rows")
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
    full = pd.date_range(nd["date"].min(), nd["date"].max(), freq="D")
    present = pd.Series(True, index=nd["date"]).reindex(full, fill_value=False).to_numpy()
    nd = nd.set_index("date").reindex(full)
    n = _num(nd, "blk_cnt")
    fees = _num(nd, "fee_tot_btc")
    iss = _num(nd, "iss_tot_btc")
    price = _num(nd, "price_usd")
    hr = _num(nd, "hashrate_ehs")

    ep = epochs.set_index(epochs["epoch"].astype(int)).sort_index()
    bits_by_epoch = {int(e): int(b) for e, b in ep["bits"].items()}
    diff = pd.Series({e: difficulty(b) for e, b in bits_by_epoch.items()})
    work = {e: block_work(b) for e, b in bits_by_epoch.items()}
    split = assign_epochs(n, hr, diff)

    m = len(full)
    work_mean = np.full(m, np.nan)
    diff_mean = np.full(m, np.nan)
    diff_last = np.full(m, np.nan)
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
        # exact integer work, one division at the end
        work_mean[i] = (b1 * work[j] + b2 * work[k]) / (b1 + b2)
        diff_mean[i] = (b1 * diff_of[j] + b2 * diff_of[k]) / (b1 + b2)
        diff_last[i] = diff_of[k]
        bits_last[i] = bits_by_epoch[k]

    with np.errstate(divide="ignore", invalid="ignore"):
        subsidy = iss / np.where(n > 0, n, np.nan)

    missing = []
    for i in range(m):
        if not present[i]:
            missing.append("network_daily")
            continue
        parts = [
            name
            for name, v in (
                ("blk_cnt", n[i]),
                ("fee_tot_btc", fees[i]),
                ("iss_tot_btc", iss[i]),
                ("price_usd", price[i]),
                ("hashrate_ehs", hr[i]),
            )
            if not np.isfinite(v)
        ]
        if np.isfinite(n[i]) and n[i] == 0:
            parts.append("blk_cnt=0")
        if not np.isfinite(diff_mean[i]) and "hashrate_ehs" not in parts and "blk_cnt" not in parts:
            parts.append("difficulty")
        missing.append(",".join(parts))

    out = pd.DataFrame(
        {
            "date": full.date,
            "blocks": pd.array([None if not np.isfinite(v) else int(v) for v in n], dtype="Int64"),
            "subsidy_btc_per_block": subsidy,
            "fees_btc_total": fees,
            "price_usd": price,
            "epoch_first": split.epoch_first.to_numpy(),
            "epoch_last": split.epoch_last.to_numpy(),
            "blocks_epoch_first": split.blocks_epoch_first.to_numpy(),
            "bits_last": bits_last,
            "difficulty": diff_mean,
            "difficulty_last": diff_last,
            "work_per_block": work_mean,
            "height_last": split.height_last.to_numpy(),
            "hashrate_ehs": hr,
            "hashrate_mempool_ehs": np.nan,
            "missing": missing,
        }
    )
    if hashrate_daily is not None and not hashrate_daily.empty:
        hd = hashrate_daily.assign(date=pd.to_datetime(hashrate_daily["date"]).dt.date)
        out["hashrate_mempool_ehs"] = out["date"].map(hd.set_index("date")["hashrate_ehs"]).astype("float64")
    return apply_block_fees(out, block_fees)


def apply_block_fees(table: pd.DataFrame, block_fees: pd.DataFrame | None) -> pd.DataFrame:
    """Set each day's fees, revenue and hashprice from the fee source of :func:`choose_daily_fees`.

    Parameters
    ----------
    table : pandas.DataFrame
        Daily rows with ``date``, ``blocks`` (Coin Metrics ``blk_cnt``), ``fees_btc_total``
        (Coin Metrics ``fee_tot_btc``) [BTC], ``subsidy_btc_per_block`` [BTC],
        ``work_per_block`` [hashes], ``price_usd`` [USD/BTC] and ``missing``.
    block_fees : pandas.DataFrame or None
        :func:`block_fees_by_day` output; None or empty keeps Coin Metrics' fees everywhere.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`: ``fees_btc_total``, ``fees_btc_per_block``, ``fees_source``,
        ``revenue_btc_per_block`` = subsidy + fees per block, and hashprice [BTC|USD per
        PH|TH per day] = 86,400·10^15 / ``work_per_block`` × revenue (× ``price_usd``); a day
        whose fees come from the blocks no longer lists ``fee_tot_btc`` as missing.

    References
    ----------
    .. [1] DESIGN.md §3.
    """
    out = table.copy()
    blk = pd.to_numeric(out["blocks"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    chosen = choose_daily_fees(
        pd.DataFrame({"date": out["date"], "blk_cnt": blk, "fee_tot_btc": out["fees_btc_total"]}),
        block_fees,
    ).set_index("date").reindex(out["date"])
    out["fees_btc_total"] = chosen["fees_btc_total"].to_numpy(dtype=np.float64)
    out["fees_btc_per_block"] = chosen["fees_btc_per_block"].to_numpy(dtype=np.float64)
    out["fees_source"] = chosen["fees_source"].to_numpy(dtype=object)
    from_blocks = out["fees_source"].to_numpy() == FEES_FROM_BLOCKS
    out.loc[from_blocks, "missing"] = [
        ",".join(x for x in str(v).split(",") if x != "fee_tot_btc") for v in out.loc[from_blocks, "missing"]
    ]
    reward = out["subsidy_btc_per_block"].to_numpy(dtype=np.float64) + out["fees_btc_per_block"].to_numpy()
    work = pd.to_numeric(out["work_per_block"], errors="coerce").to_numpy(dtype=np.float64)
    hp_btc = np.array(
        [
            hashprice_btc_per_ph_day_from_work(w, r) if np.isfinite(w) and np.isfinite(r) else np.nan
            for w, r in zip(work, reward, strict=True)
        ]
    )
    hp_usd = hp_btc * pd.to_numeric(out["price_usd"], errors="coerce").to_numpy(dtype=np.float64)
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
class NetworkState:
    """Network economics over a day or a window of days, the input of unit economics.

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


def network_state(table: pd.DataFrame, start: str | date, end: str | date | None = None) -> NetworkState:
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
    return NetworkState(
        start=lo, end=hi, days=len(ok),
        hashprice_btc_per_th_day=hp_btc, hashprice_usd_per_th_day=hp_usd, price_usd=hp_usd / hp_btc,
        difficulty=float(ok["difficulty"].mean()),
        subsidy_btc_per_block=float(ok["subsidy_btc_per_block"].mean()),
        fees_btc_per_block=float(ok["fees_btc_per_block"].mean()),
    )
