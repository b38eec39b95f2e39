"""What the account page (check-in prep) shows, and "since the last check-in" for the morning email.

The page runs a fixed number of queries whatever the length of the history: one per kind of
row (check-ins, contacts, snapshots, answers, alerts, metric values), each read once and
shared by every section that needs it. `since_summary` is a pure function over rows already
read, so the page and the morning email (which reads for many accounts at once) say the same.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Exists, F, FilteredRelation, OuterRef, Q, QuerySet, Subquery

from accounts.hierarchy import descendant_parents
from accounts.metric_figures import MEAN_DAYS, Mean, Points, mean_ending, metric_headline, rolling_means
from accounts.models import Account, CheckIn, MetricDefinition, Notification, User
from accounts.sections import checkin_log
from accounts.validators import days_later
from core.dates import day_start, long_date, short_date
from core.numbers import round_half_away, rounded, whole
from playbooks.selectors import open_task_counts
from renewals.models import RENEWING_CALLS, Renewal
from renewals.selectors import with_latest_call
from scoring import engine
from scoring import selectors as health
from scoring.formatting import change_shown, component_rows, score_lines
from scoring.models import Band, Component, HealthSnapshot
from scoring.trends import ARROWS, FLAT_BELOW
from surveys.models import Kind, Response
from surveys.results import ACCOUNT_PERIOD
from surveys.selectors import AccountFigures, account_survey_figures, group_survey_figures

TREND_DAYS = 365  # the health trend and the answers timeline: 12 months
METRIC_DAYS = 90  # the metric sparklines
METRIC_CHANGE_DAYS = 30  # the Metrics card's change: the headline against the 7-day mean this many days earlier
NO_CHECKIN_DAYS = 30  # without a check-in, "since" compares with this many days ago
# Below this (score and every input), "no significant change": exactly when every arrow is flat.
SIGNIFICANT_MOVE = FLAT_BELOW
METRIC_NOTABLE_PERCENT = 20
SINCE_CHOICES = {"30": 30, "90": 90}  # ?since=30 compares with 30 days ago instead of the last check-in


def accounts_for(user: User) -> QuerySet:
    """The accounts the user may open, each with `can_edit`, its parent and whether the user may see it, and
    whether it has children (one query with the account)."""
    editable = Account.objects.editable_by(user).filter(pk=OuterRef("pk"))
    parent_visible = Account.objects.visible_to(user).filter(pk=OuterRef("parent_id"))
    return (
        Account.objects.visible_to(user)
        .select_related("owner__team", "parent")
        .annotate(
            can_edit=Exists(editable),
            parent_visible=Exists(parent_visible),
            has_children=Exists(Account.objects.filter(parent=OuterRef("pk"))),
        )
    )


# ---- A parent's rollup of its descendants -----------------------------------------------------


@dataclass
class ChildRow:
    """A descendant in the viewer's scope, `depth` levels under the page's account, with its latest score."""

    account: Account
    depth: int
    score: float | None
    band: str
    open_tasks: int = 0

    @property
    def is_active(self) -> bool:
        return self.account.status == Account.Status.ACTIVE

    @property
    def indent(self) -> int:
        """How far the page indents it (CSS classes group-depth-0 to -4; deeper ones line up with the fourth)."""
        return min(self.depth - 1, 4)


@dataclass
class GroupRollup:
    """What a parent's page rolls up: its descendants in the viewer's scope (any depth), and how many are not.

    Only the descendants in scope count. ARR and health are of the active ones; health is the ARR-weighted
    mean of those with a score (the plain mean when they all have no ARR), with its coverage.
    """

    children: list[ChildRow]
    outside_scope: int
    open_tasks: int = 0
    survey_figures: list[AccountFigures] = field(default_factory=list)
    renewals: list[Renewal] = field(default_factory=list)  # open, soonest first, each with its latest call

    @property
    def renewals_arr(self) -> Decimal:
        return sum((renewal.arr for renewal in self.renewals), Decimal(0))

    @property
    def renewals_forecast(self) -> Decimal:
        """ARR of the open renewals called commit or likely, as on the renewals page."""
        return sum((renewal.arr for renewal in self.renewals if renewal.call in RENEWING_CALLS), Decimal(0))

    @property
    def total(self) -> int:
        return len(self.children) + self.outside_scope

    @property
    def active(self) -> list[ChildRow]:
        return [row for row in self.children if row.is_active]

    @property
    def churned(self) -> int:
        return len(self.children) - len(self.active)

    @property
    def all_churned(self) -> bool:
        """Every descendant in scope has churned: the group shows as churned, with no active ARR."""
        return bool(self.children) and not self.active

    @property
    def arr(self) -> Decimal:
        return sum((Decimal(row.account.arr) for row in self.active), Decimal(0))

    @property
    def scored(self) -> list[ChildRow]:
        return [row for row in self.active if row.score is not None]

    @property
    def health(self) -> float | None:
        scored = self.scored
        if not scored:
            return None
        weights = sum(Decimal(row.account.arr) for row in scored)
        if weights == 0:
            return sum(row.score for row in scored) / len(scored)
        return float(sum(Decimal(str(row.score)) * Decimal(row.account.arr) for row in scored) / weights)

    @property
    def worst(self) -> ChildRow | None:
        return min(self.scored, key=lambda row: (row.score, row.account.name.casefold(), row.account.pk), default=None)


def tree_order(root: int, parents: dict[int, int], *, key=None) -> list[tuple[int, int]]:
    """[(id, depth)] of the descendants in `parents` ({id: parent id}) of `root`, depth first, each parent
    before its children, siblings sorted by `key` (their id by default)."""
    children: dict[int, list[int]] = {}
    for pk in sorted(parents, key=key):
        children.setdefault(parents[pk], []).append(pk)
    order, stack, seen = [], [(pk, 1) for pk in reversed(children.get(root, []))], {root}
    while stack:
        pk, depth = stack.pop()
        if pk in seen:
            continue
        seen.add(pk)
        order.append((pk, depth))
        stack += [(child, depth + 1) for child in reversed(children.get(pk, []))]
    return order


def group_rollup(*, account: Account, user: User, today: datetime.date) -> GroupRollup | None:
    """The rollup of a parent's descendants that `user` may see; None for an account without children.

    A fixed number of queries whatever the number of descendants: the subtree (one recursive query),
    the descendants in scope with their latest scores, their overrides, open tasks, renewals and survey
    answers. A child's band is the one every page shows (scoring/selectors.py): its override's, else the
    computed one. An account read by `accounts_for` says whether it has children (`has_children`): without,
    nothing is read.
    """
    if not getattr(account, "has_children", True):
        return None
    parents = descendant_parents([account.pk])
    if not parents:
        return None
    latest = HealthSnapshot.objects.filter(account=OuterRef("pk"), date__lte=today).order_by("-date")
    visible = {
        child.pk: child
        for child in Account.objects.visible_to(user)
        .filter(pk__in=list(parents))
        .select_related("owner")
        .annotate(health_score=Subquery(latest.values("score")[:1]), health_band=Subquery(latest.values("band")[:1]))
    }
    # The band every page shows: an override in force, else the computed one (one query for all of them).
    overrides = health.overrides_shown_by_account(accounts=list(visible), today=today) if visible else {}
    # Depth first, siblings by name: each account sits under its parent (indented as deep as it is).
    names = {pk: (child.name.casefold(), pk) for pk, child in visible.items()}
    children = [
        ChildRow(
            account=visible[pk],
            depth=depth,
            score=visible[pk].health_score if visible[pk].status == Account.Status.ACTIVE else None,
            band=overrides[pk].shown_band if pk in overrides else (visible[pk].health_band or Band.NONE),
        )
        for pk, depth in tree_order(account.pk, parents, key=lambda pk: names.get(pk, ("", pk)))
        if pk in visible
    ]
    rollup = GroupRollup(children=children, outside_scope=len(parents) - len(visible))
    if visible:
        ids = list(visible)
        tasks = open_task_counts(accounts=ids)
        for row in children:
            row.open_tasks = tasks.get(row.account.pk, 0)
        rollup.open_tasks = sum(tasks.values())
        rollup.renewals = list(
            with_latest_call(Renewal.objects.open().filter(account_id__in=ids))
            .select_related("account")
            .order_by("renewal_date", "pk")
        )
        figures = group_survey_figures(ids, today=today)
        rollup.survey_figures = [figures[kind] for kind in Kind.values if kind in figures]
    return rollup


# ---- Since the last check-in -------------------------------------------------------------


@dataclass
class MetricMove:
    """A metric's 7-day mean ending on `day` (`then`) against its headline (`now`), both of accounts.metric_figures.

    `now` ends on the metric's latest day with a value; a move needs values after `day` and in the week up to it.
    """

    key: str
    label: str
    unit: str
    day: datetime.date
    then: Mean | None
    now: Mean | None

    @property
    def before(self) -> float | None:
        return None if self.then is None else self.then.value

    @property
    def after(self) -> float | None:
        return None if self.now is None else self.now.value

    @property
    def has_new_values(self) -> bool:
        return self.now is not None and self.now.end > self.day

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None or not self.has_new_values:
            return None
        return self.after - self.before

    @property
    def percent(self) -> float | None:
        if self.delta is None or self.before == 0:
            return None
        return 100.0 * self.delta / abs(self.before)

    @property
    def size(self) -> float | None:
        """How far it moved, without the sign: the percentage, or the difference when `before` is 0."""
        return None if self.delta is None else abs(self.delta if self.percent is None else self.percent)

    @property
    def shown(self):
        """The change as the page writes it: the percentage as a whole number, or the difference to one decimal
        when `before` is 0. Direction and "notable" are decided on it, so "+0%" is never an arrow."""
        if self.delta is None:
            return None
        return whole(self.percent) if self.percent is not None else round_half_away(self.delta, 1)

    @property
    def notable(self) -> bool:
        """A move shown as METRIC_NOTABLE_PERCENT or more, or any shown move away from zero."""
        if not self.shown:
            return False
        return self.percent is None or abs(self.shown) >= METRIC_NOTABLE_PERCENT

    @property
    def direction(self) -> str:
        if not self.shown:
            return "flat"
        return "up" if self.shown > 0 else "down"

    @property
    def arrow(self) -> str:
        return ARROWS[self.direction]


@dataclass
class SinceSummary:
    """What changed between `day` (the last check-in, or N days ago) and now."""

    day: datetime.date
    checkin: CheckIn | None
    before: HealthSnapshot | None
    latest: HealthSnapshot | None
    score: dict | None  # {before, after, delta, direction} of the whole numbers shown
    # Why the score changed: every input whose part of it changed, in whole points of the score that add up
    # to `score["delta"]`, biggest first; None when one of the two days has no score.
    lines: list[dict] | None
    answers: list[Response]
    metric_moves: list[MetricMove]
    alerts: list[Notification] = field(default_factory=list)

    @property
    def band_changed(self) -> bool:
        return self.before is not None and self.latest is not None and self.before.band != self.latest.band

    @property
    def comments(self) -> list[Response]:
        return [answer for answer in self.answers if answer.comment.strip()]

    @property
    def input_moves(self) -> list[dict]:
        """The lines of inputs, biggest first: the "biggest input move" is the first (a weights line is no input)."""
        return [row for row in self.lines or [] if row["kind"] != engine.WEIGHTS]

    @property
    def notable_metrics(self) -> list[MetricMove]:
        return [move for move in self.metric_moves if move.notable]

    @property
    def significant(self) -> bool:
        """The score or one line of its change moved SIGNIFICANT_MOVE points or more, or the band changed."""
        score_delta = abs(self.score["delta"]) if self.score and self.score["delta"] is not None else 0
        biggest = max((abs(row["delta"]) for row in self.lines or []), default=0)
        return self.band_changed or score_delta >= SIGNIFICANT_MOVE or biggest >= SIGNIFICANT_MOVE


def metric_move(*, key: str, label: str, unit: str, points: Points, day: datetime.date) -> MetricMove:
    """The metric's move since `day` from its (date, value) points in date order, read from metric_values_start(day)."""
    return MetricMove(key, label, unit, day, mean_ending(points, day), metric_headline(points))


