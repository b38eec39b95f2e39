"""Health model pages (admins): the list, a new segment model, the editor (save, validation, add/remove/reorder)."""

import re

import pytest

from accounts.models import MetricDefinition
from scoring.models import Component, HealthModel, HealthModelVersion
from scoring.services import model_version_create
from tests.factories import AccountFactory, HealthSnapshotFactory
from tests.helpers import HTMX

SENTIMENT = {
    "label": "Check-ins",
    "input": "checkin_sentiment",
    "metric": "",
    "reading": "mean",
    "window_days": "60",
    "poor": "1",
    "good": "5",
    "weight": "30",
}
USAGE = {
    "label": "Seats",
    "input": "metric",
    "metric": "seat_usage",
    "reading": "latest",
    "window_days": "30",
    "poor": "20",
    "good": "80",
    "weight": "70",
}


def post_data(components, *, initial=None, **settings) -> dict:
    """The editor's form as a browser posts it; components in form order, each may carry ORDER / DELETE."""
    data = {
        "name": "Default health model",
        "min_coverage": "50",
        "red_below": "40",
        "green_from": "70",
        "components-TOTAL_FORMS": str(len(components)),
        "components-INITIAL_FORMS": str(len(components) if initial is None else initial),
        "components-MIN_NUM_FORMS": "0",
        "components-MAX_NUM_FORMS": "1000",
        **settings,
    }
    for index, component in enumerate(components):
        component = {"ORDER": str(index + 1), **component}
        for name, value in component.items():
            if name == "DELETE" and not value:
                continue
            data[f"components-{index}-{name}"] = value
    return data


@pytest.fixture
def default_model(db) -> HealthModel:
    return HealthModel.objects.select_related("current_version").get(segment="")


def counts():
    return HealthModelVersion.objects.count(), Component.objects.count()


def shown_labels(page: str) -> list[str]:
    return re.findall(r'name="components-\d+-label"(?: value="([^"]*)")?', page)


@pytest.mark.parametrize("viewer", ["alice", "maria"])
def test_model_pages_are_404_for_non_admins(cast, login, default_model, viewer):
    client = login(cast[viewer])
    for url in ["/health/models/", "/health/models/new/", f"/health/models/{default_model.pk}/"]:
        assert client.get(url).status_code == 404
    assert client.post(f"/health/models/{default_model.pk}/", post_data([SENTIMENT])).status_code == 404
    assert client.post("/health/models/new/", {"segment": "smb"}).status_code == 404
    assert counts() == (1, 6) and HealthModel.objects.count() == 1


def test_admin_sees_the_pages_and_anonymous_is_sent_to_log_in(client, adam, login, default_model):
    assert client.get("/health/models/")["Location"] == "/login/?next=/health/models/"
    admin = login(adam)
    for url in ["/health/models/", "/health/models/new/", f"/health/models/{default_model.pk}/"]:
        assert admin.get(url).status_code == 200


def test_editor_shows_the_current_version_its_weights_and_the_explanation(adam, login, default_model):
    page = login(adam).get(default_model.get_absolute_url()).content.decode()
    assert shown_labels(page) == ["NPS", "Seat usage", "Support tickets", "Billing", "CSAT", "Check-in sentiment"]
    assert "data-weight-total>100<" in page
    assert "20.0% of the total weight" in page and "15.0% of the total weight" in page
    assert "Health is 0-100; higher is always healthier." in page
    assert "for &#x27;less is better&#x27; inputs set good below poor" in page or "'less is better'" in page
    assert "v1" in page and 'id="preview"' in page


def test_saving_makes_version_2_current_with_components_in_the_given_order(adam, login, default_model):
    old = default_model.current_version
    # Form order Check-ins, Seats; positions say Seats first.
    data = post_data([{**SENTIMENT, "ORDER": "2"}, {**USAGE, "ORDER": "1"}], name="Health, v2", min_coverage="60")
    response = login(adam).post(default_model.get_absolute_url(), data)
    assert response.status_code == 302 and response["Location"] == default_model.get_absolute_url()
    default_model.refresh_from_db()
    version = default_model.current_version
    assert (version.number, version.min_coverage, version.created_by) == (2, 60, adam)
    assert default_model.name == "Health, v2"
    saved = list(version.components.order_by("position").values_list("position", "label", "input", "metric__key"))
    assert saved == [(0, "Seats", "metric", "seat_usage"), (1, "Check-ins", "checkin_sentiment", None)]
    seats = version.components.get(label="Seats")
    assert (seats.reading, seats.window_days, seats.poor, seats.good, seats.weight) == ("latest", 30, 20, 80, 70)
    # The old version stays, with its components, for the snapshots that name it.
    assert HealthModelVersion.objects.get(pk=old.pk).components.count() == 6
    page = login(adam).get(default_model.get_absolute_url()).content.decode()
    assert "Saved as version 2" in page and "Adam Admin" in page
    history = page.split("Version history")[1]
    assert history.index(">v2 <span") < history.index(">v1<")


