"""Health models (admins): the list, a new model for a segment, and the editor with a live preview of the draft."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError
from django.db.models import Count, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from accounts.models import Account, MetricDefinition
from accounts.permissions import admin_required
from core.htmx import INVALID, render_page_or_partial, wants_partial
from scoring import backtest_display, selectors, services
from scoring.forms import (
    ModelSettingsForm,
    PreviewForm,
    SegmentModelForm,
    component_formset,
    component_initial,
    rows_rearranged,
    weight_total,
)
from scoring.models import Backtest, Band, HealthModel, HealthSnapshot
from scoring.preview import draft_build, model_preview


@admin_required
def model_list(request):
    return _list_page(request, SegmentModelForm())


@admin_required
def model_create(request):
    """A model for a segment that has none, starting as a copy of the default model's current version."""
    if request.method != "POST":
        return _list_page(request, SegmentModelForm())
    form = SegmentModelForm(request.POST)
    if form.is_valid():
        try:
            model = services.model_segment_create(
                segment=form.cleaned_data["segment"], name=form.cleaned_data["name"], by=request.user
            )
        except IntegrityError:  # another admin created it a moment ago
            form.add_error("segment", "This segment has a model already.")
        else:
            messages.success(
                request, f"{model.name} created from the default model. Adjust it, preview, and save a new version."
            )
            return redirect(model)
    return _list_page(request, form, status=INVALID)


