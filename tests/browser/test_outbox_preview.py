"""A score clicked in the outbox's preview of a survey email opens the answer page and records the answer."""

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from surveys import services
from surveys.models import Response
from tests.factories import AccountFactory, CampaignFactory, ContactFactory, SurveyFactory

pytestmark = pytest.mark.browser


def test_a_score_clicked_in_the_preview_opens_the_answer_page(
    page, log_in, live_server, settings, transactional_db, adam
):
    cache.clear()  # the live server shares this process's rate-limit cache
    settings.EMAIL_BACKEND = "accounts.outbox.OutboxBackend"
    settings.SITE_URL = live_server.url
    account = AccountFactory(name="Globex")
    ContactFactory(account=account, is_primary=True, name="Dana Scully", email="dana@globex.example")
    services.campaign_send(campaign=CampaignFactory(survey=SurveyFactory(kind="nps")))  # sent in-process at once

    log_in(adam)
    page.goto("/outbox/")
    page.get_by_role("link", name="How likely").first.click()
    score = page.frame_locator("iframe.email-frame").get_by_role("link", name="9", exact=True)
    with page.context.expect_page() as opened:
        score.click()
    answer_page = opened.value

    expect(answer_page.locator("h1")).to_have_text("Thank you!")
    assert Response.objects.values_list("score", "account__name").get() == (9, "Globex")
    expect(page.locator("iframe.email-frame")).to_be_visible()  # the outbox stays where it was
