"""GRR and NRR (renewals/retention.py) against cases computed by hand: a mid-term expansion, a contraction,
a churn, a new account left out, a churned parent with its children; quarter boundaries; scope; queries."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.churn import Churn, account_churn
from accounts.models import Account, ArrChange
from renewals.retention import compute_retention, quarter_periods, trailing_period
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 5, 15)  # passed to every computation: the real date never matters
D = datetime.date


@pytest.fixture(autouse=True)
def frozen_today():
    """Factories' defaults (an override's creation) follow the same fixed day as the `today=` passed."""
    with time_machine.travel(datetime.datetime(2026, 5, 15, 12, tzinfo=datetime.UTC), tick=False):
        yield


def arr(account: Account, on: datetime.date, value: int) -> None:
    """The account's ARR is `value` from `on`."""
    ArrChange.objects.create(account=account, on=on, arr=value, source=ArrChange.Source.EDIT)


def churned(account: Account, on: datetime.date) -> Account:
    Account.objects.filter(pk=account.pk).update(status=Account.Status.CHURNED, churned_on=on)
    account.refresh_from_db()
    return account


def test_the_periods_are_the_last_12_months_and_the_last_four_quarters_that_have_ended():
    trailing = trailing_period(TODAY)
    assert (trailing.start, trailing.end, trailing.opening) == (D(2025, 5, 16), TODAY, D(2025, 5, 15))
    assert [(p.label, p.start, p.end) for p in quarter_periods(TODAY)] == [
        ("Q2 2025", D(2025, 4, 1), D(2025, 6, 30)),
        ("Q3 2025", D(2025, 7, 1), D(2025, 9, 30)),
        ("Q4 2025", D(2025, 10, 1), D(2025, 12, 31)),
        ("Q1 2026", D(2026, 1, 1), D(2026, 3, 31)),
    ]
    # On the first day of a quarter, the one before has just ended; on 29 February, a year back is the 28th.
    assert quarter_periods(D(2026, 4, 1))[-1].label == "Q1 2026"
    assert trailing_period(D(2028, 2, 29)).opening == D(2027, 2, 28)


@pytest.fixture
def book(alice, bob, carol):
    """Seven accounts in the cohort of the last 12 months (opening day: May 15, 2025), and one new one."""
    accounts = {
        "flat": AccountFactory(owner=alice, segment="smb"),
        "expanded": AccountFactory(owner=alice, segment="smb"),
        "contracted": AccountFactory(owner=bob, segment="enterprise"),
        "churned": AccountFactory(owner=bob, segment="enterprise"),
        "new": AccountFactory(owner=alice, segment="smb"),
        "parent": AccountFactory(owner=carol, segment="enterprise"),
    }
    accounts["child_b"] = AccountFactory(owner=carol, segment="smb", parent=accounts["parent"])
    accounts["child_a"] = AccountFactory(owner=bob, segment="smb", parent=accounts["parent"])  # another team's CSM
    arr(accounts["flat"], D(2024, 1, 1), 100_000)
    arr(accounts["expanded"], D(2024, 6, 1), 50_000)
    arr(accounts["expanded"], D(2025, 11, 10), 80_000)  # mid-term expansion
    arr(accounts["contracted"], D(2024, 3, 1), 60_000)
    arr(accounts["contracted"], D(2026, 2, 1), 40_000)  # contracted at its renewal
    arr(accounts["churned"], D(2024, 1, 1), 40_000)
    churned(accounts["churned"], D(2026, 1, 20))
    arr(accounts["new"], D(2025, 9, 1), 30_000)  # signed during the 12 months: not in that cohort
    arr(accounts["parent"], D(2024, 1, 1), 20_000)
    arr(accounts["child_b"], D(2024, 1, 1), 10_000)
    arr(accounts["child_a"], D(2024, 1, 1), 10_000)
    # Through the service, as every route churns: its children go with it, on its day.
    account_churn(churns={accounts["parent"].pk: Churn(on=D(2025, 12, 1), reason="Budget cut")}, by=None)
    return accounts


