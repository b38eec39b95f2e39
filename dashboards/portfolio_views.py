"""A CSM's portfolio: their own at /portfolio/, anyone's in the viewer's scope at /portfolio/<id>/."""

import datetime

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django_htmx.http import push_url

from accounts.models import Account, User
from accounts.selectors import people_in_scope
from core.dates import long_date, short_date
from core.html import link, markup, span
from core.htmx import render_page_or_partial, wants_partial
from core.numbers import fixed, signed, whole
from core.sorting import sort_headers
from dashboards.forms import PortfolioFilterForm
from dashboards.portfolio import (
    DEFAULT_SORT,
    RENEWAL_RISK_DAYS,
    SOON_DAYS,
    TREND_DAYS,
    PortfolioRow,
    RowGroup,
    coming_up,
    portfolio_load,
    rows_filter,
    rows_group,
    rows_sort,
)
from playbooks.selectors import my_tasks

SORT_COLUMNS = [
    ("name", "Account", ""),
    ("health", "Health", ""),
    ("trend", "30-day trend", ""),
    ("arr", "ARR", "num"),
    ("renewal", "Renewal", ""),
    ("last_checkin", "Last check-in", ""),
    ("next_checkin", "Next check-in", ""),
    ("nps", "NPS", "num"),
    ("feedback", "Open feedback", "num"),
    ("tasks", "Tasks", "num"),
]


def _days(days: int, *, future: str, past: str) -> str:
    """ "today", "in 3 days" / "3 days ago", "1 day ago"."""
    if days == 0:
        return "today"
    count = f"{abs(days)} day{'' if abs(days) == 1 else 's'}"
    return future.format(count) if days > 0 else past.format(count)


SEGMENT_LABELS = dict(Account.Segment.choices)
# What each column's cell holds: slots that row_html fills through core.html.markup.
CELLS = {
    "health": '<span class="{chip_class}" title="{chip_title}">{chip}</span>{note}',
    "trend": '<span class="{trend_class}" title="{trend_title}">{trend}</span>',
    "arr": "{arr}",
    "renewal": '<span class="{renewal_class}" title="{renewal_title}">{renewal}</span>'
    ' <span class="portfolio-sub">{renewal_date}</span>',
    "last_checkin": '<span class="{last_class}">{last}</span> <span class="portfolio-sub">{checkin_ago}</span>',
    "next_checkin": '<span class="{next_class}">{next}</span>{overdue}',
    "nps": "{nps}",
    "feedback": "{feedback}",
    "tasks": "{tasks}",
}
CELL_CLASSES = {"health": "portfolio-health", "next_checkin": "{next_cell_class}"}  # else the header's
# One row: the account, then a cell per column, labelled with its header for the phone layout.
ROW = (
    '<tr data-account="{pk}"><td class="card-title">{name}<div class="muted small">{segment}</div></td>'
    + "".join(
        f'<td data-label="{label}" class="{CELL_CLASSES.get(key, css)}">'
        f'<span class="portfolio-cell">{CELLS[key]}</span></td>'
        for key, label, css in SORT_COLUMNS[1:]
    )
    + "</tr>"
)
OVERDUE = markup(' <span class="portfolio-sub">{}</span>', span("overdue", css="pill pill-overdue"))
NO_NPS = span("—", css="muted")
NO_FEEDBACK = span("0", css="muted")


