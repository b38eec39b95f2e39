"""The survey email: an HTML part with the scale as one-click buttons, a plain-text part,
and the one-click unsubscribe headers (RFC 8058)."""

from django.core.mail import EmailMultiAlternatives

from accounts.company import company_name
from accounts.validators import one_line
from core.emails import make_message
from surveys.models import Invitation


def invitation_message(
    invitation: Invitation, *, connection=None, reminder: bool = False, company: str | None = None
) -> EmailMultiAlternatives:
    """`company` is the company name, read once by a sender for its whole batch (each read is a cache
    round trip, and a campaign sends thousands); read here when not given."""
    survey = invitation.campaign.survey
    contact = invitation.contact
    low_label, high_label = survey.scale_labels
    answer_url = invitation.answer_url
    if company is None:
        company = company_name()
    question = survey.question_about(company)
    context = {
        "company": company,
        "contact": contact,
        "first_name": contact.name.split(" ")[0] if contact.name else "",
        "survey": survey,
        "question": question,
        # The scores as text: an int in a template goes through number formatting, three times a button.
        "buttons": [(str(score), f"{answer_url}?score={score}") for score in survey.scale],
        "low_label": low_label,
        "high_label": high_label,
        "answer_url": answer_url,
        "opt_out_url": invitation.opt_out_url,
        "reminder": reminder,
    }
    # One line: a question stored before the forms refused line breaks must not raise BadHeaderError.
    subject = one_line(f"{'Reminder: ' if reminder else ''}{question}")
    return make_message(
        "surveys/email/invitation",
        to=contact.email,
        subject=subject,
        context=context,
        headers={
            "List-Unsubscribe": f"<{invitation.opt_out_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        connection=connection,
    )
