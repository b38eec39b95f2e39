"""Celery tasks of accounts: each takes ids, calls one service and owns its retry policy.

A task imports its service inside its body; the services import these tasks at the top to queue
them (one import direction, so no circle).
"""

import logging

from celery import shared_task
from django.conf import settings

logger = logging.getLogger(__name__)


# acks_late: a worker killed mid-import leaves the message to another worker;
# import_job_run is safe to run twice.
@shared_task(acks_late=True, reject_on_worker_lost=True)
def import_job_run_task(job_id: int) -> None:
    from accounts.services import import_job_run

    import_job_run(job_id=job_id)


@shared_task
def import_jobs_prune_task() -> None:
    from accounts.services import import_jobs_prune

    import_jobs_prune()


@shared_task
def import_jobs_resume_task() -> None:
    from accounts.services import import_jobs_resume

    import_jobs_resume()


@shared_task
def notification_emails_retry_task() -> None:
    """Send again the alert emails that failed (each is claimed, so overlapping runs send it once)."""
    from accounts.notification_emails import notification_emails_retry

    notification_emails_retry()


@shared_task
def sessions_clear_task() -> None:
    from accounts.sessions import sessions_clear

    sessions_clear()


@shared_task
def outbox_prune_task() -> None:
    from accounts.outbox import outbox_prune

    deleted = outbox_prune(keep_days=settings.OUTBOX_KEEP_DAYS)
    if deleted:
        logger.info("outbox: deleted %s messages older than %s days", deleted, settings.OUTBOX_KEEP_DAYS)
