"""CSV import of renewal history, for teams moving in: past renewals with their outcomes, the open
renewal of each account, and the CSM's forecast calls on them.

One row is one renewal, or one forecast call on a renewal: a renewal with three calls is three rows
that repeat the renewal's cells (account, date, ARR, outcome…) and differ in the call columns.
Every row is checked first, against the file and the database; a file with any bad row writes
nothing and lists each bad row with its line and reason. A good file is written in one transaction,
in bulk.

What a good file writes:
- the renewals; a row with the date of an account's open renewal already in Pulse updates that one
  (closes it, or changes its ARR) instead of adding a second;
- the calls (a call already there, same renewal, day and call, is not added twice);
- for each closed renewal, an ARR change (source "renewal") to its new ARR on its renewal date, and
  for an account whose ARR history starts later than its first imported term, its starting ARR
  (the ARR up for renewal) from that term's start, so GRR and NRR can count it;
- an account whose last renewal churned, still active, churns on its closed_on date with the reason,
  as on every route (accounts/churn.py account_churn: the accounts below it too, their open renewals
  closed); an account with an open renewal gets that renewal's date as its renewal date;
- when the file closes the account's latest closed term (Pulse's open renewal too), the account's ARR
  becomes that term's new ARR; and an active account left without an open renewal gets the next term,
  opened a term later (renewals/services.py next_renewal_date), as closing it on its page would.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Min, OuterRef, Subquery
from django.utils import timezone

from accounts.churn import Churn, account_churn
from accounts.csvfiles import (
    CellError,
    RowError,
    RowProblems,
    parse_choice,
    parse_date,
    parse_decimal,
    read_rows,
    storable,
)
from accounts.email_address import normalise_email
from accounts.import_kinds import Prepared
from accounts.models import Account, ArrChange, User
from renewals.models import Call, ChurnReason, ForecastCall, Outcome, Renewal
from renewals.services import next_renewal_date, year_later

FILE = "renewals"
REQUIRED = {"account_external_id", "renewal_date", "arr"}
OPTIONAL = {"outcome", "new_arr", "closed_on", "churn_reason", "call", "call_date", "call_note", "call_by_email"}
CALL_DETAILS = ("call_date", "call_note", "call_by_email")
MAX_ARR = 10**12
MAX_NOTE = 10_000
CHUNK = 5000
IMPORTED_NOTE = "Imported"
# Built once: an enum's .choices is a new list on every call, and a file has many rows.
OUTCOMES, CALLS = Outcome.choices, Call.choices
# The cells that describe the renewal itself: the rows of one renewal must agree on them.
RENEWAL_FIELDS = ("arr", "outcome", "new_arr", "closed_on", "churn_reason_id")


@dataclass
class RenewalPlan:
    """Validated renewals and calls, ready to write, and every problem found on the way.

    renewals: one dict per renewal (account_id, renewal_date, term_start, arr, outcome, new_arr,
    closed_on, churn_reason_id, pk of the open renewal it updates or None); calls: one dict per call
    (account_id, renewal_date, call, made_on, note, made_by_id).
    """

    renewals: list[dict] = field(default_factory=list)
    calls: list[dict] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows_read: int = 0


@dataclass
class _Lookups:
    accounts: dict[str, tuple[int, int | None, str]]  # external id -> (pk, owner id, status)
    reasons: dict[str, int]  # lower-case name -> pk
    reason_names: dict[int, str]
    users: dict[str, int]  # normalised email -> pk
    existing: dict[int, list[tuple[datetime.date, str, int]]]  # account id -> [(date, outcome, pk)]


def _chunks(values: list):
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _lookups(rows) -> _Lookups:
    """Everything the rows name, in a handful of queries whatever the file's size."""
    external_ids = sorted({row["account_external_id"] for _, row in rows if storable(row["account_external_id"])})
    emails = sorted(
        {normalise_email(row.get("call_by_email", "")) for _, row in rows if storable(row.get("call_by_email", ""))}
        - {""}
    )
    accounts = {}
    for chunk in _chunks(external_ids):
        accounts.update(
            {
                external_id: (pk, owner_id, status)
                for external_id, pk, owner_id, status in Account.objects.filter(external_id__in=chunk).values_list(
                    "external_id", "pk", "owner_id", "status"
                )
            }
        )
    users = {}
    for chunk in _chunks(emails):
        users.update(dict(User.objects.filter(email__in=chunk).values_list("email", "pk")))
    existing: dict[int, list] = defaultdict(list)
    account_ids = [pk for pk, _, _ in accounts.values()]
    for chunk in _chunks(account_ids):
        for account_id, date, outcome, pk in Renewal.objects.filter(account_id__in=chunk).values_list(
            "account_id", "renewal_date", "outcome", "pk"
        ):
            existing[account_id].append((date, outcome, pk))
    reasons = list(ChurnReason.objects.values_list("pk", "name"))
    return _Lookups(
        accounts=accounts,
        reasons={name.lower(): pk for pk, name in reasons},
        reason_names=dict(reasons),
        users=users,
        existing=existing,
    )


