"""Self-contained HTML brief: one file with plotly.js, the stylesheet, the renderer and the data.

The file opens offline (no CDN, no fonts, no requests). Its tables and charts are drawn by the
same renderer the dashboard uses (``hashdesk/web/static/hashdesk.js``) from the brief's JSON,
which is embedded in the file, so the HTML brief and ``--format json`` carry the same numbers.

plotly.js is inlined once, gzip-compressed and base64-encoded (4.8 MB → 2.0 MB); the page
inflates it with the browser's ``DecompressionStream`` before drawing. The compressed copy is
kept in the user's cache directory (keyed by the plotly version and the library's digest), so
only the first brief after installing plotly pays the compression. The Plotly template is
stored once in the file and shared by every chart.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

import hashdesk
from hashdesk.report.brief import Brief, brief_to_dict


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("hashdesk.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )


def static_text(name: str) -> str:
    """Text of a packaged dashboard asset (``hashdesk/web/static/<name>``)."""
    return resources.files("hashdesk.web").joinpath("static", name).read_text(encoding="utf-8")


def plotly_js() -> str:
    """plotly.js exactly as shipped in the installed ``plotly`` package (minified)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hashdesk"


@lru_cache(maxsize=1)
def plotly_js_gzip_b64() -> str:
    """plotly.js gzip-compressed (level 9) and base64-encoded, as inlined in the HTML brief.

    Cached in ``$XDG_CACHE_HOME/hashdesk/`` under the library's SHA-256 (an unwritable cache
    directory only costs the compression, ≈ 0.9 s, on every call).
    """
    import plotly

    raw = plotly_js().encode("utf-8")
    digest = hashlib.sha256(raw).hexdigest()[:16]
    path = _cache_dir() / f"plotly-{plotly.__version__}-{digest}.js.gz.b64"
    try:
        return path.read_text(encoding="ascii")
    except OSError:
        pass
    text = base64.b64encode(gzip.compress(raw, 9, mtime=0)).decode("ascii")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(text, encoding="ascii")
        tmp.replace(path)
    except OSError:
        pass
    return text


def _inline_script(text: str) -> Markup:
    """Script text safe inside ``<script>`` (no premature ``</script>``)."""
    return Markup(text.replace("</script", "<\\/script"))


def share_templates(data: dict[str, Any]) -> dict[str, Any]:
    """Move each figure's Plotly template into ``data["templates"]`` (one copy per template name).

    A figure's ``layout.template`` becomes the template's name; the renderer puts the object
    back before drawing. Mutates and returns ``data``.
    """
    templates: dict[str, Any] = data.setdefault("templates", {})
    for sec in data.get("sections", []):
        for fig in sec.get("figures", []):
            layout = (fig.get("plotly") or {}).get("layout") or {}
            tpl = layout.get("template")
            if not isinstance(tpl, dict):
                continue
            name = ((tpl.get("layout") or {}).get("meta") or {}).get("theme")
            if not name:
                continue
            templates.setdefault(name, tpl)
            layout["template"] = name
    return data


def render_html(brief: Brief) -> str:
    """Render a brief as one self-contained HTML document (text)."""
    data = share_templates(brief_to_dict(brief, include_figures=True))
    return _env().get_template("brief.html.j2").render(
        month=str(brief.month),
        month_name=brief.month.start.strftime("%B %Y"),
        period_start=data["period_start"],
        period_end=data["period_end"],
        generated=brief.generated_utc.strftime("%Y-%m-%d %H:%M UTC"),
        sections=brief.sections,
        timings=brief.timings_s,
        version=hashdesk.__version__,
        css=Markup(static_text("hashdesk.css")),
        plotly_gz=Markup(plotly_js_gzip_b64()),
        hashdesk_js=_inline_script(static_text("hashdesk.js")),
        data_json=_inline_script(json.dumps(data, separators=(",", ":"))),
    )


_FIGURES_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{css}</style></head>
<body><main><h1>{title}</h1><div id="panel" data-state="loading"></div></main>
<script id="figures" type="application/json">{data}</script>
<script id="plotly-js-gzip" type="application/octet-stream">{plotly}</script>
<script>{js}</script>
<script>
(function () {{
  var target = document.getElementById("panel");
  var data = JSON.parse(document.getElementById("figures").textContent);
  var bin = atob(document.getElementById("plotly-js-gzip").textContent.trim());
  var bytes = new Uint8Array(bin.length);
  for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).text().then(function (code) {{
    var s = document.createElement("script"); s.textContent = code; document.head.appendChild(s);
    HD.renderSections([{{key: "charts", title: "", status: "ok", note: "", metrics: [], tables: [], sources: [],
                         figures: data}}], target);
    target.setAttribute("data-state", "ready");
  }});
}})();
</script></body></html>
"""


def figures_html(figures, title: str = "hashdesk chart") -> str:
    """One offline HTML page with Plotly figures, plotly.js inlined once (compressed, as in the
    brief), drawn by the dashboard's renderer with its range and log-scale tools.

    Meant for ``--chart FILE``: about 2 MB instead of 4.8 MB per file.

    Parameters
    ----------
    figures : plotly Figure or sequence of them
    title : str
    """
    import plotly.graph_objects as go
    from markupsafe import escape

    from hashdesk.theme import styled

    figs = [figures] if isinstance(figures, go.Figure) else list(figures)
    data = [{"key": f"chart-{i}", "title": "", "plotly": json.loads(styled(f).to_json())}
            for i, f in enumerate(figs)]
    return _FIGURES_PAGE.format(
        title=escape(title), css=static_text("hashdesk.css"), plotly=plotly_js_gzip_b64(),
        js=static_text("hashdesk.js").replace("</script", "<\\/script"),
        data=json.dumps(data, separators=(",", ":")).replace("</script", "<\\/script"),
    )
