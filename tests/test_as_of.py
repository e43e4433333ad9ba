"""As of any time: an answer as of day D is the same whether or not rows after D are in the store.

Each check loads the bundle cut at the end of a day D (every row known by then, nothing after:
header times, epoch starts, daily rows, production months) and compares the answers as of D with
those of the full bundle: the network state and the network command, the day's economics, shocks,
markets, production and (at a month's end) the brief.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta

import pandas as pd
import pytest
from typer.testing import CliRunner

from hashdesk.cli import app
from hashdesk.data import last_full_month
from hashdesk.desk import Desk
from hashdesk.jsonable import to_jsonable
from hashdesk.store import Store
from hashdesk.times import day_end_unix

#: Days D: Coin Metrics only; inside the first block window (mid-storm, a month's end, the
#: halving day); mempool's last adjustment; Coin Metrics' last day; the last whole day of blocks.
DAYS = ["2023-06-15", "2024-01-16", "2024-01-31", "2024-04-20", "2025-03-09", "2025-12-29", "2026-03-24"]


def cut_store(src, dst, day: str) -> None:
    """Copy the bundle store keeping only the rows known at the end of ``day``."""
    shutil.copy(src, dst)
    t = day_end_unix(date.fromisoformat(day))
    with Desk(src) as full:
        starts, _ = full.epoch_starts(full.data_end_unix + 1)
    late = starts[starts.start_unix >= t].epoch
    first_late = int(late.min()) if len(late) else None
    with Store(dst) as s:
        c = s.con
        c.execute("DELETE FROM blocks WHERE time >= ?", [t]).fetchall()
        c.execute("DELETE FROM difficulty_adjustments WHERE time >= ?", [t]).fetchall()
        for table in ("network_daily", "hashrate_daily", "prices_daily"):
            c.execute(f"DELETE FROM {table} WHERE date > ?", [date.fromisoformat(day)]).fetchall()
        c.execute("DELETE FROM miner_production WHERE month > ?", [last_full_month(t)]).fetchall()
        c.execute("DELETE FROM event_log WHERE at_unix > ?", [t]).fetchall()
        if first_late is not None:  # epochs whose start (exact or from the daily series) is after t
            c.execute("DELETE FROM epochs WHERE epoch >= ?", [first_late]).fetchall()


def answers(path, day: str) -> dict:
    """Every answer as of the end of ``day``, JSON-ready."""
    d = date.fromisoformat(day)
    out = {}
    with Desk(path) as desk:
        out["network"] = desk.network(day)
        out["economics"] = desk.daily(day, day).reset_index(drop=True)
        try:
            rep = desk.shocks(d - timedelta(days=45), d)
            out["shocks"] = rep.to_dict()
        except ValueError as exc:
            out["shocks"] = str(exc)
        try:
            out["market"] = desk.market(["MARA", "RIOT", "WGMI"], d - timedelta(days=60), d)
        except (ValueError, LookupError) as exc:
            out["market"] = str(exc)
        try:
            out["production"] = desk.production(None, None, last_full_month(day_end_unix(d)))
        except (ValueError, LookupError) as exc:
            out["production"] = str(exc)
    return to_jsonable(out)


@pytest.mark.slow
@pytest.mark.parametrize("day", DAYS)
def test_answers_as_of_a_day_ignore_later_rows(bundle_db_path, tmp_path, day):
    cut = tmp_path / f"cut-{day}.duckdb"
    cut_store(bundle_db_path, cut, day)
    full, part = answers(bundle_db_path, day), answers(cut, day)
    for key in full:
        assert full[key] == part[key], f"{key} as of {day} differs when later rows are present"
    state = full["network"]["network_state"]
    assert state["tip_height_exact"] == (day in {"2024-01-16", "2024-01-31", "2024-04-20", "2025-12-29", "2026-03-24"})
    if day != "2026-03-24":  # Coin Metrics (fees, price) ends 2025-12-29
        assert state["hashprice_usd_per_ph_day"] is not None


def test_cli_answers_at_the_last_day_of_data(bundle_db_path, tmp_path):
    """At the edge of the data (the store cut at D holds nothing after D) the CLI answers as with the
    full bundle, including a tip whose last block came shortly before midnight."""
    day = "2025-12-29"
    cut = tmp_path / "cut.duckdb"
    cut_store(bundle_db_path, cut, day)
    for args in (["network", "--at", day], ["economics", "--at", day],
                 ["production", "--miner", "MARA", "--to", "2024-03"]):
        a = CliRunner().invoke(app, ["--db", str(bundle_db_path), *args, "--format", "json"])
        b = CliRunner().invoke(app, ["--db", str(cut), *args, "--format", "json"])
        assert a.exit_code == b.exit_code == 0, (a.output, b.output)
        assert json.loads(a.stdout) == json.loads(b.stdout), args


def test_same_at_same_network_state_everywhere(bundle_db_path, tmp_path):
    """`network`, `economics`, `hpc value`, `simulate` and `brief` carry one network state."""
    from hashdesk.config import repo_root

    def run(*args):
        r = CliRunner().invoke(app, ["--db", str(bundle_db_path), *args])
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)

    day = "2024-01-31"
    states = {
        "network": run("network", "--at", day, "--format", "json")["network_state"],
        "economics": run("economics", "--at", day, "--format", "json")["network_state"],
        "hpc value": run("hpc", "value", "--site", str(repo_root() / "examples/hpc/illustrative_texas_mining.toml"),
                         "--at", day, "--format", "json")["network_state"],
        "simulate": run("simulate", "--at", day, "--horizon", "1m", "-n", "100", "--format", "json")["network_state"],
        "brief": run("brief", "--month", "2024-01", "--format", "json")["network_state"],
    }
    ref = states["network"]
    for name, s in states.items():
        assert s == ref, name
    assert ref["at"] == "2024-02-01T00:00:00Z" and ref["tip_height"] == 828_307
    assert pd.notna(ref["hashprice_usd_per_ph_day"])
