"""The results page (/results/) and its CSV export: scope, filters, figures, charts, HTMX."""

import csv
import datetime
import io
import json
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from surveys.models import Invitation, Kind, Response
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    ContactFactory,
    InvitationFactory,
    ResponseFactory,
    SurveyFactory,
    UserFactory,
    answered_invitation,
)
from tests.helpers import HTMX

URL = reverse("surveys:results")
EXPORT_URL = reverse("surveys:results_export")
NOW = datetime.datetime(2025, 6, 18, 15, 0, tzinfo=datetime.UTC)  # a Wednesday


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def days_ago(days: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


@pytest.fixture
def answers(alice_account, bob_account, carol_account):
    """One commented answer per account: alice's and bob's (team A), carol's (team B)."""
    return {
        "alice": ResponseFactory(account=alice_account, score=10, comment="Alice's customer loves it"),
        "bob": ResponseFactory(account=bob_account, score=8, comment="Bob's customer is fine"),
        "carol": ResponseFactory(account=carol_account, score=2, comment="Carol's customer is unhappy"),
    }


def chart_data(response) -> dict:
    match = re.search(r'<script id="results-chart-data" type="application/json">(.*?)</script>', response.text, re.S)
    assert match, "the chart data is rendered with json_script"
    return json.loads(match.group(1))


# --- who sees what -------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith("/login/")


@pytest.mark.parametrize("who", ["alice", "maria"])
def test_team_a_sees_team_a_answers_only(cast, login, answers, who):
    response = login(cast[who]).get(URL)
    assert response.status_code == 200
    assert response.context["results"].n == 2
    assert "Alice&#x27;s customer loves it" in response.text
    assert "Bob&#x27;s customer is fine" in response.text
    assert "Carol" not in response.text


def test_admin_sees_every_answer(adam, login, answers):
    response = login(adam).get(URL)
    assert response.context["results"].n == 3
    assert "Carol&#x27;s customer is unhappy" in response.text


def test_carol_sees_only_team_b(carol, login, answers):
    response = login(carol).get(URL)
    assert response.context["results"].n == 1
    assert "Alice" not in response.text


def test_another_teams_account_id_filters_nothing_in(alice, carol_account, login, answers):
    response = login(alice).get(URL, {"account": carol_account.pk})
    assert response.status_code == 200
    assert response.context["results"].n == 2  # the bad filter is dropped, scope still applies
    assert "Carol" not in response.text
    assert "Account: that account is not one you can see; showing all accounts." in response.text


# --- the figures ---------------------------------------------------------------------------


def test_nps_headline_with_counts_margin_and_small_sample(adam, login, alice_account):
    for score in [10, 10, 9, 9, 9, 8, 7, 7, 6, 0]:
        ResponseFactory(account=alice_account, score=score)
    response = login(adam).get(URL, {"kind": "nps"})
    results = response.context["results"]
    assert results.headline.text == "+30"
    assert results.n == 10
    assert [(c.label, c.count) for c in results.categories] == [("Promoters", 5), ("Passives", 3), ("Detractors", 2)]
    html = response.text
    assert '<p class="kpi-value">+30</p>' in html
    assert "n = 10" in html
    assert "Small sample" in html
    assert f"± {results.headline.result.margin:.0f}" in html


def test_the_category_bar_is_drawn_as_svg_parts_side_by_side(adam, login, alice_account):
    for score in [10, 10, 9, 9, 9, 8, 7, 7, 6, 0]:
        ResponseFactory(account=alice_account, score=score)

    html = login(adam).get(URL, {"kind": "nps"}).text

    bar = re.search(r'<svg class="stack-bar".*?</svg>', html, re.S).group(0)
    parts = re.findall(r'<rect class="cat-(\w+)" x="([\d.]+)" width="([\d.]+)"', bar)
    assert parts == [("promoter", "0", "50"), ("passive", "50", "30"), ("detractor", "80", "20")]


def test_thirty_answers_are_not_a_small_sample(adam, login, alice_account):
    for _ in range(30):
        ResponseFactory(account=alice_account, score=9)
    response = login(adam).get(URL)
    assert response.context["results"].n == 30
    assert "Small sample" not in response.text


def test_csat_percent_with_mean_beside_it(adam, login, alice_account):
    for score in [5, 5, 4, 3, 1]:
        ResponseFactory(account=alice_account, kind=Kind.CSAT, score=score)
    response = login(adam).get(URL, {"kind": "csat"})
    results = response.context["results"]
    assert results.headline.text == "60%"
    assert results.second.text == "3.6"
    assert [(c.label, c.count) for c in results.categories] == [("Satisfied", 3), ("Neutral", 1), ("Unsatisfied", 1)]
    assert "<strong>3.6</strong>" in response.text


def test_ces_mean_with_percent_agree(adam, login, alice_account):
    for score in [7, 6, 5, 4, 2]:
        ResponseFactory(account=alice_account, kind=Kind.CES, score=score)
    response = login(adam).get(URL, {"kind": "ces"})
    results = response.context["results"]
    assert results.headline.text == "4.8"
    assert results.second.text == "60%"
    assert [(c.label, c.count) for c in results.categories] == [("Agree", 3), ("Neutral", 1), ("Disagree", 1)]


def test_each_tab_counts_only_its_kind(adam, login, alice_account):
    ResponseFactory(account=alice_account, kind=Kind.NPS, score=9)
    ResponseFactory(account=alice_account, kind=Kind.CSAT, score=2)
    client = login(adam)
    assert client.get(URL).context["results"].n == 1
    assert client.get(URL, {"kind": "csat"}).context["results"].headline.text == "0%"


def test_response_rate_counts_sent_and_answered_invitations(adam, login, alice_account):
    survey = SurveyFactory(kind=Kind.NPS)
    campaign = CampaignFactory(survey=survey)
    for score in (9, 10, 3):
        answered_invitation(account=alice_account, score=score, survey=survey)
    InvitationFactory(campaign=campaign, contact=ContactFactory(account=alice_account))  # sent, not answered
    # Neither waiting nor failed invitations count as sent.
    InvitationFactory(campaign=campaign, contact=ContactFactory(account=alice_account), status="pending", sent_at=None)
    InvitationFactory(campaign=campaign, contact=ContactFactory(account=alice_account), status="failed", sent_at=None)
    # Another kind's invitations are not in the NPS rate.
    InvitationFactory(campaign=CampaignFactory(survey=SurveyFactory(kind=Kind.CSAT)))
    response = login(adam).get(URL)
    results = response.context["results"]
    assert (results.answered, results.sent) == (3, 4)
    assert results.rate.value == pytest.approx(75.0)
    assert "3 answered of 4 sent" in response.text
    assert '<p class="kpi-value">75%</p>' in response.text


def test_distribution_counts_every_score_point(adam, login, alice_account):
    for score in [10, 10, 9, 0]:
        ResponseFactory(account=alice_account, score=score)
    response = login(adam).get(URL)
    data = chart_data(response)
    assert data["distribution"]["labels"] == [str(s) for s in range(11)]
    assert data["distribution"]["counts"] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2]
    assert data["distribution"]["categories"][0] == "detractor"
    assert data["distribution"]["categories"][10] == "promoter"


