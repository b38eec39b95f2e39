"""Campaigns: who is asked, the email itself, sending exactly once, failures, reminders."""

import datetime
import re

import pytest
import time_machine
from django.utils import timezone

from accounts.company import company_name
from accounts.models import Contact, SuppressedAddress
from surveys import reminders, sending, services
from surveys.models import Campaign, Invitation
from tests.factories import AccountFactory, CampaignFactory, ContactFactory, SurveyFactory
from tests.surveys.previews import left_out_counts


@pytest.fixture
def audience(alice, carol):
    """Two accounts of alice, one of carol; each with a primary and a second contact."""
    accounts = [
        AccountFactory(owner=alice, segment="enterprise"),
        AccountFactory(owner=alice),
        AccountFactory(owner=carol),
    ]
    for account in accounts:
        ContactFactory(account=account, is_primary=True)
        ContactFactory(account=account, is_primary=False)
    return accounts


def test_preview_counts_who_is_asked_and_who_is_left_out(audience, smtp_server, run_on_commit):
    first, second, third = audience
    Contact.objects.filter(account=first, is_primary=True).update(opted_out_at=timezone.now())
    Contact.objects.filter(account=second, is_primary=True).update(bounced_at=timezone.now())
    earlier = CampaignFactory(recipients="all", audience="accounts")
    earlier.accounts.set([third])
    run_on_commit(services.campaign_send, campaign=earlier)

    campaign = CampaignFactory(recipients="all")
    preview = services.campaign_preview(campaign)
    assert (preview.audience, preview.will_ask) == (6, 2)
    assert left_out_counts(preview) == [
        ("opted out of surveys", 1),
        ("address bounced", 1),
        ("asked in the last 90 days (quiet period)", 2),
    ]


def test_audiences_select_the_right_contacts(audience, alice):
    segment = CampaignFactory(audience="segment", segment="enterprise")
    owner = CampaignFactory(audience="owner", owner=alice, recipients="all")
    assert services.campaign_preview(segment).will_ask == 1
    assert services.campaign_preview(owner).will_ask == 4


def test_churned_accounts_are_not_surveyed(audience):
    audience[0].status, audience[0].churned_on = "churned", datetime.date(2026, 1, 1)
    audience[0].save()
    assert services.campaign_preview(CampaignFactory()).will_ask == 2


def test_send_emails_each_contact_once_with_one_click_buttons(audience, smtp_server, run_on_commit):
    campaign = CampaignFactory(survey=SurveyFactory(kind="nps"))
    assert run_on_commit(services.campaign_send, campaign=campaign) == 3
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT and campaign.finished_at is not None
    assert len(smtp_server.messages) == 3
    invitation = Invitation.objects.select_related("contact").first()
    assert invitation.status == Invitation.Status.SENT and invitation.sent_at and invitation.attempts == 1
    [message] = smtp_server.to(invitation.contact.email)
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    for score in range(11):
        assert f"/s/{invitation.token}/?score={score}" in html
        assert f"{score}: http://127.0.0.1:8000/s/{invitation.token}/?score={score}" in text
    assert message["List-Unsubscribe"].strip() == f"<http://127.0.0.1:8000/s/{invitation.token}/opt-out/>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Stop receiving surveys" in html and f"/s/{invitation.token}/opt-out/" in text
    assert "How likely are you to recommend our company to a friend or colleague?" in message["Subject"]


def test_tokens_are_long_random_and_distinct(audience, run_on_commit, smtp_server):
    run_on_commit(services.campaign_send, campaign=CampaignFactory(recipients="all"))
    tokens = list(Invitation.objects.values_list("token", flat=True))
    assert len(set(tokens)) == 6
    assert all(len(token) >= 32 and re.fullmatch(r"[A-Za-z0-9_-]+", token) for token in tokens)  # 192 bits


