"""CSV import of historical survey answers (from the tool used before Pulse).

Every row is validated first; a file with any bad row stores nothing and lists each
bad row with its line and reason. Each answer gets an `import_key` naming the contact
(or the account), kind, day and score, so importing the same file again adds nothing.
Imported answers are history: no invitation, no alert, and their feedback is closed.
"""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.csvfiles import CellError, RowError, RowProblems, parse_choice, parse_date, read_rows, storable
from accounts.import_kinds import Prepared
from accounts.models import Account, Contact
from accounts.signals import health_inputs_changed
from surveys.models import SCALES, Kind, Response

FILE = "answers"
REQUIRED = {"date", "kind", "score"}
OPTIONAL = {"contact_email", "account_external_id", "comment"}
MAX_ROWS = 20_000
MAX_COMMENT = 10_000
IMPORTED_NOTE = "Imported"


@dataclass
class AnswerPlan:
    """Validated answers, ready to write, and every problem found on the way."""

    answers: list[dict] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows_read: int = 0


def _read_score(kind: str | None, value: str) -> int | None:
    if not value:
        raise CellError("score is empty")
    try:
        score = int(value)
    except ValueError:
        raise CellError(f"score {value!r} is not a whole number") from None
    if kind is not None:
        low, high, _, _ = SCALES[kind]
        if not low <= score <= high:
            raise CellError(f"score {score} is off the {Kind(kind).label} scale ({low} to {high})")
    return score


def _lookups(rows) -> tuple[dict[str, list[tuple[int, int]]], dict[str, tuple[int, str]]]:
    """Contacts by lower-case email → [(contact id, account id)], accounts by external id → (id, name); two queries."""
    emails = {row.get("contact_email", "").lower() for _, row in rows if storable(row.get("contact_email", ""))}
    external_ids = {
        row.get("account_external_id", "") for _, row in rows if storable(row.get("account_external_id", ""))
    }
    emails.discard("")
    external_ids.discard("")
    contacts: dict[str, list[tuple[int, int]]] = {}
    if emails:
        # An archived contact's address may be in use again on the same account: the contact in use
        # comes first, and each account counts once.
        matches = (
            Contact.objects.annotate(email_lower=Lower("email"))
            .filter(email_lower__in=emails)
            .order_by(F("archived_at").asc(nulls_first=True), "pk")
            .values_list("email_lower", "pk", "account_id")
        )
        for email, contact_id, account_id in matches:
            found = contacts.setdefault(email, [])
            if all(account_id != seen for _, seen in found):
                found.append((contact_id, account_id))
    accounts = {}
    if external_ids:
        accounts = {
            external_id: (pk, name)
            for external_id, pk, name in Account.objects.filter(external_id__in=external_ids).values_list(
                "external_id", "pk", "name"
            )
        }
    return contacts, accounts


def _who(row: dict, contacts, accounts) -> tuple[int | None, int]:
    """(contact id, account id) named by a row, or CellError saying why it names nobody."""
    email = row.get("contact_email", "").lower()
    external_id = row.get("account_external_id", "")
    if not email and not external_id:
        raise CellError("give contact_email or account_external_id (or both)")
    account_id = None
    if external_id:
        if external_id not in accounts:
            raise CellError(f"account_external_id {external_id!r} matches no account")
        account_id = accounts[external_id][0]
    if not email:
        return None, account_id
    matches = contacts.get(email, [])
    if not matches:
        raise CellError(f"contact_email {row['contact_email']!r} matches no contact")
    if account_id is not None:
        for contact_id, contact_account_id in matches:
            if contact_account_id == account_id:
                return contact_id, account_id
        raise CellError(
            f"contact_email {row['contact_email']!r} is not a contact of account {external_id!r} "
            "(the contact and the account disagree)"
        )
    if len(matches) > 1:
        raise CellError(
            f"contact_email {row['contact_email']!r} is a contact of {len(matches)} accounts; "
            "add account_external_id to say which"
        )
    return matches[0]


