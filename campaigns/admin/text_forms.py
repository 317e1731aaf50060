"""Admin forms whose text is checked as every text is: the template checks run once the form has
built its instance (the model itself only checks its own fields)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from campaigns.content.checks import text_errors


class CheckedTextForm(forms.ModelForm):
    """A template's, a step's or a copy variant's form: syntax, unknown fields and link domains."""

    def _post_clean(self) -> None:
        # As Django's own UserCreationForm checks a password: after the instance is built and cleaned.
        super()._post_clean()
        found = text_errors(self.instance)
        problems = {name: messages for name, messages in found.items() if name in self.fields}
        if problems:
            self._update_errors(ValidationError(problems))
