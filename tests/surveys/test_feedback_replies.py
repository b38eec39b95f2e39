"""Replies from the feedback inbox: the email (real SMTP), the log, the status, refusals, scope and templates."""

import datetime

import pytest
import time_machine
from django.conf import settings

from accounts.models import Contact, SuppressedAddress
from surveys.erasure import contact_erase
from surveys.models import FeedbackReply, ReplyTemplate, Response
from surveys.replies import feedback_replies_retry, reply_draft
from surveys.selectors.feedback import replies_for_account
from tests.factories import CommentFactory, ContactFactory, FeedbackReplyFactory
from tests.helpers import HTMX, text

NOW = datetime.datetime(2026, 3, 10, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW):  # ticking: the SMTP server's event loop needs time to pass
        yield


@pytest.fixture
def dora(alice_account):
    return ContactFactory(account=alice_account, name="Dora Dorsey", email="dora@acme.test")


@pytest.fixture
def detractor(alice_account, dora):
    return CommentFactory(
        account=alice_account,
        contact=dora,
        kind="nps",
        score=3,
        comment="Support took a week to answer.",
        answered_at=NOW - datetime.timedelta(days=1),
    )


def reply_url(response: Response) -> str:
    return f"/feedback/{response.pk}/reply/"


def post_reply(client, response, *, subject="About your answer", body="Hi Dora,\r\nI am sorry.", **kwargs):
    return client.post(reply_url(response), {"subject": subject, "body": body}, **kwargs)


# The email, through a real SMTP server


def test_a_reply_reaches_the_smtp_server_from_the_sender_with_reply_to_the_csm(
    alice, detractor, login, smtp_server, django_capture_on_commit_callbacks
):
    client = login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        answer = post_reply(client, detractor, headers=HTMX)
    assert answer.status_code == 200
    [message] = smtp_server.messages
    assert message["From"] == settings.DEFAULT_FROM_EMAIL
    assert message["To"] == "dora@acme.test"
    assert message["Reply-To"] == "Alice Archer <alice@pulse.test>"
    assert message["Subject"] == "About your answer"
    assert message["Auto-Submitted"] == "no"  # a person wrote it
    body = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert body.startswith("Hi Dora,\nI am sorry.\n")
    assert "On Mar 9, 2026 you wrote:\n> Support took a week to answer." in body
    reply = FeedbackReply.objects.get()
    assert (reply.author, reply.to, reply.reply_to, reply.attempts, reply.error) == (
        alice,
        "dora@acme.test",
        "alice@pulse.test",
        1,
        "",
    )
    assert reply.sent_at is not None and reply.state == "sent"


def test_a_failed_send_is_kept_with_its_error_and_sent_by_the_retry(
    alice, detractor, login, smtp_server, django_capture_on_commit_callbacks
):
    smtp_server.refuse["dora@acme.test"] = (451, "Try again later")
    with django_capture_on_commit_callbacks(execute=True):
        assert post_reply(login(alice), detractor, headers=HTMX).status_code == 200
    reply = FeedbackReply.objects.get()
    assert reply.sent_at is None and reply.attempts == 1 and "Try again later" in reply.error
    assert reply.state == "sending"
    detractor.refresh_from_db()
    assert detractor.feedback_status == "replied"  # the CSM replied; the email follows
    html = login(alice).get(f"/feedback/{detractor.pk}/view/").content.decode()
    assert "Sending" in html

    del smtp_server.refuse["dora@acme.test"]
    assert feedback_replies_retry(now=NOW) == 0  # too soon after the failed attempt
    assert feedback_replies_retry(now=NOW + datetime.timedelta(minutes=6)) == 1
    assert feedback_replies_retry(now=NOW + datetime.timedelta(minutes=20)) == 0  # sent once only
    reply.refresh_from_db()
    assert reply.sent_at is not None and reply.error == "" and reply.attempts == 2
    assert [m["To"] for m in smtp_server.messages] == ["dora@acme.test"]


