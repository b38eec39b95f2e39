"""Surveys ask about the company (COMPANY_NAME, or the admins' choice), never about the app (PRODUCT_NAME)."""

import pytest

from accounts.models import AuditEntry
from surveys.emails import invitation_message
from tests.factories import InvitationFactory


@pytest.fixture
def invitation(alice_account):
    return InvitationFactory(contact__account=alice_account)


def rendered(invitation) -> tuple[str, str, str]:
    message = invitation_message(invitation)
    return message.subject, message.body, message.alternatives[0][0]


def test_the_survey_email_asks_about_the_company_and_not_the_product(invitation, settings):
    settings.PRODUCT_NAME = "Pulse"
    settings.COMPANY_NAME = "Northwind Cloud"
    subject, text, html = rendered(invitation)
    assert subject == "How likely are you to recommend Northwind Cloud to a friend or colleague?"
    for part in (text, html):
        assert "The Northwind Cloud team" in part
        assert "your organisation works with Northwind Cloud" in part
        assert "Pulse" not in part


def test_an_admin_renames_the_company_and_the_next_email_uses_it(invitation, login, adam, settings):
    settings.COMPANY_NAME = "Northwind Cloud"
    rendered(invitation)  # the old name is cached now
    response = login(adam).post("/settings/company/", {"company_name": "Kite Analytics"})
    assert response.status_code == 302
    subject, text, _ = rendered(invitation)
    assert subject == "How likely are you to recommend Kite Analytics to a friend or colleague?"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.COMPANY_RENAMED)
    assert entry.actor == adam and entry.after == {"company_name": "Kite Analytics"}
    assert (
        "Company name changed</strong>: Northwind Cloud → Kite Analytics"
        in login(adam).get("/settings/company/").content.decode()
    )


def test_emptying_the_name_falls_back_to_the_setting(invitation, login, adam, settings):
    settings.COMPANY_NAME = "Northwind Cloud"
    login(adam).post("/settings/company/", {"company_name": "Kite Analytics"})
    login(adam).post("/settings/company/", {"company_name": ""})
    assert "recommend Northwind Cloud" in rendered(invitation)[0]


def test_the_answer_page_shows_the_company(invitation, client, settings):
    settings.COMPANY_NAME = "Northwind Cloud"
    page = client.get(f"/s/{invitation.token}/").content.decode()
    assert '<span class="brand">Northwind Cloud</span>' in page
    assert "How likely are you to recommend Northwind Cloud" in page


def test_a_bad_company_name_is_refused_with_a_clear_message(login, adam):
    response = login(adam).post("/settings/company/", {"company_name": "Kite\r\nBcc: all@example.com"})
    assert response.status_code == 422 and response.context["form"].errors["company_name"]
    assert not AuditEntry.objects.exists()


def test_the_product_name_stays_the_apps(login, adam, settings):
    settings.PRODUCT_NAME = "Pulse"
    settings.COMPANY_NAME = "Northwind Cloud"
    page = login(adam).get("/settings/company/").content.decode()
    assert '<a class="brand" href="/">Pulse</a>' in page
