"""Login protection: an email is locked out after repeated failures, and each client address may
only post so many login attempts a minute. The same holds for the Django admin's login page."""

import datetime
import logging
import re

import pytest
import time_machine
from django.core.cache import cache, caches

from accounts import lockout

NOW = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
MAX = 3  # fewer than the default 5: every attempt checks a password hash, which takes a while
LOCKED = "Too many failed attempts to log in with this email. Please wait 15 minutes before trying again."
WRONG = "Please enter a correct email and password. Note that both fields may be case-sensitive."


@pytest.fixture(autouse=True)
def _protection(settings):
    """Frozen time, and the counters in local memory even when REDIS_URL is set: travelling in time
    expires local-memory entries, while Redis keeps its own clock. (tests/integration covers Redis.)"""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "login"}}
    cache.clear()
    settings.LOGIN_MAX_FAILURES = MAX
    settings.LOGIN_LOCKOUT_MINUTES = 15
    settings.LOGIN_RATE_LIMIT_PER_MINUTE = 100  # the lockout tests post more than a person would
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def attempt(client, email: str, password: str, **extra):
    return client.post("/login/", {"username": email, "password": password}, **extra)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def fail(client, email: str, times: int) -> list[str]:
    """`times` wrong passwords for `email`; the error each answer showed."""
    return [error_of(attempt(client, email, "not the password")) for _ in range(times)]


def error_of(response) -> str:
    assert response.status_code == 200
    return " ".join(response.context["form"].non_field_errors())


def test_the_last_allowed_failure_locks_the_email_and_says_how_long_to_wait(client, alice):
    errors = fail(client, "alice@pulse.test", MAX)

    assert errors == [WRONG] * (MAX - 1) + [LOCKED]
    page = attempt(client, "alice@pulse.test", "still wrong").content.decode()
    assert LOCKED in page and 'role="alert"' in page


def test_the_right_password_is_refused_while_locked(client, alice, password):
    fail(client, "alice@pulse.test", MAX)

    response = attempt(client, "alice@pulse.test", password)

    assert error_of(response) == LOCKED
    assert not logged_in(client)


def test_the_message_counts_down_the_minutes_left(client, alice, password, _protection):
    fail(client, "alice@pulse.test", MAX)
    _protection.shift(datetime.timedelta(minutes=14))

    response = attempt(client, "alice@pulse.test", password)

    assert error_of(response) == LOCKED.replace("15 minutes", "1 minute")


def test_login_works_again_once_the_lockout_has_passed(client, alice, password, _protection):
    fail(client, "alice@pulse.test", MAX)
    _protection.shift(datetime.timedelta(minutes=15, seconds=1))

    response = attempt(client, "alice@pulse.test", password)

    assert response.status_code == 302 and logged_in(client)


def test_a_successful_login_resets_the_count(client, alice, password):
    fail(client, "alice@pulse.test", MAX - 1)
    assert attempt(client, "alice@pulse.test", password).status_code == 302
    client.post("/logout/")

    assert fail(client, "alice@pulse.test", MAX - 1) == [WRONG] * (MAX - 1)  # a fresh count, not a lockout
    assert attempt(client, "alice@pulse.test", password).status_code == 302


def test_failures_older_than_the_window_are_forgotten(client, alice, _protection):
    fail(client, "alice@pulse.test", MAX - 1)
    _protection.shift(datetime.timedelta(minutes=16))

    assert fail(client, "alice@pulse.test", MAX - 1) == [WRONG] * (MAX - 1)


def test_an_unknown_email_is_answered_exactly_like_a_real_one(client, alice, db):
    real = fail(client, "alice@pulse.test", MAX + 1)
    unknown = fail(client, "nobody@pulse.test", MAX + 1)

    assert real == unknown == [WRONG] * (MAX - 1) + [LOCKED] * 2
    assert page_for(client, "alice@pulse.test") == page_for(client, "nobody@pulse.test")


