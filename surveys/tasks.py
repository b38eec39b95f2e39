import logging

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from surveys import follow_up, sending, services

logger = logging.getLogger(__name__)

# A task that lost its database (a restart, a failover) runs again after up to 1, 2, 4 … 60 s (jittered),
# 12 times in at most 7 minutes, instead of failing for good: with acks_late its message is acknowledged
# either way, so a failure would wait for the next sweep. The connection itself is retried for a few seconds first
# (config.postgresql), so this is for longer outages and for a statement the restart cut mid-flight.
# A batch run again skips what it sent (claims), and the retry counts towards the batch's SMTP retries.
DATABASE_RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 1,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 12,
}


@shared_task(acks_late=True, **DATABASE_RETRY)
def response_recorded_task(response_id: int) -> None:
    """What follows a recorded answer: the owner's low-score alert and the account's recompute."""
    follow_up.responses_follow_up(response_ids=[response_id])


@shared_task(acks_late=True)
def responses_follow_up_sweep_task() -> None:
    """The follow-up of answers recorded while the broker was down."""
    follow_up.responses_follow_up_sweep()


@shared_task(acks_late=True, **DATABASE_RETRY)
def campaign_send_task(campaign_id: int) -> None:
    """Fan a campaign's pending invitations out in batches, one task each."""
    for batch in services.campaign_batches(campaign_id=campaign_id):
        invitation_batch_send_task.delay(campaign_id, batch)
    services.campaign_finish_if_done(campaign_id=campaign_id)


# acks_late + reject_on_worker_lost: a killed worker's batch is redelivered, long after the sweep
# has sent the rest (sending.py); every email is fenced, so no redelivery sends one twice.
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, **DATABASE_RETRY)
def invitation_batch_send_task(self, campaign_id: int, invitation_ids: list[int]) -> None:
    _queue_released()  # a dead sender's claims are noticed by the next batch, not only by the sweep
    retry_ids = sending.invitation_batch_send(invitation_ids=invitation_ids)
    max_retries = settings.SURVEY_SEND_MAX_RETRIES
    if retry_ids and self.request.retries < max_retries:
        if self.request.is_eager:
            # In-process mode has no broker to hold a delayed retry: try again now.
            invitation_batch_send_task.apply(args=[campaign_id, retry_ids], retries=self.request.retries + 1)
            return
        backoff = settings.SURVEY_SEND_RETRY_SECONDS * 2**self.request.retries
        raise self.retry(args=[campaign_id, retry_ids], countdown=backoff, max_retries=max_retries)
    services.campaign_finish_if_done(campaign_id=campaign_id)


def _queue_released() -> None:
    """Queue again the claims the sweep took back from senders that died or stalled."""
    released = sending.expired_claims_recover()
    for campaign_id, batch in sending.released_batches(released):
        invitation_batch_send_task.delay(campaign_id, batch)


def _send_each(campaign_ids) -> None:
    """Queue each campaign's send; one that fails (run in-process, or the broker refuses it) is logged and
    left to the next sweep, and the others still go."""
    for campaign_id in campaign_ids:
        try:
            campaign_send_task.delay(campaign_id)
        except Exception:
            logger.exception("sending campaign %s failed; the sweep tries again", campaign_id)


@shared_task
def campaigns_start_due_task() -> None:
    _send_each(services.campaigns_start_due())


@shared_task
def sends_recover_task() -> None:
    """Every minute: claims of senders that died or stalled, and campaigns whose task was lost; a
    campaign whose last invitations the sweep marked uncertain is finished here."""
    _queue_released()
    _send_each(sending.campaigns_stalled())
    services.campaigns_finish_done()


@shared_task
def campaign_reminders_task() -> None:
    # Imported here: reminders read the link expiry from surveys.answers, which imports this module.
    from surveys.reminders import reminders_send

    reminders_send()
