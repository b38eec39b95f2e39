"""The team rollup's reads: health, renewals and survey results per CSM and per segment.

Every number comes from a fixed number of grouped queries, whatever the number of CSMs or accounts:

1. active accounts grouped by (owner, segment, band of the latest snapshot): counts, ARR, scores, renewals;
2. answers in the period counted per (owner, segment, kind, score), all three survey kinds at once;
3. invitations sent in the period grouped by (owner, segment) (2 and 3 kept in the cache for five
   minutes per set of accounts, period and day, see `survey_cells`);
4. the mean health of the same accounts at the end of each week over twelve months (kept in the
   cache for an hour per set of accounts and day, see `health_trend`);
5. the period's low scores with a comment from a known contact (the inbox items a CSM can reply to),
   each with the time its first reply went out (`reply_cells`): the median time to a first reply and
   the share replied within FEEDBACK_REPLY_SLA_HOURS, per CSM, per segment, per team and in total.

The CSM rows, the segment rows and the total are sums of the same (owner, segment) cells, so
they always add up to one another.

Bands are the ones the portfolio shows: an active override's band when there is one, else the
latest snapshot's (a fifth query moves the few overridden accounts). Mean health is always the
computed score: an override is a person's correction shown beside it, not a new score.
"""

import datetime
import statistics
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Avg,
    BooleanField,
    CharField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Account, Team, User
from accounts.selectors import people_in_scope
from core.cache import keep, kept
from core.dates import day_start
from playbooks.models import Task
from scoring.models import DEFAULT_GREEN_FROM, DEFAULT_RED_BELOW, Band, HealthModel, HealthSnapshot
from scoring.selectors import overrides_shown_by_account
from surveys.formulas import Result, category, response_rate, results_from_row, score_aggregates
from surveys.models import FeedbackReply, Invitation, Kind, Response
from surveys.selectors.feedback import low_score_q

BANDS = [Band.RED, Band.YELLOW, Band.GREEN, Band.NONE]
KINDS = Kind.values
RENEWAL_DAYS = 90
PERIODS = {"90": 90, "365": 365}
DEFAULT_PERIOD = "90"
TREND_WEEKS = 52
DRILL_LIMIT = 100
TREND_CACHE_SECONDS = 3600
SURVEY_CACHE_SECONDS = 300
# The sums of score_aggregates (the database mirror of the formulas), which add up across groups;
# means and shares are computed from them at the end, by results_from_row.
ANSWER_SUMS = list(score_aggregates())
# The sum each category of answer counts in (the others of a kind stay 0: results_from_row does not read them).
CATEGORY_SUMS = {
    (Kind.NPS, "promoter"): "promoters",
    (Kind.NPS, "detractor"): "detractors",
    (Kind.CSAT, "positive"): "satisfied",
    (Kind.CSAT, "negative"): "unsatisfied",
    (Kind.CES, "positive"): "agree",
    (Kind.CES, "negative"): "disagree",
}


@dataclass
class Amount:
    """A number of accounts and their ARR."""

    count: int = 0
    arr: Decimal = field(default_factory=Decimal)

    def add(self, count: int, arr) -> None:
        self.count += count or 0
        self.arr += Decimal(arr or 0)


