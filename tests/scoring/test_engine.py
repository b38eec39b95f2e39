"""The health engine: normalisation, weights, coverage, bands, staleness, bulk = per-account, history."""

import datetime
import random

import pytest
from django.utils import timezone

from accounts.models import Account, MetricDefinition
from scoring import engine
from scoring.inputs import Value, read_input
from scoring.models import Band, Component, HealthModel, HealthModelVersion, HealthSnapshot
from scoring.services import health_recompute, model_version_create
from tests.factories import AccountFactory, CheckInFactory, MetricValueFactory, ResponseFactory

TODAY = datetime.date(2026, 11, 20)


def component(**values) -> Component:
    defaults = {"label": "X", "input": "metric", "reading": "latest", "window_days": 30, "poor": 0, "good": 10}
    return Component(**{**defaults, "weight": 1, **values})


@pytest.mark.parametrize(
    ("poor", "good", "raw", "expected"),
    [
        (0, 10, 5, 50),  # more is better
        (0, 10, -3, 0),  # clamped below
        (0, 10, 12, 100),  # clamped above
        (20, 0, 5, 75),  # fewer tickets is better
        (20, 0, 25, 0),
        (20, 0, 0, 100),
        (-30, 50, 10, 50),
    ],
)
def test_normalise_both_directions_with_clamping(poor, good, raw, expected):
    assert component(poor=poor, good=good).normalise(raw) == pytest.approx(expected)


VERSION = HealthModelVersion(number=1, min_coverage=50, red_below=40, green_from=70)


def test_score_is_the_weighted_mean_of_components_with_data():
    parts = [component(label="A", weight=30), component(label="B", weight=10), component(label="C", weight=60)]
    score, band, coverage, breakdown = engine.score_components(VERSION, parts, [Value(8), Value(2), Value(5)])
    assert score == pytest.approx((80 * 30 + 20 * 10 + 50 * 60) / 100)
    assert (band, coverage) == (Band.GREEN if score >= 70 else Band.YELLOW, 100)
    assert sum(entry["contribution"] for entry in breakdown) == pytest.approx(score)


def test_missing_inputs_leave_the_weights_of_the_rest():
    version = HealthModelVersion(number=1, min_coverage=30, red_below=40, green_from=70)
    parts = [component(label="A", weight=30), component(label="B", weight=30), component(label="C", weight=40)]
    score, _, coverage, breakdown = engine.score_components(version, parts, [Value(8), None, Value(None, stale=True)])
    assert score == pytest.approx(80) and coverage == pytest.approx(30)
    assert [entry["status"] for entry in breakdown] == ["ok", "missing", "stale"]
    assert breakdown[0]["contribution"] == pytest.approx(80)


def test_below_minimum_coverage_is_not_enough_data():
    parts = [component(label="A", weight=30), component(label="B", weight=70)]
    score, band, coverage, breakdown = engine.score_components(VERSION, parts, [Value(8), None])
    assert (score, band, coverage) == (None, Band.NONE, 30)
    assert breakdown[0]["normalised"] == 80 and breakdown[0]["contribution"] is None


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (0, "red"),
        (39.49, "red"),  # shown as 39
        (39.5, "yellow"),  # shown as 40
        (39.99, "yellow"),  # shown as 40: 40 is yellow, always
        (40, "yellow"),
        (69.49, "yellow"),
        (69.5, "green"),  # shown as 70
        (70, "green"),
        (100, "green"),
    ],
)
def test_bands_are_decided_on_the_whole_number_shown(score, band):
    assert VERSION.band(score) == band


def default_model() -> HealthModelVersion:
    return HealthModel.objects.get(segment="").current_version


def test_default_model_exists_after_migrate_with_weights_summing_to_100(db):
    version = default_model()
    components = list(version.components.all())
    assert len(components) == 6 and sum(c.weight for c in components) == 100
    assert {c.input for c in components} >= {"nps", "csat_percent", "checkin_sentiment", "metric"}


