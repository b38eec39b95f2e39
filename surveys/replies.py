"""Replies to survey comments: who can be replied to, the draft a reply starts from, and the sending.

A reply is written by a CSM in the feedback inbox and stored first (`surveys.services.feedback_reply_create`),
then sent here from a task: From is the product's sender (DEFAULT_FROM_EMAIL), Reply-To the CSM, so the
customer's answer goes to a person. Each send is claimed (a conditional UPDATE on the attempt count), so
two runs never send the same reply; a failed send keeps its error on the reply, and
`feedback_replies_retry` (Celery beat) tries again, at most FeedbackReply.MAX_ATTEMPTS times in all.
"""

import datetime
import logging
import re
from email.utils import formataddr

from django.core.mail import get_connection
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import ContactErasure, SuppressedAddress, User
from accounts.validators import one_line
from core.dates import long_date
from core.emails import make_message
from surveys.alerts import quoted
from surveys.models import FeedbackReply, ReplyTemplate, Response

logger = logging.getLogger(__name__)

# A send takes seconds; an attempt older than this failed or died with its worker.
RETRY_AFTER = datetime.timedelta(minutes=5)
RETRY_BATCH = 200


def reply_refusal(response: Response) -> str:
    """Why this answer's respondent cannot get an email reply ("" when they can), in the words the page shows."""
    contact = response.contact
    if contact is None:
        return "This answer was imported without a contact, so there is no one to reply to."
    if ContactErasure.objects.filter(contact_id=contact.pk).exists():
        return "This contact's personal data was erased, so Pulse cannot reply to them."
    if contact.archived_at is not None:
        return f"{contact.name} was removed from {response.account.name} (archived), so Pulse cannot reply to them."
    if not contact.email:
        return f"{contact.name} has no email address to reply to."
    suppressed = SuppressedAddress.objects.filter(address_hash=contact.email_hash).first()
    if contact.opted_out_at is not None or (suppressed is not None and suppressed.opted_out_at is not None):
        return f"{contact.name} opted out of emails from us, so Pulse does not email them."
    if contact.bounced_at is not None or (suppressed is not None and suppressed.bounced_at is not None):
        return f"The mail server refused {contact.email} for good, so a reply would not arrive."
    return ""


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    """`text` with each known {placeholder} replaced; any other braces are left as they are."""
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def unknown_placeholders(text: str) -> list[str]:
    """The {names} in `text` that are not ReplyTemplate.PLACEHOLDERS, for the template form's message."""
    return sorted({name for name in re.findall(r"\{(\w+)\}", text) if name not in ReplyTemplate.PLACEHOLDERS})


def reply_draft(*, response: Response, author: User) -> tuple[str, str]:
    """The subject and body the reply form starts from: the template of the answer's kind and tone, filled in.

    Without a template (an admin deleted it) the form starts with a plain subject and an empty body.
    """
    tone = ReplyTemplate.Tone.LOW if response.alerts_owner else ReplyTemplate.Tone.OTHER
    template = ReplyTemplate.objects.filter(kind=response.kind, tone=tone).first()
    values = {
        "contact_name": response.contact.name if response.contact else "",
        "account_name": response.account.name,
        "csm_name": author.name or author.email,
        "score": str(response.score),
    }
    if template is None:
        return "Your feedback", ""
    return one_line(fill_placeholders(template.subject, values)), fill_placeholders(template.body, values)


def feedback_reply_send(*, reply_id: int, connection=None) -> bool:
    """Send one stored reply if it is not sent yet and has attempts left; returns whether it went out now."""
    reply = (
        FeedbackReply.objects.select_related("author", "response__contact", "response__account")
        .filter(pk=reply_id, sent_at__isnull=True, attempts__lt=FeedbackReply.MAX_ATTEMPTS)
        .first()
    )
    if reply is None:
        return False
    claimed = FeedbackReply.objects.filter(pk=reply.pk, sent_at__isnull=True, attempts=reply.attempts).update(
        attempts=F("attempts") + 1, tried_at=timezone.now()
    )
    if not claimed:
        return False
    response = reply.response
    try:
        make_message(
            "surveys/email/reply",
            to=reply.to,
            subject=one_line(reply.subject),
            context={
                "body": reply.body,
                "answered_on": long_date(timezone.localdate(response.answered_at)),
                "quoted_comment": quoted(response.comment) if response.comment else "",
            },
            # A person wrote it (RFC 3834 "no"); the customer's answer goes to them, not to the sender address.
            headers={
                "Reply-To": formataddr((one_line(reply.author.name), reply.reply_to)),
                "Auto-Submitted": "no",
            },
            connection=connection or get_connection(),
        ).send()
    except Exception as exc:  # any failure (SMTP, a dropped connection) is this reply's alone, kept on it
        attempts = reply.attempts + 1
        error = f"{type(exc).__name__}: {exc}"[:300]
        FeedbackReply.objects.filter(pk=reply.pk).update(error=error)
        if attempts >= FeedbackReply.MAX_ATTEMPTS:
            logger.error("feedback reply %s: not sent after %s attempts: %s", reply.pk, attempts, error)
        else:
            logger.warning("feedback reply %s: not sent (attempt %s), will retry: %s", reply.pk, attempts, error)
        return False
    FeedbackReply.objects.filter(pk=reply.pk).update(sent_at=timezone.now(), error="")
    return True


def feedback_replies_due(*, now: datetime.datetime | None = None):
    """Unsent replies whose last attempt (or creation) is older than RETRY_AFTER, with attempts left."""
    cutoff = (now or timezone.now()) - RETRY_AFTER
    return (
        FeedbackReply.objects.filter(sent_at__isnull=True, attempts__lt=FeedbackReply.MAX_ATTEMPTS)
        .alias(last_try=Coalesce("tried_at", "created_at"))
        .filter(last_try__lt=cutoff)
        .order_by("pk")
    )


def feedback_replies_retry(*, now: datetime.datetime | None = None) -> int:
    """Send again the replies that failed or whose task was lost; returns how many went out this time."""
    due = list(feedback_replies_due(now=now).values_list("pk", flat=True)[:RETRY_BATCH])
    if not due:
        return 0
    connection = get_connection()
    sent = 0
    for reply_id in due:
        try:
            sent += feedback_reply_send(reply_id=reply_id, connection=connection)
        except Exception:  # one reply's failure (its row, its data) never stops the others
            logger.exception("feedback reply %s: retry failed", reply_id)
    return sent
