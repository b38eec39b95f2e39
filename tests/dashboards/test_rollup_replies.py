"""The rollup's replies to low scores: the median time to a first reply and the share within the SLA,
per CSM, team, segment and in total, against figures worked out by hand below."""

import datetime

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from dashboards.rollup import compute_rollup
from tests.dashboards.test_rollup import cells
from tests.factories import (
    AccountFactory,
    CommentFactory,
    FeedbackReplyFactory,
    ResponseFactory,
    TeamFactory,
    UserFactory,
)

NOW = datetime.datetime(2025, 3, 19, 12, 0, tzinfo=datetime.UTC)
URL = "/team/"
H = datetime.timedelta(hours=1)
D = datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def replies(alice, bob, carol):
    """Each low score: (owner, segment, kind, score, answered ago, hours to each sent reply)."""
    accounts = {
        "alice": AccountFactory(owner=alice, segment="smb"),
        "bob": AccountFactory(owner=bob, segment="enterprise"),
        "carol": AccountFactory(owner=carol, segment="smb"),
    }
    low_scores = [
        ("alice", "nps", 3, 10 * D, [2]),  # within the 48 h
        ("alice", "csat", 1, 9 * D, [30]),  # within
        ("alice", "ces", 2, 8 * D, [72]),  # late
        ("alice", "nps", 0, 7 * D, []),  # never: late
        ("alice", "nps", 5, 10 * H, []),  # not replied, still within the SLA: not due yet
        ("alice", "nps", 6, 6 * D, [10, 4]),  # the first reply counts: 4 h
        ("bob", "nps", 2, 3 * D, [50]),  # late
        ("bob", "nps", 1, 2 * D, [1]),  # within
        ("carol", "nps", 4, 5 * D, [12]),  # within
    ]
    for owner, kind, score, ago, hours in low_scores:
        answer = CommentFactory(account=accounts[owner], kind=kind, score=score, answered_at=NOW - ago)
        for after in hours:
            FeedbackReplyFactory(response=answer, created_at=answer.answered_at + after * H)
    alice_account = accounts["alice"]
    # Not counted: a reply never sent (the answer is late), a high score, no comment, no contact, before the period.
    unsent = CommentFactory(account=alice_account, kind="csat", score=2, answered_at=NOW - 4 * D)
    FeedbackReplyFactory(response=unsent, created_at=NOW - 4 * D + H, sent_at=None)
    FeedbackReplyFactory(response=CommentFactory(account=alice_account, score=7, answered_at=NOW - D))
    ResponseFactory(account=alice_account, kind="nps", score=0, comment="", answered_at=NOW - D)
    CommentFactory(account=alice_account, contact=None, score=0, answered_at=NOW - D)
    FeedbackReplyFactory(response=CommentFactory(account=alice_account, score=0, answered_at=NOW - 100 * D))
    return accounts


def figures(row) -> tuple:
    return (row.low_scores, row.reply_median_hours, row.replied_in_sla, row.reply_due, row.reply_sla_share)


def test_per_csm_and_segment_figures_match_the_hand_computed_ones(maria, replies):
    rollup = compute_rollup(user=maria)
    owners = {row.label: figures(row) for row in rollup.owners}
    # Alice: 7 low scores (the unsent reply's is one); replied after 2, 30, 72, 4 h: median (4 + 30) / 2;
    # within 48 h: 2, 30, 4; one still within its SLA, so 6 due.
    assert owners["Alice Archer"] == (7, 17.0, 3, 6, 50.0)
    assert owners["Bob Brown"] == (2, 25.5, 1, 2, 50.0)
    segments = {row.key: figures(row) for row in rollup.segments}
    assert segments == {"smb": owners["Alice Archer"], "enterprise": owners["Bob Brown"]}
    # Team A: replied after 1, 2, 4, 30, 50, 72 h; 4 of 8 due within the SLA.
    assert figures(rollup.total) == (9, 17.0, 4, 8, 50.0)
    assert [(row.label, figures(row)) for row in rollup.teams] == [("Team A", figures(rollup.total))]


