"""Tasks: the list (My tasks and the team's), the account page's section and its in-place actions.

Every action posts here and answers with the account's tasks section (HTMX) or goes back to the
account page. Out of scope is a 404: tasks are fetched through the user's accounts.
"""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import Account, User
from core.htmx import render_page_or_partial
from playbooks import services
from playbooks.forms import (
    TaskCancelForm,
    TaskCompleteForm,
    TaskFilterForm,
    TaskForm,
    TaskReassignForm,
    TaskSnoozeForm,
    week_end,
)
from playbooks.models import Task
from playbooks.sections import tasks_section_context
from playbooks.selectors import counts_by_owner, task_owners, tasks_writable_by

TASKS_PER_PAGE = 50
INVALID = 422


def _section(request, account: Account, *, status: int = 200, **overrides):
    can_edit = Account.objects.editable_by(request.user).filter(pk=account.pk).exists()
    context = tasks_section_context(account=account, user=request.user, can_edit=can_edit, **overrides)
    if not request.htmx:
        if status == 200:
            return redirect(account.get_absolute_url() + "#tasks")
        context |= {"section_template": "playbooks/_tasks.html"}
        return render(request, "accounts/section_page.html", context, status=status)
    return render(request, "playbooks/_tasks.html", context, status=status)


@login_required
@require_POST
def task_add(request, account_id):
    account = get_object_or_404(Account.objects.editable_by(request.user).select_related("owner"), pk=account_id)
    form = TaskForm(request.POST, owners=task_owners(account))
    if not form.is_valid():
        return _section(request, account, status=INVALID, task_form=form, adding=True)
    services.task_create(account=account, by=request.user, **form.cleaned_data)
    if not request.htmx:
        messages.success(request, "Task added.")
    return _section(request, account)


def _writable_task(request, task_id) -> Task:
    tasks = tasks_writable_by(request.user).open().select_related("account__owner", "rule", "owner")
    return get_object_or_404(tasks, pk=task_id)


ACTIONS = {
    "complete": TaskCompleteForm,
    "snooze": TaskSnoozeForm,
    "cancel": TaskCancelForm,
}


@login_required
@require_POST
def task_action(request, task_id, action):
    task = _writable_task(request, task_id)
    if action == "reassign":
        form = TaskReassignForm(request.POST, owners=task_owners(task.account))
    else:
        form = ACTIONS[action](request.POST)
    if not form.is_valid():
        return _section(request, task.account, status=INVALID, failed=(task.pk, action, form))
    data = form.cleaned_data
    try:
        _act(request, task, action, data)
    except services.TaskClosed:
        pass  # closed meanwhile: the section shows it as it is now
    return _section(request, task.account)


def _act(request, task: Task, action: str, data: dict) -> None:
    match action:
        case "complete":
            services.task_complete(task=task, by=request.user, outcome=data["outcome"])
        case "snooze":
            services.task_snooze(task=task, by=request.user, until=data["until"])
        case "reassign":
            services.task_reassign(task=task, by=request.user, owner=data["owner"])
        case "cancel":
            services.task_cancel(task=task, by=request.user, note=data["note"])


@login_required
@require_POST
def task_step(request, task_id, index):
    task = _writable_task(request, task_id)
    if index >= len(task.steps):
        return _section(request, task.account, status=INVALID)
    services.task_step_toggle(task=task, by=request.user, index=index)
    return _section(request, task.account)


def _due_filter(due: str, today: datetime.date) -> Q:
    match due:
        case "overdue":
            return Q(due_on__lt=today)
        case "today":
            return Q(due_on=today)
        case "week":
            return Q(due_on__gte=today, due_on__lte=week_end(today))
    return Q()


@login_required
def task_list(request):
    """My tasks (a CSM's default), or everyone's in scope (a manager's), filtered and paged in the URL."""
    user = request.user
    today = timezone.localdate()
    people = list(
        User.objects.filter(is_active=True, tasks__account__in=Account.objects.visible_to(user))
        .distinct()
        .order_by("name")
    )
    form = TaskFilterForm(request.GET, owners=people, user=user)
    form.is_valid()
    filters = {name: form.cleaned_data.get(name) or "" for name in ("owner", "status", "due", "kind")}
    tasks = Task.objects.visible_to(user).select_related("account", "owner", "rule")
    owner = filters["owner"]
    if owner == "me" or (owner == "" and user.role == User.Role.CSM):
        tasks = tasks.filter(owner=user)
    elif owner.isdigit():
        tasks = tasks.filter(owner_id=int(owner))
    status = filters["status"]
    if status in ("done", "cancelled"):
        tasks = tasks.filter(status=status).order_by("-closed_at", "-pk")
    elif status != "all":
        tasks = tasks.open().order_by("due_on", "pk")
    else:
        tasks = tasks.order_by("-created_at", "-pk")
    tasks = tasks.filter(_due_filter(filters["due"], today))
    if filters["kind"]:
        tasks = tasks.filter(kind=filters["kind"])
    if form.cleaned_data.get("rule"):
        tasks = tasks.filter(rule_id=form.cleaned_data["rule"])
    page = Paginator(tasks, TASKS_PER_PAGE).get_page(form.cleaned_data.get("page") or 1)
    for task in page.object_list:
        task.overdue = task.is_overdue(today)
    # Managers see their people's load beside the list: open and overdue per person, one query.
    by_owner = []
    if user.role != User.Role.CSM:
        counts = counts_by_owner(user=user, owners=[person.pk for person in people], today=today)
        by_owner = [(person, counts[person.pk]) for person in people if person.pk in counts]
        by_owner.sort(key=lambda pair: (-pair[1].overdue, -pair[1].open, pair[0].name))
    context = {
        "nav": "tasks",
        "form": form,
        "page": page,
        "today": today,
        "by_owner": by_owner,
        "filtered": any(filters.values()) or bool(form.cleaned_data.get("rule")),
    }
    return render_page_or_partial(request, "playbooks/task_list.html", "results", context)
