""""The month in brief": the brief's opening section, written from the numbers of the others.

Nothing here computes a domain number. Each sentence quotes metrics and table cells of the
sections already built for the month (markets, network, miners, AI/HPC), formatted by the same
:func:`~hashdesk.report.palette.fmt_value` as the tables, and names where each number comes from
(``Sentence.refs``: ``"markets.wgmi_return"``, ``"network.shocks"`` …), so a reader can trace
every sentence to a figure in the same document. The events table lists the month's chain,
production and halving events from :meth:`hashdesk.desk.Desk.chain_events`.

A sentence whose numbers are missing (a section without data, a month without a shock) is left
out rather than written with gaps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from hashdesk.report.model import OK, Month, Section, Sentence, guarded, table_from_records
from hashdesk.report.palette import fmt_value

if TYPE_CHECKING:  # pragma: no cover
    from hashdesk.desk import Desk

#: Key and title of the narrative section.
KEY, TITLE = "narrative", "The month in brief"


def _f(value: Any, kind: str) -> str:
    return fmt_value(value, kind, with_unit=True)


def _pct(value: float) -> str:
    """A fraction as an unsigned percentage with one decimal ("26.6%")."""
    return f"{abs(value) * 100:.1f}%"


def _moved(value: float, up: str = "rose", down: str = "fell", digits: int = 1) -> str:
    return f"{up if value >= 0 else down} {abs(value) * 100:.{digits}f}%"


def _has(value: Any) -> bool:
    """False for None and NaN."""
    return value is not None and value == value


def _ok(sections: dict[str, Section], key: str) -> Section | None:
    s = sections.get(key)
    return s if s is not None and s.status == OK else None


def _date(v: Any) -> date | None:
    if v is None:
        return None
    if hasattr(v, "date") and callable(v.date):
        return v.date()
    if isinstance(v, date):
        return v
    return date.fromisoformat(str(v)[:10])


# -- one function per sentence: (sections) -> Sentence | None --------------------------------


def markets_sentence(s: dict[str, Section]) -> Sentence | None:
    """Miners (WGMI) against BTC, and the spread of single names."""
    mk = _ok(s, "markets")
    if mk is None:
        return None
    btc, wgmi, exc = mk.metric("btc_return"), mk.metric("wgmi_return"), mk.metric("wgmi_excess_vs_btc")
    if btc is None or btc.value is None:
        return None
    parts, refs = [], ["markets.btc_return"]
    if wgmi is not None and wgmi.value is not None:
        parts.append(f"Bitcoin miners' ETF WGMI {_moved(wgmi.value)} while BTC {_moved(btc.value)}")
        refs.append("markets.wgmi_return")
        if exc is not None and exc.value is not None:
            parts.append(f"{abs(exc.value) * 100:.2f} percentage points {'behind' if exc.value < 0 else 'ahead of'} "
                         "BTC over the same exchange days")
            refs.append("markets.wgmi_excess_vs_btc")
    else:
        parts.append(f"BTC {_moved(btc.value)}")
    table = mk.table("returns")
    if table is not None:
        rows = [r for r in table.records() if r["ticker"] not in ("BTC-USD", "WGMI", "QQQ", "SPY")
                and _has(r.get("return"))]
        if len(rows) >= 2:
            lo = min(rows, key=lambda r: r["return"])
            hi = max(rows, key=lambda r: r["return"])
            n_down = sum(r["return"] < 0 for r in rows)
            parts.append(f"{n_down} of {len(rows)} listed miners fell, from {_f(hi['return'], 'pct')} "
                         f"({hi['ticker']}) to {_f(lo['return'], 'pct')} ({lo['ticker']})")
            refs.append("markets.returns")
    return Sentence("; ".join(parts) + ".", tuple(refs))


def shock_sentence(s: dict[str, Section]) -> Sentence | None:
    """The largest hashrate shock of the month."""
    net = _ok(s, "network")
    table = net.table("shocks") if net else None
    if table is None or not table.rows:
        return None
    big = max(table.records(), key=lambda r: r.get("depth") or 0)
    return Sentence(
        f"A hashrate shock took {_pct(big['depth'])} of network hashrate ({_f(big['depth_ehs'], 'ehs')} below "
        f"a {_f(big['baseline_ehs'], 'ehs')} baseline) for {big['days']} days, "
        f"{_f(big['start'], 'date')} to {_f(big['end'], 'date')}.",
        ("network.shocks",),
    )


def retarget_sentence(s: dict[str, Section]) -> Sentence | None:
    """The month's retargets, the largest first, dated against the shock."""
    net = _ok(s, "network")
    table = net.table("retargets") if net else None
    if table is None or not table.rows:
        return None
    rows = [r for r in table.records() if r.get("change") is not None]
    if not rows:
        return None
    big = max(rows, key=lambda r: abs(r["change"]))
    text = (f"Difficulty {_moved(big['change'], digits=2)} at the retarget of {_f(big['date'], 'date')} "
            f"(height {_f(big['height'], 'int')})")
    shocks = net.table("shocks")
    if shocks is not None and shocks.rows:
        first = shocks.records()[0]
        d0, d1 = _date(first["start"]), _date(big["date"])
        if d0 and d1 and d1 >= d0:
            text += f", {(d1 - d0).days} days after the shock began"
    others = [r for r in rows if r is not big]
    if others:
        text += "; " + ", ".join(f"{_f(r['change'], 'pct')} on {_f(r['date'], 'date')}" for r in others)
    return Sentence(text + ".", ("network.retargets", *(("network.shocks",) if "days after" in text else ())))


