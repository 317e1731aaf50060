"""The shell examples of the README and docs/ run as written: in the venv, and capturing only what
they mean to; their relative links lead to files that exist."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"sh", "bash", "shell", "console"}
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


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


def relative_links(doc: Path) -> list[str]:
    """Targets of the page's Markdown links outside code, other than URLs and anchors on the page."""
    found, fenced = [], False
    for line in doc.read_text().splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            prose = re.sub(r"`[^`]*`", "", line)
            found += [t for t in LINK.findall(prose) if not re.match(r"[a-z][a-z0-9+.-]*:|#", t)]
    return found


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


def test_every_relative_link_points_at_a_file():
    links = [(doc, target) for doc in DOCS for target in relative_links(doc)]
    assert any(doc == README for doc, _ in links), "the README links into docs/"

    broken = [
        f"{doc.relative_to(ROOT)}: {target}"
        for doc, target in links
        if not (doc.parent / target.partition("#")[0]).exists()
    ]
    assert broken == []
