"""One number formatter for every surface: the terminal, the brief, the dashboard.

Pure and import-light (standard library only): values in, text out. Numbers are written the way
analysts quote them: thousands separators, a fixed number of decimals per unit kind, SI suffixes
for difficulty and work ("73.20 T"), never scientific notation; fractions shown as percent;
dates and times in UTC.

A field's kind and its label for people are inferred from its name, which carries its unit
(``hashprice_usd_per_ph_day`` → kind ``usd_ph_day``, label "hashprice [USD/PH/day]"); see
:func:`infer_kind` and :func:`label`.

Kinds
-----
``num`` (generic), ``int``, ``blocks``, ``ratio``, ``pct`` (a fraction shown as a signed percent:
a return or a change, 0.0123 → "+1.23"), ``share`` (a fraction shown as a percent level: a margin or
a share, 0.7513 → "75.1"), ``pct_value`` (a value already in percent, -2.85 → "-2.85"), ``bp``,
``difficulty``, ``si`` (a count with an SI suffix, e.g. work), ``ehs``, ``ths``, ``phs``,
``usd_ph_day``, ``btc_ph_day``, ``usd_th_day``, ``btc_th_day``, ``usd``, ``usd_btc``, ``btc``,
``sats``, ``j_th``, ``usd_kwh``, ``mw``, ``mwh``, ``kwh``, ``days``, ``hours``, ``seconds``,
``months``, ``bits``, ``date``, ``datetime``, ``text``, ``bool``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

__all__ = [
    "KIND_UNITS",
    "fmt_column",
    "fmt_time",
    "fmt_value",
    "infer_kind",
    "label",
    "unit_of",
]

#: Unit shown after a value of each kind ("" when none applies).
KIND_UNITS: dict[str, str] = {
    "ehs": "EH/s",
    "ths": "TH/s",
    "phs": "PH/s",
    "usd_ph_day": "USD/PH/day",
    "btc_ph_day": "BTC/PH/day",
    "usd_th_day": "USD/TH/day",
    "btc_th_day": "BTC/TH/day",
    "usd": "USD",
    "usd_btc": "USD/BTC",
    "usd_kw_month": "USD/kW-month",
    "btc": "BTC",
    "sats": "sats",
    "pct": "%",
    "share": "%",
    "pct_value": "%",
    "bp": "bp",
    "j_th": "J/TH",
    "usd_kwh": "USD/kWh",
    "mw": "MW",
    "mwh": "MWh",
    "kwh": "kWh",
    "days": "days",
    "hours": "h",
    "seconds": "s",
    "months": "months",
    "years": "years",
    "blocks": "blocks",
}

#: SI prefixes used for difficulty, work and other large counts (no scientific notation).
_SI = ((1e24, "Y"), (1e21, "Z"), (1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"))


def _isnull(v: Any) -> bool:
    if v is None:
        return True
    if v.__class__.__name__ in ("NAType", "NaTType"):
        return True
    try:
        return isinstance(v, float) and math.isnan(v)
    except TypeError:  # pragma: no cover - exotic types
        return False


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        try:
            v = value.item()
        except (TypeError, ValueError):
            return None
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
    return None


def _has_time(value: Any) -> bool:
    """True for a datetime that is not a UTC midnight (a date alone shows without a time)."""
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if not isinstance(value, datetime):
        return False
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.time() != datetime.min.time()


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return value.__class__.__module__ == "numpy" and "int" in value.__class__.__name__


def _auto_decimals(magnitude: float) -> int:
    """Decimals that show a number of this size with about three significant digits.

    ≥ 1,000 → 0; ≥ 10 → 2; ≥ 1 → 3; below 1, enough for three significant digits (at most 10).
    """
    if magnitude == 0 or not math.isfinite(magnitude):
        return 2
    if magnitude >= 1000:
        return 0
    if magnitude >= 10:
        return 2
    if magnitude >= 1:
        return 3
    return min(10, 2 - math.floor(math.log10(magnitude)))


def _si(x: float, decimals: int = 2) -> str:
    for scale, suffix in _SI:
        if abs(x) >= scale:
            return f"{x / scale:,.{decimals}f} {suffix}"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.{decimals}f}"


#: Fixed decimals per kind (None: chosen from the magnitude, per value or per column).
_DECIMALS: dict[str, int | None] = {
    "int": 0, "blocks": 0, "sats": 0, "seconds": 0, "months": 0,
    "ratio": 3, "usd_btc": 2, "usd_kw_month": 2, "usd_ph_day": 2, "btc_ph_day": 6, "usd_th_day": 4, "btc_th_day": 8,
    "ehs": 1, "ths": 1, "phs": 1, "j_th": 1, "mw": 1, "mwh": 1, "kwh": 0, "days": 1, "hours": 1,
    "usd_kwh": 4, "pct": 2, "share": 1, "pct_value": 2, "bp": 0, "years": 2,
}
#: Kinds whose whole numbers show without decimals (15 years, 155 blocks).
_WHOLE_OK = ("num", "years")


def _decimals_for(kind: str, magnitude: float) -> int:
    """Decimals of a kind whose size is chosen from the value (``num``, ``usd``, ``btc``)."""
    fixed = _DECIMALS.get(kind)
    if fixed is not None:
        return fixed
    if kind == "usd":
        return 0 if magnitude >= 1000 else 2
    if kind == "btc":
        if magnitude >= 100:
            return 1
        return 3 if magnitude >= 0.1 or magnitude == 0 else max(3, _auto_decimals(magnitude))
    return _auto_decimals(magnitude)


def fmt_value(value: Any, kind: str = "num", with_unit: bool = False, decimals: int | None = None) -> str:
    """Format one value for people.

    Parameters
    ----------
    value : Any
        Raw value. Fractions for ``pct``, ``share`` and ``bp`` (0.0123 → "+1.23" / "1.2" /
        "+123"); percent points for ``pct_value``; H/s-scaled units as their names say.
    kind : str
        One of the kinds in the module docstring (unknown kinds format as ``num``).
    with_unit : bool
        Append the unit (stand-alone metrics; table columns carry units in their labels).
    decimals : int, optional
        Override the kind's decimals (tables pass one number per column).

    Returns
    -------
    str
        "—" for a missing value; never scientific notation.

    Examples
    --------
    >>> fmt_value(73_197_634_206_448, "difficulty")
    '73.20 T'
    >>> fmt_value(0.7513, "share", with_unit=True)
    '75.1 %'
    >>> fmt_value(120_200_000.0, "usd", with_unit=True)
    '120,200,000 USD'
    """
    if _isnull(value):
        return "—"
    if kind == "text":
        return str(value)
    if kind == "bool":
        return "yes" if value else "no"
    if kind in ("date", "datetime"):
        return fmt_time(value, with_time=kind == "datetime")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (date, datetime)) or hasattr(value, "to_pydatetime"):
        return fmt_time(value, with_time=_has_time(value))
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(str(v) for v in value)
    x = _as_float(value)
    if x is None:
        return str(value)
    if not math.isfinite(x):
        return "∞" if x > 0 else ("-∞" if x < 0 else "—")
    unit = KIND_UNITS.get(kind, "") if with_unit else ""
    if kind == "bits":
        return f"0x{int(x):08x}"
    if decimals is not None:
        d = decimals
    elif kind in _WHOLE_OK and _is_int(value):
        d = 0
    else:
        d = _decimals_for(kind, abs(x))
    if kind == "pct":
        s = f"{x * 100:+,.{d}f}"
        if re.fullmatch(r"-[0.,]+", s):
            s = "+" + s[1:]  # no "-0.00"
        return s + ("%" if with_unit else "")
    if kind == "share":
        s = f"{x * 100:,.{d}f}"
    elif kind == "bp":
        s = f"{x * 1e4:+,.{d}f}"
    elif kind in ("difficulty", "si"):
        s = _si(x, 2 if decimals is None else decimals)
    else:
        s = f"{x:,.{d}f}"
    if re.fullmatch(r"-[0.,]+", s.split(" ")[0]):
        s = ("+" if s.startswith("-") and kind == "bp" else "") + s[1:]  # no "-0.00"
    return f"{s} {unit}" if unit else s


def fmt_column(values: Sequence[Any] | Iterable[Any], kind: str = "num") -> list[str]:
    """Format a column with one number of decimals for all its values.

    ``num``, ``usd`` and ``btc`` pick their decimals from the column's largest magnitude (a column
    of 0.1 and 0.08 shows "0.100" and "0.080", never "0.1" beside "0.08"); integer columns show
    no decimals. Other kinds have fixed decimals and format as :func:`fmt_value`.

    Parameters
    ----------
    values : sequence
        Raw values of one column.
    kind : str
        The column's kind.

    Returns
    -------
    list of str
    """
    values = list(values)
    decimals = None
    if kind in ("num", "usd", "btc", "years"):
        present = [v for v in values if not _isnull(v)]
        nums = [x for x in (_as_float(v) for v in present) if x is not None and math.isfinite(x)]
        if nums and kind in _WHOLE_OK and all(_is_int(v) or float(v).is_integer() for v in present
                                           if _as_float(v) is not None):
            decimals = 0
        elif nums and kind != "years":
            big = max(abs(x) for x in nums)
            small = min((abs(x) for x in nums if x != 0), default=big)
            d_big = _decimals_for(kind, big)
            # two significant digits for the column's smallest value, at most two more decimals
            d_small = 1 - math.floor(math.log10(small)) if small > 0 else d_big
            decimals = max(d_big, min(d_small, d_big + 2))
    return [fmt_value(v, kind, decimals=decimals) for v in values]


def fmt_time(value: Any, with_time: bool = False) -> str:
    """Format a date, timestamp, unix seconds or ISO text in UTC.

    Returns "2024-01-15", or "2024-01-15 12:00 UTC" with ``with_time``; "—" when missing.
    """
    if _isnull(value):
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if not with_time and value.time() == datetime.min.time():
            return value.strftime("%Y-%m-%d")
        with_time = True
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = datetime.fromtimestamp(int(value), tz=UTC)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%d %H:%M UTC") if with_time else value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return fmt_time(value.to_pydatetime(), with_time)
    return str(value)


# -- kinds and labels from names -------------------------------------------------------------

#: Unit token sequences in snake_case names (longest first): tokens → (kind, unit label).
_UNIT_PATTERNS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("usd", "per", "ph", "day"), "usd_ph_day", "USD/PH/day"),
    (("btc", "per", "ph", "day"), "btc_ph_day", "BTC/PH/day"),
    (("usd", "per", "th", "day"), "usd_th_day", "USD/TH/day"),
    (("btc", "per", "th", "day"), "btc_th_day", "BTC/TH/day"),
    (("usd", "per", "kw", "month"), "usd_kw_month", "USD/kW-month"),
    (("usd", "per", "mw", "year"), "usd", "USD/MW-year"),
    (("usd", "per", "mw"), "usd", "USD/MW"),
    (("usd", "per", "kwh"), "usd_kwh", "USD/kWh"),
    (("usd", "per", "btc"), "usd_btc", "USD/BTC"),
    (("usd", "per", "share"), "usd_btc", "USD/share"),
    (("btc", "per", "block"), "btc", "BTC/block"),
    (("usd", "per", "day"), "usd", "USD/day"),
    (("btc", "per", "day"), "btc", "BTC/day"),
    (("mwh", "per", "day"), "mwh", "MWh/day"),
    (("j", "per", "th"), "j_th", "J/TH"),
    (("eh", "days"), "num", "EH/s·day"),
    (("usd", "m"), "num", "million USD"),
    (("ehs",), "ehs", "EH/s"),
    (("phs",), "phs", "PH/s"),
    (("ths",), "ths", "TH/s"),
    (("usd",), "usd", "USD"),
    (("btc",), "btc", "BTC"),
    (("sats",), "sats", "sats"),
    (("pct",), "pct_value", "%"),
    (("pp",), "pct_value", "pp"),
    (("bp",), "bp", "bp"),
    (("mwh",), "mwh", "MWh"),
    (("kwh",), "kwh", "kWh"),
    (("mw",), "mw", "MW"),
    (("kw",), "num", "kW"),
    (("days",), "days", "days"),
    (("hours",), "hours", "h"),
    (("months",), "months", "months"),
    (("years",), "years", "years"),
    (("s",), "seconds", "s"),
    (("h",), "hours", "h"),
)

#: Names (or name stems) of fractions shown as signed percent (returns, changes).
_SIGNED_FRACTIONS = re.compile(
    r"^(return|ret|excess_return.*|.*_return|alpha.*|car|mean_car|ar|"
    r"premium_pct_of_sum_of_parts|premium|premium_pct.*|.*_change_frac)$")
#: Names of fractions shown as a percent level (margins, shares, volatilities, probabilities).
_SHARE_FRACTIONS = re.compile(
    r"^(margin_pct|.*margin|share_under_water|.*_power_share|.*_it_share|online_share|miner_share|"
    r".*_share_of_.*|annual_volatility|volatility.*|vol|"
    r"max_drawdown|.*drawdown|p_(?!value).*|pool_fee|.*_fee_frac|.*tracking_error|irr.*|.*_irr|"
    r"discount_rate|wacc|hit_rate)$")
#: Dimensionless statistics.
_RATIOS = re.compile(
    r"^(beta.*|.*_beta.*|β.*|correlation.*|corr.*|r2.*|r_squared.*|sharpe.*|sortino.*|.*capture.*|"
    r"realization.*|t|z|.*_t|.*_z|peak_z|t_stat.*|.*_tstat|p|.*_p|p_value|.*ratio.*|calmar.*|"
    r"weight)$")
_DATE_NAMES = re.compile(r"^(date|day0|start|end|.*_date|month_start|first_day|last_day|as_of)$")
_TIME_NAMES = re.compile(r"^(.*_time|time|at|generated_utc|.*_at)$")
_INT_NAMES = re.compile(r"^(height.*|.*_height|epoch.*|.*_epoch|n|n_.*|.*_count|"
                        r"count|rows.*|.*_rows|files|seed|horizon_months|epochs|retarget|"
                        r"schema_version|.*_added|.*_read|.*_written|reorgs|events)$")
_DIFFICULTY = re.compile(r"^(difficulty|difficulty_(last|first|start|end|next|prev|q\d\d|mean|median"
                         r"|lo|hi|low|high|after|before|at.*))$")
_SI_NAMES = re.compile(r"^(work.*|.*_work|chainwork.*|hashes.*)$")

#: Words spelled out or capitalised in labels.
_WORDS = {"btc": "BTC", "usd": "USD", "hpc": "HPC", "ai": "AI", "npv": "NPV", "irr": "IRR",
          "sotp": "SOTP", "mw": "MW", "ebitda": "EBITDA", "utc": "UTC", "asic": "ASIC",
          "ehs": "EH/s", "qqq": "QQQ", "wgmi": "WGMI", "capex": "capex", "opex": "opex",
          "it": "IT", "ols": "OLS", "noi": "NOI", "sotp_usd": "SOTP", "pct": "%", "7d": "7-day", "r2": "R²", "vs": "vs"}
#: Unit label in brackets → kind (labels that already carry their unit).
_BRACKET_KINDS = {
    "EH/s": "ehs", "TH/s": "ths", "PH/s": "phs", "USD/PH/day": "usd_ph_day", "BTC/PH/day": "btc_ph_day",
    "USD/TH/day": "usd_th_day", "BTC/TH/day": "btc_th_day", "USD": "usd", "USD/BTC": "usd_btc",
    "BTC": "btc", "BTC/block": "btc", "BTC/day": "btc", "USD/day": "usd", "%": "pct_value",
    "pp": "pct_value", "bp": "bp", "J/TH": "j_th", "USD/kWh": "usd_kwh", "MW": "mw", "MWh": "mwh",
    "days": "days", "h": "hours", "s": "seconds", "blocks": "int", "sats": "sats", "T": "num",
}
_BRACKET = re.compile(r"\[([^\]]+)\]")


def _tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[_\s]+", name.strip().lower()) if t]


def _find_unit(tokens: list[str]) -> tuple[int, int, str, str] | None:
    """(start, end, kind, unit) of the longest unit pattern in ``tokens`` (the last one on ties)."""
    best: tuple[int, int, str, str] | None = None
    for pattern, kind, unit in _UNIT_PATTERNS:
        n = len(pattern)
        for i in range(len(tokens) - n, -1, -1):
            if tuple(tokens[i:i + n]) == pattern:
                if best is None or n > best[1] - best[0]:
                    best = (i, i + n, kind, unit)
                break
        if best is not None and n < best[1] - best[0]:
            break
    return best


def _is_label(name: str) -> bool:
    """Already written for people (spaces, brackets or capitals), not a snake_case field name."""
    return bool(re.search(r"[\s\[\]()/·%²β]|[A-Z]", name))


def infer_kind(name: str) -> str:
    """The kind of a field from its name (its unit is in the name).

    Parameters
    ----------
    name : str
        A snake_case field name (``hashprice_usd_per_ph_day``, ``margin_pct``, ``difficulty``), or a
        label that carries its unit in brackets (``"hashrate [EH/s]"``).

    Returns
    -------
    str
        A kind for :func:`fmt_value`; ``num`` when nothing is known.

    Notes
    -----
    ``*_pct`` fields hold percent points (a difficulty change of -3.9 %), except the fractions
    ``margin_pct`` and ``premium_pct_of_sum_of_parts``. Returns, drawdowns, volatilities,
    margins and shares are fractions shown as percent.

    Examples
    --------
    >>> infer_kind("hashprice_usd_per_ph_day"), infer_kind("margin_pct"), infer_kind("difficulty")
    ('usd_ph_day', 'share', 'difficulty')
    """
    if _is_label(name):
        m = _BRACKET.search(name)
        if m:
            unit = m.group(1).strip()
            if unit in _BRACKET_KINDS:
                return _BRACKET_KINDS[unit]
            if unit.startswith("%"):
                return "pct_value"
            if unit.startswith("UTC"):
                return "text"
            return "num"
        low = name.strip().lower()
        if "(utc)" in low or low.startswith("date") or low.endswith(" day"):
            return "date"
        return "num"
    n = name.strip().lower()
    if n in ("bits", "bits_last", "bits_first") or n.startswith("bits_"):
        return "bits"
    if _SIGNED_FRACTIONS.match(n):
        return "pct"
    if _SHARE_FRACTIONS.match(n):
        return "share"
    if _RATIOS.match(n):
        return "ratio"
    if _DIFFICULTY.match(n):
        return "difficulty"
    if _SI_NAMES.match(n):
        return "si"
    if n == "price_usd" or n.startswith("price_usd_") or n.endswith("_price_usd"):
        return "usd_btc"  # a BTC price: cents matter
    toks = _tokens(n)
    found = _find_unit(toks)
    if found is not None:
        return found[2]
    if _DATE_NAMES.match(n):
        return "date"
    if _TIME_NAMES.match(n):
        return "datetime"
    if _INT_NAMES.match(n):
        return "int"
    return "num"


def unit_of(name: str) -> str:
    """The unit label of a field name ("USD/PH/day" for ``hashprice_usd_per_ph_day``; "" if none)."""
    if _is_label(name):
        m = _BRACKET.search(name)
        return m.group(1).strip() if m else ""
    kind = infer_kind(name)
    if kind in ("pct", "share"):
        return "%"
    if kind in ("ratio", "difficulty", "si", "bits", "date", "datetime", "int", "text", "bool"):
        return ""
    found = _find_unit(_tokens(name))
    return found[3] if found is not None else KIND_UNITS.get(kind, "")


def label(name: str) -> str:
    """A label for people with the unit in brackets, from a snake_case field name.

    Parameters
    ----------
    name : str
        Field name; a name that is already a label (spaces, brackets, capitals) is returned as is.

    Returns
    -------
    str
        E.g. "hashprice [USD/PH/day]" for ``hashprice_usd_per_ph_day``, "margin [%]" for
        ``margin_pct``, "fees [BTC/block]" for ``fees_btc_per_block``.

    Examples
    --------
    >>> label("hashprice_usd_per_ph_day"), label("hashrate_ehs_7d"), label("cash_cost_per_btc_usd")
    ('hashprice [USD/PH/day]', 'hashrate 7-day [EH/s]', 'cash cost per BTC [USD]')
    """
    if _is_label(name):
        return name
    toks = _tokens(name)
    kind = infer_kind(name)
    unit = ""
    if kind in ("pct", "share"):
        unit = "%"
        toks = [t for t in toks if t not in ("pct", "frac")]
    elif kind not in ("ratio", "difficulty", "si", "bits", "date", "datetime", "int"):
        found = _find_unit(toks)
        if found is not None:
            i, j, _, unit = found
            toks = toks[:i] + toks[j:]
            if j - i == 1 and toks[-2:] == ["per", "day"] and unit in ("USD", "BTC", "MWh", "kWh"):
                toks, unit = toks[:-2], f"{unit}/day"
    if not toks:  # the name is its unit: btc_per_day → "BTC/day"
        return unit or name
    text = " ".join(_WORDS.get(t, t) for t in toks)
    return f"{text} [{unit}]" if unit else text
