"""Stored bands were decided on the unrounded score: 39.5 was red while shown as 40.

A band is now decided on the whole number shown (half away from zero, see core.numbers): a
score of at least `threshold − 0.5` reaches the threshold. Scores are 0-100, so that is the
whole rule. Two UPDATEs per model version, whatever the number of snapshots.
"""

from django.db import migrations


def rebanded(apps, schema_editor):
    Version = apps.get_model("scoring", "HealthModelVersion")
    Snapshot = apps.get_model("scoring", "HealthSnapshot")
    for version_id, red_below, green_from in Version.objects.values_list("pk", "red_below", "green_from"):
        scored = Snapshot.objects.filter(version_id=version_id, band__in=["red", "yellow"])
        # Just under green_from, shown as green_from: green.
        scored.filter(score__gte=green_from - 0.5, score__lt=green_from).update(band="green")
        # Just under red_below, shown as red_below: yellow (green when the two thresholds are equal).
        scored.filter(band="red", score__gte=red_below - 0.5, score__lt=red_below).update(
            band="green" if red_below >= green_from else "yellow"
        )


class Migration(migrations.Migration):
    dependencies = [("scoring", "0003_snapshot_day_index")]

    operations = [migrations.RunPython(rebanded, migrations.RunPython.noop)]
