"""Reply templates (admins): the words a reply to a survey comment starts from, per survey kind and tone."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from accounts.permissions import admin_required
from core.htmx import form_status
from surveys.forms import PLACEHOLDER_HELP, ReplyTemplateForm
from surveys.models import ReplyTemplate


@admin_required
def reply_template_list(request):
    context = {"templates": ReplyTemplate.objects.all(), "placeholder_help": PLACEHOLDER_HELP}
    return render(request, "surveys/reply_templates.html", context)


@admin_required
def reply_template_edit(request, template_id):
    template = get_object_or_404(ReplyTemplate, pk=template_id)
    form = ReplyTemplateForm(request.POST if request.method == "POST" else None, instance=template)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Reply template {template} saved.")
        return redirect("surveys:reply_template_list")
    context = {"form": form, "template": template}
    return render(request, "surveys/reply_template_form.html", context, status=form_status(form))