def _amount(problems: RowProblems, column: str, value: str) -> Decimal | None:
    amount = problems.read(parse_decimal, column, value)
    if amount is None:
        return None
    if amount < 0:
        problems.add(f"{column} {value} is negative")
        return None
    if amount >= MAX_ARR:
        problems.add(f"{column} {value} is more than {MAX_ARR:,}")
        return None
    return round(amount, 2)


def _row_values(row: dict, lookups: _Lookups, today: datetime.date) -> tuple[dict, dict | None]:
    """(the renewal's values, the call's values or None) of one row, or CellError with all its problems."""
    problems = RowProblems()
    problems.single_line(row, "account_external_id", "churn_reason", "call_by_email")
    problems.text(row, "call_note", max_length=MAX_NOTE)
    external_id = row["account_external_id"]
    account = None
    if not external_id:
        problems.add("account_external_id is empty")
    elif (account := lookups.accounts.get(external_id)) is None:
        problems.add(f"account_external_id {external_id!r} matches no account")
    renewal_date = problems.read(parse_date, "renewal_date", row["renewal_date"])
    if not row["renewal_date"]:
        problems.add("renewal_date is empty")
    arr = _amount(problems, "arr", row["arr"])
    if not row["arr"]:
        problems.add("arr is empty (the ARR up for renewal)")
    outcome = problems.read(parse_choice, "outcome", row.get("outcome", ""), OUTCOMES) or ""
    new_arr = _amount(problems, "new_arr", row.get("new_arr", ""))
    closed_on = problems.read(parse_date, "closed_on", row.get("closed_on", ""))
    if closed_on is not None and closed_on > today:
        problems.add(f"closed_on {closed_on} is in the future")
    reason_text = row.get("churn_reason", "")
    reason_id = lookups.reasons.get(reason_text.lower()) if reason_text else None
    if reason_text and reason_id is None:
        known = ", ".join(lookups.reason_names.values())
        problems.add(f"churn_reason {reason_text!r} is not one of the churn reasons ({known})")

    if not outcome and row.get("outcome", "") == "":
        for column in ("new_arr", "closed_on", "churn_reason"):
            if row.get(column):
                problems.add(f"{column} is given but outcome is empty (an open renewal has none)")
    elif outcome:
        if not row.get("closed_on"):
            problems.add("closed_on is empty: a closed renewal needs the day it closed")
        if outcome == Outcome.CHURNED:
            if new_arr is None and not row.get("new_arr"):
                new_arr = Decimal("0.00")
            if new_arr is not None and new_arr != 0:
                problems.add(f"new_arr {row['new_arr']} must be 0 or empty for a churned renewal")
            if not reason_text:
                problems.add("churn_reason is empty: a churned renewal needs its reason")
        else:
            if reason_text:
                problems.add(f"churn_reason is only for a churned renewal, not a {outcome} one")
            if not row.get("new_arr"):
                problems.add("new_arr is empty: a closed renewal needs its new ARR")
            elif new_arr is not None and arr is not None:
                cells = f"new_arr {row['new_arr']}", f"arr {row['arr']}"
                if outcome == Outcome.RENEWED and new_arr != arr:
                    problems.add(f"outcome renewed (flat) but {cells[0]} differs from {cells[1]}")
                elif outcome == Outcome.EXPANDED and new_arr <= arr:
                    problems.add(f"outcome expanded but {cells[0]} is not more than {cells[1]}")
                elif outcome == Outcome.CONTRACTED and not 0 < new_arr < arr:
                    problems.add(
                        f"outcome contracted but {cells[0]} is not between 0 and {cells[1]} (a renewal to 0 is churned)"
                    )

    call = problems.read(parse_choice, "call", row.get("call", ""), CALLS)
    call_values = None
    if call is None and not row.get("call"):
        for column in CALL_DETAILS:
            if row.get(column):
                problems.add(f"{column} is given but call is empty")
    elif call is not None:
        made_on = problems.read(parse_date, "call_date", row.get("call_date", ""))
        if not row.get("call_date"):
            problems.add("call_date is empty: a call needs the day it was made")
        elif made_on is not None and made_on > today:
            problems.add(f"call_date {made_on} is in the future")
        email = normalise_email(row.get("call_by_email", ""))
        made_by_id = account[1] if account else None  # blank: the account's CSM
        if email:
            made_by_id = lookups.users.get(email)
            if made_by_id is None:
                problems.add(f"call_by_email {row['call_by_email']!r} is not a Pulse user")
        call_values = {"call": call, "made_on": made_on, "note": row.get("call_note", ""), "made_by_id": made_by_id}
    problems.raise_any()
    renewal = {
        "account_id": account[0],
        "renewal_date": renewal_date,
        "arr": arr,
        "outcome": outcome,
        "new_arr": new_arr if outcome else None,
        "closed_on": closed_on if outcome else None,
        "churn_reason_id": reason_id if outcome == Outcome.CHURNED else None,
    }
    return renewal, call_values


