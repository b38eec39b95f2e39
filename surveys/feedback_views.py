"""Feedback: every comment in the user's scope, worked in place (status, assignee, internal note, replies)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.selectors import people_in_scope
from core.htmx import INVALID, form_status, render_page_or_partial
from surveys import services
from surveys.forms import FeedbackFilterForm, FeedbackForm, FeedbackReplyForm
from surveys.models import Response
from surveys.replies import reply_draft, reply_refusal
from surveys.selectors.feedback import OPEN, feedback_annotate, feedback_comments, praise_sla_days, sla_days

PAGE_SIZE = 50


def _item_context(request) -> dict:
    """What every item needs to render its form: the same for the whole page, so no query per item."""
    return {
        "assignees": list(people_in_scope(request.user)),
        "statuses": Response.FeedbackStatus.choices,
        "sla_days": sla_days(),
        "praise_sla_days": praise_sla_days(),
        "note_max_length": services.NOTE_MAX_LENGTH,
    }


@login_required
def feedback_list(request):
    form = FeedbackFilterForm(request.GET, user=request.user)
    form.is_valid()  # a bad value drops that one filter, not the others
    filters = form.cleaned_data
    comments = feedback_comments(
        user=request.user,
        status=filters.get("status") or OPEN,
        kind=filters.get("kind", ""),
        low_only=filters.get("low", False),
        team=filters.get("team"),
        owner=filters.get("owner"),
        assigned_to=request.user if filters.get("mine") else None,
    )
    page = Paginator(comments, PAGE_SIZE).get_page(request.GET.get("page"))
    feedback_annotate(page)
    filtered = any(request.GET.get(name) for name in form.fields)
    # Only an empty page needs to know whether there is any comment at all (which empty state to show).
    has_any = bool(page.paginator.count) or Response.objects.visible_to(request.user).exclude(comment="").exists()
    context = {
        "form": form,
        "page": page,
        "filtered": filtered,
        "has_any": has_any,
        **_item_context(request),
        "back_url": request.get_full_path(),
    }
    return render_page_or_partial(request, "surveys/feedback.html", "list", context)


def _back_url(request) -> str:
    """Where a form without script returns: the feedback list as it was filtered, never another site."""
    back = (request.POST if request.method == "POST" else request.GET).get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=False):
        return back
    return reverse("surveys:feedback_list")


@login_required
@require_GET
def feedback_item(request, response_id):
    """One comment on its own page, the one the low-score alert links to: read by whoever sees it."""
    response = get_object_or_404(feedback_comments(user=request.user, status="all"), pk=response_id)
    feedback_annotate([response])
    context = {"item": response, **_item_context(request), "back_url": reverse("surveys:feedback_list"), "single": True}
    return render(request, "surveys/feedback.html", context)


@login_required
@require_POST
def feedback_update(request, response_id):
    response = _editable_item(request, response_id)
    form = FeedbackForm(request.POST, user=request.user, response=response)
    if form.is_valid():
        try:
            services.feedback_update(
                response=response,
                by=request.user,
                status=form.cleaned_data["status"],
                assignee=form.cleaned_data["assignee"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                form.add_error(field, field_errors)
    back_url = _back_url(request)
    if not form.errors and not request.htmx:
        messages.success(request, f"Feedback from {response.account.name} saved.")
        return redirect(back_url)
    if form.errors:
        # Show what was typed, not what is stored, so a long note is not lost to a validation error.
        response.internal_note = request.POST.get("note", response.internal_note)
        if request.POST.get("status") in Response.FeedbackStatus.values:
            response.feedback_status = request.POST["status"]
    feedback_annotate([response])
    context = {
        "item": response,
        "item_form": form,
        **_item_context(request),
        "back_url": back_url,
        "single": True,
    }
    return render_page_or_partial(request, "surveys/feedback.html", "item", context, status=form_status(form))


def _editable_item(request, response_id) -> Response:
    # Only those who may edit the account work its feedback; teammates read it, anyone else gets 404.
    return get_object_or_404(feedback_comments(user=request.user, status="all").filter(can_edit=True), pk=response_id)


@login_required
@require_http_methods(["GET", "POST"])
def feedback_reply(request, response_id):
    """The reply form of one item, opened in place from a template of its kind, and its sending.

    A respondent who cannot be emailed (no contact, erased, archived, opted out, bounced) gets the
    reason instead of the form, and a post for them changes nothing.
    """
    response = _editable_item(request, response_id)
    refusal = reply_refusal(response)
    if request.method == "POST":
        form = FeedbackReplyForm(request.POST)
        if not refusal and form.is_valid():
            try:
                services.feedback_reply_create(
                    response=response,
                    by=request.user,
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                )
            except ValidationError as error:
                for field, field_errors in error.message_dict.items():
                    form.add_error(None if field == "__all__" else field, field_errors)
            else:
                if not request.htmx:
                    messages.success(request, f"Reply to {response.contact.email} saved; it is being sent.")
                    return redirect(_back_url(request))
                response = _editable_item(request, response_id)  # with the new reply and status
                form = None
    else:
        subject, body = reply_draft(response=response, author=request.user)
        form = FeedbackReplyForm(initial={"subject": subject, "body": body})
    feedback_annotate([response])
    context = {
        "item": response,
        "reply_form": None if refusal else form,
        "reply_refusal": refusal,
        **_item_context(request),
        "back_url": _back_url(request),
        "single": True,
    }
    status = INVALID if request.method == "POST" and (refusal or (form is not None and form.errors)) else 200
    return render_page_or_partial(request, "surveys/feedback.html", "item", context, status=status)
