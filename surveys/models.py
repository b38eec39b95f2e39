"""Surveys (NPS, CSAT, CES), campaigns that send them, invitations and the answers."""

import datetime
import functools
import operator
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, F, Q, Value, When, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone

from accounts.company import company_name
from accounts.models import Account, Contact, User
from accounts.validators import validate_date
from surveys import formulas


class Kind(models.TextChoices):
    NPS = "nps", "NPS"
    CSAT = "csat", "CSAT"
    CES = "ces", "CES"


# Per kind: the scale, the words at both ends, and the default wording (PRODUCT.md).
SCALES = {
    Kind.NPS: (0, 10, "Not at all likely", "Extremely likely"),
    Kind.CSAT: (1, 5, "Very unsatisfied", "Very satisfied"),
    Kind.CES: (1, 7, "Strongly disagree", "Strongly agree"),
}
DEFAULT_QUESTIONS = {
    Kind.NPS: "How likely are you to recommend {company} to a friend or colleague?",
    Kind.CSAT: "How would you rate your experience with {company}?",
    Kind.CES: "{company} made it easy for me to handle my issue.",
}
DEFAULT_FOLLOW_UP = "What is the main reason for your score?"

# The answers that alert the account owner: each kind's negative category (NPS detractors, CSAT 1-2, CES 1-3).
ALERT_AT_OR_BELOW = {
    Kind.NPS: formulas.DETRACTOR_MAX,
    Kind.CSAT: formulas.CSAT_UNSATISFIED_MAX,
    Kind.CES: formulas.CES_DISAGREE_MAX,
}


class Survey(models.Model):
    kind = models.CharField(max_length=4, choices=Kind.choices)
    name = models.CharField(max_length=120)
    question = models.CharField(
        max_length=300,
        help_text="{company} is replaced by the company name (Setup → Company).",
    )
    follow_up_question = models.CharField(
        max_length=300, blank=True, default=DEFAULT_FOLLOW_UP, help_text="Optional open question after the score."
    )
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self):
        return self.name

    @property
    def scale(self) -> range:
        low, high, _, _ = SCALES[self.kind]
        return range(low, high + 1)

    @property
    def scale_labels(self) -> tuple[str, str]:
        return SCALES[self.kind][2], SCALES[self.kind][3]

    @property
    def question_text(self) -> str:
        return self.question_about(company_name())

    def question_about(self, company: str) -> str:
        return self.question.replace("{company}", company)


class Campaign(models.Model):
    class Audience(models.TextChoices):
        ALL = "all", "All accounts"
        SEGMENT = "segment", "A segment"
        OWNER = "owner", "One CSM's accounts"
        ACCOUNTS = "accounts", "Picked accounts"

    class Recipients(models.TextChoices):
        PRIMARY = "primary", "Primary contacts"
        ALL = "all", "All contacts"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"

    name = models.CharField(max_length=150)
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="campaigns")
    audience = models.CharField(max_length=10, choices=Audience.choices, default=Audience.ALL)
    segment = models.CharField(max_length=20, choices=Account.Segment.choices, blank=True)
    owner = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    accounts = models.ManyToManyField(Account, blank=True, related_name="+")
    recipients = models.CharField(max_length=10, choices=Recipients.choices, default=Recipients.PRIMARY)
    scheduled_at = models.DateTimeField(
        null=True, blank=True, validators=[validate_date], help_text="Empty: send as soon as you press send."
    )
    reminder_after_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Remind those who have not answered after this many days (empty: no reminder)."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # When its pending invitations were last queued as batches (none yet: its task never ran).
    dispatched_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    reminders_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("surveys:campaign_detail", args=[self.pk])

    def clean(self):
        from surveys.reminders import reminder_delay_refusal  # it reads the link expiry, whose module imports this

        if refusal := reminder_delay_refusal(self.reminder_after_days):
            raise ValidationError({"reminder_after_days": refusal})


def new_token() -> str:
    """192 random bits, URL-safe: unguessable, and the only key to an invitation."""
    return secrets.token_urlsafe(24)


