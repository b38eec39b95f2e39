"""Opting out at /s/<token>/opt-out/: from the page, and by a mail client's one-click (RFC 8058)."""

import datetime

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client

from surveys.models import Response
from tests.factories import InvitationFactory

pytestmark = pytest.mark.django_db

SENT = datetime.datetime(2025, 3, 3, 9, 0, tzinfo=datetime.UTC)
NOW = SENT + datetime.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _an_hour_after_sending():
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        yield
    cache.clear()


@pytest.fixture
def invitation():
    return InvitationFactory(sent_at=SENT, contact__email="nina@customer.test")


def opt_out_url(invitation):
    return f"/s/{invitation.token}/opt-out/"


def opted_out_at(invitation):
    invitation.contact.refresh_from_db()
    return invitation.contact.opted_out_at


def test_get_shows_a_confirm_button_and_changes_nothing(client, invitation):
    page = client.get(opt_out_url(invitation))

    html = page.content.decode()
    assert page.status_code == 200
    assert "Stop survey emails?" in html
    assert "nina@customer.test will no longer receive survey emails from our company" in html
    assert f'<form method="post" action="{opt_out_url(invitation)}">' in html
    assert "Yes, stop survey emails</button>" in html
    assert opted_out_at(invitation) is None


def test_confirming_opts_the_contact_out_and_says_so(client, invitation):
    posted = client.post(opt_out_url(invitation), {"confirm": "1"})

    assert posted.status_code == 302 and posted["Location"] == opt_out_url(invitation)
    assert opted_out_at(invitation) == NOW
    html = client.get(posted["Location"]).content.decode()
    assert "You have opted out" in html
    assert "We will not send survey emails to nina@customer.test any more." in html
    assert "<form" not in html


def test_one_click_unsubscribe_from_a_mail_client(invitation):
    mail_client = Client(enforce_csrf_checks=True)  # no cookie, no CSRF token: RFC 8058

    page = mail_client.post(
        opt_out_url(invitation), "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )

    assert page.status_code == 200
    assert page["Content-Type"] == "text/plain; charset=utf-8"
    assert page.content == b"You are unsubscribed from these surveys.\n"
    assert opted_out_at(invitation) == NOW


def test_opting_out_again_keeps_the_first_time(client, invitation):
    client.post(opt_out_url(invitation))

    with time_machine.travel(NOW + datetime.timedelta(days=2), tick=False):
        again = client.post(
            opt_out_url(invitation), "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        )

    assert again.status_code == 200
    assert opted_out_at(invitation) == NOW


def test_after_opting_out_the_answer_page_says_so_and_stores_nothing(client, invitation):
    client.post(opt_out_url(invitation))

    get = client.get(f"/s/{invitation.token}/?score=9")
    post = client.post(f"/s/{invitation.token}/", {"score": "9"})

    assert (get.status_code, post.status_code) == (410, 410)
    assert "You have opted out of these surveys" in get.content.decode()
    assert "You have opted out of these surveys" in post.content.decode()
    assert not Response.objects.exists()


def test_opt_out_covers_the_contact_in_every_campaign(client, invitation):
    other = InvitationFactory(contact=invitation.contact, sent_at=SENT)

    client.post(opt_out_url(invitation))

    assert client.get(f"/s/{other.token}/?score=9").status_code == 410


def test_a_closed_survey_link_can_still_opt_out(client, invitation):
    with time_machine.travel(SENT + datetime.timedelta(days=200), tick=False):
        assert client.post(opt_out_url(invitation)).status_code == 302

    assert opted_out_at(invitation) is not None


@pytest.mark.parametrize(
    "path", ["/s/" + "A" * 32 + "/opt-out/", "/s/bad$token/opt-out/", "/s/" + "a" * 65 + "/opt-out/"]
)
def test_unknown_or_malformed_link_is_a_friendly_404(client, invitation, path):
    get = client.get(path)
    post = client.post(path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")

    assert (get.status_code, post.status_code) == (404, 404)
    assert "This survey link is not valid" in get.content.decode()
    assert opted_out_at(invitation) is None


@pytest.mark.parametrize("status", ["pending", "sending", "failed", "skipped"])
def test_link_of_an_invitation_never_sent_is_404(client, status):
    invitation = InvitationFactory(status=status, sent_at=None)

    assert client.post(opt_out_url(invitation)).status_code == 404
    assert opted_out_at(invitation) is None


def test_opt_out_is_rate_limited(client, invitation, settings):
    settings.SURVEY_RATE_LIMIT_PER_MINUTE = 2
    client.get(opt_out_url(invitation))
    client.get(opt_out_url(invitation))

    refused = client.post(opt_out_url(invitation))

    assert refused.status_code == 429
    assert "Too many requests" in refused.content.decode()
    assert opted_out_at(invitation) is None
