import re

from django import forms
from django.utils import timezone

from accounts.forms import PulseForm
from accounts.models import Account
from accounts.selectors import people_in_scope
from surveys.models import DEFAULT_QUESTIONS, Campaign, Survey
from surveys.reminders import REMINDER_MAX_DAYS


class SurveyForm(PulseForm, forms.ModelForm):
    class Meta:
        model = Survey
        fields = ["kind", "name", "question", "follow_up_question", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The scale belongs to the answers already given: a survey never changes kind.
            self.fields["kind"].disabled = True
        self.fields["question"].help_text = (
            "Use {company} for your company's name (Setup → Company). Defaults: "
            + " / ".join(DEFAULT_QUESTIONS.values())
        )


class CampaignForm(PulseForm, forms.ModelForm):
    account_ids = forms.CharField(
        required=False,
        max_length=100_000,  # room for thousands of CRM IDs, which are not free text
        label="Accounts",
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "CRM IDs, one per line or separated by commas"}),
        help_text="For 'Picked accounts': the accounts' CRM IDs.",
    )

    class Meta:
        model = Campaign
        fields = ["name", "survey", "audience", "segment", "owner", "recipients", "scheduled_at", "reminder_after_days"]
        widgets = {"scheduled_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["survey"].queryset = Survey.objects.filter(is_active=True)
        self.fields["owner"].queryset = people_in_scope(user)
        self.fields["owner"].label = "CSM"
        self.fields["reminder_after_days"].widget.attrs.update(min=1, max=REMINDER_MAX_DAYS)

    def clean_account_ids(self):
        ids = [part for part in re.split(r"[\s,;]+", self.cleaned_data["account_ids"]) if part]
        found = dict(Account.objects.filter(external_id__in=ids).values_list("external_id", "pk"))
        if unknown := [external_id for external_id in ids if external_id not in found]:
            raise forms.ValidationError(f"No account with CRM ID {', '.join(unknown[:10])}.")
        return list(found.values())

    def clean_scheduled_at(self):
        when = self.cleaned_data["scheduled_at"]
        if when is not None and when < timezone.now() - timezone.timedelta(minutes=5):
            raise forms.ValidationError("This time has passed. Leave it empty to send when you press send.")
        return when

    def clean(self):
        cleaned = super().clean()
        audience = cleaned.get("audience")
        if audience == Campaign.Audience.SEGMENT and not cleaned.get("segment"):
            self.add_error("segment", "Choose the segment to ask.")
        if audience == Campaign.Audience.OWNER and not cleaned.get("owner"):
            self.add_error("owner", "Choose whose accounts to ask.")
        if (
            audience == Campaign.Audience.ACCOUNTS
            and not cleaned.get("account_ids")
            and "account_ids" not in self.errors
        ):
            self.add_error("account_ids", "List at least one account's CRM ID.")
        if cleaned.get("reminder_after_days") == 0:
            self.add_error("reminder_after_days", "A reminder comes at least one day later; leave it empty for none.")
        return cleaned
