"""CSV imports run by a real Celery worker process, through Redis, against the PostgreSQL test database."""

import time

import pytest

from accounts.models import Account, ImportJob
from accounts.services import import_job_create
from accounts.tasks import import_job_run_task

pytestmark = pytest.mark.integration

ACCOUNTS_CSV = (
    "external_id,name,owner_email,segment,arr\n"
    "CRM-300,Northwind,alice@pulse.test,enterprise,120000\n"
    "CRM-301,Globex,alice@pulse.test,smb,8000\n"
)


def _wait_until_finished(job: ImportJob, timeout: float = 30) -> ImportJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            return job
        time.sleep(0.2)
    raise AssertionError(f"import job {job.pk} still {job.status} after {timeout}s")


def _account_rows():
    return list(
        Account.objects.order_by("external_id").values_list("external_id", "name", "owner__email", "arr", "updated_at")
    )


@pytest.fixture
def finished_import(transactional_db, celery_worker, alice, adam):
    job = import_job_create(
        kind=ImportJob.Kind.ACCOUNTS, files={"accounts": ACCOUNTS_CSV}, filenames="accounts.csv", created_by=adam
    )
    return _wait_until_finished(job)


def test_worker_imports_the_queued_accounts_file(transactional_db, celery_worker, finished_import):
    job = finished_import

    assert job.status == ImportJob.Status.DONE, job.errors
    assert job.result == {"accounts_created": 2, "accounts_updated": 0, "contacts_created": 0, "contacts_updated": 0}
    assert [(external_id, name, owner, int(arr)) for external_id, name, owner, arr, _ in _account_rows()] == [
        ("CRM-300", "Northwind", "alice@pulse.test", 120000),
        ("CRM-301", "Globex", "alice@pulse.test", 8000),
    ]
    # The worker ran it, not the test process.
    assert "accounts.tasks.import_job_run_task[" in celery_worker.log()
    assert "succeeded" in celery_worker.log()


def test_task_delivered_twice_imports_once(transactional_db, celery_worker, finished_import):
    job = finished_import
    rows_before = _account_rows()

    redelivery = import_job_run_task.delay(job.pk)
    celery_worker.wait_for_task(redelivery.id)

    again = ImportJob.objects.get(pk=job.pk)
    assert (again.status, again.result, again.finished_at) == (job.status, job.result, job.finished_at)
    assert _account_rows() == rows_before
    assert Account.objects.count() == 2
