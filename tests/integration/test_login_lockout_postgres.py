"""On PostgreSQL, whose UPPER() maps the dotless ı to I, a look-alike address cannot side-step the lockout."""

import datetime

import pytest
import time_machine
from django.core.cache import cache

from tests.factories import UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("postgres")]

NOW = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
LOCKED = "Too many failed attempts to log in with this email. Please wait 15 minutes before trying again."
WRONG = "Please enter a correct email and password. Note that both fields may be case-sensitive."


@pytest.fixture(autouse=True)
def _protection(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pg"}}
    cache.clear()
    settings.LOGIN_MAX_FAILURES, settings.LOGIN_LOCKOUT_MINUTES = 5, 15
    settings.LOGIN_RATE_LIMIT_PER_MINUTE = 100
    with time_machine.travel(NOW, tick=False):
        yield


def attempt(client, email: str, password: str) -> str:
    response = client.post("/login/", {"username": email, "password": password})
    assert response.status_code == 200
    return " ".join(response.context["form"].non_field_errors())


def test_a_dotless_i_address_is_refused_and_counted_after_the_lockout(client, password, db):
    UserFactory(email="priya.shah@example.com", name="Priya Shah")
    assert [attempt(client, "priya.shah@example.com", "wrong") for _ in range(5)][-1] == LOCKED

    assert attempt(client, "prıya.shah@example.com", password) == WRONG
    assert "_auth_user_id" not in client.session
    assert [attempt(client, "prıya.shah@example.com", "wrong") for _ in range(4)][-1] == LOCKED
    assert attempt(client, "Priya.Shah@Example.com", password) == LOCKED


def test_password_reset_sends_nothing_to_a_dotless_i_address(db, client, mailoutbox):
    UserFactory(email="priya.shah@example.com", name="Priya Shah")

    client.post("/password-reset/", {"email": "prıya.shah@example.com"})
    assert mailoutbox == []
    client.post("/password-reset/", {"email": "PRIYA.SHAH@example.com"})
    assert [message.to for message in mailoutbox] == [["priya.shah@example.com"]]