@dataclass
class RollupRow:
    """One line of the rollup: a CSM, a segment, or everything in view (`group` says which)."""

    group: str  # "owner", "segment" or "total"
    key: int | str | None  # the owner's id (None: unassigned), the segment value, or None for the total
    label: str
    accounts: int = 0
    arr: Decimal = field(default_factory=Decimal)
    score_total: float = 0.0
    scored: int = 0
    bands: dict[str, Amount] = field(default_factory=lambda: {band: Amount() for band in BANDS})
    renewals: dict[str, Amount] = field(default_factory=lambda: {band: Amount() for band in BANDS})
    answers: dict[str, dict] = field(default_factory=lambda: {kind: dict.fromkeys(ANSWER_SUMS, 0) for kind in KINDS})
    sent: int = 0
    answered: int = 0
    tasks_open: int = 0
    tasks_overdue: int = 0

    # Low scores of the period (n), the hours to the first reply of those replied, how many of those
    # within the SLA, and how many are unreplied but still within it (not yet late, so not counted either way).
    low_scores: int = 0
    reply_hours: list[float] = field(default_factory=list)
    replied_in_sla: int = 0
    waiting_in_sla: int = 0

    @property
    def reply_median_hours(self) -> float | None:
        """The median time from a low score to its first reply, over the replied ones."""
        return statistics.median(self.reply_hours) if self.reply_hours else None

    @property
    def reply_due(self) -> int:
        """The low scores whose SLA is over or that were replied: the SLA share's n."""
        return self.low_scores - self.waiting_in_sla

    @property
    def reply_sla_share(self) -> float | None:
        """The share (0-100) of `reply_due` replied within the SLA; never replied past it counts as late."""
        return 100 * self.replied_in_sla / self.reply_due if self.reply_due else None

    def add_low_scores(self, *, count: int, hours: float | None, sla_hours: float, waiting: bool) -> None:
        """`count` low scores: replied after `hours` (None: not yet), `waiting` when unreplied but within the SLA."""
        self.low_scores += count
        if hours is not None:
            self.reply_hours.extend([hours] * count)
            self.replied_in_sla += count if hours <= sla_hours else 0
        elif waiting:
            self.waiting_in_sla += count

    @property
    def mean_health(self) -> float | None:
        """Over the accounts whose latest snapshot has a score; `scored` is its n."""
        return self.score_total / self.scored if self.scored else None

    @property
    def at_risk(self) -> Amount:
        return self.bands[Band.RED]

    @property
    def renewing(self) -> Amount:
        total = Amount()
        for amount in self.renewals.values():
            total.add(amount.count, amount.arr)
        return total

    @property
    def nps(self) -> Result:
        return results_from_row(Kind.NPS, self.answers[Kind.NPS])["nps"]

    @property
    def csat(self) -> Result:
        return results_from_row(Kind.CSAT, self.answers[Kind.CSAT])["csat_percent"]

    @property
    def ces(self) -> Result:
        return results_from_row(Kind.CES, self.answers[Kind.CES])["ces_mean"]

    @property
    def rate(self) -> Result:
        return response_rate(answered=self.answered, sent=self.sent)

    def add_health(self, cell: dict) -> None:
        """One (owner, segment, band) cell of the health query."""
        band = cell["band"]
        self.accounts += cell["n_accounts"]
        self.arr += Decimal(cell["arr_sum"] or 0)
        self.score_total += cell["score_total"] or 0.0
        self.scored += cell["scored"]
        self.bands[band].add(cell["n_accounts"], cell["arr_sum"])
        self.renewals[band].add(cell["renewing"], cell["renewing_arr"])

    def add_answers(self, *, kind: str, score: int, count: int) -> None:
        """`count` answers of `kind` scored `score`, into the sums `results_from_row` reads."""
        sums = self.answers[kind]
        sums["n"] += count
        sums["total"] += score * count
        sums["total_squares"] += score * score * count
        counted_in = CATEGORY_SUMS.get((kind, category(kind, score)))
        if counted_in:
            sums[counted_in] += count

    def move_band(self, *, account: Account, before: str, after: str, renewing: bool) -> None:
        """An override shows `account` in another band than its computed one."""
        self.bands[before].add(-1, -account.arr)
        self.bands[after].add(1, account.arr)
        if renewing:
            self.renewals[before].add(-1, -account.arr)
            self.renewals[after].add(1, account.arr)

    def add_invitations(self, *, sent: int, answered: int) -> None:
        self.sent += sent
        self.answered += answered


@dataclass
class TrendPoint:
    week: datetime.date
    mean: float | None
    accounts: int


@dataclass
class Rollup:
    today: datetime.date
    period_start: datetime.date
    owners: list[RollupRow]
    segments: list[RollupRow]
    teams: list[RollupRow]
    total: RollupRow
    trend: list[TrendPoint]
    red_below: int
    green_from: int
    reply_sla_hours: int = 48

    @property
    def has_scores(self) -> bool:
        return any(self.total.bands[band].count for band in (Band.RED, Band.YELLOW, Band.GREEN))

    @property
    def has_answers(self) -> bool:
        return any(self.total.answers[kind]["n"] for kind in KINDS)


