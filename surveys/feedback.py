"""Working the feedback inbox: every comment gets a status, an owner and an internal note."""

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from accounts.selectors import people_in_scope
from surveys.models import Response

NOTE_MAX_LENGTH = 5000


def feedback_update(*, response: Response, by: User, status: str, assignee: User | None, note: str) -> Response:
    """Set an answer's feedback status, assignee and internal note, and record when it changed.

    `by` must be allowed to edit the answer's account (the view checks that). The rules hold
    here too: the status is one of the choices, the assignee is someone in `by`'s scope (or
    stays who it was), the note has at most NOTE_MAX_LENGTH characters. Raises ValidationError.
    """
    errors = {}
    if status not in Response.FeedbackStatus.values:
        errors["status"] = "Pick new, acknowledged or closed."
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
