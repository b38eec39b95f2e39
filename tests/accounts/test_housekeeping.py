"""The nightly housekeeping jobs: expired sessions and old outbox messages are deleted."""

import datetime

import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import override_settings
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.outbox import INDEX_NAME, LOCK_NAME, outbox_entries
from accounts.tasks import outbox_prune_task, sessions_clear_task

MOMENT = datetime.datetime(2026, 12, 1, 3, 15, tzinfo=datetime.UTC)


def _send_at(moment: datetime.datetime, subject: str) -> None:
    with time_machine.travel(moment, tick=False):
        mail.get_connection("accounts.outbox.OutboxBackend").send_messages(
            [mail.EmailMessage(subject, "body", to=["dana@customer.test"])]
        )


def test_outbox_prune_deletes_only_its_own_messages_past_the_keep_days(tmp_path):
    with override_settings(OUTBOX_DIR=tmp_path, OUTBOX_KEEP_DAYS=14):
        _send_at(MOMENT - datetime.timedelta(days=14, seconds=1), "Old")
        _send_at(MOMENT - datetime.timedelta(days=13, hours=23), "Recent")
        (tmp_path / "README.eml").write_text("an operator's file, not ours")
        (tmp_path / "notes.txt").write_text("kept")
        (tmp_path / "20200101T000000000000-0badc0de.eml.bak").write_text("kept: not a name the outbox writes")

        with time_machine.travel(MOMENT, tick=False):
            outbox_prune_task.delay()

        assert [entry.subject for entry in outbox_entries()] == ["Recent"]  # the index lost the old one too
        others = sorted(
            path.name
            for path in tmp_path.iterdir()
            if path.suffix != ".eml" and path.name not in (INDEX_NAME, LOCK_NAME)
        )
        assert others == ["20200101T000000000000-0badc0de.eml.bak", "notes.txt"]
        assert (tmp_path / "README.eml").exists()


def test_outbox_prune_without_an_outbox_folder_does_nothing(tmp_path):
    with override_settings(OUTBOX_DIR=tmp_path / "never-created"):
        outbox_prune_task.delay()
    assert not (tmp_path / "never-created").exists()


def test_sessions_clear_deletes_only_expired_sessions(db):
    with time_machine.travel(MOMENT, tick=False):
        now = timezone.now()
        Session.objects.create(session_key="expired", session_data="", expire_date=now - datetime.timedelta(seconds=1))
        Session.objects.create(session_key="current", session_data="", expire_date=now + datetime.timedelta(days=1))

        sessions_clear_task.delay()

    assert list(Session.objects.values_list("session_key", flat=True)) == ["current"]


def test_housekeeping_is_on_the_beat_schedule_with_real_tasks():
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"accounts.tasks.sessions_clear_task", "accounts.tasks.outbox_prune_task"} <= schedule
    for name in schedule:  # every scheduled name is a task
        assert import_string(name).name == name
