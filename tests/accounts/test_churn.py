"""Churning an account (accounts/churn.py account_churn) and the routes that take it: the account form, the
Django admin and closing a renewal. The accounts below churn with it, open renewals close as churned, and
nobody churns accounts they may not edit."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.churn import Churn, account_churn, churn_reach
from accounts.models import Account
from renewals.models import ChurnReason, Outcome, Renewal
from tests.factories import AccountFactory, ChurnReasonFactory, RenewalFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 15)
CHURNED_ON = datetime.date(2026, 6, 1)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime.datetime(2026, 6, 15, 12, tzinfo=datetime.UTC), tick=False):
        yield


@pytest.fixture
def group(alice):
    """A parent, its child and grandchild (alice's), each with an open renewal; an earlier-churned child."""
    top = AccountFactory(name="Top", owner=alice)
    child = AccountFactory(name="Child", owner=alice, parent=top)
    grandchild = AccountFactory(name="Grandchild", owner=alice, parent=child)
    gone = AccountFactory(
        name="Gone", owner=alice, parent=top, status="churned", churned_on=datetime.date(2025, 1, 1), renewal_date=None
    )
    for account in (top, child, grandchild):
        RenewalFactory(account=account)
    return {"top": top, "child": child, "grandchild": grandchild, "gone": gone}


def state(account: Account) -> tuple:
    account.refresh_from_db()
    return account.status, account.churned_on, account.churn_reason, account.renewal_date


def test_the_accounts_below_churn_on_the_day_and_for_the_reason_and_their_renewals_close(group, alice):
    reason = ChurnReason.objects.get(name="Budget cut")
    churned = account_churn(churns={group["top"].pk: Churn(on=CHURNED_ON, reason="budget CUT")}, by=alice)

    assert set(churned) == {group["top"].pk, group["child"].pk, group["grandchild"].pk}
    for name in ("top", "child", "grandchild"):
        assert state(group[name]) == ("churned", CHURNED_ON, "budget CUT", None)
    # Churned before, it keeps its own day and reason.
    assert state(group["gone"]) == ("churned", datetime.date(2025, 1, 1), "", None)
    closed = Renewal.objects.filter(account__in=[group["top"], group["child"], group["grandchild"]])
    assert {(r.outcome, r.new_arr, r.closed_on, r.churn_reason, r.closed_by) for r in closed} == {
        (Outcome.CHURNED, 0, CHURNED_ON, reason, alice)
    }
    assert not Renewal.objects.open().exists()


def test_a_reason_off_the_list_closes_the_renewals_as_other_created_if_missing(group, alice):
    ChurnReason.objects.filter(name="Other").delete()
    account_churn(churns={group["top"].pk: Churn(on=CHURNED_ON, reason="Moved to a spreadsheet")}, by=None)
    other = ChurnReason.objects.get(name="Other")
    assert set(Renewal.objects.values_list("churn_reason", flat=True)) == {other.pk}
    assert state(group["child"])[2] == "Moved to a spreadsheet"  # the account keeps the words given


def test_each_account_below_takes_its_nearest_given_ancestors_day(group):
    churns = {
        group["top"].pk: Churn(on=CHURNED_ON, reason="Budget cut"),
        group["child"].pk: Churn(on=datetime.date(2026, 5, 1), reason="Low adoption"),
    }
    account_churn(churns=churns, by=None)
    assert state(group["top"])[:3] == ("churned", CHURNED_ON, "Budget cut")
    assert state(group["grandchild"])[:3] == ("churned", datetime.date(2026, 5, 1), "Low adoption")


def test_the_queries_do_not_grow_with_the_size_of_the_group(alice):
    def churn_a_group(size: int) -> int:
        top = AccountFactory(owner=alice)
        RenewalFactory(account=top)
        for index in range(size):
            child = AccountFactory(owner=alice, parent=top)
            RenewalFactory(account=child)
            if index % 2:
                AccountFactory(owner=alice, parent=child)
        with CaptureQueriesContext(connection) as captured:
            account_churn(churns={top.pk: Churn(on=CHURNED_ON, reason=["Budget cut", "Other"][size % 2])}, by=alice)
        return len(captured.captured_queries)

    assert churn_a_group(2) == churn_a_group(20)


# ---- The account form and the Django admin ----


def form_data(account: Account, **changes) -> dict:
    data = {
        "name": account.name,
        "external_id": account.external_id,
        "owner": account.owner_id,
        "segment": account.segment,
        "arr": account.arr,
        "renewal_date": account.renewal_date or "",
        "lifecycle_stage": account.lifecycle_stage,
        "status": "churned",
        "churned_on": CHURNED_ON.isoformat(),
        "churn_reason": "Chose a competitor",
        "parent": account.parent_id or "",
    }
    return data | changes


def test_the_form_churns_the_accounts_below_and_closes_the_open_renewals(group, alice, login):
    client = login(alice)
    page = client.get(f"/accounts/{group['top'].pk}/edit/").content.decode()
    assert "Churning it churns the 2 active accounts below it too." in page

    response = client.post(f"/accounts/{group['top'].pk}/edit/", form_data(group["top"]))
    assert response.status_code == 302
    for name in ("top", "child", "grandchild"):
        assert state(group[name]) == ("churned", CHURNED_ON, "Chose a competitor", None)
    assert not Renewal.objects.open().exists()
    assert set(Renewal.objects.values_list("churn_reason__name", flat=True)) == {"Chose a competitor"}


def test_the_admin_churns_the_accounts_below_too(group, adam, login):
    data = form_data(group["top"]) | {"contacts-TOTAL_FORMS": "0", "contacts-INITIAL_FORMS": "0"}
    response = login(adam).post(f"/admin/accounts/account/{group['top'].pk}/change/", data)
    assert response.status_code == 302
    assert state(group["grandchild"]) == ("churned", CHURNED_ON, "Chose a competitor", None)
    assert Renewal.objects.get(account=group["top"]).closed_by == adam
    assert not Renewal.objects.open().exists()


def test_the_form_refuses_to_churn_a_parent_over_accounts_the_user_may_not_edit(group, alice, bob, login):
    Account.objects.filter(pk=group["grandchild"].pk).update(owner=bob)  # bob's: alice (a CSM) may not edit it
    response = login(alice).post(f"/accounts/{group['top'].pk}/edit/", form_data(group["top"]))
    assert response.status_code == 422
    assert response.context["form"].errors["status"] == [
        "1 of the 2 accounts below this one is not yours to edit, and churning it churns them too: "
        "ask their team's manager or an admin to churn it."
    ]
    assert {state(group[name])[0] for name in ("top", "child", "grandchild")} == {"active"}
    assert Renewal.objects.open().count() == 3


def test_renaming_a_churned_account_churns_nothing_more(group, alice, login):
    gone = group["gone"]
    data = form_data(gone, name="Gone for good", churned_on="2025-01-01", churn_reason="")
    assert login(alice).post(f"/accounts/{gone.pk}/edit/", data).status_code == 302
    assert state(group["top"])[0] == "active"
    assert Renewal.objects.open().count() == 3


# ---- Closing a parent's renewal ----


def close(client, renewal: Renewal, reason: ChurnReason):
    data = {"outcome": "churned", "churn_reason": reason.pk, "closed_on": TODAY.isoformat(), "new_arr": ""}
    return client.post(f"/renewals/{renewal.pk}/close/", data, headers={"HX-Request": "true"})


def test_closing_as_churned_says_how_many_accounts_below_churn_with_it(group, alice, login):
    page = login(alice).get(group["top"].get_absolute_url()).content.decode()
    assert "Churned churns the account and the 2 active accounts below it." in page


def test_closing_over_another_teams_accounts_is_refused_with_a_message(group, maria, carol, login):
    Account.objects.filter(pk=group["child"].pk).update(owner=carol)  # team B: not maria's to edit
    renewal = Renewal.objects.get(account=group["top"])
    response = close(login(maria), renewal, ChurnReasonFactory(name="Low adoption"))
    assert response.status_code == 422
    assert (
        "1 of the 2 accounts below this one is not yours to edit, and churning it churns them too"
        in response.content.decode()
    )
    assert Renewal.objects.open().count() == 3 and state(group["top"])[0] == "active"


def test_a_manager_closes_a_group_of_their_team_as_churned(group, maria, login):
    renewal = Renewal.objects.get(account=group["top"])
    reason = ChurnReasonFactory(name="Low adoption")
    assert close(login(maria), renewal, reason).status_code == 200
    assert state(group["grandchild"]) == ("churned", TODAY, "Low adoption", None)
    assert set(Renewal.objects.values_list("outcome", "churn_reason", "closed_by")) == {
        ("churned", reason.pk, maria.pk)
    }


def test_churn_reach_counts_only_active_accounts_below(group, alice, carol):
    reach = churn_reach(account=group["top"], user=alice)
    assert (reach.below, reach.outside, reach.problem) == (2, 0, None)
    outsider = churn_reach(account=group["top"], user=UserFactory())
    assert (outsider.below, outsider.outside) == (2, 2)
    assert churn_reach(account=group["grandchild"], user=carol).below == 0
