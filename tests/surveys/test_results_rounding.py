"""Results rounds every figure by one rule, half away from zero, and shows honest margins.

62.5% is "63%" and 3.25 is "3.3" on the headline, the category table and the chart's data;
under five answers every margin reads "too few answers"; margins carry their units.
"""

import datetime
import re

import pytest
import time_machine
from django.urls import reverse

from surveys.models import Kind
from tests.factories import ResponseFactory
from tests.surveys.test_results_page import chart_data

URL = reverse("surveys:results")
NOW = datetime.datetime(2025, 6, 18, 15, 0, tzinfo=datetime.UTC)  # a Wednesday


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def answer(account, score, kind=Kind.CSAT, days=1):
    return ResponseFactory(account=account, kind=kind, score=score, answered_at=NOW - datetime.timedelta(days=days))


def test_csat_of_62_5_percent_and_mean_3_25_show_63_percent_and_3_3_everywhere(adam, login, alice_account):
    # Five satisfied of eight is 62.5%; the scores sum to 26, a mean of 3.25.
    for score in [4, 4, 4, 4, 4, 2, 2, 2]:
        answer(alice_account, score)
    response = login(adam).get(URL, {"kind": "csat", "group": "account"})
    html = response.text

    assert '<p class="kpi-value">63%</p>' in html  # Python's round() gave 62%
    assert "<strong>3.3</strong>" in html  # and 3.2
    table = re.search(r'<table class="data compact categories">.*?</table>', html, re.S).group(0)
    categories = re.findall(r'<td class="num muted">(\d+%)</td>', table)
    assert categories == ["63%", "0%", "38%"]  # 62.5%, 0%, 37.5%
    distribution = re.search(r"<caption[^>]*>Answers per score</caption>.*?</table>", html, re.S).group(0)
    shares = re.findall(r'<td class="num muted">(\d+%)</td>', distribution)
    assert shares == ["0%", "38%", "0%", "63%", "0%"]  # 3 and 5 of 8: 37.5% and 62.5%, not 38% and 62%
    breakdown = response.context["results"].breakdown[0]
    assert (breakdown.figure.text, breakdown.second.text) == ("63%", "3.3")

    trend = chart_data(response)["trend"]
    shown = [(value, text) for value, text in zip(trend["values"], trend["texts"], strict=True) if value is not None]
    assert shown == [(63, "63%")]


def test_a_ces_mean_of_3_25_is_3_3_in_the_headline_and_chart(adam, login, alice_account):
    for score in [3, 3, 3, 4]:
        answer(alice_account, score, kind=Kind.CES)
    response = login(adam).get(URL, {"kind": "ces"})
    assert '<p class="kpi-value">3.3</p>' in response.text
    assert [value for value in chart_data(response)["trend"]["values"] if value is not None] == [3.3]


def test_an_nps_of_minus_12_5_is_minus_13(adam, login, alice_account):
    for score in [0, 8, 8, 8, 8, 8, 8, 8]:
        answer(alice_account, score, kind=Kind.NPS)
    response = login(adam).get(URL, {"kind": "nps"})
    assert '<p class="kpi-value">-13</p>' in response.text
    assert [value for value in chart_data(response)["trend"]["values"] if value is not None] == [-13]


def test_under_five_answers_every_margin_says_too_few_answers(adam, login, alice_account):
    # The "0 ± 139, n = 2": two answers, a promoter and a detractor.
    answer(alice_account, 10, kind=Kind.NPS)
    answer(alice_account, 0, kind=Kind.NPS)
    response = login(adam).get(URL, {"kind": "nps", "group": "account"})
    html = response.text
    results = response.context["results"]

    assert results.headline.margin_text == "too few answers"
    headline = html.split('id="kpi-headline"')[1].split("</section>")[0]
    assert "too few answers" in headline and "±" not in headline
    assert "too few answers" in html and "139" not in html
    assert {bucket.figure.margin_text for bucket in results.trend if bucket.figure.result.n} == {"too few answers"}
    assert results.breakdown[0].figure.margin_text == "too few answers"
    assert chart_data(response)["trend"]["low"] == [None] * len(results.trend)
    assert "Small sample" in html


def test_margins_carry_units_and_a_mean_margin_has_the_mean_precision(adam, login, alice_account):
    for score in [5, 5, 4, 4, 3, 2, 5, 4, 4, 1]:
        answer(alice_account, score)
    response = login(adam).get(URL, {"kind": "csat"})
    results = response.context["results"]
    assert re.fullmatch(r"± \d+ pts", results.headline.margin_text)
    assert re.fullmatch(r"± \d\.\d", results.second.margin_text)
    # The Wilson interval is asymmetric: the page says where it lies.
    assert re.fullmatch(r"95% interval \d+–\d+%", results.headline.range_text)
    assert f"({results.headline.range_text})" in response.text


def test_five_identical_answers_do_not_claim_certainty(adam, login, alice_account):
    for _ in range(5):
        answer(alice_account, 5)
    results = login(adam).get(URL, {"kind": "csat"}).context["results"]
    assert results.headline.text == "100%"
    assert results.headline.margin_text not in ("± 0 pts", "")
    assert results.second.margin_text != "± 0.0"
