"""Who was right (renewals/accuracy.py), computed by hand: the call in force 90 days before, no call, the
band of that day (red against green, an override), the Brier score, "too few" under 10, scope and queries."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from renewals.accuracy import MIN_RENEWALS, compute_accuracy
from renewals.models import Call, Outcome
from tests.factories import (
    AccountFactory,
    ChurnReasonFactory,
    ForecastCallFactory,
    HealthSnapshotFactory,
    OverrideFactory,
    RenewalFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 5, 15)
D = datetime.date


@pytest.fixture(autouse=True)
def frozen_today():
    """Factories' defaults (an override's creation) follow the same fixed day as the `today=` passed."""
    with time_machine.travel(datetime.datetime(2026, 5, 15, 12, tzinfo=datetime.UTC), tick=False):
        yield


RED, YELLOW, GREEN = 20.0, 55.0, 85.0  # scores in each band of the default model (red below 40, green from 70)


def closed(account, renewal_date: datetime.date, outcome: str, *, closed_on: datetime.date | None = None):
    churn = outcome == Outcome.CHURNED
    return RenewalFactory(
        account=account,
        renewal_date=renewal_date,
        arr=account.arr,
        outcome=outcome,
        new_arr=0 if churn else account.arr,
        closed_on=closed_on or renewal_date,
        churn_reason=ChurnReasonFactory() if churn else None,
    )


def call(renewal, value: str, on: datetime.date, by):
    return ForecastCallFactory(renewal=renewal, call=value, made_on=on, made_by=by)


def snapshot(account, on: datetime.date, score: float):
    return HealthSnapshotFactory(account=account, date=on, score=score)


@pytest.fixture
def alices(alice):
    """Four renewals of alice's accounts, each forecast day (renewal date − 90 days) in the comment."""
    one, two, three, four = (AccountFactory(owner=alice) for _ in range(4))
    # 1. Forecast day Dec 1, 2025: "likely" on Nov 20 counts, "lost" on Dec 15 is too late. Green on Nov 30. Renewed.
    first = closed(one, D(2026, 3, 1), Outcome.RENEWED)
    call(first, Call.LIKELY, D(2025, 11, 20), alice)
    call(first, Call.LOST, D(2025, 12, 15), alice)
    snapshot(one, D(2025, 11, 30), GREEN)
    snapshot(one, D(2025, 12, 2), RED)  # after the day: not read
    # 2. Forecast day Nov 3, 2025: "at risk" made that very day. Red that day. Churned.
    second = closed(two, D(2026, 2, 1), Outcome.CHURNED)
    call(second, Call.AT_RISK, D(2025, 11, 3), alice)
    snapshot(two, D(2025, 11, 3), RED)
    # 3. Forecast day Oct 17, 2025: the only call is a day late, so no call. Green on Oct 10. Churned.
    third = closed(three, D(2026, 1, 15), Outcome.CHURNED)
    call(third, Call.COMMIT, D(2025, 10, 18), alice)
    snapshot(three, D(2025, 10, 10), GREEN)
    snapshot(three, D(2025, 10, 20), RED)
    # 4. Forecast day Jan 1, 2026: "commit" on Dec 1. Yellow. Churned anyway.
    fourth = closed(four, D(2026, 4, 1), Outcome.CHURNED)
    call(fourth, Call.COMMIT, D(2025, 12, 1), alice)
    snapshot(four, D(2025, 12, 31), YELLOW)
    return [first, second, third, fourth]


@pytest.fixture
def bobs(bob):
    """Eleven renewals of bob's, all called commit and renewed; one account has no snapshot."""
    renewals = []
    for index in range(11):
        account = AccountFactory(owner=bob)
        renewal = closed(account, D(2026, 3, 1) + datetime.timedelta(days=index), Outcome.EXPANDED)
        call(renewal, Call.COMMIT, D(2025, 11, 1), bob)
        if index:
            snapshot(account, D(2025, 11, 1), GREEN)
        renewals.append(renewal)
    return renewals


