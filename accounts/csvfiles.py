"""Reading uploaded CSV files and their cells, with messages a CS ops person can act on."""

import csv
import datetime
import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings

from accounts.validators import date_problem, single_line_problem, text_problem

# Spreadsheets run a cell that starts with one of these as a formula (CSV injection). Excel set to
# a ";" list separator (German, French, Dutch) splits "ok;=1+1" into a second cell that does, so
# OWASP's rule is: a trigger at the start or after a "," or ";" means the whole cell is defused.
_FORMULA = re.compile(r"(?:^|[,;])[ ]*[=+\-@\t\r]")


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

    def single_line(self, row: dict, *columns: str) -> None:
        """Note each of these cells that holds a line break, a tab, NUL or another control character."""
        for column in columns:
            if column in row and (problem := single_line_problem(row[column])):
                self.messages.append(f"{column} {problem}")

    def text(self, row: dict, column: str, *, max_length: int) -> None:
        """Note a free-text cell that is too long or holds control characters other than line breaks and tabs."""
        value = row.get(column, "")
        if len(value) > max_length:
            self.messages.append(f"{column} is {len(value):,} characters; the limit is {max_length:,}")
        if problem := text_problem(value):
            self.messages.append(f"{column} {problem}")

    def raise_any(self) -> None:
        if self.messages:
            raise CellError("; ".join(self.messages))


def decode_upload(data: bytes) -> str:
    """UTF-8, with or without the byte-order mark spreadsheet programs write."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CellError("the file is not UTF-8 text; save it as 'CSV UTF-8' and upload it again") from None


def nul_errors(text: str, *, file: str) -> list[RowError]:
    """A row error for each row holding NUL, naming its columns; [] for a file without any.

    PostgreSQL stores no NUL in text or JSON, so such a file is refused before it is stored. It is
    often a file saved as UTF-16, which has a NUL beside every letter.
    """
    if "\x00" not in text:
        return []
    message = "{} holds a NUL character (\\x00), which no cell may contain"
    reader = csv.reader(io.StringIO(text))
    errors = []
    try:
        header = [normalise_header(name) for name in next(reader)]
        if any("\x00" in name for name in header):
            errors.append(RowError(file, 1, message.format("the header")))
        for values in reader:
            if cells := [
                header[i] if i < len(header) else f"cell {i + 1}" for i, v in enumerate(values) if "\x00" in v
            ]:
                errors.append(RowError(file, reader.line_num, message.format(", ".join(cells))))
    except (csv.Error, StopIteration):
        pass
    return errors or [RowError(file, 1, message.format("the file"))]


def errors_csv(errors) -> str:
    """Every problem of a rejected import as a CSV file to download: file, line, message."""
    return "".join(csv_lines([("file", "line", "message"), *((e.file, e.line, e.message) for e in errors)]))


def storable(value: str) -> bool:
    """False for text PostgreSQL refuses as a parameter (it holds NUL): such a value can match nothing."""
    return "\x00" not in value


def normalise_header(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


class CsvRows:
    """The rows of a CSV file after its header, read one at a time: (line number, {column: stripped value}).

    Iterating again reads the file again, so an import can look names up in one pass and check
    rows in the next without ever holding every row. Row problems (a wrong number of cells,
    unreadable CSV) go to `errors` on the first pass.
    """

    def __init__(self, text: str, *, file: str, columns: list[str], count: int, errors: list[RowError]):
        self.text, self.file, self.columns, self.count, self.errors = text, file, columns, count, errors
        self._reported = False

    def __bool__(self) -> bool:
        return bool(self.columns) and self.count > 0

    def __iter__(self):
        if not self:
            return
        report, self._reported = not self._reported, True
        reader = csv.reader(io.StringIO(self.text))
        next(reader)
        try:
            for values in reader:
                if not any(value.strip() for value in values):
                    continue
                if len(values) != len(self.columns):
                    if report:
                        message = f"expected {len(self.columns)} cells, found {len(values)}"
                        self.errors.append(RowError(self.file, reader.line_num, message))
                    continue
                yield reader.line_num, {name: value.strip() for name, value in zip(self.columns, values, strict=True)}
        except csv.Error as exc:
            if report:
                self.errors.append(RowError(self.file, reader.line_num, f"unreadable CSV ({exc})"))


def count_rows(text: str) -> int:
    """Rows after the header that hold anything; a quick pass that keeps nothing."""
    reader = csv.reader(io.StringIO(text))
    count = -1
    try:
        for values in reader:
            if count < 0 or any(value.strip() for value in values):
                count += 1
    except csv.Error:
        pass
    return max(count, 0)


def _over_the_cap(count: int, limit: int) -> str:
    return f"the file has {count:,} rows; at most {limit:,} are imported at once, so split it into smaller files"


def row_cap_error(text: str, *, file: str, limit: int | None = None) -> RowError | None:
    """The problem with a file of more rows than IMPORT_MAX_ROWS, found before any row is checked."""
    limit = settings.IMPORT_MAX_ROWS if limit is None else limit
    if (count := count_rows(text)) > limit:
        return RowError(file, 1, _over_the_cap(count, limit))
    return None


def read_rows(
    text: str, *, file: str, required: set[str], optional: set[str], max_rows: int | None = None
) -> tuple[CsvRows, list[RowError]]:
    """Return (rows, errors): rows are read as they are iterated (see CsvRows); errors grows as they are.

    A header problem, or more rows than IMPORT_MAX_ROWS, is reported once on line 1 and no rows are returned.
    """
    errors: list[RowError] = []

    def refused(message: str) -> tuple[CsvRows, list[RowError]]:
        errors.append(RowError(file, 1, message))
        return CsvRows(text, file=file, columns=[], count=0, errors=errors), errors

    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        return refused("the file is empty; the first line must name the columns")
    except csv.Error as exc:
        return refused(f"not a readable CSV file ({exc})")
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
        return refused("; ".join(problems))
    count, limit = count_rows(text), settings.IMPORT_MAX_ROWS if max_rows is None else max_rows
    if count > limit:
        return refused(_over_the_cap(count, limit))
    if not count:
        # A file of blank lines or of unreadable CSV: the pass over it says which.
        rows = CsvRows(text, file=file, columns=columns, count=1, errors=errors)
        for _ in rows:
            pass
        if not errors:
            errors.append(RowError(file, 1, "the file has a header but no rows"))
        return CsvRows(text, file=file, columns=[], count=0, errors=errors), errors
    return CsvRows(text, file=file, columns=columns, count=count, errors=errors), errors


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


def neutralise_cell(value) -> str | int | float | Decimal:
    """A cell a spreadsheet shows as written: text that could start a formula gets a leading '.

    Numbers the app itself writes (a score, an ARR) are typed numbers, not someone's text, and stay
    as they are: -5 is a number to the spreadsheet, not a formula. The same characters typed as
    text ("-5" in a comment) are prefixed like any other text.
    """
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    return "'" + text if _FORMULA.search(text) else text


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a stream."""

    def write(self, value):
        return value


def csv_lines(rows):
    """Every CSV file Pulse writes goes through here: each row one line, every cell quoted and defused."""
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
    for row in rows:
        yield writer.writerow([neutralise_cell(cell) for cell in row])
