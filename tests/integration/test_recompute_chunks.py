"""The nightly recompute queued as chunks, shared by two real Celery workers through Redis."""

import pytest

from scoring.models import HealthSnapshot
from scoring.services import health_recompute_queue
from tests.factories import AccountFactory, CheckInFactory
from tests.helpers import day
from tests.integration.conftest import wait_until

pytestmark = pytest.mark.integration


def test_two_workers_share_the_chunks_and_every_account_is_scored_once(start_worker, sentiment_model, alice, settings):
    settings.HEALTH_RECOMPUTE_CHUNK_ACCOUNTS = 3
    accounts = AccountFactory.create_batch(10, owner=alice)
    for account in accounts:
        CheckInFactory(account=account, date=day(-1), sentiment=4)
    workers = [start_worker(), start_worker()]

    # The day is passed to the chunks: a worker's clock does not decide it. No alerts: a worker's clock is its own.
    assert health_recompute_queue(as_of=day(0), alert=False) == 4

    snapshots = HealthSnapshot.objects.filter(date=day(0))
    wait_until(lambda: snapshots.count() == 10, timeout=60, what="every account scored")
    assert set(snapshots.values_list("account_id", "score")) == {(account.pk, 75) for account in accounts}
    ran = [worker.log().count("scoring.tasks.health_recompute_chunk_task[") for worker in workers]
    succeeded = sum(worker.log().count("] succeeded") for worker in workers)
    assert succeeded == 4 and all(ran), ran  # both workers took chunks