def test_a_reply_stops_after_five_failed_attempts_and_shows_not_sent(
    alice, detractor, login, smtp_server, django_capture_on_commit_callbacks
):
    smtp_server.refuse["dora@acme.test"] = (451, "Mailbox busy")
    with django_capture_on_commit_callbacks(execute=True):
        post_reply(login(alice), detractor, headers=HTMX)
    for attempt in range(1, 6):
        feedback_replies_retry(now=NOW + datetime.timedelta(minutes=10 * attempt))
    reply = FeedbackReply.objects.get()
    assert reply.attempts == FeedbackReply.MAX_ATTEMPTS and reply.state == "failed"
    assert 'title="' in (html := login(alice).get(f"/feedback/{detractor.pk}/view/").content.decode())
    assert "Not sent" in html


def test_a_reply_stored_while_the_broker_is_down_is_sent_by_the_retry(
    alice, detractor, login, smtp_server, monkeypatch, django_capture_on_commit_callbacks
):
    from surveys import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.feedback_reply_send_task, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_reply(login(alice), detractor, headers=HTMX).status_code == 200
    assert FeedbackReply.objects.get().attempts == 0 and not smtp_server.messages
    assert feedback_replies_retry(now=NOW + datetime.timedelta(minutes=6)) == 1
    assert len(smtp_server.messages) == 1


# The form, the log and the status


def test_the_form_opens_in_place_from_the_template_of_the_kind_and_tone(alice, detractor, login):
    html = login(alice).get(reply_url(detractor), headers=HTMX).content.decode()
    assert html.lstrip().startswith(f'<li id="feedback-{detractor.pk}"')  # the item, in place
    assert 'value="Your feedback on Acme Alpha&#x27;s experience with us"' in html
    assert "Hi Dora Dorsey," in html and "A 3 tells me we let you down" in html
    assert "Alice Archer\nYour customer success manager for Acme Alpha" in html
    assert "To Dora Dorsey &lt;dora@acme.test&gt;" in html


def test_praise_starts_from_the_other_template(alice, alice_account, dora):
    praise = CommentFactory(account=alice_account, contact=dora, kind="csat", score=5)
    subject, body = reply_draft(response=praise, author=alice)
    assert subject == "Thank you for your feedback" and body.startswith("Hi Dora Dorsey,\n\nThank you for answering")


def test_a_reply_is_logged_on_the_item_and_its_status_becomes_replied(alice, detractor, login):
    client = login(alice)
    answer = post_reply(client, detractor, subject="Sorry", body="We are on it.", headers=HTMX)
    assert answer.status_code == 200
    fragment = text(answer)
    assert "Alice Archer replied to dora@acme.test" in fragment and "Sorry" in fragment and "We are on it." in fragment
    assert 'pill-feedback-replied">Replied<' in answer.content.decode()
    detractor.refresh_from_db()
    assert detractor.feedback_status == Response.FeedbackStatus.REPLIED
    assert detractor.feedback_changed_at is not None


def test_a_replied_item_stays_open_in_the_inbox_filters_and_can_be_closed(alice, detractor, login):
    client = login(alice)
    post_reply(client, detractor)
    assert "Support took a week" in client.get("/feedback/").content.decode()  # open includes replied
    assert "Support took a week" in client.get("/feedback/?status=replied").content.decode()
    assert "Support took a week" not in client.get("/feedback/?status=new").content.decode()
    answer = client.post(f"/feedback/{detractor.pk}/", {"status": "closed", "assignee": "", "note": "Called them."})
    assert answer.status_code == 302
    detractor.refresh_from_db()
    assert detractor.feedback_status == "closed" and detractor.replies.count() == 1


def test_a_reply_to_a_closed_item_keeps_it_closed(alice, detractor, login):
    Response.objects.filter(pk=detractor.pk).update(feedback_status="closed")
    post_reply(login(alice), detractor)
    detractor.refresh_from_db()
    assert detractor.feedback_status == "closed" and detractor.replies.count() == 1


def test_without_script_the_reply_redirects_back_with_a_message(alice, detractor, login):
    client = login(alice)
    answer = client.post(
        reply_url(detractor), {"subject": "Hello", "body": "Thanks.", "next": "/feedback/?low=on"}, follow=True
    )
    assert answer.redirect_chain == [("/feedback/?low=on", 302)]
    assert "Reply to dora@acme.test saved; it is being sent." in text(answer)


