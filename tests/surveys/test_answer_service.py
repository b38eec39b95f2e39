"""response_submit and contact_opt_out: the rules of answering, without the pages."""

import datetime

import kombu.exceptions
import pytest
import time_machine
from django.utils import timezone

from accounts.models import Notification
from scoring.models import HealthSnapshot
from surveys.answers import AnswerRefused, contact_opt_out, response_submit
from surveys.models import Invitation, Kind, Response
from tests.factories import AccountFactory, ContactFactory, InvitationFactory, SurveyFactory

pytestmark = pytest.mark.django_db

SENT = datetime.datetime(2025, 3, 3, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _an_hour_after_sending():
    """Tests run an hour after the invitations went out, unless they travel elsewhere."""
    with time_machine.travel(SENT + datetime.timedelta(hours=1), tick=False):
        yield


@pytest.fixture
def invitation(alice):
    contact = ContactFactory(name="Nina Novak", account=AccountFactory(name="Acme Alpha", owner=alice))
    return InvitationFactory(contact=contact, sent_at=SENT)


def _invitation(kind: str) -> Invitation:
    return InvitationFactory(campaign__survey=SurveyFactory(kind=kind), sent_at=SENT)


@time_machine.travel(SENT + datetime.timedelta(hours=2), tick=False)
def test_first_answer_records_kind_account_contact_and_marks_the_invitation_responded(invitation):
    response = response_submit(invitation=invitation, score=9, comment="  Great onboarding.  ")

    response.refresh_from_db()
    assert (response.invitation, response.account, response.contact) == (
        invitation,
        invitation.account,
        invitation.contact,
    )
    assert (response.kind, response.score, response.comment) == (Kind.NPS, 9, "Great onboarding.")
    assert response.answered_at == response.updated_at == timezone.now()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.RESPONDED


@pytest.mark.parametrize("kind, score", [(Kind.CSAT, 4), (Kind.CES, 7), (Kind.NPS, 0)])
def test_kind_comes_from_the_survey(kind, score):
    response = response_submit(invitation=_invitation(kind), score=score)

    assert Response.objects.get().kind == kind == response.kind


def test_changing_the_answer_keeps_one_response_and_the_first_answer_time(invitation):
    with time_machine.travel(SENT + datetime.timedelta(hours=1), tick=False):
        first = response_submit(invitation=invitation, score=9, comment="Good.")
    later = SENT + datetime.timedelta(days=3)
    with time_machine.travel(later, tick=False):
        response_submit(invitation=invitation, score=4)

    response = Response.objects.get()
    assert response.pk == first.pk
    assert (response.score, response.comment) == (4, "Good.")  # no comment given: the comment stays
    assert response.answered_at == SENT + datetime.timedelta(hours=1)
    assert response.updated_at == later


def test_an_empty_comment_clears_the_comment(invitation):
    response_submit(invitation=invitation, score=9, comment="Good.")
    response_submit(invitation=invitation, score=9, comment="   ")

    assert Response.objects.get().comment == ""


def test_nul_characters_are_dropped_from_the_comment(invitation):
    response_submit(invitation=invitation, score=9, comment="Fine\x00 work")

    assert Response.objects.get().comment == "Fine work"


@pytest.mark.parametrize(
    "kind, score, message",
    [
        (Kind.NPS, -1, "Please choose a score from 0 to 10."),
        (Kind.NPS, 11, "Please choose a score from 0 to 10."),
        (Kind.NPS, "9", "Please choose a score from 0 to 10."),
        (Kind.NPS, 9.0, "Please choose a score from 0 to 10."),
        (Kind.NPS, True, "Please choose a score from 0 to 10."),
        (Kind.NPS, None, "Please choose a score from 0 to 10."),
        (Kind.CSAT, 0, "Please choose a score from 1 to 5."),
        (Kind.CSAT, 6, "Please choose a score from 1 to 5."),
        (Kind.CES, 0, "Please choose a score from 1 to 7."),
        (Kind.CES, 8, "Please choose a score from 1 to 7."),
    ],
)
def test_score_off_the_scale_is_refused_and_nothing_is_stored(kind, score, message):
    invitation = _invitation(kind)

    with pytest.raises(AnswerRefused) as refused:
        response_submit(invitation=invitation, score=score)

    assert (refused.value.status, refused.value.title) == (400, message)
    assert not Response.objects.exists()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.SENT


def test_comment_of_5000_characters_is_accepted_and_longer_is_refused(invitation):
    with pytest.raises(AnswerRefused) as refused:
        response_submit(invitation=invitation, score=9, comment="x" * 5001)

    assert (refused.value.status, refused.value.title) == (
        400,
        "Please keep your comment to 5,000 characters or fewer.",
    )
    assert not Response.objects.exists()

    response_submit(invitation=invitation, score=9, comment="x" * 5000)
    assert len(Response.objects.get().comment) == 5000


def test_answer_locks_seven_days_after_it_was_given(invitation):
    with time_machine.travel(SENT, tick=False):
        response_submit(invitation=invitation, score=9)

    with time_machine.travel(SENT + Response.EDITABLE_FOR - datetime.timedelta(seconds=1), tick=False):
        response_submit(invitation=invitation, score=8)
    with time_machine.travel(SENT + Response.EDITABLE_FOR, tick=False), pytest.raises(AnswerRefused) as refused:
        response_submit(invitation=invitation, score=2, comment="Changed my mind")

    assert (refused.value.status, refused.value.title) == (409, "Your answer can no longer be changed")
    assert Response.objects.values_list("score", "comment").get() == (8, "")


def test_opted_out_contact_cannot_answer(invitation):
    invitation.contact.opted_out_at = timezone.now()
    invitation.contact.save()

    with pytest.raises(AnswerRefused) as refused:
        response_submit(invitation=invitation, score=9)

    assert (refused.value.status, refused.value.title) == (410, "You have opted out of these surveys")
    assert not Response.objects.exists()


@pytest.mark.parametrize("status", ["pending", "sending", "failed", "skipped"])
def test_invitation_never_sent_cannot_be_answered(status):
    invitation = InvitationFactory(status=status, sent_at=None)

    with pytest.raises(AnswerRefused) as refused:
        response_submit(invitation=invitation, score=9)

    assert refused.value.status == 404
    assert not Response.objects.exists()


def test_unanswered_link_closes_60_days_after_it_was_sent(invitation):
    with time_machine.travel(SENT + datetime.timedelta(days=60), tick=False), pytest.raises(AnswerRefused) as refused:
        response_submit(invitation=invitation, score=9)

    assert (refused.value.status, refused.value.title) == (410, "This survey has closed")
    assert not Response.objects.exists()


def test_answer_given_before_the_link_closed_can_still_be_changed_for_seven_days(invitation):
    with time_machine.travel(SENT + datetime.timedelta(days=59), tick=False):
        response_submit(invitation=invitation, score=9)
    with time_machine.travel(SENT + datetime.timedelta(days=62), tick=False):
        response_submit(invitation=invitation, score=10)

    assert Response.objects.get().score == 10


def test_low_score_alerts_the_owner_after_commit(invitation, alice, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = response_submit(invitation=invitation, score=3, comment="Support is slow.")

    assert len(callbacks) == 2  # the owner's alert, and the account's health recompute
    assert HealthSnapshot.objects.filter(account=invitation.account, date=timezone.localdate()).exists()
    assert Notification.objects.filter(user=alice, key=f"low-score:{response.pk}").count() == 1
    [mail] = mailoutbox
    assert mail.to == ["alice@pulse.test"]
    assert mail.subject == "Acme Alpha: Nina Novak answered NPS 3"
    assert "Support is slow." in mail.body


def test_resubmitting_the_same_answer_queues_nothing(invitation, django_capture_on_commit_callbacks):
    response_submit(invitation=invitation, score=9, comment="Good.")

    with django_capture_on_commit_callbacks() as callbacks:
        response_submit(invitation=invitation, score=9, comment="Good.")

    assert callbacks == []


def test_answer_is_recorded_when_the_broker_is_down(invitation, monkeypatch, django_capture_on_commit_callbacks):
    class BrokerDown:
        def delay(self, *args):
            raise kombu.exceptions.OperationalError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr("surveys.answers.response_recorded_task", BrokerDown())

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response_submit(invitation=invitation, score=2)

    assert len(callbacks) == 1
    assert Response.objects.get().score == 2


def test_contact_opt_out_keeps_the_first_time(invitation):
    first = SENT + datetime.timedelta(days=1)
    with time_machine.travel(first, tick=False):
        contact_opt_out(invitation=invitation)
    with time_machine.travel(first + datetime.timedelta(days=1), tick=False):
        contact_opt_out(invitation=invitation)

    invitation.contact.refresh_from_db()
    assert invitation.contact.opted_out_at == first