def test_a_redelivered_batch_sends_nothing_twice(audience, smtp_server, run_on_commit):
    campaign = CampaignFactory()
    run_on_commit(services.campaign_send, campaign=campaign)
    ids = list(campaign.invitations.values_list("pk", flat=True))
    assert sending.invitation_batch_send(invitation_ids=ids) == []
    from surveys.tasks import campaign_send_task, invitation_batch_send_task

    invitation_batch_send_task.delay(campaign.pk, ids)
    campaign_send_task.delay(campaign.pk)
    assert len(smtp_server.messages) == 3
    assert set(campaign.invitations.values_list("attempts", flat=True)) == {1}


def test_quiet_period_holds_across_campaigns_and_kinds(audience, smtp_server, run_on_commit):
    run_on_commit(services.campaign_send, campaign=CampaignFactory(survey=SurveyFactory(kind="nps")))
    second = CampaignFactory(survey=SurveyFactory(kind="csat"))
    assert services.campaign_preview(second).will_ask == 0
    with pytest.raises(services.CampaignError, match="Nobody would be asked"):
        services.campaign_send(campaign=second)
    assert len(smtp_server.messages) == 3
    with time_machine.travel(timezone.now() + datetime.timedelta(days=91)):
        assert services.campaign_preview(second).will_ask == 3


def test_quiet_period_is_enforced_when_claiming(audience, smtp_server, run_on_commit, settings):
    """Two campaigns created before either sends: the second claim finds the contact asked, and skips."""
    first, second = CampaignFactory(), CampaignFactory()
    for campaign in (first, second):
        contacts = services._eligible_contacts(campaign).values_list("pk", "account_id")
        Invitation.objects.bulk_create([Invitation(campaign=campaign, contact_id=c, account_id=a) for c, a in contacts])
        Campaign.objects.filter(pk=campaign.pk).update(status="sending")
    for campaign in (first, second):
        ids = list(campaign.invitations.values_list("pk", flat=True))
        sending.invitation_batch_send(invitation_ids=ids)
    assert len(smtp_server.messages) == 3
    skipped = second.invitations.all()
    assert {invitation.status for invitation in skipped} == {"skipped"}
    assert skipped[0].last_error == "asked in the last 90 days (quiet period)"


def test_account_quiet_period_keeps_other_contacts_of_the_account_away(audience, smtp_server, run_on_commit, settings):
    settings.SURVEY_ACCOUNT_QUIET_DAYS = 30
    run_on_commit(services.campaign_send, campaign=CampaignFactory(recipients="primary"))
    other_contacts = CampaignFactory(recipients="all")
    preview = services.campaign_preview(other_contacts)
    assert preview.will_ask == 0
    assert ("account asked by another campaign in the last 30 days", 3) in left_out_counts(preview)


def test_opted_out_contact_is_never_emailed(audience, smtp_server, run_on_commit):
    campaign = CampaignFactory()
    contacts = services._eligible_contacts(campaign).values_list("pk", "account_id")
    Invitation.objects.bulk_create([Invitation(campaign=campaign, contact_id=c, account_id=a) for c, a in contacts])
    opted_out = Contact.objects.filter(is_primary=True).first()
    opted_out.opted_out_at = timezone.now()
    opted_out.save()
    sending.invitation_batch_send(invitation_ids=list(campaign.invitations.values_list("pk", flat=True)))
    assert smtp_server.to(opted_out.email) == [] and len(smtp_server.messages) == 2
    assert Invitation.objects.get(contact=opted_out).last_error == "opted out of surveys"


def test_temporary_failure_is_retried_then_failed_then_retry_failed_sends(
    audience, smtp_server, run_on_commit, settings
):
    settings.SURVEY_SEND_MAX_RETRIES = 2
    victim = Contact.objects.filter(is_primary=True).first()
    smtp_server.refuse[victim.email] = (451, "Try again later")
    campaign = CampaignFactory()
    run_on_commit(services.campaign_send, campaign=campaign)
    failed = Invitation.objects.get(contact=victim)
    assert (failed.status, failed.attempts, failed.last_error) == ("failed", 3, "451 Try again later")
    assert len(smtp_server.messages) == 2
    campaign.refresh_from_db()
    assert campaign.status == "sent"
    assert not Contact.objects.filter(pk=victim.pk, bounced_at__isnull=False).exists()  # 4xx is not a bounce

    del smtp_server.refuse[victim.email]
    assert run_on_commit(services.campaign_retry_failed, campaign=campaign) == 1
    failed.refresh_from_db()
    assert failed.status == "sent" and len(smtp_server.to(victim.email)) == 1
    assert len(smtp_server.messages) == 3


