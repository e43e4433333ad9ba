"""JSON API (``/api/v1``): validated parameters in, sections (metrics, tables, figures) out.

Every route calls a section builder from :mod:`hashdesk.report.sections` (the same functions the
brief uses), which calls the domain modules. Parameters are validated here (formats, ranges,
limits); a period with no data gives a 200 with ``status: "no_data"`` and the library's message.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from hashdesk.report import sections as S
from hashdesk.report.model import Month, Section, section_to_dict
from hashdesk.web.work import Job

router = APIRouter(prefix="/api/v1", tags=["api"])

#: Month shown when a request gives none (the reference bundle's showcase month).
DEFAULT_MONTH = "2024-01"
#: Earliest / latest dates accepted anywhere [UTC].
MIN_DATE, MAX_DATE = date(2009, 1, 1), date(2140, 12, 31)
#: Longest market window a request may ask for [days].
MAX_SPAN_DAYS = 3 * 366
#: A UTC date in 2009..2140 (the schema states the server's bounds, so the two agree).
DATE_PATTERN = r"^(2009|20[1-9][0-9]|21[0-3][0-9]|2140)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


def DateParam(description: str):  # noqa: N802 - reads like the Annotated types it builds
    """A ``date`` query parameter bounded to 2009-01-01 .. 2140-12-31 in the schema and the server."""
    return Query(description=f"{description}; 2009-01-01 to 2140-12-31",
                 json_schema_extra={"pattern": DATE_PATTERN})

MonthParam = Annotated[
    str,
    Query(pattern=r"^(2009|20[1-9][0-9]|21[0-3][0-9]|2140)-(0[1-9]|1[0-2])$",
          description="UTC calendar month, YYYY-MM, 2009-01 to 2140-12"),
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


class SentenceOut(BaseModel):
    text: str
    refs: list[str] = Field(description="figures quoted: section.metric_key or section.table_key")


class ProgressOut(BaseModel):
    key: str
    label: str
    done: int
    total: int
    detail: str
    marks: list[list[str]]


class SectionOut(BaseModel):
    key: str
    title: str
    status: str = Field(description="ok | unavailable | no_data | error")
    note: str
    metrics: list[MetricOut]
    tables: list[TableOut]
    figures: list[FigureOut]
    sources: list[str]
    sentences: list[SentenceOut] = []
    progress: list[ProgressOut] = []


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
    work: dict[str, Any] = Field(description="pools (in flight, limit, rejected), cache sizes, precompute progress")


class ErrorOut(BaseModel):
    error: str
    status: int


#: Documented answer of the computing routes when their pool is full.
_BUSY: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorOut, "description": "Busy: the route's pool is full; retry after `Retry-After` seconds",
          "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}},
}


# -- helpers ----------------------------------------------------------------------------------


def _month(text: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


def _period(start: date, end: date) -> tuple[date, date]:
    """Check a period: both ends in 2009..2140, ``end`` not before ``start`` (422 otherwise)."""
    for name, d in (("start", start), ("end", end)):
        if not MIN_DATE <= d <= MAX_DATE:
            raise HTTPException(422, f"{name}: must be within {MIN_DATE}..{MAX_DATE}, got {d}")
    if end < start:
        raise HTTPException(422, f"end ({end}) is before start ({start})")
    if (end - start).days >= MAX_SPAN_DAYS:
        raise HTTPException(422, f"period longer than {MAX_SPAN_DAYS} days")
    return start, end


def period_from_days(start: date, days: int) -> tuple[date, date]:
    """``start`` and ``days`` → the period's first and last day; the last is capped at
    :data:`MAX_DATE` (a period running past it only has no data there)."""
    from datetime import timedelta

    _period(start, start)
    return start, min(start + timedelta(days=days - 1), MAX_DATE)


def _tickers(text: str | None) -> tuple[str, ...] | None:
    if not text:
        return None
    out = tuple(dict.fromkeys(t.strip().upper() for t in text.split(",") if t.strip()))
    return out or None


def _out(section: Section) -> dict[str, Any]:
    return section_to_dict(section, include_figures=True)


def _panel(request: Request, route: str, key: tuple, job: Job, model=None, also=None):
    """Answer a panel from the cache or its route's bounded pool (:class:`hashdesk.web.work.Panels`)."""
    return request.app.state.panels.respond(request, route, key, job, model or SectionOut, also=also)


# -- the computations (module-level, so a worker process can run them: func(desk, **kwargs)) ----


def network_json(desk, month: str) -> dict[str, Any]:
    m = Month.parse(month)
    return _out(S.network_section(desk, m.start, m.end))


def miners_json(desk, month: str) -> dict[str, Any]:
    return _out(S.miners_section(desk, Month.parse(month)))


def hpc_json(desk, month: str) -> dict[str, Any]:
    m = Month.parse(month)
    return _out(S.hpc_section(desk, m.start, m.end))


def markets_json(desk, start: date, end: date, tickers, window: int, k: float) -> dict[str, Any]:
    return _out(S.markets_section(desk, start, end, tickers, window=window, k=k))


