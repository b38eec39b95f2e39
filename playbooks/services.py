"""Writes for tasks (by hand and by rules), playbooks and rules. Each function is one transaction.

Every change to a task is recorded as a TaskEvent (who, what, when), which the task's history and
the account timeline read; nothing is deleted, a task is cancelled instead.
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Account, Notification, User
from accounts.notification_emails import notification_emails_send
from accounts.validators import one_line
from core.dates import long_date
from playbooks.events import task_event_data
from playbooks.models import ANSWER_TRIGGERS, HEALTH_TRIGGERS, Playbook, Rule, RuleOccurrence, Task, TaskEvent
from playbooks.rules import rule_matches
from webhooks.models import Event, EventType
from webhooks.outbox import event_record, events_record

logger = logging.getLogger(__name__)

# Triggers that are events rather than states: their occurrence ends when its task is closed, so the
# next low score (after the closing) starts a new task.
EVENT_TRIGGERS = ANSWER_TRIGGERS


# ---- Tasks by hand -------------------------------------------------------------------------------


def task_create(
    *,
    account: Account,
    by: User,
    title: str,
    due_on: datetime.date,
    owner: User | None = None,
    kind: str = Task._meta.get_field("kind").default,
    priority: str = Task._meta.get_field("priority").default,
    reason: str = "",
    steps: list[str] | None = None,
) -> Task:
    with transaction.atomic():
        task = Task.objects.create(
            account=account,
            title=title,
            kind=kind,
            priority=priority,
            reason=reason,
            owner=owner or account.owner,
            due_on=due_on,
            steps=[{"text": text, "done": False} for text in steps or []],
            created_by=by,
        )
        TaskEvent.objects.create(task=task, account=account, action=TaskEvent.Action.CREATED, actor=by)
        event_record(type=EventType.TASK_CREATED, account=account, data=task_event_data(task))
    return task


class TaskClosed(Exception):
    """The task was closed meanwhile (a second click, another person): nothing changed."""


def _task_change(*, task: Task, by: User, action: str, note: str = "", **fields) -> Task:
    """Set fields on the still-open task and record the event, in one transaction; raises TaskClosed."""
    with transaction.atomic():
        # Locked, and still open: a double-submitted "Complete" records one event and one webhook.
        if not Task.objects.select_for_update().filter(pk=task.pk, status__in=Task.OPEN_STATUSES).exists():
            raise TaskClosed
        for name, value in fields.items():
            setattr(task, name, value)
        task.save(update_fields=list(fields))
        TaskEvent.objects.create(task=task, account_id=task.account_id, action=action, actor=by, note=note[:500])
        if "closed_at" in fields and task.rule_id and task.rule.trigger in EVENT_TRIGGERS:
            RuleOccurrence.objects.filter(task=task, ended_at__isnull=True).update(ended_at=fields["closed_at"])
        if action == TaskEvent.Action.DONE:
            event_record(type=EventType.TASK_COMPLETED, account=task.account, data=task_event_data(task))
    return task


def task_complete(*, task: Task, by: User, outcome: str) -> Task:
    return _task_change(
        task=task, by=by, action=TaskEvent.Action.DONE, note=outcome,
        status=Task.Status.DONE, outcome=outcome, closed_at=timezone.now(), closed_by=by, snoozed_until=None,
    )  # fmt: skip


def task_cancel(*, task: Task, by: User, note: str) -> Task:
    return _task_change(
        task=task, by=by, action=TaskEvent.Action.CANCELLED, note=note,
        status=Task.Status.CANCELLED, outcome=note, closed_at=timezone.now(), closed_by=by, snoozed_until=None,
    )  # fmt: skip


def task_snooze(*, task: Task, by: User, until: datetime.date) -> Task:
    """Out of the lists until `until`, when it is due again."""
    return _task_change(
        task=task, by=by, action=TaskEvent.Action.SNOOZED, note=f"until {long_date(until)}",
        status=Task.Status.SNOOZED, snoozed_until=until, due_on=max(task.due_on, until),
    )  # fmt: skip


def task_reassign(*, task: Task, by: User, owner: User) -> Task:
    note = f"from {task.owner or 'nobody'} to {owner}"
    return _task_change(task=task, by=by, action=TaskEvent.Action.REASSIGNED, note=note, owner=owner)


def task_step_toggle(*, task: Task, by: User, index: int) -> Task:
    """Tick or untick one checklist step (no event: steps are the task's own working notes)."""
    steps = [dict(step) for step in task.steps]
    steps[index]["done"] = not steps[index]["done"]
    task.steps = steps
    task.save(update_fields=["steps"])
    return task


def tasks_wake(*, today: datetime.date) -> int:
    """Snoozed tasks whose date has come are open again, each with its "reopened" event: three queries."""
    with transaction.atomic():
        due = list(
            Task.objects.select_for_update()
            .filter(status=Task.Status.SNOOZED, snoozed_until__lte=today)
            .values_list("pk", "account_id")
        )
        if not due:
            return 0
        Task.objects.filter(pk__in=[pk for pk, _ in due]).update(status=Task.Status.OPEN, snoozed_until=None)
        TaskEvent.objects.bulk_create(
            [
                TaskEvent(task_id=pk, account_id=account_id, action=TaskEvent.Action.REOPENED, note="snooze over")
                for pk, account_id in due
            ]
        )
    return len(due)


# ---- Playbooks and rules -------------------------------------------------------------------------


def playbook_save(*, playbook: Playbook, data: dict) -> Playbook:
    for name, value in data.items():
        setattr(playbook, name, value)
    playbook.save()
    return playbook


def rule_save(*, rule: Rule, data: dict, by: User) -> Rule:
    for name, value in data.items():
        setattr(rule, name, value)
    if rule.pk is None:
        rule.created_by = by
    rule.save()
    return rule


def rule_preview(*, rule: Rule, today: datetime.date | None = None) -> tuple[int, list[str]]:
    """How many tasks the rule would create today if saved, and a few of the accounts' names."""
    today = today or timezone.localdate()
    matches = rule_matches(rule, accounts=Account.objects.all(), today=today)
    if rule.pk is not None:
        taken = set(
            RuleOccurrence.objects.filter(rule=rule, ended_at__isnull=True).values_list("account_id", flat=True)
        )
        taken |= set(Task.objects.open().filter(rule=rule).values_list("account_id", flat=True))
        matches = {account_id: reason for account_id, reason in matches.items() if account_id not in taken}
    names = list(Account.objects.filter(pk__in=list(matches)).order_by("name").values_list("name", flat=True)[:5])
    return len(matches), names


def rules_evaluate(
    *, triggers: tuple[str, ...] | None = None, accounts: QuerySet | None = None, today: datetime.date | None = None
) -> int:
    """Evaluate the active rules (of these triggers) on these accounts (all by default); returns tasks created.

    A constant number of queries per rule, whatever the number of accounts. A rule that fails is
    logged and the others go on.
    """
    today = today or timezone.localdate()
    accounts = Account.objects.all() if accounts is None else accounts
    rules = Rule.objects.filter(is_active=True).select_related("playbook", "metric", "owner")
    if triggers is not None:
        rules = rules.filter(trigger__in=triggers)
    created = 0
    for rule in rules:
        try:
            created += _rule_evaluate(rule=rule, accounts=accounts, today=today)
        except Exception:
            logger.exception("rule %s failed", rule.pk)
    return created


def _rule_evaluate(*, rule: Rule, accounts: QuerySet, today: datetime.date) -> int:
    now = timezone.now()
    with transaction.atomic():
        # One pass at a time per rule: two passes noticing the same signal create one task.
        Rule.objects.select_for_update().filter(pk=rule.pk).values_list("pk").first()
        matches = rule_matches(rule, accounts=accounts, today=today)
        in_scope = accounts.values("pk")
        open_occurrences = dict(
            RuleOccurrence.objects.filter(rule=rule, ended_at__isnull=True, account__in=in_scope).values_list(
                "account_id", "pk"
            )
        )
        if rule.trigger not in EVENT_TRIGGERS:
            cleared = [pk for account_id, pk in open_occurrences.items() if account_id not in matches]
            if cleared:
                RuleOccurrence.objects.filter(pk__in=cleared).update(ended_at=now)
        with_open_task = set(
            Task.objects.open().filter(rule=rule, account__in=in_scope).values_list("account_id", flat=True)
        )
        new = sorted(set(matches) - set(open_occurrences) - with_open_task)
        if not new:
            return 0
        tasks = _rule_tasks_create(
            rule=rule, reasons={account_id: matches[account_id] for account_id in new}, now=now, today=today
        )
    if rule.notify != Rule.Notify.NONE:
        _rule_tasks_notify(rule=rule, tasks=tasks)
    return len(tasks)


def _rule_tasks_create(
    *, rule: Rule, reasons: dict[int, str], now: datetime.datetime, today: datetime.date
) -> list[Task]:
    playbook = rule.playbook
    accounts = Account.objects.in_bulk(list(reasons))
    occurrences = RuleOccurrence.objects.bulk_create(
        [RuleOccurrence(rule=rule, account_id=account_id, started_at=now) for account_id in reasons]
    )
    steps = [{"text": text, "done": False} for text in playbook.steps]
    # A named owner gets the tasks of the accounts they can see; the others go to the account's CSM.
    named = set()
    if rule.owner_id:
        named = set(Account.objects.visible_to(rule.owner).filter(pk__in=list(reasons)).values_list("pk", flat=True))
    tasks = Task.objects.bulk_create(
        [
            Task(
                account_id=occurrence.account_id,
                title=playbook.title_for(accounts[occurrence.account_id]),
                kind=playbook.kind,
                reason=reasons[occurrence.account_id][:500],
                owner_id=rule.owner_id if occurrence.account_id in named else accounts[occurrence.account_id].owner_id,
                due_on=today + datetime.timedelta(days=playbook.due_in_days),
                priority=playbook.priority,
                steps=steps,
                rule=rule,
                occurrence=occurrence,
                created_at=now,
            )
            for occurrence in occurrences
        ]
    )
    TaskEvent.objects.bulk_create(
        [
            TaskEvent(
                task=task,
                account_id=task.account_id,
                action=TaskEvent.Action.CREATED,
                note=f"by rule “{rule.name}”",
                at=now,
            )
            for task in tasks
        ]
    )
    owners = User.objects.in_bulk({task.owner_id for task in tasks if task.owner_id})
    for task in tasks:
        task.account, task.rule, task.owner = accounts[task.account_id], rule, owners.get(task.owner_id)
    # One event per task, keyed on it: recorded with the tasks, in their transaction.
    events_record(
        type=EventType.TASK_CREATED,
        items=[(task.account, task_event_data(task)) for task in tasks],
        keys=[f"task:{task.pk}" for task in tasks],
    )
    return tasks


def _rule_tasks_notify(*, rule: Rule, tasks: list[Task]) -> None:
    """One notification per new task to its owner (and its email when the rule says so)."""
    with_email = rule.notify == Rule.Notify.EMAIL
    notifications = []
    for task in tasks:
        if task.owner_id is None:
            continue
        title = one_line(f"New task on {task.account.name}: {task.title}")[:200]
        link = settings.SITE_URL + task.account.get_absolute_url()
        notifications.append(
            Notification(
                user_id=task.owner_id,
                key=f"task:{task.pk}",
                title=title,
                body=task.reason,
                url=task.account.get_absolute_url() + "#tasks",
                email_subject=title if with_email else "",
                email_body=render_to_string(
                    "playbooks/email/task_created.txt", {"task": task, "rule": rule, "link": link}
                )
                if with_email
                else "",
            )
        )
    Notification.objects.bulk_create(notifications, ignore_conflicts=True)
    if with_email:
        keys = [notification.key for notification in notifications]
        notification_emails_send(
            notifications=list(
                Notification.objects.filter(key__in=keys, emailed_at__isnull=True).select_related("user")
            )
        )


def tasks_for_health(*, accounts: QuerySet | None, as_of: datetime.date) -> int:
    return rules_evaluate(triggers=HEALTH_TRIGGERS, accounts=accounts, today=as_of)


def tasks_for_answers(*, account_ids: list[int]) -> int:
    return rules_evaluate(triggers=ANSWER_TRIGGERS, accounts=Account.objects.filter(pk__in=account_ids))


def rules_sweep(*, today: datetime.date | None = None) -> int:
    """The nightly pass: wake snoozed tasks, then every rule on every account (what no other pass notices)."""
    today = today or timezone.localdate()
    tasks_wake(today=today)
    return rules_evaluate(today=today)


def _scrubbed(text: str, personal: list[tuple[str, str]]) -> str:
    for found, replacement in personal:
        if found:
            text = text.replace(found, replacement)
    return text


def tasks_contact_erase(*, account_id: int, personal: list[tuple[str, str]]) -> int:
    """Take an erased contact's name, address and comments out of the account's task reasons, the
    notifications of those tasks and their webhook events; a fixed number of queries. Returns tasks changed."""
    tasks = [
        task for task in Task.objects.filter(account_id=account_id) if _scrubbed(task.reason, personal) != task.reason
    ]
    if not tasks:
        return 0
    for task in tasks:
        task.reason = _scrubbed(task.reason, personal)
    Task.objects.bulk_update(tasks, ["reason"])
    fields = ["title", "body", "email_subject", "email_body"]
    notifications = list(Notification.objects.filter(key__in=[f"task:{task.pk}" for task in tasks]))
    for notification in notifications:
        for field in fields:
            setattr(notification, field, _scrubbed(getattr(notification, field), personal))
    Notification.objects.bulk_update(notifications, fields)
    reasons = {task.pk: task.reason for task in tasks}
    events = list(
        Event.objects.filter(type__in=[EventType.TASK_CREATED, EventType.TASK_COMPLETED], account_id=account_id)
    )
    for event in events:
        task_data = event.payload.get("data", {}).get("task", {})
        if task_data.get("id") in reasons:
            task_data["reason"] = reasons[task_data["id"]]
    Event.objects.bulk_update(events, ["payload"])
    return len(tasks)