def test_permanent_rejection_marks_the_contact_bounced(audience, smtp_server, run_on_commit):
    victim = Contact.objects.filter(is_primary=True).first()
    smtp_server.refuse[victim.email] = (550, "No such user")
    run_on_commit(services.campaign_send, campaign=CampaignFactory())
    invitation = Invitation.objects.get(contact=victim)
    assert (invitation.status, invitation.attempts, invitation.last_error) == ("failed", 1, "550 No such user")
    victim.refresh_from_db()
    assert victim.bounced_at is not None
    assert ("address bounced", 1) in left_out_counts(services.campaign_preview(CampaignFactory()))


def test_an_address_refused_for_good_at_the_reminder_is_suppressed(audience, smtp_server, run_on_commit):
    campaign = CampaignFactory(reminder_after_days=3)
    run_on_commit(services.campaign_send, campaign=campaign)
    victim = Contact.objects.filter(is_primary=True).first()
    smtp_server.refuse[victim.email] = (550, "Mailbox closed")
    with time_machine.travel(timezone.now() + datetime.timedelta(days=3, minutes=1)):
        assert reminders.reminders_send() == 2  # the other two of the three
    victim.refresh_from_db()
    assert victim.bounced_at is not None
    assert SuppressedAddress.objects.filter(address_hash=victim.email_hash, bounced_at__isnull=False).exists()


def test_smtp_server_down_retries_then_fails_everyone(audience, settings, run_on_commit):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens on 9
    settings.SURVEY_SEND_MAX_RETRIES = 1
    run_on_commit(services.campaign_send, campaign=CampaignFactory())
    invitations = Invitation.objects.all()
    assert {(i.status, i.attempts) for i in invitations} == {("failed", 2)}
    assert "ConnectionRefusedError" in invitations[0].last_error


def test_reminder_goes_once_to_those_who_have_not_answered(audience, smtp_server, run_on_commit):
    campaign = CampaignFactory(reminder_after_days=3)
    run_on_commit(services.campaign_send, campaign=campaign)
    answered = campaign.invitations.first()
    Invitation.objects.filter(pk=answered.pk).update(status="responded")
    assert reminders.reminders_send() == 0  # too early
    with time_machine.travel(timezone.now() + datetime.timedelta(days=3, minutes=1)):
        assert reminders.reminders_send() == 2
        assert reminders.reminders_send() == 0
    sent = [m for m in smtp_server.messages if m["Subject"].startswith("Reminder: ")]
    assert len(sent) == 2 and smtp_server.to(answered.contact.email)[-1] not in sent


def test_a_reminder_that_fails_to_build_is_logged_and_the_others_go(
    audience, smtp_server, run_on_commit, monkeypatch, caplog
):
    campaign = CampaignFactory(reminder_after_days=3)
    run_on_commit(services.campaign_send, campaign=campaign)
    broken = campaign.invitations.order_by("pk").first()
    message = sending.invitation_message

    def fails_for_one(invitation, **kwargs):
        if invitation.pk == broken.pk:
            raise ValueError("odd data")
        return message(invitation, **kwargs)

    monkeypatch.setattr(sending, "invitation_message", fails_for_one)
    with time_machine.travel(timezone.now() + datetime.timedelta(days=3, minutes=1)):
        assert reminders.reminders_send() == 2
    sent = [m["To"] for m in smtp_server.messages if m["Subject"].startswith("Reminder: ")]
    assert len(sent) == 2 and broken.contact.email not in sent
    assert f"the email for invitation {broken.pk} could not be built" in caplog.text
    assert (
        Invitation.objects.get(pk=broken.pk).last_error == "reminder: could not build the email: ValueError: odd data"
    )


