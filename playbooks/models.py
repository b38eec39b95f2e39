"""Tasks (an owned next step on an account), playbooks (what a task holds) and rules (when to create one).

A rule's occurrences are rows: an occurrence starts when its condition begins to hold for an
account (and creates the task) and ends when the condition no longer holds. One open occurrence
per rule and account (a constraint), so a rule never creates a second task for the same spell.
"""

import datetime

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account, MetricDefinition, User
from core.numbers import plain


class Priority(models.TextChoices):
    HIGH = "high", "High"
    NORMAL = "normal", "Normal"
    LOW = "low", "Low"


class TaskKind(models.TextChoices):
    RISK = "risk", "Risk"
    FEEDBACK = "feedback", "Feedback follow-up"
    RENEWAL = "renewal", "Renewal"
    CHECK_IN = "check_in", "Check-in"
    ADOPTION = "adoption", "Adoption"
    CONTACT = "contact", "Contact"
    OTHER = "other", "Other"


class Playbook(models.Model):
    """What a rule's task holds: its title (a template), kind, steps, due date and priority."""

    name = models.CharField(max_length=120, unique=True)
    title_template = models.CharField(
        max_length=200,
        help_text="The task's title; {account} becomes the account's name, e.g. 'Call {account} about the drop'.",
    )
    kind = models.CharField(max_length=20, choices=TaskKind.choices, default=TaskKind.RISK)
    steps = models.JSONField(default=list, blank=True, help_text="The checklist, one step per line.")
    due_in_days = models.PositiveSmallIntegerField(default=3, validators=[MaxValueValidator(365)])
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def title_for(self, account: Account) -> str:
        return self.title_template.replace("{account}", account.name)[:200]


class Trigger(models.TextChoices):
    ENTERS_RED = "enters_red", "The account enters red"
    HEALTH_DROP = "health_drop", "Health drops N points within 7 days"
    LOW_SCORE = "low_score", "A low-score answer (NPS 0–6, CSAT 1–2, CES 1–3)"
    RENEWAL_AT_RISK = "renewal_at_risk", "A renewal within N days while yellow or red"
    CHECKIN_OVERDUE = "checkin_overdue", "A check-in overdue by N days"
    PRIMARY_CONTACT_LOST = "contact_lost", "The primary contact opts out, bounces or is archived"
    METRIC_THRESHOLD = "metric", "A metric above or below a threshold for N days"


# Which pass notices each trigger: the recompute (health), the answer path, or only the nightly sweep.
HEALTH_TRIGGERS = (Trigger.ENTERS_RED, Trigger.HEALTH_DROP)
ANSWER_TRIGGERS = (Trigger.LOW_SCORE,)