def test_trend_by_week_and_by_month(adam, login, alice_account):
    ResponseFactory(account=alice_account, score=10, answered_at=days_ago(0))  # week of Mon Jun 16
    ResponseFactory(account=alice_account, score=0, answered_at=days_ago(0))
    ResponseFactory(account=alice_account, score=9, answered_at=days_ago(14))  # week of Mon Jun 2
    client = login(adam)

    weekly = chart_data(client.get(URL, {"period": "30", "by": "week"}))["trend"]
    assert weekly["labels"][-3:] == ["Jun 2", "Jun 9", "Jun 16"]
    assert weekly["values"][-3:] == [100, None, 0]  # the empty week is a gap, not a zero
    assert weekly["n"][-3:] == [1, 0, 2]

    monthly = client.get(URL, {"period": "90", "by": "month"})
    trend = chart_data(monthly)["trend"]
    assert trend["labels"] == ["Mar 2025", "Apr 2025", "May 2025", "Jun 2025"]
    assert trend["n"] == [0, 0, 0, 3]
    assert trend["values"][-1] == 33
    assert '<th scope="row">Jun 2025</th><td class="num">+33</td>' in monthly.text


def test_long_periods_trend_by_month_unless_asked(adam, login, alice_account):
    ResponseFactory(account=alice_account)
    client = login(adam)
    assert client.get(URL, {"period": "365"}).context["filters"].by == "month"
    assert client.get(URL, {"period": "90"}).context["filters"].by == "week"
    assert client.get(URL, {"period": "365", "by": "week"}).context["filters"].by == "week"


