"""The outbox pages (admins, and only while email goes to the outbox): the list, one message, its HTML."""

import re

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_sameorigin

from accounts.outbox import outbox_enabled, outbox_entries, outbox_get
from accounts.permissions import admin_required
from core.htmx import render_page_or_partial

PAGE_SIZE = 50
QUERY_MAX_LENGTH = 200

# The email's own HTML is ours, but is shown as if it were not: no script, no form, no plugin, no
# remote fetch but images from this site; inline styles, as email HTML is styled. The frame's
# sandbox (outbox_message.html) adds the same refusals and lets a link open a new, unsandboxed tab.
FRAME_POLICY = "; ".join(
    [
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src 'self' data:",
        "form-action 'none'",
        "base-uri 'none'",
        "frame-ancestors 'self'",
    ]
)
# Where <base> goes: after a leading doctype, <html> and <head>, whichever the email has.
DOCUMENT_START = re.compile(r"^(\s*<!doctype[^>]*>)?(\s*<html\b[^>]*>)?(\s*<head\b[^>]*>)?", re.IGNORECASE)


def _links_open_in_a_new_tab(html: str) -> str:
    """A link in the frame would otherwise load its page inside the frame, which our pages refuse
    (frame-ancestors 'none'): the preview showed a broken frame instead of the answer page."""
    start = DOCUMENT_START.match(html).end()
    return f'{html[:start]}<base target="_blank">{html[start:]}'


@admin_required
def outbox(request):
    if not outbox_enabled():
        raise Http404
    query = request.GET.get("q", "").strip()[:QUERY_MAX_LENGTH]
    page = Paginator(outbox_entries(query), PAGE_SIZE).get_page(request.GET.get("page"))
    return render_page_or_partial(request, "accounts/outbox.html", "results", {"page": page, "query": query})


@admin_required
def outbox_message(request, name):
    message = outbox_get(name) if outbox_enabled() else None
    if message is None:
        raise Http404
    return render(request, "accounts/outbox_message.html", {"message": message})


@admin_required
@xframe_options_sameorigin
def outbox_message_html(request, name):
    message = outbox_get(name) if outbox_enabled() else None
    if message is None or message.html is None:
        raise Http404
    response = HttpResponse(_links_open_in_a_new_tab(message.html))
    response["Content-Security-Policy"] = FRAME_POLICY
    return response
