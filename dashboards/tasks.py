import datetime
import smtplib

from celery import shared_task
from django.utils import timezone


@shared_task(acks_late=True, autoretry_for=(smtplib.SMTPException, OSError), retry_backoff=60, max_retries=3)
def morning_emails_task(day: str | None = None) -> int:
    """Every morning: today's check-ins and renewals to call, to each opted-in user.

    A retry sends only to those not sent yet."""
    from accounts.morning_emails import morning_emails_send
    from dashboards.morning import checkins_due
    from renewals.selectors import renewals_to_call

    today = datetime.date.fromisoformat(day) if day else timezone.localdate()
    return morning_emails_send(today=today, checkins_due=checkins_due, renewals_to_call=renewals_to_call)
