"""The database connection dropped under the app (a PostgreSQL restart, a failover, an idle timeout):
the next request works, because persistent connections are health-checked before reuse.

The app runs in gunicorn, as in production, against the PostgreSQL test database; the test then
terminates every server process serving it, as a restart would.
"""

import pytest
from django.db import connection

from tests.factories import InvitationFactory
from tests.integration.conftest import _database_url, gunicorn_running, http_get

pytestmark = pytest.mark.integration


@pytest.fixture
def gunicorn(transactional_db, postgres, tmp_path, settings):
    database_url = _database_url(settings.DATABASES["default"])
    # DB_CONN_MAX_AGE: the same connection serves every request, until it is dropped.
    with gunicorn_running(database_url, tmp_path / "gunicorn.log", DB_CONN_MAX_AGE="600") as port:
        yield port


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
    status, page = http_get(gunicorn, f"/s/{invitation.token}/")
    assert status == 200 and "How likely are you to recommend" in page

    assert _terminate_other_sessions() >= 1  # the app's persistent connection is gone

    status, page = http_get(gunicorn, f"/s/{invitation.token}/")
    assert status == 200, page[:500]
    assert "How likely are you to recommend" in page
    assert http_get(gunicorn, "/healthz") == (200, '{"status": "ok"}')
