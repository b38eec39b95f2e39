"""Imports go through the debounced health recompute, like the metrics API and new answers.

Each import marks the accounts it touched in its own transaction (one bulk write); tasks run
in-process here, so the debounced recompute runs as soon as the import commits.
"""

import datetime

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from accounts.account_import import account_import_apply, account_import_validate
from accounts.metric_import import metric_csv_validate, metric_values_upsert
from accounts.models import Account, MetricDefinition
from scoring.models import DirtyAccount, HealthModel, HealthSnapshot
from scoring.services import model_version_create
from surveys.answer_import import answers_csv_validate, answers_import_apply
from tests.factories import AccountFactory, CheckInFactory, ContactFactory

TODAY = datetime.date(2026, 11, 30)


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(datetime.datetime(2026, 11, 30, 9, 0, tzinfo=datetime.UTC), tick=False):
        yield


def _model(component: dict) -> None:
    model_version_create(
        model=HealthModel.objects.get(segment=""),
        by=None,
        settings_values={"min_coverage": 50, "red_below": 40, "green_from": 70},
        components=[{"metric": None, "weight": 1, **component}],
    )


@pytest.fixture
def nps_model(db):
    _model({"label": "NPS", "input": "nps", "reading": "latest", "window_days": 180, "poor": -100, "good": 100})


@pytest.fixture
def seat_model(db):
    metric = MetricDefinition.objects.get_or_create(key="seat_usage", defaults={"label": "Seat usage"})[0]
    _model({"label": "Seats", "input": "metric", "metric": metric, "reading": "latest", "window_days": 30,
            "poor": 0, "good": 100})  # fmt: skip


def health_page(client, account) -> str:
    return client.get(f"/accounts/{account.pk}/health/").content.decode()


def test_imported_past_answers_give_the_account_a_health_score(nps_model, adam, alice, login, run_on_commit):
    acme = AccountFactory(name="Acme", external_id="CRM-1", owner=alice)
    ContactFactory(account=acme, email="jane@acme.test")
    client = login(adam)
    assert "No health score yet" in health_page(client, acme)
    csv = "date,contact_email,account_external_id,kind,score\n2026-10-02,jane@acme.test,,nps,10\n"

    def upload():
        return client.post("/results/import/", {"answers_file": SimpleUploadedFile("a.csv", csv.encode())})

    response = client.get(run_on_commit(upload)["Location"])  # the job page, the import having run
    assert response.status_code == 200
    assert "recompute_health --from 2026-10-02" in response.content.decode()
    assert HealthSnapshot.objects.get(account=acme, date=TODAY).score == 100
    assert "No health score yet" not in health_page(client, acme)
    assert not DirtyAccount.objects.exists()


def test_an_imported_metric_csv_gives_the_account_a_health_score(seat_model, adam, alice, login, run_on_commit):
    acme = AccountFactory(name="Acme", external_id="CRM-1", owner=alice)
    client = login(adam)
    csv = "account,metric,date,value\nCRM-1,seat_usage,2026-11-29,80\n"
    run_on_commit(lambda: client.post("/metrics/import/", {"metrics_file": SimpleUploadedFile("m.csv", csv.encode())}))
    assert HealthSnapshot.objects.get(account=acme, date=TODAY).score == 80
    assert "No health score yet" not in health_page(client, acme)


def test_imports_mark_every_account_in_their_own_transaction(nps_model, seat_model, alice, bob):
    """The marks are committed with the import: if the process dies before its after-commit work
    (queueing the task), the periodic sweep still finds them."""
    acme, globex = (AccountFactory(external_id=f"CRM-{n}", owner=owner) for n, owner in ((1, alice), (2, bob)))
    plan, errors = metric_csv_validate(
        "account,metric,date,value\nCRM-1,seat_usage,2026-11-29,80\nCRM-2,seat_usage,2026-11-29,20\n"
    )
    assert not errors
    metric_values_upsert(plan=plan)  # on_commit callbacks are not run
    assert set(DirtyAccount.objects.values_list("account_id", flat=True)) == {acme.pk, globex.pk}

    DirtyAccount.objects.all().delete()
    answers = answers_csv_validate("date,account_external_id,kind,score\n2026-10-02,CRM-2,nps,3\n")
    answers_import_apply(plan=answers)
    assert list(DirtyAccount.objects.values_list("account_id", flat=True)) == [globex.pk]


def test_a_failed_import_marks_nothing(nps_model, alice, run_on_commit):
    AccountFactory(external_id="CRM-1", owner=alice)
    plan = answers_csv_validate("date,account_external_id,kind,score\n2026-10-02,CRM-1,nps,3\n")

    def failing_import():
        with transaction.atomic():
            answers_import_apply(plan=plan)
            raise RuntimeError("the database refused the rest")

    with pytest.raises(RuntimeError):
        run_on_commit(failing_import)
    assert not DirtyAccount.objects.exists() and not HealthSnapshot.objects.exists()


def test_an_account_import_that_reactivates_an_account_scores_it(alice, sentiment_model, run_on_commit):
    account = AccountFactory(
        external_id="CRM-1", owner=alice, status=Account.Status.CHURNED, churned_on=datetime.date(2026, 10, 1)
    )
    CheckInFactory(account=account, date=TODAY, sentiment=5)
    plan = account_import_validate(
        accounts_csv="external_id,name,owner_email,status\nCRM-1,Acme,alice@pulse.test,active\n", contacts_csv=None
    )
    assert plan.errors == []
    run_on_commit(account_import_apply, plan=plan)
    assert HealthSnapshot.objects.get(account=account, date=timezone.localdate()).score == 100


def test_an_account_import_that_changes_no_health_field_marks_nothing(alice, sentiment_model):
    AccountFactory(external_id="CRM-1", owner=alice, name="Acme")
    plan = account_import_validate(accounts_csv="external_id,name\nCRM-1,Acme Corp\n", contacts_csv=None)
    account_import_apply(plan=plan)
    assert not DirtyAccount.objects.exists()
    new_account = "external_id,name,owner_email\nCRM-2,Newco,alice@pulse.test\n"
    plan = account_import_validate(accounts_csv=new_account, contacts_csv=None)
    account_import_apply(plan=plan)  # a new account is scored (or shown "not enough data") at once
    assert list(DirtyAccount.objects.values_list("account__external_id", flat=True)) == ["CRM-2"]
