"""Alert emails are never lost: each one is sent and recorded on its own notification, a name with a
line break cannot break a batch, and a failed email is retried by the sweep a bounded number of times."""

import datetime
import smtplib

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend

from accounts.models import Account, Contact, Notification
from accounts.notification_emails import EMAIL_MAX_ATTEMPTS, notification_emails_retry
from accounts.tasks import notification_emails_retry_task
from scoring.services import health_recompute
from surveys.follow_up import responses_follow_up
from tests.factories import AccountFactory, CheckInFactory, CommentFactory, ContactFactory

NOW = datetime.datetime(2026, 3, 10, 12, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()
FAILING = set()  # addresses FlakyBackend refuses, as many times as they appear here


class FlakyBackend(EmailBackend):
    """The test outbox, with a mail server that drops the connection for the addresses in FAILING."""

    def send_messages(self, messages):
        for message in messages:
            for address in message.to:
                if address in FAILING:
                    FAILING.discard(address)
                    raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


FLAKY = f"{__name__}.FlakyBackend"  # this very module, however pytest imported it


class DownBackend(EmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPConnectError(421, b"Service not available")


@pytest.fixture(autouse=True)
def _frozen():
    FAILING.clear()
    with time_machine.travel(NOW, tick=False):
        yield


def _dropping(owner, name: str) -> Account:
    """An account whose health drops 25 points today (100 three days ago, 75 now)."""
    account = AccountFactory(owner=owner, name="placeholder")
    # As stored before the forms refused line breaks: straight into the table.
    Account.objects.filter(pk=account.pk).update(name=name)
    CheckInFactory(account=account, date=TODAY - datetime.timedelta(days=3), sentiment=5)
    CheckInFactory(account=account, date=TODAY, sentiment=4)
    return account


def _history():
    health_recompute(as_of=TODAY - datetime.timedelta(days=3), alert=False)


def test_a_line_break_in_one_account_name_never_loses_the_other_owners_alerts(sentiment_model, alice, bob, mailoutbox):
    _dropping(alice, "Acme\nCorp")
    _dropping(bob, "Globex")
    _history()

    health_recompute()

    subjects = {message.to[0]: message.subject for message in mailoutbox}
    assert subjects == {
        "alice@pulse.test": "Acme Corp: health dropped 25 points since Mar 7",
        "bob@pulse.test": "Globex: health dropped 25 points since Mar 7",
    }
    assert all(message.message()["Subject"] for message in mailoutbox)  # each one is a valid email
    assert set(Notification.objects.values_list("title", "emailed_at", "email_attempts", "email_error")) == {
        ("Acme Corp: health dropped 25 points since Mar 7", NOW, 1, ""),
        ("Globex: health dropped 25 points since Mar 7", NOW, 1, ""),
    }


def test_one_failed_alert_email_never_stops_the_others_and_the_sweep_sends_it_once(
    sentiment_model, alice, bob, mailoutbox, settings
):
    settings.EMAIL_BACKEND = FLAKY
    _dropping(alice, "Acme")
    _dropping(bob, "Globex")
    _history()
    FAILING.add("alice@pulse.test")  # the server drops the connection once, on alice's email

    assert health_recompute() == 2

    assert [message.to for message in mailoutbox] == [["bob@pulse.test"]]
    failed = Notification.objects.get(user=alice)
    assert failed.emailed_at is None and failed.email_attempts == 1
    assert failed.email_error == "SMTPServerDisconnected: Connection unexpectedly closed"

    # Too soon for the sweep: the attempt is left to finish, nothing is sent twice.
    assert notification_emails_retry() == 0
    with time_machine.travel(NOW + datetime.timedelta(minutes=10), tick=False):
        notification_emails_retry_task.delay()
        assert notification_emails_retry() == 0  # the next run finds nothing left

    assert sorted(message.to[0] for message in mailoutbox) == ["alice@pulse.test", "bob@pulse.test"]
    assert mailoutbox[1].subject == "Acme: health dropped 25 points since Mar 7"
    failed.refresh_from_db()
    assert failed.emailed_at == NOW + datetime.timedelta(minutes=10)
    assert failed.email_attempts == 2 and failed.email_error == ""
    # The rerun of the day's recompute sends nothing again either.
    health_recompute()
    assert len(mailoutbox) == 2


def test_the_sweep_gives_up_after_a_bounded_number_of_attempts_and_logs_it(sentiment_model, alice, settings, caplog):
    settings.EMAIL_BACKEND = f"{__name__}.DownBackend"
    _dropping(alice, "Acme")
    _history()
    health_recompute()
    for run in range(1, EMAIL_MAX_ATTEMPTS + 3):
        with time_machine.travel(NOW + datetime.timedelta(minutes=10 * run), tick=False):
            notification_emails_retry()

    notification = Notification.objects.get()
    assert notification.email_attempts == EMAIL_MAX_ATTEMPTS and notification.emailed_at is None
    assert notification.email_error == "SMTPConnectError: (421, b'Service not available')"
    assert notification.title == "Acme: health dropped 25 points since Mar 7"  # still in the app
    [given_up] = [record for record in caplog.records if record.levelname == "ERROR"]
    assert f"not sent after {EMAIL_MAX_ATTEMPTS} attempts" in given_up.getMessage()


def test_the_sweep_runs_every_ten_minutes():
    entry = django_settings.CELERY_BEAT_SCHEDULE["notification-emails-retry"]
    assert entry == {"task": "accounts.tasks.notification_emails_retry_task", "schedule": 600.0}


def test_a_line_break_in_a_contact_name_never_loses_the_low_score_alerts(alice, alice_account, mailoutbox):
    dora = ContactFactory(account=alice_account, name="placeholder")
    Contact.objects.filter(pk=dora.pk).update(name="Dora\r\nDorsey")
    first = CommentFactory(account=alice_account, contact=dora, kind="nps", score=2, comment="Slow.",
                          follow_up_due=True)  # fmt: skip
    second = CommentFactory(account=alice_account, contact=ContactFactory(account=alice_account, name="Eve"),
                            kind="nps", score=3, follow_up_due=True)  # fmt: skip

    assert responses_follow_up(response_ids=[first.pk, second.pk]) == 2

    assert sorted(message.subject for message in mailoutbox) == [
        "Acme Alpha: Dora Dorsey answered NPS 2",
        "Acme Alpha: Eve answered NPS 3",
    ]
    assert "Slow." in mailoutbox[0].body + mailoutbox[1].body
    assert Notification.objects.filter(emailed_at=NOW).count() == 2


def test_a_failed_low_score_email_is_recorded_and_retried_not_lost(alice, alice_account, mailoutbox, settings):
    settings.EMAIL_BACKEND = FLAKY
    FAILING.add("alice@pulse.test")
    answer = CommentFactory(account=alice_account, contact=ContactFactory(account=alice_account, name="Dora"),
                            kind="csat", score=1, follow_up_due=True)  # fmt: skip

    assert responses_follow_up(response_ids=[answer.pk]) == 1
    assert mailoutbox == []
    notification = Notification.objects.get(key=f"low-score:{answer.pk}")
    assert notification.email_error.startswith("SMTPServerDisconnected")

    with time_machine.travel(NOW + datetime.timedelta(minutes=6), tick=False):
        assert notification_emails_retry() == 1
    [message] = mail.outbox
    assert message.to == ["alice@pulse.test"] and message.subject == "Acme Alpha: Dora answered CSAT 1"
    assert notification_emails_retry() == 0
