"""PostgreSQL restarted under the app: no request fails for it, and a campaign sending at that moment
completes on its own (no batch waits for the 15-minute sweep) with one email per contact.

The app's processes reach the database through a proxy that imitates the restart (postgres_proxy):
their sessions are ended by the server and new connections are refused for the restart's length.
"""

import asyncio
import collections
import copy
import socket
import threading
import time
import urllib.parse
import urllib.request

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.test import override_settings

from config.postgresql.base import DatabaseWrapper
from surveys import services
from surveys.models import Campaign, Invitation, Response
from tests.factories import AccountFactory, CampaignFactory, ContactFactory, InvitationFactory
from tests.integration.conftest import wait_until

pytestmark = pytest.mark.integration

DOWN_FOR = 0.5  # seconds, about what a PostgreSQL restart takes
RESTARTS = 3
CLIENTS = 8


def _request(port: int, path: str, data: dict | None = None) -> tuple[int, float]:
    """(status, seconds) of one request; redirects are not followed."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    started = time.monotonic()
    try:
        with opener.open(f"http://127.0.0.1:{port}{path}", data=body, timeout=30) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError:
        status = 0
    return status, time.monotonic() - started


def test_requests_during_database_restarts_wait_and_succeed(postgres_proxy, start_gunicorn, tmp_path):
    """Pages and answers keep coming from several clients at once while the database restarts 3 times:
    every page is served, and only an answer whose own statement the restart cut can fail."""
    page_invitation = InvitationFactory()
    answer_invitations = list(InvitationFactory.create_batch(300))
    results: dict[str, list[tuple[int, float]]] = collections.defaultdict(list)
    answered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    port = start_gunicorn(workers=4, DATABASE_URL=postgres_proxy.url, SURVEY_RATE_LIMIT_PER_MINUTE="100000")
    pending_answers = iter(answer_invitations)

    def client(number: int) -> None:
        while not stop.is_set():
            if number % 2:
                status, seconds = _request(port, f"/s/{page_invitation.token}/")
                kind = "page"
            else:
                with lock:
                    invitation = next(pending_answers, None)
                if invitation is None:
                    return
                status, seconds = _request(port, f"/s/{invitation.token}/", {"score": "8"})
                kind = "answer"
                if status == 302:
                    with lock:
                        answered.append(invitation.token)
            with lock:
                results[kind].append((status, seconds))

    threads = [threading.Thread(target=client, args=(number,)) for number in range(CLIENTS)]
    for thread in threads:
        thread.start()
    ended = 0
    try:
        for _ in range(RESTARTS):
            time.sleep(1.0)
            ended += postgres_proxy.restart(down_for=DOWN_FOR)
        time.sleep(1.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    log = (tmp_path / "gunicorn-1.log").read_text()

    assert ended >= RESTARTS, "the restarts ended no session of the app: nothing was tested"
    statuses = {kind: collections.Counter(status for status, _ in rows) for kind, rows in results.items()}
    slowest = {kind: max(seconds for _, seconds in rows) for kind, rows in results.items()}
    print(f"sessions ended: {ended}; statuses: {dict(statuses)}; slowest: {slowest}")
    assert set(statuses["page"]) == {200}, log[-3000:]
    # An answer whose transaction the restart cut fails rather than being repeated (its COMMIT may have
    # reached the server): at most one per session the restart ended, and never stored twice.
    assert set(statuses["answer"]) <= {302, 500}, log[-3000:]
    assert statuses["answer"][500] <= ended
    # Each answer that was accepted is stored, once.
    stored = Response.objects.filter(invitation__token__in=answered)
    assert stored.count() == len(answered) == len(set(answered))
    # A request waits for the restart, not for a timeout: at most the time the server was down, and some.
    assert max(slowest.values()) < DOWN_FOR + 5


def _proxied(port: int) -> DatabaseWrapper:
    """A connection of the app's backend to the test database, through this port."""
    db = copy.deepcopy(connections.settings["default"])
    db.update(HOST="127.0.0.1", PORT=port)
    return DatabaseWrapper(db, alias="proxied")


def _run_through_a_restart(proxy, sql: str) -> dict:
    """Runs `sql` through the proxy and restarts the database while it runs: {"rows": ...} or {"error": ...}."""
    outcome = {}

    def run() -> None:
        db = _proxied(proxy.port)  # a connection belongs to the thread that made it
        try:
            with db.cursor() as cursor:
                cursor.execute(sql)
                outcome["rows"] = cursor.fetchall() if cursor.description else None
        except Exception as exc:
            outcome["error"] = exc
        finally:
            db.close()

    def running() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = %s", [sql])
            return cursor.fetchone()[0] > 0

    thread = threading.Thread(target=run)
    thread.start()
    wait_until(lambda: "error" in outcome or running(), timeout=30, what="the statement to start")
    assert proxy.restart(down_for=DOWN_FOR) == 1
    thread.join(timeout=30)
    return outcome


