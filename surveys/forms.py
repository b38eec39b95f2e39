import datetime
import re

from django import forms
from django.utils import timezone

from accounts.forms import CsvUploadField, DateInput, PulseForm
from accounts.models import Account, Team, User
from accounts.selectors import people_in_scope
from accounts.validators import validate_date
from surveys.models import DEFAULT_QUESTIONS, Campaign, Kind, ReplyTemplate, Response, Survey
from surveys.reminders import REMINDER_MAX_DAYS
from surveys.replies import unknown_placeholders
from surveys.results import DEFAULT_PERIOD, GROUPS, ResultFilters, period_start
from surveys.selectors.feedback import OPEN, teams_in_scope


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


STATUS_CHOICES = [
    (OPEN, "Open"),
    *Response.FeedbackStatus.choices,
    ("all", "All"),
]


class FeedbackFilterForm(PulseForm, forms.Form):
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES)
    kind = forms.ChoiceField(required=False, choices=[("", "All surveys"), *Kind.choices], label="Survey")
    team = forms.ModelChoiceField(queryset=None, required=False, empty_label="All teams")
    owner = forms.ModelChoiceField(queryset=None, required=False, empty_label="All CSMs", label="CSM")
    low = forms.BooleanField(required=False, label="Detractors and low scores only")
    mine = forms.BooleanField(required=False, label="Assigned to me")

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = people_in_scope(user)
        if user.role == User.Role.CSM:
            del self.fields["team"]  # a CSM sees one team: the filter would offer nothing
        else:
            self.fields["team"].queryset = teams_in_scope(user)


class FeedbackForm(PulseForm, forms.Form):
    status = forms.ChoiceField(
        choices=Response.FeedbackStatus.choices,
        error_messages={"required": "Pick a status.", "invalid_choice": "Pick new, acknowledged, replied or closed."},
    )
    assignee = forms.ModelChoiceField(
        queryset=None, required=False, error_messages={"invalid_choice": "Assign it to someone in your team."}
    )
    note = forms.CharField(required=False, widget=forms.Textarea)

    def __init__(self, *args, user: User, response: Response, **kwargs):
        super().__init__(*args, **kwargs)
        people = people_in_scope(user)
        if response.assignee_id:
            # Someone who has since left the user's scope may stay assigned, not be newly chosen.
            people = people | User.objects.filter(pk=response.assignee_id)
        self.fields["assignee"].queryset = people

    def clean_note(self):
        # Browsers send line breaks as CRLF but count them as one against maxlength; the service checks the length.
        return self.cleaned_data["note"].replace("\r\n", "\n")


class FeedbackReplyForm(PulseForm, forms.Form):
    subject = forms.CharField(max_length=200, error_messages={"required": "Write a subject."})
    body = forms.CharField(
        label="Reply", widget=forms.Textarea(attrs={"rows": 9}), error_messages={"required": "Write the reply."}
    )

    def clean_body(self):
        # Browsers send line breaks as CRLF but count them as one against maxlength.
        return self.cleaned_data["body"].replace("\r\n", "\n")


PLACEHOLDER_HELP = "Placeholders: " + ", ".join("{" + name + "}" for name in ReplyTemplate.PLACEHOLDERS) + "."


class ReplyTemplateForm(PulseForm, forms.ModelForm):
    class Meta:
        model = ReplyTemplate
        fields = ["subject", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 9})}
        help_texts = {"body": PLACEHOLDER_HELP}

    def clean(self):
        cleaned = super().clean()
        for name in ("subject", "body"):
            unknown = unknown_placeholders(cleaned.get(name) or "")
            if unknown:
                self.add_error(
                    name,
                    "Unknown placeholder " + ", ".join("{" + item + "}" for item in unknown) + ". " + PLACEHOLDER_HELP,
                )
        if cleaned.get("body"):
            cleaned["body"] = cleaned["body"].replace("\r\n", "\n")
        return cleaned


PERIOD_CHOICES = [("30", "Last 30 days"), ("90", "Last 90 days"), ("365", "Last 12 months"), ("custom", "Custom dates")]
BY_CHOICES = [("week", "Week"), ("month", "Month")]
MAX_YEARS = 10
CUSTOM_DEFAULT_DAYS = 365
AUTO_MONTHS_AFTER_DAYS = 120
# A bad filter value (an old link, an edited URL) is dropped with a note; the rest still apply.
IGNORED = {"invalid_choice": "%(value)s is not a choice here; this filter is ignored."}
NOT_YOURS = {"invalid_choice": "that choice is not available to you; this filter is ignored."}


