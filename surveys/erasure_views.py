"""The GDPR erase page of one contact (admins only; anyone else gets 404, like every admin page)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from accounts.models import Account
from accounts.permissions import admin_required
from surveys.erasure import contact_erase as erase
from surveys.models import Response


@admin_required
def contact_erase(request, account_id, contact_id):
    account = get_object_or_404(Account.objects.visible_to(request.user), pk=account_id)
    contact = get_object_or_404(account.contacts.filter(erasure__isnull=True), pk=contact_id)
    if request.method == "POST":
        record = erase(contact=contact, by=request.user)
        messages.success(
            request,
            f"Personal data of contact #{contact.pk} erased: name and email replaced, "
            f"{record.comments_cleared} comment(s) emptied; the scores are kept.",
        )
        return redirect(account)
    answers = Response.objects.filter(contact=contact)
    context = {
        "account": account,
        "contact": contact,
        "answers": answers.count(),
        "comments": answers.exclude(comment="").count(),
    }
    return render(request, "surveys/contact_erase.html", context)
