"""The public pages a contact reaches from a survey email: answer, comment, opt out.

The token in the URL is the only credential, so these views are csrf-exempt (a mail
client's one-click unsubscribe POST carries no cookie) and rate-limited per client.
A GET never records anything: mail scanners open every link in a message. Every
refusal is a friendly page with its status, never a 500.
"""

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.company import company_name
from accounts.ratelimit import rate_limit
from surveys import answers
from surveys.answers import AnswerRefused
from surveys.models import Invitation, Response

survey_rate_limit = rate_limit(
    "survey", limit_setting="SURVEY_RATE_LIMIT_PER_MINUTE", template="surveys/public_message.html"
)
UNREADABLE = AnswerRefused(400, "That request could not be read", "Please go back to the email and try again.")


def _message(request, refusal: AnswerRefused, *, invitation: Invitation | None = None) -> HttpResponse:
    context = {"title": refusal.title, "message": refusal.message, "invitation": invitation}
    return render(request, "surveys/public_message.html", context, status=refusal.status)


def _post_data(request):
    """request.POST, or None when the body cannot be read (too big, too many fields or files, broken multipart)."""
    try:
        return request.POST
    except (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent, MultiPartParserError):
        return None


def _answer_page(
    request,
    invitation: Invitation,
    response: Response | None,
    *,
    selected: int | None = None,
    error: str = "",
    comment: str | None = None,
    status: int = 200,
) -> HttpResponse:
    survey = invitation.campaign.survey
    if response is None:
        state = "question"
    elif response.is_locked:
        state = "locked"
    elif selected is not None and selected != response.score:
        state = "change"  # opened from another score button than the recorded answer
    elif request.GET.get("done") or not survey.follow_up_question:
        state = "done"
    else:
        state = "thanks"
    if state in ("thanks", "done", "locked"):
        selected = response.score
    low, high = survey.scale_labels
    company = company_name()  # read once: the page shows it three times, and each read is a cache round trip
    context = {
        "COMPANY_NAME": company,
        "question": survey.question_about(company),
        "invitation": invitation,
        "survey": survey,
        "response": response,
        "state": state,
        "selected": selected,
        "scale": list(survey.scale),
        "low_label": low,
        "high_label": high,
        # Script submits the form at once only for a first answer clicked in the email.
        "autosubmit": state == "question" and selected is not None and not error,
        "error": error,
        "comment": response.comment if comment is None and response is not None else (comment or ""),
        "comment_max": answers.COMMENT_MAX_CHARS,
    }
    return render(request, "surveys/answer.html", context, status=status)


@csrf_exempt
@never_cache
@survey_rate_limit
@require_http_methods(["GET", "HEAD", "POST"])
def answer(request, token):
    try:
        invitation = answers.invitation_for_token(token)
    except AnswerRefused as refusal:
        return _message(request, refusal)
    response = answers.invitation_response(invitation)
    refusal = answers.answer_refusal(invitation=invitation, response=response)
    if refusal is not None and (request.method == "POST" or refusal.status != 409):
        return _message(request, refusal, invitation=invitation)

    if request.method != "POST":
        clicked = answers.score_parse(request.GET.get("score"))
        selected = clicked if clicked in invitation.campaign.survey.scale else None
        return _answer_page(request, invitation, response, selected=selected)

    data = _post_data(request)
    if data is None:
        return _message(request, UNREADABLE, invitation=invitation)
    scores = data.getlist("score")
    comment = data.get("comment")  # absent: leave the comment as it is
    if not scores and comment is not None and response is not None:
        score = response.score  # a comment on its own, once there is an answer
    else:
        score = answers.score_parse(scores[0]) if len(scores) == 1 else None
    try:
        if score is None:
            raise answers.bad_score(invitation.campaign.survey)
        answers.response_submit(invitation=invitation, score=score, comment=comment)
    except AnswerRefused as refusal:
        if refusal.status != 400:
            return _message(request, refusal, invitation=invitation)
        return _answer_page(request, invitation, response, error=refusal.title, comment=comment, status=400)
    url = reverse("surveys:answer", args=[token])
    return redirect(url + "?done=1" if comment is not None else url)


@csrf_exempt
@never_cache
@survey_rate_limit
@require_http_methods(["GET", "HEAD", "POST"])
def opt_out(request, token):
    try:
        invitation = answers.invitation_for_token(token)
    except AnswerRefused as refusal:
        return _message(request, refusal)

    if request.method == "POST":
        data = _post_data(request)
        if data is None:
            return _message(request, UNREADABLE, invitation=invitation)
        answers.contact_opt_out(invitation=invitation)
        if data.get("List-Unsubscribe") == "One-Click":  # RFC 8058: the mail client, not a person
            return HttpResponse("You are unsubscribed from these surveys.\n", content_type="text/plain; charset=utf-8")
        return redirect("surveys:opt_out", token=token)

    return render(request, "surveys/opt_out.html", {"invitation": invitation, "contact": invitation.contact})
