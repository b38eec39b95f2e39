"""CSV import of accounts and contacts: every row is validated first, then all of it
is written in one transaction, or nothing is. Re-importing a file updates by
external id (accounts) and by account + email (contacts), so nothing duplicates.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from accounts.arr_history import arr_changes_record
from accounts.churn import Churn, account_churn
from accounts.csvfiles import (
    CellError,
    RowError,
    RowProblems,
    parse_bool,
    parse_choice,
    parse_date,
    parse_decimal,
    read_rows,
    storable,
)
from accounts.email_address import address_hash, normalise_email
from accounts.hierarchy import ancestor_parents
from accounts.models import ACTIVE_ACCOUNT_NEEDS_OWNER, Account, ArrChange, Contact, User
from accounts.signals import health_inputs_changed, renewal_dates_changed
from accounts.suppression import addresses_suppress

ACCOUNT_REQUIRED = {"external_id", "name"}
ACCOUNT_OPTIONAL = {
    "owner_email",
    "segment",
    "arr",
    "renewal_date",
    "lifecycle_stage",
    "status",
    "churned_on",
    "churn_reason",
    "parent_external_id",
}
# The account fields the health score depends on (scoring/engine.py): a change recomputes the account.
HEALTH_FIELDS = ("segment", "status")
CONTACT_REQUIRED = {"account_external_id", "email", "name"}
CONTACT_OPTIONAL = {"title", "is_primary", "opted_out"}
MAX_ARR = 10**12
# Built once: an enum's .choices is a new list on every call, and a file has many rows.
SEGMENTS, LIFECYCLE_STAGES, STATUSES = Account.Segment.choices, Account.Lifecycle.choices, Account.Status.choices


@dataclass
class AccountPlan:
    """Validated rows, ready to write, and every problem found on the way."""

    accounts: list[dict] = field(default_factory=list)
    account_columns: set[str] = field(default_factory=set)
    contacts: list[dict] = field(default_factory=list)
    contact_columns: set[str] = field(default_factory=set)
    errors: list[RowError] = field(default_factory=list)
    rows_read: int = 0
    # {external id: its parent's external id or None}, for the rows of a file with parent_external_id.
    parents: dict[str, str | None] = field(default_factory=dict)


def _account_values(row: dict, owners: dict[str, int]) -> dict:
    problems = RowProblems()
    problems.single_line(row, "external_id", "name", "owner_email", "parent_external_id")
    problems.text(row, "churn_reason", max_length=Account._meta.get_field("churn_reason").max_length)
    values = {"external_id": row["external_id"], "name": row["name"]}
    if not values["external_id"]:
        problems.add("external_id is empty")
    if not values["name"]:
        problems.add("name is empty")
    if len(values["external_id"]) > 100 or len(values["name"]) > 200:
        problems.add("external_id is limited to 100 characters and name to 200")
    if "owner_email" in row:
        email = normalise_email(row["owner_email"])  # users' emails are stored normalised
        if email and email not in owners:
            problems.add(f"owner_email {row['owner_email']!r} is not an active Pulse user")
        values["owner_id"] = owners.get(email)
    if "segment" in row:
        values["segment"] = problems.read(parse_choice, "segment", row["segment"], SEGMENTS) or "smb"
    if "arr" in row:
        arr = problems.read(parse_decimal, "arr", row["arr"]) or 0
        if not 0 <= arr < MAX_ARR:
            problems.add(f"arr {row['arr']!r} must be between 0 and {MAX_ARR:,}")
        values["arr"] = round(arr, 2)
    if "renewal_date" in row:
        values["renewal_date"] = problems.read(parse_date, "renewal_date", row["renewal_date"])
    if "lifecycle_stage" in row:
        stage = problems.read(parse_choice, "lifecycle_stage", row["lifecycle_stage"], LIFECYCLE_STAGES)
        values["lifecycle_stage"] = stage or Account.Lifecycle.ONBOARDING
    if "status" in row:
        status = problems.read(parse_choice, "status", row["status"], STATUSES) or "active"
        churned_on = problems.read(parse_date, "churned_on", row.get("churned_on", ""))
        reason = row.get("churn_reason", "")
        if status == Account.Status.CHURNED and churned_on is None and not row.get("churned_on"):
            problems.add("a churned account needs churned_on (YYYY-MM-DD)")
        if status == Account.Status.ACTIVE and (row.get("churned_on") or reason):
            problems.add("churned_on and churn_reason are only for churned accounts")
        values.update(status=status, churned_on=churned_on, churn_reason=reason)
    problems.raise_any()
    return values


def _contact_values(row: dict) -> dict:
    problems = RowProblems()
    problems.single_line(row, "account_external_id", "email", "name", "title")
    email = row["email"].lower()
    try:
        if not storable(email):
            raise ValidationError("NUL")
        validate_email(email)
        if len(email) > Contact._meta.get_field("email").max_length:
            raise ValidationError("too long")
    except ValidationError:
        problems.add(f"email {row['email']!r} is not a valid email address")
    if not row["name"]:
        problems.add("name is empty")
    values = {"account_external_id": row["account_external_id"], "email": email, "name": row["name"][:200]}
    if "title" in row:
        values["title"] = row["title"][:200]
    if "is_primary" in row:
        values["is_primary"] = problems.read(parse_bool, "is_primary", row["is_primary"])
    if "opted_out" in row:
        values["opted_out"] = problems.read(parse_bool, "opted_out", row["opted_out"])
    problems.raise_any()
    return values


def _ownerless_active_accounts(accounts: list[dict], lines: dict[str, int]) -> list[RowError]:
    """Rows that would leave an active account without an owner: out of every CSM's and manager's scope.

    A row without the owner_email (or status) column keeps what the account has; a new account is active.
    """
    existing = {}
    external_ids = [values["external_id"] for values in accounts]
    for start in range(0, len(external_ids), 5000):
        chunk = Account.objects.filter(external_id__in=external_ids[start : start + 5000])
        existing.update(
            {eid: (owner, status) for eid, owner, status in chunk.values_list("external_id", "owner_id", "status")}
        )
    errors = []
    for values in accounts:
        owner_id, status = existing.get(values["external_id"], (None, Account.Status.ACTIVE))
        if values.get("status", status) == Account.Status.ACTIVE and values.get("owner_id", owner_id) is None:
            message = f"{ACTIVE_ACCOUNT_NEEDS_OWNER[:-1]}: owner_email must name an active Pulse user"
            errors.append(RowError("accounts", lines[values["external_id"]], message))
    return errors


def _parent_errors(parents: dict[str, tuple[str, int]], file_ids: set[str]) -> list[RowError]:
    """Rows whose parent_external_id names no account (in Pulse or the file) or would make a cycle.

    `parents` is {external id: (parent's external id, line)} for the rows that name one. The hierarchy
    after the import is the file's parents for its rows and the stored ones for every other account,
    read once (accounts/hierarchy.py); each row's chain is walked up until it ends or comes back.
    """
    wanted = {parent for parent, _ in parents.values()} - file_ids
    stored: dict[str, int] = {}
    wanted_list = sorted(wanted)
    for start in range(0, len(wanted_list), 5000):
        chunk = Account.objects.filter(external_id__in=wanted_list[start : start + 5000])
        stored.update(chunk.values_list("external_id", "pk"))
    above = ancestor_parents(stored.values())
    external_ids = dict(Account.objects.filter(pk__in=list(above)).values_list("pk", "external_id")) if above else {}
    stored_parent = {external_ids[pk]: external_ids.get(parent) for pk, parent in above.items() if pk in external_ids}

    def parent_of(external_id: str) -> str | None:
        if external_id in file_ids:
            entry = parents.get(external_id)
            return entry[0] if entry else None
        return stored_parent.get(external_id)

    errors = []
    for external_id, (parent, line) in parents.items():
        if parent not in file_ids and parent not in stored:
            message = f"parent_external_id {parent!r} matches no account in Pulse or in the accounts file"
        elif parent == external_id:
            message = f"parent_external_id {parent!r} is this account itself: an account can't be its own parent"
        else:
            chain, node, seen = [external_id, parent], parent_of(parent), {parent}
            while node is not None and node != external_id and node not in seen:
                chain.append(node)
                seen.add(node)
                node = parent_of(node)
            if node != external_id:
                continue
            path = " → ".join([*chain, external_id])
            message = f"parent_external_id {parent!r} would make a cycle ({path}): an account can't be its own ancestor"
        errors.append(RowError("accounts", line, message))
    return errors


def account_import_validate(*, accounts_csv: str | None, contacts_csv: str | None, progress=None) -> AccountPlan:
    """Read and check every row of both files; nothing is written."""
    plan = AccountPlan()
    progress = progress or (lambda done: None)
    owners = {email: pk for pk, email in User.objects.filter(is_active=True).values_list("pk", "email")}
    seen_ids: dict[str, int] = {}
    parents: dict[str, tuple[str, int]] = {}
    done = 0

    if accounts_csv is not None:
        rows, plan.errors = read_rows(
            accounts_csv, file="accounts", required=ACCOUNT_REQUIRED, optional=ACCOUNT_OPTIONAL
        )
        if rows:
            columns = set(rows.columns)
            if "status" not in columns and columns & {"churned_on", "churn_reason"}:
                plan.errors.append(RowError("accounts", 1, "churned_on and churn_reason need the status column"))
                rows = []
            plan.account_columns = columns
        for line, row in rows:
            try:
                values = _account_values(row, owners)
                if values["external_id"] in seen_ids:
                    raise CellError(
                        f"external_id {values['external_id']!r} is also on line {seen_ids[values['external_id']]}"
                    )
                seen_ids[values["external_id"]] = line
                if "parent_external_id" in row:
                    plan.parents[values["external_id"]] = row["parent_external_id"] or None
                    if row["parent_external_id"]:
                        parents[values["external_id"]] = (row["parent_external_id"], line)
                if not plan.errors:  # a file with a problem imports nothing: its rows need not be kept
                    plan.accounts.append(values)
            except CellError as exc:
                plan.errors.append(RowError("accounts", line, str(exc)))
            done += 1
            if done % 500 == 0:
                progress(done)
        plan.errors.extend(_ownerless_active_accounts(plan.accounts, seen_ids))
        if parents:
            file_ids = {row["external_id"] for _, row in rows}
            plan.errors.extend(_parent_errors(parents, file_ids))
        plan.errors.sort(key=lambda error: error.line)

    if contacts_csv is not None:
        rows, errors = read_rows(contacts_csv, file="contacts", required=CONTACT_REQUIRED, optional=CONTACT_OPTIONAL)
        plan.contact_columns = set(rows.columns)
        referenced = {row["account_external_id"] for _, row in rows if storable(row["account_external_id"])}
        known_ids = set(seen_ids) | set(
            Account.objects.filter(external_id__in=referenced).values_list("external_id", flat=True)
        )
        del referenced
        seen_contacts: dict[tuple[str, str], int] = {}
        for line, row in rows:
            try:
                values = _contact_values(row)
                if values["account_external_id"] not in known_ids:
                    raise CellError(
                        f"account_external_id {values['account_external_id']!r} matches no account "
                        "in Pulse or in the accounts file"
                    )
                key = (values["account_external_id"], values["email"])
                if key in seen_contacts:
                    raise CellError(f"{values['email']} is listed for this account on line {seen_contacts[key]} too")
                seen_contacts[key] = line
                if not plan.errors and not errors:
                    plan.contacts.append(values)
            except CellError as exc:
                errors.append(RowError("contacts", line, str(exc)))
            done += 1
            if done % 500 == 0:
                progress(done)
        plan.errors.extend(sorted(errors, key=lambda error: error.line))  # the first pass found the cell counts
    if plan.errors:
        plan.accounts, plan.contacts, plan.parents = [], [], {}
    plan.rows_read = done
    return plan


def _health_changed(rows: list[dict], before: dict[str, dict]) -> list[str]:
    """External ids of imported accounts whose health may differ: new ones, and those whose segment
    (which picks the health model) or status (only active accounts are scored) changed."""
    changed = []
    for values in rows:
        old = before.get(values["external_id"])
        if old is None or any(name in values and values[name] != old[name] for name in HEALTH_FIELDS):
            changed.append(values["external_id"])
    return changed


def _parents_set(parents: dict[str, str | None]) -> None:
    """Set each imported account's parent (an empty cell: none), once every account of the file exists."""
    wanted = set(parents) | {parent for parent in parents.values() if parent}
    pks = dict(Account.objects.filter(external_id__in=wanted).values_list("external_id", "pk"))
    Account.objects.bulk_update(
        [Account(pk=pks[external_id], parent_id=pks.get(parent)) for external_id, parent in parents.items()],
        ["parent"],
        batch_size=1000,
    )


def _churning(rows: list[dict], before: dict[str, dict], pks: dict[str, int]) -> dict[int, Churn]:
    """The rows that churn an account not churned before (a new one too: a child in the file goes with it)."""
    return {
        pks[values["external_id"]]: Churn(on=values["churned_on"], reason=values["churn_reason"])
        for values in rows
        if values.get("status") == Account.Status.CHURNED
        and before.get(values["external_id"], {}).get("status") != Account.Status.CHURNED
    }


def _renewal_dates_changed(rows: list[dict], before: dict[str, dict], pks: dict[str, int]) -> list[int]:
    """Accounts given a renewal date they did not have (new ones with one too): their open renewal follows."""
    return [
        pks[values["external_id"]]
        for values in rows
        if values.get("renewal_date") is not None
        and values["renewal_date"] != before.get(values["external_id"], {}).get("renewal_date")
    ]


@transaction.atomic
def account_import_apply(*, plan: AccountPlan, by: User | None = None) -> dict:
    """Write a plan with no errors; returns counts of what was created and updated.

    Accounts the file churns churn as on every route (accounts/churn.py): the accounts below them with
    them (the summary says how many), their open renewals closed. A new renewal date moves the account's
    open renewal (or opens one), through `renewal_dates_changed`, for all of them at once.
    """
    assert not plan.errors, "a plan with errors must not be applied"
    result = {"accounts_created": 0, "accounts_updated": 0, "contacts_created": 0, "contacts_updated": 0}
    if plan.accounts:
        external_ids = [values["external_id"] for values in plan.accounts]
        before = {
            external_id: {"segment": segment, "status": status, "pk": pk, "arr": arr, "renewal_date": renewal_date}
            for external_id, segment, status, pk, arr, renewal_date in Account.objects.filter(
                external_id__in=external_ids
            ).values_list("external_id", "segment", "status", "pk", "arr", "renewal_date")
        }
        existing = set(before)
        update_fields = sorted(
            {name for values in plan.accounts for name in values if name != "external_id"} | {"updated_at"}
        )
        Account.objects.bulk_create(
            [Account(**values) for values in plan.accounts],
            update_conflicts=True,
            unique_fields=["external_id"],
            update_fields=update_fields,
            batch_size=1000,
        )
        after = Account.objects.filter(external_id__in=external_ids).values_list("external_id", "pk", "arr")
        pks, arrs = {}, {}
        for external_id, pk, arr in after:
            pks[external_id], arrs[pk] = pk, arr
        arr_changes_record(
            before={old["pk"]: old["arr"] for old in before.values()}, after=arrs, source=ArrChange.Source.IMPORT
        )
        if plan.parents:
            _parents_set(plan.parents)
        result["accounts_updated"] = len(existing)
        result["accounts_created"] = len(plan.accounts) - len(existing)
        churns = _churning(plan.accounts, before, pks)
        if below := len(account_churn(churns=churns, by=by)) - len(churns):
            result["accounts_below_churned_with_them"] = below
        if dated := _renewal_dates_changed(plan.accounts, before, pks):
            renewal_dates_changed.send(sender=Account, account_ids=dated)
        rescored = _health_changed(plan.accounts, before)
        if rescored:
            account_ids = Account.objects.filter(external_id__in=rescored).values_list("pk", flat=True)
            health_inputs_changed.send(sender=Account, account_ids=list(account_ids))

    if plan.contacts:
        account_ids = dict(
            Account.objects.filter(
                external_id__in={values["account_external_id"] for values in plan.contacts}
            ).values_list("external_id", "pk")
        )
        existing = {
            (contact.account_id, contact.email.lower()): contact
            # An archived contact stays archived: importing its address again adds a new contact.
            for contact in Contact.objects.active().filter(account_id__in=account_ids.values())
        }
        now = timezone.now()
        to_create, to_update = [], []
        for values in plan.contacts:
            account_id = account_ids[values["account_external_id"]]
            contact = existing.get((account_id, values["email"]))
            if contact is None:
                contact = Contact(
                    account_id=account_id, email=values["email"], email_hash=address_hash(values["email"])
                )
                to_create.append(contact)
            else:
                to_update.append(contact)
            contact.name = values["name"]
            contact.title = values.get("title", contact.title)
            contact.is_primary = values.get("is_primary", contact.is_primary)
            # An import may record an opt-out but never undo one: only the contact can.
            if values.get("opted_out") and contact.opted_out_at is None:
                contact.opted_out_at = now
        Contact.objects.bulk_create(to_create, batch_size=1000)
        Contact.objects.bulk_update(to_update, ["name", "title", "is_primary", "opted_out_at"], batch_size=1000)
        # An opt-out recorded by import covers the address everywhere, like the person's own.
        opted_out = [contact.email_hash for contact in to_create + to_update if contact.opted_out_at is not None]
        addresses_suppress(email_hashes=opted_out, reason="opted_out", at=now)
        result["contacts_created"] = len(to_create)
        result["contacts_updated"] = len(to_update)
    return result
