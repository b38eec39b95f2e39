"""Reads for a CSM's portfolio: one row per active account, and the "Coming up" panel.

Everything is loaded in a fixed number of queries whatever the number of accounts (one
for the accounts with their scores and check-in dates as subqueries, then one each for NPS
answers, overrides, open feedback counts, the churned count and the panel's comments); a
portfolio is a few hundred rows at most, so filtering and sorting happen in Python.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.utils import timezone

from accounts.models import Account, CheckIn, User
from core.numbers import whole
from playbooks.selectors import open_task_counts
from renewals.models import Renewal
from renewals.selectors import renewals_needing_a_call
from scoring.models import Band, HealthSnapshot, Override
from scoring.selectors import overrides_shown_by_account
from scoring.trends import FLAT_BELOW, Trend, trend
from surveys import formulas
from surveys.models import OPEN_FEEDBACK, Kind, Response
from surveys.selectors import account_survey_figures
from surveys.selectors.feedback import low_score_q

TREND_DAYS = 30  # the trend arrow compares with the score on or before this many days ago
DROP_DAYS = 7  # "this week" for the biggest drops
OVERDUE_AFTER_DAYS = 45  # no next check-in planned and the last one older than this: overdue
SOON_DAYS = 14  # the "Coming up" horizon
RENEWAL_RISK_DAYS = 30  # a renewal this close on a red or yellow account is flagged
OPEN_STATUSES = OPEN_FEEDBACK
BAND_RANK = {Band.RED: 0, Band.YELLOW: 1, Band.GREEN: 2}


@dataclass
class PortfolioRow:
    """One account of the portfolio with everything its table row and the "Coming up" panel show.

    Built once from the query and then only read: the whole numbers are kept once worked out, since
    sorting, filtering, the row and "Coming up" each ask for them.
    """

    account: Account
    today: datetime.date
    score: float | None = None
    computed_band: str = Band.NONE
    snapshot_date: datetime.date | None = None
    score_then: float | None = None  # on or before TREND_DAYS ago
    score_week_ago: float | None = None  # on or before DROP_DAYS ago, from an earlier snapshot than the latest
    last_checkin: datetime.date | None = None
    next_checkin: datetime.date | None = None
    open_feedback: int = 0
    open_tasks: int = 0
    nps: formulas.Result | None = None
    override: Override | None = None
    override_band: str | None = None

    @property
    def band(self) -> str:
        """The band shown: the override's when one is active, else the computed one."""
        return self.override_band or self.computed_band

    @property
    def band_label(self) -> str:
        return Band(self.band).label

    @property
    def computed_band_label(self) -> str:
        return Band(self.computed_band).label

    @cached_property
    def score_rounded(self) -> int | None:
        return None if self.score is None else whole(self.score)

    @cached_property
    def trend_delta(self) -> int | None:
        if self.score is None or self.score_then is None:
            return None
        return whole(self.score) - whole(self.score_then)

    @property
    def trend(self) -> Trend | None:
        """The change against TREND_DAYS ago, marked by the one rule (scoring/trends.py); None without both scores."""
        return trend(self.trend_delta)

    @cached_property
    def week_delta(self) -> int | None:
        if self.score is None or self.score_week_ago is None:
            return None
        return whole(self.score) - whole(self.score_week_ago)

    @property
    def week_trend(self) -> Trend | None:
        """The change against DROP_DAYS ago, marked by the same rule as the 30-day column."""
        return trend(self.week_delta)

    @property
    def days_to_renewal(self) -> int | None:
        return self.account.days_to_renewal(self.today)

    @property
    def days_since_renewal(self) -> int | None:
        """For a renewal date already past (the CRM not updated yet)."""
        days = self.days_to_renewal
        return -days if days is not None and days < 0 else None

    @property
    def renewal_at_risk(self) -> bool:
        days = self.days_to_renewal
        return days is not None and 0 <= days < RENEWAL_RISK_DAYS and self.band in (Band.RED, Band.YELLOW)

    @property
    def days_since_checkin(self) -> int | None:
        return None if self.last_checkin is None else (self.today - self.last_checkin).days

    @property
    def days_to_next_checkin(self) -> int | None:
        return None if self.next_checkin is None else (self.next_checkin - self.today).days

    @property
    def checkin_overdue(self) -> bool:
        """The planned check-in is past, or none is planned and the last one is old (or there never was one)."""
        if self.next_checkin is not None:
            return self.next_checkin < self.today
        return self.days_since_checkin is None or self.days_since_checkin > OVERDUE_AFTER_DAYS

    @property
    def nps_value(self) -> float | None:
        return None if self.nps is None else self.nps.value

    @property
    def health_rank(self) -> tuple[int, float] | None:
        """Sort key for health: by the band shown (so overridden rows sit with their band), then by score."""
        if self.band not in BAND_RANK:
            return None
        shown = self.override.score if self.override is not None and self.override.score is not None else self.score
        return (BAND_RANK[self.band], shown if shown is not None else -1.0)


