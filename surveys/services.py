"""Campaigns: who is asked, starting and finishing a send, reminders.

An invitation goes pending → sending → sent → responded, or failed / skipped, or uncertain when
its sender stopped between handing the email over and recording the answer (surveys/sending.py
sends each email at most once).
"""

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, Contact, User
from accounts.selectors import people_in_scope
from accounts.validators import one_line
from surveys.audience import Reason, contact_reasons
from surveys.models import Campaign, FeedbackReply, Invitation, Response
from surveys.replies import reply_refusal
from surveys.sending import (
    campaigns_stalled,
    expired_claims_recover,
    invitation_batch_send,
    released_batches,
)
from surveys.tasks import campaign_send_task, feedback_reply_send_task, invitation_batch_send_task
from webhooks.models import EventType
from webhooks.outbox import events_record

logger = logging.getLogger(__name__)


class CampaignError(Exception):
    """A campaign action that is not possible now; the message says why."""


def campaign_accounts(campaign: Campaign) -> QuerySet:
    accounts = Account.objects.filter(status=Account.Status.ACTIVE)
    if campaign.audience == Campaign.Audience.SEGMENT:
        return accounts.filter(segment=campaign.segment)
    if campaign.audience == Campaign.Audience.OWNER:
        return accounts.filter(owner=campaign.owner)
    if campaign.audience == Campaign.Audience.ACCOUNTS:
        return accounts.filter(pk__in=campaign.accounts.values("pk"))
    return accounts


def campaign_contacts(campaign: Campaign) -> QuerySet:
    """Everyone the audience names, before anyone is left out."""
    contacts = Contact.objects.active().filter(account__in=campaign_accounts(campaign))
    if campaign.recipients == Campaign.Recipients.PRIMARY:
        contacts = contacts.filter(is_primary=True)
    return contacts


@dataclass
class LeftOut:
    name: str
    label: str
    count: int
    remedy: str
    askable_from: datetime.datetime | None = None  # for a quiet period: when the first of them may be asked
    all_askable_by: datetime.datetime | None = None  # and the last


@dataclass
class Preview:
    audience: int  # the contacts the audience names
    will_ask: int
    left_out: list[LeftOut]  # contacts, for each reason with a count, in order of precedence
    accounts: int  # the active accounts the audience names
    accounts_left_out: list[LeftOut]  # accounts that add no contact to the audience, and why

    @property
    def main_reason(self) -> LeftOut | None:
        """What keeps the most people out; for an audience that names no contact, its accounts' reason."""
        return max(
            self.left_out if self.audience else self.accounts_left_out, key=lambda item: item.count, default=None
        )


def campaign_preview(campaign: Campaign) -> Preview:
    """How many contacts this campaign would ask now, and who is left out, why, until when and what to do:
    two queries (the contacts, and the accounts that add no one)."""
    reasons = contact_reasons(campaign)
    counts, earlier = {}, Q()
    for reason in reasons:
        first_here = reason.condition & ~earlier
        counts[reason.name] = Count("pk", filter=first_here)
        if reason.last_asked is not None:
            counts[f"{reason.name}_first"] = Min(reason.last_asked, filter=first_here)
            counts[f"{reason.name}_last"] = Max(reason.last_asked, filter=first_here)
        earlier |= reason.condition
    row = campaign_contacts(campaign).aggregate(**counts, will_ask=Count("pk", filter=~earlier), audience=Count("pk"))
    accounts, accounts_left_out = _accounts_adding_no_one(campaign)
    return Preview(
        audience=row["audience"],
        will_ask=row["will_ask"],
        left_out=[_left_out(reason, row) for reason in reasons if row[reason.name]],
        accounts=accounts,
        accounts_left_out=accounts_left_out,
    )


def _left_out(reason: Reason, row: dict) -> LeftOut:
    item = LeftOut(name=reason.name, label=reason.label, count=row[reason.name], remedy=reason.remedy)
    if reason.last_asked is not None:
        period = datetime.timedelta(days=reason.quiet_days)
        item.askable_from = row[f"{reason.name}_first"] + period
        item.all_askable_by = row[f"{reason.name}_last"] + period
    return item


