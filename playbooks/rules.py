"""When a rule fires: each trigger as one set-based read over a whole queryset of accounts.

`rule_matches` answers {account id: reason} for the accounts meeting a rule today, in one to
three queries whatever the number of accounts; `rules_evaluate` (playbooks/services.py) turns
new matches into occurrences and tasks. The reason is the triggering facts in words, as the task
shows them ("health 44 → 34 since Mar 5").
"""

import datetime
import functools
import operator

from django.db.models import Exists, F, FloatField, Max, Min, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.models import Account, CheckIn, Contact, MetricValue
from core.dates import day_start, short_date
from core.numbers import plain, whole
from playbooks.models import Rule, Task, Trigger
from scoring.models import Band, HealthSnapshot
from scoring.selectors import overrides_shown_by_account
from surveys.models import ALERT_AT_OR_BELOW, Kind, Response

DROP_WINDOW_DAYS = 7  # "health drops N points within 7 days"
LOW_SCORE_WINDOW_DAYS = 7  # a low score older than this no longer starts a task
CONTACT_LOST_WINDOW_DAYS = 30  # an opt-out, bounce or archive older than this no longer starts a task


def rule_accounts(rule: Rule, accounts: QuerySet) -> QuerySet:
    """The active accounts of `accounts` that meet the rule's conditions (segment, minimum ARR, lifecycle)."""
    accounts = accounts.filter(status=Account.Status.ACTIVE)
    if rule.segment:
        accounts = accounts.filter(segment=rule.segment)
    if rule.min_arr is not None:
        accounts = accounts.filter(arr__gte=rule.min_arr)
    if rule.lifecycle_stage:
        accounts = accounts.filter(lifecycle_stage=rule.lifecycle_stage)
    return accounts


def rule_matches(rule: Rule, *, accounts: QuerySet, today: datetime.date) -> dict[int, str]:
    """{account id: reason} for the accounts of `accounts` meeting the rule's trigger and conditions today."""
    return TRIGGERS[rule.trigger](rule, rule_accounts(rule, accounts), today)


def _latest_snapshot(field: str, today: datetime.date) -> Subquery:
    latest = HealthSnapshot.objects.filter(account=OuterRef("pk"), date__lte=today).order_by("-date")
    return Subquery(latest.values(field)[:1])


def _health_now(accounts: QuerySet, today: datetime.date, *, bands: tuple[str, ...]) -> dict[int, str]:
    """{account id: "health 34 (Red)"} for the accounts whose band shown today is one of `bands`.

    The band shown is the latest snapshot's, or an active override's (scoring/selectors.py): two queries.
    """
    overrides = overrides_shown_by_account(accounts=accounts.values("pk"), today=today)
    computed = accounts.annotate(
        health_band=_latest_snapshot("band", today), health_score=_latest_snapshot("score", today)
    ).filter(Q(health_band__in=bands) | Q(pk__in=list(overrides)))
    found = {}
    for account_id, band, score in computed.values_list("pk", "health_band", "health_score"):
        override = overrides.get(account_id)
        shown = override.shown_band if override else band
        if shown not in bands:
            continue
        text = "health" if score is None else f"health {whole(score)}"
        found[account_id] = f"{text} ({Band(shown).label.lower()}{', overridden' if override else ''})"
    return found


def _enters_red(rule: Rule, accounts: QuerySet, today: datetime.date) -> dict[int, str]:
    return _health_now(accounts, today, bands=(Band.RED,))


def _health_drop(rule: Rule, accounts: QuerySet, today: datetime.date) -> dict[int, str]:
    """The latest score at least N points (as shown, whole) below the week's peak before it, as the alerts count."""
    latest = HealthSnapshot.objects.filter(account=OuterRef("pk"), date__lte=today, score__isnull=False).order_by(
        "-date"
    )
    week = HealthSnapshot.objects.filter(
        account=OuterRef("pk"),
        date__gte=today - datetime.timedelta(days=DROP_WINDOW_DAYS),
        date__lt=OuterRef("latest_date"),
        score__isnull=False,
    )
    rows = (
        accounts.annotate(
            latest_date=Subquery(latest.values("date")[:1]), latest_score=Subquery(latest.values("score")[:1])
        )
        .filter(latest_date__gte=today - datetime.timedelta(days=1))
        .annotate(peak=Subquery(week.order_by().values("account").annotate(top=Max("score")).values("top")[:1]))
        .filter(peak__gte=F("latest_score") + rule.points - 1)  # whole numbers may differ by one more
        .values_list("pk", "latest_score", "peak")
    )
    found = {}
    for account_id, score, peak in rows:
        if whole(peak) - whole(score) >= rule.points:
            found[account_id] = f"health {whole(peak)} → {whole(score)} within {DROP_WINDOW_DAYS} days"
    return found


