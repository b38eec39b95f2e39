"""Sending invitations: no contact ever gets two emails from one invitation, whatever dies, pauses
or restarts.

A batch claims its pending invitations (pending → sending) under a claim token of its own, then,
for each email:

1. the fence: one conditional UPDATE, committed before the mail server is spoken to, records that
   this invitation's send starts now (`send_started_at`), on condition that this sender still holds
   the claim (same token, still sending, lease not run out);
2. the SMTP transaction;
3. the confirmation: → sent, on condition of the same token.

A claim lasts SURVEY_SEND_LEASE_SECONDS and is renewed as the batch goes. The recovery sweep (every
minute, and at the start of every batch) takes claims whose lease ran out: an invitation whose send
had started becomes *uncertain* (the email may have arrived, so it is never sent again on its own;
an admin may send it again on purpose), the others go back to pending and are queued again. A sender
that was only slow, not dead, finds at its next fence that its claim is gone and stops.

Claiming locks the contacts' rows and checks the quiet periods in that same step, in the database,
so two campaigns, two workers or a redelivered task can never both email the same contact.
"""

import datetime
import logging
import smtplib
import time
import uuid

from django.conf import settings
from django.core.mail import get_connection
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, F, OuterRef, Q
from django.utils import timezone

from accounts.company import company_name
from accounts.models import Account, Contact
from accounts.suppression import address_suppress
from surveys.audience import invitation_reasons
from surveys.emails import invitation_message
from surveys.models import Campaign, Invitation

logger = logging.getLogger(__name__)

# Longer than a batch's retries wait (30 + 60 + 120 s by default): a campaign with invitations waiting,
# none tried for this long and nothing claimed has lost its task (the broker was down, or a retry
# was held by a worker that died), so the sweep queues it again.
CAMPAIGN_STALLED_AFTER = datetime.timedelta(minutes=5)
UNCERTAIN_REASON = "delivery uncertain: the email went to the mail server, and its answer was never recorded"
# A write that records what the mail server already accepted is retried across a database restart.
CONFIRM_RETRY_DELAYS = (0.1, 0.25, 0.5, 1, 2, 4, 8)


def _lease() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.SURVEY_SEND_LEASE_SECONDS)


def invitations_claim(*, invitation_ids: list[int], token: str) -> list[int]:
    """pending → sending under `token` for each of these invitations whose contact may be asked now;
    the others become skipped with the reason. Returns the claimed ids, in id order; a few queries in all.

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
        reasons = invitation_reasons()
        refused = Q()
        for reason in reasons:
            refused |= reason.condition
        # Only rows whose contacts are locked: one the sweep put back since the first read waits for the next batch.
        pending = pending.filter(contact_id__in=contact_ids)
        claimed = list(pending.exclude(refused).order_by("pk").values_list("pk", flat=True))
        pending.filter(pk__in=claimed).update(
            status=Invitation.Status.SENDING,
            claimed_at=now,
            claim_token=token,
            send_started_at=None,
            attempts=F("attempts") + 1,
        )
        refusals = {f"refused_{r.name}": ExpressionWrapper(r.condition, output_field=BooleanField()) for r in reasons}
        skipped = pending.exclude(pk__in=claimed).annotate(**refusals)
        updates = []
        for invitation in skipped.only("pk"):
            invitation.status = Invitation.Status.SKIPPED
            invitation.last_error = next(
                reason.label for reason in reasons if getattr(invitation, f"refused_{reason.name}")
            )[:500]
            updates.append(invitation)
        Invitation.objects.bulk_update(updates, ["status", "last_error"])
    return claimed


def is_permanent(exc: Exception) -> bool:
    """5xx answers are permanent; 4xx, dropped connections and refused connections are temporary."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def describe(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{code} {message.decode(errors='replace')}" for code, message in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"{exc.smtp_code} {text}"
    return f"{type(exc).__name__}: {exc}"


def bounce_record(invitation: Invitation, exc: Exception) -> None:
    """The server refused this address for good: leave it out of later emails, on every account."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and is_permanent(exc):
        Contact.objects.filter(pk=invitation.contact_id, bounced_at__isnull=True).update(bounced_at=timezone.now())
        address_suppress(email=invitation.contact.email, reason="bounced")


def invitation_email(invitation: Invitation, *, connection, company: str, reminder: bool = False):
    """(the invitation's email, "") checked as the mail server would see it, or (None, why it cannot
    be built): a bad template, header or address is this invitation's problem only."""
    try:
        message = invitation_message(invitation, connection=connection, reminder=reminder, company=company)
        message.message()  # renders the headers: a bad one raises here, not halfway through the batch
    except Exception as exc:
        logger.exception("the email for invitation %s could not be built", invitation.pk)
        return None, f"could not build the email: {describe(exc)}"
    return message, ""


