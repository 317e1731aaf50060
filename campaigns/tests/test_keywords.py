from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from campaigns.admin.inbound import KeywordForm
from campaigns.broadcasts.materialize import campaign_materialize
from campaigns.inbound.keywords import (
    CONFIRM,
    HELP,
    JOIN,
    MESSAGE,
    OPT_IN,
    OPT_OUT,
    PREFERENCE,
    STORE_KEYWORD,
    classify,
    keyword_word_clean,
    store_keywords_install,
)
from campaigns.models import Campaign, InboundMessage, Keyword, Message, MessageTemplate
from campaigns.tests.inbound_helpers import (
    AUTH_TOKEN,
    everyone,
    make_customer,
    make_store,
    subscribed,
    text_in,
)
from customers.models import ConsentRecord, Customer, Event

NOW = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)
PHONE = "+14155550101"


@pytest.mark.parametrize(
    ("body", "family"),
    [
        *[
            (word, OPT_OUT)
            for word in ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT")
        ],
        ("stop", OPT_OUT),
        ("Stop.", OPT_OUT),
        ("  STOP  ", OPT_OUT),
        ("S T O P", OPT_OUT),
        ("stop!!!", OPT_OUT),
        ("Stop all", OPT_OUT),
        ("opt-out", OPT_OUT),
        ("Opt Out", OPT_OUT),
        ("Un-subscribe", OPT_OUT),
        ("STOP 🛑", OPT_OUT),
        ("stop texting me", OPT_OUT),
        ("Please stop sending me texts", OPT_OUT),
        ("unsubscribe me please", OPT_OUT),
        ("Don't text me anymore", OPT_OUT),
        ("take me off your list", OPT_OUT),
        ("please opt me out", OPT_OUT),
        ("START", OPT_IN),
        ("unstop", OPT_IN),
        ("Start.", OPT_IN),
        ("YES", CONFIRM),
        ("yes!", CONFIRM),
        ("Y", CONFIRM),
        ("y", CONFIRM),
        ("HELP", HELP),
        ("help?", HELP),
        ("Info", HELP),
        ("DEALS", PREFERENCE),
        ("drops", PREFERENCE),
        ("Restocks!", PREFERENCE),
        ("JOIN", JOIN),
        ("join ", JOIN),
        ("Can I stop by the store tomorrow?", MESSAGE),
        ("When does my order ship?", MESSAGE),
        ("", MESSAGE),
        ("Yes I'd like size 9", MESSAGE),
    ],
)
def test_the_keyword_table(body, family):
    assert classify(body).family == family


@pytest.mark.parametrize(
    ("body", "opt_out_type", "family"),
    [("Arrêt", "STOP", OPT_OUT), ("Hello", "START", OPT_IN), ("?", "HELP", HELP), ("stop", "start", OPT_IN)],
)
def test_twilios_opt_out_type_wins_over_the_body(body, opt_out_type, family):
    assert classify(body, opt_out_type=opt_out_type).family == family


def test_store_words_are_matched_like_keywords():
    assert classify(" size? ", store_words=frozenset({"SIZE"})) == classify(
        "SIZE", store_words=frozenset({"SIZE"})
    )
    assert classify("Size", store_words=frozenset({"SIZE"})).family == STORE_KEYWORD


@pytest.fixture
def store(db, settings):
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.PUBLIC_BASE_URL = "http://testserver"
    return make_store()


def replies(response) -> int:
    return response.content.decode().count("<Message>")


def test_stop_opts_out_with_one_confirmation(client, store):
    customer = subscribed(store, PHONE, NOW - timedelta(days=30))

    response = text_in(client, "Stop.", PHONE)

    assert response.status_code == 200
    assert replies(response) == 1
    assert "unsubscribed" in response.content.decode()
    customer.refresh_from_db()
    assert customer.sms_consent == Customer.Consent.UNSUBSCRIBED
    record = customer.consent_records.get()
    assert (record.action, record.source, record.keyword) == (ConsentRecord.Action.OPT_OUT, "keyword", "STOP")


def test_a_clear_phrase_opts_out_and_the_phrase_is_kept(client, store):
    customer = subscribed(store, PHONE, NOW)

    text_in(client, "stop texting me", PHONE)

    record = customer.consent_records.get()
    assert (record.action, record.keyword) == (ConsentRecord.Action.OPT_OUT, "STOP TEXTING ME")


def test_with_twilios_opt_out_type_the_app_records_it_and_stays_silent(client, store):
    customer = subscribed(store, PHONE, NOW)

    response = text_in(client, "STOPP", PHONE, OptOutType="STOP")

    assert replies(response) == 0
    customer.refresh_from_db()
    assert customer.sms_consent == Customer.Consent.UNSUBSCRIBED
    assert InboundMessage.objects.get().opt_out_type == "STOP"


def test_start_after_stop_opts_back_in(client, store):
    customer = subscribed(store, PHONE, NOW)
    text_in(client, "STOP", PHONE)

    response = text_in(client, "start", PHONE)

    assert "You're in" in response.content.decode()
    customer.refresh_from_db()
    assert customer.sms_consent == Customer.Consent.SUBSCRIBED
    actions = list(customer.consent_records.order_by("pk").values_list("action", "keyword"))
    assert actions == [(ConsentRecord.Action.OPT_OUT, "STOP"), (ConsentRecord.Action.OPT_IN, "START")]


def test_twilios_start_opt_out_type_opts_back_in_silently(client, store):
    customer = make_customer(store, PHONE, sms_consent=Customer.Consent.UNSUBSCRIBED)

    response = text_in(client, "Unstop", PHONE, OptOutType="START")

    assert replies(response) == 0
    customer.refresh_from_db()
    assert customer.sms_consent == Customer.Consent.SUBSCRIBED


