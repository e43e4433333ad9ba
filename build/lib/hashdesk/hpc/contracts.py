"""HPC/AI contracts: the cells of ``hpc_contracts.csv`` and the arithmetic they feed.

Pure (no I/O, no store): the store's validator (:mod:`hashdesk.store.facts`) and the site models
(:mod:`hashdesk.hpc.sites`) both parse with the functions here, so a cell means the same thing
when it is loaded and when it is valued.

* ``renewal_options`` — ``<count>x<years>y[;…]``: ``2x5y`` = two five-year extensions, each
  exercised at the tenant's choice after the one before (:func:`parse_renewal_options`,
  :func:`renewal_terms_years`, :func:`renewal_exercise_probabilities`).
* ``phases`` — ``YYYY-MM:MW[;…]``, the **cumulative** critical-IT MW in service by each month
  (:func:`parse_phases`); :func:`phase_tranches` turns them into MW increments on the monthly
  valuation grid.
* The lease implied by a contract's total value (:func:`implied_lease_usd_per_kw_month`) and the
  operator's part of the build capex when the tenant funds some of it
  (:func:`operator_capex_usd_per_mw`).

Time grid (shared with :mod:`hashdesk.hpc.valuation`): month ``m = 1..N`` after the valuation day
pays at ``t = m/12`` years. A phase month ``M`` starts paying in grid month
``s = 12·(year(M) − year(d)) + month(M) − month(d)`` for a valuation day ``d``; ``s ≤ 0`` means
the MW were already in service on ``d`` and ``1 − s`` of their lease months have elapsed.

References
----------
.. [1] docs/facts.md (the columns), docs/hpc.md (the valuation formulas).
.. [2] Brealey, Myers & Allen, *Principles of Corporate Finance*, ch. 2 (annuities) and ch. 22
   (real options: an extension is the tenant's option, valued here at a stated probability).
"""

from __future__ import annotations

import datetime as dt
import re

#: Who pays for the build (``hpc_contracts.csv`` ``tenant_funds_capex``).
TENANT_FUNDS: tuple[str, ...] = ("yes", "no", "partial", "unknown")

_RENEWAL_RE = re.compile(r"(\d+)x(\d+(?:\.\d+)?)y")
_PHASE_RE = re.compile(r"(\d{4})-(\d{2}):(\d+(?:\.\d+)?)")


class ContractError(ValueError):
    """A contract cell or term that cannot be used (the message names the field)."""


# ---------------------------------------------------------------------------------------------
# cells


def parse_renewal_options(text: str | None) -> list[tuple[int, float]]:
    """Parse a renewal-options cell such as ``'2x5y'`` or ``'1x5y;1x10y'``.

    Parameters
    ----------
    text : str or None
        ``<count>x<years>y`` terms separated by ``;``; blank means none known.

    Returns
    -------
    list of (int, float)
        ``(count, years)`` per term, e.g. ``[(2, 5.0)]`` for two 5-year extensions [years].

    Raises
    ------
    ValueError
        If a term is not of that form, or count or years is not positive.

    Examples
    --------
    >>> parse_renewal_options("2x5y")
    [(2, 5.0)]
    """
    out: list[tuple[int, float]] = []
    for part in (text or "").split(";"):
        part = part.strip()
        if not part:
            continue
        m = _RENEWAL_RE.fullmatch(part)
        if not m or int(m.group(1)) <= 0 or float(m.group(2)) <= 0:
            raise ValueError(f"renewal option {part!r} is not '<count>x<years>y' with positive numbers")
        out.append((int(m.group(1)), float(m.group(2))))
    return out


def parse_phases(text: str | None) -> list[tuple[str, float]]:
    """Parse a phased-delivery cell such as ``'2027-12:96;2028-06:191'``.

    Each term is CUMULATIVE: the critical-IT MW the contract has in service by that month, so
    the last term is the contracted total and the MW never decrease.

    Parameters
    ----------
    text : str or None
        ``YYYY-MM:MW`` terms separated by ``;``; blank means unknown.

    Returns
    -------
    list of (str, float)
        ``(month, cumulative_critical_it_mw)`` per phase in the order given [month 'YYYY-MM', MW].

    Raises
    ------
    ValueError
        If a term is malformed, its month invalid, months are not increasing, or the cumulative
        MW decrease.

    Examples
    --------
    >>> parse_phases("2027-12:96;2028-06:191")
    [('2027-12', 96.0), ('2028-06', 191.0)]
    """
    out: list[tuple[str, float]] = []
    for part in (text or "").split(";"):
        part = part.strip()
        if not part:
            continue
        m = _PHASE_RE.fullmatch(part)
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"phase {part!r} is not 'YYYY-MM:MW'")
        month = f"{m.group(1)}-{m.group(2)}"
        mw = float(m.group(3))
        if out and month <= out[-1][0]:
            raise ValueError(f"phase months must increase ({out[-1][0]} then {month})")
        if out and mw < out[-1][1]:
            raise ValueError(f"phase MW are cumulative and may not decrease ({out[-1][1]:g} then {mw:g})")
        out.append((month, mw))
    return out