def answers_csv_validate(text: str, *, today: datetime.date | None = None, progress=None) -> AnswerPlan:
    """Read and check every row; nothing is written. `progress(rows checked)` is called every 500 rows."""
    plan = AnswerPlan()
    today = today or timezone.localdate()
    progress = progress or (lambda done: None)
    max_rows = min(MAX_ROWS, settings.IMPORT_MAX_ROWS)
    rows, plan.errors = read_rows(text, file=FILE, required=REQUIRED, optional=OPTIONAL, max_rows=max_rows)
    if rows and not {"contact_email", "account_external_id"} & set(rows.columns):
        plan.errors.append(RowError(FILE, 1, "the file needs a contact_email or an account_external_id column"))
        return plan
    contacts, accounts = _lookups(rows)
    row_errors: list[RowError] = []
    occurrences: dict[str, int] = {}
    for line, row in rows:
        plan.rows_read += 1
        if plan.rows_read % 500 == 0:
            progress(plan.rows_read)
        problems = RowProblems()
        problems.single_line(row, "contact_email", "account_external_id")
        names_nobody = bool(problems.messages)  # a name with a control character matches nothing anyway
        problems.text(row, "comment", max_length=MAX_COMMENT)
        date = problems.read(parse_date, "date", row["date"])
        if date is None and row["date"] == "":
            problems.add("date is empty")
        elif date is not None and date > today:
            problems.add(f"date {row['date']} is in the future")
        kind = problems.read(parse_choice, "kind", row["kind"], Kind.choices)
        if kind is None and row["kind"] == "":
            problems.add("kind is empty (nps, csat or ces)")
        score = problems.read(_read_score, kind, row["score"])
        who = None if names_nobody else problems.read(_who, row, contacts, accounts)
        comment = row.get("comment", "")
        if problems.messages:
            row_errors.append(RowError(FILE, line, "; ".join(problems.messages)))
            continue
        if row_errors or plan.errors:
            continue  # a file with a problem imports nothing: its answers need not be kept
        contact_id, account_id = who
        key = f"{contact_id or f'a{account_id}'}:{kind}:{date.isoformat()}:{score}"
        # The same answer twice in one file (say, two anonymous 9s for one account on one day)
        # is two answers; numbering repeats keeps a re-import of the file from adding them again.
        occurrences[key] = occurrences.get(key, 0) + 1
        if occurrences[key] > 1:
            key = f"{key}:{occurrences[key]}"
        plan.answers.append(
            {
                "import_key": key,
                "contact_id": contact_id,
                "account_id": account_id,
                "kind": kind,
                "score": score,
                "date": date,
                "comment": comment,
            }
        )
    plan.errors.extend(row_errors)
    plan.errors.sort(key=lambda error: error.line)  # the lookup pass found the rows with a wrong cell count
    if plan.errors:
        plan.answers = []
    return plan


def _noon(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


def _imported_period(plan: AnswerPlan) -> dict[str, str]:
    """{'kind', 'from', 'to'}: the kind most imported and the dates a file spans, for a link to its results."""
    dates = [answer["date"] for answer in plan.answers]
    kinds = [answer["kind"] for answer in plan.answers]
    return {
        "kind": max(Kind.values, key=kinds.count),
        "from": min(dates).isoformat(),
        "to": max(dates).isoformat(),
    }


@transaction.atomic
def answers_import_apply(*, plan: AnswerPlan) -> dict:
    """Write a plan with no errors; returns {'created': n, 'already_present': m, 'period': {kind, from, to}}.

    The accounts that got answers are marked for the debounced health recompute in the same
    transaction. Only today's score is recomputed: past days' snapshots stay as they were shown
    until `recompute_health --from` rewrites them.
    """
    assert not plan.errors, "a plan with errors must not be applied"
    keys = [answer["import_key"] for answer in plan.answers]
    present = set()
    for start in range(0, len(keys), 1000):
        present.update(
            Response.objects.filter(import_key__in=keys[start : start + 1000]).values_list("import_key", flat=True)
        )
    now = timezone.now()
    new = [
        Response(
            invitation=None,
            account_id=answer["account_id"],
            contact_id=answer["contact_id"],
            import_key=answer["import_key"],
            kind=answer["kind"],
            score=answer["score"],
            comment=answer["comment"],
            answered_at=_noon(answer["date"]),
            updated_at=_noon(answer["date"]),
            # History, not new feedback: closed, so the inbox is not flooded.
            feedback_status=Response.FeedbackStatus.CLOSED,
            internal_note=IMPORTED_NOTE,
            feedback_changed_at=now,
        )
        for answer in plan.answers
        if answer["import_key"] not in present
    ]
    # ignore_conflicts: an import running at the same moment cannot make a duplicate either.
    Response.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
    health_inputs_changed.send(sender=Response, account_ids={answer.account_id for answer in new})
    return {"created": len(new), "already_present": len(present), "period": _imported_period(plan)}


def answers_import_prepare(files: dict, progress) -> Prepared:
    """The answers import job: read whole, then written in one go (accounts/import_kinds.py)."""
    plan = answers_csv_validate(files["answers"], progress=progress)
    return Prepared(plan.errors, plan.rows_read, lambda by: answers_import_apply(plan=plan))
