"""Redis hung (SIGSTOP: it accepts connections and never answers) or stopped, under the app served by
gunicorn: an answer costs at most a fixed, small time, is stored, and its follow-up is done by the sweep
once Redis is back; /login/ and /healthz keep answering, and /healthz says the broker is unavailable.

The figures are the issue's: within 1 s with Redis hung, within 150 ms with Redis stopped.
"""

import datetime
import http.client
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from surveys.follow_up import SWEEP_AFTER
from surveys.models import Response
from surveys.tasks import responses_follow_up_sweep_task
from tests.brokers import drop_connection_pools
from tests.factories import InvitationFactory
from tests.integration.conftest import http_request

pytestmark = pytest.mark.integration

HUNG_BOUND = 1.0
STOPPED_BOUND = 0.150


@pytest.fixture
def broker_url(redis_server):
    return redis_server.url


@pytest.fixture
def web(start_gunicorn, redis_server):
    """Two gunicorn workers on the test's own Redis (broker and cache), answering rate limits lifted."""

    def start(queue: str) -> int:
        return start_gunicorn(
            workers=2, REDIS_URL=redis_server.url, CELERY_QUEUE=queue, SURVEY_RATE_LIMIT_PER_MINUTE="10000"
        )

    return start


def _timed(port: int, method: str, path: str, body: str = "") -> tuple[int, float, str]:
    started = time.monotonic()
    status, page = http_request(port, method, path, body)
    return status, time.monotonic() - started, page


def _answer(port: int, invitation) -> tuple[int, float]:
    status, elapsed, _ = _timed(port, "POST", f"/s/{invitation.token}/", "score=9")
    return status, elapsed


def _failed_login(port: int) -> tuple[int, float, str]:
    """The login page, then a wrong password posted to it (with its CSRF token): (status, seconds, page)."""
    started = time.monotonic()
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    client.request("GET", "/login/")
    page = client.getresponse()
    form = page.read().decode()
    cookie = page.getheader("Set-Cookie").split(";", 1)[0]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    body = urlencode({"csrfmiddlewaretoken": token, "username": "nobody@pulse.test", "password": "wrong"})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    client.request("POST", "/login/", body=body, headers=headers)
    answer = client.getresponse()
    return answer.status, time.monotonic() - started, answer.read().decode()


def _healthz(port: int) -> tuple[int, float, dict]:
    status, elapsed, body = _timed(port, "GET", "/healthz")
    return status, elapsed, json.loads(body or "{}")


def test_hung_redis_costs_an_answer_under_a_second_and_login_and_healthz_answer(web, redis_server):
    port = web("pulse-test-hung")
    assert _healthz(port)[2]["broker"] == "ok"
    invitations = [InvitationFactory() for _ in range(20)]

    redis_server.freeze()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:  # some at once, more than the web's two processes
            results = list(pool.map(lambda invitation: _answer(port, invitation), invitations))
        login_status, login_elapsed, login_page = _failed_login(port)
        health_status, health_elapsed, health = _healthz(port)
    finally:
        redis_server.thaw()

    assert [status for status, _ in results] == [302] * 20
    slowest = max(elapsed for _, elapsed in results)
    assert slowest < HUNG_BOUND, f"an answer took {slowest:.2f}s with Redis hung: {sorted(e for _, e in results)}"
    assert Response.objects.filter(invitation__in=invitations, follow_up_due=True).count() == 20
    assert login_status == 200 and 'name="password"' in login_page, login_page[:500]  # the form again, refused
    assert login_elapsed < HUNG_BOUND, f"a login took {login_elapsed:.2f}s with Redis hung"
    assert (health_status, health) == (200, {"status": "ok", "database": "ok", "broker": "unavailable"})
    assert health_elapsed < HUNG_BOUND, f"/healthz took {health_elapsed:.2f}s with Redis hung"


def test_stopped_redis_costs_an_answer_under_150_ms_and_the_sweep_follows_up(
    web, celery_worker, start_worker, redis_server
):
    port = web(celery_worker.queue)
    invitations = [InvitationFactory() for _ in range(70)]
    warm_up, invitations = invitations[:10], invitations[10:]
    with ThreadPoolExecutor(max_workers=4) as pool:  # both processes warm, with their connections, as on a live site
        assert [status for status, _ in pool.map(lambda invitation: _answer(port, invitation), warm_up)] == [302] * 10

    redis_server.kill()
    results = [_answer(port, invitation) for invitation in invitations]

    assert [status for status, _ in results] == [302] * 60
    times = sorted(elapsed for _, elapsed in results)
    assert times[-1] < STOPPED_BOUND, f"answers with Redis stopped took (s): {[round(t, 3) for t in times]}"
    assert Response.objects.filter(invitation__in=invitations, follow_up_due=True).count() == 60
    assert _healthz(port)[2]["broker"] == "unavailable"

    redis_server.start()
    drop_connection_pools()  # the test process's broker connections died with the server
    # A worker running a task when Redis went away may exit instead of reconnecting (a fault in the
    # broker library while it puts the unacknowledged task back); its supervisor starts it again.
    worker = start_worker() if celery_worker.exited() else celery_worker
    # As the beat schedule would, minutes later: the sweep follows up what the requests could not queue.
    Response.objects.filter(invitation__in=invitations).update(
        updated_at=timezone.now() - SWEEP_AFTER - datetime.timedelta(seconds=1)
    )
    worker.wait_for_task(responses_follow_up_sweep_task.delay().id, timeout=120)
    assert not Response.objects.filter(invitation__in=invitations, follow_up_due=True).exists()