@pytest.fixture
def simple_model(db):
    """A model of two components: check-in sentiment (window 60) and seat usage mean (window 30)."""
    metric = MetricDefinition.objects.get(key="seat_usage")
    model = HealthModel.objects.get(segment="")
    return model_version_create(
        model=model,
        by=None,
        settings_values={"min_coverage": 50, "red_below": 40, "green_from": 70},
        components=[
            {"label": "Sentiment", "input": "checkin_sentiment", "reading": "latest", "window_days": 60,
             "poor": 1, "good": 5, "weight": 50},
            {"label": "Usage", "input": "metric", "metric": metric, "reading": "mean", "window_days": 30,
             "poor": 20, "good": 70, "weight": 50},
        ],
    )  # fmt: skip


def test_stale_input_counts_as_missing_and_is_named(simple_model, alice):
    account = AccountFactory(owner=alice)
    CheckInFactory(account=account, date=TODAY - datetime.timedelta(days=90), sentiment=5)  # older than 60 days
    MetricValueFactory(account=account, metric=MetricDefinition.objects.get(key="seat_usage"), date=TODAY, value=45)
    [row] = engine.compute(as_of=TODAY, accounts=Account.objects.filter(pk=account.pk))
    assert [entry["status"] for entry in row.components] == ["stale", "ok"]
    assert (row.score, row.coverage) == (pytest.approx(50), 50)


def test_survey_input_uses_each_contacts_latest_answer_in_the_window(db, alice):
    account = AccountFactory(owner=alice)
    vocal = ResponseFactory(account=account, score=0).contact
    at = timezone.make_aware(datetime.datetime(2026, 11, 1, 12))
    for days in range(5):  # one vocal contact answering 0 again and again ...
        ResponseFactory(account=account, contact=vocal, score=0, answered_at=at - datetime.timedelta(days=days))
    ResponseFactory(account=account, contact=vocal, score=10, answered_at=at + datetime.timedelta(days=1))  # latest
    ResponseFactory(account=account, score=3, answered_at=at)  # another contact
    nps = Component(label="NPS", input="nps", window_days=180, poor=-100, good=100, weight=1)
    value = read_input(nps, Account.objects.filter(pk=account.pk), TODAY)[account.pk]
    # Counted once each: the vocal contact's latest (10, a promoter) and the quiet one's 3 (a detractor).
    assert (value.raw, value.n) == (0, 2)


def _per_account(version, components, account, as_of):
    """The straightforward computation for one account, to check the bulk one against."""
    values = [
        __import__("scoring.inputs", fromlist=["read_input"])
        .read_input(c, Account.objects.filter(pk=account.pk), as_of)
        .get(account.pk)
        for c in components
    ]
    return engine.score_components(version, components, values)


def test_bulk_results_equal_per_account_results_on_generated_data(db, alice, bob):
    rng = random.Random(3)
    usage = MetricDefinition.objects.get(key="seat_usage")
    tickets = MetricDefinition.objects.get(key="support_tickets")
    accounts = [AccountFactory(owner=rng.choice([alice, bob])) for _ in range(25)]
    for account in accounts:
        for day in range(0, 200, rng.randrange(3, 30)):
            date = TODAY - datetime.timedelta(days=day)
            MetricValueFactory(account=account, metric=usage, date=date, value=rng.uniform(0, 100))
            MetricValueFactory(account=account, metric=tickets, date=date, value=rng.randrange(5))
        for day in range(0, 300, rng.randrange(20, 90)):
            CheckInFactory(account=account, date=TODAY - datetime.timedelta(days=day), sentiment=rng.randint(1, 5))
        for _ in range(rng.randrange(4)):
            when = timezone.make_aware(datetime.datetime(2026, 11, 1)) - datetime.timedelta(days=rng.randrange(300))
            ResponseFactory(
                account=account, kind=rng.choice(["nps", "csat"]), score=rng.randint(1, 5), answered_at=when
            )
    version = default_model()
    components = list(version.components.order_by("position"))
    bulk = {row.account_id: row for row in engine.compute(as_of=TODAY)}
    assert len({row.band for row in bulk.values()}) >= 2  # the data set is not trivial
    for account in accounts:
        score, band, coverage, breakdown = _per_account(version, components, account, TODAY)
        row = bulk[account.pk]
        assert (row.score, row.band, row.coverage) == (
            pytest.approx(score) if score is not None else None,
            band,
            pytest.approx(coverage),
        )
        # The same entries; floats to a relative 1e-9 (PostgreSQL may add a mean's terms in another order).
        assert len(row.components) == len(breakdown)
        for got, want in zip(row.components, breakdown, strict=True):
            assert got == {
                key: pytest.approx(value) if isinstance(value, float) else value for key, value in want.items()
            }


