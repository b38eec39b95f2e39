"""The morning email: each opted-in user gets the check-ins they have today, with what changed since the last one.

Only users with `morning_email` on, and only when they own an account (in their scope) whose latest
check-in planned the next one for today; nobody gets an empty email. Each user's email is claimed
with a conditional UPDATE of `morning_email_sent_on`, so a task that runs twice sends it once.
"""

import datetime
import logging
import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import OuterRef, Subquery

from accounts.models import Account, CheckIn, MetricValue, User
from accounts.validators import days_later
from core.emails import make_message
from dashboards.account_page import SinceSummary, day_start, metric_move, metric_values_start, since_summary
from scoring.models import Component, HealthSnapshot
from surveys.models import Response

logger = logging.getLogger(__name__)


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


def _message(*, user: User, due: list[DueAccount], today: datetime.date, connection) -> EmailMultiAlternatives:
    context = {
        "user": user,
        "due": due,
        "today": today,
        "product": settings.PRODUCT_NAME,
        "site_url": settings.SITE_URL,
    }
    count = len(due)
    return make_message(
        "dashboards/email/morning",
        to=user.email,
        subject=f"Your check-ins today: {count} account{'s' if count != 1 else ''}",
        context=context,
        connection=connection,
    )


def morning_emails_send(today: datetime.date) -> int:
    """Send today's morning email to every opted-in active user with a check-in due today; returns how many went out.

    Safe to run again the same day: a user whose email went out today is skipped. One user's failure
    never costs the others theirs: it is logged and the run goes on. If a send failed for the mail
    server (which a retry may cure), the first such error is raised at the end, for the task to retry.
    """
    sent = 0
    send_error: Exception | None = None
    connection = get_connection()
    users = User.objects.filter(is_active=True, morning_email=True).exclude(morning_email_sent_on=today)
    for user_id in users.order_by("pk").values_list("pk", flat=True):
        try:
            sent += _morning_email_send(user_id=user_id, today=today, connection=connection)
        except (smtplib.SMTPException, OSError) as exc:
            logger.exception("morning email to user %s not sent; the retry sends it", user_id)
            send_error = send_error or exc
        except Exception:
            logger.exception("morning email to user %s failed", user_id)
    if send_error is not None:
        raise send_error
    return sent


def _morning_email_send(*, user_id: int, today: datetime.date, connection) -> int:
    """One user's morning email; 1 if it went out, 0 if there was nothing to send or another run sent it."""
    user = User.objects.get(pk=user_id)
    accounts = accounts_due(user=user, today=today)
    if not accounts:
        return 0
    summaries = since_summaries(accounts=accounts, today=today)
    due = [
        DueAccount(account, summaries[account.pk], settings.SITE_URL + account.get_absolute_url())
        for account in accounts
    ]
    previous = user.morning_email_sent_on
    # The claim: of two runs at once, only the one whose UPDATE changed the row sends.
    claimed = (
        User.objects.filter(pk=user.pk, morning_email=True)
        .exclude(morning_email_sent_on=today)
        .update(morning_email_sent_on=today)
    )
    if not claimed:
        return 0
    try:
        _message(user=user, due=due, today=today, connection=connection).send()
    except Exception:
        # Not sent: release the claim so the task's retry sends it.
        User.objects.filter(pk=user.pk).update(morning_email_sent_on=previous)
        raise
    return 1
