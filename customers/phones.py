"""Phone numbers: E.164 normalisation, and the timezone and US state a number implies."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import timezone as phone_timezone

US_STATES = {
    "Alabama": "AL",
    "Alaska": "AK",
    "Arizona": "AZ",
    "Arkansas": "AR",
    "California": "CA",
    "Colorado": "CO",
    "Connecticut": "CT",
    "Delaware": "DE",
    "District of Columbia": "DC",
    "Washington D.C.": "DC",
    "Washington DC": "DC",
    "Florida": "FL",
    "Georgia": "GA",
    "Hawaii": "HI",
    "Idaho": "ID",
    "Illinois": "IL",
    "Indiana": "IN",
    "Iowa": "IA",
    "Kansas": "KS",
    "Kentucky": "KY",
    "Louisiana": "LA",
    "Maine": "ME",
    "Maryland": "MD",
    "Massachusetts": "MA",
    "Michigan": "MI",
    "Minnesota": "MN",
    "Mississippi": "MS",
    "Missouri": "MO",
    "Montana": "MT",
    "Nebraska": "NE",
    "Nevada": "NV",
    "New Hampshire": "NH",
    "New Jersey": "NJ",
    "New Mexico": "NM",
    "New York": "NY",
    "North Carolina": "NC",
    "North Dakota": "ND",
    "Ohio": "OH",
    "Oklahoma": "OK",
    "Oregon": "OR",
    "Pennsylvania": "PA",
    "Rhode Island": "RI",
    "South Carolina": "SC",
    "South Dakota": "SD",
    "Tennessee": "TN",
    "Texas": "TX",
    "Utah": "UT",
    "Vermont": "VT",
    "Virginia": "VA",
    "Washington": "WA",
    "Washington State": "WA",
    "West Virginia": "WV",
    "Wisconsin": "WI",
    "Wyoming": "WY",
}
STATE_CODES = frozenset(US_STATES.values())


class InvalidPhone(ValueError):
    pass


@dataclass(frozen=True)
class PhoneFacts:
    timezone: str  # "" when the number spans several zones or none is known
    region: str  # US state code, or ""


def phone_normalize(raw: object, *, default_region: str = "US") -> str:
    """E.164 for a valid number; national numbers are read in `default_region`."""
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise InvalidPhone("must be a phone number string, e.g. +14155550100")
    return _normalize(str(raw).strip(), default_region)


def sender_number_normalize(raw: str, *, sender_type: str) -> str:
    """A store's sending number: E.164, or the digits of a short code."""
    if sender_type == "short_code":
        digits = "".join(c for c in raw if c.isdigit())
        if not 5 <= len(digits) <= 6:
            raise InvalidPhone("is not a short code (five or six digits)")
        return digits
    return phone_normalize(raw)


# A batch names the same customers again and again; parsing is the costly part of checking one.
@lru_cache(maxsize=65536)
def _normalize(text: str, default_region: str) -> str:
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"is not a phone number ({exc})") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone("is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


_facts_by_prefix: dict[str, PhoneFacts] = {}


def phone_facts(e164: str) -> PhoneFacts:
    # North American numbers sharing area code and exchange share zone and state; remembering them
    # by that prefix keeps bulk imports cheap.
    prefix = e164[:8] if e164.startswith("+1") else e164
    if prefix not in _facts_by_prefix:
        if len(_facts_by_prefix) > 20_000:
            _facts_by_prefix.clear()
        _facts_by_prefix[prefix] = _facts_for(e164)
    return _facts_by_prefix[prefix]


def _facts_for(e164: str) -> PhoneFacts:
    from phonenumbers import geocoder  # its place names take a third of a second to load

    parsed = phonenumbers.parse(e164, None)
    zones = [zone for zone in phone_timezone.time_zones_for_number(parsed) if zone != "Etc/Unknown"]
    region = ""
    if phonenumbers.region_code_for_number(parsed) == "US":
        region = _state_code(geocoder.description_for_number(parsed, "en"))
    return PhoneFacts(timezone=zones[0] if len(zones) == 1 else "", region=region)


def _state_code(description: str) -> str:
    if description in US_STATES:
        return US_STATES[description]
    # "San Francisco, CA"
    tail = description.rsplit(", ", 1)[-1]
    return tail if tail in STATE_CODES else ""
