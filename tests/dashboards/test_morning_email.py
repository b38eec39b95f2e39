"""The morning email: today's check-ins with what changed since the last one, opt-in per user, once a day."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from accounts.models import User
from accounts.morning_emails import morning_emails_send
from dashboards import morning
from dashboards.morning import checkins_due
from dashboards.tasks import morning_emails_task
from tests.factories import (
    AccountFactory,
    CheckInFactory,
    ContactFactory,
    HealthSnapshotFactory,
    MetricDefinitionFactory,
    MetricValueFactory,
    ResponseFactory,
)
from tests.helpers import at
from tests.scoring.test_score_change import kestrel

TODAY = datetime.date(2026, 3, 16)
LAST = datetime.date(2026, 2, 16)


def entry(label: str, normalised: float) -> dict:
    return {"component": None, "label": label, "input": "nps", "weight": 20, "raw": 0, "n": 3,
            "normalised": normalised, "contribution": None, "status": "ok"}  # fmt: skip


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(at(TODAY, 7), tick=False):
        yield


def opt_in(*users):
    User.objects.filter(pk__in=[user.pk for user in users]).update(morning_email=True)


@pytest.fixture
def due_today(alice, alice_account):
    """Alice's account: last check-in a month ago planned today's; health slid, two answers and a metric drop since."""
    CheckInFactory(account=alice_account, date=LAST - datetime.timedelta(days=28), next_checkin_on=LAST)
    CheckInFactory(account=alice_account, date=LAST, next_checkin_on=TODAY)
    # NPS 80 -> 48 beside an input at 68 (equal weights): 74 -> 58, all of it NPS's.
    HealthSnapshotFactory(account=alice_account, date=LAST, score=74.0, components=[entry("NPS", 80), entry("X", 68)])
    HealthSnapshotFactory(account=alice_account, date=TODAY, score=58.0, components=[entry("NPS", 48), entry("X", 68)])
    contact = ContactFactory(account=alice_account, name="Dana Fox")
    ResponseFactory(
        account=alice_account,
        contact=contact,
        score=4,
        comment="Support is slow.",
        answered_at=at(TODAY - datetime.timedelta(days=9)),
    )
    ResponseFactory(account=alice_account, contact=contact, score=9, answered_at=at(TODAY - datetime.timedelta(days=2)))
    ResponseFactory(account=alice_account, contact=contact, score=10, answered_at=at(LAST - datetime.timedelta(days=1)))
    usage = MetricDefinitionFactory(key="active_users", label="Active users", unit="users")
    MetricValueFactory(account=alice_account, metric=usage, date=LAST, value=120)
    MetricValueFactory(account=alice_account, metric=usage, date=TODAY - datetime.timedelta(days=1), value=60)
    return alice_account


def test_opted_in_csm_gets_one_email_listing_the_account_with_its_summary(alice, due_today, mailoutbox):
    opt_in(alice)
    AccountFactory(name="Not today", owner=alice)  # no check-in planned: not listed
    assert morning_emails_send(today=TODAY, checkins_due=checkins_due) == 1
    [mail] = mailoutbox
    assert mail.to == [alice.email] and mail.subject == "Your check-ins today: 1 account"
    body = mail.body
    assert "Acme Alpha" in body and f"{settings.SITE_URL}/accounts/{due_today.pk}/" in body
    assert "Last check-in: Feb 16, 2026" in body
    assert "Health: 74 -> 58 (-16), Green -> Yellow" in body
    assert "Biggest input moves, in points of the score: NPS -16" in body
    assert "New survey answers: 2 (1 with a comment)" in body
    assert 'NPS 4 from Dana Fox: "Support is slow."' in body
    assert "Metric moves of 20% or more: Active users down 50% (7-day mean 120 -> 60)" in body
    assert "Not today" not in body
    html = mail.alternatives[0][0]
    assert "Acme Alpha" in html and "Support is slow." in html


def test_the_email_names_the_same_lines_as_the_account_page(alice, alice_account, mailoutbox):
    opt_in(alice)
    CheckInFactory(account=alice_account, date=LAST, next_checkin_on=TODAY)
    kestrel(alice_account, before_day=LAST, after_day=TODAY)
    morning_emails_send(today=TODAY, checkins_due=checkins_due)
    [mail] = mailoutbox
    assert "Health: 44 -> 34 (-10), Yellow -> Red" in mail.body
    assert "Biggest input moves, in points of the score: Seat usage -6, CSAT (entered: new answer) -4" in mail.body
    assert "Seat usage -6, CSAT (entered: new answer) -4" in mail.alternatives[0][0]


def test_opted_out_csm_gets_nothing(alice, due_today, mailoutbox):
    assert morning_emails_send(today=TODAY, checkins_due=checkins_due) == 0
    assert mailoutbox == []


def test_nobody_without_a_checkin_due_today_gets_an_email(alice, bob, carol, alice_account, bob_account, mailoutbox):
    opt_in(alice, bob, carol)
    CheckInFactory(account=alice_account, date=LAST, next_checkin_on=TODAY + datetime.timedelta(days=1))
    # Bob's older check-in planned today, but the latest one moved it: not due.
    CheckInFactory(account=bob_account, date=LAST - datetime.timedelta(days=7), next_checkin_on=TODAY)
    CheckInFactory(account=bob_account, date=LAST, next_checkin_on=TODAY + datetime.timedelta(days=7))
    assert morning_emails_send(today=TODAY, checkins_due=checkins_due) == 0
    assert mailoutbox == []


def test_only_accounts_the_user_owns_are_listed(alice, bob, maria, due_today, bob_account, mailoutbox):
    opt_in(alice, maria)
    CheckInFactory(account=bob_account, date=LAST, next_checkin_on=TODAY)  # bob's: not in alice's email
    assert morning_emails_send(today=TODAY, checkins_due=checkins_due) == 1  # maria sees both accounts but owns neither
    [mail] = mailoutbox
    assert mail.to == [alice.email] and bob_account.name not in mail.body


def test_running_twice_the_same_day_sends_once(alice, due_today, mailoutbox):
    opt_in(alice)
    assert morning_emails_send(today=TODAY, checkins_due=checkins_due) == 1
    assert morning_emails_send(today=TODAY, checkins_due=checkins_due) == 0
    assert len(mailoutbox) == 1
    CheckInFactory(account=due_today, date=TODAY, next_checkin_on=TODAY + datetime.timedelta(days=1))
    assert (
        morning_emails_send(today=TODAY + datetime.timedelta(days=1), checkins_due=checkins_due) == 1
    )  # the next day is a new day


def test_a_failed_send_is_sent_by_the_retry(alice, due_today, mailoutbox, monkeypatch):
    opt_in(alice)

    def refuse(*args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    with pytest.raises(OSError):
        morning_emails_send(today=TODAY, checkins_due=checkins_due)
    monkeypatch.undo()
    assert morning_emails_send(today=TODAY, checkins_due=checkins_due) == 1 and len(mailoutbox) == 1


def test_inactive_users_get_nothing(alice, due_today, mailoutbox):
    opt_in(alice)
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert morning_emails_send(today=TODAY, checkins_due=checkins_due) == 0


def test_task_sends_and_beat_runs_it_every_morning(alice, due_today, mailoutbox):
    opt_in(alice)
    assert morning_emails_task.delay().get() == 1
    assert len(mailoutbox) == 1
    entry = settings.CELERY_BEAT_SCHEDULE["morning-emails"]
    assert entry["task"] == "dashboards.tasks.morning_emails_task"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({7}, {0})


# ---- The switch -----------------------------------------------------------------------------


def test_toggle_turns_the_morning_email_on_and_off(alice, login):
    client = login(alice)
    response = client.post("/me/morning-email/", {"morning_email": "on"})
    assert response.status_code == 302 and response["Location"] == "/notifications/"
    alice.refresh_from_db()
    assert alice.morning_email is True
    page = client.get("/notifications/").content.decode()
    assert 'name="morning_email" checked' in page and "Morning email on" in page
    client.post("/me/morning-email/", {})
    alice.refresh_from_db()
    assert alice.morning_email is False


def test_toggle_is_post_only_and_for_signed_in_users(client, alice, login):
    response = client.post("/me/morning-email/", {"morning_email": "on"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert login(alice).get("/me/morning-email/").status_code == 405
    alice.refresh_from_db()
    assert alice.morning_email is False


def test_notifications_page_has_the_switch_off_by_default(alice, login):
    page = login(alice).get("/notifications/").content.decode()
    assert 'action="/me/morning-email/"' in page and 'name="morning_email">' in page


def test_a_check_in_dated_year_one_gets_its_email_and_the_later_users_theirs(alice, bob, bob_account, mailoutbox):
    """A check-in dated 0001-01-01 (stored before dates had bounds) stopped the run for every later user."""
    opt_in(alice, bob)
    odd = AccountFactory(name="Old Tool Import", owner=alice)
    CheckInFactory(account=odd, date=datetime.date(1, 1, 1), next_checkin_on=TODAY)
    CheckInFactory(account=bob_account, date=LAST, next_checkin_on=TODAY)
    assert morning_emails_send(today=TODAY, checkins_due=checkins_due) == 2
    assert sorted(mail.to[0] for mail in mailoutbox) == [alice.email, bob.email]
    assert "Old Tool Import" in mailoutbox[0].body


def test_one_users_failure_is_logged_and_the_others_get_theirs(alice, bob, due_today, bob_account, mailoutbox,
                                                              monkeypatch, caplog):  # fmt: skip
    opt_in(alice, bob)
    CheckInFactory(account=bob_account, date=LAST, next_checkin_on=TODAY)
    summaries = morning.since_summaries

    def broken_for_alice(*, accounts, today):
        if any(account.owner_id == alice.pk for account in accounts):
            raise ValueError("odd data")
        return summaries(accounts=accounts, today=today)

    monkeypatch.setattr(morning, "since_summaries", broken_for_alice)
    assert morning_emails_send(today=TODAY, checkins_due=checkins_due) == 1
    assert [mail.to for mail in mailoutbox] == [[bob.email]]
    assert f"morning email to user {alice.pk} failed" in caplog.text
    assert User.objects.get(pk=alice.pk).morning_email_sent_on is None  # not claimed: the next run tries again


def test_a_mail_server_failure_still_sends_to_the_others_then_asks_for_a_retry(alice, bob, due_today, bob_account,
                                                                             mailoutbox, monkeypatch):  # fmt: skip
    opt_in(alice, bob)
    CheckInFactory(account=bob_account, date=LAST, next_checkin_on=TODAY)
    send = EmailMultiAlternatives.send

    def refuse_alice(message, *args, **kwargs):
        if message.to == [alice.email]:
            raise OSError("connection reset")
        return send(message, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse_alice)
    with pytest.raises(OSError):  # the task retries on it, and the retry sends alice's only
        morning_emails_send(today=TODAY, checkins_due=checkins_due)
    assert [mail.to for mail in mailoutbox] == [[bob.email]]
    monkeypatch.undo()
    assert morning_emails_send(today=TODAY, checkins_due=checkins_due) == 1
    assert [mail.to for mail in mailoutbox] == [[bob.email], [alice.email]]


def test_renewals_needing_a_call_are_listed_and_send_the_email_on_their_own(alice, bob, mailoutbox):
    from renewals.selectors import renewals_to_call
    from tests.factories import ForecastCallFactory, RenewalFactory

    opt_in(alice)
    soon = RenewalFactory(
        account=AccountFactory(name="Silent Soon", owner=alice), renewal_date=TODAY + datetime.timedelta(days=40)
    )
    stale = RenewalFactory(
        account=AccountFactory(name="Old Word", owner=alice), renewal_date=TODAY + datetime.timedelta(days=80)
    )
    ForecastCallFactory(renewal=stale, made_on=TODAY - datetime.timedelta(days=31))
    fresh = RenewalFactory(
        account=AccountFactory(name="Called Lately", owner=alice), renewal_date=TODAY + datetime.timedelta(days=20)
    )
    ForecastCallFactory(renewal=fresh, made_on=TODAY - datetime.timedelta(days=30))
    RenewalFactory(
        account=AccountFactory(name="Far Off", owner=alice), renewal_date=TODAY + datetime.timedelta(days=91)
    )
    RenewalFactory(account=AccountFactory(name="Bobs", owner=bob), renewal_date=TODAY + datetime.timedelta(days=10))
    assert morning_emails_send(today=TODAY, checkins_due=checkins_due, renewals_to_call=renewals_to_call) == 1
    [mail] = mailoutbox
    assert mail.subject == "Renewals to call: 2 accounts"
    assert "No check-in today" in mail.body and "Renewals that need your forecast call (2)" in mail.body
    assert "Silent Soon: renews" in mail.body and "no call yet" in mail.body
    assert "Old Word: renews" in mail.body and f"last call {TODAY - datetime.timedelta(days=31):%b} " in mail.body
    assert f"{settings.SITE_URL}/accounts/{soon.account_id}/#renewal" in mail.body
    for other in ("Called Lately", "Far Off", "Bobs"):
        assert other not in mail.body