@pytest.mark.parametrize("count", [3, 30])
def test_query_count_does_not_grow_with_accounts(db, alice, count, django_assert_max_num_queries):
    usage = MetricDefinition.objects.get(key="seat_usage")
    for _ in range(count):
        account = AccountFactory(owner=alice)
        CheckInFactory(account=account, date=TODAY)
        MetricValueFactory(account=account, metric=usage, date=TODAY, value=50)
    # 6 components: at most 2 queries each, plus the model and the accounts, plus the upsert.
    with django_assert_max_num_queries(20):
        health_recompute(as_of=TODAY, alert=False)
    assert HealthSnapshot.objects.count() == count


def test_recomputing_a_day_replaces_its_snapshot(simple_model, alice):
    account = AccountFactory(owner=alice)
    CheckInFactory(account=account, date=TODAY, sentiment=3)
    health_recompute(as_of=TODAY, alert=False)
    CheckInFactory(account=account, date=TODAY, sentiment=5)
    health_recompute(as_of=TODAY, alert=False)
    [snapshot] = HealthSnapshot.objects.filter(account=account)
    assert snapshot.score == 100 and snapshot.date == TODAY


def test_history_keeps_the_version_it_was_computed_with(simple_model, alice):
    account = AccountFactory(owner=alice)
    CheckInFactory(account=account, date=TODAY - datetime.timedelta(days=2), sentiment=4)
    health_recompute(as_of=TODAY - datetime.timedelta(days=1), alert=False)
    new = model_version_create(
        model=simple_model.model,
        by=None,
        settings_values={"min_coverage": 10, "red_below": 40, "green_from": 70},
        components=[{"label": "Sentiment", "input": "checkin_sentiment", "reading": "latest", "window_days": 60,
                     "poor": 3, "good": 5, "weight": 1}],
    )  # fmt: skip
    health_recompute(as_of=TODAY, alert=False)
    yesterday, today = HealthSnapshot.objects.filter(account=account).order_by("date")
    assert (yesterday.version, yesterday.score) == (simple_model, 75)
    assert (today.version, today.score, new.number) == (new, 50, simple_model.number + 1)


def test_segment_model_scores_its_segment_and_the_default_the_rest(simple_model, alice):
    enterprise = HealthModel.objects.create(name="Enterprise", segment="enterprise")
    model_version_create(
        model=enterprise, by=None, settings_values={"min_coverage": 10, "red_below": 40, "green_from": 70},
        components=[{"label": "Sentiment", "input": "checkin_sentiment", "reading": "latest", "window_days": 60,
                     "poor": 1, "good": 3, "weight": 1}],
    )  # fmt: skip
    big, small = AccountFactory(owner=alice, segment="enterprise"), AccountFactory(owner=alice, segment="smb")
    for account in (big, small):
        CheckInFactory(account=account, date=TODAY, sentiment=3)
    health_recompute(as_of=TODAY, alert=False)
    assert HealthSnapshot.objects.get(account=big).version.model == enterprise
    assert HealthSnapshot.objects.get(account=big).score == 100
    assert HealthSnapshot.objects.get(account=small).version == simple_model
    assert HealthSnapshot.objects.get(account=small).score == pytest.approx(50)


def test_churned_accounts_are_not_scored(simple_model, alice):
    account = AccountFactory(owner=alice, status="churned", churned_on=TODAY)
    CheckInFactory(account=account, date=TODAY)
    assert health_recompute(as_of=TODAY, alert=False) == 0


def test_a_history_scores_an_account_until_the_day_before_it_churned(simple_model, alice):
    churned = AccountFactory(owner=alice, status="churned", churned_on=TODAY - datetime.timedelta(days=3))
    left_before = AccountFactory(owner=alice, status="churned", churned_on=TODAY - datetime.timedelta(days=30))
    for account in (churned, left_before):
        CheckInFactory(account=account, date=TODAY - datetime.timedelta(days=40))
    days = [TODAY - datetime.timedelta(days=offset) for offset in (10, 4, 3, 0)]
    scored = {day: {row.account_id for row in rows} for day, rows in engine.compute_days(days=days)}
    assert scored == {days[0]: {churned.pk}, days[1]: {churned.pk}, days[2]: set(), days[3]: set()}
