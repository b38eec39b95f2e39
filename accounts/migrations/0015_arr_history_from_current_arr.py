"""Each existing account's ARR becomes its starting ARR, from the day it was created."""

from django.db import migrations


def backfill(apps, schema_editor):
    Account = apps.get_model("accounts", "Account")
    ArrChange = apps.get_model("accounts", "ArrChange")
    rows = [
        ArrChange(account_id=pk, on=created_at.date(), arr=arr, source="start")
        for pk, arr, created_at in Account.objects.values_list("pk", "arr", "created_at").iterator()
    ]
    ArrChange.objects.bulk_create(rows, batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0014_account_parent_and_arr_history")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
