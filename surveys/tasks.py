"""Celery tasks of surveys: each takes ids, calls one service and owns its retry policy.

A task imports its service inside its body; surveys.services and surveys.answers import these tasks
at the top to queue them (one import direction, so no circle).
"""

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

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
    from surveys.follow_up import responses_follow_up

    responses_follow_up(response_ids=[response_id])


@shared_task(acks_late=True)
def responses_follow_up_sweep_task() -> None:
    """The follow-up of answers recorded while the broker was down."""
    from surveys.follow_up import responses_follow_up_sweep

    responses_follow_up_sweep()


@shared_task(acks_late=True, **DATABASE_RETRY)
def campaign_send_task(campaign_id: int) -> None:
    """Fan a campaign's pending invitations out in batches, one task each."""
    from surveys.services import campaign_dispatch

    campaign_dispatch(campaign_id=campaign_id)


# acks_late + reject_on_worker_lost: a killed worker's batch is redelivered, long after the sweep
# has sent the rest (sending.py); every email is fenced, so no redelivery sends one twice.
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, **DATABASE_RETRY)
def invitation_batch_send_task(self, campaign_id: int, invitation_ids: list[int]) -> None:
    """Send one batch; what failed for now is sent again later, up to SURVEY_SEND_MAX_RETRIES times."""
    from surveys.services import campaign_batch_send

    retry_ids = campaign_batch_send(campaign_id=campaign_id, invitation_ids=invitation_ids)
    max_retries = settings.SURVEY_SEND_MAX_RETRIES
    if retry_ids and self.request.retries < max_retries:
        if self.request.is_eager:
            # In-process mode has no broker to hold a delayed retry: try again now.
            invitation_batch_send_task.apply(args=[campaign_id, retry_ids], retries=self.request.retries + 1)
            return
        backoff = settings.SURVEY_SEND_RETRY_SECONDS * 2**self.request.retries
        raise self.retry(args=[campaign_id, retry_ids], countdown=backoff, max_retries=max_retries)


@shared_task
def campaigns_start_due_task() -> None:
    from surveys.services import campaigns_start_due

    campaigns_start_due()


@shared_task
def sends_recover_task() -> None:
    """Every minute: claims of senders that died or stalled, and campaigns whose task was lost."""
    from surveys.services import sends_recover

    sends_recover()


@shared_task
def campaign_reminders_task() -> None:
    from surveys.reminders import reminders_send

    reminders_send()


@shared_task(acks_late=True, **DATABASE_RETRY)
def feedback_reply_send_task(reply_id: int) -> None:
    """Send one reply to a survey comment (claimed, so a second run sends nothing); a failure waits for the retry."""
    from surveys.replies import feedback_reply_send

    feedback_reply_send(reply_id=reply_id)


@shared_task
def feedback_replies_retry_task() -> None:
    """Send again the replies that failed, or whose task was lost with the broker."""
    from surveys.replies import feedback_replies_retry

    feedback_replies_retry()