def metric_values_start(day: datetime.date) -> datetime.date:
    """The first day of values a move since `day` reads: the first day of the 7-day window ending on `day`."""
    return days_later(day, -(MEAN_DAYS - 1))


def since_summary(
    *,
    day: datetime.date,
    checkin: CheckIn | None,
    before: HealthSnapshot | None,
    latest: HealthSnapshot | None,
    components: dict[int, Component],
    answers: list[Response],
    metric_moves: list[MetricMove],
    alerts: list[Notification] = (),
) -> SinceSummary:
    """The change since `day` from rows already read; pure, no database.

    `before` is the snapshot on or before `day`; `answers` and `alerts` are those after that day.
    """
    score, lines = None, None
    if before is not None and latest is not None:
        score = change_shown(before.score, latest.score)
        lines = score_lines(before, latest, components)
    return SinceSummary(
        day=day,
        checkin=checkin,
        before=before,
        latest=latest,
        score=score,
        lines=lines,
        answers=list(answers),
        metric_moves=list(metric_moves),
        alerts=list(alerts),
    )


# ---- The page -------------------------------------------------------------------------------


@dataclass
class MetricRow:
    """One metric on the page: its sparkline window's daily values and 7-day means, and what the table says beside it.

    The headline is the last 7-day mean (accounts.metric_figures), the 30-day change compares it with the
    7-day mean ending 30 days earlier; the range is of the daily values.
    """

    key: str
    label: str
    unit: str
    points: Points  # the daily values in the sparkline window, date order
    means: list[Mean]  # the 7-day mean ending on each of those days
    change_30d: MetricMove | None

    @property
    def headline(self) -> Mean | None:
        return self.means[-1] if self.means else None

    @property
    def low(self) -> float | None:
        return min((value for _, value in self.points), default=None)

    @property
    def high(self) -> float | None:
        return max((value for _, value in self.points), default=None)


