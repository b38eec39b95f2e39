"""The outbox page: a count, pages and search, read from the outbox's index (never from every message),
an index that every process writing mail keeps, and the HTML preview's links."""

import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.outbox import INDEX_NAME, OutboxBackend, outbox_entries, outbox_get, outbox_prune
from accounts.outbox_views import FRAME_POLICY
from tests.helpers import HTMX

_opened: list[str] | None = None  # while a list, the audit hook below records every file opened


def _record_open(event, args):
    if event == "open" and _opened is not None and isinstance(args[0], str | Path):
        _opened.append(str(args[0]))


sys.addaudithook(_record_open)  # audit hooks cannot be removed: this one records nothing unless asked


def _files_opened_under(directory: Path, call):
    global _opened
    _opened = []
    try:
        result = call()
        return result, [path for path in _opened if path.startswith(str(directory))]
    finally:
        _opened = None


@pytest.fixture(autouse=True)
def _clock():
    """Messages are named by the time they are written: a fixed start, ticking, so each is later than the last."""
    with time_machine.travel("2026-12-01 09:00Z", tick=True):
        yield


@pytest.fixture
def outbox_on(settings):
    settings.EMAIL_BACKEND = "accounts.outbox.OutboxBackend"
    return Path(settings.OUTBOX_DIR)


def _send(count: int, *, to: str = "dana@globex.test", subject: str = "How likely are you to recommend us?"):
    OutboxBackend().send_messages(
        [mail.EmailMessage(f"{subject} #{number}", "body", to=[to]) for number in range(1, count + 1)]
    )


def test_the_outbox_counts_pages_and_lists_the_newest_first(adam, login, outbox_on):
    _send(60)
    client = login(adam)

    first = client.get("/outbox/")
    assert "60 messages, page 1 of 2" in first.content.decode()
    assert [entry.subject for entry in first.context["page"]][:2] == [
        "How likely are you to recommend us? #60",
        "How likely are you to recommend us? #59",
    ]
    assert len(first.context["page"]) == 50

    second = client.get("/outbox/?page=2")
    assert [entry.subject for entry in second.context["page"]][-1] == "How likely are you to recommend us? #1"
    assert len(second.context["page"]) == 10


def test_the_outbox_searches_recipients_and_subjects_in_any_case(adam, login, outbox_on):
    _send(3, to="dana@globex.test", subject="Survey")
    _send(2, to="erin@initech.test", subject="Reset your password")
    client = login(adam)

    by_recipient = client.get("/outbox/?q=INITECH")
    assert {entry.to for entry in by_recipient.context["page"]} == {"erin@initech.test"}
    assert "2 messages matching “INITECH”" in by_recipient.content.decode()
    by_subject = client.get("/outbox/?q=survey")
    assert len(by_subject.context["page"]) == 3
    nothing = client.get("/outbox/?q=nobody").content.decode()
    assert "No message to or about “nobody”." in nothing


def test_a_search_from_the_box_answers_with_the_results_alone(adam, login, outbox_on):
    _send(2)
    response = login(adam).get("/outbox/?q=dana", headers=HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="results"') and "2 messages" in body


def test_the_outbox_page_reads_only_the_index_with_10000_messages(adam, login, outbox_on):
    _send(10)
    client = login(adam)
    client.get("/outbox/")  # the session and the templates are loaded once
    with CaptureQueriesContext(connection) as few:
        client.get("/outbox/")
    _send(9_990)

    with CaptureQueriesContext(connection) as many:
        response, opened = _files_opened_under(outbox_on, lambda: client.get("/outbox/?q=recommend&page=3"))

    assert "10,000 messages matching “recommend”, page 3 of 200" in response.content.decode()
    assert opened == [str(outbox_on / INDEX_NAME)]  # not one message file
    assert len(many) == len(few)


def test_messages_written_before_the_index_are_indexed_once_from_their_headers(adam, login, outbox_on):
    _send(3)
    (outbox_on / INDEX_NAME).unlink()

    assert [entry.subject for entry in outbox_entries()][0] == "How likely are you to recommend us? #3"
    assert len(outbox_entries()) == 3
    _send(1, subject="After")  # appended to the rebuilt index, not listed twice
    assert [entry.subject for entry in outbox_entries()].count("After #1") == 1
    assert len(outbox_entries()) == 4


def test_messages_from_other_processes_all_land_in_the_index(outbox_on):
    """Two other processes (a web process and a worker, say) writing with this one: every message is listed
    once. (Those two name their messages by the real clock; only the count is checked.)"""
    script = (
        "import django; django.setup();"
        "from django.core import mail;"
        "from accounts.outbox import OutboxBackend;"
        "[OutboxBackend().send_messages([mail.EmailMessage('m', 'b', to=['x@y.test'])]) for _ in range(100)]"
    )
    environment = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "OUTBOX_DIR": str(outbox_on),
        "VAR_DIR": str(outbox_on.parent),
        "SECRET_KEY": "only-for-this-test",
    }
    writers = [
        subprocess.Popen([sys.executable, "-c", script], cwd=django_settings.BASE_DIR, env=environment)
        for _ in range(2)
    ]
    _send(100)
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]

    names = [entry.name for entry in outbox_entries()]
    assert len(names) == len(set(names)) == 300
    assert all((outbox_on / f"{name}.eml").is_file() for name in names)


def test_pruning_keeps_the_index_in_step_with_the_files(outbox_on):
    with time_machine.travel("2026-11-01 12:00Z", tick=False):
        _send(2, subject="Old")
    with time_machine.travel("2026-11-20 12:00Z", tick=False):
        _send(1, subject="New")
        assert outbox_prune(keep_days=14) == 2
    assert [entry.subject for entry in outbox_entries()] == ["New #1"]


def test_the_preview_opens_links_in_a_new_tab_under_a_policy_without_scripts(adam, login, outbox_on):
    message = mail.EmailMultiAlternatives("Survey", "text", to=["dana@globex.test"])
    message.attach_alternative(
        '<!doctype html><html lang="en"><head><title>Q</title></head><body><a href="https://x.test/s/t/?score=9">9</a>',
        "text/html",
    )
    message.send()
    [entry] = outbox_entries()
    client = login(adam)

    frame = client.get(f"/outbox/{entry.name}/html/")
    assert frame.content.decode().startswith('<!doctype html><html lang="en"><head><base target="_blank"><title>')
    assert frame["Content-Security-Policy"] == FRAME_POLICY
    assert "default-src 'none'" in FRAME_POLICY and "script-src" not in FRAME_POLICY
    assert frame["X-Frame-Options"] == "SAMEORIGIN"
    page = client.get(f"/outbox/{entry.name}/").content.decode()
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in page  # no scripts, no same origin


def test_a_name_the_outbox_did_not_write_is_not_found(adam, login, outbox_on):
    _send(1)
    (outbox_on / "notes.eml").write_text("Subject: not ours\n\nbody")
    assert outbox_get("notes") is None
    assert login(adam).get("/outbox/notes/").status_code == 404
