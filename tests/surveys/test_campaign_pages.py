"""Survey and campaign pages (admins): create, preview, send, progress."""

import pytest

from surveys import services
from surveys.models import Campaign, Invitation, Survey
from tests.factories import AccountFactory, CampaignFactory, ContactFactory, SurveyFactory
from tests.helpers import HTMX


@pytest.fixture
def contacts(alice):
    account = AccountFactory(owner=alice, external_id="CRM-1")
    return [ContactFactory(account=account, is_primary=True), ContactFactory(account=account)]


@pytest.mark.parametrize("url", ["/surveys/", "/surveys/new/", "/campaigns/", "/campaigns/new/"])
@pytest.mark.parametrize("viewer", ["alice", "maria"])
def test_survey_admin_pages_are_404_for_non_admins(cast, login, url, viewer):
    assert login(cast[viewer]).get(url).status_code == 404
    assert login(cast["adam"]).get(url).status_code == 200


def test_default_surveys_exist_after_migrate(db):
    assert sorted(Survey.objects.values_list("kind", flat=True)) == ["ces", "csat", "nps"]


def test_survey_kind_cannot_change_once_created(adam, login):
    survey = SurveyFactory(kind="nps")
    login(adam).post(f"/surveys/{survey.pk}/edit/", {"kind": "csat", "name": "Renamed", "question": "Q?"})
    survey.refresh_from_db()
    assert (survey.kind, survey.name) == ("nps", "Renamed")


def test_create_campaign_then_preview_then_send(adam, login, contacts, django_capture_on_commit_callbacks, mailoutbox):
    client = login(adam)
    survey = Survey.objects.get(kind="nps")
    response = client.post(
        "/campaigns/new/",
        {"name": "Q4 NPS", "survey": survey.pk, "audience": "accounts", "account_ids": "CRM-1", "recipients": "all"},
    )
    campaign = Campaign.objects.get()
    assert response["Location"] == f"/campaigns/{campaign.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "<strong>2</strong> contacts will be asked" in page and "Send now" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/campaigns/{campaign.pk}/send/")
    campaign.refresh_from_db()
    assert campaign.status == "sent" and len(mailoutbox) == 2
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "Sent" in page and "Send now" not in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"audience": "segment"}, "Choose the segment to ask."),
        ({"audience": "owner"}, "Choose whose accounts to ask."),
        ({"audience": "accounts"}, "List at least one account&#x27;s CRM ID."),
        ({"audience": "accounts", "account_ids": "CRM-1, NOPE-9"}, "No account with CRM ID NOPE-9."),
        ({"audience": "all", "scheduled_at": "2001-01-01T10:00"}, "This time has passed."),
        ({"audience": "all", "scheduled_at": "9999-12-31T10:00"}, "Enter a date between 2000-01-01 and"),
        ({"audience": "all", "reminder_after_days": "0"}, "A reminder comes at least one day later"),
    ],
)
def test_bad_campaign_is_refused_with_reason(adam, login, contacts, data, message):
    survey = Survey.objects.get(kind="csat")
    response = login(adam).post("/campaigns/new/", {"name": "X", "survey": survey.pk, "recipients": "primary", **data})
    assert response.status_code == 422 and message in response.content.decode()
    assert not Campaign.objects.exists()


def test_progress_partial_polls_while_sending(adam, login, contacts):
    campaign = CampaignFactory(status="sending")
    for contact in contacts:
        Invitation.objects.create(campaign=campaign, contact=contact, account=contact.account)
    Invitation.objects.filter(contact=contacts[0]).update(status="sent")
    fragment = login(adam).get(f"/campaigns/{campaign.pk}/", headers=HTMX).content.decode()
    assert "<html" not in fragment and 'hx-trigger="load delay:2s"' in fragment
    assert 'value="50"' in fragment and "1 of 2 done" in fragment


def test_finished_campaign_shows_totals_and_retry(adam, login, contacts):
    campaign = CampaignFactory(status="sent")
    Invitation.objects.create(campaign=campaign, contact=contacts[0], account=contacts[0].account, status="responded")
    Invitation.objects.create(
        campaign=campaign, contact=contacts[1], account=contacts[1].account, status="failed", last_error="451 later"
    )
    page = login(adam).get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "hx-trigger" not in page and "Retry 1 failed" in page and "451 later" in page
    assert "100% <span" in page  # 1 answered of 1 sent


def test_a_campaign_whose_accounts_cannot_be_saved_is_not_saved_either(adam):
    campaign = Campaign(name="Q4 NPS", survey=SurveyFactory(), audience=Campaign.Audience.ACCOUNTS)
    with pytest.raises(ValueError):
        services.campaign_create(campaign=campaign, account_ids=["not an id"], by=adam)
    assert not Campaign.objects.exists()
