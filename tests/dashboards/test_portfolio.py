"""A CSM's portfolio: who may open whose, what each column says, sorting, filters, HTMX, "Coming up", query counts."""

import datetime
import functools
import re
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account, User
from surveys.models import Kind, Response
from tests import helpers
from tests.factories import (
    AccountFactory,
    CheckInFactory,
    CommentFactory,
    ContactFactory,
    HealthSnapshotFactory,
    OverrideFactory,
    ResponseFactory,
    UserFactory,
)
from tests.helpers import HTMX, at, text

TODAY = datetime.date(2025, 3, 17)
day = functools.partial(helpers.day, today=TODAY)
NOW = datetime.datetime(2025, 3, 17, 12, 0, tzinfo=datetime.UTC)  # a Monday
HOUR = datetime.timedelta(hours=1)
CSAT_2 = {"kind": Kind.CSAT, "score": 2}  # a comment that is not an NPS answer


@pytest.fixture(autouse=True)
def frozen_today():
    """Every date below is relative to one fixed Monday, so day counts are exact."""
    with time_machine.travel(NOW, tick=False):
        yield


def page(response) -> str:
    return response.content.decode()


def row_text(response, account) -> str:
    match = re.search(rf'<tr data-account="{account.pk}">(.*?)</tr>', page(response), re.S)
    assert match, f"no row for {account.name}"
    return text(match.group(1))


def row_names(response) -> list[str]:
    return [row.account.name for row in response.context["rows"]]


def rendered_names(response) -> list[str]:
    return re.findall(r'<td class="card-title"><a href="/accounts/\d+/">([^<]+)</a>', page(response))


def section(response, title: str) -> str:
    """The text of one "Coming up" card, by its heading."""
    match = re.search(rf"<h3>{re.escape(title)}</h3>(.*?)</div>", page(response), re.S)
    assert match, f"no card {title!r}"
    return text(match.group(1))


def nps_answers(account, scores_by_days_ago: list[tuple[int, int]], contact=None):
    """One answer per (days ago, score), each from a new contact unless `contact` is given."""
    for days_ago, score in scores_by_days_ago:
        ResponseFactory(
            account=account,
            contact=contact or ContactFactory(account=account),
            kind=Kind.NPS,
            score=score,
            answered_at=at(day(-days_ago)),
        )


def scored(account, *scores_by_offset: tuple[int, float | None]):
    for offset, score in scores_by_offset:
        HealthSnapshotFactory(account=account, date=day(offset), score=score)


# ---- Who sees whose portfolio ----


def test_a_csm_sees_her_own_active_accounts_at_portfolio(alice, alice_account, bob_account, login):
    response = login(alice).get("/portfolio/")

    assert response.status_code == 200
    body = page(response)
    assert "Your portfolio" in body and "Acme Alpha" in body
    assert "Bravo Bakery" not in body  # bob's: readable by alice, but not in her portfolio
    assert row_names(response) == ["Acme Alpha"]


@pytest.mark.parametrize(
    "viewer, owner, status",
    [
        ("alice", "bob", 200),  # same team: CSMs read each other's portfolios
        ("bob", "alice", 200),
        ("alice", "carol", 404),
        ("carol", "alice", 404),
        ("maria", "alice", 200),
        ("maria", "bob", 200),
        ("maria", "carol", 404),
        ("adam", "alice", 200),
        ("adam", "carol", 200),
    ],
)
def test_who_may_open_whose_portfolio(cast, alice_account, bob_account, carol_account, login, viewer, owner, status):
    accounts = {"alice": alice_account, "bob": bob_account, "carol": carol_account}

    response = login(cast[viewer]).get(f"/portfolio/{cast[owner].pk}/")

    assert response.status_code == status
    if status == 200:
        assert f"{cast[owner].name}'s portfolio" in page(response)
        assert row_names(response) == [accounts[owner].name]
    else:
        assert accounts[owner].name not in page(response)


def test_a_portfolio_of_an_unknown_user_is_not_found(alice, adam, login):
    assert login(adam).get("/portfolio/999999/").status_code == 404


def test_own_id_in_the_url_is_the_own_portfolio(alice, alice_account, login):
    response = login(alice).get(f"/portfolio/{alice.pk}/")
    assert response.status_code == 200 and "Your portfolio" in page(response)