def test_latest_twenty_comments_newest_first(adam, login, alice_account):
    for day in range(25):
        ResponseFactory(account=alice_account, comment=f"comment from {day} days ago", answered_at=days_ago(day))
    ResponseFactory(account=alice_account, comment="")
    response = login(adam).get(URL)
    latest = response.context["results"].latest
    assert [r.comment for r in latest] == [f"comment from {day} days ago" for day in range(20)]
    assert "comment from 20 days ago" not in response.text


def test_breakdown_per_csm_drills_down(adam, alice, bob, login, alice_account, bob_account):
    ResponseFactory(account=alice_account, score=10)
    ResponseFactory(account=bob_account, score=0)
    response = login(adam).get(URL, {"group": "owner"})
    rows = {row.name: row.figure.text for row in response.context["results"].breakdown}
    assert rows == {"Alice Archer": "+100", "Bob Brown": "-100"}
    assert f"owner={alice.pk}" in response.text
    assert login(adam).get(URL, {"owner": alice.pk}).context["results"].n == 1


# --- filters -------------------------------------------------------------------------------


@pytest.fixture
def spread(alice, bob, carol, alice_account, bob_account, carol_account):
    """Answers over time, owners, teams and segments, for the filters."""
    Account.objects.filter(pk=bob_account.pk).update(segment=Account.Segment.ENTERPRISE)
    ResponseFactory(account=alice_account, score=10, answered_at=days_ago(5))
    ResponseFactory(account=bob_account, score=9, answered_at=days_ago(40))
    ResponseFactory(account=carol_account, score=1, answered_at=days_ago(200))
    ResponseFactory(account=alice_account, score=3, answered_at=days_ago(400))


@pytest.mark.parametrize(
    ("params", "expected_n"),
    [
        ({}, 2),  # the last 90 days
        ({"period": "30"}, 1),
        ({"period": "365"}, 3),
        ({"from": "2025-05-01", "to": "2025-05-31"}, 1),
        ({"period": "custom", "from": "2024-01-01", "to": "2025-06-18"}, 4),
        ({"period": "custom", "from": "2024-05-14", "to": "2024-05-14"}, 1),  # one day, both ends included
        ({"period": "365", "segment": "enterprise"}, 1),
    ],
)
def test_period_and_segment_filters(adam, login, spread, params, expected_n):
    assert login(adam).get(URL, params).context["results"].n == expected_n


def test_team_owner_and_account_filters(adam, alice, team_b, login, spread, carol_account):
    client = login(adam)
    assert client.get(URL, {"period": "365", "team": team_b.pk}).context["results"].n == 1
    assert client.get(URL, {"period": "365", "owner": alice.pk}).context["results"].n == 1
    response = client.get(URL, {"period": "365", "account": carol_account.pk})
    assert response.context["results"].n == 1
    assert "Charlie Chemicals" in response.text


def test_survey_filter(adam, login, alice_account):
    quarterly, onboarding = SurveyFactory(name="Quarterly NPS"), SurveyFactory(name="Onboarding NPS")
    answered_invitation(account=alice_account, score=10, survey=quarterly)
    answered_invitation(account=alice_account, score=0, survey=onboarding)
    ResponseFactory(account=alice_account, score=5)  # imported: no survey
    client = login(adam)
    assert client.get(URL).context["results"].n == 3
    results = client.get(URL, {"survey": quarterly.pk}).context["results"]
    assert (results.n, results.headline.text, results.sent) == (1, "+100", 1)


def test_end_before_start_is_explained(adam, login, spread):
    response = login(adam).get(URL, {"period": "custom", "from": "2025-06-01", "to": "2025-05-01"})
    assert response.status_code == 200
    assert "To: The end date is before the start date." in response.text


