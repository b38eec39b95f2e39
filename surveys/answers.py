"""Answering a survey from its email link, and opting out: the rules behind the public pages.

The token in the link is the only credential. An invitation can take an answer when it was
sent, its contact has not opted out, and its link is open (60 days after sending while
unanswered); an answer can be changed for `Response.EDITABLE_FOR`, then it locks.
"""

import datetime
import re

from django.db import transaction
from django.utils import timezone

from accounts.models import Account, Contact
from accounts.suppression import address_suppress
from surveys.models import Campaign, Invitation, Response, Survey
from surveys.tasks import response_recorded_task
from webhooks.models import EventType
from webhooks.outbox import event_record, events_record

LINK_OPEN_FOR = datetime.timedelta(days=60)
COMMENT_MAX_CHARS = 5_000
ANSWERABLE = Invitation.WENT_OUT

# Tokens are secrets.token_urlsafe(); anything else is refused before it reaches the database.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_INTEGER = re.compile(r"-?[0-9]{1,4}")  # ASCII digits only: int() also reads other scripts


class AnswerRefused(Exception):
    """Why an answer cannot be given, changed or read: the public page shows it with `status`."""

    def __init__(self, status: int, title: str, message: str = ""):
        super().__init__(title)
        self.status = status
        self.title = title
        self.message = message


def not_found() -> AnswerRefused:
    return AnswerRefused(
        404,
        "This survey link is not valid",
        "Please check that the whole link was copied from the email. "
        "If it still does not work, the survey may have been withdrawn.",
    )


def opted_out() -> AnswerRefused:
    return AnswerRefused(
        410,
        "You have opted out of these surveys",
        "You have opted out of our surveys, so this link no longer records answers. We will not ask you again.",
    )


def closed() -> AnswerRefused:
    return AnswerRefused(
        410, "This survey has closed", "Survey links stay open for 60 days after they are sent. Thank you all the same."
    )


def locked() -> AnswerRefused:
    return AnswerRefused(
        409,
        "Your answer can no longer be changed",
        "Answers can be changed for 7 days after they are given. Yours is recorded: thank you.",
    )


def bad_score(survey: Survey) -> AnswerRefused:
    return AnswerRefused(400, f"Please choose a score from {survey.scale.start} to {survey.scale.stop - 1}.")


def comment_too_long() -> AnswerRefused:
    return AnswerRefused(400, f"Please keep your comment to {COMMENT_MAX_CHARS:,} characters or fewer.")


def invitation_for_token(token: str) -> Invitation:
    """The sent invitation behind a link, with its survey, contact and answer; AnswerRefused(404) otherwise."""
    if not _TOKEN.fullmatch(token):
        raise not_found()
    # Sliced, not .first(): the token is unique, and an ORDER BY costs every answer page its time.
    invitation = next(
        iter(
            Invitation.objects.select_related("campaign__survey", "contact", "response").filter(
                token=token, status__in=ANSWERABLE
            )[:1]
        ),
        None,
    )
    if invitation is None:
        raise not_found()
    return invitation


def invitation_response(invitation: Invitation) -> Response | None:
    return getattr(invitation, "response", None)  # a missing reverse one-to-one raises AttributeError


def answer_refusal(*, invitation: Invitation, response: Response | None) -> AnswerRefused | None:
    """Why this invitation cannot take an answer now (None: it can). 409 means: answered and locked."""
    if invitation.status not in ANSWERABLE:
        return not_found()
    if invitation.contact.opted_out_at is not None:
        return opted_out()
    if response is None:
        if invitation.sent_at is not None and timezone.now() >= invitation.sent_at + LINK_OPEN_FOR:
            return closed()
        return None
    return locked() if response.is_locked else None


def score_parse(raw: str | None) -> int | None:
    """The whole number typed in `raw` (digits, optional minus sign), else None. The scale is checked later."""
    if raw is None or not _INTEGER.fullmatch(raw.strip()):
        return None
    return int(raw.strip())