def page_for(client, email: str) -> str:
    """The login page after an attempt, without what differs between any two answers (email, CSRF token)."""
    page = attempt(client, email, "x").content.decode().replace(email, "EMAIL")
    return re.sub(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+', r"\1TOKEN", page)


def test_the_lockout_is_per_email_whatever_its_case(client, alice, bob, password):
    fail(client, "Alice@Pulse.test", MAX - 1)
    fail(client, "ALICE@pulse.test", 1)

    assert error_of(attempt(client, "alice@pulse.test", password)) == LOCKED
    assert attempt(client, "bob@pulse.test", password).status_code == 302  # bob is not held back by alice's lockout


def test_without_a_cache_login_works_without_a_lockout(client, alice, password, monkeypatch, caplog):
    def cache_down(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to redis")

    backend = caches["default"]  # the object itself: the `cache` proxy would outlive this test's settings
    for method in ("get", "add", "incr", "set", "delete"):
        monkeypatch.setattr(backend, method, cache_down)

    with caplog.at_level(logging.WARNING, logger="accounts.lockout"):
        assert fail(client, "alice@pulse.test", MAX + 1) == [WRONG] * (MAX + 1)
        assert attempt(client, "alice@pulse.test", password).status_code == 302

    assert "login lockout cache unavailable" in caplog.text


def test_the_counters_keep_no_email_in_the_cache(alice, db):
    for _ in range(3):
        lockout.login_failure_record("alice@pulse.test")

    keys = list(cache._cache)  # the local-memory cache of the tests
    assert keys and not any("alice" in key for key in keys)


# --- rate limit per client address --------------------------------------------------------


def test_too_many_login_posts_from_one_address_get_a_429_with_retry_after(client, alice, password, settings):
    settings.LOGIN_RATE_LIMIT_PER_MINUTE = 3
    for email in ("a@pulse.test", "b@pulse.test", "c@pulse.test"):  # spraying many emails is what it stops
        assert attempt(client, email, "guess").status_code == 200

    refused = attempt(client, "alice@pulse.test", password)

    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "Please wait a minute and try again." in refused.content.decode()
    assert not logged_in(client)
    assert client.get("/login/").status_code == 200  # showing the form is not an attempt
    assert attempt(client, "alice@pulse.test", password, REMOTE_ADDR="10.0.0.2").status_code == 302


def test_the_next_minute_lets_the_address_try_again(client, alice, password, settings, _protection):
    settings.LOGIN_RATE_LIMIT_PER_MINUTE = 1
    attempt(client, "alice@pulse.test", "wrong")
    assert attempt(client, "alice@pulse.test", password).status_code == 429

    _protection.shift(datetime.timedelta(minutes=1))

    assert attempt(client, "alice@pulse.test", password).status_code == 302


# --- the Django admin's login page ----------------------------------------------------------


def admin_attempt(client, email: str, password: str):
    return client.post("/admin/login/?next=/admin/", {"username": email, "password": password, "next": "/admin/"})


def test_the_admin_login_locks_out_too(client, adam, password):
    for _ in range(MAX):
        admin_attempt(client, "adam@pulse.test", "not the password")

    response = admin_attempt(client, "adam@pulse.test", password)

    assert response.status_code == 200 and LOCKED in response.content.decode()
    assert not logged_in(client)
    assert error_of(attempt(client, "adam@pulse.test", password)) == LOCKED  # one count for both pages


def test_the_admin_login_shares_the_rate_limit(client, adam, password, settings):
    settings.LOGIN_RATE_LIMIT_PER_MINUTE = 2
    attempt(client, "x@pulse.test", "guess")
    admin_attempt(client, "y@pulse.test", "guess")

    assert admin_attempt(client, "adam@pulse.test", password).status_code == 429


def test_the_admin_login_still_logs_an_admin_in(client, adam, password):
    response = admin_attempt(client, "adam@pulse.test", password)

    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


# --- the client's address behind a proxy --------------------------------------------------


def test_behind_the_proxy_each_forwarded_client_has_its_own_limit(client, alice, password, settings):
    # Every request reaches us from the proxy's address; the proxy appends the client's to X-Forwarded-For.
    settings.BEHIND_TLS_PROXY, settings.LOGIN_RATE_LIMIT_PER_MINUTE = True, 1
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    attempt(client, "x@pulse.test", "guess", HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy)

    assert attempt(client, "x@pulse.test", "guess", HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy).status_code == 429
    # A forged first entry changes nothing: the proxy's own entry comes last.
    forged = attempt(client, "x@pulse.test", "guess", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7", **proxy)
    assert forged.status_code == 429
    assert (
        attempt(client, "alice@pulse.test", password, HTTP_X_FORWARDED_FOR="198.51.100.2", **proxy).status_code == 302
    )


def test_without_a_proxy_x_forwarded_for_is_ignored(client, alice, settings):
    settings.BEHIND_TLS_PROXY, settings.LOGIN_RATE_LIMIT_PER_MINUTE = False, 1
    attempt(client, "x@pulse.test", "guess", HTTP_X_FORWARDED_FOR="203.0.113.7")

    assert attempt(client, "x@pulse.test", "guess", HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 429


# ---- Password reset: one email per address every five minutes ----


def test_password_reset_sends_one_email_per_address_every_five_minutes(client, alice, mailoutbox, _protection):
    for _ in range(3):
        response = client.post("/password-reset/", {"email": "Alice@pulse.test"})
        assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    assert [message.to for message in mailoutbox] == [["alice@pulse.test"]]

    _protection.shift(datetime.timedelta(minutes=5, seconds=1))
    client.post("/password-reset/", {"email": "alice@pulse.test"})
    assert len(mailoutbox) == 2


def test_password_reset_requests_per_client_are_rate_limited(db, client, settings, mailoutbox):
    settings.LOGIN_RATE_LIMIT_PER_MINUTE = 2
    statuses = [client.post("/password-reset/", {"email": f"x{n}@pulse.test"}).status_code for n in range(3)]
    assert statuses == [302, 302, 429]
    assert client.get("/password-reset/").status_code == 200  # only requests count, not the page