def connection_closed(smtp) -> bool:
    """The server ended the session while refusing (a 421): nothing more may be sent on it."""
    return smtp.connection is None or getattr(smtp.connection, "sock", None) is None


def _refused(exc: Exception) -> bool:
    """The server answered no: the email was not accepted (as opposed to a connection that broke,
    after which nobody knows)."""
    return isinstance(exc, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused)


def _retrying_database_errors(write):
    """Run `write` (outside any transaction; it must be safe to repeat), again after a short wait
    if the database connection broke: 16 s of waits, plus each reconnection's own wait."""
    for delay in CONFIRM_RETRY_DELAYS:
        try:
            return write()
        except (OperationalError, InterfaceError):
            logger.warning("recording a sent email failed on a database error; trying again in %ss", delay)
            connection.close()
            time.sleep(delay)
    return write()


class Claim:
    """One sender's hold on the invitations it claimed, checked before each email it sends."""

    def __init__(self, token: str):
        self.token = token
        self.renewed = time.monotonic()

    def _held(self):
        return Invitation.objects.filter(
            claim_token=self.token, status=Invitation.Status.SENDING, claimed_at__gte=timezone.now() - _lease()
        )

    def fence(self, invitation_id: int) -> bool:
        """Record, committed, that this invitation's send starts now; False when the claim is lost
        (the lease ran out and the sweep, or another sender, took it): then nothing may be sent."""
        now = timezone.now()
        if time.monotonic() - self.renewed > settings.SURVEY_SEND_LEASE_SECONDS / 4:
            self._held().update(claimed_at=now)
            self.renewed = time.monotonic()
        started = self._held().filter(pk=invitation_id, send_started_at__isnull=True)
        return bool(started.update(send_started_at=now, claimed_at=now))

    def _mine(self, invitation_id: int):
        # Uncertain too: the sweep may have given up on this sender while the server was answering.
        return Invitation.objects.filter(
            pk=invitation_id,
            claim_token=self.token,
            status__in=[Invitation.Status.SENDING, Invitation.Status.UNCERTAIN],
        )

    def confirm(self, invitation_id: int) -> None:
        self._record(invitation_id, status=Invitation.Status.SENT, sent_at=timezone.now(), last_error="")

    def give_up(self, invitation_id: int, error: str) -> None:
        self._record(invitation_id, status=Invitation.Status.FAILED, last_error=error[:500])

    def put_back(self, invitation_id: int, error: str) -> None:
        """Not accepted, for now: pending again, for the retry."""
        self._record(
            invitation_id,
            status=Invitation.Status.PENDING,
            claim_token="",
            send_started_at=None,
            last_error=error[:500],
        )

    def uncertain(self, invitation_id: int, error: str) -> None:
        self._record(
            invitation_id, status=Invitation.Status.UNCERTAIN, sent_at=F("send_started_at"), last_error=error[:500]
        )

    def _record(self, invitation_id: int, **outcome) -> None:
        """What the mail server answered, recorded even across a database restart (otherwise the
        invitation would end uncertain although its outcome is known)."""
        _retrying_database_errors(lambda: self._mine(invitation_id).update(**outcome))

    def release(self) -> list[int]:
        """The claims not yet started go back to pending; returns their ids."""
        mine = Invitation.objects.filter(claim_token=self.token)
        ids = list(
            mine.filter(status=Invitation.Status.SENDING, send_started_at__isnull=True).values_list("pk", flat=True)
        )
        _release_unstarted(mine.filter(pk__in=ids))
        return ids


def _release_unstarted(claims) -> None:
    """Claims whose send never started go back to pending: taking one is always safe, since its
    holder's next fence fails. One that started is never released (it is uncertain, or sent)."""
    claims.filter(status=Invitation.Status.SENDING, send_started_at__isnull=True).update(
        status=Invitation.Status.PENDING, claim_token=""
    )


def _last_try(invitation: Invitation) -> bool:
    return invitation.attempts > settings.SURVEY_SEND_MAX_RETRIES


