"""hashdesk: a research desk for bitcoin-mining investors, analysts and miners' finance teams.

``import hashdesk as hd; desk = hd.open()`` opens the store read-only and answers as of any
time (:mod:`hashdesk.desk`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from hashdesk.desk import Desk


def open(path: Any = None, **kwargs: Any) -> Desk:  # noqa: A001 - the API's name
    """Open a :class:`~hashdesk.desk.Desk` on the store (read-only); see :func:`hashdesk.desk.open`."""
    from hashdesk.desk import open as _open

    return _open(path, **kwargs)


__all__ = ["__version__", "open"]
