"""The back-test: AUC by hand with ties, the account bootstrap, which cases count, not enough churn, lead
time, the command's JSON, and a query count that does not grow with the accounts. Dates are fixed."""

import datetime
import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from scoring import backtest
from scoring.models import HealthModel, HealthModelVersion
from tests.factories import AccountFactory, HealthSnapshotFactory, default_health_version

START = datetime.date(2026, 1, 4)  # a Sunday
WEEK = datetime.timedelta(weeks=1)


def test_auc_by_hand_with_ties():
    # Positives 10 and 30; negatives 20, 30, 40. Pairs (positive lower): 10 < 20, 30, 40 -> 3;
    # 30 vs 20 -> 0, 30 vs 30 -> 0.5, 30 vs 40 -> 1. (3 + 1.5) / 6 = 0.75.
    scores = [10, 30, 20, 30, 40]
    positive = [True, True, False, False, False]
    assert backtest.auc(np.array(scores), np.array(positive)) == pytest.approx(0.75)


def test_auc_extremes_and_all_ties():
    assert backtest.auc(np.array([1.0, 2.0, 3.0, 4.0]), np.array([True, True, False, False])) == 1.0
    assert backtest.auc(np.array([3.0, 4.0, 1.0, 2.0]), np.array([True, True, False, False])) == 0.0
    assert backtest.auc(np.array([5.0, 5.0, 5.0]), np.array([True, False, False])) == 0.5
    assert backtest.auc(np.array([5.0, 6.0]), np.array([False, False])) is None


def _cases(accounts=60, weeks=20, seed=3) -> backtest.Cases:
    """Accounts with a level of their own, whose scores are lower, with noise, when they will churn."""
    rng = np.random.default_rng(seed)
    rows = []
    for account in range(accounts):
        churns = account % 4 == 0
        level = rng.normal(0, 12)
        for week in range(weeks):
            positive = churns and week >= weeks - 6
            score = float(np.clip(level + rng.normal(45 if positive else 60, 6), 0, 100))
            rows.append((1000 + account, week, score, "yellow", positive))
    return backtest.Cases.from_rows(rows)


def test_bootstrap_is_reproducible_with_a_seed_and_brackets_the_auc():
    cases = _cases()
    first = backtest.auc_interval(cases, samples=300, seed=7)
    assert backtest.auc_interval(cases, samples=300, seed=7) == first
    assert backtest.auc_interval(cases, samples=300, seed=8) != first
    low, high = first
    assert low < backtest.auc(cases.score, cases.positive) < high


def test_bootstrap_matches_resampling_the_cases_by_hand():
    # Each resampling draws accounts uniformly, as many times as there are; an account drawn k times
    # counts its cases k times. Done the slow way here, on the same draws, scores to a tenth.
    cases = _cases(accounts=30, weeks=8)
    accounts = int(cases.account.max()) + 1
    rng = np.random.default_rng(5)
    by_hand = []
    for _ in range(40):
        times = np.bincount(rng.integers(0, accounts, size=accounts, dtype=np.int32), minlength=accounts)
        repeat = times[cases.account]
        by_hand.append(backtest.auc(np.repeat(np.rint(cases.score * 10), repeat), np.repeat(cases.positive, repeat)))
    expected = np.nanpercentile(np.array(by_hand, dtype=float), [2.5, 97.5])

    assert backtest.auc_interval(cases, samples=40, seed=5) == pytest.approx(tuple(expected))


def test_bootstrap_resamples_accounts_not_cases():
    # The same cases with every account split into 20 one-week "accounts" look 20 times as independent:
    # resampling accounts must give the real (grouped) data a wider interval.
    grouped = _cases()
    split = backtest.Cases(
        account=grouped.account * 100 + grouped.day,
        day=grouped.day,
        score=grouped.score,
        band=grouped.band,
        positive=grouped.positive,
    )
    split.account = np.unique(split.account, return_inverse=True)[1]
    low, high = backtest.auc_interval(grouped, samples=300, seed=1)
    split_low, split_high = backtest.auc_interval(split, samples=300, seed=1)
    assert high - low > 1.5 * (split_high - split_low)


def test_wilson_interval():
    low, high = backtest.wilson(10, 100)
    assert low == pytest.approx(0.0552, abs=1e-4) and high == pytest.approx(0.1744, abs=1e-4)
    assert backtest.wilson(0, 0) is None


def _history(account, scores, *, start=START, version=None):
    for week, score in enumerate(scores):
        HealthSnapshotFactory(
            account=account, date=start + week * WEEK, score=score, **({"version": version} if version else {})
        )


def _churned(day, **kwargs):
    return AccountFactory(status=Account.Status.CHURNED, churned_on=day, owner=None, **kwargs)


@pytest.mark.django_db
def test_cases_exclude_accounts_churned_before_the_day_and_other_versions():
    version = default_health_version()
    other = HealthModelVersion.objects.create(model=version.model, number=version.number + 1)
    stays = AccountFactory()
    _history(stays, [70, 70, 70, 70])
    leaves = _churned(START + 2 * WEEK)  # snapshots on weeks 0-3, churned on week 2
    _history(leaves, [30, 30, 30, 30])
    elsewhere = AccountFactory()
    _history(elsewhere, [50, 50, 50, 50], version=other)
    days = [START + week * WEEK for week in range(4)]
    cases, not_enough, ids = backtest.stored_cases(version, days, horizon=90)
    assert set(ids.values()) == {stays.pk, leaves.pk}
    # `leaves` counts on weeks 0 and 1 (positive: churn within 90 days); not on its churn day or after.
    by_account = {ids[index]: [] for index in ids}
    for index, day, positive in zip(cases.account, cases.day, cases.positive, strict=True):
        by_account[ids[int(index)]].append((int(day), bool(positive)))
    assert sorted(by_account[leaves.pk]) == [(0, True), (1, True)]
    assert sorted(by_account[stays.pk]) == [(0, False), (1, False), (2, False), (3, False)]
    assert not_enough == 0


