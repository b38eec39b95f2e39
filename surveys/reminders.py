"""Reminders: once, to those who have not answered, only while their link is open, never lost to a
temporary failure and never sent twice.

A reminder is fenced like the first send. Its attempt is recorded (committed, on condition that no
other run holds it) before the SMTP transaction, and confirmed the moment the server accepts it:
- a temporary failure (4xx, or a server that cannot be reached) puts it back for the next run, until
  1 + SURVEY_SEND_MAX_RETRIES attempts have failed; then it is given up with the reason;
- a permanent refusal (5xx) gives it up and puts the address on the suppression list;
- an attempt that never came back (its process died, or the connection broke mid-transaction) is
  not tried again: it counts as reminded (after SURVEY_SEND_LEASE_SECONDS for a dead process), as an
  uncertain first send does.

The link closes LINK_OPEN_FOR after sending; a reminder is not sent in the last
REMINDER_CLOSING_MARGIN of it, when the contact could find the link closed before they get to it.
"""

import datetime
import logging
import smtplib

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import get_connection
from django.db.models import DateTimeField, Exists, F, Func, OuterRef, QuerySet
from django.utils import timezone

from accounts.company import company_name
from accounts.models import Contact
from accounts.suppression import suppressed_any
from surveys.answers import LINK_OPEN_FOR
from surveys.models import Campaign, Invitation
from surveys.sending import (
    UNCERTAIN_REASON,
    bounce_record,
    connection_closed,
    describe,
    invitation_email,
    is_permanent,
)

logger = logging.getLogger(__name__)

# Three days: a reminder read over a weekend still finds its link open.
REMINDER_CLOSING_MARGIN = datetime.timedelta(days=3)
# The longest reminder delay a campaign may have (57 days with a 60-day link).
REMINDER_MAX_DAYS = (LINK_OPEN_FOR - REMINDER_CLOSING_MARGIN).days


def reminder_delay_refusal(days: int | None) -> str | None:
    """Why a campaign cannot have this reminder delay (None: it can)."""
    if days is not None and days > REMINDER_MAX_DAYS:
        return (
            f"A reminder must come at least {REMINDER_CLOSING_MARGIN.days} days before the survey link closes "
            f"({LINK_OPEN_FOR.days} days after sending): choose at most {REMINDER_MAX_DAYS} days."
        )
    return None


class _DaysAfter(Func):
    """`moment` plus a whole number of days read from a column, in SQL (PostgreSQL; SQLite below)."""

    arity = 2
    output_field = DateTimeField()
    template = "(%(expressions)s)"
    arg_joiner = " + interval '1 day' * "

    def as_sqlite(self, compiler, connection, **extra):
        # SQLite holds datetimes as 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC: whole days move the date and keep
        # the time exactly (date arithmetic on the whole value would round it to milliseconds).
        moment, moment_params = compiler.compile(self.source_expressions[0])
        days, days_params = compiler.compile(self.source_expressions[1])
        sql = f"(date({moment}, '+' || {days} || ' days') || substr({moment}, 11))"
        return sql, (*moment_params, *days_params, *moment_params)


def reminders_due(now: datetime.datetime) -> QuerySet:
    """The invitations to remind now, over every campaign, in one query: sent (or delivery uncertain),
    unanswered, their campaign's delay passed and their link open beyond the margin, no attempt in
    flight or given up, the contact still reachable."""
    return (
        Invitation.objects.filter(
            campaign__reminder_after_days__isnull=False,
            campaign__status__in=[Campaign.Status.SENDING, Campaign.Status.SENT],
            status__in=[Invitation.Status.SENT, Invitation.Status.UNCERTAIN],
            reminded_at__isnull=True,
            reminder_started_at__isnull=True,
            reminder_given_up_at__isnull=True,
            sent_at__gt=now - LINK_OPEN_FOR + REMINDER_CLOSING_MARGIN,
            contact__opted_out_at__isnull=True,
            contact__bounced_at__isnull=True,
            contact__archived_at__isnull=True,
        )
        .alias(remind_from=_DaysAfter(F("sent_at"), F("campaign__reminder_after_days")))
        .filter(remind_from__lte=now)
        .exclude(suppressed_any(hash_field="contact__email_hash"))
        .select_related("contact", "account", "campaign__survey")
        .order_by("pk")
    )