def _differences(renewal: dict, other: dict) -> list[str]:
    return [name.removesuffix("_id") for name in RENEWAL_FIELDS if renewal[name] != other[name]]


def renewals_csv_validate(text: str, *, today: datetime.date | None = None, progress=None) -> RenewalPlan:
    """Read and check every row; nothing is written. `progress(rows checked)` is called every 500 rows."""
    plan = RenewalPlan()
    today = today or timezone.localdate()
    progress = progress or (lambda done: None)
    rows, plan.errors = read_rows(text, file=FILE, required=REQUIRED, optional=OPTIONAL)
    lookups = _lookups(rows)
    external_of = {pk: external_id for external_id, (pk, _, _) in lookups.accounts.items()}
    row_errors: list[RowError] = []
    renewals: dict[tuple[int, datetime.date], dict] = {}  # (account id, date) -> values with their "line"
    calls: list[dict] = []
    open_line: dict[int, tuple[datetime.date, int]] = {}  # account id -> (date, line) of its open renewal
    for line, row in rows:
        plan.rows_read += 1
        if plan.rows_read % 500 == 0:
            progress(plan.rows_read)
        try:
            renewal, call = _row_values(row, lookups, today)
            key = (renewal["account_id"], renewal["renewal_date"])
            external_id = row["account_external_id"]
            if (first := renewals.get(key)) is not None:
                if changed := _differences(renewal, first):
                    raise CellError(
                        f"the renewal of {external_id} on {key[1]} is also on line {first['line']} "
                        f"with a different {', '.join(changed)}"
                    )
                if call is None:
                    raise CellError(
                        f"the renewal of {external_id} on {key[1]} is also on line {first['line']}; "
                        "a second row for a renewal adds a call (one call per row)"
                    )
            else:
                if not renewal["outcome"]:
                    if (other := open_line.get(key[0])) is not None:
                        raise CellError(
                            f"account {external_id} has another open renewal in this file, on {other[0]} "
                            f"(line {other[1]}); an account has one open renewal at most"
                        )
                    open_line[key[0]] = (key[1], line)
                renewals[key] = {**renewal, "line": line}
            if call is not None:
                calls.append({**call, "account_id": key[0], "renewal_date": key[1]})
        except CellError as exc:
            row_errors.append(RowError(FILE, line, str(exc)))
    if not row_errors and not plan.errors:
        row_errors = _history_problems(renewals, lookups, external_of)
    plan.errors.extend(row_errors)
    plan.errors.sort(key=lambda error: error.line)  # the lookup pass found the rows with a wrong cell count
    if not plan.errors:
        plan.renewals = _with_terms(renewals, lookups)
        plan.calls = calls
    return plan


