"""Installed from a wheel, with no checkout beside it, hashdesk still has its company data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.slow
def test_wheel_without_checkout_has_company_data(bundle_db_path, tmp_path):
    # Build from a copy so setuptools' build/ directory never lands in the checkout.
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, tree / name)
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                    "-w", str(dist), str(tree)], check=True, capture_output=True)
    wheel = next(dist.glob("hashdesk-*.whl"))
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "HASHDESK_DB": str(bundle_db_path)}
    env.pop("HASHDESK_DATA", None)

    def cli(*args: str) -> str:
        code = "import sys, hashdesk; assert 'site' in hashdesk.__file__, hashdesk.__file__; " \
               "from hashdesk.cli import main; sys.argv = ['hashdesk', *sys.argv[1:]]; main()"
        r = subprocess.run([sys.executable, "-c", code, *args], cwd=run_dir, env=env, capture_output=True,
                           text=True)
        assert r.returncode == 0, r.stderr
        return r.stdout

    comps = [r for r in json.loads(cli("comps", "--at", "2024-06-30", "--format", "json")) if r["ticker"] != "median"]
    assert len(comps) == 10 and sum(r["ev_per_ehs_usd"] is not None for r in comps) >= 7
    brief = json.loads(cli("brief", "--month", "2024-12", "--format", "json"))
    sections = {s["key"]: s for s in brief["sections"]}
    for key in ("miners", "hpc"):
        assert sections[key]["status"] == "ok" and sections[key]["tables"], key
