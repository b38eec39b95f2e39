"""Removing a contact archives it: it leaves the lists and campaigns, its answers keep counting."""

import datetime

import pytest
import time_machine
from django.db.models import ProtectedError

from accounts.models import Contact
from accounts.selectors import account_list
from dashboards.rollup import compute_rollup
from scoring.inputs import read_input
from scoring.models import Component
from surveys import sending, services
from surveys.models import Campaign, Invitation, Kind, Response
from surveys.results import ResultFilters, compute_results
from surveys.selectors.feedback import feedback_comments
from tests.factories import CampaignFactory, ContactFactory, InvitationFactory, answered_invitation

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 20, 12, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def counts(user, account) -> dict:
    """What an archive must not change: results, inbox, health input and the manager's rollup."""
    filters = ResultFilters(kind=Kind.NPS, start=TODAY - datetime.timedelta(days=30), end=TODAY)
    results = compute_results(user=user, filters=filters)
    nps = Component(label="NPS", input="nps", window_days=180, poor=-100, good=100, weight=1)
    health = read_input(nps, type(account).objects.filter(pk=account.pk), TODAY)[account.pk]
    rollup = compute_rollup(user=user, today=TODAY).total
    return {
        "results": (results.n, results.headline.result.value),
        "inbox": feedback_comments(user=user).count(),
        "health": (health.raw, health.n),
        "rollup": (rollup.nps.n, rollup.nps.value, rollup.answered),
    }


def test_archiving_a_contact_keeps_their_answers_in_results_inbox_health_and_rollup(alice, maria, alice_account, login):
    detractor = answered_invitation(account=alice_account, score=2, comment="The export takes an hour.")
    answered_invitation(account=alice_account, score=10)
    before = {"alice": counts(alice, alice_account), "maria": counts(maria, alice_account)}
    assert before["alice"]["results"] == (2, 0) and before["alice"]["inbox"] == 1

    response = login(alice).post(f"/accounts/{alice_account.pk}/contacts/{detractor.contact_id}/archive/", follow=True)

    assert "archived. Their survey answers are kept and still count." in response.content.decode()
    assert {"alice": counts(alice, alice_account), "maria": counts(maria, alice_account)} == before
    contact = Contact.objects.get(pk=detractor.contact_id)
    assert (contact.archived_at, contact.archived_by) == (NOW, alice)
    assert Response.objects.filter(pk=detractor.pk, contact=contact, score=2).exists()
    assert Invitation.objects.filter(contact=contact).count() == 1


def test_an_archived_contact_leaves_the_contact_list_and_the_campaigns(alice, alice_account, login):
    kept = ContactFactory(account=alice_account, name="Kept Person", is_primary=True)
    gone = ContactFactory(account=alice_account, name="Gone Person", is_primary=True)
    pending = InvitationFactory(
        campaign=CampaignFactory(status=Campaign.Status.SENDING), contact=gone, status=Invitation.Status.PENDING
    )
    client = login(alice)
    client.post(f"/accounts/{alice_account.pk}/contacts/{gone.pk}/archive/", follow=True)  # shows the message

    page = client.get(alice_account.get_absolute_url()).content.decode()
    assert "Kept Person" in page and "Gone Person" not in page
    assert client.get(f"/accounts/{alice_account.pk}/contacts/{gone.pk}/edit/").status_code == 404
    assert list(services.campaign_contacts(CampaignFactory())) == [kept]
    assert services.campaign_preview(CampaignFactory()).audience == 1
    # An invitation made before the archive is skipped when its turn comes.
    assert sending.invitations_claim(invitation_ids=[pending.pk], token="t") == []
    pending.refresh_from_db()
    assert (pending.status, pending.last_error) == ("skipped", "contact archived")
    # The accounts list counts the contacts in use only.
    assert account_list(user=alice).get(pk=alice_account.pk).contact_count == 1


def test_the_archived_address_can_be_added_again(alice, alice_account, login):
    gone = ContactFactory(account=alice_account, email="nina@customer.test")
    client = login(alice)
    client.post(f"/accounts/{alice_account.pk}/contacts/{gone.pk}/archive/")
    client.post(f"/accounts/{alice_account.pk}/contacts/", {"name": "Nina", "email": "nina@customer.test"})
    assert Contact.objects.filter(email="nina@customer.test").count() == 2
    assert Contact.objects.active().get(email="nina@customer.test").name == "Nina"


def test_a_contact_with_survey_history_cannot_be_deleted(alice_account):
    answer = answered_invitation(account=alice_account, score=7)
    with pytest.raises(ProtectedError):
        Contact.objects.get(pk=answer.contact_id).delete()
    with pytest.raises(ProtectedError):
        alice_account.delete()
    assert Response.objects.filter(pk=answer.pk).exists()


def test_the_django_admin_archives_contacts_and_never_deletes_them(adam, alice_account, login):
    answer = answered_invitation(account=alice_account, score=3)
    client = login(adam)
    delete_url = f"/admin/accounts/contact/{answer.contact_id}/delete/"
    assert client.get(delete_url).status_code == 403
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    changelist = client.get("/admin/accounts/contact/").content.decode()
    assert "Archive selected contacts" in changelist and "Delete selected" not in changelist
    client.post(
        "/admin/accounts/contact/", {"action": "archive", "_selected_action": [answer.contact_id], "index": "0"}
    )
    contact = Contact.objects.get(pk=answer.contact_id)
    assert (contact.archived_at, contact.archived_by) == (NOW, adam)
    assert Response.objects.filter(pk=answer.pk).exists()
