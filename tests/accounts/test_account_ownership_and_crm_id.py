"""An active account always has an owner; a CRM id is set at creation and changed only by admins, and a
CSM learns nothing about CRM ids outside their scope from the message that refuses one."""

import pytest
from django.db.models import ProtectedError

from accounts.account_import import account_import_validate
from accounts.models import Account
from tests.factories import AccountFactory

TAKEN = "This CRM ID can't be used."
PRECISE = "Account with this CRM ID already exists."
NEEDS_OWNER = "An active account needs a CSM."


def form_data(account: Account, **changes) -> dict:
    data = {
        "name": account.name,
        "external_id": account.external_id,
        "owner": account.owner_id or "",
        "segment": account.segment,
        "arr": str(account.arr),
        "lifecycle_stage": account.lifecycle_stage,
        "status": account.status,
    }
    return {**data, **changes}


def new_account_data(alice, **changes) -> dict:
    data = {"name": "New Co", "external_id": "CRM-NEW", "owner": alice.pk, "segment": "smb", "arr": "1"}
    return {**data, "lifecycle_stage": "onboarding", "status": "active", **changes}


# --- the "already exists" message ----------------------------------------------------------


@pytest.mark.parametrize("whose", ["carol_account", "bob_account"])  # another team's, and a teammate's
def test_a_csm_is_told_only_that_a_taken_crm_id_cannot_be_used(alice, whose, request, login):
    taken = request.getfixturevalue(whose).external_id

    response = login(alice).post("/accounts/new/", new_account_data(alice, external_id=taken))

    assert response.context["form"].errors["external_id"] == [TAKEN]
    assert "already exists" not in response.content.decode()
    assert not Account.objects.filter(name="New Co").exists()


def test_a_manager_gets_the_same_message(maria, alice, carol_account, login):
    response = login(maria).post("/accounts/new/", new_account_data(alice, external_id=carol_account.external_id))

    assert response.context["form"].errors["external_id"] == [TAKEN]


def test_an_admin_gets_the_precise_message(adam, alice, carol_account, login):
    response = login(adam).post("/accounts/new/", new_account_data(alice, external_id=carol_account.external_id))

    assert response.context["form"].errors["external_id"] == [PRECISE]


# --- only admins change a CRM id ------------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "maria"])
def test_a_csm_or_manager_cannot_change_a_crm_id(who, alice_account, request, login):
    before = alice_account.external_id
    client = login(request.getfixturevalue(who))

    page = client.get(f"/accounts/{alice_account.pk}/edit/").content.decode()
    response = client.post(
        f"/accounts/{alice_account.pk}/edit/", form_data(alice_account, external_id="CRM-X", name="Renamed")
    )

    assert 'name="external_id"' in page and "disabled" in page.split('name="external_id"')[1].split(">")[0]
    assert "Only an admin can change the CRM ID" in page
    assert response.status_code == 302
    alice_account.refresh_from_db()
    assert (alice_account.name, alice_account.external_id) == ("Renamed", before)


def test_an_admin_changes_a_crm_id(adam, alice_account, login):
    login(adam).post(f"/accounts/{alice_account.pk}/edit/", form_data(alice_account, external_id="CRM-X"))

    alice_account.refresh_from_db()
    assert alice_account.external_id == "CRM-X"


def test_a_csm_sets_the_crm_id_when_creating_an_account(alice, login):
    assert login(alice).post("/accounts/new/", new_account_data(alice)).status_code == 302

    assert Account.objects.get(name="New Co").external_id == "CRM-NEW"


# --- an active account always has an owner ----------------------------------------------------


def test_a_manager_cannot_clear_the_owner_of_an_active_account(maria, alice, alice_account, login):
    response = login(maria).post(f"/accounts/{alice_account.pk}/edit/", form_data(alice_account, owner=""))

    assert NEEDS_OWNER in response.content.decode()
    alice_account.refresh_from_db()
    assert alice_account.owner == alice


def test_a_churned_account_may_be_left_without_an_owner(maria, alice_account, login):
    data = form_data(alice_account, owner="", status="churned", churned_on="2026-10-01")

    assert login(maria).post(f"/accounts/{alice_account.pk}/edit/", data).status_code == 302

    alice_account.refresh_from_db()
    assert (alice_account.owner, alice_account.status) == (None, "churned")


def test_the_django_admin_refuses_an_active_account_without_owner(adam, alice_account, login):
    data = {**form_data(alice_account, owner=""), "contacts-TOTAL_FORMS": "0", "contacts-INITIAL_FORMS": "0"}

    response = login(adam).post(f"/admin/accounts/account/{alice_account.pk}/change/", data)

    assert response.status_code == 200 and NEEDS_OWNER in response.content.decode()
    alice_account.refresh_from_db()
    assert alice_account.owner is not None


def test_an_import_refuses_an_active_account_without_owner(alice, db):
    AccountFactory(external_id="CRM-OLD", owner=alice)
    csv = (
        "external_id,name,owner_email,status,churned_on\n"
        "CRM-1,No Owner,,active,\n"
        "CRM-2,Gone,,churned,2026-10-01\n"
        "CRM-OLD,Old,,active,\n"
        "CRM-3,Owned,ALICE@pulse.test,active,\n"
    )

    plan = account_import_validate(accounts_csv=csv, contacts_csv=None)

    needs = "An active account needs a CSM: owner_email must name an active Pulse user"
    assert [(error.line, error.message) for error in plan.errors] == [(2, needs), (4, needs)]


def test_an_import_without_the_owner_column_keeps_an_existing_owner_but_needs_one_for_new(alice, db):
    AccountFactory(external_id="CRM-OLD", owner=alice)

    plan = account_import_validate(accounts_csv="external_id,name\nCRM-OLD,Old\nCRM-NEW,New\n", contacts_csv=None)

    assert [error.line for error in plan.errors] == [3]


def test_a_user_who_owns_accounts_cannot_be_deleted_only_deactivated(adam, alice, alice_account, login):
    client = login(adam)

    page = client.post(f"/admin/accounts/user/{alice.pk}/delete/", {"post": "yes"})

    assert page.status_code == 200 and "would require deleting the following protected related objects" in (
        page.content.decode()
    )
    alice_account.refresh_from_db()
    assert alice_account.owner == alice
    with pytest.raises(ProtectedError):
        alice.delete()