@pytest.mark.parametrize(
    ("subject", "body", "message"),
    [
        ("", "Text", "Write a subject."),
        ("Hello", "", "Write the reply."),
        ("Hello", "   ", "Write the reply."),
        ("Two\nlines", "Text", "This field must be a single line"),
    ],
)
def test_bad_input_says_why_and_stores_nothing(alice, detractor, login, subject, body, message):
    answer = post_reply(login(alice), detractor, subject=subject, body=body, headers=HTMX)
    assert answer.status_code == 422
    assert message in text(answer)
    assert not FeedbackReply.objects.exists()
    detractor.refresh_from_db()
    assert detractor.feedback_status == "new"


def test_a_body_over_10000_characters_is_refused(alice, detractor, login):
    answer = post_reply(login(alice), detractor, body="x" * 10_001, headers=HTMX)
    assert answer.status_code == 422 and "10,000" in text(answer)
    assert not FeedbackReply.objects.exists()


# Refusals: nothing is stored, the page says why


def _no_contact(response):
    Response.objects.filter(pk=response.pk).update(contact=None)


def _archived(response):
    Contact.objects.filter(pk=response.contact_id).update(archived_at=NOW)


def _opted_out(response):
    Contact.objects.filter(pk=response.contact_id).update(opted_out_at=NOW)


def _opted_out_elsewhere(response):
    SuppressedAddress.objects.create(address_hash=response.contact.email_hash, opted_out_at=NOW)


def _bounced(response):
    Contact.objects.filter(pk=response.contact_id).update(bounced_at=NOW)


def _no_address(response):
    Contact.objects.filter(pk=response.contact_id).update(email="")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_no_contact, "This answer was imported without a contact, so there is no one to reply to."),
        (_archived, "Dora Dorsey was removed from Acme Alpha (archived), so Pulse cannot reply to them."),
        (_opted_out, "Dora Dorsey opted out of emails from us, so Pulse does not email them."),
        (_opted_out_elsewhere, "Dora Dorsey opted out of emails from us, so Pulse does not email them."),
        (_bounced, "The mail server refused dora@acme.test for good, so a reply would not arrive."),
        (_no_address, "Dora Dorsey has no email address to reply to."),
    ],
)
def test_refusals_say_why_and_change_nothing(alice, detractor, login, make, message):
    make(detractor)
    client = login(alice)
    opened = client.get(reply_url(detractor), headers=HTMX)
    assert opened.status_code == 200 and message in text(opened) and 'name="body"' not in opened.content.decode()
    answer = post_reply(client, detractor, headers=HTMX)
    assert answer.status_code == 422 and message in text(answer)
    assert not FeedbackReply.objects.exists()
    assert Response.objects.get(pk=detractor.pk).feedback_status == "new"


def test_an_erased_contact_cannot_be_replied_to(alice, adam, detractor, login):
    Response.objects.filter(pk=detractor.pk).update(comment="")
    contact_erase(contact=detractor.contact, by=adam)
    Response.objects.filter(pk=detractor.pk).update(comment="Written again after erasure.")
    answer = post_reply(login(alice), detractor, headers=HTMX)
    assert answer.status_code == 422
    assert "This contact's personal data was erased, so Pulse cannot reply to them." in text(answer)
    assert not FeedbackReply.objects.exists()


# Scope


@pytest.mark.parametrize(("who", "code"), [("alice", 200), ("maria", 200), ("adam", 200), ("bob", 404), ("carol", 404)])
def test_who_may_open_the_reply_form(cast, detractor, login, who, code):
    assert login(cast[who]).get(reply_url(detractor)).status_code == code


def test_another_teams_item_is_404_and_nothing_is_sent(carol, detractor, login, mailoutbox):
    assert post_reply(login(carol), detractor).status_code == 404
    assert not FeedbackReply.objects.exists() and not mailoutbox


def test_the_reply_button_shows_to_those_who_may_reply_only(alice, bob, detractor, login):
    assert f'href="/feedback/{detractor.pk}/reply/' in login(alice).get("/feedback/").content.decode()
    assert f'href="/feedback/{detractor.pk}/reply/' not in login(bob).get("/feedback/").content.decode()


# For the account timeline


