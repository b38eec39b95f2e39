"""Rules and playbooks (admins): lists and editors; a rule's editor previews the tasks it would create today."""

from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from accounts.permissions import admin_required
from core.htmx import form_status
from playbooks import services
from playbooks.forms import PlaybookForm, RuleForm
from playbooks.models import Playbook, Rule, Task


@admin_required
def rule_list(request):
    rules = Rule.objects.select_related("playbook", "owner", "metric").order_by("-is_active", "name")
    counts = {
        row["rule_id"]: row
        for row in Task.objects.filter(rule__isnull=False)
        .values("rule_id")
        .annotate(
            open=Count("pk", filter=Q(status__in=Task.OPEN_STATUSES)),
            closed=Count("pk", filter=~Q(status__in=Task.OPEN_STATUSES)),
        )
    }
    rows = [(rule, counts.get(rule.pk, {"open": 0, "closed": 0})) for rule in rules]
    playbooks = Playbook.objects.filter(archived_at__isnull=True)
    return render(request, "playbooks/rule_list.html", {"nav": "rules", "rows": rows, "playbooks": playbooks})


@admin_required
def rule_edit(request, rule_id=None):
    """New or existing rule. "Preview" (HTMX or not) counts the tasks the rule as typed would create today."""
    rule = Rule() if rule_id is None else get_object_or_404(Rule, pk=rule_id)
    form = RuleForm(request.POST or None, instance=rule)
    preview = None
    if request.method == "POST" and form.is_valid():
        draft = Rule(pk=rule.pk, **{name: value for name, value in form.save_data().items()})
        if "preview" in request.POST:
            count, names = services.rule_preview(rule=draft, today=timezone.localdate())
            preview = {"count": count, "names": names}
        else:
            saved = services.rule_save(rule=rule, data=form.save_data(), by=request.user)
            messages.success(
                request, f"Rule “{saved.name}” saved. It runs with the next recompute, answer or nightly pass."
            )
            return redirect("playbooks:rule_list")
    context = {"nav": "rules", "form": form, "rule": rule, "preview": preview}
    if request.htmx and "preview" in request.POST:
        return render(request, "playbooks/rule_form.html#editor", context, status=form_status(form))
    return render(request, "playbooks/rule_form.html", context, status=form_status(form))


@admin_required
def playbook_edit(request, playbook_id=None):
    playbook = Playbook() if playbook_id is None else get_object_or_404(Playbook, pk=playbook_id)
    form = PlaybookForm(request.POST or None, instance=playbook)
    if request.method == "POST" and form.is_valid():
        saved = services.playbook_save(playbook=playbook, data=form.save_data())
        messages.success(request, f"Playbook “{saved.name}” saved.")
        return redirect("playbooks:rule_list")
    context = {"nav": "rules", "form": form, "playbook": playbook}
    return render(request, "playbooks/playbook_form.html", context, status=form_status(form))