def _attempts_unconfirmed_count_as_reminded(now: datetime.datetime) -> int:
    """Attempts older than the send lease never came back: the email may have arrived, so it is not
    sent again; it counts as reminded from when it was tried."""
    lease = datetime.timedelta(seconds=settings.SURVEY_SEND_LEASE_SECONDS)
    return Invitation.objects.filter(
        reminded_at__isnull=True, reminder_started_at__lt=now - lease, reminder_given_up_at__isnull=True
    ).update(reminded_at=F("reminder_started_at"))


def _give_up(attempt: QuerySet, error: str) -> None:
    attempt.update(reminder_given_up_at=timezone.now(), last_error=f"reminder: {error}"[:500])


def _failed(invitation: Invitation, attempt: QuerySet, exc: Exception) -> None:
    """Record a failed attempt: given up when permanent or the last allowed (`invitation` holds the count
    from before this attempt), else put back for the next run."""
    if is_permanent(exc) or invitation.reminder_attempts >= settings.SURVEY_SEND_MAX_RETRIES:
        _give_up(attempt, describe(exc))
        bounce_record(invitation, exc)
    else:
        attempt.update(reminder_started_at=None, last_error=f"reminder: {describe(exc)}"[:500])


def reminder_fence(invitation_id: int) -> QuerySet:
    """The invitation, if it may be reminded now: every condition on its own row or in EXISTS, never
    through a join, so the UPDATE is a plain conditional one that PostgreSQL re-checks on the row
    after waiting for a concurrent run's lock (a join would make it `id IN (SELECT …)`, re-checked on
    the id alone, and two runs could both send)."""
    opted_out = Contact.objects.filter(pk=OuterRef("contact_id"), opted_out_at__isnull=False)
    return Invitation.objects.filter(
        ~Exists(opted_out),
        pk=invitation_id,
        status__in=[Invitation.Status.SENT, Invitation.Status.UNCERTAIN],
        reminded_at__isnull=True,
        reminder_started_at__isnull=True,
        reminder_given_up_at__isnull=True,
    )


def _lost_connection(exc: Exception) -> bool:
    return isinstance(exc, smtplib.SMTPServerDisconnected) or not isinstance(exc, smtplib.SMTPException)


def reminders_send() -> int:
    """Send the reminders that are due over one SMTP connection; returns how many the server accepted.

    Queries: the due set and a sweep, then two short UPDATEs per email (the attempt, its outcome).
    A mail server that cannot be reached, or drops the connection, leaves the rest for the next run.
    """
    now = timezone.now()
    _attempts_unconfirmed_count_as_reminded(now)
    due = list(reminders_due(now))
    if not due:
        return 0
    connection = get_connection()
    try:
        connection.open()
    except (OSError, smtplib.SMTPException) as exc:
        logger.warning("reminders wait for the next run: the mail server cannot be reached (%s)", describe(exc))
        return 0
    sent = 0
    company = company_name()
    try:
        for invitation in due:
            message, error = invitation_email(invitation, connection=connection, company=company, reminder=True)
            if message is None:  # it would fail the same way next time
                _give_up(Invitation.objects.filter(pk=invitation.pk), error)
                continue
            started = timezone.now()
            claimed = reminder_fence(invitation.pk).update(
                reminder_started_at=started, reminder_attempts=F("reminder_attempts") + 1
            )
            if not claimed:
                continue  # answered or opted out meanwhile, or another run has it
            attempt = Invitation.objects.filter(pk=invitation.pk, reminder_started_at=started, reminded_at__isnull=True)
            try:
                message.send()
            except (OSError, smtplib.SMTPException) as exc:
                if _lost_connection(exc):
                    # Mid-transaction: the server may have taken it, so it counts as reminded (as an
                    # uncertain first send does); the rest were not tried and wait for the next run.
                    attempt.update(reminded_at=F("reminder_started_at"), last_error=f"reminder: {UNCERTAIN_REASON}")
                    break
                _failed(invitation, attempt, exc)
                if connection_closed(connection):
                    break  # a 421 ends the session: the rest wait for the next run
                continue
            except SoftTimeLimitExceeded:
                raise  # the run is out of time: this attempt counts as reminded later, the rest wait
            except Exception as exc:  # odd data: it may have reached the server, so it is not tried again
                logger.exception("reminder for invitation %s failed", invitation.pk)
                _give_up(attempt, describe(exc))
                continue
            attempt.update(reminded_at=timezone.now(), last_error="")
            sent += 1
    finally:
        connection.close()
    return sent
