"""Parent and child accounts: the recursive reads, and cycles refused by the form, the Django admin and the import."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.account_import import account_import_apply, account_import_validate
from accounts.hierarchy import ancestor_ids, descendant_ids, descendant_parents
from accounts.models import Account
from tests.factories import AccountFactory


@pytest.fixture
def tree(alice):
    """top → (a → (a1 → a1x), b); and an unrelated account."""
    top = AccountFactory(name="Top", owner=alice)
    a = AccountFactory(name="A", owner=alice, parent=top)
    b = AccountFactory(name="B", owner=alice, parent=top)
    a1 = AccountFactory(name="A1", owner=alice, parent=a)
    a1x = AccountFactory(name="A1x", owner=alice, parent=a1)
    other = AccountFactory(name="Other", owner=alice)
    return {"top": top, "a": a, "b": b, "a1": a1, "a1x": a1x, "other": other}


def test_descendant_ids_reach_depth_three_in_one_query(tree):
    with CaptureQueriesContext(connection) as queries:
        found = descendant_ids([tree["top"].pk])
    assert found == {tree[name].pk for name in ("a", "b", "a1", "a1x")}
    assert len(queries) == 1
    assert "WITH RECURSIVE" in queries[0]["sql"]


def test_descendant_ids_of_several_leave_the_given_ones_out(tree):
    assert descendant_ids([tree["a"].pk, tree["a1"].pk, tree["other"].pk]) == {tree["a1x"].pk}
    assert descendant_ids([tree["a1x"].pk]) == set()
    assert descendant_ids([]) == set()


def test_descendant_parents_give_each_ones_parent(tree):
    assert descendant_parents([tree["a"].pk]) == {tree["a1"].pk: tree["a"].pk, tree["a1x"].pk: tree["a1"].pk}


def test_ancestors_nearest_first(tree):
    assert ancestor_ids(tree["a1x"].pk) == [tree["a1"].pk, tree["a"].pk, tree["top"].pk]
    assert ancestor_ids(tree["top"].pk) == []


# ---- The account form ----


def _form_data(account: Account, **changes) -> dict:
    data = {
        "name": account.name,
        "external_id": account.external_id,
        "owner": account.owner_id or "",
        "segment": account.segment,
        "arr": account.arr,
        "renewal_date": account.renewal_date or "",
        "lifecycle_stage": account.lifecycle_stage,
        "status": account.status,
        "churned_on": "",
        "churn_reason": "",
        "parent": account.parent_id or "",
    }
    return data | changes


def test_the_form_sets_a_parent(alice, login, tree):
    response = login(alice).post(f"/accounts/{tree['b'].pk}/edit/", _form_data(tree["b"], parent=tree["other"].pk))
    assert response.status_code == 302
    tree["b"].refresh_from_db()
    assert tree["b"].parent == tree["other"]


def test_the_form_refuses_a_descendant_as_parent(alice, login, tree):
    response = login(alice).post(f"/accounts/{tree['a'].pk}/edit/", _form_data(tree["a"], parent=tree["a1x"].pk))
    assert response.status_code == 422
    assert response.context["form"].errors["parent"] == [
        "A1x is under A in the hierarchy: an account can't be its own ancestor."
    ]
    tree["a"].refresh_from_db()
    assert tree["a"].parent == tree["top"]


def test_the_form_does_not_offer_the_account_itself(alice, login, tree):
    response = login(alice).get(f"/accounts/{tree['a'].pk}/edit/")
    choices = list(response.context["form"].fields["parent"].queryset)
    assert tree["a"] not in choices and tree["a1x"] in choices


def test_the_form_offers_only_parents_in_scope(alice, carol, carol_account, login, tree):
    response = login(alice).get(f"/accounts/{tree['other'].pk}/edit/")
    assert carol_account not in response.context["form"].fields["parent"].queryset
    response = login(alice).post(
        f"/accounts/{tree['other'].pk}/edit/", _form_data(tree["other"], parent=carol_account.pk)
    )
    assert response.status_code == 422 and "parent" in response.context["form"].errors
    tree["other"].refresh_from_db()
    assert tree["other"].parent is None


def test_a_parent_outside_scope_is_kept_and_not_shown(alice, carol_account, login):
    child = AccountFactory(name="Child", owner=alice, parent=carol_account)
    client = login(alice)
    response = client.get(f"/accounts/{child.pk}/edit/")
    assert "parent" not in response.context["form"].fields
    assert carol_account.name not in response.content.decode()
    assert client.post(f"/accounts/{child.pk}/edit/", _form_data(child, name="Child renamed")).status_code == 302
    child.refresh_from_db()
    assert (child.name, child.parent) == ("Child renamed", carol_account)


# ---- The Django admin ----


def test_the_admin_refuses_a_cycle(adam, login, tree):
    data = _form_data(tree["top"], parent=tree["a1"].pk) | {
        "contacts-TOTAL_FORMS": "0",
        "contacts-INITIAL_FORMS": "0",
    }
    response = login(adam).post(f"/admin/accounts/account/{tree['top'].pk}/change/", data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["parent"] == [
        "A1 is under Top in the hierarchy: an account can't be its own ancestor."
    ]
    tree["top"].refresh_from_db()
    assert tree["top"].parent is None


def test_the_admin_refuses_the_account_as_its_own_parent(adam, login, tree):
    data = _form_data(tree["b"], parent=tree["b"].pk) | {"contacts-TOTAL_FORMS": "0", "contacts-INITIAL_FORMS": "0"}
    response = login(adam).post(f"/admin/accounts/account/{tree['b'].pk}/change/", data)
    assert response.context["adminform"].form.errors["parent"] == ["An account can't be its own parent."]


# ---- The import ----

HEADER = "external_id,name,owner_email,parent_external_id\n"


def _validate(text: str):
    return account_import_validate(accounts_csv=HEADER + text, contacts_csv=None)


def test_import_with_a_parent_in_the_same_file(alice):
    # The child comes first: the parent is created in the same pass.
    plan = _validate(
        "G-2,Child,alice@pulse.test,G-1\nG-1,Group,alice@pulse.test,\nG-3,Grandchild,alice@pulse.test,G-2\n"
    )
    assert plan.errors == []
    account_import_apply(plan=plan)
    child = Account.objects.get(external_id="G-2")
    assert child.parent.external_id == "G-1"
    assert Account.objects.get(external_id="G-3").parent == child
    assert Account.objects.get(external_id="G-1").parent is None


def test_import_with_a_parent_already_in_pulse(alice, tree):
    plan = _validate(f"G-9,New child,alice@pulse.test,{tree['a1x'].external_id}\n")
    assert plan.errors == []
    account_import_apply(plan=plan)
    assert Account.objects.get(external_id="G-9").parent == tree["a1x"]
    assert descendant_ids([tree["top"].pk]) >= {Account.objects.get(external_id="G-9").pk}


def test_import_an_empty_parent_cell_removes_the_parent(alice, tree):
    plan = _validate(f"{tree['a'].external_id},A,alice@pulse.test,\n")
    account_import_apply(plan=plan)
    tree["a"].refresh_from_db()
    assert tree["a"].parent is None


def test_import_without_the_column_keeps_parents(alice, tree):
    plan = account_import_validate(
        accounts_csv=f"external_id,name\n{tree['a'].external_id},A renamed\n", contacts_csv=None
    )
    account_import_apply(plan=plan)
    tree["a"].refresh_from_db()
    assert (tree["a"].name, tree["a"].parent) == ("A renamed", tree["top"])


def test_import_an_unknown_parent_is_a_row_error_and_nothing_is_written(alice):
    plan = _validate("G-1,Group,alice@pulse.test,\nG-2,Child,alice@pulse.test,NOPE-1\n")
    assert [(error.line, error.message) for error in plan.errors] == [
        (3, "parent_external_id 'NOPE-1' matches no account in Pulse or in the accounts file")
    ]
    assert plan.accounts == [] and not Account.objects.exists()


def test_import_a_cycle_within_the_file_is_refused(alice):
    plan = _validate("G-1,One,alice@pulse.test,G-2\nG-2,Two,alice@pulse.test,G-1\nG-3,Own,alice@pulse.test,G-3\n")
    assert [(error.line, error.message) for error in plan.errors] == [
        (2, "parent_external_id 'G-2' would make a cycle (G-1 → G-2 → G-1): an account can't be its own ancestor"),
        (3, "parent_external_id 'G-1' would make a cycle (G-2 → G-1 → G-2): an account can't be its own ancestor"),
        (4, "parent_external_id 'G-3' is this account itself: an account can't be its own parent"),
    ]
    assert not Account.objects.exists()


def test_import_a_cycle_through_stored_accounts_is_refused(alice, tree):
    # top is stored above a1x; making top a child of a1x closes the loop through three stored accounts.
    top, a1x = tree["top"].external_id, tree["a1x"].external_id
    plan = _validate(f"{top},Top,alice@pulse.test,{a1x}\n")
    path = " → ".join([top, a1x, tree["a1"].external_id, tree["a"].external_id, top])
    assert [error.message for error in plan.errors] == [
        f"parent_external_id {a1x!r} would make a cycle ({path}): an account can't be its own ancestor"
    ]
    tree["top"].refresh_from_db()
    assert tree["top"].parent is None


def test_import_moving_a_branch_away_first_is_no_cycle(alice, tree):
    # The same file takes a1 out from under top, so top may go under a1x.
    top, a1, a1x = (tree[name].external_id for name in ("top", "a1", "a1x"))
    plan = _validate(f"{top},Top,alice@pulse.test,{a1x}\n{a1},A1,alice@pulse.test,\n")
    assert plan.errors == []
    account_import_apply(plan=plan)
    tree["top"].refresh_from_db()
    assert tree["top"].parent == tree["a1x"]
