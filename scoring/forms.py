"""Forms of the health model editor: the model's settings, its components (a formset), the preview day,
and the choice of a segment for a new model."""

import datetime

from django import forms
from django.forms import formset_factory
from django.utils import timezone

from accounts.forms import DateInput, PulseForm
from accounts.models import Account, MetricDefinition
from accounts.validators import validate_date
from scoring.models import DEFAULT_GREEN_FROM, DEFAULT_MIN_COVERAGE, DEFAULT_RED_BELOW, HealthModel, Input, Reading

# Inputs whose "reading" the engine ignores: survey results are always "each respondent's latest answer
# in the window" (Response.objects.latest_per_respondent), and days since the last check-in has no window at all.
READING_IGNORED = [Input.NPS, Input.CSAT, Input.CES, Input.DAYS_SINCE_CHECKIN]


class ModelSettingsForm(PulseForm, forms.Form):
    name = forms.CharField(max_length=100)
    min_coverage = forms.IntegerField(
        label="Minimum coverage (%)",
        min_value=0,
        max_value=100,
        help_text="Below this share of the total weight with data, the score is “not enough data”.",
    )
    red_below = forms.IntegerField(label="Red below", min_value=0, max_value=100)
    green_from = forms.IntegerField(label="Green from", min_value=0, max_value=100)

    def clean(self):
        cleaned = super().clean()
        red_below, green_from = cleaned.get("red_below"), cleaned.get("green_from")
        if red_below is not None and green_from is not None and red_below > green_from:
            self.add_error(
                "red_below", "Red below cannot be above green from: 0 ≤ red below ≤ green from ≤ 100, yellow between."
            )
        return cleaned

    @classmethod
    def initial_for(cls, model: HealthModel) -> dict:
        version = model.current_version
        initial = {
            "name": model.name,
            "min_coverage": DEFAULT_MIN_COVERAGE,
            "red_below": DEFAULT_RED_BELOW,
            "green_from": DEFAULT_GREEN_FROM,
        }
        if version is not None:
            initial.update(
                min_coverage=version.min_coverage, red_below=version.red_below, green_from=version.green_from
            )
        return initial


class ComponentForm(PulseForm, forms.Form):
    label = forms.CharField(max_length=100)
    input = forms.ChoiceField(choices=[("", "Choose an input…"), *Input.choices])
    metric = forms.ChoiceField(required=False, help_text="Only for “A metric”.")
    reading = forms.ChoiceField(
        choices=Reading.choices,
        initial=Reading.LATEST,
        help_text="Ignored for survey inputs (each contact's latest answer) and days since the last check-in.",
    )
    window_days = forms.IntegerField(
        label="Window (days)",
        min_value=1,
        max_value=3650,
        initial=90,
        help_text="Older inputs count as missing. Not used by days since the last check-in.",
    )
    poor = forms.FloatField(help_text="Maps to 0.")
    good = forms.FloatField(help_text="Maps to 100.")
    weight = forms.FloatField()

    def __init__(self, *args, metrics: dict[str, MetricDefinition], **kwargs):
        super().__init__(*args, **kwargs)
        self.metrics = metrics
        self.fields["metric"].choices = [("", "—"), *((key, metric.label) for key, metric in metrics.items())]

    def clean_metric(self) -> MetricDefinition | None:
        key = self.cleaned_data.get("metric")
        return self.metrics[key] if key else None

    def clean_weight(self) -> float:
        weight = self.cleaned_data["weight"]
        if weight <= 0:
            raise forms.ValidationError("Weights must be positive.")
        return weight

    def clean(self):
        cleaned = super().clean()
        input_name, metric = cleaned.get("input"), cleaned.get("metric")
        if input_name == Input.METRIC and metric is None and "metric" not in self.errors:
            self.add_error("metric", "Choose the metric this component reads.")
        elif input_name and input_name != Input.METRIC and metric is not None:
            self.add_error("metric", "Only the input “A metric” reads a metric: leave this empty.")
        poor, good = cleaned.get("poor"), cleaned.get("good")
        if poor is not None and good is not None and poor == good:
            self.add_error("good", "Poor and good must differ: they are the two ends of the scale.")
        return cleaned

    @property
    def reading_ignored(self) -> bool:
        return self["input"].value() in READING_IGNORED


class BaseComponentFormSet(forms.BaseFormSet):
    """The components in their order; the ORDER and DELETE fields come from the formset (can_order, can_delete)."""

    def __init__(self, *args, metrics: dict[str, MetricDefinition], **kwargs):
        kwargs.setdefault("prefix", "components")
        super().__init__(*args, form_kwargs={"metrics": metrics}, **kwargs)

    def add_fields(self, form, index):
        super().add_fields(form, index)
        form.fields["ORDER"].label = "Position"
        form.fields["DELETE"].label = "Remove"

    def clean(self):
        # A broken management form (a hand-made post) is a non-form error already; there are no components to read.
        if any(self.errors) or self.non_form_errors():
            return
        if not self.components():
            raise forms.ValidationError("A model needs at least one component.")

    def components(self) -> list[dict]:
        """The cleaned components in their chosen order, without removed and untouched blank ones."""
        return [
            {name: form.cleaned_data[name] for name in COMPONENT_FIELDS}
            for form in self.ordered_forms
            if form.cleaned_data
        ]