def rows_of(result) -> dict:
    return {row.label: row for row in result.owners}


def test_each_csm_against_the_model_by_hand(alices, bobs, alice):
    result = compute_accuracy(user=alice, today=TODAY)
    alice_row = rows_of(result)["Alice Archer"]

    assert (alice_row.renewals, alice_row.churned, alice_row.no_call, alice_row.no_score) == (4, 3, 1, 0)
    # Calls: likely/renewed (right), at risk/churned (right), commit/churned (wrong); the third had no call.
    assert (alice_row.calls.n, alice_row.calls.right) == (3, 2)
    assert alice_row.calls.accuracy == pytest.approx(200 / 3)
    # Brier: (0.75 − 1)² + (0.35 − 0)² + (0.95 − 0)² = 0.0625 + 0.1225 + 0.9025, over 3
    assert alice_row.calls.brier == pytest.approx(1.0875 / 3)
    # The model: green/renewed (right), red/churned (right), green/churned (wrong), yellow/churned (wrong).
    assert (alice_row.model.n, alice_row.model.right, alice_row.model.accuracy) == (4, 2, 50.0)
    assert alice_row.calls.too_few and alice_row.model.too_few

    bob_row = rows_of(result)["Bob Brown"]
    assert (bob_row.renewals, bob_row.no_call, bob_row.no_score) == (11, 0, 1)
    assert (bob_row.calls.n, bob_row.calls.accuracy, bob_row.calls.too_few) == (11, 100.0, False)
    assert bob_row.calls.brier == pytest.approx(0.0025)  # (0.95 − 1)² each
    assert (bob_row.model.n, bob_row.model.accuracy, bob_row.model.too_few) == (10, 100.0, False)

    total = result.total
    assert (total.renewals, total.no_call, total.no_score, total.churned) == (15, 1, 1, 3)
    assert (total.calls.n, total.calls.right) == (14, 13)
    assert total.calls.brier == pytest.approx((1.0875 + 11 * 0.0025) / 14)
    assert (total.model.n, total.model.right) == (14, 12)


def test_too_few_renewals_is_under_ten(alice):
    assert MIN_RENEWALS == 10
    renewals = [
        closed(AccountFactory(owner=alice), D(2026, 3, 1) + datetime.timedelta(days=index), Outcome.RENEWED)
        for index in range(10)
    ]
    for renewal in renewals[1:]:
        call(renewal, Call.LIKELY, D(2025, 11, 1), alice)
    row = rows_of(compute_accuracy(user=alice, today=TODAY))["Alice Archer"]
    assert (row.calls.n, row.calls.too_few, row.no_call) == (9, True, 1)

    call(renewals[0], Call.COMMIT, D(2025, 11, 1), alice)
    row = rows_of(compute_accuracy(user=alice, today=TODAY))["Alice Archer"]
    assert (row.calls.n, row.calls.too_few, row.no_call) == (10, False, 0)


def test_an_override_in_force_that_day_is_the_band_shown(alice):
    account = AccountFactory(owner=alice)
    closed(account, D(2026, 3, 1), Outcome.RENEWED)  # forecast day Dec 1, 2025
    snapshot(account, D(2025, 11, 28), RED)
    OverrideFactory(
        account=account,
        band="green",
        created_at=timezone.make_aware(datetime.datetime(2025, 11, 20, 9)),
        expires_on=D(2025, 12, 10),
    )
    OverrideFactory(  # over by the forecast day
        account=account,
        band="red",
        created_at=timezone.make_aware(datetime.datetime(2025, 11, 25, 9)),
        expires_on=D(2025, 11, 30),
    )
    row = rows_of(compute_accuracy(user=alice, today=TODAY))["Alice Archer"]
    assert (row.model.n, row.model.right) == (1, 1)