def test_an_admin_gets_a_row_per_team(adam, replies):
    rollup = compute_rollup(user=adam)
    teams = {row.label: figures(row) for row in rollup.teams}
    assert teams == {"Team A": (9, 17.0, 4, 8, 50.0), "Team B": (1, 12.0, 1, 1, 100.0)}
    # Everyone: replied after 1, 2, 4, 12, 30, 50, 72 h; 5 of 9 due within the SLA.
    assert figures(rollup.total) == (10, 12.0, 5, 9, pytest.approx(500 / 9))


def test_the_sla_comes_from_the_setting(maria, replies, settings):
    settings.FEEDBACK_REPLY_SLA_HOURS = 24
    alice_row = next(row for row in compute_rollup(user=maria).owners if row.label == "Alice Archer")
    # Within 24 h: 2 and 4 h; the 10-hour-old unreplied one is still within, so 6 due.
    assert figures(alice_row) == (7, 17.0, 2, 6, pytest.approx(100 / 3))


def test_the_page_shows_the_figures_with_their_n_and_links_to_the_inbox(maria, replies, login, alice):
    page = cells(login(maria).get(URL))
    assert page["Alice Archer"]["reply-median"]["text"] == "17 h n = 7"
    assert page["Alice Archer"]["reply-sla"]["text"] == "50% 3 of 6"
    assert page["Bob Brown"]["reply-median"]["text"] == "25.5 h n = 2"
    assert page["Total"]["reply-sla"]["text"] == "50% 4 of 8"
    assert page["Alice Archer"]["reply-median"]["links"] == [f"/feedback/?status=all&low=on&owner={alice.pk}"]
    assert page["Alice Archer"]["reply-sla"]["titles"] == ["3 of 6 replied within 48 hours; 1 still within it"]


def test_a_team_of_an_admin_has_its_row_and_its_link(adam, replies, login, team_b):
    page = cells(login(adam).get(URL))
    assert page["Team B"]["reply-median"]["text"] == "12 h n = 1"
    assert page["Team B"]["reply-median"]["links"] == [f"/feedback/?status=all&low=on&team={team_b.pk}"]
    assert page["Total"]["reply-median"]["text"] == "12 h n = 10"
    assert page["Total"]["reply-sla"]["text"] == "56% 5 of 9"


def test_without_low_scores_the_figures_are_dashes_with_n_0(maria, login, alice):
    AccountFactory(owner=alice)
    page = cells(login(maria).get(URL))
    assert page["Alice Archer"]["reply-median"]["text"] == "— n = 0"
    assert page["Alice Archer"]["reply-sla"]["text"] == "— 0 of 0"
    assert page["Alice Archer"]["reply-median"]["links"] == []


def _teams_with_replies(size: int) -> None:
    for n in range(size):
        csm = UserFactory(role=User.Role.CSM, team=TeamFactory(name=f"Team {n}"))
        for ago in (2 * D, 5 * D):
            answer = CommentFactory(account=AccountFactory(owner=csm), kind="nps", score=n % 7, answered_at=NOW - ago)
            FeedbackReplyFactory(response=answer, created_at=answer.answered_at + (n + 1) * H)


def test_the_reply_figures_cost_the_same_queries_whatever_the_number_of_teams_and_csms(adam):
    def queries() -> int:
        cache.clear()  # the survey figures and the trend are cached: both runs compute them
        with CaptureQueriesContext(connection) as captured:
            rollup = compute_rollup(user=adam)
        return len(captured.captured_queries), len(rollup.teams)

    _teams_with_replies(2)
    small, small_teams = queries()
    _teams_with_replies(20)
    large, large_teams = queries()
    assert (small_teams, large_teams) == (2, 20) and large == small  # team names repeat: 20 teams