def test_grr_and_nrr_of_the_last_12_months_by_hand(book, adam):
    report = compute_retention(user=adam, today=TODAY)
    total = report.total.of(report.trailing)

    # start: 100 + 50 + 60 + 40 + 20 + 10 + 10 = 290k (the new account is not in it); each account once
    # end: 100 + 80 (expanded mid-term) + 40 (contracted) + 0 (churned) + 0 + 0 + 0 (the group churned) = 220k
    # kept, Σ min(end, start): 100 + 50 + 40 + 0 = 190k
    assert (total.n, total.start_arr, total.end_arr, total.kept_arr) == (7, 290_000, 220_000, 190_000)
    assert total.nrr == pytest.approx(220 / 290)
    assert total.grr == pytest.approx(190 / 290)
    assert total.lost_arr == 100_000 and total.expansion_arr == 30_000


def test_expansion_counts_in_nrr_only_and_contraction_and_churn_in_both(book, adam):
    report = compute_retention(user=adam, today=TODAY)
    by_owner = {row.label: row.of(report.trailing) for row in report.owners}

    alice = by_owner["Alice Archer"]  # flat 100k and expanded 50k -> 80k; the new account is left out
    assert (alice.n, alice.start_arr, alice.end_arr) == (2, 150_000, 180_000)
    assert alice.nrr == pytest.approx(1.2) and alice.grr == pytest.approx(1.0)

    bob = by_owner["Bob Brown"]  # contracted 60k -> 40k, churned 40k, and the child of carol's churned parent 10k
    assert (bob.n, bob.start_arr, bob.end_arr, bob.kept_arr) == (3, 110_000, 40_000, 40_000)
    assert bob.nrr == bob.grr == pytest.approx(40 / 110)

    carol = by_owner["Carol Chen"]  # the parent and one child: two accounts, each its own ARR
    assert (carol.n, carol.start_arr, carol.end_arr) == (2, 30_000, 0)
    assert carol.grr == 0


def test_rows_by_team_and_segment_add_up_to_the_total(book, adam):
    report = compute_retention(user=adam, today=TODAY)
    teams = {row.label: (row.of(report.trailing).n, row.of(report.trailing).start_arr) for row in report.teams}
    segments = {row.label: (row.of(report.trailing).n, row.of(report.trailing).end_arr) for row in report.segments}
    assert teams == {"Team A": (5, 260_000), "Team B": (2, 30_000)}
    assert segments == {"SMB": (4, 180_000), "Enterprise": (3, 40_000)}


def test_a_new_account_joins_the_cohort_of_the_first_quarter_it_starts_with_arr(book, adam):
    report = compute_retention(user=adam, today=TODAY)
    alice = next(row for row in report.owners if row.label == "Alice Archer")
    q3, q4 = report.quarters[1], report.quarters[2]
    assert alice.of(q3).n == 2  # signed on Sep 1, 2025: not in Q3's cohort (opening Jun 30)
    q4_figures = alice.of(q4)  # in Q4's: flat 100k, expanded 50k -> 80k (Nov 10), new 30k
    assert (q4_figures.n, q4_figures.start_arr, q4_figures.end_arr) == (3, 180_000, 210_000)