class Rule(models.Model):
    class Comparison(models.TextChoices):
        BELOW = "below", "below"
        ABOVE = "above", "above"

    class Notify(models.TextChoices):
        NONE = "none", "Only the task"
        APP = "app", "The task, and a notification in Pulse"
        EMAIL = "email", "The task, a notification and an email"

    name = models.CharField(max_length=120, unique=True)
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    points = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="N for a health drop.",
    )
    days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="N for a renewal, an overdue check-in or a metric's run of days.",
    )
    metric = models.ForeignKey(MetricDefinition, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    comparison = models.CharField(max_length=5, choices=Comparison.choices, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    # Conditions: empty means any.
    segment = models.CharField(max_length=20, choices=Account.Segment.choices, blank=True)
    min_arr = models.DecimalField("minimum ARR", max_digits=14, decimal_places=2, null=True, blank=True)
    lifecycle_stage = models.CharField(max_length=20, choices=Account.Lifecycle.choices, blank=True)
    # Action.
    playbook = models.ForeignKey(Playbook, on_delete=models.PROTECT, related_name="rules")
    owner = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty: the account's CSM owns the task.",
    )
    notify = models.CharField(max_length=5, choices=Notify.choices, default=Notify.APP)
    is_active = models.BooleanField("active", default=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def when_text(self) -> str:
        """The trigger in words with its numbers, e.g. "Health drops 10 points within 7 days"."""
        match self.trigger:
            case Trigger.HEALTH_DROP:
                return f"Health drops {self.points} points within 7 days"
            case Trigger.RENEWAL_AT_RISK:
                return f"Renewal within {self.days} days while yellow or red"
            case Trigger.CHECKIN_OVERDUE:
                return f"Check-in overdue by {self.days} days"
            case Trigger.METRIC_THRESHOLD:
                label = self.metric.label if self.metric_id else "a metric"
                return f"{label} {self.comparison} {plain(self.threshold, 2)} for {self.days} days"
        return self.get_trigger_display()


class RuleOccurrence(models.Model):
    """A spell during which a rule's condition held for an account; it created `task`."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="occurrences")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "account"], condition=Q(ended_at__isnull=True), name="one_open_occurrence"
            )
        ]

    def __str__(self):
        return f"{self.rule} on account {self.account_id} from {self.started_at:%Y-%m-%d}"


class TaskQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Tasks of the accounts the user may see (the one scope rule lives on AccountQuerySet)."""
        return self.filter(account__in=Account.objects.visible_to(user))

    def editable_by(self, user):
        return self.filter(account__in=Account.objects.editable_by(user))

    def open(self):
        """Still to do: open, or snoozed (a snoozed task comes back on its date)."""
        return self.filter(status__in=Task.OPEN_STATUSES)

    def overdue(self, today: datetime.date):
        return self.open().filter(due_on__lt=today)


class Task(models.Model):
    """An owned next step on an account, made by hand or by a rule. Never deleted: cancelled instead."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        SNOOZED = "snoozed", "Snoozed"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    OPEN_STATUSES = (Status.OPEN, Status.SNOOZED)

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="tasks")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=TaskKind.choices, default=TaskKind.OTHER)
    reason = models.CharField(max_length=500, blank=True, help_text="The facts that triggered it.")
    owner = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    due_on = models.DateField()
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    snoozed_until = models.DateField(null=True, blank=True)
    outcome = models.TextField(blank=True)
    steps = models.JSONField(default=list, blank=True, help_text='[{"text": ..., "done": false}, ...]')
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rule = models.ForeignKey(Rule, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    occurrence = models.OneToOneField(
        RuleOccurrence, null=True, blank=True, on_delete=models.SET_NULL, related_name="task"
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "pk"]
        indexes = [
            # Open tasks per owner by due date (My tasks, overdue counts per CSM) and per account (portfolio counts).
            models.Index(
                fields=["owner", "due_on"], condition=Q(status__in=["open", "snoozed"]), name="task_open_owner"
            ),
            models.Index(
                fields=["account", "due_on"], condition=Q(status__in=["open", "snoozed"]), name="task_open_account"
            ),
            models.Index(fields=["account", "-created_at"], name="task_account_created"),
        ]

    def __str__(self):
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    def is_overdue(self, today: datetime.date) -> bool:
        return self.is_open and self.due_on < today

    @property
    def created_by_text(self) -> str:
        if self.rule_id:
            return f"rule “{self.rule.name}”"
        return str(self.created_by) if self.created_by else "someone no longer here"


class TaskEvent(models.Model):
    """Who changed what on a task, and when: the task's history and the account timeline's task lines."""

    class Action(models.TextChoices):
        CREATED = "created", "created"
        DONE = "done", "completed"
        SNOOZED = "snoozed", "snoozed"
        REASSIGNED = "reassigned", "reassigned"
        CANCELLED = "cancelled", "cancelled"
        REOPENED = "reopened", "reopened"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="events")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=12, choices=Action.choices)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["account", "-at"], name="taskevent_account_at")]

    def __str__(self):
        return f"{self.task} {self.get_action_display()}"