def _history_problems(renewals: dict, lookups: _Lookups, external_of: dict[int, str]) -> list[RowError]:
    """What is wrong with each account's renewals taken together, with what Pulse has already."""
    errors = []
    by_account: dict[int, list[dict]] = defaultdict(list)
    status_of = {pk: status for pk, _, status in lookups.accounts.values()}
    for values in renewals.values():
        by_account[values["account_id"]].append(values)
    for account_id, mine in by_account.items():
        external_id = external_of[account_id]
        status = status_of[account_id]
        dates = {values["renewal_date"] for values in mine}
        existing = {date: (outcome, pk) for date, outcome, pk in lookups.existing.get(account_id, [])}
        for values in mine:
            if (found := existing.get(values["renewal_date"])) is not None:
                if found[0]:
                    errors.append(
                        RowError(
                            FILE,
                            values["line"],
                            f"account {external_id} already has a closed renewal on {values['renewal_date']} "
                            "(imported before?)",
                        )
                    )
                else:
                    values["pk"] = found[1]  # this row updates the open renewal Pulse has
        open_there = [date for date, (outcome, _) in existing.items() if not outcome and date not in dates]
        mine.sort(key=lambda values: values["renewal_date"])
        open_mine = [values for values in mine if not values["outcome"]]
        closed_mine = [values for values in mine if values["outcome"]]
        if open_mine and open_there:
            errors.append(
                RowError(
                    FILE,
                    open_mine[0]["line"],
                    f"account {external_id} already has an open renewal, on {open_there[0]}: give that date "
                    "to update it, or close it on its own row",
                )
            )
        open_dates = [values["renewal_date"] for values in open_mine] + open_there
        if open_dates and closed_mine and closed_mine[-1]["renewal_date"] > min(open_dates):
            where = f"line {open_mine[0]['line']}" if open_mine else "in Pulse"
            errors.append(
                RowError(
                    FILE,
                    closed_mine[-1]["line"],
                    f"account {external_id}'s open renewal on {min(open_dates)} ({where}) is before this closed "
                    "one: the open renewal is the latest (close that one too, on its own row)",
                )
            )
        all_dates = dates | set(existing)
        for values in closed_mine:
            later = sorted(date for date in all_dates if date > values["renewal_date"])
            if values["outcome"] == Outcome.CHURNED and later:
                errors.append(
                    RowError(
                        FILE,
                        values["line"],
                        f"account {external_id} churned at this renewal but has a later one, on {later[0]}: "
                        "a churned renewal is the account's last",
                    )
                )
        if status == Account.Status.CHURNED and open_mine:
            errors.append(
                RowError(
                    FILE,
                    open_mine[0]["line"],
                    f"account {external_id} has churned: it has no open renewal (mark it active first)",
                )
            )
    return errors


