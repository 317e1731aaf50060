"""Plain words for the codes the app stores, so every page says the same thing the same way: why a
text was held, not sent or a run ended, what each status means, what each trigger event is, and
what the provider's error numbers mean (Twilio's, from its error dictionary).

Pages show `reason_words(code)`, `status_words(kind, code)`, `event_words(type)` and
`provider_error_words(code)` (also as template filters: `{% load glossary %}`); a code the glossary
does not know is shown as it is, with its underscores as spaces.
"""

from __future__ import annotations

REASONS: dict[str, str] = {
    "ok": "Allowed to go out.",
    "no_consent": "The customer has not subscribed to texts.",
    "opted_out": "The customer opted out (replied STOP or unsubscribed).",
    "number_undeliverable": "The number cannot receive texts (the provider said so before).",
    "expired": "It was due too long ago: a late marketing text is never sent.",
    "quiet_hours": "Outside the sending hours in the customer's own time.",
    "frequency_cap": "The customer had as many texts as the store allows a day or week.",
    "chosen_frequency": "The customer asked for fewer texts (weekly or monthly) and has had theirs.",
    "state_cap": "The customer's state limits marketing texts per 24 hours.",
    "overlap": "Another flow or campaign texted the customer a short while before.",
    "superseded": "A higher-priority text to the same customer took its place.",
    "provider_opt_out": "The provider says the number opted out of this sender (21610).",
    "provider_rejected": "The provider refused the text (see its error number).",
    "retries_exhausted": "The provider kept asking to try later, until the tries ran out.",
    "retry": "The provider asked to try later; it is retried by itself.",
    "offer_code_pending": "The customer's own discount code is being created in the shop.",
    "offer_code_refused": "The shop refused the discount code, or none was left.",
    "campaign_cancelled": "Its campaign was cancelled.",
    "late": "It came too late to send (later than the flow allows).",
    "paused": "Its flow or campaign is paused.",
    "unspecified": "No reason recorded.",
}

STATUSES: dict[str, dict[str, str]] = {
    "message": {
        "pending": "Being checked against the sending rules.",
        "queued": "Ready to go to the provider.",
        "held": "Waiting until a set time (sending hours, a cap, a retry).",
        "sending": "With the provider now.",
        "sent": "Accepted by the provider; delivery not confirmed yet.",
        "delivered": "Delivered to the phone.",
        "undelivered": "The carrier could not deliver it.",
        "failed": "The provider refused it.",
        "suppressed": "Not sent, on purpose (see why).",
    },
    "campaign": {
        "draft": "Not scheduled: nothing will be sent until you schedule it.",
        "scheduled": "Will start at its send time; it can still be edited or cancelled.",
        "sending": "Going out now.",
        "paused": "Stopped for now: nothing more goes out until it is resumed.",
        "done": "Finished: everyone it was for has been handled.",
        "cancelled": "Cancelled: texts not sent by then were dropped.",
    },
    "flow": {
        "draft": "Not live: nobody enters it.",
        "live": "Live: customers enter when its trigger happens.",
        "paused": "Paused: nobody enters and nothing more is sent until it is live again.",
    },
    "experiment": {
        "draft": "Not started: everyone gets the step's own text.",
        "running": "Running: customers are split between the variants.",
        "finished": "Finished: a winner was called or it was stopped.",
    },
}

EVENTS: dict[str, str] = {
    "cart_updated": "adds to or changes their cart",
    "checkout_started": "starts a checkout",
    "order_placed": "places an order",
    "order_delivered": "gets an order delivered",
    "product_viewed": "views a product",
    "back_in_stock_requested": "asks to be told when a product is back",
    "reward_balance_changed": "has their reward balance change",
    "preference_set": "sets their text preferences",
    "sms_clicked": "clicks a link in a text",
    "signed_up": "signs up for texts",
}

# From Twilio's error and warning dictionary (twilio.com/docs/api/errors), the codes a marketing
# sender meets most; the number stays beside the words so it can be looked up.
PROVIDER_ERRORS: dict[str, str] = {
    "20003": "The provider refused the account's credentials (wrong Account SID or Auth Token).",
    "20429": "Too many requests at once: the provider asked to slow down; texts are retried.",
    "21211": "The number is not a valid phone number.",
    "21408": "The account may not send texts to this country (its geographic permissions).",
    "21606": "The sending number cannot send texts from this account (not SMS-capable or not its own).",
    "21608": "A trial account may text only numbers verified with Twilio.",
    "21610": "The recipient replied STOP to this sender: nothing is delivered until they reply START.",
    "21612": "The provider cannot route a text to this number from this sender.",
    "21614": "The number is not a mobile number that can receive texts.",
    "21635": "The number is a landline.",
    "30001": "The provider's queue overflowed; try again later.",
    "30002": "The provider account is suspended.",
    "30003": "The phone is unreachable (switched off, no signal, or cannot take texts).",
    "30004": "The recipient blocked texts (or this sender) on their line.",
    "30005": "The number is unknown to its carrier or no longer in service.",
    "30006": "The number is a landline, or its carrier cannot be reached from this sender.",
    "30007": "The carrier filtered the text as spam or for its content.",
    "30008": "The carrier gave no reason for not delivering it.",
    "30034": "The sending number is not registered for US business texting (A2P 10DLC): carriers block it.",
}


def _plain(code: str) -> str:
    return code.replace("_", " ")


def reason_words(code: str) -> str:
    """Why a text was held, not sent or a run ended, as a sentence."""
    if not code:
        return ""
    if code.startswith("goal: "):
        event = code.removeprefix("goal: ")
        return f"The customer {event_words(event)}: the flow's goal."
    if code.startswith("late by "):
        return f"It came {code.removeprefix('late by ')} late, later than the flow allows."
    return REASONS.get(code, _plain(code).capitalize() + ".")


def status_words(kind: str, code: str) -> str:
    return STATUSES.get(kind, {}).get(code, _plain(code))


def event_words(event_type: str) -> str:
    """What a customer did, e.g. "adds to or changes their cart" for cart_updated."""
    return EVENTS.get(event_type, f"does “{event_type}”")


def provider_error_words(code: str) -> str:
    """A provider error number with what it means: "30007: The carrier filtered the text…"."""
    if not code:
        return ""
    meaning = PROVIDER_ERRORS.get(str(code))
    return f"{code}: {meaning}" if meaning else f"{code} (see twilio.com/docs/api/errors/{code})"
