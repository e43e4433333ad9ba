"""The brief as an analyst's note: the narrative, one theme, one BTC return, the PDF."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import unicodedata

import pytest

from hashdesk.report.brief import build_brief, save_brief
from hashdesk.report.model import OK
from hashdesk.theme import (
    MIN_TICKER_DELTA_E,
    TEMPLATE,
    TICKER_COLOURS,
    colour_distance,
    delta_e_2000,
    styled,
    ticker_colour,
)


@pytest.fixture(scope="module")
def jan(bundle_db_path):
    from hashdesk.desk import Desk

    with Desk(bundle_db_path) as desk:
        yield build_brief(desk, "2024-01")


# -- palette and theme ------------------------------------------------------------------------


def test_surf_delta_e_2000_reference_pairs():
    """Sharma, Wu & Dalal (2005), Table 1: pairs 1, 7 and 17."""
    assert delta_e_2000((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485)) == pytest.approx(2.0425, abs=1e-4)
    assert delta_e_2000((50.0, 0.0, 0.0), (50.0, -1.0, 2.0)) == pytest.approx(2.3669, abs=1e-4)
    assert delta_e_2000((50.0, 2.5, 0.0), (73.0, 25.0, -18.0)) == pytest.approx(27.1492, abs=1e-4)
    assert colour_distance("#123456", "#123456") == 0.0


def test_surf_ticker_colours_pairwise_distinct():
    """Every pair of ticker colours differs clearly (BTC/BTC-USD are one ticker)."""
    colours = {t: c for t, c in TICKER_COLOURS.items() if t != "BTC"}
    worst = min((colour_distance(a, b), ta, tb) for (ta, a), (tb, b) in itertools.combinations(colours.items(), 2))
    assert worst[0] >= MIN_TICKER_DELTA_E, worst
    # the pairs the issue named: BTC and WULF shared a colour, MARA and QQQ nearly did
    assert colour_distance(ticker_colour("BTC"), ticker_colour("WULF")) > 30
    assert colour_distance(ticker_colour("MARA"), ticker_colour("QQQ")) > 30
    assert ticker_colour("btc-usd") == ticker_colour("BTC") == "#f7931a"


def test_surf_every_brief_chart_uses_the_house_template(jan):
    import plotly.io as pio

    assert TEMPLATE in pio.templates
    figs = [f for s in jan.sections for f in s.figures]
    assert len(figs) >= 6
    for f in figs:
        assert f.figure.layout.template.layout.meta == {"theme": TEMPLATE}, f.key
        for trace in f.figure.data:  # ticker traces carry the ticker's colour
            name = (trace.name or "").split(" ")[0].upper()
            if name in TICKER_COLOURS and trace.type == "scatter":
                assert trace.line.color == TICKER_COLOURS[name], (f.key, name)


def test_surf_marks_stored_unvalidated_are_valid_plotly(jan):
    """Shapes and annotations that ``add_marks`` stores without Plotly's validation (and the
    template and ticker colours ``styled`` sets that way) pass it: each one re-validated, the way
    ``fig.update_layout`` would have, with no error and the same properties."""
    import plotly.graph_objects as go

    from hashdesk.theme import add_marks, vline_shape, vrect_shape

    seen = 0
    for s in jan.sections:
        for f in s.figures:
            layout = f.figure.to_plotly_json()["layout"]
            for shape in layout.get("shapes", []):
                assert go.layout.Shape(**shape).to_plotly_json() == shape, (f.key, shape)
                seen += 1
            for note in layout.get("annotations", []):
                assert go.layout.Annotation(**note).to_plotly_json() == note, (f.key, note)
            go.layout.Template(layout["template"])  # raises on an invalid property
            go.Figure(f.figure.to_plotly_json())  # and the whole figure (traces coloured by styled)
    assert seen >= 3  # retargets on the shock chart, halvings/retargets on the network chart
    fig = add_marks(go.Figure(), [vline_shape(1, dash="dot"), vrect_shape(2, 3, "red", 0.2)])
    assert [(x.type, x.yref) for x in fig.layout.shapes] == [("line", "y domain"), ("rect", "y domain")]


def test_surf_plain_figure_serialises_as_the_validated_one():
    """A figure built from plain dicts without validation (``theme.plain_figure``) writes the same
    JSON as the same figure built with ``add_scatter``/``update_layout``, and validates later edits."""
    import json

    import numpy as np
    import pandas as pd
    import plotly.graph_objects as go
    import pytest

    from hashdesk.market.charts import cumulative_returns_figure

    idx = pd.date_range("2024-01-01", periods=4, tz="UTC")
    paths = {"MARA": pd.Series([0.0, 0.1, -0.05, 0.2], idx), "BTC-USD": pd.Series([0.0, 0.01, 0.02, 0.03], idx)}
    fast = cumulative_returns_figure(paths, "t")
    slow = go.Figure()
    for name, s in paths.items():
        slow.add_scatter(x=s.index, y=100 * s.to_numpy(), mode="lines", name=name)
    slow.update_layout(title="t", xaxis_title="date (UTC)", yaxis_title="cumulative return [%]", hovermode="x unified")
    assert json.loads(fast.to_json()) == json.loads(styled(slow).to_json())
    with pytest.raises(ValueError):
        fast.update_layout(not_a_property=1)
    assert np.allclose(fast.data[0].y, [0, 10, -5, 20])
    # arrays of every kind the charts pass, a Series included (coerced as validation does)
    from hashdesk.theme import plain_figure

    y = pd.Series([1.0, 2.5, np.nan])
    for x in (pd.Series(pd.date_range("2024-01-01", periods=3, tz="UTC")), pd.date_range("2024-01-01", periods=3),
              pd.date_range("2024-01-01", periods=3, tz="UTC"), pd.Series(["a", "b", "c"]), np.arange(3.0),
              ["2024-01", "2024-02", "2024-03"]):
        checked = go.Figure()
        checked.add_scatter(x=x, y=y)
        assert json.loads(plain_figure([{"type": "scatter", "x": x, "y": y}]).to_json())["data"] == \
            json.loads(checked.to_json())["data"], type(x)


def test_surf_chart_modules_style_their_figures():
    """A figure straight from a domain charts module (what --chart writes) has the theme."""
    import pandas as pd

    from hashdesk.market.charts import cumulative_returns_figure

    idx = pd.date_range("2024-01-01", periods=3)
    fig = cumulative_returns_figure({"WULF": pd.Series([0.0, 0.1, 0.2], idx), "BTC-USD": pd.Series([0, .01, .02], idx)})
    assert fig.layout.template.layout.meta == {"theme": TEMPLATE}
    assert [t.line.color for t in fig.data] == [TICKER_COLOURS["WULF"], TICKER_COLOURS["BTC-USD"]]
    assert styled(fig) is fig  # idempotent


# -- one BTC return ---------------------------------------------------------------------------


def test_surf_one_btc_return_per_period(jan):
    """Markets and AI/HPC quote the same BTC return for January 2024 (+0.88%, 00:00 UTC fixings
    of 2023-12-31 and 2024-01-31); the narrative says it."""
    mk = jan.section("markets")
    hpc = jan.section("hpc")
    btc_markets = mk.metric("btc_return").value
    btc_row = next(r for r in mk.table("returns").records() if r["ticker"] == "BTC-USD")["return"]
    btc_hpc = next(r for r in hpc.table("cohorts").records() if r["cohort"] == "BTC-USD")["return"]
    assert btc_markets == btc_row == btc_hpc == hpc.metric("btc_return").value
    assert btc_markets == pytest.approx(0.0088, abs=5e-5)


# -- the narrative ----------------------------------------------------------------------------


def test_surf_narrative_opens_the_brief_with_traceable_sentences(jan):
    assert jan.sections[0].key == "narrative" and jan.sections[0].title == "The month in brief"
    nar = jan.sections[0]
    assert nar.status == OK and len(nar.sentences) >= 6
    text = " ".join(s.text for s in nar.sentences)
    # the numbers of January 2024 (bundle): miners, BTC, the storm, the retarget a week later
    assert "WGMI fell 26.6% while BTC rose 0.9%" in text
    assert "took 17.6% of network hashrate" in text and "for 4 days, 2024-01-14 to 2024-01-17" in text
    assert "Difficulty fell 3.90% at the retarget of 2024-01-20 (height 826,560), 6 days after the shock began" in text
    assert "MARA reported 1,084.0 BTC against 1,162.2 BTC expected (realization 0.933, in line)" in text
    # every sentence names its figures, and each named figure exists in the brief
    for s in nar.sentences:
        assert s.refs, s.text
        for ref in s.refs:
            sec_key, item = ref.split(".", 1)
            sec = jan.section(sec_key)
            item = item.split("/")[0]
            assert sec.metric(item) is not None or sec.table(item) is not None, ref
    # each quoted metric's display text is in the sentence that cites it
    for s in nar.sentences:
        for ref in s.refs:
            sec_key, item = ref.split(".", 1)
            m = jan.section(sec_key).metric(item)
            if m is not None and m.kind in ("usd_ph_day", "int"):
                assert m.display in s.text, (ref, m.display, s.text)
    events = nar.table("events").records()
    kinds = {e["kind"] for e in events}
    assert {"retarget", "hashrate_shock", "production"} <= kinds


def test_surf_narrative_in_a_halving_month(bundle_desk):
    b = build_brief(bundle_desk, "2024-04")
    text = " ".join(s.text for s in b.section("narrative").sentences)
    assert "alving 4 (height 840,000) came on 2024-04-20" in text


def test_surf_narrative_json_and_dashboard_shape(jan):
    from hashdesk.report.brief import brief_to_dict

    d = brief_to_dict(jan)
    nar = d["sections"][0]
    assert nar["key"] == "narrative" and nar["sentences"][0]["refs"]
    net = next(s for s in d["sections"] if s["key"] == "network")
    (p,) = net["progress"]
    assert (p["done"], p["total"]) == (1748, 2016)  # epoch 410 at the end of January 2024
    assert "projected 2024-02-02" in p["detail"] and "90%" in p["detail"]


# -- HTML size and the PDF --------------------------------------------------------------------


def test_surf_html_brief_size_and_one_plotly(jan):
    from hashdesk.report.brief import render_brief

    html = render_brief(jan, "html")
    assert html.count('id="plotly-js-gzip"') == 1 and "<script src=" not in html
    assert len(html.encode()) < 2_500_000  # was 4.9 MB with plotly.js inlined raw
    data = json.loads(html.split('<script id="brief-data" type="application/json">', 1)[1].split("</script>", 1)[0])
    assert list(data["templates"]) == [TEMPLATE]  # one copy of the theme, shared by every chart
    layouts = [f["plotly"]["layout"] for s in data["sections"] for f in s["figures"]]
    assert layouts and all(lay["template"] == TEMPLATE for lay in layouts)


def _pdf_text(path) -> str:
    try:
        from pypdf import PdfReader
    except ImportError:
        if shutil.which("pdftotext") is None:
            pytest.skip("neither pypdf nor pdftotext installed")
        import subprocess

        return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout
    return "\n".join(p.extract_text() or "" for p in PdfReader(str(path)).pages)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


@pytest.mark.browser
def test_surf_pdf_brief_prints_every_table_row(jan, tmp_path):
    """``--format pdf``: every cell of every table row is on the pages (nothing lost to a scroll
    box or the right margin)."""
    if shutil.which("chromium") is None:
        pytest.skip("chromium not installed (apt-get install chromium)")
    out = tmp_path / "brief.pdf"
    save_brief(jan, out, "pdf")
    assert out.read_bytes()[:5] == b"%PDF-"
    text = _squash(_pdf_text(out))
    assert _squash("The month in brief") in text and _squash(jan.sections[0].sentences[0].text[:60]) in text
    missing = []
    for s in jan.sections:
        for t in s.tables:
            for row in t.display_rows():
                for cell in row:
                    if cell not in ("", "—") and _squash(cell) not in text:
                        missing.append((s.key, t.key, cell))
    assert not missing, missing[:10]
    # the 31 days of the daily table, each on paper
    econ = jan.section("network").table("economics")
    assert len(econ.rows) == 31 and all(_squash(r[0]) in text for r in econ.display_rows())


def test_surf_cli_pdf_needs_out(bundle_db_path):
    from typer.testing import CliRunner

    from hashdesk.cli import app

    r = CliRunner().invoke(app, ["--db", str(bundle_db_path), "brief", "--month", "2024-01", "--format", "pdf"])
    assert r.exit_code == 2 and "--out" in r.output


# -- tearsheet views ----------------------------------------------------------------------------


def test_surf_monthly_returns_hand_values():
    import pandas as pd

    from hashdesk.report.tearsheet import monthly_returns

    idx = pd.to_datetime(["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02"])
    r = pd.DataFrame({"A": [0.10, -0.10, 0.05, float("nan")], "B": [float("nan")] * 2 + [0.0, 0.02]}, idx)
    out = monthly_returns(r)
    assert list(out.index) == ["2024-01", "2024-02"]
    assert out.loc["2024-01", "A"] == pytest.approx(1.1 * 0.9 - 1)  # -1%
    assert out.loc["2024-02", "A"] == pytest.approx(0.05)
    assert out.loc["2024-02", "B"] == pytest.approx(0.02) and out["B"].isna().tolist() == [True, False]


def test_surf_underwater_bottom_is_max_drawdown():
    import pandas as pd
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from hashdesk.market.risk import max_drawdown
    from hashdesk.report.tearsheet import underwater

    @given(st.lists(st.floats(-0.5, 0.5), min_size=1, max_size=60))
    @settings(max_examples=60, deadline=None)
    def check(rs):
        s = pd.Series(rs, index=pd.date_range("2024-01-01", periods=len(rs)))
        u = underwater(s)
        assert (u <= 1e-15).all()
        assert u.min() == pytest.approx(max_drawdown(s.to_numpy()), abs=1e-12)

    check()
    s = pd.Series([0.10, -0.20, 0.05], index=pd.date_range("2024-01-01", periods=3))
    assert underwater(s).round(6).tolist() == [0.0, -0.2, -0.16]  # 1.1 → 0.88 → 0.924 vs peak 1.1


def test_surf_tearsheet_views_in_markets(jan):
    mk = jan.section("markets")
    figs = {f.key: f.figure for f in mk.figures}
    assert {"underwater", "monthly_returns", "rolling_beta"} <= set(figs)
    heat = figs["monthly_returns"].data[0]
    row = list(heat.y).index("BTC-USD")
    col = list(heat.x).index("2024-01")
    assert heat.z[row][col] == pytest.approx(100 * mk.metric("btc_return").value)  # one BTC return
    mara = next(r for r in mk.table("returns").records() if r["ticker"] == "MARA")["return"]
    assert heat.z[list(heat.y).index("MARA")][col] == pytest.approx(100 * mara, abs=1e-9)


def test_surf_figures_html_for_chart_files():
    """The page ``--chart`` can write: one compressed plotly.js, the theme, offline."""
    import pandas as pd

    from hashdesk.market.charts import cumulative_returns_figure
    from hashdesk.report.html import figures_html

    idx = pd.date_range("2024-01-01", periods=3)
    html = figures_html(cumulative_returns_figure({"MARA": pd.Series([0.0, 0.1, 0.2], idx)}), "MARA")
    assert html.count('id="plotly-js-gzip"') == 1 and "<script src=" not in html and "<link" not in html
    assert len(html.encode()) < 2_300_000 and '"theme":"hashdesk"' in html
