"""A Celery worker killed in the middle of a campaign, and a new one started: every contact ends
with exactly one email.

The killed worker's batch was taken but never acknowledged, so Redis hands it to the next worker
after the visibility timeout; the invitation it had claimed but not sent is sent again, the ones
it sent are not. The SMTP server is slowed down so that the kill lands mid-campaign.
"""

import asyncio
import collections
import time

import pytest
from django.db import transaction

from surveys import services
from surveys.models import Campaign, Invitation
from tests.factories import AccountFactory, CampaignFactory, ContactFactory
from tests.integration.conftest import wait_until

pytestmark = pytest.mark.integration

CONTACTS = 40


@pytest.fixture
def slow_smtp(smtp_server):
    """Each recipient takes 50 ms to accept, as a busy mail server would."""
    accept = smtp_server.handle_RCPT

    async def handle_RCPT(server, session, envelope, address, rcpt_options):
        await asyncio.sleep(0.05)
        return await accept(server, session, envelope, address, rcpt_options)

    smtp_server.handle_RCPT = handle_RCPT
    return smtp_server


@pytest.fixture
def worker_env(slow_smtp):
    return {
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(slow_smtp.port),
        "SURVEY_SEND_BATCH_SIZE": "5",
        # Short enough for a test: an unacknowledged batch goes to another worker after 2 s, and a
        # claim older than 1 s was interrupted (here one SMTP exchange takes about 50 ms).
        "CELERY_VISIBILITY_TIMEOUT": "2",
        "SURVEY_SEND_LEASE_SECONDS": "1",
    }


def test_worker_killed_mid_campaign_then_a_new_one_leaves_everyone_with_one_email(start_worker, slow_smtp, alice):
    contacts = [ContactFactory(account=AccountFactory(owner=alice), is_primary=True) for _ in range(CONTACTS)]
    first = start_worker()
    campaign = CampaignFactory()
    with transaction.atomic():
        services.campaign_send(campaign=campaign)

    wait_until(lambda: len(slow_smtp.messages) >= 12, what="a dozen emails")
    first.kill()
    delivered_before_the_kill = len(slow_smtp.messages)
    assert delivered_before_the_kill < CONTACTS, "the campaign finished before the kill: nothing was tested"
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENDING

    time.sleep(2.5)  # past the visibility timeout, so the new worker takes the killed one's batch at start
    second = start_worker()
    wait_until(lambda: Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT, what="the campaign")

    received = collections.Counter(message["To"] for message in slow_smtp.messages)
    assert {email for email, count in received.items() if count > 1} == set()  # nobody twice
    assert set(received) == {contact.email for contact in contacts}  # and everyone once
    assert set(Invitation.objects.filter(campaign=campaign).values_list("status", flat=True)) == {"sent"}
    assert "invitation_batch_send_task" in second.log()
