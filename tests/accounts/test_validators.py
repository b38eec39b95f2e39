import pytest
from django.core.exceptions import ValidationError

from accounts.validators import (
    one_line,
    single_line_problem,
    text_problem,
    text_too_long,
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
