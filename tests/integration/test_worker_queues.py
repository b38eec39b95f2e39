"""A plain worker (no -Q) consumes the default queue and the send queue, and publishes with the worker's
longer budget (a web process's is a fraction of a second)."""

import socket

import pytest

from config.celery import WORKER_PUBLISH_RETRY_POLICY, WORKER_SOCKET_TIMEOUT
from config.celery import app as celery_app

pytestmark = pytest.mark.integration


def test_a_plain_worker_consumes_both_queues_with_the_worker_publish_budget(celery_worker):
    hostname = f"{celery_worker.queue}-1@{socket.gethostname()}"
    inspect = celery_app.control.inspect(destination=[hostname], timeout=5)

    queues = {queue["name"] for queue in inspect.active_queues()[hostname]}
    assert queues == {celery_worker.queue, f"{celery_worker.queue}.send"}

    conf = inspect.conf(with_defaults=False)[hostname]
    assert conf["task_publish_retry_policy"] == WORKER_PUBLISH_RETRY_POLICY
    assert conf["broker_transport_options"]["socket_timeout"] == WORKER_SOCKET_TIMEOUT
    assert "max_retries" not in conf["broker_transport_options"]  # a restarted broker is reconnected to
