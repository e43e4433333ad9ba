"""The house look of every chart: one Plotly template (``"hashdesk"``) and one colour per ticker.

A shared leaf (no I/O; imports only plotly): the domain ``charts`` modules finish every figure
with :func:`styled`, so a figure written by ``--chart``, drawn on the dashboard or printed in the
brief has the same fonts, axes, grid and ticker colours. The template is registered in
``plotly.io.templates["hashdesk"]`` on import; the process-wide default template is not changed.

Ticker colours are chosen to be told apart: every pair differs by at least
:data:`MIN_TICKER_DELTA_E` in CIEDE2000 (:func:`delta_e_2000`), a difference of about 2 being
just noticeable side by side.
"""

from __future__ import annotations

import marshal
import math
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

#: Name of the registered Plotly template.
TEMPLATE = "hashdesk"

#: Fixed colour per ticker (hex). BTC is bitcoin orange; the benchmarks are black and greys.
TICKER_COLOURS: dict[str, str] = {
    "BTC-USD": "#f7931a",
    "BTC": "#f7931a",
    "MARA": "#1f77b4",
    "RIOT": "#d62728",
    "CLSK": "#2ca02c",
    "CIFR": "#9467bd",
    "HUT": "#000080",
    "BITF": "#fb9a99",
    "IREN": "#17becf",
    "CORZ": "#bcbd22",
    "WULF": "#00441b",
    "BTDR": "#de9ed6",
    "WGMI": "#111111",
    "QQQ": "#b8b8b8",
    "SPY": "#4d4d4d",
}
#: Smallest CIEDE2000 difference between any two colours of :data:`TICKER_COLOURS` [ΔE00].
MIN_TICKER_DELTA_E = 15.0
#: Colours for tickers not in the table, assigned by a stable sum of the name's bytes.
EXTRA_COLOURS = ("#8c564b", "#7b4173", "#637939", "#e7ba52", "#5254a3", "#843c39", "#31a354", "#6b6ecf")
#: Series colours for non-ticker quantities.
SERIES_COLOURS: dict[str, str] = {
    "hashrate": "#1f77b4",
    "difficulty": "#d62728",
    "hashprice": "#2ca02c",
    "price": "#f7931a",
    "fees": "#9467bd",
    "retarget": "#b2182b",
    "halving": "#5e3c99",
    "muted": "#8c8c8c",
}
#: Default trace colours of the template, in order (tickers' colours first).
COLORWAY = ("#1f77b4", "#f7931a", "#2ca02c", "#d62728", "#9467bd", "#17becf", "#bcbd22", "#8c564b",
            "#000080", "#e377c2")
#: Font stack of charts and pages (system fonts only: the files work offline).
FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'


def ticker_colour(ticker: str) -> str:
    """Colour of a ticker, stable across runs and surfaces (case-insensitive).

    Parameters
    ----------
    ticker : str
        e.g. ``"MARA"``, ``"btc-usd"``.

    Returns
    -------
    str
        ``#rrggbb``.
    """
    t = str(ticker).upper()
    if t in TICKER_COLOURS:
        return TICKER_COLOURS[t]
    return EXTRA_COLOURS[sum(t.encode()) % len(EXTRA_COLOURS)]


