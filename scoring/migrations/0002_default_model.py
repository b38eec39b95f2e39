"""A sensible default health model, so every install scores accounts from the first day.

Weights sum to 100. The metrics it reads are created if missing; send their values by
CSV or the API under these keys (seat_usage in %, support_tickets per day, days_overdue).
"""

from django.db import migrations

METRICS = [
    ("seat_usage", "Seat usage", "%", "Share of licensed seats active that day."),
    ("support_tickets", "Support tickets opened", "tickets", "Support tickets opened that day."),
    ("days_overdue", "Days overdue on billing", "days", "Days the oldest unpaid invoice is past due; 0 when paid."),
]

# (label, input, metric key, reading, window days, poor, good, weight)
COMPONENTS = [
    ("NPS", "nps", None, "latest", 180, -30, 50, 20),
    ("Seat usage", "metric", "seat_usage", "mean", 30, 20, 70, 20),
    ("Support tickets", "metric", "support_tickets", "sum", 30, 15, 0, 15),
    ("Billing", "metric", "days_overdue", "latest", 30, 45, 0, 15),
    ("CSAT", "csat_percent", None, "latest", 180, 50, 90, 10),
    ("Check-in sentiment", "checkin_sentiment", None, "latest", 120, 1, 5, 20),
]


def create_default_model(apps, schema_editor):
    MetricDefinition = apps.get_model("accounts", "MetricDefinition")
    HealthModel = apps.get_model("scoring", "HealthModel")
    HealthModelVersion = apps.get_model("scoring", "HealthModelVersion")
    Component = apps.get_model("scoring", "Component")
    if HealthModel.objects.filter(segment="").exists():
        return
    metrics = {}
    for key, label, unit, description in METRICS:
        metrics[key], _ = MetricDefinition.objects.get_or_create(
            key=key, defaults={"label": label, "unit": unit, "description": description}
        )
    model = HealthModel.objects.create(name="Default health model", segment="")
    version = HealthModelVersion.objects.create(model=model, number=1)
    for position, (label, input_name, metric, reading, window, poor, good, weight) in enumerate(COMPONENTS):
        Component.objects.create(
            version=version, position=position, label=label, input=input_name, metric=metrics.get(metric),
            reading=reading, window_days=window, poor=poor, good=good, weight=weight,
        )  # fmt: skip
    model.current_version = version
    model.save()


class Migration(migrations.Migration):
    dependencies = [("scoring", "0001_initial"), ("accounts", "0002_contact_bounced_notifications")]

    operations = [migrations.RunPython(create_default_model, migrations.RunPython.noop)]
