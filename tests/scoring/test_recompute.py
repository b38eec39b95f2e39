"""Recomputing: alerts once per event, debounced recompute after new inputs, the command and backfill."""

import io
import json

import pytest
import time_machine
from django.core.management import CommandError, call_command

from accounts.models import Notification
from accounts.services import api_token_create
from core.dates import short_date
from scoring.models import DirtyAccount, HealthSnapshot
from scoring.services import health_history_write, health_recompute, health_recompute_dirty
from tests.factories import AccountFactory, CheckInFactory
from tests.helpers import day


def test_a_drop_of_10_points_alerts_the_owner_once(sentiment_model, alice, mailoutbox):
    account = AccountFactory(owner=alice, name="Globex")
    CheckInFactory(account=account, date=day(-3), sentiment=5)
    health_recompute(as_of=day(-3), alert=False)
    CheckInFactory(account=account, date=day(0), sentiment=4)  # 100 → 75
    health_recompute()
    health_recompute()  # again the same day: no second alert
    [note] = Notification.objects.filter(user=alice)
    assert note.title == f"Globex: health dropped 25 points since {short_date(day(-3))}"
    assert note.url == f"/accounts/{account.pk}/"
    [mail] = mailoutbox
    assert mail.to == [alice.email] and "Health 75 (green)" in mail.body


def test_a_further_slide_from_the_same_peak_does_not_alert_again(sentiment_model, alice, mailoutbox):
    account = AccountFactory(owner=alice)
    CheckInFactory(account=account, date=day(-3), sentiment=5)
    health_recompute(as_of=day(-3), alert=False)
    CheckInFactory(account=account, date=day(-1), sentiment=4)
    with time_machine.travel(day(-1)):
        health_recompute()
    CheckInFactory(account=account, date=day(0), sentiment=3)
    health_recompute()
    assert Notification.objects.filter(key__startswith="health-drop").count() == 1


def test_a_small_drop_does_not_alert(sentiment_model, alice, settings):
    settings.HEALTH_ALERT_DROP_POINTS = 30
    account = AccountFactory(owner=alice)
    CheckInFactory(account=account, date=day(-3), sentiment=5)
    health_recompute(as_of=day(-3), alert=False)
    CheckInFactory(account=account, date=day(0), sentiment=4)
    health_recompute()
    assert not Notification.objects.exists()


def test_moving_into_red_alerts_once(sentiment_model, alice, mailoutbox, settings):
    settings.HEALTH_ALERT_DROP_POINTS = 100  # only the band change counts here
    account = AccountFactory(owner=alice, name="Initech")
    CheckInFactory(account=account, date=day(-2), sentiment=3)  # 50, yellow
    health_recompute(as_of=day(-2), alert=False)
    CheckInFactory(account=account, date=day(0), sentiment=2)  # 25, red
    health_recompute()
    health_recompute()
    [note] = Notification.objects.all()
    assert note.title == "Initech: health moved into red" and len(mailoutbox) == 1