def test_a_bad_filter_value_is_ignored_with_a_note(alice, carol, login, answers):
    response = login(alice).get(URL, {"owner": carol.pk, "segment": "galactic", "period": "7"})
    assert response.status_code == 200
    assert response.context["results"].n == 2  # team A's answers, over the default period
    assert "CSM: that choice is not available to you; this filter is ignored." in response.text
    assert "Segment: galactic is not a choice here; this filter is ignored." in response.text
    assert "Period: 7 is not a choice here" in response.text


@pytest.mark.parametrize(
    "dates", [{"to": "9999-12-31"}, {"from": "0001-01-01"}, {"from": "9999-12-30", "to": "9999-12-31"}]
)
def test_a_date_at_the_calendars_end_is_ignored_with_a_note(alice, login, answers, dates):
    """`to=9999-12-31` answered 500: the day after it is past the calendar's end."""
    response = login(alice).get(URL, dates)
    assert response.status_code == 200
    assert response.context["results"].n == 2  # team A's answers, over the default period
    assert "Enter a date between 2000-01-01 and " in response.text
    export = login(alice).get(reverse("surveys:results_export"), dates)
    assert export.status_code == 200 and export["Content-Type"] == "text/csv; charset=utf-8"


# --- the page's shape: empty state, HTMX, scripts, query count ---------------------------


def test_empty_state_links_admins_to_campaigns_and_the_import(alice, adam, login):
    campaigns, importing = reverse("surveys:campaign_list"), reverse("surveys:answers_import")
    for_alice = login(alice).get(URL).text
    assert "No answers yet for these filters" in for_alice
    assert "when your admin sends a survey campaign or imports past answers" in for_alice
    assert f'href="{campaigns}"' not in for_alice  # admin pages: a CSM would get a 404
    assert f'href="{importing}"' not in for_alice
    for_adam = login(adam).get(URL).text
    assert "No answers yet for these filters" in for_adam
    assert f'href="{campaigns}"' in for_adam
    assert f'href="{importing}"' in for_adam
    assert 'data-chart="trend"' not in for_adam


