"""The team rollup: who sees which teams, every number against the data computed here by hand,
drill-downs that open exactly the accounts behind a number, HTMX, empty states, query counts."""

import datetime
import functools
import html as html_lib
import json
import re
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account, User
from dashboards.rollup import compute_rollup
from scoring.models import DEFAULT_GREEN_FROM, DEFAULT_RED_BELOW
from surveys.models import Invitation, Kind
from tests import helpers
from tests.factories import (
    AccountFactory,
    CommentFactory,
    FeedbackReplyFactory,
    HealthSnapshotFactory,
    InvitationFactory,
    OverrideFactory,
    ResponseFactory,
    TeamFactory,
    UserFactory,
)
from tests.helpers import HTMX, at

URL = "/team/"
TODAY = datetime.date(2025, 3, 19)  # a Wednesday
day = functools.partial(helpers.day, today=TODAY)
NOW = datetime.datetime(2025, 3, 19, 12, 0, tzinfo=datetime.UTC)
RED_BELOW, GREEN_FROM = DEFAULT_RED_BELOW, DEFAULT_GREEN_FROM  # the default model's bands (PRODUCT.md)


@pytest.fixture(autouse=True)
def frozen_today():
    """Every date below is relative to one fixed day, so windows (90 days, 12 months) are exact."""
    with time_machine.travel(NOW, tick=False):
        yield


# ---- The data set: plain data first, so the expected numbers can be computed from it by hand ----

# name: (owner, segment, ARR, renewal in N days or None, status, [(snapshot day offset, score or None)])
ACCOUNTS = {
    "Alpha One": ("alice", "smb", 100_000, 10, "active", [(-40, 80.0), (-1, 30.0)]),
    "Alpha Two": ("alice", "smb", 50_000, 100, "active", [(0, 55.0), (1, 95.0)]),  # tomorrow's is ignored
    "Alpha Three": ("alice", "enterprise", 200_000, 90, "active", []),  # no snapshot: not enough data
    "Alpha Gone": ("alice", "enterprise", 999_000, 20, "churned", [(0, 10.0)]),  # churned: not counted
    "Bravo One": ("bob", "mid_market", 80_000, 0, "active", [(-3, 75.0)]),
    "Bravo Two": ("bob", "smb", 20_000, -5, "active", [(-10, None), (-2, 35.0)]),  # renewal already past
    "Bravo Three": ("bob", "mid_market", 40_000, None, "active", [(-20, 90.0), (-2, None)]),
    "Charlie One": ("carol", "smb", 500_000, 30, "active", [(0, 10.0)]),  # team B: never on maria's page
}
# (account, kind, score, answered N days ago)
ANSWERS = [
    ("Alpha One", Kind.NPS, 10, 1),
    ("Alpha One", Kind.NPS, 9, 30),
    ("Alpha One", Kind.NPS, 3, 89),  # the first day of the 90-day period
    ("Alpha One", Kind.NPS, 0, 100),  # only in the 12-month period
    ("Alpha Two", Kind.CSAT, 5, 2),
    ("Alpha Two", Kind.CSAT, 3, 5),
    ("Alpha Gone", Kind.NPS, 0, 3),  # churned account: not counted
    ("Bravo One", Kind.NPS, 7, 4),
    ("Bravo One", Kind.CES, 6, 4),
    ("Bravo One", Kind.CES, 4, 6),
    ("Bravo Two", Kind.CSAT, 4, 8),
    ("Charlie One", Kind.NPS, 0, 1),
]
# (account, status, sent N days ago)
INVITATIONS = [
    ("Alpha One", Invitation.Status.RESPONDED, 1),
    ("Alpha One", Invitation.Status.RESPONDED, 30),
    ("Alpha One", Invitation.Status.SENT, 10),
    ("Alpha Two", Invitation.Status.SENT, 2),
    ("Alpha Two", Invitation.Status.RESPONDED, 200),  # only in the 12-month period
    ("Bravo One", Invitation.Status.RESPONDED, 4),
    ("Bravo One", Invitation.Status.FAILED, 4),  # never went out: not sent
    ("Bravo Two", Invitation.Status.SENT, 8),
    ("Charlie One", Invitation.Status.SENT, 1),
]


