"""Reminders run by a real Celery worker on Redis against a real SMTP server on loopback: a burst of 451s
loses no reminder, the run after it sends each exactly once, and closed links get none."""

import datetime
from collections import Counter

import pytest
from django.utils import timezone

from surveys.answers import LINK_OPEN_FOR
from surveys.models import Campaign, Invitation
from surveys.tasks import campaign_reminders_task
from tests.factories import CampaignFactory, InvitationFactory

pytestmark = pytest.mark.integration

RUN_TIMEOUT = 120  # a reminder run of a few dozen emails takes about a second; generous for a loaded CI


@pytest.fixture
def worker_env(smtp_server):
    return {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_server.port), "SURVEY_SEND_MAX_RETRIES": "3"}


def _invite(campaign, count: int, *, days_ago: float, status=Invitation.Status.SENT) -> list[Invitation]:
    sent_at = timezone.now() - datetime.timedelta(days=days_ago)
    return [InvitationFactory(campaign=campaign, sent_at=sent_at, status=status) for _ in range(count)]


def _reminders_per_address(smtp_server) -> Counter:
    return Counter(str(m["To"]) for m in smtp_server.messages if m["Subject"].startswith("Reminder: "))


def _run(worker) -> None:
    worker.wait_for_task(campaign_reminders_task.delay().id, timeout=RUN_TIMEOUT)


def test_a_burst_of_451s_loses_no_reminder_and_the_next_run_sends_each_once(celery_worker, smtp_server):
    campaign = CampaignFactory(status=Campaign.Status.SENT, reminder_after_days=3)
    due = _invite(campaign, 40, days_ago=4) + _invite(campaign, 5, days_ago=4, status=Invitation.Status.UNCERTAIN)
    smtp_server.refuse.update({invitation.contact.email.lower(): (451, "Try again later") for invitation in due})

    _run(celery_worker)
    assert _reminders_per_address(smtp_server) == Counter()
    rows = Invitation.objects.filter(pk__in=[invitation.pk for invitation in due])
    assert set(rows.values_list("reminded_at", "reminder_started_at", "reminder_attempts", "last_error")) == {
        (None, None, 1, "reminder: 451 Try again later")
    }

    smtp_server.refuse.clear()  # the mail server recovers
    _run(celery_worker)
    _run(celery_worker)  # and a later run sends nothing more
    assert _reminders_per_address(smtp_server) == Counter({invitation.contact.email: 1 for invitation in due})
    assert not rows.filter(reminded_at__isnull=True).exists()


def test_no_reminder_goes_to_a_link_that_has_closed(celery_worker, smtp_server):
    campaign = CampaignFactory(status=Campaign.Status.SENT, reminder_after_days=3)
    # As if the clock had moved past the expiry: sent longer ago than the link stays open.
    closed = _invite(campaign, 10, days_ago=LINK_OPEN_FOR.days + 1)
    closing = _invite(campaign, 5, days_ago=LINK_OPEN_FOR.days - 1)  # closes tomorrow: too late to remind
    open_ = _invite(campaign, 5, days_ago=10)

    _run(celery_worker)
    assert _reminders_per_address(smtp_server) == Counter({invitation.contact.email: 1 for invitation in open_})
    untouched = Invitation.objects.filter(pk__in=[invitation.pk for invitation in closed + closing])
    assert set(untouched.values_list("reminded_at", "reminder_attempts")) == {(None, 0)}
