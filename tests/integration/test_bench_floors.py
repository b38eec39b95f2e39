"""The benchmark's SQL floors (bench/floors.py) read what the pages show: on a small data set, each floor's
figures equal the ones the page's selectors compute. PostgreSQL only, like the floors."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from bench import floors
from dashboards.account_page import account_page_context, accounts_for
from dashboards.portfolio import coming_up, portfolio_load
from dashboards.rollup import compute_rollup, health_trend, reply_cells, rollup_accounts, survey_cells
from playbooks.models import Task
from playbooks.selectors import my_tasks
from surveys.models import Invitation
from tests.factories import (
    AccountFactory,
    CheckInFactory,
    CommentFactory,
    FeedbackReplyFactory,
    ForecastCallFactory,
    HealthSnapshotFactory,
    InvitationFactory,
    MetricValueFactory,
    NotificationFactory,
    OverrideFactory,
    RenewalFactory,
    ResponseFactory,
    answered_invitation,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("postgres")]


@pytest.fixture(autouse=True)
def _today():
    """A fixed Wednesday noon: the floors and the pages count days, weeks and periods from it."""
    with time_machine.travel(datetime.datetime(2026, 6, 17, 12, tzinfo=datetime.UTC), tick=False):
        yield


@pytest.fixture
def book(alice, bob, carol):
    """Alice's portfolio: red, yellow, green and unscored accounts, two overrides, answers, comments, tasks,
    renewals with and without a call, a churned account; and accounts of Bob and Carol for the rollup."""
    today = timezone.localdate()
    red = AccountFactory(name="Red One", owner=alice, arr=10_000, renewal_date=today + datetime.timedelta(days=20))
    yellow = AccountFactory(name="Yellow Two", owner=alice, arr=20_000)
    green = AccountFactory(name="Green Three", owner=alice, arr=30_000, segment="smb")
    AccountFactory(name="Unscored Four", owner=alice, arr=40_000)
    AccountFactory(name="Gone Five", owner=alice, status="churned", churned_on=today)
    for account, scores in ((red, (55, 30)), (yellow, (70, 55)), (green, (80, 90))):
        HealthSnapshotFactory(account=account, date=today - datetime.timedelta(days=40), score=scores[0])
        HealthSnapshotFactory(account=account, date=today, score=scores[1])
    OverrideFactory(account=green, band="red")
    OverrideFactory(account=yellow, band="", score=85)
    for score in (10, 9, 6, 3):
        ResponseFactory(account=red, score=score)
    ResponseFactory(account=green, score=8, answered_at=timezone.now() - datetime.timedelta(days=400))
    comment = CommentFactory(account=red, score=2)
    FeedbackReplyFactory(response=comment)
    CommentFactory(account=yellow, score=5)
    CheckInFactory(account=red, date=today - datetime.timedelta(days=10), next_checkin_on=today + datetime.timedelta(3))
    for due in (-3, 0, 2, 30):
        Task.objects.create(account=red, title=f"Due {due}", owner=alice, due_on=today + datetime.timedelta(days=due))
    ForecastCallFactory(
        renewal=RenewalFactory(account=red, renewal_date=red.renewal_date), made_on=today - datetime.timedelta(days=60)
    )
    RenewalFactory(account=green, renewal_date=today + datetime.timedelta(days=200))
    invitation = InvitationFactory(contact__account=yellow)
    ResponseFactory(invitation=invitation, score=9)
    invitation.status = Invitation.Status.RESPONDED
    invitation.save()
    MetricValueFactory(account=red, date=today - datetime.timedelta(days=5))
    NotificationFactory(user=alice, url=f"/accounts/{red.pk}/")
    other = AccountFactory(name="Bob's", owner=bob, arr=5_000)
    HealthSnapshotFactory(account=other, score=20)
    answered_invitation(account=AccountFactory(name="Carol's", owner=carol), score=1, comment="Slow.")
    return {"red": red, "green": green}


def test_portfolio_floor_reads_the_figures_the_portfolio_shows(alice, book):
    today = timezone.localdate()
    page = portfolio_load(csm=alice, viewer=alice, today=today)
    panel = coming_up(page)
    tasks = my_tasks(user=alice, today=today)

    floor = floors.portfolio_floor(csm_id=alice.pk, team_id=alice.team_id, today=today)

    assert floor["accounts"] == len(page.rows) == 4
    assert floor["arr"] == page.total_arr
    assert floor["bands"] == {band: count for band, _, count in page.band_counts}
    assert floor["bands"] == {"red": 2, "yellow": 0, "green": 1, "none": 1}  # the overrides moved two
    assert floor["churned"] == page.churned_count == 1
    nps = {row.account.pk: row.nps for row in page.rows if row.nps is not None}
    assert {pk: n for pk, (n, _, _) in floor["nps"].items()} == {pk: result.n for pk, result in nps.items()}
    assert {pk: 100 * (p - d) / n for pk, (n, p, d) in floor["nps"].items()} == {
        pk: result.value for pk, result in nps.items()
    }
    assert floor["open_feedback"] == sum(row.open_feedback for row in page.rows) == 2
    assert floor["open_tasks"] == sum(row.open_tasks for row in page.rows) == 4
    assert floor["comments"] == [comment.pk for comment in panel.comments]
    assert floor["to_call"] == [renewal.pk for renewal in panel.to_call] != []
    assert {group: floor["my_tasks"].get(group, 0) for group in tasks.counts} == tasks.counts
    listed = tasks.overdue + tasks.today + tasks.this_week
    assert floor["my_tasks_listed"] == sorted(task.pk for task in listed)


def test_rollup_floors_read_the_figures_the_rollup_shows(adam, book, settings):
    today, now = timezone.localdate(), timezone.now()
    page = compute_rollup(user=adam, today=today)

    floor = floors.rollup_floor(viewer_id=adam.pk, today=today)

    total = page.total
    assert floor["accounts"] == total.accounts == 6
    assert floor["arr"] == total.arr
    assert floor["scored"] == total.scored
    assert floor["score_total"] == pytest.approx(total.score_total)
    assert floor["bands"] == {band: (amount.count, amount.arr) for band, amount in total.bands.items()}
    assert floor["renewing"] == {band: (amount.count, amount.arr) for band, amount in total.renewals.items()}
    assert floor["tasks"] == (total.tasks_open, total.tasks_overdue)
    assert floor["owners"] == {row.key for row in page.owners}
    assert floor["thresholds"] == (page.red_below, page.green_from)

    sla = settings.FEEDBACK_REPLY_SLA_HOURS
    cold = floors.rollup_cold_floor(today=today, now=now, sla_hours=sla)
    accounts = rollup_accounts(user=adam)
    answers, invitations = survey_cells(accounts=accounts, start=page.period_start, today=today)
    by_kind = {}
    for _, _, kind, score, n in answers:
        by_kind.setdefault(kind, {}).setdefault(score, 0)
        by_kind[kind][score] += n
    assert cold["answers"] == by_kind
    assert (cold["sent"], cold["answered"]) == (total.sent, total.answered) == (2, 2)
    replies = reply_cells(accounts=accounts, start=page.period_start, today=today, sla_hours=sla, now=now)
    assert cold["low_scores"] == total.low_scores == 3
    assert cold["replied"] == sum(n for *_, wait, _, n in replies if wait is not None) == 1
    trend = health_trend(accounts=accounts, today=today)
    assert cold["trend"] == {
        min(point.week + datetime.timedelta(days=6), today): (pytest.approx(point.mean), point.accounts)
        for point in trend
        if point.accounts
    }


def test_account_floor_reads_the_figures_the_account_page_shows(alice, book):
    today = timezone.localdate()
    for pk in (book["red"].pk, book["green"].pk):
        page = account_page_context(account=accounts_for(alice).get(pk=pk), today=today)

        floor = floors.account_floor(account_id=pk, viewer_id=alice.pk, team_id=alice.team_id, today=today)

        assert floor["checkins"] == len(page["checkins"])
        assert floor["snapshots"] >= page["trend_points"]
        assert floor["latest_score"] == (page["snapshot"].score if page["snapshot"] else None)
        assert floor["components"] == page["snapshot"].version.components.count()
        assert floor["answers"] >= len(page["answers"])
        figures = {item.kind: item.headline.result.n for item in page["survey_figures"]}
        assert {kind: sums["n"] for kind, sums in floor["survey_figures"].items()} == figures
        assert floor["alerts"] == len(page["since"].alerts)
        assert floor["metric_values"] == sum(len(row.points) for row in page["metrics"])