def rollup_teams(user: User) -> list[Team]:
    """The teams the user may narrow the rollup to: all for an admin, the managed ones for a manager."""
    if user.role == User.Role.ADMIN:
        return list(Team.objects.all())
    if user.role == User.Role.MANAGER:
        return list(user.managed_teams.all())
    return []


def rollup_accounts(*, user: User, team: Team | None = None) -> QuerySet:
    """The active accounts the user may see, of one team's CSMs when a team is given."""
    accounts = Account.objects.visible_to(user).filter(status=Account.Status.ACTIVE)
    if team is not None:
        accounts = accounts.filter(owner__team=team)
    return accounts


def with_latest_health(accounts: QuerySet, today: datetime.date) -> QuerySet:
    """Annotate each account with the score and band of its latest snapshot on or before today.

    No snapshot counts as "not enough data", like a snapshot whose score could not be computed.
    """
    latest = HealthSnapshot.objects.filter(account=OuterRef("pk"), date__lte=today).order_by("-date")
    return accounts.annotate(
        latest_score=Subquery(latest.values("score")[:1]),
        latest_band=Coalesce(Subquery(latest.values("band")[:1]), Value(Band.NONE), output_field=CharField()),
    )


def renewal_window(today: datetime.date, days: int = RENEWAL_DAYS) -> Q:
    """Renewing from today to `days` days ahead, both included."""
    return Q(renewal_date__gte=today, renewal_date__lte=today + datetime.timedelta(days=days))


def _owner_label(name: str | None, email: str | None) -> str:
    return name or email or "Unassigned"


