"""Survey results (NPS, CSAT, CES) for everyone within their scope, their CSV export,
and the admins' CSV import of answers collected before Pulse."""

import datetime

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.csvfiles import csv_lines
from accounts.data_views import admin_required
from accounts.forms import CsvUploadField, DateInput, PulseForm
from accounts.models import Account, ImportJob, Team, User
from accounts.selectors import people_in_scope
from accounts.services import import_job_create
from accounts.validators import validate_date
from core.htmx import form_status, render_page_or_partial
from surveys.models import Kind, Survey
from surveys.results import DEFAULT_PERIOD, GROUPS, ResultFilters, compute_results, export_rows, period_start

PERIOD_CHOICES = [("30", "Last 30 days"), ("90", "Last 90 days"), ("365", "Last 12 months"), ("custom", "Custom dates")]
BY_CHOICES = [("week", "Week"), ("month", "Month")]
MAX_YEARS = 10
CUSTOM_DEFAULT_DAYS = 365
AUTO_MONTHS_AFTER_DAYS = 120
# A bad filter value (an old link, an edited URL) is dropped with a note; the rest still apply.
IGNORED = {"invalid_choice": "%(value)s is not a choice here; this filter is ignored."}
NOT_YOURS = {"invalid_choice": "that choice is not available to you; this filter is ignored."}


class ResultFilterForm(PulseForm, forms.Form):
    """The filters of the results page and its export. Invalid values are dropped one by one."""

    kind = forms.ChoiceField(choices=Kind.choices, required=False, error_messages=IGNORED)
    period = forms.ChoiceField(choices=PERIOD_CHOICES, required=False, error_messages=IGNORED)
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="All teams", error_messages=NOT_YOURS
    )
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="All CSMs", label="CSM", error_messages=NOT_YOURS
    )
    segment = forms.ChoiceField(
        choices=[("", "All segments"), *Account.Segment.choices], required=False, error_messages=IGNORED
    )
    survey = forms.ModelChoiceField(
        queryset=Survey.objects.none(), required=False, empty_label="All surveys", error_messages=NOT_YOURS
    )
    account = forms.ModelChoiceField(
        queryset=Account.objects.none(),
        required=False,
        error_messages={"invalid_choice": "that account is not one you can see; showing all accounts."},
    )
    by = forms.ChoiceField(choices=BY_CHOICES, required=False, label="Trend by", error_messages=IGNORED)
    group = forms.ChoiceField(
        choices=[(key, label) for key, (label, _, _) in GROUPS.items()], required=False, error_messages=IGNORED
    )

    def __init__(self, data, *, user: User):
        super().__init__(data)
        # `from` and `to` are Python keywords, so these two fields are added by name.
        self.fields["from"] = forms.DateField(
            required=False, label="From", widget=DateInput(), validators=[validate_date]
        )
        self.fields["to"] = forms.DateField(required=False, label="To", widget=DateInput(), validators=[validate_date])
        kind = data.get("kind") if data.get("kind") in Kind.values else Kind.NPS
        self.fields["survey"].queryset = Survey.objects.filter(kind=kind)
        self.fields["owner"].queryset = people_in_scope(user)
        self.fields["account"].queryset = Account.objects.visible_to(user)
        if user.role == User.Role.ADMIN:
            self.fields["team"].queryset = Team.objects.all()
        elif user.role == User.Role.MANAGER:
            self.fields["team"].queryset = user.managed_teams.all()
        else:
            del self.fields["team"]  # a CSM sees one team: nothing to choose

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("from"), cleaned.get("to")
        if start and end and start > end:
            self.add_error("to", "The end date is before the start date.")
        elif start and not end and start > timezone.localdate():
            self.add_error("from", "The start date is in the future.")
        elif start and (end or timezone.localdate()) - start > datetime.timedelta(days=366 * MAX_YEARS):
            self.add_error("from", f"Choose at most {MAX_YEARS} years at once.")
        return cleaned

    def filters(self) -> tuple[ResultFilters, str, str]:
        """(filters, period, group) from whatever was valid; call after is_valid()."""
        data = self.cleaned_data
        today = timezone.localdate()
        period = data.get("period") or ("custom" if data.get("from") or data.get("to") else DEFAULT_PERIOD)
        common = {
            "kind": data.get("kind") or Kind.NPS,
            "team": data.get("team"),
            "owner": data.get("owner"),
            "segment": data.get("segment") or "",
            "account": data.get("account"),
            "survey": data.get("survey"),
        }
        if period == "custom":
            end = data.get("to") or today
            start = data.get("from") or end - datetime.timedelta(days=CUSTOM_DEFAULT_DAYS - 1)
            # Show the dates in use, also when they were defaults.
            self.data = self.data.copy()
            self.data["from"], self.data["to"] = start.isoformat(), end.isoformat()
        else:
            end = today
            start = period_start(period, today)
        # Weekly points over a year are mostly tiny samples: long periods default to months.
        by = data.get("by") or ("month" if (end - start).days > AUTO_MONTHS_AFTER_DAYS else "week")
        filters = ResultFilters(start=start, end=end, by=by, **common)
        self.data = self.data.copy()
        self.data["period"] = period
        return filters, period, data.get("group") or "owner"


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


class AnswerImportForm(PulseForm, forms.Form):
    answers_file = CsvUploadField(
        label="Answers CSV",
        help_text="Columns: date, kind, score, contact_email and/or account_external_id, comment (optional).",
    )


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
    status = form_status(form)
    return render(request, "surveys/answers_import.html", {"form": form}, status=status)
