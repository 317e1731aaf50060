"""The shell examples of the README and docs/ run as written: in the venv, and capturing only what
they mean to."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"sh", "bash", "shell", "console"}


def shell_lines() -> list[str]:
    """Lines of the shell code blocks of the README and every page in docs/."""
    lines = []
    for doc in DOCS:
        fence = None
        for line in doc.read_text().splitlines():
            if line.startswith("```"):
                fence = None if fence is not None else line[3:].strip()
            elif fence in SHELL:
                lines.append(line)
    return lines


def test_every_manage_py_call_uses_the_venv_python():
    bare = [line for line in shell_lines() if re.search(r"(?<![/\w])python3? manage\.py", line)]

    assert bare == []


def test_a_captured_shell_command_prints_only_its_own_output(tmp_path):
    captured = [line for line in shell_lines() if re.search(r"\$\(\S*python manage\.py shell", line)]
    assert captured, "the short-link example captures a shell command"
    assert all(" -v 0 " in line for line in captured)

    printed = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", "print('only this')"],
        cwd=README.parent,
        capture_output=True,
        text=True,
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert printed.stdout == "only this\n"
