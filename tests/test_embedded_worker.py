"""The embedded mode (no Redis, nothing else running): the serving process's own Celery worker and beat run
every task and every scheduled job, and no request waits for the work it starts.

The clock is moved, never read: each test travels to a fixed moment and shifts it forward; beat, which
checks its schedule every second, sees the moved clock and sends what has come due.
"""

import datetime
import sqlite3
import threading
import time

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections

from accounts import services as account_services
from accounts.models import Account, ImportJob
from config.celery import app as celery_app
from config.embedded import embedded_celery
from surveys import services
from surveys.models import Campaign, Invitation, Response
from tests.brokers import drop_connection_pools
from tests.factories import AccountFactory, CampaignFactory, ContactFactory
from tests.helpers import HTMX

pytestmark = pytest.mark.django_db(transaction=True)

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)  # a Monday morning
WAIT_SECONDS = 30


def wait_for(condition, what: str) -> None:
    """Poll until the worker has done `what` (a bounded wait on the worker's threads, not on the calendar)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not done within {WAIT_SECONDS}s")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def django_db_setup(django_db_setup, django_db_blocker, tmp_path_factory):
    """On SQLite, a database file, as `manage.py serve` has: the in-memory test database's threads share one
    cache, where a writer makes the others fail at once instead of waiting as the file's settings tell them."""
    memory = connections["default"]
    if memory.vendor != "sqlite" or not memory.is_in_memory_db():
        yield
        return
    name = memory.settings_dict["NAME"]
    path = tmp_path_factory.mktemp("embedded") / "pulse.sqlite3"
    with django_db_blocker.unblock():
        memory.ensure_connection()
        with sqlite3.connect(path) as copy:
            memory.connection.backup(copy)  # the migrated test database, data migrations included
        memory.settings_dict["NAME"] = str(path)  # every thread's new connection opens the file
        connections["default"] = file_connection = memory.copy()
    yield
    with django_db_blocker.unblock():
        file_connection.close()
        memory.settings_dict["NAME"] = name
        connections["default"] = memory


@pytest.fixture
def in_process_broker(settings):
    """The embedded settings, also where REDIS_URL is set (CI): the in-process broker, the embedded worker on."""
    saved = {name: celery_app.conf[name] for name in ("broker_url", "broker_transport_options")}
    settings.EMBEDDED_WORKER = True
    celery_app.conf.broker_url = "memory://localhost/"
    celery_app.conf.broker_transport_options = {"polling_interval": 0.1}
    drop_connection_pools()
    yield
    for name, value in saved.items():
        celery_app.conf[name] = value
    drop_connection_pools()


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=True) as traveller:
        yield traveller


@pytest.fixture
def contacts(alice):
    account = AccountFactory(owner=alice)
    return [ContactFactory(account=account, is_primary=True) for _ in range(3)]


@pytest.fixture
def embedded(in_process_broker, settings, tmp_path, mailoutbox, clock):
    settings.EMBEDDED_BEAT_SCHEDULE_FILE = tmp_path / "beat" / "schedule"
    with embedded_celery() as worker:
        assert not celery_app.conf.task_always_eager
        yield worker
    assert celery_app.conf.task_always_eager  # the rest of the suite runs its tasks in-process again


def subjects() -> list[str]:
    return sorted(str(message.subject) for message in mail.outbox)


def test_a_campaign_scheduled_a_minute_ahead_is_sent_then_reminded_when_due(embedded, clock, contacts):
    campaign = CampaignFactory(scheduled_at=START + datetime.timedelta(minutes=1), reminder_after_days=3)
    assert services.campaign_send(campaign=campaign) == 3
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED

    clock.shift(datetime.timedelta(seconds=61))  # beat's every-minute job finds it due
    wait_for(lambda: Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT, "the scheduled send")
    assert len(mail.outbox) == 3
    assert not any(subject.startswith("Reminder: ") for subject in subjects())

    clock.shift(datetime.timedelta(days=3, minutes=15))  # past the reminder delay and the next reminder run
    wait_for(lambda: Invitation.objects.filter(reminded_at__isnull=False).count() == 3, "the reminders")
    reminders = [message for message in mail.outbox if message.subject.startswith("Reminder: ")]
    assert sorted(message.to[0] for message in reminders) == sorted(contact.email for contact in contacts)


