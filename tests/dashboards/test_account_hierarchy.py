"""A parent's account page rolls up its descendants in the viewer's scope; a child's page links its parent."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Account
from dashboards.account_page import group_rollup, tree_order
from playbooks.models import Task
from surveys.models import Kind
from tests.factories import AccountFactory, HealthSnapshotFactory, OverrideFactory, ResponseFactory
from tests.helpers import at, text


def _child(name, *, owner, parent, arr, score=None, **fields):
    account = AccountFactory(name=name, owner=owner, parent=parent, arr=arr, **fields)
    if score is not None:
        HealthSnapshotFactory(account=account, date=timezone.localdate() - datetime.timedelta(days=1), score=score)
    return account


@pytest.fixture
def group(alice, bob):
    """Parent (its own ARR and score) → north (100k, 80) → north-east (50k, 60); south (300k, 40, Bob's);
    west (50k, no score); gone (20k, churned, an old score of 10)."""
    today = timezone.localdate()
    parent = _child("Parent Holdings", owner=alice, parent=None, arr=999_000, score=95)
    north = _child("North", owner=alice, parent=parent, arr=100_000, score=80)
    accounts = {
        "parent": parent,
        "north": north,
        "north_east": _child("North East", owner=alice, parent=north, arr=50_000, score=60),
        "south": _child("South", owner=bob, parent=parent, arr=300_000, score=40),
        "west": _child("West", owner=alice, parent=parent, arr=50_000),
        "gone": _child(
            "Gone",
            owner=alice,
            parent=parent,
            arr=20_000,
            score=10,
            status=Account.Status.CHURNED,
            churned_on=today - datetime.timedelta(days=30),
        ),
    }
    return accounts


def test_rollup_figures_by_hand(alice, group):
    rollup = group_rollup(account=group["parent"], user=alice, today=timezone.localdate())
    assert [row.account.name for row in rollup.children] == ["Gone", "North", "North East", "South", "West"]
    assert [row.depth for row in rollup.children] == [1, 1, 2, 1, 1]
    assert rollup.arr == 500_000  # the four active ones; the parent's own 999k is not its children's
    assert rollup.churned == 1 and not rollup.all_churned
    # (100k × 80 + 50k × 60 + 300k × 40) / 450k = 23,000 / 450 = 51.1
    assert rollup.health == pytest.approx(23_000 / 450)
    assert (len(rollup.scored), len(rollup.active)) == (3, 4)
    assert rollup.worst.account == group["south"]
    assert rollup.outside_scope == 0


def test_the_page_shows_the_rollup(alice, group, login):
    page = text(login(alice).get(f"/accounts/{group['parent'].pk}/"))
    assert "Child accounts 5" in page
    assert "ARR of active children 500,000 · 1 churned" in page
    assert "Health 51 ARR-weighted · 3 of 4 scored" in page
    assert "Lowest health South 40" in page


def test_the_worst_child_is_linked(alice, group, login):
    html = login(alice).get(f"/accounts/{group['parent'].pk}/").content.decode()
    assert f'<dt>Lowest health</dt><dd><a href="/accounts/{group["south"].pk}/">South</a>' in html


def test_open_tasks_and_survey_results_over_every_descendant(alice, group, login):
    today = timezone.localdate()
    Task.objects.create(account=group["north"], title="Call", owner=alice, due_on=today)
    Task.objects.create(account=group["north_east"], title="Call", owner=alice, due_on=today)
    Task.objects.create(account=group["south"], title="Done", owner=alice, due_on=today, status="done")
    Task.objects.create(account=group["parent"], title="The parent's own", owner=alice, due_on=today)
    for account, score in ((group["north"], 10), (group["north_east"], 9), (group["south"], 0)):
        ResponseFactory(account=account, kind=Kind.NPS, score=score, answered_at=at(today))
    ResponseFactory(account=group["parent"], kind=Kind.NPS, score=0, answered_at=at(today))  # its own: not rolled up
    rollup = group_rollup(account=group["parent"], user=alice, today=today)
    assert rollup.open_tasks == 2
    nps = rollup.survey_figures[0]
    assert nps.kind == Kind.NPS and nps.headline.result.n == 3
    assert nps.headline.result.value == pytest.approx(100 * (2 - 1) / 3)  # 2 promoters, 1 detractor of 3


def test_children_outside_scope_are_counted_apart(carol, maria, group, login):
    carols = _child("Carol's branch", owner=carol, parent=group["parent"], arr=70_000, score=20)
    rollup = group_rollup(account=group["parent"], user=maria, today=timezone.localdate())
    assert carols.pk not in {row.account.pk for row in rollup.children}
    assert rollup.outside_scope == 1 and rollup.arr == 500_000 and rollup.worst.account == group["south"]
    page = text(login(maria).get(f"/accounts/{group['parent'].pk}/"))
    assert "1 of its 6 child accounts is outside your accounts and not counted here." in page
    assert "Carol's branch" not in page


def test_a_csm_sees_only_the_children_in_their_team(carol, group, login):
    parent = _child("Carol Group", owner=carol, parent=None, arr=0)
    group["north"].parent = parent
    group["north"].save()
    rollup = group_rollup(account=parent, user=carol, today=timezone.localdate())
    # north and north-east are Team A's: Carol's page counts them as outside, and shows no figure of theirs.
    assert rollup.children == [] and rollup.outside_scope == 2
    assert "None of its child accounts is in your scope." in text(login(carol).get(f"/accounts/{parent.pk}/"))


def test_every_child_churned_churns_the_rollup(alice, login):
    today = timezone.localdate()
    parent = AccountFactory(name="Parent", owner=alice)
    for name in ("One", "Two"):
        _child(name, owner=alice, parent=parent, arr=10_000, score=50, status="churned", churned_on=today)
    rollup = group_rollup(account=parent, user=alice, today=today)
    assert rollup.all_churned and rollup.arr == 0 and rollup.health is None and rollup.worst is None
    page = text(login(alice).get(f"/accounts/{parent.pk}/"))
    assert "Child accounts 2 All churned" in page
    assert "ARR of active children 0 · 2 churned" in page
    assert "Health All child accounts have churned" in page


def test_health_of_children_without_arr_is_the_plain_mean(alice):
    parent = AccountFactory(owner=alice)
    _child("A", owner=alice, parent=parent, arr=0, score=30)
    _child("B", owner=alice, parent=parent, arr=0, score=70)
    assert group_rollup(account=parent, user=alice, today=timezone.localdate()).health == 50


def test_an_account_without_children_has_no_rollup(alice, alice_account, login):
    assert group_rollup(account=alice_account, user=alice, today=timezone.localdate()) is None
    assert 'id="group"' not in login(alice).get(f"/accounts/{alice_account.pk}/").content.decode()


def test_a_childs_page_links_its_parent(alice, group, login):
    html = login(alice).get(f"/accounts/{group['north_east'].pk}/").content.decode()
    assert f'<dt>Parent account</dt><dd><a href="/accounts/{group["north"].pk}/">North</a>' in html


def test_a_parent_outside_scope_is_not_named(carol, group, login):
    child = _child("Carol's", owner=carol, parent=group["parent"], arr=1)
    page = text(login(carol).get(f"/accounts/{child.pk}/"))
    assert "Parent account Outside your accounts" in page and "Parent Holdings" not in page


def test_tree_order_puts_each_account_under_its_parent():
    parents = {2: 1, 3: 1, 4: 2, 5: 4, 6: 3}
    assert tree_order(1, parents) == [(2, 1), (4, 2), (5, 3), (3, 1), (6, 2)]
    assert tree_order(1, parents, key=lambda pk: -pk) == [(3, 1), (6, 2), (2, 1), (4, 2), (5, 3)]


# ---- Queries --------------------------------------------------------------------------------


def _family(owner, children: int) -> Account:
    today = timezone.localdate()
    parent = AccountFactory(owner=owner)
    for n in range(children):
        child = _child(f"Child {n}", owner=owner, parent=parent, arr=1000 * n, score=40 + n)
        grandchild = _child(f"Grandchild {n}", owner=owner, parent=child, arr=10, score=50)
        Task.objects.create(account=grandchild, title="Call", owner=owner, due_on=today)
        ResponseFactory(account=child, kind=Kind.CSAT, score=4, answered_at=at(today))
    return parent


def test_a_parents_page_queries_do_not_grow_with_its_children(alice, login, django_assert_max_num_queries):
    small, large = _family(alice, 2), _family(alice, 15)
    client = login(alice)
    counts = []
    for parent in (small, large):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/accounts/{parent.pk}/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    with django_assert_max_num_queries(
        23
    ):  # an account's 18, and the rollup's subtree, scores, overrides, tasks, answers
        client.get(f"/accounts/{large.pk}/")


def test_open_renewals_over_every_descendant_with_the_forecast(alice, carol, group, login):
    from tests.factories import ForecastCallFactory, RenewalFactory

    today = timezone.localdate()
    soon = RenewalFactory(account=group["north_east"], renewal_date=today + datetime.timedelta(days=30), arr=50_000)
    ForecastCallFactory(renewal=soon, call="commit")
    later = RenewalFactory(account=group["south"], renewal_date=today + datetime.timedelta(days=90), arr=300_000)
    ForecastCallFactory(renewal=later, call="at_risk")
    RenewalFactory(account=group["parent"], arr=999_000)  # the parent's own: not its children's
    outside = _child("Elsewhere", owner=carol, parent=group["north"], arr=70_000)
    RenewalFactory(account=outside, arr=70_000)  # Carol's team: out of Alice's scope, not counted
    rollup = group_rollup(account=group["parent"], user=alice, today=today)
    assert [renewal.account.name for renewal in rollup.renewals] == ["North East", "South"]
    assert (rollup.renewals_arr, rollup.renewals_forecast) == (350_000, 50_000)
    page = text(login(alice).get(f"/accounts/{group['parent'].pk}/"))
    assert "Open renewals 2 · 350,000 up · forecast 50,000 next: North East" in page


def test_a_childs_row_shows_the_band_of_its_override_as_every_page_does(alice, group, login):
    OverrideFactory(account=group["south"], band="green")  # computed 40: red
    OverrideFactory(account=group["north"], band="", score=20)  # its score, banded by North's model: red
    rollup = group_rollup(account=group["parent"], user=alice, today=timezone.localdate())
    bands = {row.account.name: row.band for row in rollup.children}
    assert (bands["South"], bands["North"], bands["North East"]) == ("green", "red", "yellow")
    html = login(alice).get(f"/accounts/{group['parent'].pk}/").content.decode()
    assert '<span class="health-chip health-chip-green">40</span>' in html  # the computed score, the band shown