class ResultFilterForm(PulseForm, forms.Form):
    """The filters of the results page and its export. Invalid values are dropped one by one."""

    kind = forms.ChoiceField(choices=Kind.choices, required=False, error_messages=IGNORED)
    period = forms.ChoiceField(choices=PERIOD_CHOICES, required=False, error_messages=IGNORED)
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="All teams", error_messages=NOT_YOURS
    )
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="All CSMs", label="CSM", error_messages=NOT_YOURS
    )
    segment = forms.ChoiceField(
        choices=[("", "All segments"), *Account.Segment.choices], required=False, error_messages=IGNORED
    )
    survey = forms.ModelChoiceField(
        queryset=Survey.objects.none(), required=False, empty_label="All surveys", error_messages=NOT_YOURS
    )
    account = forms.ModelChoiceField(
        queryset=Account.objects.none(),
        required=False,
        error_messages={"invalid_choice": "that account is not one you can see; showing all accounts."},
    )
    by = forms.ChoiceField(choices=BY_CHOICES, required=False, label="Trend by", error_messages=IGNORED)
    group = forms.ChoiceField(
        choices=[(key, label) for key, (label, _, _) in GROUPS.items()], required=False, error_messages=IGNORED
    )

    def __init__(self, data, *, user: User):
        super().__init__(data)
        # `from` and `to` are Python keywords, so these two fields are added by name.
        self.fields["from"] = forms.DateField(
            required=False, label="From", widget=DateInput(), validators=[validate_date]
        )
        self.fields["to"] = forms.DateField(required=False, label="To", widget=DateInput(), validators=[validate_date])
        kind = data.get("kind") if data.get("kind") in Kind.values else Kind.NPS
        self.fields["survey"].queryset = Survey.objects.filter(kind=kind)
        self.fields["owner"].queryset = people_in_scope(user)
        self.fields["account"].queryset = Account.objects.visible_to(user)
        if user.role == User.Role.ADMIN:
            self.fields["team"].queryset = Team.objects.all()
        elif user.role == User.Role.MANAGER:
            self.fields["team"].queryset = user.managed_teams.all()
        else:
            del self.fields["team"]  # a CSM sees one team: nothing to choose

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("from"), cleaned.get("to")
        if start and end and start > end:
            self.add_error("to", "The end date is before the start date.")
        elif start and not end and start > timezone.localdate():
            self.add_error("from", "The start date is in the future.")
        elif start and (end or timezone.localdate()) - start > datetime.timedelta(days=366 * MAX_YEARS):
            self.add_error("from", f"Choose at most {MAX_YEARS} years at once.")
        return cleaned

    def filters(self) -> tuple[ResultFilters, str, str]:
        """(filters, period, group) from whatever was valid; call after is_valid()."""
        data = self.cleaned_data
        today = timezone.localdate()
        period = data.get("period") or ("custom" if data.get("from") or data.get("to") else DEFAULT_PERIOD)
        common = {
            "kind": data.get("kind") or Kind.NPS,
            "team": data.get("team"),
            "owner": data.get("owner"),
            "segment": data.get("segment") or "",
            "account": data.get("account"),
            "survey": data.get("survey"),
        }
        if period == "custom":
            end = data.get("to") or today
            start = data.get("from") or end - datetime.timedelta(days=CUSTOM_DEFAULT_DAYS - 1)
            # Show the dates in use, also when they were defaults.
            self.data = self.data.copy()
            self.data["from"], self.data["to"] = start.isoformat(), end.isoformat()
        else:
            end = today
            start = period_start(period, today)
        # Weekly points over a year are mostly tiny samples: long periods default to months.
        by = data.get("by") or ("month" if (end - start).days > AUTO_MONTHS_AFTER_DAYS else "week")
        filters = ResultFilters(start=start, end=end, by=by, **common)
        self.data = self.data.copy()
        self.data["period"] = period
        return filters, period, data.get("group") or "owner"


class AnswerImportForm(PulseForm, forms.Form):
    answers_file = CsvUploadField(
        label="Answers CSV",
        help_text="Columns: date, kind, score, contact_email and/or account_external_id, comment (optional).",
    )
