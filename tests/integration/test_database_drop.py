"""The database connection dropped under the app (a PostgreSQL restart, a failover, an idle timeout):
the next request works, because persistent connections are health-checked before reuse.

The app runs in gunicorn, as in production, against the PostgreSQL test database; the test then
terminates every server process serving it, as a restart would.
"""

import http.client
import os
import socket
import subprocess
import sys
import time

import pytest
from django.db import connection

from tests.factories import InvitationFactory
from tests.integration.conftest import REPO_ROOT, _database_url

pytestmark = pytest.mark.integration


@pytest.fixture
def gunicorn(transactional_db, postgres, tmp_path, settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": _database_url(settings.DATABASES["default"]),
        "DB_CONN_MAX_AGE": "600",  # the same connection serves every request, until it is dropped
    }
    env.pop("REDIS_URL", None)
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--log-level", "warning"],
            cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while _get(port, "/healthz")[0] != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=15)


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        client.request("GET", path)
        response = client.getresponse()
        return response.status, response.read().decode(errors="replace")
    except OSError:
        return 0, ""


def _terminate_other_sessions() -> int:
    """Ends every server process on the test database but this test's own, as a restart would."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_request_after_the_database_dropped_the_connection_works(gunicorn):
    invitation = InvitationFactory()
    status, page = _get(gunicorn, f"/s/{invitation.token}/")
    assert status == 200 and "How likely are you to recommend" in page

    assert _terminate_other_sessions() >= 1  # the app's persistent connection is gone

    status, page = _get(gunicorn, f"/s/{invitation.token}/")
    assert status == 200, page[:500]
    assert "How likely are you to recommend" in page
    assert _get(gunicorn, "/healthz") == (200, '{"status": "ok"}')
