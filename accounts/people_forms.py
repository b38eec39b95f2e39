"""Forms of the people and teams pages (accounts/people_views.py)."""

from django import forms
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import ValidationError

from accounts.email_address import normalise_email
from accounts.forms import PulseForm
from accounts.models import CompanySettings, Team, User
from accounts.people import is_invited

MAX_ID = 2**63 - 1  # the largest primary key any supported database stores


class ChoicesById(forms.ModelMultipleChoiceField):
    """Refuses ids no database can hold before looking them up: SQLite raises OverflowError on an `__in`
    of a 30-digit number instead of finding nothing."""

    def _check_values(self, value):
        for pk in value:
            try:
                in_range = 0 < int(str(pk)) <= MAX_ID
            except ValueError:
                in_range = True  # not a number: Django's own check names it
            if not in_range:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                )
        return super()._check_values(value)


class TeamChoices:
    """Team fields offer the active teams, plus those the person is already in (so saving keeps them)."""

    def _team_fields(self, person: User | None):
        teams = Team.objects.active()
        if person is not None and person.pk:
            teams = Team.objects.filter(
                pk__in=[*teams.values_list("pk", flat=True), *person.managed_teams.values_list("pk", flat=True)]
                + ([person.team_id] if person.team_id else [])
            )
        self.fields["team"].queryset = teams
        self.fields["managed_teams"].queryset = teams

    def clean(self):
        cleaned = super().clean()
        role = cleaned.get("role")
        if role == User.Role.CSM and not cleaned.get("team"):
            self.add_error("team", "A CSM needs a team: it decides which accounts they see.")
        if role == User.Role.MANAGER and not cleaned.get("managed_teams"):
            self.add_error("managed_teams", "A manager needs at least one team to manage.")
        if role != User.Role.MANAGER:
            cleaned["managed_teams"] = Team.objects.none()
        return cleaned


class PersonFields(forms.Form):
    name = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=User.Role.choices)
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="No team", help_text="A CSM's team."
    )
    managed_teams = ChoicesById(
        queryset=Team.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Teams managed",
        help_text="The teams a manager sees.",
    )


class InviteForm(PulseForm, TeamChoices, PersonFields):
    email = forms.EmailField()
    field_order = ["email", "name", "role", "team", "managed_teams"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._team_fields(None)

    def clean_email(self):
        email = normalise_email(self.cleaned_data["email"])
        if User.objects.filter(email=email).exists():
            raise ValidationError("Someone with this email already has an account: find them in the list.")
        return email


class PersonForm(PulseForm, TeamChoices, PersonFields):
    def __init__(self, *args, person: User, **kwargs):
        initial = {
            "name": person.name,
            "role": person.role,
            "team": person.team_id,
            "managed_teams": list(person.managed_teams.values_list("pk", flat=True)),
        }
        super().__init__(*args, initial=initial, **kwargs)
        self._team_fields(person)


class TeamForm(PulseForm, forms.ModelForm):
    class Meta:
        model = Team
        fields = ["name"]
        error_messages = {"name": {"unique": "A team with this name already exists (archived teams count too)."}}


class ReassignForm(PulseForm, forms.Form):
    targets = ChoicesById(
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        label="Give the accounts to",
        help_text="One person gets them all; several share them, each getting a similar ARR.",
        error_messages={"required": "Choose who gets the accounts."},
    )

    def __init__(self, *args, person: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["targets"].queryset = (
            User.objects.filter(is_active=True, role__in=[User.Role.CSM, User.Role.MANAGER])
            .exclude(pk=person.pk)
            .select_related("team")
            .order_by("team__name", "name")
        )
        self.fields["targets"].label_from_instance = _target_label


def _target_label(user: User) -> str:
    """Who they are, with a note when they have not yet logged in: their accounts wait for them meanwhile."""
    where = "manager" if user.is_manager else (user.team.name if user.team_id else "no team")
    invited = ", invited, not yet logged in" if is_invited(user) else ""
    return f"{user} ({where}{invited})"


class CompanyForm(PulseForm, forms.ModelForm):
    class Meta:
        model = CompanySettings
        fields = ["company_name"]


class FirstPasswordForm(PulseForm, SetPasswordForm):
    """The invitation's password form, labelled like the rest of the app."""
