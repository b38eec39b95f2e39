"""Campaign sending through a real Celery worker on Redis, to a real SMTP server on loopback."""

import time

import pytest
from django.db import transaction

from surveys import services
from surveys.models import Campaign, Invitation
from surveys.tasks import campaign_send_task
from tests.factories import AccountFactory, CampaignFactory, ContactFactory
from tests.integration.conftest import wait_until


@pytest.fixture
def worker_env(smtp_server):
    return {
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_server.port),
        "SURVEY_SEND_RETRY_SECONDS": "1",
        "SURVEY_SEND_MAX_RETRIES": "2",
        "SURVEY_SEND_BATCH_SIZE": "4",
    }


@pytest.fixture
def contacts(alice):
    return [ContactFactory(account=AccountFactory(owner=alice), is_primary=True) for _ in range(10)]


def test_campaign_task_delivered_twice_emails_each_contact_once(celery_worker, smtp_server, contacts):
    campaign = CampaignFactory()
    with transaction.atomic():
        services.campaign_send(campaign=campaign)
    campaign_send_task.delay(campaign.pk)  # the same task again, as a redelivery would
    wait_until(lambda: Campaign.objects.get(pk=campaign.pk).status == "sent", what="the campaign finishing")
    time.sleep(1)  # let any duplicate batch run to completion before counting
    assert len(smtp_server.messages) == 10
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(c.email for c in contacts)
    assert set(Invitation.objects.values_list("status", "attempts")) == {("sent", 1)}


def test_smtp_refusing_retries_then_fails_then_retry_failed_sends(celery_worker, smtp_server, contacts):
    victim = contacts[0]
    smtp_server.refuse[victim.email] = (451, "Mailbox busy, try later")
    campaign = CampaignFactory()
    with transaction.atomic():
        services.campaign_send(campaign=campaign)
    wait_until(lambda: Campaign.objects.get(pk=campaign.pk).status == "sent", what="the campaign finishing")
    failed = Invitation.objects.get(contact=victim)
    assert (failed.status, failed.attempts, failed.last_error) == ("failed", 3, "451 Mailbox busy, try later")
    assert len(smtp_server.messages) == 9

    del smtp_server.refuse[victim.email]
    with transaction.atomic():
        assert services.campaign_retry_failed(campaign=campaign) == 1
    wait_until(lambda: Invitation.objects.get(pk=failed.pk).status == "sent", what="the retried invitation sending")
    assert len(smtp_server.to(victim.email)) == 1 and len(smtp_server.messages) == 10


def test_smtp_down_retries_then_fails_then_retry_failed_sends_once_it_is_back(celery_worker, smtp_server, contacts):
    smtp_server.stop()
    campaign = CampaignFactory()
    with transaction.atomic():
        services.campaign_send(campaign=campaign)
    wait_until(lambda: Campaign.objects.get(pk=campaign.pk).status == "sent", what="the campaign giving up")
    invitations = Invitation.objects.filter(campaign=campaign)
    assert {(i.status, i.attempts) for i in invitations} == {("failed", 3)}
    assert "ConnectionRefusedError" in invitations[0].last_error
    assert smtp_server.messages == []

    smtp_server.start()
    with transaction.atomic():
        assert services.campaign_retry_failed(campaign=campaign) == 10
    wait_until(lambda: Campaign.objects.get(pk=campaign.pk).status == "sent", what="the retried campaign")
    wait_until(lambda: len(smtp_server.messages) == 10, what="ten emails")
    assert set(Invitation.objects.values_list("status", flat=True)) == {"sent"}
