"""Survey inputs of health: who counts as a respondent, which answer is a respondent's latest,
and that the model computes with the unrounded figure; and the portfolio's NPS, which is the
account's Results figure (every answer of the last 12 months), not health's input.

Health's rule: each respondent's latest answer in the window. A respondent is a contact; an answer
without a contact (imported history naming only the account) is its own respondent, as Results
counts it. Answers at the same moment go to the later record (for one import, its later row).
"""

import datetime

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Account
from dashboards.portfolio import _nps_by_account
from scoring import engine
from scoring.inputs import read_input
from scoring.models import Component
from surveys import formulas
from surveys.answer_import import answers_csv_validate, answers_import_apply
from surveys.models import Response
from surveys.results import format_result
from tests.factories import AccountFactory, ContactFactory, ResponseFactory

TODAY = datetime.date(2026, 11, 20)
NOON = timezone.make_aware(datetime.datetime(2026, 11, 1, 12))
NPS = Component(label="NPS", input="nps", window_days=90, poor=-100, good=100, weight=1)
HEADER = "date,contact_email,account_external_id,kind,score,comment\n"


def _nps_input(account: Account):
    return read_input(NPS, Account.objects.filter(pk=account.pk), TODAY)[account.pk]


def _health_nps_entry(account: Account) -> dict:
    [row] = engine.compute(as_of=TODAY, accounts=Account.objects.filter(pk=account.pk))
    [entry] = [entry for entry in row.components if entry["input"] == "nps"]
    return entry


def test_each_answer_without_a_contact_is_its_own_respondent(db, alice):
    account = AccountFactory(owner=alice)
    ResponseFactory(account=account, contact=None, score=0, answered_at=NOON)
    ResponseFactory(account=account, contact=None, score=0, answered_at=NOON)
    ResponseFactory(account=account, score=10, answered_at=NOON)  # a named contact
    results = formulas.nps(Response.objects.filter(account=account).values_list("score", flat=True))
    assert (format_result("nps", results), results.n) == ("-33", 3)  # what Results shows

    value = _nps_input(account)
    assert (value.raw, value.n) == (pytest.approx(-100 / 3), 3)
    entry = _health_nps_entry(account)
    assert (entry["raw"], entry["n"]) == (pytest.approx(-100 / 3), 3)
    portfolio = _nps_by_account([account.pk], TODAY)[account.pk]
    assert (portfolio.value, portfolio.n) == (pytest.approx(-100 / 3), 3)


def test_health_computes_with_the_unrounded_nps(db, alice):
    account = AccountFactory(owner=alice)
    # 3 promoters, 3 passives, 2 detractors of 8: NPS (3 − 2) / 8 = exactly 12.5, shown as +13.
    for score in (10, 9, 9, 8, 7, 7, 0, 6):
        ResponseFactory(account=account, score=score, answered_at=NOON)
    assert _nps_input(account).raw == 12.5
    entry = _health_nps_entry(account)
    assert entry["raw"] == 12.5
    component = Component.objects.get(pk=entry["component"])
    assert entry["normalised"] == pytest.approx(100 * (12.5 - component.poor) / (component.good - component.poor))


@pytest.mark.parametrize(("first", "last"), [(0, 10), (10, 0)])
def test_a_tie_goes_to_the_later_row_of_an_import(db, alice, first, last):
    """Two answers of one contact on one day are both stamped at noon: the file's later row is the latest."""
    account = AccountFactory(owner=alice)
    contact = ContactFactory(account=account)
    rows = [f"2026-11-01,{contact.email},,nps,{score},\n" for score in (first, last)]
    plan = answers_csv_validate(HEADER + "".join(rows), today=TODAY)
    assert not plan.errors
    assert answers_import_apply(plan=plan)["created"] == 2
    value = _nps_input(account)
    assert (value.raw, value.n) == (100 if last == 10 else -100, 1)
    portfolio = _nps_by_account([account.pk], TODAY)[account.pk]
    assert (portfolio.value, portfolio.n) == (0, 2)  # Results counts both answers


