"""The page-or-partial switch (core/htmx.py): one URL, the whole page or the fragment HTMX swaps."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import AccountFactory, ContactFactory

HTMX = {"HX-Request": "true"}
HISTORY_RESTORE = {**HTMX, "HX-History-Restore-Request": "true"}
BOOSTED = {**HTMX, "HX-Boosted": "true"}
# Each page that swaps a fragment of itself on the same URL, and the element the fragment starts with.
PAGES = {
    "/portfolio/": '<section id="results"',
    "/team/": '<div id="rollup"',
    "/accounts/": '<section id="results"',
    "/results/": '<div id="results"',
    "/feedback/": '<section id="feedback-comments"',
    "/notifications/": '<section id="notifications"',
}


def _get(client, url, headers=None):
    response = client.get(url, headers=headers or {})
    assert response.status_code == 200
    return response, response.content.decode()


@pytest.mark.parametrize("url", PAGES)
def test_the_page_and_its_fragment_both_vary_on_hx_request(url, adam, login):
    client = login(adam)

    page, page_body = _get(client, url)
    fragment, fragment_body = _get(client, url, HTMX)

    assert "<html" in page_body and "<html" not in fragment_body
    assert fragment_body.lstrip().startswith(PAGES[url])
    assert "HX-Request" in page["Vary"] and "HX-Request" in fragment["Vary"]


@pytest.mark.parametrize("headers", [HISTORY_RESTORE, BOOSTED], ids=["history restore", "boosted"])
@pytest.mark.parametrize("url", PAGES)
def test_a_history_restore_or_a_boosted_link_gets_the_whole_page(url, headers, adam, login):
    response, body = _get(login(adam), url, headers)

    assert "<html" in body
    assert "HX-Request" in response["Vary"]


def test_the_account_page_swaps_the_section_its_links_target(alice, login):
    account = AccountFactory(owner=alice)
    url = f"/accounts/{account.pk}/?since=30"

    _, since = _get(login(alice), url, {**HTMX, "HX-Target": "since"})
    _, restored = _get(login(alice), url, {**HISTORY_RESTORE, "HX-Target": "since"})

    assert since.lstrip().startswith('<section id="since"')
    assert "<html" in restored


# ---- Invalid forms answer 422 (htmx is configured in base.html to swap it) ----


def test_invalid_forms_answer_422_on_every_page(adam, login):
    account = AccountFactory(owner=adam)
    contact = ContactFactory(account=account)
    client = login(adam)
    invalid = {
        "/accounts/new/": {"name": ""},
        f"/accounts/{account.pk}/edit/": {"name": ""},
        f"/accounts/{account.pk}/contacts/{contact.pk}/edit/": {"email": "not an address"},
        "/accounts/import/": {},
        "/results/import/": {"answers_file": SimpleUploadedFile("a.csv", b"")},
    }
    for url, data in invalid.items():
        response = client.post(url, data)
        assert response.status_code == 422, url
        assert 'class="errorlist' in response.content.decode(), url
