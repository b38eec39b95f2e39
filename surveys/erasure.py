"""Erasing a person's personal data (GDPR), for admins: a contact's identity goes, their scores stay.

It lives in surveys because a person's survey comments are their own words, personal data
as much as their name: they are emptied, while the scores keep counting in results and health.
"""

from django.db import transaction
from django.utils import timezone

from accounts.models import Contact, ContactErasure, Notification, User
from accounts.suppression import address_suppress
from surveys.models import FeedbackReply, Response
from surveys.signals import contact_erased
from webhooks.services import events_contact_erase

ERASED_NAME = "Erased contact"


def erased_email(contact_id: int) -> str:
    # The .invalid top-level domain is reserved: this address can never receive an email.
    return f"erased-{contact_id}@erased.invalid"


def _notifications_scrub(contact: Contact) -> None:
    """Take the person's name, address and comments out of the low-score alerts about their answers
    (surveys/alerts.py copies them into the notification and its email)."""
    answers = list(Response.objects.filter(contact=contact).values_list("pk", "comment"))
    keys = [f"low-score:{pk}" for pk, _ in answers]
    personal = [(text, "") for _, text in answers if text] + [(contact.name, ERASED_NAME), (contact.email, "")]
    notifications = list(Notification.objects.filter(key__in=keys))
    fields = ["title", "body", "email_subject", "email_body"]
    for notification in notifications:
        for field in fields:
            value = getattr(notification, field)
            for text, replacement in personal:
                if text:
                    value = value.replace(text, replacement)
            setattr(notification, field, value)
    Notification.objects.bulk_update(notifications, fields)


ERASED_REPLY_ERROR = "Not sent: the contact's personal data was erased."


def _replies_scrub(contact: Contact) -> None:
    """Take the person's name and address out of the replies they were sent; one still unsent never goes out."""
    replies = list(FeedbackReply.objects.filter(response__contact=contact))
    for reply in replies:
        reply.to = erased_email(contact.pk)
        reply.subject = reply.subject.replace(contact.name, ERASED_NAME)
        reply.body = reply.body.replace(contact.name, ERASED_NAME)
        if reply.sent_at is None:
            reply.attempts, reply.error = FeedbackReply.MAX_ATTEMPTS, ERASED_REPLY_ERROR
    FeedbackReply.objects.bulk_update(replies, ["to", "subject", "body", "attempts", "error"])


def contact_erase(*, contact: Contact, by: User) -> ContactErasure:
    """Replace the contact's name, email and title with a placeholder (in the replies they were sent
    too), empty their survey comments (in webhook payloads too), archive the contact, keep the address
    suppressed (by its hash only), and record who did it and when.

    Safe to run twice: a contact already erased returns its first record.
    """
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        existing = ContactErasure.objects.filter(contact=contact).first()
        if existing is not None:
            return existing
        now = timezone.now()
        # The hash stays on the list, so adding the same person again on any account stays suppressed.
        address_suppress(email_hash=contact.email_hash, reason="erased", at=now)
        _notifications_scrub(contact)
        events_contact_erase(contact_id=contact.pk, name=ERASED_NAME)
        _replies_scrub(contact)
        comments = Response.objects.filter(contact=contact).exclude(comment="").values_list("comment", flat=True)
        personal = [(text, "") for comment in comments for text in (comment, comment[:120])]
        contact_erased.send(
            sender=Contact, contact=contact, personal=personal + [(contact.name, ERASED_NAME), (contact.email, "")]
        )
        cleared = Response.objects.filter(contact=contact).exclude(comment="").update(comment="", updated_at=now)
        contact.name, contact.email, contact.title = ERASED_NAME, erased_email(contact.pk), ""
        if contact.archived_at is None:
            contact.archived_at, contact.archived_by = now, by
        contact.save(update_fields=["name", "email", "title", "archived_at", "archived_by"])
        return ContactErasure.objects.create(
            contact=contact, account_id=contact.account_id, erased_by=by, erased_at=now, comments_cleared=cleared
        )
