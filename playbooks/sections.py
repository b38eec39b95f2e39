"""The account page's tasks section: one context builder for the whole page (dashboards) and for the
section alone after one of its forms posts (playbooks.views), so the two cannot drift."""

from django.utils import timezone

from accounts.models import Account, User
from playbooks.forms import TaskForm
from playbooks.selectors import account_tasks, task_owners


def tasks_section_context(*, account: Account, user: User, can_edit: bool, **overrides) -> dict:
    """What playbooks/_tasks.html needs. `failed` = (task id, action, form) re-shows a form with its errors."""
    today = timezone.localdate()
    open_tasks, closed_tasks = account_tasks(account)
    owners = list(task_owners(account)) if can_edit or any(task.owner_id == user.pk for task in open_tasks) else []
    for task in open_tasks:
        task.can_write = can_edit or task.owner_id == user.pk
        task.overdue = task.is_overdue(today)
        task.snoozed = task.status == task.Status.SNOOZED
    context = {
        "account": account,
        "open_tasks": open_tasks,
        "closed_tasks": closed_tasks,
        "task_owners": owners,
        "can_add_task": can_edit,
        "task_form": TaskForm(owners=task_owners(account), initial={"owner": account.owner_id, "due_on": today})
        if can_edit
        else None,
        "today": today,
        "failed": None,
    }
    return context | overrides
