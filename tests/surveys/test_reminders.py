"""Reminders: only while the link is open, never lost to a temporary failure, never sent twice."""

import datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.company import company_name
from accounts.models import Contact
from surveys import reminders
from surveys.answers import LINK_OPEN_FOR
from surveys.forms import CampaignForm
from surveys.models import Campaign, Invitation
from tests.factories import CampaignFactory, InvitationFactory, SurveyFactory

DAY = datetime.timedelta(days=1)


@pytest.fixture
def campaign(db):
    return CampaignFactory(status=Campaign.Status.SENT, reminder_after_days=3)


@pytest.fixture
def sent_at():
    """A fixed moment: every run happens at a moment the test names (run_at), never on the real clock."""
    return datetime.datetime(2026, 3, 2, 9, 30, tzinfo=datetime.UTC)


def invite(campaign, sent_at, count=3, status=Invitation.Status.SENT) -> list[Invitation]:
    return [InvitationFactory(campaign=campaign, sent_at=sent_at, status=status) for _ in range(count)]


def run_at(moment: datetime.datetime) -> int:
    with time_machine.travel(moment, tick=False):
        return reminders.reminders_send()


def reminded_addresses(smtp_server) -> list[str]:
    return sorted(str(m["To"]) for m in smtp_server.messages if m["Subject"].startswith("Reminder: "))


def test_no_reminder_once_the_link_has_closed(campaign, sent_at, smtp_server):
    invite(campaign, sent_at)
    assert run_at(sent_at + LINK_OPEN_FOR + DAY) == 0
    assert smtp_server.messages == []
    assert not Invitation.objects.filter(reminder_attempts__gt=0).exists()


def test_no_reminder_in_the_last_days_before_the_link_closes(campaign, sent_at, smtp_server):
    # The reminder run did not happen in time (the workers were down for weeks): too late is never.
    invite(campaign, sent_at)
    assert run_at(sent_at + LINK_OPEN_FOR - reminders.REMINDER_CLOSING_MARGIN) == 0
    assert run_at(sent_at + LINK_OPEN_FOR - reminders.REMINDER_CLOSING_MARGIN - datetime.timedelta(minutes=1)) == 3


def test_reminder_waits_for_the_campaigns_delay_and_goes_to_sent_and_uncertain_invitations(
    campaign, sent_at, smtp_server
):
    sent = invite(campaign, sent_at, count=1)
    uncertain = invite(campaign, sent_at, count=1, status=Invitation.Status.UNCERTAIN)
    invite(campaign, sent_at, count=1, status=Invitation.Status.RESPONDED)
    invite(campaign, sent_at, count=1, status=Invitation.Status.FAILED)
    other = CampaignFactory(status=Campaign.Status.SENT, reminder_after_days=5)
    later = invite(other, sent_at, count=1)
    assert run_at(sent_at + 3 * DAY - datetime.timedelta(minutes=1)) == 0
    assert run_at(sent_at + 3 * DAY) == 2
    assert reminded_addresses(smtp_server) == sorted(i.contact.email for i in sent + uncertain)
    assert run_at(sent_at + 5 * DAY) == 1
    assert run_at(sent_at + 6 * DAY) == 0
    assert reminded_addresses(smtp_server) == sorted(i.contact.email for i in sent + uncertain + later)


def test_a_temporary_failure_is_retried_at_the_next_run_and_sent_once(campaign, sent_at, smtp_server):
    invitations = invite(campaign, sent_at)
    busy = invitations[0].contact.email
    smtp_server.refuse[busy] = (451, "Try again later")
    assert run_at(sent_at + 3 * DAY) == 2
    waiting = Invitation.objects.get(pk=invitations[0].pk)
    assert (waiting.reminded_at, waiting.reminder_attempts, waiting.last_error) == (
        None,
        1,
        "reminder: 451 Try again later",
    )
    del smtp_server.refuse[busy]
    assert run_at(sent_at + 3 * DAY + datetime.timedelta(minutes=15)) == 1
    assert run_at(sent_at + 3 * DAY + datetime.timedelta(minutes=30)) == 0
    assert reminded_addresses(smtp_server) == sorted(i.contact.email for i in invitations)
    waiting.refresh_from_db()
    assert waiting.reminded_at is not None and waiting.last_error == "" and waiting.reminder_attempts == 2


