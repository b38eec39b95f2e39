"""Chromium: a CSM replies to a detractor from the feedback inbox, in place, and the email reaches a
real SMTP server from the product's sender with Reply-To the CSM."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from surveys.models import FeedbackReply, ReplyTemplate
from tests.browser.settling import htmx_settled
from tests.factories import AccountFactory, CommentFactory, ContactFactory

pytestmark = pytest.mark.browser


def test_reply_to_a_detractor_from_the_inbox(page, log_in, transactional_db, smtp_server, alice):
    # A live-server test flushes the migrations' rows: the template this reply starts from is made here.
    ReplyTemplate.objects.update_or_create(
        kind="nps", tone="low", defaults={"subject": "About your {score}", "body": "Hi {contact_name},\n\n{csm_name}"}
    )
    account = AccountFactory(owner=alice, name="Globex")
    dana = ContactFactory(account=account, name="Dana Scully", email="dana@globex.example")
    detractor = CommentFactory(account=account, contact=dana, kind="nps", score=2, comment="Support never calls back.")

    log_in(alice)
    page.goto("/feedback/")
    item = page.locator(f"#feedback-{detractor.pk}")
    item.get_by_role("link", name="Reply by email").click()
    subject = item.get_by_label("Subject")
    expect(subject).to_have_value("About your 2")
    expect(item.get_by_label("Reply")).to_have_value("Hi Dana Scully,\n\nAlice Archer")
    assert page.url.endswith("/feedback/")  # opened in place
    htmx_settled(page)

    item.get_by_label("Reply").fill("Hi Dana,\n\nI am sorry. Can I call you tomorrow?\n\nAlice")
    item.get_by_role("button", name="Send reply").click()
    expect(item.get_by_text("Alice Archer replied to dana@globex.example")).to_be_visible()
    expect(item.locator(".pill-feedback-new, .pill-feedback-replied").first).to_have_text("Replied")
    expect(item.get_by_text("Sent", exact=True)).to_be_visible()
    assert page.url.endswith("/feedback/")

    [message] = smtp_server.to("dana@globex.example")
    assert message["From"] == settings.DEFAULT_FROM_EMAIL
    assert message["Reply-To"] == "Alice Archer <alice@pulse.test>"
    assert message["Subject"] == "About your 2"
    assert "Can I call you tomorrow?" in message.get_body(("plain",)).get_content()
    reply = FeedbackReply.objects.get()
    assert reply.sent_at is not None and reply.response.feedback_status == "replied"
