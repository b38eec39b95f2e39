"""The renewal forms: a forecast call, closing a renewal, and the renewals page's filters."""

from django import forms

from accounts.churn import churn_reach
from accounts.forms import PulseForm
from accounts.models import User
from accounts.validators import validate_date, validate_past_date
from renewals.models import Call, ChurnReason, Outcome
from renewals.selectors import DEFAULT_WINDOW, NO_CALL, SORTS, WINDOWS
from renewals.services import outcome_problems
from scoring.models import Band
from surveys.forms import IGNORED, NOT_YOURS


class ForecastCallForm(PulseForm, forms.Form):
    call = forms.ChoiceField(choices=Call.choices, widget=forms.RadioSelect, label="Your call")
    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Why: what you heard, what would change it"}),
    )


class RenewalCloseForm(PulseForm, forms.Form):
    outcome = forms.ChoiceField(choices=Outcome.choices)
    new_arr = forms.DecimalField(
        label="New ARR", required=False, min_value=0, max_digits=14, decimal_places=2, help_text="Empty when churned."
    )
    churn_reason = forms.ModelChoiceField(
        queryset=ChurnReason.objects.filter(archived_at__isnull=True), required=False, empty_label="—"
    )
    closed_on = forms.DateField(
        label="Closed on", validators=[validate_past_date], widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, renewal, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.renewal = renewal
        self.user = user

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        problems = outcome_problems(
            arr=self.renewal.arr,
            outcome=data["outcome"],
            new_arr=None if data["outcome"] == Outcome.CHURNED else data.get("new_arr"),
            churn_reason=data.get("churn_reason"),
        )
        if data["outcome"] == Outcome.CHURNED:
            if data.get("new_arr"):
                problems["new_arr"] = "A churned renewal has no new ARR: leave it empty."
            # The accounts below churn with it: every one of them must be the closer's to edit.
            if scope_problem := churn_reach(account=self.renewal.account, user=self.user).problem:
                problems["outcome"] = scope_problem
        for name, message in problems.items():
            self.add_error(name, message)
        return data


class RenewalOpenForm(PulseForm, forms.Form):
    renewal_date = forms.DateField(
        label="Renewal date", validators=[validate_date], widget=forms.DateInput(attrs={"type": "date"})
    )
    arr = forms.DecimalField(label="ARR up for renewal", min_value=0, max_digits=14, decimal_places=2)


class RenewalFilterForm(PulseForm, forms.Form):
    """The renewals page's filters; a bad value is dropped with a note, the others still apply."""

    within = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=DEFAULT_WINDOW,
        choices=[(str(days), f"Next {days} days") for days in WINDOWS],
        label="Due",
        error_messages=IGNORED,
    )
    call = forms.ChoiceField(
        required=False, choices=[("", "Any call"), *Call.choices, (NO_CALL, "No call")], error_messages=IGNORED
    )
    band = forms.ChoiceField(
        required=False, choices=[("", "Any health"), *Band.choices], label="Health", error_messages=IGNORED
    )
    flag = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Everything"),
            ("any", "Anything flagged"),
            ("disagree", "Call and health disagree"),
            ("missing", "No call"),
            ("stale", "Stale call"),
            ("past_due", "Past its date"),
        ],
        label="Show",
        error_messages=IGNORED,
    )
    csm = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="CSM", error_messages=NOT_YOURS)
    sort = forms.ChoiceField(required=False, choices=[(key, key) for key in SORTS], error_messages=IGNORED)
    desc = forms.BooleanField(required=False)

    def __init__(self, data, *, people: list[User]):
        super().__init__(data)
        self.fields["csm"].choices = [("", "Every CSM"), *[(str(person.pk), person.name) for person in people]]

    def errors_to_show(self) -> list[str]:
        return [
            f"{self.fields[name].label or name.capitalize()}: {message}"
            for name, messages in self.errors.items()
            for message in messages
        ]
