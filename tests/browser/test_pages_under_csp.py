"""The main pages under the Content-Security-Policy (config/security.py), in Chromium.

Chromium reports every refused script, eval or style on the console ("... violates the following
Content Security Policy directive ..."); each test collects those messages and expects none, and
checks that what needs script still works: charts drawn by Chart.js, htmx swaps in place, the
health model preview, the answer page's automatic submit, the Django admin's widgets.
"""

import datetime
import re

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from scoring.models import HealthModel
from scoring.services import backtests_stored_run, model_version_create
from surveys.models import Response
from tests.factories import (
    AccountFactory,
    CheckInFactory,
    HealthSnapshotFactory,
    InvitationFactory,
    MetricDefinitionFactory,
    MetricValueFactory,
    ResponseFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.dates]  # data built relative to today: run on frozen dates too

CSP_MESSAGE = "Content Security Policy"


@pytest.fixture
def violations(page) -> list[str]:
    """The Content-Security-Policy violations Chromium reports on the page's console during the test."""
    found = []
    page.on("console", lambda message: found.append(message.text) if CSP_MESSAGE in message.text else None)
    return found


@pytest.fixture
def health_model(transactional_db):
    """The default model with one component, so the editor's preview has something to score. (The live
    server's tests flush the database, migration data too, so it is made here.)"""
    model, _ = HealthModel.objects.get_or_create(segment="", defaults={"name": "Default health model"})
    component = {"label": "Check-ins", "input": "checkin_sentiment", "reading": "mean", "window_days": 90}
    model_version_create(
        model=model,
        by=None,
        settings_values={"min_coverage": 50, "red_below": 40, "green_from": 70},
        components=[{**component, "poor": 1, "good": 5, "weight": 100}],
    )
    model.refresh_from_db()
    return model


@pytest.fixture
def team_a_data(health_model, alice, bob):
    """Two accounts of Alice's and one of Bob's, each with health history, a metric, a check-in and
    survey answers: every chart has data. Alice's order by health is the reverse of her order by ARR."""
    today = timezone.localdate()
    version = health_model.current_version
    usage = MetricDefinitionFactory(key="active_users", label="Active users", unit="users")
    accounts = []
    for name, owner, arr, scores in (
        ("Acme Alpha", alice, 40_000, (35, 55, 78)),
        ("Apex Analytics", alice, 90_000, (80, 60, 30)),
        ("Bravo Bakery", bob, 60_000, (50, 50, 50)),
    ):
        account = AccountFactory(name=name, owner=owner, arr=arr)
        CheckInFactory(account=account, date=today - datetime.timedelta(days=20), sentiment=4)
        for days, score in zip((120, 30, 0), scores, strict=True):
            HealthSnapshotFactory(
                account=account, date=today - datetime.timedelta(days=days), score=score, version=version
            )
        for days, value in ((40, 50), (10, 65), (1, 70)):
            MetricValueFactory(account=account, metric=usage, date=today - datetime.timedelta(days=days), value=value)
        for days, score in ((60, 9), (40, 10), (20, 6), (5, 8)):
            ResponseFactory(account=account, score=score, answered_at=timezone.now() - datetime.timedelta(days=days))
        accounts.append(account)
    return accounts


def charts(page) -> list[tuple[str, int, int, bool]]:
    """Each chart Chart.js holds: its canvas's data-chart name, width and height in pixels, and whether
    the canvas is still in the page (a chart whose canvas htmx swapped out should have been destroyed)."""
    return page.evaluate(
        """() => Object.values(window.Chart ? window.Chart.instances : {}).map(chart =>
                   [chart.canvas.dataset.chart, chart.canvas.width, chart.canvas.height, chart.canvas.isConnected])"""
    )


def assert_drawn(page, *names: str) -> None:
    """The page shows exactly these charts, each drawn at a real size."""
    for name in names:
        expect(page.locator(f".chart.is-drawn canvas[data-chart={name}]").first).to_be_visible()
    drawn = charts(page)
    assert sorted(name for name, *_ in drawn) == sorted(names)
    assert all(width > 50 and height > 20 and in_page for _, width, height, in_page in drawn), drawn


def test_the_policy_refuses_inline_script_and_style_and_chromium_reports_it(page, log_in, alice, violations):
    log_in(alice)

    with page.expect_console_message(lambda message: CSP_MESSAGE in message.text):
        page.evaluate(
            """() => {
                const script = document.createElement("script");
                script.textContent = "window.inlineScriptRan = true";
                document.body.append(script);
            }"""
        )
    with page.expect_console_message(lambda message: CSP_MESSAGE in message.text):
        page.evaluate(
            """() => document.body.insertAdjacentHTML("beforeend", '<p id="styled" style="color: red">x</p>')"""
        )

    assert page.evaluate("window.inlineScriptRan") is None
    assert page.evaluate("getComputedStyle(document.getElementById('styled')).color") != "rgb(255, 0, 0)"
    assert len(violations) == 2


def test_login_and_sorting_the_portfolio_in_place(page, log_in, alice, team_a_data, violations):
    log_in(alice)
    expect(page).to_have_url(re.compile(r"/portfolio/$"))
    expect(page.locator("#results tbody td.card-title a")).to_have_text(["Apex Analytics", "Acme Alpha"])  # by health
    page.evaluate("window.stayedOnPage = true")

    page.locator("#results thead").get_by_role("link", name="ARR").click()

    expect(page).to_have_url(re.compile(r"/portfolio/\?sort=arr$"))
    expect(page.locator("#results tbody td.card-title a")).to_have_text(["Acme Alpha", "Apex Analytics"])
    assert page.evaluate("window.stayedOnPage") is True  # swapped by htmx, not reloaded
    assert violations == []


