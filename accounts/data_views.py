"""Data coming in: CSV imports, metric definitions, API tokens and the metrics API."""

import json

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts import services
from accounts.csvfiles import RowError, errors_csv
from accounts.forms import AccountImportForm, ApiTokenForm, MetricDefinitionForm, MetricImportForm
from accounts.metric_import import metric_items_validate, metric_values_upsert
from accounts.models import ApiToken, ImportJob, MetricDefinition
from accounts.permissions import admin_required
from accounts.selectors import recent_imports
from core.htmx import INVALID, form_status, render_page_or_partial


@admin_required
def account_import(request):
    form = AccountImportForm(request.POST, request.FILES) if request.method == "POST" else AccountImportForm()
    if request.method == "POST" and form.is_valid():
        uploads = {
            kind: form.cleaned_data[f"{kind}_file"]
            for kind in ("accounts", "contacts")
            if form.cleaned_data.get(f"{kind}_file")
        }
        job = services.import_job_create(
            kind=ImportJob.Kind.ACCOUNTS,
            files={kind: text for kind, (_, text) in uploads.items()},
            filenames=", ".join(name for name, _ in uploads.values()),
            created_by=request.user,
        )
        return redirect(job)
    recent = recent_imports(ImportJob.Kind.ACCOUNTS)
    return render(request, "accounts/import.html", {"form": form, "recent": recent}, status=form_status(form))


@admin_required
def import_detail(request, job_id):
    """The job's page; while it runs, its progress partial polls itself until the job is finished."""
    job = get_object_or_404(ImportJob.objects.defer("files", "errors_csv").select_related("created_by"), pk=job_id)
    return render_page_or_partial(request, "accounts/import_detail.html", "progress", {"job": job})


@admin_required
def import_errors(request, job_id):
    """Every problem of a rejected import, as CSV: the page lists only the first ones."""
    job = get_object_or_404(ImportJob.objects.only("pk", "errors", "errors_csv"), pk=job_id)
    # Jobs rejected before the CSV was kept have every problem in `errors`.
    text = job.errors_csv or errors_csv(RowError(**error) for error in job.errors)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-problems.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


@admin_required
def metric_list(request):
    form = MetricDefinitionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        metric = form.save()
        messages.success(request, f"Metric {metric.label} ({metric.key}) added.")
        return redirect("accounts:metrics")
    context = {
        "form": form,
        "metrics": MetricDefinition.objects.all(),
        "upload_form": MetricImportForm(),
        "recent": recent_imports(ImportJob.Kind.METRICS),
    }
    return render(request, "accounts/metrics.html", context, status=form_status(form))


@admin_required
@require_POST
def metric_import(request):
    form = MetricImportForm(request.POST, request.FILES)
    if not form.is_valid():
        context = {
            "form": MetricDefinitionForm(),
            "metrics": MetricDefinition.objects.all(),
            "upload_form": form,
            "recent": recent_imports(ImportJob.Kind.METRICS),
        }
        return render(request, "accounts/metrics.html", context, status=INVALID)
    name, text = form.cleaned_data["metrics_file"]
    job = services.import_job_create(
        kind=ImportJob.Kind.METRICS, files={"metrics": text}, filenames=name, created_by=request.user
    )
    return redirect(job)


@admin_required
def token_list(request):
    form = ApiTokenForm(request.POST if request.method == "POST" else None)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        token, new_secret = services.api_token_create(name=form.cleaned_data["name"], created_by=request.user)
        form = ApiTokenForm()
    context = {
        "form": form,
        "tokens": ApiToken.objects.select_related("created_by"),
        "new_secret": new_secret,
        "api_url": f"{settings.SITE_URL}/api/v1/metrics",
    }
    response = render(request, "accounts/tokens.html", context, status=form_status(form))
    response["Cache-Control"] = "no-store"  # the secret is on this page once
    return response


@admin_required
@require_POST
def token_revoke(request, token_id):
    token = get_object_or_404(ApiToken, pk=token_id)
    services.api_token_revoke(token=token)
    messages.success(request, f"Token {token.name} revoked: integrations using it now get 401.")
    return redirect("accounts:tokens")


def _api_error(status: int, message: str, errors: list | None = None) -> JsonResponse:
    body = {"error": message}
    if errors is not None:
        body["errors"] = errors
    return JsonResponse(body, status=status)


@csrf_exempt
def metrics_api(request):
    """POST /api/v1/metrics: a JSON list of {account, metric, date, value}; all or nothing."""
    if request.method != "POST":
        return _api_error(405, "use POST with a JSON list of {account, metric, date, value}")
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip() or services.api_token_authenticate(raw=raw.strip()) is None:
        response = _api_error(401, "a valid API token is required: Authorization: Bearer <token>")
        response["WWW-Authenticate"] = "Bearer"
        return response
    try:
        items = json.loads(request.body)
    except RequestDataTooBig:
        return _api_error(413, f"the body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested too deeply to read
        return _api_error(400, f"the body is not valid JSON ({exc})")
    if not isinstance(items, list):
        return _api_error(400, "the body must be a JSON list of {account, metric, date, value} items")
    if not items:
        return _api_error(400, "the list is empty")
    if len(items) > settings.METRICS_API_MAX_ITEMS:
        return _api_error(400, f"at most {settings.METRICS_API_MAX_ITEMS:,} items per request; got {len(items):,}")
    plan = metric_items_validate(items)
    if plan.errors:
        return _api_error(
            400, f"{len(plan.errors)} problem(s) found; nothing was stored", [e.as_dict() for e in plan.errors]
        )
    return JsonResponse(metric_values_upsert(plan=plan))
