"""Fuzzing the public survey pages, /s/<token>/ and /s/<token>/opt-out/: whatever the token,
query, body or method, the contact gets a page (never a 5xx), and the database holds only
valid answers and the opt-outs that were asked for.

Each example is a short visit sequence run in a savepoint that is rolled back, so every
example starts from the same invitations and a failure replays exactly. `derandomize=True`
makes the examples a function of the test's code alone: CI runs the same cases every time
and no example database is written.
"""

import datetime
import json
import operator
import re
from typing import NamedTuple
from urllib.parse import quote, quote_from_bytes, urlencode

import pytest
from django.db import transaction
from django.db.models import Count
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Contact
from surveys.answers import COMMENT_MAX_CHARS
from surveys.models import SCALES, Invitation, Kind, Response
from tests.factories import ContactFactory, InvitationFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db

FUZZ = settings(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])

FORM = "application/x-www-form-urlencoded"
ONE_CLICK_REPLY = b"You are unsubscribed from these surveys.\n"
# The links that take an answer when the examples start; "answered" is open for a change.
ANSWERABLE = ("nps", "csat", "ces_without_follow_up", "answered")
# Links of sent invitations: their opt-out works even when the survey no longer takes answers.
SENT = (*ANSWERABLE, "locked", "expired", "opted_out")
NEVER_SENT = ("pending", "sending", "failed", "skipped")
EXPECTED_STATUSES = {
    ("answer", "GET"): {200, 404, 410},
    ("answer", "HEAD"): {200, 404, 410},
    ("answer", "POST"): {302, 400, 404, 409, 410},
    ("opt-out", "GET"): {200, 404},
    ("opt-out", "HEAD"): {200, 404},
    ("opt-out", "POST"): {200, 302, 400, 404},
}


@pytest.fixture
def links(settings):
    """One invitation in every state a link can be in, by name."""
    settings.SURVEY_RATE_LIMIT_PER_MINUTE = 1_000_000  # fuzzing sends hundreds of requests a minute
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000  # small limits, so bodies over them stay cheap to build
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 8
    now = timezone.now()
    an_hour_ago = now - datetime.timedelta(hours=1)
    invitations = {
        "nps": InvitationFactory(sent_at=an_hour_ago),
        "csat": InvitationFactory(campaign__survey=SurveyFactory(kind=Kind.CSAT), sent_at=an_hour_ago),
        "ces_without_follow_up": InvitationFactory(
            campaign__survey=SurveyFactory(kind=Kind.CES, follow_up_question=""), sent_at=an_hour_ago
        ),
        "answered": InvitationFactory(status=Invitation.Status.RESPONDED, sent_at=now - datetime.timedelta(days=2)),
        "locked": InvitationFactory(status=Invitation.Status.RESPONDED, sent_at=now - datetime.timedelta(days=9)),
        "expired": InvitationFactory(sent_at=now - datetime.timedelta(days=61)),
        "opted_out": InvitationFactory(
            contact=ContactFactory(opted_out_at=now - datetime.timedelta(days=1)), sent_at=an_hour_ago
        ),
        **{status: InvitationFactory(status=status, sent_at=None) for status in NEVER_SENT},
    }
    for name, days_ago in (("answered", 1), ("locked", 8)):
        answered_at = now - datetime.timedelta(days=days_ago)
        ResponseFactory(invitation=invitations[name], score=8, comment="Good.", answered_at=answered_at)
    return invitations


