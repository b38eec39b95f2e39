"""Every form refuses line breaks and control characters in one-line fields (they end up in email
headers and CSV cells), and free text has a length limit, each with a clear message."""

import datetime
import html

import pytest
import time_machine
from django import forms

from accounts.forms import PulseForm, text_field_checks
from accounts.models import Account, ApiToken, CheckIn, Contact, MetricDefinition, User
from scoring.models import HealthModel, Override
from surveys.models import Survey
from tests.factories import ContactFactory, SurveyFactory

ONE_LINE = "This field must be a single line without control characters (line breaks, tabs, NUL)."
NO_CONTROLS = "This field must not contain control characters (such as NUL)."
TODAY = datetime.date(2026, 3, 10)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(datetime.datetime(2026, 3, 10, 12, 0, tzinfo=datetime.UTC), tick=False):
        yield


def page(response) -> str:
    return html.unescape(response.content.decode())


def account_data(owner, **changes) -> dict:
    data = {"name": "Acme Corp", "external_id": "CRM-77", "owner": owner.pk, "segment": "smb", "arr": "1200",
            "lifecycle_stage": "onboarding", "status": "active"}  # fmt: skip
    return {**data, **changes}


@pytest.mark.parametrize("field", ["name", "external_id"])
@pytest.mark.parametrize("value", ["Acme\nCorp", "Acme\r\nCorp", "Acme\tCorp", "Acme\u2028Corp", "Acme\x1bCorp"])
def test_a_new_account_with_a_control_character_is_refused(alice, login, field, value):
    response = login(alice).post("/accounts/new/", account_data(alice, **{field: value}))
    assert response.status_code == 422
    assert ONE_LINE in page(response)
    assert not Account.objects.exists()


def test_an_account_renamed_with_a_line_break_is_refused_and_kept(alice, alice_account, login):
    data = account_data(alice, name="Acme\nCorp", external_id=alice_account.external_id)
    response = login(alice).post(f"/accounts/{alice_account.pk}/edit/", data)
    assert response.status_code == 422 and ONE_LINE in page(response)
    alice_account.refresh_from_db()
    assert alice_account.name == "Acme Alpha"


@pytest.mark.parametrize("field", ["name", "title"])
def test_a_contact_with_a_line_break_is_refused(alice, alice_account, login, field):
    data = {"name": "Dora Dorsey", "email": "dora@customer.test", "title": "CTO", field: "Dora\nDorsey"}
    response = login(alice).post(f"/accounts/{alice_account.pk}/contacts/", data)
    assert response.status_code == 422 and ONE_LINE in page(response)
    assert not Contact.objects.exists()


def test_a_contact_edited_with_a_line_break_is_refused_and_kept(alice, alice_account, login):
    dora = ContactFactory(account=alice_account, name="Dora Dorsey")
    data = {"name": "Dora\nDorsey", "email": dora.email, "title": dora.title}
    response = login(alice).post(f"/accounts/{alice_account.pk}/contacts/{dora.pk}/edit/", data)
    assert response.status_code == 422 and ONE_LINE in page(response)
    dora.refresh_from_db()
    assert dora.name == "Dora Dorsey"


@pytest.mark.parametrize("field", ["name", "question", "follow_up_question"])
def test_a_survey_with_a_line_break_is_refused(adam, login, field):
    survey = SurveyFactory(kind="nps")
    data = {"kind": "nps", "name": "NPS", "question": "How likely?", "follow_up_question": "Why?", "is_active": "on",
            field: "How likely\nare you?"}  # fmt: skip
    response = login(adam).post(f"/surveys/{survey.pk}/edit/", data)
    assert response.status_code == 422 and ONE_LINE in page(response)
    assert "\n" not in "".join(Survey.objects.values_list("name", "question", "follow_up_question").get(pk=survey.pk))


def test_a_metric_label_with_a_line_break_is_refused(adam, login):
    response = login(adam).post("/metrics/", {"key": "active_users", "label": "Active\nusers", "unit": "users"})
    assert response.status_code == 422 and ONE_LINE in page(response)
    assert not MetricDefinition.objects.filter(key="active_users").exists()


def test_a_token_name_with_a_line_break_is_refused(adam, login):
    response = login(adam).post("/settings/api-tokens/", {"name": "CRM\nsync"})
    assert response.status_code == 422 and ONE_LINE in page(response)
    assert not ApiToken.objects.exists()


