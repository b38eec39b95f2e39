"""How every shown number is rounded and written: one rule, half away from zero.

Pages, charts (rounded here before the JSON), CSV exports and emails all go through these
functions, so a figure reads the same wherever it appears: 62.5% is "63%", 3.25 is "3.3",
−12.5 is "-13". Python's round() (half to even) and float formatting (binary halves) are
not used for shown figures.
"""

import math
from decimal import ROUND_HALF_UP, Decimal

# Decimal's ROUND_HALF_UP rounds a half away from zero, for negatives too (−2.5 → −3).
HALF_AWAY = ROUND_HALF_UP

MEAN_PLACES = 1  # a mean and its margin: "3.8 ± 0.3"


def round_half_away(value, places: int = 0) -> Decimal:
    """`value` rounded to `places` decimals, halves away from zero; exact for floats (read through str())."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return number.quantize(Decimal(1).scaleb(-places), rounding=HALF_AWAY) + 0  # + 0: no "-0"


def whole(value) -> int:
    """The integer shown for `value`: 39.5 → 40, 39.49 → 39, −2.5 → −3.

    Ints and floats skip Decimal (a portfolio page rounds some 25,000 numbers): round() is exact for a
    float, and only its tie goes the other way, to even. A float that prints as "k.5" is k.5 exactly,
    so this agrees with reading it through str().
    """
    if type(value) is int:
        return value
    if type(value) is float:
        nearest = round(value)
        if abs(value - nearest) == 0.5:
            return math.trunc(value) + (1 if value > 0 else -1)
        return nearest
    return int(round_half_away(value))


def rounded(value, places: int = 0) -> float | int | None:
    """For chart JSON: the value as shown, a number (int when places is 0); None stays None."""
    if value is None:
        return None
    return whole(value) if places == 0 else float(round_half_away(value, places))


def fixed(value, places: int = 1) -> str:
    """`places` decimals with thousands separators: "1,234.5"."""
    return f"{round_half_away(value, places):,}"


def plain(value, places: int = 1) -> str:
    """Whole values without decimals ("1,234"), others to `places` decimals ("12.5")."""
    number = round_half_away(value, places)
    return f"{number:,.0f}" if number == number.to_integral_value() else f"{number:,}"


def signed(value) -> str:
    """An NPS: "+13", "0", "-13"."""
    number = whole(value)
    return f"{number:+d}" if number else "0"


def percent(value) -> str:
    """A percentage: "63%"."""
    return f"{whole(value)}%"


def mean(value, places: int = MEAN_PLACES) -> str:
    """A mean on a 1-5 or 1-7 scale: "3.8"."""
    return fixed(value, places)


def margin(half_width, *, points: bool, places: int = MEAN_PLACES) -> str:
    """A margin of error with its units: "± 14 pts" for NPS and percentages, "± 0.3" (the mean's precision)."""
    if points:
        return f"± {whole(half_width)} pts"
    return f"± {fixed(half_width, places)}"


def share(value, places: int = 1) -> str:
    """A share of 0-1 as a percentage to `places` decimals: 0.1834 -> "18.3%"."""
    return f"{fixed(100 * value, places)}%"
