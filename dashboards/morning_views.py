"""The signed-in user's own switch for the morning email (the form is on the notifications page)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_POST


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