def _accounts_adding_no_one(campaign: Campaign) -> tuple[int, list[LeftOut]]:
    """How many accounts the audience names, and those that add no contact to it: none at all, or (when
    only primary contacts are asked) none marked primary."""
    active = Contact.objects.active().filter(account=OuterRef("pk"))
    has_contacts, has_primary = Exists(active), Exists(active.filter(is_primary=True))
    reasons = [
        Reason(
            "no_contacts",
            ~has_contacts,
            "no contact",
            "Add contacts on the accounts' pages, or import them from a CSV file.",
        )
    ]
    if campaign.recipients == Campaign.Recipients.PRIMARY:
        reasons.append(
            Reason(
                "no_primary",
                Q(has_contacts, ~has_primary),
                "contacts, but none primary",
                "Mark a primary contact on each, or ask all contacts.",
            )
        )
    counts = {reason.name: Count("pk", filter=reason.condition) for reason in reasons}
    row = campaign_accounts(campaign).aggregate(**counts, accounts=Count("pk"))
    return row["accounts"], [_left_out(reason, row) for reason in reasons if row[reason.name]]


def _eligible_contacts(campaign: Campaign) -> QuerySet:
    excluded = Q()
    for reason in contact_reasons(campaign):
        excluded |= reason.condition
    return campaign_contacts(campaign).exclude(excluded)


@transaction.atomic
def campaign_create(*, campaign: Campaign, account_ids: list[int], by: User) -> Campaign:
    """Save a new draft campaign with the accounts it picks, both or neither."""
    campaign.created_by = by
    campaign.save()
    campaign.accounts.set(account_ids)
    return campaign