def test_a_reminder_failing_every_attempt_is_given_up_with_the_reason(campaign, sent_at, smtp_server, settings):
    settings.SURVEY_SEND_MAX_RETRIES = 2
    [invitation] = invite(campaign, sent_at, count=1)
    smtp_server.refuse[invitation.contact.email] = (452, "Mailbox full")
    for run in range(3):
        assert run_at(sent_at + 3 * DAY + run * datetime.timedelta(minutes=15)) == 0
    invitation.refresh_from_db()
    assert invitation.reminder_attempts == 3 and invitation.reminder_given_up_at is not None
    assert invitation.last_error == "reminder: 452 Mailbox full" and invitation.reminded_at is None
    del smtp_server.refuse[invitation.contact.email]
    assert run_at(sent_at + 4 * DAY) == 0
    assert smtp_server.messages == [] and invitation.contact.bounced_at is None


def test_a_permanent_refusal_is_given_up_at_once(campaign, sent_at, smtp_server):
    [invitation] = invite(campaign, sent_at, count=1)
    smtp_server.refuse[invitation.contact.email] = (550, "No such user")
    assert run_at(sent_at + 3 * DAY) == 0
    invitation.refresh_from_db()
    assert invitation.reminder_attempts == 1 and invitation.reminder_given_up_at is not None
    assert invitation.last_error == "reminder: 550 No such user"
    del smtp_server.refuse[invitation.contact.email]
    assert run_at(sent_at + 4 * DAY) == 0


def test_an_unreachable_mail_server_costs_no_attempt_and_the_reminders_go_once_it_is_back(
    campaign, sent_at, smtp_server
):
    invitations = invite(campaign, sent_at)
    smtp_server.stop()
    assert run_at(sent_at + 3 * DAY) == 0
    assert set(Invitation.objects.values_list("reminder_attempts", "reminder_started_at")) == {(0, None)}
    smtp_server.start()
    assert run_at(sent_at + 3 * DAY + datetime.timedelta(minutes=15)) == 3
    assert reminded_addresses(smtp_server) == sorted(i.contact.email for i in invitations)


def test_a_connection_dropped_mid_send_counts_that_one_reminded_and_leaves_the_rest(
    campaign, sent_at, smtp_server, monkeypatch
):
    import smtplib

    invitations = invite(campaign, sent_at)
    send = smtplib.SMTP.sendmail

    def drop_at_the_second(self, from_addr, to_addrs, *args, **kwargs):
        if invitations[1].contact.email in to_addrs:
            self.close()
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return send(self, from_addr, to_addrs, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "sendmail", drop_at_the_second)
    assert run_at(sent_at + 3 * DAY) == 1
    attempts = dict(Invitation.objects.values_list("pk", "reminder_attempts"))
    assert [attempts[i.pk] for i in invitations] == [1, 1, 0]  # the third was not tried
    dropped = Invitation.objects.get(pk=invitations[1].pk)
    # The server may have taken it before the connection broke: never sent twice, so not again.
    assert dropped.reminded_at == dropped.reminder_started_at and "delivery uncertain" in dropped.last_error
    monkeypatch.setattr(smtplib.SMTP, "sendmail", send)
    assert run_at(sent_at + 3 * DAY + datetime.timedelta(minutes=15)) == 1
    assert reminded_addresses(smtp_server) == sorted([invitations[0].contact.email, invitations[2].contact.email])