def _with_terms(renewals: dict, lookups: _Lookups) -> list[dict]:
    """Each renewal with its term's start (the account's previous renewal in the file, else a year
    before) and the pk of the open renewal it updates (None for a new one)."""
    result = []
    previous: dict[int, datetime.date] = {}
    for values in sorted(renewals.values(), key=lambda values: (values["account_id"], values["renewal_date"])):
        date = values["renewal_date"]
        start = previous.get(values["account_id"]) or year_later(date, -1)
        previous[values["account_id"]] = date
        result.append({**values, "term_start": start, "pk": values.get("pk")})
    return result


@transaction.atomic
def renewals_import_apply(*, plan: RenewalPlan, by: User | None = None) -> dict:
    """Write a plan with no errors, in bulk; returns counts of what was written."""
    assert not plan.errors, "a plan with errors must not be applied"
    renewals = [_renewal(values) for values in plan.renewals]
    updated = [renewal for renewal in renewals if renewal.pk is not None]
    # The open renewals closed first: a new open one for the same account would meet the old one.
    Renewal.objects.bulk_update(
        updated, ["arr", "outcome", "new_arr", "closed_on", "churn_reason", "outcome_note"], batch_size=1000
    )
    new = [renewal for renewal in renewals if renewal.pk is None]
    Renewal.objects.bulk_create(new, batch_size=1000)
    renewal_ids = {(values["account_id"], values["renewal_date"]): values["pk"] for values in plan.renewals}
    renewal_ids |= {(renewal.account_id, renewal.renewal_date): renewal.pk for renewal in new}

    present = set(
        ForecastCall.objects.filter(renewal_id__in=[renewal.pk for renewal in updated]).values_list(
            "renewal_id", "made_on", "call"
        )
    )
    calls = []
    for values in plan.calls:
        renewal_id = renewal_ids[(values["account_id"], values["renewal_date"])]
        if (renewal_id, values["made_on"], values["call"]) in present:
            continue
        present.add((renewal_id, values["made_on"], values["call"]))
        calls.append(
            ForecastCall(
                renewal_id=renewal_id,
                call=values["call"],
                note=values["note"],
                made_on=values["made_on"],
                made_by_id=values["made_by_id"],
            )
        )
    ForecastCall.objects.bulk_create(calls, batch_size=1000)

    arr_changes = _arr_changes(plan.renewals, by=by)
    ArrChange.objects.bulk_create(arr_changes, batch_size=1000)
    return {
        "renewals_created": len(new),
        "open_renewals_updated": len(updated),
        "forecast_calls_added": len(calls),
        "arr_changes_recorded": len(arr_changes),
        **_accounts_update(plan.renewals, by=by),
    }


def _renewal(values: dict) -> Renewal:
    """The renewal a validated row describes: the open one it updates (its pk), or a new one."""
    return Renewal(
        pk=values["pk"],
        account_id=values["account_id"],
        renewal_date=values["renewal_date"],
        term_start=values["term_start"],
        arr=values["arr"],
        outcome=values["outcome"],
        new_arr=values["new_arr"],
        closed_on=values["closed_on"],
        churn_reason_id=values["churn_reason_id"],
        outcome_note=IMPORTED_NOTE if values["outcome"] else "",
    )


