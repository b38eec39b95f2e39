"""Checks on text that people type or import, shared by every form and CSV import.

A single-line field (a name, a title, a subject) may end up in an email header or a CSV cell:
a line break there raises BadHeaderError or splits a row, and other control characters (NUL
breaks PostgreSQL text columns) have no business in a name. Free text may span lines but gets
no other control characters either.

Dates have bounds too (below): a check-in dated 0001-01-01 once made its account's page fail.
"""

import datetime
import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils import timezone

# Characters Python's str.splitlines() and mail headers treat as line ends, besides Cc controls.
_LINE_SEPARATORS = {"\u2028", "\u2029", "\x85"}
_TEXT_ALLOWED_CONTROLS = {"\n", "\r", "\t"}
_BREAKS = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# Free text (notes, comments, reasons) has room for a long story, not for a pasted log file.
TEXT_MAX_LENGTH = 10_000


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc" or char in _LINE_SEPARATORS


# The same characters as _is_control, as one scan: an import checks hundreds of thousands of cells.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_TEXT_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


def single_line_problem(value: str) -> str | None:
    """The reason `value` can't be a one-line field, or None when it can."""
    if _CONTROLS.search(value):
        return "must be a single line without control characters (line breaks, tabs, NUL)"
    return None


def text_problem(value: str) -> str | None:
    """The reason `value` can't be free text, or None: line breaks and tabs are fine, other controls are not."""
    if _TEXT_CONTROLS.search(value):
        return "must not contain control characters (such as NUL)"
    return None


def validate_single_line(value: str) -> None:
    if problem := single_line_problem(value):
        raise ValidationError("This field %(problem)s.", code="control_characters", params={"problem": problem})


def validate_text(value: str) -> None:
    if problem := text_problem(value):
        raise ValidationError("This field %(problem)s.", code="control_characters", params={"problem": problem})


def text_too_long(value: str, limit: int = TEXT_MAX_LENGTH) -> str | None:
    """The message for free text over `limit` characters, or None."""
    length = len(value.replace("\r\n", "\n"))  # a line break counts once, as the browser counts it
    if length > limit:
        return f"Keep this to {limit:,} characters or fewer (it has {length:,})."
    return None


def one_line(value: str) -> str:
    """`value` made safe for an email header: each run of line breaks, tabs, other control characters
    or spaces becomes one space. For text stored before the forms refused such characters."""
    return _BREAKS.sub(" ", value).strip()


# ---- Dates ------------------------------------------------------------------------------
# One rule for every date a person types or a file or the API sends: from 2000-01-01 (older
# data is a typo, such as 0001-01-01 for 2001-01-01) to ten years ahead (renewals, schedules).
# Dates of things that already happened (a check-in, an answer, a metric value) stop at today.

EARLIEST_DATE = datetime.date(2000, 1, 1)
YEARS_AHEAD = 10


def latest_date(today: datetime.date | None = None) -> datetime.date:
    """The last day a date may be: ten years from today (28 February for a 29 February)."""
    today = today or timezone.localdate()
    try:
        return today.replace(year=today.year + YEARS_AHEAD)
    except ValueError:  # 29 February, ten years on, is not a leap day
        return today.replace(year=today.year + YEARS_AHEAD, day=28)


def date_range_text(*, past: bool = False, today: datetime.date | None = None) -> str:
    """The allowed range in words: "between 2000-01-01 and today" (or the last day allowed)."""
    return f"between {EARLIEST_DATE.isoformat()} and {'today' if past else latest_date(today).isoformat()}"


def date_problem(value: datetime.date, *, past: bool = False, today: datetime.date | None = None) -> str | None:
    """Why `value` can't be a date in Pulse ("is not between ..."), or None; `past` ends the range today."""
    today = today or timezone.localdate()
    if isinstance(value, datetime.datetime):
        value = value.date()  # a schedule: its day is near enough for bounds ten years apart
    if not EARLIEST_DATE <= value <= (today if past else latest_date(today)):
        return "is not " + date_range_text(past=past, today=today)
    return None


def validate_date(value: datetime.date) -> None:
    """A date from 2000-01-01 to ten years ahead: renewals, plans, schedules, filters."""
    if date_problem(value):
        raise ValidationError("Enter a date %(range)s.", code="date_out_of_range", params={"range": date_range_text()})


def validate_past_date(value: datetime.date) -> None:
    """A date from 2000-01-01 to today: something that has happened."""
    if date_problem(value, past=True):
        raise ValidationError(
            "Enter a date %(range)s.", code="date_out_of_range", params={"range": date_range_text(past=True)}
        )


def days_later(day: datetime.date, days: int) -> datetime.date:
    """`day` plus `days` (negative: earlier), stopping a day short of the calendar's ends.

    A stored date may be odd (0001-01-01 from before dates had bounds, 9999-12-31 from a file):
    pages and jobs that count days from one must show something, not fail with OverflowError.
    One day short, so a day's start in any time zone is still a datetime.
    """
    floor, ceiling = datetime.date.min + datetime.timedelta(days=1), datetime.date.max - datetime.timedelta(days=1)
    ordinal = min(max(day.toordinal() + days, floor.toordinal()), ceiling.toordinal())
    return datetime.date.fromordinal(ordinal)
