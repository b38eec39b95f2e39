"""An admin invites someone in the app; the invitee opens the emailed link, chooses a password and logs in."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import AuditEntry, User
from accounts.outbox import outbox_entries, outbox_get

pytestmark = pytest.mark.browser


def test_an_invited_person_sets_a_password_and_logs_in(page, browser, live_server, log_in, adam, team_a, settings):
    settings.EMAIL_BACKEND = "accounts.outbox.OutboxBackend"
    log_in(adam)
    page.goto("/people/")
    page.get_by_role("link", name="Invite someone").click()
    page.get_by_label("Email").fill("nia.new@pulse.test")
    page.get_by_label("Name").fill("Nia New")
    page.get_by_label("Role").select_option("csm")
    page.get_by_label("Team", exact=True).select_option(label="Team A")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_contain_text("Invitation sent to nia.new@pulse.test")
    expect(page.locator("main")).to_contain_text("Invited")

    [entry] = outbox_entries()
    message = outbox_get(entry.name)
    assert message.to == "nia.new@pulse.test"
    path = re.search(r"https?://[^/\s]+(/invitation/\S+/)", message.text).group(1)

    invitee = browser.new_context(base_url=live_server.url).new_page()
    invitee.goto(path)
    expect(invitee.locator("h1")).to_have_text("Welcome to Pulse")
    invitee.get_by_label("New password", exact=True).fill("a long new password 42")
    invitee.get_by_label("New password confirmation").fill("a long new password 42")
    invitee.get_by_role("button", name="Set password").click()
    expect(invitee).to_have_url(re.compile(r"/login/$"))
    expect(invitee.get_by_role("status")).to_contain_text("Your password is set")

    invitee.fill("input[name=username]", "nia.new@pulse.test")
    invitee.fill("input[name=password]", "a long new password 42")
    invitee.click("button[type=submit]")
    expect(invitee).to_have_url(re.compile(r"/portfolio/$"))
    expect(invitee.locator(".whoami")).to_contain_text("Nia New · CSM")

    invitee.goto(path)
    expect(invitee.locator("h1")).to_have_text("This invitation no longer works")
    person = User.objects.get(email="nia.new@pulse.test")
    assert person.team == team_a and person.has_usable_password()
    assert AuditEntry.objects.get(user=person).actor == adam
    invitee.context.close()
