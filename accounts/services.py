"""Writes with rules: accounts, contacts, check-ins, API tokens and import jobs."""

import datetime
import hashlib
import logging
import secrets

from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.arr_history import arr_changes_record
from accounts.churn import Churn, account_churn
from accounts.csvfiles import RowError, errors_csv, nul_errors, row_cap_error
from accounts.import_kinds import import_kind_prepare
from accounts.models import Account, ApiToken, ArrChange, CheckIn, Contact, ImportJob, Notification, User
from accounts.signals import account_edited
from accounts.tasks import import_job_run_task
from accounts.validators import one_line

logger = logging.getLogger(__name__)

API_TOKEN_PREFIX = "pulse_"


@transaction.atomic
def account_save(*, account: Account, data: dict, by: User | None = None) -> Account:
    """Create or update an account from validated form data (the admin's form sets them first and passes
    none); an active account has no churn date or reason. A new ARR is recorded in its history (a mid-term
    change, for GRR and NRR). An active account saved churned churns as on every route (accounts/churn.py):
    the accounts below with it, its open renewal closed."""
    previous = Account.objects.filter(pk=account.pk).values("arr", "status").first() if account.pk else None
    for name, value in data.items():
        setattr(account, name, value)
    if account.status == Account.Status.ACTIVE:
        account.churned_on, account.churn_reason = None, ""
    account.save()
    arr_changes_record(
        before={account.pk: previous and previous["arr"]},
        after={account.pk: account.arr},
        source=ArrChange.Source.EDIT,
        by=by,
    )
    if previous and previous["status"] == Account.Status.ACTIVE and account.status == Account.Status.CHURNED:
        account_churn(churns={account.pk: Churn(on=account.churned_on, reason=account.churn_reason)}, by=by)
        account.refresh_from_db(fields=["renewal_date", "updated_at"])
    account_edited.send(sender=Account, account=account, by=by)
    return account


def contact_save(*, contact: Contact, data: dict) -> Contact:
    """Create or update a contact from validated form data, its address lowercased (it is matched on it)."""
    for name, value in data.items():
        setattr(contact, name, value)
    contact.email = contact.email.lower()
    contact.save()
    return contact


def contact_archive(*, contact: Contact, by: User | None) -> Contact:
    """Remove a contact from lists and campaigns, keeping its invitations and answers (they still count).

    Archiving is the only way to remove a contact: its survey history is PROTECTed from deletion.
    """
    now = timezone.now()
    Contact.objects.filter(pk=contact.pk, archived_at__isnull=True).update(archived_at=now, archived_by=by)
    contact.refresh_from_db(fields=["archived_at", "archived_by"])
    return contact


def checkin_add(
    *,
    account: Account,
    csm: User,
    date: datetime.date,
    sentiment: int,
    notes: str = "",
    next_checkin_on: datetime.date | None = None,
) -> CheckIn:
    return CheckIn.objects.create(
        account=account, csm=csm, date=date, sentiment=sentiment, notes=notes, next_checkin_on=next_checkin_on
    )


def notification_create(
    *,
    user: User,
    key: str,
    title: str,
    body: str = "",
    url: str = "",
    email_subject: str = "",
    email_body: str = "",
) -> Notification | None:
    """Notify a user of an event once: returns None if this user was already notified of `key`.

    With `email_subject`, the notification also holds the email to send (accounts/notification_emails.py).
    """
    notification, created = Notification.objects.get_or_create(
        user=user,
        key=key,
        defaults={
            "title": title[:200],
            "body": body,
            "url": url[:300],
            "email_subject": one_line(email_subject)[:200],
            "email_body": email_body,
        },
    )
    return notification if created else None


