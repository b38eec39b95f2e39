"""Logging in by email, password reset through the outbox, and the outbox pages."""

import logging
import re

import pytest

from accounts.outbox import outbox_entries, outbox_get


def test_login_by_email_in_any_case(client, alice, alice_account, password):
    response = client.post("/login/", {"username": "ALICE@pulse.test", "password": password}, follow=True)
    assert response.redirect_chain[-1][0] == "/portfolio/"
    assert alice_account.name in response.content.decode()


def test_wrong_password_shows_error(client, alice):
    response = client.post("/login/", {"username": "alice@pulse.test", "password": "nope"})
    assert "Please enter a correct email and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post(client, alice, login):
    login(alice)
    assert client.post("/logout/").status_code == 302
    assert client.get("/accounts/").status_code == 302


def test_password_reset_mail_lands_in_outbox_and_works(client, alice, settings):
    settings.EMAIL_BACKEND = "accounts.outbox.OutboxBackend"
    settings.SITE_URL = "https://pulse.example.com"
    client.post("/password-reset/", {"email": "alice@pulse.test"})
    [entry] = outbox_entries()
    message = outbox_get(entry.name)
    assert message.to == "alice@pulse.test" and "Reset your password" in message.subject
    link = re.search(r"https://pulse\.example\.com(/password-reset/\S+/)", message.text).group(1)
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "A-much-better-pw-42", "new_password2": "A-much-better-pw-42"},
    )
    alice.refresh_from_db()
    assert alice.check_password("A-much-better-pw-42")


def test_outbox_lists_and_shows_messages_to_admins(adam, login, settings):
    from django.core.mail import EmailMultiAlternatives

    settings.EMAIL_BACKEND = "accounts.outbox.OutboxBackend"
    message = EmailMultiAlternatives("How are we doing?", "Plain part https://x.test/a", to=["c@customer.test"])
    message.attach_alternative("<p>HTML <b>part</b></p>", "text/html")
    message.send()
    client = login(adam)
    listing = client.get("/outbox/").content.decode()
    assert "How are we doing?" in listing and "c@customer.test" in listing
    name = outbox_entries()[0].name
    detail = client.get(f"/outbox/{name}/").content.decode()
    assert "Plain part" in detail and f"/outbox/{name}/html/" in detail
    html = client.get(f"/outbox/{name}/html/")
    assert html.content.strip() == b'<base target="_blank"><p>HTML <b>part</b></p>'
    assert "default-src 'none'" in html["Content-Security-Policy"]


def test_outbox_is_404_when_smtp_is_configured(adam, login, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert login(adam).get("/outbox/").status_code == 404


def test_outbox_rejects_path_tricks(adam, login, settings):
    settings.EMAIL_BACKEND = "accounts.outbox.OutboxBackend"
    assert login(adam).get("/outbox/..%2f..%2fetc%2fpasswd/").status_code == 404


@pytest.fixture
def no_broker(settings):
    """The demo's set-up (tasks in-process), whatever REDIS_URL the suite runs with."""
    settings.REDIS_URL = ""


def test_healthz_reports_database_and_an_in_process_broker(client, db, no_broker):
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok", "broker": "in-process"}


def test_healthz_hides_the_database_error_and_logs_it(client, db, monkeypatch, caplog, no_broker):
    from django.db import OperationalError

    from config import views

    revealing = 'connection to server at "db.internal" (10.0.0.5), port 5432 failed: role "pulse_prod" denied'

    def broken_cursor(*args, **kwargs):
        raise OperationalError(revealing)

    with monkeypatch.context() as patch:
        patch.setattr(views.connection, "cursor", broken_cursor)
        with caplog.at_level(logging.ERROR, logger="config.views"):
            response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable", "broker": "in-process"}
    assert "db.internal" not in response.content.decode() and "pulse_prod" not in response.content.decode()
    assert revealing in caplog.text
