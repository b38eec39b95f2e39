"""The public answer page at /s/<token>/: what a contact sees after clicking a score in the email."""

import datetime
import re

import pytest
import time_machine
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from surveys.models import Invitation, Kind, Response
from tests.factories import InvitationFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db

SENT = datetime.datetime(2025, 3, 3, 9, 0, tzinfo=datetime.UTC)
NPS_ERROR = "Please choose a score from 0 to 10."
NOT_VALID = "This survey link is not valid"


@pytest.fixture(autouse=True)
def _an_hour_after_sending():
    """Tests run an hour after the invitations went out, with a fresh rate limit."""
    cache.clear()
    with time_machine.travel(SENT + datetime.timedelta(hours=1), tick=False):
        yield


@pytest.fixture
def invitation():
    return InvitationFactory(sent_at=SENT)


def url(invitation, query=""):
    return f"/s/{invitation.token}/{query}"


def checked_scores(html: str) -> list[str]:
    return re.findall(r'value="(\d+)" required checked', html)


def assert_nothing_stored(invitation):
    assert not Response.objects.exists()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.SENT


# --- GET never records ------------------------------------------------------------------


def test_get_never_records_an_answer(client, invitation):
    page = client.get(url(invitation, "?score=9"))

    html = page.content.decode()
    assert page.status_code == 200
    assert "How likely are you to recommend our company to a friend or colleague?" in html
    assert checked_scores(html) == ["9"]
    assert re.findall(r'name="score" value="(\d+)"', html) == [str(n) for n in range(11)]
    assert "0 = Not at all likely" in html and "10 = Extremely likely" in html
    assert f'<form method="post" action="/s/{invitation.token}/" class="answer-form" data-autosubmit>' in html
    assert '<button type="submit" class="public-wide">Send my answer</button>' in html
    assert_nothing_stored(invitation)


def test_head_never_records_an_answer(client, invitation):
    assert client.head(url(invitation, "?score=9")).status_code == 200
    assert_nothing_stored(invitation)


def test_page_loads_its_script_from_a_file_and_has_no_inline_script(client, invitation):
    html = client.get(url(invitation, "?score=9")).content.decode()

    assert '<script src="/static/js/answer.js" defer></script>' in html
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert " style=" not in html and "onclick" not in html


def test_public_page_has_no_app_navigation_and_is_not_cached(client, invitation, alice):
    client.force_login(alice)

    page = client.get(url(invitation))

    html = page.content.decode()
    assert 'aria-label="Main"' not in html and "Log out" not in html
    assert "no-store" in page["Cache-Control"]
    assert f'<a href="/s/{invitation.token}/opt-out/">Opt out</a>' in html


@pytest.mark.parametrize("query", ["", "?score=abc", "?score=11", "?score=-1", "?score=5.5", "?score=", "?score=%00"])
def test_get_without_a_valid_score_shows_the_question_with_nothing_selected(client, invitation, query):
    page = client.get(url(invitation, query))

    html = page.content.decode()
    assert page.status_code == 200
    assert "How likely are you to recommend our company" in html
    assert checked_scores(html) == []
    assert "data-autosubmit" not in html
    assert_nothing_stored(invitation)


@pytest.mark.parametrize(
    "kind, values, low, high",
    [
        (Kind.CSAT, range(1, 6), "1 = Very unsatisfied", "5 = Very satisfied"),
        (Kind.CES, range(1, 8), "1 = Strongly disagree", "7 = Strongly agree"),
    ],
)
def test_scale_and_end_labels_follow_the_survey_kind(client, kind, values, low, high):
    invitation = InvitationFactory(campaign__survey=SurveyFactory(kind=kind), sent_at=SENT)

    html = client.get(url(invitation, "?score=0")).content.decode()  # 0 is off both scales

    assert re.findall(r'name="score" value="(\d+)"', html) == [str(n) for n in values]
    assert low in html and high in html
    assert checked_scores(html) == []


# --- answering, commenting, changing ----------------------------------------------------


