"""Users' emails are stored in one normalised form (NFKC + case folding) and looked up by it exactly,
and the login lockout counts failures per address typed and per user it resolves to."""

import datetime
import importlib

import pytest
import time_machine
from django.apps import apps
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.email_address import normalise_email
from accounts.models import User
from tests.factories import UserFactory

NOW = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
MAX = 3
LOCKED = "Too many failed attempts to log in with this email. Please wait 15 minutes before trying again."
EMPTY_LOGIN = "Enter your email and your password to log in."
WRONG = "Please enter a correct email and password. Note that both fields may be case-sensitive."


@pytest.fixture(autouse=True)
def _protection(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "norm"}}
    cache.clear()
    settings.LOGIN_MAX_FAILURES, settings.LOGIN_LOCKOUT_MINUTES = MAX, 15
    settings.LOGIN_RATE_LIMIT_PER_MINUTE = 100
    with time_machine.travel(NOW, tick=False):
        yield


def attempt(client, email: str, password: str):
    return client.post("/login/", {"username": email, "password": password})


def error_of(response) -> str:
    assert response.status_code == 200
    return " ".join(response.context["form"].non_field_errors())


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_normal_form_is_nfkc_and_case_folded():
    assert normalise_email("  Priya.SHAH@Example.com ") == "priya.shah@example.com"
    assert normalise_email("ｐｒｉｙａ@example.com") == "priya@example.com"  # full-width letters
    assert normalise_email("Jose\u0301@example.com") == "jos\u00e9@example.com"  # decomposed é, composed
    assert normalise_email("STRASSE@x.de") == normalise_email("straße@x.de")
    assert normalise_email("prıya@example.com") == "prıya@example.com"  # the dotless ı stays itself


def test_create_user_stores_the_normalised_address(db):
    user = User.objects.create_user(" Ｐｒｉｙａ.Shah@EXAMPLE.com ", "pw", name="Priya")

    assert User.objects.get(pk=user.pk).email == "priya.shah@example.com"


def test_the_django_admin_stores_a_new_users_email_normalised_and_refuses_a_clash(adam, login):
    client = login(adam)
    form = {"email": "Priya.Shah@Example.com", "name": "Priya", "role": "csm", "password": "A-long-pass-42"}

    assert client.post("/admin/accounts/user/add/", form).status_code == 302
    clash = client.post("/admin/accounts/user/add/", {**form, "email": "PRIYA.shah@example.COM", "name": "Other"})

    assert clash.status_code == 200 and "User with this Email already exists." in clash.content.decode()
    assert list(User.objects.filter(name__in=["Priya", "Other"]).values_list("email", flat=True)) == [
        "priya.shah@example.com"
    ]


def test_the_django_admin_normalises_an_edited_email(adam, alice, login):
    client = login(adam)
    form = {"email": "Alice.Archer@Pulse.TEST", "name": alice.name, "role": "csm", "is_active": "on"}

    assert client.post(f"/admin/accounts/user/{alice.pk}/change/", form).status_code == 302

    alice.refresh_from_db()
    assert alice.email == "alice.archer@pulse.test"


def test_the_login_looks_the_user_up_exactly_never_case_insensitively(client, alice, password):
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/login/", {"username": "ALICE@Pulse.test", "password": password})

    assert response.status_code == 302 and logged_in(client)
    user_lookups = [q["sql"] for q in queries.captured_queries if 'FROM "accounts_user"' in q["sql"]]
    assert user_lookups and not any("LIKE" in sql or "UPPER" in sql for sql in user_lookups)


def test_a_dotless_i_spelling_is_another_address_that_never_logs_in(client, password, db):
    UserFactory(email="priya.shah@example.com", name="Priya Shah")
    assert fail(client, "priya.shah@example.com", MAX)[-1] == LOCKED

    spoof = attempt(client, "prıya.shah@example.com", password)

    assert error_of(spoof) == WRONG and not logged_in(client)
    assert fail(client, "prıya.shah@example.com", MAX - 1)[-1] == LOCKED  # its failures count too


def fail(client, email: str, times: int) -> list[str]:
    return [error_of(attempt(client, email, "not the password")) for _ in range(times)]


def test_failures_count_for_the_user_across_a_change_of_address(client, alice, password):
    fail(client, "alice@pulse.test", MAX - 1)
    alice.email = "alice.archer@pulse.test"
    alice.save()

    assert fail(client, "alice.archer@pulse.test", 1) == [LOCKED]  # the user's count, not the new address's
    assert error_of(attempt(client, "alice.archer@pulse.test", password)) == LOCKED
    assert not logged_in(client)


def test_failures_under_any_spelling_of_the_address_count_together(client, alice, password):
    fail(client, "ALICE@pulse.test", 1)
    fail(client, "ａｌｉｃｅ@pulse.test", 1)
    fail(client, " Alice@Pulse.Test", 1)

    assert error_of(attempt(client, "alice@pulse.test", password)) == LOCKED


def test_an_empty_login_form_says_what_is_missing(client, alice):
    for data in ({}, {"username": "", "password": ""}, {"username": "alice@pulse.test"}, {"password": "x"}):
        response = client.post("/login/", data)

        page = response.content.decode()
        assert error_of(response) == EMPTY_LOGIN
        assert EMPTY_LOGIN in page and 'role="alert"' in page


def test_password_reset_finds_the_user_by_the_normalised_address_only(client, alice, mailoutbox):
    client.post("/password-reset/", {"email": "alıce@pulse.test"})  # dotless ı: nobody's address
    assert mailoutbox == []

    client.post("/password-reset/", {"email": " ALICE@Pulse.TEST"})
    assert [message.to for message in mailoutbox] == [["alice@pulse.test"]]


def test_password_reset_links_start_with_site_url_whatever_the_host_header(client, alice, mailoutbox, settings):
    settings.SITE_URL, settings.ALLOWED_HOSTS = "https://pulse.example.com", ["pulse.example.com", "evil.example"]

    response = client.post("/password-reset/", {"email": "alice@pulse.test"}, HTTP_HOST="evil.example")

    assert response.status_code == 302
    [message] = mailoutbox
    [link] = [line for line in message.body.splitlines() if "/password-reset/" in line]
    assert link.startswith("https://pulse.example.com/password-reset/")
    assert "evil.example" not in message.body


# --- the data migration ----------------------------------------------------------------------

migration = importlib.import_module("accounts.migrations.0007_user_email_normalised")


def test_the_migration_normalises_stored_addresses(db):
    user = UserFactory(email="Priya.Shah@Example.COM")
    plain = UserFactory(email="bob@pulse.test")

    migration.normalise_user_emails(apps, None)

    assert User.objects.get(pk=user.pk).email == "priya.shah@example.com"
    assert User.objects.get(pk=plain.pk).email == "bob@pulse.test"


def test_the_migration_refuses_addresses_that_would_become_one(db):
    UserFactory(email="Priya@Example.com")
    UserFactory(email="priya@example.com")

    with pytest.raises(RuntimeError, match="Priya@Example.com, priya@example.com|priya@example.com, Priya@Example"):
        migration.normalise_user_emails(apps, None)

    assert sorted(User.objects.values_list("email", flat=True)) == ["Priya@Example.com", "priya@example.com"]