def test_an_attempt_that_never_came_back_is_not_sent_again_and_counts_as_reminded(
    campaign, sent_at, smtp_server, settings
):
    # Its process died during the SMTP transaction: the email may have arrived.
    [invitation] = invite(campaign, sent_at, count=1)
    started = sent_at + 3 * DAY
    Invitation.objects.filter(pk=invitation.pk).update(reminder_started_at=started, reminder_attempts=1)
    lease = datetime.timedelta(seconds=settings.SURVEY_SEND_LEASE_SECONDS)
    assert run_at(started + datetime.timedelta(minutes=1)) == 0
    invitation.refresh_from_db()
    assert invitation.reminded_at is None  # perhaps still in the SMTP exchange
    assert run_at(started + lease + datetime.timedelta(seconds=1)) == 0
    invitation.refresh_from_db()
    assert invitation.reminded_at == started and smtp_server.messages == []


def test_a_reminder_answered_or_opted_out_meanwhile_is_not_sent(campaign, sent_at, smtp_server, monkeypatch):
    invitations = invite(campaign, sent_at, count=3)
    due = reminders.reminders_due

    def answered_after_the_due_set(now):
        rows = list(due(now))
        Invitation.objects.filter(pk=invitations[1].pk).update(status=Invitation.Status.RESPONDED)
        Contact.objects.filter(pk=invitations[2].contact_id).update(opted_out_at=now)
        return rows

    monkeypatch.setattr(reminders, "reminders_due", answered_after_the_due_set)
    assert run_at(sent_at + 3 * DAY) == 1
    assert reminded_addresses(smtp_server) == [invitations[0].contact.email]


def test_a_reminder_that_cannot_be_built_is_given_up(campaign, sent_at, smtp_server):
    [invitation] = invite(campaign, sent_at, count=1)
    Contact.objects.filter(pk=invitation.contact_id).update(email="a@b.test\nBcc: c@d.test")
    assert run_at(sent_at + 3 * DAY) == 0
    assert run_at(sent_at + 4 * DAY) == 0
    invitation.refresh_from_db()
    assert invitation.reminder_given_up_at is not None
    assert invitation.last_error.startswith("reminder: could not build the email")


def _run_queries(campaign, sent_at, count: int) -> int:
    invite(campaign, sent_at, count=count)
    company_name()  # cached, as in a running worker: the counts compare runs, not the first read
    with CaptureQueriesContext(connection) as queries:
        assert run_at(sent_at + 3 * DAY) == count
    return len(queries)


def test_a_run_costs_two_short_writes_per_email_and_a_constant_rest(db, smtp_server, sent_at):
    def campaign():
        return CampaignFactory(status=Campaign.Status.SENT, reminder_after_days=3)

    small, large = _run_queries(campaign(), sent_at, 3), _run_queries(campaign(), sent_at, 8)
    assert large - small == 2 * 5


def test_the_fence_is_one_conditional_update_on_the_row_itself(campaign, sent_at, smtp_server):
    # Through a join, Django writes `WHERE id IN (SELECT …)`: PostgreSQL re-checks only the id after
    # waiting for a concurrent run's lock, and both runs would send. On the row itself, the second
    # run's UPDATE re-reads reminder_started_at and finds it taken.
    invite(campaign, sent_at, count=1)
    with CaptureQueriesContext(connection) as queries:
        assert run_at(sent_at + 3 * DAY) == 1
    fence = [q["sql"] for q in queries if "reminder_started_at" in q["sql"] and q["sql"].startswith("UPDATE")]
    assert fence and all("IN (SELECT" not in sql for sql in fence), fence


def test_a_server_that_ends_the_session_with_421_costs_no_reminder(campaign, sent_at, smtp_server):
    invitations = invite(campaign, sent_at)
    smtp_server.refuse[invitations[1].contact.email] = (421, "Too busy, closing")
    assert run_at(sent_at + 3 * DAY) == 1  # the first; the second refused, the third waits
    attempts = dict(Invitation.objects.values_list("pk", "reminder_attempts"))
    assert [attempts[i.pk] for i in invitations] == [1, 1, 0]
    assert not Invitation.objects.filter(pk=invitations[2].pk, reminded_at__isnull=False).exists()
    del smtp_server.refuse[invitations[1].contact.email]
    assert run_at(sent_at + 3 * DAY + datetime.timedelta(minutes=15)) == 2
    assert reminded_addresses(smtp_server) == sorted(i.contact.email for i in invitations)


