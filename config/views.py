from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache

from accounts.models import User


@login_required
def home(request):
    """A CSM starts from their portfolio; managers and admins from the team rollup."""
    if request.user.role == User.Role.CSM:
        return redirect("dashboards:portfolio")
    return redirect("dashboards:rollup")


@never_cache
def healthz(request):
    """For load balancers: 200 when the database answers, 503 when it does not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any database failure means "not healthy", whatever its class
        return JsonResponse({"status": "error", "database": str(exc)[:200]}, status=503)
    return JsonResponse({"status": "ok"})
