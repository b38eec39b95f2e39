"""The account timeline: one chronological feed of what happened on an account, newest first.

Each source reads at most one page of its own rows before the cursor (one query each), the
sources are merged by time and cut to a page; the last item's time is the next page's cursor.
So a page costs one query per source, whatever the length of the history. A source is a
function (account, before, limit) -> [Item]; SOURCES lists them.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from accounts.models import Account, CheckIn, Contact, Notification
from core.dates import day_start, short_date
from core.numbers import whole
from playbooks.models import TaskEvent
from scoring.models import Band, HealthSnapshot, Override
from surveys.models import Invitation, Response
from surveys.selectors.feedback import replies_for_account

PAGE = 25


@dataclass
class Item:
    at: datetime.datetime
    kind: str  # checkin, answer, reply, task, band, alert, override, contact, invitation: for the styles
    title: str
    body: str = ""
    who: str = ""
    tone: str = ""  # a CSS modifier: the band, the answer's category, a task's action
    date_only: bool = False  # a check-in or a day's band: the day, not the hour


def _noon(day: datetime.date) -> datetime.datetime:
    return day_start(day) + datetime.timedelta(hours=12)


def _checkins(account: Account, before: datetime.datetime, limit: int) -> list[Item]:
    rows = CheckIn.objects.filter(account=account, date__lt=timezone.localdate(before) + datetime.timedelta(days=1))
    items = []
    for checkin in rows.select_related("csm").order_by("-date", "-created_at")[: limit + 1]:
        at = _noon(checkin.date)
        if at < before:
            items.append(Item(at, "checkin", f"Check-in: {checkin.get_sentiment_display()}", checkin.notes,
                              str(checkin.csm or ""), f"sentiment-{checkin.sentiment}", date_only=True))  # fmt: skip
    return items[:limit]


def _answers(account: Account, before: datetime.datetime, limit: int) -> list[Item]:
    rows = Response.objects.filter(account=account, answered_at__lt=before).select_related("contact")
    return [
        Item(
            answer.answered_at,
            "answer",
            f"{answer.get_kind_display()} {answer.score}",
            answer.comment,
            answer.contact.name if answer.contact else "",
            f"cat-{answer.category}",
        )  # fmt: skip
        for answer in rows.order_by("-answered_at", "-pk")[:limit]
    ]


def _replies(account: Account, before: datetime.datetime, limit: int) -> list[Item]:
    """Replies to the account's survey comments (the feedback inbox's), sent or still on their way."""
    items = []
    for reply in replies_for_account(account, before=before, limit=limit):
        answer = reply.response
        state = {"sent": "", "sending": " (sending)", "failed": " (not sent)"}[reply.state]
        title = f"Reply to {answer.get_kind_display()} {answer.score}: {reply.subject}{state}"
        items.append(
            Item(reply.created_at, "reply", title, reply.excerpt, str(reply.author or ""), f"cat-{answer.category}")
        )
    return items


TASK_WORDS = {
    TaskEvent.Action.CREATED: "Task created",
    TaskEvent.Action.DONE: "Task done",
    TaskEvent.Action.SNOOZED: "Task snoozed",
    TaskEvent.Action.REASSIGNED: "Task reassigned",
    TaskEvent.Action.CANCELLED: "Task cancelled",
    TaskEvent.Action.REOPENED: "Task reopened",
}


def _tasks(account: Account, before: datetime.datetime, limit: int) -> list[Item]:
    rows = TaskEvent.objects.filter(account=account, at__lt=before).select_related("task__rule", "actor")
    items = []
    for event in rows.order_by("-at", "-pk")[:limit]:
        task = event.task
        who = str(event.actor) if event.actor else (f"rule “{task.rule.name}”" if task.rule else "")
        body = event.note if event.action != TaskEvent.Action.CREATED else task.reason
        items.append(Item(event.at, "task", f"{TASK_WORDS[event.action]}: {task.title}", body, who, event.action))
    return items


def _band_changes(account: Account, before: datetime.datetime, limit: int) -> list[Item]:
    """Days the computed band changed: one query over the snapshots before the cursor's day, newest first.

    A change is only known once the day before is read too, so the read goes one row further.
    """
    day = timezone.localdate(before)
    rows = list(
        HealthSnapshot.objects.filter(account=account, date__lte=day)
        .order_by("-date")
        .values_list("date", "band", "score")[:400]
    )
    items = []
    for (date, band, score), (_, earlier_band, _) in zip(rows, rows[1:], strict=False):
        at = _noon(date)
        if band != earlier_band and at < before:
            was, now = Band(earlier_band).label, Band(band).label
            text = f"{was} → {now}" + ("" if score is None else f" (health {whole(score)})")
            items.append(Item(at, "band", f"Health band: {text}", tone=band, date_only=True))
            if len(items) == limit:
                break
    return items


def _alerts(account: Account, before: datetime.datetime, limit: int) -> list[Item]:
    """Alerts point at the account page; several people's copies of one event count once."""
    rows = Notification.objects.filter(url=account.get_absolute_url(), created_at__lt=before)
    items, keys = [], set()
    for notification in rows.order_by("-created_at", "-pk")[: limit * 2]:
        if notification.key not in keys:
            keys.add(notification.key)
            items.append(Item(notification.created_at, "alert", notification.title, notification.body))
    return items[:limit]


