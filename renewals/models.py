"""Renewals: one row per account and term, the CSM's forecast calls on it, and its outcome.

An account has at most one open renewal (a constraint); closing it records the outcome and opens
the next term's (renewals/services.py renewal_close). Calls are never edited: a new call is a new
row, so "what did the CSM say 90 days before" can always be answered.
"""

import datetime

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account, User
from accounts.validators import validate_date


class Call(models.TextChoices):
    COMMIT = "commit", "Commit"
    LIKELY = "likely", "Likely"
    AT_RISK = "at_risk", "At risk"
    LOST = "lost", "Lost"


# The chance of renewing each call stands for, for the Brier score (README, "Who was right").
CALL_RENEWS_PROBABILITY = {Call.COMMIT: 0.95, Call.LIKELY: 0.75, Call.AT_RISK: 0.35, Call.LOST: 0.05}
# The calls that count as "it renews" in the forecast and in accuracy.
RENEWING_CALLS = (Call.COMMIT, Call.LIKELY)


class Outcome(models.TextChoices):
    RENEWED = "renewed", "Renewed flat"
    EXPANDED = "expanded", "Expanded"
    CONTRACTED = "contracted", "Contracted"
    CHURNED = "churned", "Churned"


class ChurnReason(models.Model):
    """One entry of the list a churned renewal's reason is picked from (set up in the Django admin)."""

    name = models.CharField(max_length=100, unique=True)
    archived_at = models.DateTimeField(null=True, blank=True, help_text="Archived reasons are kept, not offered.")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class RenewalQuerySet(models.QuerySet):
    def open(self):
        return self.filter(outcome="")

    def closed(self):
        return self.exclude(outcome="")

    def visible_to(self, user):
        """Renewals of the accounts the user sees: scope is the account's, decided in one place."""
        return self.filter(account__in=Account.objects.visible_to(user))


class Renewal(models.Model):
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="renewals")
    term_start = models.DateField(null=True, blank=True, validators=[validate_date])
    renewal_date = models.DateField(validators=[validate_date])
    arr = models.DecimalField("ARR up for renewal", max_digits=14, decimal_places=2, validators=[MinValueValidator(0)])
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    new_arr = models.DecimalField(
        "new ARR", max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    churn_reason = models.ForeignKey(ChurnReason, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    outcome_note = models.TextField(blank=True)
    closed_on = models.DateField(null=True, blank=True, validators=[validate_date])
    closed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = RenewalQuerySet.as_manager()

    class Meta:
        ordering = ["renewal_date", "pk"]
        indexes = [
            models.Index(fields=["renewal_date"], name="renewal_open_by_date", condition=Q(outcome="")),
            models.Index(fields=["account", "renewal_date"], name="renewal_per_account"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["account"], condition=Q(outcome=""), name="renewal_one_open_per_account"),
            models.UniqueConstraint(fields=["account", "renewal_date"], name="renewal_one_per_account_and_date"),
            models.CheckConstraint(condition=Q(arr__gte=0), name="renewal_arr_not_negative"),
            models.CheckConstraint(
                condition=(Q(outcome="", closed_on__isnull=True, new_arr__isnull=True, churn_reason__isnull=True))
                | (~Q(outcome="") & Q(closed_on__isnull=False, new_arr__isnull=False)),
                name="renewal_closed_has_date_and_arr",
            ),
            models.CheckConstraint(
                condition=~Q(outcome="churned") | Q(new_arr=0, churn_reason__isnull=False),
                name="renewal_churned_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.account} renewal on {self.renewal_date}"

    @property
    def is_open(self) -> bool:
        return self.outcome == ""

    def days_to_renewal(self, today: datetime.date | None = None) -> int:
        return (self.renewal_date - (today or timezone.localdate())).days


class ForecastCall(models.Model):
    """The CSM's forecast for a renewal on a day, with why. Kept, never edited: the latest one counts."""

    renewal = models.ForeignKey(Renewal, on_delete=models.PROTECT, related_name="calls")
    call = models.CharField(max_length=10, choices=Call.choices)
    note = models.TextField(blank=True)
    made_on = models.DateField(default=timezone.localdate, validators=[validate_date])
    made_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-made_on", "-created_at", "-pk"]
        indexes = [models.Index(fields=["renewal", "-made_on"], name="forecast_call_latest")]

    def __str__(self):
        return f"{self.get_call_display()} on {self.made_on} for renewal #{self.renewal_id}"
