"""The API examples of the README and docs/ run verbatim against a live server: the same curl
commands, with only the host and port and the `$KEY` placeholder filled in, answer as the pages say
they do."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import call_command

from campaigns.flows.starters import starter_templates_install
from campaigns.inbound.keywords import store_keywords_install
from customers.api.auth import api_key_create
from customers.models import Store
from customers.segments.presets import presets_install

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
HOST = "http://127.0.0.1:8000"
SHELL = {"sh", "bash", "shell"}


@dataclass
class Example:
    doc: Path
    line: int
    command: str
    answer: object | None  # the JSON the page's comment after the command shows, if any


def shell_blocks(doc: Path) -> list[tuple[int, list[str]]]:
    blocks, fence, start, lines = [], None, 0, []
    for number, line in enumerate(doc.read_text().splitlines(), 1):
        if line.startswith("```"):
            if fence is None:
                fence, start, lines = line[3:].strip(), number + 1, []
            else:
                if fence in SHELL:
                    blocks.append((start, lines))
                fence = None
        elif fence is not None:
            lines.append(line)
    return blocks


def api_examples() -> list[Example]:
    """Each `curl` call of the API (`/api/v1/`), its continuation lines and the answer below it."""
    found = []
    blocks = [(doc, start, lines) for doc in DOCS for start, lines in shell_blocks(doc)]
    for doc, start, lines in blocks:
        index = 0
        while index < len(lines):
            if not (lines[index].startswith("curl ") and "/api/v1/" in lines[index]):
                index += 1
                continue
            first, command = index, [lines[index]]
            index += 1
            while index < len(lines) and lines[index].startswith((" ", "\t")):
                command.append(lines[index])
                index += 1
            answer = None
            if index < len(lines) and lines[index].startswith("# {"):
                answer, _ = json.JSONDecoder().raw_decode(lines[index][2:])
            found.append(Example(doc, start + first, "\n".join(command), answer))
    return found


@pytest.fixture
def demo(db):
    """What `make run` prepares: the demo store with its presets, keywords and starter templates."""
    call_command("load_demo", customers=30, stdout=open(os.devnull, "w"))
    store = Store.objects.get(slug="demo")
    presets_install(store=store)
    store_keywords_install(store=store)
    starter_templates_install(store=store)
    return store


def run(example: Example, *, url: str, key: str, home: Path) -> tuple[int, str]:
    (home / ".curlrc").write_text('write-out = "\\n%{http_code}"\n')  # the status, after the body
    done = subprocess.run(
        ["sh", "-c", example.command.replace(HOST, url)],
        env={"KEY": key, "HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    body, _, status = done.stdout.rpartition("\n")
    return int(status), body


def test_the_readme_has_api_examples():
    examples = api_examples()
    assert len(examples) >= 10
    assert any(e.answer and "errors" in e.answer for e in examples)


@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_every_api_example_answers_as_the_readme_says(live_server, demo, tmp_path):
    if shutil.which("curl") is None:
        pytest.skip("README examples skipped: no curl (apt-get install curl)")
    _, key = api_key_create(store=demo, name="README")
    for example in api_examples():
        status, body = run(example, url=live_server.url, key=key, home=tmp_path)
        where = f"{example.doc.relative_to(ROOT)}:{example.line}: {example.command.splitlines()[0]}"
        if example.answer is not None and "errors" in example.answer:
            assert 400 <= status < 500, f"{where} answered {status}: {body[:300]}"
        else:
            assert 200 <= status < 300, f"{where} answered {status}: {body[:300]}"
        if example.answer is not None:
            assert json.loads(body) == example.answer, f"{where} answered {body[:300]}"
