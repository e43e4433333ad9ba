"""Real-browser checks: Debian's Chromium through Playwright opens every page and the HTML brief.

Screenshots land in ``test-artifacts/`` (git-ignored). Skipped when chromium is not installed.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from datetime import date
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
    pg.wait_for_selector("#panel[data-state='ready'][data-drawn='1']", timeout=60_000)


#: Bounding boxes of each chart's title, legend, x-axis titles and annotations (Plotly's SVG).
_LAYOUT_BOXES = """els => els.map(gd => {
  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const seen = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const all = sel => [...gd.querySelectorAll(sel)].filter(seen);
  return {
    title: all('text.gtitle').map(box),
    legend: all('g.legend').map(box),
    xtitles: all('text').filter(t => /^x\\d*title$/.test(t.getAttribute('class') || '')).map(box),
    annotations: all('g.annotation').map(box),
  };
})"""


def _overlaps(a, b) -> bool:
    return a[0] < b[2] - 1 and b[0] < a[2] - 1 and a[1] < b[3] - 1 and b[1] < a[3] - 1


def _check_layout(pg, name: str) -> None:
    """No chart's legend covers an x-axis title, and no chart title covers a subplot title, an
    annotation or the legend (both happened: a legend a fraction of the plot's height under it, a
    title a fraction of a tall figure's height from the top)."""
    for i, c in enumerate(pg.eval_on_selector_all(".js-plotly-plot", _LAYOUT_BOXES)):
        for leg in c["legend"]:
            bad = [x for x in c["xtitles"] if _overlaps(leg, x)]
            assert not bad, f"{name}: chart {i}: the legend {leg} covers an x-axis title {bad}"
        for t in c["title"]:
            bad = [a for a in c["annotations"] + c["legend"] if _overlaps(t, a)]
            assert not bad, f"{name}: chart {i}: the title {t} covers {bad}"


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
    _check_layout(pg, name)
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


def _wait_precomputed(base: str) -> None:
    import httpx

    deadline = time.monotonic() + 600
    while httpx.get(f"{base}/api/v1/health", timeout=30).json()["work"]["precompute"]["state"] != "done":
        if time.monotonic() > deadline:
            pytest.fail("the dashboard's precompute did not finish")
        time.sleep(0.5)


def test_surf_browser_dashboard_first_load_per_panel(server, browser):
    """Each page's first load in a fresh browser: its panel comes from the precomputed cache
    (``X-Hashdesk-Cache: hit``). The times are recorded (test-artifacts/dashboard-first-load.json)
    and printed, not asserted; ``benchmarks/bench_web.py`` has the figures."""
    from hashdesk.web.pages import PAGES

    _wait_precomputed(server)
    ARTIFACTS.mkdir(exist_ok=True)
    times = {}
    for p in PAGES:
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        pg = ctx.new_page()
        cache = {}
        pg.on("response", lambda r, cache=cache: cache.__setitem__(
            r.url.split("?")[0], r.headers.get("x-hashdesk-cache")) if "/api/v1/" in r.url else None)
        pg.goto(f"{server}/{p.key}")
        _wait_ready(pg)
        got = pg.evaluate("""() => {
            const api = performance.getEntriesByType('resource').find(e => e.name.includes('/api/v1/'));
            const m = n => (performance.getEntriesByName(n)[0] || {}).startTime;
            return {api_ms: api.duration, fetch_to_drawn_ms: m('hd:drawn') - m('hd:fetch'),
                    page_to_drawn_ms: m('hd:drawn')};
        }""")
        assert cache.get(f"{server}{p.api}") == "hit", (p.key, cache)
        times[p.key] = {k: round(v, 1) for k, v in got.items()}
        ctx.close()
    (ARTIFACTS / "dashboard-first-load.json").write_text(json.dumps(times, indent=2))
    print("\nfirst load per panel [ms]:", json.dumps(times))


def _chart_state(pg, key: str) -> dict:
    return pg.eval_on_selector(f".chart[data-key='{key}']", """gd => ({
        range: gd._fullLayout.xaxis.range.slice(), yType: gd._fullLayout.yaxis.type,
        pressed: gd.dataset.range, scale: gd.dataset.yscale})""")


def _days(rng) -> float:
    a, b = (date.fromisoformat(str(x)[:10]) for x in rng)
    return (b - a).days


def test_surf_browser_range_buttons_and_log_scale(server, page):
    page.goto(f"{server}/network?month=2024-01")
    _wait_ready(page)
    key = "hashrate_difficulty"
    full = _chart_state(page, key)
    assert full["pressed"] == "All" and _days(full["range"]) > 100  # the month and 90 days before
    tools = page.locator(f"figure.chartbox[data-key='{key}'] .chart-tools")
    tools.locator("button[data-range='1M']").click()
    page.wait_for_function(f"() => document.querySelector(\".chart[data-key='{key}']\").dataset.range === '1M'")
    one = _chart_state(page, key)
    assert 28 <= _days(one["range"]) <= 31 and one["range"][1][:10] == full["range"][1][:10]
    assert tools.locator("button[data-range='1M']").get_attribute("aria-pressed") == "true"
    tools.locator("button[data-range='3M']").click()
    page.wait_for_function(f"() => document.querySelector(\".chart[data-key='{key}']\").dataset.range === '3M'")
    assert 89 <= _days(_chart_state(page, key)["range"]) <= 92
    tools.locator("button[data-range='All']").click()
    page.wait_for_function(f"() => document.querySelector(\".chart[data-key='{key}']\").dataset.range === 'All'")
    assert _days(_chart_state(page, key)["range"]) == _days(full["range"])
    # log scale: hashrate is positive, so the chart offers it
    tools.locator("input[name=log]").check()
    page.wait_for_function(f"() => document.querySelector(\".chart[data-key='{key}']\").dataset.yscale === 'log'")
    assert _chart_state(page, key)["yType"] == "log"
    tools.locator("input[name=log]").uncheck()
    page.wait_for_function(f"() => document.querySelector(\".chart[data-key='{key}']\").dataset.yscale === 'linear'")
    # the epoch's progress bar with the projected retarget and its interval
    bar = page.locator(".progress[data-key='epoch']")
    assert bar.locator(".pbar").get_attribute("aria-valuenow") == "1748"
    assert "projected 2024-02-02" in bar.inner_text() and "90%" in bar.inner_text()
    page.screenshot(path=str(ARTIFACTS / "page-network-range-1m.png"), full_page=False)


def test_surf_browser_html_brief_opens_with_narrative_and_one_theme(bundle_desk, page, tmp_path):
    from hashdesk.report.brief import write_brief

    out = tmp_path / "brief-2024-01.html"
    write_brief(bundle_desk, "2024-01", out, "html")
    page.goto(out.as_uri())
    _wait_ready(page)
    first = page.eval_on_selector("#panel section.section", "e => e.id")
    assert first == "section-narrative"
    sentences = page.eval_on_selector_all("#section-narrative li.sentence", "els => els.map(e => e.innerText)")
    assert len(sentences) >= 6 and "WGMI fell 26.6% while BTC rose 0.9%" in sentences[0]
    # every reference in the narrative points at an element of the brief
    refs = page.eval_on_selector_all("#section-narrative a.ref", "els => els.map(a => a.getAttribute('href'))")
    assert refs and all(page.locator(r).count() == 1 for r in refs), refs
    themes = page.eval_on_selector_all(".js-plotly-plot", """els => els.map(e => JSON.stringify({
        theme: (e._fullLayout.template.layout.meta || {}).theme, font: e._fullLayout.font.family,
        colorway: e._fullLayout.colorway, paper: e._fullLayout.paper_bgcolor,
        template: JSON.stringify(e._fullLayout.template.layout.xaxis)}))""")
    assert len(themes) >= 6 and len(set(themes)) == 1, set(themes)
    assert json.loads(themes[0])["theme"] == "hashdesk"
    page.screenshot(path=str(ARTIFACTS / "brief-2024-01-top.png"), full_page=False)
