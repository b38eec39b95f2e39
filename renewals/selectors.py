"""Reads for the renewals page and the account page's renewal section.

The page reads every open renewal of the viewer's accounts up to the longest window in one query
(with its latest call and health), plus one for overrides; the windows, the flags, the filters
and the sort are worked out in Python over those rows.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import OuterRef, QuerySet, Subquery

from accounts.models import Account, User
from renewals.models import RENEWING_CALLS, Call, ForecastCall, Renewal
from scoring.models import Band, HealthSnapshot
from scoring.selectors import overrides_shown_by_account

WINDOWS = (30, 90, 180)
DEFAULT_WINDOW = 90
STALE_AFTER_DAYS = 30  # a call older than this is stale, for renewals inside the call window
CALL_WINDOW_DAYS = 90  # a renewal this close needs a current call
NO_CALL = "none"


def _latest_call(day: datetime.date | None = None) -> QuerySet:
    calls = ForecastCall.objects.filter(renewal=OuterRef("pk"))
    if day is not None:
        calls = calls.filter(made_on__lte=day)
    return calls.order_by("-made_on", "-created_at", "-pk")


def with_latest_call(renewals: QuerySet) -> QuerySet:
    """Annotate each renewal with its latest call: `call`, `call_on`, `call_by` (a name), `call_note`."""
    latest = _latest_call()
    return renewals.annotate(
        call=Subquery(latest.values("call")[:1]),
        call_on=Subquery(latest.values("made_on")[:1]),
        call_by=Subquery(latest.values("made_by__name")[:1]),
        call_note=Subquery(latest.values("note")[:1]),
    )


@dataclass
class RenewalRow:
    renewal: Renewal
    today: datetime.date
    band: str = Band.NONE
    score: float | None = None
    overridden: bool = False

    @property
    def account(self) -> Account:
        return self.renewal.account

    @property
    def days(self) -> int:
        return (self.renewal.renewal_date - self.today).days

    @property
    def days_late(self) -> int:
        return max(-self.days, 0)

    @property
    def call(self) -> str:
        return self.renewal.call or NO_CALL

    @property
    def call_label(self) -> str:
        return Call(self.renewal.call).label if self.renewal.call else "No call"

    @property
    def call_age(self) -> int | None:
        return (self.today - self.renewal.call_on).days if self.renewal.call_on else None

    @property
    def past_due(self) -> bool:
        return self.days < 0

    @property
    def missing_call(self) -> bool:
        """No call on a renewal inside the call window (further out, none is needed yet)."""
        return self.renewal.call is None and self.days <= CALL_WINDOW_DAYS

    @property
    def stale_call(self) -> bool:
        """A call older than STALE_AFTER_DAYS on a renewal inside the call window."""
        age = self.call_age
        return age is not None and age > STALE_AFTER_DAYS and self.days <= CALL_WINDOW_DAYS

    @property
    def disagreement(self) -> str:
        """Why the CSM's call and the health disagree ("" when they don't): commit while red, at risk while green."""
        if self.renewal.call == Call.COMMIT and self.band == Band.RED:
            return "Committed, but health is red"
        if self.renewal.call == Call.AT_RISK and self.band == Band.GREEN:
            return "Called at risk, but health is green"
        return ""

    @property
    def at_risk(self) -> bool:
        """Counted in "ARR at risk": called at risk or lost, or red whatever the call."""
        return self.renewal.call in (Call.AT_RISK, Call.LOST) or self.band == Band.RED

    @property
    def flags(self) -> list[str]:
        found = []
        if self.past_due:
            found.append("Past its date, not closed")
        if self.disagreement:
            found.append(self.disagreement)
        if self.missing_call:
            found.append("No call")
        elif self.stale_call:
            found.append(f"Call is {self.call_age} days old")
        return found


def open_renewal_rows(*, user: User, today: datetime.date, within: int = max(WINDOWS)) -> list[RenewalRow]:
    """Open renewals of the user's accounts due within `within` days (and those past their date), soonest
    first, each with its latest call and the health shown; two queries."""
    snapshots = HealthSnapshot.objects.filter(account=OuterRef("account"), date__lte=today).order_by("-date")
    renewals = (
        with_latest_call(
            Renewal.objects.open().filter(
                account__in=Account.objects.visible_to(user).filter(status=Account.Status.ACTIVE),
                renewal_date__lte=today + datetime.timedelta(days=within),
            )
        )
        .annotate(
            health_band=Subquery(snapshots.values("band")[:1]),
            health_score=Subquery(snapshots.values("score")[:1]),
        )
        .select_related("account__owner")
        # What the rows show and sort by: a manager's half year is a thousand rows to build.
        .only(
            "account_id",
            "renewal_date",
            "arr",
            "account__name",
            "account__segment",
            "account__owner_id",
            "account__owner__name",
        )  # fmt: skip
        .order_by("renewal_date", "account__name", "pk")
    )
    found = list(renewals)
    overrides = overrides_shown_by_account(accounts=[renewal.account_id for renewal in found], today=today)
    rows = []
    for renewal in found:
        override = overrides.get(renewal.account_id)
        rows.append(
            RenewalRow(
                renewal=renewal,
                today=today,
                band=override.shown_band if override else (renewal.health_band or Band.NONE),
                score=renewal.health_score,
                overridden=override is not None,
            )
        )
    return rows


@dataclass
class Tally:
    count: int = 0
    arr: Decimal = Decimal(0)

    def add(self, arr: Decimal):
        self.count += 1
        self.arr += arr


CALL_COLUMNS = [*Call.choices, (NO_CALL, "No call")]


@dataclass
class WindowSummary:
    """One window's renewals: ARR by call and by band, the forecast and the ARR at risk."""

    days: int
    total: Tally = field(default_factory=Tally)
    by_call: dict[str, Tally] = field(default_factory=lambda: {key: Tally() for key, _ in CALL_COLUMNS})
    by_band: dict[str, Tally] = field(default_factory=lambda: {band: Tally() for band in Band.values})
    forecast: Tally = field(default_factory=Tally)
    at_risk: Tally = field(default_factory=Tally)
    flagged: int = 0

    @property
    def call_cells(self) -> list[tuple[str, str, Tally]]:
        return [(key, label, self.by_call[key]) for key, label in CALL_COLUMNS]

    @property
    def band_cells(self) -> list[tuple[str, str, Tally]]:
        return [(band, Band(band).label, self.by_band[band]) for band in Band.values]