def test_replies_for_account_are_newest_first_with_an_excerpt_in_one_query(
    alice, bob, detractor, alice_account, bob_account, django_assert_num_queries
):
    from surveys import services

    first = services.feedback_reply_create(response=detractor, by=alice, subject="One", body="First  reply\ntext")
    with time_machine.travel(NOW + datetime.timedelta(hours=2)):
        second = services.feedback_reply_create(response=detractor, by=alice, subject="Two", body="y" * 300)
    other = CommentFactory(account=bob_account)
    services.feedback_reply_create(response=other, by=bob, subject="Elsewhere", body="Not Acme's.")
    with django_assert_num_queries(1):
        replies = replies_for_account(alice_account)
        assert [(r.subject, r.author.name, r.response.kind, r.response.score) for r in replies] == [
            ("Two", "Alice Archer", "nps", 3),
            ("One", "Alice Archer", "nps", 3),
        ]
    assert replies[1].excerpt == "First reply text"
    assert len(replies[0].excerpt) == 200 and replies[0].excerpt.endswith("…")
    assert [r.pk for r in replies_for_account(alice_account, before=second.created_at)] == [first.pk]
    assert [r.pk for r in replies_for_account(alice_account, limit=1)] == [second.pk]


# Reply templates (admins)


def test_admins_edit_a_template_and_the_next_reply_starts_from_it(adam, alice, detractor, login):
    template = ReplyTemplate.objects.get(kind="nps", tone="low")
    client = login(adam)
    assert "Your feedback on {account_name}" in text(client.get("/reply-templates/"))
    answer = client.post(
        f"/reply-templates/{template.pk}/",
        {"subject": "About your {score}", "body": "Dear {contact_name}, {csm_name} here."},
    )
    assert answer.status_code == 302
    assert reply_draft(response=detractor, author=alice) == ("About your 3", "Dear Dora Dorsey, Alice Archer here.")


def test_an_unknown_placeholder_is_refused_and_nothing_changes(adam, login):
    template = ReplyTemplate.objects.get(kind="ces", tone="other")
    before = (template.subject, template.body)
    answer = login(adam).post(f"/reply-templates/{template.pk}/", {"subject": "Hi {name}", "body": "Text"})
    assert answer.status_code == 422
    assert "Unknown placeholder {name}. Placeholders: {contact_name}, {account_name}, {csm_name}, {score}." in text(
        answer
    )
    template.refresh_from_db()
    assert (template.subject, template.body) == before


@pytest.mark.parametrize("who", ["alice", "maria"])
def test_reply_templates_are_for_admins_only(cast, login, who):
    template = ReplyTemplate.objects.first()
    client = login(cast[who])
    assert client.get("/reply-templates/").status_code == 404
    assert client.post(f"/reply-templates/{template.pk}/", {"subject": "x", "body": "y"}).status_code == 404


def test_a_template_per_kind_and_tone_ships_with_the_install(db):
    assert set(ReplyTemplate.objects.values_list("kind", "tone")) == {
        (kind, tone) for kind in ("nps", "csat", "ces") for tone in ("low", "other")
    }


def test_erasing_the_contact_takes_their_name_and_address_out_of_replies_and_stops_unsent_ones(
    alice, adam, detractor, smtp_server
):
    from surveys import services

    smtp_server.refuse["dora@acme.test"] = (451, "Try again later")
    sent = FeedbackReplyFactory(response=detractor, body="Hi Dora Dorsey, thanks.", subject="For Dora Dorsey")
    unsent = services.feedback_reply_create(response=detractor, by=alice, subject="Again", body="Dora Dorsey?")
    contact_erase(contact=detractor.contact, by=adam)
    sent.refresh_from_db()
    unsent.refresh_from_db()
    assert (sent.to, sent.subject, sent.body) == (
        f"erased-{detractor.contact_id}@erased.invalid",
        "For Erased contact",
        "Hi Erased contact, thanks.",
    )
    assert unsent.state == "failed" and unsent.error == "Not sent: the contact's personal data was erased."
    del smtp_server.refuse["dora@acme.test"]
    assert feedback_replies_retry(now=NOW + datetime.timedelta(hours=1)) == 0
    assert not smtp_server.messages
