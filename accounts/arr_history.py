"""Recording ARR changes (accounts.models.ArrChange): one row per account whose ARR became different."""

import datetime
from decimal import Decimal

from django.utils import timezone

from accounts.models import ArrChange, User


def arr_changes_record(
    *,
    before: dict[int, Decimal | None],
    after: dict[int, Decimal],
    source: str,
    by: User | None = None,
    on: datetime.date | None = None,
) -> int:
    """Record the accounts in `after` whose ARR differs from `before` (None or absent: a new account,
    whose first row is its starting ARR). One INSERT; returns how many rows."""
    on = on or timezone.localdate()
    rows = []
    for account_id, arr in after.items():
        previous = before.get(account_id)
        if previous is not None and previous == arr:
            continue
        rows.append(
            ArrChange(
                account_id=account_id,
                on=on,
                arr=arr,
                previous_arr=previous,
                source=ArrChange.Source.START if previous is None else source,
                by=by,
            )
        )
    ArrChange.objects.bulk_create(rows, batch_size=2000)
    return len(rows)
