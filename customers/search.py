"""Finding customers by what staff type: part of a phone number, a name, an external id or an email.

Each word must appear in one of those fields, in any case; a whole phone number, however written,
finds its customer exactly. On PostgreSQL the fields carry one trigram index (pg_trgm, migration
0015), which `ILIKE '%word%'` uses for words of three characters or more; shorter words match a whole
external id only, as any text contains them. SQLite compares each row.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import F, Lookup, Q, QuerySet, Value
from django.utils.text import smart_split, unescape_string_literal

from customers.phones import InvalidPhone, phone_normalize

FIELDS = ("phone", "first_name", "last_name", "external_id", "email")
SHORTEST = 3


class ILike(Lookup):
    """`lhs ILIKE rhs` (PostgreSQL): the form a trigram index serves, unlike Django's
    `UPPER(col) LIKE UPPER(...)`."""

    lookup_name = "ilike"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} ILIKE {rhs}", [*lhs_params, *rhs_params]


def customer_search(customers: QuerySet, term: str) -> QuerySet:
    words = [_unquoted(word) for word in smart_split(term.strip())]
    words = [word for word in words if word]
    if not words:
        return customers
    found = Q()
    for word in words:
        found &= _word(word)
    try:
        found |= Q(phone=phone_normalize(term))
    except InvalidPhone:
        pass
    return customers.filter(found)


def _word(word: str) -> Q:
    if len(word) < SHORTEST:
        return Q(external_id=word)
    if connection.vendor != "postgresql":
        return _any(Q(**{f"{field}__icontains": word}) for field in FIELDS)
    pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return _any(Q(ILike(F(field), Value(pattern))) for field in FIELDS)


def _any(parts) -> Q:
    combined = Q()
    for part in parts:
        combined |= part
    return combined


def _unquoted(word: str) -> str:
    if word and word[0] in "\"'" and word[-1] == word[0]:
        try:
            return unescape_string_literal(word)
        except ValueError:
            return word
    return word
