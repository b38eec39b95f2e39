"""Tasks in Chromium: complete one from the account page in place, and see the timeline load as it is reached."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from playbooks.models import Task
from playbooks.services import task_create
from tests.browser.settling import htmx_settled

pytestmark = [pytest.mark.browser, pytest.mark.dates]


def test_complete_a_task_from_the_account_page_without_a_reload(page, log_in, alice, alice_account):
    task = task_create(
        account=alice_account, by=alice, title="Send the QBR deck", due_on=timezone.localdate(), steps=["Draft it"]
    )
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(alice)
    page.goto(f"/accounts/{alice_account.pk}/")
    page.evaluate("window.pulseMarker = 'still here'")  # a reload would wipe it

    section = page.locator("#tasks")
    expect(section).to_contain_text("Send the QBR deck")
    section.get_by_role("button", name=re.compile("Draft it")).click()
    expect(section.get_by_role("button", name=re.compile("Draft it"))).to_have_attribute("aria-pressed", "true")
    htmx_settled(page)

    section.locator("summary", has_text="Complete").click()
    section.get_by_role("button", name="Mark done").click()  # empty: the browser asks for the outcome first
    assert Task.objects.get().status == Task.Status.OPEN
    section.get_by_label("Outcome").fill("Sent; QBR booked for Friday.")
    section.get_by_role("button", name="Mark done").click()

    expect(section).to_contain_text("No open tasks.")
    expect(section.locator(".task-closed")).to_contain_text("Sent; QBR booked for Friday.")
    assert page.evaluate("window.pulseMarker") == "still here"
    task.refresh_from_db()
    assert (task.status, task.outcome, task.steps[0]["done"]) == (
        Task.Status.DONE,
        "Sent; QBR booked for Friday.",
        True,
    )

    timeline = page.locator("#timeline")
    timeline.scroll_into_view_if_needed()
    expect(timeline).to_contain_text("Task done: Send the QBR deck")
    assert errors == []
