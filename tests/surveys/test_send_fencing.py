"""Fenced sends: a sender emails an invitation only while it holds the claim, every change is
conditional on its token, and a send that started and was never confirmed is "delivery uncertain"
(never sent again on its own). Real processes dying and pausing: tests/integration/test_send_faults.py."""

import datetime
import smtplib

import pytest
import time_machine
from django.core.mail import get_connection
from django.utils import timezone

from surveys import sending, services
from surveys.models import Campaign, Invitation
from surveys.tasks import sends_recover_task
from tests.factories import AccountFactory, CampaignFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    """Every test at a fixed moment; moving past the lease is explicit."""
    with time_machine.travel(datetime.datetime(2026, 6, 1, 9, 0, tzinfo=datetime.UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture
def invitations(alice):
    campaign = CampaignFactory(status=Campaign.Status.SENDING, started_at=timezone.now())
    contacts = [ContactFactory(account=AccountFactory(owner=alice), is_primary=True) for _ in range(4)]
    Invitation.objects.bulk_create(
        [Invitation(campaign=campaign, contact=contact, account=contact.account) for contact in contacts]
    )
    return list(campaign.invitations.order_by("pk"))


def _past_the_lease(settings):
    return time_machine.travel(
        timezone.now() + datetime.timedelta(seconds=settings.SURVEY_SEND_LEASE_SECONDS + 1), tick=False
    )


def _claimed(invitations, *, token):
    ids = sending.invitations_claim(invitation_ids=[i.pk for i in invitations], token=token)
    return list(Invitation.objects.filter(pk__in=ids).select_related("contact", "account", "campaign__survey"))


def test_a_sender_whose_claim_was_taken_back_sends_nothing_more(invitations, smtp_server, settings):
    claim = sending.Claim("first-sender")
    claimed = _claimed(invitations, token=claim.token)
    assert claim.fence(claimed[0].pk)  # its first email starts...
    with _past_the_lease(settings):  # ...then the worker stalls past its lease
        sends_recover_task.delay()  # the sweep hands the rest to a new batch, which sends them
        assert len(smtp_server.messages) == 3
        with get_connection() as smtp:
            assert sending._send_claimed(claimed[1:], claim, smtp) == []  # resumed: its fence fails
    assert len(smtp_server.messages) == 3
    statuses = dict(Invitation.objects.values_list("pk", "status"))
    assert statuses[claimed[0].pk] == "uncertain"
    assert [statuses[i.pk] for i in claimed[1:]] == ["sent"] * 3


def test_an_email_started_and_never_confirmed_is_uncertain_and_not_sent_again(
    invitations, smtp_server, settings, clock
):
    claim = sending.Claim("dead-sender")
    claimed = _claimed(invitations, token=claim.token)
    assert claim.fence(claimed[0].pk)  # the worker dies right after handing this one to the server
    started_at = timezone.now()
    clock.shift(settings.SURVEY_SEND_LEASE_SECONDS + 1)
    sends_recover_task.delay()
    sends_recover_task.delay()  # and again: an uncertain invitation is never sent on its own

    uncertain = Invitation.objects.get(pk=claimed[0].pk)
    assert uncertain.status == "uncertain" and uncertain.last_error == sending.UNCERTAIN_REASON
    assert uncertain.sent_at == started_at  # its link closes, and reminders count, from then
    assert smtp_server.to(uncertain.contact.email) == []
    assert len(smtp_server.messages) == 3
    campaign = Campaign.objects.get(pk=uncertain.campaign_id)
    assert campaign.status == "sent"  # uncertain is an end; it waits for an admin, not a sender


def test_the_answer_of_a_server_that_replied_after_the_lease_still_counts(invitations, smtp_server, settings):
    claim = sending.Claim("slow-sender")
    claimed = _claimed(invitations, token=claim.token)
    assert claim.fence(claimed[0].pk)
    with _past_the_lease(settings):
        sending.expired_claims_recover()
    claim.confirm(claimed[0].pk)  # the server accepted it after all: sent, not uncertain
    assert Invitation.objects.get(pk=claimed[0].pk).status == "sent"


def test_a_sender_changes_only_the_invitations_it_holds(invitations, settings):
    claimed = _claimed(invitations, token="holder")
    stranger = sending.Claim("someone-else")
    stranger.put_back(claimed[0].pk, "451 later")
    stranger.give_up(claimed[1].pk, "550 no")
    stranger.confirm(claimed[2].pk)
    assert not stranger.fence(claimed[3].pk)
    assert set(Invitation.objects.values_list("status", "claim_token", "send_started_at")) == {
        ("sending", "holder", None)
    }


def test_a_connection_that_breaks_mid_send_leaves_that_one_uncertain_and_retries_the_rest(
    invitations, smtp_server, monkeypatch
):
    broken = invitations[1]
    real_message = sending.invitation_message

    def message(invitation, **kwargs):
        email = real_message(invitation, **kwargs)
        if invitation.pk == broken.pk:

            def send(fail_silently=False):
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

            email.send = send
        return email

    monkeypatch.setattr(sending, "invitation_message", message)
    retry = sending.invitation_batch_send(invitation_ids=[i.pk for i in invitations])

    assert retry == [invitations[2].pk, invitations[3].pk]
    assert list(Invitation.objects.order_by("pk").values_list("status", flat=True)) == [
        "sent", "uncertain", "pending", "pending"
    ]  # fmt: skip
    assert "Connection unexpectedly closed" in Invitation.objects.get(pk=broken.pk).last_error
    monkeypatch.setattr(sending, "invitation_message", real_message)
    assert sending.invitation_batch_send(invitation_ids=retry) == []
    assert len(smtp_server.messages) == 3 and smtp_server.to(broken.contact.email) == []


def test_a_batch_run_again_takes_back_its_own_unstarted_claims(invitations, smtp_server):
    claim = sending.Claim("crashed-run")
    claimed = _claimed(invitations, token=claim.token)
    assert claim.fence(claimed[0].pk)  # then the run failed (say, on a database error), and is retried
    assert sending.invitation_batch_send(invitation_ids=[i.pk for i in invitations]) == []
    assert len(smtp_server.messages) == 3  # the three it never started, at once, not after the lease
    assert Invitation.objects.get(pk=claimed[0].pk).status == "sending"  # started: left to the sweep


def test_an_admin_sends_uncertain_invitations_again_on_purpose(
    invitations, smtp_server, client, adam, django_capture_on_commit_callbacks
):
    Invitation.objects.filter(pk=invitations[0].pk).update(
        status="uncertain", sent_at=timezone.now(), send_started_at=timezone.now(), claim_token="gone"
    )
    Invitation.objects.exclude(pk=invitations[0].pk).update(status="sent", sent_at=timezone.now())
    campaign = Campaign.objects.get(pk=invitations[0].campaign_id)
    services.campaign_finish_if_done(campaign_id=campaign.pk)
    client.force_login(adam)

    page = client.get(campaign.get_absolute_url()).content.decode()
    assert "Delivery uncertain" in page and "Send 1 again" in page
    assert invitations[0].contact.email in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/campaigns/{campaign.pk}/resend-uncertain/", follow=True)
    assert "Sending 1 invitation again." in response.content.decode()
    assert [m["To"] for m in smtp_server.messages] == [invitations[0].contact.email]
    resent = Invitation.objects.get(pk=invitations[0].pk)
    assert (resent.status, resent.token) == ("sent", invitations[0].token)  # the same link
    assert Campaign.objects.get(pk=campaign.pk).status == "sent"


def test_only_admins_may_send_uncertain_invitations_again(invitations, client, alice):
    Invitation.objects.filter(pk=invitations[0].pk).update(status="uncertain")
    client.force_login(alice)
    response = client.post(f"/campaigns/{invitations[0].campaign_id}/resend-uncertain/")
    assert response.status_code in (403, 404)
    assert Invitation.objects.get(pk=invitations[0].pk).status == "uncertain"


def test_uncertain_invitations_answer_and_count_as_sent(invitations, client):
    uncertain = invitations[0]
    Invitation.objects.filter(pk=uncertain.pk).update(status="uncertain", sent_at=timezone.now())
    assert client.get(f"/s/{uncertain.token}/").status_code == 200
    client.post(f"/s/{uncertain.token}/", {"score": "9"})
    assert Invitation.objects.get(pk=uncertain.pk).status == "responded"


def test_a_server_that_ends_the_session_with_421_leaves_nothing_uncertain(invitations, smtp_server):
    busy = invitations[1]
    smtp_server.refuse[busy.contact.email] = (421, "Too busy, closing")
    retry = sending.invitation_batch_send(invitation_ids=[i.pk for i in invitations])
    assert retry == [i.pk for i in invitations[1:]]  # refused, and the two after it, for the retry
    assert list(Invitation.objects.order_by("pk").values_list("status", flat=True)) == [
        "sent", "pending", "pending", "pending"
    ]  # fmt: skip
    del smtp_server.refuse[busy.contact.email]
    assert sending.invitation_batch_send(invitation_ids=retry) == []
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(i.contact.email for i in invitations)


def test_sending_again_with_nothing_uncertain_says_so_and_sends_nothing(invitations, smtp_server, client, adam):
    Invitation.objects.update(status="sent", sent_at=timezone.now())
    client.force_login(adam)
    response = client.post(f"/campaigns/{invitations[0].campaign_id}/resend-uncertain/", follow=True)
    assert "Nothing to send again" in response.content.decode()
    assert smtp_server.messages == [] and set(Invitation.objects.values_list("status", flat=True)) == {"sent"}