def test_post_records_the_answer_then_asks_the_follow_up_question(client, invitation):
    posted = client.post(url(invitation), {"score": "9"})

    assert posted.status_code == 302 and posted["Location"] == url(invitation)
    response = Response.objects.get()
    assert (response.invitation, response.score, response.comment) == (invitation, 9, "")
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.RESPONDED

    html = client.get(posted["Location"]).content.decode()
    assert '<h1 id="answer-title">Thank you!</h1>' in html
    assert "What is the main reason for your score?" in html
    assert '<input type="hidden" name="score" value="9">' in html
    assert '<textarea id="comment" name="comment" rows="5" maxlength="5000"></textarea>' in html
    assert "data-autosubmit" not in html


def test_comment_is_added_and_the_page_says_thank_you(client, invitation):
    client.post(url(invitation), {"score": "9"})

    posted = client.post(url(invitation), {"score": "9", "comment": "  Fast support.\n"})

    assert posted.status_code == 302 and posted["Location"] == url(invitation, "?done=1")
    assert Response.objects.values_list("score", "comment").get() == (9, "Fast support.")
    html = client.get(posted["Location"]).content.decode()
    assert "Thank you for your feedback" in html and "Fast support." in html


def test_comment_alone_is_accepted_once_there_is_an_answer(client, invitation):
    client.post(url(invitation), {"score": "7"})

    posted = client.post(url(invitation), {"comment": "Pricing."})

    assert posted.status_code == 302
    assert Response.objects.values_list("score", "comment").get() == (7, "Pricing.")


def test_answer_without_follow_up_question_goes_straight_to_thank_you(client):
    invitation = InvitationFactory(campaign__survey=SurveyFactory(follow_up_question=""), sent_at=SENT)
    client.post(url(invitation), {"score": "10"})

    html = client.get(url(invitation)).content.decode()

    assert "Thank you for your feedback" in html and 'name="comment"' not in html


def test_contact_can_change_the_score_for_seven_days(client, invitation):
    client.post(url(invitation), {"score": "9", "comment": "Good."})
    first = Response.objects.get()

    with time_machine.travel(SENT + datetime.timedelta(days=6), tick=False):
        client.post(url(invitation), {"score": "5"})

    response = Response.objects.get()
    assert (response.pk, response.score, response.comment) == (first.pk, 5, "Good.")
    assert response.answered_at == first.answered_at and response.updated_at > first.updated_at


def test_another_score_button_clicked_later_is_offered_as_a_change_but_not_sent(client, invitation):
    client.post(url(invitation), {"score": "9"})

    html = client.get(url(invitation, "?score=3")).content.decode()

    assert "You answered <strong>9</strong>" in html
    assert checked_scores(html) == ["3"]
    assert "data-autosubmit" not in html and "Change my answer" in html
    assert Response.objects.get().score == 9


def test_reload_after_answering_does_not_resubmit(client, invitation):
    posted = client.post(url(invitation), {"score": "9"}, follow=True)

    assert posted.redirect_chain == [(url(invitation), 302)]
    assert posted.request["REQUEST_METHOD"] == "GET"
    assert Response.objects.count() == 1


def test_answer_pages_need_no_csrf_token(invitation):
    client = Client(enforce_csrf_checks=True)

    assert client.post(url(invitation), {"score": "9"}).status_code == 302
    assert Response.objects.get().score == 9


# --- locked, closed, opted out, unknown -------------------------------------------------


def test_locked_answer_is_shown_read_only(client, invitation):
    client.post(url(invitation), {"score": "9", "comment": "Good."})

    with time_machine.travel(SENT + datetime.timedelta(days=8), tick=False):
        page = client.get(url(invitation, "?score=2"))

    html = page.content.decode()
    assert page.status_code == 200
    assert 'You answered <strong class="public-score">9</strong> out of 10 on 3 March 2025.' in html
    assert "Good." in html
    assert "Your answer is locked: answers can be changed for 7 days after they are given." in html
    assert "<form" not in html


def test_locked_answer_refuses_a_change_with_409(client, invitation):
    client.post(url(invitation), {"score": "9", "comment": "Good."})

    with time_machine.travel(SENT + datetime.timedelta(days=8), tick=False):
        page = client.post(url(invitation), {"score": "2", "comment": "Changed my mind."})

    assert page.status_code == 409
    assert "Your answer can no longer be changed" in page.content.decode()
    assert Response.objects.values_list("score", "comment").get() == (9, "Good.")