def test_a_read_cut_by_the_restart_is_run_again(postgres_proxy):
    assert _run_through_a_restart(postgres_proxy, "SELECT 42 FROM pg_sleep(1)") == {"rows": [(42,)]}


def test_a_write_cut_by_the_restart_fails_and_is_not_repeated(postgres_proxy):
    invitation = InvitationFactory(last_error="")
    sql = f"UPDATE surveys_invitation SET last_error = 'written' WHERE id = {invitation.pk} AND pg_sleep(1) IS NOT NULL"
    outcome = _run_through_a_restart(postgres_proxy, sql)
    assert isinstance(outcome.get("error"), OperationalError)
    assert "terminating connection due to administrator command" in str(outcome["error"])
    invitation.refresh_from_db()
    assert invitation.last_error == ""  # the server rolled it back, and it was not sent again


@override_settings(DB_CONNECT_RETRY_SECONDS=1)
def test_connecting_to_a_database_that_stays_down_fails_after_the_retry_budget(postgres, db):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nothing_listens = probe.getsockname()[1]
    db = _proxied(nothing_listens)
    started = time.monotonic()
    with pytest.raises(OperationalError):
        db.ensure_connection()
    assert 0.9 <= time.monotonic() - started < 3


CONTACTS = 300
RESTART_AT = (CONTACTS // 5, CONTACTS // 2, CONTACTS * 3 // 4)  # the emails after which the database restarts
# The last restart is a slow one, longer than a web request waits (DB_CONNECT_RETRY_SECONDS): a worker
# waits longer (DB_WORKER_CONNECT_RETRY_SECONDS).
RESTART_DOWN_FOR = (DOWN_FOR, DOWN_FOR, 8.0)


@pytest.fixture
def restarting_smtp(smtp_server, postgres_proxy):
    """A mail server that takes 20 ms per recipient and, at each RESTART_AT, holds the recipient until the
    database is down: the restart lands while the worker sends, and its next statement meets it."""
    accept = smtp_server.handle_RCPT
    smtp_server.waiting_for_restart = threading.Event()

    async def handle_RCPT(server, session, envelope, address, rcpt_options):
        await asyncio.sleep(0.02)
        if len(smtp_server.messages) in RESTART_AT and not postgres_proxy.down.is_set():
            smtp_server.waiting_for_restart.set()
            deadline = time.monotonic() + 30
            while not postgres_proxy.down.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
        return await accept(server, session, envelope, address, rcpt_options)

    smtp_server.handle_RCPT = handle_RCPT
    return smtp_server


@pytest.fixture
def worker_env(restarting_smtp, postgres_proxy):
    return {
        "DATABASE_URL": postgres_proxy.url,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(restarting_smtp.port),
        "SURVEY_SEND_BATCH_SIZE": "25",
    }


def test_campaign_sending_through_database_restarts_completes_without_the_sweep(
    start_worker, postgres_proxy, restarting_smtp, alice
):
    """No beat runs here: only the batches themselves can finish the campaign."""
    contacts = [ContactFactory(account=AccountFactory(owner=alice), is_primary=True) for _ in range(CONTACTS)]
    worker = start_worker()
    campaign = CampaignFactory()
    with transaction.atomic():
        services.campaign_send(campaign=campaign)

    ended = 0
    for down_for in RESTART_DOWN_FOR:
        assert restarting_smtp.waiting_for_restart.wait(timeout=120), "the send did not reach the next restart"
        restarting_smtp.waiting_for_restart.clear()
        ended += postgres_proxy.restart(down_for=down_for)
    assert ended >= len(RESTART_AT)

    wait_until(
        lambda: Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT, timeout=180, what="the campaign"
    )
    received = collections.Counter(message["To"] for message in restarting_smtp.messages)
    assert {email for email, count in received.items() if count > 1} == set()  # nobody twice
    assert set(received) == {contact.email for contact in contacts}  # and everyone once
    assert set(Invitation.objects.filter(campaign=campaign).values_list("status", flat=True)) == {"sent"}
    assert "sends_recover_task[" not in worker.log()  # the periodic sweep never ran (there is no beat)