def srgb_to_lab(colour: str) -> tuple[float, float, float]:
    """CIE L*a*b* (D65 white) of an sRGB ``#rrggbb`` colour.

    Parameters
    ----------
    colour : str
        ``#rrggbb``.

    Returns
    -------
    (L, a, b) : tuple of float
        Lightness [0..100] and the two opponent axes [unitless].

    References
    ----------
    IEC 61966-2-1:1999 (sRGB transfer function and primaries); CIE 15:2004 (L*a*b*).
    """
    h = colour.lstrip("#")
    if len(h) != 6:
        raise ValueError(f"colour must be #rrggbb, got {colour!r}")
    rgb = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def delta_e_2000(lab1: tuple[float, float, float], lab2: tuple[float, float, float]) -> float:
    """CIEDE2000 colour difference of two L*a*b* colours (kL = kC = kH = 1).

    Parameters
    ----------
    lab1, lab2 : tuple of float
        (L, a, b) as from :func:`srgb_to_lab`.

    Returns
    -------
    float
        ΔE00 [unitless]; about 2 is just noticeable side by side.

    References
    ----------
    G. Sharma, W. Wu, E. N. Dalal, "The CIEDE2000 color-difference formula: implementation
    notes, supplementary test data, and mathematical observations", Color Research &
    Application 30(1), 2005, eqs. (1)–(17) and Table 1.
    """
    l1, a1, b1 = lab1
    l2, a2, b2 = lab2
    c_bar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_bar**7 / (c_bar**7 + 25**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dl, dc = l2 - l1, c2p - c1p
    if c1p * c2p == 0:
        dh = 0.0
    else:
        dh = h2p - h1p
        dh = dh - 360 if dh > 180 else dh + 360 if dh < -180 else dh
    dhh = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh) / 2)
    l_bar, cp_bar = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_bar = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_bar = (h1p + h2p) / 2
    else:
        h_bar = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (1 - 0.17 * math.cos(math.radians(h_bar - 30)) + 0.24 * math.cos(math.radians(2 * h_bar))
         + 0.32 * math.cos(math.radians(3 * h_bar + 6)) - 0.20 * math.cos(math.radians(4 * h_bar - 63)))
    d_theta = 30 * math.exp(-(((h_bar - 275) / 25) ** 2))
    rc = 2 * math.sqrt(cp_bar**7 / (cp_bar**7 + 25**7))
    sl = 1 + 0.015 * (l_bar - 50) ** 2 / math.sqrt(20 + (l_bar - 50) ** 2)
    sc = 1 + 0.045 * cp_bar
    sh = 1 + 0.015 * cp_bar * t
    rt = -math.sin(math.radians(2 * d_theta)) * rc
    return math.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (dhh / sh) ** 2 + rt * (dc / sc) * (dhh / sh))


def colour_distance(c1: str, c2: str) -> float:
    """CIEDE2000 difference of two ``#rrggbb`` colours [ΔE00] (:func:`delta_e_2000`)."""
    return delta_e_2000(srgb_to_lab(c1), srgb_to_lab(c2))


def _axis() -> dict[str, Any]:
    return {
        "showgrid": True, "gridcolor": "#e6e9ee", "gridwidth": 1, "zeroline": False,
        "linecolor": "#8c959f", "showline": True, "ticks": "outside", "tickcolor": "#8c959f",
        "ticklen": 4, "automargin": True, "title": {"standoff": 8, "font": {"size": 12}},
        "separatethousands": True, "exponentformat": "none", "hoverformat": ",.4~r",
    }


#: Trace types hashdesk's charts use (the template carries defaults for these only).
TRACE_TYPES: tuple[str, ...] = ("scatter", "scattergl", "bar", "heatmap", "waterfall", "histogram")


#: Gap between a figure's top edge and its title [px].
TITLE_PAD_PX: int = 14


def build_template() -> go.layout.Template:
    """The ``hashdesk`` Plotly template: plotly_white's defaults for the trace types hashdesk
    draws (:data:`TRACE_TYPES`), house fonts, axes and colours.

    Only those trace types are kept: Plotly copies the whole template into every figure that
    sets it, and plotly_white's defaults for all 24 trace types cost about 30 ms a figure.
    """
    base = pio.templates["plotly_white"].data.to_plotly_json()
    tpl = go.layout.Template(data={k: v for k, v in base.items() if k in TRACE_TYPES})
    tpl.layout = go.Layout(
        font={"family": FONT_FAMILY, "size": 12, "color": "#1b1f24"},
        # the title TITLE_PAD_PX under the top at any height (a fraction of a tall figure ran it
        # into the subplot titles)
        title={"font": {"size": 15}, "x": 0.0, "xanchor": "left", "y": 1.0, "yanchor": "top",
               "pad": {"t": TITLE_PAD_PX}},
        paper_bgcolor="#ffffff", plot_bgcolor="#ffffff", colorway=list(COLORWAY),
        xaxis=_axis(), yaxis=_axis(),
        # the legend at the figure's foot in pixels (a fraction of the plot's height under it ran
        # into the x-axis title on short figures and left a gap on tall ones)
        legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0.0, "x": 0,
                "font": {"size": 11}, "bgcolor": "rgba(255,255,255,0)"},
        hoverlabel={"font": {"family": FONT_FAMILY}},
        margin={"l": 64, "r": 24, "t": 56, "b": 56},
        separators=".,",
        meta={"theme": TEMPLATE},
    )
    tpl.layout.annotationdefaults = {"font": {"size": 11}}
    return tpl