def test_an_htmx_save_redirects_the_browser(adam, login, default_model):
    response = login(adam).post(default_model.get_absolute_url(), post_data([SENTIMENT]), headers=HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == default_model.get_absolute_url()
    assert HealthModel.objects.get(pk=default_model.pk).current_version.number == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"weight": "0"}, "Weights must be positive."),
        ({"weight": "-5"}, "Weights must be positive."),
        ({"poor": "3", "good": "3"}, "Poor and good must differ: they are the two ends of the scale."),
        ({"input": "metric", "metric": ""}, "Choose the metric this component reads."),
        ({"input": "nps", "metric": "seat_usage"}, "Only the input “A metric” reads a metric: leave this empty."),
        ({"window_days": "0"}, "Ensure this value is greater than or equal to 1."),
        ({"input": ""}, "This field is required."),
    ],
)
def test_bad_component_is_refused_with_its_message_and_saves_nothing(adam, login, default_model, change, message):
    data = post_data([USAGE, {**SENTIMENT, **change}], name="Renamed")
    response = login(adam).post(default_model.get_absolute_url(), data)
    page = response.content.decode()
    assert response.status_code == 422 and message in page and "Nothing was saved." in page
    assert counts() == (1, 6) and HealthModel.objects.get(pk=default_model.pk).name == "Default health model"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"red_below": "75", "green_from": "70"}, "Red below cannot be above green from"),
        ({"min_coverage": "101"}, "Ensure this value is less than or equal to 100."),
        ({"green_from": "-1"}, "Ensure this value is greater than or equal to 0."),
        ({"name": ""}, "This field is required."),
    ],
)
def test_bad_settings_are_refused_with_their_message(adam, login, default_model, values, message):
    response = login(adam).post(default_model.get_absolute_url(), post_data([USAGE], **values))
    assert response.status_code == 422 and message in response.content.decode()
    assert counts() == (1, 6)


def test_a_model_without_components_is_refused(adam, login, default_model):
    response = login(adam).post(default_model.get_absolute_url(), post_data([{**USAGE, "DELETE": "on"}]))
    assert response.status_code == 422 and "A model needs at least one component." in response.content.decode()
    response = login(adam).post(default_model.get_absolute_url(), post_data([]))
    assert response.status_code == 422 and "A model needs at least one component." in response.content.decode()
    assert counts() == (1, 6)


@pytest.mark.parametrize("missing", ["components-INITIAL_FORMS", "components-TOTAL_FORMS"])
def test_a_post_without_the_formsets_counts_is_refused_not_a_500(adam, login, default_model, missing):
    """Found by fuzzing: without INITIAL_FORMS the formset's clean() read ordered_forms and raised AttributeError."""
    data = post_data([USAGE])
    del data[missing]
    response = login(adam).post(default_model.get_absolute_url(), data)
    assert response.status_code == 422 and "ManagementForm data is missing or has been tampered with" in (
        response.content.decode()
    )
    assert counts() == (1, 6)


def test_a_post_claiming_a_billion_components_is_refused_quickly(adam, login, default_model):
    data = post_data([USAGE]) | {"components-TOTAL_FORMS": "1000000000"}
    response = login(adam).post(default_model.get_absolute_url(), data)
    page = response.content.decode()
    assert response.status_code == 422 and "Please submit at most 30 forms." in page
    assert page.count('name="components-') < 40 * 12  # the 30 forms it reads, not Django's cap of 2,000
    assert counts() == (1, 6)


def test_an_htmx_save_with_errors_returns_the_editor_with_them(adam, login, default_model):
    data = post_data([{**USAGE, "weight": "0"}])
    response = login(adam).post(default_model.get_absolute_url(), data, headers=HTMX)
    fragment = response.content.decode()
    assert response.status_code == 422 and "<html" not in fragment
    assert fragment.lstrip().startswith('<div id="editor"') and "Weights must be positive." in fragment
    assert counts() == (1, 6)


