"""HTML pages: Jinja2 shells whose controls call the JSON API (``/api/v1/...``).

Each page is one form (validated by the API, not here) and a panel the renderer
(``static/hashdesk.js``) fills from the API's JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hashdesk.web.api import DEFAULT_MONTH

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Control:
    """One form field: ``kind`` is an HTML input type or ``select``."""

    name: str
    label: str
    kind: str
    default: str = ""
    options: tuple[str, ...] = ()
    attrs: str = ""


@dataclass(frozen=True)
class Page:
    """A dashboard page: its path, title, API endpoint and controls."""

    key: str
    title: str
    api: str
    blurb: str
    controls: tuple[Control, ...]


_MONTH = Control("month", "month (UTC)", "month", DEFAULT_MONTH, attrs='min="2009-01" max="2140-12" required')

_DATE = 'min="2009-01-01" max="2140-12-31" required'


def _profiles() -> tuple[str, ...]:
    from hashdesk.report.sections import example_files

    return tuple(sorted(p.stem for p in example_files("profiles")))


PAGES: tuple[Page, ...] = (
    Page("network", "Network", "/api/v1/network",
         "Hashrate and shocks, retargets, hashprice, the next retarget and halving for a month.", (_MONTH,)),
    Page("miners", "Miners", "/api/v1/miners",
         "Reported vs expected production, unit economics and halving stance for a month.", (_MONTH,)),
    Page("markets", "Markets", "/api/v1/markets",
         "BTC, each miner, WGMI and QQQ: returns, excess returns, betas and decoupling episodes.",
         (Control("start", "from (UTC)", "date", "2024-01-01", _DATE),
          Control("days", "days", "number", "31", 'min="1" max="1098" required'),
          Control("tickers", "tickers (comma-separated, blank = all)", "text", "",
                  'pattern="[A-Za-z0-9.,\\-]*" maxlength="200"'),
          Control("window", "decoupling window [days]", "number", "20", 'min="5" max="120"'))),
    Page("scenarios", "Scenarios", "/api/v1/scenarios",
         "Monte Carlo of price, hashrate, fees and exact retargets from the state at a date.",
         (Control("at", "start (UTC)", "date", "2024-01-31", _DATE),
          Control("horizon_months", "horizon [months]", "number", "12", 'min="1" max="36"'),
          Control("scenarios", "scenarios", "number", "1000", 'min="100" max="5000" step="100"'),
          Control("seed", "seed", "number", "0", 'min="0"'),
          Control("profile", "miner profile", "select", "hosted_1ehs", _profiles()),
          Control("price_model", "price model", "select", "bootstrap", ("bootstrap", "gbm")))),
    Page("forward", "Forward curve", "/api/v1/forward",
         "Model-implied hashprice forward curve (month averages) and, with a profile, its hedge.",
         (Control("at", "start (UTC)", "date", "2024-01-31", _DATE),
          Control("months", "months", "number", "12", 'min="1" max="36"'),
          Control("scenarios", "scenarios", "number", "10000", 'min="100" max="20000" step="100"'),
          Control("seed", "seed", "number", "0", 'min="0"'),
          Control("profile", "miner profile (hedge)", "select", "", ("", *_profiles())),
          Control("ratio", "hedge ratio", "number", "1", 'min="0" max="2" step="0.05"'))),
    Page("hpc", "AI/HPC", "/api/v1/hpc",
         "Cohort performance (pure-play vs HPC) and each company's sum of the parts.", (_MONTH,)),
    Page("brief", "Brief", "/api/v1/brief", "The monthly sector brief: every section for one month.",
         (_MONTH,)),
)


def _render(request: Request, page: Page) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(
        request, "page.html", {"page": page, "pages": PAGES, "token": request.app.state.token is not None}
    )


def _route(page: Page):
    def view(request: Request) -> HTMLResponse:
        return _render(request, page)

    view.__name__ = f"page_{page.key}"
    return view


for _p in PAGES:
    router.add_api_route(f"/{_p.key}", _route(_p), methods=["GET"], response_class=HTMLResponse)
