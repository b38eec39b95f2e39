"""A contact answers a survey from the email link in a real browser: one click, then a comment."""

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from surveys.models import Invitation, Response
from tests.factories import InvitationFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def invitation(transactional_db):
    cache.clear()  # the live server shares this process's rate-limit cache
    yield InvitationFactory()
    cache.clear()


def test_score_clicked_in_the_email_is_recorded_by_the_page_then_a_comment_is_added(page, invitation):
    page.goto(f"/s/{invitation.token}/?score=9")

    # The script submitted the form at once: the page is the thank-you state, on the bare URL.
    expect(page.locator("h1")).to_have_text("Thank you!")
    expect(page).to_have_url(re.compile(rf"/s/{invitation.token}/$"))
    expect(page.locator(".public-score").first).to_have_text("9")
    assert Response.objects.values_list("score", "comment").get() == (9, "")

    page.get_by_label("What is the main reason for your score?").fill("The onboarding call was great.")
    page.get_by_role("button", name="Send comment").click()

    expect(page.locator("h1")).to_have_text("Thank you for your feedback")
    expect(page.locator(".public-comment")).to_have_text("The onboarding call was great.")
    response = Response.objects.get()
    assert (response.invitation_id, response.score, response.comment) == (
        invitation.pk,
        9,
        "The onboarding call was great.",
    )


def test_without_script_the_clicked_score_waits_for_the_button(browser, live_server, invitation):
    context = browser.new_context(
        java_script_enabled=False, base_url=live_server.url, viewport={"width": 320, "height": 640}
    )
    page = context.new_page()
    try:
        page.goto(f"/s/{invitation.token}/?score=3")
        expect(page.get_by_role("radio", name="3")).to_be_checked()
        assert not Response.objects.exists()

        page.get_by_role("radio", name="7").check()
        page.get_by_role("button", name="Send my answer").click()

        expect(page.locator("h1")).to_have_text("Thank you!")
        assert Response.objects.get().score == 7
    finally:
        context.close()


def test_plain_http_get_of_the_email_link_records_nothing(client, invitation):
    page = client.get(f"/s/{invitation.token}/?score=9")

    assert page.status_code == 200 and "data-autosubmit" in page.content.decode()
    assert not Response.objects.exists()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.SENT
