"""The account page (check-in prep): who sees it, "since the last check-in" on known data, charts, HTMX, queries."""

import datetime
import functools
import json
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import CheckIn
from scoring.trends import trend
from tests import helpers
from tests.factories import (
    AccountFactory,
    CheckInFactory,
    ContactFactory,
    HealthSnapshotFactory,
    MetricDefinitionFactory,
    MetricValueFactory,
    NotificationFactory,
    OverrideFactory,
    ResponseFactory,
    UserFactory,
)
from tests.helpers import HTMX, at, text
from tests.scoring.test_score_change import kestrel

TODAY = datetime.date(2026, 3, 16)
day = functools.partial(helpers.day, today=TODAY)
CHECKIN_DAY = datetime.date(2026, 2, 16)


def entry(label: str, kind: str, normalised: float | None, raw: float | None, weight: float = 20) -> dict:
    """One input of a snapshot's breakdown, as the engine stores it."""
    return {
        "component": None,
        "label": label,
        "input": kind,
        "weight": weight,
        "raw": raw,
        "n": None if raw is None else 3,
        "normalised": normalised,
        "contribution": None,
        "status": "ok" if raw is not None else "missing",
    }


def chart_data(response) -> dict:
    match = re.search(
        r'<script id="account-chart-data" type="application/json">(.*?)</script>', response.content.decode()
    )
    assert match, "the chart data is rendered with json_script"
    return json.loads(match.group(1))


@pytest.fixture
def frozen():
    with time_machine.travel(at(TODAY, 9), tick=False):
        yield


# ---- Who sees it ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("viewer", "status", "forms"),
    [("alice", 200, True), ("bob", 200, False), ("carol", 404, False), ("maria", 200, True), ("adam", 200, True)],
)
def test_scope_decides_who_sees_the_page_and_who_gets_the_forms(cast, alice_account, login, viewer, status, forms):
    response = login(cast[viewer]).get(f"/accounts/{alice_account.pk}/")
    assert response.status_code == status
    if status == 404:
        assert alice_account.name not in response.content.decode()
        return
    page = response.content.decode()
    assert alice_account.name in page and "Since 30 days ago" in page
    for form_text in ("Log check-in", "Add a contact", "Edit account"):
        assert (form_text in page) is forms, form_text


