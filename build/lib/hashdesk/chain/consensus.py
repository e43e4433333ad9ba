"""Consensus-exact Bitcoin arithmetic, mirroring Bitcoin Core (mainnet).

Every consensus value here is an exact Python ``int``: targets, work and satoshis are never
floats. Function names follow Bitcoin Core's so that its unit-test vectors apply directly.

References
----------
.. [1] Bitcoin Core, ``src/arith_uint256.cpp`` (``SetCompact``/``GetCompact``).
.. [2] Bitcoin Core, ``src/pow.cpp`` (``CalculateNextWorkRequired``, ``CheckProofOfWork``).
.. [3] Bitcoin Core, ``src/validation.cpp`` (``GetBlockSubsidy``).
.. [4] Bitcoin Core, ``src/chain.cpp`` (``GetBlockProof``); ``src/rpc/blockchain.cpp``
   (``GetDifficulty``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Blocks per difficulty epoch [blocks].
RETARGET_INTERVAL: int = 2016
#: Target spacing between blocks [s].
TARGET_SPACING_S: int = 600
#: Target epoch duration, ``nPowTargetTimespan`` [s].
TARGET_TIMESPAN_S: int = 14 * 24 * 60 * 60
#: Lower clamp of the measured timespan [s].
MIN_TIMESPAN_S: int = TARGET_TIMESPAN_S // 4
#: Upper clamp of the measured timespan [s].
MAX_TIMESPAN_S: int = TARGET_TIMESPAN_S * 4
#: Mainnet ``powLimit`` (a 256-bit target).
POW_LIMIT: int = (1 << 224) - 1
#: Compact encoding of the difficulty-1 target, ``0xffff * 2**208``.
POW_LIMIT_BITS: int = 0x1D00FFFF
#: Target that ``getdifficulty`` divides by (decoded from ``0x1d00ffff``).
DIFF1_TARGET: int = 0xFFFF << 208
#: Blocks between subsidy halvings [blocks].
HALVING_INTERVAL: int = 210_000
#: Initial block subsidy [sats].
INITIAL_SUBSIDY_SATS: int = 50 * 100_000_000
#: Satoshis per bitcoin.
SATS_PER_BTC: int = 100_000_000
#: Largest value representable in ``arith_uint256``.
_UINT256_MAX: int = (1 << 256) - 1


def decode_compact(bits: int) -> tuple[int, bool, bool]:
    """Decode a compact ("nBits") number to a 256-bit target.

    Parameters
    ----------
    bits : int
        Compact encoding, a 32-bit unsigned integer.

    Returns
    -------
    target : int
        The decoded 256-bit value (already truncated to 256 bits as ``arith_uint256`` would).
    negative : bool
        True when the sign bit ``0x00800000`` is set on a non-zero mantissa.
    overflow : bool
        True when the value does not fit into 256 bits.

    Notes
    -----
    Exactly ``arith_uint256::SetCompact`` [1]_: exponent ``N = bits >> 24``, mantissa
    ``bits & 0x007fffff``; value ``mantissa * 256**(N-3)``.

    References
    ----------
    .. [1] Bitcoin Core, ``src/arith_uint256.cpp``.

    Examples
    --------
    >>> hex(decode_compact(0x1d00ffff)[0])
    '0xffff0000000000000000000000000000000000000000000000000000'
    """
    bits = int(bits)
    if not 0 <= bits <= 0xFFFFFFFF:
        raise ValueError(f"compact bits must be a 32-bit unsigned integer, got {bits!r}")
    size = bits >> 24
    word = bits & 0x007FFFFF
    if size <= 3:
        word >>= 8 * (3 - size)
        target = word
    else:
        target = word << (8 * (size - 3))
    negative = word != 0 and (bits & 0x00800000) != 0
    overflow = word != 0 and (
        size > 34 or (word > 0xFF and size > 33) or (word > 0xFFFF and size > 32)
    )
    return target & _UINT256_MAX, negative, overflow


def encode_compact(target: int, negative: bool = False) -> int:
    """Encode a 256-bit value as compact bits (``arith_uint256::GetCompact``).

    Parameters
    ----------
    target : int
        Non-negative integer below ``2**256``.
    negative : bool, optional
        Set the sign bit (only when the mantissa is non-zero), as Core does.

    Returns
    -------
    int
        Compact encoding; precision beyond the 3-byte mantissa is truncated.

    References
    ----------
    .. [1] Bitcoin Core, ``src/arith_uint256.cpp``.

    Examples
    --------
    >>> hex(encode_compact(0xffff << 208))
    '0x1d00ffff'
    """
    target = int(target)
    if target < 0 or target > _UINT256_MAX:
        raise ValueError("target must be a non-negative 256-bit integer")
    size = (target.bit_length() + 7) // 8
    if size <= 3:
        compact = (target << (8 * (3 - size))) & 0xFFFFFFFF
    else:
        compact = target >> (8 * (size - 3))
    # The 0x00800000 bit denotes the sign; if it is set, shift the mantissa down a byte.
    if compact & 0x00800000:
        compact >>= 8
        size += 1
    compact |= size << 24
    if negative and (compact & 0x007FFFFF):
        compact |= 0x00800000
    return compact


def target_from_bits(bits: int) -> int:
    """Return the target for valid header bits, rejecting negative/overflow/zero encodings.

    Parameters
    ----------
    bits : int
        Compact encoding from a block header.

    Returns
    -------
    int
        Target (256-bit).

    Raises
    ------
    ValueError
        If the encoding is negative, overflows, is zero, or exceeds the mainnet pow limit.
    """
    target, negative, overflow = decode_compact(bits)
    if negative or overflow or target == 0 or target > POW_LIMIT:
        raise ValueError(f"bits 0x{int(bits):08x} do not encode a valid mainnet target")
    return target


def next_work_required(bits: int, first_block_time: int, last_block_time: int) -> int:
    """Compute the next epoch's compact target (``CalculateNextWorkRequired``, mainnet).

    Parameters
    ----------
    bits : int
        Compact target of the epoch that is ending.
    first_block_time : int
        Header time of the epoch's first block, height ``h - 2016`` [unix s].
    last_block_time : int
        Header time of the epoch's last block, height ``h - 1`` [unix s].

    Returns
    -------
    int
        Compact bits for height ``h``.

    Notes
    -----
    ``span = clamp(last - first, T/4, 4T)`` with ``T = 1,209,600 s``; new target =
    ``old * span // T`` capped at powLimit, then compact-encoded (which truncates) [1]_.
    The 2015-interval measurement is Bitcoin's historic off-by-one.

    References
    ----------
    .. [1] Bitcoin Core, ``src/pow.cpp``.

    Examples
    --------
    >>> hex(next_work_required(0x1d00ffff, 1231006505, 1233061996))
    '0x1d00ffff'
    """
    span = int(last_block_time) - int(first_block_time)
    span = min(max(span, MIN_TIMESPAN_S), MAX_TIMESPAN_S)
    target, _, _ = decode_compact(bits)
    new_target = target * span // TARGET_TIMESPAN_S
    if new_target > POW_LIMIT:
        new_target = POW_LIMIT
    return encode_compact(new_target)


def block_subsidy(height: int, halving_interval: int = HALVING_INTERVAL) -> int:
    """Return the block subsidy at a height (``GetBlockSubsidy``) [sats].

    Parameters
    ----------
    height : int
        Block height (>= 0).
    halving_interval : int, optional
        Blocks per halving [blocks]; 210,000 on mainnet.

    Returns
    -------
    int
        Subsidy [sats]: ``5e9 >> (height // interval)``, zero from 64 halvings on [1]_.

    References
    ----------
    .. [1] Bitcoin Core, ``src/validation.cpp``.

    Examples
    --------
    >>> block_subsidy(840_000)
    312500000
    """
    height = int(height)
    if height < 0:
        raise ValueError(f"height must be >= 0, got {height}")
    halvings = height // int(halving_interval)
    if halvings >= 64:
        return 0
    return INITIAL_SUBSIDY_SATS >> halvings


def block_work(bits: int) -> int:
    """Expected number of hashes for a block at these bits (``GetBlockProof``) [hashes].

    Parameters
    ----------
    bits : int
        Compact target.

    Returns
    -------
    int
        ``2**256 // (target + 1)``; zero for negative/overflow/zero encodings, as in Core [1]_.

    References
    ----------
    .. [1] Bitcoin Core, ``src/chain.cpp``.

    Examples
    --------
    >>> block_work(0x1d00ffff)
    4295032833
    """
    target, negative, overflow = decode_compact(bits)
    if negative or overflow or target == 0:
        return 0
    return work_from_target(target)


def work_from_target(target: int) -> int:
    """Expected hashes for a block at a 256-bit target: ``2**256 // (target + 1)`` [hashes]."""
    return (1 << 256) // (int(target) + 1)


def difficulty(bits: int) -> float:
    """Difficulty as ``getdifficulty`` reports it: ``target(0x1d00ffff) / target``.

    Parameters
    ----------
    bits : int
        Compact target.

    Returns
    -------
    float
        Difficulty [dimensionless]. Computed by Core's float loop over the compact form [1]_,
        which is what RPC users see.

    References
    ----------
    .. [1] Bitcoin Core, ``src/rpc/blockchain.cpp`` ``GetDifficulty``.

    Examples
    --------
    >>> difficulty(0x1d00ffff)
    1.0
    """
    bits = int(bits)
    shift = (bits >> 24) & 0xFF
    d = float(0x0000FFFF) / float(bits & 0x00FFFFFF)
    while shift < 29:
        d *= 256.0
        shift += 1
    while shift > 29:
        d /= 256.0
        shift -= 1
    return d


def check_proof_of_work(block_hash_hex: str, bits: int) -> bool:
    """Check a block hash against its bits (``CheckProofOfWork``, mainnet).

    Parameters
    ----------
    block_hash_hex : str
        Block hash in display (big-endian, RPC) hex, 64 characters.
    bits : int
        Compact target claimed by the header.

    Returns
    -------
    bool
        False for a negative, zero, overflowing or above-powLimit target, or a hash above the
        target [1]_.

    References
    ----------
    .. [1] Bitcoin Core, ``src/pow.cpp``.
    """
    target, negative, overflow = decode_compact(bits)
    if negative or target == 0 or overflow or target > POW_LIMIT:
        return False
    return int(block_hash_hex, 16) <= target


def next_halving_height(height: int, halving_interval: int = HALVING_INTERVAL) -> int:
    """First halving height strictly above ``height`` [blocks]."""
    return (int(height) // int(halving_interval) + 1) * int(halving_interval)


def epoch_of(height: int) -> int:
    """Difficulty epoch index of a height (epoch 0 is heights 0–2015)."""
    return int(height) // RETARGET_INTERVAL


def epoch_start_height(height: int) -> int:
    """First height of the epoch containing ``height``."""
    return epoch_of(height) * RETARGET_INTERVAL


def next_retarget_height(height: int) -> int:
    """Height at which the next retarget after ``height`` applies."""
    return epoch_start_height(height) + RETARGET_INTERVAL


@dataclass(frozen=True)
class HalvingEvent:
    """One subsidy era boundary: ``height`` starts an era paying ``subsidy_sats`` per block."""

    index: int
    height: int
    subsidy_sats: int


def halving_schedule(
    n: int = 33, halving_interval: int = HALVING_INTERVAL
) -> list[HalvingEvent]:
    """The first ``n`` subsidy eras (era 0 at height 0 pays 50 BTC) [sats].

    Parameters
    ----------
    n : int
        Number of eras; the subsidy is zero from era 33 on mainnet.
    halving_interval : int
        Blocks per halving.

    Returns
    -------
    list of HalvingEvent
    """
    return [
        HalvingEvent(i, i * halving_interval, block_subsidy(i * halving_interval, halving_interval))
        for i in range(n)
    ]


def chain_work(bits: np.ndarray | list[int]) -> list[int]:
    """Running chain work over a sequence of block bits [hashes], exact Python ints.

    Parameters
    ----------
    bits : array-like of int
        Compact targets, one per block, in height order.

    Returns
    -------
    list of int
        Cumulative ``sum(block_work(b))`` after each block.
    """
    total = 0
    out: list[int] = []
    cache: dict[int, int] = {}
    for b in bits:
        b = int(b)
        w = cache.get(b)
        if w is None:
            w = cache[b] = block_work(b)
        total += w
        out.append(total)
    return out


def block_subsidy_array(heights: np.ndarray) -> np.ndarray:
    """Vectorised :func:`block_subsidy` over int64 heights [sats] (exact in int64)."""
    h = np.asarray(heights, dtype=np.int64)
    if (h < 0).any():
        raise ValueError("heights must be >= 0")
    halvings = h // HALVING_INTERVAL
    out = np.where(halvings >= 64, 0, np.right_shift(INITIAL_SUBSIDY_SATS, np.minimum(halvings, 63)))
    return out.astype(np.int64)


def block_work_float(bits: np.ndarray) -> np.ndarray:
    """Vectorised work per block as float64 [hashes], for statistics only (not consensus)."""
    arr = np.asarray(bits, dtype=np.int64)
    uniq, inv = np.unique(arr, return_inverse=True)
    vals = np.array([float(block_work(int(b))) for b in uniq], dtype=np.float64)
    return vals[inv]
