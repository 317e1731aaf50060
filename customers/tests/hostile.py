"""Hypothesis strategies for hostile input: texts no database stores, numbers past every range, dates
out of range, shapes that are almost right. Shared by the fuzz tests of every JSON endpoint."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from customers.segments import schema

# One request per example; the database is rolled back once per test, so examples stay cheap.
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

LONE_SURROGATES = st.sampled_from(["\ud800", "\udfff", "\udbff\udbff"])
TEXT = st.one_of(
    st.text(max_size=12),
    st.builds(lambda a, s, b: a + s + b, st.text(max_size=4), LONE_SURROGATES, st.text(max_size=4)),
    st.sampled_from(["", " ", "\x00", "Austin", "gold", "x" * 201, "x" * 2_000, "2026-11-26", "0001-01-01",
                     "9999-12-31", "2026-11-26T10:00:00+99:00", "1e100000000", "NaN", "-0"]),
)
NUMBER = st.one_of(
    st.integers(min_value=-1000, max_value=1000),
    st.floats(),  # NaN and infinities included: json.dumps writes them, Python's parser reads them
    st.sampled_from([0, 1, 50, 100, 36_500, 36_501, 2**31, 2**63, 10**30, -(10**30), 1e300, 1e-300]),
)
SCALAR = st.one_of(TEXT, NUMBER, st.booleans(), st.none())
VALUE = st.one_of(SCALAR, st.lists(SCALAR, max_size=3), st.dictionaries(TEXT, SCALAR, max_size=2))
JSON = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=10,
)


def either(valid: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly a well-formed value (nine times in ten), sometimes anything."""
    return st.sampled_from(range(10)).flatmap(lambda n: VALUE if n == 0 else valid)


# --- segment rule trees --------------------------------------------------------------------------

ALL_OPS = sorted({op for ops in schema.OPS_BY_TYPE.values() for op in ops} | set(schema.COUNT_OPS))
OP = either(st.sampled_from(ALL_OPS)) | st.just(["eq"])
DAYS = either(st.integers(1, 400))
WINDOW = st.fixed_dictionaries(
    {},
    optional={
        "last": DAYS,
        "between": st.lists(DAYS, min_size=2, max_size=2) | st.lists(NUMBER, max_size=3),
        "unit": either(st.sampled_from(schema.UNITS)),
    },
)
PROPERTY = either(st.sampled_from(["product", "category", "margin_class", "total", "cart_id", "items.0.sku"]))
FILTER = st.fixed_dictionaries(
    {"property": PROPERTY, "op": OP, "value": either(st.sampled_from(["sku-1", 10]))}
)
PROFILE_VALUE = either(
    st.sampled_from(["Austin", "2026-11-26", 5]) | st.lists(st.just("gold"), min_size=1, max_size=2)
)
METRIC_VALUE = either(st.integers(0, 100) | st.lists(st.integers(0, 50), min_size=2, max_size=2).map(sorted))
EVENT = either(st.sampled_from(schema.EVENT_TYPES))


def _condition(node_type: str, /, **fields) -> st.SearchStrategy:
    return st.fixed_dictionaries({"type": st.just(node_type), **fields})


CONDITION = st.one_of(
    _condition("profile", field=either(st.sampled_from([*schema.PROFILE_FIELDS, "attributes.size"])), op=OP,
               value=PROFILE_VALUE),
    _condition("consent", status=either(st.sampled_from(schema.CONSENT_STATUSES)),
               op=either(st.sampled_from(["is", "is_not"]))),
    _condition("preference", kind=either(st.sampled_from(["topic", "category"])),
               op=either(st.sampled_from(["has", "has_not"])), value=either(st.sampled_from(schema.TOPICS))),
    _condition("loyalty", op=OP, value=PROFILE_VALUE),
    _condition("metric", metric=either(st.sampled_from(list(schema.METRICS))), op=OP, value=METRIC_VALUE),
    _condition("rank", metric=either(st.sampled_from(schema.RANK_METRICS)), top_percent=either(st.just(10))),
    _condition("event", event=EVENT, window=WINDOW, filters=st.lists(FILTER, max_size=2),
               count=st.fixed_dictionaries({"op": either(st.sampled_from(schema.COUNT_OPS)),
                                            "value": either(st.integers(0, 3))})),
    _condition("sequence", event=EVENT, window=WINDOW, same=either(st.sampled_from(["", "cart_id"])),
               then_not=st.fixed_dictionaries({"event": EVENT, "filters": st.lists(FILTER, max_size=1)})),
    _condition("repetition", event=EVENT, window=WINDOW, at_least=either(st.integers(1, 3)),
               per=either(st.sampled_from(["product", "category", "color"]))),
    _condition("segment", segment=NUMBER, op=either(st.sampled_from(["in", "not_in"]))),
)
TREE = st.recursive(
    CONDITION,
    lambda inner: st.fixed_dictionaries(
        {"type": st.just("group"), "match": either(st.sampled_from(schema.MATCHES)),
         "children": st.lists(inner, max_size=4)}
    ),
    max_leaves=6,
)
RULES = st.sampled_from(range(4)).flatmap(lambda n: JSON if n == 0 else TREE)