def _score_on_or_before(day: datetime.date | None = None) -> QuerySet:
    snapshots = HealthSnapshot.objects.filter(account=OuterRef("pk"))
    if day is not None:
        snapshots = snapshots.filter(date__lte=day)
    return snapshots.order_by("-date")


def _accounts(csm: User, viewer: User, today: datetime.date) -> QuerySet:
    """The CSM's active accounts (within the viewer's scope), each with its dates and counts; one query."""
    latest = _score_on_or_before(today)
    week_ago = today - datetime.timedelta(days=DROP_DAYS)
    last_checkin = CheckIn.objects.filter(account=OuterRef("pk"), date__lte=today).order_by("-date", "-created_at")
    parent = Account.objects.visible_to(viewer).filter(pk=OuterRef("parent_id"))
    return (
        Account.objects.visible_to(viewer)
        .filter(owner=csm, status=Account.Status.ACTIVE)
        .annotate(
            health_score=Subquery(latest.values("score")[:1]),
            health_band=Subquery(latest.values("band")[:1]),
            health_date=Subquery(latest.values("date")[:1]),
            score_then=Subquery(_score_on_or_before(today - datetime.timedelta(days=TREND_DAYS)).values("score")[:1]),
            week_ago_date=Subquery(_score_on_or_before(week_ago).values("date")[:1]),
            score_week_ago=Subquery(_score_on_or_before(week_ago).values("score")[:1]),
            last_checkin_on=Subquery(last_checkin.values("date")[:1]),
            next_checkin=Subquery(last_checkin.values("next_checkin_on")[:1]),
            parent_name=Subquery(parent.values("name")[:1]),  # None when outside the viewer's scope
        )
        .order_by("name", "pk")
    )


# The readers below take the loaded account ids rather than a subquery: with a list, PostgreSQL
# reads each account's rows through the (account, ...) indexes instead of scanning every answer.


def _open_feedback_by_account(account_ids: list[int]) -> dict[int, int]:
    """Comments still new or acknowledged, per account; one query."""
    counts = (
        Response.objects.filter(account_id__in=account_ids, feedback_status__in=OPEN_STATUSES)
        .exclude(comment="")
        .order_by()
        .values("account_id")
        .annotate(n=Count("pk"))
    )
    return {row["account_id"]: row["n"] for row in counts}


def _nps_by_account(account_ids: list[int], today: datetime.date) -> dict[int, formulas.Result]:
    """Each account's NPS as the account page and Results show it (surveys/selectors.py); one query."""
    figures = account_survey_figures(account_ids, today=today, kinds=[Kind.NPS])
    return {account_id: kinds[Kind.NPS].headline.result for account_id, kinds in figures.items() if Kind.NPS in kinds}


@dataclass
class Portfolio:
    csm: User
    today: datetime.date
    rows: list[PortfolioRow]
    churned_count: int
    account_ids: list[int]

    @property
    def total_arr(self) -> Decimal:
        return sum((row.account.arr for row in self.rows), Decimal(0))

    @property
    def band_counts(self) -> list[tuple[str, str, int]]:
        """[(band, label, count)] in the order red, yellow, green, not enough data."""
        counts = {band: 0 for band in Band.values}
        for row in self.rows:
            counts[row.band] = counts.get(row.band, 0) + 1
        return [(band, Band(band).label, counts[band]) for band in Band.values]


