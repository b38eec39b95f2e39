"""The Content-Security-Policy header: exact on every kind of page, and templates that need nothing more.

The browser tests (tests/browser/test_pages_under_csp.py) prove that the pages work under it.
"""

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import path

from config.security import CONTENT_SECURITY_POLICY
from tests.factories import InvitationFactory

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def boom(request):
    raise RuntimeError("a bug in a view")


# The URLs of the test that needs a view that fails (pytest.mark.urls points here).
urlpatterns = [path("boom/", boom)]


def test_the_policy_allows_only_our_own_files():
    assert CONTENT_SECURITY_POLICY == POLICY


def test_a_signed_in_page_carries_the_policy(alice, alice_account, login):
    response = login(alice).get("/portfolio/")

    assert response.status_code == 200 and alice_account.name in response.text
    assert response["Content-Security-Policy"] == POLICY


def test_the_login_page_carries_the_policy(client, db):
    response = client.get("/login/")

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == POLICY


def test_the_public_survey_page_carries_the_policy(client, db):
    invitation = InvitationFactory()

    response = client.get(f"/s/{invitation.token}/?score=9")

    assert response.status_code == 200 and "data-autosubmit" in response.text
    assert response["Content-Security-Policy"] == POLICY


def test_not_found_and_bad_request_pages_carry_the_policy(client, alice, login):
    not_found = login(alice).get("/no-such-page/")
    bad_host = client.get("/login/", HTTP_HOST="evil.example")

    assert (not_found.status_code, bad_host.status_code) == (404, 400)
    assert "Page not found" in not_found.text and "could not be read" in bad_host.text
    assert not_found["Content-Security-Policy"] == bad_host["Content-Security-Policy"] == POLICY


@pytest.mark.urls(__name__)
def test_the_server_error_page_carries_the_policy_and_needs_no_inline_style(db):
    response = Client(raise_request_exception=False).get("/boom/")

    assert response.status_code == 500
    assert "Something went wrong" in response.text and "<style" not in response.text
    assert response["Content-Security-Policy"] == POLICY


def test_debug_error_pages_go_without_it_but_other_pages_keep_it(client, alice, login, settings):
    # Django's technical 404 and 500 pages (DEBUG only) are inline <style> and <script>.
    settings.DEBUG = True
    client = login(alice)

    assert "Content-Security-Policy" not in client.get("/no-such-page/")
    assert client.get("/portfolio/")["Content-Security-Policy"] == POLICY


def test_a_response_with_its_own_policy_keeps_it(adam, login, settings):
    from django.core.mail import EmailMultiAlternatives

    from accounts.outbox import outbox_entries
    from accounts.outbox_views import FRAME_POLICY

    settings.EMAIL_BACKEND = "accounts.outbox.OutboxBackend"
    message = EmailMultiAlternatives("How are we doing?", "Plain part", to=["c@customer.test"])
    message.attach_alternative('<p style="color: red">HTML part</p>', "text/html")
    message.send()

    response = login(adam).get(f"/outbox/{outbox_entries()[0].name}/html/")

    assert response["Content-Security-Policy"] == FRAME_POLICY


# What the policy refuses, looked for in every page template (emails are not pages: mail clients
# ignore the header, and they need inline style).
INLINE = {
    "a style attribute": re.compile(r"\sstyle\s*="),
    "a <style> block": re.compile(r"<style\b"),
    "an inline event handler": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "a javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
    "an inline <script>": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>"),
}


COMMENT = re.compile(r"{#.*?#}")


def page_templates() -> dict[str, str]:
    """Each page template's text without its {# comments #}, by name."""
    return {
        str(path.relative_to(TEMPLATES)): COMMENT.sub("", path.read_text())
        for path in sorted(TEMPLATES.rglob("*.html"))
        if "email" not in path.relative_to(TEMPLATES).parts
    }


@pytest.mark.parametrize("what", INLINE)
def test_no_page_template_has_what_the_policy_refuses(what):
    templates = page_templates()

    found = [
        f"{name}:{text[: match.start()].count(chr(10)) + 1}"
        for name, text in templates.items()
        for match in INLINE[what].finditer(text)
    ]

    assert len(templates) > 30  # the scan reads the real templates
    assert found == [], f"{what} in {found}"
