"""The scope matrix: who sees and who edits which account, and that views use it."""

import pytest

from accounts.models import Account

# (user, account owner) -> visible?, editable?
MATRIX = [
    ("alice", "alice", True, True),
    ("alice", "bob", True, False),  # a CSM reads the team's accounts
    ("alice", "carol", False, False),
    ("carol", "alice", False, False),
    ("maria", "alice", True, True),  # a manager sees and edits the teams they manage
    ("maria", "bob", True, True),
    ("maria", "carol", False, False),
    ("adam", "alice", True, True),
    ("adam", "carol", True, True),
]


@pytest.fixture
def accounts_by_owner(alice_account, bob_account, carol_account):
    return {"alice": alice_account, "bob": bob_account, "carol": carol_account}


@pytest.mark.parametrize(("viewer", "owner", "visible", "editable"), MATRIX)
def test_queryset_scope(cast, accounts_by_owner, viewer, owner, visible, editable):
    user, account = cast[viewer], accounts_by_owner[owner]
    assert Account.objects.visible_to(user).filter(pk=account.pk).exists() is visible
    assert Account.objects.editable_by(user).filter(pk=account.pk).exists() is editable


@pytest.mark.parametrize(("viewer", "owner", "visible", "editable"), MATRIX)
def test_account_page_answers_404_out_of_scope(cast, accounts_by_owner, login, viewer, owner, visible, editable):
    account = accounts_by_owner[owner]
    client = login(cast[viewer])
    page = client.get(f"/accounts/{account.pk}/")
    assert page.status_code == (200 if visible else 404)
    if visible:
        assert account.name in page.content.decode()
    edit = client.get(f"/accounts/{account.pk}/edit/")
    assert edit.status_code == (200 if editable else 404)


@pytest.mark.parametrize(("viewer", "owner", "visible", "editable"), MATRIX)
def test_writes_out_of_scope_change_nothing(cast, accounts_by_owner, login, viewer, owner, visible, editable):
    account = accounts_by_owner[owner]
    client = login(cast[viewer])
    response = client.post(
        f"/accounts/{account.pk}/checkins/", {"date": "2026-01-05", "sentiment": "4", "notes": "Call"}
    )
    assert response.status_code == (302 if editable else 404)
    assert account.checkins.count() == (1 if editable else 0)


def test_list_shows_only_accounts_in_scope(cast, accounts_by_owner, login):
    for viewer, expected in {
        "alice": {"alice", "bob"},
        "carol": {"carol"},
        "maria": {"alice", "bob"},
        "adam": {"alice", "bob", "carol"},
    }.items():
        html = login(cast[viewer]).get("/accounts/").content.decode()
        shown = {owner for owner, account in accounts_by_owner.items() if account.name in html}
        assert shown == expected, viewer


def test_csm_without_team_sees_only_own(db, alice_account):
    from tests.factories import AccountFactory, UserFactory

    loner = UserFactory(email="loner@pulse.test", team=None)
    own = AccountFactory(owner=loner)
    assert list(Account.objects.visible_to(loner)) == [own]


def test_inactive_user_sees_nothing(alice, alice_account):
    alice.is_active = False
    alice.save()
    assert not Account.objects.visible_to(alice).exists()


@pytest.mark.parametrize(
    "url", ["/accounts/", "/accounts/new/", "/metrics/", "/accounts/import/", "/settings/api-tokens/"]
)
def test_anonymous_is_sent_to_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("url", ["/metrics/", "/accounts/import/", "/settings/api-tokens/", "/outbox/"])
@pytest.mark.parametrize("viewer", ["alice", "maria"])
def test_admin_pages_are_404_for_others(cast, login, settings, url, viewer):
    settings.EMAIL_BACKEND = "accounts.outbox.OutboxBackend"
    assert login(cast[viewer]).get(url).status_code == 404
    assert login(cast["adam"]).get(url).status_code == 200
