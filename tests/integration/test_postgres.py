"""Metric upserts and CSV imports against PostgreSQL, whose constraints and transactions are the real ones."""

import datetime

import pytest
from django.db import DataError, IntegrityError, transaction

from accounts.account_import import account_import_apply, account_import_validate
from accounts.metric_import import metric_items_validate, metric_values_upsert
from accounts.models import Account, Contact, ImportJob, MetricValue
from accounts.services import import_job_run
from tests.factories import AccountFactory, MetricDefinitionFactory

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("postgres")]

DAY = datetime.date(2025, 3, 14)


@pytest.fixture
def usage(db):
    account = AccountFactory(name="Acme Alpha", external_id="CRM-ACME")
    metric = MetricDefinitionFactory(key="active_users", label="Active users")
    return account, metric


def _upsert(items: list[dict]) -> dict:
    plan = metric_items_validate(items)
    assert plan.errors == []
    return metric_values_upsert(plan=plan)


def test_metric_sent_again_for_the_same_day_replaces_the_value(usage):
    account, metric = usage
    item = {"account": "CRM-ACME", "metric": "active_users", "date": DAY.isoformat()}

    first = _upsert([{**item, "value": 10}])
    second = _upsert([{**item, "value": 25.5}])

    assert first == {"created": 1, "updated": 0}
    assert second == {"created": 0, "updated": 1}
    assert list(MetricValue.objects.values_list("account_id", "metric_id", "date", "value")) == [
        (account.pk, metric.pk, DAY, 25.5)
    ]


def test_metric_upsert_counts_new_and_replaced_values_in_one_batch(usage):
    account, metric = usage
    _upsert([{"account": "CRM-ACME", "metric": "active_users", "date": DAY.isoformat(), "value": 1}])
    next_day = DAY + datetime.timedelta(days=1)

    result = _upsert(
        [
            {"account": "CRM-ACME", "metric": "active_users", "date": DAY.isoformat(), "value": 2},
            {"account": "CRM-ACME", "metric": "active_users", "date": next_day.isoformat(), "value": 3},
        ]
    )

    assert result == {"created": 1, "updated": 1}
    assert dict(MetricValue.objects.filter(account=account, metric=metric).values_list("date", "value")) == {
        DAY: 2.0,
        next_day: 3.0,
    }


def test_database_refuses_a_second_value_for_the_same_account_metric_and_day(usage):
    account, metric = usage
    MetricValue.objects.create(account=account, metric=metric, date=DAY, value=1)

    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        MetricValue.objects.create(account=account, metric=metric, date=DAY, value=2)

    assert raised.value.__cause__.diag.constraint_name == "metric_value_unique_per_day"
    assert MetricValue.objects.get(account=account, metric=metric, date=DAY).value == 1


ACCOUNTS_CSV = (
    "external_id,name,owner_email,segment,arr\n"
    "CRM-100,Northwind,alice@pulse.test,enterprise,120000\n"
    "CRM-101,Globex,alice@pulse.test,smb,-5\n"  # line 3: a negative ARR
    "CRM-102,Initech,alice@pulse.test,mid_market,40000\n"
)


def test_bad_row_imports_nothing(transactional_db, alice):
    job = ImportJob.objects.create(kind=ImportJob.Kind.ACCOUNTS, files={"accounts": ACCOUNTS_CSV})

    import_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert [(error["file"], error["line"]) for error in job.errors] == [("accounts", 3)]
    assert "arr" in job.errors[0]["message"]
    assert not Account.objects.exists()


def test_database_error_while_applying_rolls_back_every_row(transactional_db, alice):
    plan = account_import_validate(
        accounts_csv="external_id,name,owner_email\nCRM-200,Umbrella,alice@pulse.test\nCRM-201,Hooli,alice@pulse.test\n",
        contacts_csv="account_external_id,email,name\nCRM-200,ops@umbrella.test,Ops Desk\n",
    )
    assert plan.errors == []
    # A row that passed validation but that PostgreSQL refuses (wider than the column): the
    # accounts already inserted in the same transaction must go with it.
    plan.contacts.append({"account_external_id": "CRM-201", "email": "x" * 250 + "@hooli.test", "name": "Too long"})

    with pytest.raises(DataError):
        account_import_apply(plan=plan)

    assert not Account.objects.exists()
    assert not Contact.objects.exists()
