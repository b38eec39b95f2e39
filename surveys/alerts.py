"""Low scores alert the account owner: in the app and by email, once per answer."""

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.notification_emails import notification_emails_send
from accounts.services import notification_create
from accounts.validators import one_line
from surveys.models import Response


def quoted(comment: str) -> str:
    """The customer's comment as a plain-text quote: every line behind "> ", so no line of it can pass
    for the email's own text (a link, a signature); control characters other than line breaks dropped."""
    lines = comment.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join("> " + one_line(line) if line.strip() else ">" for line in lines)


def response_alert_owner(*, response_id: int) -> bool:
    """Alert the owner of the answer's account if the score is low (NPS 0-6, CSAT 1-2, CES 1-3).

    Safe to call again for the same answer: the notification key makes it a no-op.
    Returns whether an alert went out now. The email goes with the notification: if it fails,
    the notification records why and the retry sweep sends it (accounts/notification_emails.py).
    """
    response = Response.objects.select_related("account__owner", "contact").filter(pk=response_id).first()
    if response is None or not response.alerts_owner or response.account.owner is None:
        return False
    owner = response.account.owner
    who = response.contact.name if response.contact else "A contact"
    # One line: names stored before the forms refused line breaks must not break the email's subject.
    title = one_line(f"{response.account.name}: {who} answered {response.get_kind_display()} {response.score}")
    url = response.account.get_absolute_url()
    # An answer with a comment is an inbox item: the alert opens it; one without opens the account.
    item_url = reverse("surveys:feedback_item", args=[response.pk]) if response.comment else url
    context = {
        "response": response,
        "owner": owner,
        "who": who,
        "quoted_comment": quoted(response.comment),
        "link": settings.SITE_URL + item_url,
        "account_link": settings.SITE_URL + url,
    }
    notification = notification_create(
        user=owner,
        key=f"low-score:{response.pk}",
        title=title,
        body=response.comment,
        url=item_url,
        email_subject=title,
        email_body=render_to_string("surveys/email/low_score_alert.txt", context),
    )
    if notification is None:
        return False
    notification_emails_send(notifications=[notification])
    return True
