"""The dashboards' filter forms: the portfolio's and the team rollup's (bad values are dropped, not refused)."""

from django import forms

from accounts.forms import PulseForm
from accounts.models import Account, Team
from dashboards.portfolio import SORT_KEYS
from dashboards.rollup import RENEWAL_DAYS
from scoring.models import Band
from surveys.forms import IGNORED  # a bad filter value is dropped with a note, as on Results

RENEWAL_WINDOWS = [30, 60, 90]


class PortfolioFilterForm(PulseForm, forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    band = forms.ChoiceField(required=False, choices=[("", "All bands"), *Band.choices], label="Health")
    segment = forms.ChoiceField(required=False, choices=[("", "All segments"), *Account.Segment.choices])
    renewal = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Any date"), *[(str(days), f"Within {days} days") for days in RENEWAL_WINDOWS]],
    )
    overdue = forms.ChoiceField(required=False, choices=[("", "Any"), ("yes", "Overdue")], label="Check-in")
    group = forms.ChoiceField(
        required=False, choices=[("", "No grouping"), ("parent", "By parent account")], label="Group"
    )
    sort = forms.ChoiceField(required=False, choices=[(key, key) for key in SORT_KEYS])
    desc = forms.BooleanField(required=False)


PERIOD_CHOICES = [("90", "Last 90 days"), ("365", "Last 12 months")]
NOT_YOURS = {"invalid_choice": "that team is not one of yours; showing all your teams."}


class RollupFilterForm(PulseForm, forms.Form):
    """The rollup's filters, and which accounts to list below them (`show=accounts` and its filters)."""

    team = forms.ChoiceField(required=False, error_messages=NOT_YOURS)
    period = forms.ChoiceField(choices=PERIOD_CHOICES, required=False, label="Surveys", error_messages=IGNORED)
    show = forms.ChoiceField(choices=[("accounts", "accounts")], required=False, error_messages=IGNORED)
    segment = forms.ChoiceField(choices=[("", "Any"), *Account.Segment.choices], required=False, error_messages=IGNORED)
    band = forms.ChoiceField(choices=[("", "Any"), *Band.choices], required=False, error_messages=IGNORED)
    renewal = forms.ChoiceField(choices=[("", "Any"), (str(RENEWAL_DAYS), "")], required=False, error_messages=IGNORED)

    def __init__(self, data, *, teams: list[Team]):
        super().__init__(data)
        self.teams = {str(team.pk): team for team in teams}
        if len(teams) > 1:
            self.fields["team"].choices = [("", "All your teams"), *[(str(team.pk), team.name) for team in teams]]
        else:
            del self.fields["team"]  # one team (or a CSM's own): nothing to choose

    def errors_to_show(self) -> list[str]:
        labels = {"team": "Team", "period": "Survey period"}
        return [
            f"{labels.get(name, name.capitalize())}: {message}"
            for name, messages in self.errors.items()
            for message in messages
        ]
