import logging

from celery import shared_task
from django.conf import settings
from django.core.management import call_command

from accounts.notification_emails import notification_emails_retry
from accounts.outbox import outbox_prune
from accounts.services import import_job_run, import_jobs_prune, import_jobs_stalled
from accounts.sessions import login_sessions_prune

logger = logging.getLogger(__name__)


# acks_late: a worker killed mid-import leaves the message to another worker;
# import_job_run is safe to run twice.
@shared_task(acks_late=True, reject_on_worker_lost=True)
def import_job_run_task(job_id: int) -> None:
    import_job_run(job_id=job_id)


@shared_task
def import_jobs_prune_task() -> None:
    import_jobs_prune()


@shared_task
def import_jobs_resume_task() -> None:
    """Queue again the imports uploaded while the broker was down (running one twice is safe)."""
    for job_id in import_jobs_stalled():
        try:
            import_job_run_task.delay(job_id)
        except Exception:  # one job's failure (run in-process) never keeps the others waiting
            logger.exception("import job %s failed; the next sweep tries again", job_id)


@shared_task
def notification_emails_retry_task() -> None:
    """Send again the alert emails that failed (each is claimed, so overlapping runs send it once)."""
    notification_emails_retry()


@shared_task
def sessions_clear_task() -> None:
    """Delete expired sessions (Django keeps them in the database until told to), and their login records."""
    call_command("clearsessions")
    login_sessions_prune()


@shared_task
def outbox_prune_task() -> None:
    deleted = outbox_prune(keep_days=settings.OUTBOX_KEEP_DAYS)
    if deleted:
        logger.info("outbox: deleted %s messages older than %s days", deleted, settings.OUTBOX_KEEP_DAYS)
