"""The suppression list: addresses no survey email may go to, on any account (accounts.models.SuppressedAddress).

Writes only add: nothing in Pulse lifts an opt-out; only the person could. Reads are conditions
on a contact's `email_hash`, so campaigns check the list in the same query as everything else.
"""

import datetime

from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.email_address import address_hash
from accounts.models import SuppressedAddress

REASONS = ("opted_out", "bounced", "erased")


def address_suppress(*, email: str = "", email_hash: str = "", reason: str, at: datetime.datetime | None = None):
    """Put an address on the suppression list for `reason` (opted_out, bounced, erased).

    The first date of each reason is kept; nothing here or anywhere else clears one.
    """
    addresses_suppress(email_hashes=[email_hash or address_hash(email)], reason=reason, at=at)


def addresses_suppress(*, email_hashes: list[str], reason: str, at: datetime.datetime | None = None) -> None:
    """The bulk form of address_suppress (imports): two queries whatever the count."""
    if reason not in REASONS:
        raise ValueError(f"unknown suppression reason {reason!r}")
    email_hashes = sorted({key for key in email_hashes if key})
    if not email_hashes:
        return
    at = at or timezone.now()
    field = f"{reason}_at"
    SuppressedAddress.objects.bulk_create(
        [SuppressedAddress(address_hash=key, **{field: at}) for key in email_hashes],
        ignore_conflicts=True,
        batch_size=1000,
    )
    SuppressedAddress.objects.filter(address_hash__in=email_hashes, **{f"{field}__isnull": True}).update(**{field: at})


def suppressed(reason: str, *, hash_field: str = "email_hash") -> Exists:
    """A condition true when the row's address (`hash_field`, e.g. "contact__email_hash") is suppressed for `reason`."""
    if reason not in REASONS:
        raise ValueError(f"unknown suppression reason {reason!r}")
    return Exists(
        SuppressedAddress.objects.filter(address_hash=OuterRef(hash_field), **{f"{reason}_at__isnull": False})
    )


def suppressed_any(*, hash_field: str = "email_hash") -> Exists:
    """True when the address is suppressed for any reason (every row has one, by its check constraint)."""
    return Exists(SuppressedAddress.objects.filter(address_hash=OuterRef(hash_field)))