def _list_page(request, form: SegmentModelForm, status: int = 200):
    models = list(
        HealthModel.objects.select_related("current_version").annotate(
            component_count=Count("current_version__components"),
            weight_sum=Sum("current_version__components__weight"),
        )
    )
    models.sort(key=lambda model: (not model.is_default, model.get_segment_display()))
    today = timezone.localdate()
    bands: dict[int, dict[str, int]] = {}
    # One query for every model: today's snapshots name the version (so the model) they were computed with.
    rows = (
        HealthSnapshot.objects.filter(date=today)
        .values_list("version__model_id", "band")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for model_id, band, count in rows:
        bands.setdefault(model_id, {})[band] = count
    uncovered = _segments_without_model(models)
    for model in models:
        model.scope = _scope_text(model, uncovered)
        counts = bands.get(model.pk)
        model.band_counts = [(band, label, counts.get(band, 0)) for band, label in Band.choices] if counts else None
    context = {"models": models, "form": form, "today": today, "nav": "models"}
    return render(request, "scoring/model_list.html", context, status=status)


def _segments_without_model(models) -> list[str]:
    taken = {model.segment for model in models if not model.is_default and model.current_version_id}
    return [label for value, label in Account.Segment.choices if value not in taken]


def _scope_text(model: HealthModel, uncovered: list[str]) -> str:
    if not model.is_default:
        return f"{model.get_segment_display()} accounts"
    if not uncovered:
        return "Accounts of segments without a model of their own (none at the moment)"
    return f"Accounts of segments without a model of their own: {', '.join(uncovered)}"


@admin_required
def model_edit(request, model_id):
    """Settings and components of a model. Buttons: add a component, move one, preview the draft, save a version.

    Only saving writes (a new version); adding, moving and previewing re-render the draft as typed.
    An HTMX request gets the `preview` partial, or the `editor` partial (form and preview) otherwise.
    """
    model = get_object_or_404(HealthModel.objects.select_related("current_version"), pk=model_id)
    metrics = {metric.key: metric for metric in MetricDefinition.objects.all()}
    if request.method != "POST":
        settings_initial = ModelSettingsForm.initial_for(model)
        suggested = _suggested_draft(request, model)
        if suggested is not None:
            settings_initial |= suggested.draft["settings"]
            rows = list(zip(suggested.draft["components"], suggested.result["suggestion"]["weights"], strict=True))
            initial = [{**row, "weight": weight} for row, weight in rows if weight > 0]
            left_out = [row["label"] for row, weight in rows if weight == 0]
            messages.info(
                request,
                "The suggested weights are in the draft below"
                + (f" ({', '.join(left_out)}: weight 0, left out)" if left_out else "")
                + ". Nothing is saved: preview, then save.",
            )
        else:
            current = []
            if model.current_version is not None:
                current = model.current_version.components.select_related("metric").order_by("position", "pk")
            initial = component_initial(current)
        return _edit_page(
            request,
            model,
            ModelSettingsForm(initial=settings_initial),
            component_formset(initial=initial, extra=0 if initial else 1, metrics=metrics),
            PreviewForm(),
        )

    settings_form = ModelSettingsForm(request.POST)
    formset = component_formset(data=request.POST, metrics=metrics)
    preview_form = PreviewForm(request.POST)

    if "add" in request.POST or "move" in request.POST:
        adding = "add" in request.POST
        rows, blank = rows_rearranged(formset, move=request.POST.get("move", ""))
        formset = component_formset(initial=rows, extra=blank + adding, metrics=metrics)
        if adding:
            formset.forms[-1].fields["label"].widget.attrs["autofocus"] = True
        return _edit_page(
            request,
            model,
            ModelSettingsForm(initial={name: request.POST.get(name) for name in ModelSettingsForm.base_fields}),
            formset,
            PreviewForm(initial={"as_of": request.POST.get("as_of")}),
            partial="editor",
        )

    if "backtest" in request.POST:
        if not (settings_form.is_valid() & formset.is_valid()):
            return _edit_page(request, model, settings_form, formset, preview_form, partial="editor", status=INVALID)
        job = services.backtest_draft_start(
            model=model,
            settings_values={field: settings_form.cleaned_data[field] for field in services.SETTINGS_FIELDS},
            components=formset.components(),
            by=request.user,
        )
        if not wants_partial(request):
            return redirect(model)
        context = {"model": model, **backtest_display.section_context(stored=None, draft_job=job)}
        return render(request, "scoring/backtest.html#draft", context)

    if "preview" in request.POST:
        valid = [settings_form.is_valid(), formset.is_valid(), preview_form.is_valid()]
        if not all(valid):
            return _edit_page(request, model, settings_form, formset, preview_form, partial="editor", status=INVALID)
        draft, components = draft_build(
            model=model,
            settings_values={field: settings_form.cleaned_data[field] for field in services.SETTINGS_FIELDS},
            components=formset.components(),
        )
        preview = model_preview(
            model=model, draft=draft, components=components, as_of=preview_form.cleaned_data["as_of"]
        )
        return _edit_page(request, model, settings_form, formset, preview_form, preview=preview, partial="preview")

    if settings_form.is_valid() & formset.is_valid():  # both, so that every error shows at once
        version = services.model_version_create(
            model=model,
            by=request.user,
            name=settings_form.cleaned_data["name"],
            settings_values={field: settings_form.cleaned_data[field] for field in services.SETTINGS_FIELDS},
            components=formset.components(),
        )
        messages.success(
            request,
            f"Saved as version {version.number}: scores computed from now on use it; "
            "earlier snapshots keep the version they were computed with.",
        )
        if request.htmx:
            return HttpResponseClientRedirect(model.get_absolute_url())
        return redirect(model)
    return _edit_page(request, model, settings_form, formset, preview_form, partial="editor", status=INVALID)


def _edit_page(request, model, settings_form, formset, preview_form, *, preview=None, partial=None, status=200):
    context = {
        "nav": "models",
        "model": model,
        "settings_form": settings_form,
        "formset": formset,
        "weight_total": weight_total(formset),
        "preview_form": preview_form,
        "preview": preview,
        "chart_data": preview.chart_data() if preview else None,
        "versions": model.versions.select_related("created_by")
        .annotate(component_count=Count("components"))
        .order_by("-number"),
        "has_errors": status == INVALID,
    }
    if not (partial and wants_partial(request)):
        context["scope"] = _scope_text(model, _segments_without_model(HealthModel.objects.all()))
        context |= backtest_display.section_context(
            stored=selectors.backtest_stored_latest(model), draft_job=selectors.backtest_draft_latest(model)
        )
    response = render_page_or_partial(request, "scoring/model_edit.html", partial, context, status=status)
    if request.htmx and partial == "editor" and ("preview" in request.POST or "backtest" in request.POST):
        # Preview and Back-test target their own section; with errors the whole editor comes back to show them.
        retarget(response, "#editor")
        reswap(response, "outerHTML")
    return response


def _suggested_draft(request, model: HealthModel) -> Backtest | None:
    """The draft back-test named by ?suggested=, when it is this model's and suggested weights."""
    number = request.GET.get("suggested", "")
    if not (number.isascii() and number.isdigit()):
        return None
    job = Backtest.objects.filter(model=model, kind=Backtest.Kind.DRAFT, status=Backtest.Status.DONE, pk=number).first()
    if job is None or not ((job.result or {}).get("suggestion") or {}).get("weights"):
        return None
    return job


@admin_required
def model_backtest_status(request, model_id, backtest_id):
    """A draft back-test's progress, then its result: the partial the editor polls."""
    model = get_object_or_404(HealthModel.objects.select_related("current_version"), pk=model_id)
    job = get_object_or_404(
        Backtest.objects.select_related("created_by"), model=model, kind=Backtest.Kind.DRAFT, pk=backtest_id
    )
    context = {"model": model, **backtest_display.section_context(stored=None, draft_job=job)}
    return render(request, "scoring/backtest.html#draft", context)


@login_required
def model_backtest(request, model_id):
    """Does the model's score predict churn? The stored back-test, for everyone who reads health (managers, CSMs).

    The figures are of the whole model (every account it scores), counts and rates only: no account is named.
    """
    model = get_object_or_404(HealthModel.objects.select_related("current_version"), pk=model_id)
    context = {
        "nav": "team",
        "model": model,
        **backtest_display.section_context(stored=selectors.backtest_stored_latest(model), draft_job=None),
    }
    return render(request, "scoring/model_backtest.html", context)
