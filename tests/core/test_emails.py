"""Every email is built by core.emails.make_message: text, HTML where the template has one, common headers."""

import pytest
from django.core import mail

from core.emails import make_message

pytestmark = pytest.mark.django_db


def test_a_message_has_the_text_body_the_html_part_and_the_common_headers():
    message = make_message(
        "surveys/email/invitation",
        to="ana@example.com",
        subject="How likely are you to recommend us?",
        context={"question": "How likely are you to recommend us?", "buttons": [], "first_name": "Ana"},
        headers={"List-Unsubscribe": "<https://pulse.test/out>"},
    )
    assert message.to == ["ana@example.com"] and message.body.startswith("Hi Ana,")
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html" and "How likely are you to recommend us?" in html
    assert message.extra_headers == {"Auto-Submitted": "auto-generated", "List-Unsubscribe": "<https://pulse.test/out>"}


def test_a_template_without_html_gives_a_text_only_message():
    message = make_message("accounts/email/notification", to="a@example.com", subject="S", context={"body": "a & b\n"})
    assert message.body == "a & b\n" and message.alternatives == []
    assert message.message()["Auto-Submitted"] == "auto-generated"


def test_the_people_invitation_is_marked_automated_like_every_other_email(login, cast, team_a):
    login(cast["adam"]).post(
        "/people/invite/", {"email": "n@pulse.test", "name": "N", "role": "csm", "team": team_a.pk}
    )
    (message,) = mail.outbox
    assert message.message()["Auto-Submitted"] == "auto-generated"
