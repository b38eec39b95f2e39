"""Tasks on the account page (add, complete, snooze, reassign, cancel in place), the task list, rules setup."""

import pytest

from playbooks.models import Playbook, Rule, Task, TaskEvent, Trigger
from playbooks.services import task_create
from tests.factories import AccountFactory, HealthSnapshotFactory
from tests.helpers import HTMX, day, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(alice_account, alice):
    return task_create(
        account=alice_account, by=alice, title="Send the QBR deck", due_on=day(2), steps=["Draft", "Send"]
    )


def add(client, account, **fields):
    data = {"title": "Book the training", "kind": "adoption", "priority": "high", "due_on": day(5).isoformat(),
            "owner": account.owner_id, "reason": "Seat usage −26%"} | fields  # fmt: skip
    return client.post(f"/accounts/{account.pk}/tasks/add/", data, headers=HTMX)


def test_a_csm_adds_a_task_on_their_account_and_the_section_comes_back_with_it(alice, alice_account, login):
    response = add(login(alice), alice_account)
    assert response.status_code == 200
    task = Task.objects.get()
    assert (task.title, task.kind, task.priority, task.owner, task.due_on, task.reason, task.created_by) == (
        "Book the training", "adoption", "high", alice, day(5), "Seat usage −26%", alice,
    )  # fmt: skip
    assert 'id="tasks"' in response.content.decode()
    assert "Book the training" in text(response) and f"created {day(0):%b} {day(0).day} by {alice.name}" in text(
        response
    )


def test_a_task_due_in_the_past_is_refused_with_a_message_and_nothing_stored(alice, alice_account, login):
    response = add(login(alice), alice_account, due_on=day(-1).isoformat(), title="")
    assert response.status_code == 422
    assert "The due date has passed: pick today or a later day." in text(response)
    assert "This field is required." in text(response)
    assert not Task.objects.exists()


def test_the_owner_must_be_someone_who_works_on_the_account(alice, carol, alice_account, login):
    response = add(login(alice), alice_account, owner=carol.pk)
    assert response.status_code == 422
    assert "Select a valid choice." in text(response)
    assert not Task.objects.exists()


def test_complete_in_place_needs_an_outcome_and_records_who(task, alice, login):
    client = login(alice)
    refused = client.post(f"/tasks/{task.pk}/complete/", {"outcome": ""}, headers=HTMX)
    assert refused.status_code == 422
    assert "Say what came of it: the outcome is what the next person reads." in text(refused)
    assert Task.objects.get().status == Task.Status.OPEN

    done = client.post(f"/tasks/{task.pk}/complete/", {"outcome": "Sent; QBR on Friday."}, headers=HTMX)
    assert done.status_code == 200
    task.refresh_from_db()
    assert (task.status, task.outcome, task.closed_by) == (Task.Status.DONE, "Sent; QBR on Friday.", alice)
    assert "No open tasks." in text(done) and "Recently closed" in text(done)
    assert [event.action for event in task.events.all()] == [TaskEvent.Action.DONE, TaskEvent.Action.CREATED]


def test_snooze_needs_a_later_day_and_moves_the_due_date(task, alice, login):
    client = login(alice)
    refused = client.post(f"/tasks/{task.pk}/snooze/", {"until": day(0).isoformat()}, headers=HTMX)
    assert refused.status_code == 422 and "Snooze until a later day than today." in text(refused)
    response = client.post(f"/tasks/{task.pk}/snooze/", {"until": day(9).isoformat()}, headers=HTMX)
    assert response.status_code == 200
    task.refresh_from_db()
    assert (task.status, task.snoozed_until, task.due_on) == (Task.Status.SNOOZED, day(9), day(9))
    assert f"Snoozed until {day(9):%b} {day(9).day}" in text(response)


def test_reassign_to_a_teammate_who_can_then_complete_it_though_the_account_is_not_theirs(task, alice, bob, login):
    assert login(alice).post(f"/tasks/{task.pk}/reassign/", {"owner": bob.pk}, headers=HTMX).status_code == 200
    task.refresh_from_db()
    assert task.owner == bob
    assert task.events.first().note == f"from {alice} to {bob}"
    response = login(bob).post(f"/tasks/{task.pk}/complete/", {"outcome": "Done by Bob."}, headers=HTMX)
    assert response.status_code == 200
    assert Task.objects.get().status == Task.Status.DONE


def test_cancel_keeps_the_task_with_its_reason(task, alice, login):
    login(alice).post(f"/tasks/{task.pk}/cancel/", {"note": "Handled on the renewal call."}, headers=HTMX)
    task.refresh_from_db()
    assert (task.status, task.outcome) == (Task.Status.CANCELLED, "Handled on the renewal call.")


