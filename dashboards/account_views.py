"""The account page: everything a CSM reads before a check-in, on one page.

One template (`dashboards/account.html`). An HTMX request gets a partial of it: `since` when it
targets that section (the "compare with" links), otherwise `content` (the page without the layout).
The check-in and contact forms post to the accounts app, which answers with its section.
"""

import datetime

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import Account
from accounts.sections import sections_context
from core.htmx import render_page_or_partial
from dashboards import account_page as page_data
from dashboards.timeline import FILTERS, timeline_page
from playbooks.sections import tasks_section_context
from renewals.sections import renewal_section_context

PARTIALS = {"since"}


@login_required
def account_page(request, account_id):
    account = get_object_or_404(page_data.accounts_for(request.user), pk=account_id)
    since = request.GET.get("since", "")
    today = timezone.localdate()
    context = page_data.account_page_context(
        account=account, today=today, since=since if since in page_data.SINCE_CHOICES else ""
    )
    context |= {
        "nav": "accounts",
        "group": page_data.group_rollup(account=account, user=request.user, today=today),
        **sections_context(account=account, user=request.user, checkins=context["checkins"]),
        **tasks_section_context(account=account, user=request.user, can_edit=account.can_edit),
        **renewal_section_context(account=account, user=request.user, can_edit=account.can_edit),
    }
    partial = request.htmx.target if request.htmx.target in PARTIALS else "content"
    return render_page_or_partial(request, "dashboards/account.html", partial, context)


@login_required
def account_timeline(request, account_id):
    """The account's timeline, a page at a time: the items before `?before=` (an ISO instant), newest first."""
    account = get_object_or_404(Account.objects.visible_to(request.user), pk=account_id)
    kind = request.GET.get("type", "")
    kind = kind if kind in FILTERS else ""
    page = timeline_page(account=account, before=_cursor(request.GET.get("before", "")), kind=kind)
    filters = [("", "Everything"), *((key, label) for key, (label, _) in FILTERS.items())]
    context = {"account": account, "page": page, "nav": "accounts", "kind": kind, "filters": filters}
    return render_page_or_partial(request, "dashboards/timeline.html", "items", context)


EARLIEST_CURSOR = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)  # a local day of it exists in every zone


def _cursor(text: str) -> datetime.datetime | None:
    """The `?before=` instant, between 1970 and now; None (start from now) for anything else."""
    try:
        before = parse_datetime(text) if 0 < len(text) < 40 else None
        if before is not None and timezone.is_naive(before):
            before = timezone.make_aware(before)
    except (ValueError, OverflowError):  # well-formed but not a real moment ("2026-13-01T00:00")
        return None
    if before is None:
        return None
    return min(max(before, EARLIEST_CURSOR), timezone.now())