@pytest.mark.parametrize("days, refused", [(57, False), (58, True), (90, True)])
def test_the_campaign_form_refuses_a_reminder_delay_past_the_link_expiry(adam, days, refused):
    form = CampaignForm(
        data={"name": "Spring", "survey": SurveyFactory().pk, "audience": "all", "recipients": "primary",
              "reminder_after_days": str(days)},
        user=adam,
    )  # fmt: skip
    assert form.is_valid() is not refused
    if refused:
        assert form.errors["reminder_after_days"] == [
            "A reminder must come at least 3 days before the survey link closes (60 days after sending): "
            "choose at most 57 days."
        ]
    assert form.fields["reminder_after_days"].widget.attrs["max"] == 57


def test_the_model_refuses_a_reminder_delay_past_the_link_expiry(db):
    from django.core.exceptions import ValidationError

    campaign = CampaignFactory.build(survey=SurveyFactory(), reminder_after_days=58)
    with pytest.raises(ValidationError) as refused:
        campaign.full_clean()
    assert refused.value.message_dict["reminder_after_days"][0].startswith("A reminder must come at least 3 days")


@pytest.mark.django_db
def test_a_freshly_seeded_demo_has_no_reminder_due(settings, monkeypatch, smtp_server):
    settings.DEBUG = True
    monkeypatch.setattr("scoring.demo.history_days", lambda today: [today])
    call_command("seed_demo", accounts=20, stdout=StringIO())
    assert Invitation.objects.filter(status="sent", campaign__reminder_after_days__isnull=False).exists()
    assert reminders.reminders_send() == 0
    assert smtp_server.messages == []
    with time_machine.travel(timezone.now() + DAY, tick=False):
        assert reminders.reminders_send() == 0


def test_contacts_no_longer_reachable_get_no_reminder(campaign, sent_at, smtp_server):
    invitations = invite(campaign, sent_at)
    Contact.objects.filter(pk=invitations[0].contact_id).update(opted_out_at=timezone.now())
    Contact.objects.filter(pk=invitations[1].contact_id).update(archived_at=timezone.now())
    assert run_at(sent_at + 3 * DAY) == 1
    assert reminded_addresses(smtp_server) == [invitations[2].contact.email]


def test_a_run_out_of_time_leaves_its_attempt_uncertain_and_the_rest_for_the_next_run(
    campaign, sent_at, smtp_server, monkeypatch, settings
):
    import smtplib

    from celery.exceptions import SoftTimeLimitExceeded

    invitations = invite(campaign, sent_at)
    send = smtplib.SMTP.sendmail

    def time_is_up_at_the_second(self, from_addr, to_addrs, *args, **kwargs):
        if invitations[1].contact.email in to_addrs:
            raise SoftTimeLimitExceeded()
        return send(self, from_addr, to_addrs, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "sendmail", time_is_up_at_the_second)
    started = sent_at + 3 * DAY
    with pytest.raises(SoftTimeLimitExceeded):
        run_at(started)
    monkeypatch.setattr(smtplib.SMTP, "sendmail", send)
    assert run_at(started + datetime.timedelta(seconds=settings.SURVEY_SEND_LEASE_SECONDS + 1)) == 1
    rows = {row.pk: row for row in Invitation.objects.all()}
    assert rows[invitations[1].pk].reminded_at == started and rows[invitations[1].pk].reminder_given_up_at is None
    assert reminded_addresses(smtp_server) == sorted([invitations[0].contact.email, invitations[2].contact.email])