# ---- strategies ------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
scores = st.one_of(
    st.integers(-2, 12).map(str),  # in and around every scale
    st.sampled_from(
        ["١٠", "٣", "５", "+5", " 5 ", "5.0", "1e3", "", "0x5", "05", "-0", "5\x00", "\x005", "10\n", "\xa09", "1_0"]
    ),
    st.integers().map(str),
    st.floats().map(str),
    st.text(max_size=12),
)
comments = st.one_of(
    st.text(max_size=300),  # any code point but a lone surrogate: NUL, controls, RTL marks, emoji
    st.sampled_from(
        ["\x00", "Fine\x00 thanks", "\u202egnirts desrever\u202c", "שלום, תודה", "👍🏽👨‍👩‍👧", "   ", "<b>hi</b>"]
    ),
    st.builds(operator.mul, st.sampled_from(["x", "😀", "\x00", "é", " ", "\u200f"]), st.integers(4_990, 5_010)),
    st.builds(operator.mul, st.sampled_from(["x", "ü"]), st.integers(5_000, 40_000)),
)
# Lone surrogates cannot be UTF-8, but a client can still send their bytes.
surrogate_bytes = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=4).map(
    lambda text: text.encode("utf-8", "surrogatepass")
)
fields = st.one_of(
    st.tuples(st.just("score"), scores),
    st.tuples(st.just("comment"), comments | surrogate_bytes),
    st.tuples(st.just("List-Unsubscribe"), st.sampled_from(["One-Click", "one-click", ""]) | st.text(max_size=10)),
    st.tuples(st.sampled_from(["done", "confirm"]) | st.text(max_size=10), st.text(max_size=20)),
)
# What a person sends: a score from 0 to 10 (off the CSAT and CES scales at the top), perhaps a comment.
plausible_answers = st.builds(
    lambda score, comment: (
        ([("score", str(score))] if score is not None else []) + ([("comment", comment)] if comment is not None else [])
    ),
    st.none() | st.integers(0, 10),
    st.none() | st.text(max_size=100),
)
body_kinds = {
    "answer": plausible_answers.map(lambda pairs: (urlencode(pairs).encode(), FORM)),
    "fuzzed answer": st.builds(
        lambda score, comment: (urlencode({"score": score, "comment": comment}).encode(), FORM), scores, comments
    ),
    "form": st.lists(fields, max_size=10).map(lambda pairs: (urlencode(pairs).encode(), FORM)),  # repeated keys too
    "multipart": st.lists(fields, max_size=6).map(
        lambda pairs: (
            encode_multipart(BOUNDARY, {key: [value for k, value in pairs if k == key] for key, _ in pairs}),
            MULTIPART_CONTENT,
        )
    ),
    "one-click": st.sampled_from(  # RFC 8058: a mail client's POST, form-encoded or multipart
        [
            (b"List-Unsubscribe=One-Click", FORM),
            (encode_multipart(BOUNDARY, {"List-Unsubscribe": "One-Click"}), MULTIPART_CONTENT),
            (b"List-Unsubscribe=One-Click", "text/plain"),
        ]
    ),
    "bytes": st.tuples(
        st.binary(max_size=200),  # invalid UTF-8, NUL bytes, multipart garbage
        st.sampled_from(
            [
                FORM,
                f"{FORM}; charset=utf-16",
                f"{FORM}; charset=bogus",
                MULTIPART_CONTENT,
                "multipart/form-data",
                "multipart/form-data; boundary=",
                "application/json",
                "text/plain",
                "",
            ]
        ),
    ),
    "json": json_values.map(lambda value: (json.dumps(value).encode(), "application/json")),
}
# Half of them what a person would send, so answers get recorded and changed within a visit sequence.
bodies = st.sampled_from([*["answer"] * 6, *body_kinds]).flatmap(body_kinds.__getitem__)
queries = st.one_of(
    st.just(""),
    st.lists(fields, max_size=4).map(urlencode),
    st.binary(max_size=30).map(lambda raw: quote_from_bytes(raw, safe="=&%")),  # broken %-escapes too
)
NEAR_MISSES = {
    "swapped case": str.swapcase,
    "one more character": lambda token: token + "A",
    "one character less": lambda token: token[:-1],
    "spaces around": lambda token: f" {token} ",
    "NUL after": lambda token: token + "\x00",
    "quoted again": lambda token: quote(token + "=", safe=""),
}
random_tokens = st.one_of(
    st.text(),  # any alphabet, NUL included
    st.text(alphabet="/?#%&=+;:@. \\\"'<>\x00\t\n-_", max_size=20),  # URL-unsafe characters
    st.text(alphabet="ABCdef0123456789-_", min_size=1, max_size=80),  # token-shaped: 64 characters and more
    st.builds(operator.mul, st.characters(), st.integers(100, 10_000)),  # very long
)
# Mostly real links, where answers and opt-outs happen: (name of an invitation in the fixture, how it is changed).
# Answerable links come up twice as often as the others.
link_kinds = {
    "exact": st.tuples(st.sampled_from((*ANSWERABLE, *SENT, *NEVER_SENT)), st.just("exact")),
    "near miss": st.tuples(st.sampled_from(SENT), st.sampled_from(sorted(NEAR_MISSES))),
    "random": random_tokens,
}
links_to_visit = st.sampled_from(["exact", "exact", "exact", "near miss", "random"]).flatmap(link_kinds.__getitem__)