def metric_row(*, key: str, label: str, unit: str, points: Points, start: datetime.date) -> MetricRow:
    """The Metrics card's row for the sparkline window from `start`, from points read from metric_row_start(start)."""
    means = [mean for mean in rolling_means(points) if mean.end >= start]
    change = None
    if means:
        change = metric_move(
            key=key, label=label, unit=unit, points=points, day=days_later(means[-1].end, -METRIC_CHANGE_DAYS)
        )
    window = [point for point in points if point[0] >= start]
    return MetricRow(key, label, unit, window, means, change)


def metric_row_start(start: datetime.date) -> datetime.date:
    """The first day of values a row reads: the 30-day change of a headline ending on `start` needs that far back."""
    return metric_values_start(days_later(start, -METRIC_CHANGE_DAYS))


def _metric_series(*, account: Account, start: datetime.date) -> list[tuple[str, str, str, list]]:
    """Every metric defined, with the account's (date, value) points since `start`; one query.

    A LEFT JOIN from the definitions keeps the metrics without values, so the page can say so.
    """
    rows = (
        MetricDefinition.objects.annotate(
            recent=FilteredRelation("values", condition=Q(values__account=account.pk) & Q(values__date__gte=start))
        )
        .order_by("label", "pk", F("recent__date").asc(nulls_first=True))
        .values_list("pk", "key", "label", "unit", "recent__date", "recent__value")
    )
    series: dict[int, tuple[str, str, str, list]] = {}
    for pk, key, label, unit, date, value in rows:
        entry = series.setdefault(pk, (key, label, unit, []))
        if date is not None:
            entry[3].append((date, value))
    return list(series.values())


