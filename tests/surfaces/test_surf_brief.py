"""The monthly brief on the reference bundle: sections, formats, numbers, and bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hashdesk.cli import app
from hashdesk.report.brief import brief_to_dict, build_brief, render_brief, write_brief
from hashdesk.report.model import ERROR, OK, Month, section_to_dict
from hashdesk.report.palette import fmt_value, ticker_colour


@pytest.fixture(scope="module")
def jan_brief(bundle_db_path):
    from hashdesk.desk import Desk

    with Desk(bundle_db_path) as desk:
        yield build_brief(desk, "2024-01")


def test_surf_month_parse_and_bounds():
    m = Month.parse("2024-02")
    assert (m.start.isoformat(), m.end.isoformat()) == ("2024-02-01", "2024-02-29")
    for bad in ("2024-13", "2024-1", "24-01", "2024-01-01", "", "1999-01"):
        with pytest.raises(ValueError):
            Month.parse(bad)


def test_surf_formats_as_analysts_quote():
    assert fmt_value(0.0123, "pct", with_unit=True) == "+1.23%"
    assert fmt_value(-0.039, "bp", with_unit=True) == "-390 bp"
    assert fmt_value(512.345, "ehs", with_unit=True) == "512.3 EH/s"
    assert fmt_value(55.123, "usd_ph_day", with_unit=True) == "55.12 USD/PH/day"
    assert fmt_value(None, "ehs") == "—" and fmt_value(float("nan"), "pct") == "—"
    assert fmt_value(1705761155, "datetime") == "2024-01-20 14:32 UTC"
    # one colour per ticker, the same everywhere, case-insensitive
    assert ticker_colour("mara") == ticker_colour("MARA") != ticker_colour("RIOT")
    assert ticker_colour("ZZZZ") == ticker_colour("ZZZZ")


def test_surf_brief_sections_and_no_errors(jan_brief):
    keys = [s.key for s in jan_brief.sections]
    assert keys[0] == "markets" or "network" in keys
    for s in jan_brief.sections:
        assert s.status != ERROR, f"{s.key}: {s.note}"
    assert jan_brief.section("network").status == OK
    with pytest.raises(KeyError):
        jan_brief.section("nope")


def test_surf_network_retargets_in_january_2024(jan_brief):
    net = jan_brief.section("network")
    retargets = next(t for t in net.tables if t.key == "retargets")
    heights = [r[0] for r in retargets.rows]
    assert heights == [824_544, 826_560]
    change = dict(zip(heights, [r[[c.key for c in retargets.columns].index("change")] for r in retargets.rows], strict=True))
    assert change[826_560] == pytest.approx(-0.039, abs=5e-4)  # the storm retarget, -3.9%


def test_surf_json_matches_sections(jan_brief):
    d = json.loads(render_brief(jan_brief, "json"))
    assert d["month"] == "2024-01" and d["period_end"] == "2024-01-31"
    assert [s["key"] for s in d["sections"]] == [s.key for s in jan_brief.sections]
    net = next(s for s in d["sections"] if s["key"] == "network")
    assert net == json.loads(json.dumps(section_to_dict(jan_brief.section("network"))))
    assert brief_to_dict(jan_brief)["timings_s"].keys() == {k for k, _ in jan_brief.timings_s}


def test_surf_html_is_self_contained(jan_brief):
    html = render_brief(jan_brief, "html")
    assert html.startswith("<!DOCTYPE html>")
    # everything inlined: no external script, stylesheet or font
    assert "<script src=" not in html and "<link" not in html and "@import" not in html
    # the library itself is in the file, once, gzip-compressed and base64-encoded
    import base64
    import gzip

    packed = html.split('<script id="plotly-js-gzip" type="application/octet-stream">', 1)[1].split("</script>", 1)[0]
    assert "plotly.js v" in gzip.decompress(base64.b64decode(packed)).decode()[:2000]
    data = html.split('<script id="brief-data" type="application/json">', 1)[1].split("</script>", 1)[0]
    payload = json.loads(data)
    assert payload["month"] == "2024-01"


def test_surf_write_brief_formats(bundle_desk, tmp_path):
    for fmt in ("html", "json", "terminal"):
        out = tmp_path / f"b.{fmt}"
        b = write_brief(bundle_desk, "2024-01", out, fmt)
        assert out.stat().st_size > 500 and str(b.month) == "2024-01"
    assert "Network" in (tmp_path / "b.terminal").read_text()


def test_surf_cli_brief(bundle_db_path, tmp_path):
    runner = CliRunner()
    out = tmp_path / "brief.json"
    r = runner.invoke(app, ["--db", str(bundle_db_path), "brief", "--month", "2024-01", "--format", "json", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["month"] == "2024-01"
    r = runner.invoke(app, ["--db", str(bundle_db_path), "brief", "--month", "2024-1"])
    assert r.exit_code == 2 and "YYYY-MM" in r.output
    r = runner.invoke(app, ["--db", str(tmp_path / "missing.duckdb"), "brief", "--month", "2024-01"])
    assert r.exit_code == 2
    r = runner.invoke(app, ["--db", str(bundle_db_path), "brief", "--month", "2024-01", "--claims", str(tmp_path / "none.yaml")])
    assert r.exit_code == 2 and "no such file" in r.output
