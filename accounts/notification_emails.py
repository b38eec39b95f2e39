"""The emails that go with notifications (health alerts, low-score alerts): each sent and recorded on its own.

A notification that has an email keeps its subject and body until the mail server takes it
(`emailed_at`). A failed send records the error on that notification only, never stops the other
emails of the batch, and is tried again by `notification_emails_retry` (Celery beat, every few
minutes), at most EMAIL_MAX_ATTEMPTS times in all; the last failure is logged as an error and the
notification stays in the app, with its error, in the Django admin.
"""

import datetime
import logging
from collections.abc import Iterable

from django.core.mail import get_connection
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Notification
from accounts.validators import one_line
from core.emails import make_message

logger = logging.getLogger(__name__)

EMAIL_MAX_ATTEMPTS = 5
# A send takes seconds; an attempt older than this failed or died with its worker.
RETRY_AFTER = datetime.timedelta(minutes=5)
RETRY_BATCH = 200


def notification_emails_send(*, notifications: Iterable[Notification], connection=None) -> int:
    """Email each of these notifications that has an unsent email; returns how many went out.

    Each email is claimed (a conditional UPDATE on its attempt count), so two runs never send the same one.
    """
    connection = connection or get_connection()
    sent = 0
    for notification in notifications:
        sent += _send_one(notification, connection)
    return sent


def _send_one(notification: Notification, connection) -> bool:
    now = timezone.now()
    claimed = (
        Notification.objects.filter(
            pk=notification.pk, emailed_at__isnull=True, email_attempts=notification.email_attempts
        )
        .exclude(email_subject="")
        .update(email_attempts=F("email_attempts") + 1, email_tried_at=now)
    )
    if not claimed:
        return False
    try:
        # The body was written when the notification was made: a retry sends the same text.
        make_message(
            "accounts/email/notification",
            to=notification.user.email,
            # Made one line again here: a subject stored before the forms refused line breaks
            # must not raise BadHeaderError.
            subject=one_line(notification.email_subject),
            context={"body": notification.email_body},
            connection=connection,
        ).send()
    except Exception as exc:  # any failure (SMTP, a bad header, a dropped connection) is this email's alone
        attempts = notification.email_attempts + 1
        error = f"{type(exc).__name__}: {exc}"[:300]
        Notification.objects.filter(pk=notification.pk).update(email_error=error)
        if attempts >= EMAIL_MAX_ATTEMPTS:
            logger.error("notification %s: email not sent after %s attempts: %s", notification.pk, attempts, error)
        else:
            logger.warning(
                "notification %s: email not sent (attempt %s), will retry: %s", notification.pk, attempts, error
            )
        return False
    Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now(), email_error="")
    return True


def notification_emails_due(*, now: datetime.datetime | None = None):
    """Unsent emails whose last attempt (or creation) is older than RETRY_AFTER, with attempts left."""
    cutoff = (now or timezone.now()) - RETRY_AFTER
    return (
        Notification.objects.filter(emailed_at__isnull=True, email_attempts__lt=EMAIL_MAX_ATTEMPTS)
        .exclude(email_subject="")
        .filter(user__is_active=True)
        .alias(last_try=Coalesce("email_tried_at", "created_at"))
        .filter(last_try__lt=cutoff)
        .select_related("user")
        .order_by("pk")
    )


def notification_emails_retry(*, now: datetime.datetime | None = None) -> int:
    """Send again the notification emails that failed; returns how many went out this time."""
    due = list(notification_emails_due(now=now)[:RETRY_BATCH])
    return notification_emails_send(notifications=due) if due else 0
