"""The broadcast campaign's form: a text that needs a flow's trigger is refused before it is saved."""

from __future__ import annotations

from django import forms

from campaigns.content.checks import broadcast_error
from campaigns.models import Campaign


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = ["store", "name", "slug", "template", "segment", "send_at", "local_send_time"]
        fields += ["valid_hours", "offer"]

    def clean_template(self):
        template = self.cleaned_data.get("template")
        refused = broadcast_error(template.body) if template is not None else ""
        if refused:
            raise forms.ValidationError(refused)
        return template
