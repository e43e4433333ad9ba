"""The README's command table documents every CLI command (datasette-style)."""

from __future__ import annotations

import re

import typer.main

from hashdesk.cli import app
from hashdesk.config import repo_root


def _command_paths() -> list[str]:
    group = typer.main.get_command(app)
    paths = []
    for name, cmd in group.commands.items():
        paths.append(name)
        for sub in getattr(cmd, "commands", {}) or {}:
            paths.append(f"{name} {sub}")
    return paths


def test_every_command_is_in_the_readme():
    readme = (repo_root() / "README.md").read_text()
    documented = set(re.findall(r"`hashdesk ([a-z]+(?: [a-z]+)?)", readme))
    groups = {d.split()[0] for d in documented if " " in d}
    missing = [p for p in _command_paths() if p not in documented and p not in groups]
    assert not missing, f"commands missing from README.md: {missing}"
    assert len(_command_paths()) >= 20


def test_readme_keeps_the_two_setup_commands():
    readme = (repo_root() / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme


def test_readme_python_example_runs(bundle_db_path):
    """The README's notebook-style example runs as written on the bundle and prints its figures."""
    import contextlib
    import io

    readme = (repo_root() / "README.md").read_text()
    code = re.search(r"## Python API.*?```python\n(.*?)```", readme, re.S).group(1)
    code = code.replace('".hashdesk/demo.duckdb"', repr(str(bundle_db_path)))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - the README's own example
    shown = re.search(r"print\(.*\)\s+# (.+)", code).group(1).strip()
    assert out.getvalue().strip() == shown
