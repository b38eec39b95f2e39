import logging

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache

from accounts.models import User
from config.circuit_breaker import redis_breaker

logger = logging.getLogger(__name__)


@login_required
def home(request):
    """A CSM starts from their portfolio; managers and admins from the team rollup."""
    if request.user.role == User.Role.CSM:
        return redirect("dashboards:portfolio")
    return redirect("dashboards:rollup")


BROKER_CHECK_TIMEOUT = 0.25  # seconds: a hung broker must not make the check slow


@never_cache
def healthz(request):
    """For load balancers: 200 when the database answers, 503 when it does not; the broker is reported
    beside it and never changes the status (the site answers without it, and sweeps catch up).

    Public, so it says only "ok", "unavailable" (or "in-process" for a broker-less demo): the errors name
    hosts, ports and roles, which go to the log for the operator.
    """
    database = _database_state()
    body = {"status": database, "database": database, "broker": _broker_state()}
    return JsonResponse(body, status=200 if database == "ok" else 503)


def _database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any database failure means "not healthy", whatever its class
        logger.exception("healthz: the database does not answer")
        return "unavailable"
    return "ok"


def _broker_state() -> str:
    """One PING to the Redis broker, within BROKER_CHECK_TIMEOUT; skipped while its breaker is open."""
    if not settings.REDIS_URL:
        return "in-process"
    if redis_breaker.is_open():
        return "unavailable"
    client = redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_connect_timeout=BROKER_CHECK_TIMEOUT, socket_timeout=BROKER_CHECK_TIMEOUT
    )
    try:
        client.ping()
    except Exception:  # refused, timed out, or any other broker error
        redis_breaker.trip()
        logger.warning("healthz: the broker does not answer", exc_info=True)
        return "unavailable"
    finally:
        client.close()
    return "ok"