@pytest.mark.django_db
def test_positive_only_within_the_horizon_and_not_enough_data_counted_apart():
    version = default_health_version()
    late = _churned(START + datetime.timedelta(days=100))
    _history(late, [40, 40])  # weeks 0 and 1: churn 100 and 93 days later
    gap = AccountFactory()
    HealthSnapshotFactory(account=gap, date=START, score=None, band="none")
    cases, not_enough, _ = backtest.stored_cases(version, [START, START + WEEK], horizon=95)
    assert sorted(cases.positive.tolist()) == [False, True]
    assert not_enough == 1


@pytest.mark.django_db
def test_weekly_grid_on_days_with_snapshots():
    version = default_health_version()
    account = AccountFactory()
    for offset in [0, 3, 7, 8, 9, 20, 21, 30]:
        HealthSnapshotFactory(account=account, date=START + datetime.timedelta(days=offset))
    days = backtest.evaluation_days([version], START, START + datetime.timedelta(days=30))
    assert [(day - START).days for day in days] == [0, 7, 20, 30]


def _portfolio(accounts: int, churners: int, *, weeks: int = 12):
    """`accounts` staying accounts around 65 and `churners` that fall towards 30 before churning after week 12."""
    for index in range(accounts):
        _history(AccountFactory(), [60 + (index * 7 + week * 3) % 20 for week in range(weeks)])
    for index in range(churners):
        account = _churned(START + (weeks + index % 3) * WEEK)
        _history(account, [max(5, 65 - 4 * week - index % 5) for week in range(weeks)])


@pytest.mark.django_db
def test_not_enough_churn_under_ten_positives():
    _portfolio(accounts=8, churners=1)  # one churner: at most its weeks within the horizon are positive
    result = backtest.backtest_stored(default_health_version(), horizon=30, start=START, end=START + 11 * WEEK)
    assert 0 < result["positives"] < backtest.MIN_POSITIVES
    assert result["auc"] is None and result["auc_low"] is None and result["enough_churn"] is False
    assert (
        result["bands"]["green"]["cases"] + result["bands"]["yellow"]["cases"] + result["bands"]["red"]["cases"]
        == result["cases"]
    )


@pytest.mark.django_db
def test_stored_backtest_figures_and_lead_time():
    _portfolio(accounts=10, churners=6)
    result = backtest.backtest_stored(default_health_version(), horizon=90, start=START, end=START + 11 * WEEK)
    assert len(result["days"]) == 12
    assert result["positives"] >= backtest.MIN_POSITIVES
    assert 0.9 < result["auc"] <= 1 and result["auc_low"] <= result["auc"] <= result["auc_high"]
    assert result["bands"]["red"]["rate"] > result["bands"]["green"]["rate"]
    assert [decile["decile"] for decile in result["calibration"]] == list(range(1, 11))
    lead = result["lead_time"]
    assert lead["churned_accounts"] == 6 and lead["flagged"] == 6
    # The churners reach red (below 40) in week 7 or 8; they churn in weeks 12-14.
    assert 28 <= result["lead_time_median_days"] <= 49
    assert lead["red_before"]["30"] == 1.0


@pytest.mark.django_db
def test_query_count_does_not_grow_with_accounts():
    version = HealthModelVersion.objects.select_related("model").get(pk=default_health_version().pk)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            backtest.backtest_stored(version, horizon=90, start=START, end=START + 11 * WEEK)
        return len(captured)

    _portfolio(accounts=3, churners=2)
    few = queries()
    _portfolio(accounts=20, churners=10)
    assert queries() == few <= 5


@pytest.mark.django_db
def test_command_prints_the_json_keys():
    _portfolio(accounts=10, churners=6)
    out = StringIO()
    version = default_health_version()
    call_command(
        "backtest_health", "--version", str(version.number), "--horizon", "90", "--from", START.isoformat(),
        "--to", (START + 11 * WEEK).isoformat(), "--json", stdout=out,
    )  # fmt: skip
    result = json.loads(out.getvalue())
    for key in ["version", "horizon_days", "from", "to", "days", "cases", "positives", "not_enough_data", "auc",
                "auc_low", "auc_high", "bands", "lead_time_median_days"]:  # fmt: skip
        assert key in result
    assert result["version"] == version.number and result["from"] == START.isoformat()
    assert set(result["bands"]) == {"red", "yellow", "green"}
    assert {"cases", "churned", "rate"} <= set(result["bands"]["red"])


@pytest.mark.django_db
def test_command_text_and_bad_input():
    _portfolio(accounts=10, churners=6)
    out = StringIO()
    call_command("backtest_health", "--from", START.isoformat(), "--to", (START + 11 * WEEK).isoformat(), stdout=out)
    text = out.getvalue()
    assert "AUC" in text and "Red" in text and "lead time" in text.lower()
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="no version 99"):
        call_command("backtest_health", "--version", "99")
    with pytest.raises(CommandError, match="--from"):
        call_command("backtest_health", "--from", "2026-13-01")
    assert HealthModel.objects.count() >= 1
