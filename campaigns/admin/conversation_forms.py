"""Forms of the staff inbox: the reply box and the assignment."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib.auth import get_user_model

REPLY_MAX = 1600  # Twilio's limit for one message body


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Reply",
        max_length=REPLY_MAX,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Type your answer…"}),
    )
    # One per rendered form: posting the same form twice sends one text.
    nonce = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)


class AssignForm(forms.Form):
    assigned_to = forms.ModelChoiceField(
        label="Assigned to", queryset=get_user_model().objects.none(), required=False, empty_label="Nobody"
    )

    def __init__(self, *args, users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].queryset = users