@pytest.mark.parametrize("method", ["get", "post"])
def test_unanswered_link_closes_after_60_days(client, invitation, method):
    with time_machine.travel(SENT + datetime.timedelta(days=61), tick=False):
        page = getattr(client, method)(url(invitation, "?score=9"), {"score": "9"} if method == "post" else None)

    assert page.status_code == 410
    assert "This survey has closed" in page.content.decode()
    assert_nothing_stored(invitation)


@pytest.mark.parametrize("method", ["get", "post"])
def test_opted_out_contact_gets_410_and_nothing_is_stored(client, invitation, method):
    invitation.contact.opted_out_at = timezone.now()
    invitation.contact.save()

    page = getattr(client, method)(url(invitation, "?score=9"), {"score": "9"} if method == "post" else None)

    assert page.status_code == 410
    assert "You have opted out of these surveys" in page.content.decode()
    assert_nothing_stored(invitation)


@pytest.mark.parametrize("method", ["get", "post"])
def test_unknown_token_is_a_friendly_404(client, invitation, method):
    page = getattr(client, method)("/s/" + "A" * 32 + "/?score=9", {"score": "9"} if method == "post" else None)

    assert page.status_code == 404
    assert f'<h1 id="message-title">{NOT_VALID}</h1>' in page.content.decode()
    assert_nothing_stored(invitation)


@pytest.mark.parametrize("status", ["pending", "sending", "failed", "skipped"])
def test_invitation_never_sent_is_404(client, status):
    invitation = InvitationFactory(status=status, sent_at=None)

    get, post = client.get(url(invitation, "?score=9")), client.post(url(invitation), {"score": "9"})

    assert (get.status_code, post.status_code) == (404, 404)
    assert NOT_VALID in get.content.decode() and NOT_VALID in post.content.decode()
    assert not Response.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/s/" + "a" * 65 + "/",
        "/s/abc$def/",
        "/s/%00/",
        "/s/%C3%BC%E2%82%AC/",
        "/s/a.b/",
        "/s/%FF%FE/",
        "/s/'%20OR%201=1/",
    ],
)
def test_malformed_token_is_404_never_500(client, invitation, path):
    for page in (client.get(path + "?score=9"), client.post(path, {"score": "9"}), client.post(path + "opt-out/")):
        assert page.status_code == 404
        assert NOT_VALID in page.content.decode()
    assert_nothing_stored(invitation)
    invitation.contact.refresh_from_db()
    assert invitation.contact.opted_out_at is None


def test_other_methods_are_not_allowed(client, invitation):
    assert client.put(url(invitation), "score=9").status_code == 405
    assert_nothing_stored(invitation)


# --- garbage in, 400 out, nothing stored ------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"score": ""},
        {"score": " "},
        {"score": "11"},
        {"score": "-1"},
        {"score": "5.5"},
        {"score": "abc"},
        {"score": "1e1"},
        {"score": "٣"},  # an Arabic-Indic digit: int() would take it, the scale does not
        {"score": ["1", "2"]},
        {"score": "99999999999999999999"},
        {"comment": "A comment without any score."},
    ],
)
def test_bad_score_is_refused_with_400_and_nothing_is_stored(client, invitation, data):
    page = client.post(url(invitation), data)

    assert page.status_code == 400
    assert f'<p class="form-error" role="alert">{NPS_ERROR}</p>' in page.content.decode()
    assert_nothing_stored(invitation)


def test_bad_score_on_a_csat_survey_names_its_scale(client):
    invitation = InvitationFactory(campaign__survey=SurveyFactory(kind=Kind.CSAT), sent_at=SENT)

    page = client.post(url(invitation), {"score": "0"})

    assert page.status_code == 400
    assert "Please choose a score from 1 to 5." in page.content.decode()
    assert not Response.objects.exists()