class Visit(NamedTuple):
    link: tuple[str, str] | str
    page: str
    method: str
    query: str
    body: tuple[bytes, str]


visits = st.builds(
    Visit,
    link=links_to_visit,
    page=st.sampled_from(["answer", "opt-out"]),
    method=st.sampled_from(["GET", "HEAD", "POST", "POST"]),
    query=queries,
    body=bodies,
)


# ---- what must hold --------------------------------------------------------------------


class State(NamedTuple):
    responses: dict[int, tuple[int, str]]
    opted_out: set[int]
    statuses: dict[int, str]


def _state() -> State:
    return State(
        {
            invitation: (score, comment)
            for invitation, score, comment in Response.objects.values_list("invitation", "score", "comment")
        },
        set(Contact.objects.filter(opted_out_at__isnull=False).values_list("pk", flat=True)),
        dict(Invitation.objects.values_list("pk", "status")),
    )


def _assert_only_valid_answers_are_stored():
    for response in Response.objects.select_related("invitation__campaign__survey"):
        low, high, _, _ = SCALES[Kind(response.kind)]
        assert low <= response.score <= high, response
        assert response.kind == response.invitation.campaign.survey.kind, response
        assert response.invitation.status == Invitation.Status.RESPONDED, response
        assert len(response.comment) <= COMMENT_MAX_CHARS and "\x00" not in response.comment, response
    assert not Response.objects.values("invitation").annotate(n=Count("pk")).filter(n__gt=1).exists()


def _token(links, link) -> tuple[str, Invitation | None, str | None]:
    """The token to put in the URL, the invitation it is the exact link of (if any), and that link's name."""
    if isinstance(link, str):
        return link, None, None
    name, change = link
    invitation = links[name]
    if change == "exact":
        return invitation.token, invitation, name
    return NEAR_MISSES[change](invitation.token), None, None


def _send(client, links, visit: Visit):
    """Make the visit: (the page it got, the token in its URL, the invitation of that exact link or None, its name)."""
    token, invitation, name = _token(links, visit.link)
    url = f"/s/{quote(token, safe='')}/" + ("opt-out/" if visit.page == "opt-out" else "")
    body, content_type = visit.body if visit.method == "POST" else (b"", FORM)
    page = client.generic(visit.method, url + (f"?{visit.query}" if visit.query else ""), body, content_type)
    return page, token, invitation, name


def _assert_is_a_whole_page(page, method: str):
    if method != "HEAD":  # a HEAD answer has headers only
        assert page["Content-Type"] == "text/html; charset=utf-8"
        assert page.content.lstrip().startswith(b"<!doctype html>") and page.content.rstrip().endswith(b"</html>")


