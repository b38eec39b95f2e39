"""Responses to a signed-in user carry `Cache-Control: private, no-store`; anonymous pages keep their own."""

import datetime

import time_machine

from tests.factories import ContactFactory, InvitationFactory, ResponseFactory

NOW = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def directives(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part.strip()}


def test_an_authenticated_page_is_private_and_not_stored(alice, alice_account, login):
    client = login(alice)

    for path in ("/portfolio/", f"/accounts/{alice_account.pk}/", "/accounts/"):
        response = client.get(path)
        assert response.status_code == 200
        assert response["Cache-Control"] == "private, no-store"


def test_a_csv_export_is_private_and_not_stored(adam, alice_account, login):
    with time_machine.travel(NOW, tick=False):
        contact = ContactFactory(account=alice_account)
        ResponseFactory(account=alice_account, contact=contact, score=9, answered_at=NOW - datetime.timedelta(days=1))
        response = login(adam).get("/results/export.csv?kind=nps&period=90")

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Cache-Control"] == "private, no-store"


def test_the_tokens_page_keeps_no_store_and_is_private(adam, login):
    assert directives(login(adam).get("/settings/api-tokens/")) == {"no-store", "private"}


def test_anonymous_pages_keep_their_own_cache_headers(client, db):
    assert "Cache-Control" not in client.get("/password-reset/")
    invitation = InvitationFactory()
    survey_page = client.get(f"/s/{invitation.token}/")
    # The answer page's own never_cache, unchanged.
    assert directives(survey_page) == {"max-age=0", "no-cache", "no-store", "must-revalidate", "private"}
