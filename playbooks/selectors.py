"""Reads of tasks that pages share: an account's tasks, My tasks, counts per account and per owner.

Each runs a fixed number of queries, whatever the number of tasks.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from accounts.models import Account, User
from playbooks.forms import week_end
from playbooks.models import Task

ACCOUNT_CLOSED_SHOWN = 5  # done or cancelled tasks the account page lists under the open ones
MY_TASKS_SHOWN = 8  # per group on the portfolio


def task_owners(account: Account) -> QuerySet:
    """Who may own a task on the account: its team's active people, their managers, and admins."""
    team_id = account.owner.team_id if account.owner_id else None
    if team_id is None:
        scope = Q(pk=account.owner_id) | Q(role=User.Role.ADMIN)
    else:
        scope = Q(team_id=team_id) | Q(managed_teams=team_id) | Q(role=User.Role.ADMIN)
    return User.objects.filter(scope, is_active=True).distinct().order_by("name")


def tasks_writable_by(user: User) -> QuerySet:
    """Tasks the user may complete, snooze or reassign: those of accounts they edit, and their own."""
    return Task.objects.filter(
        Q(account__in=Account.objects.editable_by(user)) | Q(owner=user, account__in=Account.objects.visible_to(user))
    )


def account_tasks(account: Account) -> tuple[list[Task], list[Task]]:
    """(open tasks soonest due first, the latest closed ones): two queries."""
    tasks = account.tasks.select_related("owner", "rule", "closed_by", "created_by")
    return (
        list(tasks.open().order_by("due_on", "pk")),
        list(tasks.exclude(status__in=Task.OPEN_STATUSES).order_by("-closed_at", "-pk")[:ACCOUNT_CLOSED_SHOWN]),
    )


@dataclass
class MyTasks:
    overdue: list[Task]
    today: list[Task]
    this_week: list[Task]
    counts: dict[str, int]


def my_tasks(*, user: User, today: datetime.date) -> MyTasks:
    """The user's open tasks due by the end of this week, in three groups with their full counts: four
    queries (one per group, so a long overdue list never hides today's)."""
    mine = Task.objects.visible_to(user).filter(owner=user, status=Task.Status.OPEN)
    end = week_end(today)
    counts = mine.aggregate(
        overdue=Count("pk", filter=Q(due_on__lt=today)),
        today=Count("pk", filter=Q(due_on=today)),
        this_week=Count("pk", filter=Q(due_on__gt=today, due_on__lte=end)),
        later=Count("pk", filter=Q(due_on__gt=end)),
    )
    groups = {
        "overdue": Q(due_on__lt=today),
        "today": Q(due_on=today),
        "this_week": Q(due_on__gt=today, due_on__lte=end),
    }
    listed = {
        name: list(mine.filter(condition).select_related("account").order_by("due_on", "pk")[:MY_TASKS_SHOWN])
        if counts[name]
        else []
        for name, condition in groups.items()
    }
    return MyTasks(**listed, counts=counts)


def open_task_counts(*, accounts) -> dict[int, int]:
    """{account id: open tasks}, for a queryset or list of account ids: one query."""
    rows = Task.objects.open().filter(account__in=accounts).values("account_id").annotate(n=Count("pk"))
    return {row["account_id"]: row["n"] for row in rows}


@dataclass
class OwnerCounts:
    open: int
    overdue: int


def counts_by_owner(*, user: User, owners, today: datetime.date) -> dict[int, OwnerCounts]:
    """{owner id: open and overdue tasks} of the tasks `user` may see, for these owners: one query."""
    rows = (
        Task.objects.visible_to(user)
        .open()
        .filter(owner__in=owners)
        .values("owner_id")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=Q(due_on__lt=today)))
    )
    return {row["owner_id"]: OwnerCounts(open=row["open"], overdue=row["overdue"]) for row in rows}
