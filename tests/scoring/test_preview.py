"""Preview of a draft health model: current version vs draft, computed live by the engine, nothing saved."""

import datetime
import json
import re
from collections import Counter

import pytest
from django.utils import timezone

from accounts.models import Account
from scoring import engine
from scoring.forms import COMPONENT_FIELDS
from scoring.models import Component, HealthModel, HealthModelVersion
from scoring.services import model_version_create
from tests.factories import AccountFactory, CheckInFactory, MetricDefinitionFactory, MetricValueFactory

TODAY = timezone.localdate()


def days_ago(days: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=days)


@pytest.fixture
def usage(db):
    return MetricDefinitionFactory(key="usage", label="Usage")


@pytest.fixture
def model(adam, usage) -> HealthModel:
    """The default model, now two equal halves: the latest check-in's sentiment and the latest usage."""
    model = HealthModel.objects.get(segment="")
    model_version_create(
        model=model,
        by=adam,
        settings_values={"min_coverage": 50, "red_below": 40, "green_from": 70},
        components=[
            {"label": "Sentiment", "input": "checkin_sentiment", "metric": None, "reading": "latest",
             "window_days": 120, "poor": 1, "good": 5, "weight": 50},
            {"label": "Usage", "input": "metric", "metric": usage, "reading": "latest",
             "window_days": 30, "poor": 0, "good": 100, "weight": 50},
        ],
    )  # fmt: skip
    return HealthModel.objects.select_related("current_version").get(pk=model.pk)


@pytest.fixture
def portfolio(alice, usage) -> dict[str, Account]:
    """name: (sentiment, usage) three days ago; Elm has no data, Fir churned."""
    data = {"Alder": (5, 100), "Birch": (3, 50), "Cedar": (2, 20), "Dogwood": (4, None), "Elm": (None, None)}
    accounts = {}
    for name, (sentiment, value) in data.items():
        accounts[name] = account = AccountFactory(name=name, owner=alice)
        if sentiment is not None:
            CheckInFactory(account=account, date=days_ago(3), sentiment=sentiment)
        if value is not None:
            MetricValueFactory(account=account, metric=usage, date=days_ago(3), value=value)
    churned = AccountFactory(name="Fir", owner=alice, status="churned", churned_on=days_ago(1))
    CheckInFactory(account=churned, date=days_ago(3), sentiment=1)
    return accounts


