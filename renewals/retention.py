"""GRR and NRR per team, segment and CSM: the last 12 months and each of the last four calendar quarters.

Defined once here (and in the README, "Retention: GRR and NRR"):

- A period runs from its first day to its last, both included. Its cohort is the accounts with ARR
  above 0 at the start: the last ArrChange before the first day (so the ARR at the end of the day
  before). Accounts that churned before the first day are not in it, nor are accounts whose first
  ARR comes during the period (new business is not retention).
- The ARR at the end is the last change on or before the last day; 0 when the account churned on or
  before it: its own churned_on, as every other page reads it. A child churns with its parent on every
  route (accounts/churn.py account_churn), so the group's churn is on each account's own row.
- NRR = Σ end ARR / Σ start ARR; GRR = Σ min(end, start) / Σ start, over the cohort. Expansion, at a
  renewal or mid-term, counts in NRR only; contraction and churn count in both.
- Every account counts once, under its own ARR: a parent's ARR is its own, never its children's.
  Rows group the cohort by the account's CSM today, that CSM's team, and the account's segment.

Reads one query whatever the number of accounts: the accounts in the user's scope with their ARR on
each boundary day (one subquery per day on the (account, on) index, which includes the ARR).
Measured on SQLite on a busy two-core machine, 10,000 accounts with four changes each: 0.5–0.6 s.
Reading every change (40,000) and aggregating in Python took 0.3 s for the 12 months alone, and grows
with the length of the history, which the subqueries do not. Sums are exact Decimals; the ratios are
not rounded here (core/numbers.py rounds what is shown).
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import DecimalField, OuterRef, Q, Subquery
from django.utils import timezone

from accounts.models import Account, ArrChange, User

QUARTERS = 4
NO_TEAM = "No team"
UNASSIGNED = "Unassigned"
ZERO = Decimal(0)


@dataclass(frozen=True)
class Period:
    """From `start` to `end`, both included; the cohort is the accounts with ARR the day before `start`."""

    key: str  # "12m", "2026-q1"
    label: str  # "Last 12 months", "Q1 2026"
    start: datetime.date
    end: datetime.date

    @property
    def opening(self) -> datetime.date:
        """The day whose ARR is the start ARR: the last change before `start`."""
        return self.start - datetime.timedelta(days=1)


def _year_before(day: datetime.date) -> datetime.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February: the 28th of the year before
        return day.replace(year=day.year - 1, day=28)


def _quarter_start(day: datetime.date) -> datetime.date:
    return datetime.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def trailing_period(today: datetime.date) -> Period:
    """The 12 months to today: the ARR on this day last year against today's."""
    return Period("12m", "Last 12 months", _year_before(today) + datetime.timedelta(days=1), today)


def quarter_periods(today: datetime.date, count: int = QUARTERS) -> list[Period]:
    """The last `count` calendar quarters that have ended, oldest first (today's quarter is not over)."""
    periods = []
    end = _quarter_start(today) - datetime.timedelta(days=1)
    for _ in range(count):
        start = _quarter_start(end)
        number = (start.month - 1) // 3 + 1
        periods.append(Period(f"{start.year}-q{number}", f"Q{number} {start.year}", start, end))
        end = start - datetime.timedelta(days=1)
    return periods[::-1]


@dataclass
class Retention:
    """One group's figures for one period: n accounts in the cohort and their ARR at the start and the end."""

    n: int = 0
    start_arr: Decimal = field(default_factory=Decimal)
    end_arr: Decimal = field(default_factory=Decimal)
    kept_arr: Decimal = field(default_factory=Decimal)  # Σ min(end, start)

    def add(self, *, start: Decimal, end: Decimal) -> None:
        self.n += 1
        self.start_arr += start
        self.end_arr += end
        self.kept_arr += min(start, end)

    @property
    def nrr(self) -> float | None:
        """Net revenue retention, 0-1 or more; None for an empty cohort."""
        return float(self.end_arr / self.start_arr) if self.start_arr else None

    @property
    def grr(self) -> float | None:
        """Gross revenue retention, 0-1; None for an empty cohort."""
        return float(self.kept_arr / self.start_arr) if self.start_arr else None

    @property
    def lost_arr(self) -> Decimal:
        """Contraction and churn."""
        return self.start_arr - self.kept_arr

    @property
    def expansion_arr(self) -> Decimal:
        return self.end_arr - self.kept_arr