def campaign_send(*, campaign: Campaign) -> int:
    """Create the invitations and start sending now, or at the scheduled time. Returns how many."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status != Campaign.Status.DRAFT:
            raise CampaignError(f"This campaign is already {campaign.get_status_display().lower()}.")
        rows = list(_eligible_contacts(campaign).values_list("pk", "account_id"))
        if not rows:
            raise CampaignError("Nobody would be asked: every contact in this audience is left out.")
        Invitation.objects.bulk_create(
            [Invitation(campaign=campaign, contact_id=contact, account_id=account) for contact, account in rows],
            ignore_conflicts=True,
            batch_size=1000,
        )
        later = campaign.scheduled_at is not None and campaign.scheduled_at > timezone.now()
        campaign.status = Campaign.Status.SCHEDULED if later else Campaign.Status.SENDING
        campaign.started_at = None if later else timezone.now()
        campaign.save(update_fields=["status", "started_at"])
    if not later:
        # Allowed to fail (broker down): the campaign is recorded as sending, and the sweep queues it.
        transaction.on_commit(lambda: campaign_send_task.delay(campaign.pk), robust=True)
    return len(rows)


def campaigns_start_due() -> list[int]:
    """Move scheduled campaigns whose time has come to sending and queue their sends; returns their ids."""
    now = timezone.now()
    started = []
    for campaign_id in Campaign.objects.filter(status=Campaign.Status.SCHEDULED, scheduled_at__lte=now).values_list(
        "pk", flat=True
    ):
        claimed = Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SCHEDULED).update(
            status=Campaign.Status.SENDING, started_at=now
        )
        if claimed:
            started.append(campaign_id)
    campaigns_send_queue(campaign_ids=started)
    return started


def campaign_batches(*, campaign_id: int) -> list[list[int]]:
    """The pending invitations of a campaign, in batches of SURVEY_SEND_BATCH_SIZE; records that
    they were queued, so the sweep can tell a lost task from a busy queue."""
    Campaign.objects.filter(pk=campaign_id).update(dispatched_at=timezone.now())
    ids = list(
        Invitation.objects.filter(campaign_id=campaign_id, status=Invitation.Status.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    size = settings.SURVEY_SEND_BATCH_SIZE
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def _send_again(campaign: Campaign, invitations: QuerySet, **reset) -> int:
    with transaction.atomic():
        count = invitations.update(status=Invitation.Status.PENDING, last_error="", **reset)
        if count:
            Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING, finished_at=None)
            transaction.on_commit(lambda: campaign_send_task.delay(campaign.pk), robust=True)
    return count


def campaign_retry_failed(*, campaign: Campaign) -> int:
    """Put failed invitations back in the queue (their contacts were not emailed); returns how many."""
    return _send_again(campaign, campaign.invitations.filter(status=Invitation.Status.FAILED), attempts=0)


def campaign_resend_uncertain(*, campaign: Campaign) -> int:
    """Send again, on an admin's decision, the invitations whose delivery is uncertain (some of those
    contacts may get the email twice); returns how many. The same link: an answer counts once."""
    return _send_again(
        campaign,
        campaign.invitations.filter(status=Invitation.Status.UNCERTAIN),
        attempts=0,
        claim_token="",
        send_started_at=None,
        sent_at=None,
    )


def campaigns_finish_done(campaigns: QuerySet | None = None) -> int:
    """Sending campaigns with nothing left to send become sent, each with its campaign.finished webhook;
    returns how many."""
    unfinished = Invitation.objects.filter(
        campaign_id=OuterRef("pk"), status__in=[Invitation.Status.PENDING, Invitation.Status.SENDING]
    )  # uncertain is an end: it waits for an admin's decision, not for a sender
    campaigns = Campaign.objects.all() if campaigns is None else campaigns
    with transaction.atomic():
        # Locked, then finished: two sweeps finishing the same campaign announce it once (PostgreSQL
        # checks the status again after the lock wait).
        done = list(
            campaigns.filter(status=Campaign.Status.SENDING)
            .filter(~Exists(unfinished))
            .select_related("survey")
            .select_for_update(of=("self",))
        )
        if not done:
            return 0
        Campaign.objects.filter(pk__in=[campaign.pk for campaign in done]).update(
            status=Campaign.Status.SENT, finished_at=timezone.now()
        )
        _campaigns_finished_record(done)
    return len(done)


def _campaigns_finished_record(campaigns: list[Campaign]) -> None:
    counts = {
        row["campaign_id"]: row
        for row in Invitation.objects.filter(campaign__in=campaigns)
        .values("campaign_id")
        .annotate(
            sent=Count("pk", filter=Q(status__in=Invitation.WENT_OUT)),
            failed=Count("pk", filter=Q(status=Invitation.Status.FAILED)),
            uncertain=Count("pk", filter=Q(status=Invitation.Status.UNCERTAIN)),
        )
    }
    items = []
    for campaign in campaigns:
        row = counts.get(campaign.pk, {})
        items.append(
            (
                None,
                {
                    "campaign_id": campaign.pk,
                    "name": campaign.name,
                    "kind": campaign.survey.kind,
                    "sent": row.get("sent", 0),
                    "failed": row.get("failed", 0),
                    "uncertain": row.get("uncertain", 0),
                    "url": settings.SITE_URL + reverse("surveys:campaign_detail", args=[campaign.pk]),
                },
            )
        )
    events_record(type=EventType.CAMPAIGN_FINISHED, items=items)


def campaign_finish_if_done(*, campaign_id: int) -> bool:
    return bool(campaigns_finish_done(Campaign.objects.filter(pk=campaign_id)))


def campaigns_send_queue(*, campaign_ids: list[int]) -> None:
    """Queue each campaign's send; one that fails (run in-process, or the broker refuses it) is logged and
    left to the next sweep, and the others still go."""
    for campaign_id in campaign_ids:
        try:
            campaign_send_task.delay(campaign_id)
        except Exception:
            logger.exception("sending campaign %s failed; the sweep tries again", campaign_id)


def campaign_dispatch(*, campaign_id: int) -> None:
    """Queue a campaign's pending invitations in batches, one task each; a campaign with none left is finished."""
    for batch in campaign_batches(campaign_id=campaign_id):
        invitation_batch_send_task.delay(campaign_id, batch)
    campaign_finish_if_done(campaign_id=campaign_id)


