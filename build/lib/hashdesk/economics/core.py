"""Revenue per hash from consensus: expected blocks and BTC for a hashrate at a target.

Within an epoch the revenue per hash is fixed by the difficulty: a miner's expected blocks are
``H·dt / work(T)`` whatever the rest of the network does (DESIGN.md §3).

References
----------
.. [1] Bitcoin Core ``GetBlockProof`` (work per block = 2**256 // (target + 1)).
.. [2] Hashrate Index, "Hashprice" definition (USD per PH/s per day).
"""

from __future__ import annotations

from hashdesk.chain.consensus import SATS_PER_BTC, block_work

# unit constants live in hashdesk.units; re-exported here for the economics modules
from hashdesk.units import HS_PER_EHS as HS_PER_EHS
from hashdesk.units import HS_PER_PHS as HS_PER_PHS
from hashdesk.units import HS_PER_THS as HS_PER_THS
from hashdesk.units import SECONDS_PER_DAY as SECONDS_PER_DAY


def expected_blocks(hashrate_hs: float, seconds: float, bits: int) -> float:
    """Expected blocks found by ``hashrate_hs`` over ``seconds`` at ``bits``.

    Parameters
    ----------
    hashrate_hs : float
        Hashrate [H/s].
    seconds : float
        Duration [s].
    bits : int
        Compact target in force.

    Returns
    -------
    float
        ``H · dt / work(T)`` [blocks] [1]_.

    References
    ----------
    .. [1] Bitcoin Core ``GetBlockProof``.

    Examples
    --------
    >>> round(expected_blocks(1e18, 600, 0x1703d869), 4)  # 1 EH/s for 10 min, epoch 409 (Jan 2024)
    0.0019
    """
    if hashrate_hs < 0 or seconds < 0:
        raise ValueError("hashrate_hs and seconds must be >= 0")
    return float(hashrate_hs) * float(seconds) / float(block_work(bits))


def expected_btc(
    hashrate_hs: float, seconds: float, bits: int, subsidy_sats: int, fees_sats_per_block: float
) -> float:
    """Expected BTC for a hashrate over a duration: blocks × (subsidy + fees per block) [BTC].

    Parameters
    ----------
    hashrate_hs : float
        Hashrate [H/s].
    seconds : float
        Duration [s].
    bits : int
        Compact target in force.
    subsidy_sats : int
        Block subsidy [sats].
    fees_sats_per_block : float
        Mean fees per block [sats].

    Returns
    -------
    float
        Expected reward [BTC].

    References
    ----------
    .. [1] DESIGN.md §3: ``H·dt / work(T) × (subsidy + fees)``.
    """
    return expected_blocks(hashrate_hs, seconds, bits) * (subsidy_sats + fees_sats_per_block) / SATS_PER_BTC


def hashprice_btc_per_ph_day(bits: int, subsidy_sats: int, fees_sats_per_block: float) -> float:
    """Hashprice in BTC terms [BTC/PH/day] = 86,400·10^15 / work(T) × (subsidy + fees).

    References
    ----------
    .. [1] DESIGN.md §3; Hashrate Index hashprice definition.

    Examples
    --------
    >>> round(hashprice_btc_per_ph_day(0x1703d869, 625_000_000, 30_000_000), 6)
    0.0018
    """
    return expected_btc(HS_PER_PHS, SECONDS_PER_DAY, bits, subsidy_sats, fees_sats_per_block)


def hashprice_btc_per_ph_day_from_work(work_per_block: float, reward_btc_per_block: float) -> float:
    """Hashprice in BTC terms from the expected hashes per block [BTC/PH/day].

    Used where a day spans two difficulty epochs: ``work_per_block`` is then the block-weighted
    mean of each block's exact work, i.e. the hashes the network spent that day per block found.

    Parameters
    ----------
    work_per_block : float
        Expected hashes per block, ``2**256 // (target + 1)`` or a block-weighted mean of it
        [hashes].
    reward_btc_per_block : float
        Mean subsidy + fees per block [BTC].

    Returns
    -------
    float
        ``86,400 · 10^15 / work × reward`` [BTC/PH/day].

    References
    ----------
    .. [1] DESIGN.md §3; Hashrate Index hashprice definition.

    Examples
    --------
    Work 3.14386e23 hashes per block (bits 0x1703d869, January 2024) and 6.55 BTC per block:
    86,400·10^15 / 3.14386e23 = 2.74821e-4 blocks per PH-day, × 6.55 = 1.80008e-3 BTC.

    >>> round(hashprice_btc_per_ph_day_from_work(314386242214620658760377, 6.55), 8)
    0.00180008
    """
    if not work_per_block > 0:
        raise ValueError(f"work_per_block must be > 0, got {work_per_block!r}")
    if reward_btc_per_block < 0:
        raise ValueError(f"reward_btc_per_block must be >= 0, got {reward_btc_per_block!r}")
    return SECONDS_PER_DAY * HS_PER_PHS / float(work_per_block) * float(reward_btc_per_block)


def hashprice_usd_per_ph_day(
    bits: int, subsidy_sats: int, fees_sats_per_block: float, price_usd: float
) -> float:
    """Hashprice in USD [USD/PH/day] = BTC hashprice × price [USD/BTC]."""
    if price_usd <= 0:
        raise ValueError("price_usd must be > 0")
    return hashprice_btc_per_ph_day(bits, subsidy_sats, fees_sats_per_block) * float(price_usd)
