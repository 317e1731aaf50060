"""Money: amounts kept to the cent, and shown one way, in the store's currency.

Every table, chart axis, legend and tooltip formats an amount with `money`; CSV exports keep the
plain number.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency

CENT = Decimal("0.01")
# Staff pages are in English; the currency's symbol and separators follow this locale.
LOCALE = "en_US"


def to_cents(value: object) -> Decimal:
    """An amount rounded half up to the cent."""
    return Decimal(str(value or 0)).quantize(CENT, ROUND_HALF_UP)


def money(amount: object, *, currency: str, whole: bool = False) -> str:
    """e.g. "$12,235.32" (USD), "€1,500.00" (EUR); `whole` drops the cents ("$15,196")."""
    value = Decimal(str(amount or 0))
    pattern = "¤#,##0" if whole else "¤#,##0.00"
    return format_currency(value, currency, format=pattern, locale=LOCALE, currency_digits=not whole)
