"""Campaigns: who is asked, sending invitations exactly once, reminders.

An invitation goes pending → sending → sent → responded, or failed / skipped.
Claiming (pending → sending) is one conditional UPDATE after locking the contact's
row, so two campaigns, two workers or a redelivered task can never both email the
same contact or the same invitation; the quiet periods are checked in that same
locked step, in the database.
"""

import datetime
import logging
import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import Account, Contact
from accounts.suppression import address_suppress, suppressed
from surveys.emails import invitation_message
from surveys.models import Campaign, Invitation

logger = logging.getLogger(__name__)

# Statuses that mean "this contact was asked" for the quiet periods.
ASKED = [Invitation.Status.SENDING, *Invitation.WENT_OUT]
# Longer than a batch's retries take (30 + 60 + 120 s by default): a campaign with invitations waiting
# and nothing claimed for this long has no task working on it.
CAMPAIGN_STALLED_AFTER = datetime.timedelta(minutes=5)
# Invitations claimed together within a batch: few queries per email, and a claim that lives for
# a few SMTP exchanges only (see SURVEY_SEND_LEASE_SECONDS).
CLAIM_CHUNK = 20


class CampaignError(Exception):
    """A campaign action that is not possible now; the message says why."""


def _quiet_cutoff(days: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


def _asked_since(cutoff: datetime.datetime, **match) -> QuerySet:
    return Invitation.objects.filter(status__in=ASKED, claimed_at__gte=cutoff, **match)


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
        "quiet": Q(Exists(_asked_since(_quiet_cutoff(settings.SURVEY_QUIET_DAYS), contact=OuterRef("pk")))),
    }
    if settings.SURVEY_ACCOUNT_QUIET_DAYS:
        others = _asked_since(_quiet_cutoff(settings.SURVEY_ACCOUNT_QUIET_DAYS), account=OuterRef("account_id"))
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
        # Allowed to fail (broker down): the campaign is recorded as sending, and campaigns_stalled finds it.
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
    """The pending invitations of a campaign, in batches of SURVEY_SEND_BATCH_SIZE."""
    ids = list(
        Invitation.objects.filter(campaign_id=campaign_id, status=Invitation.Status.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    size = settings.SURVEY_SEND_BATCH_SIZE
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def campaign_retry_failed(*, campaign: Campaign) -> int:
    """Put failed invitations back in the queue (their contacts were not emailed); returns how many."""
    from surveys.tasks import campaign_send_task

    with transaction.atomic():
        count = campaign.invitations.filter(status=Invitation.Status.FAILED).update(
            status=Invitation.Status.PENDING, attempts=0, last_error=""
        )
        if count:
            Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING, finished_at=None)
            transaction.on_commit(lambda: campaign_send_task.delay(campaign.pk), robust=True)
    return count


def campaign_finish_if_done(*, campaign_id: int) -> bool:
    unfinished = Invitation.objects.filter(
        campaign_id=OuterRef("pk"), status__in=[Invitation.Status.PENDING, Invitation.Status.SENDING]
    )
    return bool(
        Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SENDING)
        .filter(~Exists(unfinished))
        .update(status=Campaign.Status.SENT, finished_at=timezone.now())
    )


def _claim_refusals() -> dict[str, Q]:
    """Why an invitation's contact may not be asked now, each a condition on the invitation row, in
    order of precedence; the quiet periods are checked in the database, so they hold under the claim's locks."""
    quiet = _asked_since(_quiet_cutoff(settings.SURVEY_QUIET_DAYS), contact_id=OuterRef("contact_id"))
    reasons = {
        "contact archived": Q(contact__archived_at__isnull=False),
        "address erased": Q(suppressed("erased", hash_field="contact__email_hash")),
        "opted out": Q(contact__opted_out_at__isnull=False)
        | Q(suppressed("opted_out", hash_field="contact__email_hash")),
        "address bounced earlier": Q(contact__bounced_at__isnull=False)
        | Q(suppressed("bounced", hash_field="contact__email_hash")),
        "no email address": Q(contact__email=""),
        f"asked within the last {settings.SURVEY_QUIET_DAYS} days": Q(Exists(quiet.exclude(pk=OuterRef("pk")))),
    }
    if settings.SURVEY_ACCOUNT_QUIET_DAYS:
        neighbours = _asked_since(
            _quiet_cutoff(settings.SURVEY_ACCOUNT_QUIET_DAYS), account_id=OuterRef("account_id")
        ).exclude(campaign_id=OuterRef("campaign_id"))
        reason = f"another contact of this account was asked within {settings.SURVEY_ACCOUNT_QUIET_DAYS} days"
        reasons[reason] = Q(Exists(neighbours))
    return reasons


