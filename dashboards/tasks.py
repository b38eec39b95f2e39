import datetime
import smtplib

from celery import shared_task
from django.utils import timezone

from dashboards import morning


@shared_task(acks_late=True, autoretry_for=(smtplib.SMTPException, OSError), retry_backoff=60, max_retries=3)
def morning_emails_task(day: str | None = None) -> int:
    """Every morning: today's check-ins to each opted-in user. A retry sends only to those not sent yet."""
    today = datetime.date.fromisoformat(day) if day else timezone.localdate()
    return morning.morning_emails_send(today)