def hashprice_sentence(s: dict[str, Section]) -> Sentence | None:
    """Hashprice at the first and last day of the month."""
    net = _ok(s, "network")
    if net is None:
        return None
    a, b = net.metric("hashprice_usd_first"), net.metric("hashprice_usd_last")
    if a is None or b is None or a.value is None or b.value is None:
        return None
    verb = "fell" if b.value < a.value else "rose"
    return Sentence(
        f"Hashprice {verb} from {a.display} ({a.label.removeprefix('hashprice ')}) to {b.display} "
        f"({b.label.removeprefix('hashprice ')}).",
        ("network.hashprice_usd_first", "network.hashprice_usd_last"),
    )


def next_retarget_sentence(s: dict[str, Section]) -> Sentence | None:
    """Where the epoch stands at month end and the projected next retarget."""
    net = _ok(s, "network")
    if net is None:
        return None
    tip, nxt, chg, when = (net.metric(k) for k in ("tip_height", "next_retarget_height",
                                                    "next_difficulty_change", "retarget_time"))
    if tip is None or nxt is None:
        return None
    text = f"At month end the tip was {tip.display}; the next retarget is at {nxt.display}"
    refs = ["network.tip_height", "network.next_retarget_height"]
    if chg is not None and chg.value is not None:
        text += f", projected at {chg.display} ({chg.note})"
        refs.append("network.next_difficulty_change")
        if when is not None and when.value:
            text += f" around {str(when.value).replace('T', ' ').replace('Z', ' UTC')}"
            refs.append("network.retarget_time")
    return Sentence(text + ".", tuple(refs))


def production_sentence(s: dict[str, Section]) -> Sentence | None:
    """Reported vs expected production, with the verdicts."""
    mi = _ok(s, "miners")
    table = mi.table("production") if mi else None
    if table is None or not table.rows:
        return None
    rows = table.records()
    judged = [r for r in rows if _has(r.get("realization"))]
    parts = [f"{r['ticker']} reported {_f(r['btc_reported'], 'btc')} against {_f(r['btc_expected'], 'btc')} "
             f"expected (realization {_f(r['realization'], 'ratio')}, {r['verdict']})" for r in judged]
    unjudged = sorted(r["ticker"] for r in rows if not _has(r.get("realization")))
    if unjudged:
        parts.append(f"{', '.join(unjudged)} reported no hashrate to judge against")
    if not parts:
        return None
    return Sentence("Production: " + "; ".join(parts) + ".", ("miners.production",))


