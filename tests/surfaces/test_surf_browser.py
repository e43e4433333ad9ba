"""Real-browser checks: Debian's Chromium through Playwright opens every page and the HTML brief.

Screenshots land in ``test-artifacts/`` (git-ignored). Skipped when chromium is not installed.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    exe = shutil.which("chromium")
    if exe is None:
        pytest.skip("chromium not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(bundle_db_path):
    import uvicorn

    from hashdesk.web.app import create_app

    port = _free_port()
    config = uvicorn.Config(create_app(bundle_db_path), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture()
def page(browser):
    ARTIFACTS.mkdir(exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    external: list[str] = []
    pg.on("request", lambda r: external.append(r.url) if not r.url.startswith(("http://127.0.0.1", "file:", "data:", "blob:", "about:")) else None)
    pg.errors, pg.external = errors, external
    yield pg
    ctx.close()


def _charts_with_data(pg) -> list[int]:
    """Number of data traces drawn in each Plotly chart on the page."""
    return pg.eval_on_selector_all(
        ".js-plotly-plot",
        "els => els.map(e => (e.data || []).filter(t => (t.x && t.x.length) || (t.y && t.y.length) || (t.values && t.values.length)).length)",
    )


def _wait_ready(pg) -> None:
    pg.wait_for_selector("#panel[data-state='ready']", timeout=30_000)


def _check_page(pg, name: str) -> dict:
    _wait_ready(pg)
    sections = pg.eval_on_selector_all("section.section", "els => els.map(e => [e.id, e.dataset.status])")
    assert sections, f"{name}: no sections rendered"
    errors = [s for s in sections if s[1] == "error"]
    assert not errors, f"{name}: sections in error {errors}"
    charts = _charts_with_data(pg)
    n_chart_divs = pg.eval_on_selector_all("div.chart", "els => els.length")
    assert len(charts) == n_chart_divs, f"{name}: {n_chart_divs - len(charts)} chart divs not drawn by Plotly"
    assert all(n > 0 for n in charts), f"{name}: a chart has no data traces: {charts}"
    assert not pg.errors, f"{name}: JavaScript errors {pg.errors}"
    assert not pg.external, f"{name}: requests outside loopback {pg.external}"
    return {"sections": sections, "charts": charts}


def test_surf_browser_every_page(server, page):
    from hashdesk.web.pages import PAGES

    for p in PAGES:
        page.goto(f"{server}/{p.key}")
        _check_page(page, p.key)
        page.screenshot(path=str(ARTIFACTS / f"page-{p.key}.png"), full_page=True)


def test_surf_browser_month_change_and_sort(server, page):
    page.goto(f"{server}/network?month=2024-01")
    _wait_ready(page)
    before = page.inner_text("#section-network")
    page.fill("input[name=month]", "2024-04")
    page.click("#apply")
    page.wait_for_function("() => location.search.includes('2024-04')")
    _wait_ready(page)
    after = page.inner_text("#section-network")
    assert before != after
    assert "month=2024-04" in page.url
    # the halving month: the next halving is now 1,050,000
    assert "1,050,000" in after
    page.screenshot(path=str(ARTIFACTS / "page-network-2024-04.png"), full_page=True)
    # sortable tables: clicking a header orders the rows by raw value
    table = page.locator("table.data").first
    if table.count():
        header = table.locator("th").nth(1)
        header.click()
        assert header.get_attribute("aria-sort") == "ascending"
        header.click()
        assert header.get_attribute("aria-sort") == "descending"


def test_surf_browser_html_brief(bundle_desk, page, tmp_path):
    from hashdesk.report.brief import write_brief

    out = tmp_path / "brief-2024-01.html"
    write_brief(bundle_desk, "2024-01", out, "html")
    page.goto(out.as_uri())
    info = _check_page(page, "html brief")
    assert {s[0] for s in info["sections"]} >= {"section-network"}
    page.screenshot(path=str(ARTIFACTS / "brief-2024-01.png"), full_page=True)