def invitations_claim(*, invitation_ids: list[int]) -> list[int]:
    """pending → sending for each of these invitations whose contact may be asked now; the others
    become skipped with the reason. Returns the claimed ids, in id order; a few queries in all.

    The contacts' rows (and their accounts', with the account quiet period) are locked first, in
    id order, so a concurrent claim for the same contact waits and then sees this one's claim.
    """
    now = timezone.now()
    with transaction.atomic():
        pending = Invitation.objects.filter(pk__in=invitation_ids, status=Invitation.Status.PENDING)
        rows = list(pending.values_list("contact_id", "account_id"))
        if not rows:
            return []  # sent, answered or claimed by someone else already
        contact_ids = sorted({contact_id for contact_id, _ in rows})
        list(Contact.objects.select_for_update().filter(pk__in=contact_ids).order_by("pk").values_list("pk"))
        if settings.SURVEY_ACCOUNT_QUIET_DAYS:
            account_ids = sorted({account_id for _, account_id in rows})
            list(Account.objects.select_for_update().filter(pk__in=account_ids).order_by("pk").values_list("pk"))
        reasons = _claim_refusals()
        refused = Q()
        for condition in reasons.values():
            refused |= condition
        claimed = list(pending.exclude(refused).order_by("pk").values_list("pk", flat=True))
        pending.filter(pk__in=claimed).update(
            status=Invitation.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
        skipped = pending.exclude(pk__in=claimed).annotate(
            **{f"refused_{index}": ExpressionWrapper(condition, output_field=BooleanField())
               for index, condition in enumerate(reasons.values())}
        )  # fmt: skip
        updates = []
        for invitation in skipped.only("pk"):
            invitation.status = Invitation.Status.SKIPPED
            invitation.last_error = next(
                reason for index, reason in enumerate(reasons) if getattr(invitation, f"refused_{index}")
            )[:500]
            updates.append(invitation)
        Invitation.objects.bulk_update(updates, ["status", "last_error"])
    return claimed


def _is_permanent(exc: Exception) -> bool:
    """5xx answers are permanent; 4xx, dropped connections and refused connections are temporary."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def _describe(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{code} {message.decode(errors='replace')}" for code, message in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"{exc.smtp_code} {text}"
    return f"{type(exc).__name__}: {exc}"


def _bounce_record(invitation: Invitation, exc: Exception) -> None:
    """The server refused this address for good: leave it out of later emails, on every account."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and _is_permanent(exc):
        Contact.objects.filter(pk=invitation.contact_id, bounced_at__isnull=True).update(bounced_at=timezone.now())
        address_suppress(email=invitation.contact.email, reason="bounced")


def _send_failed(invitation: Invitation, exc: Exception, *, final: bool) -> bool:
    """Record a failed send; returns True when it should be retried."""
    error = _describe(exc)[:500]
    if _is_permanent(exc):
        Invitation.objects.filter(pk=invitation.pk).update(status=Invitation.Status.FAILED, last_error=error)
        _bounce_record(invitation, exc)
        return False
    status = Invitation.Status.FAILED if final else Invitation.Status.PENDING
    Invitation.objects.filter(pk=invitation.pk).update(status=status, last_error=error)
    return not final


def _build(invitation: Invitation, *, connection, reminder: bool = False):
    """The invitation's email, checked as the mail server would see it; None when it cannot be built,
    and then that invitation alone is marked failed with the reason (a reminder keeps its status)."""
    try:
        message = invitation_message(invitation, connection=connection, reminder=reminder)
        message.message()  # renders the headers: a bad one raises here, not halfway through the batch
    except Exception as exc:  # a bad template, header or address is this invitation's problem only
        logger.exception("the email for invitation %s could not be built", invitation.pk)
        error = f"{'reminder: ' if reminder else ''}could not build the email: {_describe(exc)}"[:500]
        if reminder:
            Invitation.objects.filter(pk=invitation.pk).update(last_error=error)
        else:
            Invitation.objects.filter(pk=invitation.pk).update(status=Invitation.Status.FAILED, last_error=error)
        return None
    return message


def _interrupted_claims() -> QuerySet:
    """Claims older than the send lease: a claim lasts a few SMTP exchanges (CLAIM_CHUNK), so its sender died."""
    lease = datetime.timedelta(seconds=settings.SURVEY_SEND_LEASE_SECONDS)
    return Invitation.objects.filter(status=Invitation.Status.SENDING, claimed_at__lt=timezone.now() - lease)


def _send_claimed(claimed: list[Invitation], connection, *, final_attempt: bool, retry: list[int]) -> bool:
    """Send claimed invitations over the open connection; False when the connection is lost.

    Each is marked sent the moment the server accepts it (one short UPDATE per email, on purpose:
    that moment is all that separates "sent" from "send again" if the worker dies).
    """
    for index, invitation in enumerate(claimed):
        message = _build(invitation, connection=connection)
        if message is None:
            continue
        try:
            message.send()
        except (OSError, smtplib.SMTPException) as exc:
            if _send_failed(invitation, exc, final=final_attempt):
                retry.append(invitation.pk)
            if isinstance(exc, smtplib.SMTPServerDisconnected) or not isinstance(exc, smtplib.SMTPException):
                unsent = [later.pk for later in claimed[index + 1 :]]
                Invitation.objects.filter(pk__in=unsent).update(status=Invitation.Status.PENDING)
                return False
            continue
        Invitation.objects.filter(pk=invitation.pk).update(
            status=Invitation.Status.SENT, sent_at=timezone.now(), last_error=""
        )
    return True


def invitation_batch_send(*, invitation_ids: list[int], final_attempt: bool) -> list[int]:
    """Send a batch over one SMTP connection. Returns the ids that failed temporarily, to retry.

    A batch redelivered after its worker died finds the claim that was in flight and sends it again.
    """
    _interrupted_claims().filter(pk__in=invitation_ids).update(status=Invitation.Status.PENDING)
    invitations = list(
        Invitation.objects.filter(pk__in=invitation_ids, status=Invitation.Status.PENDING)
        .select_related("contact", "account", "campaign__survey")
        .order_by("pk")
    )
    if not invitations:
        return []
    connection = get_connection()
    try:
        connection.open()
    except (OSError, smtplib.SMTPException) as exc:
        # No server to talk to: the whole batch counts an attempt, then fails or waits for the retry.
        ids = [invitation.pk for invitation in invitations]
        give_up = final_attempt or _is_permanent(exc)
        Invitation.objects.filter(pk__in=ids).update(
            attempts=F("attempts") + 1,
            last_error=_describe(exc)[:500],
            status=Invitation.Status.FAILED if give_up else Invitation.Status.PENDING,
        )
        return [] if give_up else ids
    retry = []
    by_id = {invitation.pk: invitation for invitation in invitations}
    try:
        for start in range(0, len(invitations), CLAIM_CHUNK):
            chunk = [invitation.pk for invitation in invitations[start : start + CLAIM_CHUNK]]
            claimed = [by_id[pk] for pk in invitations_claim(invitation_ids=chunk)]
            if not _send_claimed(claimed, connection, final_attempt=final_attempt, retry=retry):
                break  # the connection is gone; the rest stay pending for the retry
    finally:
        connection.close()
    untouched = Invitation.objects.filter(pk__in=invitation_ids, status=Invitation.Status.PENDING)
    if final_attempt:
        untouched.update(status=Invitation.Status.FAILED, last_error="not sent: the mail server connection dropped")
        return []
    return sorted(set(retry) | set(untouched.values_list("pk", flat=True)))


def campaigns_stalled() -> list[int]:
    """Sending campaigns with invitations waiting and none claimed for CAMPAIGN_STALLED_AFTER: their
    task never got queued (the broker was down when they were sent), so they are queued again."""
    cutoff = timezone.now() - CAMPAIGN_STALLED_AFTER
    waiting = Invitation.objects.filter(campaign=OuterRef("pk"), status=Invitation.Status.PENDING)
    active = Invitation.objects.filter(campaign=OuterRef("pk"), claimed_at__gte=cutoff)
    return list(
        Campaign.objects.filter(status=Campaign.Status.SENDING, started_at__lt=cutoff)
        .filter(Exists(waiting), ~Exists(active))
        .values_list("pk", flat=True)
    )


def invitations_resume_interrupted() -> list[int]:
    """Interrupted claims (a worker died mid-send) go back to pending; returns their campaigns, to send again.

    The claim is marked sent the moment the mail server accepts the email, so a contact is
    emailed twice only if the worker died within that instant.
    """
    interrupted = _interrupted_claims()
    campaign_ids = sorted(set(interrupted.values_list("campaign_id", flat=True)))
    interrupted.filter(campaign_id__in=campaign_ids).update(status=Invitation.Status.PENDING)
    return campaign_ids