def _clean_comment(comment: str | None) -> str | None:
    if comment is None:
        return None
    # PostgreSQL refuses NUL characters in text; they are never meant, so they go.
    comment = comment.replace("\x00", "").strip()
    if len(comment) > COMMENT_MAX_CHARS:
        raise comment_too_long()
    return comment


def response_submit(*, invitation: Invitation, score: int, comment: str | None = None) -> Response:
    """Record or change the invitation's one answer; `comment=None` leaves the comment as it is.

    Raises AnswerRefused: 400 for a score off the survey's scale or a comment over 5,000
    characters, 404 / 410 when the invitation cannot be answered, 409 when the answer has locked.
    The invitation becomes `responded`. If something changed, the answer is marked for follow-up
    (the owner's alert, a health recompute) and handed to `response_recorded_task` after commit;
    if the broker is down the answer and its mark stay, and the sweep follows it up later
    (surveys/follow_up.py).
    """
    survey = invitation.campaign.survey
    if isinstance(score, bool) or not isinstance(score, int) or score not in survey.scale:
        raise bad_score(survey)
    comment = _clean_comment(comment)

    with transaction.atomic():
        # Two submits of one invitation (a double tap, the script and the button) queue on
        # this row lock, so the second sees the first one's answer and updates it.
        current = Invitation.objects.select_for_update().get(pk=invitation.pk)
        current.contact = Contact.objects.get(pk=current.contact_id)
        response = Response.objects.filter(invitation=current).first()
        refusal = answer_refusal(invitation=current, response=response)
        if refusal is not None:
            raise refusal

        now = timezone.now()
        if response is None:
            response = Response.objects.create(
                invitation=current,
                account_id=current.account_id,
                contact_id=current.contact_id,
                kind=survey.kind,
                score=score,
                comment=comment or "",
                answered_at=now,
                updated_at=now,
                follow_up_due=True,
            )
            changed = True
        else:
            changed = response.score != score or (comment is not None and comment != response.comment)
            if changed:
                response.score = score
                if comment is not None:
                    response.comment = comment
                response.updated_at = now
                response.follow_up_due = True
                response.save(update_fields=["score", "comment", "updated_at", "follow_up_due"])

        if current.status != Invitation.Status.RESPONDED:
            Invitation.objects.filter(pk=current.pk).update(status=Invitation.Status.RESPONDED)
        if changed:
            response_id = response.pk
            transaction.on_commit(lambda: response_recorded_task.delay(response_id), robust=True)
            _response_events_record(response=response, contact=current.contact, campaign=invitation.campaign)

    invitation.status = Invitation.Status.RESPONDED
    return response


def response_event_data(*, response: Response, contact: Contact, campaign: Campaign) -> dict:
    """The facts of the response.* webhooks (the account is added by the outbox)."""
    return {
        "response_id": response.pk,
        "kind": response.kind,
        "score": response.score,
        "comment": response.comment,
        "answered_at": response.answered_at,
        "updated": response.updated_at != response.answered_at,
        "contact": {"id": contact.pk, "name": contact.name},
        "campaign": {"id": campaign.pk, "name": campaign.name},
    }


def _response_events_record(*, response: Response, contact: Contact, campaign: Campaign) -> None:
    """response.received for every answer recorded or changed; response.low_score once per answer, the first
    time its score is low (as the owner's alert). Written in the answer's transaction."""
    account = Account.objects.get(pk=response.account_id)
    data = response_event_data(response=response, contact=contact, campaign=campaign)
    event_record(type=EventType.RESPONSE_RECEIVED, account=account, data=data)
    if response.alerts_owner:
        events_record(type=EventType.RESPONSE_LOW_SCORE, items=[(account, data)], keys=[f"low-score:{response.pk}"])


def contact_opt_out(*, invitation: Invitation) -> None:
    """Opt the invitation's contact out of every survey, and their address on every account and for
    good (the suppression list: re-adding or importing the address again never lifts it); the
    first opt-out time is kept."""
    now = timezone.now()
    Contact.objects.filter(pk=invitation.contact_id, opted_out_at__isnull=True).update(opted_out_at=now)
    address_suppress(email=invitation.contact.email, reason="opted_out", at=now)
    invitation.contact.refresh_from_db(fields=["opted_out_at"])
