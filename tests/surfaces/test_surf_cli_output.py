"""Terminal output that fits, export, clear errors and a light ``import hashdesk.cli``.

The width check runs every README quickstart command (and every other data command) through
Typer's CliRunner with ``COLUMNS=80`` and piped output, on the bundle store: no table column is
narrower than its header's first word, no date wraps, no number is in e-notation.
"""

from __future__ import annotations

import io
import json
import re
import shlex
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from hashdesk.cli import app
from hashdesk.cli._layout import Col, render_kv, render_table
from hashdesk.config import repo_root

RULE = re.compile(r"─+")
#: A date cut at the end of a line: "2024-01-" or "2024-" (a month "2024-03" is whole).
CUT_DATE = re.compile(r"\b\d{4}-(\d{2}-)?$")
E_NOTATION = re.compile(r"\d(\.\d+)?e[+-]\d")


def _readme_commands() -> list[list[str]]:
    """The README quickstart's ``hashdesk …`` lines (without ``serve``, which does not return)."""
    text = (repo_root() / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quickstart\s*```bash\n(.*?)```", text, re.S).group(1)
    cmds = []
    for line in block.splitlines():
        line = line.split("  #")[0].strip()
        if line.startswith("hashdesk ") and not line.startswith("hashdesk serve"):
            cmds.append(shlex.split(line)[1:])
    return cmds


EXAMPLES = repo_root() / "examples"
#: The other data commands of the README's command table, with arguments.
MORE_COMMANDS = [
    ["info"],
    ["network", "--backtest"],
    ["economics", "--from", "2024-01-01", "--to", "2024-01-31"],
    ["economics", "--at", "2024-01-03"],
    ["profile", str(EXAMPLES / "profiles/riot_style_2024_03.toml"), "--at", "2024-03-31"],
    ["stress", "--price", "64000", "--fees", "0.3", "--at", "2024-04-10", "--halving",
     "--profile", str(EXAMPLES / "profiles/hosted_1ehs.toml")],
    ["market", "rolling", "--from", "2024-01-01", "--to", "2024-12-31"],
    ["market", "decoupling", "--from", "2024-01-01", "--to", "2024-12-31"],
    ["market", "events", "--from", "2024-01-01", "--to", "2024-12-31"],
    ["market", "factors", "--from", "2024-01-01", "--to", "2024-12-31"],
    ["market", "cohorts", "--from", "2024-01-01", "--to", "2024-12-31"],
    ["hpc", "company", str(EXAMPLES / "hpc/core_scientific.toml")],
    ["hpc", "scorecard", "--detail"],
    ["hpc", "deals"],
]


def _tables(text: str, depth: int = 6) -> list[list[tuple[str, int]]]:
    """(header text, column width) of every table in the output, read from its rule line and the
    at most ``depth`` header lines above it (``--wide`` headers take one line)."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        if not line.strip() or set(line.strip()) - {"─", " "} or "  " not in line.rstrip():
            continue  # a table's rule is runs of ─ separated by spaces (a title rule is one run)
        spans = [(m.start(), m.end()) for m in RULE.finditer(line)]
        heads = []
        for a, b in spans:
            pieces = []
            for above in reversed(lines[max(0, i - depth):i]):
                piece = above[a:b].strip() if len(above) > a else ""
                if not piece or not ((a == 0 or above[a - 1] == " ") and (len(above) <= b or above[b] == " ")):
                    break  # a title or a line of text, not this column's header
                pieces.insert(0, piece)
            heads.append((" ".join(pieces), b - a))
        out.append(heads)
    return out


def _run(db, args, **env):
    r = CliRunner().invoke(app, ["--db", str(db), *args], env={"COLUMNS": "80", **env})
    assert r.exit_code == 0, (args, r.output)
    return r


@pytest.mark.slow
def test_every_readme_command_fits_80_columns(bundle_db_path, tmp_path):
    """COLUMNS=80, piped: no column narrower than its header's first word, no cut date, no e+."""
    commands = _readme_commands()
    assert len(commands) >= 10
    checked = 0
    for args in commands + MORE_COMMANDS:
        args = [str(tmp_path / a.removeprefix("out/")) if a.startswith("out/") else a for a in args]
        if "--scenarios" in args:  # the README's 20,000 scenarios: same tables, fewer draws
            args[args.index("--scenarios") + 1] = "2000"
        r = _run(bundle_db_path, args)
        if "--format" in args and args[args.index("--format") + 1] != "table":
            continue  # JSON / HTML: not a table
        text = r.stdout
        assert not E_NOTATION.search(text), (args, E_NOTATION.search(text).group(0))
        for line in text.splitlines():
            assert len(line) <= 80 or "http" in line, (args, line)
            assert not CUT_DATE.search(line), (args, line)
        # every word as written at full width (--wide): a header's first word, whole
        wide = _run(bundle_db_path, [*args, "--wide"]).stdout
        first_words = {h.split()[0] for t in _tables(wide, depth=1) for h, _ in t if h} | set(wide.split())
        for table in _tables(text):
            for header, width in table:
                if not header:
                    continue
                first = header.split()[0]
                assert first in first_words, (args, header, "header broken inside its first word")
                assert width >= len(first), (args, header, width)
            checked += 1
    assert checked >= 15


def test_layout_keeps_first_words_and_dates_whole():
    days = [f"2024-01-{d:02d}" for d in range(10, 18)]
    cols = [Col("date", days), *[Col(f"hashprice{i} [USD/PH/day]", ["84.61"] * 8, "right") for i in range(8)]]
    text = render_table(cols, 40, title="t")
    assert "2024-01-10" in text and "hashprice0" in text
    assert "more columns not shown" in text and "--wide" in text
    assert all(len(line) <= 40 for line in text.splitlines())
    wide = render_table(cols, None)
    assert all(f"hashprice{i} [USD/PH/day]" in wide for i in range(8))  # every column, one line


def test_layout_few_rows_turn_vertical():
    cols = [Col("ticker", ["MARA", "RIOT"]),
            *[Col(f"metric number {i} [%]", ["+1.00", "-2.00"], "right") for i in range(12)]]
    text = render_table(cols, 60)
    lines = text.splitlines()
    assert lines[0].split() == ["ticker", "MARA", "RIOT"]  # transposed: one column per row
    assert len(lines) == 2 + 12
    one = render_table([Col("a long header", ["x" * 30]), Col("b", ["y" * 50])], 40)
    assert one.splitlines()[0].startswith("a long header")  # one row: key/value lines
    assert render_kv([("hashprice [USD/PH/day]", "84.61")], 80) == "hashprice [USD/PH/day]  84.61"


def test_cli_import_is_light():
    """``import hashdesk.cli`` (what ``hashdesk --help`` pays) loads no pandas, numpy, duckdb,
    Plotly, Rich tables or progress bars: they load inside the commands that use them."""
    code = ("import sys, hashdesk.cli; heavy = ['pandas', 'numpy', 'duckdb', 'plotly', 'scipy', "
            "'rich.table', 'rich.progress', 'dask', 'distributed', 'fastapi', 'pydantic']; "
            "print([m for m in heavy if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_brief_format_choices_match_the_report():
    from hashdesk.cli.surfaces import BriefFormat as CliFormat
    from hashdesk.report.brief import BriefFormat

    assert [f.value for f in CliFormat] == [f.value for f in BriefFormat]


def test_economics_csv_and_parquet_export(bundle_db_path, tmp_path):
    import pandas as pd

    r = _run(bundle_db_path, ["economics", "--from", "2024-01-01", "--to", "2024-01-31", "--format", "csv"])
    df = pd.read_csv(io.StringIO(r.stdout), parse_dates=["date"])
    assert len(df) == 31 and df["date"].iloc[0] == pd.Timestamp("2024-01-01")
    assert {"hashprice_usd_per_ph_day", "fees_btc_per_block", "price_usd", "hashrate_ehs"} <= set(df.columns)
    # the same frame the Python API returns (desk.daily), date index as the date column
    assert df.loc[2, "hashprice_usd_per_ph_day"] == pytest.approx(85.763, abs=1e-3)
    assert "e+" not in r.stdout.split("\n")[0]
    pytest.importorskip("pyarrow")
    out = tmp_path / "jan.parquet"
    _run(bundle_db_path, ["economics", "--from", "2024-01-01", "--to", "2024-01-31", "--format", "parquet",
                          "--out", str(out)])
    pq = pd.read_parquet(out)
    assert len(pq) == 31 and str(pq["date"].iloc[0]) == "2024-01-01"
    assert pq["hashprice_usd_per_ph_day"].tolist() == pytest.approx(df["hashprice_usd_per_ph_day"].tolist())


def test_nested_output_exports_one_flat_row(bundle_db_path):
    import pandas as pd

    r = _run(bundle_db_path, ["network", "--at", "2024-01-16", "--format", "csv"])
    df = pd.read_csv(io.StringIO(r.stdout))
    assert len(df) == 1
    assert df.loc[0, "network_state.tip_height"] == 826_070
    assert df.loc[0, "network_state.hashprice_usd_per_ph_day"] == pytest.approx(84.61, abs=0.01)
    assert "projection.next_difficulty_change_pct" in df.columns


def test_out_writes_files_and_json_stays_whole(bundle_db_path, tmp_path):
    out = tmp_path / "p.json"
    r = _run(bundle_db_path, ["production", "--miner", "MARA", "--to", "2024-03", "--format", "json",
                              "--out", str(out)])
    assert r.stdout == ""
    rows = json.loads(out.read_text())
    assert rows[0]["ticker"] == "MARA" and "realization_lo" in rows[0]
    table = tmp_path / "t.txt"
    _run(bundle_db_path, ["economics", "--from", "2024-01-01", "--to", "2024-01-31", "--out", str(table)])
    lines = table.read_text().splitlines()
    assert "hashprice [USD/PH/day]" in lines[1] and len(lines) == 3 + 31  # wide: headers on one line


def test_tables_show_labels_with_units_and_percent(bundle_db_path):
    r = _run(bundle_db_path, ["profile", str(EXAMPLES / "profiles/riot_style_2024_03.toml"), "--halving"])
    text = r.stdout
    assert "margin [%]" in text and "margin_pct" not in text
    margin = next(line for line in text.splitlines() if line.startswith("margin [%]"))
    assert margin.split()[2:4] == ["75.1", "52.6"]  # fractions 0.7513 and 0.5265 as percent
    assert "hashprice [USD/PH/day]" in text
    net = _run(bundle_db_path, ["network", "--at", "2024-01-16"]).stdout
    assert "73.20 T" in net  # difficulty with an SI suffix, as the brief writes it


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["production", "--from", "2027-01", "--to", "2027-02"], "months with data: 2023-01..2024-12"),
        (["production", "--from", "2024-03", "--to", "2024-01"], "is before --from"),
        (["market", "--from", "2027-01-01", "--to", "2027-01-31", "--tickers", "MARA"], "prices in the store"),
        (["market", "--from", "2024-02-01", "--to", "2024-01-01"], "is before --from"),
        (["shocks", "--from", "2027-01-01", "--to", "2027-01-31"], "daily network series covers"),
        (["shocks", "--from", "2024-02-01", "--to", "2024-01-01"], "is before --from"),
        (["economics", "--from", "2024-02-01", "--to", "2024-01-01"], "is before --from"),
        (["brief", "--month", "2027-01"], "no brief for 2027-01"),
    ],
)
def test_empty_or_reversed_ranges_exit_2_saying_what_exists(bundle_db_path, args, needle):
    r = CliRunner().invoke(app, ["--db", str(bundle_db_path), *args])
    assert r.exit_code == 2, r.output
    assert needle in " ".join(r.output.split())


