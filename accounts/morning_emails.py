"""The morning email: each opted-in user gets the check-ins they have today, with what changed since the last one,
and their renewals that need a forecast call.

Only users with `morning_email` on, and only when they have a check-in due today or a renewal to call;
nobody gets an empty email. What is due, and what changed, is the dashboards' read
(`dashboards.morning.checkins_due`), and the renewals the renewals app's
(`renewals.selectors.renewals_to_call`), handed in by the task: accounts sits below both and never
imports them. Each user's email is claimed with
a conditional UPDATE of `morning_email_sent_on`, so a task that runs twice sends it once.
"""

import datetime
import logging
import smtplib
from collections.abc import Callable, Sequence

from django.conf import settings
from django.core.mail import get_connection

from accounts.models import User
from core.emails import make_message

logger = logging.getLogger(__name__)

# (user, today) → what the email lists: items with an `account`, its `summary` and a `link`; empty: no email.
CheckinsDue = Callable[..., Sequence]
# (user, today) → renewals of the user's accounts needing a call: items with an `account` and a `renewal_date`.
RenewalsToCall = Callable[..., Sequence]


def _nothing(**kwargs) -> list:
    return []


def morning_emails_send(
    *, today: datetime.date, checkins_due: CheckinsDue, renewals_to_call: RenewalsToCall = _nothing
) -> int:
    """Send today's morning email to every opted-in active user with a check-in due today; returns how many went out.

    Safe to run again the same day: a user whose email went out today is skipped. One user's failure
    never costs the others theirs: it is logged and the run goes on. If a send failed for the mail
    server (which a retry may cure), the first such error is raised at the end, for the task to retry.
    """
    sent = 0
    send_error: Exception | None = None
    connection = get_connection()
    users = User.objects.filter(is_active=True, morning_email=True).exclude(morning_email_sent_on=today)
    for user_id in users.order_by("pk").values_list("pk", flat=True):
        try:
            sent += _morning_email_send(
                user_id=user_id,
                today=today,
                checkins_due=checkins_due,
                renewals_to_call=renewals_to_call,
                connection=connection,
            )
        except (smtplib.SMTPException, OSError) as exc:
            logger.exception("morning email to user %s not sent; the retry sends it", user_id)
            send_error = send_error or exc
        except Exception:
            logger.exception("morning email to user %s failed", user_id)
    if send_error is not None:
        raise send_error
    return sent


def _morning_email_send(
    *, user_id: int, today: datetime.date, checkins_due: CheckinsDue, renewals_to_call: RenewalsToCall, connection
) -> int:
    """One user's morning email; 1 if it went out, 0 if there was nothing to send or another run sent it."""
    user = User.objects.get(pk=user_id)
    due = checkins_due(user=user, today=today)
    to_call = renewals_to_call(user=user, today=today)
    if not due and not to_call:
        return 0
    previous = user.morning_email_sent_on
    # The claim: of two runs at once, only the one whose UPDATE changed the row sends.
    claimed = (
        User.objects.filter(pk=user.pk, morning_email=True)
        .exclude(morning_email_sent_on=today)
        .update(morning_email_sent_on=today)
    )
    if not claimed:
        return 0
    count = len(due)
    if due:
        subject = f"Your check-ins today: {count} account{'s' if count != 1 else ''}"
    else:
        subject = f"Renewals to call: {len(to_call)} account{'s' if len(to_call) != 1 else ''}"
    context = {
        "user": user,
        "due": due,
        "to_call": to_call,
        "today": today,
        "product": settings.PRODUCT_NAME,
        "site_url": settings.SITE_URL,
    }
    try:
        make_message(
            "accounts/email/morning",
            to=user.email,
            subject=subject,
            context=context,
            connection=connection,
        ).send()
    except Exception:
        # Not sent: release the claim so the task's retry sends it.
        User.objects.filter(pk=user.pk).update(morning_email_sent_on=previous)
        raise
    return 1
