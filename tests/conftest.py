"""The usual cast, shared by every test: alice and bob (CSMs, team A), carol (CSM, team B),
maria (manager of team A) and adam (admin). Each owns one account where that makes sense.

Tests that need a service skip with a reason when it is absent; with CI=true a skipped
test fails the run, so CI cannot pass by skipping.
"""

import os
import socket

import pytest
from django.core.cache import cache

from accounts.models import User
from config.celery import app as celery_app
from tests.factories import PASSWORD, AccountFactory, TeamFactory, UserFactory

_skipped: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("CI", "").lower() == "true" and _skipped:
        print(f"\nCI=true: {len(_skipped)} test(s) skipped, which fails the run:")
        for nodeid in _skipped:
            print(f"  {nodeid}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _tasks_in_process(settings, tmp_path):
    """Celery tasks run in-process unless a test asks for a real worker; email goes to a per-test outbox;
    the cache starts empty."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    settings.OUTBOX_DIR = tmp_path / "outbox"
    cache.clear()  # rate-limit counters and the like never leak from one test into the next
    yield
    celery_app.conf.task_always_eager = eager


@pytest.fixture
def team_a(db):
    return TeamFactory(name="Team A")


@pytest.fixture
def team_b(db):
    return TeamFactory(name="Team B")


@pytest.fixture
def alice(team_a):
    return UserFactory(email="alice@pulse.test", name="Alice Archer", role=User.Role.CSM, team=team_a)


@pytest.fixture
def bob(team_a):
    return UserFactory(email="bob@pulse.test", name="Bob Brown", role=User.Role.CSM, team=team_a)


@pytest.fixture
def carol(team_b):
    return UserFactory(email="carol@pulse.test", name="Carol Chen", role=User.Role.CSM, team=team_b)


@pytest.fixture
def maria(team_a):
    user = UserFactory(email="maria@pulse.test", name="Maria Moreno", role=User.Role.MANAGER)
    user.managed_teams.add(team_a)
    return user


@pytest.fixture
def adam(db):
    return UserFactory(email="adam@pulse.test", name="Adam Admin", role=User.Role.ADMIN)


@pytest.fixture
def cast(alice, bob, carol, maria, adam):
    return {"alice": alice, "bob": bob, "carol": carol, "maria": maria, "adam": adam}


@pytest.fixture
def alice_account(alice):
    return AccountFactory(name="Acme Alpha", owner=alice)


@pytest.fixture
def bob_account(bob):
    return AccountFactory(name="Bravo Bakery", owner=bob)


@pytest.fixture
def carol_account(carol):
    return AccountFactory(name="Charlie Chemicals", owner=carol)


@pytest.fixture
def login(client):
    """login(user) -> the test client logged in as that user."""

    def _login(user):
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def password():
    return PASSWORD


class SmtpSink:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives.

    `refuse[address] = (code, text)` answers RCPT for that address with the code
    (e.g. 550 for a permanent bounce, 451 for a temporary failure).
    """

    def __init__(self):
        self.messages = []
        self.refuse: dict[str, tuple[int, str]] = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            code, text = self.refuse[address.lower()]
            return f"{code} {text}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        import email
        import email.policy

        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted"

    def to(self, address: str) -> list:
        return [message for message in self.messages if address in message["To"]]


@pytest.fixture
def smtp_server(settings):
    """Email goes through real SMTP to a server on 127.0.0.1; `smtp_server.messages` has what arrived."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    running = []

    def start():
        # A stopped Controller cannot start again (its loop is closed): each start makes a new one.
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        running.append(controller)

    def stop():
        running.pop().stop()

    start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    sink.port, sink.start, sink.stop = port, start, stop  # to take the server down and bring it back
    yield sink
    while running:
        stop()
