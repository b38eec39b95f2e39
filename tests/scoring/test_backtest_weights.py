"""Suggested weights: recovering known weights, the time split without leakage, missing values scored as the
engine does, plain reasons not to trust a suggestion, and the same answer twice. No database; dates are fixed."""

import datetime
import json

import numpy as np
import pytest

from scoring import backtest, engine
from scoring.backtest_weights import MIN_FIT_POSITIVES, suggest_weights, time_split, weighted_scores
from scoring.inputs import Value
from scoring.models import Component, HealthModelVersion

START = datetime.date(2026, 1, 4)
TRUE_WEIGHTS = (60, 30, 10, 0)
EQUAL_WEIGHTS = (25, 25, 25, 25)
TOLERANCE = 6  # points of weight


def _weekly(weeks: int) -> list[datetime.date]:
    return [START + datetime.timedelta(weeks=week) for week in range(weeks)]


def _simulated(*, accounts=3000, weeks=50, weights=TRUE_WEIGHTS, strength=8.0, missing=0.1, seed=5) -> dict:
    """Weekly cases whose churn follows P = sigmoid(b - strength * sum of w_j n_j / 100) with shares w of `weights`.

    Each account has a level per component and weekly noise around it (its cases are not independent);
    `missing` of the values are then blanked out at random.
    """
    rng = np.random.default_rng(seed)
    level = rng.uniform(10, 90, size=(accounts, len(weights)))
    noise = rng.normal(0, 15, size=(accounts, weeks, len(weights)))
    normalised = np.clip(level[:, None, :] + noise, 0, 100).reshape(accounts * weeks, len(weights))
    shares = np.asarray(weights, dtype=float) / sum(weights)
    churn = 1 / (1 + np.exp(-(0.5 - strength * normalised / 100 @ shares)))
    positive = rng.random(len(normalised)) < churn
    normalised[rng.random(normalised.shape) < missing] = np.nan
    return {
        "normalised": normalised,
        "positive": positive,
        "account": np.repeat(np.arange(accounts), weeks),
        "day": np.tile(np.arange(weeks), accounts),
        "days": _weekly(weeks),
        "horizon": 90,
    }


@pytest.fixture(scope="module")
def data() -> dict:
    return _simulated()


@pytest.fixture(scope="module")
def suggestion(data) -> dict:
    return suggest_weights(**data, current_weights=EQUAL_WEIGHTS)


def test_recovers_the_weights_churn_depends_on_and_beats_equal_weights_on_the_test_part(suggestion):
    assert sum(suggestion["weights"]) == 100
    assert all(isinstance(weight, int) for weight in suggestion["weights"])
    assert np.abs(np.array(suggestion["weights"]) - TRUE_WEIGHTS).max() <= TOLERANCE
    test = suggestion["test"]
    assert test["auc"] > test["current_auc"] + 0.02
    assert test["auc_low"] <= test["auc"] <= test["auc_high"]
    assert suggestion["trusted"] is True and suggestion["warnings"] == []


def test_figures_are_the_backtest_s_on_the_same_test_cases(data, suggestion):
    fit, test = time_split(day=data["day"], days=data["days"], horizon=data["horizon"])
    suggested = weighted_scores(data["normalised"], suggestion["weights"])
    current = weighted_scores(data["normalised"], EQUAL_WEIGHTS)
    scored = test & ~np.isnan(suggested) & ~np.isnan(current)
    assert suggestion["test"]["cases"] == scored.sum() < test.sum()  # a few cases have no weighted data
    assert suggestion["test"]["positives"] == data["positive"][scored].sum() >= backtest.MIN_POSITIVES
    assert suggestion["test"]["auc"] == backtest.auc(suggested[scored], data["positive"][scored])
    assert suggestion["test"]["current_auc"] == backtest.auc(current[scored], data["positive"][scored])
    assert suggestion["fit"]["cases"] == fit.sum() and suggestion["fit"]["positives"] >= MIN_FIT_POSITIVES


@pytest.mark.parametrize("horizon", [0, 30, 90, 365])
@pytest.mark.parametrize(
    "days",
    [_weekly(50), _weekly(6), [START + datetime.timedelta(days=offset) for offset in (0, 3, 40, 41, 100, 230, 231)]],
)
def test_no_fit_case_has_an_outcome_after_a_test_case_starts(days, horizon):
    day = np.tile(np.arange(len(days)), 3)
    fit, test = time_split(day=day, days=days, horizon=horizon)
    assert not (fit & test).any()
    fit_ends = [days[index] + datetime.timedelta(days=horizon) for index in day[fit]]
    test_starts = [days[index] for index in day[test]]
    assert test_starts and max(fit_ends, default=START) <= min(test_starts)


def test_the_suggestion_reports_its_split(data, suggestion):
    fit_to, test_from, split = map(
        datetime.date.fromisoformat, [suggestion["fit"]["to"], suggestion["test"]["from"], suggestion["split"]]
    )
    assert fit_to + datetime.timedelta(days=data["horizon"]) <= test_from == split
    assert suggestion["split"] == data["days"][33].isoformat()  # two-thirds of 50 weekly days


