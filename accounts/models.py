"""People (users, teams), customer accounts, contacts, check-ins, metrics and API tokens."""

import datetime

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.email_address import address_hash, normalise_email
from accounts.validators import validate_date, validate_past_date


class TeamQuerySet(models.QuerySet):
    def active(self):
        """Teams not archived: the ones people can be put in."""
        return self.filter(archived_at__isnull=True)


class Team(models.Model):
    """A group of CSMs. Archiving one keeps its members and history; nothing deletes a team in the app."""

    name = models.CharField(max_length=100, unique=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("accounts:team_detail", args=[self.pk])


class UserManager(BaseUserManager):
    def get_by_natural_key(self, email):
        # Addresses are stored normalised and looked up exactly (accounts/email_address.py).
        return self.get(email=normalise_email(email))

    def create_user(self, email, password=None, **fields):
        user = self.model(email=normalise_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **fields):
        return self.create_user(email, password, role=User.Role.ADMIN, **fields)


class User(AbstractBaseUser):
    """A Pulse user. The role alone decides what they can see (see AccountQuerySet.visible_to)."""

    class Role(models.TextChoices):
        CSM = "csm", "CSM"
        MANAGER = "manager", "Manager"
        ADMIN = "admin", "Admin"

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.CSM)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members", help_text="A CSM's team."
    )
    managed_teams = models.ManyToManyField(
        Team, blank=True, related_name="managers", help_text="The teams a manager sees."
    )
    is_active = models.BooleanField(default=True)
    morning_email = models.BooleanField(
        "morning email",
        default=False,
        help_text="Each morning, an email listing today's check-ins with what changed since the last one.",
    )
    # The day the morning email last went out: claiming it with a conditional UPDATE sends it once a day.
    morning_email_sent_on = models.DateField(null=True, blank=True, editable=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # When the last invitation went out; its set-password link expires PASSWORD_RESET_TIMEOUT later.
    invited_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name or self.email

    @classmethod
    def normalize_username(cls, username):
        # AbstractBaseUser.clean() applies it, so every model form (the Django admin's too) stores
        # the address normalised, and checks uniqueness on that form.
        return normalise_email(username) if isinstance(username, str) else username

    def get_absolute_url(self):
        return reverse("accounts:person_detail", args=[self.pk])

    def get_full_name(self):
        return self.name

    def get_short_name(self):
        return self.name.split(" ")[0] if self.name else self.email

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN

    @property
    def is_manager(self) -> bool:
        return self.role == self.Role.MANAGER

    # The Django admin is for Pulse admins only; there are no finer permissions.
    @property
    def is_staff(self) -> bool:
        return self.is_active and self.is_admin

    @property
    def is_superuser(self) -> bool:
        return self.is_staff

    def has_perm(self, perm, obj=None) -> bool:
        return self.is_staff

    def has_module_perms(self, app_label) -> bool:
        return self.is_staff


class AccountQuerySet(models.QuerySet):
    """The one place that decides which accounts a user may see and edit."""

    def visible_to(self, user):
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.role == User.Role.ADMIN:
            return self
        if user.role == User.Role.MANAGER:
            return self.filter(owner__team__in=user.managed_teams.all())
        if user.team_id is None:
            return self.filter(owner=user)
        return self.filter(owner__team_id=user.team_id)

    def editable_by(self, user):
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.role == User.Role.CSM:
            return self.filter(owner=user)
        return self.visible_to(user)


ACTIVE_ACCOUNT_NEEDS_OWNER = "An active account needs a CSM."


class Account(models.Model):
    """A customer account. Its page (get_absolute_url) is set in settings.ABSOLUTE_URL_OVERRIDES."""

    class Segment(models.TextChoices):
        SMB = "smb", "SMB"
        MID_MARKET = "mid_market", "Mid-market"
        ENTERPRISE = "enterprise", "Enterprise"

    class Lifecycle(models.TextChoices):
        ONBOARDING = "onboarding", "Onboarding"
        ADOPTION = "adoption", "Adoption"
        EXPANSION = "expansion", "Expansion"
        RENEWAL = "renewal", "Renewal"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CHURNED = "churned", "Churned"

    name = models.CharField(max_length=200)
    external_id = models.CharField("CRM ID", max_length=100, unique=True, help_text="The account's ID in your CRM.")
    # PROTECT: deleting a user must not leave their accounts without an owner (see clean); deactivate
    # them instead, or give their accounts to someone else first.
    owner = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts", verbose_name="CSM"
    )
    segment = models.CharField(max_length=20, choices=Segment.choices, default=Segment.SMB)
    arr = models.DecimalField("ARR", max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)])
    renewal_date = models.DateField(null=True, blank=True, validators=[validate_date])
    lifecycle_stage = models.CharField(max_length=20, choices=Lifecycle.choices, default=Lifecycle.ONBOARDING)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    churned_on = models.DateField(null=True, blank=True, validators=[validate_date])
    churn_reason = models.CharField(max_length=300, blank=True)
    # The company it belongs to (renewals are often signed there). Any depth; accounts/hierarchy.py
    # reads a subtree in one recursive query and refuses cycles. PROTECT: a parent with children stays.
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        help_text="The parent company's account, if this one is part of a group.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["owner", "status"])]
        constraints = [
            models.CheckConstraint(condition=Q(arr__gte=0), name="account_arr_not_negative"),
            models.CheckConstraint(
                condition=Q(status="active", churned_on__isnull=True) | Q(status="churned", churned_on__isnull=False),
                name="account_churned_has_date",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        # Scope follows the owner's team: an active account without one is out of everyone's sight
        # but the admins'. Model forms run this (the app's and the Django admin's); imports check it too.
        errors = {}
        if self.status == self.Status.ACTIVE and self.owner_id is None:
            errors["owner"] = ACTIVE_ACCOUNT_NEEDS_OWNER
        # A cycle would make a subtree endless; the import checks a whole file the same way.
        from accounts.hierarchy import parent_problem  # it reads this model

        if problem := parent_problem(self):
            errors["parent"] = problem
        if errors:
            raise ValidationError(errors)

    def days_to_renewal(self, today: datetime.date | None = None) -> int | None:
        if self.renewal_date is None:
            return None
        return (self.renewal_date - (today or timezone.localdate())).days


class ArrChange(models.Model):
    """The account's ARR from a day on: its history, which GRR and NRR read (renewals/retention.py).

    Written by whatever changes `Account.arr` (the form, the import, a closed renewal), never edited.
    The ARR on a day is the last change on or before it; an account has none before its first.
    """

    class Source(models.TextChoices):
        START = "start", "Starting ARR"
        EDIT = "edit", "Changed mid-term"
        IMPORT = "import", "Imported"
        RENEWAL = "renewal", "Renewal closed"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="arr_changes", db_index=False)
    on = models.DateField(validators=[validate_date])
    arr = models.DecimalField("ARR", max_digits=14, decimal_places=2, validators=[MinValueValidator(0)])
    previous_arr = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["account", "on", "pk"]
        indexes = [models.Index(fields=["account", "on"], include=["arr"], name="arr_change_per_account")]
        constraints = [models.CheckConstraint(condition=Q(arr__gte=0), name="arr_change_not_negative")]

    def __str__(self):
        return f"{self.account_id}: ARR {self.arr} from {self.on}"


class ContactQuerySet(models.QuerySet):
    def active(self):
        """Contacts not archived: the ones lists show and campaigns may ask."""
        return self.filter(archived_at__isnull=True)


class Contact(models.Model):
    """A person at a customer. Removing one archives it: its invitations and answers are survey
    history, kept and counted everywhere (PROTECT below makes a silent delete impossible)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="contacts")
    name = models.CharField(max_length=200)
    email = models.EmailField()
    # The suppression key of `email` (accounts/email_address.py), kept in step by save() and by bulk writers.
    email_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    title = models.CharField(max_length=200, blank=True)
    is_primary = models.BooleanField("primary", default=False)
    opted_out_at = models.DateTimeField(null=True, blank=True, help_text="When the contact opted out of surveys.")
    bounced_at = models.DateTimeField(
        null=True, blank=True, help_text="When the mail server permanently refused this address."
    )
    archived_at = models.DateTimeField(null=True, blank=True, help_text="When the contact was removed (archived).")
    archived_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["-is_primary", "name"]
        constraints = [
            # Among the contacts in use: an archived contact's address may be added again.
            models.UniqueConstraint(
                fields=["account", "email"],
                condition=Q(archived_at__isnull=True),
                name="contact_email_unique_per_account",
            )
        ]

    def __str__(self):
        return f"{self.name} <{self.email}>"

    def save(self, *args, **kwargs):
        self.email_hash = address_hash(self.email)
        if kwargs.get("update_fields") is not None and "email" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "email_hash"}
        super().save(*args, **kwargs)

    @property
    def is_opted_out(self) -> bool:
        return self.opted_out_at is not None


class SuppressedAddress(models.Model):
    """An address no survey email may go to, on any account, whoever adds it again: the person
    opted out, the mail server refused it for good, or the person's data was erased.

    Keyed by the hash of the normalised address (accounts/email_address.py), never the address.
    Nothing in Pulse removes a row or clears a date: only the person could lift an opt-out.
    """

    address_hash = models.CharField(max_length=64, unique=True)
    opted_out_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "suppressed addresses"
        constraints = [
            models.CheckConstraint(
                condition=Q(opted_out_at__isnull=False) | Q(bounced_at__isnull=False) | Q(erased_at__isnull=False),
                name="suppressed_address_has_a_reason",
            )
        ]

    def __str__(self):
        return f"{self.address_hash[:12]}… ({self.reason})"

    @property
    def reason(self) -> str:
        if self.erased_at:
            return "erased"
        return "opted out" if self.opted_out_at else "bounced"


class ContactErasure(models.Model):
    """The record that a person's personal data was erased (GDPR): who did it and when."""

    contact = models.OneToOneField(Contact, on_delete=models.PROTECT, related_name="erasure")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    erased_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    erased_at = models.DateTimeField(default=timezone.now)
    comments_cleared = models.PositiveIntegerField(default=0, help_text="Survey comments emptied.")

    class Meta:
        ordering = ["-erased_at"]

    def __str__(self):
        return f"Contact #{self.contact_id} erased on {self.erased_at:%Y-%m-%d} by {self.erased_by}"


class CheckIn(models.Model):
    """A conversation with the customer, with the CSM's own read of how it went."""

    SENTIMENT_LABELS = {1: "Very negative", 2: "Negative", 3: "Neutral", 4: "Positive", 5: "Very positive"}

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="checkins")
    csm = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="checkins", verbose_name="CSM")
    date = models.DateField(default=timezone.localdate, validators=[validate_past_date])
    notes = models.TextField(blank=True)
    sentiment = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        choices=sorted(SENTIMENT_LABELS.items()),
        help_text="Your read of the customer's satisfaction and responsiveness, 1 (very negative) to 5.",
    )
    next_checkin_on = models.DateField("next check-in", null=True, blank=True, validators=[validate_date])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-created_at"]
        indexes = [models.Index(fields=["account", "-date"])]
        constraints = [
            models.CheckConstraint(condition=Q(sentiment__gte=1, sentiment__lte=5), name="checkin_sentiment_1_to_5")
        ]

    def __str__(self):
        return f"{self.account} on {self.date}"


