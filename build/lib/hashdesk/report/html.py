"""Self-contained HTML brief: one file with plotly.js, the stylesheet, the renderer and the data.

The file opens offline (no CDN, no fonts, no requests). Its tables and charts are drawn by the
same renderer the dashboard uses (``hashdesk/web/static/hashdesk.js``) from the brief's JSON,
which is embedded in the file, so the HTML brief and ``--format json`` carry the same numbers.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

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


def _inline_script(text: str) -> Markup:
    """Script text safe inside ``<script>`` (no premature ``</script>``)."""
    return Markup(text.replace("</script", "<\\/script"))


def render_html(brief: Brief) -> str:
    """Render a brief as one self-contained HTML document (text)."""
    data = brief_to_dict(brief, include_figures=True)
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
        plotly_js=_inline_script(plotly_js()),
        hashdesk_js=_inline_script(static_text("hashdesk.js")),
        data_json=_inline_script(json.dumps(data, separators=(",", ":"))),
    )
