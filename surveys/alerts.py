"""Low scores alert the account owner: in the app and by email, once per answer."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from accounts.services import notification_create
from surveys.models import Response


def response_alert_owner(*, response_id: int) -> bool:
    """Alert the owner of the answer's account if the score is low (NPS 0-6, CSAT 1-2, CES 1-3).

    Safe to call again for the same answer: the notification key makes it a no-op.
    Returns whether an alert went out now.
    """
    response = Response.objects.select_related("account__owner", "contact").filter(pk=response_id).first()
    if response is None or not response.alerts_owner or response.account.owner is None:
        return False
    owner = response.account.owner
    who = response.contact.name if response.contact else "A contact"
    title = f"{response.account.name}: {who} answered {response.get_kind_display()} {response.score}"
    url = response.account.get_absolute_url()
    key = f"low-score:{response.pk}"
    if notification_create(user=owner, key=key, title=title, body=response.comment, url=url) is None:
        return False
    context = {"response": response, "owner": owner, "who": who, "link": settings.SITE_URL + url}
    send_mail(
        subject=title,
        message=render_to_string("surveys/email/low_score_alert.txt", context),
        from_email=None,
        recipient_list=[owner.email],
    )
    return True
