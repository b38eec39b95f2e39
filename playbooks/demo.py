"""Demo data for tasks and playbooks: a few sensible rules, a year of tasks (done, cancelled, open, overdue).

The past tasks follow the demo's own signals: every low score and every entry into red of the
last year got a task, most of them done within days with an outcome, a few cancelled, the recent
ones partly still open. Then the rules run once on today's data, as the nightly sweep would, and
the demo CSM gets a few tasks of their own due today and this week. Seeding again adds nothing.
"""

import datetime
import random

from django.db.models import Q

from accounts.models import Account, MetricDefinition, User
from core.dates import day_start
from playbooks.models import Playbook, Priority, Rule, Task, TaskEvent, TaskKind, Trigger
from playbooks.services import rules_evaluate
from scoring.models import Band, HealthSnapshot
from surveys.models import ALERT_AT_OR_BELOW, Response

DEMO_CSM = "csm@example.com"

PLAYBOOKS = (
    # name, title, kind, steps, due in days, priority
    (
        "Save a red account",
        "Rescue plan for {account}",
        TaskKind.RISK,
        [
            "Read the health breakdown and the last check-in",
            "Call the primary contact",
            "Agree a recovery plan",
            "Log the check-in with the next date",
        ],
        3,
        Priority.HIGH,
    ),
    (
        "Detractor call-back",
        "Call back the unhappy respondent at {account}",
        TaskKind.FEEDBACK,
        [
            "Read the comment and the account's history",
            "Reply or call within two days",
            "Close the feedback with the outcome",
        ],
        2,
        Priority.HIGH,
    ),
    (
        "Renewal rescue",
        "Secure the renewal of {account}",
        TaskKind.RENEWAL,
        ["Confirm the decision maker and the date", "Review value delivered this term", "Book the renewal call"],
        7,
        Priority.HIGH,
    ),
    (
        "Re-engage a quiet account",
        "Re-engage {account}",
        TaskKind.ADOPTION,
        ["Check who stopped logging in", "Offer a training session"],
        5,
        Priority.NORMAL,
    ),
    ("Overdue check-in", "Book the overdue check-in with {account}", TaskKind.CHECK_IN, [], 2, Priority.NORMAL),
    (
        "Lost champion",
        "Find a new primary contact at {account}",
        TaskKind.CONTACT,
        ["Ask the remaining contacts who owns the tool now", "Update the primary contact"],
        7,
        Priority.NORMAL,
    ),
)

RULES = (
    # name, trigger, extra fields, playbook, notify
    ("Account enters red", Trigger.ENTERS_RED, {}, "Save a red account", Rule.Notify.APP),
    ("Detractor or unhappy answer", Trigger.LOW_SCORE, {}, "Detractor call-back", Rule.Notify.APP),
    ("Renewal in 90 days at risk", Trigger.RENEWAL_AT_RISK, {"days": 90}, "Renewal rescue", Rule.Notify.APP),
    ("Check-in two weeks overdue", Trigger.CHECKIN_OVERDUE, {"days": 14}, "Overdue check-in", Rule.Notify.NONE),
    ("Primary contact lost", Trigger.PRIMARY_CONTACT_LOST, {}, "Lost champion", Rule.Notify.APP),
    (
        "No logins for 14 days",
        Trigger.METRIC_THRESHOLD,
        {"metric": "logins", "comparison": Rule.Comparison.BELOW, "threshold": 1, "days": 14},
        "Re-engage a quiet account",
        Rule.Notify.APP,
    ),
)

OUTCOMES = {
    TaskKind.RISK: [
        "Called the sponsor; recovery plan agreed, weekly calls for a month.",
        "Usage dip was a seasonal shutdown; back to normal next week.",
        "Escalated the open support tickets; engineering fix shipped.",
    ],
    TaskKind.FEEDBACK: [
        "Called them: onboarding gaps, booked two training sessions.",
        "Replied by email; their bug is fixed in the next release.",
        "Spoke to the respondent; shared the roadmap item they asked for.",
    ],
}
CANCEL_NOTES = ["Handled on the renewal call.", "Duplicate of the CSM's own follow-up."]


def seed_playbooks(*, rng: random.Random, today: datetime.date) -> dict:
    if Playbook.objects.exists():
        return {"tasks": 0}
    playbooks = {
        name: Playbook.objects.create(
            name=name, title_template=title, kind=kind, steps=steps, due_in_days=due, priority=priority
        )
        for name, title, kind, steps, due, priority in PLAYBOOKS
    }
    metrics = {metric.key: metric for metric in MetricDefinition.objects.all()}
    rules = {}
    for name, trigger, extra, playbook, notify in RULES:
        if "metric" in extra:
            if extra["metric"] not in metrics:
                continue
            extra = extra | {"metric": metrics[extra["metric"]]}
        rules[trigger] = Rule.objects.create(
            name=name, trigger=trigger, playbook=playbooks[playbook], notify=notify, **extra
        )
    past = _past_tasks(rng=rng, today=today, rules=rules)
    created = rules_evaluate(today=today)
    own = _own_tasks(today=today)
    return {"tasks": past + created + own}