def notifications_mark_read(*, user: User) -> int:
    """Mark all the user's unread notifications read; returns how many. One UPDATE of only the unread
    rows, so a second click changes nothing."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


def _token_hash(raw: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(*, name: str, created_by: User) -> tuple[ApiToken, str]:
    """Return the token and its secret; the secret is not stored and cannot be shown again."""
    raw = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name, prefix=raw[: len(API_TOKEN_PREFIX) + 6], token_hash=_token_hash(raw), created_by=created_by
    )
    return token, raw


def api_token_authenticate(*, raw: str) -> ApiToken | None:
    """The token this secret belongs to, if it still works: not revoked, and its creator still an
    active admin (a token must not outlive the access of whoever made it)."""
    token = ApiToken.objects.filter(
        token_hash=_token_hash(raw),
        revoked_at__isnull=True,
        created_by__is_active=True,
        created_by__role=User.Role.ADMIN,
    ).first()
    if token is not None:
        now = timezone.now()
        # One write a minute at most, however busy the integration.
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - datetime.timedelta(minutes=1))
        ).update(last_used_at=now)
    return token


def api_token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def import_job_create(*, kind: str, files: dict[str, str], filenames: str, created_by: User | None) -> ImportJob:
    """Store the uploaded text and queue the import once the job row is committed.

    If the broker is down the upload still succeeds: the job waits, and `import_jobs_stalled`
    finds it for the periodic sweep to queue again.
    """
    refused = [error for name, text in files.items() for error in nul_errors(text, file=name)]
    refused += [error for name, text in files.items() if (error := row_cap_error(text, file=name))]
    if refused:
        # Rejected as it is recorded, and the text is not stored: PostgreSQL keeps no NUL, and a file
        # over the row cap is not worth queuing.
        return import_job_record_rejection(kind=kind, errors=refused, filenames=filenames, created_by=created_by)
    estimated_rows = sum(text.count("\n") for text in files.values())
    job = ImportJob.objects.create(
        kind=kind, files=files, filenames=filenames[:500], created_by=created_by, rows_total=estimated_rows
    )
    transaction.on_commit(lambda: import_job_run_task.delay(job.pk), robust=True)
    return job


def _rejection_fields(errors: list) -> dict:
    # A message may quote a header cell as it was; PostgreSQL stores no NUL, so it is spelled out.
    errors = [
        RowError(error.file, error.line, error.message.replace("\x00", "\\x00")) if "\x00" in error.message else error
        for error in errors
    ]
    return {
        "status": ImportJob.Status.FAILED,
        "errors": [error.as_dict() for error in errors[: ImportJob.ERRORS_SHOWN]],
        "error_count": len(errors),
        "errors_csv": errors_csv(errors),
        "finished_at": timezone.now(),
    }


def import_job_record_rejection(*, kind: str, errors: list, filenames: str, created_by: User | None) -> ImportJob:
    """Record files refused with these row errors: nothing is imported, and every problem can be downloaded."""
    return ImportJob.objects.create(
        kind=kind,
        files={},
        filenames=filenames.replace("\x00", "")[:500],
        created_by=created_by,
        **_rejection_fields(errors),
    )


def import_jobs_stalled(*, now: datetime.datetime | None = None) -> list[int]:
    """Jobs still waiting IMPORT_STALLED_AFTER after their upload: their task never got queued."""
    cutoff = (now or timezone.now()) - IMPORT_STALLED_AFTER
    return list(
        ImportJob.objects.filter(status=ImportJob.Status.PENDING, created_at__lt=cutoff).values_list("pk", flat=True)
    )


def import_jobs_resume() -> None:
    """Queue again the imports uploaded while the broker was down (running one twice is safe)."""
    for job_id in import_jobs_stalled():
        try:
            import_job_run_task.delay(job_id)
        except Exception:  # one job's failure (run in-process) never keeps the others waiting
            logger.exception("import job %s failed; the next sweep tries again", job_id)


def import_jobs_unfinished() -> list[int]:
    """Jobs waiting or running. When the embedded worker starts, each was queued in a process that has
    stopped, and its task went with that process's in-memory queue."""
    return list(
        ImportJob.objects.filter(status__in=[ImportJob.Status.PENDING, ImportJob.Status.RUNNING]).values_list(
            "pk", flat=True
        )
    )


# A queued import starts within seconds; one still waiting after this was never queued (broker down).
IMPORT_STALLED_AFTER = datetime.timedelta(minutes=2)


def _job_progress(job_id: int):
    def report(done: int) -> None:
        ImportJob.objects.filter(pk=job_id).update(rows_done=done)

    return report


def import_job_run(*, job_id: int) -> ImportJob | None:
    """Validate every row, then import all of it in one transaction, or reject it with each bad row.

    Safe to run twice (a redelivered task): the final step locks the job row and
    does nothing if another run has already finished it.
    """
    claimed = ImportJob.objects.filter(
        pk=job_id, status__in=[ImportJob.Status.PENDING, ImportJob.Status.RUNNING]
    ).update(status=ImportJob.Status.RUNNING, rows_done=0)
    if not claimed:
        return None
    job = ImportJob.objects.get(pk=job_id)
    progress = _job_progress(job_id)
    prepared = import_kind_prepare(job.kind, job.files, progress)
    errors, row_count = prepared.errors, prepared.rows_read
    ImportJob.objects.filter(pk=job_id).update(rows_total=row_count, rows_done=row_count)

    try:
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(pk=job_id)
            if job.is_finished:
                return job
            if errors:
                for name, value in _rejection_fields(errors).items():
                    setattr(job, name, value)
            else:
                job.status, job.result, job.finished_at = (
                    ImportJob.Status.DONE,
                    prepared.apply(job.created_by),
                    timezone.now(),
                )
            job.save(update_fields=["status", "errors", "error_count", "errors_csv", "result", "finished_at"])
    except DatabaseError as exc:
        # Validation should catch everything; if the database still refuses, say so instead of hanging.
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED,
            errors=[{"file": "", "line": 0, "message": f"the database refused the import: {exc}"[:500]}],
            finished_at=timezone.now(),
        )
        job = ImportJob.objects.get(pk=job_id)
    return job


def import_jobs_prune(*, older_than_days: int = 7) -> int:
    """Drop the stored file text of old imports; the summary rows stay for the record."""
    cutoff = timezone.now() - datetime.timedelta(days=older_than_days)
    return ImportJob.objects.filter(created_at__lt=cutoff).exclude(files={}).update(files={})
