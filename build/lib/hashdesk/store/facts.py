"""Company facts: the dated, sourced dataset of miners' capital, fleets, sites and HPC contracts.

The package ships five tidy CSV files under ``hashdesk/facts/`` (see ``docs/facts.md``):

=====================  ==================================  =====================================
file                   table                               natural key
=====================  ==================================  =====================================
``companies.csv``      ``companies``                       ``ticker``
``capital.csv``        ``company_capital``                 ``ticker, as_of, source_url``
``fleet.csv``          ``company_fleet``                   ``ticker, as_of, source_url``
``sites.csv``          ``company_sites``                   ``ticker, site_id, as_of, source_url``
``hpc_contracts.csv``  ``company_hpc_contracts``           ``ticker, contract_id``
=====================  ==================================  =====================================

:func:`read_company_facts` validates every file completely before anything is written and
returns :class:`~hashdesk.store.ingest.FileResult` objects for
:func:`~hashdesk.store.ingest.write_results`. Users may pass their own files (same names and
columns, or directories holding them); they are layered over the shipped files in order, and a
later row replaces an earlier one with the same natural key.

Every row must carry ``public_date`` (the day the fact became public: filing or release date,
not the period end) and an http(s) ``source_url``. ``public_date`` may not lie after the load
day, nor before ``as_of``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from hashdesk.hpc.contracts import TENANT_FUNDS, parse_phases, parse_renewal_options
from hashdesk.store.ingest import (
    Batch,
    FileResult,
    IngestError,
    plain,
    read_csv_strict,
    sha256_file,
)


def _data_line(mask: np.ndarray) -> int | None:
    idx = np.flatnonzero(mask)
    return int(idx[0]) + 2 if len(idx) else None  # the header is line 1


def to_number(df: pd.DataFrame, col: str, name: str, *, integer: bool = False,
              required: bool = True) -> pd.Series:
    """Parse a text column to numbers, raising on the first bad row with file, line and field."""
    s = df[col].astype(str).str.strip()
    empty = s.eq("") | s.eq("nan") | s.eq("None")
    if required and empty.any():
        raise IngestError(name, _data_line(empty.to_numpy()), col, "value is missing")
    num = pd.to_numeric(s.where(~empty, None), errors="coerce")
    bad = num.isna() & ~empty
    if bad.any():
        raise IngestError(name, _data_line(bad.to_numpy()), col, f"not a number: {plain(s[bad].iloc[0])}")
    inf = num.notna() & ~np.isfinite(num.astype("float64"))
    if inf.any():
        raise IngestError(name, _data_line(inf.to_numpy()), col, f"not a finite number: {plain(s[inf].iloc[0])}")
    if integer:
        frac = num.notna() & (num != np.floor(num.fillna(0)))
        if frac.any():
            raise IngestError(name, _data_line(frac.to_numpy()), col, "not an integer")
        return num.astype("Int64")
    return num.astype("float64")


__all__ = [
    "FACT_FILES",
    "FactFile",
    "parse_phases",
    "parse_renewal_options",
    "read_company_facts",
    "shipped_facts_dir",
]

# ---------------------------------------------------------------------------------------------
# schema


@dataclass(frozen=True)
class FactFile:
    """One facts file: its columns, target table and natural key."""

    name: str
    table: str
    columns: tuple[str, ...]
    key: tuple[str, ...]


FACT_FILES: dict[str, FactFile] = {
    f.name: f
    for f in (
        FactFile(
            "companies.csv",
            "companies",
            ("ticker", "name", "exchange", "fiscal_year_end", "pool_fee", "pool_payout", "public_date",
             "source_url", "note"),
            ("ticker",),
        ),
        FactFile(
            "capital.csv",
            "company_capital",
            ("ticker", "as_of", "shares_outstanding", "cash_usd", "debt_usd", "btc_held", "public_date",
             "source_url", "note"),
            ("ticker", "as_of", "source_url"),
        ),
        FactFile(
            "fleet.csv",
            "company_fleet",
            ("ticker", "as_of", "deployed_ehs", "operating_ehs", "efficiency_j_per_th", "public_date",
             "source_url", "note"),
            ("ticker", "as_of", "source_url"),
        ),
        FactFile(
            "sites.csv",
            "company_sites",
            ("ticker", "site_id", "name", "city", "state", "country", "gross_mw", "critical_it_mw",
             "energized_mw", "power_price_usd_per_kwh", "contract_type", "curtailment_programme", "use",
             "as_of", "public_date", "source_url", "note"),
            ("ticker", "site_id", "as_of", "source_url"),
        ),
        FactFile(
            "hpc_contracts.csv",
            "company_hpc_contracts",
            ("ticker", "contract_id", "tenant", "site_id", "critical_it_mw", "total_value_usd", "term_years",
             "start_date", "announced", "tenant_funds_capex", "tenant_capex_usd_per_mw", "renewal_options",
             "phases", "source_url", "note"),
            ("ticker", "contract_id"),
        ),
    )
}

POOL_PAYOUTS = ("fpps", "pps", "own")
CONTRACT_TYPES = ("fixed", "indexed", "ppa", "owned", "hosting", "unknown")
SITE_USES = ("mining", "hpc", "mixed")

# Plausibility bounds (inclusive). A single company's fleet or site beyond these is a unit error.
MAX_EHS = 1_000.0  # the whole network was ~1,000 EH/s in 2025
MAX_SITE_MW = 10_000.0
J_PER_TH_RANGE = (5.0, 200.0)
MAX_POWER_USD_PER_KWH = 1.0
MAX_TERM_YEARS = 50.0
MAX_SHARES = 1e11
MAX_USD = 1e13
MAX_BTC = 21_000_000.0

_TICKER_RE = re.compile(r"[A-Z][A-Z0-9.\-]{0,9}")
_SLUG_RE = re.compile(r"[a-z0-9][a-z0-9\-]{0,79}")
_URL_RE = re.compile(r"https?://[^\s,]+")
_MMDD_RE = re.compile(r"(\d{2})-(\d{2})")
_UNIT_SUFFIX_RE = re.compile(r"[-+]?[0-9][0-9.,]*\s*[A-Za-z$%/]")


# ---------------------------------------------------------------------------------------------
# public helpers


def shipped_facts_dir() -> Path:
    """Directory of the company-facts CSV files shipped inside the package.

    Returns
    -------
    Path
        ``<site-packages>/hashdesk/facts`` (or ``src/hashdesk/facts`` in a checkout), found with
        :mod:`importlib.resources` so that it works from a wheel without a source checkout.
    """
    return Path(str(resources.files("hashdesk").joinpath("facts")))


# ---------------------------------------------------------------------------------------------
# cell checks (each raises IngestError naming file, 1-based line, field)


def _line(i: int) -> int:
    return i + 2  # header is line 1


def _first(mask: np.ndarray | pd.Series) -> int | None:
    idx = np.flatnonzero(np.asarray(mask, dtype=bool))
    return int(idx[0]) if len(idx) else None


def _text(df: pd.DataFrame, col: str) -> pd.Series:
    return df[col].astype(str).str.strip()


def _required(df: pd.DataFrame, col: str, name: str) -> pd.Series:
    s = _text(df, col)
    i = _first(s.eq(""))
    if i is not None:
        raise IngestError(name, _line(i), col, "value is missing")
    return s


def _number(
    df: pd.DataFrame,
    col: str,
    name: str,
    *,
    required: bool = False,
    integer: bool = False,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    unit: str = "",
) -> pd.Series:
    """Parse a numeric column; blank is NULL unless ``required``. Bounds are inclusive unless open."""
    s = _text(df, col)
    numeric = pd.to_numeric(s.where(s.ne(""), None), errors="coerce")
    i = _first(s.ne("") & numeric.isna() & s.str.match(_UNIT_SUFFIX_RE))
    if i is not None:
        raise IngestError(name, _line(i), col, f"unknown unit in {s.iloc[i]!r}: write a bare number in [{unit}]")
    lowered = s.str.lower()
    i = _first(lowered.isin(["nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "na", "n/a",
                             "null", "none"]))
    if i is not None:
        raise IngestError(name, _line(i), col, f"not a finite number: {s.iloc[i]!r}")
    num = to_number(df.assign(**{col: s}), col, name, integer=integer, required=required)
    arr = num.to_numpy(dtype="float64", na_value=np.nan)
    i = _first(np.isinf(arr))
    if i is not None:
        raise IngestError(name, _line(i), col, f"not a finite number: {s.iloc[i]!r}")
    present = ~np.isnan(arr)
    if low is not None:
        bad = present & ((arr <= low) if low_open else (arr < low))
        i = _first(bad)
        if i is not None:
            op = ">" if low_open else ">="
            raise IngestError(name, _line(i), col, f"must be {op} {low:g} [{unit}], got {arr[i]:g}")
    if high is not None:
        bad = present & ((arr >= high) if high_open else (arr > high))
        i = _first(bad)
        if i is not None:
            op = "<" if high_open else "<="
            raise IngestError(name, _line(i), col, f"must be {op} {high:g} [{unit}] (implausible), got {arr[i]:g}")
    return num


def _dates(df: pd.DataFrame, col: str, name: str, *, required: bool = True) -> pd.Series:
    s = _text(df, col)
    empty = s.eq("")
    if required:
        i = _first(empty)
        if i is not None:
            raise IngestError(name, _line(i), col, "value is missing (YYYY-MM-DD)")
    d = pd.to_datetime(s.where(~empty, None), format="%Y-%m-%d", errors="coerce")
    d = d.where(s.str.fullmatch(r"\d{4}-\d{2}-\d{2}"))
    i = _first(d.isna() & ~empty)
    if i is not None:
        raise IngestError(name, _line(i), col, f"not a date (YYYY-MM-DD): {s.iloc[i]!r}")
    return pd.Series([x.date() if pd.notna(x) else None for x in d], index=df.index, dtype=object)


def _enum(df: pd.DataFrame, col: str, name: str, allowed: Sequence[str], *, required: bool) -> pd.Series:
    s = _text(df, col)
    ok = s.isin(list(allowed)) | (s.eq("") & (not required))
    i = _first(~ok)
    if i is not None:
        what = "value is missing" if s.iloc[i] == "" else f"unknown value {s.iloc[i]!r}"
        raise IngestError(name, _line(i), col, f"{what}; allowed: {'|'.join(allowed)}")
    return s.where(s.ne(""), None)


def _pattern(df: pd.DataFrame, col: str, name: str, rx: re.Pattern, what: str, *, required: bool = True) -> pd.Series:
    s = _text(df, col)
    empty = s.eq("")
    if required:
        i = _first(empty)
        if i is not None:
            raise IngestError(name, _line(i), col, "value is missing")
    i = _first(~empty & ~s.apply(lambda v: bool(rx.fullmatch(v))))
    if i is not None:
        raise IngestError(name, _line(i), col, f"{s.iloc[i]!r} is not {what}")
    return s


def _optional_text(df: pd.DataFrame, col: str) -> pd.Series:
    s = _text(df, col)
    return s.where(s.ne(""), None)


def _check_public_date(pub: pd.Series, name: str, load_day: date, col: str = "public_date") -> None:
    i = _first(pub.apply(lambda d: d is not None and d > load_day))
    if i is not None:
        raise IngestError(name, _line(i), col, f"{pub.iloc[i]} is after the load day {load_day}")


def _check_not_before(pub: pd.Series, as_of: pd.Series, name: str, col: str = "public_date", ref: str = "as_of") -> None:
    bad = [p is not None and a is not None and p < a for p, a in zip(pub, as_of, strict=True)]
    i = _first(bad)
    if i is not None:
        raise IngestError(name, _line(i), col, f"{pub.iloc[i]} is before {ref} {as_of.iloc[i]} (a fact cannot be public before its date)")


def _check_unique(df: pd.DataFrame, key: Sequence[str], name: str) -> None:
    keys = df[list(key)].astype(str)
    dup = keys.duplicated(keep="first").to_numpy()
    i = _first(dup)
    if i is not None:
        first = int(np.flatnonzero((keys == keys.iloc[i]).all(axis=1).to_numpy())[0])
        raise IngestError(name, _line(i), ",".join(key),
                          f"duplicate key {tuple(keys.iloc[i])} (first on line {_line(first)})")


def _row_digest(raw: pd.DataFrame) -> list[str]:
    cols = list(raw.columns)
    return [
        hashlib.sha256("\x1f".join(str(v).strip() for v in row).encode("utf-8")).hexdigest()
        for row in raw[cols].itertuples(index=False)
    ]


# ---------------------------------------------------------------------------------------------
# one file


def _parse(ff: FactFile, path: Path, name: str, load_day: date) -> pd.DataFrame:
    """Validate one file and return its typed rows (no cross-file checks)."""
    raw = read_csv_strict(path, ff.columns, name)
    raw = raw.fillna("").astype(str)
    df = raw
    out = pd.DataFrame(index=df.index)
    out["ticker"] = _pattern(df, "ticker", name, _TICKER_RE, "a ticker (upper case, e.g. MARA)")
    url_col = "source_url"
    out[url_col] = _pattern(df, url_col, name, _URL_RE, "an http(s) address")

    if ff.name == "companies.csv":
        out["name"] = _required(df, "name", name)
        out["exchange"] = _optional_text(df, "exchange")
        fye = _text(df, "fiscal_year_end")

        def _mmdd_ok(v: str) -> bool:
            m = _MMDD_RE.fullmatch(v)
            if not m:
                return False
            try:
                date(2000, int(m.group(1)), int(m.group(2)))  # leap year admits 02-29
            except ValueError:
                return False
            return True

        i = _first(fye.ne("") & ~fye.apply(_mmdd_ok))
        if i is not None:
            raise IngestError(name, _line(i), "fiscal_year_end", f"{fye.iloc[i]!r} is not a month-day 'MM-DD'")
        out["fiscal_year_end"] = fye.where(fye.ne(""), None)
        out["pool_fee"] = _number(df, "pool_fee", name, low=0.0, high=1.0, high_open=True, unit="fraction")
        out["pool_payout"] = _enum(df, "pool_payout", name, POOL_PAYOUTS, required=False)
        out["public_date"] = _dates(df, "public_date", name)
    elif ff.name == "capital.csv":
        out["as_of"] = _dates(df, "as_of", name)
        out["shares_outstanding"] = _number(df, "shares_outstanding", name, integer=True, low=0.0, low_open=True,
                                            high=MAX_SHARES, unit="shares")
        out["cash_usd"] = _number(df, "cash_usd", name, low=0.0, high=MAX_USD, unit="USD")
        out["debt_usd"] = _number(df, "debt_usd", name, low=0.0, high=MAX_USD, unit="USD")
        out["btc_held"] = _number(df, "btc_held", name, low=0.0, high=MAX_BTC, unit="BTC")
        out["public_date"] = _dates(df, "public_date", name)
        values = out[["shares_outstanding", "cash_usd", "debt_usd", "btc_held"]].isna().all(axis=1)
        i = _first(values)
        if i is not None:
            raise IngestError(name, _line(i), "shares_outstanding", "row has no figure (shares, cash, debt or BTC)")
    elif ff.name == "fleet.csv":
        out["as_of"] = _dates(df, "as_of", name)
        out["deployed_ehs"] = _number(df, "deployed_ehs", name, low=0.0, high=MAX_EHS, unit="EH/s")
        out["operating_ehs"] = _number(df, "operating_ehs", name, low=0.0, high=MAX_EHS, unit="EH/s")
        out["efficiency_j_per_th"] = _number(df, "efficiency_j_per_th", name, low=J_PER_TH_RANGE[0],
                                             high=J_PER_TH_RANGE[1], unit="J/TH")
        out["public_date"] = _dates(df, "public_date", name)
        i = _first(out[["deployed_ehs", "operating_ehs", "efficiency_j_per_th"]].isna().all(axis=1))
        if i is not None:
            raise IngestError(name, _line(i), "deployed_ehs", "row has no figure (deployed, operating EH/s or J/TH)")
    elif ff.name == "sites.csv":
        out["site_id"] = _pattern(df, "site_id", name, _SLUG_RE, "a slug (a-z, 0-9, '-')")
        out["name"] = _required(df, "name", name)
        for c in ("city", "state", "country"):
            out[c] = _optional_text(df, c)
        for c in ("gross_mw", "critical_it_mw", "energized_mw"):
            out[c] = _number(df, c, name, low=0.0, high=MAX_SITE_MW, unit="MW")
        out["power_price_usd_per_kwh"] = _number(df, "power_price_usd_per_kwh", name, low=0.0,
                                                 high=MAX_POWER_USD_PER_KWH, unit="USD/kWh")
        out["contract_type"] = _enum(df, "contract_type", name, CONTRACT_TYPES, required=True)
        out["curtailment_programme"] = _optional_text(df, "curtailment_programme")
        out["use"] = _enum(df, "use", name, SITE_USES, required=True)
        out["as_of"] = _dates(df, "as_of", name)
        out["public_date"] = _dates(df, "public_date", name)
    elif ff.name == "hpc_contracts.csv":
        out["contract_id"] = _pattern(df, "contract_id", name, _SLUG_RE, "a slug (a-z, 0-9, '-')")
        out["tenant"] = _required(df, "tenant", name)
        sid = _pattern(df, "site_id", name, _SLUG_RE, "a slug (a-z, 0-9, '-')", required=False)
        out["site_id"] = sid.where(sid.ne(""), None)
        out["critical_it_mw"] = _number(df, "critical_it_mw", name, low=0.0, high=MAX_SITE_MW, unit="MW")
        out["total_value_usd"] = _number(df, "total_value_usd", name, low=0.0, high=MAX_USD, unit="USD")
        out["term_years"] = _number(df, "term_years", name, low=0.0, low_open=True, high=MAX_TERM_YEARS, unit="years")
        out["start_date"] = _dates(df, "start_date", name, required=False)
        out["announced"] = _dates(df, "announced", name)
        out["tenant_funds_capex"] = _enum(df, "tenant_funds_capex", name, TENANT_FUNDS, required=True)
        out["tenant_capex_usd_per_mw"] = _number(df, "tenant_capex_usd_per_mw", name, low=0.0, high=MAX_USD,
                                                 unit="USD/MW")
        for col, parser in (("renewal_options", parse_renewal_options), ("phases", parse_phases)):
            s = _text(df, col)
            for i, v in enumerate(s):
                try:
                    parser(v)
                except ValueError as exc:
                    raise IngestError(name, _line(i), col, str(exc)) from exc
            out[col] = s.where(s.ne(""), None)
        for i, (ph, mw) in enumerate(zip(_text(df, "phases"), out["critical_it_mw"], strict=True)):
            if ph and mw is not None and not pd.isna(mw):
                last = parse_phases(ph)[-1][1]
                if last > float(mw) * (1 + 1e-9):
                    raise IngestError(name, _line(i), "phases",
                                      f"cumulative phase MW {last:g} exceed critical_it_mw {float(mw):g}")
        out["public_date"] = out["announced"]
    out["note"] = _optional_text(df, "note")

    pub_col = "announced" if ff.name == "hpc_contracts.csv" else "public_date"
    _check_public_date(out["public_date"], name, load_day, pub_col)
    if "as_of" in out:
        _check_not_before(out["public_date"], out["as_of"], name)
    _check_unique(out, ff.key, name)
    out["row_sha256"] = _row_digest(raw)
    return out


# ---------------------------------------------------------------------------------------------
# layering and cross-file checks


def _expand(paths: Iterable[Path]) -> list[tuple[Path, FactFile]]:
    """Resolve user paths (files or directories) to known fact files, in the order given."""
    found: list[tuple[Path, FactFile]] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            hits = [(p / n, ff) for n, ff in FACT_FILES.items() if (p / n).is_file()]
            if not hits:
                raise IngestError(str(p), None, None, f"directory holds none of {sorted(FACT_FILES)}")
            found.extend(hits)
        elif p.is_file():
            if p.name not in FACT_FILES:
                raise IngestError(str(p), None, None, f"unknown facts file name; expected one of {sorted(FACT_FILES)}")
            found.append((p, FACT_FILES[p.name]))
        else:
            raise IngestError(str(p), None, None, "no such file or directory")
    return found


def read_company_facts(
    paths: list[Path] | None = None,
    load_day: date | None = None,
    *,
    include_shipped: bool = True,
) -> list[FileResult]:
    """Validate company-facts files and return them as batches for :func:`write_results`.

    Nothing is written here: every file is checked completely (columns, units and ranges,
    dates, enums, duplicate keys, non-finite values, cross-file references) before the caller
    writes, so a bad file leaves the store unchanged.

    Parameters
    ----------
    paths : list of Path, optional
        User files (named like the shipped ones, e.g. ``capital.csv``) or directories holding
        any of them. They are layered over the shipped files in the order given: a row whose
        natural key (module docstring) is already present replaces the earlier row; other rows
        are added. ``None`` reads the shipped files only.
    load_day : date, optional
        The day of the load [UTC date]; no ``public_date`` may lie after it. Defaults to today (UTC).
    include_shipped : bool
        Layer over the shipped files (default). ``False`` reads only ``paths``.

    Returns
    -------
    list of FileResult
        One per file read (``source`` = ``company_facts/<file name>``). Each carries one
        :class:`Batch` with the rows of that file that survive the layering, keyed by the natural
        key plus ``row_sha256`` so that re-loading adds nothing and an overriding row is added as
        a new version (see ``docs/facts.md``).

    Raises
    ------
    IngestError
        On the first problem, naming the file, the 1-based line and the field.
    """
    load_day = load_day or datetime.now(UTC).date()
    layers: list[tuple[Path, FactFile, str]] = []
    if include_shipped:
        d = shipped_facts_dir()
        for n, ff in FACT_FILES.items():
            if not (d / n).is_file():
                raise IngestError(f"facts/{n}", None, None, "shipped facts file is missing from the package")
            layers.append((d / n, ff, "shipped"))
    for p, ff in _expand(paths or []):
        layers.append((p, ff, str(p)))
    if not layers:
        raise IngestError("company facts", None, None, "no files to read")

    parsed: list[tuple[Path, FactFile, str, pd.DataFrame]] = []
    for layer, (p, ff, origin) in enumerate(layers):
        name = f"facts/{p.name}" if origin == "shipped" else str(p)
        df = _parse(ff, p, name, load_day)
        df["origin"] = origin
        df["_layer"] = layer
        parsed.append((p, ff, name, df))

    # Layering: per natural key, the row of the last layer wins.
    merged: dict[str, pd.DataFrame] = {}
    for ff in FACT_FILES.values():
        parts = [df for (_p, f, _n, df) in parsed if f.name == ff.name]
        if not parts:
            merged[ff.name] = pd.DataFrame(columns=[*ff.key, "_layer"])
            continue
        allrows = pd.concat(parts, ignore_index=True)
        keep = ~allrows[list(ff.key)].astype(str).duplicated(keep="last")
        merged[ff.name] = allrows[keep.to_numpy()]

    _cross_checks(merged, parsed)

    results: list[FileResult] = []
    for layer, (p, ff, _name, df) in enumerate(parsed):
        mine = merged[ff.name]
        rows = mine[mine["_layer"] == layer].drop(columns=["_layer"]).reset_index(drop=True)
        res = FileResult(f"company_facts/{ff.name}", str(p), sha256_file(p), len(df))
        res.batches.append(Batch(ff.table, [*ff.key, "row_sha256"], rows))
        results.append(res)
    return results


def _cross_checks(merged: dict[str, pd.DataFrame], parsed: list) -> None:
    """Every fact's ticker has a company row; every contract's site_id names a site of that ticker."""
    tickers = set(merged["companies.csv"]["ticker"])
    for fname in ("capital.csv", "fleet.csv", "sites.csv", "hpc_contracts.csv"):
        df = merged[fname]
        if not len(df):
            continue
        for _, r in df.iterrows():
            if r["ticker"] not in tickers:
                raise IngestError(_origin_name(r, fname, parsed), _source_line(r, parsed), "ticker",
                                  f"{r['ticker']!r} has no row in companies.csv")
    sites = merged["sites.csv"]
    known = set(zip(sites["ticker"], sites["site_id"], strict=True)) if len(sites) else set()
    contracts = merged["hpc_contracts.csv"]
    for _, r in contracts.iterrows():
        if isinstance(r["site_id"], str) and (r["ticker"], r["site_id"]) not in known:
            raise IngestError(_origin_name(r, "hpc_contracts.csv", parsed), _source_line(r, parsed), "site_id",
                              f"site {r['site_id']!r} of {r['ticker']} is not in sites.csv")


def _origin_name(row: pd.Series, fname: str, parsed: list) -> str:
    _p, _ff, name, _df = parsed[int(row["_layer"])]
    return name


def _source_line(row: pd.Series, parsed: list) -> int | None:
    _p, ff, _name, df = parsed[int(row["_layer"])]
    keys = df[list(ff.key)].astype(str)
    target = tuple(str(row[k]) for k in ff.key)
    hits = np.flatnonzero((keys == pd.Series(target, index=list(ff.key))).all(axis=1).to_numpy())
    return _line(int(hits[0])) if len(hits) else None
