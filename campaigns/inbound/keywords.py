"""What a customer's text means: keyword families, store keywords, and what the app does about it.

Matching ignores case, spaces, punctuation, width and accents ("S.T.O.P", " stop! ", "Opt-out",
full-width "ｓｔｏｐ", French "Arrêt"); a short phrase made of an opt-out word and filler ("stop
texting me", "please unsubscribe me") is an opt-out too, and so is a message that is one opt-out
word with one typo ("stopp", "sotp"): a lost STOP costs far more than a wrongly honoured one.
Twilio's `OptOutType` (sent when Advanced Opt-Out is on) wins over the body, and then Twilio has
already replied, so the app records the change and stays silent.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from campaigns.inbound.signup import (
    confirmation_prompt,
    customer_signup_confirm,
    signup_requested,
    welcome_text,
)
from campaigns.models import InboundMessage, Keyword
from customers.ingest.consent import consent_change, phone_opt_out
from customers.ingest.customers import customer_for_phone
from customers.ingest.events import customer_event_record
from customers.models import ConsentRecord, Customer, Store
from customers.phones import InvalidPhone, phone_normalize
from customers.senders import stores_for_sender

logger = logging.getLogger(__name__)

OPT_OUT = "opt_out"
OPT_IN = "opt_in"
CONFIRM = "confirm"
HELP = "help"
PREFERENCE = "preference"
JOIN = "join"
STORE_KEYWORD = "store_keyword"
MESSAGE = "message"

FAMILIES: dict[str, set[str]] = {
    # ARRET and AIDE: the French words carriers require where stores text Canadian numbers.
    OPT_OUT: {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "ARRET"},
    OPT_IN: {"START", "UNSTOP"},
    CONFIRM: {"YES", "Y"},
    HELP: {"HELP", "INFO", "AIDE"},
    PREFERENCE: {"DEALS", "DEAL", "DROPS", "DROP", "RESTOCKS", "RESTOCK"},
    JOIN: {"JOIN", "SUBSCRIBE"},
}
RESERVED = frozenset().union(*FAMILIES.values())
# Providers that send no message id may deliver a webhook again: the same text from the same
# number to the same sender within this window is taken to be that replay.
REPLAY_WINDOW = timedelta(minutes=10)
TOPICS = {"DEAL": "deals", "DROP": "drops", "RESTOCK": "restocks"}
TOPIC_LABELS = {"deals": "deals", "drops": "new drops", "restocks": "restocks"}

OPT_OUT_TWILIO = {"STOP": OPT_OUT, "START": OPT_IN, "HELP": HELP}
OPT_OUT_VERBS = FAMILIES[OPT_OUT] | {"UNSUB", "REMOVE"}
# Shorter words have too many everyday neighbours one edit away (END: AND, SEND).
TYPO_MIN_LENGTH = 4
# Words that may surround an opt-out verb without changing its meaning.
FILLER = set(
    "PLEASE PLS PLZ NOW THANKS THANK YOU THX ME MY IT THIS ALL THE FROM LIST TEXT TEXTS TEXTING "
    "MESSAGE MESSAGES MESSAGING MSG MSGS SMS SENDING ANY MORE OF TO NUMBER OFF OUT ASAP".split()
)
OPT_OUT_PHRASES = [
    re.compile(p)
    for p in (
        r"^(PLEASE )?(DO NOT|DONT) (TEXT|MESSAGE|CONTACT) ME( ANYMORE| AGAIN)?( PLEASE)?$",
        r"^(PLEASE )?TAKE ME OFF( (THE|YOUR|THIS) LIST)?( PLEASE)?$",
        r"^NO MORE (TEXTS|MESSAGES)( PLEASE)?$",
        r"^(PLEASE )?OPT ME OUT( PLEASE)?$",
        r"^LEAVE ME ALONE$",
        r"^WRONG NUMBER$",
    )
]


@dataclass(frozen=True)
class Match:
    family: str
    word: str = ""


def normalized(body: str) -> str:
    """Full-width and compatibility forms folded (NFKC), accents dropped, upper case."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", body))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def words(body: str) -> list[str]:
    return re.sub(r"[^\w\s]|_", "", normalized(body).replace("'", "")).split()


def compact(body: str) -> str:
    return "".join(words(body))