@pytest.mark.parametrize("body", ["YES", "y", "Y!", "Yes."])
def test_yes_confirms_a_pending_double_opt_in(client, store, body):
    customer = make_customer(store, PHONE, sms_consent=Customer.Consent.PENDING)

    response = text_in(client, body, PHONE)

    assert "Thanks for confirming" in response.content.decode()
    customer.refresh_from_db()
    assert customer.sms_consent == Customer.Consent.SUBSCRIBED
    assert customer.consent_records.get().action == ConsentRecord.Action.CONFIRMED


def test_yes_from_a_subscriber_with_nothing_to_confirm_lands_in_the_inbox(client, store):
    subscribed(store, PHONE, NOW)

    response = text_in(client, "yes", PHONE)

    assert replies(response) == 0
    inbound = InboundMessage.objects.get()
    assert (inbound.outcome, inbound.handled) == (InboundMessage.Outcome.MESSAGE, False)


@pytest.mark.parametrize("body", ["HELP", "help", "Info?", " i n f o "])
def test_help_replies_with_the_stores_help_text_and_contact(client, store, body):
    subscribed(store, PHONE, NOW)

    response = text_in(client, body, PHONE)

    reply = response.content.decode()
    assert replies(response) == 1
    assert "Trailhead Supply outdoor gear." in reply
    assert "help@shop.example.com" in reply


def test_help_with_twilios_opt_out_type_gets_no_second_reply(client, store):
    response = text_in(client, "HELP", PHONE, OptOutType="HELP")

    assert replies(response) == 0
    assert InboundMessage.objects.get().outcome == InboundMessage.Outcome.HELP


@pytest.mark.parametrize(
    ("body", "topic"), [("DEALS", "deals"), ("drops!", "drops"), ("Restocks", "restocks")]
)
def test_a_preference_reply_sets_the_topic_and_confirms(client, store, body, topic):
    customer = subscribed(store, PHONE, NOW, topics=["deals"])

    response = text_in(client, body, PHONE)

    assert "Got it" in response.content.decode()
    customer.refresh_from_db()
    assert topic in customer.topics
    assert customer.topics.count("deals") == 1
    assert Event.objects.get(customer=customer).type == "preference_set"


def test_a_store_keyword_auto_replies_and_lands_in_the_inbox(client, store):
    store_keywords_install(store=store)
    subscribed(store, PHONE, NOW)

    response = text_in(client, "size?", PHONE)

    assert "sizing" in response.content.decode()
    inbound = InboundMessage.objects.get()
    assert (inbound.outcome, inbound.keyword, inbound.handled) == (
        InboundMessage.Outcome.KEYWORD,
        "SIZE",
        False,
    )


def test_an_inactive_store_keyword_is_just_a_message(client, store):
    store_keywords_install(store=store)
    Keyword.objects.filter(word="SHIPPING").update(active=False)

    response = text_in(client, "shipping", PHONE)

    assert replies(response) == 0
    assert InboundMessage.objects.get().outcome == InboundMessage.Outcome.MESSAGE


def test_anything_else_lands_in_the_inbox_without_a_reply(client, store):
    subscribed(store, PHONE, NOW)

    response = text_in(client, "Do you have the blue one in size 9?", PHONE)

    assert replies(response) == 0
    inbound = InboundMessage.objects.get()
    assert (inbound.outcome, inbound.handled, inbound.body) == (
        InboundMessage.Outcome.MESSAGE,
        False,
        "Do you have the blue one in size 9?",
    )


def test_an_unknown_sender_becomes_a_customer_without_consent(client, store):
    text_in(client, "hi there", "+12125550123")

    customer = Customer.objects.get(phone="+12125550123")
    assert customer.sms_consent == Customer.Consent.NONE
    assert (customer.timezone, customer.timezone_source) == (
        "America/New_York",
        Customer.TimezoneSource.PHONE,
    )
    assert InboundMessage.objects.get().customer == customer


def test_a_stop_stops_every_later_marketing_text(client, store):
    stopped = subscribed(store, PHONE, NOW - timedelta(days=90))
    other = subscribed(store, "+14155550102", NOW - timedelta(days=90))
    template = MessageTemplate.objects.create(store=store, name="Sale", body="Summer sale starts now")
    text_in(client, "STOP", PHONE)

    campaign = Campaign.objects.create(
        store=store,
        name="Summer",
        slug="summer",
        template=template,
        segment=everyone(store),
        send_at=NOW,
        status=Campaign.Status.SCHEDULED,
    )
    campaign_materialize(campaign_id=campaign.pk, now=NOW)

    assert not Message.objects.filter(customer=stopped).exists()
    assert Message.objects.filter(customer=other).count() == 1


def test_reserved_words_cannot_become_store_keywords(store):
    with pytest.raises(ValidationError) as raised:
        keyword_word_clean("stop!")

    assert "reserved" in str(raised.value)


def test_a_store_keyword_is_stored_in_its_matching_form(store):
    form = KeywordForm(data={"store": store.pk, "word": " vip club ", "action": "join", "active": True})

    assert form.is_valid(), form.errors
    assert form.save().word == "VIPCLUB"


def test_installing_the_default_keywords_twice_keeps_one_of_each(store):
    assert store_keywords_install(store=store) == 2
    assert store_keywords_install(store=store) == 0

    assert sorted(Keyword.objects.values_list("word", flat=True)) == ["SHIPPING", "SIZE"]


def test_the_install_keywords_command(store):
    out = StringIO()

    call_command("install_keywords", "--store", "demo", stdout=out)

    assert "2 keyword(s) installed for Trailhead Supply." in out.getvalue()
    with pytest.raises(CommandError):
        call_command("install_keywords", "--store", "nope")
