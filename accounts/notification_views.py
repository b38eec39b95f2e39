"""In-app notifications: the signed-in user's list, marking them all as read, and their morning email switch."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Notification
from accounts.services import notifications_mark_read
from core.htmx import render_page_or_partial

PAGE_SIZE = 50


def _notifications_context(request) -> dict:
    notifications = Notification.objects.filter(user=request.user).order_by("-created_at", "-pk")
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    unread = Notification.objects.filter(user=request.user, read_at__isnull=True).count()
    return {"nav": "notifications", "page": page, "unread_count": unread}


@login_required
def notification_list(request):
    return render_page_or_partial(request, "accounts/notifications.html", "list", _notifications_context(request))


@login_required
@require_POST
def notifications_read(request):
    marked = notifications_mark_read(user=request.user)
    if not request.htmx:
        messages.success(request, f"{marked} notification{'s' if marked != 1 else ''} marked as read.")
        return redirect("accounts:notifications")
    # The list, and the top bar's bell out of band, so its count drops to zero too.
    return render(request, "accounts/notifications.html#list", {**_notifications_context(request), "bell_oob": True})


@login_required
@require_POST
def morning_email_toggle(request):
    # A checkbox: present means on, absent means off, so the same form turns it either way.
    wanted = request.POST.get("morning_email") == "on"
    request.user.morning_email = wanted
    request.user.save(update_fields=["morning_email"])
    if wanted:
        messages.success(request, "Morning email on: each morning with a check-in due, you get the list by email.")
    else:
        messages.success(request, "Morning email off.")
    return redirect("accounts:notifications")
