"""Metric definitions and CSV upload of metric values in the UI (admins)."""

from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import ImportJob, MetricDefinition, MetricValue
from tests.factories import AccountFactory, MetricDefinitionFactory


def _post_csv(client, text, capture):
    with capture(execute=True):
        response = client.post(
            "/metrics/import/", {"metrics_file": SimpleUploadedFile("m.csv", text.encode())}, follow=True
        )
    return client.get(response.redirect_chain[-1][0]).content.decode() if response.redirect_chain else response


def test_upload_stores_values_and_replaces_same_day(adam, alice, login, django_capture_on_commit_callbacks):
    AccountFactory(external_id="CRM-1", owner=alice)
    MetricDefinitionFactory(key="tickets")
    client = login(adam)
    html = _post_csv(
        client, "account,metric,date,value\nCRM-1,tickets,2026-11-01,3\n", django_capture_on_commit_callbacks
    )
    assert "1</strong> created" in html
    _post_csv(client, "account,metric,date,value\nCRM-1,tickets,2026-11-01,5\n", django_capture_on_commit_callbacks)
    assert list(MetricValue.objects.values_list("value", flat=True)) == [5.0]


def test_bad_rows_store_nothing_and_are_listed_by_line(adam, alice, login, django_capture_on_commit_callbacks):
    AccountFactory(external_id="CRM-1", owner=alice)
    MetricDefinitionFactory(key="tickets")
    text = (
        "account,metric,date,value\n"
        "CRM-1,tickets,2026-11-01,3\nCRM-2,tickets,2026-11-01,3\nCRM-1,tickets,2026-11-02,many\n"
    )
    html = _post_csv(login(adam), text, django_capture_on_commit_callbacks)
    assert "Nothing was imported" in html
    job = ImportJob.objects.get()
    assert [(e["line"], e["message"]) for e in job.errors] == [
        (3, "no account with external id 'CRM-2'"),
        (4, "'many' is not a number"),
    ]
    assert not MetricValue.objects.exists()


def test_metric_definition_is_created_and_validated(adam, login):
    client = login(adam)
    client.post("/metrics/", {"key": "active_users", "label": "Active users", "unit": "users"})
    assert MetricDefinition.objects.get(key="active_users").label == "Active users"
    response = client.post("/metrics/", {"key": "active users!", "label": ""})
    assert response.status_code == 422
    assert not MetricDefinition.objects.filter(label="").exists()
    assert "Enter a valid “slug”" in response.content.decode()
