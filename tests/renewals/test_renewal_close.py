"""Calls and closing a renewal: the outcome's rules, churn (of a group too), ARR history and the next term."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from accounts.models import Account, ArrChange
from renewals.models import ForecastCall, Outcome, Renewal
from renewals.services import forecast_call_record, next_renewal_date, outcome_problems, renewal_close
from tests.factories import AccountFactory, ChurnReasonFactory, RenewalFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 15)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime.datetime(2026, 6, 15, 12), tick=False):
        yield


@pytest.fixture
def renewal(alice):
    account = AccountFactory(owner=alice, arr=Decimal("50000"), renewal_date=datetime.date(2026, 7, 1))
    return RenewalFactory(account=account, renewal_date=datetime.date(2026, 7, 1), term_start=datetime.date(2025, 7, 1))


def test_an_expansion_raises_the_arr_records_it_and_opens_the_next_term(renewal, alice):
    following = renewal_close(
        renewal=renewal, outcome=Outcome.EXPANDED, new_arr=Decimal("60000"), closed_on=TODAY, by=alice
    )
    renewal.refresh_from_db()
    assert (renewal.outcome, renewal.new_arr, renewal.closed_on, renewal.closed_by) == ("expanded", 60000, TODAY, alice)
    assert (following.renewal_date, following.term_start, following.arr) == (
        datetime.date(2027, 7, 1), datetime.date(2026, 7, 1), Decimal("60000"),
    )  # fmt: skip
    account = Account.objects.get(pk=renewal.account_id)
    assert (account.arr, account.renewal_date) == (Decimal("60000"), datetime.date(2027, 7, 1))
    change = ArrChange.objects.get(account=account, source=ArrChange.Source.RENEWAL)
    assert (change.on, change.previous_arr, change.arr, change.by) == (
        TODAY,
        50000,
        60000,
        alice,
    )  # closed early: from today


def test_closed_early_the_arr_history_changes_the_day_the_account_does(renewal, alice):
    early = TODAY - datetime.timedelta(days=5)
    renewal_close(renewal=renewal, outcome=Outcome.CONTRACTED, new_arr=Decimal("40000"), closed_on=early, by=alice)
    assert ArrChange.objects.get(source=ArrChange.Source.RENEWAL).on == early


def test_a_flat_renewal_records_no_arr_change(renewal, alice):
    renewal_close(renewal=renewal, outcome=Outcome.RENEWED, new_arr=Decimal("50000"), closed_on=TODAY, by=alice)
    assert not ArrChange.objects.filter(source=ArrChange.Source.RENEWAL).exists()
    assert Renewal.objects.open().get().renewal_date == datetime.date(2027, 7, 1)


def test_churn_churns_the_account_and_everything_below_it_with_the_reason(renewal, alice):
    child = AccountFactory(owner=alice, parent=renewal.account)
    grandchild = AccountFactory(owner=alice, parent=child)
    child_renewal = RenewalFactory(account=child, renewal_date=datetime.date(2026, 9, 1))
    reason = ChurnReasonFactory(name="Chose a competitor")
    following = renewal_close(
        renewal=renewal, outcome=Outcome.CHURNED, new_arr=None, churn_reason=reason, closed_on=TODAY, by=alice
    )
    assert following is None
    for account in (renewal.account, child, grandchild):
        account.refresh_from_db()
        assert (account.status, account.churned_on, account.churn_reason) == ("churned", TODAY, "Chose a competitor")
    child_renewal.refresh_from_db()
    assert (child_renewal.outcome, child_renewal.new_arr, child_renewal.churn_reason) == ("churned", 0, reason)
    assert not Renewal.objects.open().exists()


@pytest.mark.parametrize(
    "outcome, new_arr, reason, field, message",
    [
        ("churned", None, False, "churn_reason", "A churned renewal needs a reason."),
        ("renewed", Decimal("49000"), False, "new_arr", "Renewed flat keeps the ARR at 50,000.00"),
        ("expanded", Decimal("50000"), False, "new_arr", "An expansion's new ARR is above 50,000.00."),
        ("contracted", Decimal("0"), False, "new_arr", "none at all is churn"),
        ("contracted", None, False, "new_arr", "Give the new ARR."),
        ("renewed", Decimal("50000"), True, "churn_reason", "Only a churned renewal has a churn reason."),
    ],
)
def test_a_contradictory_outcome_is_refused_and_nothing_changes(
    renewal, alice, outcome, new_arr, reason, field, message
):
    with pytest.raises(ValidationError) as refused:
        renewal_close(
            renewal=renewal,
            outcome=outcome,
            new_arr=new_arr,
            churn_reason=ChurnReasonFactory() if reason else None,
            closed_on=TODAY,
            by=alice,
        )
    assert message in " ".join(refused.value.message_dict[field])
    renewal.refresh_from_db()
    assert renewal.is_open and Renewal.objects.count() == 1
    assert Account.objects.get(pk=renewal.account_id).status == "active"


def test_a_closed_renewal_cannot_be_closed_or_called_again(renewal, alice):
    renewal_close(renewal=renewal, outcome=Outcome.RENEWED, new_arr=Decimal("50000"), closed_on=TODAY, by=alice)
    with pytest.raises(ValidationError, match="already closed"):
        renewal_close(renewal=renewal, outcome=Outcome.RENEWED, new_arr=Decimal("50000"), closed_on=TODAY, by=alice)
    renewal.refresh_from_db()
    with pytest.raises(ValidationError, match="closed"):
        forecast_call_record(renewal=renewal, call="commit", note="", by=alice)


def test_calls_are_kept_newest_first(renewal, alice):
    forecast_call_record(renewal=renewal, call="likely", note="Budget approved", by=alice, made_on=TODAY.replace(day=1))
    forecast_call_record(renewal=renewal, call="commit", note="Signed order form", by=alice)
    assert list(ForecastCall.objects.values_list("call", "made_on")) == [
        ("commit", TODAY), ("likely", datetime.date(2026, 6, 1)),
    ]  # fmt: skip


def test_the_next_term_is_as_long_as_the_closed_one():
    two_years = Renewal(term_start=datetime.date(2024, 3, 1), renewal_date=datetime.date(2026, 3, 1))
    assert next_renewal_date(two_years) == datetime.date(2028, 3, 1)
    leap = Renewal(term_start=None, renewal_date=datetime.date(2028, 2, 29))
    assert next_renewal_date(leap) == datetime.date(2029, 2, 28)


def test_outcome_rules_accept_the_good_cases():
    arr = Decimal("100")
    assert outcome_problems(arr=arr, outcome="renewed", new_arr=arr, churn_reason=None) == {}
    assert outcome_problems(arr=arr, outcome="expanded", new_arr=Decimal("101"), churn_reason=None) == {}
    assert outcome_problems(arr=arr, outcome="contracted", new_arr=Decimal("1"), churn_reason=None) == {}
    assert outcome_problems(arr=arr, outcome="churned", new_arr=None, churn_reason=object()) == {}
