"""A draft's back-test: replaying the current version gives the stored back-test's figures; a draft is
compared on the same cases; the task saves its progress and result, or why it failed. Dates are fixed."""

import pytest

from scoring import backtest, backtest_replay
from scoring.models import Backtest, HealthModel
from scoring.preview import draft_build
from scoring.services import (
    backtest_draft_create,
    backtest_draft_run,
    version_values,
)
from tests.scoring.history import HORIZON, backtested_model
from tests.scoring.history import components as _components


@pytest.fixture
def model(db):
    return backtested_model()


def _current_as_draft(model):
    version = model.current_version
    return draft_build(model=model, **version_values(version))


def test_replaying_the_current_version_gives_the_stored_back_test(model):
    draft, components = _current_as_draft(model)
    stored = backtest.backtest_stored(model.current_version, horizon=HORIZON)
    replayed = backtest_replay.replay(model=model, draft=draft, components=components, horizon=HORIZON)
    assert stored["positives"] >= backtest.MIN_POSITIVES and stored["enough_churn"]
    assert replayed["days"] == stored["days"] and (replayed["from"], replayed["to"]) == (stored["from"], stored["to"])
    for side in ("draft", "current"):
        assert replayed[side]["cases"] == stored["cases"]
        assert replayed[side]["positives"] == stored["positives"]
        assert replayed[side]["auc"] == pytest.approx(stored["auc"])
        assert replayed[side]["bands"] == stored["bands"]
    assert 0.6 < stored["auc"] < 1  # usage slides before churn: the score sees it coming, with noise


def test_a_draft_is_compared_with_the_current_version_on_the_same_cases(model):
    draft, components = draft_build(
        model=model,
        settings_values={"min_coverage": 50, "red_below": 40, "green_from": 70},
        components=_components(usage_weight=5, sentiment_weight=95),  # mostly the noise
    )
    done = []
    replayed = backtest_replay.replay(
        model=model, draft=draft, components=components, horizon=HORIZON, progress=lambda *step: done.append(step)
    )
    assert replayed["draft"]["cases"] == replayed["current"]["cases"] > 0
    assert replayed["draft"]["positives"] == replayed["current"]["positives"]
    assert replayed["draft"]["auc"] < replayed["current"]["auc"]
    assert done[-1] == (len(replayed["days"]), len(replayed["days"])) and len(done) == len(replayed["days"])
    assert replayed["labels"] == ["Sentiment", "Usage"] and replayed["weights"] == [95, 5]
    suggestion = replayed["suggestion"]
    assert suggestion["trusted"] is False or sum(suggestion["weights"]) == 100
    assert suggestion["warnings"] or suggestion["trusted"]  # it says why, when it should not be trusted


def test_the_task_saves_its_progress_and_result(model):
    version = model.current_version
    job = backtest_draft_create(
        model=model,
        **version_values(version),
        by=None,
    )
    assert (job.status, job.draft["components"][1]["metric"]) == (Backtest.Status.PENDING, "seat_usage")
    backtest_draft_run(backtest_id=job.pk)
    job.refresh_from_db()
    assert job.status == Backtest.Status.DONE and job.finished_at is not None
    assert job.done == job.total == len(job.result["days"]) > 0
    assert job.result["current_version"] == version.number and job.result["draft"]["cases"] > 0


def test_a_draft_that_cannot_be_replayed_fails_with_its_reason(model):
    job = Backtest.objects.create(
        model=model, kind=Backtest.Kind.DRAFT, horizon_days=HORIZON, draft={"settings": {}, "components": [{}]}
    )
    backtest_draft_run(backtest_id=job.pk)
    job.refresh_from_db()
    assert job.status == Backtest.Status.FAILED and job.error and job.result is None
    backtest_draft_run(backtest_id=job.pk)  # a finished one is not run again
    assert Backtest.objects.get(pk=job.pk).status == Backtest.Status.FAILED


def test_without_history_there_is_nothing_to_replay(db):
    model = HealthModel.objects.get(segment="")
    draft, components = _current_as_draft(model)
    replayed = backtest_replay.replay(model=model, draft=draft, components=components)
    assert replayed["days"] == [] and replayed["draft"]["cases"] == 0 and replayed["suggestion"] is None


def test_one_model_failing_does_not_stop_the_nightly_back_tests(model, monkeypatch):
    from scoring import services

    real = services.backtest_stored_save
    segment = services.model_segment_create(segment="enterprise", name="Enterprise", by=None)

    def save(*, version, **kwargs):
        if version.model_id == model.pk:
            raise RuntimeError("broken")
        return real(version=version, **kwargs)

    monkeypatch.setattr(services, "backtest_stored_save", save)
    assert services.backtests_stored_run() == 1
    assert Backtest.objects.filter(model=segment, kind=Backtest.Kind.STORED).count() == 1