def test_anonymous_visitors_are_sent_to_log_in(db, client, alice):
    for url in ("/portfolio/", f"/portfolio/{alice.pk}/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_home_sends_csms_to_their_portfolio_and_managers_and_admins_to_the_rollup(cast, login):
    assert login(cast["alice"]).get("/")["Location"] == "/portfolio/"
    assert login(cast["maria"]).get("/")["Location"] == "/team/"
    assert login(cast["adam"]).get("/")["Location"] == "/team/"


def test_the_manager_picker_redirects_to_the_chosen_portfolio(maria, alice, carol, login):
    client = login(maria)
    response = client.get(f"/portfolio/?csm={alice.pk}")
    assert response.status_code == 302 and response["Location"] == f"/portfolio/{alice.pk}/"
    # Out of scope: the redirect leads to a 404, never to the data.
    assert client.get(f"/portfolio/?csm={carol.pk}", follow=True).status_code == 404


def test_managers_get_a_picker_of_the_people_in_their_scope(maria, alice, bob, carol, login, alice_account):
    body = page(login(maria).get(f"/portfolio/{alice.pk}/"))
    picker = re.search(r'<select id="portfolio-csm" name="csm">(.*?)</select>', body, re.S).group(1)
    assert "Alice Archer" in picker and "Bob Brown" in picker and "Carol Chen" not in picker
    assert f'<option value="{alice.pk}" selected>' in picker


def test_csms_get_no_picker(alice, alice_account, login):
    assert 'name="csm"' not in page(login(alice).get("/portfolio/"))


def test_the_nav_marks_portfolio_as_the_current_section(alice, alice_account, login):
    body = page(login(alice).get("/portfolio/"))
    assert re.search(r'<a href="/portfolio/" aria-current="page">Portfolio</a>', body)


# ---- What each column says ----


@pytest.fixture
def acme(alice):
    """Red and falling, renewing soon, overdue for a check-in, with NPS answers and open comments."""
    account = AccountFactory(
        name="Acme Alpha", owner=alice, arr=120_000, renewal_date=day(20), segment=Account.Segment.ENTERPRISE
    )
    scored(account, (0, 35.4), (-7, 45.0), (-30, 50.0), (-31, 90.0))
    CheckInFactory(account=account, date=day(-50), next_checkin_on=day(-5))
    CheckInFactory(account=account, date=day(-80), next_checkin_on=day(-50))
    first = ContactFactory(account=account)
    nps_answers(account, [(200, 3), (10, 10)], contact=first)  # the same contact: both count, as on Results
    nps_answers(account, [(20, 9), (30, 6)])  # two more contacts: a promoter and a detractor
    nps_answers(account, [(400, 0)])  # older than a year: ignored
    CommentFactory(account=account, feedback_status=Response.FeedbackStatus.NEW, answered_at=at(day(-3)), **CSAT_2)
    CommentFactory(
        account=account, feedback_status=Response.FeedbackStatus.ACKNOWLEDGED, answered_at=at(day(-4)), **CSAT_2
    )
    CommentFactory(account=account, feedback_status=Response.FeedbackStatus.CLOSED, answered_at=at(day(-5)), **CSAT_2)
    return account


@pytest.fixture
def birch(alice):
    """Green and steady, a check-in planned next week, no survey answers."""
    account = AccountFactory(name="Birch Bank", owner=alice, arr=45_500, renewal_date=day(200))
    scored(account, (0, 72.0), (-30, 70.4))
    CheckInFactory(account=account, date=day(-10), next_checkin_on=day(7))
    return account


@pytest.fixture
def cedar(alice):
    """Never scored, never checked in."""
    return AccountFactory(name="Cedar Cars", owner=alice, arr=9_000, renewal_date=None)


def test_health_trend_and_renewal_of_a_falling_red_account(acme, alice, login):
    response = login(alice).get("/portfolio/")
    row = response.context["rows"][0]
    assert (row.score_rounded, row.band, row.trend_delta, row.trend.direction) == (35, "red", -15, "down")
    assert row.days_to_renewal == 20 and row.renewal_at_risk  # < 30 days and red

    cells = row_text(response, acme)
    assert "35" in cells and "▼ -15" in cells and "120,000" in cells and "in 20 days" in cells
    body = page(response)
    assert 'class="health-chip health-chip-red"' in body
    assert 'portfolio-at-risk"' in body


def test_a_steady_green_account_has_a_flat_arrow_and_no_renewal_flag(birch, alice, login):
    response = login(alice).get("/portfolio/")
    row = response.context["rows"][0]
    assert (row.score_rounded, row.band, row.trend_delta, row.trend.direction) == (72, "green", 2, "flat")
    cells = row_text(response, birch)
    assert "→ +2" in cells and "in 200 days" in cells and "45,500" in cells
    assert "portfolio-at-risk" not in page(response)


def test_an_unscored_account_says_not_enough_data(cedar, alice, login):
    response = login(alice).get("/portfolio/")
    row = response.context["rows"][0]
    assert row.score is None and row.band == "none" and row.trend is None
    cells = row_text(response, cedar)
    assert cells.startswith("Cedar Cars") and "— not enough data" in cells
    assert "health-chip-none" in page(response)


def test_last_and_next_check_in_with_overdue_marks(acme, birch, cedar, alice, login):
    response = login(alice).get("/portfolio/")
    rows = {row.account.name: row for row in response.context["rows"]}

    assert (rows["Acme Alpha"].last_checkin, rows["Acme Alpha"].next_checkin) == (day(-50), day(-5))
    assert rows["Acme Alpha"].checkin_overdue  # the planned date is past
    assert "Jan 26, 2025 50 days ago" in row_text(response, acme)
    assert "Mar 12, 2025 overdue" in row_text(response, acme)

    assert (rows["Birch Bank"].last_checkin, rows["Birch Bank"].next_checkin) == (day(-10), day(7))
    assert not rows["Birch Bank"].checkin_overdue
    assert "Mar 7, 2025 10 days ago" in row_text(response, birch) and "Mar 24, 2025" in row_text(response, birch)
    assert "overdue" not in row_text(response, birch)

    assert rows["Cedar Cars"].last_checkin is None and rows["Cedar Cars"].checkin_overdue
    assert "never" in row_text(response, cedar)


def test_no_next_check_in_is_overdue_only_after_45_days(alice, login):
    recent = AccountFactory(name="Recent", owner=alice)
    CheckInFactory(account=recent, date=day(-45))
    old = AccountFactory(name="Old", owner=alice)
    CheckInFactory(account=old, date=day(-46))

    rows = {row.account.name: row for row in login(alice).get("/portfolio/").context["rows"]}

    assert not rows["Recent"].checkin_overdue and rows["Old"].checkin_overdue


def test_nps_counts_every_answer_of_the_last_year_as_results_does(acme, birch, alice, login):
    response = login(alice).get("/portfolio/")
    rows = {row.account.name: row for row in response.context["rows"]}

    # Every answer of the last 12 months: 3, 10, 9, 6 → 2 promoters, 2 detractors of 4 → 0.
    assert (rows["Acme Alpha"].nps.value, rows["Acme Alpha"].nps.n) == (0, 4)
    assert "0 n=4" in row_text(response, acme)
    assert rows["Birch Bank"].nps is None
    assert row_text(response, birch).split()[-3] == "—"


def test_open_feedback_counts_new_and_acknowledged_comments_and_links_to_the_inbox(acme, alice, login):
    ResponseFactory(account=acme, score=2, comment="")  # a score without a comment is not feedback to answer

    response = login(alice).get("/portfolio/")

    assert response.context["rows"][0].open_feedback == 2
    assert row_text(response, acme).split()[-2] == "2"  # open feedback, then open tasks
    assert f'<a href="/feedback/?owner={alice.pk}"' in page(response)


def test_an_active_override_shows_its_band_with_the_computed_score_in_the_title(birch, alice, login):
    OverrideFactory(account=birch, band="red", expires_on=day(10))
    OverrideFactory(account=birch, band="yellow", expires_on=day(-1))  # expired: ignored

    response = login(alice).get("/portfolio/")

    row = response.context["rows"][0]
    assert (row.band, row.computed_band, row.score_rounded) == ("red", "green", 72)
    body = page(response)
    assert re.search(
        r'class="health-chip health-chip-red portfolio-overridden"\s+title="Overridden to Red until Mar 27\. '
        r'Computed score: 72 \(Green\)\."',
        body,
    )
    assert "overridden; computed score 72" in row_text(response, birch)


def test_an_override_by_score_takes_the_band_of_that_score(birch, alice, login):
    OverrideFactory(account=birch, band="", score=30.0)

    row = login(alice).get("/portfolio/").context["rows"][0]

    assert row.band == "red"


def test_header_counts_bands_and_totals_arr(acme, birch, cedar, alice, login):
    OverrideFactory(account=birch, band="yellow")

    body = page(login(alice).get("/portfolio/"))

    facts = text(re.search(r'<dl class="facts portfolio-facts"[^>]*>(.*?)</dl>', body, re.S).group(1))
    assert facts == "Accounts 3 Total ARR 174,500 Red 1 Yellow 1 Green 0 Not enough data 1"


def test_churned_accounts_are_hidden_with_a_link_to_them(alice, acme, login):
    AccountFactory(owner=alice, name="Gone Corp", status=Account.Status.CHURNED, churned_on=day(-10))

    response = login(alice).get("/portfolio/")

    assert "Gone Corp" not in page(response)
    assert f'<a href="/accounts/?status=churned&amp;owner={alice.pk}">1 churned account is hidden</a>' in page(response)


def test_account_names_are_escaped(alice, login):
    AccountFactory(name='<b onclick="x()">Bold & Co</b>', owner=alice)

    body = page(login(alice).get("/portfolio/"))

    assert "<b onclick" not in body
    assert "&lt;b onclick=&quot;x()&quot;&gt;Bold &amp; Co&lt;/b&gt;" in body


def test_the_account_name_links_to_the_account_page(acme, alice, login):
    assert f'<a href="/accounts/{acme.pk}/">Acme Alpha</a>' in page(login(alice).get("/portfolio/"))


# ---- Sorting ----


@pytest.fixture
def trio(alice):
    """Three accounts whose every column differs, so each sort has one right order."""
    specs = [
        # name, score now / 30 days ago, ARR, renewal, last check-in, next, NPS answer, open comments
        ("Alder", 60.0, 50.0, 20_000, 100, -3, 30, 0, 1),
        ("Birch", 90.0, 100.0, 30_000, 10, -20, 5, 8, 3),
        ("Cedar", 30.0, 25.0, 10_000, 50, -10, 60, 10, 0),
    ]
    for name, now, then, arr, renewal, last, following, nps, comments in specs:
        account = AccountFactory(name=name, owner=alice, arr=arr, renewal_date=day(renewal))
        scored(account, (0, now), (-30, then))
        CheckInFactory(account=account, date=day(last), next_checkin_on=day(following))
        nps_answers(account, [(5, nps)])
        for _ in range(comments):
            CommentFactory(account=account)


ASCENDING = {
    "name": ["Alder", "Birch", "Cedar"],
    "health": ["Cedar", "Alder", "Birch"],  # red 30, yellow 60, green 90
    "trend": ["Birch", "Cedar", "Alder"],  # -10, +5, +10
    "arr": ["Cedar", "Alder", "Birch"],
    "renewal": ["Birch", "Cedar", "Alder"],
    "last_checkin": ["Birch", "Cedar", "Alder"],  # oldest first
    "next_checkin": ["Birch", "Alder", "Cedar"],
    "nps": ["Alder", "Birch", "Cedar"],  # -100, 0, +100
    "feedback": ["Cedar", "Alder", "Birch"],  # 0, 1, 3
}


@pytest.mark.parametrize("key", ASCENDING)
def test_every_column_sorts_both_ways(trio, alice, login, key):
    client = login(alice)

    ascending = client.get(f"/portfolio/?sort={key}")
    descending = client.get(f"/portfolio/?sort={key}&desc=on")

    assert row_names(ascending) == ASCENDING[key]
    assert row_names(descending) == ASCENDING[key][::-1]
    # The rendered table is in that order too, and the header says which way.
    assert rendered_names(descending) == ASCENDING[key][::-1]
    assert 'aria-sort="descending"' in page(descending) and 'aria-sort="ascending"' in page(ascending)


def test_the_default_order_is_worst_health_first(trio, alice, login):
    assert row_names(login(alice).get("/portfolio/")) == ASCENDING["health"]


def test_a_sorted_column_header_links_to_the_other_direction_keeping_the_filters(trio, alice, login):
    body = page(login(alice).get("/portfolio/?sort=arr&band=red"))
    assert 'href="?sort=arr&amp;band=red&amp;desc=on"' in body
    assert 'href="?sort=nps&amp;band=red"' in body


@pytest.mark.parametrize("sort", ["health", "trend", "nps", "renewal", "last_checkin", "next_checkin"])
def test_rows_without_a_value_come_last_both_ways(trio, alice, login, sort):
    AccountFactory(name="Aaron", owner=alice, renewal_date=None)  # no score, check-in, answer or renewal
    client = login(alice)

    assert row_names(client.get(f"/portfolio/?sort={sort}"))[-1] == "Aaron"
    assert row_names(client.get(f"/portfolio/?sort={sort}&desc=on"))[-1] == "Aaron"


def test_an_overridden_account_sorts_with_the_band_it_shows(trio, alice, login):
    OverrideFactory(account=Account.objects.get(name="Birch"), band="red")

    assert row_names(login(alice).get("/portfolio/?sort=health")) == ["Cedar", "Birch", "Alder"]


# ---- Filters ----


@pytest.mark.parametrize(
    "query, expected",
    [
        ("band=red", ["Cedar"]),
        ("band=green", ["Birch"]),
        ("band=none", ["Dora"]),
        ("segment=smb", ["Dora"]),
        ("renewal=30", ["Birch"]),
        ("renewal=60", ["Birch", "Cedar"]),
        ("renewal=90", ["Birch", "Cedar"]),
        ("overdue=yes", ["Dora"]),
        ("q=IRC", ["Birch"]),
        ("q=r&band=yellow", ["Alder"]),
        ("q=zzz", []),
    ],
)
def test_each_filter_keeps_only_the_matching_rows(trio, alice, login, query, expected):
    AccountFactory(name="Dora", owner=alice, segment=Account.Segment.SMB, renewal_date=day(-3))

    response = login(alice).get(f"/portfolio/?sort=name&{query}")

    assert row_names(response) == expected
    if expected:
        assert f"{len(expected)} of 4 accounts match" in text(page(response))
    else:
        assert "No account matches these filters." in page(response)


def test_the_band_filter_uses_the_band_shown(trio, alice, login):
    OverrideFactory(account=Account.objects.get(name="Birch"), band="red")

    assert row_names(login(alice).get("/portfolio/?band=red&sort=name")) == ["Birch", "Cedar"]


def test_the_filter_form_shows_the_state_of_the_url(trio, alice, login):
    body = page(login(alice).get("/portfolio/?q=bir&band=green&renewal=30&overdue=yes&segment=smb&sort=arr&desc=on"))

    assert 'name="q" value="bir"' in body
    assert '<option value="green" selected>' in body and '<option value="30" selected>' in body
    assert '<option value="yes" selected>' in body and '<option value="smb" selected>' in body
    assert '<input type="hidden" name="sort" value="arr">' in body and 'name="desc" value="on"' in body


@pytest.mark.parametrize(
    "query",
    [
        "sort=bogus&desc=maybe",
        "band=purple",
        "renewal=abc",
        "renewal=45",
        "segment=galactic",
        "overdue=perhaps",
        "q=" + "x" * 500,
        "sort=arr&sort=name",
        "csm=abc",
        "csm=²",  # passes str.isdigit(), not int(): it answered 500
        "csm=١٢",
    ],
)
def test_bad_parameters_are_ignored(trio, alice, login, query):
    response = login(alice).get(f"/portfolio/?{query}")

    assert response.status_code == 200
    if "q=" not in query:
        assert len(response.context["rows"]) == 3


def test_a_bad_parameter_does_not_drop_the_good_ones(trio, alice, login):
    response = login(alice).get("/portfolio/?band=red&renewal=abc&sort=nope")
    assert row_names(response) == ["Cedar"]


# ---- HTMX ----


def test_an_htmx_request_gets_only_the_results_fragment(trio, alice, login):
    response = login(alice).get("/portfolio/?sort=arr&band=green", headers=HTMX)

    body = page(response)
    assert "<html" not in body and "Coming up" not in body
    assert body.lstrip().startswith('<section id="results"')
    assert '<form id="filters"' in body  # the form re-renders from the URL, so back and forward restore it
    assert rendered_names(response) == ["Birch"]
    assert "HX-Request" in response["Vary"]


def test_an_htmx_request_pushes_the_short_url_without_empty_fields(trio, alice, login):
    url = "/portfolio/?q=bir&band=&segment=&renewal=&overdue=&sort=health"

    response = login(alice).get(url, headers=HTMX)

    assert response["HX-Push-Url"] == "/portfolio/?q=bir"
    sorted_response = login(alice).get("/portfolio/?q=&sort=arr&desc=on", headers=HTMX)
    assert sorted_response["HX-Push-Url"] == "/portfolio/?sort=arr&desc=on"


def test_an_htmx_history_restore_gets_the_whole_page(trio, alice, login):
    response = login(alice).get("/portfolio/?band=red", headers={**HTMX, "HX-History-Restore-Request": "true"})

    body = page(response)
    assert "<html" in body and "Coming up" in body


def test_the_filter_form_works_with_and_without_script(trio, alice, login):
    body = page(login(alice).get(f"/portfolio/{alice.pk}/"))
    form = re.search(r'<form id="filters"[^>]*>', body, re.S).group(0)
    assert 'method="get"' in form and f'action="/portfolio/{alice.pk}/"' in form
    assert f'hx-get="/portfolio/{alice.pk}/"' in form
    # Where to swap, and that the URL follows, is inherited from the section the form is in.
    section = re.search(r'<section id="results"[^>]*>', body).group(0)
    assert 'hx-target="#results"' in section and 'hx-push-url="true"' in section
    assert '<noscript><button type="submit">Apply</button></noscript>' in body


# ---- Coming up ----


def test_coming_up_lists_check_ins_and_renewals_of_the_next_two_weeks(alice, login):
    soon = AccountFactory(name="Soon", owner=alice, renewal_date=day(14))
    CheckInFactory(account=soon, date=day(-5), next_checkin_on=day(0))
    later = AccountFactory(name="Later", owner=alice, renewal_date=day(15))
    CheckInFactory(account=later, date=day(-5), next_checkin_on=day(15))
    past = AccountFactory(name="Past", owner=alice, renewal_date=day(-1))
    CheckInFactory(account=past, date=day(-20), next_checkin_on=day(-1))
    nextweek = AccountFactory(name="Nextweek", owner=alice, renewal_date=day(3))
    CheckInFactory(account=nextweek, date=day(-5), next_checkin_on=day(6))

    response = login(alice).get("/portfolio/?band=red")  # the table's filters do not apply to the panel

    assert (
        section(response, "Check-ins in the next two weeks")
        == "Soon Mon Mar 17 · today Nextweek Sun Mar 23 · in 6 days"
    )
    assert (
        section(response, "Renewals in the next two weeks") == "Nextweek Thu Mar 20 · 50,000 Soon Mon Mar 31 · 50,000"
    )


def test_coming_up_lists_the_five_biggest_drops_of_the_week(alice, login):
    for name, week_ago, now in [
        ("Drop10", 80, 70), ("Drop30", 90, 60), ("Drop5", 60, 55), ("Drop20", 70, 50),
        ("Drop15", 65, 50), ("Drop1", 50, 49), ("Rise", 40, 60), ("Flat", 50, 50),
    ]:  # fmt: skip
        account = AccountFactory(name=name, owner=alice)
        scored(account, (-7, week_ago), (0, now))
    stale = AccountFactory(name="Stale", owner=alice)  # no new snapshot this week: no drop to report
    scored(stale, (-20, 90), (-10, 20))

    response = login(alice).get("/portfolio/")

    assert section(response, "Biggest drops this week") == (
        "Drop30 ▼ -30 now 60 Drop20 ▼ -20 now 50 Drop15 ▼ -15 now 50 Drop10 ▼ -10 now 70 Drop5 ▼ -5 now 55"
    )


def test_coming_up_lists_the_newest_unanswered_low_scores(alice, bob, login):
    account = AccountFactory(name="Acme", owner=alice)
    for days_ago in range(1, 7):
        CommentFactory(account=account, score=days_ago, comment=f"Unhappy {days_ago}", answered_at=at(day(-days_ago)))
    CommentFactory(account=account, score=0, comment="Already answered", feedback_status="closed")
    CommentFactory(account=account, score=7, comment="Passive, not an alert")
    CommentFactory(account=account, kind=Kind.CSAT, score=2, comment="Low CSAT", answered_at=at(day(-2)) + HOUR)
    CommentFactory(account=account, kind=Kind.CSAT, score=3, comment="Neutral CSAT")
    CommentFactory(account=AccountFactory(owner=bob), score=0, comment="Bob's customer")

    card = section(login(alice).get("/portfolio/"), "Unanswered low scores")

    found = re.findall(r"Unhappy \d|Low CSAT|Already answered|Passive, not an alert|Neutral CSAT|Bob's customer", card)
    assert found == ["Unhappy 1", "Low CSAT", "Unhappy 2", "Unhappy 3", "Unhappy 4"]


def test_coming_up_empty_states_say_what_comes_next(alice, login):
    AccountFactory(name="Quiet", owner=alice, renewal_date=day(100))

    response = login(alice).get("/portfolio/")

    assert section(response, "Check-ins in the next two weeks").startswith("Nothing due in the next two weeks.")
    assert section(response, "Renewals in the next two weeks") == "No renewals in the next two weeks."
    assert section(response, "Biggest drops this week") == "No account lost 3 points or more this week."
    assert "send a first survey" in section(response, "Unanswered low scores")


def test_a_csm_without_accounts_is_told_how_to_get_some(alice, login):
    body = text(page(login(alice).get("/portfolio/")))
    assert "No accounts are assigned to you yet." in body
    assert "Ask your admin to import them (Setup → Import accounts)" in body and "make run" in body


def test_a_manager_without_accounts_is_pointed_to_the_picker(maria, alice, login):
    body = text(page(login(maria).get("/portfolio/")))
    assert "Pick a CSM above to open their portfolio" in body


# ---- Queries ----


def _portfolio_of(owner, size: int):
    for n in range(size):
        account = AccountFactory(owner=owner, name=f"Account {n:03d}", renewal_date=day(n % 40))
        scored(account, (0, 20.0 + n % 70), (-7, 60.0), (-30, 50.0))
        CheckInFactory(account=account, date=day(-n % 60), next_checkin_on=day(n % 20 - 5))
        nps_answers(account, [(3, n % 11), (40, 9)])
        CommentFactory(account=account, answered_at=at(day(-1)))
        if n % 2:
            OverrideFactory(account=account, band="" if n % 4 == 1 else "green", score=55.0 if n % 4 == 1 else None)
    AccountFactory(owner=owner, status=Account.Status.CHURNED, churned_on=day(-1))


@pytest.mark.parametrize("size", [5, 60])
def test_query_count_is_small_and_constant_in_the_number_of_accounts(
    maria, alice, login, django_assert_max_num_queries, size
):
    _portfolio_of(alice, size)
    client = login(maria)  # a manager: the page also lists the people to switch to

    with django_assert_max_num_queries(15):  # 12, and open tasks per row, My tasks' counts and list
        response = client.get(f"/portfolio/{alice.pk}/")
    assert len(response.context["rows"]) == size

    with django_assert_max_num_queries(11):
        fragment = client.get(f"/portfolio/{alice.pk}/?sort=nps&desc=on&band=red", headers=HTMX)
    assert fragment.status_code == 200


def test_query_count_does_not_grow_with_rows(alice, login):
    client = login(alice)
    counts = []
    for size in (3, 40):
        _portfolio_of(alice, size)
        with CaptureQueriesContext(connection) as queries:
            client.get("/portfolio/")
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_inactive_csms_portfolio_is_not_found(adam, login):
    gone = UserFactory(name="Gone", role=User.Role.CSM, is_active=False)
    assert login(adam).get(f"/portfolio/{gone.pk}/").status_code == 404


def test_arr_rounds_half_away_from_zero_on_the_portfolio_and_the_account_page(alice, login):
    account = AccountFactory(name="Half", owner=alice, arr=Decimal("1234.50"))
    client = login(alice)
    assert "1,235" in row_text(client.get("/portfolio/"), account)  # f"{:,.0f}" gave 1,234 (half to even)
    assert "<dd>1,235</dd>" in client.get(f"/accounts/{account.pk}/").content.decode()
