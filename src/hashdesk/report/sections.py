"""Section builders: each calls library functions and returns a :class:`~hashdesk.report.model.Section`.

The brief assembles these for one month; the dashboard calls the same builders with the
request's (validated) parameters. Nothing here computes a domain number: values come from the
domain modules (``hashdesk.chain``, ``hashdesk.economics``, ``hashdesk.market``,
``hashdesk.hpc``, ``hashdesk.scenario``); a builder only picks fields, labels them with units
and wraps the module's figures. A module that is not installed yet gives a section with status
``unavailable`` ("module not available"); see :func:`hashdesk.report.model.guarded`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from hashdesk.report.model import (
    Month,
    Section,
    guarded,
    metric,
    table_from_records,
)
from hashdesk.store.db import Store

#: Tickers of the markets section (BTC first, then miners, then the benchmarks).
MARKET_BENCHMARKS: tuple[str, ...] = ("WGMI", "QQQ")


# -- network ----------------------------------------------------------------------------------


def network_section(store: Store, start: date, end: date) -> Section:
    """Network: hashrate and shocks, retargets in the period, hashprice, next retarget/halving."""

    def build() -> Section:
        from hashdesk.chain.consensus import (
            block_subsidy,
            next_halving_height,
            next_retarget_height,
        )

        adj = store.df(
            "SELECT height, epoch_ms(time * 1000) AS time_utc, difficulty, adjustment_ratio - 1 AS change "
            "FROM difficulty_adjustments WHERE time >= epoch(?::DATE) AND time < epoch(?::DATE + 1) "
            "ORDER BY height",
            [start, end],
        )
        last = store.con.execute(
            "SELECT epoch, first_height, difficulty FROM epochs "
            "WHERE start_time < epoch(?::DATE + 1) ORDER BY epoch DESC LIMIT 1",
            [end],
        ).fetchone()
        if last is None:
            raise LookupError(f"no difficulty epoch starts before {end}")
        _, first_height, diff = last
        metrics = (
            metric("difficulty", "difficulty at period end", diff, "difficulty"),
            metric("next_retarget_height", "next retarget height", next_retarget_height(first_height), "int"),
            metric("next_halving_height", "next halving height", next_halving_height(first_height), "int"),
            metric("subsidy_btc", "block subsidy", block_subsidy(first_height) / 1e8, "btc"),
        )
        tables = (
            table_from_records(
                "retargets",
                "Retargets in the period",
                adj,
                [
                    ("height", "height", "int"),
                    ("time_utc", "time [UTC]", "datetime"),
                    ("difficulty", "difficulty [T]", "difficulty"),
                    ("change", "change [%]", "pct"),
                ],
            ),
        )
        return Section("network", "Network", metrics=metrics, tables=tables)

    return guarded("network", "Network", build)


# -- the brief's list -------------------------------------------------------------------------


def brief_builders(month: Month, claims_path=None) -> list[tuple[str, Callable[[Store], Section]]]:
    """The brief's section builders for ``month``, in reading order, as ``(key, build(store))``."""
    s, e = month.start, month.end
    out: list[tuple[str, Callable[[Store], Section]]] = [
        ("network", lambda st: network_section(st, s, e)),
    ]
    return out