def keyword_word_clean(word: str) -> str:
    """A store keyword as it is matched (compacted), refused when empty or reserved."""
    word = compact(word)
    if not word:
        raise ValidationError("Use at least one letter or digit.")
    if word in RESERVED:
        raise ValidationError(f"{word} is a reserved keyword (opt-out, opt-in, help).")
    return word


def one_edit_apart(a: str, b: str) -> bool:
    """One letter added, dropped, changed, or two neighbours swapped (Damerau distance 1)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        i, j = diffs[0], diffs[-1]
        return len(diffs) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _opt_out_typo(tokens: list[str]) -> str:
    """The opt-out word a one-word message misspells, or ""."""
    if len(tokens) != 1:
        return ""
    candidates = sorted(verb for verb in FAMILIES[OPT_OUT] if len(verb) >= TYPO_MIN_LENGTH)
    return next((verb for verb in candidates if one_edit_apart(tokens[0], verb)), "")


def _is_opt_out_phrase(tokens: list[str]) -> bool:
    if not tokens or len(tokens) > 8:
        return False
    if any(p.match(" ".join(tokens)) for p in OPT_OUT_PHRASES):
        return True
    verbs = [t for t in tokens if t in OPT_OUT_VERBS]
    return bool(verbs) and all(t in OPT_OUT_VERBS or t in FILLER for t in tokens)


def classify(body: str, *, opt_out_type: str = "", store_words: frozenset[str] = frozenset()) -> Match:
    """The family a text belongs to; store keywords are matched by the caller's `store_words`."""
    word = compact(body)
    if opt_out_type.upper() in OPT_OUT_TWILIO:
        return Match(OPT_OUT_TWILIO[opt_out_type.upper()], word or opt_out_type.upper())
    for family, members in FAMILIES.items():
        if word in members:
            return Match(family, word)
    if word in store_words:
        return Match(STORE_KEYWORD, word)
    if _is_opt_out_phrase(words(body)):
        return Match(OPT_OUT, " ".join(words(body))[:30])
    if _opt_out_typo(words(body)):
        return Match(OPT_OUT, word[:30])
    return Match(MESSAGE)


DEFAULT_HELP = "Questions about your order? We're here to help."
RATES = "Msg & data rates may apply."


def help_text(store: Store | None) -> str:
    """The reply to HELP; without a store (a reply no single store can be told from) the default."""
    if store is None:
        return f"{DEFAULT_HELP} {RATES} Reply STOP to cancel."
    about = store.help_text.strip() or DEFAULT_HELP
    if not about.startswith(store.brand_name):
        about = f"{store.brand_name}: {about}"
    # Each fact once: a store's own text that gives its contact or the STOP line is not repeated.
    said = about.lower()
    contact = store.contact_email or store.site_url
    parts = [about]
    if contact and contact.lower() not in said and _host(contact) not in said:
        parts.append(f"Contact: {contact}.")
    if "rates" not in said:
        parts.append(RATES)
    if "stop" not in said:
        parts.append("Reply STOP to cancel.")
    return " ".join(parts)


def _host(contact: str) -> str:
    return contact.lower().split("://", 1)[-1].split("/", 1)[0] or contact.lower()


def opt_out_text(store: Store | None) -> str:
    if store is None:
        return "You're unsubscribed and will get no more texts from this number."
    return f"{store.brand_name}: You're unsubscribed and will get no more texts. Reply START to resubscribe."


@dataclass
class Handled:
    outcome: str
    reply: str = ""
    handled: bool = True


def _opt_out(customer: Customer, match: Match, twilio_replied: bool, now: datetime) -> Handled:
    consent_change(
        customer=customer,
        action=ConsentRecord.Action.OPT_OUT,
        source="keyword",
        occurred_at=now,
        now=now,
        keyword=match.word,
    )
    return Handled(InboundMessage.Outcome.OPTED_OUT, "" if twilio_replied else opt_out_text(customer.store))


def _join(customer: Customer, match: Match, to: str, now: datetime) -> Handled:
    store = customer.store
    if customer.is_subscribed:
        return Handled(
            InboundMessage.Outcome.JOIN_REQUESTED, f"{store.brand_name}: You're already subscribed."
        )
    signup_requested(
        customer=customer,
        source="keyword",
        wording=f"Texted {match.word} to {to}",
        keyword=match.word,
        now=now,
    )
    return Handled(InboundMessage.Outcome.JOIN_REQUESTED, confirmation_prompt(store))


