"""Rules: each trigger on its facts, one task per occurrence, the passes that evaluate them, the preview."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Account, Notification
from playbooks.models import Playbook, Rule, RuleOccurrence, Task, TaskEvent, Trigger
from playbooks.services import rule_preview, rules_evaluate, task_complete
from scoring.services import health_recompute
from surveys.follow_up import responses_follow_up
from tests.factories import (
    AccountFactory,
    CheckInFactory,
    ContactFactory,
    HealthSnapshotFactory,
    MetricDefinitionFactory,
    MetricValueFactory,
    ResponseFactory,
)
from tests.helpers import at, day

pytestmark = pytest.mark.django_db


@pytest.fixture
def playbook(db):
    return Playbook.objects.create(
        name="Save a red account", title_template="Rescue {account}", steps=["Call", "Plan"], due_in_days=3
    )


def rule_of(playbook, trigger, **fields) -> Rule:
    return Rule.objects.create(name=f"{trigger} {fields}", trigger=trigger, playbook=playbook, **fields)


def red(account, score=30.0, on=0):
    return HealthSnapshotFactory(account=account, date=day(on), score=score)


def test_an_account_entering_red_gets_one_task_from_the_playbook_owned_by_its_csm(alice_account, playbook):
    HealthSnapshotFactory(account=alice_account, date=day(-1), score=55.0)
    red(alice_account, score=34.4)
    rule_of(playbook, Trigger.ENTERS_RED)

    assert rules_evaluate() == 1

    task = Task.objects.get()
    assert (task.title, task.reason, task.owner, task.due_on) == (
        f"Rescue {alice_account.name}",
        "health 34 (red)",
        alice_account.owner,
        day(3),
    )
    assert task.steps == [{"text": "Call", "done": False}, {"text": "Plan", "done": False}]
    assert task.rule.trigger == Trigger.ENTERS_RED and task.occurrence.ended_at is None
    assert TaskEvent.objects.get(task=task).action == TaskEvent.Action.CREATED


def test_running_the_passes_again_creates_nothing_more(alice_account, playbook):
    red(alice_account)
    rule_of(playbook, Trigger.ENTERS_RED)
    assert rules_evaluate() == 1
    assert rules_evaluate() == 0
    assert rules_evaluate() == 0
    assert Task.objects.count() == 1 and RuleOccurrence.objects.count() == 1


def test_a_done_task_with_the_condition_still_holding_is_not_repeated(alice_account, playbook):
    red(alice_account)
    rule_of(playbook, Trigger.ENTERS_RED)
    rules_evaluate()
    task_complete(task=Task.objects.get(), by=alice_account.owner, outcome="Called the sponsor.")

    assert rules_evaluate() == 0  # still red: the same occurrence


def test_once_the_condition_clears_a_new_occurrence_creates_a_new_task(alice_account, playbook):
    rule_of(playbook, Trigger.ENTERS_RED)
    red(alice_account, on=-2)
    rules_evaluate(today=day(-2))
    task_complete(task=Task.objects.get(), by=alice_account.owner, outcome="Recovered.")
    HealthSnapshotFactory(account=alice_account, date=day(-1), score=60.0)
    assert rules_evaluate(today=day(-1)) == 0
    assert RuleOccurrence.objects.get().ended_at is not None

    red(alice_account, on=0)
    assert rules_evaluate() == 1
    assert Task.objects.count() == 2 and RuleOccurrence.objects.filter(ended_at__isnull=True).count() == 1


def test_no_second_open_task_while_the_first_is_open_even_after_the_condition_came_and_went(alice_account, playbook):
    rule_of(playbook, Trigger.ENTERS_RED)
    red(alice_account, on=-2)
    rules_evaluate(today=day(-2))
    HealthSnapshotFactory(account=alice_account, date=day(-1), score=60.0)
    rules_evaluate(today=day(-1))
    red(alice_account, on=0)
    assert rules_evaluate() == 0
    assert Task.objects.count() == 1


def test_an_override_out_of_red_keeps_the_rule_quiet(alice_account, playbook):
    from tests.factories import OverrideFactory

    red(alice_account)
    OverrideFactory(account=alice_account, band="yellow")
    rule_of(playbook, Trigger.ENTERS_RED)
    assert rules_evaluate() == 0


def test_a_drop_of_n_points_within_seven_days_counts_as_the_alerts_count(alice_account, bob_account, playbook):
    HealthSnapshotFactory(account=alice_account, date=day(-5), score=44.4)
    HealthSnapshotFactory(account=alice_account, date=day(0), score=34.4)
    HealthSnapshotFactory(account=bob_account, date=day(-5), score=44.4)
    HealthSnapshotFactory(account=bob_account, date=day(0), score=35.5)  # 44 → 36: 8 points as shown
    rule_of(playbook, Trigger.HEALTH_DROP, points=10)

    assert rules_evaluate() == 1
    assert Task.objects.get().reason == "health 44 → 34 within 7 days"
    assert Task.objects.get().account == alice_account


def test_a_low_score_answer_makes_a_task_and_the_next_one_after_it_is_done_another(alice_account, playbook):
    contact = ContactFactory(account=alice_account, name="Dana Diaz")
    rule = rule_of(playbook, Trigger.LOW_SCORE)
    ResponseFactory(account=alice_account, contact=contact, kind="nps", score=9, answered_at=at(day(-1)))
    assert rules_evaluate() == 0
    ResponseFactory(
        account=alice_account, contact=contact, kind="nps", score=3, comment="Too slow", answered_at=at(day(-1), 9)
    )

    assert rules_evaluate() == 1
    task = Task.objects.get()
    assert task.reason == "NPS 3 from Dana Diaz: “Too slow”"
    ResponseFactory(account=alice_account, contact=contact, kind="csat", score=1, answered_at=at(day(-1), 10))
    assert rules_evaluate() == 0  # the open task covers it

    task_complete(task=task, by=alice_account.owner, outcome="Called Dana.")
    assert rules_evaluate() == 0  # answers before the closing are handled
    ResponseFactory(account=alice_account, contact=contact, kind="ces", score=2, answered_at=timezone.now())
    assert rules_evaluate() == 1
    assert Task.objects.filter(rule=rule).count() == 2


def test_a_renewal_within_n_days_counts_only_while_yellow_or_red(alice_account, bob_account, playbook):
    Account.objects.filter(pk__in=[alice_account.pk, bob_account.pk]).update(renewal_date=day(40))
    HealthSnapshotFactory(account=alice_account, score=55.0)
    HealthSnapshotFactory(account=bob_account, score=85.0)
    rule_of(playbook, Trigger.RENEWAL_AT_RISK, days=60)

    assert rules_evaluate() == 1
    task = Task.objects.get()
    assert task.account == alice_account
    assert task.reason.startswith("renewal ") and task.reason.endswith("(in 40 days), health 55 (yellow)")


def test_a_checkin_overdue_by_n_days(alice_account, bob_account, playbook):
    CheckInFactory(account=alice_account, date=day(-40), next_checkin_on=day(-20))
    CheckInFactory(account=bob_account, date=day(-40), next_checkin_on=day(-5))
    rule_of(playbook, Trigger.CHECKIN_OVERDUE, days=14)
    assert rules_evaluate() == 1
    assert Task.objects.get().account == alice_account
    assert Task.objects.get().reason.endswith(", 20 days overdue")


def test_the_primary_contact_opting_out_or_archived(alice_account, bob_account, playbook):
    ContactFactory(account=alice_account, name="Pat Primary", is_primary=True, opted_out_at=timezone.now())
    ContactFactory(account=bob_account, is_primary=False, archived_at=timezone.now())  # not the primary
    rule_of(playbook, Trigger.PRIMARY_CONTACT_LOST)
    assert rules_evaluate() == 1
    assert Task.objects.get().reason.startswith("primary contact Pat Primary opted out on ")


def test_a_metric_below_a_threshold_for_n_days_counts_days_without_values(alice_account, bob_account, playbook):
    logins = MetricDefinitionFactory(key="logins", label="Logins")
    MetricValueFactory(account=alice_account, metric=logins, date=day(-30), value=12)  # then silence
    for offset in range(14):
        MetricValueFactory(account=bob_account, metric=logins, date=day(-offset), value=0 if offset else 3)
    AccountFactory(owner=alice_account.owner)  # never sent a value: not "no logins"
    rule_of(playbook, Trigger.METRIC_THRESHOLD, metric=logins, comparison="below", threshold=1, days=14)

    assert rules_evaluate() == 1
    assert Task.objects.get().account == alice_account
    assert Task.objects.get().reason == "Logins below 1 for 14 days"


def test_a_metric_above_a_threshold_for_n_days(alice_account, bob_account, playbook):
    tickets = MetricDefinitionFactory(key="tickets", label="Tickets")
    for offset in range(3):
        MetricValueFactory(account=alice_account, metric=tickets, date=day(-offset), value=6 + offset)
        MetricValueFactory(account=bob_account, metric=tickets, date=day(-offset), value=2 if offset == 1 else 9)
    rule_of(playbook, Trigger.METRIC_THRESHOLD, metric=tickets, comparison="above", threshold=5, days=3)
    assert rules_evaluate() == 1
    assert Task.objects.get().account == alice_account
    assert Task.objects.get().reason == "Tickets above 5 for 3 days (lowest 6)"


def test_conditions_segment_minimum_arr_and_lifecycle(alice, playbook):
    small = AccountFactory(owner=alice, segment="smb", arr=5_000, lifecycle_stage="adoption")
    big = AccountFactory(owner=alice, segment="enterprise", arr=500_000, lifecycle_stage="renewal")
    red(small), red(big)
    rule_of(playbook, Trigger.ENTERS_RED, segment="enterprise", min_arr=100_000, lifecycle_stage="renewal")
    assert rules_evaluate() == 1
    assert Task.objects.get().account == big


def test_a_named_owner_and_a_notification_with_email(alice_account, playbook, smtp_server, maria):
    red(alice_account)
    rule_of(playbook, Trigger.ENTERS_RED, owner=maria, notify=Rule.Notify.EMAIL)
    rules_evaluate()
    task = Task.objects.get()
    assert task.owner == maria
    notification = Notification.objects.get(user=maria)
    assert notification.title == f"New task on {alice_account.name}: Rescue {alice_account.name}"
    [message] = smtp_server.messages
    assert message["To"] == maria.email and message["Subject"] == notification.title
    assert "Why: health 30 (red)" in message.get_payload()


def test_churned_accounts_get_no_tasks(alice_account, playbook):
    red(alice_account)
    Account.objects.filter(pk=alice_account.pk).update(status=Account.Status.CHURNED, churned_on=day(-1))
    rule_of(playbook, Trigger.ENTERS_RED)
    assert rules_evaluate() == 0


def _accounts_in_red(owner, count):
    for _ in range(count):
        account = AccountFactory(owner=owner, renewal_date=day(20))
        red(account)
        CheckInFactory(account=account, date=day(-60), next_checkin_on=day(-45))
        ResponseFactory(account=account, kind="nps", score=2, answered_at=timezone.now())


@pytest.mark.parametrize("rule_count", [1, 3])
def test_the_query_count_is_constant_per_rule_whatever_the_number_of_accounts(alice, playbook, rule_count):
    triggers = [Trigger.ENTERS_RED, Trigger.RENEWAL_AT_RISK, Trigger.CHECKIN_OVERDUE][:rule_count]
    for trigger in triggers:
        rule_of(playbook, trigger, **({"days": 30} if trigger != Trigger.ENTERS_RED else {}))
    counts = []
    for size in (2, 12):
        Task.objects.all().delete()
        RuleOccurrence.objects.all().delete()
        _accounts_in_red(alice, size - Account.objects.count())
        with CaptureQueriesContext(connection) as queries:
            assert rules_evaluate() == size * rule_count
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[0] <= 16 * rule_count


def test_the_preview_counts_what_saving_would_create_today(alice, bob, playbook):
    for owner in (alice, bob):
        red(AccountFactory(owner=owner, name=f"{owner.name} Corp"))
    draft = Rule(name="Draft", trigger=Trigger.ENTERS_RED, playbook=playbook)
    assert rule_preview(rule=draft) == (2, sorted([f"{alice.name} Corp", f"{bob.name} Corp"]))
    saved = rule_of(playbook, Trigger.ENTERS_RED)
    rules_evaluate()
    assert rule_preview(rule=saved) == (0, [])
    assert Task.objects.count() == 2


def test_the_recompute_evaluates_the_health_rules_on_what_it_scored(alice_account, playbook, sentiment_model):
    CheckInFactory(account=alice_account, date=day(-1), sentiment=1)
    rule_of(playbook, Trigger.ENTERS_RED)
    rule_of(playbook, Trigger.CHECKIN_OVERDUE, days=1)  # not a health rule: the recompute leaves it to the sweep

    health_recompute()

    assert [task.rule.trigger for task in Task.objects.all()] == [Trigger.ENTERS_RED]


def test_the_answer_follow_up_evaluates_the_low_score_rules(alice_account, playbook):
    rule_of(playbook, Trigger.LOW_SCORE)
    rule_of(playbook, Trigger.ENTERS_RED)
    red(alice_account)
    answer = ResponseFactory(account=alice_account, kind="csat", score=1, answered_at=timezone.now())
    type(answer).objects.filter(pk=answer.pk).update(follow_up_due=True)

    responses_follow_up(response_ids=[answer.pk])

    assert [task.rule.trigger for task in Task.objects.all()] == [Trigger.LOW_SCORE]


def test_a_failing_rule_is_logged_and_the_others_still_run(alice_account, playbook, caplog, monkeypatch):
    red(alice_account)
    broken = rule_of(playbook, Trigger.ENTERS_RED)
    rule_of(playbook, Trigger.RENEWAL_AT_RISK, days=10)
    Account.objects.filter(pk=alice_account.pk).update(renewal_date=day(5))
    from playbooks import rules

    real = rules.TRIGGERS[Trigger.ENTERS_RED]
    monkeypatch.setitem(rules.TRIGGERS, Trigger.ENTERS_RED, lambda *args: 1 / 0)
    assert rules_evaluate() == 1
    assert f"rule {broken.pk} failed" in caplog.text
    monkeypatch.setitem(rules.TRIGGERS, Trigger.ENTERS_RED, real)


def test_snoozed_tasks_wake_on_their_day_in_the_nightly_sweep(alice_account, alice):
    from playbooks.services import rules_sweep, task_create, task_snooze

    task = task_create(account=alice_account, by=alice, title="Call", due_on=day(0))
    task_snooze(task=task, by=alice, until=day(2))
    rules_sweep(today=day(1))
    assert Task.objects.get().status == Task.Status.SNOOZED
    rules_sweep(today=day(2))
    task.refresh_from_db()
    assert (task.status, task.snoozed_until, task.due_on) == (Task.Status.OPEN, None, day(2))


def test_a_named_owner_who_cannot_see_the_account_leaves_its_task_to_the_csm(alice_account, carol, playbook):
    red(alice_account)
    rule_of(playbook, Trigger.ENTERS_RED, owner=carol)  # team B: alice's account is not hers to see
    rules_evaluate()
    assert Task.objects.get().owner == alice_account.owner


def test_a_snooze_that_ends_is_recorded_as_reopened(alice_account, alice):
    from playbooks.services import rules_sweep, task_create, task_snooze

    task = task_create(account=alice_account, by=alice, title="Call", due_on=day(0))
    task_snooze(task=task, by=alice, until=day(1))
    rules_sweep(today=day(1))
    assert task.events.first().action == TaskEvent.Action.REOPENED


def test_erasing_a_contact_takes_their_name_and_words_out_of_task_reasons(alice_account, playbook, adam):
    from surveys.erasure import contact_erase

    contact = ContactFactory(account=alice_account, name="Dana Diaz")
    ResponseFactory(
        account=alice_account,
        contact=contact,
        kind="nps",
        score=2,
        comment="Your export is broken",
        answered_at=timezone.now(),
    )
    rule_of(playbook, Trigger.LOW_SCORE, notify=Rule.Notify.APP)
    rules_evaluate()
    assert "Dana Diaz" in Task.objects.get().reason

    contact_erase(contact=contact, by=adam)

    task = Task.objects.get()
    assert task.reason == "NPS 2 from Erased contact: “”"
    assert Notification.objects.get(key=f"task:{task.pk}").body == task.reason