def _snapshots(*, account: Account, start: datetime.date, since_day: datetime.date) -> list[HealthSnapshot]:
    """The trend window's snapshots plus the latest one and the one on or before since_day, whenever they are;
    one query, date order."""
    mine = HealthSnapshot.objects.filter(account=account)
    latest = mine.order_by("-date").values("pk")[:1]
    before = mine.filter(date__lte=since_day).order_by("-date").values("pk")[:1]
    return list(
        mine.filter(Q(date__gte=start) | Q(pk=Subquery(latest)) | Q(pk=Subquery(before)))
        .select_related("version__model__current_version")
        .order_by("date")
    )


def _trend(snapshots: list[HealthSnapshot], thresholds, start: datetime.date) -> tuple[dict, list[dict]]:
    """Chart data for the 12-month trend and its table equivalent (the last score of each month).

    Points sit at their day (`days` since `start`): the history is weekly before the last quarter and
    daily after, and an axis of days keeps that time to scale.
    """
    chart = {
        "start": start.isoformat(),
        "span": (snapshots[-1].date - start).days if snapshots else 0,
        "days": [(s.date - start).days for s in snapshots],
        "labels": [long_date(s.date) for s in snapshots],
        "scores": [rounded(s.score) for s in snapshots],  # whole numbers, as shown everywhere
        "bands": [s.band for s in snapshots],
        "red_below": thresholds.red_below if thresholds else None,
        "green_from": thresholds.green_from if thresholds else None,
    }
    months: dict[tuple[int, int], HealthSnapshot] = {}
    for snapshot in snapshots:
        months[(snapshot.date.year, snapshot.date.month)] = snapshot
    table = [
        {"month": snapshot.date.replace(day=1), "date": snapshot.date, "snapshot": snapshot}
        for snapshot in reversed(months.values())
    ]
    return chart, table


def _next_checkin(latest: CheckIn | None, today: datetime.date) -> dict | None:
    if latest is None or latest.next_checkin_on is None:
        return None
    days = (latest.next_checkin_on - today).days
    return {
        "date": latest.next_checkin_on,
        "days": days,
        "overdue": days < 0,
        "overdue_days": -days,
        "today": days == 0,
    }