def row_html(row: PortfolioRow, *, account_url: str, feedback_url: str) -> SafeString:
    """One table row of the portfolio, as HTML (core.html: one format string, not the template engine).

    `account_url` is the account page's URL with "{}" for the id: one reverse() instead of 500.
    """
    account, override = row.account, row.override
    computed = "not enough data" if row.score is None else f"{row.score_rounded} ({row.computed_band_label})"
    chip_class = f"health-chip health-chip-{row.band}"
    note = ""
    if override is not None:
        chip = row.band_label if override.band else str(whole(override.score))
        chip_class += " portfolio-overridden"
        until = short_date(override.expires_on)
        chip_title = f"Overridden to {chip} until {until}. Computed score: {computed}."
        note = markup(" {}", span(f"overridden; computed score {computed}", css="visually-hidden"))
    elif row.score is None:
        chip, chip_title = "—", "Not enough data"
        note = markup(" {}", span("not enough data", css="portfolio-sub"))
    else:
        chip, chip_title = str(row.score_rounded), f"{row.band_label}, computed {long_date(row.snapshot_date)}"

    mark = row.trend
    if mark is None:
        trend_text, trend_class, trend_title = "—", "muted", "No score 30 days ago"
    else:
        trend_text, trend_class = str(mark), f"health-delta health-delta-{mark.direction}"
        trend_title = f"{mark.signed} points since {long_date(row.today - datetime.timedelta(days=TREND_DAYS))}"

    renewal_days = row.days_to_renewal
    if renewal_days is None:
        renewal, renewal_class, renewal_title = "—", "muted", ""
    elif row.renewal_at_risk:
        renewal, renewal_class = _days(renewal_days, future="in {}", past="{} ago"), "nowrap portfolio-at-risk"
        renewal_title = f"Renews within {RENEWAL_RISK_DAYS} days with {row.band_label.lower()} health"
    else:
        renewal, renewal_class, renewal_title = _days(renewal_days, future="in {}", past="{} ago"), "nowrap", ""
    since = row.days_since_checkin
    if since is None:
        checkin_ago = ""
    else:
        checkin_ago = "yesterday" if since == 1 else _days(-since, future="", past="{} ago")
    nps = row.nps_value
    last = long_date(row.last_checkin)
    return markup(
        ROW,
        pk=account.pk,
        name=link(account_url.format(account.pk), account.name),
        segment=SEGMENT_LABELS.get(account.segment, account.segment),
        chip_class=chip_class,
        chip_title=chip_title,
        chip=chip,
        note=note,
        trend_class=trend_class,
        trend_title=trend_title,
        trend=trend_text,
        arr=fixed(account.arr, 0),
        renewal_class=renewal_class,
        renewal_title=renewal_title,
        renewal=renewal,
        renewal_date=long_date(account.renewal_date),
        last_class="nowrap" if last else "muted",
        last=last or "never",
        checkin_ago=checkin_ago,
        next_cell_class="portfolio-overdue" if row.checkin_overdue else "",
        next_class="nowrap" if row.next_checkin else "muted",
        next=long_date(row.next_checkin) or "—",
        overdue=OVERDUE if row.checkin_overdue else "",
        nps=NO_NPS if nps is None else markup("{} {}", signed(nps), span(f"n={row.nps.n}", css="muted small")),
        feedback=link(feedback_url, row.open_feedback) if row.open_feedback else NO_FEEDBACK,
        tasks=link(account_url.format(account.pk) + "#tasks", row.open_tasks) if row.open_tasks else NO_FEEDBACK,
    )


GROUP_ROW = (
    f'<tr class="portfolio-group"><th colspan="{len(SORT_COLUMNS)}" scope="rowgroup">{{name}}'
    ' <span class="portfolio-sub">{count} · ARR {arr}</span></th></tr>'
)
NO_GROUP = span("No parent account", css="muted")
HIDDEN_PARENT = span("Parent accounts outside your scope", css="muted")


def group_html(group: RowGroup, *, account_url: str) -> SafeString:
    """The header row of a group of the portfolio grouped by parent account."""
    if group.hidden:
        name = HIDDEN_PARENT
    elif group.parent_id is None:
        name = NO_GROUP
    else:
        name = link(account_url.format(group.parent_id), group.name)
    count = f"{len(group.rows)} account{'' if len(group.rows) == 1 else 's'}"
    return markup(GROUP_ROW, name=name, count=count, arr=fixed(group.arr, 0))


def _query_with(request, **changes: str) -> str:
    """The request's query string with `changes` set in place (an empty one drops its parameter)."""
    query = request.GET.copy()
    for key, value in changes.items():
        if value:
            query[key] = value
        else:
            query.pop(key, None)
    return query.urlencode()


def _canonical_query(request) -> str:
    """The request's query string without empty values or the default sort, in a stable order."""
    kept = [(key, value) for key, value in request.GET.items() if value and key in PortfolioFilterForm.base_fields]
    if dict(kept).get("sort") == DEFAULT_SORT and "desc" not in dict(kept):
        kept = [(key, value) for key, value in kept if key != "sort"]
    return urlencode(kept)