MAX_COMPONENTS = 30  # far more than a readable health model has
COMPONENT_FIELDS = ["label", "input", "metric", "reading", "window_days", "poor", "good", "weight"]


def component_formset(*, data=None, initial=None, extra: int = 0, metrics=None) -> BaseComponentFormSet:
    """A bound formset (data) or one to show (initial rows, plus `extra` blank forms)."""
    if metrics is None:
        metrics = {metric.key: metric for metric in MetricDefinition.objects.all()}
    formset_class = formset_factory(
        ComponentForm,
        formset=BaseComponentFormSet,
        extra=extra,
        can_order=True,
        can_delete=True,
        # A posted TOTAL_FORMS of a billion would otherwise build and render Django's cap of 2,000 forms.
        max_num=MAX_COMPONENTS,
        absolute_max=MAX_COMPONENTS,
        validate_max=True,
    )
    return formset_class(data=data, initial=initial, metrics=metrics)


def component_initial(components) -> list[dict]:
    """Form rows from saved components."""
    return [
        {
            "label": component.label,
            "input": component.input,
            "metric": component.metric.key if component.metric_id else "",
            "reading": component.reading,
            "window_days": component.window_days,
            "poor": _number(component.poor),
            "good": _number(component.good),
            "weight": _number(component.weight),
        }
        for component in components
    ]


def _number(value: float) -> float | int:
    """20 rather than 20.0 in the form."""
    return int(value) if float(value).is_integer() else value


def rows_rearranged(formset: BaseComponentFormSet, *, move: str = "") -> tuple[list[dict], int]:
    """The rows as typed (not validated), sorted by their position field, optionally one moved up or down,
    and the number of blank added rows.

    `move` is "<form index>:up" or "<form index>:down". Blank added rows are counted, not returned: shown
    again as blank extra forms, they stay optional (a saved row is required).
    """
    rows, blank = [], 0
    for index, form in enumerate(formset.forms):
        if index >= formset.initial_form_count() and not form.has_changed():
            blank += 1
            continue
        row = {name: form[name].value() for name in [*COMPONENT_FIELDS, "DELETE"]}
        rows.append((_position(form["ORDER"].value()), index, row))
    rows.sort(key=lambda item: (item[0] is None, item[0] or 0, item[1]))
    ordered = [(index, row) for _, index, row in rows]
    index, _, direction = move.partition(":")
    positions = [form_index for form_index, _ in ordered]
    if index.isdigit() and int(index) in positions:
        at = positions.index(int(index))
        to = at - 1 if direction == "up" else at + 1
        if 0 <= to < len(ordered):
            ordered[at], ordered[to] = ordered[to], ordered[at]
    return [{**row, "ORDER": number} for number, (_, row) in enumerate(ordered, start=1)], blank


def _position(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def weight_total(formset: BaseComponentFormSet) -> float:
    """The sum of the weights as typed (removed rows left out); sets `share` (% of the total) on each form."""
    weights = []
    for form in formset.forms:
        weight = None
        if not form["DELETE"].value():
            try:
                weight = float(form["weight"].value())
            except (TypeError, ValueError):
                weight = None
        weights.append(weight if weight is not None and weight > 0 else None)
    total = sum(weight for weight in weights if weight is not None)
    for form, weight in zip(formset.forms, weights, strict=True):
        form.share = 100.0 * weight / total if weight is not None and total else None
    return total


class PreviewForm(PulseForm, forms.Form):
    as_of = forms.DateField(
        label="As of",
        required=False,
        widget=DateInput(),
        validators=[validate_date],
        help_text="Replay on the data of that day (default today).",
    )

    def clean_as_of(self) -> datetime.date:
        today = timezone.localdate()
        as_of = self.cleaned_data.get("as_of") or today
        if as_of > today:
            raise forms.ValidationError("The preview cannot look into the future: choose today or an earlier day.")
        return as_of


class SegmentModelForm(PulseForm, forms.Form):
    """A new model for a segment that has none yet."""

    segment = forms.ChoiceField()
    name = forms.CharField(
        label="Name (optional)",
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. SMB health model"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].choices = free_segments()

    def clean(self):
        cleaned = super().clean()
        segment = cleaned.get("segment")
        if segment and not cleaned.get("name"):
            cleaned["name"] = f"{Account.Segment(segment).label} health model"
        return cleaned


def free_segments() -> list[tuple[str, str]]:
    """Segments without a health model of their own."""
    taken = set(HealthModel.objects.exclude(segment="").values_list("segment", flat=True))
    return [(value, label) for value, label in Account.Segment.choices if value not in taken]


class HealthDatesForm(PulseForm, forms.Form):
    date = forms.DateField(required=False, label="Health on", widget=DateInput(), validators=[validate_date])
    compare = forms.DateField(required=False, label="Compared with", widget=DateInput(), validators=[validate_date])
