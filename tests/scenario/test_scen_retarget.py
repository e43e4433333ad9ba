"""The vectorised retarget equals Bitcoin Core's rule (next_work_required) exactly."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hashdesk.chain.consensus import (
    POW_LIMIT,
    block_work,
    encode_compact,
    next_work_required,
)
from hashdesk.scenario.engine import retarget_bits, work_float

targets = st.integers(min_value=1, max_value=POW_LIMIT).map(lambda t: encode_compact(t))
spans = st.integers(min_value=-10_000, max_value=6_000_000)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(targets, spans, st.integers(1_231_006_505, 4_000_000_000)), min_size=1, max_size=40))
def test_scen_retarget_equals_consensus(rows):
    bits = np.array([r[0] for r in rows], dtype=np.int64)
    first = np.array([r[2] for r in rows], dtype=np.int64)
    last = first + np.array([r[1] for r in rows], dtype=np.int64)
    got = retarget_bits(bits, first, last)
    want = [next_work_required(int(b), int(f), int(la)) for b, f, la in zip(bits, first, last, strict=True)]
    assert got.tolist() == want


def test_scen_retarget_edges():
    # clamps, the pow-limit cap and a mantissa that needs Core's sign-bit shift
    bits = np.array([0x1D00FFFF, 0x1D00FFFF, 0x17053894, 0x1B0404CB, 0x1C7FFFFF], dtype=np.int64)
    first = np.zeros(5, dtype=np.int64) + 1_600_000_000
    last = first + np.array([5_000_000, 100, 302_399, 4_838_401, 1_209_600 * 2])
    want = [next_work_required(int(b), int(f), int(la)) for b, f, la in zip(bits, first, last, strict=True)]
    assert retarget_bits(bits, first, last).tolist() == want
    assert want[0] == 0x1D00FFFF


def test_scen_retarget_on_bundle_chain(bundle_store):
    """Every retarget the bundle's consecutive block times allow is reproduced."""
    df = bundle_store.df(
        "SELECT e.epoch, e.bits, n.bits AS next_bits, f.time AS first_time, l.time AS last_time "
        "FROM epochs e JOIN epochs n ON n.epoch = e.epoch + 1 "
        "JOIN blocks f ON f.height = e.first_height JOIN blocks l ON l.height = e.last_height"
    )
    assert len(df) >= 20
    got = retarget_bits(df.bits.to_numpy(), df.first_time.to_numpy(), df.last_time.to_numpy())
    assert (got == df.next_bits.to_numpy()).all()


def test_scen_work_float_matches_exact():
    bits = np.array([0x1D00FFFF, 0x17053894, 0x1703D869], dtype=np.int64)
    w = work_float(bits)
    exact = np.array([float(block_work(int(b))) for b in bits])
    assert np.allclose(w, exact, rtol=1e-14, atol=0)
