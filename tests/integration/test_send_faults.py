"""Sending under faults, with real processes: Celery workers killed (SIGKILL) or paused (SIGSTOP)
mid-campaign, a real SMTP server, PostgreSQL. No contact ever gets two emails from one invitation;
every invitation ends sent, failed or delivery uncertain; recovery takes seconds, not the
visibility timeout.

The test process plays the beat: it queues the recovery sweep every second (every minute in
production), with a lease of 3 s (60 s in production).
"""

import asyncio
import collections
import os
import random
import signal
import threading
import time

import pytest
from django.db.models import Count

from accounts.email_address import address_hash
from accounts.models import Account, Contact
from surveys import services
from surveys.models import Campaign
from surveys.tasks import sends_recover_task
from tests.factories import CampaignFactory
from tests.integration.conftest import wait_until

pytestmark = pytest.mark.integration

LEASE_SECONDS = 3


@pytest.fixture
def slow_smtp(smtp_server):
    """Each recipient takes a few milliseconds to accept, as a busy mail server would."""
    accept = smtp_server.handle_RCPT
    smtp_server.rcpt_delay = 0.005

    async def handle_RCPT(server, session, envelope, address, rcpt_options):
        await asyncio.sleep(smtp_server.rcpt_delay)
        return await accept(server, session, envelope, address, rcpt_options)

    smtp_server.handle_RCPT = handle_RCPT
    return smtp_server


@pytest.fixture
def worker_env(slow_smtp):
    return {
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(slow_smtp.port),
        "EMAIL_TIMEOUT": "5",
        "SURVEY_SEND_BATCH_SIZE": "50",
        "SURVEY_SEND_LEASE_SECONDS": str(LEASE_SECONDS),
        # A killed worker's batch comes back after 5 s, and is run again beside the sweep's resend:
        # the fences must hold for both.
        "CELERY_VISIBILITY_TIMEOUT": "5",
    }


@pytest.fixture
def sweep():
    """Queues the recovery sweep every second, as the beat does every minute, until the test ends."""
    stop = threading.Event()

    def tick():
        while not stop.wait(1):
            try:
                sends_recover_task.delay()
            except Exception:  # noqa: BLE001 - the broker is the test's; a missed tick is the next one's
                pass

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=5)


def _campaign_of(owner, contacts: int) -> Campaign:
    """`contacts` contacts, ten per account, all asked by one campaign (made in bulk: it is big)."""
    accounts = Account.objects.bulk_create(
        [Account(name=f"Customer {n}", external_id=f"FAULT-{n}", owner=owner) for n in range(contacts // 10)]
    )
    Contact.objects.bulk_create(
        [
            Contact(account=account, name=f"Contact {a}-{c}", email=email, email_hash=address_hash(email))
            for a, account in enumerate(accounts)
            for c in range(10)
            for email in [f"fault{a}-{c}@customer.test"]
        ]
    )
    campaign = CampaignFactory(recipients=Campaign.Recipients.ALL)
    assert services.campaign_send(campaign=campaign) == contacts
    return campaign


def _statuses(campaign) -> dict[str, int]:
    rows = campaign.invitations.values("status").annotate(n=Count("pk")).order_by()
    return {row["status"]: row["n"] for row in rows}


def _assert_each_contact_emailed_at_most_once(campaign, smtp, *, total: int, uncertain_at_most: int) -> dict:
    received = collections.Counter(message["To"] for message in smtp.messages)
    assert [email for email, count in received.items() if count > 1] == []  # nobody twice
    statuses = _statuses(campaign)
    assert set(statuses) <= {"sent", "uncertain"}, statuses  # none lost: sent, or honestly uncertain
    assert sum(statuses.values()) == total
    assert statuses.get("uncertain", 0) <= uncertain_at_most, statuses
    sent = set(campaign.invitations.filter(status="sent").values_list("contact__email", flat=True))
    assert sent <= set(received)  # "sent" means the server took it
    maybe = set(campaign.invitations.filter(status="uncertain").values_list("contact__email", flat=True))
    assert set(received) <= sent | maybe
    return statuses


def _sent_count(campaign) -> int:
    return campaign.invitations.filter(status="sent").count()


@pytest.mark.parametrize("run", [1, 2, 3])  # three runs, so that a flake shows
def test_workers_killed_at_random_moments_never_send_an_email_twice(run, start_worker, slow_smtp, sweep, alice):
    contacts, kills = 2000, 5
    worker = start_worker()
    campaign = _campaign_of(alice, contacts)
    random_moment = random.Random(run)
    for _ in range(kills):
        before = _sent_count(campaign)
        wait_until(lambda: _sent_count(campaign) > before, timeout=60, what="emails going out")  # noqa: B023
        time.sleep(random_moment.uniform(0, 1.5))
        worker.kill()
        assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENDING, "finished before the kill"
        worker = start_worker()

    # The last worker finishes: within seconds of the last kill (the lease, then the sweep).
    wait_until(lambda: Campaign.objects.get(pk=campaign.pk).status == "sent", timeout=180, what="the campaign")
    statuses = _assert_each_contact_emailed_at_most_once(campaign, slow_smtp, total=contacts, uncertain_at_most=kills)
    print(f"run {run}: {statuses} after {kills} kills")


def test_a_worker_paused_past_its_lease_sends_nothing_twice_when_it_resumes(start_worker, slow_smtp, sweep, alice):
    contacts = 300
    slow_smtp.rcpt_delay = 0.02  # a batch of 50 takes a second or more, so the pause lands mid-batch
    paused = start_worker()
    campaign = _campaign_of(alice, contacts)
    wait_until(lambda: _sent_count(campaign) >= 20, timeout=60, what="the first emails")

    os.killpg(paused.process.pid, signal.SIGSTOP)  # a VM pause, a swap storm: alive, but silent
    try:
        at_pause = len(slow_smtp.messages)
        start_worker()  # takes the paused one's claims once its lease runs out
        wait_until(lambda: len(slow_smtp.messages) > at_pause + 50, timeout=90, what="the rest going out")
        time.sleep(LEASE_SECONDS)
    finally:
        os.killpg(paused.process.pid, signal.SIGCONT)

    wait_until(lambda: Campaign.objects.get(pk=campaign.pk).status == "sent", timeout=120, what="the campaign")
    time.sleep(LEASE_SECONDS)  # the resumed worker has had its chance to send what it held in memory
    _assert_each_contact_emailed_at_most_once(campaign, slow_smtp, total=contacts, uncertain_at_most=1)
    assert paused.process.poll() is None, "the paused worker died instead of resuming"
