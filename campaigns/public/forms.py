"""Forms of the public pages: sign-up and the subscriber's preferences."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Layout, Submit
from django import forms

from campaigns.inbound.preferences import FREQUENCY_CHOICES, TOPIC_CHOICES
from customers.models import Customer, Store
from customers.phones import InvalidPhone, phone_normalize


def signup_disclosure(store: Store) -> str:
    return (
        f"I agree to receive recurring automated marketing text messages (e.g. cart reminders) from "
        f"{store.brand_name} at the number provided. Consent is not a condition of purchase. "
        "Msg frequency varies. Msg & data rates may apply. Reply HELP for help, STOP to cancel."
    )


class SignupForm(forms.Form):
    phone = forms.CharField(label="Mobile number", max_length=32, help_text="e.g. (415) 555-0100")
    first_name = forms.CharField(label="First name", max_length=100, required=False)
    consent = forms.BooleanField(
        error_messages={"required": "Tick the box to agree to receive texts; we need your consent."}
    )

    def __init__(self, *args: object, store: Store, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["consent"].label = signup_disclosure(store)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Sign me up", css_class="btn-primary"))

    def clean_phone(self) -> str:
        try:
            return phone_normalize(self.cleaned_data["phone"])
        except InvalidPhone:
            raise forms.ValidationError("Enter a valid US mobile number, e.g. (415) 555-0100.") from None


def opt_out_label(store: Store) -> str:
    return f"Stop all texts from {store.brand_name}"


def restart_hint(store: Store) -> str:
    """How an opted-out subscriber starts texts again: from the phone, never from a web page."""
    where = f"text START to {store.from_number}" if store.from_number else "reply START to our last text"
    return f"You're unsubscribed. To get texts from {store.brand_name} again, {where}."


class PreferencesForm(forms.Form):
    topics = forms.MultipleChoiceField(
        label="What would you like to hear about?",
        choices=TOPIC_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    categories = forms.MultipleChoiceField(
        label="Favourite categories", widget=forms.CheckboxSelectMultiple, required=False
    )
    frequency = forms.ChoiceField(
        label="How often?", choices=FREQUENCY_CHOICES, widget=forms.RadioSelect, required=False
    )
    opt_out = forms.BooleanField(required=False)

    def __init__(self, *args: object, customer: Customer, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        store = customer.store
        names = list(store.categories.order_by("name").values_list("name", flat=True))
        self.fields["categories"].choices = [(n, n) for n in names]
        if not names:
            del self.fields["categories"]
        self.fields["opt_out"].label = opt_out_label(store)
        self.helper = FormHelper()
        if customer.sms_consent == Customer.Consent.UNSUBSCRIBED:
            del self.fields["opt_out"]
            # The page's context carries the hint: HTML() is a template, the store's name is data.
            hint = HTML('<p class="alert alert-info">{{ restart_hint }}</p>')
            self.helper.layout = Layout(hint, *self.fields)
        self.helper.add_input(Submit("submit", "Save my choices", css_class="btn-primary"))
