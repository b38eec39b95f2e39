"""Low scores alert the account owner once: a notification in the app and one email."""

import pytest

from accounts.models import Notification
from surveys.alerts import response_alert_owner
from tests.factories import AccountFactory, CommentFactory, ContactFactory


@pytest.mark.parametrize(("kind", "score"), [("nps", 6), ("nps", 0), ("csat", 2), ("csat", 1), ("ces", 3), ("ces", 1)])
def test_low_score_alerts_the_owner_once_in_app_and_by_email(alice, alice_account, mailoutbox, kind, score):
    dora = ContactFactory(account=alice_account, name="Dora Dorsey")
    answer = CommentFactory(
        account=alice_account,
        kind=kind,
        score=score,
        contact=dora,
        comment="Too slow.",
    )

    assert response_alert_owner(response_id=answer.pk) is True

    notification = Notification.objects.get()
    assert notification.user == alice and notification.key == f"low-score:{answer.pk}"
    assert notification.title == f"Acme Alpha: Dora Dorsey answered {kind.upper()} {score}"
    assert notification.body == "Too slow." and notification.url == f"/feedback/{answer.pk}/view/"
    assert notification.read_at is None
    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == ["alice@pulse.test"] and email.subject == notification.title
    assert "> Too slow." in email.body and f"/accounts/{alice_account.pk}/" in email.body

    assert response_alert_owner(response_id=answer.pk) is False
    assert Notification.objects.count() == 1 and len(mailoutbox) == 1


@pytest.mark.parametrize(("kind", "score"), [("nps", 7), ("nps", 10), ("csat", 3), ("csat", 5), ("ces", 4), ("ces", 7)])
def test_scores_above_the_threshold_alert_nobody(alice_account, mailoutbox, kind, score):
    answer = CommentFactory(account=alice_account, kind=kind, score=score)
    assert response_alert_owner(response_id=answer.pk) is False
    assert not Notification.objects.exists() and mailoutbox == []


def test_an_account_without_owner_alerts_nobody(db, mailoutbox):
    answer = CommentFactory(account=AccountFactory(owner=None), kind="nps", score=0)
    assert response_alert_owner(response_id=answer.pk) is False
    assert not Notification.objects.exists() and mailoutbox == []


def test_an_answer_without_contact_still_alerts_and_says_a_contact(alice, alice_account, mailoutbox):
    answer = CommentFactory(account=alice_account, contact=None, kind="csat", score=1, comment="")
    assert response_alert_owner(response_id=answer.pk) is True
    assert Notification.objects.get().title == "Acme Alpha: A contact answered CSAT 1"
    assert len(mailoutbox) == 1


def test_a_missing_answer_alerts_nobody(db, mailoutbox):
    assert response_alert_owner(response_id=987654) is False
    assert not Notification.objects.exists() and mailoutbox == []


def test_the_email_quotes_the_comment_and_links_straight_to_the_inbox_item(alice, alice_account, mailoutbox, settings):
    settings.SITE_URL = "https://pulse.example.com"
    dora = ContactFactory(account=alice_account, name="Dora Dorsey")
    comment = 'Export broke again.\r\n\r\nClick here: https://evil.test <b>"now"</b>\x07'
    answer = CommentFactory(account=alice_account, kind="nps", score=2, contact=dora, comment=comment)

    assert response_alert_owner(response_id=answer.pk) is True

    email = mailoutbox[0]
    assert f"https://pulse.example.com/feedback/{answer.pk}/view/\n" in email.body
    assert f"https://pulse.example.com/accounts/{alice_account.pk}/\n" in email.body
    # Each line of the comment is quoted, verbatim (plain text: nothing HTML-escaped), with no control characters.
    assert '> Export broke again.\n>\n> Click here: https://evil.test <b>"now"</b>\n' in email.body
    assert "\x07" not in email.body and "\r" not in email.body and "&quot;" not in email.body
    # The comment stays in the body: the subject is one line with the score only.
    assert email.subject == "Acme Alpha: Dora Dorsey answered NPS 2"
    assert email.message()["Subject"] == email.subject


def test_an_answer_without_comment_links_to_the_account(alice, alice_account, mailoutbox, settings):
    settings.SITE_URL = "https://pulse.example.com"
    answer = CommentFactory(account=alice_account, kind="csat", score=1, comment="")
    assert response_alert_owner(response_id=answer.pk) is True
    body = mailoutbox[0].body
    assert f"Follow up while it is fresh: https://pulse.example.com/accounts/{alice_account.pk}/" in body
    assert "/feedback/" not in body and "Their comment" not in body
