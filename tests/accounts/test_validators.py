import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError

from accounts.validators import (
    date_problem,
    days_later,
    latest_date,
    one_line,
    single_line_problem,
    text_problem,
    text_too_long,
    validate_date,
    validate_past_date,
    validate_single_line,
    validate_text,
)


@pytest.mark.parametrize(
    "value", ["Acme\nCorp", "Acme\rCorp", "Acme\tCorp", "Acme\x00", "Acme\u2028Corp", "A\x85B", "\x1b[31m"]
)
def test_single_line_refuses_line_breaks_and_controls(value):
    assert single_line_problem(value)
    with pytest.raises(ValidationError, match="single line"):
        validate_single_line(value)


@pytest.mark.parametrize("value", ["Acme Corp", "Zoë & Søn GmbH", "株式会社", "O'Brien — CTO", ""])
def test_single_line_accepts_ordinary_names(value):
    assert single_line_problem(value) is None
    validate_single_line(value)


def test_text_keeps_line_breaks_and_tabs_but_refuses_nul():
    validate_text("First line\r\nSecond\tline")
    assert text_problem("a\x00b")
    with pytest.raises(ValidationError, match="control characters"):
        validate_text("a\x07b")


def test_the_fast_scans_match_the_rule_for_every_character():
    # The checks scan with a regular expression (imports check many cells); the rule is _is_control.
    from accounts.validators import _TEXT_ALLOWED_CONTROLS, _is_control

    for char in map(chr, range(0x3000)):
        assert (single_line_problem(char) is not None) == _is_control(char), repr(char)
        assert (text_problem(char) is not None) == (_is_control(char) and char not in _TEXT_ALLOWED_CONTROLS)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Acme\nCorp", "Acme Corp"), (" Acme\r\n\tCorp \x00", "Acme Corp"), ("A\u2028B\x85C", "A B C"), ("Zoë", "Zoë")],
)
def test_one_line_makes_text_safe_for_a_header(value, expected):
    assert one_line(value) == expected
    assert single_line_problem(one_line(value)) is None


def test_text_length_counts_a_line_break_once():
    assert text_too_long("a\r\n" * 5_000) is None  # 10,000 as the browser counts
    assert text_too_long("a" * 10_001) == "Keep this to 10,000 characters or fewer (it has 10,001)."


# ---- Dates ----


@time_machine.travel(datetime.datetime(2026, 12, 1, 12, tzinfo=datetime.UTC), tick=False)
@pytest.mark.parametrize(
    ("day", "past", "problem"),
    [
        (datetime.date(1, 1, 1), False, "is not between 2000-01-01 and 2036-12-01"),
        (datetime.date(1999, 12, 31), False, "is not between 2000-01-01 and 2036-12-01"),
        (datetime.date(2000, 1, 1), False, None),
        (datetime.date(2036, 12, 1), False, None),
        (datetime.date(2036, 12, 2), False, "is not between 2000-01-01 and 2036-12-01"),
        (datetime.date(9999, 12, 31), False, "is not between 2000-01-01 and 2036-12-01"),
        (datetime.date(2026, 12, 1), True, None),
        (datetime.date(2026, 12, 2), True, "is not between 2000-01-01 and today"),
        (datetime.date(1, 1, 1), True, "is not between 2000-01-01 and today"),
    ],
)
def test_dates_run_from_2000_to_ten_years_ahead_or_to_today(day, past, problem):
    assert date_problem(day, past=past) == problem
    check = validate_past_date if past else validate_date
    if problem is None:
        check(day)
    else:
        with pytest.raises(ValidationError, match="Enter a date between 2000-01-01 and"):
            check(day)


def test_ten_years_after_a_leap_day_is_the_28th():
    assert latest_date(datetime.date(2028, 2, 29)) == datetime.date(2038, 2, 28)


@pytest.mark.parametrize(
    ("day", "days", "expected"),
    [
        (datetime.date(2026, 12, 1), -30, datetime.date(2026, 11, 1)),
        (datetime.date(1, 1, 1), -365, datetime.date(1, 1, 2)),
        (datetime.date(1, 1, 1), 1, datetime.date(1, 1, 2)),
        (datetime.date(9999, 12, 31), 1, datetime.date(9999, 12, 30)),
        (datetime.date(9999, 12, 30), -1, datetime.date(9999, 12, 29)),
    ],
)
def test_counting_days_from_an_odd_stored_date_stops_short_of_the_calendar_ends(day, days, expected):
    assert days_later(day, days) == expected
