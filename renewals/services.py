"""Writes with rules: a forecast call, and closing a renewal (its outcome, churn, ARR and the next term)."""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.arr_history import arr_changes_record
from accounts.churn import Churn, account_churn
from accounts.models import Account, ArrChange, User
from renewals.models import ChurnReason, ForecastCall, Outcome, Renewal

CHUNK = 5000  # accounts per query: well under SQLite's limit on parameters
OTHER_REASON = "Other"  # a churn whose reason names none of the list (seeded by migration 0002)


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
    below it (accounts/churn.py account_churn: the contract was the group's). The row is locked, so two
    people closing it at once close it once.
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
        # The accounts below leave too, their open renewals closed with the reason of the same name.
        account_churn(churns={account.pk: Churn(on=closed_on, reason=churn_reason.name)}, by=by)
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


def renewals_close_churned(*, churns: dict[int, Churn], by: User | None) -> int:
    """Close the open renewals of these churned accounts as churned on each one's day; returns how many.

    The reason is the churn reason named like the account's (any case), else "Other" (created if missing).
    One read of the reasons, one of the open renewals per 5,000 accounts, one UPDATE per 1,000 renewals.
    """
    reasons = {reason.name.lower(): reason for reason in ChurnReason.objects.all()}
    renewals = []
    ids = sorted(churns)
    for start in range(0, len(ids), CHUNK):
        renewals += Renewal.objects.open().filter(account_id__in=ids[start : start + CHUNK]).only("pk", "account_id")
    for renewal in renewals:
        churn = churns[renewal.account_id]
        reason = reasons.get(churn.reason.lower())
        if reason is None:
            if OTHER_REASON.lower() not in reasons:
                reasons[OTHER_REASON.lower()] = ChurnReason.objects.get_or_create(name=OTHER_REASON)[0]
            reason = reasons[OTHER_REASON.lower()]
        renewal.outcome, renewal.new_arr, renewal.closed_on = Outcome.CHURNED, Decimal(0), churn.on
        renewal.churn_reason, renewal.closed_by = reason, by
    Renewal.objects.bulk_update(
        renewals, ["outcome", "new_arr", "closed_on", "churn_reason", "closed_by"], batch_size=1000
    )
    return len(renewals)


def renewals_follow_dates(*, account_ids) -> int:
    """Keep each active account's open renewal on its renewal date; returns how many renewals moved or opened.

    A new date moves the open renewal; an account without one gets one (a year's term, its ARR). A date
    that is already one of the account's renewals (the open one's, or a closed term's) changes nothing:
    two terms never share a day. A fixed number of queries per 5,000 accounts, whatever their renewals.
    """
    ids = sorted(set(account_ids))
    moved, opened = [], []
    for start in range(0, len(ids), CHUNK):
        accounts = Account.objects.filter(
            pk__in=ids[start : start + CHUNK], status=Account.Status.ACTIVE, renewal_date__isnull=False
        ).values_list("pk", "renewal_date", "arr")
        accounts = {pk: (day, arr) for pk, day, arr in accounts}
        held, current = set(), {}
        for renewal in Renewal.objects.filter(account_id__in=list(accounts)).only(
            "pk", "account_id", "renewal_date", "outcome"
        ):
            held.add((renewal.account_id, renewal.renewal_date))
            if renewal.is_open:
                current[renewal.account_id] = renewal
        for pk, (day, arr) in accounts.items():
            if (pk, day) in held:
                continue
            if pk in current:
                current[pk].renewal_date = day
                moved.append(current[pk])
            else:
                opened.append(Renewal(account_id=pk, renewal_date=day, term_start=year_later(day, -1), arr=arr))
    Renewal.objects.bulk_update(moved, ["renewal_date"], batch_size=1000)
    Renewal.objects.bulk_create(opened, batch_size=1000)
    return len(moved) + len(opened)


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
