"""Fill the suppression key of existing contacts, and seed the suppression list from the
contacts already opted out or bounced (the earliest date per address), so no opt-out is lost
when re-adding a contact or on another account."""

import hashlib
import unicodedata

from django.db import migrations


def _hash(address: str) -> str:
    # A frozen copy of accounts.email_address.address_hash: migrations must not follow later code changes.
    normalised = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", address or "").casefold()).strip()
    return hashlib.sha256(normalised.encode()).hexdigest() if normalised else ""


def forwards(apps, schema_editor):
    Contact = apps.get_model("accounts", "Contact")
    SuppressedAddress = apps.get_model("accounts", "SuppressedAddress")
    contacts, suppressed = [], {}
    for contact in Contact.objects.only("pk", "email", "opted_out_at", "bounced_at").iterator(chunk_size=2000):
        contact.email_hash = _hash(contact.email)
        contacts.append(contact)
        if contact.email_hash and (contact.opted_out_at or contact.bounced_at):
            row = suppressed.setdefault(contact.email_hash, {"opted_out_at": None, "bounced_at": None})
            for field in ("opted_out_at", "bounced_at"):
                value = getattr(contact, field)
                if value and (row[field] is None or value < row[field]):
                    row[field] = value
    Contact.objects.bulk_update(contacts, ["email_hash"], batch_size=2000)
    SuppressedAddress.objects.bulk_create(
        [SuppressedAddress(address_hash=key, **dates) for key, dates in suppressed.items()],
        ignore_conflicts=True,
        batch_size=2000,
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_contact_archive_and_suppression_list")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