def test_the_nightly_recompute_runs_as_chunks_of_accounts(sentiment_model, alice, settings, monkeypatch, mailoutbox):
    from scoring.services import health_recompute_chunk
    from scoring.tasks import health_recompute_all_task, health_recompute_chunk_task

    settings.HEALTH_RECOMPUTE_CHUNK_ACCOUNTS = 2
    accounts = [AccountFactory(owner=alice, name=f"Account {n}") for n in range(5)]
    AccountFactory(owner=alice, status="churned", churned_on=day(-1))  # not scored, not in a chunk
    for account in accounts:
        CheckInFactory(account=account, date=day(-3), sentiment=5)
        CheckInFactory(account=account, date=day(0), sentiment=1)  # each drops 100 points into red: two alerts each
    health_recompute(as_of=day(-3), alert=False)
    chunks = []
    original = health_recompute_chunk_task.delay
    monkeypatch.setattr(health_recompute_chunk_task, "delay", lambda *args: chunks.append(args) or original(*args))

    health_recompute_all_task()

    ids = [account.pk for account in accounts]
    assert [args[:2] for args in chunks] == [(ids[0], ids[1]), (ids[2], ids[3]), (ids[4], None)]
    assert {args[2:] for args in chunks} == {(day(0).isoformat(), True)}
    assert set(HealthSnapshot.objects.filter(date=day(0)).values_list("account_id", "score")) == {(pk, 0) for pk in ids}
    assert Notification.objects.filter(key__startswith="health-drop").count() == 5
    assert Notification.objects.count() == len(mailoutbox) == 10
    # A chunk run again (a task delivered twice) writes the same snapshots and alerts no one twice.
    assert health_recompute_chunk(first_id=ids[0], last_id=ids[1], as_of=day(0)) == 2
    assert HealthSnapshot.objects.filter(date=day(0)).count() == 5
    assert Notification.objects.count() == len(mailoutbox) == 10
    # The last chunk is open-ended: an account created after the chunks were queued is scored with it.
    late = AccountFactory(owner=alice)
    CheckInFactory(account=late, date=day(0), sentiment=5)
    assert health_recompute_chunk(first_id=ids[4], last_id=None, as_of=day(0), alert=False) == 2


def test_a_chunk_that_runs_on_a_later_day_writes_its_day_and_says_it_alerted_no_one(
    sentiment_model, alice, caplog, mailoutbox
):
    from scoring.services import health_recompute_chunk

    account = AccountFactory(owner=alice)
    CheckInFactory(account=account, date=day(-3), sentiment=5)
    CheckInFactory(account=account, date=day(-1), sentiment=1)
    health_recompute(as_of=day(-3), alert=False)

    assert health_recompute_chunk(first_id=account.pk, last_id=None, as_of=day(-1)) == 1

    assert HealthSnapshot.objects.get(account=account, date=day(-1)).score == 0
    assert not Notification.objects.exists() and not mailoutbox
    assert "ran on a later day" in caplog.text


def test_backfill_does_not_alert(sentiment_model, alice):
    account = AccountFactory(owner=alice)
    CheckInFactory(account=account, date=day(-5), sentiment=5)
    CheckInFactory(account=account, date=day(-2), sentiment=1)
    call_command("recompute_health", "--from", day(-5).isoformat(), "--to", day(0).isoformat(), stdout=io.StringIO())
    assert HealthSnapshot.objects.filter(account=account).count() == 6
    assert list(HealthSnapshot.objects.filter(account=account).order_by("date").values_list("score", flat=True)) == [
        100, 100, 100, 0, 0, 0,
    ]  # fmt: skip
    assert not Notification.objects.exists()


def test_a_history_of_no_days_writes_nothing(sentiment_model, alice):
    CheckInFactory(account=AccountFactory(owner=alice), date=day(-2), sentiment=5)
    assert health_history_write(days=[]) == 0
    assert not HealthSnapshot.objects.exists()


def test_command_scores_the_day_in_chunks_with_their_progress(sentiment_model, alice, settings):
    settings.HEALTH_RECOMPUTE_CHUNK_ACCOUNTS = 2
    accounts = [AccountFactory(owner=alice) for _ in range(5)]
    for account in accounts:
        CheckInFactory(account=account, date=day(-1), sentiment=5)
    out = io.StringIO()
    call_command("recompute_health", stdout=out)
    assert "3/3 chunks" in out.getvalue() and "5 accounts scored" in out.getvalue()
    assert set(HealthSnapshot.objects.filter(date=day(0)).values_list("account_id", flat=True)) == {
        account.pk for account in accounts
    }


def test_command_prints_progress_and_refuses_bad_ranges(sentiment_model, alice):
    out = io.StringIO()
    call_command("recompute_health", "--from", day(-2).isoformat(), stdout=out)
    assert "3/3 days" in out.getvalue()
    with pytest.raises(CommandError, match="must not be after"):
        call_command("recompute_health", "--from", day(0).isoformat(), "--to", day(-1).isoformat())
    with pytest.raises(CommandError, match="have not happened yet"):
        call_command("recompute_health", "--date", day(1).isoformat())
    with pytest.raises(CommandError, match="not a date"):
        call_command("recompute_health", "--date", "yesterday")


