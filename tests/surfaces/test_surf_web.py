"""The dashboard's API and pages in-process: security, validation, JSON errors, schema fuzzing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from hashdesk.web.app import create_app, is_loopback


@pytest.fixture(scope="module")
def app(bundle_db_path):
    return create_app(bundle_db_path, precompute=False)


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_surf_loopback_rule():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.com")


def test_surf_token_required_on_every_request(bundle_db_path):
    with TestClient(create_app(bundle_db_path, token="s3cret")) as c:
        for path in ("/api/v1/health", "/network", "/openapi.json", "/static/hashdesk.js"):
            r = c.get(path)
            assert r.status_code == 401 and r.json()["error"].startswith("missing or wrong token")
        assert c.get("/api/v1/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/api/v1/health", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/api/v1/health?token=s3cret").status_code == 200
        page = c.get("/network?token=s3cret")
        assert page.status_code == 200 and "token=s3cret" in page.text  # nav links keep the token


def test_surf_read_only_and_json_errors(client):
    for method in ("post", "put", "delete", "patch", "options"):
        r = client.request(method.upper(), "/api/v1/health")
        assert r.status_code == 405 and r.json()["error"].startswith("read-only")
        assert r.headers["allow"] == "GET, HEAD"
    r = client.get("/api/v1/nope")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")
    assert "Traceback" not in r.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/network?month=2024-13",
        "/api/v1/network?month=24-01",
        "/api/v1/network?month=2008-12",
        "/api/v1/brief?month=2000-01",
        "/api/v1/markets?start=2024-02-01&days=0",
        "/api/v1/markets?start=2024-01-01&days=1099",
        "/api/v1/markets?start=2008-12-31",
        "/api/v1/scenarios?at=2141-01-01",
        "/api/v1/markets?tickers=MARA;DROP",
        "/api/v1/markets?window=1000",
        "/api/v1/scenarios?scenarios=1000000",
        "/api/v1/scenarios?profile=../../etc/passwd",
        "/api/v1/scenarios?profile=nosuchprofile",
        "/api/v1/scenarios?at=not-a-date",
    ],
)
def test_surf_parameters_validated(client, path):
    r = client.get(path)
    assert r.status_code == 422, r.text
    body = r.json()
    assert set(body) == {"error", "status"} and "Traceback" not in body["error"]


def test_surf_api_matches_brief_sections(client, bundle_desk):
    from hashdesk.report.model import section_to_dict
    from hashdesk.report.sections import network_section

    first = client.get("/api/v1/network?month=2024-01")
    again = client.get("/api/v1/network?month=2024-01")
    assert (first.headers["x-hashdesk-cache"], again.headers["x-hashdesk-cache"]) == ("miss", "hit")
    assert first.content == again.content
    api = first.json()
    lib = section_to_dict(network_section(bundle_desk, *_jan()))
    assert api["status"] == "ok"
    assert api["metrics"] == lib["metrics"]  # the page shows exactly the library's numbers
    assert [f["key"] for f in api["figures"]] == [f["key"] for f in lib["figures"]]
    assert all(f["plotly"]["data"] for f in api["figures"])


def _jan():
    from datetime import date

    return date(2024, 1, 1), date(2024, 1, 31)


def test_surf_pages_and_assets(client):
    from hashdesk.web.pages import PAGES

    for p in PAGES:
        r = client.get(f"/{p.key}")
        assert r.status_code == 200 and p.api in r.text
        assert "cdn" not in r.text.lower()
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and js.text.lstrip().startswith("/**") and len(js.content) > 1_000_000
    assert client.get("/").status_code == 200  # redirect to /network followed


HEAVY = ("/api/v1/brief", "/api/v1/scenarios", "/api/v1/miners")


def test_surf_heavy_operations(client):
    r = client.get("/api/v1/scenarios?scenarios=200&horizon_months=6&profile=hosted_1ehs")
    assert r.status_code == 200 and r.json()["status"] == "ok", r.text[:300]
    fan = r.json()["figures"][0]["plotly"]
    assert fan["data"]
    r = client.get("/api/v1/miners?month=2024-01")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    prod = next(t for t in r.json()["tables"] if t["key"] == "production")
    assert "MARA" in [row[0] for row in prod["rows"]]
    r = client.get("/api/v1/brief?month=2024-02")
    assert r.status_code == 200 and [s["key"] for s in r.json()["sections"]] == ["narrative", "markets", "network",
                                                                                     "miners", "hpc", "forward"]


def _schema(app):
    import schemathesis

    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_surf_openapi_fuzz(app):
    """schemathesis with every built-in check on (its default set: server errors, status codes,
    content types, response schemas and headers, positive data accepted (ST202), negative data
    rejected, ...), positive and negative cases for every operation: 0 failures.

    Bounded: six examples per operation and mode, two for the heavy operations (the brief,
    scenarios, miners: seconds per call). The same run over HTTP with the schemathesis CLI
    (``st run --checks all``, coverage and fuzzing phases) is in docs/surfaces.md.
    """
    from hypothesis import HealthCheck, given, settings
    from schemathesis import GenerationMode

    schema = _schema(app)
    failures: list[str] = []
    ops = 0
    for result in schema.get_all_operations():
        op = result.ok()
        ops += 1
        label = f"{op.method.upper()} {op.path}"
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=op.as_strategy(generation_mode=mode))
            @settings(max_examples=2 if op.path in HEAVY else 6, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def fuzz(case, label=label):
                try:
                    case.call_and_validate()
                except Exception as exc:  # collect every operation's failure, report them together
                    failures.append(f"{label}: {exc}")
                    raise

            try:
                fuzz()
            except Exception:  # noqa: BLE001 - recorded in failures above
                pass
    assert ops >= 8 and not failures, "\n".join(failures[:5])