class MetricDefinition(models.Model):
    """A time series the team tracks per account (product usage, support tickets, ...)."""

    key = models.SlugField(max_length=50, unique=True, help_text="Used in CSV files and the API, e.g. active_users.")
    label = models.CharField(max_length=100)
    unit = models.CharField(max_length=30, blank=True)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["label"]

    def __str__(self):
        return self.label


class MetricValue(models.Model):
    """One value of one metric for one account on one day; sending it again replaces it."""

    # No index of their own: the unique constraint leads with the account, the (metric, date) index
    # with the metric. The year of values a demo or an import writes maintains three indexes, not five.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="metric_values", db_index=False)
    metric = models.ForeignKey(MetricDefinition, on_delete=models.CASCADE, related_name="values", db_index=False)
    date = models.DateField(validators=[validate_date])
    value = models.FloatField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "metric", "date"], name="metric_value_unique_per_day")
        ]
        indexes = [
            models.Index(fields=["metric", "date"]),
            # One metric's values per account, newest first, from the index alone (health inputs).
            models.Index(fields=["metric", "account", "-date"], include=["value"], name="metric_value_per_account"),
        ]

    def __str__(self):
        return f"{self.metric.key}={self.value} for {self.account_id} on {self.date}"


class ApiToken(models.Model):
    """A bearer token for one integration. Only its SHA-256 is stored; the token is shown once."""

    name = models.CharField(max_length=100, help_text="Which integration uses it, e.g. 'Product analytics sync'.")
    prefix = models.CharField(max_length=12, help_text="The first characters, to recognise the token.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def creator_lost_access(self) -> bool:
        """The admin who created it is deactivated, gone or no longer an admin: the API refuses it."""
        return self.created_by is None or not (self.created_by.is_active and self.created_by.is_admin)


class ImportJob(models.Model):
    """An uploaded CSV file and what became of it: validated whole, then imported in one transaction."""

    # A rejected file may have a problem on every row: the page lists this many, the CSV has them all.
    ERRORS_SHOWN = 100

    class Kind(models.TextChoices):
        ACCOUNTS = "accounts", "Accounts and contacts"
        METRICS = "metrics", "Metric values"
        ANSWERS = "answers", "Past survey answers"
        RENEWALS = "renewals", "Renewal history"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Running"
        DONE = "done", "Imported"
        FAILED = "failed", "Rejected"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    files = models.JSONField(help_text="{'accounts': text, 'contacts': text} or {'metrics': text}.")
    filenames = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    errors = models.JSONField(
        default=list, blank=True, help_text="The first ERRORS_SHOWN of [{'file', 'line', 'message'}] when rejected."
    )
    error_count = models.PositiveIntegerField(default=0, help_text="How many problems the rejected files had.")
    errors_csv = models.TextField(blank=True, help_text="Every problem as CSV (file, line, message), to download.")
    result = models.JSONField(default=dict, blank=True, help_text="Counts created / updated when imported.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_kind_display()} import #{self.pk}"

    def get_absolute_url(self):
        return reverse("accounts:import_detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def problem_count(self) -> int:
        """Every problem found, of which `errors` holds the first ERRORS_SHOWN (jobs from before the count: all)."""
        return max(self.error_count, len(self.errors))

    @property
    def result_lines(self) -> list[tuple[int, str]]:
        """[(3, "accounts created"), ...] for the result page."""
        return [(count, label.replace("_", " ")) for label, count in self.result.items()]

    @property
    def percent(self) -> int:
        if self.is_finished:
            return 100
        return int(100 * self.rows_done / self.rows_total) if self.rows_total else 0


class Notification(models.Model):
    """An in-app alert for one user. `key` names the event, so the same event never alerts twice."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    key = models.CharField(max_length=120, help_text="e.g. 'detractor:1234': one notification per event.")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # The email that goes with it, kept until the mail server takes it (accounts/notification_emails.py):
    # a failed send is retried by a sweep, a bounded number of times, and the last error stays here.
    email_subject = models.CharField(max_length=200, blank=True, help_text="Empty: no email for this one.")
    email_body = models.TextField(blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_tried_at = models.DateTimeField(null=True, blank=True)
    email_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="notification_once_per_event")]
        indexes = [
            # The retry sweep reads only the unsent emails, a handful among all notifications.
            models.Index(
                fields=["email_tried_at"],
                name="notification_email_unsent",
                condition=models.Q(emailed_at__isnull=True) & ~models.Q(email_subject=""),
            )
        ]

    def __str__(self):
        return self.title

    @property
    def link(self) -> str:
        """The URL to open, only when it is a path in Pulse: `url` is editable in the Django admin,
        and a notification's link must never run script (javascript:) or lead off the site."""
        return self.url if url_has_allowed_host_and_scheme(self.url, allowed_hosts=None) else ""


class LoginSession(models.Model):
    """Which session a login opened, so ending a user's sessions is one DELETE (the session table
    stores the user only inside its encoded data)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Session of {self.user_id}"


class AuditEntry(models.Model):
    """One change to people or teams (or the company name): who made it, when, and what it was before and after."""

    class Action(models.TextChoices):
        INVITED = "invited", "Invited"
        INVITE_RESENT = "invite_resent", "Invitation sent again"
        CHANGED = "changed", "Changed"
        DEACTIVATED = "deactivated", "Deactivated"
        REACTIVATED = "reactivated", "Reactivated"
        ACCOUNTS_REASSIGNED = "accounts_reassigned", "Accounts reassigned"
        TEAM_CREATED = "team_created", "Team created"
        TEAM_RENAMED = "team_renamed", "Team renamed"
        TEAM_ARCHIVED = "team_archived", "Team archived"
        TEAM_RESTORED = "team_restored", "Team restored"
        COMPANY_RENAMED = "company_renamed", "Company name changed"

    actor = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=30, choices=Action.choices)
    # SET_NULL: deleting someone in the Django admin keeps the record of what was done (the summary names them).
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries")
    summary = models.CharField(max_length=500, help_text="What changed, in words.")
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "audit entries"

    def __str__(self):
        return f"{self.get_action_display()} by {self.actor} on {self.created_at:%Y-%m-%d %H:%M}"


class CompanySettings(models.Model):
    """The one row of settings admins edit in the app; an empty field falls back to its environment default."""

    company_name = models.CharField(
        max_length=100, blank=True, help_text="The company surveys ask about, e.g. 'How likely are you to recommend …'."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "company settings"

    def __str__(self):
        return self.company_name or "Company settings"
