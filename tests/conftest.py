"""The usual cast, shared by every test: alice and bob (CSMs, team A), carol (CSM, team B),
maria (manager of team A) and adam (admin). Each owns one account where that makes sense.

Tests that need a service skip with a reason when it is absent; with CI=true a skipped
test fails the run, so CI cannot pass by skipping.

`--frozen-date=YYYY-MM-DD` moves the clock to that day at noon for the whole run (collection
included, so module-level dates follow) and back to noon at the start of every test; time flows on
from there, and a test's own `time_machine.travel` still takes precedence. `.ci/run` runs the tests
marked `dates` again this way on a week of days, 31 December and 29 February.
"""

import datetime
import os
import socket
import zoneinfo
from urllib.parse import urlsplit, urlunsplit

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.cache import cache

# The production hasher spends about half a second on each password by design, and the suite logs in,
# fails to log in and invites people thousands of times. Only this process uses the fast one: the
# servers and workers tests start hash as production does (none of them checks a test user's password).
django_settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

from accounts.models import User  # noqa: E402
from config.celery import app as celery_app  # noqa: E402
from scoring.models import HealthModel  # noqa: E402
from scoring.services import model_version_create  # noqa: E402
from tests.factories import PASSWORD, AccountFactory, TeamFactory, UserFactory  # noqa: E402

_skipped: list[str] = []


def _redis_database_per_worker() -> None:
    """With parallel workers (`make test`, pytest-xdist), worker gwN uses Redis database REDIS_URL's + N.

    Every test clears the cache, which empties its whole Redis database: a worker sharing it with
    another would lose that one's cache entries and queued tasks in the middle of a test.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or not django_settings.REDIS_URL:
        return
    parts = urlsplit(django_settings.REDIS_URL)
    url = urlunsplit(parts._replace(path=f"/{int(parts.path.strip('/') or 0) + int(worker[2:])}"))
    os.environ["REDIS_URL"] = django_settings.REDIS_URL = django_settings.CELERY_BROKER_URL = url
    django_settings.CACHES["default"]["LOCATION"] = url
    celery_app.conf.broker_url = url


_redis_database_per_worker()

FROZEN_AT = datetime.time(12, 0)  # noon: far from midnight in every time zone a test may set
_session_travel: list = []


def pytest_addoption(parser):
    parser.addoption(
        "--frozen-date",
        metavar="YYYY-MM-DD",
        type=datetime.date.fromisoformat,
        default=None,
        help="Run with the clock moved to this day at noon (TIME_ZONE), to show the date-sensitive tests pass on it.",
    )


def frozen_moment(config) -> datetime.datetime | None:
    day = config.getoption("--frozen-date")
    if day is None:
        return None
    return datetime.datetime.combine(day, FROZEN_AT, tzinfo=zoneinfo.ZoneInfo(django_settings.TIME_ZONE))


def pytest_configure(config):
    moment = frozen_moment(config)
    if moment is not None:
        traveller = time_machine.travel(moment, tick=True)
        traveller.start()
        _session_travel.append(traveller)


def pytest_unconfigure(config):
    while _session_travel:
        _session_travel.pop().stop()


# Modules whose tests read today's date: schedules, quiet periods, windows, trends, expiries. Their tests
# get the `dates` marker; single tests elsewhere carry it themselves (the demo's in test_seed_demo.py).
# Modules that pin every test to one fixed moment (portfolio, rollup, results, morning email) gain
# nothing from another date and are left out.
DATE_SENSITIVE_MODULES = {
    "tests/playbooks/test_rules.py",
    "tests/dashboards/test_timeline.py",
    "tests/playbooks/test_task_pages.py",
    "tests/playbooks/test_task_events.py",
    "tests/webhooks/test_delivery.py",
    "tests/webhooks/test_events.py",
    "tests/webhooks/test_pages.py",
    "tests/accounts/test_account_pages.py",
    "tests/accounts/test_seed_demo.py",
    "tests/browser/test_account_page_browser.py",
    "tests/browser/test_pages_under_csp.py",
    "tests/browser/test_portfolio_flow.py",
    "tests/browser/test_rollup_drilldown.py",
    "tests/accounts/test_notifications.py",
    "tests/dashboards/test_account_page.py",
    "tests/dashboards/test_account_hierarchy.py",
    "tests/scoring/test_account_health.py",
    "tests/scoring/test_engine.py",
    "tests/scoring/test_overrides.py",
    "tests/scoring/test_preview.py",
    "tests/scoring/test_recompute.py",
    "tests/surveys/test_alerts.py",
    "tests/surveys/test_answer_import.py",
    "tests/surveys/test_answer_page.py",
    "tests/surveys/test_answer_service.py",
    "tests/surveys/test_campaigns.py",
    "tests/surveys/test_follow_up.py",
    "tests/surveys/test_feedback.py",
    "tests/surveys/test_opt_out.py",
    "tests/surveys/test_reminders.py",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.nodeid.split("::")[0] in DATE_SENSITIVE_MODULES:
            item.add_marker(pytest.mark.dates)


def pytest_report_header(config):
    moment = frozen_moment(config)
    return f"frozen date: every test starts at {moment.isoformat()}" if moment else None


@pytest.fixture(autouse=True)
def _frozen_date(request):
    """With --frozen-date, every test starts at noon of that day (before any other fixture builds dates)."""
    moment = frozen_moment(request.config)
    if moment is None:
        yield
        return
    with time_machine.travel(moment, tick=True):
        yield


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
def sentiment_model(db):
    """Health = the latest check-in sentiment (1 → 0, 5 → 100). The default model comes from a migration, and
    after an earlier transactional test's flush it is made again."""
    model, _ = HealthModel.objects.get_or_create(segment="", defaults={"name": "Default health model"})
    return model_version_create(
        model=model,
        by=None,
        settings_values={"min_coverage": 50, "red_below": 40, "green_from": 70},
        components=[{"label": "Sentiment", "input": "checkin_sentiment", "reading": "latest", "window_days": 60,
                     "poor": 1, "good": 5, "weight": 1}],
    )  # fmt: skip


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run what a service queues with on_commit (tasks run in-process in tests)."""

    def _run(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return _run


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
