"""The hashdesk dashboard: FastAPI + Jinja2 + Plotly, served from the package (no CDN).

* Pages (``/network``, ``/miners``, ``/markets``, ``/scenarios``, ``/hpc``, ``/brief``) are thin
  Jinja2 shells; their content comes from the JSON API under ``/api/v1`` (OpenAPI at
  ``/openapi.json``), which calls the same section builders as ``hashdesk brief``
  (:mod:`hashdesk.report.sections`), which call the domain modules.
* Security: read-only (GET/HEAD only; the store is opened read-only); every parameter is
  validated (dates, months, tickers, windows, limits); no request names a file; errors are JSON
  without stack traces. With a token (``HASHDESK_TOKEN``) every request must carry it as
  ``Authorization: Bearer <token>`` or ``?token=<token>``; ``hashdesk serve`` refuses a
  non-loopback host without one.
"""

from __future__ import annotations

import hmac
import ipaddress
import threading
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

import hashdesk
from hashdesk.data import connect_read_only
from hashdesk.desk import Desk

#: Environment variable holding the dashboard's access token.
TOKEN_ENV = "HASHDESK_TOKEN"
_HERE = Path(__file__).resolve().parent


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def plotly_js_path() -> Path:
    """plotly.min.js inside the installed ``plotly`` package (served as /static/plotly.min.js)."""
    import plotly

    path = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise FileNotFoundError(f"plotly.min.js not found in the plotly package at {path}")
    return path


class DeskPool:
    """One read-only :class:`~hashdesk.desk.Desk` per worker thread over one read-only DuckDB
    connection (a DuckDB cursor is not thread-safe; each thread gets its own)."""

    def __init__(self, db_path: Path):
        self.db_path = Path(db_path)
        self._local = threading.local()
        self._all: list[Desk] = []
        self._lock = threading.Lock()
        # Open now so a missing or locked store fails at start-up, not on the first request.
        self._con = connect_read_only(self.db_path)
        self.get()

    def get(self) -> Desk:
        desk = getattr(self._local, "desk", None)
        if desk is None:
            with self._lock:
                desk = Desk(self.db_path, con=self._con.cursor())
                self._all.append(desk)
            self._local.desk = desk
        return desk

    def close(self) -> None:
        with self._lock:
            for d in self._all:
                d.close()
            self._all.clear()
            self._con.close()


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status)


def create_app(db_path: str | Path, token: str | None = None, precompute: bool = True,
               processes: bool = True) -> FastAPI:
    """Build the dashboard application.

    Parameters
    ----------
    db_path : str or Path
        Existing hashdesk store (opened read-only).
    token : str, optional
        Access token required on every request (Bearer header or ``?token=``); ``None`` means
        no token (loopback use).
    precompute : bool
        At start-up, compute the default panels in a background thread
        (:func:`hashdesk.web.api.default_jobs`), so their first load is a cache hit.
    processes : bool
        Compute uncached panels in worker processes (:mod:`hashdesk.web.work`), so no
        computation holds the server's GIL; ``False`` uses threads (tests of the pools).

    Returns
    -------
    fastapi.FastAPI
    """
    from hashdesk.web import api, pages
    from hashdesk.web.work import Panels

    pool = DeskPool(Path(db_path))
    panels = Panels(processes_db=str(Path(db_path).resolve()) if processes else None, desk_for=pool.get)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        panels.prestart()
        if precompute:
            threading.Thread(target=panels.warm, args=(api.default_jobs(),),
                             name="hashdesk-precompute", daemon=True).start()
        yield
        panels.shutdown()
        pool.close()

    app = FastAPI(
        lifespan=lifespan,
        title="hashdesk API",
        version=hashdesk.__version__,
        description="Read-only JSON API of the hashdesk dashboard: the same library functions as "
        "the CLI. Dates are UTC (YYYY-MM-DD), months YYYY-MM.",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.pool = pool
    app.state.panels = panels
    app.state.store_facts = api.store_facts(pool.get())
    app.state.token = token
    app.state.templates = Jinja2Templates(directory=str(_HERE / "templates"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        resp = _error(exc.status_code, str(exc.detail))
        for k, v in (exc.headers or {}).items():  # e.g. Allow on a 405
            resp.headers[k] = v
        return resp

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        msgs = []
        for e in exc.errors():
            loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("query", "path"))
            msgs.append(f"{loc}: {e.get('msg')}")
        return _error(422, "; ".join(msgs) or "invalid request")

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception):
        return _error(500, f"internal error ({type(exc).__name__})")

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(plotly_js_path(), media_type="application/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")

    @app.get("/", include_in_schema=False)
    def index(request: Request) -> RedirectResponse:
        q = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/network{q}")

    app.include_router(api.router)
    app.include_router(pages.router)
    app.add_middleware(GuardMiddleware, token=token, panels=panels)
    return app


class GuardMiddleware:
    """Pure-ASGI guard on every HTTP request: GET/HEAD only, the token when one is set, an early
    503 for a computing route whose pool is full (:meth:`hashdesk.web.work.Panels.early_busy`),
    and security headers on every response (cheaper than ``BaseHTTPMiddleware``)."""

    def __init__(self, app, token: str | None, panels=None):
        self.app = app
        self.token = token.encode() if token else None
        self.panels = panels

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["method"] not in ("GET", "HEAD"):
            resp = _error(405, "read-only: only GET and HEAD are allowed")
            resp.headers["Allow"] = "GET, HEAD"
            return await resp(scope, receive, send)
        if self.token is not None and not self._authorised(scope):
            return await _error(401, "missing or wrong token (Authorization: Bearer … or ?token=…)")(
                scope, receive, send)
        if self.panels is not None:  # a full pool answers 503 before any routing or validation
            busy = self.panels.early_busy(scope["path"], scope.get("query_string", b""))
            if busy is not None:
                from hashdesk.web.work import busy_response

                return await busy_response(busy)(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-content-type-options", b"nosniff"),
                                      (b"referrer-policy", b"no-referrer")]
            await send(message)

        return await self.app(scope, receive, send_with_headers)

    def _authorised(self, scope) -> bool:
        from urllib.parse import parse_qs

        given = None
        for k, v in scope.get("headers", ()):
            if k == b"authorization" and v[:7].lower() == b"bearer ":
                given = v[7:].strip()
        if given is None:
            q = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
            given = q[0].encode() if q else None
        return given is not None and hmac.compare_digest(given, self.token)
