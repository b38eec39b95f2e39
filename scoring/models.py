"""Health models (versioned), their components, dated snapshots, overrides.

A score is 0-100 and higher is always healthier. Each component reads one input
(a survey result, check-ins, or any metric), maps it linearly between a "poor"
anchor (0) and a "good" anchor (100), clamped, and weighs it. Editing a model
makes a new version; snapshots name the version they were computed with.
"""

import datetime

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, MetricDefinition, User
from core.numbers import whole


class Band(models.TextChoices):
    RED = "red", "Red"
    YELLOW = "yellow", "Yellow"
    GREEN = "green", "Green"
    NONE = "none", "Not enough data"


# A new model's first settings (the product brief's bands), and the trend's bands while no model has a version.
DEFAULT_MIN_COVERAGE, DEFAULT_RED_BELOW, DEFAULT_GREEN_FROM = 50, 40, 70


class HealthModel(models.Model):
    """A named model; the default one scores every account whose segment has no model of its own."""

    name = models.CharField(max_length=100)
    segment = models.CharField(
        max_length=20,
        choices=Account.Segment.choices,
        blank=True,
        help_text="Empty for the default model; otherwise it scores the accounts of this segment.",
    )
    current_version = models.ForeignKey(
        "HealthModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["segment", "name"]
        constraints = [models.UniqueConstraint(fields=["segment"], name="one_health_model_per_segment")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("scoring:model_edit", args=[self.pk])

    @property
    def is_default(self) -> bool:
        return self.segment == ""


class HealthModelVersion(models.Model):
    model = models.ForeignKey(HealthModel, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    min_coverage = models.PositiveSmallIntegerField(
        default=DEFAULT_MIN_COVERAGE,
        validators=[MaxValueValidator(100)],
        help_text="Below this share of the total weight with data, the score is 'not enough data'.",
    )
    red_below = models.PositiveSmallIntegerField(default=DEFAULT_RED_BELOW, validators=[MaxValueValidator(100)])
    green_from = models.PositiveSmallIntegerField(default=DEFAULT_GREEN_FROM, validators=[MaxValueValidator(100)])
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["model", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["model", "number"], name="health_version_number_unique"),
            models.CheckConstraint(condition=Q(red_below__lte=F("green_from")), name="health_bands_ordered"),
        ]

    def __str__(self):
        return f"{self.model.name} v{self.number}"

    def band(self, score: float | None) -> str:
        """The band of the score as shown, a whole number: 39.5 shows 40 and is yellow, 39.49 shows 39 and is red."""
        if score is None:
            return Band.NONE
        shown = whole(score)
        if shown < self.red_below:
            return Band.RED
        return Band.GREEN if shown >= self.green_from else Band.YELLOW


class Input(models.TextChoices):
    NPS = "nps", "Account NPS"
    CSAT = "csat_percent", "CSAT %"
    CES = "ces_mean", "CES mean"
    SENTIMENT = "checkin_sentiment", "Check-in sentiment"
    DAYS_SINCE_CHECKIN = "days_since_checkin", "Days since the last check-in"
    METRIC = "metric", "A metric"


class Reading(models.TextChoices):
    LATEST = "latest", "Latest value"
    MEAN = "mean", "Mean over the window"
    SUM = "sum", "Sum over the window"
    COUNT = "count", "Count over the window"


class Component(models.Model):
    version = models.ForeignKey(HealthModelVersion, on_delete=models.CASCADE, related_name="components")
    position = models.PositiveSmallIntegerField(default=0)
    label = models.CharField(max_length=100)
    input = models.CharField(max_length=20, choices=Input.choices)
    metric = models.ForeignKey(MetricDefinition, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reading = models.CharField(max_length=10, choices=Reading.choices, default=Reading.LATEST)
    window_days = models.PositiveSmallIntegerField(
        default=90, validators=[MinValueValidator(1)], help_text="Inputs older than this count as missing."
    )
    poor = models.FloatField(help_text="The input value that maps to 0.")
    good = models.FloatField(help_text="The input value that maps to 100 (lower than poor when less is better).")
    weight = models.FloatField(validators=[MinValueValidator(0.01)])

    class Meta:
        ordering = ["version", "position", "pk"]

    def __str__(self):
        return self.label

    def normalise(self, raw: float) -> float:
        """Linear from poor (0) to good (100), clamped; works in both directions."""
        share = (raw - self.poor) / (self.good - self.poor)
        return 100.0 * min(max(share, 0.0), 1.0)


class HealthSnapshot(models.Model):
    """One account's health on one day, with the breakdown it was computed from."""

    # No index of its own: those of (account, date) below serve every read by account.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="health_snapshots", db_index=False)
    date = models.DateField()
    version = models.ForeignKey(HealthModelVersion, on_delete=models.PROTECT, related_name="snapshots")
    score = models.FloatField(null=True, help_text="0-100, higher is healthier; empty when not enough data.")
    band = models.CharField(max_length=10, choices=Band.choices)
    coverage = models.FloatField(help_text="Share of the total weight (0-100) whose input had data.")
    components = models.JSONField(
        help_text="[{component, label, input, raw, n, normalised, weight, contribution, status}] in model order."
    )
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["account", "-date"]
        constraints = [models.UniqueConstraint(fields=["account", "date"], name="health_snapshot_per_day")]
        indexes = [
            # An account's snapshot of a day (its latest, or the one before a renewal's forecast day) with
            # its band, score and version, from the index alone, not from the rows with their breakdown: at
            # 100,000 accounts the history is some 50 GB, and each row read is a disk read. (The unique
            # constraint cannot carry them: SQLite would then not create it at all.)
            models.Index(
                fields=["account", "date"], include=["band", "score", "version"], name="health_snapshot_account_day"
            ),
            # One day's scores of many accounts (the rollup's weekly trend, the back-test's cases), from the
            # index alone.
            models.Index(fields=["date", "band"], include=["account", "score", "version"], name="health_snapshot_day"),
        ]

    def __str__(self):
        return f"{self.account_id} {self.date}: {self.score}"


class Override(models.Model):
    """A person's correction of an account's health, with a reason and an end date.

    The computed score is kept; the override is shown beside it until it expires or
    is cleared. Rows are never deleted, so they are also the history.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="health_overrides")
    band = models.CharField(max_length=10, choices=Band.choices[:3], blank=True)
    score = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(100)])
    reason = models.TextField()
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_on = models.DateField()
    cleared_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "expires_on"])]

    def __str__(self):
        return f"Override of {self.account_id} until {self.expires_on}"

    def is_active_on(self, day: datetime.date) -> bool:
        """In force on `day`: made by then, not yet expired, and not cleared by then (cleared later, it was)."""
        if self.cleared_at is not None and timezone.localdate(self.cleared_at) <= day:
            return False
        return timezone.localdate(self.created_at) <= day <= self.expires_on


class DirtyAccount(models.Model):
    """An account whose inputs changed; the debounced task recomputes and removes it."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, primary_key=True, related_name="+")
    since = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"account {self.account_id} since {self.since}"


class Backtest(models.Model):
    """One back-test of a model (scoring/backtest.py defines it), with its progress and its result kept.

    A stored back-test reads a version's snapshots (nightly, for each current version). A draft's
    replays the draft and the current version on the data of each evaluation day, in a task, and
    suggests weights for the draft's components.
    """

    class Kind(models.TextChoices):
        STORED = "stored", "Stored snapshots"
        DRAFT = "draft", "Draft replayed"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    model = models.ForeignKey(HealthModel, on_delete=models.CASCADE, related_name="backtests")
    version = models.ForeignKey(
        HealthModelVersion,
        null=True,
        on_delete=models.SET_NULL,
        related_name="backtests",
        help_text="The version tested (stored), or the current version the draft is compared with.",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    draft = models.JSONField(null=True, blank=True, help_text="{settings: {...}, components: [editor rows]}.")
    horizon_days = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    done = models.PositiveIntegerField(default=0, help_text="Evaluation days replayed so far.")
    total = models.PositiveIntegerField(default=0, help_text="Evaluation days to replay.")
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["model", "kind", "-created_at"], name="backtest_latest")]

    def __str__(self):
        return f"{self.get_kind_display()} back-test of {self.model_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0
