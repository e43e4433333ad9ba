"""JSON API (``/api/v1``): validated parameters in, sections (metrics, tables, figures) out.

Every route calls a section builder from :mod:`hashdesk.report.sections` (the same functions the
brief uses), which calls the domain modules. Parameters are validated here (formats, ranges,
limits); a period with no data gives a 200 with ``status: "no_data"`` and the library's message.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from hashdesk.report import sections as S
from hashdesk.report.model import Month, Section, section_to_dict

router = APIRouter(prefix="/api/v1", tags=["api"])

#: Month shown when a request gives none (the reference bundle's showcase month).
DEFAULT_MONTH = "2024-01"
#: Earliest / latest dates accepted anywhere [UTC].
MIN_DATE, MAX_DATE = date(2009, 1, 3), date(2140, 12, 31)
#: Longest market window a request may ask for [days].
MAX_SPAN_DAYS = 3 * 366

MonthParam = Annotated[
    str,
    Query(pattern=r"^(20[0-9]{2}|21[0-3][0-9]|2140)-(0[1-9]|1[0-2])$", description="UTC calendar month, YYYY-MM"),
]
TickerList = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Za-z0-9.\-]{1,12}(,[A-Za-z0-9.\-]{1,12}){0,19}$",
        description="Comma-separated tickers (at most 20), e.g. MARA,RIOT; default: every ticker in the store",
    ),
]


# -- response models --------------------------------------------------------------------------


class MetricOut(BaseModel):
    key: str
    label: str
    value: float | int | str | bool | None
    unit: str
    kind: str
    display: str
    note: str


class ColumnOut(BaseModel):
    key: str
    label: str = Field(description="column name with its unit")
    kind: str


class TableOut(BaseModel):
    key: str
    title: str
    note: str
    columns: list[ColumnOut]
    rows: list[list[Any]] = Field(description="raw values, one list per row")
    display: list[list[str]] = Field(description="the same rows formatted for people")


class FigureOut(BaseModel):
    key: str
    title: str
    plotly: dict[str, Any] | None = Field(None, description="Plotly figure JSON (data, layout)")


class SectionOut(BaseModel):
    key: str
    title: str
    status: str = Field(description="ok | unavailable | no_data | error")
    note: str
    metrics: list[MetricOut]
    tables: list[TableOut]
    figures: list[FigureOut]
    sources: list[str]


class BriefOut(BaseModel):
    month: str
    period_start: date
    period_end: date
    generated_utc: str
    claims_file: str | None
    sections: list[SectionOut]
    timings_s: dict[str, float]


class HealthOut(BaseModel):
    status: str
    version: str
    schema_version: int
    first_price_date: date | None
    last_price_date: date | None


# -- helpers ----------------------------------------------------------------------------------


def _desk(request: Request):
    return request.app.state.pool.get()


def _month(text: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


def _period(start: date, end: date) -> tuple[date, date]:
    for name, d in (("start", start), ("end", end)):
        if not MIN_DATE <= d <= MAX_DATE:
            raise HTTPException(422, f"{name}: must be within {MIN_DATE}..{MAX_DATE}, got {d}")
    if end < start:
        raise HTTPException(422, f"end ({end}) is before start ({start})")
    if (end - start).days > MAX_SPAN_DAYS:
        raise HTTPException(422, f"period longer than {MAX_SPAN_DAYS} days")
    return start, end


def _tickers(text: str | None) -> tuple[str, ...] | None:
    if not text:
        return None
    out = tuple(dict.fromkeys(t.strip().upper() for t in text.split(",") if t.strip()))
    return out or None


def _out(section: Section) -> dict[str, Any]:
    return section_to_dict(section, include_figures=True)


class PanelCache:
    """Bounded LRU of rendered panel JSON, keyed by route and validated parameters.

    The dashboard opens the store read-only and DuckDB's file lock keeps writers out while it
    runs, so a panel's answer cannot change during the server's life. Each response says
    whether it came from here (``X-Hashdesk-Cache: hit|miss``); concurrent requests for the
    same panel wait for one computation instead of repeating it. The brief CLI never caches.
    """

    def __init__(self, maxsize: int = 128):
        self.maxsize = maxsize
        self._data: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[tuple, threading.Lock] = {}

    def get_or_build(self, key: tuple, build: Callable[[], dict[str, Any]], model: type[BaseModel]) -> Response:
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
                return Response(hit, media_type="application/json", headers={"X-Hashdesk-Cache": "hit"})
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                hit = self._data.get(key)
            if hit is None:
                body = model.model_validate(build()).model_dump_json().encode()
                with self._lock:
                    self._data[key] = body
                    while len(self._data) > self.maxsize:
                        self._data.popitem(last=False)
                    self._key_locks.pop(key, None)
                return Response(body, media_type="application/json", headers={"X-Hashdesk-Cache": "miss"})
        return Response(hit, media_type="application/json", headers={"X-Hashdesk-Cache": "hit"})


def _cached(request: Request, key: tuple, build: Callable[[], dict[str, Any]], model=None) -> Response:
    return request.app.state.panel_cache.get_or_build(key, build, model or SectionOut)


# -- routes -----------------------------------------------------------------------------------


@router.get("/health", response_model=HealthOut, summary="Store status")
def health(request: Request) -> dict[str, Any]:
    from hashdesk.data.network import coverage

    reader = _desk(request).reader(None)
    first, last = coverage(reader)["btc_prices"]
    return {
        "status": "ok",
        "version": __import__("hashdesk").__version__,
        "schema_version": reader.schema_version(),
        "first_price_date": first,
        "last_price_date": last,
    }


@router.get("/network", response_model=SectionOut, summary="Network panel for a month")
def network(request: Request, month: MonthParam = DEFAULT_MONTH) -> Response:
    m = _month(month)
    return _cached(request, ("network", str(m)), lambda: _out(S.network_section(_desk(request), m.start, m.end)))


@router.get("/brief", response_model=BriefOut, summary="The monthly brief (all sections)")
def brief(request: Request, month: MonthParam = DEFAULT_MONTH) -> Response:
    from hashdesk.report.brief import brief_to_dict, build_brief

    m = _month(month)
    return _cached(request, ("brief", str(m)),
                   lambda: brief_to_dict(build_brief(_desk(request), m), include_figures=True), BriefOut)


#: Most scenarios one request may run (keeps a request under a few seconds).
MAX_SCENARIOS = 5000
#: Longest scenario horizon a request may ask for [months].
MAX_HORIZON_MONTHS = 36


def _profile(name: str | None):
    """An example profile by name (never a path): ``examples/profiles/<name>.toml``."""
    if not name:
        return None
    files = {p.stem: p for p in S.example_files("profiles")}
    if name not in files:
        raise HTTPException(422, f"profile: unknown {name!r}; choose one of {sorted(files)}")
    return files[name]


@router.get("/markets", response_model=SectionOut, summary="Markets panel: returns, betas, decoupling")
def markets(
    request: Request,
    start: Annotated[date, Query(description="first return date (UTC)")] = date(2024, 1, 1),
    end: Annotated[date, Query(description="last return date (UTC, inclusive)")] = date(2024, 1, 31),
    tickers: TickerList = None,
    window: Annotated[int, Query(ge=5, le=120, description="decoupling window [exchange days]")] = 20,
    k: Annotated[float, Query(ge=0.5, le=5.0, description="decoupling band [sigmas]")] = 2.0,
) -> Response:
    s, e = _period(start, end)
    names = _tickers(tickers)
    return _cached(request, ("markets", s, e, names, window, k),
                   lambda: _out(S.markets_section(_desk(request), s, e, names, window=window, k=k)))


@router.get("/miners", response_model=SectionOut, summary="Miners panel: production, unit economics, halving")
def miners(request: Request, month: MonthParam = DEFAULT_MONTH) -> Response:
    m = _month(month)
    return _cached(request, ("miners", str(m)), lambda: _out(S.miners_section(_desk(request), m)))


@router.get("/hpc", response_model=SectionOut, summary="AI/HPC panel: cohorts and sum of the parts")
def hpc(request: Request, month: MonthParam = DEFAULT_MONTH) -> Response:
    m = _month(month)
    return _cached(request, ("hpc", str(m)), lambda: _out(S.hpc_section(_desk(request), m.start, m.end)))


@router.get("/scenarios", response_model=SectionOut, summary="Scenarios panel: Monte Carlo fan chart")
def scenarios(
    request: Request,
    at: Annotated[date, Query(description="start state at the end of this UTC day")] = date(2024, 1, 31),
    horizon_months: Annotated[int, Query(ge=1, le=MAX_HORIZON_MONTHS)] = 12,
    scenarios: Annotated[int, Query(ge=100, le=MAX_SCENARIOS)] = 1000,
    seed: Annotated[int, Query(ge=0, le=2**32 - 1)] = 0,
    profile: Annotated[str | None, Query(pattern=r"^[a-z0-9_]{1,64}$", description="example profile name")] = "hosted_1ehs",
    price_model: Annotated[str, Query(pattern=r"^(bootstrap|gbm)$")] = "bootstrap",
) -> Response:
    _period(at, at)
    prof = _profile(profile)
    return _cached(request, ("scenarios", at, horizon_months, scenarios, seed, profile, price_model),
                   lambda: _out(S.scenarios_section(_desk(request), at, horizon_months, scenarios, seed,
                                                    prof, price_model)))


@router.get("/profiles", response_model=list[str], summary="Example miner profiles usable by /scenarios")
def profiles() -> list[str]:
    return sorted(p.stem for p in S.example_files("profiles"))