def window_summaries(rows: list[RenewalRow], windows=WINDOWS) -> list[WindowSummary]:
    """Each window counts the renewals due within it, those past their date included (still to close)."""
    summaries = []
    for days in windows:
        summary = WindowSummary(days=days)
        for row in rows:
            if row.days > days:
                continue
            arr = row.renewal.arr
            summary.total.add(arr)
            summary.by_call[row.call].add(arr)
            summary.by_band[row.band].add(arr)
            if row.renewal.call in RENEWING_CALLS:
                summary.forecast.add(arr)
            if row.at_risk:
                summary.at_risk.add(arr)
            if row.flags:
                summary.flagged += 1
        summaries.append(summary)
    return summaries


FLAGS = {
    "disagree": lambda row: bool(row.disagreement),
    "missing": lambda row: row.missing_call,
    "stale": lambda row: row.stale_call,
    "past_due": lambda row: row.past_due,
    "any": lambda row: bool(row.flags),
}
BAND_RANK = {Band.RED: 0, Band.YELLOW: 1, Band.GREEN: 2, Band.NONE: 3}
CALL_RANK = {Call.LOST: 0, Call.AT_RISK: 1, Call.LIKELY: 2, Call.COMMIT: 3, NO_CALL: -1}
SORTS = {
    "date": lambda row: (row.renewal.renewal_date,),
    "account": lambda row: (row.account.name.casefold(),),
    "arr": lambda row: (row.renewal.arr,),
    "call": lambda row: (CALL_RANK[row.call],),
    "health": lambda row: (BAND_RANK[row.band], row.score if row.score is not None else -1),
    "csm": lambda row: ((row.account.owner.name if row.account.owner else "").casefold(),),
}
DEFAULT_SORT = "date"


def rows_filter(
    rows: list[RenewalRow], *, within: int, call: str = "", band: str = "", flag: str = "", owner: int | None = None
) -> list[RenewalRow]:
    return [
        row
        for row in rows
        if row.days <= within
        and (not call or row.call == call)
        and (not band or row.band == band)
        and (not flag or FLAGS[flag](row))
        and (owner is None or row.account.owner_id == owner)
    ]


def rows_sort(rows: list[RenewalRow], *, sort: str, descending: bool) -> list[RenewalRow]:
    """Sorted by `sort`, then by date and name (stable), so equal values keep a predictable order."""
    by_date = sorted(rows, key=lambda row: (row.renewal.renewal_date, row.account.name.casefold()))
    return sorted(by_date, key=SORTS[sort], reverse=descending)


def account_renewals(account: Account) -> tuple[Renewal | None, list[ForecastCall], list[Renewal]]:
    """The account's open renewal, its calls (newest first) and its closed renewals (newest first); three queries."""
    renewals = list(account.renewals.select_related("churn_reason", "closed_by").order_by("-renewal_date", "-pk"))
    current = next((renewal for renewal in renewals if renewal.is_open), None)
    calls = list(current.calls.select_related("made_by")) if current else []
    return current, calls, [renewal for renewal in renewals if not renewal.is_open]


def renewals_needing_a_call(*, accounts, today: datetime.date) -> list[Renewal]:
    """Open renewals of these accounts (active ones) inside the call window with no call or a stale one,
    soonest first, each with its latest call (`call`, `call_on`); one query."""
    renewals = with_latest_call(
        Renewal.objects.open().filter(
            account__in=accounts,
            account__status=Account.Status.ACTIVE,
            renewal_date__lte=today + datetime.timedelta(days=CALL_WINDOW_DAYS),
        )
    ).select_related("account")
    stale_before = today - datetime.timedelta(days=STALE_AFTER_DAYS)
    return [
        renewal
        for renewal in renewals.order_by("renewal_date", "account__name", "pk")
        if renewal.call_on is None or renewal.call_on < stale_before
    ]


def renewals_to_call(*, user: User, today: datetime.date) -> list[Renewal]:
    """The morning email's list: renewals needing a call on the accounts the user owns (in their scope)."""
    accounts = Account.objects.visible_to(user).filter(owner=user)
    return renewals_needing_a_call(accounts=accounts, today=today)
