"""Forms of tasks (add, complete, snooze, reassign, the list's filters), playbooks and rules."""

import datetime

from django import forms
from django.utils import timezone

from accounts.forms import DateInput, PulseForm
from accounts.models import Account, MetricDefinition, User
from accounts.validators import validate_date
from playbooks.models import Playbook, Rule, Task, Trigger
from surveys.forms import IGNORED


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return f"{user.name} ({user.get_role_display()})" if user.role != User.Role.CSM else user.name


class TaskForm(PulseForm, forms.ModelForm):
    """A task added by hand on an account; the owner is one of the people who may work on it."""

    class Meta:
        model = Task
        fields = ["title", "kind", "due_on", "priority", "owner", "reason"]
        labels = {"due_on": "Due", "reason": "Why"}
        widgets = {
            "due_on": DateInput(),
            "reason": forms.TextInput(attrs={"placeholder": "Optional: what prompted it"}),
        }

    def __init__(self, *args, owners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"] = OwnerChoiceField(queryset=owners, required=True, label="Owner")
        self.fields["due_on"].validators.append(validate_date)
        self.fields["title"].widget.attrs["placeholder"] = "e.g. Call about the seat drop"

    def clean_due_on(self):
        due_on = self.cleaned_data["due_on"]
        if due_on < timezone.localdate():
            raise forms.ValidationError("The due date has passed: pick today or a later day.")
        return due_on


class TaskCompleteForm(PulseForm, forms.Form):
    outcome = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "What was done, and what came of it"}),
        max_length=2000,
        error_messages={"required": "Say what came of it: the outcome is what the next person reads."},
    )


class TaskCancelForm(PulseForm, forms.Form):
    note = forms.CharField(
        max_length=500, label="Why cancel", error_messages={"required": "Say why it is no longer needed."}
    )


class TaskSnoozeForm(PulseForm, forms.Form):
    until = forms.DateField(widget=DateInput(), validators=[validate_date], label="Snooze until")

    def clean_until(self):
        until = self.cleaned_data["until"]
        if until <= timezone.localdate():
            raise forms.ValidationError("Snooze until a later day than today.")
        return until


class TaskReassignForm(PulseForm, forms.Form):
    def __init__(self, *args, owners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"] = OwnerChoiceField(queryset=owners, label="Reassign to")


DUE_CHOICES = [("", "Any date"), ("overdue", "Overdue"), ("today", "Due today"), ("week", "Due this week")]
STATUS_CHOICES = [("", "To do"), ("done", "Done"), ("cancelled", "Cancelled"), ("all", "All")]


class TaskFilterForm(PulseForm, forms.Form):
    """The task list's filters; a bad value is dropped with a note, as on the other lists."""

    owner = forms.ChoiceField(required=False, error_messages=IGNORED, label="Owner")
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES, error_messages=IGNORED)
    due = forms.ChoiceField(required=False, choices=DUE_CHOICES, error_messages=IGNORED)
    kind = forms.ChoiceField(
        required=False, choices=[("", "Any kind"), *Task._meta.get_field("kind").choices], error_messages=IGNORED
    )
    rule = forms.IntegerField(
        required=False, min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput, error_messages=IGNORED
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=10**6, error_messages=IGNORED)

    def __init__(self, data, *, owners: list[User], user: User):
        super().__init__(data)
        choices = [("", "Everyone in scope" if user.role != User.Role.CSM else "Me"), ("me", "Me")]
        if user.role == User.Role.CSM:
            choices = [("", "Me"), ("all", "My team")]
        choices += [(str(owner.pk), owner.name) for owner in owners if owner.pk != user.pk]
        self.fields["owner"].choices = choices


class PlaybookForm(PulseForm, forms.ModelForm):
    steps_text = forms.CharField(
        required=False,
        label="Steps",
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "One step per line"}),
        help_text="The task's checklist, one step per line.",
    )

    class Meta:
        model = Playbook
        fields = ["name", "title_template", "kind", "due_in_days", "priority"]
        labels = {"title_template": "Task title", "due_in_days": "Due in (days)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("steps_text", "\n".join(self.instance.steps))

    def clean_steps_text(self):
        steps = [line.strip() for line in self.cleaned_data["steps_text"].splitlines() if line.strip()]
        if len(steps) > 20:
            raise forms.ValidationError("At most 20 steps.")
        if any(len(step) > 200 for step in steps):
            raise forms.ValidationError("Keep each step under 200 characters.")
        return steps

    def save_data(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        return data | {"steps": self.cleaned_data["steps_text"]}


NEEDS = {
    Trigger.HEALTH_DROP: ["points"],
    Trigger.RENEWAL_AT_RISK: ["days"],
    Trigger.CHECKIN_OVERDUE: ["days"],
    Trigger.METRIC_THRESHOLD: ["metric", "comparison", "threshold", "days"],
}
NEEDED = {
    "points": "How many points of a drop?",
    "days": "How many days?",
    "metric": "Which metric?",
    "comparison": "Below or above?",
    "threshold": "Which threshold?",
}


class RuleForm(PulseForm, forms.ModelForm):
    class Meta:
        model = Rule
        fields = [
            "name", "trigger", "points", "days", "metric", "comparison", "threshold",
            "segment", "min_arr", "lifecycle_stage", "playbook", "owner", "notify", "is_active",
        ]  # fmt: skip
        labels = {"points": "Points (N)", "days": "Days (N)", "owner": "Task owner"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["playbook"].queryset = Playbook.objects.filter(archived_at__isnull=True)
        self.fields["metric"].queryset = MetricDefinition.objects.order_by("label")
        self.fields["owner"] = OwnerChoiceField(
            queryset=User.objects.filter(is_active=True).order_by("name"),
            required=False,
            label="Task owner",
            empty_label="The account's CSM",
        )
        self.fields["segment"].choices = [("", "Any segment"), *Account.Segment.choices]
        self.fields["lifecycle_stage"].choices = [("", "Any stage"), *Account.Lifecycle.choices]

    def clean(self):
        cleaned = super().clean()
        needed = NEEDS.get(cleaned.get("trigger"), [])
        for name in needed:
            if cleaned.get(name) in (None, ""):
                self.add_error(name, NEEDED[name])
        # What the trigger does not use is not kept, so the rule reads as it acts.
        for name in {"points", "days", "metric", "threshold"} - set(needed):
            cleaned[name] = None
        if "comparison" not in needed:
            cleaned["comparison"] = ""
        return cleaned

    def save_data(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.Meta.fields}


def week_end(today: datetime.date) -> datetime.date:
    """The Sunday of today's week: "this week" in My tasks."""
    return today + datetime.timedelta(days=6 - today.weekday())