def test_quarter_boundaries(alice, adam):
    on_first_day = AccountFactory(owner=alice)
    arr(on_first_day, D(2024, 1, 1), 10_000)
    arr(on_first_day, D(2025, 10, 1), 15_000)  # the first day of Q4 2025: Q4's, not Q3's
    on_last_day = AccountFactory(owner=alice)
    arr(on_last_day, D(2024, 1, 1), 10_000)
    arr(on_last_day, D(2025, 9, 30), 5_000)  # the last day of Q3 2025: Q3's
    gone_new_year = churned(AccountFactory(owner=alice), D(2026, 1, 1))  # Q1 2026's churn, not Q4's
    arr(gone_new_year, D(2024, 1, 1), 20_000)
    gone_new_years_eve = churned(AccountFactory(owner=alice), D(2025, 12, 31))  # Q4's; not in Q1's cohort
    arr(gone_new_years_eve, D(2024, 1, 1), 40_000)

    report = compute_retention(user=adam, today=TODAY)
    q2, q3, q4, q1 = (report.total.of(period) for period in report.quarters)
    assert (q2.n, q2.start_arr, q2.end_arr) == (4, 80_000, 80_000)
    assert (q3.n, q3.start_arr, q3.end_arr, q3.kept_arr) == (4, 80_000, 75_000, 75_000)
    # Q4: 10k -> 15k, 5k -> 5k, 20k -> 20k, 40k -> 0 (churned on its last day)
    assert (q4.n, q4.start_arr, q4.end_arr, q4.kept_arr) == (4, 75_000, 40_000, 35_000)
    # Q1 2026: the account that churned on Dec 31 is gone before it starts; the one of Jan 1 ends at 0
    assert (q1.n, q1.start_arr, q1.end_arr) == (3, 40_000, 20_000)
    assert q1.nrr == q1.grr == pytest.approx(0.5)


def test_an_account_with_arr_zero_at_the_start_is_not_in_the_cohort(alice, adam):
    paused = AccountFactory(owner=alice)
    arr(paused, D(2024, 1, 1), 0)
    arr(paused, D(2025, 8, 1), 10_000)
    report = compute_retention(user=adam, today=TODAY)
    assert report.total.of(report.trailing).n == 0 and report.total.of(report.trailing).nrr is None
    assert [report.total.of(period).n for period in report.quarters] == [0, 0, 1, 1]


def test_a_csm_sees_their_team_only_and_another_teams_arr_never_counts(book, alice, carol, maria):
    for user in (alice, maria):
        report = compute_retention(user=user, today=TODAY)
        total = report.total.of(report.trailing)
        assert (total.n, total.start_arr, total.end_arr) == (5, 260_000, 220_000)
        assert {row.label for row in report.owners} == {"Alice Archer", "Bob Brown"}
        assert [row.label for row in report.teams] == ["Team A"]
    carol_sees = compute_retention(user=carol, today=TODAY)
    assert carol_sees.total.of(carol_sees.trailing).start_arr == 30_000
    assert {row.label for row in carol_sees.owners} == {"Carol Chen"}


def test_the_queries_do_not_grow_with_the_number_of_accounts(adam):
    owner = UserFactory()

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            compute_retention(user=adam, today=TODAY)
        return len(captured.captured_queries)

    def add(count: int) -> None:
        parent = AccountFactory(owner=owner)
        arr(parent, D(2024, 1, 1), 1_000)
        for index in range(count):
            account = AccountFactory(owner=UserFactory(), parent=parent if index % 2 else None)
            arr(account, D(2024, 1, 1), 1_000 + index)
            arr(account, D(2025, 11, 1), 2_000)

    add(3)
    small = queries()
    add(30)
    assert queries() == small == 1
    report = compute_retention(user=adam, today=TODAY)
    assert report.total.of(report.trailing).end_arr == Decimal(2_000 * 33 + 2 * 1_000)


def test_an_account_counts_by_its_own_churn_date_as_every_other_page_reads_it(alice, adam):
    parent = AccountFactory(owner=alice)
    child = AccountFactory(owner=alice, parent=parent)  # active on its own row: nothing is inferred from above
    for account in (parent, child):
        arr(account, D(2024, 1, 1), 10_000)
    churned(parent, D(2025, 12, 1))
    report = compute_retention(user=adam, today=TODAY)
    total = report.total.of(report.trailing)
    assert (total.n, total.start_arr, total.end_arr) == (2, 20_000, 10_000)