pio.templates[TEMPLATE] = build_template()
#: The template as plain JSON, serialised once: ``styled`` gives each figure its own copy without
#: Plotly validating the (already valid) template again, which took ~7 ms a figure.
_TEMPLATE_BLOB = marshal.dumps(pio.templates[TEMPLATE].to_plotly_json())


def vline_shape(x: Any, **line: Any) -> dict[str, Any]:
    """A vertical line across the plot at ``x`` on a single-axes figure, as ``fig.add_vline``
    draws it (``line``: Plotly line properties, e.g. ``dash``, ``width``, ``color``)."""
    return {"type": "line", "xref": "x", "yref": "y domain", "x0": x, "x1": x, "y0": 0, "y1": 1, "line": line}


def vrect_shape(x0: Any, x1: Any, fillcolor: str, opacity: float) -> dict[str, Any]:
    """A shaded band from ``x0`` to ``x1`` across the plot, as ``fig.add_vrect`` draws it."""
    return {"type": "rect", "xref": "x", "yref": "y domain", "x0": x0, "x1": x1, "y0": 0, "y1": 1,
            "fillcolor": fillcolor, "opacity": opacity, "line": {"width": 0}}


def plain_figure(traces: list[dict[str, Any]], layout: dict[str, Any] | None = None) -> go.Figure:
    """A figure from plain dicts of Plotly properties (each trace with its ``type``), built
    without Plotly's property validation: ~10x faster than ``add_scatter`` + ``update_layout``
    for the same JSON (Plotly's encoder writes numpy arrays, pandas Series and indexes as the
    validated path does; a test checks each kind the charts pass, another re-validates every
    figure of the brief whole). Edits after it are validated."""
    fig = go.Figure(data=list(traces), layout=dict(layout or {}), _validate=False)
    # later edits (a caller's update_layout, a notebook user's) are validated as usual
    fig._validate = fig.layout._validate = True
    for trace in fig.data:
        trace._validate = True
    return fig


def add_marks(fig: go.Figure, shapes: list[dict] | tuple = (), annotations: list[dict] | tuple = ()) -> go.Figure:
    """Add shapes and annotations (plain dicts of Plotly properties) in one step; returns ``fig``.

    They are stored without Plotly's property validation, as the template in :func:`styled`
    (``add_vline``/``add_vrect`` one at a time cost ~2 ms each, one validated update ~1 ms a
    shape); the dicts come from :func:`vline_shape`, :func:`vrect_shape` and the chart modules,
    and a test validates every one the brief's charts draw.
    """
    if not (shapes or annotations):
        return fig
    layout = fig.layout
    props = layout._props or {}
    old_shapes, old_notes = list(props.get("shapes", [])), list(props.get("annotations", []))
    layout._validate = False
    try:
        if shapes:
            layout.shapes = [*old_shapes, *shapes]
        if annotations:
            layout.annotations = [*old_notes, *annotations]
    finally:
        layout._validate = fig._validate
    return fig


def styled(fig: go.Figure) -> go.Figure:
    """Give a figure the house look: the ``hashdesk`` template and each ticker's colour.

    Traces named after a ticker (exactly, or ``"MARA ..."``) get that ticker's colour. Returns
    the same figure (mutated), so a builder can end with ``return styled(fig)``.
    """
    for trace in fig.data:
        name = (getattr(trace, "name", None) or "").split(" ")[0].upper()
        if name in TICKER_COLOURS:
            parts = {"scatter": ("line", "marker"), "scattergl": ("line", "marker"), "bar": ("marker",)}
            # a colour string into the trace's own properties, merged and set unvalidated (a
            # validated set cost ~0.3 ms, and the brief colours ~60 traces)
            trace._validate = False
            try:
                for part in parts.get(trace.type, ()):
                    trace[part] = {**(trace._props.get(part) or {}), "color": TICKER_COLOURS[name]}
            finally:
                trace._validate = fig._validate
    layout = fig.layout
    if (layout._props or {}).get("template", {}).get("layout", {}).get("meta") != {"theme": TEMPLATE}:
        # Plotly's own default-template path: the template is valid, so set it unvalidated
        # (BaseFigure._initialize_layout_template does the same for pio.templates.default).
        layout._validate = False
        try:
            layout.template = marshal.loads(_TEMPLATE_BLOB)
        finally:
            layout._validate = fig._validate
    return fig