def _arr_changes(renewals: list[dict], *, by: User | None) -> list[ArrChange]:
    """Each closed renewal's new ARR from its renewal date, and a starting ARR for an account whose
    history begins after its first imported term did."""
    closed = [values for values in renewals if values["outcome"]]
    first_change = dict(
        ArrChange.objects.filter(account_id__in={values["account_id"] for values in closed})
        .values("account_id")
        .annotate(first=Min("on"))
        .values_list("account_id", "first")
    )
    rows, started = [], set()
    for values in sorted(closed, key=lambda values: (values["account_id"], values["renewal_date"])):
        account_id = values["account_id"]
        if account_id not in started:
            started.add(account_id)
            first = first_change.get(account_id)
            if first is None or first > values["term_start"]:
                rows.append(
                    ArrChange(
                        account_id=account_id,
                        on=values["term_start"],
                        arr=values["arr"],
                        source=ArrChange.Source.START,
                        by=by,
                    )
                )
        rows.append(
            ArrChange(
                account_id=account_id,
                on=values["renewal_date"],
                arr=values["new_arr"],
                previous_arr=values["arr"],
                source=ArrChange.Source.RENEWAL,
                by=by,
            )
        )
    return rows


def _latest(renewals, account_ids: list[int]) -> dict[int, Renewal]:
    """Each account's latest renewal among `renewals` (a queryset); one query per 5,000 accounts."""
    newest = renewals.filter(account_id=OuterRef("account_id")).order_by("-renewal_date").values("renewal_date")
    found = {}
    for chunk in _chunks(account_ids):
        found.update(
            (renewal.account_id, renewal)
            for renewal in renewals.filter(account_id__in=chunk, renewal_date=Subquery(newest[:1]))
        )
    return found


def _accounts_update(renewals: list[dict], *, by: User | None) -> dict:
    """What the file's renewals change on their accounts, in bulk; returns the summary's counts.

    An active account whose last renewal churned churns (account_churn). The account's latest closed
    term, when the file closed it, gives the account its new ARR, and the next term when no renewal is
    open; an open renewal in the file gives the account its renewal date.
    """
    in_file = {(values["account_id"], values["renewal_date"]) for values in renewals}
    account_ids = sorted({account_id for account_id, _ in in_file})
    accounts = {account.pk: account for account in Account.objects.filter(pk__in=account_ids)}
    open_ones = _latest(Renewal.objects.open(), account_ids)
    reason_names = dict(ChurnReason.objects.values_list("pk", "name"))
    churns, changed, next_terms = {}, {}, []
    for account_id, closed in _latest(Renewal.objects.closed(), account_ids).items():
        account = accounts[account_id]
        if (account_id, closed.renewal_date) not in in_file or account.status != Account.Status.ACTIVE:
            continue
        if closed.outcome == Outcome.CHURNED:
            churns[account_id] = Churn(on=closed.closed_on, reason=reason_names[closed.churn_reason_id])
            continue
        account.arr = closed.new_arr
        if account_id not in open_ones:
            account.renewal_date = next_renewal_date(closed)
            next_terms.append(
                Renewal(
                    account_id=account_id,
                    term_start=closed.renewal_date,
                    renewal_date=account.renewal_date,
                    arr=closed.new_arr,
                )
            )
        changed[account_id] = account
    dated = 0
    for account_id, current in open_ones.items():
        account = accounts[account_id]
        if (account_id, current.renewal_date) in in_file and account.renewal_date != current.renewal_date:
            account.renewal_date = current.renewal_date
            changed[account_id] = account
            dated += 1
    now = timezone.now()
    for account in changed.values():
        account.updated_at = now
    Account.objects.bulk_update(list(changed.values()), ["arr", "renewal_date", "updated_at"], batch_size=1000)
    Renewal.objects.bulk_create(next_terms, batch_size=1000)
    below = len(account_churn(churns=churns, by=by)) - len(churns)
    result = {"accounts_churned": len(churns), "renewal_dates_set": dated}
    if next_terms:
        result["next_terms_opened"] = len(next_terms)
    if below:
        result["accounts_below_churned_with_them"] = below
    return result


def renewals_import_prepare(files: dict, progress) -> Prepared:
    """The renewal history import job: read whole, then written in one go (accounts/import_kinds.py)."""
    plan = renewals_csv_validate(files["renewals"], progress=progress)
    return Prepared(plan.errors, plan.rows_read, lambda by: renewals_import_apply(plan=plan, by=by))
