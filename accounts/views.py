"""Account pages: the list, create and edit, and the inline forms of the account page.

The account page itself is dashboards' (dashboards/account_views.py); its check-ins and contacts
sections are templates of this app (accounts/_checkins.html, accounts/_contacts.html), so an
HTMX post here answers with the section it changed.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts import services
from accounts.forms import AccountFilterForm, AccountForm, CheckInForm, ContactForm
from accounts.models import Account, Contact
from accounts.sections import sections_context
from accounts.selectors import account_list
from core.htmx import INVALID, form_status, render_page_or_partial

PAGE_SIZE = 50
SORT_COLUMNS = [
    ("name", "Account"),
    ("owner", "CSM"),
    ("segment", "Segment"),
    ("arr", "ARR"),
    ("renewal", "Renewal"),
    ("last_checkin", "Last check-in"),
]


@login_required
def account_list_view(request):
    form = AccountFilterForm(request.GET, user=request.user)
    filters = form.cleaned_data if form.is_valid() else {}
    accounts = account_list(
        user=request.user,
        query=filters.get("q", ""),
        owner=filters.get("owner"),
        segment=filters.get("segment", ""),
        status=filters.get("status", ""),
        sort=filters.get("sort") or "name",
        descending=filters.get("desc", False),
    )
    page = Paginator(accounts, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("sort", None)
    query.pop("desc", None)
    context = {
        "form": form,
        "page": page,
        "sort": filters.get("sort") or "name",
        "desc": filters.get("desc", False),
        "sort_columns": SORT_COLUMNS,
        "querystring_base": query.urlencode(),
    }
    return render_page_or_partial(request, "accounts/list.html", "results", context)


def _editable_account(request, account_id) -> Account:
    return get_object_or_404(Account.objects.editable_by(request.user).select_related("owner__team"), pk=account_id)


@login_required
def account_create(request):
    form = AccountForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        account = services.account_save(account=Account(), data=form.cleaned_data, by=request.user)
        messages.success(request, f"Account {account.name} created.")
        return redirect(account)
    return render(request, "accounts/form.html", {"form": form, "account": None}, status=form_status(form))


@login_required
def account_edit(request, account_id):
    account = _editable_account(request, account_id)
    form = AccountForm(request.POST if request.method == "POST" else None, instance=account, user=request.user)
    if request.method == "POST" and form.is_valid():
        services.account_save(account=account, data=form.cleaned_data, by=request.user)
        messages.success(request, "Account saved.")
        return redirect(account)
    return render(request, "accounts/form.html", {"form": form, "account": account}, status=form_status(form))


SECTIONS = {"checkins": "accounts/_checkins.html", "contacts": "accounts/_contacts.html"}


def _account_section(request, account: Account, section: str, status: int = 200, **overrides):
    """One section of the account page after a post: alone for HTMX, inside a small page without script.

    Only the editable_by scope reaches here, so the forms are always shown.
    """
    context = {
        "account": account,
        "can_edit": True,
        **sections_context(account=account, user=request.user),
        "section_template": SECTIONS[section],
        **overrides,
    }
    template = SECTIONS[section] if request.htmx else "accounts/section_page.html"
    return render(request, template, context, status=status)


@login_required
@require_POST
def contact_add(request, account_id):
    account = _editable_account(request, account_id)
    form = ContactForm(request.POST, account=account)
    if not form.is_valid():
        return _account_section(request, account, "contacts", status=INVALID, contact_form=form)
    contact = services.contact_save(contact=Contact(account=account), data=form.cleaned_data)
    if not request.htmx:
        messages.success(request, f"{contact.name} added.")
        return redirect(account)
    return _account_section(request, account, "contacts")


@login_required
def contact_edit(request, account_id, contact_id):
    account = _editable_account(request, account_id)
    contact = get_object_or_404(account.contacts.active(), pk=contact_id)
    form = ContactForm(request.POST if request.method == "POST" else None, instance=contact, account=account)
    if request.method == "POST" and form.is_valid():
        services.contact_save(contact=contact, data=form.cleaned_data)
        messages.success(request, f"{contact.name} saved.")
        return redirect(account)
    context = {"form": form, "account": account, "contact": contact}
    return render(request, "accounts/contact_form.html", context, status=form_status(form))


@login_required
@require_POST
def contact_archive(request, account_id, contact_id):
    account = _editable_account(request, account_id)
    contact = get_object_or_404(account.contacts.active(), pk=contact_id)
    services.contact_archive(contact=contact, by=request.user)
    messages.success(request, f"{contact.name} archived. Their survey answers are kept and still count.")
    return redirect(account)


@login_required
@require_POST
def checkin_add(request, account_id):
    account = _editable_account(request, account_id)
    form = CheckInForm(request.POST)
    if not form.is_valid():
        return _account_section(request, account, "checkins", status=INVALID, checkin_form=form)
    services.checkin_add(account=account, csm=request.user, **form.cleaned_data)
    if not request.htmx:
        messages.success(request, "Check-in logged.")
        return redirect(account)
    return _account_section(request, account, "checkins")