def test_account_page_draws_its_charts_and_swaps_the_comparison(page, log_in, alice, team_a_data, violations):
    account = team_a_data[0]
    log_in(alice)
    page.goto(f"/accounts/{account.pk}/")

    assert_drawn(page, "trend", "sparkline")
    page.evaluate("window.stayedOnPage = true")
    page.locator("#since").get_by_role("link", name="30 days").click()

    expect(page.locator("#since h2")).to_have_text("Since 30 days ago")
    assert page.evaluate("window.stayedOnPage") is True
    assert violations == []


def test_team_rollup_draws_its_charts_sized_to_the_team(page, log_in, maria, team_a_data, violations):
    page.context.clear_cookies()  # signed out
    log_in(maria)
    page.goto("/team/")

    assert_drawn(page, "bands", "trend")
    # One bar per CSM: rollup.js sets the box's --bars through the CSSOM, as no style attribute may.
    bars = page.evaluate(
        """() => {
            const canvas = document.querySelector("canvas[data-chart=bands]");
            return [getComputedStyle(canvas.closest(".chart")).getPropertyValue("--bars"),
                    window.Chart.getChart(canvas).data.labels.length];
        }"""
    )
    assert bars == ["2", 2]
    page.select_option("select[name=period]", "365")

    expect(page.locator("#rollup-surveys-title")).to_have_text("Surveys, last 12 months")
    assert_drawn(page, "bands", "trend")
    assert violations == []


def test_results_draw_their_charts_and_redraw_after_a_swap(page, log_in, alice, team_a_data, violations):
    log_in(alice)
    page.goto("/results/")

    assert_drawn(page, "trend", "distribution")
    expect(page.locator("svg.stack-bar rect")).to_have_count(3)
    page.get_by_role("navigation", name="Trend by").get_by_role("link", name="Month").click()

    expect(page).to_have_url(re.compile(r"by=month"))
    expect(page.locator("#trend-title")).to_contain_text("by month")
    assert_drawn(page, "trend", "distribution")
    assert violations == []


def test_health_model_editor_previews_the_draft_with_its_chart(
    page, log_in, adam, health_model, team_a_data, violations
):
    log_in(adam)
    page.goto(f"/health/models/{health_model.pk}/")

    page.locator("input[name$='-weight']").first.fill("40")  # model_edit.js keeps the total up to date
    expect(page.locator("[data-weight-total]")).to_have_text("40")
    page.get_by_role("button", name="Preview", exact=True).last.click()

    expect(page.locator("#preview")).to_contain_text("Nothing is saved.")
    assert_drawn(page, "preview")
    assert violations == []


def test_the_back_test_draws_its_charts_and_a_draft_is_polled_to_its_result(
    page, log_in, adam, maria, health_model, team_a_data, violations
):
    backtests_stored_run()
    log_in(adam)
    page.goto(f"/health/models/{health_model.pk}/")
    assert_drawn(page, "stored-bands", "stored-calibration")

    page.get_by_role("button", name="Back-test this draft").click()  # a task; the section polls until it is done
    expect(page.locator("#backtest-draft")).to_contain_text("The draft against version", timeout=15_000)
    assert_drawn(page, "stored-bands", "stored-calibration", "draft-bands", "draft-calibration")

    page.context.clear_cookies()  # signed out
    log_in(maria)
    page.goto(f"/health/models/{health_model.pk}/backtest/")
    assert_drawn(page, "stored-bands", "stored-calibration")
    assert violations == []


def test_answer_page_submits_the_clicked_score_by_itself(page, transactional_db, violations):
    cache.clear()  # the live server shares this process's rate-limit cache
    invitation = InvitationFactory()

    page.goto(f"/s/{invitation.token}/?score=9")

    expect(page.locator("h1")).to_have_text("Thank you!")
    assert Response.objects.values_list("invitation", "score").get() == (invitation.pk, 9)
    assert violations == []


def test_django_admin_widgets_work(page, log_in, adam, team_a_data, violations):
    log_in(adam)
    page.goto(f"/admin/accounts/account/{team_a_data[0].pk}/change/")

    page.locator(".select2-selection").first.click()  # the owner's autocomplete, fed by the admin's JSON view
    expect(page.locator(".select2-results__option", has_text="Bob Brown")).to_be_visible()
    page.keyboard.press("Escape")
    page.goto(f"/admin/accounts/checkin/{team_a_data[0].checkins.get().pk}/change/")
    before = page.locator("#id_date").input_value()
    page.locator(".datetimeshortcuts a", has_text="Today").first.click()

    # "Today" is the browser's clock (shifted to the server's time zone), not the server's, which a
    # test may have frozen: ask the admin's own script what it means by today.
    today_in_browser = page.evaluate(
        """() => {
            const d = DateTimeShortcuts.now();
            const two = (n) => String(n).padStart(2, "0");
            return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
        }"""
    )
    assert today_in_browser != before  # the check-in is weeks old: the click must change the field
    expect(page.locator("#id_date")).to_have_value(today_in_browser)
    assert violations == []
