"""The layout is the map: packages that say what they own, small modules, no import circle (imports
inside functions included), and every task path ever stored still importable.

`lint-imports` (run by `make test`) checks the direction between packages; this checks what it
does not: circles between any two modules, sizes, and the dotted paths stored in the database.
"""

from __future__ import annotations

import ast
import pydoc
import re
from pathlib import Path

import pytest

from campaigns import MOVED_TASK_MODULES as CAMPAIGNS_MOVED
from campaigns.schedules import SCHEDULES
from customers import MOVED_TASK_MODULES as CUSTOMERS_MOVED

ROOT = Path(__file__).resolve().parents[2]
APPS = ("campaigns", "customers", "smsmarketing")
MAX_LINES = 550
MAX_TOP_LEVEL_MODULES = 15
# Task paths written by earlier versions into queued tasks and schedules.
STORED_TASK_PATHS = [
    "campaigns.send_tasks.send_batch",
    "campaigns.send_tasks.send_fan_out",
    "campaigns.flow_tasks.events_recorded_task",
    "campaigns.flow_tasks.product_changes_check_task",
    "campaigns.report_tasks.reports_tick_task",
    "campaigns.report_tasks.orders_attribute_task",
    "campaigns.report_tasks.opt_outs_attribute_task",
    "campaigns.signup.confirmations_send_task",
    "customers.imports.import_job_run",
]
TASK_PATH = re.compile(r"""["']((?:campaigns|customers)\.[a-z_.]+_(?:task|run|batch|fan_out))["']""")


def app_modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if {"tests", "migrations"} & set(parts):
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every app module `name` imports, at any depth of its code (inside functions too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            candidates = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in modules:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                targets.add(candidate)
    return targets


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(graph[target])))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    components.append(component)
    return components


def test_no_two_modules_import_each_other_even_through_others_or_inside_functions():
    modules = app_modules()
    graph = {name: imports_of(name, path, modules) for name, path in modules.items()}

    circles = [sorted(c) for c in strongly_connected(graph) if len(c) > 1]

    assert circles == []


def test_the_circle_check_sees_a_circle_hidden_in_a_function():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}

    assert [c for c in strongly_connected(graph) if len(c) > 1] == [{"a", "b", "c"}]


def test_every_package_says_what_it_owns():
    silent = [
        str(path.relative_to(ROOT))
        for name, path in app_modules().items()
        if path.name == "__init__.py"
        and name.count(".") == 1
        and not name.endswith((".management", ".templatetags"))
        and not ast.get_docstring(ast.parse(path.read_text()))
    ]

    assert silent == []


def test_no_module_is_a_second_app():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in app_modules().values()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }

    assert long == {}


def test_the_top_of_each_app_holds_only_what_spans_it():
    crowded = {
        app: count
        for app in APPS
        if (count := len(list((ROOT / app).glob("*.py")))) > MAX_TOP_LEVEL_MODULES
    }

    assert crowded == {}


def task_paths_in_code() -> set[str]:
    return {
        match
        for path in app_modules().values()
        for match in TASK_PATH.findall(path.read_text())
    }


@pytest.mark.parametrize(
    "path",
    sorted({*STORED_TASK_PATHS, *(s["func"] for s in SCHEDULES), *task_paths_in_code()}),
)
def test_every_task_path_queued_now_or_before_finds_its_function(path):
    assert callable(pydoc.locate(path)), path


def test_the_old_task_modules_are_aliases_of_the_new_ones():
    assert set(CAMPAIGNS_MOVED.values()) == {"campaigns.tasks"}
    assert set(CUSTOMERS_MOVED.values()) == {"customers.ingest.csv_import"}