def campaign_batch_send(*, campaign_id: int, invitation_ids: list[int]) -> list[int]:
    """Send one batch (surveys/sending.py) and finish the campaign if that was the last of it; returns the
    ids that failed for now, to retry (they are pending again, so the campaign stays sending)."""
    released_claims_queue()  # a dead sender's claims are noticed by the next batch, not only by the sweep
    retry_ids = invitation_batch_send(invitation_ids=invitation_ids)
    campaign_finish_if_done(campaign_id=campaign_id)
    return retry_ids


def released_claims_queue() -> None:
    """Queue again the claims the sweep took back from senders that died or stalled."""
    for campaign_id, batch in released_batches(expired_claims_recover()):
        invitation_batch_send_task.delay(campaign_id, batch)


def sends_recover() -> None:
    """Claims of senders that died or stalled, and campaigns whose task was lost, are queued again; a
    campaign whose last invitations the sweep marked uncertain is finished here."""
    released_claims_queue()
    campaigns_send_queue(campaign_ids=campaigns_stalled())
    campaigns_finish_done()


# ---- Working feedback: every comment gets a status, an owner and an internal note ----

NOTE_MAX_LENGTH = 5000


def feedback_update(*, response: Response, by: User, status: str, assignee: User | None, note: str) -> Response:
    """Set an answer's feedback status, assignee and internal note, and record when it changed.

    `by` must be allowed to edit the answer's account (the view checks that). The rules hold
    here too: the status is one of the choices, the assignee is someone in `by`'s scope (or
    stays who it was), the note has at most NOTE_MAX_LENGTH characters. Raises ValidationError.
    """
    errors = {}
    if status not in Response.FeedbackStatus.values:
        errors["status"] = "Pick new, acknowledged, replied or closed."
    if (
        assignee is not None
        and assignee.pk != response.assignee_id
        and not people_in_scope(by).filter(pk=assignee.pk).exists()
    ):
        errors["assignee"] = "Assign it to someone in your team."
    if len(note) > NOTE_MAX_LENGTH:
        errors["note"] = f"Keep the note under {NOTE_MAX_LENGTH:,} characters (it has {len(note):,})."
    if errors:
        raise ValidationError(errors)
    response.feedback_status = status
    response.assignee = assignee
    response.internal_note = note
    response.feedback_changed_at = timezone.now()
    response.save(update_fields=["feedback_status", "assignee", "internal_note", "feedback_changed_at"])
    return response


REPLY_SUBJECT_MAX_LENGTH = 200
REPLY_BODY_MAX_LENGTH = 10_000


def feedback_reply_create(*, response: Response, by: User, subject: str, body: str) -> FeedbackReply:
    """Store a reply to the answer's respondent and queue its email; the answer's status becomes replied
    (a closed answer stays closed). The email goes out from a task (surveys/replies.py), retried if it fails.

    `by` must be allowed to edit the answer's account (the view checks that). Raises ValidationError,
    with nothing stored, when the respondent cannot be emailed (`reply_refusal`) or the text is empty or too long.
    """
    subject, body = one_line(subject), body.strip()
    errors = {}
    if refusal := reply_refusal(response):
        errors["__all__"] = refusal
    if not subject:
        errors["subject"] = "Write a subject."
    elif len(subject) > REPLY_SUBJECT_MAX_LENGTH:
        errors["subject"] = f"Keep the subject under {REPLY_SUBJECT_MAX_LENGTH} characters (it has {len(subject):,})."
    if not body:
        errors["body"] = "Write the reply."
    elif len(body) > REPLY_BODY_MAX_LENGTH:
        errors["body"] = f"Keep the reply under {REPLY_BODY_MAX_LENGTH:,} characters (it has {len(body):,})."
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        reply = FeedbackReply.objects.create(
            response=response,
            author=by,
            to=response.contact.email,
            reply_to=by.email,
            subject=subject,
            body=body,
            created_at=now,
        )
        if response.feedback_status != Response.FeedbackStatus.CLOSED:
            response.feedback_status = Response.FeedbackStatus.REPLIED
            response.feedback_changed_at = now
            response.save(update_fields=["feedback_status", "feedback_changed_at"])
        # With the broker down the reply is stored all the same: the retry sweep sends it.
        transaction.on_commit(lambda: feedback_reply_send_task.delay(reply.pk), robust=True)
    return reply