def test_scheduled_campaign_waits_for_its_time(audience, smtp_server, run_on_commit):
    campaign = CampaignFactory(scheduled_at=timezone.now() + datetime.timedelta(hours=2))
    run_on_commit(services.campaign_send, campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == "scheduled" and smtp_server.messages == []
    from surveys.tasks import campaigns_start_due_task

    campaigns_start_due_task.delay()
    assert smtp_server.messages == []
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=2, minutes=1)):
        campaigns_start_due_task.delay()
    campaign.refresh_from_db()
    assert campaign.status == "sent" and len(smtp_server.messages) == 3


def test_sending_twice_is_refused(audience, smtp_server, run_on_commit):
    campaign = CampaignFactory()
    run_on_commit(services.campaign_send, campaign=campaign)
    with pytest.raises(services.CampaignError, match="already sent"):
        services.campaign_send(campaign=campaign)


def test_one_refused_address_does_not_hold_up_the_rest_of_the_batch(audience, smtp_server, run_on_commit, settings):
    settings.SURVEY_SEND_MAX_RETRIES = 0
    victim = Contact.objects.filter(is_primary=True).order_by("pk").first()
    smtp_server.refuse[victim.email] = (451, "Later")
    run_on_commit(services.campaign_send, campaign=CampaignFactory())
    others = Invitation.objects.exclude(contact=victim)
    assert {(i.status, i.attempts) for i in others} == {("sent", 1)}
    assert Invitation.objects.get(contact=victim).status == "failed"


def _batch_queries(alice, smtp_server, size: int) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    campaign = CampaignFactory(status="sending")
    contacts = [ContactFactory(account=AccountFactory(owner=alice)) for _ in range(size)]
    opted_out = contacts[0]
    Contact.objects.filter(pk=opted_out.pk).update(opted_out_at=timezone.now())
    Invitation.objects.bulk_create(
        [Invitation(campaign=campaign, contact=contact, account=contact.account) for contact in contacts]
    )
    ids = list(campaign.invitations.values_list("pk", flat=True))
    company_name()  # cached, as in a running worker: the counts compare batches, not the first read
    with CaptureQueriesContext(connection) as queries:
        assert sending.invitation_batch_send(invitation_ids=ids) == []
    assert Invitation.objects.get(contact=opted_out).status == "skipped"
    assert campaign.invitations.filter(status="sent").count() == size - 1
    return len(queries)


def test_a_batch_reads_the_company_name_once_and_every_email_carries_it(audience, smtp_server, monkeypatch):
    from accounts.models import CompanySettings

    CompanySettings.objects.create(company_name="Kestrel Telecom")
    reads = []
    monkeypatch.setattr(sending, "company_name", lambda: reads.append(1) or company_name())
    campaign = CampaignFactory(status="sending", recipients="all")
    Invitation.objects.bulk_create(
        [Invitation(campaign=campaign, contact=c, account=c.account) for c in Contact.objects.all()]
    )
    ids = list(campaign.invitations.values_list("pk", flat=True))
    assert sending.invitation_batch_send(invitation_ids=ids) == []
    assert len(reads) == 1 and len(smtp_server.messages) == 6
    assert all("The Kestrel Telecom team" in m.get_body(("plain",)).get_content() for m in smtp_server.messages)


def test_a_batch_claims_in_a_few_queries_then_fences_and_confirms_each_email(alice, smtp_server):
    # Two queries per email: the fence, committed before the server is spoken to, and the confirmation.
    small, large = _batch_queries(alice, smtp_server, 40), _batch_queries(alice, smtp_server, 80)
    assert large - small == 2 * 40
    assert len(smtp_server.messages) == 39 + 79


def test_a_campaign_whose_task_never_got_queued_is_sent_by_the_sweep(
    audience, smtp_server, django_capture_on_commit_callbacks, settings
):
    campaign = CampaignFactory()
    with django_capture_on_commit_callbacks(execute=False):  # as if the broker was down at "send"
        services.campaign_send(campaign=campaign)
    from surveys.tasks import sends_recover_task

    sends_recover_task.delay()
    assert smtp_server.messages == []  # too early to tell from a busy queue
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=settings.SURVEY_SEND_LEASE_SECONDS + 1)):
        sends_recover_task.delay()
    campaign.refresh_from_db()
    assert campaign.status == "sent" and len(smtp_server.messages) == 3