def _visit(client, links, visit: Visit):
    """Make one visit and check the page it gets and what changed in the database."""
    before = _state()

    page, token, invitation, name = _send(client, links, visit)

    after = _state()
    _assert_only_valid_answers_are_stored()
    assert page.status_code in EXPECTED_STATUSES[visit.page, visit.method], page.content[:300]
    if page.status_code == 302:
        assert page["Location"] in (f"/s/{token}/", f"/s/{token}/?done=1", f"/s/{token}/opt-out/")
    elif page.content == ONE_CLICK_REPLY:
        assert page["Content-Type"] == "text/plain; charset=utf-8"
    else:
        _assert_is_a_whole_page(page, visit.method)

    if invitation is None:  # no invitation has this token
        assert page.status_code == 404 and after == before
    elif visit.method != "POST":  # mail scanners open links: a GET never records anything
        assert after == before
    elif visit.page == "answer":
        assert after.opted_out == before.opted_out
        if page.status_code == 302:
            assert name in ANSWERABLE and invitation.contact_id not in before.opted_out
            assert invitation.pk in after.responses
        else:
            assert after == before
        assert {pk: v for pk, v in after.responses.items() if pk != invitation.pk} == {
            pk: v for pk, v in before.responses.items() if pk != invitation.pk
        }
    else:  # a POST to an opt-out link opts out its contact, and nobody else
        assert (after.responses, after.statuses) == (before.responses, before.statuses)
        opted_now = {invitation.contact_id} if page.status_code in (200, 302) else set()
        assert name in SENT or not opted_now
        assert after.opted_out == before.opted_out | opted_now


@settings(FUZZ, max_examples=200)
@given(visits=st.lists(visits, min_size=1, max_size=3))
def test_any_visit_gets_a_page_and_stores_only_valid_answers_and_asked_opt_outs(client, links, visits):
    with transaction.atomic():
        for visit in visits:
            _visit(client, links, visit)
        transaction.set_rollback(True)  # the next example starts from the same invitations


answer_fields = st.lists(st.tuples(st.just("score"), scores) | st.tuples(st.just("comment"), comments), max_size=3)


@settings(FUZZ, max_examples=150)
@given(name=st.sampled_from(ANSWERABLE), pairs=answer_fields)
def test_a_posted_answer_is_stored_exactly_when_it_is_one_score_on_the_scale(client, links, name, pairs):
    invitation = links[name]
    scale = invitation.campaign.survey.scale
    posted_scores = [value for key, value in pairs if key == "score"]
    posted_comments = [value for key, value in pairs if key == "comment"]
    comment = posted_comments[-1].replace("\x00", "").strip() if posted_comments else None  # the last one counts
    before = Response.objects.filter(invitation=invitation).values_list("score", "comment").first()

    with transaction.atomic():
        page = client.post(f"/s/{invitation.token}/", urlencode(pairs), content_type=FORM)
        after = Response.objects.filter(invitation=invitation).values_list("score", "comment").first()
        _assert_only_valid_answers_are_stored()
        transaction.set_rollback(True)

    one_good_score = len(posted_scores) == 1 and posted_scores[0].strip() in {str(n) for n in scale}
    comment_alone = not posted_scores and comment is not None and before is not None
    comment_fits = comment is None or len(comment) <= COMMENT_MAX_CHARS
    if page.status_code == 302:
        score_text = posted_scores[0].strip() if posted_scores else None
        if not comment_alone:  # a score written another way is fine: "07", "-0"
            assert re.fullmatch(r"-?[0-9]+", score_text, re.ASCII) and int(score_text) in scale
        expected_comment = comment if comment is not None else (before[1] if before else "")
        assert after == (int(score_text) if score_text else before[0], expected_comment)
        assert comment_fits
    else:
        assert page.status_code == 400 and after == before
        assert not ((one_good_score or comment_alone) and comment_fits), "a good answer was refused"
        reasons = ("Please choose a score from", "Please keep your comment to 5,000", "That request could not be read")
        assert any(reason in page.content.decode() for reason in reasons)


@settings(FUZZ, max_examples=40)
@given(visit=visits)
def test_over_the_rate_limit_any_visit_gets_the_429_page_and_changes_nothing(client, links, settings, visit):
    settings.SURVEY_RATE_LIMIT_PER_MINUTE = 0
    before = _state()

    page, token, _, _ = _send(client, links, visit)

    if token and "/" not in token:  # otherwise no public page has this URL: Django's 404
        assert page.status_code == 429 and 1 <= int(page["Retry-After"]) <= 60
        assert visit.method == "HEAD" or b"Please wait a minute and try again." in page.content
    _assert_is_a_whole_page(page, visit.method)
    assert _state() == before
