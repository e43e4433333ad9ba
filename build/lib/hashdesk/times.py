"""Time conventions shared by every layer: UTC everywhere, unix seconds, "a date means its end"."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import numpy as np

#: Seconds per day [s].
DAY_S: int = 86_400


def iso_utc(t: int | float) -> str:
    """Unix seconds as ISO 8601 UTC, e.g. ``2024-01-16T00:00:00Z``."""
    return datetime.fromtimestamp(int(t), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_start_unix(d: date) -> int:
    """00:00 UTC of a day [unix s]."""
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def day_end_unix(d: date) -> int:
    """End of a UTC day = 00:00 UTC of the next day [unix s]."""
    return day_start_unix(d) + DAY_S


def parse_at(at: str | date | datetime | int | float, now: int | None = None) -> tuple[int, str]:
    """Resolve a date or timestamp to unix seconds (UTC) and describe it.

    Parameters
    ----------
    at : str, date, datetime or number
        ``YYYY-MM-DD`` (or a ``date``) means the **end** of that UTC day, so its 7-day window is
        the seven UTC days ending with it; an ISO timestamp (naive = UTC) or a ``datetime`` is
        taken as is; a number is unix seconds; ``"now"`` is the current time.
    now : int, optional
        The current time [unix s] for ``"now"`` (tests); default the clock.

    Returns
    -------
    at_unix : int
        The instant [unix s].
    words : str
        E.g. ``"end of 2024-01-16 UTC"``.

    Raises
    ------
    ValueError
        For text that is none of these forms.

    Examples
    --------
    >>> parse_at("2024-01-16")
    (1705449600, 'end of 2024-01-16 UTC')
    """
    if isinstance(at, (int, float, np.integer)) and not isinstance(at, bool):
        return int(at), iso_utc(at)
    if isinstance(at, datetime):
        dt = at if at.tzinfo else at.replace(tzinfo=UTC)
        return int(dt.timestamp()), iso_utc(dt.timestamp())
    if isinstance(at, date):
        return day_end_unix(at), f"end of {at.isoformat()} UTC"
    text = str(at).strip()
    if text.lower() == "now":
        t = int(time.time()) if now is None else int(now)
        return t, f"now ({iso_utc(t)})"
    if text.isdigit():
        return int(text), iso_utc(int(text))
    try:
        if len(text) == 10:
            return parse_at(date.fromisoformat(text))
        return parse_at(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise ValueError(
            f"at: cannot read {text!r}; use a UTC date YYYY-MM-DD, an ISO timestamp "
            "(e.g. 2024-01-16T12:00:00Z), unix seconds or 'now'"
        ) from None


def age_words(seconds: float) -> str:
    """A duration for people: ``"3 h 20 min"``, ``"2.5 days"``."""
    s = float(seconds)
    if s < 3600:
        return f"{s / 60:.0f} min"
    if s < 2 * DAY_S:
        return f"{s / 3600:.1f} h"
    return f"{s / DAY_S:.1f} days"


__all__ = ["DAY_S", "age_words", "day_end_unix", "day_start_unix", "iso_utc", "parse_at"]
