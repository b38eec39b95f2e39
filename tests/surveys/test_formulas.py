"""The survey formulas (PRODUCT.md worked examples, edge cases, margins by hand) and their
database mirrors, which must give the same results per account, CSM, team and segment."""

import math
import random
from collections import defaultdict

import pytest

from accounts.models import Account
from surveys import formulas
from surveys.formulas import (
    Result,
    category_counts_from_row,
    ces_percent_agree,
    csat_percent,
    mean,
    nps,
    nps_from_counts,
    response_rate,
    results_for,
    results_from_row,
    score_aggregates,
)
from surveys.models import Kind, Response
from tests.factories import AccountFactory, TeamFactory, UserFactory

# --- pure functions ---------------------------------------------------------------------


def test_nps_worked_example_is_plus_30():
    scores = [10, 10, 9, 9, 9, 8, 7, 7, 6, 0]  # 5 promoters, 3 passives, 2 detractors
    result = nps(scores)
    assert result.value == 30
    assert result.n == 10
    assert nps_from_counts(promoters=5, passives=3, detractors=2).value == 30


def test_csat_worked_example_is_60_percent_with_mean_3_6():
    scores = [5, 5, 4, 3, 1]
    assert csat_percent(scores).value == pytest.approx(60.0)
    assert mean(scores).value == pytest.approx(3.6)


def test_ces_mean_and_percent_agree():
    scores = [7, 6, 5, 4, 2]
    assert mean(scores).value == pytest.approx(4.8)
    assert ces_percent_agree(scores).value == pytest.approx(60.0)  # 5, 6, 7 agree


@pytest.mark.parametrize("function", [nps, csat_percent, ces_percent_agree, mean])
def test_no_answers_give_no_value_and_n_0(function):
    result = function([])
    assert result == Result(None, 0, None)
    assert result.small_sample


def test_response_rate_without_sends_is_empty():
    assert response_rate(answered=0, sent=0) == Result(None, 0, None)


def test_response_rate_is_answered_over_sent():
    result = response_rate(answered=3, sent=4)
    assert result.value == pytest.approx(75.0)
    assert result.n == 4


def test_all_passives_is_nps_zero_with_no_spread():
    result = nps([7, 8, 7, 8])
    assert result.value == 0
    assert result.margin == pytest.approx(0.0)


def test_all_promoters_is_100_and_all_detractors_minus_100():
    assert nps([9, 10, 10]).value == 100
    assert nps([0, 3, 6]).value == -100


def test_a_single_answer_has_a_value_but_no_margin():
    for result, value in [
        (nps([10]), 100),
        (nps([5]), -100),
        (csat_percent([4]), 100.0),
        (mean([3]), 3.0),
        (ces_percent_agree([2]), 0.0),
    ]:
        assert result.value == value
        assert result.n == 1
        assert result.margin is None
        assert result.small_sample


def test_nps_rounds_halves_away_from_zero_exactly():
    # 1 promoter in 8 answers is 12.5: always +13, never 12 from float error or banker's rounding.
    assert nps_from_counts(promoters=1, passives=7, detractors=0).value == 13
    assert nps_from_counts(promoters=0, passives=7, detractors=1).value == -13
    assert nps_from_counts(promoters=1, passives=1, detractors=1).value == 0


def test_nps_margin_by_hand():
    # 10, 9, 8, 3 → per-answer +1, +1, 0, −1: mean .25, variance (.5625*2 + .0625 + 1.5625)/4 = .6875.
    result = nps([10, 9, 8, 3])
    assert result.value == 25
    assert result.margin == pytest.approx(100 * 1.96 * math.sqrt(0.6875 / 4))
    assert result.margin == pytest.approx(81.26, abs=0.01)


def test_csat_percent_margin_is_binomial_by_hand():
    # p = .6, n = 5: 1.96 * sqrt(.6 * .4 / 5) = 1.96 * sqrt(.048) = 0.4294
    assert csat_percent([5, 5, 4, 3, 1]).margin == pytest.approx(42.94, abs=0.01)


def test_mean_margin_uses_the_sample_standard_deviation_by_hand():
    # 5,5,4,3,1: squared deviations from 3.6 sum to 11.2; sample variance 11.2/4 = 2.8.
    result = mean([5, 5, 4, 3, 1])
    assert result.margin == pytest.approx(1.96 * math.sqrt(2.8 / 5))
    assert result.margin == pytest.approx(1.4667, abs=0.0001)


