"""Renewals: the page of upcoming renewals, and the account page's section with its forms.

Every form posts here and answers with the account's renewal section (HTMX) or goes back to the
account page. Out of scope is a 404: renewals are fetched through the user's accounts.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST
from django_htmx.http import push_url

from accounts.models import Account
from accounts.selectors import people_in_scope
from core.htmx import INVALID, render_page_or_partial, wants_partial
from core.sorting import sort_headers
from renewals import services
from renewals.forms import ForecastCallForm, RenewalCloseForm, RenewalFilterForm, RenewalOpenForm
from renewals.models import Renewal
from renewals.sections import renewal_section_context
from renewals.selectors import (
    DEFAULT_SORT,
    DEFAULT_WINDOW,
    STALE_AFTER_DAYS,
    WINDOWS,
    open_renewal_rows,
    rows_filter,
    rows_sort,
    window_summaries,
)

SORT_COLUMNS = [
    ("account", "Account", ""),
    ("csm", "CSM", ""),
    ("date", "Renewal", ""),
    ("arr", "ARR up", "num"),
    ("call", "Call", ""),
    ("health", "Health", ""),
]
FILTER_NAMES = ("within", "call", "band", "flag", "csm")
# Rows per page: a manager's half year is a thousand renewals, more than anyone reads (or a page renders
# quickly); the windows above the table still count them all.
PAGE_SIZE = 100


@login_required
def renewal_list(request):
    today = timezone.localdate()
    people = list(people_in_scope(request.user))
    data = request.GET.copy()
    data.setdefault("within", str(DEFAULT_WINDOW))  # so the window's menu shows the one the page uses
    form = RenewalFilterForm(data, people=people)
    form.is_valid()  # a bad parameter is dropped on its own; the valid ones still apply
    filters = form.cleaned_data
    within = filters.get("within") or DEFAULT_WINDOW
    sort = filters.get("sort") or DEFAULT_SORT
    descending = bool(filters.get("desc"))
    rows = open_renewal_rows(user=request.user, today=today)
    shown = rows_sort(
        rows_filter(
            rows,
            within=within,
            call=filters.get("call") or "",
            band=filters.get("band") or "",
            flag=filters.get("flag") or "",
            owner=filters.get("csm"),
        ),
        sort=sort,
        descending=descending,
    )
    page_url = reverse("renewals:list")
    context = {
        "nav": "renewals",
        "form": form,
        "page": Paginator(shown, PAGE_SIZE).get_page(request.GET.get("page")),
        "summaries": window_summaries(rows),
        "within": within,
        "windows": WINDOWS,
        "sort": sort,
        "desc": descending,
        "sort_headers": sort_headers(  # a new order starts on its first page
            SORT_COLUMNS,
            sort=sort,
            descending=descending,
            query=lambda **order: _canonical_query(request, page="", **order),
        ),
        "filtered": any(filters.get(name) for name in FILTER_NAMES if name != "within"),
        "clear_url": page_url + (f"?within={within}" if within != DEFAULT_WINDOW else ""),
        "stale_days": STALE_AFTER_DAYS,
        "has_renewals": bool(rows),
        "today": today,
    }
    response = render_page_or_partial(request, "renewals/renewal_list.html", "results", context)
    if wants_partial(request):
        query = _canonical_query(request)
        push_url(response, page_url + (f"?{query}" if query else ""))
    return response


def _canonical_query(request, **changes) -> str:
    """The query string without empty values and defaults: what the address bar and links show."""
    params = {name: request.GET.get(name, "") for name in (*FILTER_NAMES, "sort", "desc", "page")} | changes
    defaults = {"within": str(DEFAULT_WINDOW), "sort": DEFAULT_SORT, "page": "1"}
    return urlencode({name: value for name, value in params.items() if value and defaults.get(name) != value})


def _section(request, account: Account, *, status: int = 200, **overrides):
    context = renewal_section_context(account=account, user=request.user, can_edit=True, **overrides)
    if not request.htmx:
        if status == 200:
            return redirect(account.get_absolute_url() + "#renewal")
        context |= {"section_template": "renewals/_renewal.html"}
        return render(request, "accounts/section_page.html", context, status=status)
    return render(request, "renewals/_renewal.html", context, status=status)


def _open_renewal(request, renewal_id) -> Renewal:
    # An active account's: a churned account's leftover renewal is not forecast or closed any more.
    accounts = Account.objects.editable_by(request.user).filter(status=Account.Status.ACTIVE)
    renewals = Renewal.objects.open().filter(account__in=accounts)
    return get_object_or_404(renewals.select_related("account__owner"), pk=renewal_id)


@login_required
@require_POST
def renewal_call(request, renewal_id):
    renewal = _open_renewal(request, renewal_id)
    form = ForecastCallForm(request.POST)
    if not form.is_valid():
        return _section(request, renewal.account, status=INVALID, call_form=form, renewal_open="call")
    services.forecast_call_record(renewal=renewal, by=request.user, **form.cleaned_data)
    if not request.htmx:
        messages.success(request, "Call recorded.")
    return _section(request, renewal.account)


@login_required
@require_POST
def renewal_close(request, renewal_id):
    renewal = _open_renewal(request, renewal_id)
    form = RenewalCloseForm(request.POST, renewal=renewal, user=request.user)
    if form.is_valid():
        try:
            services.renewal_close(renewal=renewal, by=request.user, **form.cleaned_data)
        except ValidationError as error:  # closed meanwhile by someone else
            form.add_error(None, error)
    if form.errors:
        return _section(request, renewal.account, status=INVALID, close_form=form, renewal_open="close")
    if not request.htmx:
        messages.success(request, "Renewal closed.")
    account = Account.objects.get(pk=renewal.account_id)
    return _section(request, account)


@login_required
@require_POST
def renewal_open(request, account_id):
    account = get_object_or_404(
        Account.objects.editable_by(request.user).filter(status=Account.Status.ACTIVE), pk=account_id
    )
    if account.renewals.open().exists():  # opened meanwhile, in another tab or by someone else
        return _section(request, account, status=INVALID, renewal_error="This account already has an open renewal.")
    form = RenewalOpenForm(request.POST)
    if form.is_valid() and account.renewals.filter(renewal_date=form.cleaned_data["renewal_date"]).exists():
        form.add_error("renewal_date", "This account already has a renewal on that date: pick its next one.")
    if form.errors:
        return _section(request, account, status=INVALID, open_form=form, renewal_open="open")
    services.renewal_open(account=account, **form.cleaned_data)
    return _section(request, account)