def halving_sentence(s: dict[str, Section], events: Sequence[dict]) -> Sentence | None:
    """A halving in the month, else the next one and what it does to the example profiles."""
    halvings = [e for e in events if e.get("kind") == "halving"]
    if halvings:
        e = halvings[0]
        desc = str(e["description"])
        return Sentence(f"{desc[:1].upper()}{desc[1:]} came on {_f(e['date'], 'date')}.", ("narrative.events",))
    net, mi = _ok(s, "network"), _ok(s, "miners")
    if net is None:
        return None
    h, sub = net.metric("next_halving_height"), net.metric("subsidy_btc")
    if h is None or sub is None or h.value is None:
        return None
    text = f"The next halving, at height {h.display}, will halve the {sub.display} subsidy"
    refs = ["network.next_halving_height", "network.subsidy_btc"]
    ue = mi.table("unit_economics") if mi else None
    if ue is not None and ue.rows:
        recs = ue.records()
        now = next((r for r in recs if r["case"] == "now"), None)
        after = next((r for r in recs if r["case"] != "now" and r["profile"] == (now or {}).get("profile")), None)
        if now and after:
            text += (f": at the month's average, hashprice would go from {_f(now['hashprice_usd_per_ph_day'], 'usd_ph_day')}"
                     f" to {_f(after['hashprice_usd_per_ph_day'], 'usd_ph_day')} with difficulty, fees and price held")
            refs.append("miners.unit_economics")
    return Sentence(text + ".", tuple(refs))


def hpc_sentence(s: dict[str, Section]) -> Sentence | None:
    """The cohorts by AI/HPC exposure."""
    hpc = _ok(s, "hpc")
    table = hpc.table("cohorts") if hpc else None
    if table is None:
        return None
    rows = [r for r in table.records() if r.get("members") and _has(r.get("return"))]
    if len(rows) < 2:
        return None
    parts = ", ".join(f"{r['cohort']} ({r['members']}) {_f(r['return'], 'pct')}" for r in rows)
    return Sentence(f"By AI/HPC exposure, equal-weight cohorts returned: {parts}.", ("hpc.cohorts",))


SENTENCES: tuple[Callable[[dict[str, Section]], Sentence | None], ...] = (
    markets_sentence, shock_sentence, retarget_sentence, hashprice_sentence, next_retarget_sentence,
    production_sentence,
)


def narrative_section(desk: Desk, month: Month, sections: Sequence[Section],
                      tickers: Sequence[str] = ()) -> Section:
    """"The month in brief": sentences quoting the other sections, and the month's events.

    Parameters
    ----------
    desk : Desk
        For :meth:`~hashdesk.desk.Desk.chain_events` (retargets, halvings, hashrate shocks,
        production reports) in the month.
    month : Month
    sections : sequence of Section
        The month's other sections, already built.
    tickers : sequence of str
        Tickers whose production reports are listed as events (default: the production table's).

    Returns
    -------
    Section
        Key ``narrative``; ``sentences`` with their ``refs``; table ``events``.
    """
    by_key = {x.key: x for x in sections}

    def build() -> Section:
        names = list(tickers)
        mi = by_key.get("miners")
        if not names and mi is not None and mi.table("production") is not None:
            names = [r["ticker"] for r in mi.table("production").records()]
        ev = desk.chain_events(month.start, month.end, names)
        ev = ev[(ev["date"].map(_date) >= month.start) & (ev["date"].map(_date) <= month.end)]
        events = ev.to_dict(orient="records")
        sentences = [f(by_key) for f in SENTENCES]
        sentences.append(halving_sentence(by_key, events))
        sentences.append(hpc_sentence(by_key))
        said = tuple(x for x in sentences if x is not None)
        table = table_from_records(
            "events", "Events of the month", events,
            [("date", "date [UTC]", "date"), ("end_date", "until [UTC]", "date"), ("kind", "kind", "text"),
             ("ticker", "ticker", "text"), ("description", "event", "text")],
            note="retargets, halvings and hashrate shocks from the chain data; production reports as filed",
        )
        note = "" if said else "no section had the numbers to write from"
        return Section(KEY, TITLE, note=note, sentences=said, tables=(table,),
                       sources=("the sections below (each sentence names its figures)",
                                "hashdesk.desk.Desk.chain_events"))

    return guarded(KEY, TITLE, build)
