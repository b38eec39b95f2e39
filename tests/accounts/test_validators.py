import pytest
from django.core.exceptions import ValidationError

from accounts.validators import single_line_problem, text_problem, validate_single_line, validate_text


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
