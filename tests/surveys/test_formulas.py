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
    ces_mean,
    ces_percent_agree,
    csat_mean,
    csat_percent,
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
    assert csat_mean(scores).value == pytest.approx(3.6)


def test_ces_mean_and_percent_agree():
    scores = [7, 6, 5, 4, 2]
    assert ces_mean(scores).value == pytest.approx(4.8)
    assert ces_percent_agree(scores).value == pytest.approx(60.0)  # 5, 6, 7 agree


@pytest.mark.parametrize("function", [nps, csat_percent, ces_percent_agree, csat_mean, ces_mean])
def test_no_answers_give_no_value_and_n_0(function):
    result = function([])
    assert result == Result(None, 0)
    assert result.small_sample
    assert not result.too_few


def test_response_rate_without_sends_is_empty():
    assert response_rate(answered=0, sent=0) == Result(None, 0)


def test_response_rate_is_answered_over_sent():
    result = response_rate(answered=3, sent=4)
    assert result.value == pytest.approx(75.0)
    assert result.n == 4


def test_identical_answers_never_claim_certainty():
    # Three identical answers are too few for a margin; five still have a margin above zero.
    assert nps([7, 8, 7]).margin is None and nps([7, 8, 7]).too_few
    assert nps([8] * 5).margin > 10  # all passives
    assert csat_percent([5] * 5).margin > 10  # Wilson: 56.6% .. 100%
    assert ces_percent_agree([7] * 5).margin > 10
    assert csat_mean([4] * 5).margin == pytest.approx(formulas.t_quantile_975(4) * formulas.MIN_MEAN_SD / math.sqrt(5))


def test_all_promoters_is_100_and_all_detractors_minus_100():
    assert nps([9, 10, 10]).value == 100
    assert nps([0, 3, 6]).value == -100


@pytest.mark.parametrize("answers", [1, 2, 4])
def test_under_five_answers_have_a_value_but_no_margin(answers):
    for result in (
        nps([10] * answers),
        csat_percent([4] * answers),
        csat_mean([3] * answers),
        ces_mean([6] * answers),
        ces_percent_agree([2] * answers),
        response_rate(answered=1, sent=answers),
    ):
        assert result.value is not None
        assert result.n == answers
        assert result.margin is None and result.low is None and result.high is None
        assert result.too_few and result.small_sample


def test_the_two_answer_trend_point_of_the_issue_has_no_margin():
    # "0 ± 139, n = 2" on a −100..100 scale: now too few answers for a margin at all.
    result = nps([10, 0])
    assert result.value == 0 and result.margin is None and result.too_few


def test_nps_is_not_rounded_by_the_formula():
    # 1 promoter in 8 answers is 12.5: rounding (to +13) is for display only (core.numbers).
    assert nps_from_counts(promoters=1, passives=7, detractors=0).value == 12.5
    assert nps_from_counts(promoters=0, passives=7, detractors=1).value == -12.5


def test_nps_adjusted_wald_by_hand():
    # Rocks (2016): 10, 9, 8, 3, 2 → 2 promoters, 1 passive, 2 detractors; add 3/4, 3/2, 3/4: n = 8.
    # p̃P = p̃D = 2.75 / 8 = .34375, NPS̃ = 0; variance (.6875 − 0) / 8 = .0859375; z·√ = 1.96 · .293151 = .574576.
    result = nps([10, 9, 8, 3, 2])
    assert result.value == 0
    assert result.low == pytest.approx(-57.4576, abs=1e-3)
    assert result.high == pytest.approx(57.4576, abs=1e-3)


def test_nps_adjusted_wald_is_clipped_to_the_scale_by_hand():
    # 5 promoters: p̃P = 5.75 / 8 = .71875, p̃D = .09375, NPS̃ = .625;
    # variance (.8125 − .390625) / 8 = .052734; 1.96 · .229640 = .450095 → .174905 .. 1.075 → clipped to 100.
    result = nps([10] * 5)
    assert result.low == pytest.approx(17.4905, abs=1e-3)
    assert result.high == 100.0


def test_wilson_interval_by_hand():
    # 3 of 5 satisfied, z² = 3.8416: centre (.6 + .38416) / 1.76832 = .556504;
    # half 1.96 · √(.048 + .038416) / 1.76832 = 1.96 · .293966 / 1.76832 = .325830 → 23.07% .. 88.23%.
    result = csat_percent([5, 5, 4, 3, 1])
    assert result.low == pytest.approx(23.067, abs=1e-2)
    assert result.high == pytest.approx(88.234, abs=1e-2)


def test_mean_interval_is_student_t_on_the_sample_standard_deviation_by_hand():
    # 5,5,4,3,1: squared deviations from 3.6 sum to 11.2; sample variance 11.2/4 = 2.8;
    # t(.975, 4) = 2.776 (tables; the expansion gives 2.7695): 2.7695 · √(2.8 / 5) = 2.0725.
    result = csat_mean([5, 5, 4, 3, 1])
    assert formulas.t_quantile_975(4) == pytest.approx(2.776, abs=0.01)
    assert formulas.t_quantile_975(29) == pytest.approx(2.045, abs=0.001)
    assert result.margin == pytest.approx((min(3.6 + 2.0725, 5) - (3.6 - 2.0725)) / 2, abs=1e-3)
    assert (result.low, result.high) == (pytest.approx(1.5275, abs=1e-3), 5.0)  # clipped to the 1-5 scale


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