def draft_data(*, usage_good="100", min_coverage="50", as_of="", weight="50") -> dict:
    """The editor's form: the current components, with the draft's changes."""
    rows = [
        {"label": "Sentiment", "input": "checkin_sentiment", "metric": "", "reading": "latest",
         "window_days": "120", "poor": "1", "good": "5", "weight": "50"},
        {"label": "Usage", "input": "metric", "metric": "usage", "reading": "latest",
         "window_days": "30", "poor": "0", "good": usage_good, "weight": weight},
    ]  # fmt: skip
    data = {
        "name": "Default health model",
        "min_coverage": min_coverage,
        "red_below": "40",
        "green_from": "70",
        "as_of": as_of,
        "preview": "1",
        "components-TOTAL_FORMS": "2",
        "components-INITIAL_FORMS": "2",
        "components-MIN_NUM_FORMS": "0",
        "components-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for name, value in {**row, "ORDER": str(index + 1)}.items():
            data[f"components-{index}-{name}"] = value
    return data


def preview(client, model, data, **headers):
    return client.post(model.get_absolute_url(), data, headers={"HX-Request": "true", **headers})


def band_counts(fragment: str) -> dict[str, tuple[int, int]]:
    rows = re.findall(
        r'band-tag-(\w+)">[^<]+</span></th>\s*<td class="num">(\d+)</td>\s*<td class="num">(\d+)\b', fragment
    )
    return {band: (int(current), int(draft)) for band, current, draft in rows}


def moves(fragment: str) -> list[tuple[str, str, str, str]]:
    table = fragment.split("Accounts that change band")[1]
    return re.findall(
        r'<a href="/accounts/\d+/">([^<]+)</a>.*?band-tag-(\w+)".*?band-tag-(\w+)".*?class="num">([^<]+)</td>',
        table,
        flags=re.S,
    )


def engine_bands(version, components, as_of) -> Counter:
    return Counter(str(row.band) for row in engine.compute(as_of=as_of, plan=[(version, components, None)]))


def test_preview_returns_a_fragment_with_the_engines_band_counts_and_the_accounts_that_move(
    adam, login, model, portfolio, usage
):
    response = preview(login(adam), model, draft_data(usage_good="50", min_coverage="60"))
    fragment = response.content.decode()
    assert response.status_code == 200 and "<html" not in fragment
    assert fragment.lstrip().startswith('<section id="preview"')
    # Current: Alder 100, Birch 50, Cedar 22.5, Dogwood 75 (sentiment only, half the weight), Elm nothing.
    # Draft (usage good at 50, 60% coverage needed): Birch 75, Cedar 32.5, Dogwood not enough data.
    counts = band_counts(fragment)
    assert counts == {"red": (1, 1), "yellow": (1, 0), "green": (2, 2), "none": (1, 2)}
    assert '<td class="num">0 <span class="band-delta">(-1)</span></td>' in fragment
    assert moves(fragment) == [("Birch", "yellow", "green", "50 → 75"), ("Dogwood", "green", "none", "75 → —")]
    assert f'href="/accounts/{portfolio["Birch"].pk}/"' in fragment
    assert "on the 5 active accounts" in fragment

    # The same numbers as the engine gives for these versions.
    current = model.current_version
    current_components = list(current.components.order_by("position"))
    draft = HealthModelVersion(model=model, number=0, min_coverage=60, red_below=40, green_from=70)
    draft_components = [
        Component(pk=None, **{**values, "good": 50 if values["input"] == "metric" else values["good"]})
        for values in current.components.order_by("position").values(
            *[field if field != "metric" else "metric_id" for field in COMPONENT_FIELDS]
        )
    ]
    expected_current = engine_bands(current, current_components, TODAY)
    expected_draft = engine_bands(draft, draft_components, TODAY)
    for band, (shown_current, shown_draft) in counts.items():
        assert (shown_current, shown_draft) == (expected_current[band], expected_draft[band])


def test_the_distribution_is_in_ten_point_bins_for_the_chart_and_the_table(adam, login, model, portfolio):
    fragment = preview(login(adam), model, draft_data(usage_good="50")).content.decode()
    data = re.search(
        r'<template data-chart-source><script id="preview-chart-data" type="application/json">(.*?)</script>', fragment
    )
    assert data is not None
    chart = json.loads(data.group(1))
    assert chart["labels"][0] == "0–9" and chart["labels"][-1] == "90–100"
    # Current: 22.5, 50, 75, 100; draft: 32.5, 75, 75, 100.
    assert chart["current"] == [0, 0, 1, 0, 0, 1, 0, 1, 0, 1]
    assert chart["draft"] == [0, 0, 0, 1, 0, 0, 0, 2, 0, 1]
    assert '<th scope="row">70–79</th><td class="num">1</td><td class="num">2</td>' in fragment


def test_preview_saves_nothing(adam, login, model, portfolio):
    before = (HealthModelVersion.objects.count(), Component.objects.count())
    preview(login(adam), model, draft_data(usage_good="50", weight="10"))
    login(adam).post(model.get_absolute_url(), draft_data(usage_good="50"))  # the same, without script
    assert (HealthModelVersion.objects.count(), Component.objects.count()) == before
    model.refresh_from_db()
    assert model.current_version.components.get(label="Usage").good == 100


def test_without_script_the_preview_button_shows_the_whole_page_with_the_preview(adam, login, model, portfolio):
    response = login(adam).post(model.get_absolute_url(), draft_data(usage_good="50"))
    page = response.content.decode()
    assert response.status_code == 200 and "<html" in page
    assert 'name="components-1-good" value="50"' in page  # the draft stays in the form
    assert band_counts(page)["yellow"] == (1, 0)


def test_preview_as_of_a_past_day_uses_that_days_data(adam, login, model, portfolio, usage, alice):
    gum = AccountFactory(name="Gum", owner=alice)
    CheckInFactory(account=gum, date=days_ago(10), sentiment=1)
    CheckInFactory(account=gum, date=days_ago(2), sentiment=5)  # after the day: does not count
    MetricValueFactory(account=gum, metric=usage, date=days_ago(2), value=90)  # neither does this
    fragment = preview(login(adam), model, draft_data(as_of=days_ago(5).isoformat())).content.decode()
    # Five days ago only Gum had data: its first check-in (sentiment 1), so 0 with half the weight: red.
    assert band_counts(fragment) == {"red": (1, 1), "yellow": (0, 0), "green": (0, 0), "none": (5, 5)}
    assert f"As of <strong>{days_ago(5):%b} {days_ago(5).day}, {days_ago(5).year}</strong>" in fragment
    today = preview(login(adam), model, draft_data()).content.decode()
    assert band_counts(today)["green"] == (3, 3)  # Gum (95) with Alder and Dogwood


def test_preview_cannot_look_into_the_future(adam, login, model, portfolio):
    response = preview(login(adam), model, draft_data(as_of=(TODAY + datetime.timedelta(days=1)).isoformat()))
    fragment = response.content.decode()
    assert response.status_code == 422 and "The preview cannot look into the future" in fragment
    assert "Accounts per band" not in fragment


def test_invalid_draft_shows_the_errors_in_the_editor_and_no_numbers(adam, login, model, portfolio):
    response = preview(login(adam), model, draft_data(weight="0"))
    fragment = response.content.decode()
    assert response.status_code == 422 and "<html" not in fragment
    assert response["HX-Retarget"] == "#editor" and response["HX-Reswap"] == "outerHTML"
    assert "Weights must be positive." in fragment and "No preview until the errors above are fixed." in fragment
    assert "Accounts per band" not in fragment and "band-tag" not in fragment


def test_a_segment_model_previews_its_segment_and_the_default_the_rest(adam, login, model, portfolio, usage, alice):
    smb = AccountFactory(name="Small Shop", owner=alice, segment="smb")
    CheckInFactory(account=smb, date=days_ago(1), sentiment=1)
    login(adam).post("/health/models/new/", {"segment": "smb"})
    segment_model = HealthModel.objects.get(segment="smb")
    data = {**draft_data(), "name": "SMB health model"}
    fragment = preview(login(adam), segment_model, data).content.decode()
    assert "on the 1 active account " in fragment and band_counts(fragment)["red"] == (1, 1)
    default = preview(login(adam), model, draft_data()).content.decode()
    assert "on the 5 active accounts" in default and "Small Shop" not in default


def test_only_the_first_fifty_moves_are_listed(adam, login, model, alice, usage):
    for number in range(53):
        account = AccountFactory(name=f"Account {number:02d}", owner=alice)
        CheckInFactory(account=account, date=days_ago(1), sentiment=3)
        MetricValueFactory(account=account, metric=usage, date=days_ago(1), value=50)
    fragment = preview(login(adam), model, draft_data(usage_good="50")).content.decode()
    listed = moves(fragment)
    assert len(listed) == 50 and listed[0][0] == "Account 00" and listed[-1][0] == "Account 49"
    assert "…and 3 more accounts (53 in all)." in fragment


@pytest.mark.parametrize("size", [3, 30])
def test_preview_query_count_does_not_grow_with_accounts(
    adam, login, model, alice, usage, size, django_assert_max_num_queries
):
    for number in range(size):
        account = AccountFactory(owner=alice)
        CheckInFactory(account=account, date=days_ago(1), sentiment=1 + number % 5)
        MetricValueFactory(account=account, metric=usage, date=days_ago(1), value=number)
    client = login(adam)
    # Session, user, model, metrics, the accounts, the current components; per side (current, draft) the
    # accounts and 2 per component; the unread notifications count. The same at both sizes.
    with django_assert_max_num_queries(17):
        response = preview(client, model, draft_data(usage_good="50"))
    assert response.status_code == 200 and f"on the {size} active accounts" in response.content.decode()
