"""Redis down while a customer answers (or metric values arrive, or an import is uploaded): what was
sent is recorded (the database is the source of truth), and the follow-up work (the owner's alert,
the health recompute, the import itself) runs once Redis is back.

Redis here is a server of the test's own, killed and restarted, which a real Celery worker uses as
broker and the web side as broker and cache.
"""

import datetime
import json
import time

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Account, ImportJob, MetricValue, Notification
from accounts.services import IMPORT_STALLED_AFTER, api_token_create, import_job_create
from accounts.tasks import import_jobs_resume_task
from scoring.models import DirtyAccount, HealthModel, HealthSnapshot
from scoring.services import model_version_create
from scoring.tasks import health_recompute_dirty_task
from surveys.follow_up import SWEEP_AFTER
from surveys.models import Response
from surveys.tasks import responses_follow_up_sweep_task
from tests.brokers import drop_connection_pools
from tests.factories import AccountFactory, ContactFactory, InvitationFactory, MetricDefinitionFactory
from tests.integration.conftest import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def broker_url(redis_server):
    return redis_server.url


@pytest.fixture
def worker_env():
    return {"HEALTH_RECOMPUTE_DELAY_SECONDS": "1"}


@pytest.fixture
def web_on_redis(settings, redis_server):
    """The test process's Django cache on the same Redis as the worker (its broker is set by start_worker)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "config.redis_cache.RedisCache",
            "LOCATION": redis_server.url,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }


@pytest.fixture
def nps_health_model(transactional_db):
    """A default model scoring NPS (the one a migration creates is gone after an earlier test's flush)."""
    model, _ = HealthModel.objects.get_or_create(segment="", defaults={"name": "Default health model"})
    components = [{"label": "NPS", "input": "nps", "metric": None, "reading": "latest", "window_days": 180,
                   "poor": -30, "good": 50, "weight": 100}]  # fmt: skip
    model_version_create(
        model=model, by=None, settings_values={"min_coverage": 50, "red_below": 40, "green_from": 70},
        components=components,
    )  # fmt: skip


def test_answer_is_recorded_with_redis_down_and_followed_up_once_it_is_back(
    nps_health_model, celery_worker, redis_server, web_on_redis, alice
):
    account = AccountFactory(owner=alice, name="Northwind")
    invitation = InvitationFactory(contact=ContactFactory(account=account, name="Dana Detractor"))

    redis_server.kill()
    started = time.monotonic()
    response = Client().post(f"/s/{invitation.token}/", {"score": "2"})
    elapsed = time.monotonic() - started

    assert response.status_code == 302, response.content[:500]
    assert elapsed < 10, f"the answer took {elapsed:.1f}s with Redis down"
    answer = Response.objects.get(invitation=invitation)
    assert (answer.score, answer.follow_up_due) == (2, True)
    assert not Notification.objects.filter(user=alice).exists()

    redis_server.start()
    drop_connection_pools()  # the test process's broker connections died with the server
    # As the beat schedule would, minutes later: the sweep takes answers its task never followed up.
    Response.objects.filter(pk=answer.pk).update(
        updated_at=timezone.now() - SWEEP_AFTER - datetime.timedelta(seconds=1)
    )
    celery_worker.wait_for_task(responses_follow_up_sweep_task.delay().id, timeout=60)

    notification = Notification.objects.get(user=alice)
    assert notification.title == "Northwind: Dana Detractor answered NPS 2"
    answer.refresh_from_db()
    assert answer.follow_up_due is False
    wait_until(
        lambda: HealthSnapshot.objects.filter(account=account, date=timezone.localdate()).exists(),
        what="the account's health recompute",
    )
    assert HealthSnapshot.objects.get(account=account).score == 0  # NPS -100 from the one detractor

    # The sweep again (the next beat tick) finds nothing to do: one alert per answer.
    celery_worker.wait_for_task(responses_follow_up_sweep_task.delay().id)
    assert Notification.objects.filter(user=alice).count() == 1


def test_metric_values_are_stored_with_redis_down_and_recomputed_once_it_is_back(
    nps_health_model, celery_worker, redis_server, web_on_redis, alice, adam
):
    account = AccountFactory(owner=alice, external_id="CRM-7")
    MetricDefinitionFactory(key="active_users")
    _, token = api_token_create(name="Analytics sync", created_by=adam)
    body = [{"account": "CRM-7", "metric": "active_users", "date": str(timezone.localdate()), "value": 12}]

    redis_server.kill()
    response = Client().post(
        "/api/v1/metrics", data=json.dumps(body), content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip

    assert (response.status_code, response.json()) == (200, {"created": 1, "updated": 0})
    assert MetricValue.objects.get(account=account).value == 12
    assert DirtyAccount.objects.filter(account=account).exists()  # the recompute is owed, in the database

    redis_server.start()
    drop_connection_pools()
    # As the beat schedule would: the periodic run recomputes what is still marked.
    celery_worker.wait_for_task(health_recompute_dirty_task.delay().id)
    assert HealthSnapshot.objects.filter(account=account, date=timezone.localdate()).exists()
    assert not DirtyAccount.objects.filter(account=account).exists()


def test_import_uploaded_with_redis_down_runs_once_it_is_back(celery_worker, redis_server, web_on_redis, alice, adam):
    accounts_csv = "external_id,name,owner_email,segment,arr\nCRM-500,Northwind,alice@pulse.test,smb,1000\n"

    redis_server.kill()
    job = import_job_create(
        kind=ImportJob.Kind.ACCOUNTS, files={"accounts": accounts_csv}, filenames="accounts.csv", created_by=adam
    )
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.PENDING  # stored, waiting

    redis_server.start()
    drop_connection_pools()
    # As the beat schedule would, minutes later: the sweep queues the import that never got queued.
    ImportJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - IMPORT_STALLED_AFTER - datetime.timedelta(seconds=1)
    )
    celery_worker.wait_for_task(import_jobs_resume_task.delay().id)
    wait_until(lambda: ImportJob.objects.get(pk=job.pk).is_finished, what="the import")

    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.DONE
    assert Account.objects.get(external_id="CRM-500").owner == alice