def _past_tasks(*, rng: random.Random, today: datetime.date, rules: dict) -> int:
    """Tasks for the last year's low scores and entries into red, before today's pass of the rules."""
    owners = dict(Account.objects.values_list("pk", "owner_id"))
    names = dict(Account.objects.values_list("pk", "name"))
    signals = []  # (account id, when, rule, reason)
    low = Q()
    for kind, top in ALERT_AT_OR_BELOW.items():
        low |= Q(kind=kind, score__lte=top)
    answers = Response.objects.filter(low, answered_at__gte=day_start(today - datetime.timedelta(days=365)))
    answers = answers.filter(
        answered_at__lt=day_start(today - datetime.timedelta(days=7))
    )  # recent ones: the rule's pass
    for account_id, answered_at, kind, score in answers.values_list("account_id", "answered_at", "kind", "score"):
        signals.append((account_id, answered_at, rules[Trigger.LOW_SCORE], f"{kind.upper()} {score} from a contact"))
    previous: dict[int, str] = {}
    history = HealthSnapshot.objects.filter(date__gte=today - datetime.timedelta(days=365), date__lt=today)
    for account_id, date, band, score in history.order_by("account_id", "date").values_list(
        "account_id", "date", "band", "score"
    ):
        if band == Band.RED and previous.get(account_id) not in (None, Band.RED):
            signals.append(
                (
                    account_id,
                    day_start(date) + datetime.timedelta(hours=2, minutes=30),
                    rules[Trigger.ENTERS_RED],
                    f"health {round(score or 0)} (red)",
                )
            )
        previous[account_id] = band
    tasks = []
    for account_id, when, rule, reason in sorted(signals, key=lambda signal: signal[1]):
        playbook = rule.playbook
        due_on = when.date() + datetime.timedelta(days=playbook.due_in_days)
        age = (today - when.date()).days
        draw = rng.random()
        task = Task(
            account_id=account_id,
            title=playbook.title_for(Account(name=names[account_id])),
            kind=playbook.kind,
            reason=reason,
            owner_id=owners[account_id],
            due_on=due_on,
            priority=playbook.priority,
            steps=[{"text": text, "done": True} for text in playbook.steps],
            rule=rule,
            created_at=when,
        )
        if age > 21 or draw < 0.5:
            late = draw < 0.15
            closed_at = when + datetime.timedelta(
                days=rng.randint(playbook.due_in_days + 1, playbook.due_in_days + 6)
                if late
                else rng.randint(0, playbook.due_in_days),
                hours=rng.randint(1, 6),
            )
            if closed_at.date() >= today:
                closed_at = day_start(today) - datetime.timedelta(hours=3)
            cancelled = draw > 0.95
            task.status = Task.Status.CANCELLED if cancelled else Task.Status.DONE
            task.outcome = (
                rng.choice(CANCEL_NOTES)
                if cancelled
                else rng.choice(OUTCOMES.get(playbook.kind, OUTCOMES[TaskKind.RISK]))
            )
            task.closed_at, task.closed_by_id = closed_at, owners[account_id]
        else:
            task.steps = [dict(step, done=index == 0) for index, step in enumerate(task.steps)]
        tasks.append(task)
    Task.objects.bulk_create(tasks, batch_size=2000)
    events = []
    for task in Task.objects.filter(rule__isnull=False).only(
        "pk", "account_id", "created_at", "status", "closed_at", "closed_by_id", "outcome", "rule_id"
    ):
        events.append(
            TaskEvent(
                task=task,
                account_id=task.account_id,
                action=TaskEvent.Action.CREATED,
                at=task.created_at,
                note="by rule",
            )
        )
        if task.closed_at:
            action = TaskEvent.Action.DONE if task.status == Task.Status.DONE else TaskEvent.Action.CANCELLED
            events.append(
                TaskEvent(
                    task=task,
                    account_id=task.account_id,
                    action=action,
                    actor_id=task.closed_by_id,
                    note=task.outcome,
                    at=task.closed_at,
                )
            )
    TaskEvent.objects.bulk_create(events, batch_size=2000)
    return len(tasks)


def _own_tasks(*, today: datetime.date) -> int:
    """The demo CSM's own next steps: one overdue, two due today, two later this week."""
    csm = User.objects.filter(email=DEMO_CSM).first()
    if csm is None:
        return 0
    accounts = list(Account.objects.filter(owner=csm, status=Account.Status.ACTIVE).order_by("name")[:5])
    plans = [
        (-2, "Send the QBR deck", TaskKind.OTHER, Priority.NORMAL),
        (0, "Confirm the training date", TaskKind.ADOPTION, Priority.NORMAL),
        (0, "Introduce the new support lead", TaskKind.OTHER, Priority.LOW),
        (2, "Prepare the expansion proposal", TaskKind.RENEWAL, Priority.HIGH),
        (4, "Follow up on the SSO rollout", TaskKind.ADOPTION, Priority.NORMAL),
    ]
    created = day_start(today - datetime.timedelta(days=6)) + datetime.timedelta(hours=10)
    tasks = Task.objects.bulk_create(
        [
            Task(
                account=account,
                title=title,
                kind=kind,
                priority=priority,
                owner=csm,
                created_by=csm,
                created_at=created,
                due_on=today + datetime.timedelta(days=offset),
            )
            for account, (offset, title, kind, priority) in zip(accounts, plans, strict=False)
        ]
    )
    TaskEvent.objects.bulk_create(
        [
            TaskEvent(task=task, account_id=task.account_id, action=TaskEvent.Action.CREATED, actor=csm, at=created)
            for task in tasks
        ]
    )
    return len(tasks)
