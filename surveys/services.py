"""Campaigns: who is asked, starting and finishing a send, reminders.

An invitation goes pending → sending → sent → responded, or failed / skipped, or uncertain when
its sender stopped between handing the email over and recording the answer (surveys/sending.py
sends each email at most once).
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import Account, Contact
from accounts.suppression import suppressed
from surveys.models import Campaign, Invitation
from surveys.sending import asked_since, quiet_cutoff

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


def _leave_out_reasons(campaign: Campaign) -> dict[str, Q]:
    """Why a contact is left out, in order of precedence (each contact counts under the first)."""
    reasons = {
        "no_email": Q(email=""),
        # The contact's own opt-out or bounce, or its address's on the suppression list (any account).
        "erased": Q(suppressed("erased")),
        "opted_out": Q(opted_out_at__isnull=False) | Q(suppressed("opted_out")),
        "bounced": Q(bounced_at__isnull=False) | Q(suppressed("bounced")),
        "quiet": Q(Exists(asked_since(quiet_cutoff(settings.SURVEY_QUIET_DAYS), contact=OuterRef("pk")))),
    }
    if settings.SURVEY_ACCOUNT_QUIET_DAYS:
        others = asked_since(quiet_cutoff(settings.SURVEY_ACCOUNT_QUIET_DAYS), account=OuterRef("account_id"))
        if campaign.pk:
            others = others.exclude(campaign=campaign)
        reasons["account_quiet"] = Q(Exists(others))
    return reasons


def _leave_out_label(name: str) -> str:
    return {
        "no_email": "have no email address",
        "erased": "have an address whose personal data was erased",
        "opted_out": "opted out of surveys",
        "bounced": "have an address that bounced",
        "quiet": f"were asked in the last {settings.SURVEY_QUIET_DAYS} days (quiet period)",
        "account_quiet": f"belong to an account another campaign asked in the last "
        f"{settings.SURVEY_ACCOUNT_QUIET_DAYS} days",
    }[name]


@dataclass
class Preview:
    audience: int
    will_ask: int
    left_out: list[tuple[str, int]]  # (label, count) for each reason with a count


def campaign_preview(campaign: Campaign) -> Preview:
    """How many contacts this campaign would ask now, and how many are left out and why: one query."""
    reasons = _leave_out_reasons(campaign)
    counts, earlier = {}, Q()
    for name, condition in reasons.items():
        counts[name] = Count("pk", filter=condition & ~earlier)
        earlier |= condition
    counts["will_ask"] = Count("pk", filter=~earlier)
    counts["audience"] = Count("pk")
    row = campaign_contacts(campaign).aggregate(**counts)
    left_out = [(_leave_out_label(name), row[name]) for name in reasons if row[name]]
    return Preview(audience=row["audience"], will_ask=row["will_ask"], left_out=left_out)


def _eligible_contacts(campaign: Campaign) -> QuerySet:
    excluded = Q()
    for condition in _leave_out_reasons(campaign).values():
        excluded |= condition
    return campaign_contacts(campaign).exclude(excluded)


def campaign_send(*, campaign: Campaign) -> int:
    """Create the invitations and start sending now, or at the scheduled time. Returns how many."""
    from surveys.tasks import campaign_send_task

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
    """Move scheduled campaigns whose time has come to sending; returns their ids."""
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
    from surveys.tasks import campaign_send_task

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
    """Sending campaigns with nothing left to send become sent; returns how many."""
    unfinished = Invitation.objects.filter(
        campaign_id=OuterRef("pk"), status__in=[Invitation.Status.PENDING, Invitation.Status.SENDING]
    )  # uncertain is an end: it waits for an admin's decision, not for a sender
    campaigns = Campaign.objects.all() if campaigns is None else campaigns
    return (
        campaigns.filter(status=Campaign.Status.SENDING)
        .filter(~Exists(unfinished))
        .update(status=Campaign.Status.SENT, finished_at=timezone.now())
    )


def campaign_finish_if_done(*, campaign_id: int) -> bool:
    return bool(campaigns_finish_done(Campaign.objects.filter(pk=campaign_id)))
