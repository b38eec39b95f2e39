"""Reads about health that views share: snapshots by day, an account's effective health, overrides in scope.

Every function here runs a fixed number of queries, whatever the length of the history.
"""

import datetime
from dataclasses import dataclass

from django.db.models import CharField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Account, CheckIn, User
from scoring.models import Backtest, Band, Component, HealthModel, HealthModelVersion, HealthSnapshot, Override


def snapshot_on_or_before(*, account: Account, day: datetime.date | None = None) -> HealthSnapshot | None:
    """The account's nearest snapshot on or before `day` (the latest one when day is None)."""
    snapshots = HealthSnapshot.objects.filter(account=account).select_related("version__model")
    if day is not None:
        snapshots = snapshots.filter(date__lte=day)
    return snapshots.order_by("-date").first()


def last_checkin_before(*, account: Account, day: datetime.date) -> datetime.date | None:
    """The date of the account's last check-in strictly before `day`: "since we last spoke"."""
    return (
        CheckIn.objects.filter(account=account, date__lt=day).order_by("-date").values_list("date", flat=True).first()
    )


def components_of(version: HealthModelVersion) -> dict[int, Component]:
    """The version's components by id, with their metric (its unit formats the raw values)."""
    return {component.pk: component for component in version.components.select_related("metric")}


def active_overrides(today: datetime.date | None = None) -> QuerySet:
    """Overrides in force today: the same rule as Override.is_active_on, as a query."""
    today = today or timezone.localdate()
    return Override.objects.filter(cleared_at__isnull=True, expires_on__gte=today, created_at__date__lte=today)


def override_band(override: Override, version: HealthModelVersion | None) -> str:
    """The band an override puts the account in: its band, or the band of its score under the account's model."""
    if override.band:
        return override.band
    if version is None or override.score is None:
        return Band.NONE
    return version.band(override.score)


@dataclass
class EffectiveHealth:
    """What the account's health is today: the computed score, and an override beside it when one is active."""

    snapshot: HealthSnapshot | None
    override: Override | None

    @property
    def override_band(self) -> str | None:
        if self.override is None:
            return None
        return override_band(self.override, self.snapshot.version if self.snapshot else None)

    @property
    def band(self) -> str:
        if self.override is not None:
            return self.override_band
        return self.snapshot.band if self.snapshot else Band.NONE


def effective_health(
    *, account: Account, today: datetime.date | None = None, latest: HealthSnapshot | None = None
) -> EffectiveHealth:
    """The latest computed snapshot (pass it when already read) and today's active override, if any."""
    override = active_overrides(today).filter(account=account).select_related("created_by").first()
    return EffectiveHealth(snapshot=latest or snapshot_on_or_before(account=account), override=override)


def override_history(*, account: Account) -> QuerySet:
    """Every override of the account, newest first: active, expired and cleared alike (rows are never deleted)."""
    return account.health_overrides.select_related("created_by", "cleared_by").order_by("-created_at", "-pk")


def can_clear_override(*, override: Override, user: User) -> bool:
    """Managers and admins clear any override in their scope; anyone else only the ones they made."""
    return user.role in (User.Role.MANAGER, User.Role.ADMIN) or override.created_by_id == user.pk


def _overrides_shown(overrides: QuerySet, today: datetime.date) -> list[Override]:
    """The overrides with the band each one shows (`shown_band`) and its account's computed health beside it.

    One query: `computed_score`, `computed_band` (Band.NONE without a snapshot) and `computed_date` come
    from the account's latest snapshot on or before today, whose thresholds band an override's score.
    """
    latest = HealthSnapshot.objects.filter(account=OuterRef("account"), date__lte=today).order_by("-date")
    overrides = overrides.annotate(
        computed_score=Subquery(latest.values("score")[:1]),
        computed_band=Coalesce(Subquery(latest.values("band")[:1]), Value(Band.NONE), output_field=CharField()),
        computed_date=Subquery(latest.values("date")[:1]),
        computed_red_below=Subquery(latest.values("version__red_below")[:1]),
        computed_green_from=Subquery(latest.values("version__green_from")[:1]),
    )
    found = list(overrides)
    for override in found:
        version = None
        if override.computed_red_below is not None:
            # Only the thresholds matter to band(); the snapshot's version is not loaded for them.
            version = HealthModelVersion(red_below=override.computed_red_below, green_from=override.computed_green_from)
        override.shown_band = override_band(override, version)
    return found


def overrides_shown_by_account(*, accounts: QuerySet | list[int], today: datetime.date) -> dict[int, Override]:
    """Each of these accounts' override in force today (the newest when several), as `_overrides_shown` reads them.

    The band every page shows for an overridden account is that override's `shown_band`; one query.
    """
    overrides = (
        active_overrides(today)
        .filter(account__in=accounts)
        .select_related("account")
        .order_by("account_id", "-created_at", "-pk")
    )
    found: dict[int, Override] = {}
    for override in _overrides_shown(overrides, today):
        found.setdefault(override.account_id, override)
    return found


def overrides_in_scope(*, user: User, today: datetime.date | None = None) -> list[Override]:
    """Active overrides of the accounts the user sees, soonest to expire first, each as `_overrides_shown` reads it."""
    today = today or timezone.localdate()
    overrides = (
        active_overrides(today)
        .filter(account__in=Account.objects.visible_to(user))
        .select_related("account__owner", "created_by")
        .order_by("expires_on", "account__name")
    )
    return _overrides_shown(overrides, today)


def backtest_stored_latest(model: HealthModel) -> Backtest | None:
    """The newest stored back-test of the model's current version (the nightly run's, or seed_demo's)."""
    if model.current_version_id is None:
        return None
    return (
        Backtest.objects.filter(model=model, kind=Backtest.Kind.STORED, version_id=model.current_version_id)
        .order_by("-created_at", "-pk")
        .first()
    )


def backtest_draft_latest(model: HealthModel) -> Backtest | None:
    """The newest draft back-test of the model, finished or not."""
    return (
        Backtest.objects.filter(model=model, kind=Backtest.Kind.DRAFT)
        .select_related("created_by")
        .order_by("-created_at", "-pk")
        .first()
    )


def default_model_backtest() -> Backtest | None:
    """The stored back-test the rollup mentions: the default model's current version's."""
    model = HealthModel.objects.filter(segment="").first()
    return backtest_stored_latest(model) if model is not None else None
