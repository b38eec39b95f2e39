"""A campaign always finishes: a line break in a stored question is made safe in the subject, and an
invitation whose email cannot be built fails on its own, with the reason, while the rest are sent."""

import datetime

import pytest
import time_machine

from accounts.models import Contact
from surveys import reminders, services
from surveys.models import Campaign, Invitation, Survey
from tests.factories import AccountFactory, CampaignFactory, ContactFactory, SurveyFactory

NOW = datetime.datetime(2026, 3, 10, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def contacts(alice):
    return [ContactFactory(account=AccountFactory(owner=alice), is_primary=True) for _ in range(3)]


def _survey_with_question(question: str) -> Survey:
    survey = SurveyFactory(kind="nps")
    # As stored before the forms refused line breaks: straight into the table.
    Survey.objects.filter(pk=survey.pk).update(question=question)
    return survey


def test_a_question_with_a_line_break_is_sent_and_the_campaign_finishes(contacts, smtp_server, run_on_commit):
    campaign = CampaignFactory(survey=_survey_with_question("How likely are you\nto recommend {company}?"))

    assert run_on_commit(services.campaign_send, campaign=campaign) == 3

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT and campaign.finished_at == NOW
    assert set(campaign.invitations.values_list("status", flat=True)) == {Invitation.Status.SENT}
    assert {message["Subject"] for message in smtp_server.messages} == {"How likely are you to recommend our company?"}
    assert len(smtp_server.messages) == 3


def test_an_email_that_cannot_be_built_fails_alone_with_the_reason(contacts, smtp_server, run_on_commit):
    broken = contacts[1]
    Contact.objects.filter(pk=broken.pk).update(email="dora@customer.test\nBcc: everyone@customer.test")
    campaign = CampaignFactory()

    run_on_commit(services.campaign_send, campaign=campaign)

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT  # not "Sending" forever
    failed = campaign.invitations.get(contact=broken)
    assert failed.status == Invitation.Status.FAILED
    assert failed.last_error.startswith("could not build the email: BadHeaderError: Header values can't contain")
    others = campaign.invitations.exclude(contact=broken)
    assert set(others.values_list("status", flat=True)) == {Invitation.Status.SENT}
    assert sorted(str(message["To"]) for message in smtp_server.messages) == sorted(
        contact.email for contact in contacts if contact != broken
    )


def test_reminders_go_on_past_a_bad_question_and_a_bad_address(contacts, smtp_server, run_on_commit):
    campaign = CampaignFactory(reminder_after_days=3, survey=_survey_with_question("Would you\r\nrecommend us?"))
    run_on_commit(services.campaign_send, campaign=campaign)
    broken = contacts[0]
    Contact.objects.filter(pk=broken.pk).update(email="dora@customer.test\nBcc: everyone@customer.test")

    with time_machine.travel(NOW + datetime.timedelta(days=3, minutes=1), tick=False):
        assert reminders.reminders_send() == 2

    sent = [message for message in smtp_server.messages if message["Subject"].startswith("Reminder: ")]
    assert {message["Subject"] for message in sent} == {"Reminder: Would you recommend us?"}
    assert len(sent) == 2
    failed = campaign.invitations.get(contact=broken)
    assert failed.status == Invitation.Status.SENT  # it was sent; only its reminder could not be built
    assert failed.last_error.startswith("reminder: could not build the email: BadHeaderError")
