"""Bitcoin Core's own unit-test vectors, transcribed from its test files.

Sources: ``src/test/arith_uint256_tests.cpp`` (bignum_SetCompact), ``src/test/pow_tests.cpp``
(get_next_work*, CheckProofOfWork_*), ``src/test/validation_tests.cpp`` (block_subsidy_test,
subsidy_limit_test), and the mainnet genesis block (``src/kernel/chainparams.cpp``).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashdesk.chain import (
    POW_LIMIT,
    block_subsidy,
    block_work,
    check_proof_of_work,
    decode_compact,
    difficulty,
    encode_compact,
    next_work_required,
    parse_header,
)
from hashdesk.chain.consensus import (
    MAX_TIMESPAN_S,
    MIN_TIMESPAN_S,
    TARGET_TIMESPAN_S,
    block_subsidy_array,
    chain_work,
)
from hashdesk.chain.headers import HeaderError, serialize_header, verify_header

# (compact in, value, negative, overflow, GetCompact(negative) out) — bignum_SetCompact
SET_COMPACT = [
    (0x00000000, 0, False, False, 0),
    (0x00123456, 0, False, False, 0),
    (0x01003456, 0, False, False, 0),
    (0x02000056, 0, False, False, 0),
    (0x03000000, 0, False, False, 0),
    (0x04000000, 0, False, False, 0),
    (0x00923456, 0, False, False, 0),
    (0x01803456, 0, False, False, 0),
    (0x02800056, 0, False, False, 0),
    (0x03800000, 0, False, False, 0),
    (0x04800000, 0, False, False, 0),
    (0x01123456, 0x12, False, False, 0x01120000),
    (0x01FEDCBA, 0x7E, True, False, 0x01FE0000),
    (0x02123456, 0x1234, False, False, 0x02123400),
    (0x03123456, 0x123456, False, False, 0x03123456),
    (0x04123456, 0x12345600, False, False, 0x04123456),
    (0x04923456, 0x12345600, True, False, 0x04923456),
    (0x05009234, 0x92340000, False, False, 0x05009234),
    (0x20123456, 0x12345600 << (8 * 28), False, False, 0x20123456),
]


@pytest.mark.parametrize(("bits", "value", "negative", "overflow", "compact"), SET_COMPACT)
def test_set_compact_core_vectors(bits, value, negative, overflow, compact):
    got_value, got_neg, got_ovf = decode_compact(bits)
    assert (got_value, got_neg, got_ovf) == (value, negative, overflow)
    assert encode_compact(got_value, negative) == compact


def test_set_compact_overflow_core_vector():
    _, negative, overflow = decode_compact(0xFF123456)
    assert overflow and not negative


def test_get_compact_never_sets_sign_bit():
    assert encode_compact(0x80) == 0x02008000


# pow_tests.cpp: (last retarget time, last block time, bits, expected)
NEXT_WORK = [
    pytest.param(1261130161, 1262152739, 0x1D00FFFF, 0x1D00D86A, id="get_next_work_block32255"),
    pytest.param(1231006505, 1233061996, 0x1D00FFFF, 0x1D00FFFF, id="get_next_work_pow_limit"),
    pytest.param(1279008237, 1279297671, 0x1C05A3F4, 0x1C0168FD, id="get_next_work_lower_limit_actual"),
    pytest.param(1263163443, 1269211443, 0x1C387F6F, 0x1D00E1FD, id="get_next_work_upper_limit_actual"),
]


@pytest.mark.parametrize(("first", "last", "bits", "expected"), NEXT_WORK)
def test_next_work_required_core_vectors(first, last, bits, expected):
    assert next_work_required(bits, first, last) == expected


def test_check_proof_of_work_core_cases():
    genesis_hash = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
    assert check_proof_of_work(genesis_hash, 0x1D00FFFF)
    # negative target: powLimit.GetCompact(true)
    assert not check_proof_of_work(genesis_hash, encode_compact(POW_LIMIT, negative=True))
    # overflow: ~0x00800000
    assert not check_proof_of_work(genesis_hash, ~0x00800000 & 0xFFFFFFFF)
    # too easy: powLimit * 2
    assert not check_proof_of_work(genesis_hash, encode_compact(POW_LIMIT * 2))
    # hash bigger than target: hash = powLimit, target = powLimit >> 1
    assert not check_proof_of_work(f"{POW_LIMIT:064x}", encode_compact(POW_LIMIT >> 1))
    # zero target
    assert not check_proof_of_work(genesis_hash, 0)


def test_block_subsidy_core_schedule():
    initial = 50 * 100_000_000
    for halvings in range(64):
        assert block_subsidy(halvings * 210_000) == initial >> halvings
    assert block_subsidy(64 * 210_000) == 0
    assert block_subsidy(209_999) == initial and block_subsidy(210_000) == initial // 2


def test_subsidy_limit_core():
    total = sum(block_subsidy(h) * 1000 for h in range(0, 14_000_000, 1000))
    assert total == 2_099_999_997_690_000


def test_subsidy_vectorised_matches_scalar():
    heights = list(range(0, 14_000_000, 9_973))
    assert block_subsidy_array(heights).tolist() == [block_subsidy(h) for h in heights]


GENESIS_HEX = (
    "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e"
    "67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c"
)


def test_genesis_header():
    h = parse_header(bytes.fromhex(GENESIS_HEX))
    assert h.hash == "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
    assert h.merkle_root == "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"
    assert (h.version, h.time, h.bits, h.nonce) == (1, 1231006505, 0x1D00FFFF, 2083236893)
    assert h.prev_hash == "00" * 32
    assert serialize_header(h.version, h.prev_hash, h.merkle_root, h.time, h.bits, h.nonce) == h.raw
    verify_header(h)
    assert difficulty(h.bits) == 1.0
    assert block_work(h.bits) == 0x100010001  # 4295032833 hashes, not exactly 2**32


def test_truncated_and_tampered_headers():
    raw = bytes.fromhex(GENESIS_HEX)
    with pytest.raises(HeaderError, match="80 bytes"):
        parse_header(raw[:79])
    tampered = parse_header(raw[:-1] + bytes([raw[-1] ^ 1]))  # change the nonce
    with pytest.raises(HeaderError, match="proof of work"):
        verify_header(tampered)
    with pytest.raises(HeaderError, match="does not link"):
        verify_header(parse_header(raw), expected_prev_hash="11" * 32)


@given(st.integers(min_value=1, max_value=(1 << 256) - 1))
def test_encode_decode_round_trip_truncates_like_core(target):
    bits = encode_compact(target)
    value, negative, overflow = decode_compact(bits)
    assert not negative and not overflow
    assert value <= target
    # truncation keeps at least the 16 most significant bits (a 2- or 3-byte mantissa)
    assert target - value < 1 << max(0, target.bit_length() - 16)
    assert encode_compact(value) == bits  # idempotent on representable values


@given(st.integers(min_value=0, max_value=0xFFFFFFFF))
def test_decode_encode_canonical(bits):
    value, negative, overflow = decode_compact(bits)
    if not overflow and value:
        assert decode_compact(encode_compact(value, negative))[0] == value


@given(
    st.integers(min_value=0x1B000000, max_value=0x1D00FFFF).filter(lambda b: b & 0x00800000 == 0 and b & 0x007FFFFF),
    st.integers(min_value=1_231_006_505, max_value=2_000_000_000),
    st.integers(min_value=-10 * TARGET_TIMESPAN_S, max_value=10 * TARGET_TIMESPAN_S),
)
def test_retarget_clamps(bits, first, span):
    new = decode_compact(next_work_required(bits, first, first + span))[0]
    old = decode_compact(bits)[0]
    clamped = min(max(span, MIN_TIMESPAN_S), MAX_TIMESPAN_S)
    assert new <= min(POW_LIMIT, old * clamped // TARGET_TIMESPAN_S)
    # never more than a factor 4 easier or harder (up to compact truncation)
    assert new <= old * 4
    assert new * 4 >= old - (old >> 16) * 4


def test_chain_work_is_exact_running_sum():
    bits = [0x1D00FFFF] * 3 + [0x1703D869]
    cw = chain_work(bits)
    assert cw[2] == 3 * 0x100010001
    assert cw[3] - cw[2] == block_work(0x1703D869)
    assert isinstance(cw[3], int)