def format_phases(phases: list[tuple[str, float]]) -> str:
    """The cell text of parsed phases (inverse of :func:`parse_phases`).

    Examples
    --------
    >>> format_phases([("2025-06", 100.0), ("2025-12", 200.0)])
    '2025-06:100;2025-12:200'
    """
    return ";".join(f"{m}:{mw:g}" for m, mw in phases)


# ---------------------------------------------------------------------------------------------
# months on the valuation grid


def grid_month(month: str, day: dt.date) -> int:
    """Grid month ``s`` in which calendar month ``'YYYY-MM'`` starts paying, valued on ``day``.

    ``s = 12·(year − day.year) + (month − day.month)``; ``s ≤ 0`` means already in service on
    ``day`` (``1 − s`` lease months elapsed).

    Examples
    --------
    >>> grid_month("2024-07", dt.date(2024, 6, 30)), grid_month("2024-06", dt.date(2024, 6, 30))
    (1, 0)
    """
    y, m = int(month[:4]), int(month[5:7])
    return 12 * (y - day.year) + (m - day.month)


def add_months(month: str, n: int) -> str:
    """``'YYYY-MM'`` plus ``n`` months.

    Examples
    --------
    >>> add_months("2024-06", 12)
    '2025-06'
    """
    y, m = int(month[:4]), int(month[5:7])
    k = y * 12 + (m - 1) + int(n)
    return f"{k // 12:04d}-{k % 12 + 1:02d}"


def phase_tranches(phases: list[tuple[str, float]], day: dt.date) -> list[tuple[int, float]]:
    """MW increments and the grid month each starts paying in.

    Parameters
    ----------
    phases : list of (str, float)
        Cumulative phases (:func:`parse_phases`) [month, MW].
    day : datetime.date
        Valuation day.

    Returns
    -------
    list of (int, float)
        ``(s, delta_mw)``: each phase's added critical-IT MW [MW] and its start month on the grid
        (zero-MW increments dropped).

    Examples
    --------
    >>> phase_tranches([("2024-07", 40.0), ("2025-01", 100.0)], dt.date(2024, 6, 30))
    [(1, 40.0), (7, 60.0)]
    """
    out, prev = [], 0.0
    for month, mw in phases:
        if mw > prev:
            out.append((grid_month(month, day), mw - prev))
        prev = max(prev, mw)
    return out


# ---------------------------------------------------------------------------------------------
# lease, capex, renewals


