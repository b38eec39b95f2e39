"""The whole survey loop on real parts: a campaign reaches an SMTP server on loopback, a mail
scanner's GET records nothing, the contact answers in Chromium, and the answer shows up in
the results and the feedback inbox."""

import re

import pytest
from django.core.cache import cache
from django.test import Client
from playwright.sync_api import expect

from surveys import services
from surveys.models import Response
from tests.factories import AccountFactory, CampaignFactory, ContactFactory, SurveyFactory

pytestmark = pytest.mark.browser


def test_campaign_email_to_answer_to_results_and_inbox(page, transactional_db, smtp_server, alice, adam):
    cache.clear()
    account = AccountFactory(owner=alice, name="Globex")
    contact = ContactFactory(account=account, is_primary=True, name="Dana Scully", email="dana@globex.example")
    campaign = CampaignFactory(survey=SurveyFactory(kind="nps"))
    services.campaign_send(campaign=campaign)  # not in a transaction: the task runs in-process at once

    [message] = smtp_server.to(contact.email)
    html = message.get_body(("html",)).get_content()
    link = re.search(r'href="(http://[^"]+/s/[^"/]+/\?score=3)"', html).group(1)
    path = link.split("://", 1)[1].split("/", 1)[1]

    scanner = Client()
    assert scanner.get("/" + path).status_code == 200
    assert not Response.objects.exists()  # a GET never records an answer

    page.goto("/" + path)
    expect(page.locator("h1")).to_have_text("Thank you!")
    page.get_by_label("What is the main reason for your score?").fill("Support never calls back.")
    page.get_by_role("button", name="Send comment").click()
    expect(page.locator("h1")).to_have_text("Thank you for your feedback")

    answer = Response.objects.get()
    assert (answer.score, answer.comment, answer.account, answer.contact) == (
        3,
        "Support never calls back.",
        account,
        contact,
    )

    manager_view = Client()
    manager_view.force_login(adam)
    results = manager_view.get("/results/?kind=nps")
    assert (results.context["results"].headline.text, results.context["results"].n) == ("-100", 1)
    inbox = manager_view.get("/feedback/").content.decode()
    assert "Support never calls back." in inbox and "Globex" in inbox
    alert = [m for m in smtp_server.to(alice.email)]
    assert len(alert) == 1 and "Globex" in alert[0]["Subject"]
