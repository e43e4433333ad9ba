"""Consensus-exact chain engine (public contract: names mirror Bitcoin Core)."""

from hashdesk.chain.consensus import (
    DIFF1_TARGET,
    HALVING_INTERVAL,
    POW_LIMIT,
    POW_LIMIT_BITS,
    RETARGET_INTERVAL,
    TARGET_SPACING_S,
    TARGET_TIMESPAN_S,
    block_subsidy,
    block_work,
    chain_work,
    check_proof_of_work,
    decode_compact,
    difficulty,
    encode_compact,
    halving_schedule,
    next_halving_height,
    next_retarget_height,
    next_work_required,
    target_from_bits,
    work_from_target,
)
from hashdesk.chain.headers import Header, HeaderError, parse_header, verify_header

__all__ = [
    "DIFF1_TARGET",
    "HALVING_INTERVAL",
    "POW_LIMIT",
    "POW_LIMIT_BITS",
    "RETARGET_INTERVAL",
    "TARGET_SPACING_S",
    "TARGET_TIMESPAN_S",
    "Header",
    "HeaderError",
    "block_subsidy",
    "block_work",
    "chain_work",
    "check_proof_of_work",
    "decode_compact",
    "difficulty",
    "encode_compact",
    "halving_schedule",
    "next_halving_height",
    "next_retarget_height",
    "next_work_required",
    "parse_header",
    "target_from_bits",
    "verify_header",
    "work_from_target",
]

# Hashrate estimators and the retarget projection (pure; store-facing parts live in
# hashdesk.data and hashdesk.desk).
from hashdesk.chain.hashrate import (  # noqa: E402
    HashrateEstimate,
    block_work_exact,
    contiguous_runs,
    daily_hashrate,
    epoch_hashrate,
    hashrate_over_blocks,
    hashrate_time_windows,
    trailing_hashrate,
)
from hashdesk.chain.projection import (  # noqa: E402
    DriftPrior,
    RetargetProjection,
    backtest_projection,
    fit_drift_prior,
    log_difficulty_changes,
    project_retarget,
)

__all__ += [
    "DriftPrior",
    "HashrateEstimate",
    "RetargetProjection",
    "backtest_projection",
    "block_work_exact",
    "contiguous_runs",
    "daily_hashrate",
    "epoch_hashrate",
    "fit_drift_prior",
    "hashrate_over_blocks",
    "hashrate_time_windows",
    "log_difficulty_changes",
    "project_retarget",
    "trailing_hashrate",
]
