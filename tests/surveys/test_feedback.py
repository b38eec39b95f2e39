"""The feedback inbox: who sees which comments, who may work them, the status flow, filters, overdue."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from surveys.models import Response
from tests.factories import AccountFactory, CommentFactory, ContactFactory, FeedbackReplyFactory
from tests.helpers import HTMX

INBOX = "/feedback/"


def update_url(response: Response) -> str:
    return f"/feedback/{response.pk}/"


def form_action(response: Response) -> str:
    return f'action="{update_url(response)}"'


@pytest.fixture
def comments(alice_account, bob_account, carol_account):
    return {
        "alice": CommentFactory(account=alice_account, comment="Alice's customer is unhappy."),
        "bob": CommentFactory(account=bob_account, comment="Bob's customer wants exports."),
        "carol": CommentFactory(account=carol_account, comment="Carol's customer is leaving."),
    }


def page_text(client, query: str = "", **kwargs) -> str:
    response = client.get(INBOX + query, **kwargs)
    assert response.status_code == 200
    return response.content.decode()


# Scope: who sees what


@pytest.mark.parametrize(
    ("who", "sees", "does_not_see"),
    [
        ("alice", ["alice", "bob"], ["carol"]),
        ("bob", ["alice", "bob"], ["carol"]),
        ("carol", ["carol"], ["alice", "bob"]),
        ("maria", ["alice", "bob"], ["carol"]),
        ("adam", ["alice", "bob", "carol"], []),
    ],
)
def test_inbox_lists_the_comments_in_the_users_scope_only(cast, comments, login, who, sees, does_not_see):
    html = page_text(login(cast[who]))
    for name in sees:
        assert comments[name].comment.replace("'", "&#x27;") in html
    for name in does_not_see:
        assert comments[name].comment.replace("'", "&#x27;") not in html


def test_inbox_needs_a_login(client):
    response = client.get(INBOX)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_answers_without_a_comment_are_not_in_the_inbox(alice, alice_account, login):
    CommentFactory(account=alice_account, comment="", score=0)
    CommentFactory(account=alice_account, comment="Slow support.", score=2)
    html = page_text(login(alice))
    assert "1 comment" in html and "Slow support." in html


def test_item_shows_account_link_contact_score_category_owner_and_status(alice, alice_account, login):
    dora = ContactFactory(account=alice_account, name="Dora Dorsey")
    comment = CommentFactory(account=alice_account, kind="nps", score=3, contact=dora)
    html = page_text(login(alice))
    assert f'href="/accounts/{alice_account.pk}/"' in html and alice_account.name in html
    assert "Dora Dorsey" in html
    assert 'class="score tone-detractor"' in html and "NPS <strong>3</strong>" in html and "Detractor" in html
    assert "CSM: Alice Archer" in html
    assert 'pill-feedback-new">New<' in html
    assert form_action(comment) in html


@pytest.mark.parametrize(
    ("kind", "score", "tone", "label"),
    [
        ("nps", 8, "passive", "Passive"),
        ("nps", 10, "promoter", "Promoter"),
        ("csat", 2, "negative", "Low"),
        ("csat", 3, "neutral", "Neutral"),
        ("ces", 6, "positive", "High"),
    ],
)
def test_score_colour_follows_its_category(alice, alice_account, login, kind, score, tone, label):
    CommentFactory(account=alice_account, kind=kind, score=score)
    html = page_text(login(alice))
    assert f'class="score tone-{tone}"' in html and f'class="tone-label">{label}<' in html


def test_teammate_sees_the_item_read_only_and_cannot_update_it(bob, comments, login):
    client = login(bob)
    html = page_text(client)
    assert comments["alice"].comment.replace("'", "&#x27;") in html
    assert form_action(comments["alice"]) not in html  # read-only for bob
    assert form_action(comments["bob"]) in html  # his own account: editable
    response = client.post(update_url(comments["alice"]), {"status": "closed", "assignee": "", "note": "mine now"})
    assert response.status_code == 404
    comments["alice"].refresh_from_db()
    assert comments["alice"].feedback_status == "new" and comments["alice"].internal_note == ""


@pytest.mark.parametrize(("who", "code"), [("alice", 200), ("maria", 200), ("adam", 200), ("bob", 404), ("carol", 404)])
def test_who_may_update_alices_item(cast, comments, login, who, code):
    response = login(cast[who]).post(
        update_url(comments["alice"]), {"status": "acknowledged", "assignee": "", "note": ""}, headers=HTMX
    )
    assert response.status_code == code
    comments["alice"].refresh_from_db()
    assert comments["alice"].feedback_status == ("acknowledged" if code == 200 else "new")


def test_alice_gets_404_updating_carols_item(alice, comments, login):
    response = login(alice).post(update_url(comments["carol"]), {"status": "closed", "assignee": "", "note": ""})
    assert response.status_code == 404
    comments["carol"].refresh_from_db()
    assert comments["carol"].feedback_status == "new"


def test_update_is_post_only(alice, comments, login):
    assert login(alice).get(update_url(comments["alice"])).status_code == 405


@pytest.mark.parametrize(("who", "code", "form"), [("alice", 200, True), ("bob", 200, False), ("carol", 404, False)])
def test_an_item_has_its_own_page_that_the_alert_links_to(cast, comments, login, who, code, form):
    response = login(cast[who]).get(f"/feedback/{comments['alice'].pk}/view/")
    assert response.status_code == code
    if code == 200:
        html = response.content.decode()
        assert "Alice&#x27;s customer is unhappy." in html and "Bob&#x27;s customer" not in html
        assert (form_action(comments["alice"]) in html) is form


def test_an_item_page_is_read_only(alice, comments, login):
    assert login(alice).post(f"/feedback/{comments['alice'].pk}/view/").status_code == 405


# The status flow, assignee and note


def test_status_flow_new_acknowledged_closed_with_assignee_and_note(alice, bob, comments, login):
    client = login(alice)
    item = comments["alice"]
    assert item.feedback_changed_at is None

    with time_machine.travel(datetime.datetime(2025, 3, 3, 9, 0, tzinfo=datetime.UTC), tick=False):
        response = client.post(
            update_url(item),
            {"status": "acknowledged", "assignee": bob.pk, "note": "Calling them today."},
            headers=HTMX,
        )
    assert response.status_code == 200
    item.refresh_from_db()
    assert (item.feedback_status, item.assignee, item.internal_note) == ("acknowledged", bob, "Calling them today.")
    assert item.feedback_changed_at == datetime.datetime(2025, 3, 3, 9, 0, tzinfo=datetime.UTC)

    response = client.post(update_url(item), {"status": "closed", "assignee": bob.pk, "note": "Fixed."}, headers=HTMX)
    assert response.status_code == 200
    item.refresh_from_db()
    assert item.feedback_status == "closed" and item.internal_note == "Fixed."
    assert item.feedback_changed_at > datetime.datetime(2025, 3, 3, 9, 0, tzinfo=datetime.UTC)


def test_htmx_update_returns_only_the_item_fragment(alice, bob, comments, login):
    item = comments["alice"]
    response = login(alice).post(
        update_url(item), {"status": "acknowledged", "assignee": bob.pk, "note": "On it."}, headers=HTMX
    )
    fragment = response.content.decode()
    assert "<html" not in fragment
    assert fragment.strip().startswith(f'<li id="feedback-{item.pk}"')
    assert 'pill-feedback-acknowledged">Acknowledged<' in fragment and "Assignee: Bob Brown" in fragment
    assert ">On it.</textarea>" in fragment


def test_update_without_script_redirects_back_to_the_filtered_inbox(alice, comments, login):
    client = login(alice)
    back = "/feedback/?status=all&kind=nps"
    response = client.post(
        update_url(comments["alice"]), {"status": "closed", "assignee": "", "note": "", "next": back}
    )
    assert response.status_code == 302 and response["Location"] == back
    comments["alice"].refresh_from_db()
    assert comments["alice"].feedback_status == "closed"
    assert "saved" in page_text(client, "?status=all")


def test_update_never_redirects_to_another_site(alice, comments, login):
    response = login(alice).post(
        update_url(comments["alice"]), {"status": "closed", "note": "", "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == INBOX


def test_assignee_outside_the_users_scope_is_refused(alice, carol, comments, login):
    response = login(alice).post(
        update_url(comments["alice"]), {"status": "acknowledged", "assignee": carol.pk, "note": "typed"}, headers=HTMX
    )
    assert response.status_code == 422
    fragment = response.content.decode()
    assert "Assign it to someone in your team." in fragment and "<html" not in fragment
    assert ">typed</textarea>" in fragment  # what was typed is kept
    comments["alice"].refresh_from_db()
    assert comments["alice"].assignee is None and comments["alice"].feedback_status == "new"


def test_current_assignee_who_left_the_scope_may_stay_assigned(alice, carol, comments, login):
    item = comments["alice"]
    Response.objects.filter(pk=item.pk).update(assignee=carol)
    response = login(alice).post(update_url(item), {"status": "closed", "assignee": carol.pk, "note": ""}, headers=HTMX)
    assert response.status_code == 200
    item.refresh_from_db()
    assert item.assignee == carol and item.feedback_status == "closed"


@pytest.mark.parametrize("status", ["", "done", "NEW"])
def test_unknown_status_is_refused(alice, comments, login, status):
    response = login(alice).post(update_url(comments["alice"]), {"status": status, "note": ""}, headers=HTMX)
    assert response.status_code == 422
    assert "Pick" in response.content.decode()
    comments["alice"].refresh_from_db()
    assert comments["alice"].feedback_status == "new"


def test_note_of_5000_characters_is_accepted_5001_refused(alice, comments, login):
    client, item = login(alice), comments["alice"]
    response = client.post(update_url(item), {"status": "new", "note": "n" * 5001}, headers=HTMX)
    assert response.status_code == 422
    assert "Keep the note under 5,000 characters (it has 5,001)." in response.content.decode()
    item.refresh_from_db()
    assert item.internal_note == ""
    response = client.post(update_url(item), {"status": "new", "note": "n" * 5000}, headers=HTMX)
    assert response.status_code == 200
    item.refresh_from_db()
    assert len(item.internal_note) == 5000


def test_note_line_breaks_count_once(alice, comments, login):
    note = "line\r\n" * 960 + "x" * 200  # 5,000 characters with LF, 5,960 with CRLF
    response = login(alice).post(update_url(comments["alice"]), {"status": "new", "note": note}, headers=HTMX)
    assert response.status_code == 200
    comments["alice"].refresh_from_db()
    assert len(comments["alice"].internal_note) == 5000


def test_invalid_update_without_script_shows_the_message_on_a_full_page(alice, carol, comments, login):
    response = login(alice).post(
        update_url(comments["alice"]), {"status": "closed", "assignee": carol.pk, "note": "", "next": "/feedback/"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "<html" in html and "Assign it to someone in your team." in html and "Back to the inbox" in html


# Overdue and age


def test_open_items_older_than_the_sla_are_overdue(alice, alice_account, login):
    now = datetime.datetime(2025, 6, 10, 12, 0, tzinfo=datetime.UTC)
    old_open = CommentFactory(account=alice_account, comment="old open", answered_at=now - datetime.timedelta(days=5))
    CommentFactory(
        account=alice_account,
        comment="old closed",
        answered_at=now - datetime.timedelta(days=9),
        feedback_status="closed",
    )
    fresh = CommentFactory(account=alice_account, comment="fresh", answered_at=now - datetime.timedelta(days=2))
    with time_machine.travel(now, tick=False):
        html = page_text(login(alice), "?status=all")

    def item_html(response):
        start = html.index(f'id="feedback-{response.pk}"')
        return html[start : html.index("</li>", start)]

    assert html.count(">Overdue<") == 1 and 'class="feedback-item is-overdue"' in html
    assert ">Overdue<" in item_html(old_open) and "Open 5 days" in item_html(old_open)
    assert ">Overdue<" not in item_html(fresh) and "Open 2 days" in item_html(fresh)


def test_sla_comes_from_settings(alice, alice_account, login, settings):
    settings.FEEDBACK_SLA_DAYS = 7
    CommentFactory(account=alice_account, answered_at=timezone.now() - datetime.timedelta(days=5))
    html = page_text(login(alice))
    assert ">Overdue<" not in html and "older than 7 days are overdue" in html


NOW = datetime.datetime(2025, 6, 10, 12, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("kind", "score", "status", "age", "praise_days", "overdue"),
    [
        # Low scores (the alert thresholds) wait FEEDBACK_SLA_DAYS (3) until closed.
        ("nps", 6, "new", 4, 14, True),
        ("nps", 0, "acknowledged", 4, 14, True),
        ("csat", 2, "acknowledged", 4, 14, True),
        ("ces", 3, "acknowledged", 4, 14, True),
        ("nps", 6, "new", 3, 14, False),
        ("nps", 6, "closed", 30, 14, False),
        # Other criticism waits FEEDBACK_SLA_DAYS until acknowledged.
        ("nps", 7, "new", 4, 14, True),
        ("csat", 3, "new", 4, 14, True),
        ("ces", 4, "new", 4, 14, True),
        ("nps", 8, "acknowledged", 30, 14, False),
        ("csat", 3, "acknowledged", 30, 14, False),
        # Praise waits FEEDBACK_PRAISE_SLA_DAYS until acknowledged; 0: never overdue.
        ("nps", 9, "new", 4, 14, False),
        ("csat", 4, "new", 14, 14, False),
        ("ces", 5, "new", 15, 14, True),
        ("nps", 10, "acknowledged", 30, 14, False),
        ("nps", 10, "new", 365, 0, False),
    ],
)
def test_the_sla_applies_to_what_needs_a_reply(
    alice, alice_account, login, settings, kind, score, status, age, praise_days, overdue
):
    settings.FEEDBACK_SLA_DAYS = 3
    settings.FEEDBACK_PRAISE_SLA_DAYS = praise_days
    CommentFactory(
        account=alice_account,
        kind=kind,
        score=score,
        feedback_status=status,
        answered_at=NOW - datetime.timedelta(days=age),
    )
    with time_machine.travel(NOW, tick=False):
        html = page_text(login(alice), "?status=all")
    assert (">Overdue<" in html) is overdue


def test_the_lead_states_both_slas(alice, login, settings):
    settings.FEEDBACK_SLA_DAYS = 2
    settings.FEEDBACK_PRAISE_SLA_DAYS = 10
    html = page_text(login(alice))
    assert "older than 2 days are overdue; new praise after 10 days." in html
    settings.FEEDBACK_PRAISE_SLA_DAYS = 0
    assert "new praise after" not in page_text(login(alice))


def listed(html: str, answers: dict[str, Response]) -> list[str]:
    """The names of `answers` in the order the page lists them."""
    at = {name: html.find(f'id="feedback-{answer.pk}"') for name, answer in answers.items()}
    return sorted((name for name in at if at[name] >= 0), key=at.get)


@pytest.fixture
def triage(alice_account):
    """Open and closed comments of every need and age."""

    def comment(kind, score, days, status="new"):
        return CommentFactory(
            account=alice_account,
            kind=kind,
            score=score,
            feedback_status=status,
            answered_at=NOW - datetime.timedelta(days=days),
        )

    return {
        "praise, 9 days": comment("nps", 10, 9),
        "low nps, 1 day": comment("nps", 2, 1),
        "passive, 5 days": comment("nps", 8, 5),
        "low csat, 4 days": comment("csat", 1, 4, "acknowledged"),
        "low ces, 2 days": comment("ces", 3, 2),
        "closed low, 20 days": comment("nps", 0, 20, "closed"),
        "closed praise, 3 days": comment("csat", 5, 3, "closed"),
        "neutral csat, 0 days": comment("csat", 3, 0),
    }


def test_the_inbox_sorts_by_need_low_scores_first_then_oldest_first(alice, login, triage):
    with time_machine.travel(NOW, tick=False):
        client = login(alice)
        assert listed(page_text(client), triage) == [
            "low csat, 4 days",
            "low ces, 2 days",
            "low nps, 1 day",
            "praise, 9 days",
            "passive, 5 days",
            "neutral csat, 0 days",
        ]
        # Closed comments need nothing: after the open ones, newest first.
        assert listed(page_text(client, "?status=all"), triage)[-2:] == ["closed praise, 3 days", "closed low, 20 days"]
        assert listed(page_text(client, "?status=closed"), triage) == ["closed praise, 3 days", "closed low, 20 days"]


def test_filters_keep_the_order_by_need(alice, login, triage):
    with time_machine.travel(NOW, tick=False):
        client = login(alice)
        assert listed(page_text(client, "?low=on"), triage) == ["low csat, 4 days", "low ces, 2 days", "low nps, 1 day"]
        assert listed(page_text(client, "?kind=nps"), triage) == ["low nps, 1 day", "praise, 9 days", "passive, 5 days"]
        assert listed(page_text(client, "?kind=csat&status=all"), triage) == [
            "low csat, 4 days",
            "neutral csat, 0 days",
            "closed praise, 3 days",
        ]


# Filters


def test_status_filter_defaults_to_open(alice, alice_account, login):
    for status in ("new", "acknowledged", "closed"):
        CommentFactory(account=alice_account, comment=f"{status} one", feedback_status=status)
    client = login(alice)

    def shown(query=""):
        html = page_text(client, query)
        return {status for status in ("new", "acknowledged", "closed") if f"{status} one" in html}

    assert shown() == {"new", "acknowledged"}
    assert shown("?status=open") == {"new", "acknowledged"}
    assert shown("?status=new") == {"new"}
    assert shown("?status=acknowledged") == {"acknowledged"}
    assert shown("?status=closed") == {"closed"}
    assert shown("?status=all") == {"new", "acknowledged", "closed"}


def test_low_scores_filter_uses_each_kinds_alert_threshold(alice, alice_account, login):
    answers = {
        ("nps", 6): True,
        ("nps", 7): False,
        ("csat", 2): True,
        ("csat", 3): False,
        ("ces", 3): True,
        ("ces", 4): False,
    }
    for kind, score in answers:
        CommentFactory(account=alice_account, kind=kind, score=score, comment=f"answer {kind}-{score}.")
    html = page_text(login(alice), "?low=on")
    for (kind, score), low in answers.items():
        assert (f"answer {kind}-{score}." in html) is low, (kind, score)


def test_kind_filter(alice, alice_account, login):
    CommentFactory(account=alice_account, kind="csat", score=4, comment="csat answer")
    CommentFactory(account=alice_account, kind="nps", score=9, comment="nps answer")
    html = page_text(login(alice), "?kind=csat")
    assert "csat answer" in html and "nps answer" not in html


def test_csm_team_and_assigned_to_me_filters(adam, alice, bob, carol, team_b, comments, login):
    Response.objects.filter(pk=comments["bob"].pk).update(assignee=adam)
    client = login(adam)

    def shown(query):
        html = page_text(client, query)
        return {name for name, item in comments.items() if item.comment.replace("'", "&#x27;") in html}

    assert shown(f"?owner={bob.pk}") == {"bob"}
    assert shown(f"?team={team_b.pk}") == {"carol"}
    assert shown("?mine=on") == {"bob"}
    assert shown("?owner=999999&team=abc") == {"alice", "bob", "carol"}  # bad values are ignored, not a 500


def test_csm_gets_no_team_filter_but_a_csm_filter(alice, alice_account, adam, login):
    CommentFactory(account=alice_account)
    alice_page = page_text(login(alice))
    assert 'name="team"' not in alice_page and 'name="owner"' in alice_page
    assert 'name="team"' in page_text(login(adam))


def test_htmx_filter_request_gets_only_the_list_fragment(alice, comments, login):
    fragment = page_text(login(alice), "?kind=nps", headers=HTMX)
    assert "<html" not in fragment and fragment.strip().startswith('<section id="feedback-comments"')
    assert "Bob&#x27;s customer wants exports." in fragment


def test_filter_form_works_without_script(alice, comments, login):
    html = page_text(login(alice))
    assert 'method="get" action="/feedback/"' in html and 'hx-get="/feedback/"' in html and 'hx-push-url="true"' in html
    assert "<noscript><button" in html


def test_pages_of_50(alice, alice_account, login):
    CommentFactory.create_batch(51, account=alice_account)
    client = login(alice)
    first = page_text(client)
    assert "51 comments, page 1 of 2" in first and first.count('class="feedback-item') == 50
    assert page_text(client, "?page=2").count('class="feedback-item') == 1


@pytest.mark.parametrize("count", [3, 30])
def test_query_count_does_not_grow_with_items(
    alice, bob, alice_account, bob_account, login, django_assert_max_num_queries, count
):
    for n in range(count):
        item = CommentFactory(account=alice_account if n % 2 else bob_account, assignee=bob if n % 3 else None)
        FeedbackReplyFactory(response=item)  # each item's replies, with their authors, come in one query
    client = login(alice)
    with django_assert_max_num_queries(8):
        html = page_text(client, "?status=all")
    assert html.count('class="feedback-item') == count
    assert html.count('class="feedback-reply"') == count


# Empty states


def test_empty_inbox_says_what_it_is_for_and_admins_get_a_link_to_send_a_survey(alice, adam, login):
    alice_page = page_text(login(alice))
    assert "No feedback to read. Comments from survey answers land here." in alice_page
    assert "/campaigns/" not in alice_page.split('id="feedback-comments"')[1]
    admin_page = page_text(login(adam))
    assert "No feedback to read." in admin_page and 'href="/campaigns/">Send a survey' in admin_page


def test_filters_that_exclude_everything_say_so(alice, comments, login):
    html = page_text(login(alice), "?kind=ces")
    assert "No feedback matches these filters." in html and "No feedback to read" not in html


def test_all_closed_says_all_caught_up(alice, alice_account, login):
    CommentFactory(account=alice_account, feedback_status="closed")
    html = page_text(login(alice))
    assert "All caught up" in html and "No feedback to read" not in html


def test_nav_links_feedback_for_everyone_campaigns_and_surveys_for_admins(alice, adam, login):
    alice_page = page_text(login(alice))
    assert 'href="/feedback/" aria-current="page">Feedback' in alice_page and 'href="/results/"' in alice_page
    assert 'href="/campaigns/"' not in alice_page and 'href="/surveys/"' not in alice_page
    admin_page = page_text(login(adam))
    assert 'href="/campaigns/"' in admin_page and 'href="/surveys/"' in admin_page


def test_the_service_refuses_what_the_form_would(alice, carol, alice_account):
    from django.core.exceptions import ValidationError

    from surveys.services import feedback_update

    item = CommentFactory(account=alice_account)
    with pytest.raises(ValidationError) as error:
        feedback_update(response=item, by=alice, status="later", assignee=carol, note="n" * 5001)
    assert set(error.value.message_dict) == {"status", "assignee", "note"}
    item.refresh_from_db()
    assert item.feedback_status == "new" and item.feedback_changed_at is None


def test_an_account_without_owner_is_still_listed_for_admins(adam, login):
    CommentFactory(account=AccountFactory(owner=None), comment="orphan comment")
    html = page_text(login(adam))
    assert "orphan comment" in html and "CSM: none" in html