def account_page_context(*, account: Account, today: datetime.date, since: str = "") -> dict:
    """Everything the account page shows, read in a fixed number of queries.

    `since` is "" (compare with the last check-in; 30 days ago when there is none) or a key of SINCE_CHOICES.
    """
    checkins = checkin_log(account)
    last_checkin = next((checkin for checkin in checkins if checkin.date <= today), None)
    if since in SINCE_CHOICES:
        since_day, compared_with = today - datetime.timedelta(days=SINCE_CHOICES[since]), since
    elif last_checkin is not None:
        since_day, compared_with = last_checkin.date, "checkin"
    else:
        since_day, compared_with = today - datetime.timedelta(days=NO_CHECKIN_DAYS), "no-checkin"
    trend_start = today - datetime.timedelta(days=TREND_DAYS)

    snapshots = _snapshots(account=account, start=trend_start, since_day=since_day)
    latest = snapshots[-1] if snapshots else None
    before = next((s for s in reversed(snapshots) if s.date <= since_day), None)
    components = health.components_of(latest.version) if latest else {}
    effective = health.effective_health(account=account, today=today, latest=latest)

    # since_day may be a stored check-in's date: days_later() copes with 0001-01-01.
    after_since = day_start(days_later(since_day, 1))
    timeline_start = day_start(trend_start)
    answers = list(
        Response.objects.filter(account=account, answered_at__gte=min(after_since, timeline_start))
        .select_related("contact")
        .order_by("-answered_at", "-pk")
    )
    # Alerts point at the account page; the owner's and anyone else's copy of one event count once.
    alerts, keys = [], set()
    for notification in Notification.objects.filter(
        url=account.get_absolute_url(), created_at__gte=after_since
    ).order_by("-created_at", "-pk"):
        if notification.key not in keys:
            keys.add(notification.key)
            alerts.append(notification)

    sparkline_start = today - datetime.timedelta(days=METRIC_DAYS)
    metric_start = min(metric_row_start(sparkline_start), metric_values_start(since_day))
    metrics, moves = [], []
    for key, label, unit, points in _metric_series(account=account, start=metric_start):
        moves.append(metric_move(key=key, label=label, unit=unit, points=points, day=since_day))
        metrics.append(metric_row(key=key, label=label, unit=unit, points=points, start=sparkline_start))

    summary = since_summary(
        day=since_day,
        checkin=last_checkin if compared_with == "checkin" else None,
        before=before,
        latest=latest,
        components=components,
        answers=[answer for answer in answers if answer.answered_at >= after_since],
        metric_moves=moves,
        alerts=alerts,
    )

    figures = account_survey_figures([account.pk], today=today).get(account.pk, {})

    current_version = None
    if latest is not None:
        current_version = latest.version.model.current_version or latest.version
    in_trend = [s for s in snapshots if s.date >= trend_start]
    trend_chart, trend_table = _trend(in_trend, current_version, trend_start)
    chart_data = {
        "trend": trend_chart,
        "metrics": {
            row.key: {
                "label": row.label,
                "unit": row.unit,
                "labels": [short_date(date) for date, _ in row.points],
                # Rounded here, as the table writes them (one decimal): the tooltips show these as they are.
                "values": [rounded(value, 1) for _, value in row.points],
                "means": [rounded(mean.value, 1) for mean in row.means],
            }
            for row in metrics
            if row.points
        },
    }
    return {
        "account": account,
        "can_edit": account.can_edit,
        "today": today,
        "checkins": checkins,
        "last_checkin": last_checkin,
        "next_checkin": _next_checkin(checkins[0] if checkins else None, today),
        "since": summary,
        "compared_with": compared_with,
        "since_days_ago": (today - since_day).days,
        "since_choices": list(SINCE_CHOICES),
        "snapshot": latest,
        "health": effective,
        "score": None if latest is None or latest.score is None else whole(latest.score),
        "coverage": None if latest is None else whole(latest.coverage),
        "rows": component_rows(engine.explain(latest), components) if latest else [],
        "thresholds": current_version,
        "trend_points": len(in_trend),
        "trend_table": trend_table,
        "answers": [answer for answer in answers if answer.answered_at >= timeline_start],
        "new_answer_ids": {answer.pk for answer in summary.answers},
        "survey_figures": [figures[kind] for kind in Kind.values if kind in figures],
        "results_period": ACCOUNT_PERIOD,
        "metrics": metrics,
        "metrics_without_values": all(not row.points for row in metrics),
        "chart_data": chart_data,
    }
