"""What a task's webhook events carry (task.created, task.completed): the same shape from every path."""

from django.conf import settings

from playbooks.models import Task


def task_event_data(task: Task) -> dict:
    """The task's facts for a payload; the account is added by the outbox. `title` names it in Slack."""
    return {
        "title": task.title,
        "task": {
            "id": task.pk,
            "title": task.title,
            "kind": task.kind,
            "reason": task.reason,
            "priority": task.priority,
            "status": task.status,
            "due_on": task.due_on.isoformat(),
            "owner": task.owner.email if task.owner else None,
            "rule": task.rule.name if task.rule else None,
            "outcome": task.outcome,
            "url": settings.SITE_URL + task.account.get_absolute_url() + f"#task-{task.pk}",
        },
    }
