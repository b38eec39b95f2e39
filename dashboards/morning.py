"""What the morning email lists: the accounts a user owns (in their scope) whose latest check-in planned
the next one for today, with what changed since. A read; accounts/morning_emails.py sends the email.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import OuterRef, Subquery

from accounts.models import Account, CheckIn, MetricValue, User
from accounts.validators import days_later
from core.dates import day_start
from dashboards.account_page import SinceSummary, metric_move, metric_values_start, since_summary
from scoring.models import Component, HealthSnapshot
from surveys.models import Response


@dataclass
class DueAccount:
    account: Account
    summary: SinceSummary
    link: str


def _latest_checkin(field: str) -> Subquery:
    return Subquery(CheckIn.objects.filter(account=OuterRef("pk")).order_by("-date", "-created_at").values(field)[:1])


def accounts_due(*, user: User, today: datetime.date) -> list[Account]:
    """Active accounts in the user's scope that they own, whose latest check-in planned the next one for today."""
    return list(
        Account.objects.visible_to(user)
        .filter(owner=user, status=Account.Status.ACTIVE)
        .annotate(next_checkin_on=_latest_checkin("next_checkin_on"), last_checkin_on=_latest_checkin("date"))
        .filter(next_checkin_on=today)
        .order_by("name", "pk")
    )


def since_summaries(*, accounts: list[Account], today: datetime.date) -> dict[int, SinceSummary]:
    """Since the last check-in (`account.last_checkin_on`) for many accounts: a fixed number of queries."""
    if not accounts:
        return {}
    ids = [account.pk for account in accounts]
    day_of = {account.pk: account.last_checkin_on or today for account in accounts}
    earliest = min(day_of.values())

    # The latest snapshot of each account and the one on or before its last check-in, in one query.
    snapshots = HealthSnapshot.objects.filter(account=OuterRef("pk"))
    pairs = Account.objects.filter(pk__in=ids).annotate(
        last_checkin_on=_latest_checkin("date"),
        latest_pk=Subquery(snapshots.order_by("-date").values("pk")[:1]),
        before_pk=Subquery(snapshots.filter(date__lte=OuterRef("last_checkin_on")).order_by("-date").values("pk")[:1]),
    )
    wanted = {pk: (before, latest) for pk, before, latest in pairs.values_list("pk", "before_pk", "latest_pk")}
    by_pk = HealthSnapshot.objects.select_related("version").in_bulk(
        [pk for pair in wanted.values() for pk in pair if pk is not None]
    )
    versions = {snapshot.version_id for snapshot in by_pk.values()}
    components: dict[int, dict[int, Component]] = {}
    for component in Component.objects.filter(version__in=versions).select_related("metric"):
        components.setdefault(component.version_id, {})[component.pk] = component

    answers: dict[int, list[Response]] = {}
    for answer in (
        Response.objects.filter(account__in=ids, answered_at__gte=day_start(days_later(earliest, 1)))
        .select_related("contact")
        .order_by("-answered_at", "-pk")
    ):
        if answer.answered_at >= day_start(days_later(day_of[answer.account_id], 1)):
            answers.setdefault(answer.account_id, []).append(answer)

    series: dict[int, dict[int, tuple]] = {}
    values = (
        MetricValue.objects.filter(account__in=ids, date__gte=metric_values_start(earliest))
        .select_related("metric")
        .order_by("metric__label", "metric_id", "date")
    )
    for value in values:
        metric = value.metric
        entry = series.setdefault(value.account_id, {}).setdefault(
            metric.pk, (metric.key, metric.label, metric.unit, [])
        )
        entry[3].append((value.date, value.value))

    summaries = {}
    for account in accounts:
        day = day_of[account.pk]
        before_pk, latest_pk = wanted.get(account.pk, (None, None))
        latest = by_pk.get(latest_pk)
        summaries[account.pk] = since_summary(
            day=day,
            checkin=None,
            before=by_pk.get(before_pk),
            latest=latest,
            components=components.get(latest.version_id, {}) if latest else {},
            answers=answers.get(account.pk, []),
            metric_moves=[
                metric_move(key=key, label=label, unit=unit, points=points, day=day)
                for key, label, unit, points in series.get(account.pk, {}).values()
            ],
        )
    return summaries


def checkins_due(*, user: User, today: datetime.date) -> list[DueAccount]:
    """What the user's morning email lists (accounts/morning_emails.py): the accounts due today, each with
    what changed since its last check-in and its link; empty when nothing is due."""
    accounts = accounts_due(user=user, today=today)
    if not accounts:
        return []
    summaries = since_summaries(accounts=accounts, today=today)
    return [
        DueAccount(account, summaries[account.pk], settings.SITE_URL + account.get_absolute_url())
        for account in accounts
    ]