def test_weighted_scores_match_the_engine_with_components_without_data():
    version = HealthModelVersion(number=1, min_coverage=0, red_below=40, green_from=70)
    weights = [30, 10, 60]
    components = [
        Component(label=label, input="metric", reading="latest", window_days=30, poor=0, good=100, weight=weight)
        for label, weight in zip("ABC", weights, strict=True)
    ]
    rows = [[80, 20, 50], [80, None, 50], [None, 20, None], [None, None, None], [0, 100, 35.5]]
    normalised = np.array([[np.nan if value is None else value for value in row] for row in rows], dtype=float)
    scores = weighted_scores(normalised, weights)
    for row, score in zip(rows, scores, strict=True):
        expected, *_ = engine.score_components(version, components, [None if v is None else Value(v) for v in row])
        assert (np.isnan(score) and expected is None) or score == pytest.approx(expected)
    assert np.isnan(scores[3]) and scores[1] == pytest.approx((80 * 30 + 50 * 60) / 90)


def test_a_weight_of_zero_leaves_the_component_out():
    scores = weighted_scores(np.array([[80.0, 10.0], [np.nan, 10.0]]), [1, 0])
    assert scores[0] == 80 and np.isnan(scores[1])


def test_missing_values_are_imputed_for_the_fit_and_left_out_of_the_test_scores():
    data = _simulated(accounts=1500, missing=0.4, seed=2)
    fit, test = time_split(day=data["day"], days=data["days"], horizon=data["horizon"])
    blank = np.isnan(data["normalised"]).all(axis=1)
    result = suggest_weights(**data, current_weights=EQUAL_WEIGHTS)
    assert blank[fit].any() and result["fit"]["cases"] == fit.sum()  # blank cases are fitted on, imputed
    assert result["test"]["cases"] <= (test & ~blank).sum()  # a blank case has no score: no test case
    # Imputing 40% of the values by their mean blurs the components together: a looser tolerance.
    assert np.abs(np.array(result["weights"]) - TRUE_WEIGHTS).max() <= 2 * TOLERANCE
    assert result["test"]["auc"] > result["test"]["current_auc"]


def test_too_few_positives_gives_no_weights_and_says_why():
    data = _simulated(accounts=100, weeks=30, strength=12.0, seed=4)
    result = suggest_weights(**data, current_weights=EQUAL_WEIGHTS)
    assert result["fit"]["positives"] < MIN_FIT_POSITIVES
    assert result["weights"] is None and result["trusted"] is False
    assert result["warnings"] == [
        f"Only {result['fit']['positives']} churn cases to fit on; at least {MIN_FIT_POSITIVES} are needed."
    ]
    assert result["test"]["auc"] is None and result["test"]["current_auc"] is None


def test_too_few_days_to_split():
    data = _simulated(weeks=20)  # the split is week 13: only week 0's churn is known by then
    result = suggest_weights(**data, current_weights=EQUAL_WEIGHTS)
    assert result["fit"]["from"] == result["fit"]["to"] == START.isoformat()
    assert result["fit"]["positives"] >= MIN_FIT_POSITIVES
    assert result["weights"] is None and result["trusted"] is False and len(result["warnings"]) == 1
    assert result["warnings"][0].startswith("20 evaluation days are too few to split")


def test_no_days_at_all_does_not_crash():
    empty = {"normalised": np.zeros((0, 3)), "positive": np.zeros(0, bool), "account": np.zeros(0, int)}
    result = suggest_weights(**empty, day=np.zeros(0, int), days=[], horizon=90, current_weights=[1, 1, 1])
    assert result["weights"] is None and result["split"] is None and len(result["warnings"]) == 2
    assert result["fit"] == {"from": None, "to": None, "cases": 0, "positives": 0, "accounts": 0, "auc": None}


def test_too_few_positives_in_the_test_part_leaves_the_suggestion_unchecked(data):
    _, test = time_split(day=data["day"], days=data["days"], horizon=data["horizon"])
    result = suggest_weights(**{**data, "positive": data["positive"] & ~test}, current_weights=EQUAL_WEIGHTS)
    assert result["weights"] is not None and result["trusted"] is False
    assert result["test"]["positives"] == 0 and result["test"]["auc"] is None
    assert "the suggestion is unchecked" in result["warnings"][0]


def test_no_better_than_the_current_weights_says_keep_them(data, suggestion):
    result = suggest_weights(**data, current_weights=suggestion["weights"])
    assert result["test"]["auc"] == result["test"]["current_auc"]
    assert result["trusted"] is False
    assert result["warnings"][0].endswith(": keep the current weights.")


def test_components_that_only_rise_with_churn_give_all_zero_weights(data):
    flipped = {**data, "normalised": 100 - data["normalised"][:, :3]}  # healthier values now go with more churn
    result = suggest_weights(**flipped, current_weights=[1, 1, 1])
    assert result["weights"] is None and result["trusted"] is False
    assert result["warnings"] == [
        "Every weight came out 0: no component's data ranked the churn cases lower in the fit part."
    ]


def test_a_suggestion_no_better_than_chance_is_not_trusted_even_when_the_current_weights_are_worse(data):
    flipped = {**data, "normalised": 100 - data["normalised"]}  # only the fourth component, noise, can get weight
    result = suggest_weights(**flipped, current_weights=EQUAL_WEIGHTS)
    assert result["weights"] == [0, 0, 0, 100] and result["test"]["current_auc"] < result["test"]["auc_low"] <= 0.5
    assert result["trusted"] is False
    assert result["warnings"][0].startswith("The suggested weights may rank churn no better than chance")


def test_same_input_same_output_and_json(data, suggestion):
    assert suggest_weights(**data, current_weights=EQUAL_WEIGHTS) == suggestion
    assert json.loads(json.dumps(suggestion)) == suggestion
