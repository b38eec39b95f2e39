"""Shared by the security tests: data made once per test module, and a picture of the database.

These modules send hundreds of requests against the same objects. Building the objects once per
module (inside a transaction rolled back at its end) keeps them fast; each test still runs in its
own savepoint, so what one test writes is gone before the next: a module using `module_db` marks
all its tests `django_db` (pytest-django also sets up the test database only for such tests).
"""

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.db import connection, transaction

# Every table a request could write to, except sessions (signing in writes one) and permissions (fixed).
WATCHED_APPS = ["accounts", "surveys", "scoring", "playbooks", "renewals", "webhooks", "auth", "admin"]


@pytest.fixture(scope="module")
def module_db(django_db_setup, django_db_blocker):
    """Open a transaction for the module's data; everything made in it is rolled back after the module."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)


def _database_state() -> dict[str, list[tuple]]:
    # Plain SQL: called twice in most tests, it must cost little; the ORM would be several times slower.
    quote = connection.ops.quote_name
    state = {}
    with connection.cursor() as cursor:
        for app in WATCHED_APPS:
            for model in apps.get_app_config(app).get_models(include_auto_created=True):
                if model is Permission:
                    continue
                table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
                cursor.execute(f"SELECT * FROM {table} ORDER BY {pk}")
                state[model._meta.label] = cursor.fetchall()
    return state


@pytest.fixture
def database_state(db):
    """database_state() -> every row of every watched table, to compare before and after a request."""
    return _database_state
