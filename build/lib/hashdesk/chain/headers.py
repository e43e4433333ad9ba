"""Block headers: parse the 80-byte serialisation, hash it and check PoW and linkage.

References
----------
.. [1] Bitcoin Core, ``src/primitives/block.h`` (``CBlockHeader`` serialisation).
.. [2] Bitcoin Core, ``src/pow.cpp`` (``CheckProofOfWork``).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from hashdesk.chain.consensus import check_proof_of_work

HEADER_SIZE: int = 80


class HeaderError(ValueError):
    """A header that cannot be parsed or fails a consensus check."""


@dataclass(frozen=True)
class Header:
    """A parsed block header. Hashes are display (big-endian, RPC-style) hex strings.

    Attributes
    ----------
    version : int
        Block version (signed 32-bit).
    prev_hash : str
        Previous block's hash [display hex].
    merkle_root : str
        Merkle root [display hex].
    time : int
        Header timestamp [unix s].
    bits : int
        Compact target.
    nonce : int
        Nonce.
    hash : str
        Double-SHA256 of the 80 bytes [display hex].
    raw : bytes
        The 80 serialised bytes.
    """

    version: int
    prev_hash: str
    merkle_root: str
    time: int
    bits: int
    nonce: int
    hash: str
    raw: bytes


def double_sha256(data: bytes) -> bytes:
    """SHA256(SHA256(data)) [32 bytes, internal byte order]."""
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def header_hash(raw: bytes) -> str:
    """Block hash of an 80-byte header in display hex (byte-reversed double SHA-256)."""
    return double_sha256(raw)[::-1].hex()


def parse_header(raw: bytes) -> Header:
    """Parse an 80-byte block header.

    Parameters
    ----------
    raw : bytes
        Serialised header: version (int32 LE), prev hash (32), merkle root (32), time (uint32 LE),
        bits (uint32 LE), nonce (uint32 LE) [1]_.

    Returns
    -------
    Header

    Raises
    ------
    HeaderError
        If ``raw`` is not exactly 80 bytes.

    References
    ----------
    .. [1] Bitcoin Core, ``src/primitives/block.h``.
    """
    if isinstance(raw, str):
        raise HeaderError("parse_header expects bytes; use bytes.fromhex() for hex input")
    raw = bytes(raw)
    if len(raw) != HEADER_SIZE:
        raise HeaderError(f"block header must be {HEADER_SIZE} bytes, got {len(raw)}")
    version, = struct.unpack_from("<i", raw, 0)
    prev = raw[4:36][::-1].hex()
    merkle = raw[36:68][::-1].hex()
    time, bits, nonce = struct.unpack_from("<III", raw, 68)
    return Header(version, prev, merkle, time, bits, nonce, header_hash(raw), raw)


def serialize_header(
    version: int, prev_hash: str, merkle_root: str, time: int, bits: int, nonce: int
) -> bytes:
    """Serialise header fields (display-hex hashes) to the 80-byte wire form."""
    return (
        struct.pack("<i", version)
        + bytes.fromhex(prev_hash)[::-1]
        + bytes.fromhex(merkle_root)[::-1]
        + struct.pack("<III", time, bits, nonce)
    )


def verify_header(header: Header, expected_prev_hash: str | None = None) -> None:
    """Check proof-of-work and (optionally) the link to the previous block.

    Parameters
    ----------
    header : Header
        Parsed header.
    expected_prev_hash : str, optional
        Display-hex hash the header must point to.

    Raises
    ------
    HeaderError
        Naming the failed check.
    """
    if not check_proof_of_work(header.hash, header.bits):
        raise HeaderError(
            f"proof of work fails: hash {header.hash} above target of bits 0x{header.bits:08x}"
        )
    if expected_prev_hash is not None and header.prev_hash != expected_prev_hash.lower():
        raise HeaderError(
            f"prev_hash {header.prev_hash} does not link to expected {expected_prev_hash}"
        )