def test_add_a_component_shows_one_more_blank_form_and_saves_nothing(adam, login, default_model):
    response = login(adam).post(default_model.get_absolute_url(), {**post_data([USAGE, SENTIMENT]), "add": "1"})
    page = response.content.decode()
    assert response.status_code == 200 and counts() == (1, 6)
    assert shown_labels(page) == ["Seats", "Check-ins", ""]
    assert 'name="components-TOTAL_FORMS" value="3"' in page and 'name="components-INITIAL_FORMS" value="2"' in page
    assert re.search(r'<input type="text" name="components-2-label"[^>]*autofocus', page) and "New component" in page


def test_blank_added_rows_stay_blank_and_optional_through_a_move(adam, login, default_model):
    blank = {"label": "", "input": "", "metric": "", "reading": "latest", "window_days": "90", "ORDER": ""}
    data = post_data([USAGE, SENTIMENT, blank], initial=2)
    page = login(adam).post(default_model.get_absolute_url(), {**data, "move": "1:up"}).content.decode()
    assert shown_labels(page) == ["Check-ins", "Seats", ""]
    assert 'name="components-TOTAL_FORMS" value="3"' in page and 'name="components-INITIAL_FORMS" value="2"' in page
    page = login(adam).post(default_model.get_absolute_url(), {**data, "add": "1"}).content.decode()
    assert shown_labels(page) == ["Seats", "Check-ins", "", ""]


def test_an_added_component_left_blank_is_ignored_and_a_filled_one_is_saved(adam, login, default_model):
    blank = {"label": "", "input": "", "metric": "", "reading": "latest", "window_days": "90", "ORDER": ""}
    client = login(adam)
    response = client.post(default_model.get_absolute_url(), post_data([USAGE, blank], initial=1))
    assert response.status_code == 302
    assert list(
        HealthModel.objects.get(pk=default_model.pk).current_version.components.values_list("label", flat=True)
    ) == ["Seats"]
    filled = {**SENTIMENT, "ORDER": ""}
    client.post(default_model.get_absolute_url(), post_data([USAGE, filled], initial=1))
    version = HealthModel.objects.get(pk=default_model.pk).current_version
    assert version.number == 3 and list(version.components.values_list("label", flat=True)) == ["Seats", "Check-ins"]


def test_remove_leaves_the_component_out_of_the_new_version(adam, login, default_model):
    login(adam).post(default_model.get_absolute_url(), post_data([USAGE, {**SENTIMENT, "DELETE": "on"}]))
    version = HealthModel.objects.get(pk=default_model.pk).current_version
    assert list(version.components.values_list("label", flat=True)) == ["Seats"]


def test_move_buttons_reorder_the_form_without_saving(adam, login, default_model):
    third = {**USAGE, "label": "Tickets", "metric": "support_tickets"}
    data = post_data([USAGE, SENTIMENT, third])
    page = login(adam).post(default_model.get_absolute_url(), {**data, "move": "2:up"}).content.decode()
    assert shown_labels(page) == ["Seats", "Tickets", "Check-ins"] and counts() == (1, 6)
    page = login(adam).post(default_model.get_absolute_url(), {**data, "move": "0:down"}).content.decode()
    assert shown_labels(page) == ["Check-ins", "Seats", "Tickets"]
    assert 'name="components-0-ORDER" value="1"' in page and 'name="components-2-ORDER" value="3"' in page
    # Moving the first one up changes nothing.
    page = login(adam).post(default_model.get_absolute_url(), {**data, "move": "0:up"}).content.decode()
    assert shown_labels(page) == ["Seats", "Check-ins", "Tickets"]


def test_a_move_keeps_what_was_typed_even_when_invalid(adam, login, default_model):
    data = post_data([USAGE, {**SENTIMENT, "weight": "abc", "DELETE": "on"}])
    response = login(adam).post(default_model.get_absolute_url(), {**data, "move": "1:up"})
    page = response.content.decode()
    assert response.status_code == 200 and "Weights must be positive." not in page
    assert shown_labels(page) == ["Check-ins", "Seats"]
    assert 'name="components-0-weight" value="abc"' in page
    assert re.search(r'name="components-0-DELETE"[^>]*checked', page)