def test_anonymous_is_sent_to_login(client, alice_account):
    response = client.get(f"/accounts/{alice_account.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_account_links_point_at_the_dashboards_page(alice_account):
    assert alice_account.get_absolute_url() == f"/accounts/{alice_account.pk}/"


# ---- Since the last check-in ----------------------------------------------------------------


@pytest.fixture
def history(frozen, alice, alice_account, bob):
    """A month between the last check-in and today in which health slid from Green to Yellow.

    Inputs on the 0-100 scale, then -> now, equal weights: NPS 86 -> 43, Check-in sentiment 70 -> 62,
    Seat usage 60 -> 60.4, so 72 -> 55 (exactly 72 -> 55.13): in points of the score -14.3, -2.7
    and +0.1, shown -14, -3 and "+<1" to add up to -17. Two answers after the check-in (one with a
    comment), one before. Active users 100 -> 60 (-40%), Support tickets opened 10 -> 11 (+10%).
    """
    account = alice_account
    CheckInFactory(account=account, date=CHECKIN_DAY - datetime.timedelta(days=30), sentiment=5, notes="Earlier call")
    CheckInFactory(
        account=account, date=CHECKIN_DAY, sentiment=3, notes="Budget is under review.", next_checkin_on=TODAY
    )
    HealthSnapshotFactory(
        account=account,
        date=CHECKIN_DAY - datetime.timedelta(days=2),
        score=72.0,
        components=[
            entry("NPS", "nps", 86.0, 60),
            entry("Seat usage", "metric", 60.0, 48.0),
            entry("Check-in sentiment", "checkin_sentiment", 70.0, 3.8),
        ],
    )
    HealthSnapshotFactory(account=account, date=CHECKIN_DAY + datetime.timedelta(days=3), score=66.0)
    HealthSnapshotFactory(
        account=account,
        date=TODAY,
        score=55.0,
        components=[
            entry("NPS", "nps", 43.0, 0),
            entry("Seat usage", "metric", 60.4, 48.3),
            entry("Check-in sentiment", "checkin_sentiment", 62.0, 3.5),
        ],
    )
    contact = ContactFactory(account=account, name="Dana Fox")
    ResponseFactory(account=account, contact=contact, score=9, answered_at=at(CHECKIN_DAY - datetime.timedelta(days=5)))
    ResponseFactory(account=account, contact=contact, score=3, comment="Support is too slow.", answered_at=at(day(-20)))
    ResponseFactory(account=account, contact=contact, kind="csat", score=5, answered_at=at(day(-3)))
    users = MetricDefinitionFactory(key="active_users", label="Active users", unit="users")
    tickets = MetricDefinitionFactory(key="support_tickets", label="Support tickets opened", unit="tickets")
    MetricValueFactory(account=account, metric=users, date=CHECKIN_DAY - datetime.timedelta(days=1), value=100)
    MetricValueFactory(account=account, metric=users, date=day(-1), value=60)
    MetricValueFactory(account=account, metric=tickets, date=CHECKIN_DAY, value=10)
    MetricValueFactory(account=account, metric=tickets, date=day(-2), value=11)
    url = f"/accounts/{account.pk}/"
    drop = NotificationFactory(
        user=alice, key=f"health-drop:{account.pk}:{CHECKIN_DAY}", title="Health dropped", url=url
    )
    NotificationFactory(user=bob, key=drop.key, title="Health dropped", url=url)  # the same event: counted once
    old = NotificationFactory(user=alice, key="low-score:1", title="Old alert", url=url)
    NotificationFactory(user=alice, key="low-score:2", title="Another account", url="/accounts/999999/")
    type(drop).objects.filter(key=drop.key).update(created_at=at(day(-10)))
    type(old).objects.filter(pk=old.pk).update(created_at=at(CHECKIN_DAY - datetime.timedelta(days=3)))
    return account


def test_since_the_last_checkin_numbers(history, alice, login):
    response = login(alice).get(f"/accounts/{history.pk}/")
    since = response.context["since"]
    assert since.day == CHECKIN_DAY and since.checkin.notes == "Budget is under review."
    assert since.score == {"before": 72, "after": 55, "delta": -17, "trend": trend(-17)}
    assert since.score["trend"].direction == "down"
    assert (since.before.band, since.latest.band, since.band_changed, since.significant) == (
        "green",
        "yellow",
        True,
        True,
    )
    assert [(row["label"], row["delta"]) for row in since.lines] == [
        ("NPS", -14),
        ("Check-in sentiment", -3),
        ("Seat usage", 0),
    ]
    assert [(a.kind, a.score) for a in since.answers] == [("csat", 5), ("nps", 3)]
    assert [a.comment for a in since.comments] == ["Support is too slow."]
    moves = {move.key: move for move in since.metric_moves}
    assert (moves["active_users"].before, moves["active_users"].after, moves["active_users"].percent) == (100, 60, -40)
    assert moves["active_users"].notable and not moves["support_tickets"].notable
    assert moves["support_tickets"].percent == pytest.approx(10.0)
    assert [alert.title for alert in since.alerts] == ["Health dropped"]

    page = text(response)
    assert "Last check-in Feb 16, 2026 (28 days ago, Alice Archer)" in page
    assert "Health dropped: 72 → 55 ▼ -17 Green → Yellow" in page
    assert "biggest input move: NPS ▼ -14" in page
    assert (
        "NPS 86 +60 43 0 ▼ -14 Check-in sentiment 70 3.8 of 5 62 3.5 of 5 ▼ -3 Seat usage 60 48.0% 60 48.3% +<1"
    ) in page
    assert "Health score 72 55 ▼ -17" in page
    assert "New survey answers 2" in page and "1 with a comment." in page and "“Support is too slow.”" in page
    assert "Active users notable 100 to Feb 16 60 users to Mar 15 ▼ -40%" in page
    assert "Support tickets opened 10 to Feb 16 11 tickets to Mar 14 ▲ +10%" in page
    assert "New alerts 1" in page and "Old alert" not in page


def test_a_new_answer_entering_is_a_line_beside_the_metric_that_fell(frozen, alice, alice_account, login):
    """Kestrel: 44 -> 34 is seat usage's fall and a new CSAT answer of 3/5 entering, on both pages."""
    CheckInFactory(account=alice_account, date=day(-14))
    kestrel(alice_account, before_day=day(-15), after_day=TODAY)
    client = login(alice)
    response = client.get(f"/accounts/{alice_account.pk}/")
    since = response.context["since"]
    assert [(row["label"], row["delta"]) for row in since.lines] == [("Seat usage", -6), ("CSAT", -4)]
    assert sum(row["delta"] for row in since.lines) == since.score["delta"] == -10
    page = text(response)
    assert "Health dropped: 44 → 34 ▼ -10 Yellow → Red · biggest input move: Seat usage ▼ -6" in page
    lines = "Seat usage 48 44.0% 20 30.0% ▼ -6 CSAT entered: new answer no data 0 0% ▼ -4 Health score 44 34 ▼ -10"
    assert lines in page
    health = text(client.get(f"/accounts/{alice_account.pk}/health/"))
    assert "Health score 44 34 ▼ -10 ▼ -10" in health
    assert "Seat usage 48 44.0% 20 30.0% ▼ -28 ▼ -6" in health
    assert "CSAT entered: new answer — — 0 0% — ▼ -4" in health


def test_a_stale_input_leaving_is_a_line(frozen, alice, alice_account, login):
    CheckInFactory(account=alice_account, date=day(-14))
    HealthSnapshotFactory(account=alice_account, date=day(-15), score=50.0,
                          components=[entry("NPS", "nps", 80, 34), entry("CSAT", "csat_percent", 20, 58)])  # fmt: skip
    stale = {**entry("CSAT", "csat_percent", None, None), "status": "stale"}
    HealthSnapshotFactory(
        account=alice_account, date=TODAY, score=80.0, components=[entry("NPS", "nps", 80, 34), stale]
    )
    page = text(login(alice).get(f"/accounts/{alice_account.pk}/"))
    assert "biggest input move: CSAT (left: too old) ▲ +30" in page
    assert "CSAT left: too old 20 58% too old ▲ +30 Health score 50 80 ▲ +30" in page


def test_without_a_score_on_one_day_there_is_no_breakdown(frozen, alice, alice_account, login):
    CheckInFactory(account=alice_account, date=day(-14))
    HealthSnapshotFactory(account=alice_account, date=day(-15), score=None, components=[entry("NPS", "nps", 50, 0)])
    HealthSnapshotFactory(account=alice_account, date=TODAY, score=70.0, components=[entry("NPS", "nps", 70, 16)])
    response = login(alice).get(f"/accounts/{alice_account.pk}/")
    assert response.context["since"].lines is None
    assert "No breakdown: Mar 1 has no score (not enough data)." in text(response)


def test_small_moves_read_as_no_significant_change(frozen, alice, alice_account, login):
    CheckInFactory(account=alice_account, date=day(-14))
    HealthSnapshotFactory(account=alice_account, date=day(-15), score=61.0, components=[entry("NPS", "nps", 50, 0)])
    HealthSnapshotFactory(account=alice_account, date=TODAY, score=63.4, components=[entry("NPS", "nps", 52, 5)])
    response = login(alice).get(f"/accounts/{alice_account.pk}/")
    assert not response.context["since"].significant
    assert "No significant change: health 61 → 63 → +2 Yellow" in text(response)


def test_without_a_checkin_the_page_compares_with_30_days_ago(frozen, alice, alice_account, login):
    HealthSnapshotFactory(account=alice_account, date=day(-40), score=80.0)
    HealthSnapshotFactory(account=alice_account, date=day(-20), score=50.0)
    HealthSnapshotFactory(account=alice_account, date=TODAY, score=58.0)
    ResponseFactory(account=alice_account, score=2, comment="Not good", answered_at=at(day(-35)))
    ResponseFactory(account=alice_account, score=8, answered_at=at(day(-5)))
    response = login(alice).get(f"/accounts/{alice_account.pk}/")
    since = response.context["since"]
    assert since.day == day(-30) and since.checkin is None
    assert since.before.date == day(-40) and since.score["delta"] == -22
    assert [answer.score for answer in since.answers] == [8]
    page = text(response)
    assert "Since 30 days ago" in page
    assert "No check-in logged yet, so this compares with 30 days ago (Feb 14, 2026)." in page
    assert "Not planned" in page  # no next check-in either


def test_compare_with_90_days_ago_and_htmx_gets_only_that_section(history, alice, login):
    client = login(alice)
    response = client.get(f"/accounts/{history.pk}/?since=90")
    assert response.context["since"].day == day(-90)
    fragment = client.get(f"/accounts/{history.pk}/?since=90", headers={**HTMX, "HX-Target": "since"})
    body = fragment.content.decode()
    assert "<html" not in body and body.strip().startswith('<section id="since"')
    assert "Since 90 days ago" in body and "Check-ins" not in body
    assert client.get(f"/accounts/{history.pk}/?since=bogus").context["compared_with"] == "checkin"


def test_next_checkin_overdue_is_said(frozen, alice, alice_account, login):
    CheckInFactory(account=alice_account, date=day(-40), next_checkin_on=day(-5))
    page = text(login(alice).get(f"/accounts/{alice_account.pk}/"))
    assert "Next check-in Mar 11, 2026 ( overdue by 5 days)" in page


# ---- Health now, trend, answers, metrics -----------------------------------------------------------


def test_health_now_with_breakdown_override_and_link(history, alice, login):
    OverrideFactory(account=history, band="red", reason="Champion left last week.")
    page = text(login(alice).get(f"/accounts/{history.pk}/"))
    health = page.split("Health now")[1].split("Health over 12 months")[0]
    assert "55 Yellow 55 of 100 · higher is healthier" in health
    assert "Overridden to Red by Alice Archer" in health and "Champion left last week." in health
    assert "Coverage 100%" in health and "NPS 0 43 20" in health
    html = login(alice).get(f"/accounts/{history.pk}/").content.decode()
    assert f'href="/accounts/{history.pk}/health/"' in html and "Health breakdown" in html


def test_chart_data_goes_through_json_script_with_a_table_beside(history, alice, login):
    response = login(alice).get(f"/accounts/{history.pk}/")
    data = chart_data(response)
    trend = data["trend"]
    assert trend["scores"] == [72.0, 66.0, 55.0]
    assert trend["days"] == [(d - day(-365)).days for d in (CHECKIN_DAY - datetime.timedelta(days=2), day(-25), TODAY)]
    assert (trend["red_below"], trend["green_from"]) == (40, 70)
    assert trend["bands"] == ["green", "yellow", "yellow"]
    assert data["metrics"]["active_users"]["values"] == [100.0, 60.0]
    html = response.content.decode()
    assert "<template data-chart-source>" in html
    # Every chart has a text equivalent: the monthly table and the metric numbers.
    page = text(response)
    assert (
        "Monthly values (table)" in page and "Mar 2026 55 Yellow Mar 16" in page and "Feb 2026 66 Yellow Feb 19" in page
    )
    assert "Active users" in page and "min 60 · max 100" in page
    # No script carries data except json_script's.
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == [
        '<script id="account-chart-data" type="application/json">'
    ]


def test_answers_timeline_newest_first_with_comments_and_status(history, alice, login):
    page = text(login(alice).get(f"/accounts/{history.pk}/"))
    timeline = page.split("Survey answers, last 12 months")[1].split("Metrics")[0]
    assert (
        timeline.index("CSAT Dana Fox Mar 13, 2026")
        < timeline.index("NPS Dana Fox Feb 24, 2026")
        < timeline.index("NPS Dana Fox Feb 11, 2026")
    )
    assert "Support is too slow. " in timeline and "New" in timeline


def test_empty_states_say_what_to_do(alice, alice_account, login):
    page = text(login(alice).get(f"/accounts/{alice_account.pk}/"))
    assert "No health score yet." in page and "Scores are computed nightly" in page
    assert "No health history in the last 12 months." in page
    assert "No survey answers in the last 12 months." in page and "ask your admin" in page
    assert "No values in the last 90 days" in page and "No metric values for this account yet" in page
    assert "No check-ins logged yet. Log the first one above after your next call." in page
    assert "No contacts yet." in page


# ---- The inline forms -----------------------------------------------------------------------


def test_htmx_checkin_post_returns_only_the_section(alice, alice_account, login):
    response = login(alice).post(
        f"/accounts/{alice_account.pk}/checkins/",
        {"date": timezone.localdate().isoformat(), "sentiment": "4", "notes": "Renewal looks safe"},
        headers=HTMX,
    )
    fragment = response.content.decode()
    assert response.status_code == 200 and "<html" not in fragment
    assert fragment.strip().startswith('<section id="checkins"') and "Renewal looks safe" in fragment
    assert CheckIn.objects.get().notes == "Renewal looks safe"


@pytest.mark.parametrize("odd", [datetime.date(1, 1, 1), datetime.date(9999, 12, 31)])
def test_an_odd_stored_date_still_shows_the_page_to_everyone(alice, bob, maria, alice_account, login, odd):
    """A check-in dated 0001-01-01 (stored before dates had bounds) made the page answer 500 for everyone."""
    metric = MetricDefinitionFactory(key="seats", label="Seats")
    MetricValueFactory(account=alice_account, metric=metric, date=odd, value=3)
    CheckInFactory(account=alice_account, date=min(odd, TODAY), next_checkin_on=odd, notes="From an old tool")
    for person in (alice, bob, maria):
        response = login(person).get(f"/accounts/{alice_account.pk}/")
        page = response.content.decode()
        assert response.status_code == 200, person
        assert "From an old tool" in page
        assert f"{odd:%b} {odd.day}, {odd.year:04d}" in page  # the stored date, as it is


def test_bad_checkin_without_script_shows_the_error_on_a_page(alice, alice_account, login):
    response = login(alice).post(f"/accounts/{alice_account.pk}/checkins/", {"date": "2999-01-01", "sentiment": "3"})
    page = response.content.decode()
    assert response.status_code == 422 and "<html" in page
    assert "the date cannot be in the future" in page and f'href="/accounts/{alice_account.pk}/"' in page
    assert not CheckIn.objects.exists()


def test_checkin_without_script_redirects_to_the_account_page(alice, alice_account, login):
    response = login(alice).post(
        f"/accounts/{alice_account.pk}/checkins/", {"date": timezone.localdate().isoformat(), "sentiment": "4"}
    )
    assert response.status_code == 302 and response["Location"] == f"/accounts/{alice_account.pk}/"


# ---- Queries --------------------------------------------------------------------------------


def _grow(account, rows: int, contact, metric):
    today = timezone.localdate()
    for n in range(rows):
        CheckInFactory(account=account, date=today - datetime.timedelta(days=7 * n + 1), notes=f"Call {n}")
        ResponseFactory(
            account=account,
            contact=contact,
            score=n % 11,
            comment=f"Comment {n}",
            answered_at=at(today) - datetime.timedelta(days=3 * n),
        )
        MetricValueFactory(account=account, metric=metric, date=today - datetime.timedelta(days=n))
        HealthSnapshotFactory(account=account, date=today - datetime.timedelta(days=5 * n), score=40.0 + n)
        NotificationFactory(user=account.owner, key=f"low-score:{account.pk}:{n}", url=account.get_absolute_url())


@pytest.mark.parametrize("rows", [2, 30])
def test_query_count_is_constant(alice, alice_account, login, django_assert_max_num_queries, rows):
    _grow(alice_account, rows, ContactFactory(account=alice_account), MetricDefinitionFactory(key="usage"))
    OverrideFactory(account=alice_account)
    client = login(alice)
    with django_assert_max_num_queries(20):  # 13, tasks: open, closed, owners; renewal: terms, calls, children, reasons
        assert client.get(f"/accounts/{alice_account.pk}/").status_code == 200


@pytest.mark.parametrize("children", [2, 30])
def test_query_count_of_a_parent_is_constant(
    alice, bob, carol, alice_account, login, django_assert_max_num_queries, children
):
    _grow(alice_account, 2, ContactFactory(account=alice_account), MetricDefinitionFactory(key="usage"))
    for n in range(children):
        child = AccountFactory(owner=(alice, bob, carol)[n % 3], parent=alice_account)
        HealthSnapshotFactory(account=child, score=30.0 + n)
        ResponseFactory(account=child, score=n % 11)
    client = login(alice)
    with django_assert_max_num_queries(23):  # 18, and the rollup: subtree, children in scope, overrides, tasks, answers
        assert client.get(f"/accounts/{alice_account.pk}/").status_code == 200


def test_query_count_is_the_same_at_two_sizes(alice, login):
    metric = MetricDefinitionFactory(key="usage")
    small, large = AccountFactory(owner=alice), AccountFactory(owner=alice)
    _grow(small, 2, ContactFactory(account=small), metric)
    _grow(large, 30, ContactFactory(account=large), metric)
    client = login(alice)
    counts = []
    for account in (small, large):
        with CaptureQueriesContext(connection) as queries:
            client.get(f"/accounts/{account.pk}/")
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_another_csm_in_another_team_cannot_post_checkins(carol, alice_account, login):
    response = login(carol).post(f"/accounts/{alice_account.pk}/checkins/", {"date": "2026-01-05", "sentiment": "4"})
    assert response.status_code == 404 and not CheckIn.objects.exists()


def test_a_csm_without_team_sees_only_their_own(db, alice_account, login):
    loner = UserFactory(email="loner@pulse.test", team=None)
    own = AccountFactory(owner=loner)
    client = login(loner)
    assert client.get(f"/accounts/{own.pk}/").status_code == 200
    assert client.get(f"/accounts/{alice_account.pk}/").status_code == 404


# ---- Survey figures: one definition, with n -------------------------------------------------


def test_survey_figures_are_the_accounts_results_with_n_and_health_names_its_own_rule(
    alice, alice_account, login, frozen
):
    from scoring.services import health_recompute

    contact = ContactFactory(account=alice_account)
    ResponseFactory(account=alice_account, contact=contact, kind="nps", score=0, answered_at=at(day(-200)))
    ResponseFactory(account=alice_account, contact=contact, kind="nps", score=10, answered_at=at(day(-10)))
    ResponseFactory(account=alice_account, contact=contact, kind="csat", score=2, answered_at=at(day(-5)))
    CheckInFactory(account=alice_account, date=day(-3), sentiment=4)  # enough coverage for a score
    health_recompute(as_of=TODAY, alert=False)

    response = login(alice).get(f"/accounts/{alice_account.pk}/")
    page = text(response)
    figures = {figures.kind: figures.headline for figures in response.context["survey_figures"]}

    # The account's figures: every answer of the last 12 months, as Results counts them.
    assert (figures["nps"].text, figures["nps"].result.n) == ("0", 2)
    assert (figures["csat"].text, figures["csat"].result.n) == ("0%", 1)
    assert re.search(r"NPS 0 .*?n = 2", page) and re.search(r"CSAT 0% .*?n = 1", page)
    assert f"?account={alice_account.pk}&amp;period=365&amp;kind=nps" in response.content.decode()
    # Health deliberately reads each contact's latest answer in its window, and says so with its n.
    # (The default model's survey inputs read 180 days.)
    assert "NPS n = 1 · latest answer per contact, last 180 days +100" in page
    assert "CSAT n = 1 · latest answer per contact, last 180 days 0%" in page
