"""The market module's inputs: daily closes and entity windows, as frozen records.

:mod:`hashdesk.data.markets` reads them from the store (as of a time); the pure functions of
:mod:`hashdesk.market` take them as arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class NonOperatingWindow:
    """A period in which a ticker was not (yet) an operating miner (SPAC, pre-merger shell)."""

    ticker: str
    valid_from: pd.Timestamp | None
    valid_to: pd.Timestamp | None
    entity: str

    def mask(self, dates: pd.DatetimeIndex) -> np.ndarray:
        """True for the dates inside the window (bounds inclusive, open ends unbounded)."""
        m = np.ones(len(dates), dtype=bool)
        if self.valid_from is not None:
            m &= dates >= self.valid_from
        if self.valid_to is not None:
            m &= dates <= self.valid_to
        return m


@dataclass(frozen=True)
class MarketInputs:
    """Daily prices for some tickers and bitcoin, as stored (no fill).

    Attributes
    ----------
    prices : pd.DataFrame
        Close [USD] per date (DatetimeIndex) and ticker; ``BTC-USD`` is the 00:00 UTC next-day
        fixing stamped on its UTC day. NaN = no row.
    btc_source : pd.Series
        Source of each BTC day ('coinmetrics' / 'blockchaincom_mkpru').
    equity_source : dict
        Price source used per equity ticker.
    non_operating : tuple of NonOperatingWindow
        SPAC / pre-merger periods of the requested tickers (``ticker_history``).
    notes : tuple of str
        Entity notes worth telling the user (e.g. HUT's pre-merger scaling).
    warnings : tuple of str
    """

    prices: pd.DataFrame
    btc_source: pd.Series
    equity_source: dict[str, str]
    non_operating: tuple[NonOperatingWindow, ...] = ()
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)


__all__ = ["MarketInputs", "NonOperatingWindow"]