def test_list_shows_each_model_with_its_version_weights_scope_and_todays_bands(adam, login, default_model):
    segment = HealthModel.objects.create(name="Enterprise health", segment="enterprise")
    model_version_create(
        model=segment,
        by=adam,
        settings_values={"min_coverage": 50, "red_below": 40, "green_from": 70},
        components=[
            {"label": "Sentiment", "input": "checkin_sentiment", "metric": None, "reading": "latest",
             "window_days": 90, "poor": 1, "good": 5, "weight": 3},
            {"label": "NPS", "input": "nps", "metric": None, "reading": "latest",
             "window_days": 180, "poor": -30, "good": 50, "weight": 2},
        ],
    )  # fmt: skip
    for score in [20, 80, 85]:
        HealthSnapshotFactory(score=score)
    HealthSnapshotFactory(score=None, band="none")
    page = login(adam).get("/health/models/").content.decode()
    rows = page.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    assert len(rows) == 2 and "Default health model" in rows[0] and "Enterprise health" in rows[1]
    assert "Accounts of segments without a model of their own: SMB, Mid-market" in rows[0]
    assert "Enterprise accounts" in rows[1]
    assert '<td data-label="Components" class="num">6</td>' in rows[0]
    assert '<td data-label="Total weight" class="num">100</td>' in rows[0]
    assert '<td data-label="Components" class="num">2</td>' in rows[1]
    assert '<td data-label="Total weight" class="num">5</td>' in rows[1]
    bands = re.findall(r'band-tag-(\w+)">[^<]*</span> (\d+)', rows[0])
    assert bands == [("red", "1"), ("yellow", "0"), ("green", "2"), ("none", "1")]
    assert "Not scored yet today" in rows[1]
    # Enterprise has its model: only the other segments are offered.
    offered = re.findall(r'<option value="(\w+)"', page.split('id="new-model-title"')[1])
    assert offered == ["smb", "mid_market"]


def test_the_list_counts_bands_in_one_query(adam, login, default_model, django_assert_max_num_queries):
    for score in [20, 50, 80]:
        HealthSnapshotFactory(score=score)
    client = login(adam)
    with django_assert_max_num_queries(7):  # session, user, models, bands, free segments, notifications
        client.get("/health/models/")


def test_new_segment_model_starts_as_a_copy_of_the_default(adam, login, default_model):
    response = login(adam).post("/health/models/new/", {"segment": "smb", "name": ""})
    model = HealthModel.objects.get(segment="smb")
    assert response["Location"] == model.get_absolute_url() and model.name == "SMB health model"
    version, default = model.current_version, default_model.current_version
    assert (version.number, version.min_coverage, version.red_below, version.green_from) == (
        1,
        default.min_coverage,
        default.red_below,
        default.green_from,
    )
    fields = ["label", "input", "metric_id", "reading", "window_days", "poor", "good", "weight"]
    assert list(version.components.order_by("position").values_list(*fields)) == list(
        default.components.order_by("position").values_list(*fields)
    )
    page = login(adam).get("/health/models/").content.decode()
    offered = re.findall(r'<option value="(\w+)"', page.split('id="new-model-title"')[1])
    assert offered == ["mid_market", "enterprise"]


def test_a_segment_with_a_model_cannot_get_a_second_one(adam, login, default_model):
    HealthModel.objects.create(name="SMB", segment="smb")
    response = login(adam).post("/health/models/new/", {"segment": "smb"})
    assert response.status_code == 422 and "Select a valid choice." in response.content.decode()
    assert HealthModel.objects.filter(segment="smb").count() == 1


def test_metric_choices_come_from_the_defined_metrics(adam, login, default_model):
    MetricDefinition.objects.create(key="logins", label="Weekly logins")
    AccountFactory()
    page = login(adam).get(default_model.get_absolute_url()).content.decode()
    assert '<option value="logins">Weekly logins</option>' in page


def test_a_model_without_a_version_starts_with_one_blank_component_and_saves_version_1(adam, login, default_model):
    model = HealthModel.objects.create(name="Enterprise", segment="enterprise")
    page = login(adam).get(model.get_absolute_url()).content.decode()
    assert shown_labels(page) == [""] and "No version saved yet" in page
    login(adam).post(model.get_absolute_url(), post_data([USAGE], initial=0, name="Enterprise"))
    model.refresh_from_db()
    assert model.current_version.number == 1 and model.current_version.components.get().label == "Seats"
