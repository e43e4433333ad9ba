"""The brief as PDF: the HTML brief printed by headless Chromium (print stylesheet, A4 landscape).

Chromium draws the charts and applies ``@media print`` from ``hashdesk.css`` (no screen
furniture, every table row on paper, table headers repeated on each page). The browser is
``$HASHDESK_CHROMIUM``, else the first of ``chromium``, ``chromium-browser``, ``google-chrome``
on ``PATH``; without one, :class:`PdfError` says how to install it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

#: Environment variable naming the Chromium executable.
CHROMIUM_ENV = "HASHDESK_CHROMIUM"
#: Executables tried on PATH, in order.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Page width the charts are drawn at before printing [CSS px] (A4 landscape less 10 mm margins).
PRINT_WIDTH_PX = 1040
#: Longest time given to Chromium to load, draw and print [s].
TIMEOUT_S = 180


class PdfError(RuntimeError):
    """The PDF could not be written (no Chromium, or Chromium failed), said plainly."""


def find_chromium() -> str:
    """Path of the Chromium executable (see the module docstring); PdfError when none."""
    given = os.environ.get(CHROMIUM_ENV)
    if given:
        if not (Path(given).is_file() and os.access(given, os.X_OK)):
            raise PdfError(f"{CHROMIUM_ENV}={given} is not an executable file")
        return given
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise PdfError("--format pdf prints with Chromium, which was not found: install it "
                   f"(Debian: apt-get install chromium) or set {CHROMIUM_ENV} to its path")


def html_to_pdf(html: str, out: str | Path, chromium: str | None = None, timeout_s: float = TIMEOUT_S) -> Path:
    """Print an HTML document to ``out`` with headless Chromium.

    Parameters
    ----------
    html : str
        A self-contained document (the HTML brief: no network needed).
    out : str or Path
        PDF to write (parents created).
    chromium : str, optional
        Browser executable [default: :func:`find_chromium`].
    timeout_s : float
        Limit for Chromium [s].

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    PdfError
        No browser, a browser error, or no PDF written.
    """
    exe = chromium or find_chromium()
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hashdesk-pdf-") as tmp:
        page = Path(tmp) / "brief.html"
        page.write_text(html, encoding="utf-8")
        target = Path(tmp) / "brief.pdf"
        cmd = [
            exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
            "--disable-background-networking", "--disable-component-update", "--disable-extensions",
            f"--user-data-dir={Path(tmp) / 'profile'}", "--no-pdf-header-footer",
            # virtual time: Chromium runs the page's scripts (inflate plotly.js, draw) before printing
            "--virtual-time-budget=60000", "--run-all-compositor-stages-before-draw",
            f"--window-size={PRINT_WIDTH_PX},1400", f"--print-to-pdf={target}", page.as_uri(),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise PdfError(f"Chromium did not finish printing within {timeout_s:g} s") from None
        except OSError as exc:
            raise PdfError(f"cannot run Chromium ({exe}): {exc}") from None
        if not target.is_file() or target.stat().st_size == 0:
            tail = (proc.stderr or "").strip().splitlines()[-3:]
            raise PdfError(f"Chromium wrote no PDF (exit {proc.returncode}): {' | '.join(tail)}")
        shutil.move(str(target), out)
    return out
