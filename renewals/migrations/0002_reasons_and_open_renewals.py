"""A starting list of churn reasons, and an open renewal for each active account with a renewal date."""

import datetime

from django.db import migrations

REASONS = ["Budget cut", "Chose a competitor", "Company acquired or closed", "Low adoption", "Missing features",
           "Poor support experience", "Champion left", "Other"]


def seed(apps, schema_editor):
    ChurnReason = apps.get_model("renewals", "ChurnReason")
    Account = apps.get_model("accounts", "Account")
    Renewal = apps.get_model("renewals", "Renewal")
    ChurnReason.objects.bulk_create([ChurnReason(name=name) for name in REASONS], ignore_conflicts=True)
    accounts = Account.objects.filter(status="active", renewal_date__isnull=False)
    Renewal.objects.bulk_create(
        [
            Renewal(account_id=pk, renewal_date=date, term_start=date - datetime.timedelta(days=365), arr=arr)
            for pk, date, arr in accounts.values_list("pk", "renewal_date", "arr").iterator()
        ],
        batch_size=2000,
    )


class Migration(migrations.Migration):
    dependencies = [("renewals", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