def _overrides(account: Account, before: datetime.datetime, limit: int) -> list[Item]:
    items = []
    rows = Override.objects.filter(account=account, created_at__lt=before).select_related("created_by", "cleared_by")
    for override in rows.order_by("-created_at", "-pk")[:limit]:
        to = override.get_band_display() if override.band else f"score {whole(override.score)}"
        title = f"Health overridden to {to} until {short_date(override.expires_on)}"
        items.append(Item(override.created_at, "override", title, override.reason, str(override.created_by or ""),
                          override.band))  # fmt: skip
        if override.cleared_at and override.cleared_at < before:
            items.append(Item(override.cleared_at, "override", "Override cleared", "", str(override.cleared_by or "")))
    return items


def _contacts(account: Account, before: datetime.datetime, limit: int) -> list[Item]:
    """Contacts added, archived, opted out or bounced: one query over the account's contacts (a few dozen)."""
    items = []
    for contact in Contact.objects.filter(account=account, created_at__lt=before).order_by("-created_at"):
        role = " (primary)" if contact.is_primary else ""
        changes = [
            (contact.created_at, f"Contact added: {contact.name}{role}", contact.title),
            (contact.archived_at, f"Contact archived: {contact.name}{role}", ""),
            (contact.opted_out_at, f"Contact opted out of surveys: {contact.name}{role}", ""),
            (contact.bounced_at, f"Contact's email bounced: {contact.name}{role}", contact.email),
        ]
        items += [Item(at, "contact", title, body) for at, title, body in changes if at is not None and at < before]
    items.sort(key=lambda item: item.at, reverse=True)
    return items[:limit]


def _invitations(account: Account, before: datetime.datetime, limit: int) -> list[Item]:
    rows = Invitation.objects.filter(account=account, sent_at__lt=before).select_related("campaign", "contact")
    return [
        Item(invitation.sent_at, "invitation", f"Survey sent: {invitation.campaign.name}", "", invitation.contact.name)
        for invitation in rows.order_by("-sent_at", "-pk")[:limit]
    ]


# Each filter of the feed and the sources it reads ("" reads them all).
FILTERS = {
    "checkin": ("Check-ins", [_checkins]),
    "answer": ("Answers and replies", [_answers, _replies]),
    "task": ("Tasks", [_tasks]),
    "health": ("Health, alerts and overrides", [_band_changes, _alerts, _overrides]),
    "contact": ("Contacts", [_contacts]),
    "invitation": ("Surveys sent", [_invitations]),
}
SOURCES: list[Callable[[Account, datetime.datetime, int], list[Item]]] = [
    source for _, sources in FILTERS.values() for source in sources
]


@dataclass
class TimelinePage:
    items: list[Item]
    next_before: datetime.datetime | None  # the cursor of the next (older) page; None at the start of history


def timeline_page(
    *, account: Account, before: datetime.datetime | None = None, kind: str = "", limit: int = PAGE
) -> TimelinePage:
    """Up to `limit` items strictly before `before` (now by default), newest first, of one filter's sources
    (`kind`, a key of FILTERS) or of all; one query per source."""
    before = before or timezone.now()
    sources = FILTERS[kind][1] if kind in FILTERS else SOURCES
    items = [item for source in sources for item in source(account, before, limit + 1)]
    items.sort(key=lambda item: item.at, reverse=True)
    more = len(items) > limit
    if more:
        # The next page starts strictly before the last item shown: the items sharing its time (check-ins
        # and band changes are set at noon of their day) all go on this page, so none is skipped.
        last = items[limit - 1].at
        items = [item for item in items if item.at >= last]
    return TimelinePage(items=items, next_before=items[-1].at if more and items else None)