@pytest.fixture
def dataset(cast):
    accounts = {}
    for name, (owner, segment, arr, renewal, status, snapshots) in ACCOUNTS.items():
        account = AccountFactory(
            name=name,
            owner=cast[owner],
            segment=segment,
            arr=arr,
            renewal_date=None if renewal is None else day(renewal),
            status=status,
            churned_on=day(-1) if status == "churned" else None,
        )
        for offset, score in snapshots:
            HealthSnapshotFactory(account=account, date=day(offset), score=score)
        accounts[name] = account
    for name, kind, score, days_ago in ANSWERS:
        ResponseFactory(account=accounts[name], kind=kind, score=score, answered_at=at(day(-days_ago)))
    for name, status, days_ago in INVITATIONS:
        InvitationFactory(contact__account=accounts[name], status=status, sent_at=at(day(-days_ago)))
    return accounts


# ---- The expected numbers, by hand from the lists above ----


def band_of(score):
    if score is None:
        return "none"
    return "red" if score < RED_BELOW else "green" if score >= GREEN_FROM else "yellow"


def expected(names: list[str], period_days: int = 90) -> dict:
    """Every number of one rollup row over the given (active) accounts."""
    rows = [(name, ACCOUNTS[name]) for name in names if ACCOUNTS[name][4] == "active"]
    out = {
        "accounts": len(rows),
        "arr": Decimal(sum(spec[2] for _, spec in rows)),
        "bands": {band: [0, Decimal(0)] for band in ("red", "yellow", "green", "none")},
        "renewals": {band: [0, Decimal(0)] for band in ("red", "yellow", "green", "none")},
        "scores": [],
    }
    for _, (_, _, arr, renewal, _, snapshots) in rows:
        past = [(offset, score) for offset, score in snapshots if offset <= 0]
        score = max(past)[1] if past else None
        band = band_of(score)
        out["bands"][band][0] += 1
        out["bands"][band][1] += arr
        if score is not None:
            out["scores"].append(score)
        if renewal is not None and 0 <= renewal <= 90:
            out["renewals"][band][0] += 1
            out["renewals"][band][1] += arr
    out["mean"] = sum(out["scores"]) / len(out["scores"]) if out["scores"] else None
    active = {name for name, _ in rows}
    answers = [(kind, score) for name, kind, score, ago in ANSWERS if name in active and ago < period_days]
    nps = [score for kind, score in answers if kind == Kind.NPS]
    csat = [score for kind, score in answers if kind == Kind.CSAT]
    ces = [score for kind, score in answers if kind == Kind.CES]
    out["nps"] = (
        100 * (sum(s >= 9 for s in nps) - sum(s <= 6 for s in nps)) / len(nps) if nps else None,
        len(nps),
    )
    out["csat"] = (100 * sum(s >= 4 for s in csat) / len(csat) if csat else None, len(csat))
    out["ces"] = (sum(ces) / len(ces) if ces else None, len(ces))
    sent = [status for name, status, ago in INVITATIONS if name in active and ago < period_days and status != "failed"]
    out["sent"], out["answered"] = len(sent), sent.count(Invitation.Status.RESPONDED)
    return out


def names_of(owner=None, segment=None, team=("alice", "bob")):
    return [
        name
        for name, (who, seg, *_rest) in ACCOUNTS.items()
        if who in team and (owner is None or who == owner) and (segment is None or seg == segment)
    ]


def assert_row(row, want: dict):
    """Every number of a RollupRow against the hand-computed ones."""
    assert row.accounts == want["accounts"]
    assert row.arr == want["arr"]
    assert row.scored == len(want["scores"])
    assert row.mean_health == pytest.approx(want["mean"]) if want["mean"] is not None else row.mean_health is None
    for band, (count, arr) in want["bands"].items():
        assert (row.bands[band].count, row.bands[band].arr) == (count, arr), band
        assert (row.renewals[band].count, row.renewals[band].arr) == tuple(want["renewals"][band]), band
    assert (row.at_risk.count, row.at_risk.arr) == tuple(want["bands"]["red"])
    assert (row.nps.value, row.nps.n) == (pytest.approx(want["nps"][0]), want["nps"][1])
    assert (row.csat.value, row.csat.n) == (pytest.approx(want["csat"][0]), want["csat"][1])
    assert (row.ces.value, row.ces.n) == (pytest.approx(want["ces"][0]), want["ces"][1])
    assert (row.sent, row.answered) == (want["sent"], want["answered"])


