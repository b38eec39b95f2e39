"""Reading uploaded CSV files and their cells, with messages a CS ops person can act on."""

import csv
import datetime
import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from accounts.validators import date_problem


@dataclass(frozen=True)
class RowError:
    file: str
    line: int
    message: str

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "message": self.message}


class CellError(ValueError):
    """A cell that cannot be read; the message names the column and the value."""


class RowProblems:
    """Collects every problem of one row, so the person fixes the row once."""

    def __init__(self):
        self.messages: list[str] = []

    def read(self, parse, *args):
        """parse(*args), or None with its CellError message noted."""
        try:
            return parse(*args)
        except CellError as exc:
            self.messages.append(str(exc))
            return None

    def add(self, message: str) -> None:
        self.messages.append(message)

    def raise_any(self) -> None:
        if self.messages:
            raise CellError("; ".join(self.messages))


def decode_upload(data: bytes) -> str:
    """UTF-8, with or without the byte-order mark spreadsheet programs write."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CellError("the file is not UTF-8 text; save it as 'CSV UTF-8' and upload it again") from None


def normalise_header(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def read_rows(text: str, *, file: str, required: set[str], optional: set[str]):
    """Return (rows, errors): rows are (line number, {column: stripped value}).

    A header problem is reported once on line 1 and no rows are returned.
    """
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        return [], [RowError(file, 1, "the file is empty; the first line must name the columns")]
    except csv.Error as exc:
        return [], [RowError(file, 1, f"not a readable CSV file ({exc})")]
    columns = [normalise_header(name) for name in header]
    known = required | optional
    problems = []
    if missing := sorted(required - set(columns)):
        problems.append(f"missing column(s): {', '.join(missing)}")
    if unknown := [name for name in columns if name not in known]:
        problems.append(f"unknown column(s): {', '.join(unknown)} (known columns: {', '.join(sorted(known))})")
    if duplicated := sorted({name for name in columns if columns.count(name) > 1}):
        problems.append(f"column(s) named twice: {', '.join(duplicated)}")
    if problems:
        return [], [RowError(file, 1, "; ".join(problems))]

    rows, errors = [], []
    try:
        for values in reader:
            line = reader.line_num
            if not any(value.strip() for value in values):
                continue
            if len(values) != len(columns):
                errors.append(RowError(file, line, f"expected {len(columns)} cells, found {len(values)}"))
                continue
            rows.append((line, {name: value.strip() for name, value in zip(columns, values, strict=True)}))
    except csv.Error as exc:
        errors.append(RowError(file, reader.line_num, f"unreadable CSV ({exc})"))
    if not rows and not errors:
        errors.append(RowError(file, 1, "the file has a header but no rows"))
    return rows, errors


# date.fromisoformat also reads week dates ("2026-W44-1", another day entirely) and compact forms.
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def iso_date(value) -> datetime.date | None:
    """The day written as YYYY-MM-DD, and nothing else (None for anything else, including bad days)."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


def parse_date(column: str, value: str) -> datetime.date | None:
    if not value:
        return None
    day = iso_date(value)
    if day is None:
        raise CellError(f"{column} {value!r} is not a date in YYYY-MM-DD form")
    if problem := date_problem(day):
        raise CellError(f"{column} {value} {problem}")
    return day


def parse_decimal(column: str, value: str) -> Decimal | None:
    if not value:
        return None
    cleaned = value.replace(",", "").replace(" ", "").lstrip("$€£")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise CellError(f"{column} {value!r} is not a number") from None
    if not number.is_finite():
        raise CellError(f"{column} {value!r} is not a number")
    return number


def parse_bool(column: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("", "0", "false", "no", "n"):
        return False
    if lowered in ("1", "true", "yes", "y"):
        return True
    raise CellError(f"{column} {value!r} must be yes or no")


def parse_choice(column: str, value: str, choices) -> str | None:
    """Accept a choice by its value or its label, in any case."""
    if not value:
        return None
    lowered = value.lower()
    for choice_value, label in choices:
        if lowered in (choice_value.lower(), str(label).lower()):
            return choice_value
    allowed = ", ".join(choice_value for choice_value, _ in choices)
    raise CellError(f"{column} {value!r} is not one of: {allowed}")
