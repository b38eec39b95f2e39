"""The feedback inbox: the comments a user may see, filtered, sorted by need, and which are overdue.

What needs a reply first: low scores (the owner's alert thresholds, ALERT_AT_OR_BELOW) wait at most
FEEDBACK_SLA_DAYS until closed; other criticism waits at most FEEDBACK_SLA_DAYS until acknowledged or
replied to; praise waits FEEDBACK_PRAISE_SLA_DAYS likewise (0: praise is never overdue).
"""

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.db.models import Case, Exists, F, OuterRef, Prefetch, Q, Value, When
from django.utils import timezone

from accounts.models import Account, Team, User
from surveys.models import ALERT_AT_OR_BELOW, OPEN_FEEDBACK, FeedbackReply, Response

Status = Response.FeedbackStatus
OPEN = "open"
STATUS_FILTERS = {
    OPEN: OPEN_FEEDBACK,
    Status.NEW: [Status.NEW],
    Status.ACKNOWLEDGED: [Status.ACKNOWLEDGED],
    Status.REPLIED: [Status.REPLIED],
    Status.CLOSED: [Status.CLOSED],
    "all": None,
}
# The categories that count as praise (NPS promoters, high CSAT and CES).
POSITIVE = {"promoter", "positive"}
# How a score reads: NPS has its own words; CSAT and CES are low / neutral / high.
TONE_LABELS = {
    "detractor": "Detractor",
    "passive": "Passive",
    "promoter": "Promoter",
    "negative": "Low",
    "neutral": "Neutral",
    "positive": "High",
}


def sla_days() -> int:
    """Days a low score (until closed) or other criticism (until acknowledged) may wait before it is overdue."""
    return getattr(settings, "FEEDBACK_SLA_DAYS", 3)


def praise_sla_days() -> int:
    """Days praise may wait for an acknowledgement before it is overdue; 0: never overdue."""
    return getattr(settings, "FEEDBACK_PRAISE_SLA_DAYS", 14)


def sla_days_for(response: Response) -> int | None:
    """How many days this answer may wait in its current status; None: it is not waiting for a reply."""
    if response.feedback_status == Status.CLOSED:
        return None
    if response.alerts_owner:
        return sla_days()
    if response.feedback_status != Status.NEW:
        return None  # acknowledged criticism or praise: the customer has had their reply
    if response.category in POSITIVE:
        return praise_sla_days() or None
    return sla_days()


def low_score_q() -> Q:
    """The answers that alert the owner (NPS detractors, low CSAT and CES), as one SQL condition."""
    condition = Q()
    for kind, at_or_below in ALERT_AT_OR_BELOW.items():
        condition |= Q(kind=kind, score__lte=at_or_below)
    return condition


def feedback_comments(
    *,
    user: User,
    status: str = OPEN,
    kind: str = "",
    low_only: bool = False,
    team: Team | None = None,
    owner: User | None = None,
    assigned_to: User | None = None,
):
    """Answers with a comment that the user may see, by need, each with `can_edit` and its `reply_list`
    (oldest first); one query, and one more for the replies of the rows read.

    Open low scores first, then the other open comments, each group oldest first (the longest wait on
    top); closed comments last, newest first.
    """
    comments = (
        Response.objects.visible_to(user)
        .exclude(comment="")
        .select_related("account__owner", "contact", "assignee")
        .prefetch_related(
            Prefetch(
                "replies",
                queryset=FeedbackReply.objects.select_related("author").order_by("created_at", "pk"),
                to_attr="reply_list",
            )
        )
        # Whether this user may work the item, for every row at once (same rule as the account pages).
        .annotate(can_edit=Exists(Account.objects.editable_by(user).filter(pk=OuterRef("account_id"))))
    )
    statuses = STATUS_FILTERS.get(status, STATUS_FILTERS[OPEN])
    if statuses is not None:
        comments = comments.filter(feedback_status__in=statuses)
    if kind:
        comments = comments.filter(kind=kind)
    if low_only:
        comments = comments.filter(low_score_q())
    if team is not None:
        comments = comments.filter(account__owner__team=team)
    if owner is not None:
        comments = comments.filter(account__owner=owner)
    if assigned_to is not None:
        comments = comments.filter(assignee=assigned_to)
    is_open = Q(feedback_status__in=STATUS_FILTERS[OPEN])
    return comments.annotate(
        need=Case(When(is_open & low_score_q(), then=Value(0)), When(is_open, then=Value(1)), default=Value(2)),
        open_since=Case(When(is_open, then=F("answered_at"))),
    ).order_by("need", F("open_since").asc(nulls_last=True), "-answered_at", "pk")


def teams_in_scope(user: User):
    """The teams whose accounts this user can see, for the team filter."""
    if user.role == User.Role.ADMIN:
        return Team.objects.all()
    if user.role == User.Role.MANAGER:
        return user.managed_teams.all()
    return Team.objects.filter(pk=user.team_id)


def feedback_annotate(comments: Iterable[Response], *, now: datetime.datetime | None = None) -> None:
    """Set on each answer of a page `age_days` (calendar days since the answer), `is_overdue`
    (older than `sla_days`, the SLA of its kind and status: `sla_days_for`) and `tone_label`
    (Detractor, Low, High...)."""
    today = timezone.localdate(now or timezone.now())
    for response in comments:
        response.age_days = max((today - timezone.localdate(response.answered_at)).days, 0)
        response.sla_days = sla_days_for(response)
        response.is_overdue = response.sla_days is not None and response.age_days > response.sla_days
        response.tone_label = TONE_LABELS[response.category]


EXCERPT_CHARS = 200


def replies_for_account(
    account: Account, *, before: datetime.datetime | None = None, limit: int = 50
) -> list[FeedbackReply]:
    """The replies to this account's survey comments, newest first, `limit` at most, created before
    `before` when given (the next page of a feed); one query.

    Each has `author`, `created_at`, `sent_at` and `state` (sent, sending, failed), `subject`,
    `excerpt` (the start of the body), and `response` with its `kind`, `score` and `category`.
    Scope is the caller's: read it only for an account the user may see.
    """
    replies = FeedbackReply.objects.filter(response__account=account).select_related("author", "response")
    if before is not None:
        replies = replies.filter(created_at__lt=before)
    found = list(replies.order_by("-created_at", "-pk")[:limit])
    for reply in found:
        body = " ".join(reply.body.split())
        reply.excerpt = body if len(body) <= EXCERPT_CHARS else body[: EXCERPT_CHARS - 1].rstrip() + "…"
    return found