def test_small_sample_is_under_30_answers():
    assert nps([9] * 29).small_sample
    assert not nps([9] * 30).small_sample


def test_categories():
    assert [formulas.category("nps", s) for s in (0, 6, 7, 8, 9, 10)] == [
        "detractor",
        "detractor",
        "passive",
        "passive",
        "promoter",
        "promoter",
    ]
    assert [formulas.category("csat", s) for s in range(1, 6)] == [
        "negative",
        "negative",
        "neutral",
        "positive",
        "positive",
    ]
    assert [formulas.category("ces", s) for s in range(1, 8)] == ["negative"] * 3 + ["neutral"] + ["positive"] * 3


# --- database aggregates ----------------------------------------------------------------


def _same(pure: Result, from_db: Result):
    assert from_db.n == pure.n
    if pure.value is None:
        assert from_db.value is None
    else:
        assert from_db.value == pytest.approx(pure.value)
    if pure.margin is None:
        assert from_db.margin is None
    else:
        assert from_db.margin == pytest.approx(pure.margin)


def test_aggregates_of_nothing_match_the_pure_functions(db):
    row = Response.objects.none().aggregate(**score_aggregates())
    for kind in Kind.values:
        for key, result in results_from_row(kind, row).items():
            _same(results_for(kind, [])[key], result)


@pytest.fixture
def generated_answers(db):
    """Random answers of every kind for 8 accounts of 4 CSMs in 2 teams and 3 segments."""
    rng = random.Random(20240614)
    teams = [TeamFactory(name="Gen A"), TeamFactory(name="Gen B")]
    owners = [UserFactory(team=teams[i % 2]) for i in range(4)]
    segments = list(Account.Segment.values)
    accounts = [AccountFactory(owner=owners[i % 4], segment=segments[i % 3]) for i in range(8)]
    scales = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
    answers = []
    for account in accounts:
        for kind, (low, high) in scales.items():
            # Some groups small (incl. a single answer), some skewed, so margins differ.
            count = rng.choice([1, 2, 5, 17, 40])
            bias = rng.random()
            for _ in range(count):
                score = high if rng.random() < bias else rng.randint(low, high)
                answers.append(Response(account=account, kind=kind, score=score))
    Response.objects.bulk_create(answers)
    return accounts


GROUPINGS = {
    "account": lambda a: a.pk,
    "account__owner": lambda a: a.owner_id,
    "account__owner__team": lambda a: a.owner.team_id,
    "account__segment": lambda a: a.segment,
}


@pytest.mark.parametrize("group", list(GROUPINGS))
@pytest.mark.parametrize("kind", Kind.values)
def test_aggregates_equal_the_pure_functions_per_group(generated_answers, kind, group, django_assert_num_queries):
    by_account = {account.pk: account for account in generated_answers}
    expected: dict[object, list[int]] = defaultdict(list)
    for account_id, score in Response.objects.filter(kind=kind).values_list("account_id", "score"):
        expected[GROUPINGS[group](by_account[account_id])].append(score)

    with django_assert_num_queries(1):  # every group in one query
        rows = list(Response.objects.filter(kind=kind).values(group).annotate(**score_aggregates()).order_by(group))

    assert {row[group] for row in rows} == set(expected)
    for row in rows:
        scores = expected[row[group]]
        pure = results_for(kind, scores)
        from_db = results_from_row(kind, row)
        assert set(from_db) == set(pure)
        for key in pure:
            _same(pure[key], from_db[key])
        counts = category_counts_from_row(kind, row)
        assert counts == {name: sum(1 for s in scores if formulas.category(kind, s) == name) for name in counts}


def test_aggregates_with_kind_count_only_that_kind_so_kinds_share_one_query(generated_answers):
    rows = Account.objects.filter(pk__in=[a.pk for a in generated_answers]).values("pk")
    for kind in Kind.values:
        rows = rows.annotate(
            **{f"{kind}_{name}": agg for name, agg in score_aggregates("responses__", kind=kind).items()}
        )
    for row in rows:
        for kind in Kind.values:
            scores = list(Response.objects.filter(account_id=row["pk"], kind=kind).values_list("score", flat=True))
            own = {name.removeprefix(f"{kind}_"): value for name, value in row.items() if name.startswith(f"{kind}_")}
            for key, pure in results_for(kind, scores).items():
                _same(pure, results_from_row(kind, own)[key])
