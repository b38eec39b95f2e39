"""Store every user's email in the normalised form that logins look up exactly (accounts/email_address.py)."""

import unicodedata
from collections import defaultdict

from django.db import migrations


def _normalise(value: str) -> str:
    # A copy of accounts.email_address.normalise_email as of this migration: migrations must not
    # change meaning when the app's code does.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value.strip()).casefold())


def normalise_user_emails(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    by_address = defaultdict(list)
    for pk, email in User.objects.values_list("pk", "email"):
        by_address[_normalise(email)].append((pk, email))
    clashes = {address: rows for address, rows in by_address.items() if len(rows) > 1}
    if clashes:
        listed = "; ".join(", ".join(email for _, email in rows) for rows in clashes.values())
        raise RuntimeError(
            "These users' emails differ only in case or Unicode form, so they would become one address: "
            f"{listed}. Change all but one of each group (Django admin → Users), then migrate again."
        )
    changed = [User(pk=pk, email=address) for address, [(pk, email)] in by_address.items() if email != address]
    User.objects.bulk_update(changed, ["email"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_contact_email_hash_and_suppression_seed"),
    ]

    operations = [
        migrations.RunPython(normalise_user_emails, migrations.RunPython.noop),
    ]
