"""The accounts import and what an account's churn and renewal date take with them: the accounts below churn
with a churned row, open renewals close as churned, and a new renewal date moves (or opens) the open renewal.
All of it set-based: the queries do not grow with the file."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.account_import import account_import_apply, account_import_validate
from accounts.models import Account
from renewals.models import ChurnReason, Outcome, Renewal
from tests.factories import AccountFactory, RenewalFactory

pytestmark = pytest.mark.django_db

HEADER = "external_id,name,owner_email,status,churned_on,churn_reason\n"
DATED = "external_id,name,renewal_date\n"


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime.datetime(2026, 6, 15, 12, tzinfo=datetime.UTC), tick=False):
        yield


def _apply(text: str, **kwargs) -> dict:
    plan = account_import_validate(accounts_csv=text, contacts_csv=None)
    assert plan.errors == []
    return account_import_apply(plan=plan, **kwargs)


def test_a_churned_row_churns_the_accounts_below_and_closes_their_renewals(alice, adam):
    top = AccountFactory(external_id="G-1", name="Group", owner=alice)
    child = AccountFactory(owner=alice, parent=top)
    grandchild = AccountFactory(owner=alice, parent=child)
    for account in (top, child, grandchild):
        RenewalFactory(account=account)

    result = _apply(HEADER + "G-1,Group,alice@pulse.test,churned,2026-06-01,low ADOPTION\n", by=adam)

    assert result["accounts_below_churned_with_them"] == 2
    assert set(Account.objects.values_list("status", "churned_on", "churn_reason", "renewal_date")) == {
        ("churned", datetime.date(2026, 6, 1), "low ADOPTION", None)
    }
    low_adoption = ChurnReason.objects.get(name="Low adoption")
    assert set(Renewal.objects.values_list("outcome", "closed_on", "churn_reason", "closed_by")) == {
        (Outcome.CHURNED, datetime.date(2026, 6, 1), low_adoption.pk, adam.pk)
    }


def test_the_summary_of_a_file_that_churns_nobody_below_says_nothing_of_it(alice):
    AccountFactory(external_id="G-1", name="Group", owner=alice)
    result = _apply(HEADER + "G-1,Group,alice@pulse.test,churned,2026-06-01,Budget cut\n")
    assert "accounts_below_churned_with_them" not in result


def test_reimporting_a_churned_account_churns_nothing_again(alice):
    gone = AccountFactory(
        external_id="G-1", owner=alice, status="churned", churned_on=datetime.date(2025, 1, 1), renewal_date=None
    )
    child = AccountFactory(owner=alice, parent=gone)  # left active by an older version: not this file's doing
    _apply(HEADER + "G-1,Group,alice@pulse.test,churned,2025-01-01,Budget cut\n")
    child.refresh_from_db()
    assert child.status == "active"


def test_a_new_renewal_date_moves_the_open_renewal_or_opens_one(alice):
    moved = AccountFactory(external_id="D-1", owner=alice, renewal_date=datetime.date(2026, 9, 1))
    RenewalFactory(account=moved, renewal_date=datetime.date(2026, 9, 1), term_start=datetime.date(2025, 9, 1))
    bare = AccountFactory(external_id="D-2", owner=alice, renewal_date=None, arr=12_000)
    kept = AccountFactory(external_id="D-3", owner=alice, renewal_date=datetime.date(2026, 10, 1))
    RenewalFactory(account=kept, renewal_date=datetime.date(2026, 10, 1))

    _apply(DATED + "D-1,Moved,2026-11-30\nD-2,Bare,2027-01-31\nD-3,Kept,2026-10-01\n")

    assert Renewal.objects.open().get(account=moved).renewal_date == datetime.date(2026, 11, 30)
    opened = Renewal.objects.open().get(account=bare)
    assert (opened.renewal_date, opened.term_start, opened.arr) == (
        datetime.date(2027, 1, 31), datetime.date(2026, 1, 31), 12_000,
    )  # fmt: skip
    assert Renewal.objects.get(account=kept).renewal_date == datetime.date(2026, 10, 1)
    assert Renewal.objects.count() == 3


def test_a_date_a_closed_term_holds_moves_nothing_onto_it(alice):
    account = AccountFactory(external_id="D-1", owner=alice, renewal_date=datetime.date(2026, 9, 1))
    RenewalFactory(
        account=account,
        renewal_date=datetime.date(2025, 9, 1),
        outcome="renewed",
        new_arr=account.arr,
        closed_on=datetime.date(2025, 8, 20),
    )
    current = RenewalFactory(account=account, renewal_date=datetime.date(2026, 9, 1))
    _apply(DATED + "D-1,Dated,2025-09-01\n")
    current.refresh_from_db()
    assert current.renewal_date == datetime.date(2026, 9, 1) and Renewal.objects.count() == 2


def test_the_queries_do_not_grow_with_the_file(alice, adam):
    header = "external_id,name,owner_email,renewal_date,status,churned_on,churn_reason\n"

    def run(size: int, start: int) -> int:
        rows = []
        for index in range(start, start + size):
            top = AccountFactory(external_id=f"T-{index}", owner=alice, renewal_date=datetime.date(2026, 9, 1))
            RenewalFactory(account=top, renewal_date=datetime.date(2026, 9, 1))
            RenewalFactory(account=AccountFactory(owner=alice, parent=top))
            rows.append(f"T-{index},Top,alice@pulse.test,,churned,2026-06-0{1 + index % 3},Budget cut")
            RenewalFactory(account=AccountFactory(external_id=f"M-{index}", owner=alice))
            rows.append(f"M-{index},Moved,alice@pulse.test,2027-02-0{1 + index % 3},active,,")
            AccountFactory(external_id=f"O-{index}", owner=alice, renewal_date=None)
            rows.append(f"O-{index},Opened,alice@pulse.test,2027-03-01,active,,")
        plan = account_import_validate(accounts_csv=header + "\n".join(rows) + "\n", contacts_csv=None)
        with CaptureQueriesContext(connection) as captured:
            account_import_apply(plan=plan, by=adam)
        assert not Renewal.objects.open().filter(account__external_id__startswith="T-").exists()
        assert (
            Renewal.objects.open().filter(account__external_id__in=[f"O-{start}", f"O-{start + size - 1}"]).count() == 2
        )
        return len(captured.captured_queries)

    assert run(3, 0) == run(12, 100)  # SQLite's parameter limit splits an INSERT of many more rows