# ---- Reading the page ----


class CellParser(HTMLParser):
    """{row name: {data-cell: {"text", "links", "titles"}}} from the rollup's tables (rows merge across tables)."""

    def __init__(self):
        super().__init__()
        self.rows: dict[str, dict] = {}
        self._row_name = None
        self._in_th = False
        self._th_text = ""
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr":
            self._row_name, self._th_text = None, ""
        elif tag == "th" and attrs.get("scope") == "row":
            self._in_th, self._th_text = True, ""
        elif tag == "td" and "data-cell" in attrs:
            self._cell = {"text": "", "links": [], "titles": []}
            self.rows.setdefault(self._row_name, {})[attrs["data-cell"]] = self._cell
        elif self._cell is not None and tag in ("a", "span"):
            if attrs.get("href"):
                self._cell["links"].append(html_lib.unescape(attrs["href"]))
            if attrs.get("title"):
                self._cell["titles"].append(attrs["title"])

    def handle_endtag(self, tag):
        if tag == "th" and self._in_th:
            self._in_th = False
            self._row_name = " ".join(self._th_text.split())
        elif tag == "td":
            if self._cell is not None:
                self._cell["text"] = " ".join(self._cell["text"].split())
            self._cell = None

    def handle_data(self, data):
        if self._in_th:
            self._th_text += data
        elif self._cell is not None:
            self._cell["text"] += " " + data


def cells(response) -> dict:
    parser = CellParser()
    parser.feed(response.content.decode())
    return parser.rows


def rollup_of(response):
    return response.context["rollup"]


def row_named(rows, label):
    found = [row for row in rows if row.label == label]
    assert len(found) == 1, f"no single row {label!r} in {[row.label for row in rows]}"
    return found[0]


# ---- Who may open it, and whose numbers they see ----