def implied_lease_usd_per_kw_month(total_value_usd: float, critical_it_mw: float, term_years: float,
                                   escalator_per_year: float = 0.0) -> float:
    """Base lease [USD/kW-month] that earns a contract's total value over its initial term.

    ``total = kW × L0 × Σ_{k=0}^{12·term−1} (1 + esc)^(k // 12)``, solved for ``L0`` (with no
    escalator: ``total / (kW × 12 × term)``). The total is undiscounted revenue as reported.

    Raises
    ------
    ContractError
        When the MW or the term is not positive.

    Examples
    --------
    >>> round(implied_lease_usd_per_kw_month(3.5e9, 200.0, 12.0), 4)
    121.5278
    """
    if not critical_it_mw or critical_it_mw <= 0:
        raise ContractError(f"critical_it_mw must be > 0 to imply a lease, got {critical_it_mw}")
    if not term_years or term_years <= 0:
        raise ContractError(f"term_years must be > 0 to imply a lease, got {term_years}")
    months = int(round(term_years * 12))
    factor = sum((1.0 + escalator_per_year) ** (k // 12) for k in range(months))
    return float(total_value_usd) / (critical_it_mw * 1000.0 * factor)


def operator_capex_usd_per_mw(build_capex_usd_per_mw: float, tenant_funds_capex: str,
                              tenant_capex_usd_per_mw: float | None = None,
                              tenant_capex_share: float | None = None) -> tuple[float, float, str]:
    """Split the build capex [USD per critical-IT MW] between the operator and the tenant.

    Rule (first that applies):

    1. ``tenant_capex_usd_per_mw`` stated: the tenant pays that (at most the build cost), the
       operator the rest;
    2. ``tenant_funds_capex == 'no'``: the operator pays everything;
    3. else the tenant pays ``tenant_capex_share`` of the build cost (an assumption the caller
       must state for ``yes``, ``partial`` and ``unknown``).

    Returns
    -------
    (float, float, str)
        Operator and tenant capex [USD/MW] and the rule applied (text).

    Raises
    ------
    ContractError
        When rule 3 applies and no share is given, or a value is out of range.

    Examples
    --------
    >>> operator_capex_usd_per_mw(9e6, "yes", 6e6)
    (3000000.0, 6000000.0, 'tenant funds 6e+06 USD/MW (stated); operator pays the rest')
    >>> operator_capex_usd_per_mw(9e6, "partial", tenant_capex_share=0.5)[:2]
    (4500000.0, 4500000.0)
    """
    if build_capex_usd_per_mw < 0:
        raise ContractError(f"capex_usd_per_mw must be >= 0, got {build_capex_usd_per_mw}")
    if tenant_funds_capex not in TENANT_FUNDS:
        raise ContractError(f"tenant_funds_capex must be one of {TENANT_FUNDS}, got {tenant_funds_capex!r}")
    if tenant_capex_usd_per_mw is not None:
        if tenant_capex_usd_per_mw < 0:
            raise ContractError(f"tenant_capex_usd_per_mw must be >= 0, got {tenant_capex_usd_per_mw}")
        if tenant_funds_capex == "no" and tenant_capex_usd_per_mw > 0:
            raise ContractError(f"tenant_funds_capex = 'no' contradicts tenant_capex_usd_per_mw = "
                                f"{tenant_capex_usd_per_mw:g}")
        tenant = min(float(tenant_capex_usd_per_mw), float(build_capex_usd_per_mw))
        return (float(build_capex_usd_per_mw) - tenant, tenant,
                f"tenant funds {tenant_capex_usd_per_mw:,.0f} USD/MW (stated); operator pays the rest")
    if tenant_funds_capex == "no":
        return float(build_capex_usd_per_mw), 0.0, "tenant_funds_capex = no: operator pays the build"
    if tenant_capex_share is None:
        raise ContractError(
            f"tenant_funds_capex = {tenant_funds_capex!r} without tenant_capex_usd_per_mw: "
            "state tenant_capex_share (the share of the build cost the tenant pays, 0-1)")
    if not 0.0 <= tenant_capex_share <= 1.0:
        raise ContractError(f"tenant_capex_share must be in [0, 1], got {tenant_capex_share}")
    tenant = float(build_capex_usd_per_mw) * float(tenant_capex_share)
    return (float(build_capex_usd_per_mw) - tenant, tenant,
            f"tenant_funds_capex = {tenant_funds_capex}: tenant pays {tenant_capex_share:g} of the build (assumed share)")


def renewal_terms_years(options: list[tuple[int, float]]) -> list[float]:
    """The extensions in the order they can be exercised [years].

    Examples
    --------
    >>> renewal_terms_years([(2, 5.0)])
    [5.0, 5.0]
    """
    return [float(years) for count, years in options for _ in range(int(count))]


def renewal_exercise_probabilities(n_options: int, probability: float) -> list[float]:
    """Probability that extension ``i = 1..n`` runs: ``p^i`` (each option is exercised with
    probability ``p`` once the one before ran; the first once the initial term ends).

    Examples
    --------
    >>> renewal_exercise_probabilities(2, 0.5)
    [0.5, 0.25]
    """
    if not 0.0 <= probability <= 1.0:
        raise ContractError(f"renewal_probability must be in [0, 1], got {probability}")
    return [float(probability) ** i for i in range(1, int(n_options) + 1)]


__all__ = [
    "TENANT_FUNDS",
    "ContractError",
    "add_months",
    "format_phases",
    "grid_month",
    "implied_lease_usd_per_kw_month",
    "operator_capex_usd_per_mw",
    "parse_phases",
    "parse_renewal_options",
    "phase_tranches",
    "renewal_exercise_probabilities",
    "renewal_terms_years",
]