def scenarios_json(desk, at: date, horizon_months: int, scenarios: int, seed: int, profile: str | None,
                   price_model: str) -> dict[str, Any]:
    return _out(S.scenarios_section(desk, at, horizon_months, scenarios, seed, _profile(profile), price_model))


def forward_json(desk, at: date, months: int, scenarios: int, seed: int, profile: str | None,
                 ratio: float) -> dict[str, Any]:
    return _out(S.forward_section(desk, at, months, scenarios, seed,
                                  [_profile(profile)] if profile else None, ratio))


def forward_key(at: date, months: int = 12, scenarios: int = S.FORWARD_SCENARIOS, seed: int = 0,
                profile: str | None = None, ratio: float = 1.0) -> tuple:
    """Cache key of a forward panel (the brief's forward section is the default panel of its month end)."""
    return ("forward", at, months, scenarios, seed, profile or None, float(ratio))


def brief_panels(raw: dict[str, Any]) -> list[tuple[str, tuple, bytes]]:
    """The panel answers contained in a brief's JSON (its sections are the panels' sections for
    the brief's month, built by the same builders with the panels' default parameters)."""
    m = Month.parse(raw["month"])
    keys = {
        "network": ("network", str(m)),
        "miners": ("miners", str(m)),
        "hpc": ("hpc", str(m)),
        "markets": ("markets", m.start, m.end, None, 20, 2.0),
    }
    out = []
    for sec in raw["sections"]:
        if sec["key"] in keys and sec.get("status") == "ok":
            out.append(("panel", keys[sec["key"]], SectionOut.model_validate(sec).model_dump_json().encode()))
        elif sec["key"] == "forward" and sec.get("status") == "ok":
            out.append(("scenarios", forward_key(m.end), SectionOut.model_validate(sec).model_dump_json().encode()))
    return out


# -- routes -----------------------------------------------------------------------------------


@router.get("/health", response_model=HealthOut, summary="Store status and the server's work")
async def health(request: Request) -> dict[str, Any]:
    """Answered from memory on the event loop: it never waits behind a computation."""
    facts = request.app.state.store_facts
    return {"status": "ok", "version": __import__("hashdesk").__version__, **facts,
            "work": request.app.state.panels.status()}


def store_facts(desk) -> dict[str, Any]:
    """What health reports about the (read-only, unchanging while served) store."""
    from hashdesk.data.network import coverage

    reader = desk.reader(None)
    first, last = coverage(reader)["btc_prices"]
    return {"schema_version": reader.schema_version(), "first_price_date": first, "last_price_date": last}


@router.get("/network", response_model=SectionOut, summary="Network panel for a month",
            responses=_BUSY)
async def network(request: Request, month: MonthParam = DEFAULT_MONTH) -> Response:
    m = _month(month)
    return await _panel(request, "panel", ("network", str(m)), Job(network_json, {"month": str(m)}))


@router.get("/brief", response_model=BriefOut, summary="The monthly brief (all sections)",
            responses={**_BUSY, 404: {"model": ErrorOut, "description": "no data for the month (says what exists)"}})
async def brief(request: Request, month: MonthParam = DEFAULT_MONTH) -> Response:
    m = _month(month)
    return await _panel(request, "brief", ("brief", str(m)), Job(build_brief_json, {"m": m}),
                        BriefOut, also=brief_panels)


def build_brief_json(desk, m: Month) -> dict[str, Any]:
    """The brief's JSON with figures (what ``/api/v1/brief`` returns); NotFound (404) for a month
    the store has no network state for."""
    from hashdesk.report.brief import BriefError, brief_to_dict, build_brief
    from hashdesk.web.work import NotFound

    try:
        return brief_to_dict(build_brief(desk, m), include_figures=True)
    except BriefError as exc:
        raise NotFound(str(exc)) from None


#: Most scenarios one request may run (keeps a request under a few seconds).
MAX_SCENARIOS = 5000
#: Longest scenario horizon a request may ask for [months].
MAX_HORIZON_MONTHS = 36


def _profile_enum() -> dict[str, Any]:
    """The schema's list of profile names (the example files), so schema and server agree."""
    names = sorted(p.stem for p in S.example_files("profiles"))
    return {"enum": names} if names else {}


def _profile(name: str | None):
    """An example profile by name (never a path): ``examples/profiles/<name>.toml``."""
    if not name:
        return None
    files = {p.stem: p for p in S.example_files("profiles")}
    if name not in files:
        raise HTTPException(422, f"profile: unknown {name!r}; choose one of {sorted(files)}")
    return files[name]


@router.get("/markets", response_model=SectionOut, summary="Markets panel: returns, betas, decoupling",
            responses=_BUSY)
