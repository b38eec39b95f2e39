"""One rounding rule, half away from zero, on every path that shows a number.

A Hypothesis property compares each path (Results, the rollup, health inputs, template filters,
chart data) with a reference computed in exact fractions, negatives included.
"""

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from django.template import Context, Template
from hypothesis import given, settings
from hypothesis import strategies as st

from core import numbers
from dashboards.rollup_views import percent as rollup_percent
from scoring.formatting import format_raw
from scoring.models import HealthModelVersion, Input
from surveys.formulas import Result
from surveys.results import Figure, format_result

PROPERTY = settings(derandomize=True, database=None, deadline=None, max_examples=400)


def reference(value: float, places: int = 0) -> Fraction:
    """The decimal the user reads for `value` (its shortest repr), rounded half away from zero exactly."""
    exact = Fraction(Decimal(repr(value))) * 10**places
    magnitude = math.floor(abs(exact) + Fraction(1, 2))
    return Fraction(magnitude if exact >= 0 else -magnitude, 10**places)


def as_text(fraction: Fraction, places: int) -> str:
    return f"{Decimal(fraction.numerator) / Decimal(fraction.denominator):.{places}f}"


def decimals(low, high, places=3):
    """Values with few decimals, so exact halves (62.5, 3.25, −12.5) come up often."""
    return st.integers(min_value=low * 10**places, max_value=high * 10**places).map(lambda i: i / 10**places)


def render(filter_name: str, value) -> str:
    return Template("{% load numbers %}{{ value|" + filter_name + " }}").render(Context({"value": value}))


@pytest.mark.parametrize(
    ("value", "places", "shown"),
    [
        (62.5, 0, 63),
        (-62.5, 0, -63),
        (3.25, 1, Decimal("3.3")),
        (-3.25, 1, Decimal("-3.3")),
        (2.675, 2, Decimal("2.68")),
    ],
)
def test_halves_go_away_from_zero(value, places, shown):
    assert numbers.round_half_away(value, places) == shown  # round() gives 62, -62, 3.2, -3.2, 2.67


def test_formatters_write_units_and_no_negative_zero():
    assert numbers.signed(12.5) == "+13" and numbers.signed(-0.4) == "0" and numbers.signed(-12.5) == "-13"
    assert numbers.percent(62.5) == "63%"
    assert numbers.mean(3.25) == "3.3" and numbers.mean(-0.04) == "0.0"
    assert numbers.margin(14.5, points=True) == "± 15 pts"
    assert numbers.margin(0.25, points=False) == "± 0.3"
    assert numbers.plain(1234.0) == "1,234" and numbers.plain(12.25) == "12.3"
    assert render("whole", None) == "—"


@PROPERTY
@given(decimals(-100, 100))
def test_every_whole_number_path_rounds_the_same(value):
    shown = int(reference(value))
    assert numbers.whole(value) == shown and numbers.whole(-value) == -shown
    nps = f"{shown:+d}" if shown else "0"
    assert format_result("nps", Result(value, 10)) == nps
    assert format_raw({"raw": value, "input": Input.NPS}, None) == nps
    assert render("signed", value) == nps
    assert Figure.of("nps", Result(value, 10)).chart_value() == shown
    if value >= 0:
        assert format_result("csat_percent", Result(value, 10)) == f"{shown}%"
        assert rollup_percent(Result(value, 10)) == f"{shown}%"
        assert format_raw({"raw": value, "input": Input.CSAT}, None) == f"{shown}%"
        assert render("percent", value) == f"{shown}%"
        assert render("whole", value) == str(shown)


@PROPERTY
@given(st.floats(min_value=-1e12, max_value=1e12) | st.integers(-(10**12), 10**12))
def test_the_fast_whole_number_path_agrees_with_decimal(value):
    """whole() skips Decimal for ints and floats; any float, not only short decimals, rounds the same."""
    assert numbers.whole(value) == int(numbers.round_half_away(value))
    assert type(numbers.whole(value)) is int


@PROPERTY
@given(decimals(-7, 7))
def test_every_one_decimal_path_rounds_the_same(value):
    shown = as_text(reference(value, 1), 1).replace("-0.0", "0.0")
    assert numbers.mean(value) == shown
    assert format_result("csat_mean", Result(value, 10)) == shown
    assert render("mean", value) == shown
    assert Figure.of("ces_mean", Result(value, 10)).chart_value() == float(shown)
    if value >= 0:
        assert format_raw({"raw": value, "input": Input.CES}, None) == f"{shown} of 7"


@PROPERTY
@given(decimals(0, 100, places=2))
def test_the_band_is_the_band_of_the_whole_number_shown(score):
    version = HealthModelVersion(red_below=40, green_from=70)
    assert version.band(score) == version.band(int(reference(score)))