def test_new_metric_values_recompute_the_account_shortly(
    client, sentiment_model, alice, adam, django_capture_on_commit_callbacks
):
    account = AccountFactory(owner=alice, external_id="CRM-1")
    CheckInFactory(account=account, date=day(0), sentiment=4)
    _, token = api_token_create(name="t", created_by=adam)
    body = json.dumps([{"account": "CRM-1", "metric": "seat_usage", "date": day(0).isoformat(), "value": 50}])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/metrics", body, content_type="application/json", headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 200
    # In-process mode runs the debounced task at once; with a broker it waits HEALTH_RECOMPUTE_DELAY_SECONDS.
    assert HealthSnapshot.objects.get(account=account, date=day(0)).score == 75
    assert not DirtyAccount.objects.exists()


def test_a_burst_of_changes_schedules_one_recompute(
    sentiment_model, alice, django_capture_on_commit_callbacks, monkeypatch
):
    from scoring.services import health_mark_dirty
    from scoring.tasks import health_recompute_dirty_task

    scheduled = []
    monkeypatch.setattr(health_recompute_dirty_task, "apply_async", lambda **kwargs: scheduled.append(kwargs))
    accounts = [AccountFactory(owner=alice) for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        for account in accounts:
            health_mark_dirty(account_ids=[account.pk])
    assert len(scheduled) == 1  # one task for the burst
    assert DirtyAccount.objects.count() == 3


def test_a_rolled_back_change_does_not_hold_the_schedule(sentiment_model, alice, run_on_commit, monkeypatch):
    from django.db import transaction

    from scoring.services import health_mark_dirty
    from scoring.tasks import health_recompute_dirty_task

    scheduled = []
    monkeypatch.setattr(health_recompute_dirty_task, "apply_async", lambda **kwargs: scheduled.append(kwargs))
    account = AccountFactory(owner=alice)

    def failed_import():
        with transaction.atomic():
            health_mark_dirty(account_ids=[account.pk])
            raise RuntimeError("the import fails after marking")

    with pytest.raises(RuntimeError):
        run_on_commit(failed_import)
    assert not DirtyAccount.objects.exists() and not scheduled
    run_on_commit(health_mark_dirty, account_ids=[account.pk])
    assert len(scheduled) == 1  # the next real change is scheduled at once, not left to the sweep


def test_dirty_accounts_are_recomputed_together_and_unmarked(sentiment_model, alice, bob):
    first, second = AccountFactory(owner=alice), AccountFactory(owner=bob)
    for account in (first, second):
        CheckInFactory(account=account, date=day(0), sentiment=5)
    DirtyAccount.objects.create(account=first)
    DirtyAccount.objects.create(account=second)
    assert health_recompute_dirty() == 2
    assert not DirtyAccount.objects.exists()
    assert HealthSnapshot.objects.filter(date=day(0)).count() == 2
    assert health_recompute_dirty() == 0


def test_a_drop_is_measured_between_the_scores_as_shown(alice, settings):
    """50.6 → 41.4 reads 51 → 41, a drop of 10 points: it alerts, though the unrounded drop is 9.2."""
    from scoring import engine
    from scoring.services import _alert_events
    from tests.factories import HealthSnapshotFactory, default_health_version

    settings.HEALTH_ALERT_DROP_POINTS = 10
    account = AccountFactory(owner=alice)
    version = default_health_version()
    HealthSnapshotFactory(account=account, date=day(-2), version=version, score=50.6, band="yellow")
    scored = [engine.Scored(account.pk, version, 41.4, "yellow", 100.0, [])]
    [(_, key, what, _)] = _alert_events(as_of=day(0), scored=scored)
    assert key.startswith("health-drop") and what.startswith("dropped 10 points")