def test_send_now_returns_before_the_sends_and_the_page_follows_them_to_done(
    embedded, adam, login, contacts, monkeypatch
):
    # The worker's sends wait until the request is answered: whatever the request did, it did without them.
    answered = threading.Event()
    send_batch = services.invitation_batch_send

    def send_once_answered(**kwargs):
        answered.wait(WAIT_SECONDS)
        return send_batch(**kwargs)

    monkeypatch.setattr(services, "invitation_batch_send", send_once_answered)
    client = login(adam)
    campaign = CampaignFactory()

    response = client.post(f"/campaigns/{campaign.pk}/send/")
    assert response.status_code == 302
    progress = client.get(f"/campaigns/{campaign.pk}/", headers=HTMX).content.decode()
    assert "0 of 3 done" in progress and 'hx-trigger="load delay:2s"' in progress  # the page polls
    assert mail.outbox == []
    answered.set()

    wait_for(lambda: Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT, "the send")
    progress = client.get(f"/campaigns/{campaign.pk}/", headers=HTMX).content.decode()
    assert "hx-trigger" not in progress and len(mail.outbox) == 3


ACCOUNTS_CSV = "external_id,name,owner_email\nCRM-700,Northwind,alice@pulse.test\nCRM-701,Globex,alice@pulse.test\n"
ANSWERS_CSV = "date,account_external_id,kind,score\n2026-02-27,CRM-700,nps,9\n2026-02-28,CRM-700,nps,10\n"
# Each import page: (its URL, its file field, a good file, what the import leaves behind).
IMPORTS = {
    "accounts": (
        "/accounts/import/",
        "accounts_file",
        ACCOUNTS_CSV,
        lambda: sorted(Account.objects.values_list("external_id", flat=True)) == ["CRM-700", "CRM-701"],
    ),
    "answers": (
        "/results/import/",
        "answers_file",
        ANSWERS_CSV,
        lambda: sorted(Response.objects.values_list("score", flat=True)) == [9, 10],
    ),
}


@pytest.mark.parametrize("kind", IMPORTS)
def test_an_import_returns_before_it_runs_and_its_page_follows_it_to_done(
    embedded, adam, alice, login, monkeypatch, kind
):
    url, field, text, imported = IMPORTS[kind]
    AccountFactory(external_id="CRM-700", owner=alice)  # an answer's account; the accounts import updates it
    answered = threading.Event()
    run = account_services.import_job_run

    def run_once_answered(**kwargs):
        answered.wait(WAIT_SECONDS)
        return run(**kwargs)

    monkeypatch.setattr(account_services, "import_job_run", run_once_answered)
    client = login(adam)
    upload = SimpleUploadedFile(f"{kind}.csv", text.encode(), content_type="text/csv")

    response = client.post(url, {field: upload})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and (job.kind, job.status) == (kind, ImportJob.Status.PENDING)
    page = client.get(response["Location"]).content.decode()
    assert 'hx-trigger="load delay:1s"' in page  # the page polls
    answered.set()

    wait_for(lambda: ImportJob.objects.get(pk=job.pk).is_finished, "the import")
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.DONE
    assert imported()
    assert "hx-trigger" not in client.get(response["Location"]).content.decode()


def test_an_import_a_stopped_server_left_running_runs_again_when_the_worker_starts(
    in_process_broker, settings, tmp_path, alice, adam, clock
):
    job = ImportJob.objects.create(
        kind=ImportJob.Kind.ACCOUNTS, files={"accounts": ACCOUNTS_CSV}, filenames="accounts.csv", created_by=adam
    )
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, rows_done=1)
    settings.EMBEDDED_BEAT_SCHEDULE_FILE = tmp_path / "beat"
    with embedded_celery():
        wait_for(lambda: ImportJob.objects.get(pk=job.pk).is_finished, "the interrupted import")
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.DONE
    assert Account.objects.count() == 2
