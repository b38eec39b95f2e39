"""The portfolio in Chromium: sort and filter in place with the URL following, the back button
restoring the previous table, opening an account, and another team's portfolio staying out of reach."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.settling import htmx_settled
from tests.factories import AccountFactory, HealthSnapshotFactory

pytestmark = [pytest.mark.browser, pytest.mark.dates]  # data built relative to today: run on frozen dates too


def default_model_version():
    """The live server's database is flushed between tests, which removes the default health model
    that a migration creates: make sure it is there for the snapshots."""
    from scoring.models import HealthModel, HealthModelVersion

    model, _ = HealthModel.objects.get_or_create(segment="", defaults={"name": "Default health model"})
    if model.current_version_id is None:
        model.current_version = HealthModelVersion.objects.create(model=model, number=1)
        model.save(update_fields=["current_version"])
    return model.current_version


@pytest.fixture
def alices_portfolio(alice):
    """Six accounts: two red, two yellow, two green; ARR in a different order than health."""
    today = timezone.localdate()
    version = default_model_version()
    specs = [("Acme Alpha", 25, 30_000), ("Birch Bank", 35, 90_000), ("Cedar Cars", 50, 10_000),
             ("Delta Dairy", 60, 70_000), ("Elm Energy", 80, 20_000), ("Fir Foods", 90, 50_000)]  # fmt: skip
    accounts = []
    for name, score, arr in specs:
        account = AccountFactory(name=name, owner=alice, arr=arr, renewal_date=today + datetime.timedelta(days=200))
        HealthSnapshotFactory(account=account, date=today, score=score, version=version)
        accounts.append(account)
    return accounts


def names(page) -> list[str]:
    return page.locator("#results tbody td.card-title a").all_inner_texts()


BY_HEALTH = ["Acme Alpha", "Birch Bank", "Cedar Cars", "Delta Dairy", "Elm Energy", "Fir Foods"]
BY_ARR = ["Cedar Cars", "Elm Energy", "Acme Alpha", "Fir Foods", "Delta Dairy", "Birch Bank"]


def test_sort_and_filter_in_place_and_back_restores(page, log_in, alice, alices_portfolio):
    log_in(alice)
    page.goto("/portfolio/")
    expect(page.locator("h1")).to_have_text("Your portfolio")
    assert names(page) == BY_HEALTH
    # A marker on the document: a full page load would lose it, an in-place swap keeps it.
    page.evaluate("window.stayedOnPage = true")

    page.locator("#results thead").get_by_role("link", name="ARR").click()
    expect(page).to_have_url(re.compile(r"/portfolio/\?sort=arr$"))
    expect(page.locator("#results tbody td.card-title a").first).to_have_text("Cedar Cars")
    assert names(page) == BY_ARR
    htmx_settled(page)

    page.select_option("#id_band", "red")
    expect(page).to_have_url(re.compile(r"[?&]band=red"))
    expect(page).to_have_url(re.compile(r"[?&]sort=arr"))
    expect(page.locator("#results tbody tr")).to_have_count(2)
    assert names(page) == ["Acme Alpha", "Birch Bank"]
    assert page.evaluate("window.stayedOnPage") is True

    page.go_back()
    expect(page).to_have_url(re.compile(r"/portfolio/\?sort=arr$"))
    expect(page.locator("#results tbody tr")).to_have_count(6)
    assert names(page) == BY_ARR
    expect(page.locator("#id_band")).to_have_value("")  # the form shows the restored state too

    page.go_back()
    expect(page).to_have_url(re.compile(r"/portfolio/$"))
    expect(page.locator("#results tbody td.card-title a").first).to_have_text("Acme Alpha")
    assert names(page) == BY_HEALTH


def test_search_filters_as_you_type(page, log_in, alice, alices_portfolio):
    log_in(alice)
    page.goto("/portfolio/")

    page.locator("#portfolio-q").press_sequentially("dairy", delay=30)

    expect(page).to_have_url(re.compile(r"/portfolio/\?q=dairy$"))  # empty fields stay out of the URL
    expect(page.locator("#results tbody tr")).to_have_count(1)
    assert names(page) == ["Delta Dairy"]
    expect(page.locator("#portfolio-q")).to_be_focused()


def test_opening_an_account_from_the_portfolio(page, log_in, alice, alices_portfolio):
    log_in(alice)
    page.goto("/portfolio/")
    delta = alices_portfolio[3]

    with page.expect_navigation():
        page.get_by_role("link", name="Delta Dairy").click()

    expect(page).to_have_url(re.compile(rf"/accounts/{delta.pk}/$"))


def test_a_csm_lands_on_her_portfolio_after_logging_in(page, log_in, alice, alices_portfolio):
    log_in(alice)

    expect(page).to_have_url(re.compile(r"/portfolio/$"))
    expect(page.get_by_role("link", name="Portfolio")).to_have_attribute("aria-current", "page")


def test_a_csm_cannot_open_another_teams_portfolio(page, log_in, alice, carol, carol_account):
    log_in(alice)

    response = page.goto(f"/portfolio/{carol.pk}/")

    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Page not found")
    expect(page.locator("body")).not_to_contain_text("Charlie Chemicals")
    expect(page.locator("body")).not_to_contain_text("Carol Chen")