def test_info_and_health_report_one_schema_version(bundle_db_path):
    from fastapi.testclient import TestClient

    from hashdesk.store.db import migrations
    from hashdesk.web.app import create_app

    info = json.loads(_run(bundle_db_path, ["info", "--format", "json"]).stdout)
    with TestClient(create_app(bundle_db_path)) as c:
        health = c.get("/api/v1/health").json()
    assert info["schema_version"] == health["schema_version"] == migrations()[-1][0]


def test_writer_meeting_a_lock_says_who_holds_it(bundle_db_path, tmp_path):
    import shutil

    db = tmp_path / "locked.duckdb"
    shutil.copy(bundle_db_path, db)
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; "
                               f"c = duckdb.connect({str(db)!r}, read_only=True); print('ok', flush=True); "
                               "sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        r = CliRunner().invoke(app, ["--db", str(db), "sync", "--chain", "none"])  # a writer
        assert r.exit_code == 2
        msg = " ".join(r.output.split())
        assert f"process {holder.pid}" in msg and "duckdb.connect" in msg and f"kill {holder.pid}" in msg
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


@pytest.mark.slow
def test_demo_prints_its_table_and_writes_the_html_directory(bundle_db_path, data_dir, tmp_path):
    """``make demo``'s command: the storm table on stdout (its ``--out`` is the directory of the
    HTML files, not a file for the table) and the three pages in that directory."""
    import shutil

    db = tmp_path / "demo.duckdb"
    shutil.copy(bundle_db_path, db)  # demo ingests (0 rows here): on a copy, not the shared store
    out = tmp_path / "out"
    r = _run(db, ["demo", "--out", str(out)], HASHDESK_DATA=str(data_dir))
    assert "Network around the January 2024 winter storm" in r.stdout
    row = next(line for line in r.stdout.splitlines() if line.startswith("2024-01-16"))
    # difficulty 73.20 T, epoch from 824,544, next retarget −2.85 % as of the end of 2024-01-16
    assert row.split()[:3] == ["2024-01-16", "824,544", "73.20"] and "-2.85" in row.split(), row
    assert out.is_dir()
    assert sorted(p.name for p in out.iterdir()) == ["brief-2024-01.html", "hashprice.html", "network.html"]