def _send_claimed(invitations: list[Invitation], claim: Claim, smtp) -> list[int]:
    """Send the claimed invitations over the open connection; returns those to try again later."""
    retry = []
    company = company_name()
    for invitation in invitations:
        message, error = invitation_email(invitation, connection=smtp, company=company)
        if message is None:
            claim.give_up(invitation.pk, error)
            continue
        if not claim.fence(invitation.pk):
            break  # the claim was taken from this sender: whoever holds it now sends the rest
        try:
            message.send()
        except (OSError, smtplib.SMTPException) as exc:
            if not _refused(exc):
                # The connection broke mid-transaction: the server may have taken this one.
                claim.uncertain(invitation.pk, f"{UNCERTAIN_REASON} ({describe(exc)})")
                return retry + claim.release()
            if is_permanent(exc) or _last_try(invitation):
                claim.give_up(invitation.pk, describe(exc))
                bounce_record(invitation, exc)
            else:
                claim.put_back(invitation.pk, describe(exc))
                retry.append(invitation.pk)
            if connection_closed(smtp):
                return retry + claim.release()  # a 421 ends the session: the rest wait for the retry
            continue
        claim.confirm(invitation.pk)
    return retry


def invitation_batch_send(*, invitation_ids: list[int]) -> list[int]:
    """Send a batch over one SMTP connection. Returns the ids that failed temporarily, to retry;
    an invitation is given up (failed, with the reason) after SURVEY_SEND_MAX_RETRIES retries.

    The batch claims first, so a worker that dies at any later point leaves claims that the sweep
    takes back once their lease runs out.
    """
    # Run again (a retry, or redelivered after its worker died), a batch takes back its own unstarted claims.
    _release_unstarted(Invitation.objects.filter(pk__in=invitation_ids))
    claim = Claim(uuid.uuid4().hex)
    claimed = invitations_claim(invitation_ids=invitation_ids, token=claim.token)
    if not claimed:
        return []
    smtp = get_connection()
    try:
        smtp.open()
    except (OSError, smtplib.SMTPException) as exc:
        # No server to talk to: the claim counted an attempt; the batch fails or waits for the retry.
        held = Invitation.objects.filter(claim_token=claim.token, status=Invitation.Status.SENDING)
        held.update(last_error=describe(exc)[:500])
        if is_permanent(exc):
            held.update(status=Invitation.Status.FAILED)
            return []
        held.filter(attempts__gt=settings.SURVEY_SEND_MAX_RETRIES).update(status=Invitation.Status.FAILED)
        return claim.release()
    try:
        invitations = list(
            Invitation.objects.filter(pk__in=claimed, claim_token=claim.token)
            .select_related("contact", "account", "campaign__survey")
            .order_by("pk")
        )
        return _send_claimed(invitations, claim, smtp)
    finally:
        smtp.close()


def _in_flight():
    return Invitation.objects.filter(status=Invitation.Status.SENDING)


def expired_claims_recover() -> dict[int, list[int]]:
    """Claims whose lease ran out (their sender died or stalled): started ones become uncertain,
    the others pending again. Returns the released ids by campaign, to queue again."""
    expired = _in_flight().filter(claimed_at__lt=timezone.now() - _lease())
    expired.filter(send_started_at__isnull=False).update(
        status=Invitation.Status.UNCERTAIN, sent_at=F("send_started_at"), last_error=UNCERTAIN_REASON
    )
    rows = list(expired.values_list("campaign_id", "pk"))
    _release_unstarted(expired.filter(pk__in=[pk for _, pk in rows]))
    released: dict[int, list[int]] = {}
    for campaign_id, pk in rows:
        released.setdefault(campaign_id, []).append(pk)
    return released


def campaigns_stalled() -> list[int]:
    """Sending campaigns with invitations waiting and no sender at work on them: never queued (the
    broker was down when they were sent), or their task was lost; they are queued again."""
    now = timezone.now()
    lease = _lease()
    waiting = Invitation.objects.filter(campaign=OuterRef("pk"), status=Invitation.Status.PENDING).filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CAMPAIGN_STALLED_AFTER)
    )
    working = _in_flight().filter(campaign=OuterRef("pk"), claimed_at__gte=now - lease)
    never_queued = Q(dispatched_at__isnull=True, started_at__lt=now - lease)
    lost = Q(dispatched_at__lt=now - CAMPAIGN_STALLED_AFTER)
    return list(
        Campaign.objects.filter(status=Campaign.Status.SENDING)
        .filter(never_queued | lost)
        .filter(Exists(waiting), ~Exists(working))
        .values_list("pk", flat=True)
    )


def released_batches(released: dict[int, list[int]]) -> list[tuple[int, list[int]]]:
    size = settings.SURVEY_SEND_BATCH_SIZE
    return [
        (campaign_id, sorted(ids)[start : start + size])
        for campaign_id, ids in released.items()
        for start in range(0, len(ids), size)
    ]