def _portfolio_owner(request, user_id: int | None) -> User:
    """The viewer for /portfolio/, else someone in the viewer's scope (404 otherwise, never their data)."""
    if user_id is None or user_id == request.user.pk:
        return request.user
    return get_object_or_404(people_in_scope(request.user).select_related("team"), pk=user_id)


@login_required
def portfolio(request, user_id: int | None = None):
    csm_choice = request.GET.get("csm", "")
    # ASCII digits only: "²" passes str.isdigit() but not int().
    if user_id is None and csm_choice.isascii() and csm_choice.isdigit():
        # The manager's CSM picker is a plain GET form: send it on to that CSM's own URL (checked there).
        return redirect("dashboards:portfolio_of", user_id=int(csm_choice))
    csm = _portfolio_owner(request, user_id)

    form = PortfolioFilterForm(request.GET)
    form.is_valid()  # a bad parameter is dropped on its own; the valid ones still apply
    filters = form.cleaned_data
    sort = filters.get("sort") or DEFAULT_SORT
    descending = bool(filters.get("desc"))
    data = portfolio_load(csm=csm, viewer=request.user)
    shown = rows_sort(
        rows_filter(
            data.rows,
            query=filters.get("q") or "",
            band=filters.get("band") or "",
            segment=filters.get("segment") or "",
            renewal_within=filters.get("renewal"),
            overdue=filters.get("overdue") == "yes",
        ),
        sort=sort,
        descending=descending,
    )
    own = csm.pk == request.user.pk
    page_url = (
        reverse("dashboards:portfolio")
        if own and user_id is None
        else reverse("dashboards:portfolio_of", args=[csm.pk])
    )
    # Clearing the filters keeps the sort and the grouping.
    kept = (("sort", sort), ("desc", "on" if descending else ""), ("group", filters.get("group") or ""))
    kept_sort = {key: value for key, value in kept if value}
    clear_url = page_url + (f"?{urlencode(kept_sort)}" if kept_sort != {"sort": DEFAULT_SORT} else "")
    # Account.get_absolute_url, reversed once for the whole table.
    account_url = Account(pk=0).get_absolute_url().replace("/0/", "/{}/")
    feedback_url = f"{reverse('surveys:feedback_list')}?owner={csm.pk}"
    grouped = filters.get("group") == "parent"
    if grouped:
        rows_html = []
        for group in rows_group(shown):
            rows_html.append(group_html(group, account_url=account_url))
            rows_html += [row_html(row, account_url=account_url, feedback_url=feedback_url) for row in group.rows]
    else:
        rows_html = [row_html(row, account_url=account_url, feedback_url=feedback_url) for row in shown]
    context = {
        "csm": csm,
        "own": own,
        "portfolio": data,
        "rows": shown,
        "rows_html": rows_html,
        "grouped": grouped,
        "form": form,
        "filtered": any(filters.get(name) for name in ("q", "band", "segment", "renewal", "overdue")),
        "sort": sort,
        "desc": descending,
        "sort_headers": sort_headers(
            SORT_COLUMNS, sort=sort, descending=descending, query=lambda **change: _query_with(request, **change)
        ),
        "page_url": page_url,
        "clear_url": clear_url,
        "soon_days": SOON_DAYS,
        "churned_url": f"{reverse('accounts:list')}?status=churned&owner={csm.pk}",
        "feedback_url": feedback_url,
    }
    partial = wants_partial(request)
    if not partial:
        context["coming_up"] = coming_up(data)
        tasks = context["my_tasks"] = my_tasks(user=csm, today=data.today)
        context["my_task_groups"] = [
            ("Overdue", tasks.overdue, tasks.counts["overdue"]),
            ("Today", tasks.today, tasks.counts["today"]),
            ("This week", tasks.this_week, tasks.counts["this_week"]),
        ]
        if request.user.role in (User.Role.MANAGER, User.Role.ADMIN):
            context["people"] = list(people_in_scope(request.user))
    response = render_page_or_partial(request, "dashboards/portfolio.html", "results", context)
    if partial:
        # The form sends its empty fields too: the address bar gets the short, shareable form.
        push_url(response, page_url + (f"?{query}" if (query := _canonical_query(request)) else ""))
    return response
