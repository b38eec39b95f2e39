"""Who was right: the CSM's call and the health model's band 90 days before each renewal, against its outcome.

Defined once here (and in the README, "Who was right"):

- Every closed renewal counts, on its forecast day: the renewal date minus FORECAST_DAYS. A renewal
  closed before that day is left out (its outcome was known by then).
- The CSM's call is the latest ForecastCall made on or before the forecast day; a renewal without one
  counts as "no call", apart. Commit and likely predict a renewal (RENEWING_CALLS), at risk and lost
  predict churn.
- The model's band is the band shown on the forecast day, as on every page: an override in force that
  day (cleared since or not), else the account's snapshot of that day or the last one before it. Red
  predicts churn, yellow and green predict a renewal; no snapshot, or one with not enough data, counts
  as "no score", apart.
- The outcome: churned, or not (renewed flat, expanded and contracted all renewed).
- Accuracy = right predictions / n. The Brier score of the calls is the mean of (p − o)², p the chance
  of renewing each call stands for (CALL_RENEWS_PROBABILITY), o 1 when it renewed and 0 when it
  churned: 0 is perfect, 0.25 is what always saying 50% scores. The model gives a band, not a
  chance, so it has no Brier score.
- Rows are per CSM: the person who made the call; a renewal without a call counts under the account's
  CSM today. Under MIN_RENEWALS predictions a figure is "too few renewals".

Three queries whatever the number of renewals: the closed renewals in scope with their call and
snapshot of the forecast day (subqueries), the overrides of those accounts, and the names of the CSMs.
Over the benchmark's 11,000 closed renewals that is some 600 ms, so the rollup keeps the result (see
`compute_accuracy`'s `cache_key`).
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import DateField, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.models import Team, User
from core.cache import keep, kept
from renewals.models import CALL_RENEWS_PROBABILITY, RENEWING_CALLS, ForecastCall, Outcome, Renewal
from scoring.models import Band, HealthModelVersion, HealthSnapshot, Override
from scoring.selectors import override_band

FORECAST_DAYS = 90
MIN_RENEWALS = 10
CACHE_SECONDS = 3600
UNASSIGNED = "Unassigned"


@dataclass
class Tally:
    """Predictions of one kind (the calls, or the model's bands): how many, how many right, and the Brier sum."""

    n: int = 0
    right: int = 0
    squared_error: float = 0.0

    def add(self, *, predicts_renewal: bool, renewed: bool, probability: float | None = None) -> None:
        self.n += 1
        self.right += predicts_renewal == renewed
        if probability is not None:
            self.squared_error += (probability - (1.0 if renewed else 0.0)) ** 2

    @property
    def too_few(self) -> bool:
        return self.n < MIN_RENEWALS

    @property
    def accuracy(self) -> float | None:
        """Right predictions as a percentage (0-100); None without any."""
        return 100 * self.right / self.n if self.n else None

    @property
    def brier(self) -> float | None:
        """The mean squared error of the chances (calls only); None without any."""
        return self.squared_error / self.n if self.n else None


@dataclass
class AccuracyRow:
    """A CSM, or everyone (`is_total`): the renewals, those without a call or a score, and the two tallies."""

    key: int | None
    label: str
    is_total: bool = False
    renewals: int = 0
    churned: int = 0
    no_call: int = 0
    no_score: int = 0
    calls: Tally = field(default_factory=Tally)
    model: Tally = field(default_factory=Tally)


@dataclass
class Accuracy:
    today: datetime.date
    owners: list[AccuracyRow]
    total: AccuracyRow
    forecast_days: int = FORECAST_DAYS
    min_renewals: int = MIN_RENEWALS


def _shown_band(renewal, overrides: list[Override]) -> str:
    """The band shown on the renewal's forecast day: the newest override in force that day, else the snapshot's."""
    day = renewal.forecast_day
    version = None
    if renewal.red_below is not None:
        version = HealthModelVersion(red_below=renewal.red_below, green_from=renewal.green_from)
    for override in overrides:  # newest first
        if override.is_active_on(day):
            return override_band(override, version)
    return renewal.snapshot_band or Band.NONE


def compute_accuracy(
    *, user: User, team: Team | None = None, today: datetime.date | None = None, cache_key: str = ""
) -> Accuracy:
    """Who was right on the closed renewals `user` sees (of one team's accounts when given); three queries.

    With a `cache_key` naming those accounts the result is kept CACHE_SECONDS under a key that also
    holds the number of closed renewals (one more query): a closed renewal's call, band and outcome no
    longer change, so one closed since shows at once; a CSM renamed or reassigned within the hour.
    """
    today = today or timezone.localdate()
    in_scope = Renewal.objects.visible_to(user)
    if team is not None:
        in_scope = in_scope.filter(account__owner__team=team)
    key = f"accuracy:{today.isoformat()}:{cache_key}:{in_scope.closed().count()}" if cache_key else ""
    found = kept(key)
    if found is None:
        found = _accuracy(in_scope.closed(), today=today)
        keep(key, found, CACHE_SECONDS)
    return found


def _accuracy(closed: QuerySet, *, today: datetime.date) -> Accuracy:
    lead = datetime.timedelta(days=FORECAST_DAYS)
    forecast_day = ExpressionWrapper(F("renewal_date") - lead, output_field=DateField())
    on_the_day = OuterRef("forecast_day")
    call = ForecastCall.objects.filter(renewal=OuterRef("pk"), made_on__lte=on_the_day)
    call = call.order_by("-made_on", "-created_at", "-pk")
    snapshot = HealthSnapshot.objects.filter(account=OuterRef("account_id"), date__lte=on_the_day).order_by("-date")
    renewals = list(
        closed.annotate(forecast_day=forecast_day)
        .filter(closed_on__gte=F("forecast_day"))
        .annotate(
            call_value=Subquery(call.values("call")[:1]),
            call_by=Subquery(call.values("made_by")[:1]),
            snapshot_band=Subquery(snapshot.values("band")[:1]),
            red_below=Subquery(snapshot.values("version__red_below")[:1]),
            green_from=Subquery(snapshot.values("version__green_from")[:1]),
        )
        .values("pk", "account_id", "renewal_date", "outcome", "account__owner_id", "call_value", "call_by",
                "snapshot_band", "red_below", "green_from")
    )  # fmt: skip

    overrides: dict[int, list[Override]] = {}
    if renewals:
        # Overrides cleared since count on the days they were in force.
        first_day = min(row["renewal_date"] for row in renewals) - lead
        found = Override.objects.filter(
            Q(cleared_at__isnull=True) | Q(cleared_at__date__gt=first_day),
            account_id__in={row["account_id"] for row in renewals},
            expires_on__gte=first_day,
        ).order_by("-created_at", "-pk")
        for override in found.only("account_id", "band", "score", "created_at", "expires_on", "cleared_at"):
            overrides.setdefault(override.account_id, []).append(override)

    rows: dict[int | None, AccuracyRow] = {}
    total = AccuracyRow(None, "Everyone", is_total=True)
    for values in renewals:
        renewal = _Case(**values)
        renewed = renewal.outcome != Outcome.CHURNED
        who = renewal.call_by if renewal.call_value else renewal.account__owner_id
        row = rows.get(who)
        if row is None:
            row = rows[who] = AccuracyRow(who, UNASSIGNED)
        band = _shown_band(renewal, overrides.get(renewal.account_id, []))
        for target in (row, total):
            target.renewals += 1
            target.churned += not renewed
            if renewal.call_value:
                target.calls.add(
                    predicts_renewal=renewal.call_value in RENEWING_CALLS,
                    renewed=renewed,
                    probability=CALL_RENEWS_PROBABILITY.get(renewal.call_value),
                )
            else:
                target.no_call += 1
            if band in (Band.RED, Band.YELLOW, Band.GREEN):
                target.model.add(predicts_renewal=band != Band.RED, renewed=renewed)
            else:
                target.no_score += 1

    people = [pk for pk in rows if pk is not None]
    for pk, name, email in User.objects.filter(pk__in=people).values_list("pk", "name", "email") if people else ():
        rows[pk].label = name or email
    owners = sorted(rows.values(), key=lambda row: (row.key is None, row.label.casefold(), row.key or 0))
    return Accuracy(today=today, owners=owners, total=total)


@dataclass
class _Case:
    """One closed renewal as the query reads it."""

    pk: int
    account_id: int
    renewal_date: datetime.date
    outcome: str
    account__owner_id: int | None
    call_value: str | None
    call_by: int | None
    snapshot_band: str | None
    red_below: float | None
    green_from: float | None

    @property
    def forecast_day(self) -> datetime.date:
        return self.renewal_date - datetime.timedelta(days=FORECAST_DAYS)