def compute_rollup(
    *,
    user: User,
    team: Team | None = None,
    period_days: int = 90,
    today: datetime.date | None = None,
    teams: list[Team] | None = None,
) -> Rollup:
    """Everything the rollup page shows, in eight queries whatever the number of CSMs and accounts
    (seven when the trend is cached). `teams` are the user's `rollup_teams`, when already read."""
    today = today or timezone.localdate()
    if teams is None:
        teams = rollup_teams(user)
    period_start = today - datetime.timedelta(days=period_days - 1)
    accounts = rollup_accounts(user=user, team=team)
    owners: dict[int | None, RollupRow] = {}
    segments: dict[str, RollupRow] = {}
    total = RollupRow("total", None, "All accounts")
    segment_labels = dict(Account.Segment.choices)

    def rows_for(owner_id, segment) -> tuple[RollupRow, RollupRow]:
        owner_row = owners.get(owner_id)
        if owner_row is None:
            owner_row = owners[owner_id] = RollupRow("owner", owner_id, "Unassigned")  # named below
        segment_row = segments.get(segment)
        if segment_row is None:
            label = segment_labels.get(segment, segment)
            segment_row = segments[segment] = RollupRow("segment", segment, label)
        return owner_row, segment_row

    # 1. Health, ARR and renewals: one row per (owner, segment, band). Each account joins its latest
    # snapshot on (account, date of the latest): the date comes from the index alone, and the row is
    # read once (a subquery per aggregate would read it once per aggregate).
    window_end = today + datetime.timedelta(days=RENEWAL_DAYS)
    renewing = renewal_window(today)
    latest_date = HealthSnapshot.objects.filter(account=OuterRef("pk"), date__lte=today).order_by("-date")
    health_cells = (
        accounts.order_by()
        .annotate(latest_date=Subquery(latest_date.values("date")[:1]))
        .alias(latest=FilteredRelation("health_snapshots", condition=Q(health_snapshots__date=F("latest_date"))))
        .values("owner", "segment", band=Coalesce("latest__band", Value(Band.NONE), output_field=CharField()))
        .annotate(
            n_accounts=Count("pk"),
            arr_sum=Sum("arr"),
            score_total=Sum("latest__score"),
            scored=Count("latest__score"),
            renewing=Count("pk", filter=renewing),
            renewing_arr=Sum("arr", filter=renewing),
        )
    )
    for cell in health_cells:
        if cell["band"] not in BANDS:
            cell["band"] = Band.NONE
        for row in (*rows_for(cell["owner"], cell["segment"]), total):
            row.add_health(cell)

    # Overrides: the few accounts shown in another band than their computed one move there.
    for override in overrides_shown_by_account(accounts=accounts.order_by().values("pk"), today=today).values():
        if override.computed_band == override.shown_band:
            continue
        account = override.account
        owner_row, segment_row = owners[account.owner_id], segments[account.segment]
        renews = account.renewal_date is not None and today <= account.renewal_date <= window_end
        for row in (owner_row, segment_row, total):
            row.move_band(account=account, before=override.computed_band, after=override.shown_band, renewing=renews)

    # The owners' names, and the CSMs in view without an active account, who still get their (empty) row.
    csms = people_in_scope(user).filter(role=User.Role.CSM)
    if team is not None:
        csms = csms.filter(team=team)
    people = User.objects.filter(Q(pk__in=[pk for pk in owners if pk is not None]) | Q(pk__in=csms.values("pk")))
    teams_rows: dict[int, RollupRow] = {}
    team_of: dict[int, RollupRow] = {}  # owner id -> their team's row
    for pk, name, email, team_id, team_name in people.values_list("pk", "name", "email", "team", "team__name"):
        owners.setdefault(pk, RollupRow("owner", pk, "")).label = _owner_label(name, email)
        if team_id is not None:
            team_of[pk] = teams_rows.setdefault(team_id, RollupRow("team", team_id, team_name))

    # 2. and 3. Answers and invitations of the period.
    key = scope_key(user=user, team=team, teams=teams)
    answer_counts, invitation_cells = survey_cells(accounts=accounts, start=period_start, today=today, cache_key=key)
    for owner_id, segment, kind, score, count in answer_counts:
        if kind not in KINDS:
            continue
        for row in (owners.get(owner_id), segments.get(segment), total):
            if row is not None:  # always found: answers are of the accounts counted above
                row.add_answers(kind=kind, score=score, count=count)
    for owner_id, segment, sent, answered in invitation_cells:
        for row in (owners.get(owner_id), segments.get(segment), total):
            if row is not None:
                row.add_invitations(sent=sent, answered=answered)

    # 4. Open and overdue tasks of these accounts: by the task's owner (who owes them) and the account's segment.
    task_cells = (
        Task.objects.open()
        .filter(account__in=accounts.order_by().values("pk"))
        .values("owner_id", "account__segment")
        .annotate(n_open=Count("pk"), n_overdue=Count("pk", filter=Q(due_on__lt=today)))
    )
    for cell in task_cells:
        for row in (owners.get(cell["owner_id"]), segments.get(cell["account__segment"]), total):
            if row is not None:  # a task owned by someone outside the rollup's CSMs counts in its segment and total
                row.tasks_open += cell["n_open"]
                row.tasks_overdue += cell["n_overdue"]

    # 5. Replies to the period's low scores.
    sla_hours = settings.FEEDBACK_REPLY_SLA_HOURS
    now = timezone.now()
    for owner_id, segment, wait, waiting, count in reply_cells(
        accounts=accounts, start=period_start, today=today, sla_hours=sla_hours, now=now, cache_key=key
    ):
        hours = None if wait is None else max(wait.total_seconds(), 0) / 3600
        for row in (owners.get(owner_id), segments.get(segment), team_of.get(owner_id), total):
            if row is not None:
                row.add_low_scores(count=count, hours=hours, sla_hours=sla_hours, waiting=waiting)

    red_below, green_from = _default_thresholds()
    segment_order = {value: index for index, value in enumerate(Account.Segment.values)}
    return Rollup(
        today=today,
        period_start=period_start,
        owners=sorted(owners.values(), key=lambda row: (row.key is None, row.label.casefold(), row.key or 0)),
        segments=sorted(segments.values(), key=lambda row: (segment_order.get(row.key, 99), row.label)),
        teams=sorted(teams_rows.values(), key=lambda row: (row.label.casefold(), row.key)),
        total=total,
        trend=health_trend(accounts=accounts, today=today, cache_key=key),
        red_below=red_below,
        green_from=green_from,
        reply_sla_hours=sla_hours,
    )


