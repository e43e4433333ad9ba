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

PAGES: tuple[Page, ...] = (
    Page("network", "Network", "/api/v1/network",
         "Hashrate, retargets, hashprice and the next retarget and halving for a month.", (_MONTH,)),
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