def test_htmx_request_gets_the_results_partial(adam, login, answers):
    response = login(adam).get(URL, {"kind": "nps", "segment": "mid_market"}, headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.lstrip().startswith('<div id="results"')
    assert 'id="result-filters"' in response.text
    assert chart_data(response)["kind"] == "nps"


def test_full_page_has_filters_form_for_htmx_and_plain_get(adam, login, answers):
    html = login(adam).get(URL).text
    assert re.search(r'<form id="result-filters"[^>]*method="get"', html)
    assert 'hx-get="/results/"' in html
    assert 'hx-push-url="true"' in html
    assert 'hx-target="#results"' in html


def test_no_inline_script_only_json_and_deferred_files(adam, login, answers):
    html = login(adam).get(URL).text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    for attributes, body in scripts:
        if 'type="application/json"' in attributes:
            continue
        assert "src=" in attributes and "defer" in attributes and not body.strip()
    sources = [re.search(r'src="([^"]+)"', a).group(1) for a, _ in scripts if "src=" in a]
    assert "/static/vendor/chartjs/chart.umd.min.js" in sources
    assert "/static/js/results.js" in sources


def test_comment_html_is_escaped(adam, login, alice_account):
    ResponseFactory(account=alice_account, comment="<img src=x onerror=alert(1)>")
    html = login(adam).get(URL).text
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def _answers_for(accounts, count):
    for i in range(count):
        account = accounts[i % len(accounts)]
        answered_invitation(account=account, score=i % 11, comment=f"comment {i}")


@pytest.mark.parametrize("group", ["owner", "team", "segment", "account"])
def test_query_count_does_not_grow_with_answers(maria, login, team_a, django_assert_max_num_queries, group):
    owners = [UserFactory(team=team_a) for _ in range(3)]
    accounts = [AccountFactory(owner=owners[i % 3]) for i in range(6)]
    client = login(maria)
    _answers_for(accounts, 4)
    with django_assert_max_num_queries(13):
        small = client.get(URL, {"group": group})
    _answers_for(accounts, 60)
    with django_assert_max_num_queries(13):
        large = client.get(URL, {"group": group})
    assert (small.context["results"].n, large.context["results"].n) == (4, 64)


# --- CSV export ----------------------------------------------------------------------------


def read_export(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_export_has_one_row_per_answer_with_its_context(adam, login, alice_account):
    contact = ContactFactory(account=alice_account, email="jane@acme.test")
    ResponseFactory(account=alice_account, contact=contact, score=6, comment="Too slow", answered_at=days_ago(1))
    rows = read_export(login(adam).get(EXPORT_URL))
    assert rows == [
        {
            "date": "2025-06-17",
            "kind": "NPS",
            "score": "6",
            "category": "detractor",
            "comment": "Too slow",
            "account": "Acme Alpha",
            "account_external_id": alice_account.external_id,
            "contact_email": "jane@acme.test",
            "csm": "Alice Archer",
            "segment": "Mid-market",
        }
    ]


def test_export_neutralises_formula_injection(adam, login, alice_account):
    dangerous = ['=HYPERLINK("http://evil")', "+1+2", "-3", "@SUM(A1)", "\tTabbed", "\rReturned", "fine = ok"]
    for index, comment in enumerate(dangerous):
        ResponseFactory(account=alice_account, comment=comment, answered_at=days_ago(index))
    Account.objects.filter(pk=alice_account.pk).update(name="=cmd|' /C calc'!A0")
    rows = read_export(login(adam).get(EXPORT_URL))
    assert [row["comment"] for row in rows] == [
        '\'=HYPERLINK("http://evil")',
        "'+1+2",
        "'-3",
        "'@SUM(A1)",
        "'\tTabbed",
        "'\rReturned",
        "fine = ok",
    ]
    assert {row["account"] for row in rows} == {"'=cmd|' /C calc'!A0"}


def test_export_quotes_every_cell_and_defuses_formulas_after_a_separator(adam, login, alice_account):
    # Excel with a ";" list separator (German, French, Dutch) splits "ok;=1+1" and runs the second half.
    ResponseFactory(account=alice_account, comment="ok;=1+1", score=9, answered_at=days_ago(1))
    ResponseFactory(account=alice_account, comment="a,@SUM(1)", score=3, answered_at=days_ago(2))
    Account.objects.filter(pk=alice_account.pk).update(name="=1+1")
    response = login(adam).get(EXPORT_URL)
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert (
        lines[0]
        == '"date","kind","score","category","comment","account","account_external_id","contact_email","csm","segment"'
    )
    assert [line.split('","')[2:6] for line in lines[1:]] == [
        ["9", "promoter", "'ok;=1+1", "'=1+1"],
        ["3", "detractor", "'a,@SUM(1)", "'=1+1"],
    ]


def test_export_is_scoped_to_the_user(alice, login, answers):
    rows = read_export(login(alice).get(EXPORT_URL))
    assert sorted(row["comment"] for row in rows) == ["Alice's customer loves it", "Bob's customer is fine"]


def test_export_uses_the_page_filters(adam, alice, login, spread):
    client = login(adam)
    assert len(read_export(client.get(EXPORT_URL, {"period": "365"}))) == 3
    assert len(read_export(client.get(EXPORT_URL, {"period": "365", "owner": alice.pk}))) == 1
    assert read_export(client.get(EXPORT_URL, {"kind": "csat", "period": "365"})) == []


def test_export_link_carries_the_filters(adam, alice, login, answers):
    html = login(adam).get(URL, {"owner": alice.pk, "kind": "nps"}).text
    assert f'href="{EXPORT_URL}?owner={alice.pk}&amp;kind=nps"' in html


def test_anonymous_cannot_export(client):
    assert client.get(EXPORT_URL).status_code == 302


def test_invitations_of_other_teams_do_not_count(alice, login, alice_account, carol_account):
    survey = SurveyFactory()
    answered_invitation(account=alice_account, score=9, survey=survey)
    answered_invitation(account=carol_account, score=9, survey=survey)
    InvitationFactory(campaign=CampaignFactory(survey=survey), contact=ContactFactory(account=carol_account))
    results = login(alice).get(URL).context["results"]
    assert (results.answered, results.sent) == (1, 1)
    assert Invitation.objects.count() == 3 and Response.objects.count() == 2
