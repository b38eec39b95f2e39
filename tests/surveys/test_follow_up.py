"""Every new or changed answer is followed up once: the owner's alert and the account's recompute,
by the task queued after the answer or, when that never ran, by the periodic sweep."""

import datetime

import time_machine
from django.utils import timezone

from accounts.models import Notification
from scoring.models import DirtyAccount
from surveys import answers, follow_up
from surveys.follow_up import SWEEP_AFTER, responses_follow_up, responses_follow_up_sweep
from surveys.models import Response
from tests.factories import CommentFactory, InvitationFactory


def test_a_new_answer_is_marked_for_follow_up_in_its_own_transaction(alice_account, django_capture_on_commit_callbacks):
    invitation = InvitationFactory(contact__account=alice_account, account=alice_account)
    with django_capture_on_commit_callbacks(execute=False) as queued:  # as if the broker never got the task
        answers.response_submit(invitation=invitation, score=3)
    assert len(queued) == 1
    assert Response.objects.get(invitation=invitation).follow_up_due is True


def test_follow_up_alerts_marks_for_recompute_and_clears_the_mark(alice, alice_account, mailoutbox):
    answer = CommentFactory(account=alice_account, score=2, follow_up_due=True)

    assert responses_follow_up(response_ids=[answer.pk]) == 1

    assert Notification.objects.filter(user=alice, key=f"low-score:{answer.pk}").count() == 1
    assert DirtyAccount.objects.filter(account=alice_account).exists()
    answer.refresh_from_db()
    assert answer.follow_up_due is False
    assert responses_follow_up(response_ids=[answer.pk]) == 0  # done: a redelivered task does nothing
    assert len(mailoutbox) == 1


def test_sweep_follows_up_old_marks_and_leaves_fresh_ones_to_their_task(alice, alice_account):
    old = CommentFactory(account=alice_account, score=1, follow_up_due=True)
    Response.objects.filter(pk=old.pk).update(updated_at=timezone.now() - SWEEP_AFTER - datetime.timedelta(seconds=5))
    fresh = CommentFactory(account=alice_account, score=1, follow_up_due=True)

    assert responses_follow_up_sweep() == 1

    assert list(Notification.objects.filter(user=alice).values_list("key", flat=True)) == [f"low-score:{old.pk}"]
    assert Response.objects.get(pk=fresh.pk).follow_up_due is True
    with time_machine.travel(timezone.now() + SWEEP_AFTER + datetime.timedelta(seconds=5)):
        assert responses_follow_up_sweep() == 1
    assert Notification.objects.filter(user=alice).count() == 2
    assert responses_follow_up_sweep() == 0


def test_sweep_queries_do_not_grow_with_answers_that_alert_nobody(alice_account, django_assert_max_num_queries):
    def sweep_of(count: int) -> None:
        answers = [CommentFactory(account=alice_account, score=9, follow_up_due=True) for _ in range(count)]
        Response.objects.filter(pk__in=[a.pk for a in answers]).update(
            updated_at=timezone.now() - SWEEP_AFTER - datetime.timedelta(seconds=5)
        )
        with django_assert_max_num_queries(8):
            assert responses_follow_up_sweep() == count

    sweep_of(3)
    sweep_of(30)


def test_one_failing_alert_is_logged_the_others_go_and_the_sweep_ends(alice, alice_account, monkeypatch, caplog):
    old = timezone.now() - SWEEP_AFTER - datetime.timedelta(seconds=5)
    broken, fine = (CommentFactory(account=alice_account, score=1, follow_up_due=True) for _ in range(2))
    Response.objects.filter(pk__in=[broken.pk, fine.pk]).update(updated_at=old)
    alert = follow_up.response_alert_owner

    def fails_for_one(*, response_id):
        if response_id == broken.pk:
            raise ValueError("odd data")
        return alert(response_id=response_id)

    monkeypatch.setattr(follow_up, "response_alert_owner", fails_for_one)
    assert responses_follow_up_sweep() == 2  # and it returns: the failed one is not taken again in this run

    assert list(Notification.objects.filter(user=alice).values_list("key", flat=True)) == [f"low-score:{fine.pk}"]
    assert f"low-score alert for response {broken.pk} failed" in caplog.text
    assert Response.objects.get(pk=broken.pk).follow_up_due is True  # the next sweep tries it again
    assert Response.objects.get(pk=fine.pk).follow_up_due is False
    monkeypatch.undo()
    assert responses_follow_up_sweep() == 1
    assert Notification.objects.filter(user=alice, key=f"low-score:{broken.pk}").exists()
