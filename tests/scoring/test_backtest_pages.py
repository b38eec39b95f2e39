"""The back-test on the pages: the editor's "Does it predict churn?" section, a draft back-tested in a task
and polled, suggested weights offered as a draft, the page managers read, and the rollup's line."""

import re

import pytest

from scoring.models import Backtest, HealthModel
from scoring.services import backtest_draft_run, backtest_stored_save, backtests_stored_run
from tests.helpers import HTMX
from tests.scoring.history import HORIZON, backtested_model
from tests.scoring.test_model_editor import SENTIMENT, USAGE, post_data


@pytest.fixture
def model(db):
    return backtested_model()


def _stored(model):
    return backtest_stored_save(version=model.current_version, horizon=HORIZON)


def test_the_editor_says_when_there_is_no_back_test_yet(client, adam, model):
    client.force_login(adam)
    page = client.get(model.get_absolute_url()).content.decode()
    assert "Does it predict churn?" in page and "No back-test yet" in page
    assert "Back-test this draft" in page


def test_the_editor_shows_the_stored_back_test_with_its_n(client, adam, model):
    stored = _stored(model)
    client.force_login(adam)
    page = client.get(model.get_absolute_url()).content.decode()
    result = stored.result
    assert f"AUC <strong>{result['auc']:.2f}</strong>" in page
    assert f"On {result['cases']:,} weekly cases" in page
    assert 'data-chart="stored-bands"' in page and 'data-chart="stored-calibration"' in page
    assert 'id="backtest-stored-data"' in page


def test_a_draft_is_back_tested_in_a_task_and_polled_until_done(
    client, adam, model, django_capture_on_commit_callbacks
):
    client.force_login(adam)
    data = post_data([{**SENTIMENT, "weight": "95"}, {**USAGE, "weight": "5"}], backtest="1")
    with django_capture_on_commit_callbacks(execute=True):  # the task runs in-process, after the commit
        answer = client.post(model.get_absolute_url(), data, headers=HTMX)
    assert answer.status_code == 200
    job = Backtest.objects.get(kind=Backtest.Kind.DRAFT)
    assert 'id="backtest-draft"' in answer.content.decode() and "Back-testing the draft" in answer.content.decode()
    assert [row["weight"] for row in job.draft["components"]] == [95, 5]
    assert job.created_by == adam and model.current_version.number == job.result["current_version"]

    polled = client.get(f"/health/models/{model.pk}/backtests/{job.pk}/", headers=HTMX).content.decode()
    assert "hx-trigger" not in polled  # finished: it stops polling
    assert "Current (v" in polled and "Draft" in polled and 'data-chart="draft-bands"' in polled
    assert "Suggested weights" in polled


def test_a_running_back_test_shows_its_progress_and_polls(client, adam, model):
    job = Backtest.objects.create(
        model=model, kind=Backtest.Kind.DRAFT, horizon_days=90, draft={}, status="running", done=13, total=52
    )
    client.force_login(adam)
    polled = client.get(f"/health/models/{model.pk}/backtests/{job.pk}/", headers=HTMX).content.decode()
    assert "13 of 52 weekly days replayed" in polled and 'value="25"' in polled and "hx-trigger" in polled


def test_an_invalid_draft_is_not_back_tested(client, adam, model):
    client.force_login(adam)
    data = post_data([{**SENTIMENT, "weight": "-1"}], backtest="1")
    answer = client.post(model.get_absolute_url(), data, headers=HTMX)
    assert answer.status_code == 422 and answer["HX-Retarget"] == "#editor"
    assert not Backtest.objects.exists()


