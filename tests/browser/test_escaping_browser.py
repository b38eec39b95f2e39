"""Script payloads in account, contact, comment, metric and CSM names run nowhere in Chromium:
not on the account page, not on the rollup, not in the charts' labels and tooltips."""

import pytest
from playwright.sync_api import expect

from tests.security.payloads import TEXT, payload_world

pytestmark = pytest.mark.browser

# A chart's labels and the tooltip it shows for its first point, as Chart.js holds them (canvas text).
CHART_TEXT = """selector => {
  const chart = window.Chart.getChart(document.querySelector(selector));
  chart.tooltip.setActiveElements([{datasetIndex: 0, index: 0}], {x: 0, y: 0});
  chart.update();
  return {
    labels: chart.data.labels,
    datasets: chart.data.datasets.map(dataset => dataset.label),
    tooltip: chart.tooltip.title.concat(chart.tooltip.body.flatMap(part => part.lines)),
  };
}"""


@pytest.fixture
def world(transactional_db):
    return payload_world()


def watch(page) -> list[str]:
    """Every alert() a payload would raise, and every script error."""
    events = []
    page.on("dialog", lambda dialog: (events.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.on("pageerror", lambda error: events.append(f"error: {error}"))
    return events


def test_payloads_are_shown_as_text_and_never_run(page, log_in, world):
    events = watch(page)
    log_in(world.cast["alice"])
    page.goto(f"/accounts/{world.account.pk}/")
    expect(page.locator("h1")).to_contain_text(TEXT["account"])
    expect(page.locator("#main")).to_contain_text(TEXT["comment"])
    expect(page.locator("#main")).to_contain_text(TEXT["contact"])
    sparkline = ".chart.is-drawn canvas[data-chart=sparkline]"
    expect(page.locator(sparkline)).to_have_count(1)
    expect(page.locator(".chart.is-drawn canvas[data-chart=trend]")).to_have_count(1)
    drawn = page.evaluate(CHART_TEXT, sparkline)
    assert drawn["datasets"] == [f"{TEXT['metric_label']}: 7-day mean", f"{TEXT['metric_label']}: daily"]
    assert drawn["tooltip"][-1].endswith(f" {TEXT['metric_unit']}")

    page.context.clear_cookies()  # signed out
    log_in(world.cast["maria"])
    page.goto("/team/")
    expect(page.locator("#rollup")).to_contain_text(TEXT["csm"])
    bars = ".chart.is-drawn canvas[data-chart=bands]"
    expect(page.locator(bars)).to_have_count(1)
    drawn = page.evaluate(CHART_TEXT, bars)
    assert drawn["labels"] == [TEXT["csm"]]
    assert drawn["tooltip"][0] == TEXT["csm"]

    assert page.locator("img[src=x]").count() == 0
    assert events == []