@dataclass
class RetentionRow:
    """A team, a segment, a CSM or the total (`group` says which), with one Retention per period of the report."""

    group: str  # "team", "segment", "owner" or "total"
    key: int | str | None
    label: str
    figures: dict[str, Retention] = field(default_factory=dict)

    def of(self, period: Period) -> Retention:
        found = self.figures.get(period.key)
        if found is None:
            found = self.figures[period.key] = Retention()
        return found


@dataclass
class RetentionReport:
    today: datetime.date
    trailing: Period
    quarters: list[Period]
    teams: list[RetentionRow]
    segments: list[RetentionRow]
    owners: list[RetentionRow]
    total: RetentionRow

    @property
    def periods(self) -> list[Period]:
        return [self.trailing, *self.quarters]

    @property
    def has_cohort(self) -> bool:
        return any(self.total.of(period).n for period in self.periods)


def _arr_on(day: datetime.date) -> Subquery:
    """The account's ARR on `day`: its last change on or before it (None before its first)."""
    last = ArrChange.objects.filter(account=OuterRef("pk"), on__lte=day).order_by("-on", "-pk").values("arr")[:1]
    return Subquery(last, output_field=DecimalField(max_digits=14, decimal_places=2))


def compute_retention(*, user: User, today: datetime.date | None = None) -> RetentionReport:
    """GRR and NRR of the accounts `user` sees, the last 12 months and the last four quarters; one query."""
    today = today or timezone.localdate()
    trailing = trailing_period(today)
    quarters = quarter_periods(today)
    periods = [trailing, *quarters]
    days = sorted({day for period in periods for day in (period.opening, period.end)})
    column = {day: f"arr_{index}" for index, day in enumerate(days)}
    earliest = min(period.start for period in periods)

    openings = Q()
    for period in periods:
        openings |= Q(**{f"{column[period.opening]}__gt": 0})
    accounts = (
        Account.objects.visible_to(user)
        .filter(Q(churned_on__isnull=True) | Q(churned_on__gte=earliest))
        .annotate(**{name: _arr_on(day) for day, name in column.items()})
        .filter(openings)
        .order_by()
    )
    fields = ("pk", "segment", "churned_on", "owner_id", "owner__name", "owner__email", "owner__team_id")
    accounts = list(accounts.values(*fields, "owner__team__name", *column.values()))

    teams: dict[int | None, RetentionRow] = {}
    segments: dict[str, RetentionRow] = {}
    owners: dict[int | None, RetentionRow] = {}
    total = RetentionRow("total", None, "All accounts")
    segment_labels = dict(Account.Segment.choices)
    for row in accounts:
        owner_id, team_id = row["owner_id"], row["owner__team_id"]
        owner = owners.get(owner_id)
        if owner is None:
            label = (row["owner__name"] or row["owner__email"]) if owner_id else UNASSIGNED
            owner = owners[owner_id] = RetentionRow("owner", owner_id, label)
        team = teams.get(team_id)
        if team is None:
            team = teams[team_id] = RetentionRow("team", team_id, row["owner__team__name"] or NO_TEAM)
        segment = segments.get(row["segment"])
        if segment is None:
            label = segment_labels.get(row["segment"], row["segment"])
            segment = segments[row["segment"]] = RetentionRow("segment", row["segment"], label)
        churn_day = row["churned_on"]
        for period in periods:
            start = row[column[period.opening]]
            if not start or (churn_day is not None and churn_day < period.start):
                continue
            end = ZERO if churn_day is not None and churn_day <= period.end else (row[column[period.end]] or ZERO)
            for group in (owner, team, segment, total):
                group.of(period).add(start=start, end=end)

    def by_label(row: RetentionRow):
        return (row.key is None, row.label.casefold(), str(row.key))

    segment_order = {value: index for index, value in enumerate(Account.Segment.values)}
    for row in (*teams.values(), *segments.values(), *owners.values(), total):
        for period in periods:
            row.of(period)  # every row has every period, empty ones too
    return RetentionReport(
        today=today,
        trailing=trailing,
        quarters=quarters,
        teams=sorted(teams.values(), key=by_label),
        segments=sorted(segments.values(), key=lambda row: (segment_order.get(row.key, 99), row.label)),
        owners=sorted(owners.values(), key=by_label),
        total=total,
    )