def portfolio_load(*, csm: User, viewer: User, today: datetime.date | None = None) -> Portfolio:
    """Every active account `csm` owns that `viewer` may see, as rows; six queries whatever the size."""
    today = today or timezone.localdate()
    accounts = list(_accounts(csm, viewer, today))
    account_ids = [account.pk for account in accounts]
    nps = _nps_by_account(account_ids, today)
    overrides = overrides_shown_by_account(accounts=account_ids, today=today)
    open_feedback = _open_feedback_by_account(account_ids)
    open_tasks = open_task_counts(accounts=account_ids)
    rows = []
    for account in accounts:
        has_week_ago = account.week_ago_date is not None and account.week_ago_date != account.health_date
        override = overrides.get(account.pk)
        rows.append(
            PortfolioRow(
                account=account,
                today=today,
                score=account.health_score,
                computed_band=account.health_band or Band.NONE,
                snapshot_date=account.health_date,
                score_then=account.score_then,
                score_week_ago=account.score_week_ago if has_week_ago else None,
                last_checkin=account.last_checkin_on,
                next_checkin=account.next_checkin,
                open_feedback=open_feedback.get(account.pk, 0),
                open_tasks=open_tasks.get(account.pk, 0),
                nps=nps.get(account.pk),
                override=override,
                override_band=override.shown_band if override else None,
            )
        )
    churned = Account.objects.visible_to(viewer).filter(owner=csm, status=Account.Status.CHURNED).count()
    return Portfolio(csm=csm, today=today, rows=rows, churned_count=churned, account_ids=account_ids)


# ---- Filtering and sorting the loaded rows ----

SORT_KEYS = {
    "name": lambda row: row.account.name.casefold(),
    "health": lambda row: row.health_rank,
    "trend": lambda row: row.trend_delta,
    "arr": lambda row: row.account.arr,
    "renewal": lambda row: row.account.renewal_date,
    "last_checkin": lambda row: row.last_checkin,
    "next_checkin": lambda row: row.next_checkin,
    "nps": lambda row: row.nps_value,
    "feedback": lambda row: row.open_feedback,
    "tasks": lambda row: row.open_tasks,
}
DEFAULT_SORT = "health"  # worst first: the Monday-morning question is "who needs me?"


def rows_filter(
    rows: list[PortfolioRow],
    *,
    query: str = "",
    band: str = "",
    segment: str = "",
    renewal_within: int | None = None,
    overdue: bool = False,
) -> list[PortfolioRow]:
    """The rows matching every given filter; the band is the one shown (an override's when active)."""
    needle = query.strip().casefold()
    kept = []
    for row in rows:
        if needle and needle not in row.account.name.casefold():
            continue
        if band and row.band != band:
            continue
        if segment and row.account.segment != segment:
            continue
        if renewal_within is not None:
            days = row.days_to_renewal
            if days is None or not 0 <= days <= renewal_within:
                continue
        if overdue and not row.checkin_overdue:
            continue
        kept.append(row)
    return kept


def rows_sort(rows: list[PortfolioRow], *, sort: str = DEFAULT_SORT, descending: bool = False) -> list[PortfolioRow]:
    """Sorted by the column, ties by name; rows without a value come last in both directions."""
    key = SORT_KEYS.get(sort, SORT_KEYS[DEFAULT_SORT])
    by_name = sorted(rows, key=lambda row: (row.account.name.casefold(), row.account.pk))
    present = [row for row in by_name if key(row) is not None]
    missing = [row for row in by_name if key(row) is None]
    present.sort(key=key, reverse=descending)  # stable: equal values keep the name order
    return present + missing