async def markets(
    request: Request,
    start: Annotated[date, DateParam("first day of the period (UTC)")] = date(2024, 1, 1),
    days: Annotated[int, Query(ge=1, le=MAX_SPAN_DAYS,
                               description="length of the period [days], the start included")] = 31,
    tickers: TickerList = None,
    window: Annotated[int, Query(ge=5, le=120, description="decoupling window [exchange days]")] = 20,
    k: Annotated[float, Query(ge=0.5, le=5.0, description="decoupling band [sigmas]")] = 2.0,
) -> Response:
    s, e = period_from_days(start, days)
    names = _tickers(tickers)
    return await _panel(request, "panel", ("markets", s, e, names, window, float(k)),
                        Job(markets_json, {"start": s, "end": e, "tickers": names, "window": window, "k": k}))


@router.get("/miners", response_model=SectionOut, summary="Miners panel: production, unit economics, halving",
            responses=_BUSY)
async def miners(request: Request, month: MonthParam = DEFAULT_MONTH) -> Response:
    m = _month(month)
    return await _panel(request, "panel", ("miners", str(m)), Job(miners_json, {"month": str(m)}))


@router.get("/hpc", response_model=SectionOut, summary="AI/HPC panel: cohorts and sum of the parts",
            responses=_BUSY)
async def hpc(request: Request, month: MonthParam = DEFAULT_MONTH) -> Response:
    m = _month(month)
    return await _panel(request, "panel", ("hpc", str(m)), Job(hpc_json, {"month": str(m)}))


@router.get("/scenarios", response_model=SectionOut, summary="Scenarios panel: Monte Carlo fan chart",
            responses=_BUSY)
async def scenarios(
    request: Request,
    at: Annotated[date, DateParam("start state at the end of this UTC day")] = date(2024, 1, 31),
    horizon_months: Annotated[int, Query(ge=1, le=MAX_HORIZON_MONTHS)] = 12,
    scenarios: Annotated[int, Query(ge=100, le=MAX_SCENARIOS)] = 1000,
    seed: Annotated[int, Query(ge=0, le=2**32 - 1)] = 0,
    profile: Annotated[str | None, Query(pattern=r"^[a-z0-9_]{1,64}$", description="example profile name",
                                         json_schema_extra=_profile_enum())] = "hosted_1ehs",
    price_model: Annotated[str, Query(pattern=r"^(bootstrap|gbm)$")] = "bootstrap",
) -> Response:
    _period(at, at)
    _profile(profile)  # 422 here for an unknown name
    args = {"at": at, "horizon_months": horizon_months, "scenarios": scenarios, "seed": seed, "profile": profile,
            "price_model": price_model}
    return await _panel(request, "scenarios", ("scenarios", *args.values()), Job(scenarios_json, args))


#: Most scenarios one forward request may run (a hedge runs a quarter of them, twice, per profile).
MAX_FORWARD_SCENARIOS = 20_000


@router.get("/forward", response_model=SectionOut,
            summary="Forward curve panel: hashprice forward fan chart, and a profile's hedge", responses=_BUSY)
async def forward(
    request: Request,
    at: Annotated[date, DateParam("start: the end of this UTC day")] = date(2024, 1, 31),
    months: Annotated[int, Query(ge=1, le=MAX_HORIZON_MONTHS, description="months of the curve")] = 12,
    scenarios: Annotated[int, Query(ge=100, le=MAX_FORWARD_SCENARIOS)] = S.FORWARD_SCENARIOS,
    seed: Annotated[int, Query(ge=0, le=2**32 - 1)] = 0,
    profile: Annotated[str | None, Query(pattern=r"^[a-z0-9_]{1,64}$",
                                         description="example profile name: adds its hedge table",
                                         json_schema_extra=_profile_enum())] = None,
    ratio: Annotated[float, Query(ge=0.0, le=2.0, description="share of expected production sold forward")] = 1.0,
) -> Response:
    _period(at, at)
    _profile(profile)  # 422 here for an unknown name
    key = forward_key(at, months, scenarios, seed, profile, ratio)
    args = {"at": at, "months": months, "scenarios": scenarios, "seed": seed, "profile": profile or None,
            "ratio": float(ratio)}
    return await _panel(request, "scenarios", key, Job(forward_json, args))


@router.get("/profiles", response_model=list[str], summary="Example miner profiles usable by /scenarios")
async def profiles() -> list[str]:
    return sorted(p.stem for p in S.example_files("profiles"))


def default_jobs() -> list[tuple]:
    """The panels precomputed at start-up: the default month's brief (which also fills the
    network, markets, miners and AI/HPC panels) and the default scenarios panel, as
    :meth:`hashdesk.web.work.Panels.warm` jobs."""
    m = Month.parse(DEFAULT_MONTH)
    args = {"at": date(2024, 1, 31), "horizon_months": 12, "scenarios": 1000, "seed": 0, "profile": "hosted_1ehs",
            "price_model": "bootstrap"}
    return [
        ("brief", ("brief", str(m)), Job(build_brief_json, {"m": m}), BriefOut, brief_panels),
        ("scenarios", ("scenarios", *args.values()), Job(scenarios_json, args), SectionOut, None),
    ]
