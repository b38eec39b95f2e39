"""Survey results (NPS, CSAT, CES) for everyone within their scope, their CSV export,
and the admins' CSV import of answers collected before Pulse."""

from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render

from accounts.csvfiles import csv_lines
from accounts.models import ImportJob
from accounts.permissions import admin_required
from accounts.selectors import recent_imports
from accounts.services import import_job_create
from core.htmx import form_status, render_page_or_partial
from surveys.forms import BY_CHOICES, AnswerImportForm, ResultFilterForm
from surveys.models import Kind
from surveys.results import DEFAULT_PERIOD, GROUPS, ResultFilters, compute_results, export_rows


def _query(params, **changes) -> str:
    """The current query string with some parameters changed (None removes one)."""
    query = params.copy()
    for name, value in changes.items():
        query.pop(name, None)
        if value is not None:
            query[name] = value
    return query.urlencode()


def _filters_from_request(request) -> tuple[ResultFilterForm, ResultFilters, str, str]:
    form = ResultFilterForm(request.GET.copy(), user=request.user)
    form.is_valid()  # invalid fields are left out of cleaned_data; the rest still filter
    filters, period, group = form.filters()
    return form, filters, period, group


@login_required
def results(request):
    form, filters, period, group = _filters_from_request(request)
    computed = compute_results(user=request.user, filters=filters, group=group)
    params = request.GET.copy()
    context = {
        "form": form,
        "filters": filters,
        "period": period,
        "group": group,
        "group_label": GROUPS[group][0],
        "results": computed,
        "chart_data": computed.chart_data(),
        "kinds": [(value, label, _query(params, kind=value, survey=None)) for value, label in Kind.choices],
        "by_links": [(value, label, _query(params, by=value)) for value, label in BY_CHOICES],
        "group_links": [(key, label, _query(params, group=key)) for key, (label, _, _) in GROUPS.items()],
        "drill_query": _query(params, **{group: None}),
        "clear_account_query": _query(params, account=None),
        "export_query": params.urlencode(),
        "has_filters": any(
            [filters.team, filters.owner, filters.segment, filters.account, filters.survey, period != DEFAULT_PERIOD]
        ),
    }
    return render_page_or_partial(request, "surveys/results.html", "results", context)


@login_required
def results_export(request):
    _, filters, _, _ = _filters_from_request(request)
    stream = csv_lines(export_rows(user=request.user, filters=filters))
    response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
    filename = f"{filters.kind}-answers-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@admin_required
def answers_import(request):
    """The upload queues an import job and goes to its page, which follows the checking and the import."""
    form = AnswerImportForm(request.POST, request.FILES) if request.method == "POST" else AnswerImportForm()
    if request.method == "POST" and form.is_valid():
        filename, text = form.cleaned_data["answers_file"]
        job = import_job_create(
            kind=ImportJob.Kind.ANSWERS, files={"answers": text}, filenames=filename, created_by=request.user
        )
        return redirect(job)
    context = {"form": form, "recent": recent_imports(ImportJob.Kind.ANSWERS)}
    return render(request, "surveys/answers_import.html", context, status=form_status(form))
