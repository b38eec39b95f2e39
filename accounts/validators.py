"""Checks on text that people type or import, shared by every form and CSV import.

A single-line field (a name, a title, a subject) may end up in an email header or a CSV cell:
a line break there raises BadHeaderError or splits a row, and other control characters (NUL
breaks PostgreSQL text columns) have no business in a name. Free text may span lines but gets
no other control characters either.
"""

import re
import unicodedata

from django.core.exceptions import ValidationError

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