def _opt_in(customer: Customer, match: Match, to: str, twilio_replied: bool, now: datetime) -> Handled:
    store = customer.store
    if customer_signup_confirm(customer=customer, source="keyword", keyword=match.word, now=now):
        return Handled(InboundMessage.Outcome.CONFIRMED, welcome_text(store))
    if customer.sms_consent == Customer.Consent.UNSUBSCRIBED:
        consent_change(
            customer=customer,
            action=ConsentRecord.Action.OPT_IN,
            source="keyword",
            occurred_at=now,
            now=now,
            wording=f"Texted {match.word} to {to} after opting out",
            keyword=match.word,
        )
        return Handled(InboundMessage.Outcome.OPTED_IN, "" if twilio_replied else welcome_text(store))
    if match.family == CONFIRM:  # a "yes" from someone with nothing to confirm is for the staff
        return Handled(InboundMessage.Outcome.MESSAGE, handled=False)
    return _join(customer, match, to, now)


def _preference(customer: Customer, match: Match, now: datetime) -> Handled:
    topic = TOPICS[match.word.rstrip("S")]
    topics = customer.topics if topic in customer.topics else [*customer.topics, topic]
    customer_event_record(
        customer=customer,
        type="preference_set",
        properties={"topics": topics, "source": "keyword", "keyword": match.word},
        now=now,
    )
    label = TOPIC_LABELS[topic]
    return Handled(
        InboundMessage.Outcome.PREFERENCE,
        f"{customer.store.brand_name}: Got it, we'll text you about {label}. Reply STOP to cancel.",
    )


def _handle(customer: Customer, match: Match, params: Mapping[str, str], now: datetime) -> Handled:
    to = params.get("To", "")
    twilio_replied = bool(params.get("OptOutType"))
    if match.family == OPT_OUT:
        return _opt_out(customer, match, twilio_replied, now)
    if match.family in (OPT_IN, CONFIRM):
        return _opt_in(customer, match, to, twilio_replied, now)
    if match.family == HELP:
        return Handled(InboundMessage.Outcome.HELP, "" if twilio_replied else help_text(customer.store))
    if match.family == PREFERENCE:
        return _preference(customer, match, now)
    if match.family == JOIN:
        return _join(customer, match, to, now)
    if match.family == STORE_KEYWORD:
        keyword = Keyword.objects.get(store_id=customer.store_id, word=match.word)
        if keyword.action == Keyword.Action.JOIN:
            return _join(customer, match, to, now)
        return Handled(InboundMessage.Outcome.KEYWORD, keyword.reply, handled=False)
    return Handled(InboundMessage.Outcome.MESSAGE, handled=False)


def store_for_reply(*, to: str, messaging_service_sid: str, phone: str | None) -> Store | None:
    """The one store a reply is for, or None when none or several could be meant.

    Several stores on one sender (the default sender, most often) are told apart by which of them
    has the number as a customer.
    """
    stores = stores_for_sender(to=to, messaging_service_sid=messaging_service_sid)
    found = list(stores[:2])
    if len(found) == 2 and phone:
        found = list(stores.filter(customers__phone=phone)[:2])
    return found[0] if len(found) == 1 else None


def _unmatched(inbound: InboundMessage, phone: str, now: datetime) -> Handled:
    """A reply no single store can be told from: a STOP counts for every store, HELP is answered."""
    match = classify(inbound.body, opt_out_type=inbound.opt_out_type)
    inbound.keyword = match.word
    twilio_replied = bool(inbound.opt_out_type)
    if match.family == OPT_OUT:
        sender = inbound.to_number or inbound.messaging_service_sid
        phone_opt_out(
            phone=phone,
            source="keyword",
            occurred_at=now,
            now=now,
            wording=f"Texted {match.word} to {sender}, which no single store could be told from: "
            "opted out of every store with this number",
            keyword=match.word,
        )
        return Handled(InboundMessage.Outcome.OPTED_OUT, "" if twilio_replied else opt_out_text(None))
    if match.family == HELP:
        return Handled(InboundMessage.Outcome.HELP, "" if twilio_replied else help_text(None))
    return Handled(InboundMessage.Outcome.UNKNOWN_STORE, handled=False)