def test_suggested_weights_become_the_draft_to_preview_and_save(client, adam, model):
    client.force_login(adam)
    client.post(model.get_absolute_url(), post_data([SENTIMENT, USAGE], backtest="1"), headers=HTMX)
    job = Backtest.objects.get(kind=Backtest.Kind.DRAFT)
    Backtest.objects.filter(pk=job.pk).update(horizon_days=HORIZON)  # this history is 30 weeks long
    backtest_draft_run(backtest_id=job.pk)
    job.refresh_from_db()
    weights = job.result["suggestion"]["weights"]
    assert sum(weights) == 100 and weights[1] > weights[0]  # usage sees churn coming, sentiment is noise

    page = client.get(f"{model.get_absolute_url()}?suggested={job.pk}").content.decode()
    shown = re.findall(r'name="components-\d+-weight"[^>]*value="([^"]+)"', page)
    assert [int(value) for value in shown] == weights
    assert "The suggested weights are in the draft below" in page
    assert model.versions.count() == 2  # nothing saved: the migration's version and the fixture's


def test_suggested_from_another_model_or_nonsense_is_ignored(client, adam, model):
    client.force_login(adam)
    for value in ("abc", "999999", "", "²", "-1"):
        page = client.get(f"{model.get_absolute_url()}?suggested={value}")
        assert page.status_code == 200 and b"The suggested weights" not in page.content


def test_a_back_test_of_another_model_is_404(client, adam, model):
    other = model.__class__.objects.create(name="Enterprise", segment="enterprise")
    job = Backtest.objects.create(model=model, kind=Backtest.Kind.DRAFT, horizon_days=90, draft={})
    client.force_login(adam)
    assert client.get(f"/health/models/{other.pk}/backtests/{job.pk}/").status_code == 404


def test_managers_read_the_back_test_in_constant_queries(client, maria, model, django_assert_max_num_queries):
    backtests_stored_run()
    client.force_login(maria)
    with django_assert_max_num_queries(8):
        page = client.get(f"/health/models/{model.pk}/backtest/")
    text = page.content.decode()
    assert page.status_code == 200 and "Does Default health model predict churn?" in text
    assert "AUC <strong>" in text and "How this is measured" in text
    assert "Edit the model" not in text  # for admins only


def test_the_rollup_says_whether_the_score_predicts_churn(client, maria, alice_account, model):
    client.force_login(maria)
    assert b"Does the health score predict churn?" not in client.get("/team/").content
    stored = _stored(model)
    page = client.get("/team/").content.decode()
    red, green = stored.result["bands"]["red"], stored.result["bands"]["green"]
    assert "Does the health score predict churn?" in page
    assert f"AUC <strong>{stored.result['auc']:.2f}</strong>" in page
    assert f"<strong>{100 * red['rate']:.1f}%</strong> of red accounts" in page
    assert f"<strong>{100 * green['rate']:.1f}%</strong> of green ones" in page
    assert f'href="/health/models/{model.pk}/backtest/"' in page


def test_a_component_suggested_at_weight_0_is_left_out_of_the_draft(client, adam, db):
    model = HealthModel.objects.get(segment="")
    rows = [
        {"label": "Sentiment", "input": "checkin_sentiment", "metric": "", "reading": "mean", "window_days": 60,
         "poor": 1, "good": 5, "weight": 50},
        {"label": "Seats", "input": "metric", "metric": "seat_usage", "reading": "latest", "window_days": 30,
         "poor": 20, "good": 80, "weight": 50},
    ]  # fmt: skip
    job = Backtest.objects.create(
        model=model,
        kind=Backtest.Kind.DRAFT,
        status=Backtest.Status.DONE,
        horizon_days=90,
        draft={"settings": {"min_coverage": 50, "red_below": 40, "green_from": 70}, "components": rows},
        result={"labels": ["Sentiment", "Seats"], "weights": [50, 50], "suggestion": {"weights": [0, 100]}},
    )
    client.force_login(adam)
    page = client.get(f"{model.get_absolute_url()}?suggested={job.pk}").content.decode()
    assert re.findall(r'name="components-\d+-weight"[^>]*value="([^"]+)"', page) == ["100"]
    assert "Sentiment: weight 0, left out" in page