def test_a_model_name_with_a_line_break_is_refused(adam, login):
    response = login(adam).post("/health/models/new/", {"segment": "smb", "name": "SMB\nmodel"})
    assert response.status_code == 422 and ONE_LINE in page(response)
    assert not HealthModel.objects.filter(segment="smb").exists()


def checkin(**changes) -> dict:
    return {"date": TODAY.isoformat(), "sentiment": "4", "notes": "", **changes}


def test_a_checkin_note_over_10000_characters_is_refused_with_the_limit(alice, alice_account, login):
    response = login(alice).post(f"/accounts/{alice_account.pk}/checkins/", checkin(notes="n" * 10_001))
    assert response.status_code == 422
    assert "Keep this to 10,000 characters or fewer (it has 10,001)." in page(response)
    assert 'maxlength="10000"' in response.content.decode()  # the browser says so before posting
    assert not CheckIn.objects.exists()


def test_a_checkin_note_of_10000_characters_with_line_breaks_is_kept(alice, alice_account, login):
    notes = "Renewal risk.\r\n" * 666 + "x" * 10  # 14 + 1 per line: 9,990 + 10 characters as the browser counts
    response = login(alice).post(f"/accounts/{alice_account.pk}/checkins/", checkin(notes=notes))
    assert response.status_code == 302
    assert CheckIn.objects.get().notes.count("\n") == 666


def test_a_checkin_note_with_a_control_character_is_refused(alice, alice_account, login):
    response = login(alice).post(f"/accounts/{alice_account.pk}/checkins/", checkin(notes="Call\x07 went well"))
    assert response.status_code == 422 and NO_CONTROLS in page(response)
    assert not CheckIn.objects.exists()


def test_an_override_reason_over_its_limit_is_refused_with_the_limit(alice, alice_account, login):
    data = {"band": "yellow", "score": "", "reason": "r" * 2_001, "expires_on": "2026-03-20"}
    response = login(alice).post(f"/accounts/{alice_account.pk}/health/override/", data)
    assert response.status_code == 422
    assert "Keep this to 2,000 characters or fewer (it has 2,001)." in page(response)
    assert not Override.objects.exists()


class _Everything(PulseForm, forms.Form):
    title = forms.CharField()
    email = forms.EmailField()
    story = forms.CharField(widget=forms.Textarea)
    short_story = forms.CharField(widget=forms.Textarea, max_length=50, required=False)
    count = forms.IntegerField()


def test_every_text_field_of_a_form_gets_the_checks():
    form = _Everything({"title": "A\nB", "email": "a@b.test", "story": "x" * 10_001, "short_story": "y" * 51,
                        "count": "1"})  # fmt: skip
    assert not form.is_valid()
    assert form.errors == {
        "title": [ONE_LINE],
        "story": ["Keep this to 10,000 characters or fewer (it has 10,001)."],
        "short_story": ["Keep this to 50 characters or fewer (it has 51)."],
    }
    assert _Everything(
        {"title": "A B", "email": "a@b.test", "story": "one\ntwo", "short_story": "", "count": "1"}
    ).is_valid()


def test_the_checks_are_added_once_per_form_not_to_the_class():
    field = forms.CharField()
    text_field_checks(field)
    assert len(field.validators) == 2  # Django's NUL check and ours
    _Everything()
    _Everything()
    assert len(_Everything.base_fields["title"].validators) == 1  # only Django's own


def test_the_django_admin_refuses_a_team_name_with_a_line_break(adam, team_a, login):
    response = login(adam).post(f"/admin/accounts/team/{team_a.pk}/change/", {"name": "Team\nA"})
    assert response.status_code == 200 and ONE_LINE in page(response)  # the admin's own re-render
    team_a.refresh_from_db()
    assert team_a.name == "Team A"


def test_the_django_admin_takes_any_password_for_a_new_user(adam, login):
    client = login(adam)
    data = {"email": "new@pulse.test", "name": "New Person", "role": "csm", "password": "tab\there"}
    response = client.post("/admin/accounts/user/add/", data)
    assert response.status_code == 302
    assert User.objects.get(email="new@pulse.test").check_password("tab\there")
