import logging

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache

from accounts.models import User

logger = logging.getLogger(__name__)


@login_required
def home(request):
    """A CSM starts from their portfolio; managers and admins from the team rollup."""
    if request.user.role == User.Role.CSM:
        return redirect("dashboards:portfolio")
    return redirect("dashboards:rollup")


@never_cache
def healthz(request):
    """For load balancers: 200 when the database answers, 503 when it does not.

    Public, so it says only "ok" or "unavailable": the database's error names its host, port and
    role, which go to the log for the operator.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any database failure means "not healthy", whatever its class
        logger.exception("healthz: the database does not answer")
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})