def test_a_closed_task_takes_no_more_actions(task, alice, login):
    client = login(alice)
    client.post(f"/tasks/{task.pk}/complete/", {"outcome": "Done."}, headers=HTMX)
    assert client.post(f"/tasks/{task.pk}/snooze/", {"until": day(3).isoformat()}, headers=HTMX).status_code == 404


def test_a_step_is_ticked_in_place(task, alice, login):
    response = login(alice).post(f"/tasks/{task.pk}/steps/1/", headers=HTMX)
    assert response.status_code == 200
    assert Task.objects.get().steps == [{"text": "Draft", "done": False}, {"text": "Send", "done": True}]
    assert login(alice).post(f"/tasks/{task.pk}/steps/7/", headers=HTMX).status_code == 422


def test_without_htmx_an_action_goes_back_to_the_account_page(task, alice, login, alice_account):
    response = login(alice).post(f"/tasks/{task.pk}/complete/", {"outcome": "Done."})
    assert response.status_code == 302 and response["Location"] == f"/accounts/{alice_account.pk}/#tasks"


def test_the_account_page_shows_the_tasks_and_a_teammate_reads_them_without_the_forms(task, bob, login, alice_account):
    page = login(bob).get(f"/accounts/{alice_account.pk}/")
    assert "Send the QBR deck" in text(page)
    assert "Add a task" not in text(page) and "Mark done" not in text(page)


def test_my_tasks_on_the_portfolio_are_grouped_overdue_today_and_this_week(alice, alice_account, login):
    for title, offset in [("Late one", -3), ("Today's", 0), ("Later", 30)]:
        Task.objects.create(account=alice_account, title=title, owner=alice, due_on=day(offset))
    page = login(alice).get("/portfolio/")
    groups = page.context["my_tasks"]
    assert [t.title for t in groups.overdue] == ["Late one"] and [t.title for t in groups.today] == ["Today's"]
    assert groups.counts == {"overdue": 1, "today": 1, "this_week": 0, "later": 1}
    assert page.context["rows"][0].open_tasks == 3


def test_the_task_list_filters_in_the_url_and_managers_see_overdue_per_person(alice, bob, maria, login, alice_account):
    bob_account = AccountFactory(owner=bob)
    Task.objects.create(account=alice_account, title="Alice late", owner=alice, due_on=day(-2))
    Task.objects.create(account=bob_account, title="Bob soon", owner=bob, due_on=day(1))
    Task.objects.create(account=bob_account, title="Bob done", owner=bob, due_on=day(-9), status="done")

    mine = login(alice).get("/tasks/")
    assert [t.title for t in mine.context["page"]] == ["Alice late"]

    page = login(maria).get("/tasks/")
    assert [t.title for t in page.context["page"]] == ["Alice late", "Bob soon"]
    assert [(person.name, counts.open, counts.overdue) for person, counts in page.context["by_owner"]] == [
        (alice.name, 1, 1), (bob.name, 1, 0),
    ]  # fmt: skip
    overdue = login(maria).get("/tasks/?due=overdue", headers=HTMX)
    assert 'id="task-results"' in overdue.content.decode() and "<html" not in overdue.content.decode()
    assert "Alice late" in text(overdue) and "Bob soon" not in text(overdue)
    done = login(maria).get(f"/tasks/?status=done&owner={bob.pk}")
    assert [t.title for t in done.context["page"]] == ["Bob done"]
    ignored = login(maria).get("/tasks/?due=someday")
    assert "Due: someday is not a choice here; this filter is ignored." in text(ignored)


def test_the_task_list_pages_with_the_filters_kept(alice, alice_account, login):
    Task.objects.bulk_create(
        [Task(account=alice_account, title=f"T{n:03}", owner=alice, due_on=day(n)) for n in range(55)]
    )
    first = login(alice).get("/tasks/?kind=other")
    assert len(first.context["page"].object_list) == 50
    assert 'href="?kind=other&amp;page=2"' in first.content.decode()
    second = login(alice).get("/tasks/?kind=other&page=2")
    assert [t.title for t in second.context["page"]] == [f"T{n:03}" for n in range(50, 55)]


@pytest.mark.parametrize("size", [3, 30])
def test_the_task_list_query_count_is_constant(maria, alice, alice_account, login, django_assert_max_num_queries, size):
    Task.objects.bulk_create(
        [Task(account=alice_account, title=f"T{n}", owner=alice, due_on=day(n)) for n in range(size)]
    )
    client = login(maria)
    with django_assert_max_num_queries(8):
        assert client.get("/tasks/").status_code == 200


def test_an_admin_previews_a_rule_then_saves_it(adam, alice_account, login):
    playbook = Playbook.objects.create(name="Rescue", title_template="Rescue {account}")
    HealthSnapshotFactory(account=alice_account, score=20.0)
    client = login(adam)
    data = {
        "name": "Red accounts",
        "trigger": "enters_red",
        "playbook": playbook.pk,
        "notify": "app",
        "is_active": "on",
    }
    preview = client.post("/setup/rules/new/", data | {"preview": "1"}, headers=HTMX)
    assert preview.status_code == 200
    assert f"1 task would be created today, e.g. for {alice_account.name}." in text(preview)
    assert not Rule.objects.exists()
    assert client.post("/setup/rules/new/", data).status_code == 302
    assert Rule.objects.get().trigger == Trigger.ENTERS_RED


