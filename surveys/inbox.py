"""The feedback inbox: the comments a user may see, filtered, and how long the open ones have waited."""

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import Account, Team, User
from surveys.models import ALERT_AT_OR_BELOW, Response

Status = Response.FeedbackStatus
OPEN = "open"
STATUS_FILTERS = {
    OPEN: [Status.NEW, Status.ACKNOWLEDGED],
    Status.NEW: [Status.NEW],
    Status.ACKNOWLEDGED: [Status.ACKNOWLEDGED],
    Status.CLOSED: [Status.CLOSED],
    "all": None,
}
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
    """Days an open comment may wait before it is flagged overdue."""
    return getattr(settings, "FEEDBACK_SLA_DAYS", 3)


def low_score_q() -> Q:
    """The answers that alert the owner (NPS detractors, low CSAT and CES), as one SQL condition."""
    condition = Q()
    for kind, at_or_below in ALERT_AT_OR_BELOW.items():
        condition |= Q(kind=kind, score__lte=at_or_below)
    return condition


def inbox_comments(
    *,
    user: User,
    status: str = OPEN,
    kind: str = "",
    low_only: bool = False,
    team: Team | None = None,
    owner: User | None = None,
    assigned_to: User | None = None,
):
    """Answers with a comment that the user may see, newest first, each with `can_edit`; one query."""
    comments = (
        Response.objects.visible_to(user)
        .exclude(comment="")
        .select_related("account__owner", "contact", "assignee")
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
    return comments.order_by("-answered_at", "-pk")


def teams_in_scope(user: User):
    """The teams whose accounts this user can see, for the team filter."""
    if user.role == User.Role.ADMIN:
        return Team.objects.all()
    if user.role == User.Role.MANAGER:
        return user.managed_teams.all()
    return Team.objects.filter(pk=user.team_id)


def inbox_annotate(comments: Iterable[Response], *, now: datetime.datetime | None = None) -> None:
    """Set on each answer of a page `age_days` (calendar days since the answer), `is_overdue`
    (not closed and older than the SLA) and `tone_label` (Detractor, Low, High...)."""
    today = timezone.localdate(now or timezone.now())
    limit = sla_days()
    for response in comments:
        response.age_days = max((today - timezone.localdate(response.answered_at)).days, 0)
        response.is_overdue = response.feedback_status != Status.CLOSED and response.age_days > limit
        response.tone_label = TONE_LABELS[response.category]