def test_huge_comment_is_refused_and_kept_in_the_form_to_shorten(client, invitation):
    client.post(url(invitation), {"score": "9"})

    page = client.post(url(invitation), {"score": "9", "comment": "x" * 5001})

    html = page.content.decode()
    assert page.status_code == 400
    assert "Please keep your comment to 5,000 characters or fewer." in html
    assert "x" * 5001 in html
    assert Response.objects.values_list("score", "comment").get() == (9, "")


def test_huge_comment_with_a_first_answer_stores_nothing(client, invitation):
    page = client.post(url(invitation), {"score": "9", "comment": "x" * 20_000})

    assert page.status_code == 400
    assert "Please keep your comment to 5,000 characters or fewer." in page.content.decode()
    assert_nothing_stored(invitation)


def test_non_utf8_body_is_refused_with_400(client, invitation):
    page = client.generic(
        "POST", url(invitation), b"score=\xff\xfe&comment=\xc3\x28", "application/x-www-form-urlencoded"
    )

    assert page.status_code == 400
    assert NPS_ERROR in page.content.decode()
    assert_nothing_stored(invitation)


def test_non_utf8_comment_with_a_good_score_is_stored_not_a_500(client, invitation):
    # Django reads raw bytes in a form body as Latin-1, so the text survives.
    page = client.generic("POST", url(invitation), b"score=9&comment=caf\xe9", "application/x-www-form-urlencoded")

    assert page.status_code == 302
    assert Response.objects.values_list("score", "comment").get() == (9, "café")


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"--x\r\nContent-Disposition: form-data; name=score\r\n\r\n9", "multipart/form-data"),  # no boundary
        (b"garbage", "multipart/form-data; boundary=x"),
    ],
)
def test_broken_multipart_body_is_refused_with_400(client, invitation, body, content_type):
    page = client.generic("POST", url(invitation), body, content_type)

    assert page.status_code == 400
    assert_nothing_stored(invitation)


def test_body_with_too_many_files_is_refused_with_the_public_400_page(client, invitation, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 1
    files = [SimpleUploadedFile(f"f{n}.txt", b"x") for n in range(2)]

    page = client.post(url(invitation), {"score": "9", "attachment": files})

    assert page.status_code == 400
    assert "That request could not be read" in page.content.decode()
    assert_nothing_stored(invitation)


def test_body_over_the_upload_limit_is_refused_with_400(client, invitation, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000

    page = client.post(url(invitation), {"score": "9", "comment": "x" * 2_000})

    assert page.status_code == 400
    assert "That request could not be read" in page.content.decode()
    assert_nothing_stored(invitation)


def test_existing_answer_is_untouched_by_a_bad_post(client, invitation):
    ResponseFactory(invitation=invitation, score=8, comment="Fine.", answered_at=timezone.now())

    page = client.post(url(invitation), {"score": "12", "comment": "Overwrite?"})

    assert page.status_code == 400
    assert Response.objects.values_list("score", "comment").get() == (8, "Fine.")


# --- rate limit -------------------------------------------------------------------------


def test_too_many_requests_from_one_client_get_a_friendly_429(client, invitation, settings):
    settings.SURVEY_RATE_LIMIT_PER_MINUTE = 3
    for _ in range(3):
        assert client.get(url(invitation, "?score=9")).status_code == 200

    refused = client.post(url(invitation), {"score": "9"})

    assert refused.status_code == 429
    assert "Please wait a minute and try again." in refused.content.decode()
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert_nothing_stored(invitation)
    # Another client is not held back, and the same client may go on in the next minute.
    assert client.get(url(invitation), REMOTE_ADDR="10.0.0.2").status_code == 200
    with time_machine.travel(SENT + datetime.timedelta(hours=1, minutes=1), tick=False):
        assert client.post(url(invitation), {"score": "9"}).status_code == 302
    assert Response.objects.get().score == 9


def test_rate_limit_lets_requests_through_when_the_cache_is_down(client, invitation, settings):
    settings.SURVEY_RATE_LIMIT_PER_MINUTE = 1
    # A Redis cache where nothing listens (port 9, discard): every cache call fails to connect.
    settings.CACHES = {
        "default": {
            "BACKEND": "config.redis_cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 1},
        }
    }

    assert [client.get(url(invitation)).status_code for _ in range(3)] == [200, 200, 200]