def test_a_rule_missing_its_numbers_is_refused_with_what_is_missing(adam, login):
    playbook = Playbook.objects.create(name="Rescue", title_template="Rescue {account}")
    data = {"name": "Quiet", "trigger": "metric", "playbook": playbook.pk, "notify": "app"}
    response = login(adam).post("/setup/rules/new/", data)
    assert response.status_code == 422
    for message in ("Which metric?", "Below or above?", "Which threshold?", "How many days?"):
        assert message in text(response)
    assert not Rule.objects.exists()


def test_a_playbook_keeps_its_steps_one_per_line(adam, login):
    data = {"name": "Renewal", "title_template": "Renew {account}", "kind": "renewal", "due_in_days": "7",
            "priority": "high", "steps_text": "Confirm the date\n\n  Book the call  \n"}  # fmt: skip
    assert login(adam).post("/setup/playbooks/new/", data).status_code == 302
    assert Playbook.objects.get().steps == ["Confirm the date", "Book the call"]


def test_the_rollup_shows_overdue_tasks_per_csm_and_in_total(alice, bob, maria, login, alice_account):
    bob_account = AccountFactory(owner=bob, segment="enterprise")
    Task.objects.create(account=alice_account, title="Late", owner=alice, due_on=day(-2))
    Task.objects.create(account=alice_account, title="Soon", owner=alice, due_on=day(2))
    Task.objects.create(account=bob_account, title="Bob late", owner=bob, due_on=day(-1))
    Task.objects.create(account=bob_account, title="Done", owner=bob, due_on=day(-9), status="done")

    page = login(maria).get("/team/")

    rows = {view.row.label: view for view in page.context["owners"]}
    assert (rows[alice.name].tasks.text, rows[alice.name].tasks.note) == ("1", "of 2 open")
    assert rows[alice.name].tasks.url == f"/tasks/?due=overdue&owner={alice.pk}"
    assert (rows[bob.name].tasks.text, rows[bob.name].tasks.note) == ("1", "of 1 open")
    assert (page.context["total"].tasks.text, page.context["total"].tasks.note) == ("2", "of 3 open")


def test_a_rules_open_tasks_link_to_the_list_filtered_by_that_rule(adam, alice, alice_account, login):
    playbook = Playbook.objects.create(name="Rescue", title_template="Rescue {account}")
    rule = Rule.objects.create(name="Red", trigger=Trigger.ENTERS_RED, playbook=playbook)
    Task.objects.create(account=alice_account, title="From the rule", owner=alice, due_on=day(1), rule=rule)
    Task.objects.create(account=alice_account, title="By hand", owner=alice, due_on=day(1))
    rules_page = login(adam).get("/setup/rules/")
    assert f'href="/tasks/?rule={rule.pk}">1</a>' in rules_page.content.decode()
    listed = login(adam).get(f"/tasks/?rule={rule.pk}")
    assert "not a choice" not in text(listed)
    assert [task.title for task in listed.context["page"]] == ["From the rule"]


def test_many_overdue_tasks_never_hide_todays(alice, alice_account, login):
    Task.objects.bulk_create(
        [Task(account=alice_account, title=f"Late {n}", owner=alice, due_on=day(-1 - n)) for n in range(30)]
    )
    Task.objects.create(account=alice_account, title="Today's", owner=alice, due_on=day(0))
    groups = login(alice).get("/portfolio/").context["my_tasks"]
    assert len(groups.overdue) == 8 and groups.counts["overdue"] == 30
    assert [task.title for task in groups.today] == ["Today's"]


def test_a_second_complete_of_the_same_task_changes_nothing(task, alice, login):
    client = login(alice)
    client.post(f"/tasks/{task.pk}/complete/", {"outcome": "First."}, headers=HTMX)
    from playbooks.services import TaskClosed, task_complete

    with pytest.raises(TaskClosed):
        task_complete(task=task, by=alice, outcome="Second.")
    task.refresh_from_db()
    assert task.outcome == "First."
    assert task.events.filter(action=TaskEvent.Action.DONE).count() == 1


def test_per_person_counts_only_count_tasks_the_viewer_may_see(maria, alice, carol, login, alice_account):
    Task.objects.create(account=alice_account, title="Mine", owner=alice, due_on=day(-1))
    Task.objects.create(account=AccountFactory(owner=carol), title="Team B", owner=alice, due_on=day(-1))
    page = login(maria).get("/tasks/")
    assert [(person.name, counts.open) for person, counts in page.context["by_owner"]] == [(alice.name, 1)]