def _low_score(rule: Rule, accounts: QuerySet, today: datetime.date) -> dict[int, str]:
    """A low score in the last week that came after the rule's last task on the account was closed."""
    low = functools.reduce(operator.or_, (Q(kind=kind, score__lte=top) for kind, top in ALERT_AT_OR_BELOW.items()))
    last_closed = Task.objects.filter(rule_id=rule.pk, account=OuterRef("account"), closed_at__isnull=False).order_by(
        "-closed_at"
    )
    since = day_start(today - datetime.timedelta(days=LOW_SCORE_WINDOW_DAYS))
    answers = Response.objects.filter(low, account__in=accounts, answered_at__gte=since)
    if rule.pk is not None:  # a draft (the preview) has no tasks yet
        answers = answers.annotate(handled_until=Subquery(last_closed.values("closed_at")[:1])).filter(
            Q(handled_until__isnull=True) | Q(answered_at__gt=F("handled_until"))
        )
    answers = answers.select_related("contact").order_by("answered_at", "pk")
    found = {}
    for answer in answers:  # the latest low score of each account gives the reason
        who = answer.contact.name if answer.contact else "a contact"
        comment = f": “{answer.comment[:120]}”" if answer.comment else ""
        found[answer.account_id] = f"{Kind(answer.kind).label} {answer.score} from {who}{comment}"
    return found


def _renewal_at_risk(rule: Rule, accounts: QuerySet, today: datetime.date) -> dict[int, str]:
    renewing = accounts.filter(renewal_date__gte=today, renewal_date__lte=today + datetime.timedelta(days=rule.days))
    health = _health_now(renewing, today, bands=(Band.RED, Band.YELLOW))
    dates = dict(renewing.filter(pk__in=list(health)).values_list("pk", "renewal_date"))
    return {
        account_id: f"renewal {short_date(dates[account_id])} (in {(dates[account_id] - today).days} days), {text}"
        for account_id, text in health.items()
    }


def _checkin_overdue(rule: Rule, accounts: QuerySet, today: datetime.date) -> dict[int, str]:
    """The latest check-in planned a next one more than N days ago, and none was logged since."""
    latest = CheckIn.objects.filter(account=OuterRef("pk")).order_by("-date", "-created_at")
    rows = (
        accounts.annotate(next_on=Subquery(latest.values("next_checkin_on")[:1]))
        .filter(next_on__lt=today - datetime.timedelta(days=rule.days))
        .values_list("pk", "next_on")
    )
    return {
        account_id: f"check-in was due {short_date(next_on)}, {(today - next_on).days} days overdue"
        for account_id, next_on in rows
    }


def _contact_lost(rule: Rule, accounts: QuerySet, today: datetime.date) -> dict[int, str]:
    since = day_start(today - datetime.timedelta(days=CONTACT_LOST_WINDOW_DAYS))
    lost = Contact.objects.filter(account__in=accounts, is_primary=True).filter(
        Q(opted_out_at__gte=since) | Q(bounced_at__gte=since) | Q(archived_at__gte=since)
    )
    found = {}
    for contact in lost.order_by("pk"):
        what = (
            ("archived", contact.archived_at),
            ("bounced", contact.bounced_at),
            ("opted out", contact.opted_out_at),
        )
        verb, when = max(((verb, when) for verb, when in what if when is not None), key=lambda pair: pair[1])
        found[contact.account_id] = f"primary contact {contact.name} {verb} on {short_date(timezone.localdate(when))}"
    return found


def _metric_threshold(rule: Rule, accounts: QuerySet, today: datetime.date) -> dict[int, str]:
    """Every value of the last N days below (or above) the threshold; below also counts days with no value.

    "No logins for 14 days" is "logins below 1 for 14 days": an account that sent values before and
    none since meets it; one that never sent a value does not.
    """
    start = today - datetime.timedelta(days=rule.days - 1)
    values = MetricValue.objects.filter(account=OuterRef("pk"), metric=rule.metric, date__lte=today)
    window = values.filter(date__gte=start).order_by().values("account")
    if rule.comparison == Rule.Comparison.BELOW:
        top = Subquery(window.annotate(top=Max("value")).values("top")[:1], output_field=FloatField())
        rows = (
            accounts.filter(Exists(values)).annotate(edge=top).filter(Q(edge__isnull=True) | Q(edge__lt=rule.threshold))
        )
    else:
        low = Subquery(window.annotate(low=Min("value")).values("low")[:1], output_field=FloatField())
        rows = accounts.annotate(edge=low).filter(edge__gt=rule.threshold)
    label = rule.metric.label
    return {
        account_id: f"{label} {rule.comparison} {plain(rule.threshold, 2)} for {rule.days} days"
        + (
            ""
            if edge is None
            else f" ({'highest' if rule.comparison == Rule.Comparison.BELOW else 'lowest'} {plain(edge, 2)})"
        )
        for account_id, edge in rows.values_list("pk", "edge")
    }


TRIGGERS = {
    Trigger.ENTERS_RED: _enters_red,
    Trigger.HEALTH_DROP: _health_drop,
    Trigger.LOW_SCORE: _low_score,
    Trigger.RENEWAL_AT_RISK: _renewal_at_risk,
    Trigger.CHECKIN_OVERDUE: _checkin_overdue,
    Trigger.PRIMARY_CONTACT_LOST: _contact_lost,
    Trigger.METRIC_THRESHOLD: _metric_threshold,
}