class Invitation(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        # The email was handed to the mail server, and its sender died (or lost its claim) before the
        # server's answer was recorded: it may have arrived. Never sent again automatically.
        UNCERTAIN = "uncertain", "Delivery uncertain"
        RESPONDED = "responded", "Answered"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    # Handed to the mail server (confirmed or not): the link may be in the contact's inbox, so it
    # answers, counts as sent in response rates and quiet periods, and is reminded.
    WENT_OUT = (Status.SENT, Status.UNCERTAIN, Status.RESPONDED)

    # Survey history is never deleted along with something else (archive a contact instead).
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="invitations")
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="invitations")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="invitations")
    token = models.CharField(max_length=64, unique=True, default=new_token)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The sender holding the claim (one token per claimed chunk), and when it began the SMTP
    # transaction for this invitation: both committed before the server is spoken to, so every
    # later change can be made on condition that the same sender still holds the claim.
    claim_token = models.CharField(max_length=32, blank=True)
    send_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The reminder is fenced like the first send (surveys/reminders.py): its attempt is recorded before
    # the server is spoken to, reminded_at when the server accepted it (or the attempt never came
    # back), reminder_given_up_at when it was refused for good or ran out of attempts (last_error says why).
    reminded_at = models.DateTimeField(null=True, blank=True)
    reminder_started_at = models.DateTimeField(null=True, blank=True)
    reminder_attempts = models.PositiveSmallIntegerField(default=0)
    reminder_given_up_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "contact"], name="invitation_once_per_campaign")]
        indexes = [
            models.Index(fields=["campaign", "status"]),
            models.Index(fields=["contact", "sent_at"]),
            models.Index(fields=["account", "sent_at"]),
            # The recovery sweep's claims in flight: a handful of rows, found without a scan.
            models.Index(fields=["claimed_at"], condition=Q(status="sending"), name="invitation_in_flight"),
            # The reminder run: invitations not reminded yet by when they were sent, and attempts in flight.
            models.Index(
                fields=["sent_at"],
                condition=Q(reminded_at__isnull=True, reminder_given_up_at__isnull=True),
                name="invitation_reminder_due",
            ),
            models.Index(
                fields=["reminder_started_at"],
                condition=Q(reminded_at__isnull=True, reminder_started_at__isnull=False),
                name="invitation_reminder_in_flight",
            ),
        ]

    def __str__(self):
        return f"{self.campaign} → {self.contact}"

    @property
    def answer_url(self) -> str:
        return settings.SITE_URL + reverse("surveys:answer", args=[self.token])

    @property
    def opt_out_url(self) -> str:
        return settings.SITE_URL + reverse("surveys:opt_out", args=[self.token])


LOW_SCORES = list(ALERT_AT_OR_BELOW.items())  # (kind, highest low score): the partial index's condition


class ResponseQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Answers of the accounts the user may see (the one scope rule lives on AccountQuerySet)."""
        return self.filter(account__in=Account.objects.visible_to(user))

    def latest_per_respondent(self):
        """Each respondent's latest answer among these: the survey inputs of health and the portfolio.

        A respondent is a contact of an account; an answer without a contact (imported history
        that names only the account) is its own respondent, as Results counts it. Two answers of
        one contact at the same moment (imports stamp a day's answers at noon) go to the later
        record, the higher id, which for one import is the later row of its file. The ranking
        reads the response_kind_latest index in its order.
        """
        newest_first = [F("answered_at").desc(), F("pk").desc()]
        rank = Window(RowNumber(), partition_by=[F("account_id"), F("contact_id")], order_by=newest_first)
        return (
            self.annotate(respondent_rank=Case(When(contact__isnull=True, then=Value(1)), default=rank))
            .filter(respondent_rank=1)
            .order_by()  # no sort by the model's ordering: the rows are only grouped
        )


# The feedback statuses still waiting to be closed: replied is answered, but not yet handled.
OPEN_FEEDBACK = ["new", "acknowledged", "replied"]


class Response(models.Model):
    """One answer per invitation. The contact may change it for a while, then it locks."""

    EDITABLE_FOR = datetime.timedelta(days=7)

    class FeedbackStatus(models.TextChoices):
        NEW = "new", "New"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        # The respondent has had an email reply (FeedbackReply); still open until closed with an outcome.
        REPLIED = "replied", "Replied"
        CLOSED = "closed", "Closed"

    # Answers imported from another tool have no invitation, and may name only the account.
    invitation = models.OneToOneField(
        Invitation, null=True, blank=True, on_delete=models.PROTECT, related_name="response"
    )
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="responses")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.PROTECT, related_name="responses")
    import_key = models.CharField(
        max_length=200, null=True, blank=True, unique=True, help_text="Identity of an imported answer, for re-imports."
    )
    kind = models.CharField(max_length=4, choices=Kind.choices)
    score = models.SmallIntegerField()
    comment = models.TextField(blank=True)
    answered_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    feedback_status = models.CharField(max_length=12, choices=FeedbackStatus.choices, default=FeedbackStatus.NEW)
    assignee = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback")
    internal_note = models.TextField(blank=True)
    feedback_changed_at = models.DateTimeField(null=True, blank=True)
    # Set in the same transaction as a new or changed answer, cleared once its follow-up work
    # (owner alert, health recompute) has run: with the broker down, the answer and this mark
    # are still stored, and the sweep does the work once it is back. The database default lets
    # writers that name no value (bulk SQL, code from before the column) insert answers too.
    follow_up_due = models.BooleanField(default=False, db_default=False, editable=False)

    objects = ResponseQuerySet.as_manager()

    class Meta:
        ordering = ["-answered_at"]
        indexes = [
            models.Index(fields=["kind", "answered_at"]),
            models.Index(fields=["account", "kind", "answered_at"]),
            # Each respondent's latest answer of a kind (health inputs, the portfolio's NPS), read from
            # the index alone and already in order, ties by id included (latest_per_respondent).
            # `include` is used on PostgreSQL and ignored elsewhere.
            models.Index(
                fields=["kind", "account", "contact", "-answered_at", "-id"],
                include=["score"],
                name="response_kind_latest",
            ),
            # Answers of a period counted by account, kind and score (the team rollup), from the index alone.
            models.Index(fields=["answered_at"], include=["account", "kind", "score"], name="response_answered_cover"),
            models.Index(fields=["feedback_status", "answered_at"]),
            # Open feedback per account (the portfolio's counts and its unanswered comments): a few
            # percent of the answers, so a small index instead of every answer of the accounts.
            models.Index(
                fields=["account", "-answered_at"],
                condition=Q(feedback_status__in=OPEN_FEEDBACK) & ~Q(comment=""),
                name="response_open_feedback",
            ),
            models.Index(fields=["updated_at"], condition=Q(follow_up_due=True), name="response_follow_up_due"),
            # The period's low scores that can be replied to (the rollup's reply times): a few percent of
            # the answers. The condition is written as low_score_q() writes it, so PostgreSQL matches it.
            models.Index(
                fields=["answered_at"],
                include=["account", "contact"],
                condition=(
                    functools.reduce(
                        operator.or_, (Q(kind=kind, score__lte=top) for kind, top in ALERT_AT_OR_BELOW.items())
                    )
                    & Q(contact__isnull=False)
                    & ~Q(comment="")
                ),
                name="response_low_comment",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="nps", score__gte=0, score__lte=10)
                | Q(kind="csat", score__gte=1, score__lte=5)
                | Q(kind="ces", score__gte=1, score__lte=7),
                name="response_score_on_scale",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.score} from {self.contact_id}"

    @property
    def locks_at(self) -> datetime.datetime:
        return self.answered_at + self.EDITABLE_FOR

    @property
    def is_locked(self) -> bool:
        return timezone.now() >= self.locks_at

    @property
    def category(self) -> str:
        """promoter / passive / detractor for NPS; positive / neutral / negative for CSAT and CES."""
        from surveys.formulas import category

        return category(self.kind, self.score)

    @property
    def alerts_owner(self) -> bool:
        return self.score <= ALERT_AT_OR_BELOW[self.kind]


class ReplyTemplate(models.Model):
    """The text a reply to a survey comment starts from, one per survey kind and tone (low score or not).

    Placeholders in {braces} (PLACEHOLDERS) are filled in when the reply form opens; the CSM edits the
    result before sending.
    """

    class Tone(models.TextChoices):
        LOW = "low", "Low score"
        OTHER = "other", "Other scores"

    PLACEHOLDERS = ("contact_name", "account_name", "csm_name", "score")

    kind = models.CharField(max_length=4, choices=Kind.choices)
    tone = models.CharField(max_length=5, choices=Tone.choices)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "tone"]
        constraints = [models.UniqueConstraint(fields=["kind", "tone"], name="reply_template_once_per_kind_tone")]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.get_tone_display()}"


class FeedbackReply(models.Model):
    """An email reply to a survey comment, written by a CSM: kept as sent, and sent (and retried) by
    surveys/replies.py. `sent_at` is when the mail server took it; the first one is the answer's
    time to reply in the rollup."""

    MAX_ATTEMPTS = 5

    response = models.ForeignKey(Response, on_delete=models.PROTECT, related_name="replies")
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    to = models.EmailField()
    reply_to = models.EmailField()
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    tried_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "feedback replies"
        indexes = [
            models.Index(fields=["response", "sent_at"]),
            # The retry sweep reads only the unsent replies, a handful among all.
            models.Index(fields=["tried_at"], condition=Q(sent_at__isnull=True), name="feedback_reply_unsent"),
        ]

    def __str__(self):
        return f"Reply to {self.response_id} by {self.author_id}"

    @property
    def state(self) -> str:
        """sent (the mail server took it), failed (no attempts left: `error` says why) or sending."""
        if self.sent_at is not None:
            return "sent"
        return "failed" if self.attempts >= self.MAX_ATTEMPTS else "sending"