def _receive(params: Mapping[str, str], sid: str, now: datetime) -> str:
    body = params.get("Body", "")
    inbound = InboundMessage(
        provider_sid=sid,
        from_number=params.get("From", "")[:32],
        to_number=params.get("To", "")[:32],
        messaging_service_sid=params.get("MessagingServiceSid", "")[:34],
        body=body,
        opt_out_type=params.get("OptOutType", "")[:8],
        received_at=now,
    )
    try:
        phone = phone_normalize(inbound.from_number)
    except InvalidPhone:
        phone = None
    store = store_for_reply(
        to=inbound.to_number, messaging_service_sid=inbound.messaging_service_sid, phone=phone
    )
    if phone is None:
        logger.warning("Inbound text from %r, not a phone number", inbound.from_number)
        outcome = InboundMessage.Outcome.MESSAGE if store else InboundMessage.Outcome.UNKNOWN_STORE
        result = Handled(outcome, handled=False)
    elif store is None:
        logger.warning("Inbound text to %s matches no single store", inbound.to_number)
        result = _unmatched(inbound, phone, now)
    else:
        customer = customer_for_phone(store=store, phone=phone)
        store_words = frozenset(
            Keyword.objects.filter(store=store, active=True).values_list("word", flat=True)
        )
        match = classify(body, opt_out_type=inbound.opt_out_type, store_words=store_words)
        result = _handle(customer, match, params, now)
        inbound.customer, inbound.keyword = customer, match.word
    inbound.store = store
    inbound.outcome, inbound.reply, inbound.handled = result.outcome, result.reply, result.handled
    inbound.handled_at = now if result.handled else None
    inbound.save()
    return result.reply


def _replay_of(params: Mapping[str, str], now: datetime) -> InboundMessage | None:
    """The same text from the same number to the same sender, received within REPLAY_WINDOW."""
    return (
        InboundMessage.objects.filter(
            provider_sid="",
            from_number=params.get("From", "")[:32],
            to_number=params.get("To", "")[:32],
            body=params.get("Body", ""),
            received_at__gt=now - REPLAY_WINDOW,
            received_at__lte=now,
        )
        .order_by("-received_at")
        .first()
    )


def inbound_receive(*, params: Mapping[str, str], now: datetime) -> str:
    """Act on one inbound text (Twilio's webhook parameters); returns the reply, "" for none.

    A webhook Twilio delivers twice (same MessageSid) is acted on once and answered the same way;
    without a MessageSid, the same text from the same number within REPLAY_WINDOW is that replay.
    """
    sid = (params.get("MessageSid") or params.get("SmsSid") or "")[:64]
    if sid and (seen := InboundMessage.objects.filter(provider_sid=sid).first()):
        return seen.reply
    try:
        with transaction.atomic():
            if not sid and (seen := _replay_of(params, now)):
                return seen.reply
            return _receive(params, sid, now)
    except IntegrityError:
        seen = InboundMessage.objects.filter(provider_sid=sid).first() if sid else None
        if seen is None:
            raise
        return seen.reply


def inbound_mark_handled(*, messages: QuerySet[InboundMessage], user: object, now: datetime) -> int:
    with transaction.atomic():
        return messages.filter(handled=False).update(handled=True, handled_at=now, handled_by=user)


DEFAULT_KEYWORDS = {
    "SIZE": "{brand}: Happy to help with sizing! Reply with the item and your usual size, or see {site}.",
    "SHIPPING": "{brand}: Orders ship in 1-2 business days; tracking arrives by email. Reply with your "
    "order number for an update.",
}


def store_keywords_install(*, store: Store) -> int:
    """The seed's SIZE and SHIPPING auto-replies for a store; words it already has are kept."""
    with transaction.atomic():
        existing = set(Keyword.objects.filter(store=store).values_list("word", flat=True))
        missing = [
            Keyword(store=store, word=word, reply=text.format(brand=store.brand_name, site=store.site_url))
            for word, text in DEFAULT_KEYWORDS.items()
            if word not in existing
        ]
        Keyword.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)
