"""Erasing a person's personal data (GDPR): admins only; the scores stay, the person does not."""

import datetime

import pytest
import time_machine

from accounts.email_address import address_hash
from accounts.models import Contact, ContactErasure, Notification, SuppressedAddress
from surveys import services
from surveys.alerts import response_alert_owner
from surveys.erasure import contact_erase
from surveys.models import Response
from surveys.results import ResultFilters, compute_results
from tests.factories import CampaignFactory, ContactFactory, answered_invitation
from tests.surveys.previews import left_out_counts

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 20, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def answer(alice_account):
    response = answered_invitation(account=alice_account, score=3, comment="Call me on +44 7700 900123, Nina.")
    Contact.objects.filter(pk=response.contact_id).update(
        name="Nina Nagel", email="nina@customer.test", email_hash=address_hash("nina@customer.test"), title="CFO"
    )
    return response


def erase_url(answer) -> str:
    return f"/accounts/{answer.account_id}/contacts/{answer.contact_id}/erase/"


def test_the_confirmation_page_says_what_goes_and_what_stays(adam, answer, login):
    page = login(adam).get(erase_url(answer)).content.decode()
    assert "<h1>Erase Nina Nagel's personal data</h1>" in page
    assert "Their 1 survey answer keeps counting in results and health, with the score only." in page
    assert "Their 1 comment is emptied" in page
    assert Contact.objects.get(pk=answer.contact_id).name == "Nina Nagel"  # a GET changes nothing


def test_an_admin_erases_name_and_email_keeps_the_score_and_is_recorded(adam, alice, answer, login):
    filters = ResultFilters(start=NOW.date() - datetime.timedelta(days=30), end=NOW.date())
    before = compute_results(user=alice, filters=filters)

    page = login(adam).post(erase_url(answer), follow=True).content.decode()

    assert "name and email replaced, 1 comment(s) emptied; the scores are kept." in page
    contact = Contact.objects.get(pk=answer.contact_id)
    assert (contact.name, contact.email, contact.title) == (
        "Erased contact",
        f"erased-{contact.pk}@erased.invalid",
        "",
    )
    assert (contact.archived_at, contact.archived_by) == (NOW, adam)
    response = Response.objects.get(pk=answer.pk)
    assert (response.score, response.comment, response.contact_id) == (3, "", contact.pk)
    record = ContactErasure.objects.get(contact=contact)
    assert (record.erased_by, record.erased_at, record.account_id, record.comments_cleared) == (
        adam,
        NOW,
        answer.account_id,
        1,
    )
    after = compute_results(user=alice, filters=filters)
    assert (after.n, after.headline.result.value) == (before.n, before.headline.result.value) == (1, -100)
    # Nothing keeps the address in clear; the list keeps its hash.
    assert not Contact.objects.filter(email__icontains="nina").exists()
    assert not Contact.objects.filter(name__icontains="nina").exists()
    assert SuppressedAddress.objects.get(address_hash=address_hash("nina@customer.test")).erased_at == NOW


def test_adding_an_erased_address_again_stays_suppressed(adam, answer, alice_account, carol_account, login):
    login(adam).post(erase_url(answer))
    ContactFactory(account=carol_account, email="NINA@customer.test", is_primary=True)
    preview = services.campaign_preview(CampaignFactory())
    assert (preview.will_ask, left_out_counts(preview)) == (0, [("personal data erased", 1)])


def test_erasing_twice_keeps_the_first_record(adam, answer, login):
    client = login(adam)
    client.post(erase_url(answer))
    assert client.post(erase_url(answer)).status_code == 404  # gone from what can be erased
    assert ContactErasure.objects.count() == 1


def test_an_archived_contact_can_be_erased_from_the_archived_list(adam, alice, answer, login):
    login(alice).post(f"/accounts/{answer.account_id}/contacts/{answer.contact_id}/archive/")
    client = login(adam)
    page = client.get(f"/accounts/{answer.account_id}/").content.decode()
    assert "Archived contacts (1)" in page and erase_url(answer) in page
    client.post(erase_url(answer))
    record = ContactErasure.objects.get()
    assert (record.erased_by, Contact.objects.get(pk=answer.contact_id).archived_by) == (adam, alice)


@pytest.mark.parametrize("who", ["alice", "maria"])
def test_a_csm_or_a_manager_cannot_erase(who, cast, answer, login):
    client = login(cast[who])
    assert client.get(erase_url(answer)).status_code == 404
    assert client.post(erase_url(answer)).status_code == 404
    contact = Contact.objects.get(pk=answer.contact_id)
    assert (contact.name, contact.email, contact.archived_at) == ("Nina Nagel", "nina@customer.test", None)
    assert Response.objects.get(pk=answer.pk).comment.startswith("Call me")
    assert not ContactErasure.objects.exists() and not SuppressedAddress.objects.exists()
    # ... and the account page offers them no erase link.
    assert erase_url(answer) not in client.get(f"/accounts/{answer.account_id}/").content.decode()


def test_erasing_takes_the_name_and_comment_out_of_the_owners_alert(adam, alice, answer):
    Contact.objects.filter(pk=answer.contact_id).update(name="Nina Nagel")
    assert response_alert_owner(response_id=answer.pk)
    alert = Notification.objects.get(user=alice, key=f"low-score:{answer.pk}")
    assert "Nina Nagel" in alert.title and "+44 7700 900123" in alert.body + alert.email_body

    contact_erase(contact=Contact.objects.get(pk=answer.contact_id), by=adam)

    alert.refresh_from_db()
    text = " ".join([alert.title, alert.body, alert.email_subject, alert.email_body])
    assert "Nina" not in text and "+44 7700 900123" not in text and "nina@customer.test" not in text
    assert alert.title.endswith("Erased contact answered NPS 3")