@dataclass
class RowGroup:
    """The rows of one parent account (its own row first when it is in the portfolio), or of none."""

    parent_id: int | None  # None: the accounts without a parent, or (hidden) those whose parent is out of scope
    name: str | None
    rows: list[PortfolioRow]
    hidden: bool = False  # their parents are outside the viewer's scope: one group, never named

    @property
    def arr(self) -> Decimal:
        """The ARR of these rows, each account once: a parent's own ARR, never its children's on top."""
        return sum((row.account.arr for row in self.rows), Decimal(0))


def rows_group(rows: list[PortfolioRow]) -> list[RowGroup]:
    """The rows by parent account, each group keeping the rows' order with the parent's own row first.

    An account whose children are in the list heads their group; the others go under their parent.
    Groups by name; then, in one group, the accounts whose parent is outside the viewer's scope;
    the accounts in no group last.
    """
    heads = {row.account.parent_id for row in rows} - {None}
    groups: dict[int | None, RowGroup] = {}
    for row in rows:
        account = row.account
        if account.pk in heads:
            group = groups.setdefault(account.pk, RowGroup(account.pk, account.name, []))
            group.name = account.name
            group.rows.insert(0, row)
            continue
        name = getattr(account, "parent_name", None)
        if account.parent_id is None:
            group = groups.setdefault(None, RowGroup(None, None, []))
        elif name is None:
            group = groups.setdefault("hidden", RowGroup(None, None, [], hidden=True))
        else:
            group = groups.setdefault(account.parent_id, RowGroup(account.parent_id, name, []))
        group.rows.append(row)

    def order(group: RowGroup):
        rank = 1 if group.hidden else 2 if group.parent_id is None else 0  # named, out of scope, none
        return (rank, (group.name or "").casefold(), group.parent_id or 0)

    return sorted(groups.values(), key=order)


# ---- Coming up ----


@dataclass
class ComingUp:
    checkins: list[PortfolioRow] = field(default_factory=list)
    renewals: list[PortfolioRow] = field(default_factory=list)
    drops: list[PortfolioRow] = field(default_factory=list)
    comments: list[Response] = field(default_factory=list)
    to_call: list[Renewal] = field(default_factory=list)  # within the call window, no call or a stale one
    has_answers: bool = True
    drop_points: int = FLAT_BELOW  # the smallest loss listed: smaller ones are marked flat


def coming_up(portfolio: Portfolio, *, drops: int = 5, comments: int = 5) -> ComingUp:
    """Check-ins and renewals in the next SOON_DAYS, the biggest drops over DROP_DAYS, the newest
    unanswered low-score comments and the renewals needing a call; from the loaded rows plus one query
    for the comments and one for the renewals."""
    today, horizon = portfolio.today, portfolio.today + datetime.timedelta(days=SOON_DAYS)
    rows = portfolio.rows
    checkins = sorted(
        (row for row in rows if row.next_checkin is not None and today <= row.next_checkin <= horizon),
        key=lambda row: (row.next_checkin, row.account.name.casefold()),
    )
    renewals = sorted(
        (row for row in rows if row.account.renewal_date is not None and today <= row.account.renewal_date <= horizon),
        key=lambda row: (row.account.renewal_date, row.account.name.casefold()),
    )
    dropped = sorted(
        # A drop is what the arrows mark down: a point or two lost reads as flat here as in the table.
        (row for row in rows if row.week_trend is not None and row.week_trend.direction == "down"),
        key=lambda row: (row.week_delta, row.account.name.casefold()),
    )[:drops]
    low_comments = list(
        Response.objects.filter(low_score_q(), account_id__in=portfolio.account_ids, feedback_status__in=OPEN_STATUSES)
        .exclude(comment="")
        .select_related("account", "contact")
        .order_by("-answered_at", "-pk")[:comments]
    )
    return ComingUp(
        checkins=checkins,
        renewals=renewals,
        drops=dropped,
        comments=low_comments,
        to_call=renewals_needing_a_call(accounts=portfolio.account_ids, today=today),
        has_answers=any(row.nps is not None for row in rows) or bool(low_comments),
    )