def test_a_tie_between_records_goes_to_the_later_record(db, alice):
    account = AccountFactory(owner=alice)
    contact = ContactFactory(account=account)
    ResponseFactory(account=account, contact=contact, score=10, answered_at=NOON)
    ResponseFactory(account=account, contact=contact, score=0, answered_at=NOON)  # later record, same moment
    ResponseFactory(account=account, contact=contact, score=10, answered_at=NOON - datetime.timedelta(hours=1))
    assert (_nps_input(account).raw, _nps_input(account).n) == (-100, 1)


@pytest.mark.parametrize("count", [2, 12])
def test_reading_survey_inputs_takes_one_query_whatever_the_respondents(db, alice, count, django_assert_num_queries):
    accounts = [AccountFactory(owner=alice) for _ in range(count)]
    for account in accounts:
        ResponseFactory(account=account, contact=None, score=3, answered_at=NOON)
        ResponseFactory(account=account, score=9, answered_at=NOON)
    ids = [account.pk for account in accounts]
    with django_assert_num_queries(1):
        assert len(read_input(NPS, Account.objects.filter(pk__in=ids), TODAY, ids)) == count
    with django_assert_num_queries(1):
        assert len(_nps_by_account(ids, TODAY)) == count


def _straightforward(answers: list[Response]) -> dict[int, list[int]]:
    """Per account, in Python: the scores of each contact's latest answer (ties to the higher id) and of every
    contact-less answer."""
    latest: dict[tuple, Response] = {}
    for answer in answers:
        respondent = (answer.account_id, answer.contact_id if answer.contact_id else f"own {answer.pk}")
        kept = latest.get(respondent)
        if kept is None or (answer.answered_at, answer.pk) > (kept.answered_at, kept.pk):
            latest[respondent] = answer
    scores: dict[int, list[int]] = {}
    for (account_id, _), answer in latest.items():
        scores.setdefault(account_id, []).append(answer.score)
    return scores


# (account, contact or None for a contact-less answer, moment, score): few accounts, contacts and
# moments, so that one contact's answers often tie and contact-less answers often share a moment.
ANSWERS = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.one_of(st.none(), st.integers(0, 2)),
        st.sampled_from([NOON, NOON - datetime.timedelta(days=1), NOON + datetime.timedelta(hours=3)]),
        st.integers(0, 10),
    ),
    max_size=15,
)


@settings(
    deadline=None,
    derandomize=True,
    database=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(answers=ANSWERS)
def test_bulk_readers_equal_a_per_account_computation(db, alice, answers):
    with transaction.atomic():
        accounts = [AccountFactory(owner=alice) for _ in range(3)]
        contacts = [[ContactFactory(account=account) for _ in range(3)] for account in accounts]
        created = [
            ResponseFactory(
                account=accounts[a],
                contact=None if c is None else contacts[a][c],
                score=score,
                answered_at=moment,
            )
            for a, c, moment, score in answers
        ]
        ids = [account.pk for account in accounts]
        expected = _straightforward(created)

        def unrounded(scores: list[int]) -> float:
            promoters = sum(score >= formulas.PROMOTER_MIN for score in scores)
            detractors = sum(score <= formulas.DETRACTOR_MAX for score in scores)
            return formulas.nps_unrounded(promoters=promoters, detractors=detractors, n=len(scores))

        want = {account_id: (pytest.approx(unrounded(scores)), len(scores)) for account_id, scores in expected.items()}
        bulk = read_input(NPS, Account.objects.filter(pk__in=ids), TODAY, ids)
        assert {account_id: (value.raw, value.n) for account_id, value in bulk.items()} == want
        for account in accounts:  # one account alone reads the same as in bulk
            alone = read_input(NPS, Account.objects.filter(pk=account.pk), TODAY)
            assert {key: (value.raw, value.n) for key, value in alone.items()} == (
                {account.pk: want[account.pk]} if account.pk in want else {}
            )
        every_answer: dict[int, list[int]] = {}
        for answer in created:
            every_answer.setdefault(answer.account_id, []).append(answer.score)
        portfolio = _nps_by_account(ids, TODAY)
        assert {account_id: (result.value, result.n) for account_id, result in portfolio.items()} == {
            account_id: (formulas.nps(scores).value, len(scores)) for account_id, scores in every_answer.items()
        }
        transaction.set_rollback(True)
