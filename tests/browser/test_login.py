"""Logging in through the real login page and seeing only your part of the portfolio."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture
def portfolio(alice_account, bob_account, carol_account):
    return {"alice": alice_account, "bob": bob_account, "carol": carol_account}


def test_csm_sees_her_team_accounts_but_not_another_teams(page, log_in, alice, portfolio):
    log_in(alice)
    page.goto("/accounts/")

    results = page.locator("#results")
    expect(page).to_have_url(re.compile(r"/accounts/$"))
    expect(results).to_contain_text("Acme Alpha")
    expect(results).to_contain_text("Bravo Bakery")  # bob's: CSMs read their team's accounts
    expect(results).not_to_contain_text("Charlie Chemicals")
    expect(results.locator("tbody tr")).to_have_count(2)


def test_a_csm_lands_on_her_portfolio(page, log_in, alice, portfolio):
    log_in(alice)

    expect(page).to_have_url(re.compile(r"/portfolio/$"))
    expect(page.locator("body")).to_contain_text(portfolio["alice"].name)


def test_csm_opening_another_teams_account_gets_not_found(page, log_in, alice, portfolio):
    log_in(alice)

    response = page.goto(f"/accounts/{portfolio['carol'].pk}/")

    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Page not found")
    expect(page.locator("body")).not_to_contain_text("Charlie Chemicals")


def test_wrong_password_stays_on_the_login_page_with_an_error(page, log_in, alice):
    log_in(alice, password="not the password")

    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("alert")).to_contain_text("correct email and password")


def test_pages_load_every_file_they_ask_for_the_icon_too(page, log_in, alice, portfolio):
    failed = []
    page.on(
        "response", lambda response: failed.append((response.status, response.url)) if response.status >= 400 else None
    )
    log_in(alice)
    page.goto("/accounts/")
    page.wait_for_load_state("networkidle")
    assert page.locator("link[rel=icon]").count() == 1
    assert failed == []
