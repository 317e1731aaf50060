"""Why a customer is (or is not) in a segment: every node of the tree, matched or not, in one query."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper

from customers.models import Customer, Store
from customers.segments.compiler import EMPTY, Compiler, compile_rules
from customers.segments.schema import join
from customers.segments.summary import phrase, summarize


def explain(
    customer: Customer, rules: dict, *, store: Store, now: datetime, seen: tuple[int, ...] = ()
) -> dict:
    """The tree with `matched` on every node, e.g. for "why did this customer get this text"."""
    rules = rules or EMPTY  # as the compiler reads an empty tree: everyone
    compile_rules(rules, store=store, now=now, seen=seen)  # refuses a tree that cannot be evaluated
    compiler = Compiler(store, now, seen)
    nodes: list[tuple[str, dict]] = []
    _walk(rules, "", nodes)
    annotations = {
        f"n{index}": ExpressionWrapper(compiler.node(node), output_field=BooleanField())
        for index, (_, node) in enumerate(nodes)
    }
    row = Customer.objects.filter(pk=customer.pk).annotate(**annotations).values(*annotations).get()
    matched = {path: bool(row[f"n{index}"]) for index, (path, _) in enumerate(nodes)}
    tree = _shape(rules, "", matched)
    tree["summary"] = summarize(rules)
    return tree


def _walk(node: dict, path: str, out: list[tuple[str, dict]]) -> None:
    out.append((path, node))
    for index, child in enumerate(node.get("children", []) if node.get("type") == "group" else []):
        _walk(child, join(join(path, "children"), index), out)


def _shape(node: dict, path: str, matched: dict[str, bool]) -> dict[str, Any]:
    shaped: dict[str, Any] = {"path": path, "type": node["type"], "matched": matched[path]}
    if node["type"] == "group":
        shaped["match"] = node.get("match", "all")
        shaped["children"] = [
            _shape(child, join(join(path, "children"), index), matched)
            for index, child in enumerate(node.get("children", []))
        ]
    else:
        shaped["condition"] = node
        shaped["description"] = phrase(node)
    return shaped