def test_an_override_cleared_after_the_forecast_day_was_in_force_on_it(alice):
    account = AccountFactory(owner=alice)
    closed(account, D(2026, 3, 1), Outcome.RENEWED)  # forecast day Dec 1, 2025
    snapshot(account, D(2025, 11, 28), RED)
    made = timezone.make_aware(datetime.datetime(2025, 11, 20, 9))
    OverrideFactory(  # cleared in January: green on Dec 1
        account=account, band="green", created_at=made, expires_on=D(2026, 2, 1),
        cleared_at=timezone.make_aware(datetime.datetime(2026, 1, 5, 9)),
    )  # fmt: skip
    other = AccountFactory(owner=alice)
    closed(other, D(2026, 3, 1), Outcome.RENEWED)
    snapshot(other, D(2025, 11, 28), RED)
    OverrideFactory(  # cleared the day before: the snapshot's red stands
        account=other, band="green", created_at=made, expires_on=D(2026, 2, 1),
        cleared_at=timezone.make_aware(datetime.datetime(2025, 11, 30, 9)),
    )  # fmt: skip
    row = rows_of(compute_accuracy(user=alice, today=TODAY))["Alice Archer"]
    assert (row.model.n, row.model.right) == (2, 1)


def test_a_renewal_closed_before_its_forecast_day_is_left_out(alice):
    early = closed(AccountFactory(owner=alice), D(2026, 3, 1), Outcome.CHURNED, closed_on=D(2025, 11, 30))
    call(early, Call.LOST, D(2025, 11, 29), alice)
    assert compute_accuracy(user=alice, today=TODAY).total.renewals == 0


def test_calls_count_under_who_made_them_and_no_call_under_the_csm_today(alice, bob):
    handed_over = closed(AccountFactory(owner=bob), D(2026, 3, 1), Outcome.RENEWED)
    call(handed_over, Call.COMMIT, D(2025, 11, 1), alice)
    closed(AccountFactory(owner=bob), D(2026, 3, 2), Outcome.RENEWED)
    rows = rows_of(compute_accuracy(user=bob, today=TODAY))
    assert (rows["Alice Archer"].calls.n, rows["Alice Archer"].no_call) == (1, 0)
    assert (rows["Bob Brown"].calls.n, rows["Bob Brown"].no_call) == (0, 1)


def test_another_teams_renewals_never_count(alices, carol, carol_account, maria, adam):
    renewal = closed(carol_account, D(2026, 3, 1), Outcome.CHURNED)
    call(renewal, Call.COMMIT, D(2025, 11, 1), carol)
    assert compute_accuracy(user=carol, today=TODAY).total.renewals == 1
    assert compute_accuracy(user=maria, today=TODAY).total.renewals == 4
    assert "Carol Chen" not in rows_of(compute_accuracy(user=maria, today=TODAY))
    assert compute_accuracy(user=adam, today=TODAY).total.renewals == 5


def test_the_queries_do_not_grow_with_the_number_of_renewals(adam):
    def add(count: int) -> None:
        for _ in range(count):
            csm = UserFactory()
            account = AccountFactory(owner=csm)
            renewal = closed(account, D(2026, 3, 1), Outcome.RENEWED)
            call(renewal, Call.LIKELY, D(2025, 11, 1), csm)
            snapshot(account, D(2025, 11, 1), GREEN)
            OverrideFactory(account=account, band="red", expires_on=D(2025, 12, 31))

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            compute_accuracy(user=adam, today=TODAY)
        return len(captured.captured_queries)

    add(2)
    small = queries()
    add(20)
    assert queries() == small <= 3


def test_kept_for_the_rollup_until_a_renewal_closes(alice, adam, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    account = AccountFactory(owner=alice)
    closed(account, D(2026, 3, 1), Outcome.RENEWED)

    def read() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            renewals = compute_accuracy(user=adam, today=TODAY, cache_key="all").total.renewals
        return renewals, len(captured.captured_queries)

    first = read()
    assert read() == (1, 1)  # only the count of closed renewals: the figures come from the cache
    closed(AccountFactory(owner=alice), D(2026, 4, 1), Outcome.CHURNED)
    assert read() == (2, first[1])  # one closed since: read again at once
