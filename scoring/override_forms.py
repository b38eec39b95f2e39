"""The form that overrides an account's health: a band or a score, a reason, an end date."""

import datetime

from django import forms
from django.utils import timezone

from accounts.forms import DateInput, PulseForm
from scoring.models import Band

DEFAULT_DAYS = 30
MAX_DAYS = 365


class OverrideForm(PulseForm, forms.Form):
    band = forms.ChoiceField(
        required=False,
        choices=[("", "—"), *Band.choices[:3]],
        error_messages={"invalid_choice": "Choose red, yellow or green."},
    )
    score = forms.FloatField(
        required=False,
        min_value=0,
        max_value=100,
        label="or score",
        widget=forms.NumberInput(attrs={"step": "1", "inputmode": "numeric"}),
        error_messages={
            "invalid": "Enter the score as a number from 0 to 100.",
            "min_value": "The score must be between 0 and 100.",
            "max_value": "The score must be between 0 and 100.",
        },
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        help_text="What you know that the inputs do not, e.g. a champion left, an escalation is resolved.",
        error_messages={"required": "Say why: the reason is shown to everyone who sees this account."},
    )
    expires_on = forms.DateField(
        label="Until",
        widget=DateInput(),
        help_text=f"At most {MAX_DAYS} days ahead; the computed score takes over again after this day.",
        error_messages={"required": "Give the last day of the override.", "invalid": "Enter a valid date."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = timezone.localdate()
        self.fields["expires_on"].initial = self.today + datetime.timedelta(days=DEFAULT_DAYS)

    def clean_reason(self):
        reason = self.cleaned_data["reason"].replace("\r\n", "\n").strip()
        if not reason:
            raise forms.ValidationError("Say why: the reason is shown to everyone who sees this account.")
        return reason

    def clean_expires_on(self):
        expires_on = self.cleaned_data["expires_on"]
        if expires_on <= self.today:
            raise forms.ValidationError("The end date must be in the future.")
        if expires_on > self.today + datetime.timedelta(days=MAX_DAYS):
            raise forms.ValidationError(f"An override lasts at most {MAX_DAYS} days; pick an earlier end date.")
        return expires_on

    def clean(self):
        cleaned = super().clean()
        band, score = cleaned.get("band"), cleaned.get("score")
        if "score" in self.errors or "band" in self.errors:
            return cleaned
        if band and score is not None:
            raise forms.ValidationError("Choose a band or a score, not both.")
        if not band and score is None:
            raise forms.ValidationError("Choose a band or a score to override the computed health with.")
        return cleaned