def survey_cells(
    *, accounts: QuerySet, start: datetime.date, today: datetime.date, cache_key: str = ""
) -> tuple[list[tuple], list[tuple]]:
    """The period's answers counted per (owner, segment, kind, score), and its invitations per (owner,
    segment) as (owner, segment, sent, answered); two grouped queries.

    The answers are the page's heaviest read (every answer of the period: 250,000 in 90 days of the
    benchmark data, a million in a year), so with a `cache_key` naming the accounts the result is
    kept SURVEY_CACHE_SECONDS: a new answer reaches the rollup within minutes (the page says so).
    """
    key = f"rollup-surveys:{start.isoformat()}:{today.isoformat()}:{cache_key}" if cache_key else ""
    cached = kept(key)
    if cached is not None:
        return cached
    in_period = {"gte": day_start(start), "lt": day_start(today + datetime.timedelta(days=1))}
    # One plain COUNT per group costs much less than score_aggregates' 27 filtered aggregates, and the
    # same sums (n, categories, total, total of squares) follow exactly from the counts.
    answer_counts = list(
        Response.objects.filter(
            account__in=accounts, answered_at__gte=in_period["gte"], answered_at__lt=in_period["lt"]
        )
        .order_by()
        .values_list("account__owner", "account__segment", "kind", "score")
        .annotate(count=Count("pk"))
    )
    invitation_cells = list(
        Invitation.objects.filter(
            account__in=accounts,
            sent_at__gte=in_period["gte"],
            sent_at__lt=in_period["lt"],
            status__in=Invitation.WENT_OUT,
        )
        .order_by()
        .values_list("account__owner", "account__segment")
        .annotate(sent=Count("pk"), answered=Count("pk", filter=Q(status=Invitation.Status.RESPONDED)))
    )
    keep(key, (answer_counts, invitation_cells), SURVEY_CACHE_SECONDS)
    return answer_counts, invitation_cells


def reply_cells(
    *,
    accounts: QuerySet,
    start: datetime.date,
    today: datetime.date,
    sla_hours: float,
    now: datetime.datetime,
    cache_key: str = "",
) -> list[tuple]:
    """The period's low scores that can be replied to from the inbox (a comment, a known contact), counted
    by (owner, segment, time to the first reply or None, unreplied but still within the SLA); one query.

    Counted in SQL rather than read one by one: the unreplied ones of an owner and segment are one row.
    Low scores are a few percent of the answers, read from their partial index (response_low_comment);
    the first reply comes from the (response, sent_at) index. With a `cache_key`, kept as the survey
    cells are (SURVEY_CACHE_SECONDS): a reply reaches the rollup within minutes.
    """
    key = f"rollup-replies:{start.isoformat()}:{today.isoformat()}:{sla_hours}:{cache_key}" if cache_key else ""
    cached = kept(key)
    if cached is not None:
        return cached
    first_reply = (
        FeedbackReply.objects.filter(response=OuterRef("pk"), sent_at__isnull=False)
        .order_by("sent_at")
        .values("sent_at")
    )
    waiting = Q(first_reply__isnull=True, answered_at__gt=now - datetime.timedelta(hours=sla_hours))
    cells = list(
        Response.objects.filter(
            low_score_q(),
            account__in=accounts,
            answered_at__gte=day_start(start),
            answered_at__lt=day_start(today + datetime.timedelta(days=1)),
            contact__isnull=False,
        )
        .exclude(comment="")
        .order_by()
        .annotate(first_reply=Subquery(first_reply[:1]))
        .annotate(
            wait=ExpressionWrapper(F("first_reply") - F("answered_at"), output_field=DurationField()),
            waiting=ExpressionWrapper(waiting, output_field=BooleanField()),
        )
        .values("account__owner", "account__segment", "wait", "waiting")
        .annotate(n=Count("pk"))
        .values_list("account__owner", "account__segment", "wait", "waiting", "n")
    )
    keep(key, cells, SURVEY_CACHE_SECONDS)
    return cells