def test_anonymous_is_sent_to_the_login_page(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_manager_sees_the_csms_of_her_team_and_never_another_teams(login, maria, dataset):
    response = login(maria).get(URL)

    assert response.status_code == 200
    rollup = rollup_of(response)
    assert [row.label for row in rollup.owners] == ["Alice Archer", "Bob Brown"]
    body = response.content.decode()
    assert "Carol Chen" not in body
    assert "Charlie One" not in body
    assert "500k" not in body and "500,000" not in body  # carol's ARR, in no cell and no total
    assert_row(rollup.total, expected(names_of()))


def test_admin_sees_every_team_and_can_narrow_to_one(login, adam, dataset, team_b):
    response = login(adam).get(URL)

    assert [row.label for row in rollup_of(response).owners] == ["Alice Archer", "Bob Brown", "Carol Chen"]
    assert_row(rollup_of(response).total, expected(names_of(team=("alice", "bob", "carol"))))
    assert '<select name="team"' in response.content.decode()

    narrowed = login(adam).get(URL, {"team": team_b.pk})

    assert [row.label for row in rollup_of(narrowed).owners] == ["Carol Chen"]
    assert_row(rollup_of(narrowed).total, expected(names_of(team=("carol",))))


def test_csm_may_open_it_read_only_for_her_own_team(login, alice, dataset, team_b):
    response = login(alice).get(URL, {"team": team_b.pk})  # not a choice for a CSM: ignored

    assert response.status_code == 200
    assert [row.label for row in rollup_of(response).owners] == ["Alice Archer", "Bob Brown"]
    assert "Carol Chen" not in response.content.decode()
    assert '<select name="team"' not in response.content.decode()
    assert '<form method="post"' not in response.content.decode().split('id="rollup"')[1]  # nothing to change


def test_manager_of_two_teams_picks_one_and_cannot_pick_a_third(login, dataset, team_a, team_b):
    other = TeamFactory(name="Team C")
    dora = UserFactory(email="dora@pulse.test", name="Dora Dean", role=User.Role.CSM, team=other)
    AccountFactory(name="Delta One", owner=dora, arr=7_000)
    boss = UserFactory(email="boss@pulse.test", name="Boss", role=User.Role.MANAGER)
    boss.managed_teams.add(team_a, team_b)

    both = login(boss).get(URL)
    only_b = login(boss).get(URL, {"team": team_b.pk})
    not_hers = login(boss).get(URL, {"team": other.pk})

    assert [row.label for row in rollup_of(both).owners] == ["Alice Archer", "Bob Brown", "Carol Chen"]
    assert [row.label for row in rollup_of(only_b).owners] == ["Carol Chen"]
    assert [row.label for row in rollup_of(not_hers).owners] == ["Alice Archer", "Bob Brown", "Carol Chen"]
    assert "that team is not one of yours" in not_hers.content.decode()
    assert "Delta One" not in not_hers.content.decode() and "Dora Dean" not in not_hers.content.decode()


def test_a_team_link_shows_in_the_navigation_for_managers_and_admins_only(login, maria, adam, alice):
    link = f'href="{URL}"'

    assert link in login(maria).get("/accounts/").content.decode()
    assert link in login(adam).get("/accounts/").content.decode()
    assert link not in login(alice).get("/accounts/").content.decode()
    assert 'aria-current="page">Team</a>' in login(maria).get(URL).content.decode()


# ---- The numbers ----


def test_every_csm_segment_and_total_number_matches_the_data(login, maria, dataset):
    rollup = rollup_of(login(maria).get(URL))

    for owner, label in (("alice", "Alice Archer"), ("bob", "Bob Brown")):
        assert_row(row_named(rollup.owners, label), expected(names_of(owner=owner)))
    for segment, label in (("smb", "SMB"), ("mid_market", "Mid-market"), ("enterprise", "Enterprise")):
        assert_row(row_named(rollup.segments, label), expected(names_of(segment=segment)))
    assert_row(rollup.total, expected(names_of()))


def test_spot_checks_by_hand(login, maria, dataset):
    """A few of the numbers written out, so a mistake in `expected` cannot hide one in the page."""
    rollup = rollup_of(login(maria).get(URL))
    alice = row_named(rollup.owners, "Alice Archer")

    assert (alice.accounts, alice.arr) == (3, Decimal(350_000))  # the churned account is left out
    assert alice.mean_health == pytest.approx((30 + 55) / 2)  # latest on or before today; none for Alpha Three
    assert (alice.bands["red"].count, alice.bands["none"].arr) == (1, Decimal(200_000))
    assert (alice.renewing.count, alice.renewing.arr) == (2, Decimal(300_000))  # in 10 and in 90 days
    assert (alice.nps.value, alice.nps.n) == (pytest.approx(100 / 3), 3)  # 10, 9, 3: 2 promoters, 1 detractor
    assert (alice.csat.value, alice.csat.n) == (50.0, 2)
    assert (alice.rate.value, alice.rate.n) == (pytest.approx(100 * 2 / 4), 4)
    bob = row_named(rollup.owners, "Bob Brown")
    assert bob.renewals["green"].count == 1 and bob.renewing.count == 1  # today counts, 5 days ago does not
    assert bob.bands["none"].count == 1  # the latest snapshot had no score, whatever came before


def test_the_page_shows_each_number_with_its_n(login, maria, dataset):
    page = cells(login(maria).get(URL))
    alice, smb, total = page["Alice Archer"], page["SMB"], page["Total"]

    assert alice["accounts"]["text"] == "3"
    assert alice["arr"]["titles"] == ["350,000"]
    assert alice["health"]["text"] == "43 n = 2"  # (30 + 55) / 2 = 42.5, rounded half away from zero
    assert alice["band-red"]["text"] == "1 100k"
    assert alice["at-risk"]["text"] == "100k 1 account"
    assert alice["renewing"]["text"] == "2 300k"
    assert alice["renewing-none"]["text"] == "1 200k"
    assert alice["nps"]["text"] == "+33 n = 3"
    assert alice["csat"]["text"] == "50% n = 2"
    assert alice["ces"]["text"] == "— n = 0"
    assert alice["rate"]["text"] == "50% 2 of 4"
    assert page["Bob Brown"]["ces"]["text"] == "5.0 n = 2"
    assert smb["accounts"]["text"] == "3" and smb["arr"]["titles"] == ["170,000"]
    assert total["accounts"]["text"] == "6" and total["arr"]["titles"] == ["490,000"]
    assert total["band-red"]["text"] == "2 120k"


def test_the_12_month_period_counts_older_answers_and_invitations(login, maria, dataset):
    rollup = rollup_of(login(maria).get(URL, {"period": "365"}))

    assert_row(rollup.total, expected(names_of(), period_days=365))
    assert row_named(rollup.owners, "Alice Archer").nps.n == 4


def test_an_override_puts_the_account_in_its_band_like_the_portfolio(login, maria, dataset):
    OverrideFactory(account=dataset["Alpha Two"], band="red")  # computed yellow (55)
    OverrideFactory(account=dataset["Alpha Three"], band="", score=80)  # no snapshot: no thresholds, no band

    alice = row_named(rollup_of(login(maria).get(URL)).owners, "Alice Archer")

    assert (alice.bands["red"].count, alice.bands["red"].arr) == (2, Decimal(150_000))
    assert alice.bands["yellow"].count == 0
    assert alice.bands["none"].count == 1
    assert alice.mean_health == pytest.approx(42.5)  # scores stay the computed ones


def test_health_trend_is_the_mean_score_at_the_end_of_each_week(login, maria, alice):
    first = AccountFactory(owner=alice)
    second = AccountFactory(owner=alice)
    monday = TODAY - datetime.timedelta(days=TODAY.weekday())
    last_sunday = monday - datetime.timedelta(days=1)
    HealthSnapshotFactory(account=first, date=TODAY, score=40.0)  # this week's point is today's
    HealthSnapshotFactory(account=second, date=TODAY, score=80.0)
    HealthSnapshotFactory(account=first, date=monday, score=99.0)  # not the week's last day
    HealthSnapshotFactory(account=second, date=last_sunday, score=20.0)  # the week before, on its Sunday
    HealthSnapshotFactory(account=second, date=last_sunday - datetime.timedelta(days=1), score=99.0)
    HealthSnapshotFactory(account=second, date=day(-400), score=99.0)  # older than 12 months

    response = login(maria).get(URL)
    trend = rollup_of(response).trend

    assert len(trend) == 53 and trend[-1].week == monday
    assert (trend[-1].mean, trend[-1].accounts) == (pytest.approx(60.0), 2)
    assert (trend[-2].week, trend[-2].mean, trend[-2].accounts) == (monday - datetime.timedelta(weeks=1), 20.0, 1)
    assert all(point.mean is None for point in trend[:-2])
    source = re.search(
        r'<script id="rollup-chart-data" type="application/json">(.*?)</script>', response.content.decode()
    )
    data = json.loads(source.group(1))
    assert data["trend"]["values"][-2:] == [20.0, 60.0]
    assert (data["trend"]["red_below"], data["trend"]["green_from"]) == (RED_BELOW, GREEN_FROM)
    assert data["bands"]["labels"] == ["Alice Archer"]


def test_the_trend_is_read_once_an_hour_per_set_of_accounts(login, maria, adam, dataset, team_a):
    maria_client = login(maria)
    first = _queries(maria_client)
    again = _queries(maria_client)
    before = rollup_of(maria_client.get(URL)).trend
    HealthSnapshotFactory(account=dataset["Alpha Two"], date=day(-7), score=10.0)

    # The trend, the answers, the invitations, the replies and who was right come from the cache.
    assert again == first - 5
    assert rollup_of(maria_client.get(URL)).trend == before  # the cached series, until it expires
    # An admin narrowed to the same team sees the same accounts: the same cached series.
    assert _queries(login(adam), team=team_a.pk) == _queries(login(adam), team=team_a.pk)


def test_a_new_answer_reaches_the_rollup_within_five_minutes(login, maria, dataset, settings):
    # A cache whose clock is the travelled one (Redis expires keys by its own clock).
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    client = login(maria)
    before = rollup_of(client.get(URL)).total.answers[Kind.NPS]["n"]
    ResponseFactory(account=dataset["Alpha One"], kind=Kind.NPS, score=10, answered_at=at(day(0)))

    assert rollup_of(client.get(URL)).total.answers[Kind.NPS]["n"] == before  # counted a moment ago
    assert "(refreshed every 5 minutes)" in client.get(URL).content.decode()
    with time_machine.travel(NOW + datetime.timedelta(minutes=5, seconds=1), tick=False):
        assert rollup_of(client.get(URL)).total.answers[Kind.NPS]["n"] == before + 1


# ---- Drill-downs ----


def test_a_csms_numbers_open_her_portfolio_filtered_to_them(login, maria, dataset, alice):
    page = cells(login(maria).get(URL))
    portfolio = reverse("dashboards:portfolio_of", args=[alice.pk])

    assert page["Alice Archer"]["accounts"]["links"] == [portfolio]
    assert page["Alice Archer"]["band-red"]["links"] == [f"{portfolio}?band=red"] * 2
    assert page["Alice Archer"]["at-risk"]["links"] == [f"{portfolio}?band=red"]
    assert page["Alice Archer"]["renewing-none"]["links"] == [f"{portfolio}?band=none&renewal=90"] * 2
    assert page["Alice Archer"]["band-green"]["links"] == []  # nothing behind a zero
    nps_link = urlsplit(page["Alice Archer"]["nps"]["links"][0])
    assert nps_link.path == reverse("surveys:results")
    assert parse_qs(nps_link.query) == {"kind": ["nps"], "period": ["90"], "owner": [str(alice.pk)]}


@pytest.mark.parametrize(
    ("cell", "shown", "hidden"),
    [
        ("band-red", {"Alpha One"}, {"Alpha Two", "Alpha Three"}),
        ("renewing-none", {"Alpha Three"}, {"Alpha One", "Alpha Two"}),
        ("accounts", {"Alpha One", "Alpha Two", "Alpha Three"}, {"Alpha Gone", "Bravo One"}),
    ],
)
def test_a_csm_drill_down_resolves_to_exactly_those_accounts(login, maria, dataset, cell, shown, hidden):
    client = login(maria)
    link = cells(client.get(URL))["Alice Archer"][cell]["links"][0]

    # The portfolio's table alone (its HTMX fragment), without its "Coming up" panel.
    body = client.get(link, headers=HTMX).content.decode()

    assert all(name in body for name in shown), link
    assert not any(name in body for name in hidden), link


def test_a_segments_numbers_list_exactly_its_accounts_on_the_page(login, maria, dataset):
    client = login(maria)
    link = cells(client.get(URL))["SMB"]["band-red"]["links"][0]

    response = client.get(link)

    assert urlsplit(link).path == URL
    drill = response.context["drill"]
    assert [account.name for account in drill.accounts] == ["Alpha One", "Bravo Two"]
    assert "Accounts: SMB · Red" in response.content.decode()
    assert reverse("dashboards:account", args=[dataset["Alpha One"].pk]) in response.content.decode()


def test_the_total_renewals_list_the_accounts_renewing_in_90_days(login, maria, dataset):
    client = login(maria)
    link = cells(client.get(URL))["Total"]["renewing"]["links"][0]

    drill = client.get(link).context["drill"]

    assert sorted(account.name for account in drill.accounts) == ["Alpha One", "Alpha Three", "Bravo One"]


def test_the_drill_down_follows_the_overrides_too(login, maria, dataset):
    OverrideFactory(account=dataset["Alpha Two"], band="red")
    OverrideFactory(account=dataset["Alpha One"], band="green")

    drill = login(maria).get(URL, {"show": "accounts", "segment": "smb", "band": "red"}).context["drill"]

    assert [account.name for account in drill.accounts] == ["Alpha Two", "Bravo Two"]


def test_a_drill_down_never_lists_another_teams_accounts(login, maria, dataset):
    body = login(maria).get(URL, {"show": "accounts", "segment": "smb"}).content.decode()

    assert "Charlie One" not in body
    assert "Alpha One" in body


# ---- HTMX, empty states ----


def test_htmx_request_gets_only_the_rollup_fragment(login, maria, dataset):
    response = login(maria).get(URL, {"period": "365"}, headers=HTMX)

    body = response.content.decode()
    assert "<html" not in body and "<nav" not in body.split('id="rollup"')[0]
    assert body.lstrip().startswith('<div id="rollup"')
    assert 'hx-push-url="true"' in body
    assert '<option value="365" selected>' in body
    assert "HX-Request" in response["Vary"]


def test_full_page_on_a_normal_request(login, maria, dataset):
    body = login(maria).get(URL).content.decode()

    assert body.startswith("<!doctype html>")
    assert "<h1>Team rollup</h1>" in body
    assert "js/rollup.js" in body
    assert '<template data-chart-source><script id="rollup-chart-data"' in body


def test_no_accounts_explains_what_to_do(login, maria):
    body = login(maria).get(URL).content.decode()

    assert "No accounts in your teams yet." in body
    assert "Setup → Import accounts" in body
    assert "ask your admin to assign CSMs to your team" in body


def test_no_health_scores_explains_when_they_come(login, maria, alice):
    AccountFactory(owner=alice)

    body = login(maria).get(URL).content.decode()

    assert "No health scores yet:" in body
    assert "manage.py recompute_health" in body


def test_no_answers_shows_dashes_with_n_zero_and_a_hint(login, maria, adam, alice):
    AccountFactory(owner=alice)

    page = cells(login(maria).get(URL))
    admin_body = login(adam).get(URL).content.decode()

    assert page["Alice Archer"]["nps"]["text"] == "— n = 0"
    assert page["Total"]["rate"]["text"] == "— 0 of 0"
    assert "No survey answers in this period" in admin_body
    assert reverse("surveys:campaign_list") in admin_body


# ---- Query counts ----


def _team_of(size: int, team):
    manager = UserFactory(role=User.Role.MANAGER)
    manager.managed_teams.add(team)
    for n in range(size):
        csm = UserFactory(role=User.Role.CSM, team=team)
        for segment in (Account.Segment.SMB, Account.Segment.ENTERPRISE):
            account = AccountFactory(owner=csm, segment=segment, renewal_date=day(n % 100))
            HealthSnapshotFactory(account=account, date=day(-1), score=20.0 + n)
            HealthSnapshotFactory(account=account, date=day(-8), score=60.0)
            ResponseFactory(account=account, kind=Kind.NPS, score=n % 11, answered_at=at(day(-2)))
            ResponseFactory(account=account, kind=Kind.CES, score=5, answered_at=at(day(-3)))
            InvitationFactory(contact__account=account, sent_at=at(day(-2)))
            low = CommentFactory(account=account, kind=Kind.NPS, score=2, answered_at=at(day(-4)))
            FeedbackReplyFactory(response=low, created_at=at(day(-4), hour=15))
        if n % 3 == 0:
            OverrideFactory(account=account, band="red")
    return manager


def _queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(URL, params).status_code == 200
    return len(captured.captured_queries)


def test_query_count_does_not_grow_with_the_number_of_csms(db, client, django_assert_max_num_queries):
    small = _team_of(3, TeamFactory(name="Small"))
    large = _team_of(30, TeamFactory(name="Large"))
    client.force_login(small)
    small_count = _queries(client)
    small_drill = _queries(client, show="accounts", band="red")
    client.force_login(large)

    with django_assert_max_num_queries(20):
        large_count = _queries(client)

    assert large_count == small_count
    assert _queries(client, show="accounts", band="red") == small_drill <= 20


def test_the_rollup_is_computed_when_the_cache_is_down(login, maria, dataset, settings):
    from config.circuit_breaker import redis_breaker

    expected_total = rollup_of(login(maria).get(URL)).total
    settings.CACHES = {
        "default": {
            "BACKEND": "config.redis_cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"pool_class": "config.circuit_breaker.BreakerConnectionPool"},
        }
    }
    try:
        response = login(maria).get(URL)
    finally:
        redis_breaker.reset()

    assert response.status_code == 200
    assert rollup_of(response).total == expected_total


def test_a_parent_and_its_children_count_once_each_in_the_arr(adam, alice, bob):
    # The parent's own ARR, its children's and a grandchild's: every account once, nothing rolled up on top.
    parent = AccountFactory(owner=alice, arr=100_000)
    child = AccountFactory(owner=alice, arr=40_000, parent=parent)
    AccountFactory(owner=bob, arr=10_000, parent=child)
    AccountFactory(owner=bob, arr=5_000)
    rollup = compute_rollup(user=adam, today=TODAY)
    assert rollup.total.accounts == 4
    assert rollup.total.arr == Decimal(155_000)
    owners = {row.key: row for row in rollup.owners}
    assert (owners[alice.pk].arr, owners[bob.pk].arr) == (Decimal(140_000), Decimal(15_000))
