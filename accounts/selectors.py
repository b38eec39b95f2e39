"""Reads that views share: lists and pages of accounts, always scoped to the user."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, F, Max, Q
from django.utils import timezone

from accounts.models import Account, CheckIn, MetricDefinition, MetricValue, User

ACCOUNT_SORTS = {
    "name": "name",
    "owner": "owner__name",
    "segment": "segment",
    "arr": "arr",
    "renewal": "renewal_date",
    "last_checkin": "last_checkin",
}


def account_list(
    *,
    user: User,
    query: str = "",
    owner: User | None = None,
    segment: str = "",
    status: str = "",
    sort: str = "name",
    descending: bool = False,
):
    """Accounts the user may see, filtered and sorted, with their last check-in date; one query."""
    accounts = (
        Account.objects.visible_to(user)
        .select_related("owner")
        .annotate(last_checkin=Max("checkins__date"), contact_count=Count("contacts", distinct=True))
    )
    if query:
        accounts = accounts.filter(Q(name__icontains=query) | Q(external_id__iexact=query))
    if owner is not None:
        accounts = accounts.filter(owner=owner)
    if segment:
        accounts = accounts.filter(segment=segment)
    if status:
        accounts = accounts.filter(status=status)
    column = F(ACCOUNT_SORTS.get(sort, "name"))
    ordering = column.desc(nulls_last=True) if descending else column.asc(nulls_last=True)
    return accounts.order_by(ordering, "name", "pk")


def people_in_scope(user: User):
    """The CSMs (and managers) whose accounts this user can see, for filters."""
    people = User.objects.filter(is_active=True).exclude(role=User.Role.ADMIN)
    if user.role == User.Role.ADMIN:
        return people
    if user.role == User.Role.MANAGER:
        return people.filter(team__in=user.managed_teams.all())
    if user.team_id is None:
        return people.filter(pk=user.pk)
    return people.filter(team_id=user.team_id)


@dataclass
class MetricSummary:
    metric: MetricDefinition
    latest: MetricValue | None
    change_30d: float | None
    points: int


def account_metric_summaries(*, account: Account, today: datetime.date | None = None) -> list[MetricSummary]:
    """Latest value of every metric for one account and its change over 30 days; two queries."""
    today = today or timezone.localdate()
    window_start = today - datetime.timedelta(days=90)
    values = list(MetricValue.objects.filter(account=account, date__gte=window_start).order_by("metric_id", "date"))
    by_metric: dict[int, list[MetricValue]] = {}
    for value in values:
        by_metric.setdefault(value.metric_id, []).append(value)
    summaries = []
    for metric in MetricDefinition.objects.all():
        series = by_metric.get(metric.pk, [])
        latest = series[-1] if series else None
        change = None
        if latest is not None:
            cutoff = latest.date - datetime.timedelta(days=30)
            earlier = [value for value in series if value.date <= cutoff]
            if earlier:
                change = latest.value - earlier[-1].value
        summaries.append(MetricSummary(metric, latest, change, len(series)))
    return summaries


def latest_next_checkin(account: Account) -> datetime.date | None:
    return (
        CheckIn.objects.filter(account=account, next_checkin_on__isnull=False)
        .order_by("-date", "-created_at")
        .values_list("next_checkin_on", flat=True)
        .first()
    )
