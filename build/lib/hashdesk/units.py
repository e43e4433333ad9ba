"""Unit conversion constants shared by every layer (chain, economics, scenarios)."""

from __future__ import annotations

#: Seconds per day [s].
SECONDS_PER_DAY: int = 86_400
#: Hashes per second in one TH/s [H/s].
HS_PER_THS: float = 1e12
#: Hashes per second in one PH/s [H/s].
HS_PER_PHS: float = 1e15
#: Hashes per second in one EH/s [H/s].
HS_PER_EHS: float = 1e18
