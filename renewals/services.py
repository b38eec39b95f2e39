"""Writes with rules: a forecast call, and closing a renewal (its outcome, churn, ARR and the next term)."""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.arr_history import arr_changes_record
from accounts.hierarchy import descendant_ids
from accounts.models import Account, ArrChange, User
from renewals.models import ChurnReason, ForecastCall, Outcome, Renewal


def year_later(day: datetime.date, years: int = 1) -> datetime.date:
    """The same day `years` later (Feb 29 becomes Feb 28)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def next_renewal_date(renewal: Renewal) -> datetime.date:
    """A term later: as long as the closed term (whole years stay on the same day), a year when it had no start."""
    start, end = renewal.term_start, renewal.renewal_date
    if start is None or start >= end:
        return year_later(end)
    years = end.year - start.year
    if years > 0 and year_later(start, years) == end:
        return year_later(end, years)
    return end + (end - start)


def forecast_call_record(*, renewal: Renewal, call: str, note: str, by: User, made_on: datetime.date | None = None):
    """Add a call to an open renewal: a new row, earlier calls kept (what was said when)."""
    if not renewal.is_open:
        raise ValidationError("This renewal is closed: its calls can no longer change.")
    return ForecastCall.objects.create(
        renewal=renewal, call=call, note=note, made_by=by, made_on=made_on or timezone.localdate()
    )


def outcome_problems(*, arr: Decimal, outcome: str, new_arr: Decimal | None, churn_reason) -> dict[str, str]:
    """What is wrong with an outcome, by field: the rules the close form and the import share."""
    problems = {}
    if outcome == Outcome.CHURNED:
        if churn_reason is None:
            problems["churn_reason"] = "A churned renewal needs a reason."
        if new_arr not in (None, 0):
            problems["new_arr"] = "A churned renewal has no new ARR."
        return problems
    if new_arr is None:
        problems["new_arr"] = "Give the new ARR."
    elif outcome == Outcome.RENEWED and new_arr != arr:
        problems["new_arr"] = f"Renewed flat keeps the ARR at {arr:,.2f}; pick expanded or contracted."
    elif outcome == Outcome.EXPANDED and new_arr <= arr:
        problems["new_arr"] = f"An expansion's new ARR is above {arr:,.2f}."
    elif outcome == Outcome.CONTRACTED and not 0 < new_arr < arr:
        problems["new_arr"] = f"A contraction's new ARR is between 0 and {arr:,.2f}; none at all is churn."
    if churn_reason is not None:
        problems["churn_reason"] = "Only a churned renewal has a churn reason."
    return problems


@transaction.atomic
def renewal_close(
    *,
    renewal: Renewal,
    outcome: str,
    new_arr: Decimal | None,
    closed_on: datetime.date,
    by: User,
    churn_reason: ChurnReason | None = None,
    note: str = "",
) -> Renewal | None:
    """Close an open renewal; returns the next term's renewal (None when the account churned).

    Renewed, expanded or contracted: the account's ARR becomes the new ARR (recorded in its history
    on the renewal date, or on the closed date when that is earlier) and the next term opens a term
    later. Churned: the account churns on the closed date with the reason, and so does every account
    below it (the contract was the group's). The row is locked, so two people closing it at once close it once.
    """
    renewal = Renewal.objects.select_for_update().select_related("account").get(pk=renewal.pk)
    if not renewal.is_open:
        raise ValidationError("This renewal is already closed.")
    new_arr = Decimal(0) if outcome == Outcome.CHURNED else new_arr
    problems = outcome_problems(arr=renewal.arr, outcome=outcome, new_arr=new_arr, churn_reason=churn_reason)
    if problems:
        raise ValidationError(problems)
    renewal.outcome, renewal.new_arr, renewal.closed_on = outcome, new_arr, closed_on
    renewal.churn_reason, renewal.outcome_note, renewal.closed_by = churn_reason, note, by
    renewal.save(update_fields=["outcome", "new_arr", "closed_on", "churn_reason", "outcome_note", "closed_by"])
    account = renewal.account
    if outcome == Outcome.CHURNED:
        churned = [account.pk, *descendant_ids([account.pk])]
        Account.objects.filter(pk__in=churned, status=Account.Status.ACTIVE).update(
            status=Account.Status.CHURNED,
            churned_on=closed_on,
            churn_reason=churn_reason.name,
            renewal_date=None,
            updated_at=timezone.now(),
        )
        # The accounts below leave with their own open renewals, closed as churned on the same day.
        Renewal.objects.open().filter(account_id__in=churned).update(
            outcome=Outcome.CHURNED, new_arr=0, closed_on=closed_on, churn_reason=churn_reason, closed_by=by
        )
        return None
    arr_changes_record(
        before={account.pk: account.arr},
        after={account.pk: new_arr},
        source=ArrChange.Source.RENEWAL,
        by=by,
        # Closed early, the account's ARR changes now: its history says so from the same day.
        on=min(renewal.renewal_date, closed_on),
    )
    next_date = next_renewal_date(renewal)
    Account.objects.filter(pk=account.pk).update(arr=new_arr, renewal_date=next_date, updated_at=timezone.now())
    return Renewal.objects.create(account=account, term_start=renewal.renewal_date, renewal_date=next_date, arr=new_arr)


def renewal_open(*, account: Account, renewal_date: datetime.date, arr: Decimal | None = None) -> Renewal:
    """Open the account's renewal when it has none (an account given a renewal date)."""
    renewal = Renewal.objects.create(
        account=account,
        renewal_date=renewal_date,
        term_start=year_later(renewal_date, -1),
        arr=account.arr if arr is None else arr,
    )
    Account.objects.filter(pk=account.pk).update(renewal_date=renewal_date)
    return renewal
