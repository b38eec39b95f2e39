"""The account timeline: every source in one feed, newest first, paged by a cursor at a constant query count."""

import datetime

import pytest
from django.utils import timezone

from playbooks.services import task_complete, task_create
from tests.factories import CheckInFactory, ContactFactory, HealthSnapshotFactory, OverrideFactory, ResponseFactory
from tests.helpers import HTMX, at, day, text

pytestmark = pytest.mark.django_db


def test_one_feed_of_checkins_answers_tasks_band_changes_and_overrides_newest_first(alice, alice_account, login):
    CheckInFactory(account=alice_account, date=day(-20), notes="Quarterly review went well.", csm=alice)
    HealthSnapshotFactory(account=alice_account, date=day(-10), score=75.0)
    HealthSnapshotFactory(account=alice_account, date=day(-9), score=30.0)
    contact = ContactFactory(account=alice_account, name="Dana Diaz")
    ResponseFactory(
        account=alice_account, contact=contact, kind="nps", score=3, comment="Too slow.", answered_at=at(day(-8))
    )
    task = task_create(account=alice_account, by=alice, title="Call Dana", due_on=day(0))
    task_complete(task=task, by=alice, outcome="Called; fix promised.")
    OverrideFactory(account=alice_account, band="yellow", reason="Champion is back.")

    page = login(alice).get(f"/accounts/{alice_account.pk}/timeline/")

    titles = [item.title for item in page.context["page"].items]
    assert titles == [
        "Health overridden to Yellow until " + f"{day(30):%b} {day(30).day}",
        "Task done: Call Dana",
        "Task created: Call Dana",
        "Contact added: Dana Diaz",
        "NPS 3",
        "Health band: Green → Red (health 30)",
        "Check-in: " + alice_account.checkins.get().get_sentiment_display(),
    ]
    words = text(page)
    for fact in ("Too slow.", "Dana Diaz", "Called; fix promised.", "Quarterly review went well.", "Champion is back."):
        assert fact in words


def test_pages_follow_the_cursor_without_gaps_or_repeats(alice, alice_account, login, django_assert_max_num_queries):
    for offset in range(60):
        ResponseFactory(
            account=alice_account,
            contact=None,
            kind="csat",
            score=4,
            answered_at=timezone.now() - datetime.timedelta(hours=offset + 1),
        )
    client = login(alice)
    seen, url = [], f"/accounts/{alice_account.pk}/timeline/"
    while url:
        with django_assert_max_num_queries(13):  # session, user, account, bell, and one per source
            response = client.get(url, headers=HTMX)
        page = response.context["page"] if response.context else None
        html = response.content.decode()
        assert "<html" not in html
        seen.append(html.count('class="timeline-answer'))
        more = html.split('class="timeline-more"')[1] if "timeline-more" in html else ""
        url = more.split('hx-get="')[1].split('"')[0].replace("&amp;", "&") if more else ""
        assert page is None or len(page.items) <= 25
    assert seen == [25, 25, 10]


def test_another_teams_timeline_is_a_404(carol, alice_account, login):
    assert login(carol).get(f"/accounts/{alice_account.pk}/timeline/").status_code == 404


def test_a_bad_cursor_starts_from_now(alice, alice_account, login):
    ResponseFactory(account=alice_account, kind="nps", score=9, answered_at=at(day(-1)))
    response = login(alice).get(f"/accounts/{alice_account.pk}/timeline/?before=not-a-time")
    assert response.status_code == 200 and "NPS 9" in text(response)


def test_a_reply_to_a_comment_is_on_the_timeline(alice, alice_account, login):
    from surveys.models import FeedbackReply

    contact = ContactFactory(account=alice_account, name="Dana Diaz")
    answer = ResponseFactory(
        account=alice_account, contact=contact, kind="nps", score=2, comment="Slow.", answered_at=at(day(-3))
    )
    FeedbackReply.objects.create(
        response=answer, author=alice, to=contact.email, reply_to=alice.email, subject="Sorry about the wait",
        body="We are on it.", sent_at=timezone.now(),
    )  # fmt: skip
    page = login(alice).get(f"/accounts/{alice_account.pk}/timeline/")
    assert page.context["page"].items[0].title == "Reply to NPS 2: Sorry about the wait"
    assert "We are on it." in text(page)


@pytest.mark.parametrize("cursor", ["2026-13-01T00:00", "9999-12-31T23:59:59", "0001-01-01T00:00:00+14:00"])
def test_an_impossible_or_far_cursor_never_fails(alice, alice_account, login, cursor):
    ResponseFactory(account=alice_account, kind="nps", score=9, answered_at=at(day(-1)))
    response = login(alice).get(f"/accounts/{alice_account.pk}/timeline/", {"before": cursor})
    assert response.status_code == 200


def test_items_at_the_same_moment_stay_together_across_a_page_boundary(alice, alice_account, login):
    for offset in range(24):
        ResponseFactory(
            account=alice_account,
            contact=None,
            kind="csat",
            score=4,
            answered_at=timezone.now() - datetime.timedelta(hours=offset + 1),
        )
    CheckInFactory(account=alice_account, date=day(-5), csm=alice)
    CheckInFactory(account=alice_account, date=day(-5), csm=alice)
    HealthSnapshotFactory(account=alice_account, date=day(-6), score=80.0)
    HealthSnapshotFactory(account=alice_account, date=day(-5), score=30.0)
    first = login(alice).get(f"/accounts/{alice_account.pk}/timeline/").context["page"]
    assert [item.kind for item in first.items[24:]] == ["checkin", "checkin", "band"]


def test_contacts_and_surveys_sent_are_on_it_and_it_filters_by_kind(alice, alice_account, login):
    from tests.factories import CampaignFactory, InvitationFactory

    contact = ContactFactory(account=alice_account, name="Pat Primary", is_primary=True)
    hours_ago = timezone.now() - datetime.timedelta(hours=1)
    type(contact).objects.filter(pk=contact.pk).update(
        opted_out_at=hours_ago, created_at=hours_ago - datetime.timedelta(hours=2)
    )
    invitation = InvitationFactory(campaign=CampaignFactory(name="Spring NPS"), contact=contact)
    type(invitation).objects.filter(pk=invitation.pk).update(sent_at=timezone.now() - datetime.timedelta(hours=2))
    CheckInFactory(account=alice_account, date=day(-3), csm=alice)
    client = login(alice)

    everything = [item.title for item in client.get(f"/accounts/{alice_account.pk}/timeline/").context["page"].items]
    assert everything[:3] == [
        "Contact opted out of surveys: Pat Primary (primary)",
        "Survey sent: Spring NPS",
        "Contact added: Pat Primary (primary)",
    ]
    contacts = client.get(f"/accounts/{alice_account.pk}/timeline/?type=contact").context["page"].items
    assert {item.kind for item in contacts} == {"contact"}
    checkins = client.get(f"/accounts/{alice_account.pk}/timeline/?type=checkin", headers=HTMX)
    assert 'aria-current="true">Check-ins</a>' in checkins.content.decode()
    assert "Check-in:" in text(checkins) and "Pat Primary" not in text(checkins)
    assert client.get(f"/accounts/{alice_account.pk}/timeline/?type=nonsense").status_code == 200