def _default_thresholds() -> tuple[int, int]:
    """The band thresholds of the default model's current version (the trend's background)."""
    version = (
        HealthModel.objects.filter(segment="")
        .values_list("current_version__red_below", "current_version__green_from")
        .first()
    )
    if version is None or version[0] is None:
        return DEFAULT_RED_BELOW, DEFAULT_GREEN_FROM
    return version


def _monday(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def scope_key(*, user: User, team: Team | None, teams: list[Team]) -> str:
    """Names the accounts `rollup_accounts` returns, the same for everyone who sees the same ones."""
    if team is not None:
        return f"team{team.pk}"
    if user.role == User.Role.ADMIN:
        return "all"
    if user.role == User.Role.MANAGER:
        ids = sorted(t.pk for t in teams)
        return f"team{ids[0]}" if len(ids) == 1 else "teams" + "-".join(str(pk) for pk in ids)
    return f"team{user.team_id}" if user.team_id is not None else f"owner{user.pk}"


def health_trend(*, accounts: QuerySet, today: datetime.date, cache_key: str = "") -> list[TrendPoint]:
    """The mean score of these accounts at the end of each week (Monday first), the last 52 weeks and this one.

    A week's point is its last day's snapshots: Sunday's, or today's for this week. Averaging every
    day would read a year of daily snapshots (3.65 million rows for 10,000 accounts: seconds); one
    day a week is 53 days of them, read from the index alone in one grouped query. A week whose last
    day has no scored snapshot is a gap. With a `cache_key` naming the accounts the result is kept
    for TREND_CACHE_SECONDS: past weeks do not change, and this week's point moves little in an hour.
    """
    key = f"rollup-trend:{today.isoformat()}:{cache_key}" if cache_key else ""
    cached = kept(key)
    if cached is not None:
        return [TrendPoint(datetime.date.fromisoformat(week), mean, n) for week, mean, n in cached]
    first_week = _monday(today) - datetime.timedelta(weeks=TREND_WEEKS)
    weeks = [first_week + datetime.timedelta(weeks=index) for index in range(TREND_WEEKS + 1)]
    last_days = {min(week + datetime.timedelta(days=6), today): week for week in weeks}
    days = {
        row["date"]: row
        for row in HealthSnapshot.objects.filter(account__in=accounts, date__in=list(last_days), score__isnull=False)
        .order_by()
        .values("date")
        .annotate(mean=Avg("score"), accounts=Count("account"))
    }
    points = []
    for day, week in last_days.items():
        row = days.get(day)
        points.append(TrendPoint(week, row["mean"] if row else None, row["accounts"] if row else 0))
    keep(key, [(p.week.isoformat(), p.mean, p.accounts) for p in points], TREND_CACHE_SECONDS)
    return points


def drill_accounts(
    *,
    user: User,
    team: Team | None = None,
    segment: str = "",
    band: str = "",
    renewing: bool = False,
    today: datetime.date | None = None,
    limit: int = DRILL_LIMIT,
) -> list[Account]:
    """The accounts behind one number of a segment or total row, by name, with their latest health.

    At most `limit` + 1 are returned, so the caller can tell there are more.
    """
    today = today or timezone.localdate()
    scope = rollup_accounts(user=user, team=team)
    if segment:
        scope = scope.filter(segment=segment)
    if renewing:
        scope = scope.filter(renewal_window(today))
    accounts = with_latest_health(scope, today).select_related("owner")
    shown = {
        pk: override.shown_band
        for pk, override in overrides_shown_by_account(accounts=scope.order_by().values("pk"), today=today).items()
    }
    if band:
        # The band shown: overridden accounts leave their computed band and join the override's.
        into = [pk for pk, band_shown in shown.items() if band_shown == band]
        away = [pk for pk, band_shown in shown.items() if band_shown != band]
        accounts = accounts.filter((Q(latest_band=band) & ~Q(pk__in=away)) | Q(pk__in=into))
    found = list(accounts.order_by("name", "pk")[: limit + 1])
    for account in found:
        account.shown_band = shown.get(account.pk, account.latest_band)
        account.overridden = account.pk in shown
    return found
